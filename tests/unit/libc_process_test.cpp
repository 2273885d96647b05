// The rules of processes in Tern's musl port (libc/musl/portable/process.h): exit statuses
// as Linux wait statuses, CPU faults as signals, kill's actions, pids.
#include <catch2/catch.hpp>

#include <libc/musl/portable/process.h>
#include <signal.h>
#include <sys/wait.h>

TEST_CASE("exit statuses read as Linux wait statuses", "[process]") {
    for (int64_t code : {0, 1, 7, 128, 160, 255}) {
        int status = tern_libc_wait_status(code);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == code);
    }
    // 128 + N for signals 1..31: the C library's default actions, proc's kills, Ctrl-C.
    for (int signal = 1; signal <= 31; ++signal) {
        int status = tern_libc_wait_status(128 + signal);
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == signal);
    }
    CHECK(WTERMSIG(tern_libc_wait_status(134)) == SIGABRT);
    CHECK(WTERMSIG(tern_libc_wait_status(130)) == SIGINT);
}

TEST_CASE("CPU faults read as the signals Linux sends for them", "[process]") {
    CHECK(WTERMSIG(tern_libc_wait_status(256 + 14)) == SIGSEGV);
    CHECK(WTERMSIG(tern_libc_wait_status(256 + 13)) == SIGSEGV);
    CHECK(WTERMSIG(tern_libc_wait_status(256 + 0)) == SIGFPE);
    CHECK(WTERMSIG(tern_libc_wait_status(256 + 6)) == SIGILL);
    CHECK(WTERMSIG(tern_libc_wait_status(256 + 3)) == SIGTRAP);
    CHECK(WTERMSIG(tern_libc_wait_status(256 + 17)) == SIGBUS);
    CHECK(WTERMSIG(tern_libc_wait_status(-1)) == SIGKILL);
    CHECK(WTERMSIG(tern_libc_wait_status(1000)) == SIGKILL);
}

TEST_CASE("kill's action and status for another process", "[process]") {
    CHECK(tern_libc_kill_action(SIGKILL) == TERN_LIBC_KILL_END);
    CHECK(tern_libc_kill_action(SIGTERM) == TERN_LIBC_KILL_END);
    CHECK(tern_libc_kill_action(SIGUSR1) == TERN_LIBC_KILL_END);
    CHECK(tern_libc_kill_action(0) == TERN_LIBC_KILL_NOTHING);
    CHECK(tern_libc_kill_action(SIGCHLD) == TERN_LIBC_KILL_NOTHING);
    CHECK(tern_libc_kill_action(SIGCONT) == TERN_LIBC_KILL_NOTHING);
    CHECK(tern_libc_kill_action(SIGWINCH) == TERN_LIBC_KILL_NOTHING);
    CHECK(tern_libc_kill_action(SIGSTOP) == TERN_LIBC_KILL_STOP);
    CHECK(tern_libc_kill_action(SIGTSTP) == TERN_LIBC_KILL_STOP);
    CHECK(tern_libc_kill_action(-1) == TERN_LIBC_KILL_INVALID);
    CHECK(tern_libc_kill_action(65) == TERN_LIBC_KILL_INVALID);
    // The status a kill gives reads back as the same signal.
    for (int signal : {SIGHUP, SIGINT, SIGKILL, SIGTERM, SIGSEGV, SIGUSR2})
        CHECK(WTERMSIG(tern_libc_wait_status(tern_libc_kill_status(signal))) == signal);
    CHECK(WTERMSIG(tern_libc_wait_status(tern_libc_kill_status(40))) == SIGKILL);
}

TEST_CASE("a pid_t names a process of the caller's node", "[process]") {
    uint64_t self = (7ull << 32) | 20;
    CHECK(tern_libc_global_pid(self, 21) == ((7ull << 32) | 21));
    CHECK(tern_libc_global_pid(self, 0) == 0);
    CHECK(tern_libc_global_pid(self, -5) == 0);
}

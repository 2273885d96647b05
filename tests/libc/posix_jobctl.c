/*
 * posix_jobctl: job control through the C library: stopping and continuing processes.
 *
 * SIGSTOP stops a child and waitpid(WUNTRACED) reports it once (WIFSTOPPED, WSTOPSIG);
 * SIGCONT continues it and waitpid(WCONTINUED) reports that once (WIFCONTINUED); a SIGTSTP
 * with a handler runs the handler and does not stop, with SIG_DFL it stops; a stop the
 * child raises itself, and a SIGTSTP it had blocked that stops it when unblocked; SIGKILL
 * ends a stopped child; the parent's SIGCHLD says CLD_STOPPED and CLD_CONTINUED unless
 * SA_NOCLDSTOP; waitid's CLD_STOPPED and CLD_CONTINUED, with WNOWAIT leaving the report
 * (and a zombie) for the next wait; a child stopped while blocked in a pipe write goes on
 * writing after SIGCONT, nothing lost; a group orphaned with a stopped member gets SIGHUP
 * and SIGCONT.
 *
 * The same source builds and runs on the host's Linux (unit.libc_posix_jobctl_on_host),
 * so every expectation is what Linux does. Prints "posix_jobctl: ok ..." per check,
 * "posix_jobctl: FAILED ..." for a failure and "posix_jobctl: N checks, M failures";
 * exits 0 only when nothing failed. Every child is ended (SIGKILL, or a byte that lets it
 * exit) before it is waited for, so no wait hangs. `posix_jobctl spin` counts aloud until
 * it is ended, for the terminal's Ctrl-Z (a console session).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int g_checks, g_failures;

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("posix_jobctl: ok %s\n", what);
    } else {
        ++g_failures;
        printf("posix_jobctl: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

static void pause_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static int set_handler(int signal, void (*handler)(int), int flags) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = handler;
    action.sa_flags = flags;
    sigemptyset(&action.sa_mask);
    return sigaction(signal, &action, NULL);
}

static void block(int signal, int how) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    sigprocmask(how, &set, NULL);
}

/* waitpid that goes on after a handler cut it short. */
static pid_t wait_for(pid_t pid, int* status, int options) {
    pid_t r;
    while ((r = waitpid(pid, status, options)) < 0 && errno == EINTR) {
    }
    return r;
}

/* Waits (up to 2 s) for a child known to stop: 1 when it did, by `signal`. */
static int stopped_by(pid_t pid, int signal) {
    int status = 0;
    pid_t r = wait_for(pid, &status, WUNTRACED);
    return r == pid && WIFSTOPPED(status) && WSTOPSIG(status) == signal;
}

/* Whether a waitpid with WNOHANG and `options` reports nothing now. */
static int nothing_to_report(pid_t pid, int options) {
    int status = 0;
    return wait_for(pid, &status, options | WNOHANG) == 0;
}

static int killed_by(pid_t pid, int signal) {
    int status = 0;
    return wait_for(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == signal;
}

static int exited_with(pid_t pid, int code) {
    int status = 0;
    return wait_for(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

/* A child that waits for a byte on fd (or 10 s) and exits with `code`. */
static pid_t waiting_child(int fd, int code) {
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        alarm(10);
        while (read(fd, &c, 1) < 0 && errno == EINTR) {
        }
        _exit(code);
    }
    return pid;
}

/* Reads one byte (or gives up after about 2 s: 0). */
static int read_byte(int fd) {
    for (int i = 0; i < 200; ++i) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n == 1)
            return c;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return 0;
        pause_ms(10);
    }
    return 0;
}

/* ---- SIGCHLD's record ------------------------------------------------------------------- */

static volatile sig_atomic_t g_chld_count, g_chld_code, g_chld_status, g_chld_pid;

static void chld_handler(int signal, siginfo_t* info, void* context) {
    (void)signal;
    (void)context;
    ++g_chld_count;
    g_chld_code = info->si_code;
    g_chld_status = info->si_status;
    g_chld_pid = info->si_pid;
}

static void set_chld_handler(int flags) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = chld_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART | flags;
    sigemptyset(&action.sa_mask);
    sigaction(SIGCHLD, &action, NULL);
    g_chld_count = 0;
    g_chld_code = 0;
    g_chld_status = 0;
    g_chld_pid = 0;
}

/* Waits up to 1 s for the SIGCHLD count to reach n. */
static int chld_count_reaches(int n) {
    for (int i = 0; i < 100 && g_chld_count < n; ++i)
        pause_ms(10);
    return g_chld_count == n;
}

/* ---- The checks ------------------------------------------------------------------------ */

/* SIGSTOP, WUNTRACED once; SIGCONT, WCONTINUED once; then the child ends normally. */
static void stop_and_continue(void) {
    int fds[2];
    pipe(fds);
    pid_t child = waiting_child(fds[0], 5);
    kill(child, SIGSTOP);
    check(stopped_by(child, SIGSTOP), "SIGSTOP: waitpid(WUNTRACED) says WIFSTOPPED, WSTOPSIG 19");
    check(nothing_to_report(child, WUNTRACED), "a stop is reported once");
    kill(child, SIGSTOP);
    check(nothing_to_report(child, WUNTRACED), "a second SIGSTOP to a stopped child: no report");
    kill(child, SIGCONT);
    int status = 0;
    pid_t r = wait_for(child, &status, WCONTINUED);
    check(r == child && WIFCONTINUED(status), "SIGCONT: waitpid(WCONTINUED) says WIFCONTINUED");
    check(nothing_to_report(child, WCONTINUED | WUNTRACED), "a continue is reported once");
    write(fds[1], "x", 1);
    check(exited_with(child, 5), "the continued child goes on and exits");
    close(fds[0]);
    close(fds[1]);
}

static volatile sig_atomic_t g_tstp_caught;

static void tstp_handler(int signal) {
    (void)signal;
    g_tstp_caught = 1;
}

/* SIGTSTP with a handler does not stop; with SIG_DFL it stops; SIGKILL ends it stopped. */
static void tstp_and_kill(void) {
    int to_child[2], from_child[2];
    pipe(to_child);
    pipe(from_child);
    pid_t child = fork();
    if (child == 0) {
        alarm(10);
        set_handler(SIGTSTP, tstp_handler, SA_RESTART);
        write(from_child[1], "r", 1);
        /* 'p': answer 'P' when the handler ran; 'd': SIGTSTP back to SIG_DFL. */
        for (;;) {
            char c = 0;
            ssize_t n = read(to_child[0], &c, 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n != 1)
                break;
            if (c == 'd') {
                signal(SIGTSTP, SIG_DFL);
                write(from_child[1], "d", 1);
            } else if (c == 'p') {
                write(from_child[1], g_tstp_caught ? "P" : "p", 1);
            }
        }
        _exit(0);
    }
    check(read_byte(from_child[0]) == 'r', "the child is ready");
    kill(child, SIGTSTP);
    write(to_child[1], "p", 1);
    check(read_byte(from_child[0]) == 'P' && nothing_to_report(child, WUNTRACED),
          "SIGTSTP with a handler: the handler runs, the child does not stop");
    write(to_child[1], "d", 1);
    check(read_byte(from_child[0]) == 'd', "the child sets SIGTSTP back to SIG_DFL");
    kill(child, SIGTSTP);
    check(stopped_by(child, SIGTSTP), "SIGTSTP at SIG_DFL stops the child, WSTOPSIG 20");
    kill(child, SIGKILL);
    check(killed_by(child, SIGKILL), "SIGKILL ends a stopped child (WTERMSIG 9)");
    close(to_child[0]);
    close(to_child[1]);
    close(from_child[0]);
    close(from_child[1]);
}

/* raise(SIGSTOP) in the child; a blocked SIGTSTP stops it only when unblocked. */
static void stops_from_inside(void) {
    pid_t child = fork();
    if (child == 0) {
        alarm(10);
        raise(SIGSTOP);
        _exit(7);
    }
    check(stopped_by(child, SIGSTOP), "raise(SIGSTOP) stops the child itself");
    kill(child, SIGCONT);
    check(exited_with(child, 7), "after SIGCONT, raise returns and the child exits");

    int to_child[2], from_child[2];
    pipe(to_child);
    pipe(from_child);
    child = fork();
    if (child == 0) {
        char c;
        alarm(10);
        block(SIGTSTP, SIG_BLOCK);
        write(from_child[1], "r", 1);
        while (read(to_child[0], &c, 1) < 0 && errno == EINTR) {
        }
        block(SIGTSTP, SIG_UNBLOCK);
        _exit(8);
    }
    check(read_byte(from_child[0]) == 'r', "the child blocks SIGTSTP");
    kill(child, SIGTSTP);
    pause_ms(100);
    check(nothing_to_report(child, WUNTRACED), "a blocked SIGTSTP waits, the child runs");
    write(to_child[1], "u", 1);
    check(stopped_by(child, SIGTSTP), "unblocked, the pending SIGTSTP stops the child");
    kill(child, SIGCONT);
    check(exited_with(child, 8), "continued, it exits");
    close(to_child[0]);
    close(to_child[1]);
    close(from_child[0]);
    close(from_child[1]);
}

/* SIGCHLD with CLD_STOPPED and CLD_CONTINUED; none with SA_NOCLDSTOP. */
static void sigchld_reports(void) {
    int fds[2];
    pipe(fds);
    set_chld_handler(0);
    pid_t child = waiting_child(fds[0], 0);
    kill(child, SIGSTOP);
    check(stopped_by(child, SIGSTOP), "the child stops");
    check(chld_count_reaches(1) && g_chld_code == CLD_STOPPED && g_chld_status == SIGSTOP
              && g_chld_pid == child,
          "SIGCHLD: CLD_STOPPED, si_status SIGSTOP, si_pid the child");
    kill(child, SIGCONT);
    int status = 0;
    wait_for(child, &status, WCONTINUED);
    check(chld_count_reaches(2) && g_chld_code == CLD_CONTINUED && g_chld_status == SIGCONT,
          "SIGCHLD: CLD_CONTINUED, si_status SIGCONT");

    set_chld_handler(SA_NOCLDSTOP);
    kill(child, SIGSTOP);
    check(stopped_by(child, SIGSTOP), "the child stops again");
    kill(child, SIGCONT);
    wait_for(child, &status, WCONTINUED);
    pause_ms(100);
    check(g_chld_count == 0, "SA_NOCLDSTOP: no SIGCHLD for a stop or a continue");
    write(fds[1], "x", 1);
    check(exited_with(child, 0) && chld_count_reaches(1) && g_chld_code == CLD_EXITED,
          "SA_NOCLDSTOP: SIGCHLD still comes when the child exits");
    signal(SIGCHLD, SIG_DFL);
    close(fds[0]);
    close(fds[1]);
}

/* waitid: WSTOPPED and WCONTINUED without WEXITED, WNOWAIT. */
static void waitid_reports(void) {
    int fds[2];
    pipe(fds);
    pid_t child = waiting_child(fds[0], 3);
    kill(child, SIGSTOP);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int r = waitid(P_PID, (id_t)child, &info, WSTOPPED | WNOWAIT);
    check(r == 0 && info.si_pid == child && info.si_code == CLD_STOPPED && info.si_status == SIGSTOP
              && info.si_signo == SIGCHLD,
          "waitid(WSTOPPED | WNOWAIT): CLD_STOPPED, si_status SIGSTOP");
    memset(&info, 0, sizeof(info));
    r = waitid(P_PID, (id_t)child, &info, WSTOPPED);
    check(r == 0 && info.si_code == CLD_STOPPED, "WNOWAIT left the stop for the next waitid");
    memset(&info, 0, sizeof(info));
    r = waitid(P_PID, (id_t)child, &info, WSTOPPED | WNOHANG);
    check(r == 0 && info.si_pid == 0, "then it is taken: WNOHANG finds nothing");
    kill(child, SIGCONT);
    memset(&info, 0, sizeof(info));
    r = waitid(P_ALL, 0, &info, WCONTINUED);
    check(r == 0 && info.si_pid == child && info.si_code == CLD_CONTINUED
              && info.si_status == SIGCONT,
          "waitid(WCONTINUED): CLD_CONTINUED, si_status SIGCONT");
    write(fds[1], "x", 1);
    memset(&info, 0, sizeof(info));
    r = waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT);
    check(r == 0 && info.si_code == CLD_EXITED && info.si_status == 3,
          "waitid(WEXITED | WNOWAIT) reports the exit");
    check(exited_with(child, 3), "and leaves the zombie for waitpid");
    close(fds[0]);
    close(fds[1]);
}

/* A child stopped while blocked writing a pipe goes on after SIGCONT; nothing is lost. */
static void stopped_writer(void) {
    enum {
        kChunk = 4096,
        kChunks = 64
    };
    int fds[2];
    pipe(fds);
    pid_t child = fork();
    if (child == 0) {
        static unsigned char buffer[kChunk];
        close(fds[0]);
        alarm(20);
        for (int i = 0; i < kChunks; ++i) {
            memset(buffer, i & 0xff, sizeof(buffer));
            size_t done = 0;
            while (done < sizeof(buffer)) {
                ssize_t n = write(fds[1], buffer + done, sizeof(buffer) - done);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    _exit(2);
                done += (size_t)n;
            }
        }
        _exit(0);
    }
    close(fds[1]);
    pause_ms(200); /* the pipe fills and the writer blocks */
    kill(child, SIGSTOP);
    check(stopped_by(child, SIGSTOP), "the writer blocked on a full pipe stops");
    kill(child, SIGCONT);
    static unsigned char buffer[kChunk];
    size_t total = 0;
    int in_order = 1;
    for (;;) {
        ssize_t n = read(fds[0], buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; ++i)
            if (buffer[i] != (unsigned char)(((total + (size_t)i) / kChunk) & 0xff))
                in_order = 0;
        total += (size_t)n;
    }
    check(total == (size_t)kChunk * kChunks && in_order,
          "continued, the writer finishes: every byte read, in order");
    check(exited_with(child, 0), "and exits 0");
    close(fds[0]);
}

/* A group orphaned while a member is stopped: SIGHUP (then SIGCONT) ends that member. */
static void orphaned_group(void) {
    int fds[2];
    pipe(fds);
    pid_t leader = fork();
    if (leader == 0) {
        alarm(10);
        setpgid(0, 0);
        pid_t member = fork();
        if (member == 0) {
            close(fds[0]);
            raise(SIGSTOP);
            write(fds[1], "alive", 5); /* only if the hang-up did not end it */
            _exit(0);
        }
        close(fds[1]);
        int status = 0;
        pid_t r = wait_for(member, &status, WUNTRACED);
        _exit(r == member && WIFSTOPPED(status) ? 0 : 1);
    }
    close(fds[1]);
    check(exited_with(leader, 0), "a group leader exits with a stopped member in its group");
    /* The member holds the write end: EOF when it has ended. */
    char buffer[8];
    ssize_t n;
    while ((n = read(fds[0], buffer, sizeof(buffer))) < 0 && errno == EINTR) {
    }
    check(n == 0, "the orphaned group's stopped member gets SIGHUP and SIGCONT: it ends");
    close(fds[0]);
}

/* For the terminal: counts until ended; Ctrl-Z stops it. */
__attribute__((noreturn)) static void spin(void) {
    printf("posix_jobctl: spinning\n");
    for (unsigned i = 0;; ++i) {
        printf("posix_jobctl: tick %u\n", i);
        pause_ms(500);
    }
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "spin") == 0)
        spin();
    /* SIGTSTP, SIGTTIN and SIGTTOU at their default action are discarded in an orphaned
     * process group (POSIX). Run from a service or a test runner whose parent is in
     * another session, this program's group may be orphaned; a group of its own, whose
     * parent is in the same session, is not. (A shell's job is already such a group.) */
    if (getpgrp() != getpid())
        check(setpgid(0, 0) == 0, "the test leads a process group of its own");
    stop_and_continue();
    tstp_and_kill();
    stops_from_inside();
    sigchld_reports();
    waitid_reports();
    stopped_writer();
    orphaned_group();
    printf("posix_jobctl: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

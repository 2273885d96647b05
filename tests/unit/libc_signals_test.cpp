// The rules of signals in Tern's musl port (libc/musl/portable/signals.h): default
// actions, the pending order, sigprocmask, the mask while a handler runs, SA_RESETHAND,
// SIGCHLD's siginfo, and the frame proc writes below a thread's red zone.
#include <catch2/catch.hpp>

#include <cstddef>
#include <libc/musl/portable/signals.h>
#include <signal.h>
#include <tern/protocols/proc.h>

namespace {

uint64_t bit(int signal) { return tern_libc_signal_bit(signal); }

} // namespace

TEST_CASE("a signal's bit is Linux's, and only for 1..64", "[signals]") {
    CHECK(bit(1) == 1);
    CHECK(bit(SIGINT) == 2);
    CHECK(bit(64) == uint64_t(1) << 63);
    CHECK(bit(0) == 0);
    CHECK(bit(65) == 0);
    CHECK(bit(-1) == 0);
    CHECK(tern_libc_signal_unblockable() == (bit(SIGKILL) | bit(SIGSTOP)));
}

TEST_CASE("default actions are Linux's", "[signals]") {
    for (int s : {SIGHUP,  SIGINT,  SIGQUIT,   SIGILL,  SIGABRT, SIGFPE, SIGKILL, SIGSEGV,
                  SIGPIPE, SIGALRM, SIGTERM,   SIGUSR1, SIGUSR2, SIGBUS, SIGSYS,  SIGTRAP,
                  SIGXCPU, SIGPROF, SIGVTALRM, SIGIO,   34,      64})
        CHECK(tern_libc_signal_default(s) == TERN_LIBC_SIGNAL_TERMINATE);
    for (int s : {SIGCHLD, SIGURG, SIGWINCH})
        CHECK(tern_libc_signal_default(s) == TERN_LIBC_SIGNAL_IGNORE);
    for (int s : {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU})
        CHECK(tern_libc_signal_default(s) == TERN_LIBC_SIGNAL_STOP);
    CHECK(tern_libc_signal_default(SIGCONT) == TERN_LIBC_SIGNAL_CONTINUE);
}

TEST_CASE("pending signals go lowest first, blocked ones wait", "[signals]") {
    uint64_t pending = bit(SIGTERM) | bit(SIGINT) | bit(SIGUSR1);
    CHECK(tern_libc_signal_next(pending, 0) == SIGINT);
    CHECK(tern_libc_signal_next(pending, bit(SIGINT)) == SIGUSR1);
    CHECK(tern_libc_signal_next(pending, bit(SIGINT) | bit(SIGUSR1)) == SIGTERM);
    CHECK(tern_libc_signal_next(pending, ~uint64_t(0)) == 0);
    CHECK(tern_libc_signal_next(0, 0) == 0);
    // SIGKILL cannot be blocked, whatever the mask says.
    CHECK(tern_libc_signal_next(bit(SIGKILL), ~uint64_t(0)) == SIGKILL);
    CHECK(tern_libc_signal_next(bit(64), 0) == 64);
}

TEST_CASE("sigprocmask's how, and SIGKILL and SIGSTOP never blocked", "[signals]") {
    uint64_t out = 0;
    REQUIRE(tern_libc_signal_mask(SIG_BLOCK, bit(SIGINT), bit(SIGTERM), &out) == 0);
    CHECK(out == (bit(SIGINT) | bit(SIGTERM)));
    REQUIRE(tern_libc_signal_mask(SIG_UNBLOCK, out, bit(SIGINT), &out) == 0);
    CHECK(out == bit(SIGTERM));
    REQUIRE(tern_libc_signal_mask(SIG_SETMASK, out, ~uint64_t(0), &out) == 0);
    CHECK(out == ~tern_libc_signal_unblockable());
    CHECK(tern_libc_signal_mask(3, 0, 0, &out) == -1);
    CHECK(tern_libc_signal_mask(-1, 0, 0, &out) == -1);
}

TEST_CASE("the mask while a handler runs: sa_mask, the signal unless SA_NODEFER", "[signals]") {
    CHECK(tern_libc_signal_handler_mask(bit(SIGTERM), bit(SIGUSR2), 0, SIGUSR1)
          == (bit(SIGTERM) | bit(SIGUSR2) | bit(SIGUSR1)));
    CHECK(tern_libc_signal_handler_mask(0, 0, SA_NODEFER, SIGUSR1) == 0);
    CHECK(tern_libc_signal_handler_mask(0, bit(SIGKILL) | bit(SIGSTOP), 0, SIGINT) == bit(SIGINT));
    CHECK(tern_libc_signal_resets(SA_RESETHAND));
    CHECK(!tern_libc_signal_resets(SA_RESTART | SA_SIGINFO | SA_NODEFER));
}

TEST_CASE("SIGCHLD's siginfo tells how the child ended", "[signals]") {
    int code = 0, status = 0;
    tern_libc_signal_child_info(42, &code, &status);
    CHECK(code == CLD_EXITED);
    CHECK(status == 42);
    tern_libc_signal_child_info(0, &code, &status);
    CHECK(code == CLD_EXITED);
    CHECK(status == 0);
    tern_libc_signal_child_info(128 + SIGINT, &code, &status);
    CHECK(code == CLD_KILLED);
    CHECK(status == SIGINT);
    tern_libc_signal_child_info(256 + 14, &code, &status); // a page fault
    CHECK(code == CLD_KILLED);
    CHECK(status == SIGSEGV);
}

TEST_CASE("SIGCONT discards pending stops, a stop discards a pending SIGCONT", "[signals]") {
    uint64_t stops = bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);
    CHECK(tern_libc_signal_stops() == stops);
    CHECK(tern_libc_signal_pend(bit(SIGTSTP) | bit(SIGTTOU) | bit(SIGUSR1), SIGCONT)
          == (bit(SIGCONT) | bit(SIGUSR1)));
    CHECK(tern_libc_signal_pend(bit(SIGCONT) | bit(SIGINT), SIGTTIN)
          == (bit(SIGTTIN) | bit(SIGINT)));
    CHECK(tern_libc_signal_pend(bit(SIGCONT), SIGUSR2) == (bit(SIGCONT) | bit(SIGUSR2)));
    CHECK(tern_libc_signal_pend(0, 65) == 0);
}

TEST_CASE("the job word: stop signals at their default and unblocked, SA_NOCLDSTOP", "[signals]") {
    uint64_t all = ~uint64_t(0);
    CHECK(tern_libc_signal_job_word(all, 0, 0) == tern_libc_signal_stops());
    // A blocked SIGTSTP is left to the C library (pending until unblocked); SIGSTOP cannot
    // be blocked.
    CHECK(tern_libc_signal_job_word(all, bit(SIGTSTP) | bit(SIGSTOP), 0)
          == (bit(SIGSTOP) | bit(SIGTTIN) | bit(SIGTTOU)));
    // A caught SIGTTOU is not in the defaults.
    CHECK(tern_libc_signal_job_word(all & ~bit(SIGTTOU), 0, 1)
          == (bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | tern::proc::kJobNoChildStop));
    CHECK(tern_libc_signal_job_word(bit(SIGINT), 0, 0) == 0);
}

TEST_CASE("the signal frame: proc's and the C library's layouts agree", "[signals]") {
    STATIC_REQUIRE(sizeof(tern_libc_signal_frame) == sizeof(tern::proc::SignalFrame));
    STATIC_REQUIRE(offsetof(tern_libc_signal_frame, rflags)
                   == offsetof(tern::proc::SignalFrame, rflags));
    STATIC_REQUIRE(offsetof(tern_libc_signal_frame, rip) == offsetof(tern::proc::SignalFrame, rip));
    STATIC_REQUIRE(offsetof(tern_libc_signal_frame, rax) == offsetof(tern::proc::SignalFrame, rax));
    STATIC_REQUIRE(offsetof(tern_libc_signal_frame, fault)
                   == offsetof(tern::proc::SignalFrame, fault));
    // The entry pops rflags and 15 registers, then `ret $128`: RSP is back where it was.
    uint64_t rsp = 0x7fff0000;
    uint64_t frame = tern_libc_signal_frame_at(rsp);
    CHECK(frame % 8 == 0);
    uint64_t after_pops = frame + TERN_LIBC_SIGNAL_FRAME_RESTORE + 16 * 8;
    CHECK(after_pops == frame + offsetof(tern_libc_signal_frame, rip));
    CHECK(after_pops + 8 + TERN_LIBC_RED_ZONE == rsp);
    // Nothing of the frame touches the red zone.
    CHECK(frame + sizeof(tern_libc_signal_frame) == rsp - TERN_LIBC_RED_ZONE);
}

TEST_CASE("a CPU exception's signal, si_code and si_addr are Linux's", "[signals]") {
    int code = -1;
    uint64_t addr = 1;
    const uint64_t rip = 0x401000, at = 0x7000;
    CHECK(tern_libc_signal_of_fault(14, 0x4, at, rip, &code, &addr) == SIGSEGV); // not present
    CHECK(code == SEGV_MAPERR);
    CHECK(addr == at);
    CHECK(tern_libc_signal_of_fault(14, 0x7, at, rip, &code, &addr) == SIGSEGV); // protection
    CHECK(code == SEGV_ACCERR);
    CHECK(addr == at);
    CHECK(tern_libc_signal_of_fault(0, 0, 0, rip, &code, &addr) == SIGFPE);
    CHECK(code == FPE_INTDIV);
    CHECK(addr == rip);
    CHECK(tern_libc_signal_of_fault(6, 0, 0, rip, &code, &addr) == SIGILL);
    CHECK(code == ILL_ILLOPN);
    CHECK(addr == rip);
    CHECK(tern_libc_signal_of_fault(13, 0, 0, rip, &code, &addr) == SIGSEGV);
    CHECK(code == SI_KERNEL);
    CHECK(addr == 0);
    CHECK(tern_libc_signal_of_fault(17, 0, at, rip, &code, &addr) == SIGBUS);
    CHECK(code == BUS_ADRALN);
    CHECK(tern_libc_signal_of_fault(12, 0, 0, rip, &code, &addr) == SIGBUS);
    CHECK(tern_libc_signal_of_fault(3, 0, 0, rip, &code, &addr) == SIGTRAP);
    CHECK(code == SI_KERNEL);
    CHECK(tern_libc_signal_of_fault(19, 0, 0, rip, &code, &addr) == SIGFPE);
}

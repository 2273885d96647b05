// The rules of POSIX timers and scheduling parameters in Tern's musl port
// (libc/musl/portable/timers.h): expirations and the next deadline of a periodic timer,
// timer_gettime's time left, absolute times, overrun counts, the clocks and sigevents
// timer_create takes, the priority ranges and checks of the scheduling policies, and
// mlockall's flags, with Linux's values.
#include <catch2/catch.hpp>

#include <errno.h>
#include <libc/musl/portable/timers.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>

TEST_CASE("a one-shot timer expires once", "[timers]") {
    uint64_t next = 99;
    CHECK(tern_libc_timer_expirations(1000, 0, 1000, &next) == 1);
    CHECK(next == 0);
    CHECK(tern_libc_timer_expirations(1000, 0, 5000000, &next) == 1);
    CHECK(next == 0);
}

TEST_CASE("a periodic timer counts every interval it missed", "[timers]") {
    uint64_t next = 0;
    CHECK(tern_libc_timer_expirations(1000, 10, 1000, &next) == 1);
    CHECK(next == 1010);
    CHECK(tern_libc_timer_expirations(1000, 10, 1009, &next) == 1);
    CHECK(next == 1010);
    CHECK(tern_libc_timer_expirations(1000, 10, 1010, &next) == 2);
    CHECK(next == 1020);
    CHECK(tern_libc_timer_expirations(1000, 10, 1255, &next) == 26);
    CHECK(next == 1260);
    // The next deadline is always after now, even with a 1 ns interval.
    CHECK(tern_libc_timer_expirations(1000, 1, 2000, &next) == 1001);
    CHECK(next == 2001);
}

TEST_CASE("timer_gettime's time left", "[timers]") {
    CHECK(tern_libc_timer_remaining(0, 0, 500) == 0);
    CHECK(tern_libc_timer_remaining(0, 10, 500) == 0);
    CHECK(tern_libc_timer_remaining(800, 0, 500) == 300);
    CHECK(tern_libc_timer_remaining(500, 0, 500) == 1); // due, not yet handled
    CHECK(tern_libc_timer_remaining(500, 100, 530) == 70);
    CHECK(tern_libc_timer_remaining(500, 100, 600) == 100);
}

TEST_CASE("an absolute time becomes a monotonic deadline", "[timers]") {
    CHECK(tern_libc_timer_absolute(5000, 4000, 100) == 1100);
    CHECK(tern_libc_timer_absolute(4000, 4000, 100) == 100);
    CHECK(tern_libc_timer_absolute(1, 4000, 100) == 100);
    CHECK(tern_libc_timer_absolute(UINT64_MAX, 0, 100) == 100 + TERN_LIBC_TIMER_MAX_NS);
}

TEST_CASE("overrun counts stop at DELAYTIMER_MAX", "[timers]") {
    CHECK(tern_libc_timer_overrun_add(0, 0) == 0);
    CHECK(tern_libc_timer_overrun_add(3, 4) == 7);
    CHECK(tern_libc_timer_overrun_add(TERN_LIBC_TIMER_OVERRUN_MAX - 1, 1)
          == TERN_LIBC_TIMER_OVERRUN_MAX);
    CHECK(tern_libc_timer_overrun_add(TERN_LIBC_TIMER_OVERRUN_MAX - 1, 5)
          == TERN_LIBC_TIMER_OVERRUN_MAX);
    CHECK(tern_libc_timer_overrun_add(UINT64_MAX, UINT64_MAX) == TERN_LIBC_TIMER_OVERRUN_MAX);
}

TEST_CASE("timer_create's clocks", "[timers]") {
    CHECK(tern_libc_timer_clock(CLOCK_REALTIME) == 0);
    CHECK(tern_libc_timer_clock(CLOCK_MONOTONIC) == 0);
    CHECK(tern_libc_timer_clock(CLOCK_BOOTTIME) == 0);
    CHECK(tern_libc_timer_clock(CLOCK_PROCESS_CPUTIME_ID) == -EOPNOTSUPP);
    CHECK(tern_libc_timer_clock(CLOCK_THREAD_CPUTIME_ID) == -EOPNOTSUPP);
    CHECK(tern_libc_timer_clock(-6) == -EOPNOTSUPP); // a process's CPU clock
    CHECK(tern_libc_timer_clock(CLOCK_MONOTONIC_RAW) == -EINVAL);
    CHECK(tern_libc_timer_clock(12345) == -EINVAL);
}

TEST_CASE("timer_create's sigevents", "[timers]") {
    CHECK(tern_libc_timer_sigevent(SIGEV_NONE, 0) == 0);
    CHECK(tern_libc_timer_sigevent(SIGEV_SIGNAL, SIGUSR1) == 0);
    CHECK(tern_libc_timer_sigevent(SIGEV_SIGNAL, 64) == 0);
    CHECK(tern_libc_timer_sigevent(SIGEV_SIGNAL, 0) == -EINVAL);
    CHECK(tern_libc_timer_sigevent(SIGEV_SIGNAL, 65) == -EINVAL);
    CHECK(tern_libc_timer_sigevent(SIGEV_THREAD, SIGUSR1) == 0);
    CHECK(tern_libc_timer_sigevent(4 /* SIGEV_THREAD_ID */, SIGUSR1) == 0);
    CHECK(tern_libc_timer_sigevent(TERN_LIBC_SIGEV_PORT, SIGALRM) == 0);
    CHECK(tern_libc_timer_sigevent(99, SIGUSR1) == -EINVAL);
}

TEST_CASE("scheduling policies: Linux's priority ranges", "[sched]") {
    CHECK(tern_libc_sched_priority_max(SCHED_FIFO) == 99);
    CHECK(tern_libc_sched_priority_min(SCHED_FIFO) == 1);
    CHECK(tern_libc_sched_priority_max(SCHED_RR) == 99);
    CHECK(tern_libc_sched_priority_min(SCHED_RR) == 1);
    CHECK(tern_libc_sched_priority_max(SCHED_OTHER) == 0);
    CHECK(tern_libc_sched_priority_min(SCHED_BATCH) == 0);
    CHECK(tern_libc_sched_priority_max(SCHED_IDLE) == 0);
    CHECK(tern_libc_sched_priority_max(4) == -EINVAL);
    CHECK(tern_libc_sched_priority_min(-1) == -EINVAL);
}

TEST_CASE("sched_setscheduler's checks", "[sched]") {
    CHECK(tern_libc_sched_check(SCHED_OTHER, 0) == 0);
    CHECK(tern_libc_sched_check(SCHED_OTHER, 1) == -EINVAL);
    CHECK(tern_libc_sched_check(SCHED_FIFO, 1) == 0);
    CHECK(tern_libc_sched_check(SCHED_FIFO, 99) == 0);
    CHECK(tern_libc_sched_check(SCHED_FIFO, 0) == -EINVAL);
    CHECK(tern_libc_sched_check(SCHED_RR, 100) == -EINVAL);
    CHECK(tern_libc_sched_check(SCHED_RR | SCHED_RESET_ON_FORK, 10) == 0);
    CHECK(tern_libc_sched_check(6 /* SCHED_DEADLINE */, 0) == -EINVAL);
    CHECK(tern_libc_sched_check(77, 0) == -EINVAL);
}

TEST_CASE("mlockall's flags", "[sched]") {
    CHECK(tern_libc_mlockall_check(MCL_CURRENT) == 0);
    CHECK(tern_libc_mlockall_check(MCL_FUTURE) == 0);
    CHECK(tern_libc_mlockall_check(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0);
    CHECK(tern_libc_mlockall_check(MCL_ONFAULT) == -EINVAL);
    CHECK(tern_libc_mlockall_check(0) == -EINVAL);
    CHECK(tern_libc_mlockall_check(8) == -EINVAL);
}

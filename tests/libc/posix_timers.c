/*
 * posix_timers: POSIX timers, scheduling parameters, setting the clock and locking memory
 * through the C library, with the errno Linux gives for every refusal.
 *
 *   timer_create with SIGEV_SIGNAL (a handler sees si_code SI_TIMER and sigev_value),
 *   SIGEV_NONE, SIGEV_THREAD (the function runs with sigev_value) and no sigevent
 *   (SIGALRM); timer_settime relative, TIMER_ABSTIME on CLOCK_REALTIME (in the future and
 *   in the past), periodic, disarming, the old value; timer_gettime; timer_getoverrun and
 *   si_overrun while the signal stays blocked; timer_delete stops the signals; a forked
 *   child has no timers; EINVAL for bad clocks, sigevents, timespecs and ids. Then
 *   sched_get_priority_min/max, sched_getscheduler/sched_getparam/sched_setscheduler/
 *   sched_setparam and their EINVALs, sched_rr_get_interval, getpriority/setpriority,
 *   sched_setaffinity, clock_settime's and settimeofday's EINVALs (and EPERM on Tern,
 *   where no program sets the clock), mlock/munlock (ENOMEM for an unmapped page),
 *   mlockall's flags. clock_getcpuclockid and pthread_getcpuclockid give the caller's
 *   CPU clocks (and fail for a process that is gone). setitimer and getitimer with
 *   ITIMER_VIRTUAL (a one-shot SIGVTALRM after 30 ms of user time) and ITIMER_PROF (SIGPROF
 *   every 20 ms of processor time), disarming, a forked child without them, EINVAL.
 *
 * The same program runs on the host's Linux (unit.libc_posix_timers_on_host), so every
 * expectation is what Linux does; the few answers that depend on privilege on Linux
 * (a real-time policy, mlockall(MCL_CURRENT), setting the clock) are checked as Tern
 * gives them and, on Linux, only as one of the answers it may give. Prints
 * "posix_timers: ok ..." per check, "posix_timers: FAILED ..." for a failure and
 * "posix_timers: N checks, M failures"; exits 0 only when nothing failed. Every wait is
 * bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK_NAME "posix_timers"
#include "check.h"
static int g_on_tern;

/* A call that must fail with errno `want`. */
static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("posix_timers: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("posix_timers: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
    fflush(stdout);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t ns_of(const struct timespec* t) {
    return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static struct itimerspec spec_ms(long value_ms, long interval_ms) {
    struct itimerspec s;
    s.it_value.tv_sec = value_ms / 1000;
    s.it_value.tv_nsec = (value_ms % 1000) * 1000000L;
    s.it_interval.tv_sec = interval_ms / 1000;
    s.it_interval.tv_nsec = (interval_ms % 1000) * 1000000L;
    return s;
}

/* ---- SIGEV_SIGNAL ------------------------------------------------------------------- */

static volatile sig_atomic_t g_fired, g_code, g_value, g_signo;

static void on_timer(int signal, siginfo_t* info, void* context) {
    (void)context;
    g_signo = signal;
    g_code = info->si_code;
    g_value = info->si_value.sival_int;
    ++g_fired;
}

/* Waits up to ms for g_fired to reach count. */
static int wait_fired(int count, long ms) {
    int64_t end = now_ms() + ms;
    while (g_fired < count && now_ms() < end)
        sleep_ms(5);
    return g_fired >= count;
}

static void test_signal(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);

    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 4242;
    timer_t t;
    check(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create(CLOCK_MONOTONIC, SIGUSR1)");

    /* Armed for 10 s: timer_gettime reads it back. */
    struct itimerspec s = spec_ms(10000, 0), got;
    check(timer_settime(t, 0, &s, NULL) == 0, "timer_settime 10 s");
    check(timer_gettime(t, &got) == 0 && ns_of(&got.it_value) > 9000000000LL
              && ns_of(&got.it_value) <= 10000000000LL && ns_of(&got.it_interval) == 0,
          "timer_gettime: between 9 and 10 s left, no interval");
    struct itimerspec old;
    s = spec_ms(0, 0);
    check(timer_settime(t, 0, &s, &old) == 0 && ns_of(&old.it_value) > 9000000000LL,
          "timer_settime 0 disarms and returns the old value");
    check(timer_gettime(t, &got) == 0 && ns_of(&got.it_value) == 0,
          "timer_gettime of a disarmed timer: 0");

    /* One shot, 50 ms. */
    g_fired = 0;
    int64_t start = now_ms();
    s = spec_ms(50, 0);
    check(timer_settime(t, 0, &s, NULL) == 0, "timer_settime 50 ms");
    check(wait_fired(1, 3000), "the timer's signal came");
    int64_t took = now_ms() - start;
    check(took >= 45, "not before its time");
    check(g_signo == SIGUSR1 && g_code == SI_TIMER && g_value == 4242,
          "si_signo SIGUSR1, si_code SI_TIMER, si_value 4242");
    sleep_ms(100);
    check(g_fired == 1, "a one-shot timer fires once");
    check(timer_gettime(t, &got) == 0 && ns_of(&got.it_value) == 0,
          "an expired one-shot timer reads 0");

    /* Periodic, 20 ms, for 300 ms. */
    g_fired = 0;
    s = spec_ms(20, 20);
    check(timer_settime(t, 0, &s, NULL) == 0, "timer_settime every 20 ms");
    check(timer_gettime(t, &got) == 0 && ns_of(&got.it_interval) == 20000000LL,
          "timer_gettime: the interval");
    sleep_ms(300);
    int fired = g_fired;
    printf("posix_timers: %d signals in 300 ms at 20 ms\n", fired);
    check(fired >= 5 && fired <= 17, "a periodic timer fires about every 20 ms");

    /* Deleted: no more signals. */
    check(timer_delete(t) == 0, "timer_delete");
    sleep_ms(50);
    fired = g_fired;
    sleep_ms(100);
    check(g_fired == fired, "no signal after timer_delete");
    check_errno(timer_delete(t), EINVAL, "timer_delete of a deleted timer");
    s = spec_ms(10, 0);
    check_errno(timer_settime(t, 0, &s, NULL), EINVAL, "timer_settime of a deleted timer");
    check_errno(timer_gettime(t, &got), EINVAL, "timer_gettime of a deleted timer");
    check_errno(timer_getoverrun(t), EINVAL, "timer_getoverrun of a deleted timer");

    /* No sigevent: SIGALRM with SI_TIMER. */
    g_fired = 0;
    check(timer_create(CLOCK_REALTIME, NULL, &t) == 0, "timer_create(CLOCK_REALTIME, NULL)");
    s = spec_ms(30, 0);
    check(timer_settime(t, 0, &s, NULL) == 0, "timer_settime 30 ms");
    check(wait_fired(1, 3000) && g_signo == SIGALRM && g_code == SI_TIMER,
          "no sigevent: SIGALRM with SI_TIMER");

    /* TIMER_ABSTIME on the wall clock: 80 ms ahead, then a time already past. */
    g_fired = 0;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    wall.tv_nsec += 80000000L;
    if (wall.tv_nsec >= 1000000000L) {
        wall.tv_nsec -= 1000000000L;
        ++wall.tv_sec;
    }
    memset(&s, 0, sizeof(s));
    s.it_value = wall;
    start = now_ms();
    check(timer_settime(t, TIMER_ABSTIME, &s, NULL) == 0, "timer_settime TIMER_ABSTIME");
    check(timer_gettime(t, &got) == 0 && ns_of(&got.it_value) > 0
              && ns_of(&got.it_value) <= 80000000LL,
          "timer_gettime of an absolute timer: the time left");
    check(wait_fired(1, 3000) && now_ms() - start >= 70, "an absolute timer fires at its time");
    g_fired = 0;
    s.it_value.tv_sec -= 5;
    check(timer_settime(t, TIMER_ABSTIME, &s, NULL) == 0 && wait_fired(1, 1000),
          "an absolute time already past fires at once");
    check(timer_delete(t) == 0, "timer_delete");
}

/* ---- Overruns ----------------------------------------------------------------------- */

static void test_overrun(void) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, &old);
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    ev.sigev_value.sival_ptr = &ev;
    timer_t t;
    check(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create(SIGUSR2) for overruns");
    struct itimerspec s = spec_ms(10, 10);
    int64_t armed = now_ms();
    check(timer_settime(t, 0, &s, NULL) == 0, "timer_settime every 10 ms, SIGUSR2 blocked");
    sleep_ms(250);
    check(timer_getoverrun(t) == 0, "timer_getoverrun 0 before the signal is taken");
    siginfo_t info;
    struct timespec wait = {2, 0};
    int signal = sigtimedwait(&set, &info, &wait);
    int64_t waited = now_ms() - armed;
    int overrun = timer_getoverrun(t);
    printf("posix_timers: si_overrun %d, timer_getoverrun %d after 250 ms at 10 ms\n",
           info.si_overrun, overrun);
    check(signal == SIGUSR2 && info.si_code == SI_TIMER && info.si_value.sival_ptr == &ev,
          "sigtimedwait: the timer's SIGUSR2 with SI_TIMER and sival_ptr");
    /* At most one expiration per 10 ms since it was armed, the first one not an overrun;
     * at least 10 in 250 ms. */
    check(info.si_overrun >= 10 && info.si_overrun <= waited / 10,
          "si_overrun counts the expirations while it was pending");
    check(overrun == info.si_overrun, "timer_getoverrun equals si_overrun");
    s = spec_ms(0, 0);
    timer_settime(t, 0, &s, NULL);
    check(timer_delete(t) == 0, "timer_delete");
    /* Drop a SIGUSR2 that came meanwhile. */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, &info, &zero) > 0) {
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- SIGEV_NONE and SIGEV_THREAD ---------------------------------------------------------- */

static volatile int g_thread_calls;
static volatile int g_thread_value;

static void on_thread(union sigval value) {
    g_thread_value = value.sival_int;
    __atomic_add_fetch(&g_thread_calls, 1, __ATOMIC_SEQ_CST);
}

static void test_none_and_thread(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_NONE;
    timer_t t;
    check(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create(SIGEV_NONE)");
    struct itimerspec s = spec_ms(100, 0), a, b;
    timer_settime(t, 0, &s, NULL);
    timer_gettime(t, &a);
    sleep_ms(30);
    timer_gettime(t, &b);
    check(ns_of(&b.it_value) < ns_of(&a.it_value) && ns_of(&b.it_value) > 0,
          "SIGEV_NONE: the time left goes down");
    sleep_ms(120);
    timer_gettime(t, &b);
    check(ns_of(&b.it_value) == 0, "SIGEV_NONE: 0 once expired");
    check(timer_delete(t) == 0, "timer_delete(SIGEV_NONE)");

    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_thread;
    ev.sigev_value.sival_int = 777;
    check(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create(SIGEV_THREAD)");
    s = spec_ms(20, 20);
    check(timer_settime(t, 0, &s, NULL) == 0, "timer_settime every 20 ms");
    int64_t end = now_ms() + 3000;
    while (g_thread_calls < 3 && now_ms() < end)
        sleep_ms(10);
    check(g_thread_calls >= 3 && g_thread_value == 777,
          "SIGEV_THREAD: the function runs with sigev_value, again and again");
    check(timer_delete(t) == 0, "timer_delete(SIGEV_THREAD)");
    sleep_ms(60);
    int calls = g_thread_calls;
    sleep_ms(100);
    check(g_thread_calls == calls, "SIGEV_THREAD: no call after timer_delete");
}

/* ---- Refusals ------------------------------------------------------------------------ */

static void test_errors(void) {
    timer_t t;
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    check_errno(timer_create(12345, &ev, &t), EINVAL, "timer_create of an unknown clock");
    ev.sigev_notify = 99;
    check_errno(timer_create(CLOCK_MONOTONIC, &ev, &t), EINVAL, "sigev_notify 99");
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 0;
    check_errno(timer_create(CLOCK_MONOTONIC, &ev, &t), EINVAL, "sigev_signo 0");
    ev.sigev_signo = 65;
    check_errno(timer_create(CLOCK_MONOTONIC, &ev, &t), EINVAL, "sigev_signo 65");
    ev.sigev_signo = SIGUSR1;
    check(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create for the refusals");
    struct itimerspec s = spec_ms(10, 0);
    s.it_value.tv_nsec = 1000000000L;
    check_errno(timer_settime(t, 0, &s, NULL), EINVAL, "it_value.tv_nsec 1e9");
    s = spec_ms(10, 0);
    s.it_value.tv_sec = -1;
    check_errno(timer_settime(t, 0, &s, NULL), EINVAL, "it_value.tv_sec -1");
    s = spec_ms(10, 10);
    s.it_interval.tv_nsec = -1;
    check_errno(timer_settime(t, 0, &s, NULL), EINVAL, "it_interval.tv_nsec -1");
    check_errno(syscall(SYS_timer_settime, 4000, 0, &s, NULL), EINVAL, "timer_settime of id 4000");
    check_errno(syscall(SYS_timer_gettime, 4000, &s), EINVAL, "timer_gettime of id 4000");
    check_errno(syscall(SYS_timer_delete, 4000), EINVAL, "timer_delete of id 4000");
    check_errno(syscall(SYS_timer_settime, 4000, 0, NULL, NULL), EINVAL,
                "timer_settime without a value");

    /* A forked child has no timers. */
    pid_t child = fork();
    if (child == 0) {
        struct itimerspec got;
        _exit(timer_gettime(t, &got) == -1 && errno == EINVAL ? 0 : 1);
    }
    int status = 0;
    check(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
          "a forked child does not have its parent's timer");
    check(timer_delete(t) == 0, "timer_delete");
}

/* ---- Scheduling, the clock, locked memory -------------------------------------------- */

static void test_sched(void) {
    check(sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_FIFO) == 1,
          "SCHED_FIFO priorities 1..99");
    check(sched_get_priority_max(SCHED_RR) == 99 && sched_get_priority_min(SCHED_RR) == 1,
          "SCHED_RR priorities 1..99");
    check(sched_get_priority_max(SCHED_OTHER) == 0 && sched_get_priority_min(SCHED_OTHER) == 0,
          "SCHED_OTHER priority 0");
    check_errno(sched_get_priority_max(-1), EINVAL, "sched_get_priority_max(-1)");
    check_errno(sched_get_priority_min(77), EINVAL, "sched_get_priority_min(77)");
    /* glibc's and Tern's: the system calls (musl's own answer ENOSYS on Linux). */
    check(syscall(SYS_sched_getscheduler, 0) == SCHED_OTHER, "sched_getscheduler: SCHED_OTHER");
    struct sched_param p = {0};
    p.sched_priority = 9;
    check(syscall(SYS_sched_getparam, 0, &p) == 0 && p.sched_priority == 0,
          "sched_getparam: priority 0");
    p.sched_priority = 5;
    check_errno(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &p), EINVAL,
                "SCHED_OTHER with priority 5");
    p.sched_priority = 0;
    check_errno(syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &p), EINVAL,
                "SCHED_FIFO with priority 0");
    check_errno(syscall(SYS_sched_setscheduler, 0, 77, &p), EINVAL, "policy 77");
    check_errno(syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &p), EINVAL, "pid -1");
    check_errno(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL), EINVAL, "no param");
    check_errno(syscall(SYS_sched_getscheduler, -1), EINVAL, "sched_getscheduler(-1)");
    check_errno(syscall(SYS_sched_getparam, 0, NULL), EINVAL, "sched_getparam without param");
    check_errno(syscall(SYS_sched_getscheduler, 0x3ffffff0), ESRCH,
                "sched_getscheduler of no such process");
    check(syscall(SYS_sched_setparam, 0, &p) == 0, "sched_setparam priority 0");
    p.sched_priority = 10;
    long r = syscall(SYS_sched_setscheduler, 0, SCHED_RR, &p);
    if (g_on_tern || r == 0) {
        struct sched_param back = {0};
        check(r == 0 && syscall(SYS_sched_getscheduler, 0) == SCHED_RR
                  && syscall(SYS_sched_getparam, 0, &back) == 0 && back.sched_priority == 10,
              "SCHED_RR priority 10, read back");
        p.sched_priority = 20;
        check(syscall(SYS_sched_setparam, 0, &p) == 0 && syscall(SYS_sched_getparam, 0, &back) == 0
                  && back.sched_priority == 20,
              "sched_setparam keeps the policy, changes the priority");
        p.sched_priority = 0;
        check(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &p) == 0
                  && syscall(SYS_sched_getscheduler, 0) == SCHED_OTHER,
              "back to SCHED_OTHER");
    } else {
        check_errno(r, EPERM, "SCHED_RR without the privilege (Linux)");
    }
    struct timespec ts = {-1, -1};
    check(sched_rr_get_interval(0, &ts) == 0 && ts.tv_sec >= 0 && ts.tv_nsec >= 0,
          "sched_rr_get_interval");
    check_errno(sched_rr_get_interval(-1, &ts), EINVAL, "sched_rr_get_interval(-1)");

    errno = 0;
    int before = getpriority(PRIO_PROCESS, 0);
    check(errno == 0 && before >= -20 && before <= 19, "getpriority");
    check(setpriority(PRIO_PROCESS, 0, before + 1 > 19 ? 19 : before + 1) == 0, "setpriority");
    errno = 0;
    check(getpriority(PRIO_PROCESS, 0) == (before + 1 > 19 ? 19 : before + 1) && errno == 0,
          "getpriority reads it back");
    check(setpriority(PRIO_PROCESS, 0, 100) == 0 && getpriority(PRIO_PROCESS, 0) == 19,
          "a nice value above 19 is 19");
    check_errno(getpriority(99, 0), EINVAL, "getpriority(99)");
    check_errno(getpriority(PRIO_PROCESS, 0x3ffffff0), ESRCH, "getpriority of no such process");

    cpu_set_t set;
    CPU_ZERO(&set);
    check(sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 1,
          "sched_getaffinity");
    check(sched_setaffinity(0, sizeof(set), &set) == 0, "sched_setaffinity to the same CPUs");
    cpu_set_t none;
    CPU_ZERO(&none);
    check_errno(sched_setaffinity(0, sizeof(none), &none), EINVAL, "sched_setaffinity to none");
}

static void test_clock_and_memory(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    check_errno(clock_settime(CLOCK_MONOTONIC, &now), EINVAL, "clock_settime(CLOCK_MONOTONIC)");
    check_errno(clock_settime(12345, &now), EINVAL, "clock_settime of an unknown clock");
    struct timespec bad = now;
    bad.tv_nsec = 1000000000L;
    check_errno(clock_settime(CLOCK_REALTIME, &bad), EINVAL, "clock_settime tv_nsec 1e9");
    bad.tv_nsec = 0;
    bad.tv_sec = -1;
    check_errno(clock_settime(CLOCK_REALTIME, &bad), EINVAL, "clock_settime tv_sec -1");
    if (g_on_tern) {
        check_errno(clock_settime(CLOCK_REALTIME, &now), EPERM,
                    "clock_settime(CLOCK_REALTIME): no program sets the clock");
        struct timeval tv = {now.tv_sec, 0};
        check_errno(syscall(SYS_settimeofday, &tv, NULL), EPERM, "settimeofday");
    }
    struct timeval tv = {now.tv_sec, 1000000};
    check_errno(syscall(SYS_settimeofday, &tv, NULL), EINVAL, "settimeofday tv_usec 1e6");

    /* The system calls themselves: the host's sanitizers make the functions no-ops. */
    static char buffer[3 * 4096];
    check(syscall(SYS_mlock, buffer + 100, 5000) == 0, "mlock");
    check(syscall(SYS_munlock, buffer + 100, 5000) == 0, "munlock");
    check(syscall(SYS_mlock, buffer, 0) == 0, "mlock of 0 bytes");
    char* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page, 4096);
    check_errno(syscall(SYS_mlock, page, 4096), ENOMEM, "mlock of an unmapped page");
    check_errno(syscall(SYS_munlock, page, 4096), ENOMEM, "munlock of an unmapped page");
    check_errno(syscall(SYS_mlockall, 0), EINVAL, "mlockall(0)");
    check_errno(syscall(SYS_mlockall, MCL_ONFAULT), EINVAL, "mlockall(MCL_ONFAULT) alone");
    check_errno(syscall(SYS_mlockall, 64), EINVAL, "mlockall(64)");
    if (g_on_tern)
        check(mlockall(MCL_CURRENT | MCL_FUTURE) == 0, "mlockall(MCL_CURRENT | MCL_FUTURE)");
    check(syscall(SYS_munlockall) == 0, "munlockall");
}

/* ---- ITIMER_VIRTUAL and ITIMER_PROF ---------------------------------------------------- */

static volatile sig_atomic_t g_vtalrm, g_prof;

static void on_cpu_timer(int signal) {
    if (signal == SIGVTALRM)
        ++g_vtalrm;
    else if (signal == SIGPROF)
        ++g_prof;
}

/* Works in user mode until *flag reaches count or 5 s of the clock have passed. */
static int spin_until(volatile sig_atomic_t* flag, int count) {
    int64_t end = now_ms() + 5000;
    volatile uint64_t x = 0;
    while (*flag < count && now_ms() < end)
        for (uint32_t i = 0; i < 20000; ++i)
            x += i % 7;
    (void)x;
    return *flag >= count;
}

static void test_cpu_itimers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_cpu_timer;
    sigaction(SIGVTALRM, &sa, NULL);
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval set, got;
    memset(&set, 0, sizeof(set));
    set.it_value.tv_sec = 10;
    check(setitimer(ITIMER_VIRTUAL, &set, NULL) == 0 && getitimer(ITIMER_VIRTUAL, &got) == 0
              && got.it_value.tv_sec <= 10 && got.it_value.tv_sec >= 9
              && got.it_interval.tv_sec == 0 && got.it_interval.tv_usec == 0,
          "setitimer(ITIMER_VIRTUAL) 10 s, getitimer reads it back");
    memset(&set, 0, sizeof(set));
    check(setitimer(ITIMER_VIRTUAL, &set, &got) == 0 && got.it_value.tv_sec >= 9
              && getitimer(ITIMER_VIRTUAL, &got) == 0 && got.it_value.tv_sec == 0
              && got.it_value.tv_usec == 0,
          "setitimer(ITIMER_VIRTUAL) 0 disarms it and gives the old value");

    /* A one-shot SIGVTALRM after 30 ms of user time. */
    g_vtalrm = 0;
    set.it_value.tv_usec = 30000;
    check(setitimer(ITIMER_VIRTUAL, &set, NULL) == 0, "setitimer(ITIMER_VIRTUAL) 30 ms");
    check(spin_until(&g_vtalrm, 1), "SIGVTALRM arrives after 30 ms of user time");
    check(getitimer(ITIMER_VIRTUAL, &got) == 0 && got.it_value.tv_sec == 0
              && got.it_value.tv_usec == 0,
          "the one-shot ITIMER_VIRTUAL is disarmed once it fired");

    /* A periodic SIGPROF every 20 ms of processor time. */
    g_prof = 0;
    set.it_value.tv_usec = 20000;
    set.it_interval.tv_usec = 20000;
    check(setitimer(ITIMER_PROF, &set, NULL) == 0, "setitimer(ITIMER_PROF) 20 ms, every 20 ms");
    check(spin_until(&g_prof, 3), "SIGPROF arrives again and again while the process works");
    check(getitimer(ITIMER_PROF, &got) == 0 && got.it_interval.tv_sec == 0
              && got.it_interval.tv_usec == 20000,
          "getitimer(ITIMER_PROF) reads the interval back");
    pid_t pid = fork();
    if (pid == 0) {
        struct itimerval child;
        _exit(getitimer(ITIMER_PROF, &child) == 0 && child.it_value.tv_sec == 0
                      && child.it_value.tv_usec == 0
                  ? 0
                  : 1);
    }
    int status = -1;
    check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
          "a forked child does not have its parent's ITIMER_PROF");
    memset(&set, 0, sizeof(set));
    check(setitimer(ITIMER_PROF, &set, NULL) == 0, "setitimer(ITIMER_PROF) 0 disarms it");
    sleep_ms(50); /* a signal sent just before is let in first */
    int before = g_prof;
    sleep_ms(100);
    check(g_prof == before, "no SIGPROF after it was disarmed");
    set.it_value.tv_usec = 1000000;
    errno = 0;
    check(setitimer(ITIMER_PROF, &set, NULL) == -1 && errno == EINVAL,
          "setitimer with tv_usec 1000000 is EINVAL");
    errno = 0;
    check(getitimer(99, &got) == -1 && errno == EINVAL, "getitimer(99) is EINVAL");
    signal(SIGVTALRM, SIG_DFL);
    signal(SIGPROF, SIG_DFL);
}

/* ---- The CPU clocks of the caller ----------------------------------------------------- */

/* User work until the process has spent 50 ms (10 s of the clock at most). */
static void spin_cpu(void) {
    int64_t end = now_ms() + 10000;
    volatile uint64_t x = 0;
    struct timespec t = {0, 0};
    while (now_ms() < end && clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0
           && ns_of(&t) < 50000000)
        for (uint32_t i = 0; i < 100000; ++i)
            x += i % 7;
    (void)x;
}

static void test_cpu_clocks(void) {
    spin_cpu();
    clockid_t clock;
    struct timespec before, after;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &before);
    check(clock_getcpuclockid(getpid(), &clock) == 0 && clock_gettime(clock, &after) == 0
              && ns_of(&after) >= ns_of(&before) && ns_of(&after) >= 50000000,
          "clock_getcpuclockid(getpid()): the process's CPU clock");
    check(clock_getcpuclockid(0, &clock) == 0 && clock_getres(clock, &after) == 0,
          "clock_getcpuclockid(0): the caller's");
    check(pthread_getcpuclockid(pthread_self(), &clock) == 0 && clock_gettime(clock, &after) == 0
              && ns_of(&after) > 0,
          "pthread_getcpuclockid(pthread_self()): the thread's CPU clock");
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    int r = clock_getcpuclockid(gone, &clock);
    /* glibc turns the kernel's EINVAL into ESRCH; musl passes it through. */
    check(r == ESRCH || r == EINVAL, "clock_getcpuclockid of a process that is gone fails");
}

int main(void) {
    struct utsname u;
    g_on_tern = uname(&u) == 0 && strcmp(u.sysname, "Tern") == 0;
    test_signal();
    test_overrun();
    test_none_and_thread();
    test_errors();
    test_sched();
    test_clock_and_memory();
    test_cpu_clocks();
    test_cpu_itimers();
    return check_summary();
}

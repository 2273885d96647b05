/*
 * Tern's musl backend: POSIX timers and the interval timer (docs/libc.md, "POSIX timers").
 *
 * Every timer lives in this table, in the process's own memory (a migrated process takes
 * its timers along): its clock, how it notifies, its monotonic deadline and interval,
 * and its overrun count. One helper thread, started at the first armed timer, waits on a
 * port until the earliest deadline and fires what is due:
 *
 *   SIGEV_SIGNAL (and SIGEV_THREAD_ID, whose signal acts on the process as every signal
 *   on Tern does): asks proc to signal this process (Signal with kSignalIncludeCaller,
 *   which interrupts the main thread), unless the timer's signal is still on its way or
 *   pending here: then the expiration is an overrun. backend_signal.c tells the table
 *   when the signal arrives (tern_libc_timer_arrived: it gets si_code SI_TIMER, the
 *   timer id and sigev_value) and when it is taken (tern_libc_timer_taken: the overrun
 *   count moves to what timer_getoverrun reports) or dropped.
 *   TERN_LIBC_SIGEV_PORT (musl's SIGEV_THREAD, overlay/src/time/timer_create.c): counts
 *   the expiration and signals the timer's port, on which the notification thread waits
 *   in tern_libc_timer_thread_wait.
 *   SIGEV_NONE: nothing; timer_gettime reads the deadline.
 *
 * alarm and setitimer(ITIMER_REAL) are one more slot of the table, which sends SIGALRM.
 * setitimer(ITIMER_VIRTUAL) and setitimer(ITIMER_PROF) are two more, whose deadlines are
 * in the process's processor time (user time, and user plus system time: what times()
 * and the process CPU clock read, tern_libc_cpu_times) and which send SIGVTALRM and
 * SIGPROF: while one is armed the thread reads that time again when the time left could
 * have passed, and at least every 10 ms (a process's threads may run on several
 * processors at once).
 * The table is lock-free: the calls change a slot's deadline with atomic stores and the
 * thread claims an expiration with a compare-and-swap, so a call made by a signal
 * handler never waits for the thread or for the call it interrupted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/timers.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <libc/musl/signal_client.h>
#include <tern/abi/errors.h>
#include <tern/abi/message.h>
#include <tern/abi/syscalls.h>
#include <tern/syscall.h>

enum {
    kTimerCount = 64,      /* POSIX timers per process (timer_create: EAGAIN beyond) */
    kItimer = kTimerCount, /* the slot of alarm and setitimer(ITIMER_REAL) */
    kVirtual,              /* setitimer(ITIMER_VIRTUAL): a deadline in user time */
    kProf,                 /* setitimer(ITIMER_PROF): in user and system time */
    kSlots,
    kFree = 0,
    kUsed = 1,
    kClosing = 2, /* a port timer deleted, its thread not yet gone */
    kIdle = 0,    /* delivery: no signal on its way */
    kSent = 1,    /* asked proc */
    kPending = 2, /* arrived, pending here */
};

struct timer {
    volatile int state;
    int clock;
    int notify;
    int signo;
    uint64_t value;             /* sigev_value */
    uint32_t port;              /* TERN_LIBC_SIGEV_PORT: what its thread waits on */
    volatile uint64_t deadline; /* monotonic ns; 0: disarmed */
    volatile uint64_t interval;
    volatile int delivery;
    volatile uint64_t overrun;      /* expirations not signalled since the last delivery */
    volatile uint64_t last_overrun; /* timer_getoverrun's answer */
    volatile uint64_t fires;        /* port timers: expirations not yet taken */
};

static struct timer g_timers[kSlots];

/* How long the thread sleeps at most while a processor-time timer is armed. */
static const uint64_t kCpuPollNs = 10000000;
static uint32_t g_port;
static int g_started;
static uint8_t g_stack[16384] __attribute__((aligned(16)));

static uint64_t now_ns(void) { return (uint64_t)tern_sys_clock_monotonic(); }

static uint64_t load64(volatile uint64_t* p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

static void store64(volatile uint64_t* p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

/* The clock of slot id: the process's processor time for the CPU interval timers (user
 * time alone for ITIMER_VIRTUAL), the monotonic clock for every other. */
static uint64_t slot_now(int id) {
    if (id == kVirtual || id == kProf) {
        struct tern_cpu_times t = tern_libc_cpu_times(0);
        return t.user_ns + (id == kProf ? t.system_ns : 0);
    }
    return now_ns();
}

static void poke(void) {
    if (g_port != 0)
        (void)tern_sys_port_signal(g_port, 1);
}

/* ---- The helper thread ----------------------------------------------------------------- */

static void fire_signal(int id, struct timer* t, uint64_t expirations) {
    if (id >= kItimer) {
        /* An interval timer's SIGALRM, SIGVTALRM or SIGPROF, as setitimer sends them. */
        int caller_too = 0;
        (void)tern_libc_proc_signal(tern_libc_startup_pid(), (uint32_t)t->signo,
                                    TERN_LIBC_SIGNAL_INCLUDE_CALLER, &caller_too);
        return;
    }
    int idle = kIdle;
    if (!__atomic_compare_exchange_n(&t->delivery, &idle, kSent, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
        /* The last one is still on its way or pending: every expiration is an overrun. */
        store64(&t->overrun, tern_libc_timer_overrun_add(load64(&t->overrun), expirations));
        return;
    }
    store64(&t->overrun, tern_libc_timer_overrun_add(load64(&t->overrun), expirations - 1));
    if (tern_libc_signal_dropped_by_proc(t->signo)) {
        /* Ignored and not blocked: proc would drop it, as Linux discards it. */
        __atomic_store_n(&t->delivery, kIdle, __ATOMIC_SEQ_CST);
        return;
    }
    int caller_too = 0;
    int64_t r = tern_libc_proc_signal(tern_libc_startup_pid(), (uint32_t)t->signo,
                                      TERN_LIBC_SIGNAL_INCLUDE_CALLER, &caller_too);
    if (r < 0 && r != -TERN_INTERRUPTED) {
        int sent = kSent;
        (void)__atomic_compare_exchange_n(&t->delivery, &sent, kIdle, 0, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST);
    }
}

static void fire(int id, struct timer* t, uint64_t expirations) {
    if (t->notify == TERN_LIBC_SIGEV_PORT) {
        __atomic_add_fetch(&t->fires, expirations, __ATOMIC_SEQ_CST);
        (void)tern_sys_port_signal(t->port, 1);
        return;
    }
    fire_signal(id, t, expirations);
}

/* A processor-time interval timer: fires it when its time has come, and returns how long
 * (monotonic ns, at least 1) the thread may sleep before it looks again, 0 when it is not
 * armed. */
static uint64_t cpu_slot(int id, struct timer* t) {
    uint64_t deadline = load64(&t->deadline);
    if (deadline == 0)
        return 0;
    uint64_t now = slot_now(id);
    if (now >= deadline) {
        uint64_t next = 0;
        uint64_t count = tern_libc_timer_expirations(deadline, load64(&t->interval), now, &next);
        if (__atomic_compare_exchange_n(&t->deadline, &deadline, next, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            fire(id, t, count);
        deadline = load64(&t->deadline);
        if (deadline == 0)
            return 0;
        now = slot_now(id);
    }
    uint64_t left = deadline > now ? deadline - now : 1;
    return left < kCpuPollNs ? left : kCpuPollNs;
}

void tern_timer_thread_start(void);
__attribute__((used, noreturn)) void tern_timer_thread_main(void) {
    for (;;) {
        uint64_t now = now_ns();
        uint64_t earliest = 0;
        for (int id = 0; id < kSlots; ++id) {
            struct timer* t = &g_timers[id];
            if (__atomic_load_n(&t->state, __ATOMIC_SEQ_CST) != kUsed || t->notify == SIGEV_NONE)
                continue;
            if (id == kVirtual || id == kProf) {
                uint64_t wait = cpu_slot(id, t);
                now = now_ns();
                if (wait != 0 && (earliest == 0 || now + wait < earliest))
                    earliest = now + wait;
                continue;
            }
            uint64_t deadline = load64(&t->deadline);
            if (deadline != 0 && now >= deadline) {
                uint64_t next = 0;
                uint64_t count =
                    tern_libc_timer_expirations(deadline, load64(&t->interval), now, &next);
                /* A call that re-armed or disarmed the timer meanwhile wins. */
                if (__atomic_compare_exchange_n(&t->deadline, &deadline, next, 0, __ATOMIC_SEQ_CST,
                                                __ATOMIC_SEQ_CST))
                    fire(id, t, count);
                deadline = load64(&t->deadline);
                now = now_ns();
                if (deadline != 0 && deadline <= now) {
                    earliest = now;
                    continue;
                }
            }
            if (deadline != 0 && (earliest == 0 || deadline < earliest))
                earliest = deadline;
        }
        now = now_ns();
        if (earliest != 0 && earliest <= now)
            continue;
        struct tern_msg message;
        memset(&message, 0, sizeof(message));
        (void)tern_sys_port_receive(g_port, (uint64_t)(uintptr_t)&message,
                                    earliest ? earliest - now : TERN_TIMEOUT_INFINITE);
    }
}

__asm__(".text\n"
        ".globl tern_timer_thread_start\n"
        ".type tern_timer_thread_start, @function\n"
        "tern_timer_thread_start:\n"
        "    xorl %ebp, %ebp\n"
        "    call tern_timer_thread_main\n"
        "    ud2\n"
        ".size tern_timer_thread_start, . - tern_timer_thread_start\n");

/* The helper thread, at the first timer armed to notify (SIGEV_NONE needs none). */
static long start_thread(void) {
    if (g_started)
        return 0;
    if (tern_libc_startup_pid() == 0)
        return -ENOSYS; /* no proc server to deliver the signals */
    int64_t port = tern_sys_port_create(1);
    if (port < 0)
        return -EAGAIN;
    g_port = (uint32_t)port;
    int64_t thread =
        tern_sys_thread_create((uint64_t)(uintptr_t)&tern_timer_thread_start,
                               (uint64_t)(uintptr_t)(g_stack + sizeof(g_stack)), 0, 10);
    if (thread < 0) {
        (void)tern_sys_handle_close(g_port);
        g_port = 0;
        return -EAGAIN;
    }
    (void)tern_sys_handle_close((uint64_t)thread);
    g_started = 1;
    return 0;
}

/* ---- What backend_signal.c tells the table ------------------------------------------------ */

int tern_libc_timer_arrived(long signal, int* timer) {
    for (int id = 0; id < kTimerCount; ++id) {
        struct timer* t = &g_timers[id];
        if (__atomic_load_n(&t->state, __ATOMIC_SEQ_CST) != kUsed || t->signo != signal
            || t->notify == SIGEV_NONE || t->notify == TERN_LIBC_SIGEV_PORT)
            continue;
        int sent = kSent;
        if (__atomic_compare_exchange_n(&t->delivery, &sent, kPending, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            *timer = id;
            return 1;
        }
    }
    return 0;
}

void tern_libc_timer_dropped(int timer) {
    if (timer >= 0 && timer < kTimerCount)
        __atomic_store_n(&g_timers[timer].delivery, kIdle, __ATOMIC_SEQ_CST);
}

void tern_libc_timer_taken(int timer, int* overrun, uint64_t* value) {
    *overrun = 0;
    *value = 0;
    if (timer < 0 || timer >= kTimerCount)
        return;
    struct timer* t = &g_timers[timer];
    uint64_t count = __atomic_exchange_n(&t->overrun, 0, __ATOMIC_SEQ_CST);
    store64(&t->last_overrun, count);
    *overrun = (int)count;
    *value = t->value;
    __atomic_store_n(&t->delivery, kIdle, __ATOMIC_SEQ_CST);
}

/* ---- SIGEV_THREAD's notification thread (overlay/src/time/timer_create.c) ----------------- */

/* Waits for the timer's next expiration: 1, or 0 once the timer was deleted (its slot is
 * then free). Called by a thread of the program directly, not through the backend lock. */
long tern_libc_timer_thread_wait(int id) {
    if (id < 0 || id >= kTimerCount || g_timers[id].notify != TERN_LIBC_SIGEV_PORT)
        return 0;
    struct timer* t = &g_timers[id];
    for (;;) {
        uint64_t count = __atomic_exchange_n(&t->fires, 0, __ATOMIC_SEQ_CST);
        if (count != 0 && __atomic_load_n(&t->state, __ATOMIC_SEQ_CST) == kUsed) {
            store64(&t->last_overrun, tern_libc_timer_overrun_add(0, count - 1));
            return 1;
        }
        if (__atomic_load_n(&t->state, __ATOMIC_SEQ_CST) == kClosing) {
            (void)tern_sys_handle_close(t->port);
            t->port = 0;
            __atomic_store_n(&t->state, kFree, __ATOMIC_SEQ_CST);
            return 0;
        }
        struct tern_msg message;
        memset(&message, 0, sizeof(message));
        (void)tern_sys_port_receive(t->port, (uint64_t)(uintptr_t)&message, TERN_TIMEOUT_INFINITE);
    }
}

/* ---- The calls ---------------------------------------------------------------------------- */

/* The kernel's struct sigevent as musl passes it. */
struct ksigevent {
    uint64_t value;
    int signo;
    int notify;
    int tid;
};

static struct timer* timer_of(long id) {
    if (id < 0 || id >= kTimerCount)
        return 0;
    struct timer* t = &g_timers[id];
    return __atomic_load_n(&t->state, __ATOMIC_SEQ_CST) == kUsed ? t : 0;
}

static long sys_timer_create(long clock, const struct ksigevent* user_event, int* user_id) {
    int r = tern_libc_timer_clock(clock);
    if (r == -EOPNOTSUPP) {
        tern_libc_log_unsupported(SYS_timer_create, "a timer of a CPU-time or alarm clock");
        return r;
    }
    if (r != 0)
        return r;
    struct ksigevent event = {0, SIGALRM, SIGEV_SIGNAL, 0};
    int defaulted = user_event == 0;
    if (user_event && tern_libc_copy_in(&event, user_event, sizeof(event)) != 0)
        return -EFAULT;
    if (!defaulted) {
        r = tern_libc_timer_sigevent(event.notify, event.signo);
        if (r != 0)
            return r;
        /* Linux: the thread must be one of the caller's. */
        if (event.notify == SIGEV_THREAD_ID
            && !(event.tid == tern_libc_pid() || tern_libc_thread_is_ours(event.tid)))
            return -EINVAL;
    }
    if (event.notify != SIGEV_NONE) {
        long started = start_thread();
        if (started != 0)
            return started;
        tern_libc_signal_register();
    }
    int id = 0;
    for (; id < kTimerCount; ++id) {
        int free_state = kFree;
        if (__atomic_compare_exchange_n(&g_timers[id].state, &free_state, kClosing, 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            break;
    }
    if (id == kTimerCount)
        return -EAGAIN;
    struct timer* t = &g_timers[id];
    t->clock = (int)clock;
    t->notify = event.notify;
    t->signo = event.signo;
    t->value = defaulted ? (uint64_t)id : event.value;
    t->port = 0;
    store64(&t->deadline, 0);
    store64(&t->interval, 0);
    t->delivery = kIdle;
    store64(&t->overrun, 0);
    store64(&t->last_overrun, 0);
    store64(&t->fires, 0);
    if (event.notify == TERN_LIBC_SIGEV_PORT) {
        int64_t port = tern_sys_port_create(1);
        if (port < 0) {
            __atomic_store_n(&t->state, kFree, __ATOMIC_SEQ_CST);
            return -EAGAIN;
        }
        t->port = (uint32_t)port;
    }
    if (tern_libc_copy_out(user_id, &id, sizeof(id)) != 0) {
        if (t->port != 0)
            (void)tern_sys_handle_close(t->port);
        t->port = 0;
        __atomic_store_n(&t->state, kFree, __ATOMIC_SEQ_CST);
        return -EFAULT;
    }
    __atomic_store_n(&t->state, kUsed, __ATOMIC_SEQ_CST);
    return 0;
}

static uint64_t clock_now(int clock) {
    return clock == CLOCK_REALTIME ? (uint64_t)tern_sys_clock_realtime() : now_ns();
}

static void ns_timespec(uint64_t ns, struct timespec* t) {
    t->tv_sec = (time_t)(ns / 1000000000ull);
    t->tv_nsec = (long)(ns % 1000000000ull);
}

static void current(struct timer* t, struct itimerspec* out) {
    uint64_t deadline = load64(&t->deadline);
    uint64_t interval = load64(&t->interval);
    uint64_t now = now_ns();
    /* SIGEV_NONE: nothing handles the expiration, so a one-shot one is over when due. */
    if (t->notify == SIGEV_NONE && interval == 0 && deadline != 0 && now >= deadline)
        deadline = 0;
    ns_timespec(tern_libc_timer_remaining(deadline, interval, now), &out->it_value);
    ns_timespec(deadline ? interval : 0, &out->it_interval);
}

static uint64_t clamp(uint64_t ns) {
    return ns > TERN_LIBC_TIMER_MAX_NS ? TERN_LIBC_TIMER_MAX_NS : ns;
}

/* Arms (value non-zero) or disarms a slot; value is relative unless absolute. */
static void arm(struct timer* t, uint64_t value, uint64_t interval, int absolute) {
    uint64_t now = now_ns();
    uint64_t deadline = 0;
    if (value != 0)
        deadline = absolute ? tern_libc_timer_absolute(value, clock_now(t->clock), now)
                            : now + clamp(value);
    if (deadline == 0 && value != 0)
        deadline = 1;
    store64(&t->interval, clamp(interval));
    store64(&t->deadline, deadline);
    poke();
}

static long sys_timer_settime(long id, long flags, const struct itimerspec* user_next,
                              struct itimerspec* user_old) {
    struct timer* t = timer_of(id);
    if (!t)
        return -EINVAL;
    struct itimerspec next, old;
    if (!user_next)
        return -EINVAL;
    if (tern_libc_copy_in(&next, user_next, sizeof(next)) != 0)
        return -EFAULT;
    uint64_t value = 0, interval = 0;
    int r = tern_libc_timespec_to_ns(next.it_value.tv_sec, next.it_value.tv_nsec, &value);
    if (r == 0)
        r = tern_libc_timespec_to_ns(next.it_interval.tv_sec, next.it_interval.tv_nsec, &interval);
    if (r != 0)
        return r;
    current(t, &old);
    if (value == 0)
        interval = 0;
    arm(t, value, interval, (flags & TIMER_ABSTIME) != 0);
    if (user_old && tern_libc_copy_out(user_old, &old, sizeof(old)) != 0)
        return -EFAULT;
    return 0;
}

static long sys_timer_gettime(long id, struct itimerspec* user_out) {
    struct timer* t = timer_of(id);
    if (!t)
        return -EINVAL;
    struct itimerspec out;
    current(t, &out);
    return tern_libc_copy_out(user_out, &out, sizeof(out)) != 0 ? -EFAULT : 0;
}

static long sys_timer_getoverrun(long id) {
    struct timer* t = timer_of(id);
    if (!t)
        return -EINVAL;
    uint64_t count = load64(&t->last_overrun);
    return (long)(count > TERN_LIBC_TIMER_OVERRUN_MAX ? TERN_LIBC_TIMER_OVERRUN_MAX : count);
}

static long sys_timer_delete(long id) {
    struct timer* t = timer_of(id);
    if (!t)
        return -EINVAL;
    store64(&t->deadline, 0);
    if (t->notify == TERN_LIBC_SIGEV_PORT) {
        /* Its thread frees the slot once it sees the timer gone. */
        __atomic_store_n(&t->state, kClosing, __ATOMIC_SEQ_CST);
        (void)tern_sys_port_signal(t->port, 1);
        return 0;
    }
    __atomic_store_n(&t->state, kFree, __ATOMIC_SEQ_CST);
    return 0;
}

/* ---- alarm and setitimer(ITIMER_REAL) ---------------------------------------------------- */

static uint64_t timeval_ns(const struct timeval* t) {
    return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_usec * 1000ull;
}

static void ns_timeval(uint64_t ns, struct timeval* t) {
    t->tv_sec = (time_t)(ns / 1000000000ull);
    t->tv_usec = (suseconds_t)((ns % 1000000000ull + 999) / 1000);
    if (t->tv_usec >= 1000000) {
        t->tv_sec += 1;
        t->tv_usec -= 1000000;
    }
}

/* The slot of setitimer's `which`: ITIMER_REAL, ITIMER_VIRTUAL or ITIMER_PROF. */
static int itimer_slot(long which) {
    return which == ITIMER_REAL ? kItimer : which == ITIMER_VIRTUAL ? kVirtual : kProf;
}

static void current_itimer(int id, struct itimerval* out) {
    struct timer* t = &g_timers[id];
    uint64_t deadline = load64(&t->deadline);
    uint64_t now = deadline ? slot_now(id) : 0;
    ns_timeval(deadline > now ? deadline - now : 0, &out->it_value);
    ns_timeval(deadline ? load64(&t->interval) : 0, &out->it_interval);
}

static long sys_setitimer(long which, const struct itimerval* next, struct itimerval* old) {
    if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
        return -EINVAL;
    int id = itimer_slot(which);
    struct itimerval wanted, previous;
    if (next && tern_libc_copy_in(&wanted, next, sizeof(wanted)) != 0)
        return -EFAULT;
    if (next
        && (wanted.it_value.tv_usec < 0 || wanted.it_value.tv_usec >= 1000000
            || wanted.it_interval.tv_usec < 0 || wanted.it_interval.tv_usec >= 1000000
            || wanted.it_value.tv_sec < 0 || wanted.it_interval.tv_sec < 0))
        return -EINVAL;
    current_itimer(id, &previous);
    if (next) {
        struct timer* t = &g_timers[id];
        uint64_t value = timeval_ns(&wanted.it_value);
        if (value != 0) {
            tern_libc_signal_register();
            long r = start_thread();
            if (r != 0)
                return r;
            t->notify = SIGEV_SIGNAL;
            t->signo = id == kItimer ? SIGALRM : id == kVirtual ? SIGVTALRM : SIGPROF;
            t->clock = id == kItimer ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID;
            __atomic_store_n(&t->state, kUsed, __ATOMIC_SEQ_CST);
        }
        if (id == kItimer) {
            arm(t, value, timeval_ns(&wanted.it_interval), 0);
        } else {
            /* A deadline in the process's processor time. */
            uint64_t interval = value == 0 ? 0 : clamp(timeval_ns(&wanted.it_interval));
            store64(&t->interval, interval);
            store64(&t->deadline, value == 0 ? 0 : slot_now(id) + clamp(value));
            poke();
        }
    }
    if (old && tern_libc_copy_out(old, &previous, sizeof(previous)) != 0)
        return -EFAULT;
    return 0;
}

static long sys_getitimer(long which, struct itimerval* out) {
    if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
        return -EINVAL;
    struct itimerval now;
    current_itimer(itimer_slot(which), &now);
    return tern_libc_copy_out(out, &now, sizeof(now)) != 0 ? -EFAULT : 0;
}

static long sys_alarm(long seconds) {
    struct itimerval next, old;
    memset(&next, 0, sizeof(next));
    next.it_value.tv_sec = (time_t)(unsigned)seconds;
    long r = sys_setitimer(ITIMER_REAL, &next, &old);
    if (r != 0)
        return r;
    /* Linux rounds to the nearest second, and never reports a pending alarm as 0. */
    long left = (long)old.it_value.tv_sec + (old.it_value.tv_usec >= 500000);
    return left == 0 && old.it_value.tv_usec > 0 ? 1 : left;
}

/* ---- What the rest of the backend uses -------------------------------------------------- */

/* A forked child has no timers (POSIX), and neither the port nor the thread came along. */
void tern_libc_timers_fork_child(void) {
    memset((void*)g_timers, 0, sizeof(g_timers));
    g_port = 0;
    g_started = 0;
}

long tern_libc_timer_syscall(long n, long a1, long a2, long a3, long a4, int* handled) {
    *handled = 1;
    /* Timer ids, clocks, flags and `which` are ints to the kernel. */
    switch (n) {
    case SYS_timer_create:
        return sys_timer_create((int)a1, (const struct ksigevent*)a2, (int*)a3);
    case SYS_timer_settime:
        return sys_timer_settime((int)a1, (int)a2, (const struct itimerspec*)a3,
                                 (struct itimerspec*)a4);
    case SYS_timer_gettime:
        return sys_timer_gettime((int)a1, (struct itimerspec*)a2);
    case SYS_timer_getoverrun:
        return sys_timer_getoverrun((int)a1);
    case SYS_timer_delete:
        return sys_timer_delete((int)a1);
    case SYS_alarm:
        return sys_alarm((unsigned)a1);
    case SYS_setitimer:
        return sys_setitimer((int)a1, (const struct itimerval*)a2, (struct itimerval*)a3);
    case SYS_getitimer:
        return sys_getitimer((int)a1, (struct itimerval*)a2);
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

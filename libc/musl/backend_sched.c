/*
 * Tern's musl backend: scheduling parameters, priorities and affinity, setting the clock,
 * and locking memory (docs/libc.md, "Scheduling, the clock and locked memory").
 *
 * The kernel runs every thread of a program at the priority it was created with (32
 * levels, round-robin within a level, a 2-tick quantum at 100 Hz: docs/kernel.md) and has
 * no call to change it. So the policy, real-time priority and nice value a program sets
 * are checked as Linux checks them and kept here, per process, where the getters read
 * them back (a forked child keeps them, as on Linux); they do not change how the kernel
 * schedules the program. The machine has one CPU: the affinity mask must hold CPU 0.
 *
 * The wall clock is the kernel's, read from the CMOS clock at boot; no program may set
 * it. clock_settime and settimeofday check their arguments as Linux does and then answer
 * EPERM, what Linux answers a process without CAP_SYS_TIME.
 *
 * Every page a program has is resident (Tern has no paging to disk), so mlock and its
 * family succeed once their arguments pass Linux's checks (a range with an unmapped page
 * is ENOMEM).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/timers.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>

enum {
    kPageSize = 4096,
    kQuantumNs = 20000000, /* 2 ticks of the kernel's 100 Hz timer */
};

static int g_policy = SCHED_OTHER; /* with SCHED_RESET_ON_FORK when it was given */
static int g_priority;
static int g_nice;

/* 1 for the caller (0, its pid or one of its threads), 0 for another process that exists,
 * -ESRCH for none. */
static int target(long pid) {
    if (pid < 0)
        return -ESRCH;
    if (pid == 0 || pid == tern_libc_pid() || tern_libc_thread_is_ours(pid))
        return 1;
    return tern_libc_dispatch(SYS_kill, pid, 0, 0, 0, 0, 0) == -ESRCH ? -ESRCH : 0;
}

static long sys_sched_setscheduler(long pid, long policy, const struct sched_param* user,
                                   int keep_policy) {
    if (!user || pid < 0)
        return -EINVAL;
    struct sched_param param;
    if (tern_libc_copy_in(&param, user, sizeof(param)) != 0)
        return -EFAULT;
    int who = target(pid);
    if (who < 0)
        return who;
    if (keep_policy)
        policy = g_policy;
    int r = tern_libc_sched_check(policy, param.sched_priority);
    if (r != 0)
        return r;
    if (who == 0) {
        tern_libc_log_unsupported(keep_policy ? SYS_sched_setparam : SYS_sched_setscheduler,
                                  "the scheduling of another process");
        return -EPERM;
    }
    g_policy = (int)policy;
    g_priority = param.sched_priority;
    return 0;
}

static long sys_sched_getscheduler(long pid) {
    if (pid < 0)
        return -EINVAL;
    int who = target(pid);
    if (who < 0)
        return who;
    return who ? g_policy : SCHED_OTHER;
}

static long sys_sched_getparam(long pid, struct sched_param* user) {
    if (!user || pid < 0)
        return -EINVAL;
    int who = target(pid);
    if (who < 0)
        return who;
    struct sched_param param;
    memset(&param, 0, sizeof(param));
    param.sched_priority = who ? g_priority : 0;
    return tern_libc_copy_out(user, &param, sizeof(param)) != 0 ? -EFAULT : 0;
}

static long sys_sched_rr_get_interval(long pid, struct timespec* user) {
    if (pid < 0)
        return -EINVAL;
    int who = target(pid);
    if (who < 0)
        return who;
    int policy = who ? g_policy & ~SCHED_RESET_ON_FORK : SCHED_OTHER;
    struct timespec t = {0, policy == SCHED_FIFO ? 0 : kQuantumNs};
    return tern_libc_copy_out(user, &t, sizeof(t)) != 0 ? -EFAULT : 0;
}

static long sys_sched_setaffinity(long pid, long size, const void* user) {
    int who = target(pid);
    if (who < 0)
        return who;
    /* Linux reads up to its mask's size (zeros beyond what is given) and wants at least
     * one CPU of the machine's: here, CPU 0. */
    uint8_t first = 0;
    if (size > 0 && tern_libc_copy_in(&first, user, 1) != 0)
        return -EFAULT;
    if (!(first & 1))
        return -EINVAL;
    return 0;
}

/* getpriority's and setpriority's target: 1 for the caller, 0 for another, or an error. */
static int priority_target(long which, long who) {
    switch (which) {
    case PRIO_PROCESS:
        return target(who);
    case PRIO_PGRP:
        if (who < 0)
            return -ESRCH;
        if (who == 0 || who == tern_libc_dispatch(SYS_getpgid, 0, 0, 0, 0, 0, 0))
            return 1;
        return tern_libc_dispatch(SYS_kill, -who, 0, 0, 0, 0, 0) == 0 ? 0 : -ESRCH;
    case PRIO_USER:
        /* Every program runs as root (uid 0). */
        return who == 0 ? 1 : -ESRCH;
    default:
        return -EINVAL;
    }
}

static long sys_getpriority(long which, long who) {
    int r = priority_target(which, who);
    if (r < 0)
        return r;
    /* The system call's answer is 20 - nice (1..40); the C library turns it back. */
    return 20 - (r ? g_nice : 0);
}

static long sys_setpriority(long which, long who, long nice) {
    int r = priority_target(which, who);
    if (r < 0)
        return r;
    if (r == 0) {
        tern_libc_log_unsupported(SYS_setpriority, "the priority of another process");
        return -EPERM;
    }
    g_nice = nice < -20 ? -20 : nice > 19 ? 19 : (int)nice;
    return 0;
}

static long sys_clock_settime(long clock, const struct timespec* user) {
    int cpu_clock = clock == CLOCK_PROCESS_CPUTIME_ID || clock == CLOCK_THREAD_CPUTIME_ID
                    || (clock < 0 && tern_libc_timer_clock(clock) == -EOPNOTSUPP);
    if (clock != CLOCK_REALTIME && !cpu_clock)
        return -EINVAL;
    struct timespec t;
    if (tern_libc_copy_in(&t, user, sizeof(t)) != 0)
        return -EFAULT;
    uint64_t ns = 0;
    if (clock == CLOCK_REALTIME) {
        int r = tern_libc_timespec_to_ns(t.tv_sec, t.tv_nsec, &ns);
        if (r != 0)
            return r;
    }
    tern_libc_log_unsupported(SYS_clock_settime, "setting a clock (EPERM)");
    return -EPERM;
}

static long sys_settimeofday(const struct timeval* user_tv, const struct timezone* user_tz) {
    if (user_tv) {
        struct timeval tv;
        if (tern_libc_copy_in(&tv, user_tv, sizeof(tv)) != 0)
            return -EFAULT;
        if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
            return -EINVAL;
    }
    if (user_tz) {
        struct timezone tz;
        if (tern_libc_copy_in(&tz, user_tz, sizeof(tz)) != 0)
            return -EFAULT;
        if (tz.tz_minuteswest < -15 * 60 || tz.tz_minuteswest > 15 * 60)
            return -EINVAL;
    }
    tern_libc_log_unsupported(SYS_settimeofday, "setting the clock (EPERM)");
    return -EPERM;
}

/* mlock's range: whole pages around [addr, addr + length), every one mapped. */
static long lock_range(long addr, long length) {
    uint64_t start = (uint64_t)addr & ~(uint64_t)(kPageSize - 1);
    uint64_t offset = (uint64_t)addr - start;
    uint64_t size = (uint64_t)length + offset;
    if (size < (uint64_t)length)
        return -EINVAL;
    size = (size + kPageSize - 1) & ~(uint64_t)(kPageSize - 1);
    if (size == 0)
        return 0;
    if (start + size < start)
        return -EINVAL;
    /* msync asks the region list whether every page is mapped (ENOMEM if not). */
    long r = tern_libc_dispatch(SYS_msync, (long)start, (long)size, MS_ASYNC, 0, 0, 0);
    return r == -ENOMEM ? -ENOMEM : 0;
}

long tern_libc_sched_syscall(long n, long a1, long a2, long a3, long a4, int* handled) {
    (void)a4;
    *handled = 1;
    /* The kernel's arguments are ints (pid_t, int, clockid_t): the upper halves of the
     * registers are not the caller's to fill. */
    switch (n) {
    case SYS_sched_setscheduler:
        return sys_sched_setscheduler((int)a1, (int)a2, (const struct sched_param*)a3, 0);
    case SYS_sched_setparam:
        return sys_sched_setscheduler((int)a1, 0, (const struct sched_param*)a2, 1);
    case SYS_sched_getscheduler:
        return sys_sched_getscheduler((int)a1);
    case SYS_sched_getparam:
        return sys_sched_getparam((int)a1, (struct sched_param*)a2);
    case SYS_sched_get_priority_max:
        return tern_libc_sched_priority_max((int)a1);
    case SYS_sched_get_priority_min:
        return tern_libc_sched_priority_min((int)a1);
    case SYS_sched_rr_get_interval:
        return sys_sched_rr_get_interval((int)a1, (struct timespec*)a2);
    case SYS_sched_setaffinity:
        return sys_sched_setaffinity((int)a1, (unsigned)a2, (const void*)a3);
    case SYS_getpriority:
        return sys_getpriority((int)a1, (int)a2);
    case SYS_setpriority:
        return sys_setpriority((int)a1, (int)a2, (int)a3);
    case SYS_clock_settime:
        return sys_clock_settime((int)a1, (const struct timespec*)a2);
    case SYS_settimeofday:
        return sys_settimeofday((const struct timeval*)a1, (const struct timezone*)a2);
    case SYS_mlock:
    case SYS_munlock:
        return lock_range(a1, a2);
    case SYS_mlock2:
        return ((unsigned)a3 & ~1u) != 0 ? -EINVAL : lock_range(a1, a2); /* MLOCK_ONFAULT */
    case SYS_mlockall:
        return tern_libc_mlockall_check((int)a1);
    case SYS_munlockall:
        return 0;
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

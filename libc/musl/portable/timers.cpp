// Tern's musl port: the pure rules of POSIX timers and scheduling parameters
// (portable/timers.h).
#include <libc/musl/portable/timers.h>

#include <libc/musl/portable/translate.h>

namespace {

constexpr int64_t kEinval = -TERN_LINUX_EINVAL;
constexpr int64_t kEopnotsupp = -TERN_LINUX_EOPNOTSUPP;

// A policy's priority range as Linux gives it: SCHED_FIFO (1) and SCHED_RR (2) 1..99,
// SCHED_OTHER (0), SCHED_BATCH (3), SCHED_IDLE (5) and SCHED_DEADLINE (6) 0..0; or EINVAL.
int priority_bound(int64_t policy, bool max) {
    switch (policy) {
    case 1:
    case 2:
        return max ? 99 : 1;
    case 0:
    case 3:
    case 5:
    case 6:
        return 0;
    default:
        return static_cast<int>(kEinval);
    }
}

} // namespace

extern "C" {

uint64_t tern_libc_timer_expirations(uint64_t deadline, uint64_t interval, uint64_t now,
                                     uint64_t* next) {
    if (interval == 0 || now < deadline) {
        *next = 0;
        return 1;
    }
    uint64_t count = 1 + (now - deadline) / interval;
    *next = deadline + count * interval;
    return count;
}

uint64_t tern_libc_timer_remaining(uint64_t deadline, uint64_t interval, uint64_t now) {
    if (deadline == 0)
        return 0;
    if (now < deadline)
        return deadline - now;
    if (interval == 0)
        return 1;
    uint64_t next = 0;
    (void)tern_libc_timer_expirations(deadline, interval, now, &next);
    return next - now;
}

uint64_t tern_libc_timer_absolute(uint64_t value, uint64_t clock_now, uint64_t monotonic_now) {
    if (value <= clock_now)
        return monotonic_now;
    uint64_t left = value - clock_now;
    if (left > TERN_LIBC_TIMER_MAX_NS)
        left = TERN_LIBC_TIMER_MAX_NS;
    return monotonic_now + left;
}

uint64_t tern_libc_timer_overrun_add(uint64_t count, uint64_t more) {
    uint64_t limit = TERN_LIBC_TIMER_OVERRUN_MAX;
    return count >= limit || more >= limit - count ? limit : count + more;
}

int tern_libc_timer_clock(int64_t clock_id) {
    switch (clock_id) {
    case 0: // CLOCK_REALTIME
    case 1: // CLOCK_MONOTONIC
    case 7: // CLOCK_BOOTTIME
        return 0;
    case 2:  // CLOCK_PROCESS_CPUTIME_ID
    case 3:  // CLOCK_THREAD_CPUTIME_ID
    case 8:  // CLOCK_REALTIME_ALARM
    case 9:  // CLOCK_BOOTTIME_ALARM
    case 11: // CLOCK_TAI
        return static_cast<int>(kEopnotsupp);
    default:
        // A process's or thread's CPU clock id (negative) is a CPU-time clock too.
        return clock_id < 0 ? static_cast<int>(kEopnotsupp) : static_cast<int>(kEinval);
    }
}

int tern_libc_timer_sigevent(int notify, int signo) {
    switch (notify) {
    case 1: // SIGEV_NONE
        return 0;
    case 0: // SIGEV_SIGNAL
    case 2: // SIGEV_THREAD: Linux's system call takes it as SIGEV_SIGNAL
    case 4: // SIGEV_THREAD_ID
    case TERN_LIBC_SIGEV_PORT:
        return signo >= 1 && signo <= 64 ? 0 : static_cast<int>(kEinval);
    default:
        return static_cast<int>(kEinval);
    }
}

int tern_libc_sched_priority_max(int64_t policy) { return priority_bound(policy, true); }

int tern_libc_sched_priority_min(int64_t policy) { return priority_bound(policy, false); }

int tern_libc_sched_check(int64_t policy, int64_t priority) {
    constexpr int64_t kResetOnFork = 0x40000000;
    policy &= ~kResetOnFork;
    if (policy == 6 || tern_libc_sched_priority_max(policy) < 0)
        return static_cast<int>(kEinval);
    if (priority < tern_libc_sched_priority_min(policy)
        || priority > tern_libc_sched_priority_max(policy))
        return static_cast<int>(kEinval);
    return 0;
}

int tern_libc_mlockall_check(int64_t flags) {
    if (flags == 0 || (flags & ~int64_t{7}) != 0 || flags == 4)
        return static_cast<int>(kEinval);
    return 0;
}

} // extern "C"

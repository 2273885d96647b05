/*
 * Tern's musl port: the pure rules of POSIX timers and scheduling parameters
 * (backend_timer.c, backend_sched.c): how many times a periodic timer expired by a given
 * moment and when it next does, what timer_gettime reports, which sigevents and clocks
 * timer_create takes, and which scheduling policies and priorities Linux accepts.
 *
 * Times are nanoseconds of Tern's monotonic clock. Values are Linux's (x86-64).
 *
 * Valid C and C++: the backend is C, the host unit tests (libc_timers_test.cpp) are C++.
 */
#ifndef TERN_LIBC_MUSL_TIMERS_H
#define TERN_LIBC_MUSL_TIMERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest value or interval a timer keeps (2^62 ns, 146 years): longer ones are cut
 * to it, so deadline + interval never overflows. */
#define TERN_LIBC_TIMER_MAX_NS (UINT64_C(1) << 62)

/* Linux's DELAYTIMER_MAX: timer_getoverrun never reports more. */
#define TERN_LIBC_TIMER_OVERRUN_MAX 2147483647

/* A timer due at deadline (non-zero) with interval (0: one-shot), looked at when now >=
 * deadline: how many expirations that is (1 for a one-shot, 1 + every whole interval
 * since for a periodic one) and the next deadline in *next (0 for a one-shot; always
 * after now for a periodic one). */
uint64_t tern_libc_timer_expirations(uint64_t deadline, uint64_t interval, uint64_t now,
                                     uint64_t* next);

/* timer_gettime's it_value: the time left until deadline (0: disarmed). A timer that is
 * due but not yet handled reports 1 ns, as Linux does, so an armed timer never reads as
 * disarmed; a periodic one reports the time to its next expiration. */
uint64_t tern_libc_timer_remaining(uint64_t deadline, uint64_t interval, uint64_t now);

/* A TIMER_ABSTIME value of a clock read as clock_now, as a monotonic deadline given
 * monotonic_now (a time already past is due at once: monotonic_now). */
uint64_t tern_libc_timer_absolute(uint64_t value, uint64_t clock_now, uint64_t monotonic_now);

/* Adds to an overrun count without passing TERN_LIBC_TIMER_OVERRUN_MAX. */
uint64_t tern_libc_timer_overrun_add(uint64_t count, uint64_t more);

/* timer_create's clock: 0 for one the backend serves (REALTIME, MONOTONIC, BOOTTIME),
 * -EOPNOTSUPP for the CPU-time and alarm clocks Linux has and Tern's timers do not,
 * -EINVAL for the rest. */
int tern_libc_timer_clock(int64_t clock_id);

/* timer_create's sigevent: 0 when notify is SIGEV_NONE, or SIGEV_SIGNAL, SIGEV_THREAD
 * (which Linux's system call takes as SIGEV_SIGNAL), SIGEV_THREAD_ID (the thread is the
 * caller's to check) or the C library's own TERN_LIBC_SIGEV_PORT (musl's SIGEV_THREAD on
 * Tern) with signo 1..64; else -EINVAL, as Linux. */
#define TERN_LIBC_SIGEV_PORT 0x54000002
int tern_libc_timer_sigevent(int notify, int signo);

/* Scheduling: the priority range of a policy (SCHED_OTHER 0, SCHED_FIFO 1, SCHED_RR 2,
 * SCHED_BATCH 3, SCHED_IDLE 5, SCHED_DEADLINE 6): 1..99 for FIFO and RR, 0..0 for the
 * others; -EINVAL for an unknown policy. */
int tern_libc_sched_priority_max(int64_t policy);
int tern_libc_sched_priority_min(int64_t policy);
/* sched_setscheduler's check: 0, or -EINVAL for an unknown policy (SCHED_RESET_ON_FORK
 * aside) or a priority outside the policy's range, or SCHED_DEADLINE (sched_setattr's). */
int tern_libc_sched_check(int64_t policy, int64_t priority);

/* mlockall's flags: MCL_CURRENT 1, MCL_FUTURE 2, MCL_ONFAULT 4 (not alone): 0 or -EINVAL. */
int tern_libc_mlockall_check(int64_t flags);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_TIMERS_H */

/*
 * Tern's replacement for musl's src/thread/__timedwait.c: the futex waits of musl's
 * mutexes, rwlocks, semaphores, condition variables and pthread_join.
 *
 *   __timedwait_cp  a cancellation point: waits while *addr == val, until the absolute
 *                   time `at` on clock `clk` (none: no limit); 0 when woken (or the word
 *                   changed), ETIMEDOUT, EINTR (only once a handler without SA_RESTART
 *                   was installed: __eintr_valid_flag), ECANCELED, EINVAL for a bad time.
 *   __timedwait     the same wait for callers that are not cancellation points
 *                   (pthread_mutex_lock, the rwlocks): with cancellation disabled
 *                   while it waits,
 *
 * except in one case, which is the reason for this file: a thread whose cancellation is
 * enabled and asynchronous waits with it left enabled. Such a thread may be cancelled at
 * any instruction (musl's SIGCANCEL handler sends it to __cp_cancel wherever it is), so
 * the wait is no place it needs protecting from; disabling cancellation there made the
 * handler drop a pthread_cancel that came during the wait, and the thread went on
 * blocking in pthread_mutex_lock (the Open POSIX Test Suite's pthread_setcanceltype/1-1;
 * docs/libc.md, "Threads").
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "futex.h"
#include "pthread_impl.h"
#include "syscall.h"

/* sigaction's flag, when sigaction is linked; 0 (no handler can interrupt) when not. */
static volatile int no_interrupting_handlers = 0;
weak_alias(no_interrupting_handlers, __eintr_valid_flag);

int __timedwait_cp(volatile int* addr, int val, clockid_t clk, const struct timespec* at,
                   int priv) {
    struct timespec left;
    struct timespec* limit = 0;
    if (at) {
        struct timespec now;
        if ((unsigned long)at->tv_nsec >= 1000000000UL)
            return EINVAL;
        if (__clock_gettime(clk, &now))
            return EINVAL;
        left.tv_sec = at->tv_sec - now.tv_sec;
        left.tv_nsec = at->tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_nsec += 1000000000;
            --left.tv_sec;
        }
        if (left.tv_sec < 0)
            return ETIMEDOUT;
        limit = &left;
    }
    int op = FUTEX_WAIT | (priv ? FUTEX_PRIVATE : 0);
    int r = (int)-__syscall_cp(SYS_futex, addr, op, val, limit);
    switch (r) {
    case ETIMEDOUT:
    case ECANCELED:
        return r;
    case EINTR:
        /* Without an interrupting handler EINTR can only be a restartable signal's. */
        return __eintr_valid_flag ? EINTR : 0;
    default:
        return 0;
    }
}

int __timedwait(volatile int* addr, int val, clockid_t clk, const struct timespec* at, int priv) {
    pthread_t self = __pthread_self();
    if (self->cancelasync && self->canceldisable == PTHREAD_CANCEL_ENABLE)
        return __timedwait_cp(addr, val, clk, at, priv);
    int state;
    __pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
    int r = __timedwait_cp(addr, val, clk, at, priv);
    __pthread_setcancelstate(state, 0);
    return r;
}

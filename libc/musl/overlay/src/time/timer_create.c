/*
 * Tern's timer_create (an overlay of musl's src/time/timer_create.c, written for Tern).
 *
 * SIGEV_NONE, SIGEV_SIGNAL and SIGEV_THREAD_ID go to the system call as on Linux. For
 * SIGEV_THREAD musl has the kernel send a signal to a thread of its own that waits in
 * sigwaitinfo; on Tern the signal mask is the process's, so that signal could as well
 * interrupt any thread. Here the backend's timer (libc/musl/backend_timer.c) wakes the
 * notification thread through a port of the timer's instead: the thread waits in
 * tern_libc_timer_thread_wait, which returns once per expiration and 0 once the timer
 * is deleted (timer_delete needs no more than the system call), and calls the
 * notification function with sigev_value each time. The timer id is the backend's, so
 * timer_settime, timer_gettime and timer_getoverrun are musl's unchanged.
 */
#include "syscall.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* libc/musl/portable/timers.h: the sigev_notify the backend serves by waking a port. */
#define TERN_LIBC_SIGEV_PORT 0x54000002

long tern_libc_timer_thread_wait(int id);

struct ksigevent {
    union sigval sigev_value;
    int sigev_signo;
    int sigev_notify;
    int sigev_tid;
};

struct notification {
    void (*function)(union sigval);
    union sigval value;
    int id;
};

static void* notify(void* arg) {
    struct notification n = *(struct notification*)arg;
    free(arg);
    while (tern_libc_timer_thread_wait(n.id) > 0)
        n.function(n.value);
    return 0;
}

int timer_create(clockid_t clock, struct sigevent* restrict evp, timer_t* restrict res) {
    struct ksigevent ksev, *ksevp = 0;
    int id;

    if (evp) {
        ksev.sigev_value = evp->sigev_value;
        ksev.sigev_signo = evp->sigev_signo;
        ksev.sigev_notify = evp->sigev_notify;
        ksev.sigev_tid = evp->sigev_notify == SIGEV_THREAD_ID ? evp->sigev_notify_thread_id : 0;
        if (evp->sigev_notify == SIGEV_THREAD) {
            ksev.sigev_notify = TERN_LIBC_SIGEV_PORT;
            ksev.sigev_signo = SIGALRM; /* unused: nothing is sent */
        }
        ksevp = &ksev;
    }
    if (syscall(SYS_timer_create, clock, ksevp, &id) < 0)
        return -1;
    if (evp && evp->sigev_notify == SIGEV_THREAD) {
        pthread_attr_t attr;
        pthread_t thread;
        struct notification* n = malloc(sizeof *n);
        int r = ENOMEM;
        if (n) {
            n->function = evp->sigev_notify_function;
            n->value = evp->sigev_value;
            n->id = id;
            if (evp->sigev_notify_attributes)
                attr = *evp->sigev_notify_attributes;
            else
                pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            r = pthread_create(&thread, &attr, notify, n);
            if (r)
                free(n);
        }
        if (r) {
            /* The deleted timer's slot is freed by its waiter: this thread. */
            __syscall(SYS_timer_delete, id);
            tern_libc_timer_thread_wait(id);
            errno = r;
            return -1;
        }
    }
    *res = (timer_t)(intptr_t)id;
    return 0;
}

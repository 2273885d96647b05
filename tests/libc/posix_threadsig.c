/*
 * posix_threadsig: signals and threads, through the C library.
 *
 * pthread_kill reaches each of four threads, whose handler sees its own thread id; a
 * thread's mask is its own (pthread_sigmask in one thread leaves the others' alone); a
 * signal to the process goes to the thread that does not block it; a thread spinning in
 * user code, making no system call, is interrupted and runs its handler; asynchronous
 * cancellation ends a spinning thread; sigwait in a thread takes a signal sent to that
 * thread and one sent to the process; sigsuspend in a thread returns after the handler
 * of a signal sent to it ran there; each thread's SA_ONSTACK handler runs on that
 * thread's own sigaltstack; asynchronous cancellation ends a thread blocked in
 * pthread_mutex_lock; a robust process-shared mutex whose owner process is killed with
 * SIGKILL gives its waiting locker EOWNERDEAD.
 *
 * The same source builds and runs on the host's Linux (unit.libc_posix_threadsig_on_host),
 * so every expectation is what Linux does. Prints "posix_threadsig: ok ..." per check,
 * "posix_threadsig: FAILED ..." for a failure and "posix_threadsig: N checks, M failures";
 * exits 0 only when nothing failed.
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK_NAME "posix_threadsig"
#include "check.h"

static long my_tid(void) { return syscall(SYS_gettid); }

static void set_handler(int signal, void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(signal, &sa, NULL);
}

static void block(int how, int signal) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    pthread_sigmask(how, &set, NULL);
}

/* Waits up to `ms` milliseconds for *flag to become nonzero. */
static int wait_for(volatile int* flag, int ms) {
    for (int i = 0; i < ms && !*flag; ++i)
        usleep(1000);
    return *flag != 0;
}

/* ---- pthread_kill to each of four threads ------------------------------------------ */

enum {
    kWorkers = 4
};
static pthread_t g_workers[kWorkers];
static volatile long g_worker_tid[kWorkers];
static volatile long g_seen_tid[kWorkers];
static volatile int g_hits[kWorkers];
static volatile int g_started, g_stop;

static void record_worker(int signal) {
    (void)signal;
    pthread_t self = pthread_self();
    for (int i = 0; i < kWorkers; ++i) {
        if (pthread_equal(self, g_workers[i])) {
            g_seen_tid[i] = my_tid();
            ++g_hits[i];
        }
    }
}

static void* sleeper(void* arg) {
    long i = (long)arg;
    g_worker_tid[i] = my_tid();
    __atomic_add_fetch(&g_started, 1, __ATOMIC_SEQ_CST);
    while (!g_stop)
        usleep(2000);
    return NULL;
}

static void test_kill_each_thread(void) {
    set_handler(SIGUSR1, record_worker);
    g_stop = 0;
    g_started = 0;
    for (long i = 0; i < kWorkers; ++i)
        pthread_create(&g_workers[i], NULL, sleeper, (void*)i);
    for (int i = 0; i < 3000 && g_started < kWorkers; ++i)
        usleep(1000);
    int sent = 1;
    for (int i = 0; i < kWorkers; ++i)
        sent &= pthread_kill(g_workers[i], SIGUSR1) == 0;
    check(sent, "pthread_kill to each of 4 threads returns 0");
    int all = 1;
    for (int i = 0; i < kWorkers; ++i)
        all &= wait_for(&g_hits[i], 3000);
    int own = all;
    for (int i = 0; i < kWorkers; ++i)
        own &= g_hits[i] == 1 && g_seen_tid[i] == g_worker_tid[i] && g_seen_tid[i] != my_tid();
    check(own, "each thread's handler ran once, on that thread (its own gettid)");
    /* A thread's id is no process's: not this one's, its parent's or a new child's. */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    int distinct = child > 0;
    for (int i = 0; i < kWorkers; ++i) {
        long tid = g_worker_tid[i];
        distinct &= tid > 0 && tid != getpid() && tid != getppid() && tid != child;
        for (int j = 0; j < i; ++j)
            distinct &= tid != g_worker_tid[j];
    }
    if (child > 0)
        waitpid(child, NULL, 0);
    check(distinct, "the threads' ids differ from each other and from the process ids");
    g_stop = 1;
    for (int i = 0; i < kWorkers; ++i)
        pthread_join(g_workers[i], NULL);
    check(pthread_kill(pthread_self(), 0) == 0, "pthread_kill with signal 0 checks only");
}

/* ---- Masks are per thread; a process signal goes to a thread not blocking it ---------- */

static volatile long g_taker_tid, g_handler_tid;
static volatile int g_taken, g_mask_ready;

static void record_taker(int signal) {
    (void)signal;
    g_handler_tid = my_tid();
    g_taken = 1;
}

static void* unblocking_worker(void* arg) {
    (void)arg;
    g_taker_tid = my_tid();
    /* The mask came from the creator, which blocks SIGUSR2; this thread takes it. */
    block(SIG_UNBLOCK, SIGUSR2);
    block(SIG_BLOCK, SIGINT);
    g_mask_ready = 1;
    while (!g_stop)
        usleep(2000);
    return NULL;
}

static void test_process_signal_to_unblocking_thread(void) {
    set_handler(SIGUSR2, record_taker);
    block(SIG_BLOCK, SIGUSR2);
    g_stop = 0;
    g_taken = 0;
    g_mask_ready = 0;
    pthread_t t;
    pthread_create(&t, NULL, unblocking_worker, NULL);
    wait_for(&g_mask_ready, 3000);
    sigset_t mine;
    pthread_sigmask(SIG_BLOCK, NULL, &mine);
    check(sigismember(&mine, SIGUSR2) && !sigismember(&mine, SIGINT),
          "another thread's pthread_sigmask leaves this thread's mask as it was");
    kill(getpid(), SIGUSR2);
    check(wait_for(&g_taken, 3000) && g_handler_tid == g_taker_tid,
          "kill of the process: the thread that does not block the signal takes it");
    g_stop = 1;
    pthread_join(t, NULL);
    sigset_t pending;
    sigpending(&pending);
    check(!sigismember(&pending, SIGUSR2), "nothing left pending for the blocking thread");
    block(SIG_UNBLOCK, SIGUSR2);
}

/* ---- A thread spinning in user code -------------------------------------------------- */

static volatile int g_spin_flag, g_spinning;
static volatile long g_spinner_tid, g_spin_handler_tid;

static void stop_spinning(int signal) {
    (void)signal;
    g_spin_handler_tid = my_tid();
    g_spin_flag = 1;
}

static void* spinner(void* arg) {
    (void)arg;
    g_spinner_tid = my_tid();
    g_spinning = 1;
    while (!g_spin_flag) {
    }
    return NULL;
}

static void test_spinning_thread(void) {
    set_handler(SIGUSR1, stop_spinning);
    g_spin_flag = 0;
    g_spinning = 0;
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    wait_for(&g_spinning, 3000);
    pthread_kill(t, SIGUSR1);
    int ran = wait_for(&g_spin_flag, 5000);
    check(ran && g_spin_handler_tid == g_spinner_tid,
          "a thread spinning in user code runs its handler");
    g_spin_flag = 1;
    pthread_join(t, NULL);
}

/* ---- Asynchronous cancellation ------------------------------------------------------ */

static volatile int g_async_ready;
static volatile unsigned long g_async_count;

static void* async_spinner(void* arg) {
    (void)arg;
    int old;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
    g_async_ready = 1;
    for (;;)
        ++g_async_count;
    return NULL;
}

static void test_async_cancel(void) {
    g_async_ready = 0;
    pthread_t t;
    pthread_create(&t, NULL, async_spinner, NULL);
    wait_for(&g_async_ready, 3000);
    check(pthread_cancel(t) == 0, "pthread_cancel of a spinning thread returns 0");
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    void* result = NULL;
    int r = pthread_timedjoin_np(t, &result, &deadline);
    check(r == 0 && result == PTHREAD_CANCELED,
          "asynchronous cancellation ends a spinning thread: PTHREAD_CANCELED");
    if (r != 0 || result != PTHREAD_CANCELED)
        printf("posix_threadsig: pthread_timedjoin_np %d, result %p\n", r, result);
}

/* ---- sigwait and sigsuspend in a thread --------------------------------------------- */

static volatile int g_waiting;

static void* waiter(void* arg) {
    int signal = (int)(long)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    int got = 0;
    g_waiting = 1;
    if (sigwait(&set, &got) != 0)
        got = -1;
    return (void*)(long)got;
}

static volatile int g_suspend_hits;
static volatile long g_suspend_tid;

static void count_suspend(int signal) {
    (void)signal;
    g_suspend_tid = my_tid();
    ++g_suspend_hits;
}

static volatile long g_suspender_tid;

static void* suspender(void* arg) {
    (void)arg;
    g_suspender_tid = my_tid();
    sigset_t none;
    sigemptyset(&none);
    g_waiting = 1;
    int r = sigsuspend(&none);
    return (void*)(long)(r == -1 && errno == EINTR && g_suspend_hits == 1);
}

static void test_waits_in_threads(void) {
    /* Every thread blocks the signals sigwait takes. */
    block(SIG_BLOCK, SIGUSR1);
    block(SIG_BLOCK, SIGUSR2);
    g_waiting = 0;
    pthread_t t;
    pthread_create(&t, NULL, waiter, (void*)(long)SIGUSR1);
    wait_for(&g_waiting, 3000);
    usleep(20000);
    pthread_kill(t, SIGUSR1);
    void* got = NULL;
    pthread_join(t, &got);
    check((long)got == SIGUSR1, "sigwait in a thread takes the signal pthread_kill sent it");

    g_waiting = 0;
    pthread_create(&t, NULL, waiter, (void*)(long)SIGUSR2);
    wait_for(&g_waiting, 3000);
    usleep(20000);
    kill(getpid(), SIGUSR2);
    pthread_join(t, &got);
    check((long)got == SIGUSR2, "sigwait in a thread takes a signal sent to the process");

    /* sigsuspend with an empty mask in a thread; the main thread keeps SIGHUP blocked. */
    set_handler(SIGHUP, count_suspend);
    block(SIG_BLOCK, SIGHUP);
    g_suspend_hits = 0;
    g_waiting = 0;
    pthread_create(&t, NULL, suspender, NULL);
    wait_for(&g_waiting, 3000);
    usleep(20000);
    pthread_kill(t, SIGHUP);
    pthread_join(t, &got);
    check((long)got == 1 && g_suspend_tid == g_suspender_tid,
          "sigsuspend in a thread returns EINTR after its handler ran there");
    block(SIG_UNBLOCK, SIGUSR1);
    block(SIG_UNBLOCK, SIGUSR2);
    block(SIG_UNBLOCK, SIGHUP);
}

/* ---- sigqueue: values, and real-time signals queued ------------------------------------- */

enum {
    kQueued = 5
};
static volatile int g_order[2 * kQueued + 4], g_values[2 * kQueued + 4], g_taken_count;

static void record_queued(int signal, siginfo_t* info, void* context) {
    (void)context;
    int at = g_taken_count;
    if (at < 2 * kQueued + 4) {
        g_order[at] = signal;
        g_values[at] = info->si_code == SI_QUEUE ? info->si_value.sival_int : -1;
    }
    g_taken_count = at + 1;
}

/* The handler runs with every signal blocked, so that the next one waits until it
 * returns (no handler nests in another) and the order taken is the order delivered. */
static void set_info_handler(int signal, void (*action)(int, siginfo_t*, void*)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = action;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    sigaction(signal, &sa, NULL);
}

static void child_value(int signal, siginfo_t* info, void* context) {
    (void)context;
    _exit(signal == SIGRTMIN && info->si_code == SI_QUEUE && info->si_value.sival_int == 77 ? 3
                                                                                            : 4);
}

static void test_sigqueue(void) {
    set_info_handler(SIGRTMIN, record_queued);
    set_info_handler(SIGRTMIN + 1, record_queued);
    set_info_handler(SIGUSR1, record_queued);
    block(SIG_BLOCK, SIGRTMIN);
    block(SIG_BLOCK, SIGRTMIN + 1);
    block(SIG_BLOCK, SIGUSR1);
    g_taken_count = 0;
    int sent = 1;
    union sigval value;
    /* Sent while blocked: the higher real-time signal first, a standard one twice. */
    value.sival_int = 100;
    sent &= sigqueue(getpid(), SIGRTMIN + 1, value) == 0;
    for (int i = 0; i < kQueued; ++i) {
        value.sival_int = i;
        sent &= sigqueue(getpid(), SIGRTMIN, value) == 0;
    }
    value.sival_int = 200;
    sent &= sigqueue(getpid(), SIGUSR1, value) == 0;
    sent &= sigqueue(getpid(), SIGUSR1, value) == 0;
    check(sent, "sigqueue of blocked signals returns 0");
    sigset_t pending;
    sigpending(&pending);
    check(sigismember(&pending, SIGRTMIN) && sigismember(&pending, SIGRTMIN + 1)
              && sigismember(&pending, SIGUSR1),
          "queued signals are pending while blocked");
    sigset_t all;
    sigemptyset(&all);
    sigaddset(&all, SIGRTMIN);
    sigaddset(&all, SIGRTMIN + 1);
    sigaddset(&all, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &all, NULL);
    /* The standard one once, first (lowest number), then 5 SIGRTMIN in the order sent, then
     * SIGRTMIN + 1. */
    int ok = g_taken_count == kQueued + 2 && g_order[0] == SIGUSR1 && g_values[0] == 200;
    for (int i = 0; ok && i < kQueued; ++i)
        ok = g_order[1 + i] == SIGRTMIN && g_values[1 + i] == i;
    ok = ok && g_order[kQueued + 1] == SIGRTMIN + 1 && g_values[kQueued + 1] == 100;
    check(ok, "5 SIGRTMIN instances arrive 5 times with their values in order; SIGUSR1 once");
    if (!ok)
        printf("posix_threadsig: %d taken\n", g_taken_count);

    /* To another process: the value reaches its handler. */
    pid_t child = fork();
    if (child == 0) {
        set_info_handler(SIGRTMIN, child_value);
        for (int i = 0; i < 500; ++i)
            usleep(10000);
        _exit(5);
    }
    usleep(200000);
    value.sival_int = 77;
    int queued = sigqueue(child, SIGRTMIN, value) == 0;
    int status = 0;
    waitpid(child, &status, 0);
    check(queued && WIFEXITED(status) && WEXITSTATUS(status) == 3,
          "sigqueue to a child: its handler sees SI_QUEUE and the value");
    errno = 0;
    check(sigqueue(getpid(), 65, value) == -1 && errno == EINVAL, "sigqueue of signal 65: EINVAL");
}

/* ---- sigaltstack per thread ------------------------------------------------------- */

static char g_alt_main[65536] __attribute__((aligned(16)));
static char g_alt_thread[65536] __attribute__((aligned(16)));
static volatile uintptr_t g_alt_seen[2];
static volatile int g_alt_slot;

static void record_stack(int signal) {
    (void)signal;
    volatile char here = 0;
    g_alt_seen[g_alt_slot] = (uintptr_t)&here;
}

static int within(uintptr_t address, const char* base, size_t size) {
    return address >= (uintptr_t)base && address < (uintptr_t)base + size;
}

static volatile int g_alt_ready, g_alt_go;
static volatile int g_alt_had_none, g_alt_set;

static void* alt_thread(void* arg) {
    (void)arg;
    stack_t previous;
    /* The main thread's alternate stack is not this thread's (a sanitizer may have given
     * the thread one of its own, which is put back at the end). */
    g_alt_had_none = sigaltstack(NULL, &previous) == 0
                     && ((previous.ss_flags & SS_DISABLE) || previous.ss_sp != g_alt_main);
    stack_t mine = {.ss_sp = g_alt_thread, .ss_size = sizeof(g_alt_thread), .ss_flags = 0};
    g_alt_set = sigaltstack(&mine, NULL) == 0;
    g_alt_ready = 1;
    wait_for(&g_alt_go, 5000);
    previous.ss_flags &= SS_DISABLE;
    sigaltstack(&previous, NULL);
    return NULL;
}

static void test_sigaltstack_per_thread(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = record_stack;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    stack_t main_stack = {.ss_sp = g_alt_main, .ss_size = sizeof(g_alt_main), .ss_flags = 0};
    stack_t previous;
    check(sigaltstack(&main_stack, &previous) == 0, "sigaltstack in the main thread returns 0");
    pthread_t t;
    pthread_create(&t, NULL, alt_thread, NULL);
    wait_for(&g_alt_ready, 5000);
    check(g_alt_had_none && g_alt_set,
          "a new thread has not the main thread's alternate stack, then sets its own");
    g_alt_slot = 1;
    pthread_kill(t, SIGUSR1);
    usleep(100000);
    g_alt_slot = 0;
    raise(SIGUSR1);
    g_alt_go = 1;
    pthread_join(t, NULL);
    check(within(g_alt_seen[0], g_alt_main, sizeof(g_alt_main))
              && within(g_alt_seen[1], g_alt_thread, sizeof(g_alt_thread)),
          "each thread's SA_ONSTACK handler runs on that thread's own sigaltstack");
    previous.ss_flags &= SS_DISABLE;
    sigaltstack(&previous, NULL);
    set_handler(SIGUSR1, SIG_DFL);
}

/* ---- asynchronous cancellation of a thread blocked in pthread_mutex_lock ----------- */

static pthread_mutex_t g_held = PTHREAD_MUTEX_INITIALIZER;
static volatile int g_locker_ready, g_locker_cleaned, g_locker_got;

static void locker_cleanup(void* arg) {
    (void)arg;
    g_locker_cleaned = 1;
}

static void* async_locker(void* arg) {
    (void)arg;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    pthread_cleanup_push(locker_cleanup, NULL);
    g_locker_ready = 1;
    pthread_mutex_lock(&g_held);
    g_locker_got = 1;
    pthread_mutex_unlock(&g_held);
    pthread_cleanup_pop(0);
    return NULL;
}

static void test_async_cancel_in_mutex_lock(void) {
    pthread_mutex_lock(&g_held);
    pthread_t t;
    pthread_create(&t, NULL, async_locker, NULL);
    wait_for(&g_locker_ready, 5000);
    usleep(100000); /* into the futex wait */
    pthread_cancel(t);
    int cleaned = wait_for(&g_locker_cleaned, 5000);
    pthread_mutex_unlock(&g_held);
    void* result = NULL;
    pthread_join(t, &result);
    check(cleaned && !g_locker_got && result == PTHREAD_CANCELED,
          "asynchronous cancellation ends a thread blocked in pthread_mutex_lock");
}

/* ---- a robust process-shared mutex whose owner process is killed ------------------- */

struct shared_lock {
    pthread_mutex_t mutex;
    volatile int held;
};

static struct shared_lock* g_shared;
static volatile int g_robust_waiting, g_robust_result = -1, g_robust_repaired = -1;

/* Locks the mutex, and repairs it when it was told the owner died (the new owner must). */
static void* robust_locker(void* arg) {
    (void)arg;
    g_robust_waiting = 1;
    int r = pthread_mutex_lock(&g_shared->mutex);
    if (r == EOWNERDEAD)
        g_robust_repaired = pthread_mutex_consistent(&g_shared->mutex) == 0
                            && pthread_mutex_unlock(&g_shared->mutex) == 0;
    g_robust_result = r;
    return NULL;
}

static void test_robust_mutex_of_killed_process(void) {
    g_shared =
        mmap(NULL, sizeof(*g_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_shared == MAP_FAILED) {
        check(0, "mmap of a shared page for the robust mutex");
        return;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&g_shared->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    g_shared->held = 0;
    pid_t child = fork();
    if (child == 0) {
        pthread_mutex_lock(&g_shared->mutex);
        g_shared->held = 1;
        for (;;)
            pause();
    }
    int held = child > 0 && wait_for(&g_shared->held, 5000);
    check(held, "a child process locks the robust process-shared mutex");
    if (!held) {
        if (child > 0)
            kill(child, SIGKILL);
        return;
    }
    /* A thread of this process waits for the mutex while its owner is killed. */
    pthread_t t;
    pthread_create(&t, NULL, robust_locker, NULL);
    wait_for(&g_robust_waiting, 5000);
    usleep(100000);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the owner is killed (SIGKILL)");
    int woke = 0;
    for (int i = 0; i < 5000 && g_robust_result == -1; ++i)
        usleep(1000);
    woke = g_robust_result != -1;
    check(woke && g_robust_result == EOWNERDEAD,
          "the waiting locker gets EOWNERDEAD once the owner process is killed");
    if (!woke) {
        pthread_cancel(t);
        return;
    }
    pthread_join(t, NULL);
    check(g_robust_repaired == 1 && pthread_mutex_lock(&g_shared->mutex) == 0
              && pthread_mutex_unlock(&g_shared->mutex) == 0,
          "pthread_mutex_consistent repairs it: then unlock, lock and unlock return 0");
    munmap(g_shared, sizeof(*g_shared));
}

int main(void) {
    test_kill_each_thread();
    test_process_signal_to_unblocking_thread();
    test_spinning_thread();
    test_async_cancel();
    test_waits_in_threads();
    test_sigqueue();
    test_sigaltstack_per_thread();
    test_async_cancel_in_mutex_lock();
    test_robust_mutex_of_killed_process();
    return check_summary();
}

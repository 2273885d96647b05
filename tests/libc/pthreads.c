/*
 * pthreads: musl's threads on Tern's clone and futexes, through the C library.
 *
 * 8 threads x 100,000 increments under a mutex give exactly 800,000; a condition
 * variable feeds two consumers from a producer through a bounded queue; readers of a
 * rwlock never see a writer's half-done update; a barrier holds 4 threads in step for 100
 * rounds; a spinlock and an atomic count agree; thread-specific data destructors run once
 * per thread, and a key never created reads as null and is EINVAL to set; recursive and
 * error-checking mutexes refuse what POSIX says; a robust mutex whose owner thread ends reports
 * EOWNERDEAD and is made consistent; join returns each thread's value; detached threads end by
 * themselves and post an unnamed semaphore; a thread polling pthread_testcancel is cancelled;
 * gettid differs per thread; the futex system call's refusals (unaligned, unmapped, value changed,
 * timeout, bad requeue) are Linux's; threads on the minimum stack (a whole number of pages) make
 * system calls; and a process-shared mutex and semaphore in a System V segment serve a parent and
 * its forked child.
 *
 * The same source builds and runs on the host's Linux (unit.libc_pthreads_on_host), so
 * every expectation is what Linux does. Prints "pthreads: ok ..." per check,
 * "pthreads: FAILED ..." for a failure and "pthreads: N checks, M failures"; exits 0 only
 * when nothing failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_PRIVATE_FLAG 128

static int g_checks, g_failures;

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("pthreads: ok %s\n", what);
    } else {
        ++g_failures;
        printf("pthreads: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

static void check_value(long got, long want, const char* what) {
    ++g_checks;
    if (got == want) {
        printf("pthreads: ok %s: %ld\n", what, got);
    } else {
        ++g_failures;
        printf("pthreads: FAILED %s: got %ld, expected %ld\n", what, got, want);
    }
}

static long futex(volatile uint32_t* addr, int op, uint32_t val, const struct timespec* ts,
                  volatile uint32_t* addr2, uint32_t val3) {
    return syscall(SYS_futex, addr, op, val, ts, addr2, val3);
}

static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("pthreads: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("pthreads: FAILED %s: got %ld errno %d, expected %d\n", what, r, r == -1 ? errno : 0,
               want);
    }
}

/* ---- 8 x 100,000 increments under a mutex ---------------------------------------------- */

#define COUNTERS 8
#define INCREMENTS 100000
static pthread_mutex_t g_count_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_count;

static void* count_up(void* arg) {
    (void)arg;
    for (int i = 0; i < INCREMENTS; ++i) {
        pthread_mutex_lock(&g_count_lock);
        long v = g_count;
        if ((i & 1023) == 0)
            sched_yield(); /* let another thread find the mutex taken */
        g_count = v + 1;
        pthread_mutex_unlock(&g_count_lock);
    }
    return 0;
}

static void mutex_total(void) {
    pthread_t threads[COUNTERS];
    int made = 0;
    for (int i = 0; i < COUNTERS; ++i)
        made += pthread_create(&threads[i], 0, count_up, 0) == 0;
    check_value(made, COUNTERS, "threads created");
    for (int i = 0; i < made; ++i)
        pthread_join(threads[i], 0);
    check_value(g_count, (long)made * INCREMENTS, "8 threads x 100000 increments under a mutex");
}

/* ---- Producer and consumers on a condition variable ------------------------------------ */

#define QUEUE 8
#define ITEMS 20000
static pthread_mutex_t g_queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_not_full = PTHREAD_COND_INITIALIZER;
static long g_queue[QUEUE];
static int g_head, g_used, g_done;

static void* consume(void* arg) {
    long sum = 0, taken = 0;
    for (;;) {
        pthread_mutex_lock(&g_queue_lock);
        while (g_used == 0 && !g_done)
            pthread_cond_wait(&g_not_empty, &g_queue_lock);
        if (g_used == 0 && g_done) {
            pthread_mutex_unlock(&g_queue_lock);
            break;
        }
        long item = g_queue[g_head];
        g_head = (g_head + 1) % QUEUE;
        --g_used;
        pthread_cond_signal(&g_not_full);
        pthread_mutex_unlock(&g_queue_lock);
        sum += item;
        ++taken;
    }
    ((long*)arg)[0] = sum;
    ((long*)arg)[1] = taken;
    return 0;
}

static void producer_consumer(void) {
    long results[2][2] = {{0, 0}, {0, 0}};
    pthread_t consumers[2];
    pthread_create(&consumers[0], 0, consume, results[0]);
    pthread_create(&consumers[1], 0, consume, results[1]);
    for (long i = 1; i <= ITEMS; ++i) {
        pthread_mutex_lock(&g_queue_lock);
        while (g_used == QUEUE)
            pthread_cond_wait(&g_not_full, &g_queue_lock);
        g_queue[(g_head + g_used) % QUEUE] = i;
        ++g_used;
        pthread_cond_signal(&g_not_empty);
        pthread_mutex_unlock(&g_queue_lock);
    }
    pthread_mutex_lock(&g_queue_lock);
    g_done = 1;
    pthread_cond_broadcast(&g_not_empty);
    pthread_mutex_unlock(&g_queue_lock);
    pthread_join(consumers[0], 0);
    pthread_join(consumers[1], 0);
    check_value(results[0][1] + results[1][1], ITEMS, "condition variable: items consumed");
    check_value(results[0][0] + results[1][0], (long)ITEMS * (ITEMS + 1) / 2,
                "condition variable: sum of the items");
}

/* ---- rwlock ---------------------------------------------------------------------------- */

static pthread_rwlock_t g_rw = PTHREAD_RWLOCK_INITIALIZER;
static volatile long g_rw_a, g_rw_b;
static volatile int g_rw_torn;

static void* rw_reader(void* arg) {
    (void)arg;
    for (int i = 0; i < 20000; ++i) {
        pthread_rwlock_rdlock(&g_rw);
        if (g_rw_a != g_rw_b)
            g_rw_torn = 1;
        pthread_rwlock_unlock(&g_rw);
    }
    return 0;
}

static void* rw_writer(void* arg) {
    (void)arg;
    for (int i = 0; i < 5000; ++i) {
        pthread_rwlock_wrlock(&g_rw);
        ++g_rw_a;
        if ((i & 255) == 0)
            sched_yield();
        ++g_rw_b;
        pthread_rwlock_unlock(&g_rw);
    }
    return 0;
}

static void rwlock(void) {
    pthread_t t[4];
    pthread_create(&t[0], 0, rw_reader, 0);
    pthread_create(&t[1], 0, rw_writer, 0);
    pthread_create(&t[2], 0, rw_reader, 0);
    pthread_create(&t[3], 0, rw_writer, 0);
    for (int i = 0; i < 4; ++i)
        pthread_join(t[i], 0);
    check(!g_rw_torn && g_rw_a == 10000 && g_rw_b == 10000,
          "rwlock: readers never see a half-done write, 10000 writes");
    pthread_rwlock_rdlock(&g_rw);
    check_value(pthread_rwlock_trywrlock(&g_rw), EBUSY, "rwlock: trywrlock while read-locked");
    check_value(pthread_rwlock_tryrdlock(&g_rw), 0, "rwlock: a second reader");
    pthread_rwlock_unlock(&g_rw);
    pthread_rwlock_unlock(&g_rw);
}

/* ---- Barrier --------------------------------------------------------------------------- */

#define BARRIER_THREADS 4
#define ROUNDS 100
static pthread_barrier_t g_barrier;
static volatile int g_round_arrivals[ROUNDS];
static volatile int g_barrier_bad;
static volatile int g_serial_count;

static void* barrier_worker(void* arg) {
    (void)arg;
    for (int r = 0; r < ROUNDS; ++r) {
        __atomic_add_fetch(&g_round_arrivals[r], 1, __ATOMIC_SEQ_CST);
        int s = pthread_barrier_wait(&g_barrier);
        if (s == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&g_serial_count, 1, __ATOMIC_SEQ_CST);
        else if (s != 0)
            g_barrier_bad = 1;
        /* Everybody arrived at this round before anybody left it. */
        if (g_round_arrivals[r] != BARRIER_THREADS)
            g_barrier_bad = 1;
    }
    return 0;
}

static void barrier(void) {
    pthread_barrier_init(&g_barrier, 0, BARRIER_THREADS);
    pthread_t t[BARRIER_THREADS];
    for (int i = 0; i < BARRIER_THREADS; ++i)
        pthread_create(&t[i], 0, barrier_worker, 0);
    for (int i = 0; i < BARRIER_THREADS; ++i)
        pthread_join(t[i], 0);
    check(!g_barrier_bad, "barrier: 4 threads in step for 100 rounds");
    check_value(g_serial_count, ROUNDS, "barrier: one serial thread per round");
    pthread_barrier_destroy(&g_barrier);
}

/* ---- Spinlock -------------------------------------------------------------------------- */

static pthread_spinlock_t g_spin;
static long g_spin_count;

static void* spin_worker(void* arg) {
    (void)arg;
    for (int i = 0; i < 20000; ++i) {
        pthread_spin_lock(&g_spin);
        ++g_spin_count;
        pthread_spin_unlock(&g_spin);
    }
    return 0;
}

static void spinlock(void) {
    pthread_spin_init(&g_spin, PTHREAD_PROCESS_PRIVATE);
    pthread_t t[4];
    for (int i = 0; i < 4; ++i)
        pthread_create(&t[i], 0, spin_worker, 0);
    for (int i = 0; i < 4; ++i)
        pthread_join(t[i], 0);
    check_value(g_spin_count, 80000, "spinlock: 4 threads x 20000 increments");
    check_value(pthread_spin_trylock(&g_spin), 0, "spinlock: trylock when free");
    check_value(pthread_spin_trylock(&g_spin), EBUSY, "spinlock: trylock when held");
    pthread_spin_unlock(&g_spin);
    pthread_spin_destroy(&g_spin);
}

/* ---- Keys ------------------------------------------------------------------------------ */

static pthread_key_t g_key;
static long g_destructed_sum;
static int g_destructed;

static void key_destructor(void* value) {
    __atomic_add_fetch(&g_destructed_sum, (long)(intptr_t)value, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&g_destructed, 1, __ATOMIC_SEQ_CST);
}

static void* key_worker(void* arg) {
    pthread_setspecific(g_key, arg);
    sched_yield();
    return (void*)(intptr_t)(pthread_getspecific(g_key) == arg);
}

/* Before any key exists (the main thread has no table yet on musl), and past the table:
 * no value to read, EINVAL to set, never a fault. */
static void unknown_keys(void) {
    pthread_key_t never = 3, beyond = (pthread_key_t)PTHREAD_KEYS_MAX + 5;
    check(pthread_getspecific(never) == 0, "keys: a key never created reads as null");
    check_value(pthread_setspecific(never, &g_checks), EINVAL,
                "keys: a key never created is EINVAL to set");
    check(pthread_getspecific(beyond) == 0, "keys: a key past the table reads as null");
    check_value(pthread_setspecific(beyond, &g_checks), EINVAL,
                "keys: a key past the table is EINVAL to set");
}

static void keys(void) {
    pthread_key_create(&g_key, key_destructor);
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; ++i)
        pthread_create(&t[i], 0, key_worker, (void*)(i + 1));
    int own = 0;
    for (int i = 0; i < 4; ++i) {
        void* r = 0;
        pthread_join(t[i], &r);
        own += (int)(intptr_t)r;
    }
    check_value(own, 4, "keys: each thread reads its own value");
    check_value(g_destructed, 4, "keys: a destructor per thread");
    check_value(g_destructed_sum, 1 + 2 + 3 + 4, "keys: each with its thread's value");
    check(pthread_getspecific(g_key) == 0, "keys: the main thread's value is still null");
    pthread_key_delete(g_key);
}

/* ---- Recursive and error-checking mutexes ---------------------------------------------- */

static pthread_mutex_t g_checked;

static void* unlock_other(void* arg) {
    (void)arg;
    return (void*)(intptr_t)pthread_mutex_unlock(&g_checked);
}

static void mutex_types(void) {
    pthread_mutexattr_t attr;
    pthread_mutex_t recursive;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&recursive, &attr);
    check_value(pthread_mutex_lock(&recursive), 0, "recursive mutex: lock");
    check_value(pthread_mutex_lock(&recursive), 0, "recursive mutex: lock again");
    check_value(pthread_mutex_trylock(&recursive), 0, "recursive mutex: trylock by the owner");
    pthread_mutex_unlock(&recursive);
    pthread_mutex_unlock(&recursive);
    check_value(pthread_mutex_unlock(&recursive), 0, "recursive mutex: third unlock");
    check_value(pthread_mutex_unlock(&recursive), EPERM, "recursive mutex: unlock when free");
    pthread_mutex_destroy(&recursive);

    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&g_checked, &attr);
    check_value(pthread_mutex_lock(&g_checked), 0, "error-checking mutex: lock");
    check_value(pthread_mutex_lock(&g_checked), EDEADLK, "error-checking mutex: relock");
    pthread_t t;
    void* r = 0;
    pthread_create(&t, 0, unlock_other, 0);
    pthread_join(t, &r);
    check_value((long)(intptr_t)r, EPERM, "error-checking mutex: unlock by another thread");
    check_value(pthread_mutex_unlock(&g_checked), 0, "error-checking mutex: unlock");
    pthread_mutex_destroy(&g_checked);
    pthread_mutexattr_destroy(&attr);
}

/* ---- A robust mutex whose owner ends --------------------------------------------------- */

static pthread_mutex_t g_robust;

static void* lock_and_end(void* arg) {
    (void)arg;
    pthread_mutex_lock(&g_robust);
    return 0; /* ends holding it */
}

static void robust(void) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&g_robust, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_t t;
    pthread_create(&t, 0, lock_and_end, 0);
    pthread_join(t, 0);
    check_value(pthread_mutex_lock(&g_robust), EOWNERDEAD,
                "robust mutex: the owner ended holding it");
    check_value(pthread_mutex_consistent(&g_robust), 0, "robust mutex: made consistent");
    check_value(pthread_mutex_unlock(&g_robust), 0, "robust mutex: unlocked");
    check_value(pthread_mutex_lock(&g_robust), 0, "robust mutex: locks normally again");
    pthread_mutex_unlock(&g_robust);
    pthread_mutex_destroy(&g_robust);
}

/* ---- Join values, detached threads, semaphores, cancellation, ids ---------------------- */

static void* times_three(void* arg) { return (void*)((intptr_t)arg * 3); }

static sem_t g_sem;
static volatile int g_detached_ran;

static void* detached(void* arg) {
    (void)arg;
    __atomic_add_fetch(&g_detached_ran, 1, __ATOMIC_SEQ_CST);
    sem_post(&g_sem);
    return 0;
}

static void* poll_cancel(void* arg) {
    (void)arg;
    for (;;)
        pthread_testcancel();
    return 0;
}

static volatile pid_t g_other_tid;

static void* report_tid(void* arg) {
    (void)arg;
    g_other_tid = (pid_t)syscall(SYS_gettid);
    return 0;
}

static void lifetimes(void) {
    pthread_t t[6];
    for (intptr_t i = 0; i < 6; ++i)
        pthread_create(&t[i], 0, times_three, (void*)i);
    long sum = 0;
    for (int i = 0; i < 6; ++i) {
        void* r = 0;
        pthread_join(t[i], &r);
        sum += (long)(intptr_t)r;
    }
    check_value(sum, 3 * (0 + 1 + 2 + 3 + 4 + 5), "join: each thread's return value");

    check_value(sem_init(&g_sem, 0, 0), 0, "sem_init");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int made = 0;
    for (int i = 0; i < 5; ++i) {
        pthread_t d;
        made += pthread_create(&d, &attr, detached, 0) == 0;
    }
    pthread_attr_destroy(&attr);
    for (int i = 0; i < made; ++i)
        sem_wait(&g_sem);
    check_value(g_detached_ran, 5, "detached threads ran and posted the semaphore");
    check_value(sem_trywait(&g_sem), -1, "sem_trywait on zero");
    struct timespec at;
    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_nsec += 20 * 1000 * 1000;
    if (at.tv_nsec >= 1000000000) {
        at.tv_nsec -= 1000000000;
        ++at.tv_sec;
    }
    check_errno(sem_timedwait(&g_sem, &at), ETIMEDOUT, "sem_timedwait runs out");
    sem_destroy(&g_sem);
    /* Detached threads end by themselves: many more than the thread quota, one by one. */
    int ended = 0;
    for (int i = 0; i < 100; ++i) {
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        sem_init(&g_sem, 0, 0);
        pthread_t d;
        if (pthread_create(&d, &attr, detached, 0) == 0) {
            sem_wait(&g_sem);
            ++ended;
        }
        pthread_attr_destroy(&attr);
        sem_destroy(&g_sem);
        /* Let it finish ending before the next. */
        usleep(1000);
    }
    check_value(ended, 100, "100 detached threads one after another");

    pthread_t c;
    pthread_create(&c, 0, poll_cancel, 0);
    check_value(pthread_cancel(c), 0, "pthread_cancel");
    void* r = 0;
    pthread_join(c, &r);
    check(r == PTHREAD_CANCELED, "a thread at pthread_testcancel ends PTHREAD_CANCELED");

    pthread_t w;
    pthread_create(&w, 0, report_tid, 0);
    pthread_join(w, 0);
    check(syscall(SYS_gettid) == getpid(), "gettid of the main thread is the pid");
    check(g_other_tid > 0 && g_other_tid != getpid(), "another thread has an id of its own");
}

/* ---- The futex system call's answers --------------------------------------------------- */

static volatile uint32_t g_word, g_word2;
static volatile int g_futex_woken;

static void* futex_waiter(void* arg) {
    (void)arg;
    long r = futex(&g_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0);
    if (r == 0 || (r == -1 && errno == EAGAIN))
        __atomic_add_fetch(&g_futex_woken, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void futex_calls(void) {
    struct timespec zero = {0, 0}, short_wait = {0, 5 * 1000 * 1000};
    char buffer[8] __attribute__((aligned(4)));
    check_errno(futex((volatile uint32_t*)(buffer + 1), FUTEX_WAIT, 0, &zero, 0, 0), EINVAL,
                "futex wait at an unaligned address");
    check_errno(futex((volatile uint32_t*)(uintptr_t)4096, FUTEX_WAIT, 0, &zero, 0, 0), EFAULT,
                "futex wait at an unmapped address");
    g_word = 1;
    check_errno(futex(&g_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0), EAGAIN,
                "futex wait when the value differs");
    check_errno(futex(&g_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, &short_wait, 0, 0), ETIMEDOUT,
                "futex wait runs out of time");
    check_errno(futex(&g_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, &zero, 0, 0), ETIMEDOUT,
                "futex wait with a zero timeout");
    struct timespec bad = {0, 1000000000};
    check_errno(futex(&g_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, &bad, 0, 0), EINVAL,
                "futex wait with a bad timespec");
    check_value(futex(&g_word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 5, 0, 0, 0), 0,
                "futex wake with no waiter");
    check_errno(futex(&g_word, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG, 1, (void*)1, &g_word2, 7),
                EAGAIN, "futex cmp_requeue when the value differs");
    check_errno(futex(&g_word, 99 | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0), ENOSYS,
                "futex with an unknown operation");

    /* Three waiters: wake one, requeue the other two to a second word, wake them there. */
    g_word = 0;
    pthread_t t[3];
    for (int i = 0; i < 3; ++i)
        pthread_create(&t[i], 0, futex_waiter, 0);
    usleep(20000); /* they are waiting by now (a late one sees EAGAIN and counts too) */
    long woken = futex(&g_word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0);
    check_value(woken, 1, "futex wake of one of three waiters");
    long moved =
        futex(&g_word, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG, 0, (void*)(uintptr_t)5, &g_word2, 0);
    check_value(moved, 2, "futex cmp_requeue moves the other two");
    check_value(futex(&g_word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 5, 0, 0, 0), 0,
                "nobody is left on the first word");
    check_value(futex(&g_word2, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 5, 0, 0, 0), 2,
                "futex wake of the two on the second word");
    for (int i = 0; i < 3; ++i)
        pthread_join(t[i], 0);
    check_value(g_futex_woken, 3, "every waiter returned");
}

/* ---- Process-shared mutex and semaphore across fork ------------------------------------ */

struct shared_block {
    pthread_mutex_t lock;
    sem_t ready;
    long count;
};

static void process_shared(void) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) {
        check(0, "shmget for the process-shared test");
        return;
    }
    struct shared_block* block = shmat(id, 0, 0);
    shmctl(id, IPC_RMID, 0);
    if (block == (void*)-1) {
        check(0, "shmat for the process-shared test");
        return;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&block->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    sem_init(&block->ready, 1, 0);
    block->count = 0;
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 20000; ++i) {
            pthread_mutex_lock(&block->lock);
            long v = block->count;
            if ((i & 1023) == 0)
                sched_yield();
            block->count = v + 1;
            pthread_mutex_unlock(&block->lock);
        }
        sem_post(&block->ready);
        _exit(0);
    }
    check(child > 0, "fork for the process-shared test");
    for (int i = 0; i < 20000; ++i) {
        pthread_mutex_lock(&block->lock);
        long v = block->count;
        if ((i & 1023) == 0)
            sched_yield();
        block->count = v + 1;
        pthread_mutex_unlock(&block->lock);
    }
    sem_wait(&block->ready);
    check_value(block->count, 40000, "process-shared mutex: parent and child x 20000");
    int status = 0;
    waitpid(child, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ended well");
    shmdt(block);
}

/* ---- A thread waiting for a child does not hold up the others ------------------------- */

static pid_t g_child;
static volatile int g_child_status = -1;

static void* wait_for_child(void* arg) {
    (void)arg;
    int status = 0;
    if (waitpid(g_child, &status, 0) == g_child)
        g_child_status = status;
    return 0;
}

static void blocked_wait(void) {
    int go[2];
    if (pipe(go) != 0) {
        check(0, "pipe for the waiting-thread test");
        return;
    }
    g_child = fork();
    if (g_child == 0) {
        char c = 0;
        /* Ends once the parent's main thread has written (while its other thread waits). */
        _exit(read(go[0], &c, 1) == 1 && c == 'x' ? 5 : 6);
    }
    pthread_t waiter;
    pthread_create(&waiter, 0, wait_for_child, 0);
    usleep(20000); /* the waiter is in waitpid by now */
    /* A system call of this thread while the other one waits in waitpid: it must not
     * wait for the child, which ends only after this write. */
    check_value(write(go[1], "x", 1), 1, "a write while another thread waits in waitpid");
    pthread_join(waiter, 0);
    check(g_child_status >= 0 && WIFEXITED(g_child_status) && WEXITSTATUS(g_child_status) == 5,
          "the waiting thread reaped the child");
    close(go[0]);
    close(go[1]);
}

/* ---- The main thread ends first ------------------------------------------------------- */

static int g_report_fd;

static void* outlive_main(void* arg) {
    (void)arg;
    usleep(20000); /* the main thread has ended by now */
    char c = 'm';
    write(g_report_fd, &c, 1);
    return 0; /* the last thread: the process ends, status 0 */
}

/* A thread on the smallest stack the system allows makes system calls (a write, a
 * semaphore post) and ends; the minimum is a whole number of pages. */
static int g_null_fd = -1;

static void* small_stack(void* arg) {
    char line[64];
    int n = snprintf(line, sizeof line, "small stack thread %ld\n", (long)(intptr_t)arg);
    if (write(g_null_fd, line, (size_t)n) != n)
        return 0;
    sem_post(&g_sem);
    return arg;
}

static void minimum_stack(void) {
    long page = sysconf(_SC_PAGESIZE);
    long min = sysconf(_SC_THREAD_STACK_MIN);
    check_value(min, PTHREAD_STACK_MIN, "sysconf(_SC_THREAD_STACK_MIN) is PTHREAD_STACK_MIN");
    check_value(page > 0 && min > 0 ? min % page : -1, 0,
                "the minimum thread stack is a multiple of the page size");
    g_null_fd = open("/dev/null", O_WRONLY);
    check(g_null_fd >= 0, "open /dev/null for the small-stack threads");
    sem_init(&g_sem, 0, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    check_value(pthread_attr_setstacksize(&attr, (size_t)min), 0,
                "pthread_attr_setstacksize(minimum)");
    pthread_attr_setguardsize(&attr, 0);
    pthread_t t;
    void* result = 0;
    int made = pthread_create(&t, &attr, small_stack, (void*)(intptr_t)7);
    check_value(made, 0, "pthread_create on the minimum stack");
    if (made == 0)
        check_value(pthread_join(t, &result) == 0 ? (long)(intptr_t)result : -1, 7,
                    "the minimum-stack thread wrote and returned");
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    made = pthread_create(&t, &attr, small_stack, (void*)(intptr_t)8);
    check_value(made, 0, "a detached thread on the minimum stack");
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    check_value(sem_timedwait(&g_sem, &until), 0, "the joinable minimum-stack thread posted");
    if (made == 0)
        check_value(sem_timedwait(&g_sem, &until), 0, "the detached minimum-stack thread posted");
    pthread_attr_destroy(&attr);
    sem_destroy(&g_sem);
    close(g_null_fd);
}

static void main_thread_exits_first(void) {
    int report[2];
    if (pipe(report) != 0) {
        check(0, "pipe for the main-thread-exit test");
        return;
    }
    pid_t child = fork();
    if (child == 0) {
        close(report[0]);
        g_report_fd = report[1];
        pthread_t t;
        if (pthread_create(&t, 0, outlive_main, 0) != 0)
            _exit(3);
        pthread_exit(0);
    }
    close(report[1]);
    char c = 0;
    check_value(read(report[0], &c, 1) == 1 && c == 'm', 1,
                "a thread outlives the main thread's pthread_exit");
    int status = -1;
    waitpid(child, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the process ends with its last thread, status 0");
    close(report[0]);
}

int main(int argc, char** argv) {
    setvbuf(stdout, 0, _IOLBF, 0);
    int with_fork = !(argc > 1 && strcmp(argv[1], "nofork") == 0);
    unknown_keys(); /* first: before any thread or key */
    mutex_total();
    producer_consumer();
    rwlock();
    barrier();
    spinlock();
    keys();
    mutex_types();
    robust();
    lifetimes();
    futex_calls();
    minimum_stack();
    if (with_fork) {
        process_shared();
        blocked_wait();
        main_thread_exits_first();
    }
    printf("pthreads: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

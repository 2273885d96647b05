/*
 * libc_bench: figures for the C library on Tern, printed as machine-readable lines
 * ("name: value unit") like the native bench program.
 *
 *   libc.malloc_free_64       one malloc(64) + free pair of musl's allocator (mallocng)
 *                             while another 64-byte block stays allocated, as in any
 *                             program that uses the size: the allocator's fast path.
 *   libc.malloc_free_64_lone  the same pair when it is the only block of its size: every
 *                             free empties the size's group, which mallocng takes apart
 *                             and the next malloc builds again (and now and then returns
 *                             to the kernel with munmap and maps anew).
 *   libc.pipe_rt_4096         write(4096 bytes) to a pipe + read(4096) back, in one
 *                             process: the pipe's ring (libc/musl/backend_pipes.c), two
 *                             copies through the kernel and two wake signals.
 *   posix.mutex_uncontended   pthread_mutex_lock + pthread_mutex_unlock of a free default
 *                             mutex (musl's, an atomic compare-and-swap each way).
 *   posix.futex_wake_rt       a round trip between two threads through one futex word:
 *                             each stores the other's turn, wakes it and waits for its own
 *                             (two futex_wake, two futex_wait, two thread switches).
 *   posix.thread_create_join  pthread_create of a thread that returns at once + its
 *                             pthread_join (musl maps and frees the stack each time).
 *
 * Under QEMU -icount shift=0 the time stamp counter counts retired guest instructions, so
 * each figure is instructions per operation; it is the minimum over several rounds, which
 * discards rounds a timer interrupt landed in. Exits 0 when every figure was measured.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
    kRounds = 7,
    kPairs = 1000,
};

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

/* Instructions per malloc(size) + free pair; 0 when malloc fails. */
static uint64_t bench_malloc_free(size_t size) {
    /* The pointer goes through a volatile so the compiler cannot pair up and delete the
     * calls, which it may do for a malloc and free it can see. */
    void* volatile sink;
    uint64_t best = UINT64_MAX;
    /* Round 0 warms the allocator and is not counted. */
    for (int round = 0; round <= kRounds; ++round) {
        uint64_t start = rdtsc();
        for (int i = 0; i < kPairs; ++i) {
            sink = malloc(size);
            if (!sink)
                return 0;
            free(sink);
        }
        uint64_t cost = (rdtsc() - start) / kPairs;
        if (round > 0 && cost < best)
            best = cost;
    }
    return best;
}

/* Instructions per 4 KiB write + read round through a pipe; 0 when a call fails. */
static uint64_t bench_pipe_round(void) {
    int fds[2];
    if (pipe(fds) != 0)
        return 0;
    static char block[4096], back[4096];
    uint64_t best = UINT64_MAX;
    for (int round = 0; round <= kRounds; ++round) {
        uint64_t start = rdtsc();
        for (int i = 0; i < kPairs / 10; ++i) {
            if (write(fds[1], block, sizeof(block)) != (long)sizeof(block)
                || read(fds[0], back, sizeof(back)) != (long)sizeof(back))
                return 0;
        }
        uint64_t cost = (rdtsc() - start) / (kPairs / 10);
        if (round > 0 && cost < best)
            best = cost;
    }
    close(fds[0]);
    close(fds[1]);
    return best;
}

/* Instructions per lock + unlock pair of a free mutex. */
static uint64_t bench_mutex(void) {
    static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    uint64_t best = UINT64_MAX;
    for (int round = 0; round <= kRounds; ++round) {
        uint64_t start = rdtsc();
        for (int i = 0; i < kPairs; ++i) {
            pthread_mutex_lock(&mutex);
            pthread_mutex_unlock(&mutex);
        }
        uint64_t cost = (rdtsc() - start) / kPairs;
        if (round > 0 && cost < best)
            best = cost;
    }
    return best;
}

enum {
    kFutexWait = 0 | 128,
    kFutexWake = 1 | 128
};                          /* FUTEX_WAIT, FUTEX_WAKE, private */
static volatile int g_turn; /* 0: the main thread's, 1: the partner's, 2: stop */

static void* futex_partner(void* arg) {
    (void)arg;
    for (;;) {
        int t = g_turn;
        if (t == 2)
            return 0;
        if (t == 0) {
            syscall(SYS_futex, &g_turn, kFutexWait, 0, 0, 0, 0);
            continue;
        }
        g_turn = 0;
        syscall(SYS_futex, &g_turn, kFutexWake, 1, 0, 0, 0);
    }
}

/* Instructions per round trip between two threads through a futex; 0 on failure. */
static uint64_t bench_futex_round(void) {
    pthread_t partner;
    g_turn = 0;
    if (pthread_create(&partner, 0, futex_partner, 0) != 0)
        return 0;
    uint64_t best = UINT64_MAX;
    for (int round = 0; round <= kRounds; ++round) {
        uint64_t start = rdtsc();
        for (int i = 0; i < kPairs; ++i) {
            g_turn = 1;
            syscall(SYS_futex, &g_turn, kFutexWake, 1, 0, 0, 0);
            while (g_turn == 1)
                syscall(SYS_futex, &g_turn, kFutexWait, 1, 0, 0, 0);
        }
        uint64_t cost = (rdtsc() - start) / kPairs;
        if (round > 0 && cost < best)
            best = cost;
    }
    g_turn = 2;
    syscall(SYS_futex, &g_turn, kFutexWake, 1, 0, 0, 0);
    pthread_join(partner, 0);
    return best;
}

static void* return_at_once(void* arg) { return arg; }

/* Instructions per pthread_create + pthread_join of an empty thread; 0 on failure. */
static uint64_t bench_thread_create_join(void) {
    uint64_t best = UINT64_MAX;
    for (int round = 0; round <= kRounds; ++round) {
        uint64_t start = rdtsc();
        for (int i = 0; i < kPairs / 10; ++i) {
            pthread_t t;
            if (pthread_create(&t, 0, return_at_once, 0) != 0 || pthread_join(t, 0) != 0)
                return 0;
        }
        uint64_t cost = (rdtsc() - start) / (kPairs / 10);
        if (round > 0 && cost < best)
            best = cost;
    }
    return best;
}

int main(void) {
    uint64_t lone = bench_malloc_free(64);
    void* volatile neighbour = malloc(64);
    uint64_t steady = bench_malloc_free(64);
    free(neighbour);
    if (lone == 0 || steady == 0 || neighbour == NULL) {
        printf("libc_bench: error: malloc(64) failed\n");
        return 1;
    }
    printf("libc.malloc_free_64: %llu instructions\n", (unsigned long long)steady);
    printf("libc.malloc_free_64_lone: %llu instructions\n", (unsigned long long)lone);
    uint64_t pipe_round = bench_pipe_round();
    if (pipe_round == 0) {
        printf("libc_bench: error: the pipe round failed\n");
        return 1;
    }
    printf("libc.pipe_rt_4096: %llu instructions\n", (unsigned long long)pipe_round);
    printf("posix.mutex_uncontended: %llu instructions\n", (unsigned long long)bench_mutex());
    uint64_t futex_round = bench_futex_round();
    uint64_t create_join = bench_thread_create_join();
    if (futex_round == 0 || create_join == 0) {
        printf("libc_bench: error: a thread could not be made\n");
        return 1;
    }
    printf("posix.futex_wake_rt: %llu instructions\n", (unsigned long long)futex_round);
    printf("posix.thread_create_join: %llu instructions\n", (unsigned long long)create_join);
    return 0;
}

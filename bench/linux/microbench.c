/*
 * microbench: the Linux peers of Tern's kernel-path figures, run by /init in
 * tern.mode=bench under the same QEMU machine and -icount flags as Tern's bench run.
 *
 * Under -icount shift=0 the TSC advances by one per retired guest instruction, so every
 * figure is instructions per operation, measured the way tests/bench/bench.cpp measures
 * Tern's: the minimum over several rounds of the mean over many operations (a round that
 * a timer interrupt landed in is dropped). Each figure is one `name: value unit` line
 * that tools/bench.py pairs with its Tern figure:
 *
 *   linux.null_syscall             getppid through the syscall instruction
 *   linux.pipe_round_trip_1        1 byte there and back between two processes on two
 *                                  pipes (a 0-byte pipe write wakes nobody)
 *   linux.pipe_round_trip_4096     the same with 4096 bytes each way
 *   linux.fork_exec_wait.*         fork, execve of the static /bin/true, waitpid: the
 *                                  first, the minimum and the median of 30
 *   linux.sh_c_true                fork, execve of the static /bin/busybox as
 *                                  `sh -c true`, waitpid: BusyBox's ash, the same source
 *                                  and configuration as Tern's, measured as
 *                                  tests/libc/posix_exec.c measures posix.sh_c_true (the
 *                                  minimum over 5 rounds of the mean of 10); skipped with
 *                                  a message when the initramfs has no BusyBox
 *   linux.anon_fault               a write fault on fresh private anonymous memory (no
 *                                  huge pages), one zeroed 4 KiB page mapped
 *   linux.mutex_uncontended        pthread_mutex_lock + unlock of a free mutex
 *   linux.futex_wake_rt            a round trip between two threads through one futex
 *                                  word (two FUTEX_WAKE, two FUTEX_WAIT, two switches)
 *   linux.thread_create_join       pthread_create of a thread that returns at once +
 *                                  pthread_join
 * (the last three as tests/bench/libc_bench.c measures Tern's posix.* figures), and
 *   linux.shm_attach_detach        shm_open + mmap + munmap + close of an existing POSIX
 *                                  shared memory object: the code Tern's posix_shm runs
 *                                  (tests/bench/shm_attach_detach.h), on a tmpfs this
 *                                  program mounts at /dev/shm.
 *   linux.semop_pingpong           two processes alternate on a System V semaphore set:
 *                                  one round trip (each posts the other's, waits its own)
 *   linux.msg_pingpong_64          a 64-byte message of type 1 there and one of type 2
 *                                  back through one System V queue
 *   linux.mq_pingpong_64           a 64-byte message there and back through two POSIX
 *                                  queues
 * (as tests/libc/sysv.c and tests/libc/posix_mq.c measure Tern's sysv.* and posix.mq_*).
 *
 * Exits 0 when every benchmark ran (linux.sh_c_true may be skipped), 1 (with a message)
 * on the first failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../tests/bench/ipc_pingpong.h"
#include "../../tests/bench/shm_attach_detach.h"

enum {
    kRounds = 7,
    kPageSize = 4096,
    kFaultPages = 200,
    kSpawns = 30
};

static uint64_t read_tsc(void) { return __builtin_ia32_rdtsc(); }

static void fail(const char* what) {
    perror(what);
    exit(1);
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* A system call that does nothing but enter and leave the kernel, with no libc around it. */
static long raw_getppid(void) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
    return ret;
}

static uint64_t bench_null_syscall(void) {
    enum {
        kCalls = 10000
    };
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t t0 = read_tsc();
        for (int i = 0; i < kCalls; ++i)
            (void)raw_getppid();
        best = min_u64(best, (read_tsc() - t0) / kCalls);
    }
    return best;
}

static void full_io(int fd, char* buffer, size_t size, int writing) {
    size_t done = 0;
    while (done < size) {
        ssize_t n =
            writing ? write(fd, buffer + done, size - done) : read(fd, buffer + done, size - done);
        if (n <= 0)
            fail(writing ? "pipe write" : "pipe read");
        done += (size_t)n;
    }
}

/* Round trips of `size` bytes: the parent writes, the child reads and writes back. */
static uint64_t bench_pipe_round_trip(size_t size) {
    enum {
        kTrips = 1000
    };
    static char buffer[4096];
    int there[2], back[2];
    if (pipe(there) != 0 || pipe(back) != 0)
        fail("pipe");
    pid_t child = fork();
    if (child < 0)
        fail("fork");
    if (child == 0) {
        for (int i = 0; i < kRounds * kTrips; ++i) {
            full_io(there[0], buffer, size, 0);
            full_io(back[1], buffer, size, 1);
        }
        _exit(0);
    }
    uint64_t best = ~0ull;
    memset(buffer, 0x5a, sizeof buffer);
    for (int r = 0; r < kRounds; ++r) {
        uint64_t t0 = read_tsc();
        for (int i = 0; i < kTrips; ++i) {
            full_io(there[1], buffer, size, 1);
            full_io(back[0], buffer, size, 0);
        }
        best = min_u64(best, (read_tsc() - t0) / kTrips);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("pipe child");
    close(there[0]);
    close(there[1]);
    close(back[0]);
    close(back[1]);
    return best;
}

static int compare_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static void bench_fork_exec_wait(void) {
    uint64_t samples[kSpawns];
    for (int i = 0; i < kSpawns; ++i) {
        uint64_t t0 = read_tsc();
        pid_t child = fork();
        if (child < 0)
            fail("fork");
        if (child == 0) {
            char* argv[] = {"true", NULL};
            char* envp[] = {NULL};
            execve("/bin/true", argv, envp);
            _exit(127);
        }
        int status = 0;
        if (waitpid(child, &status, 0) != child)
            fail("waitpid");
        samples[i] = read_tsc() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "microbench: /bin/true exited with status %#x\n", status);
            exit(1);
        }
    }
    printf("linux.fork_exec_wait.first: %llu instructions\n", (unsigned long long)samples[0]);
    qsort(samples, kSpawns, sizeof samples[0], compare_u64);
    printf("linux.fork_exec_wait.min: %llu instructions\n", (unsigned long long)samples[0]);
    printf("linux.fork_exec_wait.median: %llu instructions\n",
           (unsigned long long)samples[kSpawns / 2]);
}

/* `sh -c true` through BusyBox's ash, as posix_exec's bench measures posix.sh_c_true on
 * Tern: /bin/busybox run with argv[0] "sh", the caller's environment, 5 rounds of 10, the
 * best round's mean. Returns 0 when the initramfs has no BusyBox (tools/linux_vm.py could
 * not build it); exits on any other failure. */
static uint64_t bench_sh_c_true(void) {
    enum {
        kShRounds = 5,
        kShRuns = 10
    };
    static const char kShell[] = "/bin/busybox";
    if (access(kShell, X_OK) != 0) {
        printf("microbench: no %s (%s): linux.sh_c_true not measured\n", kShell, strerror(errno));
        return 0;
    }
    char* argv[] = {"sh", "-c", "true", NULL};
    uint64_t best = ~0ull;
    for (int r = 0; r < kShRounds; ++r) {
        fflush(stdout);
        uint64_t t0 = read_tsc();
        for (int i = 0; i < kShRuns; ++i) {
            pid_t child = fork();
            if (child < 0)
                fail("fork");
            if (child == 0) {
                execve(kShell, argv, environ);
                _exit(127);
            }
            int status = 0;
            if (waitpid(child, &status, 0) != child)
                fail("waitpid");
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "microbench: sh -c true exited with status %#x\n", status);
                exit(1);
            }
        }
        best = min_u64(best, (read_tsc() - t0) / kShRuns);
    }
    return best;
}

static uint64_t bench_anon_fault(void) {
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        size_t size = (size_t)kFaultPages * kPageSize;
        volatile char* p =
            mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            fail("mmap");
        /* One 4 KiB page per fault, as Tern's demand-zero fault maps. */
        if (madvise((void*)p, size, MADV_NOHUGEPAGE) != 0)
            fail("madvise");
        uint64_t t0 = read_tsc();
        for (int i = 0; i < kFaultPages; ++i)
            p[(size_t)i * kPageSize] = 1;
        best = min_u64(best, (read_tsc() - t0) / kFaultPages);
        if (munmap((void*)p, size) != 0)
            fail("munmap");
    }
    return best;
}

static uint64_t bench_mutex(void) {
    enum {
        kPairs = 1000
    };
    static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t t0 = read_tsc();
        for (int i = 0; i < kPairs; ++i) {
            pthread_mutex_lock(&mutex);
            pthread_mutex_unlock(&mutex);
        }
        best = min_u64(best, (read_tsc() - t0) / kPairs);
    }
    return best;
}

enum {
    kFutexWait = 0 | 128, /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
    kFutexWake = 1 | 128,
    kFutexTrips = 1000
};
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

static uint64_t bench_futex_round_trip(void) {
    pthread_t partner;
    g_turn = 0;
    if (pthread_create(&partner, 0, futex_partner, 0) != 0)
        fail("pthread_create");
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t t0 = read_tsc();
        for (int i = 0; i < kFutexTrips; ++i) {
            g_turn = 1;
            syscall(SYS_futex, &g_turn, kFutexWake, 1, 0, 0, 0);
            while (g_turn == 1)
                syscall(SYS_futex, &g_turn, kFutexWait, 1, 0, 0, 0);
        }
        best = min_u64(best, (read_tsc() - t0) / kFutexTrips);
    }
    g_turn = 2;
    syscall(SYS_futex, &g_turn, kFutexWake, 1, 0, 0, 0);
    pthread_join(partner, 0);
    return best;
}

static void* return_at_once(void* arg) { return arg; }

static uint64_t bench_thread_create_join(void) {
    enum {
        kThreads = 100
    };
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t t0 = read_tsc();
        for (int i = 0; i < kThreads; ++i) {
            pthread_t t;
            if (pthread_create(&t, 0, return_at_once, 0) != 0 || pthread_join(t, 0) != 0)
                fail("pthread_create");
        }
        best = min_u64(best, (read_tsc() - t0) / kThreads);
    }
    return best;
}

static uint64_t bench_shm_attach_detach(void) {
    /* The initramfs's /dev (devtmpfs) has no /dev/shm: a tmpfs there, as distributions
     * mount it. */
    if (mkdir("/dev/shm", 01777) != 0 && errno != EEXIST)
        fail("mkdir /dev/shm");
    if (mount("tmpfs", "/dev/shm", "tmpfs", 0, NULL) != 0 && errno != EBUSY)
        fail("mount /dev/shm");
    uint64_t median = 0;
    if (shm_attach_detach_median("/microbench.shm", &median) != 0)
        fail("shm_attach_detach");
    return median;
}

enum {
    kPingPongs = 1000
};

static uint64_t measured(uint64_t figure, const char* what) {
    if (figure == 0)
        fail(what);
    return figure;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("linux.null_syscall: %llu instructions\n", (unsigned long long)bench_null_syscall());
    printf("linux.pipe_round_trip_1: %llu instructions\n",
           (unsigned long long)bench_pipe_round_trip(1));
    printf("linux.pipe_round_trip_4096: %llu instructions\n",
           (unsigned long long)bench_pipe_round_trip(4096));
    bench_fork_exec_wait();
    uint64_t sh = bench_sh_c_true();
    if (sh != 0)
        printf("linux.sh_c_true: %llu instructions\n", (unsigned long long)sh);
    printf("linux.anon_fault: %llu instructions\n", (unsigned long long)bench_anon_fault());
    printf("linux.mutex_uncontended: %llu instructions\n", (unsigned long long)bench_mutex());
    printf("linux.futex_wake_rt: %llu instructions\n",
           (unsigned long long)bench_futex_round_trip());
    printf("linux.thread_create_join: %llu instructions\n",
           (unsigned long long)bench_thread_create_join());
    printf("linux.shm_attach_detach: %llu instructions\n",
           (unsigned long long)bench_shm_attach_detach());
    printf("linux.semop_pingpong: %llu instructions\n",
           (unsigned long long)measured(semop_pingpong(kRounds, kPingPongs), "semop"));
    printf("linux.msg_pingpong_64: %llu instructions\n",
           (unsigned long long)measured(msg_pingpong(kRounds, kPingPongs), "msg"));
    printf("linux.mq_pingpong_64: %llu instructions\n",
           (unsigned long long)measured(
               mq_pingpong("/bench_ping", "/bench_pong", kRounds, kPingPongs), "mq"));
    return 0;
}

/*
 * posix.shm_attach_detach: shm_open of an existing POSIX shared memory object (one page,
 * under /dev/shm) + mmap(MAP_SHARED) of it + munmap + close, the median of 201 rounds in
 * time-stamp counter ticks (under QEMU's -icount, guest instructions).
 *
 * The one measurement is included by Tern's program (tests/libc/posix_shm.c, `posix_shm
 * bench`) and by the Linux peer (bench/linux/microbench.c, linux.shm_attach_detach), so
 * both systems run the same code against their own C library and kernel.
 */
#ifndef TERN_TESTS_BENCH_SHM_ATTACH_DETACH_H
#define TERN_TESTS_BENCH_SHM_ATTACH_DETACH_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum {
    kShmBenchRounds = 201,
    kShmBenchBytes = 4096
};

static int shm_bench_compare(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

/* Makes object `name`, measures, removes it; 0 with the median in *out, -1 on a failure. */
static int shm_attach_detach_median(const char* name, uint64_t* out) {
    static uint64_t cost[kShmBenchRounds];
    shm_unlink(name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    int sized = ftruncate(fd, kShmBenchBytes);
    close(fd);
    if (sized != 0) {
        shm_unlink(name);
        return -1;
    }
    for (int i = 0; i < kShmBenchRounds; ++i) {
        uint64_t start = __builtin_ia32_rdtsc();
        fd = shm_open(name, O_RDWR, 0);
        if (fd < 0) {
            shm_unlink(name);
            return -1;
        }
        void* p = mmap(NULL, kShmBenchBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            shm_unlink(name);
            return -1;
        }
        munmap(p, kShmBenchBytes);
        close(fd);
        cost[i] = __builtin_ia32_rdtsc() - start;
    }
    shm_unlink(name);
    qsort(cost, kShmBenchRounds, sizeof(cost[0]), shm_bench_compare);
    *out = cost[kShmBenchRounds / 2];
    return 0;
}

#endif

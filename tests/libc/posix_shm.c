/*
 * posix_shm: mmap of files, POSIX shared memory and named semaphores through the C
 * library, with the errno Linux gives for every refusal.
 *
 *   posix_shm              every check in one process and its children: MAP_PRIVATE of a
 *                          boot file system file (this program) and of a tmpfs file
 *                          (content, copy-on-write isolation), MAP_SHARED of a tmpfs file
 *                          (stores seen by read and write and by a second mapping),
 *                          ftruncate then map, munmap of part of a mapping, MAP_FIXED,
 *                          msync, a mapping that outlives its descriptor, fork (shared
 *                          stays shared, private is copied), shm_open/shm_unlink between
 *                          two unrelated processes (the second one exec'd), errors
 *                          (EBADF, EACCES, EINVAL, ENODEV, ENOENT, EEXIST), named
 *                          semaphores between two processes (one posts 10,000 times, the
 *                          other waits) and sem_unlink while open
 *   posix_shm shm_peer N   (exec'd by the above) opens shared memory object N, checks
 *                          what the first process wrote and answers in it
 *   posix_shm sem_poster N (exec'd by the above) posts named semaphore N 10,000 times
 *   posix_shm bench        posix.shm_attach_detach: shm_open + mmap + munmap + close of an
 *                          existing object, the median of 201 rounds in time-stamp counter
 *                          ticks (under QEMU's -icount, guest instructions)
 *
 * It builds and runs on the host's Linux too (unit.libc_posix_shm_on_host), so every
 * expectation is what Linux does. Prints "posix_shm: ok ..." per check, "posix_shm:
 * FAILED ..." for a failure and "posix_shm: N checks, M failures"; exits 0 only when
 * nothing failed. Every wait is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench/shm_attach_detach.h"

#if __has_include(<tern/libc.h>)
#define ON_TERN 1
#else
#define ON_TERN 0
#endif

#define PAGE 4096
#define POSTS 10000

static int g_checks, g_failures;
static char g_self[256];

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("posix_shm: ok %s\n", what);
    } else {
        ++g_failures;
        printf("posix_shm: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

/* A call that must fail with errno `want` (mmap's MAP_FAILED counts as -1). */
static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("posix_shm: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("posix_shm: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
}

static long map_result(void* p) { return p == MAP_FAILED ? -1 : 0; }

/* Waits for a child (bounded: 20 s) and returns its exit status, or -1. */
static int reap(pid_t pid) {
    for (int i = 0; i < 2000; ++i) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static pid_t run_self(const char* role, const char* name) {
    pid_t pid = fork();
    if (pid == 0) {
        execl(g_self, g_self, role, name, (char*)NULL);
        _exit(127);
    }
    return pid;
}

static void fill_pattern(unsigned char* p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; ++i)
        p[i] = (unsigned char)(i * 7 + seed);
}

static int has_pattern(const unsigned char* p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; ++i)
        if (p[i] != (unsigned char)(i * 7 + seed))
            return 0;
    return 1;
}

/* ---- MAP_PRIVATE of a read-only file: this program ---- */

static void test_private_readonly_file(void) {
    int fd = open(g_self, O_RDONLY);
    check(fd >= 0, "open this program");
    if (fd < 0)
        return;
    static unsigned char expect[2 * PAGE];
    ssize_t got = pread(fd, expect, sizeof(expect), 0);
    check(got == (ssize_t)sizeof(expect), "pread its first two pages");
    unsigned char* p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    check(p != MAP_FAILED, "mmap MAP_PRIVATE PROT_READ of this program");
    if (p == MAP_FAILED) {
        close(fd);
        return;
    }
    check(memcmp(p, "\177ELF", 4) == 0, "the mapping starts with the ELF magic");
    check(memcmp(p, expect, sizeof(expect)) == 0, "the mapping holds the file's bytes");
    /* A writable private mapping of a read-only descriptor: copy-on-write, the file and
     * other mappings stay as they were. */
    unsigned char* w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PAGE);
    check(w != MAP_FAILED, "mmap MAP_PRIVATE PROT_WRITE of a read-only descriptor");
    if (w != MAP_FAILED) {
        check(memcmp(w, expect + PAGE, PAGE) == 0, "at an offset: the file's second page");
        memset(w, 0x5a, 64);
        unsigned char again[64];
        check(pread(fd, again, 64, PAGE) == 64 && memcmp(again, expect + PAGE, 64) == 0,
              "a store to a private mapping does not reach the file");
        check(memcmp(p + PAGE, expect + PAGE, 64) == 0, "nor another mapping of it");
        munmap(w, PAGE);
    }
    check_errno(map_result(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)), EACCES,
                "MAP_SHARED PROT_WRITE of a read-only descriptor");
    munmap(p, 2 * PAGE);
    close(fd);
}

/* ---- tmpfs files ---- */

static char g_dir[64];

static const char* tmp_path(const char* leaf) {
    static char path[4][128];
    static int next;
    char* out = path[next++ % 4];
    snprintf(out, 128, "%s/%s", g_dir, leaf);
    return out;
}

static void test_private_tmpfs(void) {
    const char* path = tmp_path("private");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    check(fd >= 0, "create a file on /tmp");
    if (fd < 0)
        return;
    static unsigned char data[3 * PAGE + 100];
    fill_pattern(data, sizeof(data), 3);
    check(write(fd, data, sizeof(data)) == (ssize_t)sizeof(data), "write 3 pages and 100 bytes");
    unsigned char* p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check(p != MAP_FAILED, "mmap MAP_PRIVATE of a tmpfs file");
    if (p != MAP_FAILED) {
        check(has_pattern(p, sizeof(data), 3), "the mapping holds the file's bytes");
        int zeros = 1;
        for (size_t i = sizeof(data); i < 4 * PAGE; ++i)
            zeros &= p[i] == 0;
        check(zeros, "the rest of the last page is zeros");
        p[10] ^= 0xff;
        unsigned char b = 0;
        check(pread(fd, &b, 1, 10) == 1 && b == data[10],
              "a store to the private mapping does not reach the file");
        /* Copy-on-write across fork: the child's store stays the child's. */
        pid_t pid = fork();
        if (pid == 0) {
            p[20] = 0xee;
            _exit(p[20] == 0xee ? 0 : 1);
        }
        check(reap(pid) == 0, "a child stores to its copy of a private mapping");
        check(p[20] == data[20], "the parent's private mapping keeps its byte");
        munmap(p, 4 * PAGE);
    }
    close(fd);
    unlink(path);
}

static void test_shared_tmpfs(void) {
    const char* path = tmp_path("shared");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    check(fd >= 0, "create a file to share");
    if (fd < 0)
        return;
    static unsigned char data[2 * PAGE];
    fill_pattern(data, sizeof(data), 9);
    check(write(fd, data, sizeof(data)) == (ssize_t)sizeof(data), "write two pages");
    unsigned char* a = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned char* b = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
    check(a != MAP_FAILED && b != MAP_FAILED, "two MAP_SHARED mappings of a tmpfs file");
    if (a == MAP_FAILED || b == MAP_FAILED) {
        close(fd);
        return;
    }
    check(has_pattern(a, sizeof(data), 9), "the shared mapping holds the file's bytes");
    a[PAGE + 5] = 0x11;
    check(b[5] == 0x11, "a store through one mapping is seen through the other");
    unsigned char byte = 0;
    check(pread(fd, &byte, 1, PAGE + 5) == 1 && byte == 0x11, "and by read()");
    byte = 0x22;
    check(pwrite(fd, &byte, 1, 7) == 1 && a[7] == 0x22, "write() is seen by the mapping");
    check(msync(a, 2 * PAGE, MS_SYNC) == 0, "msync MS_SYNC");
    check(msync(a, PAGE, MS_ASYNC) == 0, "msync MS_ASYNC");
    check(msync(a, PAGE, MS_INVALIDATE) == 0, "msync MS_INVALIDATE");
    check_errno(msync(a, PAGE, MS_SYNC | MS_ASYNC), EINVAL, "msync MS_SYNC|MS_ASYNC");
    check_errno(msync(a + 1, PAGE, MS_SYNC), EINVAL, "msync of an unaligned address");

    /* Shared across fork: the child's store is the parent's. */
    pid_t pid = fork();
    if (pid == 0) {
        a[100] = 0x33;
        _exit(0);
    }
    check(reap(pid) == 0, "a child stores to the shared mapping");
    check(a[100] == 0x33, "the parent sees the child's store");

    /* The mapping outlives the descriptor. */
    close(fd);
    a[200] = 0x44;
    fd = open(path, O_RDONLY);
    check(fd >= 0 && pread(fd, &byte, 1, 200) == 1 && byte == 0x44,
          "a store after close(fd) reaches the file");
    munmap(a, 2 * PAGE);
    munmap(b, PAGE);
    if (fd >= 0) {
        check_errno(map_result(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)), EACCES,
                    "MAP_SHARED PROT_WRITE of an O_RDONLY tmpfs descriptor");
        void* r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
        check(r != MAP_FAILED, "MAP_SHARED PROT_READ of an O_RDONLY descriptor");
        if (r != MAP_FAILED)
            munmap(r, PAGE);
        close(fd);
    }
    unlink(path);
}

static void test_truncate_and_munmap(void) {
    const char* path = tmp_path("grown");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    check(fd >= 0, "create an empty file");
    if (fd < 0)
        return;
    check(ftruncate(fd, 4 * PAGE) == 0, "ftruncate it to 4 pages");
    unsigned char* p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check(p != MAP_FAILED, "map the 4 pages shared");
    if (p == MAP_FAILED) {
        close(fd);
        return;
    }
    for (int i = 0; i < 4; ++i)
        p[i * PAGE] = (unsigned char)(0xa0 + i);
    unsigned char byte = 0;
    check(pread(fd, &byte, 1, 3 * PAGE) == 1 && byte == 0xa3, "the last page's store is read");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size == 4 * PAGE, "the size stays 4 pages");

    /* munmap of the second page only. */
    check(munmap(p + PAGE, PAGE) == 0, "munmap the second page");
    check(p[0] == 0xa0 && p[2 * PAGE] == 0xa2 && p[3 * PAGE] == 0xa3,
          "the other pages stay mapped");
    check_errno(msync(p, 2 * PAGE, MS_SYNC), ENOMEM, "msync over the hole");
    /* MAP_FIXED puts the file's second page back in the hole. */
    unsigned char* q =
        mmap(p + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, PAGE);
    check(q == p + PAGE, "MAP_FIXED maps into the hole");
    if (q == p + PAGE) {
        check(q[0] == 0xa1, "with the file's second page");
        check(msync(p, 4 * PAGE, MS_SYNC) == 0, "msync of the whole range again");
    }
    /* MAP_FIXED over a mapped page replaces it; MAP_FIXED_NOREPLACE refuses. */
    unsigned char* z = mmap(p + 3 * PAGE, PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check(z == p + 3 * PAGE && z[0] == 0, "MAP_FIXED anonymous replaces a page with zeros");
    check(pread(fd, &byte, 1, 3 * PAGE) == 1 && byte == 0xa3, "the file keeps its page");
    check_errno(map_result(mmap(p, PAGE, PROT_READ,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)),
                EEXIST, "MAP_FIXED_NOREPLACE over a mapping");
    check_errno(
        map_result(mmap(p + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)),
        EINVAL, "MAP_FIXED at an unaligned address");
    munmap(p, 4 * PAGE);

    /* Shrinking and growing again: the pages come back as zeros. */
    p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
        check(ftruncate(fd, 0) == 0 && ftruncate(fd, PAGE) == 0, "ftruncate to 0 and back");
        check(p[0] == 0, "the mapping sees the file's new zeros");
        p[1] = 0x55;
        check(pread(fd, &byte, 1, 1) == 1 && byte == 0x55, "and its stores still reach it");
        munmap(p, PAGE);
    }
    close(fd);
    unlink(path);
}

static void test_errors(void) {
    check_errno(map_result(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 57, 0)), EBADF,
                "mmap of a closed descriptor");
    check_errno(map_result(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, -1, 0)), EBADF,
                "mmap of descriptor -1 without MAP_ANONYMOUS");
    const char* path = tmp_path("errors");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int wo = open(path, O_WRONLY);
    check(fd >= 0 && wo >= 0, "open a file twice");
    if (fd >= 0 && wo >= 0) {
        check(ftruncate(fd, PAGE) == 0, "give it a page");
        check_errno(map_result(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, wo, 0)), EACCES,
                    "mmap of an O_WRONLY descriptor");
        check_errno(map_result(mmap(NULL, PAGE, PROT_WRITE, MAP_SHARED, wo, 0)), EACCES,
                    "MAP_SHARED PROT_WRITE of an O_WRONLY descriptor");
        check_errno(map_result(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 100)), EINVAL,
                    "an offset that is not page-aligned");
        check_errno(map_result(mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0)), EINVAL, "length 0");
        check_errno(map_result(mmap(NULL, PAGE, PROT_READ, 0, fd, 0)), EINVAL,
                    "neither MAP_SHARED nor MAP_PRIVATE");
    }
    if (fd >= 0)
        close(fd);
    if (wo >= 0)
        close(wo);
    unlink(path);
    int pipes[2];
    if (pipe(pipes) == 0) {
        check_errno(map_result(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, pipes[0], 0)), ENODEV,
                    "mmap of a pipe");
        close(pipes[0]);
        close(pipes[1]);
    }
    int dir = open(g_dir, O_RDONLY | O_DIRECTORY);
    if (dir >= 0) {
        check_errno(map_result(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dir, 0)), ENODEV,
                    "mmap of a directory");
        close(dir);
    }
    if (ON_TERN)
        check_errno(map_result(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 1, 0)), ENODEV,
                    "mmap of the console");
}

/* ---- Shared anonymous memory across fork ---- */

static void test_shared_anonymous(void) {
    volatile uint32_t* p =
        mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check(p != MAP_FAILED, "mmap MAP_SHARED|MAP_ANONYMOUS");
    if (p == MAP_FAILED)
        return;
    check(p[0] == 0, "it starts zeroed");
    pid_t pid = fork();
    if (pid == 0) {
        p[1] = 1234;
        _exit(0);
    }
    check(reap(pid) == 0 && p[1] == 1234, "a child's store is the parent's");
    munmap((void*)p, PAGE);
}

/* ---- shm_open between unrelated processes ---- */

static char g_shm_name[64];

static void test_shm_open(void) {
    snprintf(g_shm_name, sizeof(g_shm_name), "/posix_shm.%d", (int)getpid());
    shm_unlink(g_shm_name);
    int fd = shm_open(g_shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    check(fd >= 0, "shm_open O_CREAT|O_EXCL");
    if (fd < 0)
        return;
    check_errno(shm_open(g_shm_name, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST,
                "shm_open O_EXCL of an existing object");
    check(ftruncate(fd, 2 * PAGE) == 0, "ftruncate the object to 2 pages");
    volatile uint32_t* p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check(p != MAP_FAILED, "map it shared");
    close(fd);
    if (p == MAP_FAILED)
        return;
    p[0] = 0xfeedf00d;
    p[PAGE / 4] = 42;
    pid_t pid = run_self("shm_peer", g_shm_name);
    check(reap(pid) == 0, "an exec'd process maps the object, checks it and answers");
    check(p[1] == 0xc0ffee && p[PAGE / 4 + 1] == 43, "its answer is in our mapping");
    munmap((void*)p, 2 * PAGE);
    check(shm_unlink(g_shm_name) == 0, "shm_unlink");
    check_errno(shm_open(g_shm_name, O_RDWR, 0), ENOENT, "shm_open of a removed object");
    check_errno(shm_unlink(g_shm_name), ENOENT, "shm_unlink of a removed object");
}

static int shm_peer(const char* name) {
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0) {
        printf("posix_shm: FAILED shm_peer: shm_open %s: %s\n", name, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size != 2 * PAGE) {
        printf("posix_shm: FAILED shm_peer: size %lld\n", (long long)st.st_size);
        return 1;
    }
    volatile uint32_t* p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        printf("posix_shm: FAILED shm_peer: mmap: %s\n", strerror(errno));
        return 1;
    }
    if (p[0] != 0xfeedf00d || p[PAGE / 4] != 42) {
        printf("posix_shm: FAILED shm_peer: found %x and %u\n", p[0], p[PAGE / 4]);
        return 1;
    }
    p[1] = 0xc0ffee;
    p[PAGE / 4 + 1] = 43;
    return 0;
}

/* ---- Named semaphores ---- */

static int sem_wait_bounded(sem_t* s) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 20;
    return sem_timedwait(s, &t);
}

static void test_named_semaphores(void) {
    char name[64];
    snprintf(name, sizeof(name), "/posix_shm.sem.%d", (int)getpid());
    sem_unlink(name);
    sem_t* s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    check(s != SEM_FAILED, "sem_open O_CREAT|O_EXCL");
    if (s == SEM_FAILED)
        return;
    check(sem_open(name, O_CREAT | O_EXCL, 0600, 0) == SEM_FAILED && errno == EEXIST,
          "sem_open O_EXCL of an existing semaphore: EEXIST");
    check(sem_open("/posix_shm.missing", 0) == SEM_FAILED && errno == ENOENT,
          "sem_open of a missing semaphore: ENOENT");
    sem_t* again = sem_open(name, 0);
    check(again == s, "a second sem_open in one process gives the same semaphore");
    if (again != SEM_FAILED && again == s)
        sem_close(again);

    pid_t pid = run_self("sem_poster", name);
    int waited = 0;
    while (waited < POSTS && sem_wait_bounded(s) == 0)
        ++waited;
    check(waited == POSTS, "10,000 waits meet another process's 10,000 posts");
    check(reap(pid) == 0, "the poster ends");
    check(sem_trywait(s) == -1 && errno == EAGAIN, "and nothing more is posted");

    /* sem_unlink while open: the name goes, the semaphore stays for its users. */
    check(sem_unlink(name) == 0, "sem_unlink while open");
    check(sem_open(name, 0) == SEM_FAILED && errno == ENOENT, "the name is gone");
    check(sem_post(s) == 0 && sem_trywait(s) == 0, "the open semaphore still works");
    sem_t* fresh = sem_open(name, O_CREAT | O_EXCL, 0600, 3);
    check(fresh != SEM_FAILED && fresh != s, "a new semaphore can take the name");
    if (fresh != SEM_FAILED) {
        int value = -1;
        check(sem_getvalue(fresh, &value) == 0 && value == 3, "with its own value");
        check(sem_getvalue(s, &value) == 0 && value == 0, "the old one keeps its own");
        sem_close(fresh);
        sem_unlink(name);
    }
    check(sem_close(s) == 0, "sem_close");
    check_errno(sem_unlink(name), ENOENT, "sem_unlink of a removed name");
}

static int sem_poster(const char* name) {
    sem_t* s = sem_open(name, 0);
    if (s == SEM_FAILED) {
        printf("posix_shm: FAILED sem_poster: sem_open %s: %s\n", name, strerror(errno));
        return 1;
    }
    for (int i = 0; i < POSTS; ++i) {
        if (sem_post(s) != 0) {
            printf("posix_shm: FAILED sem_poster: sem_post: %s\n", strerror(errno));
            return 1;
        }
    }
    sem_close(s);
    return 0;
}

/* ---- The benchmark (the Linux peer runs the same code) ---- */

static int bench(void) {
    char name[64];
    snprintf(name, sizeof(name), "/posix_shm.bench.%d", (int)getpid());
    uint64_t median = 0;
    if (shm_attach_detach_median(name, &median) != 0) {
        printf("posix_shm: FAILED bench: %s\n", strerror(errno));
        return 1;
    }
    printf("posix.shm_attach_detach: %llu instructions\n", (unsigned long long)median);
    return 0;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (ON_TERN) {
        snprintf(g_self, sizeof(g_self), "/bin/posix_shm");
    } else {
        ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
        if (n <= 0)
            return 2;
        g_self[n] = 0;
    }
    if (argc > 1) {
        if (!strcmp(argv[1], "shm_peer") && argc > 2)
            return shm_peer(argv[2]);
        if (!strcmp(argv[1], "sem_poster") && argc > 2)
            return sem_poster(argv[2]);
        if (!strcmp(argv[1], "bench"))
            return bench();
        printf("usage: posix_shm [shm_peer NAME|sem_poster NAME|bench]\n");
        return 2;
    }
    snprintf(g_dir, sizeof(g_dir), "/tmp/posix_shm.%d", (int)getpid());
    if (mkdir(g_dir, 0700) != 0) {
        printf("posix_shm: FAILED mkdir %s: %s\n", g_dir, strerror(errno));
        return 1;
    }
    test_private_readonly_file();
    test_private_tmpfs();
    test_shared_tmpfs();
    test_truncate_and_munmap();
    test_errors();
    test_shared_anonymous();
    test_shm_open();
    test_named_semaphores();
    rmdir(g_dir);
    printf("posix_shm: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

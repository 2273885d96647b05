/*
 * libc_smoke: the first C program on musl. Checks that the C library works on Tern end to
 * end: start-up (argv, auxiliary vector, thread-local storage), formatted output, number
 * parsing, the allocator on both of its paths, sorting, strings, the clock, errno, uname
 * and getrandom, and exit through a return from main.
 *
 * Prints "libc_smoke: ok <check>" or "libc_smoke: FAIL <check>: <why>" per check and
 * exits 0 only when every check passed. Run by the kernel self-test user.libc_smoke
 * (kernel/test/libc_tests.cpp).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static int g_failures;

static void ok(const char* check) { printf("libc_smoke: ok %s\n", check); }

static void fail(const char* check, const char* format, ...) {
    va_list args;
    va_start(args, format);
    printf("libc_smoke: FAIL %s: ", check);
    vprintf(format, args);
    printf("\n");
    va_end(args);
    ++g_failures;
}

static void check_start(int argc, char** argv) {
    if (argc != 1 || !argv[0] || strcmp(argv[0], "libc_smoke") != 0 || argv[1] != NULL) {
        fail("start", "argc %d argv[0] %s", argc, argv[0] ? argv[0] : "(null)");
        return;
    }
    if (getauxval(AT_PAGESZ) != 4096 || sysconf(_SC_PAGESIZE) != 4096) {
        fail("start", "page size %lu", getauxval(AT_PAGESZ));
        return;
    }
    if (getauxval(AT_RANDOM) == 0) {
        fail("start", "no AT_RANDOM");
        return;
    }
    ok("start");
}

static void check_printf(void) {
    char buffer[128];
    int n = snprintf(buffer, sizeof(buffer), "%d %s %.3f %x %5.1e|%-4s|%lld", -42, "str", 3.14159,
                     0xbeefu, 12345.678, "ab", (long long)INT64_MIN);
    const char* expected = "-42 str 3.142 beef 1.2e+04|ab  |-9223372036854775808";
    if (strcmp(buffer, expected) != 0 || n != (int)strlen(expected)) {
        fail("printf", "got \"%s\" (%d)", buffer, n);
        return;
    }
    /* Truncation reports the length the whole output would have had. */
    char small[4];
    n = snprintf(small, sizeof(small), "%s", "truncated");
    if (n != 9 || strcmp(small, "tru") != 0) {
        fail("printf", "truncation gave %d \"%s\"", n, small);
        return;
    }
    ok("printf");
}

static void check_strtod(void) {
    char* end = NULL;
    double v = strtod("2.5e3xyz", &end);
    if (v != 2500.0 || strcmp(end, "xyz") != 0) {
        fail("strtod", "2.5e3 gave %f", v);
        return;
    }
    if (strtod("0.1", NULL) + strtod("0.2", NULL) == 0.3) {
        fail("strtod", "0.1 + 0.2 is exactly 0.3: parsing is not IEEE");
        return;
    }
    long l = strtol("-0x7f", NULL, 16);
    if (l != -127) {
        fail("strtod", "strtol gave %ld", l);
        return;
    }
    ok("strtod");
}

/* A small deterministic generator, so a failure repeats. */
static uint64_t g_seed = 0x243f6a8885a308d3ull;
static uint32_t next_random(void) {
    g_seed = g_seed * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g_seed >> 33);
}

enum {
    kBlocks = 10000,
    kChurnOperations = 20000,
    kChurnSlots = 500,
};
static unsigned char* g_blocks[kBlocks];
static size_t g_sizes[kBlocks];

/* Fills a block with a pattern derived from its index, or checks that it is intact. */
static void fill(int index) { memset(g_blocks[index], (unsigned char)index, g_sizes[index]); }

static int intact(int index) {
    for (size_t b = 0; b < g_sizes[index]; ++b) {
        if (g_blocks[index][b] != (unsigned char)index)
            return 0;
    }
    return 1;
}

static void check_malloc(void) {
    /* 10000 blocks of 1..2048 bytes alive at once: mallocng maps a group per size class,
     * which the kernel merges into neighbouring anonymous regions. */
    for (int i = 0; i < kBlocks; ++i) {
        g_sizes[i] = 1 + next_random() % 2048;
        g_blocks[i] = malloc(g_sizes[i]);
        if (!g_blocks[i]) {
            fail("malloc", "block %d of %zu bytes: %s", i, g_sizes[i], strerror(errno));
            return;
        }
        fill(i);
    }
    /* Free every other block, then check that no write went astray. */
    for (int i = 0; i < kBlocks; i += 2) {
        free(g_blocks[i]);
        g_blocks[i] = NULL;
    }
    for (int i = 1; i < kBlocks; i += 2) {
        if (!intact(i)) {
            fail("malloc", "block %d changed", i);
            return;
        }
        free(g_blocks[i]);
        g_blocks[i] = NULL;
    }
    /* Random allocations and frees of up to 4 KiB with a bounded working set. */
    for (int op = 0; op < kChurnOperations; ++op) {
        int slot = (int)(next_random() % kChurnSlots);
        if (g_blocks[slot]) {
            if (!intact(slot)) {
                fail("malloc", "churn block %d changed", slot);
                return;
            }
            free(g_blocks[slot]);
            g_blocks[slot] = NULL;
            continue;
        }
        g_sizes[slot] = 1 + next_random() % 4096;
        g_blocks[slot] = malloc(g_sizes[slot]);
        if (!g_blocks[slot]) {
            fail("malloc", "churn block of %zu bytes: %s", g_sizes[slot], strerror(errno));
            return;
        }
        fill(slot);
    }
    for (int i = 0; i < kChurnSlots; ++i) {
        free(g_blocks[i]);
        g_blocks[i] = NULL;
    }
    /* A large block comes from its own mmap and goes back to the kernel on free. */
    size_t big = 10u << 20;
    unsigned char* p = malloc(big);
    if (!p) {
        fail("malloc", "10 MiB: %s", strerror(errno));
        return;
    }
    for (size_t i = 0; i < big; i += 4096)
        p[i] = (unsigned char)(i >> 12);
    p[big - 1] = 0x5a;
    for (size_t i = 0; i < big; i += 4096) {
        if (p[i] != (unsigned char)(i >> 12)) {
            fail("malloc", "10 MiB block page %zu", i >> 12);
            return;
        }
    }
    free(p);
    uint64_t* z = calloc(1000, sizeof(uint64_t));
    if (!z || z[999] != 0) {
        fail("malloc", "calloc");
        return;
    }
    /* Growing by realloc keeps the contents. From 300 KB on, musl tries mremap, which
     * Tern does not have yet (it is logged once), and falls back to copying. */
    z[0] = 0x1234;
    uint64_t* grown = realloc(z, 300000);
    if (grown)
        grown = realloc(grown, 600000);
    if (!grown || grown[0] != 0x1234) {
        fail("malloc", "realloc");
        return;
    }
    free(grown);
    ok("malloc");
}

static void check_mmap(void) {
    unsigned char* p =
        mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fail("mmap", "anonymous: %s", strerror(errno));
        return;
    }
    p[0] = 1;
    p[3 * 4096 - 1] = 2;
    if (mprotect(p, 4096, PROT_READ) != 0) {
        fail("mmap", "mprotect: %s", strerror(errno));
        return;
    }
    if (mprotect(p, 4096, PROT_WRITE | PROT_EXEC) == 0 || errno != EACCES) {
        fail("mmap", "W+X was not refused with EACCES");
        return;
    }
    if (munmap(p, 3 * 4096) != 0) {
        fail("mmap", "munmap: %s", strerror(errno));
        return;
    }
    /* MAP_FIXED where the pages just were: placed there, zeroed. */
    unsigned char* fixed = mmap(p + 4096, 4096, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (fixed != p + 4096 || fixed[0] != 0) {
        fail("mmap", "MAP_FIXED was not placed at its address");
        return;
    }
    munmap(fixed, 4096);
    if (mmap(p + 1, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED
        || errno != EINVAL) {
        fail("mmap", "MAP_FIXED at an unaligned address was not refused with EINVAL");
        return;
    }
    ok("mmap");
}

static int compare_ints(const void* a, const void* b) {
    int x = *(const int*)a, y = *(const int*)b;
    return (x > y) - (x < y);
}

static void check_qsort(void) {
    enum {
        kCount = 1000
    };
    static int values[kCount];
    for (int i = 0; i < kCount; ++i)
        values[i] = (int)(next_random() % 100000) - 50000;
    qsort(values, kCount, sizeof(values[0]), compare_ints);
    for (int i = 1; i < kCount; ++i) {
        if (values[i - 1] > values[i]) {
            fail("qsort", "out of order at %d", i);
            return;
        }
    }
    ok("qsort");
}

static void check_strings(void) {
    char buffer[64];
    memcpy(buffer, "hello, world", 13);
    if (strcmp(buffer, "hello, world") != 0 || strcmp("abc", "abd") >= 0
        || strncmp("abcx", "abcy", 3) != 0 || strlen(buffer) != 12) {
        fail("strings", "strcmp/strlen");
        return;
    }
    memmove(buffer + 1, buffer, 12);
    if (memcmp(buffer, "hhello, world", 13) != 0 || strchr(buffer, 'w') != buffer + 8
        || strstr(buffer, "world") != buffer + 8) {
        fail("strings", "memmove/strchr/strstr");
        return;
    }
    ok("strings");
}

static void check_clock(void) {
    struct timespec a, b;
    if (clock_gettime(CLOCK_MONOTONIC, &a) != 0) {
        fail("clock", "clock_gettime: %s", strerror(errno));
        return;
    }
    struct timespec nap = {0, 2000000};
    if (nanosleep(&nap, NULL) != 0) {
        fail("clock", "nanosleep: %s", strerror(errno));
        return;
    }
    if (clock_gettime(CLOCK_MONOTONIC, &b) != 0) {
        fail("clock", "clock_gettime: %s", strerror(errno));
        return;
    }
    int64_t elapsed = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
    if (elapsed < 2000000) {
        fail("clock", "2 ms sleep measured %lld ns", (long long)elapsed);
        return;
    }
    /* The CPU-time clock counts from the program's start, so the 2 ms nap is in it. */
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a) != 0 || a.tv_sec < 0
        || (a.tv_sec == 0 && a.tv_nsec < 2000000)) {
        fail("clock", "the CPU-time clock: %s, %lld s %ld ns", strerror(errno), (long long)a.tv_sec,
             a.tv_nsec);
        return;
    }
    if (clock_gettime((clockid_t)99, &a) == 0 || errno != EINVAL) {
        fail("clock", "clock 99 did not fail with EINVAL");
        return;
    }
    ok("clock");
}

static void check_errno(void) {
    errno = 0;
    int fd = open("/etc/passwd", O_RDONLY);
    if (fd != -1 || errno != ENOENT) {
        fail("errno", "open gave %d, errno %d", fd, errno);
        return;
    }
    errno = 0;
    if (close(42) != -1 || errno != EBADF) {
        fail("errno", "close(42) errno %d", errno);
        return;
    }
    if (strcmp(strerror(ENOENT), "No such file or directory") != 0) {
        fail("errno", "strerror");
        return;
    }
    ok("errno");
}

static __thread int g_thread_local = 17;
static __thread int g_thread_zero;

static void check_tls(void) {
    if (g_thread_local != 17 || g_thread_zero != 0) {
        fail("tls", "initial values %d %d", g_thread_local, g_thread_zero);
        return;
    }
    g_thread_local += 25;
    g_thread_zero = 5;
    int* volatile where = &g_thread_local;
    if (*where != 42 || g_thread_zero != 5) {
        fail("tls", "after writes %d %d", *where, g_thread_zero);
        return;
    }
    ok("tls");
}

/* uname names Tern, the node and the machine; getrandom gives bytes that differ call to
 * call, refuses unknown flags and bad buffers as Linux does. */
static void check_system(void) {
    struct utsname u;
    if (uname(&u) != 0 || strcmp(u.sysname, "Tern") != 0 || strcmp(u.machine, "x86_64") != 0
        || strncmp(u.nodename, "node", 4) != 0 || u.nodename[4] < '0' || u.nodename[4] > '9')
        fail("uname", "%s / %s / %s", u.sysname, u.nodename, u.machine);
    else
        ok("uname");
    unsigned char a[40], b[40];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    ssize_t na = getrandom(a, sizeof(a), 0);
    ssize_t nb = getrandom(b, sizeof(b), GRND_NONBLOCK);
    int zero_tail = 1;
    for (int i = 32; i < 40; ++i)
        zero_tail = zero_tail && a[i] == 0;
    if (na != (ssize_t)sizeof(a) || nb != (ssize_t)sizeof(b) || memcmp(a, b, sizeof(a)) == 0
        || zero_tail)
        fail("getrandom", "%ld and %ld bytes, same: %d", (long)na, (long)nb,
             memcmp(a, b, sizeof(a)) == 0);
    else
        ok("getrandom");
    errno = 0;
    long r = getrandom(a, sizeof(a), 0x80);
    int e1 = errno;
    errno = 0;
    long r2 = getrandom((void*)8, 16, 0);
    int e2 = errno;
    if (r != -1 || e1 != EINVAL || r2 != -1 || e2 != EFAULT || getrandom(a, 0, 0) != 0)
        fail("getrandom_refusals", "%ld/%d %ld/%d", r, e1, r2, e2);
    else
        ok("getrandom_refusals");
}

int main(int argc, char** argv) {
    /* The console is not a terminal yet, so stdout would be fully buffered; line buffering
     * keeps each result on the console even if a later check crashes. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_start(argc, argv);
    check_printf();
    check_strtod();
    check_malloc();
    check_mmap();
    check_qsort();
    check_strings();
    check_clock();
    check_errno();
    check_tls();
    check_system();
    if (g_failures) {
        printf("libc_smoke: %d checks failed\n", g_failures);
        return 1;
    }
    printf("libc_smoke: all checks passed\n");
    return 0;
}

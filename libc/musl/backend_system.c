/*
 * Tern's musl backend: what a program asks of the system itself. uname names Tern and
 * this node; getrandom reads the CPU's random number generator (RDRAND, falling back to
 * RDSEED), so it needs no server and no kernel pool.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include <libc/musl/backend.h>
#include <libc/musl/services.h>
#include <tern/syscall.h>

#ifndef GRND_INSECURE
#define GRND_INSECURE 4 /* Linux 5.6; musl 1.2.3's header predates it */
#endif

static void copy_field(char* to, const char* from) {
    size_t n = strlen(from);
    if (n >= sizeof(((struct utsname*)0)->sysname))
        n = sizeof(((struct utsname*)0)->sysname) - 1;
    memcpy(to, from, n);
    to[n] = 0;
}

/* nodename is node<N> (the node id from the kernel command line), as /etc/hosts names
 * the cluster's nodes. */
static long sys_uname(struct utsname* user) {
    struct utsname u;
    memset(&u, 0, sizeof(u));
    copy_field(u.sysname, "Tern");
    char node[24] = "node";
    uint64_t id = (uint64_t)tern_sys_node_id();
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + id % 10);
        id /= 10;
    } while (id != 0 && n < 20);
    for (int i = 0; i < n; ++i)
        node[4 + i] = digits[n - 1 - i];
    node[4 + n] = 0;
    copy_field(u.nodename, node);
    copy_field(u.release, "0.1");
    copy_field(u.version, "Tern microkernel");
    copy_field(u.machine, "x86_64");
    copy_field(u.domainname, "(none)");
    return tern_libc_copy_out(user, &u, sizeof(u));
}

enum {
    kRandomUnknown,
    kRandomRdrand,
    kRandomRdseed,
    kRandomNone
};
static int g_random_source = kRandomUnknown;

static int random_source(void) {
    if (g_random_source != kRandomUnknown)
        return g_random_source;
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    int rdrand = (c >> 30) & 1;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    int rdseed = (b >> 18) & 1;
    g_random_source = rdrand ? kRandomRdrand : rdseed ? kRandomRdseed : kRandomNone;
    return g_random_source;
}

/* One 64-bit word from the generator; 0 when it kept failing (Intel's guidance: retry
 * RDRAND 10 times; RDSEED may need more). */
static int random_word(uint64_t* out) {
    int source = random_source();
    for (int attempt = 0; attempt < 100; ++attempt) {
        unsigned char ok = 0;
        uint64_t v = 0;
        if (source == kRandomRdrand)
            __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
        else
            __asm__ volatile("rdseed %0; setc %1" : "=r"(v), "=qm"(ok));
        if (ok) {
            *out = v;
            return 1;
        }
        if (source == kRandomRdrand && attempt >= 10)
            break;
    }
    return 0;
}

static long sys_getrandom(void* user, uint64_t length, unsigned flags) {
    if (flags & ~(unsigned)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)
        || (flags & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE))
        return -EINVAL;
    if (length == 0)
        return 0;
    if (random_source() == kRandomNone) {
        tern_libc_log_unsupported(SYS_getrandom, "the CPU has neither RDRAND nor RDSEED");
        return -ENOSYS;
    }
    /* Linux returns at most 33,554,431 bytes per call. */
    if (length > 33554431)
        length = 33554431;
    unsigned char chunk[256];
    uint64_t done = 0;
    while (done < length) {
        uint64_t n = length - done < sizeof(chunk) ? length - done : sizeof(chunk);
        for (uint64_t i = 0; i < n; i += 8) {
            uint64_t word;
            if (!random_word(&word))
                return done != 0 ? (long)done : -EAGAIN;
            memcpy(chunk + i, &word, n - i < 8 ? n - i : 8);
        }
        int r = tern_libc_copy_out((unsigned char*)user + done, chunk, n);
        if (r < 0)
            return done != 0 ? (long)done : r;
        done += n;
    }
    return (long)done;
}

long tern_libc_system_syscall(long n, long a1, long a2, long a3, int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_uname:
        return sys_uname((struct utsname*)a1);
    case SYS_getrandom:
        return sys_getrandom((void*)a1, (uint64_t)a2, (unsigned)a3);
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

/*
 * netxfer: a TCP bulk transfer between two nodes over the C library's sockets, with the
 * data checked end to end.
 *
 *     netxfer serve [-n connections] [-r KiB] [-t seconds] port
 *     netxfer send [-s seed] [-t seconds] host port MiB
 *
 * The sender connects, sends a 24-byte header (magic, seed, length) and then MiB MiB of a
 * pattern drawn from the seed (xorshift64), and waits for the receiver's verdict. The
 * receiver compares every byte with the pattern the header announces and keeps an
 * FNV-1a checksum of what it read; at the end it sends back the checksum and the offset
 * of the first wrong byte (or the length when all were right), so both ends print the
 * same verdict:
 *
 *     netxfer: received 8388608 bytes from 10.0.0.1:49153, checksum 0x..., intact, 1.23 MiB/s
 *     netxfer: sent 8388608 bytes to 10.0.0.2:5001, checksum 0x... confirmed, 1.21 MiB/s
 *
 * `serve` answers `-n` connections (default 1) one after the other and exits 0 only if
 * every one was intact. `-r KiB` makes the receiver close the connection after that many
 * KiB while data is still arriving unread, which resets it (a test of the sender's
 * ECONNRESET). `-t` bounds every wait (connect, send, receive; default 60 s): a transfer
 * that stalls longer fails with ETIMEDOUT or EAGAIN instead of hanging.
 *
 * host is a.b.c.d or a name from /etc/hosts. Exit status: 0 on an intact transfer, 1 when
 * it failed (the error is printed with its errno name), 2 for bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x5446584eu /* "NXFT" */
#define CHUNK 8192
#define MAX_MIB 1024

struct header {
    uint32_t magic;
    uint32_t reserved;
    uint64_t seed;
    uint64_t length;
};

struct verdict {
    uint64_t checksum;
    uint64_t first_bad; /* == length when every byte was right */
};

struct pattern {
    uint64_t state;
    uint64_t word;
    unsigned left; /* bytes of word not yet used */
};

static void pattern_start(struct pattern* p, uint64_t seed) {
    p->state = seed ? seed : 0x9E3779B97F4A7C15ull;
    p->left = 0;
}

static uint8_t pattern_next(struct pattern* p) {
    if (p->left == 0) {
        p->state ^= p->state << 13;
        p->state ^= p->state >> 7;
        p->state ^= p->state << 17;
        p->word = p->state;
        p->left = 8;
    }
    uint8_t b = (uint8_t)p->word;
    p->word >>= 8;
    --p->left;
    return b;
}

static uint64_t fnv1a(uint64_t h, const uint8_t* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        h ^= data[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV_START 0xcbf29ce484222325ull

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char* errno_name(int e) {
    switch (e) {
    case ECONNRESET:
        return "ECONNRESET";
    case EPIPE:
        return "EPIPE";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case EAGAIN:
        return "EAGAIN";
    case EHOSTUNREACH:
        return "EHOSTUNREACH";
    case EINTR:
        return "EINTR";
    default:
        return "errno";
    }
}

static void fail(const char* what) {
    int e = errno;
    printf("netxfer: %s: %s (%s)\n", what, strerror(e), errno_name(e));
}

/* MiB/s with two decimals, printed without floating-point formatting concerns. */
static void print_rate(uint64_t bytes, double seconds) {
    if (seconds <= 0)
        seconds = 1e-9;
    unsigned long hundredths = (unsigned long)((double)bytes / (1024.0 * 1024.0) / seconds * 100.0);
    printf("%lu.%02lu MiB/s", hundredths / 100, hundredths % 100);
}

static void set_timeouts(int fd, unsigned seconds) {
    struct timeval tv = {.tv_sec = seconds, .tv_usec = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int send_all(int fd, const void* data, size_t n) {
    const uint8_t* p = data;
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* 1 when all n bytes came, 0 at the end of the stream before that, -1 on an error. */
static int recv_all(int fd, void* data, size_t n) {
    uint8_t* p = data;
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0)
            return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

static const char* peer_text(const struct sockaddr_in* a, char* buffer, size_t size) {
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
    snprintf(buffer, size, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    return buffer;
}

/* One connection: 0 when intact. */
static int receive_one(int fd, const struct sockaddr_in* peer, unsigned reset_kib) {
    static uint8_t buffer[CHUNK];
    char who[32];
    peer_text(peer, who, sizeof(who));
    struct header h;
    int r = recv_all(fd, &h, sizeof(h));
    if (r <= 0) {
        if (r == 0)
            printf("netxfer: %s closed before its header\n", who);
        else
            fail("receive header");
        return 1;
    }
    if (h.magic != MAGIC || h.reserved != 0 || h.length > (uint64_t)MAX_MIB << 20) {
        printf("netxfer: %s sent a bad header\n", who);
        return 1;
    }
    struct pattern p;
    pattern_start(&p, h.seed);
    uint64_t checksum = FNV_START, got = 0, first_bad = h.length;
    double start = now_s();
    while (got < h.length) {
        size_t want = h.length - got < CHUNK ? (size_t)(h.length - got) : CHUNK;
        ssize_t k = recv(fd, buffer, want, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                printf("netxfer: %s ended the stream after %llu of %llu bytes\n", who,
                       (unsigned long long)got, (unsigned long long)h.length);
            else
                fail("receive");
            return 1;
        }
        checksum = fnv1a(checksum, buffer, (size_t)k);
        for (ssize_t i = 0; i < k; ++i)
            if (pattern_next(&p) != buffer[i] && first_bad == h.length)
                first_bad = got + (uint64_t)i;
        got += (uint64_t)k;
        if (reset_kib && got >= (uint64_t)reset_kib * 1024) {
            /* Let more data arrive unread, so that the close resets the connection. */
            usleep(300000);
            printf("netxfer: closing %s after %llu bytes, with data unread\n", who,
                   (unsigned long long)got);
            return 2;
        }
    }
    double seconds = now_s() - start;
    struct verdict v = {checksum, first_bad};
    if (send_all(fd, &v, sizeof(v)) < 0)
        fail("send verdict");
    printf("netxfer: received %llu bytes from %s, checksum 0x%016llx, ", (unsigned long long)got,
           who, (unsigned long long)checksum);
    if (first_bad == h.length)
        printf("intact, ");
    else
        printf("WRONG from byte %llu, ", (unsigned long long)first_bad);
    print_rate(got, seconds);
    printf("\n");
    return first_bad == h.length ? 0 : 1;
}

static int serve(unsigned port, unsigned connections, unsigned reset_kib, unsigned timeout) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        fail("socket");
        return 1;
    }
    int one = 1;
    (void)setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(listener, (struct sockaddr*)&a, sizeof(a)) < 0 || listen(listener, 4) < 0) {
        fail("bind/listen");
        return 1;
    }
    printf("netxfer: serving TCP port %u for %u connection%s\n", port, connections,
           connections == 1 ? "" : "s");
    fflush(stdout);
    int failed = 0;
    for (unsigned i = 0; i < connections; ++i) {
        struct sockaddr_in peer;
        socklen_t size = sizeof(peer);
        int fd = accept(listener, (struct sockaddr*)&peer, &size);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                --i;
                continue;
            }
            fail("accept");
            return 1;
        }
        set_timeouts(fd, timeout);
        int r = receive_one(fd, &peer, reset_kib);
        if (r == 1)
            failed = 1;
        fflush(stdout);
        close(fd);
    }
    close(listener);
    return failed;
}

static int resolve(const char* host, unsigned port, struct sockaddr_in* out) {
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo* list = NULL;
    int e = getaddrinfo(host, NULL, &hints, &list);
    if (e != 0 || !list) {
        printf("netxfer: %s: %s\n", host, gai_strerror(e));
        return -1;
    }
    memcpy(out, list->ai_addr, sizeof(*out));
    out->sin_port = htons((uint16_t)port);
    freeaddrinfo(list);
    return 0;
}

static int send_to(const char* host, unsigned port, unsigned mib, uint64_t seed, unsigned timeout) {
    static uint8_t buffer[CHUNK];
    struct sockaddr_in to;
    if (resolve(host, port, &to) < 0)
        return 1;
    char who[32];
    peer_text(&to, who, sizeof(who));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        fail("socket");
        return 1;
    }
    set_timeouts(fd, timeout);
    if (connect(fd, (struct sockaddr*)&to, sizeof(to)) < 0) {
        fail("connect");
        return 1;
    }
    uint64_t length = (uint64_t)mib << 20;
    struct header h = {MAGIC, 0, seed, length};
    struct pattern p;
    pattern_start(&p, seed);
    uint64_t checksum = FNV_START;
    double start = now_s();
    if (send_all(fd, &h, sizeof(h)) < 0) {
        fail("send");
        return 1;
    }
    for (uint64_t sent = 0; sent < length;) {
        size_t n = length - sent < CHUNK ? (size_t)(length - sent) : CHUNK;
        for (size_t i = 0; i < n; ++i)
            buffer[i] = pattern_next(&p);
        checksum = fnv1a(checksum, buffer, n);
        if (send_all(fd, buffer, n) < 0) {
            char what[48];
            int e = errno;
            snprintf(what, sizeof(what), "send after %llu bytes", (unsigned long long)sent);
            errno = e;
            fail(what);
            close(fd);
            return 1;
        }
        sent += n;
    }
    struct verdict v;
    int r = recv_all(fd, &v, sizeof(v));
    double seconds = now_s() - start;
    close(fd);
    if (r <= 0) {
        if (r == 0)
            printf("netxfer: %s closed without a verdict\n", who);
        else
            fail("receive verdict");
        return 1;
    }
    printf("netxfer: sent %llu bytes to %s, checksum 0x%016llx ", (unsigned long long)length, who,
           (unsigned long long)checksum);
    int ok = v.checksum == checksum && v.first_bad == length;
    if (ok)
        printf("confirmed, ");
    else
        printf("REFUTED (peer: 0x%016llx, first wrong byte %llu), ", (unsigned long long)v.checksum,
               (unsigned long long)v.first_bad);
    print_rate(length, seconds);
    printf("\n");
    return ok ? 0 : 1;
}

static int number(const char* text, unsigned long max, unsigned* out) {
    char* end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *end || errno || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int usage(void) {
    printf("usage: netxfer serve [-n connections] [-r KiB] [-t seconds] port\n"
           "       netxfer send [-s seed] [-t seconds] host port MiB\n");
    return 2;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        return usage();
    unsigned connections = 1, reset_kib = 0, timeout = 60, seed = 1;
    int i = 2;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        unsigned* target;
        unsigned long max = 1000000;
        if (!strcmp(argv[i], "-n"))
            target = &connections;
        else if (!strcmp(argv[i], "-r"))
            target = &reset_kib;
        else if (!strcmp(argv[i], "-t"))
            target = &timeout;
        else if (!strcmp(argv[i], "-s")) {
            target = &seed;
            max = 0xFFFFFFFFul;
        } else
            return usage();
        if (number(argv[i + 1], max, target) < 0)
            return usage();
    }
    unsigned port, mib;
    if (!strcmp(argv[1], "serve") && i + 1 == argc) {
        if (number(argv[i], 65535, &port) < 0 || port == 0 || connections == 0 || timeout == 0)
            return usage();
        return serve(port, connections, reset_kib, timeout);
    }
    if (!strcmp(argv[1], "send") && i + 3 == argc) {
        if (number(argv[i + 1], 65535, &port) < 0 || port == 0
            || number(argv[i + 2], MAX_MIB, &mib) < 0 || timeout == 0)
            return usage();
        return send_to(argv[i], port, mib, seed, timeout);
    }
    return usage();
}

/*
 * tcpbench: TCP throughput between two nodes, the same source on Tern (its C library's
 * sockets) and on Linux (a static program in the benchmark VMs' initramfs), so
 * `./tern bench net` compares the two systems with one program.
 *
 *   tcpbench serve <port> <bytes> <count>
 *       accept <count> connections one after another; from each, receive exactly
 *       <bytes>, then send back the 8-byte checksum of what arrived and close
 *   tcpbench <a.b.c.d> <port> <bytes> <count>
 *       <count> times: connect, send <bytes> of a known pattern, shut down writing,
 *       read the peer's checksum and compare it with the pattern's
 *
 * Each client transfer prints `tcpbench: <bytes> bytes to <a.b.c.d>:<port> in <us> us,
 * <MiB/s> MiB/s, checksum ok` (from before connect to the checksum's arrival, on
 * CLOCK_MONOTONIC), and the client ends with `tcpbench: <n> of <count> transfers,
 * median <MiB/s> MiB/s`. Exit status 0 only when every transfer arrived intact. Every
 * wait is bounded: accept by poll (30 s), each receive and send by SO_RCVTIMEO and
 * SO_SNDTIMEO (10 s).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    kChunk = 64 * 1024,
    kMaxCount = 101,
    kAcceptWaitMs = 30000
};
static const long kMaxBytes = 1024L * 1024 * 1024;

/* The pattern repeats every kChunk bytes; the checksum runs over the whole stream. */
static unsigned char g_pattern[kChunk];
static unsigned char g_buffer[kChunk];

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* FNV-1a over 64-bit little-endian words, with a partial word carried between pieces,
 * so the checksum does not depend on how TCP cut the stream. */
struct checksum {
    uint64_t hash;
    uint64_t word;
    unsigned have;
};

static void checksum_init(struct checksum* c) {
    c->hash = 0xcbf29ce484222325ull;
    c->word = 0;
    c->have = 0;
}

static void checksum_word(struct checksum* c, uint64_t w) {
    c->hash = (c->hash ^ w) * 0x100000001b3ull;
}

static void checksum_add(struct checksum* c, const unsigned char* p, size_t n) {
    while (n && c->have) {
        c->word |= (uint64_t)*p++ << (8 * c->have);
        --n;
        if (++c->have == 8) {
            checksum_word(c, c->word);
            c->word = 0;
            c->have = 0;
        }
    }
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        checksum_word(c, w);
    }
    while (n--) {
        c->word |= (uint64_t)*p++ << (8 * c->have);
        ++c->have;
    }
}

static uint64_t checksum_end(struct checksum* c) {
    if (c->have)
        checksum_word(c, c->word ^ ((uint64_t)c->have << 56));
    return c->hash;
}

static int parse_number(const char* text, long max, long* out) {
    char* end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int set_timeouts(int s) {
    struct timeval ten_s = {10, 0};
    int one = 1;
    if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &ten_s, sizeof ten_s) != 0
        || setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &ten_s, sizeof ten_s) != 0
        || setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        perror("tcpbench: setsockopt");
        return -1;
    }
    return 0;
}

static int send_all(int s, const unsigned char* p, size_t n) {
    while (n) {
        ssize_t sent = send(s, p, n, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            perror("tcpbench: send");
            return -1;
        }
        p += sent;
        n -= (size_t)sent;
    }
    return 0;
}

static int serve_one(int listener, long bytes) {
    struct pollfd pfd = {.fd = listener, .events = POLLIN};
    int ready = poll(&pfd, 1, kAcceptWaitMs);
    if (ready <= 0) {
        printf("tcpbench: no connection within %d ms%s%s\n", kAcceptWaitMs, ready < 0 ? ": " : "",
               ready < 0 ? strerror(errno) : "");
        return -1;
    }
    int s = accept(listener, NULL, NULL);
    if (s < 0) {
        perror("tcpbench: accept");
        return -1;
    }
    int result = -1;
    struct checksum sum;
    checksum_init(&sum);
    long received = 0;
    uint64_t start = now_ns();
    if (set_timeouts(s) == 0) {
        while (received < bytes) {
            size_t want = (size_t)(bytes - received < kChunk ? bytes - received : kChunk);
            ssize_t n = recv(s, g_buffer, want, 0);
            if (n <= 0) {
                printf("tcpbench: receive after %ld of %ld bytes: %s\n", received, bytes,
                       n == 0 ? "the peer closed" : strerror(errno));
                break;
            }
            checksum_add(&sum, g_buffer, (size_t)n);
            received += n;
        }
    }
    if (received == bytes) {
        uint64_t hash = checksum_end(&sum);
        uint64_t us = (now_ns() - start) / 1000;
        if (send_all(s, (const unsigned char*)&hash, sizeof hash) == 0) {
            printf("tcpbench: received %ld bytes in %llu us, checksum %016llx\n", received,
                   (unsigned long long)us, (unsigned long long)hash);
            result = 0;
        }
    }
    close(s);
    return result;
}

static int serve(long port, long bytes, long count) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
        || bind(listener, (struct sockaddr*)&local, sizeof local) != 0
        || listen(listener, 4) != 0) {
        perror("tcpbench: listen");
        return 1;
    }
    printf("tcpbench: serving TCP port %ld for %ld transfers of %ld bytes\n", port, count, bytes);
    fflush(stdout);
    long served = 0;
    for (long i = 0; i < count; ++i)
        served += serve_one(listener, bytes) == 0;
    close(listener);
    printf("tcpbench: served %ld of %ld transfers\n", served, count);
    return served == count ? 0 : 1;
}

/* One transfer; returns its MiB/s, or a negative value after printing why it failed. */
static double transfer(struct sockaddr_in to, long bytes, uint64_t expected) {
    uint64_t start = now_ns();
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || set_timeouts(s) != 0) {
        perror("tcpbench: socket");
        return -1;
    }
    if (connect(s, (struct sockaddr*)&to, sizeof to) != 0) {
        perror("tcpbench: connect");
        close(s);
        return -1;
    }
    double rate = -1;
    long sent = 0;
    while (sent < bytes) {
        size_t n = (size_t)(bytes - sent < kChunk ? bytes - sent : kChunk);
        if (send_all(s, g_pattern, n) != 0)
            break;
        sent += (long)n;
    }
    uint64_t hash = 0;
    size_t got = 0;
    if (sent == bytes && shutdown(s, SHUT_WR) == 0) {
        while (got < sizeof hash) {
            ssize_t n = recv(s, (unsigned char*)&hash + got, sizeof hash - got, 0);
            if (n <= 0) {
                printf("tcpbench: the checksum did not come: %s\n",
                       n == 0 ? "the peer closed" : strerror(errno));
                break;
            }
            got += (size_t)n;
        }
    }
    uint64_t ns = now_ns() - start;
    close(s);
    if (got != sizeof hash)
        return -1;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &to.sin_addr, ip, sizeof ip);
    if (hash != expected) {
        printf("tcpbench: checksum %016llx from %s, expected %016llx\n", (unsigned long long)hash,
               ip, (unsigned long long)expected);
        return -1;
    }
    rate = (double)bytes / (1024.0 * 1024.0) / ((double)ns / 1e9);
    printf("tcpbench: %ld bytes to %s:%d in %llu us, %.2f MiB/s, checksum ok\n", bytes, ip,
           ntohs(to.sin_port), (unsigned long long)(ns / 1000), rate);
    return rate;
}

static int compare_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
    long port, bytes, count;
    struct sockaddr_in to = {.sin_family = AF_INET};
    int serving = argc == 5 && strcmp(argv[1], "serve") == 0;
    if (argc != 5 || (!serving && inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
        || parse_number(argv[2], 65535, &port) != 0 || parse_number(argv[3], kMaxBytes, &bytes) != 0
        || parse_number(argv[4], kMaxCount, &count) != 0) {
        fprintf(stderr, "usage: tcpbench serve <port> <bytes> <count> | "
                        "tcpbench <a.b.c.d> <port> <bytes> <count>\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (serving)
        return serve(port, bytes, count);
    to.sin_port = htons((uint16_t)port);
    for (int i = 0; i < kChunk; ++i)
        g_pattern[i] = (unsigned char)(i * 7 + (i >> 8) * 13);
    struct checksum sum;
    checksum_init(&sum);
    for (long done = 0; done < bytes; done += kChunk)
        checksum_add(&sum, g_pattern, (size_t)(bytes - done < kChunk ? bytes - done : kChunk));
    uint64_t expected = checksum_end(&sum);
    double rates[kMaxCount];
    long ok = 0;
    for (long i = 0; i < count; ++i) {
        double rate = transfer(to, bytes, expected);
        if (rate >= 0)
            rates[ok++] = rate;
    }
    qsort(rates, (size_t)ok, sizeof rates[0], compare_double);
    printf("tcpbench: %ld of %ld transfers, median %.2f MiB/s\n", ok, count,
           ok ? rates[ok / 2] : 0.0);
    return ok == count ? 0 : 1;
}

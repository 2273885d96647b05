/*
 * udpecho: the Linux peer of Tern's netecho (tests/net/netecho.cpp), with the same
 * arguments, the same 64-byte datagrams and the same summary line:
 *
 *   udpecho serve <port> <count>     answer <count> datagrams on UDP <port>, then exit
 *   udpecho <a.b.c.d> <port> <count> send <count> 64-byte datagrams, one at a time,
 *                                    each waited for up to 10 s, and check every echo
 *
 * The client prints `udpecho: <n> of <count> echoed by <a.b.c.d>:<port>, median <us> us`
 * (the round trip's median from CLOCK_MONOTONIC, to the nanosecond) and exits 0 only
 * when every datagram came back intact.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    kSize = 64,
    kMaxCount = 100000,
    kMaxDatagram = 65536
};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
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

static int compare_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static int serve(int s, long port, long count) {
    static char buffer[kMaxDatagram];
    printf("udpecho: serving UDP port %ld for %ld datagrams\n", port, count);
    fflush(stdout);
    for (long i = 0; i < count;) {
        struct sockaddr_in from;
        socklen_t length = sizeof from;
        ssize_t n = recvfrom(s, buffer, sizeof buffer, 0, (struct sockaddr*)&from, &length);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue; /* the receive timeout's own bound; keep serving */
            perror("udpecho: recvfrom");
            return 1;
        }
        if (sendto(s, buffer, (size_t)n, 0, (struct sockaddr*)&from, length) != n) {
            perror("udpecho: sendto");
            return 1;
        }
        ++i;
    }
    printf("udpecho: echoed %ld datagrams\n", count);
    return 0;
}

static int client(int s, struct sockaddr_in to, long count) {
    static unsigned char out[kSize], in[kMaxDatagram];
    uint64_t* rtt = calloc((size_t)count, sizeof *rtt);
    if (!rtt) {
        perror("udpecho: calloc");
        return 1;
    }
    long echoed = 0;
    for (long i = 0; i < count; ++i) {
        for (int b = 0; b < kSize; ++b)
            out[b] = (unsigned char)(i * 31 + b);
        uint64_t start = now_ns();
        if (sendto(s, out, kSize, 0, (struct sockaddr*)&to, sizeof to) != kSize) {
            printf("udpecho: send %ld: %s\n", i, strerror(errno));
            continue;
        }
        for (;;) {
            struct sockaddr_in from;
            socklen_t length = sizeof from;
            ssize_t n = recvfrom(s, in, sizeof in, 0, (struct sockaddr*)&from, &length);
            if (n < 0) {
                printf("udpecho: datagram %ld not echoed: %s\n", i, strerror(errno));
                break;
            }
            if (n == kSize && memcmp(in, out, kSize) == 0
                && from.sin_addr.s_addr == to.sin_addr.s_addr && from.sin_port == to.sin_port) {
                rtt[echoed++] = now_ns() - start;
                break;
            }
            printf("udpecho: datagram %ld: a wrong answer (%zd bytes); still waiting\n", i, n);
        }
    }
    qsort(rtt, (size_t)echoed, sizeof *rtt, compare_u64);
    uint64_t median = echoed ? rtt[echoed / 2] : 0;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &to.sin_addr, ip, sizeof ip);
    printf("udpecho: %ld of %ld echoed by %s:%d, median %llu.%03llu us\n", echoed, count, ip,
           ntohs(to.sin_port), (unsigned long long)(median / 1000),
           (unsigned long long)(median % 1000));
    free(rtt);
    return echoed == count ? 0 : 1;
}

int main(int argc, char** argv) {
    long port, count;
    struct sockaddr_in to = {.sin_family = AF_INET};
    int serving = argc == 4 && strcmp(argv[1], "serve") == 0;
    if (argc != 4 || (!serving && inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
        || parse_number(argv[2], 65535, &port) != 0
        || parse_number(argv[3], kMaxCount, &count) != 0) {
        fprintf(stderr, "usage: udpecho serve <port> <count> | udpecho <a.b.c.d> <port> <count>\n");
        return 2;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct timeval ten_s = {10, 0};
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &ten_s, sizeof ten_s) != 0) {
        perror("udpecho: socket");
        return 1;
    }
    struct sockaddr_in local = {.sin_family = AF_INET,
                                .sin_port = htons(serving ? (uint16_t)port : 0)};
    if (bind(s, (struct sockaddr*)&local, sizeof local) != 0) {
        perror("udpecho: bind");
        return 1;
    }
    if (serving)
        return serve(s, port, count);
    to.sin_port = htons((uint16_t)port);
    return client(s, to, count);
}

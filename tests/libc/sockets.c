/*
 * sockets: BSD sockets through the C library over 127.0.0.1, in one process (no fork):
 * the bad inputs with the errno each gets, socket options, a UDP echo between two
 * sockets, a non-blocking connect, a 1 MiB TCP transfer with a checksum driven by poll
 * on both ends, a reset seen as ECONNRESET and EPIPE, poll and select over a socket and
 * the console together, and name lookups (numeric, localhost, /etc/hosts).
 *
 * The same source builds and runs on the host's Linux (unit.libc_sockets_on_host), so
 * every expectation here is what Linux does. Prints "sockets: ok ..." per check,
 * "sockets: FAILED ..." for a failure, and "sockets: N checks, M failures"; exits 0 only
 * when nothing failed. Every wait is bounded (poll timeouts, SO_RCVTIMEO).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<tern/libc.h>)
#define ON_TERN 1
#else
#define ON_TERN 0
#endif

static int g_checks, g_failures;

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("sockets: ok %s\n", what);
    } else {
        ++g_failures;
        printf("sockets: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

/* A call that must fail with errno `want`. */
static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("sockets: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("sockets: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
}

static struct sockaddr_in loopback(uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static uint16_t port_of(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(fd, (struct sockaddr*)&a, &len) != 0)
        return 0;
    return ntohs(a.sin_port);
}

static int wait_for(int fd, short events, int ms) {
    struct pollfd p = {fd, events, 0};
    return poll(&p, 1, ms) == 1 ? p.revents : 0;
}

/* A listening TCP socket on an ephemeral port of 127.0.0.1. */
static int listener(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof(a)) != 0 || listen(fd, 4) != 0)
        return -1;
    return fd;
}

/* A connected pair: *client connected to *server (accepted), both blocking. */
static int connected_pair(int* client, int* server) {
    int l = listener();
    if (l < 0)
        return -1;
    struct sockaddr_in a = loopback(port_of(l));
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (*client < 0 || connect(*client, (struct sockaddr*)&a, sizeof(a)) != 0) {
        close(l);
        return -1;
    }
    *server = accept(l, NULL, NULL);
    close(l);
    return *server < 0 ? -1 : 0;
}

/* ---- Bad input ---- */

static void bad_input(void) {
    check_errno(socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT, "socket of an unknown family");
    check_errno(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT,
                "socket of stream type with UDP");
    check_errno(socket(AF_INET, 99, 0), EINVAL, "socket of an unknown type");
    check_errno(socket(AF_INET, SOCK_DGRAM | 0x10000000, 0), EINVAL, "socket with unknown flags");

    struct sockaddr_in a = loopback(0);
    check_errno(bind(999, (struct sockaddr*)&a, sizeof(a)), EBADF, "bind on an fd not open");
    check_errno(bind(1, (struct sockaddr*)&a, sizeof(a)), ENOTSOCK, "bind on the console");
    check_errno(listen(2, 1), ENOTSOCK, "listen on the console");
    check_errno(send(999, "x", 1, 0), EBADF, "send on an fd not open");
    check_errno(shutdown(0, SHUT_RDWR), ENOTSOCK, "shutdown of the console");

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    check(u >= 0 && t >= 0, "socket makes UDP and TCP sockets");
    check_errno(bind(u, (struct sockaddr*)1, sizeof(a)), EFAULT, "bind with a bad pointer");
    check_errno(connect(t, (struct sockaddr*)8, sizeof(a)), EFAULT, "connect with a bad pointer");
    check_errno(bind(u, (struct sockaddr*)&a, 4), EINVAL, "bind with a short address");
    struct sockaddr_in six = a;
    six.sin_family = AF_INET6;
    check_errno(bind(u, (struct sockaddr*)&six, sizeof(six)), EAFNOSUPPORT,
                "bind with another family");
    check_errno(listen(u, 1), EOPNOTSUPP, "listen on UDP");
    check_errno(accept(u, NULL, NULL), EOPNOTSUPP, "accept on UDP");
    check_errno(accept(t, NULL, NULL), EINVAL, "accept on a socket not listening");
    char byte = 0;
    check_errno(recv(t, &byte, 1, 0), ENOTCONN, "recv on an unconnected TCP socket");
    check_errno(send(t, "x", 1, MSG_NOSIGNAL), EPIPE, "send on an unconnected TCP socket");
    check_errno(sendto(u, "x", 1, 0, NULL, 0), EDESTADDRREQ, "send on UDP without a destination");
    check_errno(shutdown(t, SHUT_RDWR), ENOTCONN, "shutdown of an unconnected socket");
    check_errno(shutdown(t, 7), EINVAL, "shutdown with a bad how");
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    check_errno(getpeername(t, (struct sockaddr*)&peer, &len), ENOTCONN,
                "getpeername of an unconnected socket");
    check_errno(recv(u, &byte, 1, MSG_DONTWAIT), EAGAIN, "recv on empty UDP, MSG_DONTWAIT");
    int one = 1;
    check_errno(setsockopt(t, SOL_SOCKET, 12345, &one, sizeof(one)), ENOPROTOOPT,
                "setsockopt of an unknown option");
    check_errno(setsockopt(t, 12345, SO_REUSEADDR, &one, sizeof(one)), ENOPROTOOPT,
                "setsockopt at an unknown level");
    check_errno(setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), ENOPROTOOPT,
                "TCP_NODELAY on UDP");
    check_errno(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, 2), EINVAL,
                "setsockopt with a short value");
    check_errno(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, (void*)1, sizeof(one)), EFAULT,
                "setsockopt with a bad pointer");
    len = sizeof(one);
    check_errno(getsockopt(t, SOL_SOCKET, SO_TYPE, NULL, &len), EFAULT,
                "getsockopt into a null pointer");
    struct timeval bad = {0, 2000000};
    check_errno(setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof(bad)), EDOM,
                "SO_RCVTIMEO with microseconds out of range");

    /* The same address twice. */
    int b1 = socket(AF_INET, SOCK_STREAM, 0), b2 = socket(AF_INET, SOCK_STREAM, 0);
    check(bind(b1, (struct sockaddr*)&a, sizeof(a)) == 0, "bind to an ephemeral port");
    struct sockaddr_in taken = loopback(port_of(b1));
    check_errno(bind(b1, (struct sockaddr*)&taken, sizeof(taken)), EINVAL, "bind twice");
    check(listen(b1, 4) == 0, "listen on the bound socket");
    check_errno(bind(b2, (struct sockaddr*)&taken, sizeof(taken)), EADDRINUSE,
                "bind to a port in use");
    check_errno(connect(b1, (struct sockaddr*)&taken, sizeof(taken)), EISCONN,
                "connect on a listening socket");
    int nb = fcntl(b1, F_GETFL);
    check(fcntl(b1, F_SETFL, nb | O_NONBLOCK) == 0 && (fcntl(b1, F_GETFL) & O_NONBLOCK),
          "fcntl sets O_NONBLOCK on a socket");
    check_errno(accept(b1, NULL, NULL), EAGAIN, "accept with nothing waiting, non-blocking");
    close(b1);
    close(b2);

    /* A port nobody listens on: bind one, then close it. */
    int gone = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = loopback(0);
    (void)bind(gone, (struct sockaddr*)&any, sizeof(any));
    struct sockaddr_in nobody = loopback(port_of(gone));
    close(gone);
    check_errno(connect(t, (struct sockaddr*)&nobody, sizeof(nobody)), ECONNREFUSED,
                "connect to a port nobody listens on");
    close(t);
    close(u);
    check_errno(close(u), EBADF, "close of a closed socket");
}

/* ---- Options ---- */

static void options(void) {
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int value = -1, one = 1;
    socklen_t len = sizeof(value);
    check(getsockopt(t, SOL_SOCKET, SO_TYPE, &value, &len) == 0 && value == SOCK_STREAM
              && len == sizeof(int),
          "SO_TYPE is SOCK_STREAM");
    check((fcntl(t, F_GETFD) & FD_CLOEXEC) != 0, "SOCK_CLOEXEC sets FD_CLOEXEC");
    check(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0, "SO_REUSEADDR set");
    len = sizeof(value);
    check(getsockopt(t, SOL_SOCKET, SO_REUSEADDR, &value, &len) == 0 && value != 0,
          "SO_REUSEADDR reads back");
    check(setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0, "TCP_NODELAY set");
    len = sizeof(value);
    check(getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &value, &len) == 0 && value != 0,
          "TCP_NODELAY reads back");
    check(setsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == 0, "SO_KEEPALIVE set");
    len = sizeof(value);
    check(getsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &value, &len) == 0 && value != 0,
          "SO_KEEPALIVE reads back");
    len = sizeof(value);
    check(getsockopt(t, SOL_SOCKET, SO_ERROR, &value, &len) == 0 && value == 0,
          "SO_ERROR of a new socket is 0");
    close(t);

    /* SO_RCVTIMEO: a blocking recv gives up with EAGAIN. */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = loopback(0);
    (void)bind(u, (struct sockaddr*)&a, sizeof(a));
    struct timeval tv = {0, 100000};
    check(setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO set");
    struct timeval back = {0, 0};
    len = sizeof(back);
    check(getsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &back, &len) == 0 && back.tv_sec == 0
              && back.tv_usec >= 96000 && back.tv_usec <= 100000,
          "SO_RCVTIMEO reads back");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char byte;
    check_errno(recv(u, &byte, 1, 0), EAGAIN, "recv with SO_RCVTIMEO times out");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    check(ms >= 80 && ms < 5000, "the timeout took about 100 ms");
    close(u);
}

/* ---- UDP echo ---- */

static void udp_echo(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = loopback(0);
    check(bind(b, (struct sockaddr*)&any, sizeof(any)) == 0, "UDP bind");
    struct sockaddr_in to = loopback(port_of(b));
    static char out[8192], in[8192];
    int intact = 1;
    for (int i = 0; i < 32 && intact; ++i) {
        size_t size = 1 + (size_t)i * 251;
        for (size_t k = 0; k < size; ++k)
            out[k] = (char)(i * 7 + k);
        if (sendto(a, out, size, 0, (struct sockaddr*)&to, sizeof(to)) != (ssize_t)size)
            intact = 0;
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        if (!(wait_for(b, POLLIN, 5000) & POLLIN))
            intact = 0;
        ssize_t n = recvfrom(b, in, sizeof(in), 0, (struct sockaddr*)&from, &len);
        if (n != (ssize_t)size || memcmp(in, out, size) != 0 || len != sizeof(from))
            intact = 0;
        /* ...and back to where it came from. */
        if (sendto(b, in, (size_t)n, 0, (struct sockaddr*)&from, len) != n)
            intact = 0;
        if (!(wait_for(a, POLLIN, 5000) & POLLIN) || recv(a, in, sizeof(in), 0) != n
            || memcmp(in, out, size) != 0)
            intact = 0;
    }
    check(intact, "32 datagrams of 1..7782 bytes echoed intact");

    /* A connected UDP socket, send and recvmsg with two pieces. */
    check(connect(a, (struct sockaddr*)&to, sizeof(to)) == 0, "UDP connect");
    check(send(a, "hello, world", 12, 0) == 12, "send on connected UDP");
    char first[5], second[16];
    struct iovec iov[2] = {{first, sizeof(first)}, {second, sizeof(second)}};
    struct sockaddr_in from;
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_name = &from;
    m.msg_namelen = sizeof(from);
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    (void)wait_for(b, POLLIN, 5000);
    ssize_t n = recvmsg(b, &m, 0);
    check(n == 12 && memcmp(first, "hello", 5) == 0 && memcmp(second, ", world", 7) == 0
              && m.msg_namelen == sizeof(from) && ntohs(from.sin_port) == port_of(a),
          "recvmsg scatters a datagram and names its sender");
    /* A datagram longer than the buffer is cut, and says so. */
    (void)send(a, "0123456789", 10, 0);
    (void)wait_for(b, POLLIN, 5000);
    struct iovec small = {first, 4};
    m.msg_iov = &small;
    m.msg_iovlen = 1;
    m.msg_namelen = sizeof(from);
    n = recvmsg(b, &m, 0);
    check(n == 4 && (m.msg_flags & MSG_TRUNC), "a cut datagram has MSG_TRUNC");
    close(a);
    close(b);
}

/* ---- TCP ---- */

static uint8_t sequence_byte(uint32_t i) { return (uint8_t)((i * 2654435761u) >> 13); }
static uint64_t fnv1a(uint64_t hash, const uint8_t* data, size_t size) {
    for (size_t i = 0; i < size; ++i)
        hash = (hash ^ data[i]) * 0x100000001b3ull;
    return hash;
}

static void tcp_transfer(void) {
    enum {
        kTotal = 1024 * 1024
    };
    int l = listener();
    check(l >= 0, "TCP listen on an ephemeral port");
    struct sockaddr_in to = loopback(port_of(l));
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr*)&to, sizeof(to));
    check(r == 0 || errno == EINPROGRESS, "non-blocking connect is under way");
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    (void)wait_for(l, POLLIN, 5000);
    int s = accept4(l, (struct sockaddr*)&peer, &len, SOCK_NONBLOCK);
    check(s >= 0 && len == sizeof(peer) && ntohs(peer.sin_port) == port_of(c),
          "accept4 names the peer");
    check((wait_for(c, POLLOUT, 5000) & POLLOUT) != 0, "poll: the connection is writable");
    int error = -1;
    len = sizeof(error);
    check(getsockopt(c, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0,
          "SO_ERROR is 0 after the connect");
    check(connect(c, (struct sockaddr*)&to, sizeof(to)) == 0,
          "connect again reports the finished connection");
    check_errno(connect(c, (struct sockaddr*)&to, sizeof(to)), EISCONN,
                "connect on a connected socket");
    len = sizeof(peer);
    check(getpeername(c, (struct sockaddr*)&peer, &len) == 0 && ntohs(peer.sin_port) == port_of(l),
          "getpeername names the listener's port");

    /* 1 MiB from c to s, both non-blocking, driven by poll. */
    static uint8_t chunk[16384], in[16384];
    uint32_t sent = 0, received = 0;
    uint64_t hash_out = 0xcbf29ce484222325ull, hash_in = hash_out;
    int stalls = 0, shut = 0;
    while (received < kTotal || !shut) {
        struct pollfd p[3] = {{c, sent < kTotal ? POLLOUT : 0, 0}, {s, POLLIN, 0}, {1, POLLOUT, 0}};
        int ready = poll(p, 3, 5000);
        if (ready <= 1 && !(p[0].revents | p[1].revents)) {
            if (++stalls > 3)
                break;
            continue;
        }
        if ((p[0].revents & POLLOUT) && sent < kTotal) {
            uint32_t n = kTotal - sent < sizeof(chunk) ? kTotal - sent : (uint32_t)sizeof(chunk);
            for (uint32_t k = 0; k < n; ++k)
                chunk[k] = sequence_byte(sent + k);
            ssize_t w = send(c, chunk, n, 0);
            if (w > 0) {
                hash_out = fnv1a(hash_out, chunk, (size_t)w);
                sent += (uint32_t)w;
            } else if (errno != EAGAIN) {
                break;
            }
            if (sent == kTotal)
                shut = shutdown(c, SHUT_WR) == 0;
        }
        if (p[1].revents & POLLIN) {
            ssize_t n = recv(s, in, sizeof(in), 0);
            if (n > 0) {
                hash_in = fnv1a(hash_in, in, (size_t)n);
                received += (uint32_t)n;
            } else if (n == 0 || errno != EAGAIN) {
                break;
            }
        }
    }
    printf("sockets: TCP checksum %#llx over %u bytes\n", (unsigned long long)hash_in, received);
    check(sent == kTotal && received == kTotal && hash_in == hash_out,
          "1 MiB over TCP with poll on both ends, checksum right");
    check((wait_for(s, POLLIN, 5000) & POLLIN) && recv(s, in, 1, 0) == 0,
          "end of stream after the sender's shutdown");
    check_errno(send(c, "x", 1, MSG_NOSIGNAL), EPIPE, "send after shutdown(SHUT_WR)");

    /* select over the socket and the console together. */
    check(send(s, "ok", 2, 0) == 2, "send back the other way");
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(c, &rd);
    FD_SET(1, &wr);
    struct timeval tv = {5, 0};
    int n = select(c + 1, &rd, &wr, NULL, &tv);
    check(n == 2 && FD_ISSET(c, &rd) && FD_ISSET(1, &wr),
          "select: the socket readable and the console writable");
    char two[2];
    check(read(c, two, 2) == 2 && memcmp(two, "ok", 2) == 0, "read on a socket");
    close(c);
    close(s);
    close(l);
}

static void refused_and_reset(void) {
    /* A non-blocking connect to nobody: refused, reported through poll and SO_ERROR. */
    int gone = listener();
    struct sockaddr_in nobody = loopback(port_of(gone));
    close(gone);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr*)&nobody, sizeof(nobody));
    int immediate = r == -1 && errno == ECONNREFUSED;
    check(immediate || (r == -1 && errno == EINPROGRESS), "non-blocking connect to nobody");
    if (!immediate) {
        short events = (short)wait_for(c, POLLOUT, 5000);
        check((events & (POLLERR | POLLHUP)) != 0, "poll reports the refusal");
        int error = 0;
        socklen_t len = sizeof(error);
        check(getsockopt(c, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == ECONNREFUSED,
              "SO_ERROR is ECONNREFUSED");
    }
    close(c);

    /* A peer that closes with data unread resets the connection. */
    int s = -1;
    check(connected_pair(&c, &s) == 0, "a connected pair");
    check(send(c, "unread", 6, 0) == 6, "data the peer never reads");
    usleep(50000);
    close(s);
    check((wait_for(c, POLLIN, 5000) & (POLLIN | POLLERR | POLLHUP)) != 0, "poll sees the reset");
    char byte;
    check_errno(recv(c, &byte, 1, 0), ECONNRESET, "recv after a reset");
    check_errno(send(c, "x", 1, MSG_NOSIGNAL), EPIPE, "send after a reset, MSG_NOSIGNAL");
    signal(SIGPIPE, SIG_IGN);
    check_errno(send(c, "x", 1, 0), EPIPE, "send after a reset with SIGPIPE ignored");
    close(c);
}

/* ---- Names ---- */

static void names(void) {
    struct in_addr in;
    check(inet_pton(AF_INET, "10.0.0.7", &in) == 1 && ntohl(in.s_addr) == 0x0A000007, "inet_pton");
    char text[INET_ADDRSTRLEN];
    check(inet_ntop(AF_INET, &in, text, sizeof(text)) && strcmp(text, "10.0.0.7") == 0,
          "inet_ntop");
    check(inet_pton(AF_INET, "10.0.0.300", &in) == 0, "inet_pton refuses a bad address");

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int r = getaddrinfo("127.0.0.1", "80", &hints, &res);
    check(r == 0 && res && ((struct sockaddr_in*)res->ai_addr)->sin_port == htons(80),
          "getaddrinfo of a numeric address");
    if (res)
        freeaddrinfo(res);
    res = NULL;
    r = getaddrinfo("localhost", NULL, &hints, &res);
    check(r == 0 && res
              && ((struct sockaddr_in*)res->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "getaddrinfo of localhost");
    if (res)
        freeaddrinfo(res);
    hints.ai_flags = AI_NUMERICHOST;
    check(getaddrinfo("node1", NULL, &hints, &res) == EAI_NONAME, "AI_NUMERICHOST refuses a name");
    if (ON_TERN) {
        /* The node names come from Tern's /etc/hosts. */
        res = NULL;
        hints.ai_flags = 0;
        r = getaddrinfo("node3", "7", &hints, &res);
        check(r == 0 && res
                  && ((struct sockaddr_in*)res->ai_addr)->sin_addr.s_addr == htonl(0x0A000003),
              "getaddrinfo of node3 from /etc/hosts");
        if (res)
            freeaddrinfo(res);
        struct hostent* h = gethostbyname("node8");
        check(h && h->h_length == 4 && memcmp(h->h_addr_list[0], "\x0a\x00\x00\x08", 4) == 0,
              "gethostbyname of node8");
        struct sockaddr_in a = loopback(0);
        a.sin_addr.s_addr = htonl(0x0A000002);
        char host[64];
        r = getnameinfo((struct sockaddr*)&a, sizeof(a), host, sizeof(host), NULL, 0, NI_NAMEREQD);
        check(r == 0 && strcmp(host, "node2") == 0, "getnameinfo of 10.0.0.2 is node2");
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    bad_input();
    options();
    udp_echo();
    tcp_transfer();
    refused_and_reset();
    names();
    printf("sockets: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

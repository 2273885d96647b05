// The socket rules of Tern's musl port (libc/musl/portable/sockets.h): the arguments of
// socket(), struct sockaddr_in, which state allows which call, the errno of each server
// status, socket options and poll events. The host is Linux on x86-64, so its headers
// state the values the rules spell out, and tests/libc/sockets.c checks the behaviour on
// the host and on Tern alike.
#include <catch2/catch.hpp>

#include <errno.h>
#include <libc/musl/portable/sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <tern/abi/errors.h>

static_assert(TERN_LINUX_SOCK_NONBLOCK == SOCK_NONBLOCK && TERN_LINUX_SOCK_CLOEXEC == SOCK_CLOEXEC);
static_assert(TERN_LINUX_SO_RCVTIMEO == SO_RCVTIMEO && TERN_LINUX_SO_ERROR == SO_ERROR
              && TERN_LINUX_TCP_NODELAY == TCP_NODELAY && TERN_LINUX_MSG_NOSIGNAL == MSG_NOSIGNAL);
static_assert(TERN_LINUX_POLLIN == POLLIN && TERN_LINUX_POLLOUT == POLLOUT
              && TERN_LINUX_POLLERR == POLLERR && TERN_LINUX_POLLHUP == POLLHUP
              && TERN_LINUX_POLLNVAL == POLLNVAL);
static_assert(sizeof(sockaddr_in) == TERN_LINUX_SOCKADDR_IN_SIZE);

namespace {

tern_libc_socket make(uint32_t type, tern_libc_socket_state state) {
    tern_libc_socket s = {};
    s.type = type;
    s.state = state;
    return s;
}

} // namespace

TEST_CASE("socket() checks family, type, flags and protocol as Linux does") {
    uint32_t base = 0, extra = 0;
    CHECK(tern_libc_socket_check_create(AF_INET6, SOCK_STREAM, 0, &base, &extra) == -EAFNOSUPPORT);
    CHECK(tern_libc_socket_check_create(12345, 99, 0, &base, &extra) == -EAFNOSUPPORT);
    CHECK(tern_libc_socket_check_create(AF_INET, 99, 0, &base, &extra) == -EINVAL);
    CHECK(tern_libc_socket_check_create(AF_INET, SOCK_DGRAM | 0x10000000, 0, &base, &extra)
          == -EINVAL);
    CHECK(tern_libc_socket_check_create(AF_INET, SOCK_STREAM, IPPROTO_UDP, &base, &extra)
          == -EPROTONOSUPPORT);
    CHECK(tern_libc_socket_check_create(AF_INET, SOCK_RAW, 0, &base, &extra) == -EPROTONOSUPPORT);
    REQUIRE(tern_libc_socket_check_create(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                          IPPROTO_UDP, &base, &extra)
            == 0);
    CHECK(base == SOCK_DGRAM);
    CHECK(extra == uint32_t(SOCK_NONBLOCK | SOCK_CLOEXEC));
}

TEST_CASE("struct sockaddr_in is read and written in network order") {
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(7001);
    a.sin_addr.s_addr = htonl(0x0A000003);
    uint32_t ip = 0;
    uint16_t port = 0;
    REQUIRE(tern_libc_sockaddr_read(&a, sizeof(a), 0, &ip, &port) == 0);
    CHECK(ip == 0x0A000003);
    CHECK(port == 7001);
    CHECK(tern_libc_sockaddr_read(&a, 15, 0, &ip, &port) == -EINVAL);
    CHECK(tern_libc_sockaddr_read(&a, 129, 0, &ip, &port) == -EINVAL);
    a.sin_family = AF_UNSPEC;
    CHECK(tern_libc_sockaddr_read(&a, sizeof(a), 0, &ip, &port) == -EAFNOSUPPORT);
    CHECK(tern_libc_sockaddr_read(&a, sizeof(a), 1, &ip, &port) == 0);
    uint8_t out[16];
    tern_libc_sockaddr_make(0x7F000001, 80, out);
    sockaddr_in b;
    memcpy(&b, out, sizeof(b));
    CHECK(b.sin_family == AF_INET);
    CHECK(b.sin_port == htons(80));
    CHECK(b.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    CHECK(tern_libc_sockaddr_out_size(-1) == -EINVAL);
    CHECK(tern_libc_sockaddr_out_size(4) == 4);
    CHECK(tern_libc_sockaddr_out_size(128) == 16);
}

TEST_CASE("each state allows the calls Linux allows, and refuses the rest with its errno") {
    tern_libc_socket udp = make(SOCK_DGRAM, TERN_LIBC_SOCKET_CREATED);
    tern_libc_socket tcp = make(SOCK_STREAM, TERN_LIBC_SOCKET_CREATED);
    CHECK(tern_libc_socket_precheck(&udp, TERN_LIBC_OP_LISTEN, 0) == -EOPNOTSUPP);
    CHECK(tern_libc_socket_precheck(&udp, TERN_LIBC_OP_ACCEPT, 0) == -EOPNOTSUPP);
    CHECK(tern_libc_socket_precheck(&udp, TERN_LIBC_OP_SEND, 0) == -EDESTADDRREQ);
    CHECK(tern_libc_socket_precheck(&udp, TERN_LIBC_OP_SEND, 1) == 0);
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_ACCEPT, 0) == -EINVAL);
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_RECV, 0) == -ENOTCONN);
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_SEND, 0) == 1); // EPIPE
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_SHUTDOWN, 0) == -ENOTCONN);
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_PEERNAME, 0) == -ENOTCONN);
    tcp.state = TERN_LIBC_SOCKET_BOUND;
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_BIND, 0) == -EINVAL);
    tcp.state = TERN_LIBC_SOCKET_LISTENING;
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_CONNECT, 0) == -EISCONN);
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_ACCEPT, 0) == 0);
    tcp.state = TERN_LIBC_SOCKET_CONNECTING;
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_CONNECT, 0) == -EALREADY);
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_SEND, 0) == -EAGAIN);
    tcp.state = TERN_LIBC_SOCKET_CONNECTED;
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_CONNECT, 0) == -EISCONN);
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_SEND, 0) == 0);
    tcp.flags |= TERN_LIBC_SOCKET_SHUT_WRITE | TERN_LIBC_SOCKET_SHUT_READ;
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_SEND, 0) == 1);
    CHECK(tern_libc_socket_precheck(&tcp, TERN_LIBC_OP_RECV, 0) == 1); // end of file
}

TEST_CASE("server statuses become the errno of the call that got them") {
    tern_libc_socket tcp = make(SOCK_STREAM, TERN_LIBC_SOCKET_CREATED);
    CHECK(tern_libc_socket_error(&tcp, TERN_LIBC_OP_BIND, TERN_ALREADY_EXISTS) == -EADDRINUSE);
    CHECK(tern_libc_socket_error(&tcp, TERN_LIBC_OP_BIND, TERN_INVALID_ARGUMENT) == -EADDRNOTAVAIL);
    CHECK(tern_libc_socket_error(&tcp, TERN_LIBC_OP_RECV, TERN_WOULD_BLOCK) == -EAGAIN);
    CHECK(tern_libc_socket_error(&tcp, TERN_LIBC_OP_SEND, TERN_TOO_BIG) == -EMSGSIZE);
    CHECK(tern_libc_socket_error(&tcp, TERN_LIBC_OP_SOCKET, TERN_NO_SPACE) == -ENOBUFS);
    CHECK(tern_libc_socket_error(&tcp, TERN_LIBC_OP_ACCEPT, TERN_PEER_CLOSED) == -ECONNABORTED);
    CHECK(tern_libc_socket_error(&tcp, TERN_LIBC_OP_CONNECT, TERN_WOULD_BLOCK) == -EINPROGRESS);
    CHECK(tcp.state == TERN_LIBC_SOCKET_CONNECTING);
    CHECK((tcp.flags & TERN_LIBC_SOCKET_CONNECT_UNREPORTED) != 0);

    // A refused connection.
    tern_libc_socket refused = make(SOCK_STREAM, TERN_LIBC_SOCKET_CREATED);
    CHECK(tern_libc_socket_error(&refused, TERN_LIBC_OP_CONNECT, TERN_NOT_FOUND) == -ECONNREFUSED);
    CHECK(refused.state == TERN_LIBC_SOCKET_FAILED);

    // A reset: ECONNRESET once, then end of file for recv and EPIPE for send.
    tern_libc_socket reset = make(SOCK_STREAM, TERN_LIBC_SOCKET_CONNECTED);
    CHECK(tern_libc_socket_error(&reset, TERN_LIBC_OP_RECV, TERN_PEER_CLOSED) == -ECONNRESET);
    CHECK(tern_libc_socket_error(&reset, TERN_LIBC_OP_RECV, TERN_PEER_CLOSED) == 0);
    CHECK(tern_libc_socket_error(&reset, TERN_LIBC_OP_SEND, TERN_PEER_CLOSED) == -EPIPE);
    CHECK(tern_libc_socket_precheck(&reset, TERN_LIBC_OP_SEND, 0) == 1);
    CHECK(tern_libc_socket_precheck(&reset, TERN_LIBC_OP_RECV, 0) == 1);
}

TEST_CASE("a non-blocking connect's end is observed through poll and SO_ERROR") {
    tern_libc_socket s = make(SOCK_STREAM, TERN_LIBC_SOCKET_CONNECTING);
    tern_libc_socket_observe(&s, 3, 0); // still connecting
    CHECK(s.state == TERN_LIBC_SOCKET_CONNECTING);
    tern_libc_socket_observe(&s, 4, 0);
    CHECK(s.state == TERN_LIBC_SOCKET_CONNECTED);

    tern_libc_socket f = make(SOCK_STREAM, TERN_LIBC_SOCKET_CONNECTING);
    tern_libc_socket_observe(&f, 6, TERN_NOT_FOUND);
    CHECK(f.state == TERN_LIBC_SOCKET_FAILED);
    int32_t value = -1;
    uint32_t size = 0;
    REQUIRE(tern_libc_socket_getopt(&f, SOL_SOCKET, SO_ERROR, &value, &size) == 0);
    CHECK(value == ECONNREFUSED);
    CHECK(size == 4);
    REQUIRE(tern_libc_socket_getopt(&f, SOL_SOCKET, SO_ERROR, &value, &size) == 0);
    CHECK(value == 0); // read once
}

TEST_CASE("socket options: flags, timeouts and their errors") {
    tern_libc_socket s = make(SOCK_STREAM, TERN_LIBC_SOCKET_CREATED);
    uint32_t option = 0, value = 0;
    int one = 1;
    REQUIRE(tern_libc_socket_setopt(&s, IPPROTO_TCP, TCP_NODELAY, &one, 4, &option, &value) == 0);
    CHECK(option == 2);
    CHECK(value == 1);
    CHECK((s.flags & TERN_LIBC_SOCKET_NODELAY) != 0);
    CHECK(tern_libc_socket_setopt(&s, SOL_SOCKET, SO_REUSEADDR, &one, 2, &option, &value)
          == -EINVAL);
    CHECK(tern_libc_socket_setopt(&s, SOL_SOCKET, 12345, &one, 4, &option, &value) == -ENOPROTOOPT);
    CHECK(tern_libc_socket_setopt(&s, SOL_SOCKET, SO_TYPE, &one, 4, &option, &value)
          == -ENOPROTOOPT);
    tern_libc_socket u = make(SOCK_DGRAM, TERN_LIBC_SOCKET_CREATED);
    CHECK(tern_libc_socket_setopt(&u, IPPROTO_TCP, TCP_NODELAY, &one, 4, &option, &value)
          == -ENOPROTOOPT);

    timeval tv = {1, 500000};
    REQUIRE(tern_libc_socket_setopt(&s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv), &option, &value)
            == 0);
    CHECK(option == 0); // kept by the C library
    CHECK(s.receive_timeout_ns == 1500000000ull);
    timeval back = {};
    uint32_t size = 0;
    REQUIRE(tern_libc_socket_getopt(&s, SOL_SOCKET, SO_RCVTIMEO, &back, &size) == 0);
    CHECK(size == sizeof(timeval));
    CHECK(back.tv_sec == 1);
    CHECK(back.tv_usec == 500000);
    timeval bad = {0, 1000000};
    CHECK(tern_libc_socket_setopt(&s, SOL_SOCKET, SO_SNDTIMEO, &bad, sizeof(bad), &option, &value)
          == -EDOM);
    timeval negative = {-1, 0};
    REQUIRE(tern_libc_socket_setopt(&s, SOL_SOCKET, SO_RCVTIMEO, &negative, sizeof(negative),
                                    &option, &value)
            == 0);
    CHECK(s.receive_timeout_ns == 0); // no timeout
    int type = 0;
    REQUIRE(tern_libc_socket_getopt(&s, SOL_SOCKET, SO_TYPE, &type, &size) == 0);
    CHECK(type == SOCK_STREAM);
}

TEST_CASE("poll events from the server's readiness") {
    CHECK(tern_libc_poll_interest(POLLIN | POLLOUT)
          == (TERN_NET_POLL_READABLE | TERN_NET_POLL_WRITABLE));
    CHECK(tern_libc_poll_interest(POLLPRI) == 0);
    CHECK(tern_libc_poll_events(TERN_NET_POLL_READABLE | TERN_NET_POLL_WRITABLE, POLLIN) == POLLIN);
    CHECK(tern_libc_poll_events(TERN_NET_POLL_ERROR | TERN_NET_POLL_HANGUP, 0)
          == (POLLERR | POLLHUP));
    CHECK(tern_libc_poll_events(TERN_NET_POLL_INVALID | TERN_NET_POLL_READABLE, POLLIN)
          == POLLNVAL);
    CHECK(tern_libc_poll_events(TERN_NET_POLL_WRITABLE, POLLWRNORM) == POLLWRNORM);
}

TEST_CASE("shutdown's how") {
    CHECK(tern_libc_shutdown_bits(SHUT_RD) == 1);
    CHECK(tern_libc_shutdown_bits(SHUT_WR) == 2);
    CHECK(tern_libc_shutdown_bits(SHUT_RDWR) == 3);
    CHECK(tern_libc_shutdown_bits(3) == -EINVAL);
}

/*
 * Tern's musl port: the pure rules behind BSD sockets.
 *
 * A C program's sockets are the network server's (tern/protocols/net.h); the C library
 * keeps each one's state in its descriptor table (files.h, kind TERN_LIBC_FD_SOCKET), so
 * a process's sockets are one table the process owns. What a call may do in which state,
 * which errno a refusal is, how a struct sockaddr_in, a socket option or a poll event is
 * read and written: those rules are here, where the host unit tests
 * (tests/unit/libc_sockets_test.cpp) check them against Linux's behaviour;
 * libc/musl/backend_sockets.c performs the calls.
 *
 * Valid C and C++; the Linux values are the x86-64 ABI's, checked against musl's headers
 * in backend_sockets.c and against the host's in the unit test.
 */
#ifndef TERN_LIBC_MUSL_SOCKETS_H
#define TERN_LIBC_MUSL_SOCKETS_H

#include <stdint.h>

#define TERN_LINUX_AF_UNSPEC 0
#define TERN_LINUX_AF_INET 2
#define TERN_LINUX_SOCK_STREAM 1
#define TERN_LINUX_SOCK_DGRAM 2
#define TERN_LINUX_SOCK_RAW 3
#define TERN_LINUX_SOCK_SEQPACKET 5
#define TERN_LINUX_SOCK_NONBLOCK 04000
#define TERN_LINUX_SOCK_CLOEXEC 02000000
#define TERN_LINUX_O_NONBLOCK 04000
#define TERN_LINUX_IPPROTO_IP 0
#define TERN_LINUX_IPPROTO_TCP 6
#define TERN_LINUX_IPPROTO_UDP 17
#define TERN_LINUX_SOL_SOCKET 1
#define TERN_LINUX_SO_REUSEADDR 2
#define TERN_LINUX_SO_TYPE 3
#define TERN_LINUX_SO_ERROR 4
#define TERN_LINUX_SO_KEEPALIVE 9
#define TERN_LINUX_SO_RCVTIMEO 20
#define TERN_LINUX_SO_SNDTIMEO 21
#define TERN_LINUX_TCP_NODELAY 1
#define TERN_LINUX_MSG_PEEK 0x2
#define TERN_LINUX_MSG_TRUNC 0x20
#define TERN_LINUX_MSG_DONTWAIT 0x40
#define TERN_LINUX_MSG_WAITALL 0x100
#define TERN_LINUX_MSG_NOSIGNAL 0x4000
#define TERN_LINUX_SHUT_RD 0
#define TERN_LINUX_SHUT_WR 1
#define TERN_LINUX_SHUT_RDWR 2
#define TERN_LINUX_POLLIN 0x1
#define TERN_LINUX_POLLPRI 0x2
#define TERN_LINUX_POLLOUT 0x4
#define TERN_LINUX_POLLERR 0x8
#define TERN_LINUX_POLLHUP 0x10
#define TERN_LINUX_POLLNVAL 0x20
#define TERN_LINUX_POLLRDNORM 0x40
#define TERN_LINUX_POLLWRNORM 0x100
/* struct sockaddr_in's size, and the most any sockaddr may be (sockaddr_storage). */
#define TERN_LINUX_SOCKADDR_IN_SIZE 16
#define TERN_LINUX_SOCKADDR_MAX 128

/* The network server's readiness bits (net::kPoll*), restated for C. */
#define TERN_NET_POLL_READABLE 1u
#define TERN_NET_POLL_WRITABLE 2u
#define TERN_NET_POLL_ERROR 4u
#define TERN_NET_POLL_HANGUP 8u
#define TERN_NET_POLL_INVALID 16u

/* What the C library knows of a socket's life; the server's state is the truth of the
 * connection, this is what decides which errno a call gets before any message is sent. */
enum tern_libc_socket_state {
    TERN_LIBC_SOCKET_CREATED = 0, /* not bound (UDP may be bound implicitly by a send) */
    TERN_LIBC_SOCKET_BOUND,
    TERN_LIBC_SOCKET_LISTENING,
    TERN_LIBC_SOCKET_CONNECTING, /* a non-blocking connect is under way */
    TERN_LIBC_SOCKET_CONNECTED,  /* TCP connected, or UDP with a peer */
    TERN_LIBC_SOCKET_FAILED,     /* the connection was refused, reset or timed out */
};

/* tern_libc_socket.flags */
#define TERN_LIBC_SOCKET_REUSEADDR 1u
#define TERN_LIBC_SOCKET_NODELAY 2u
#define TERN_LIBC_SOCKET_KEEPALIVE 4u
#define TERN_LIBC_SOCKET_SHUT_READ 8u
#define TERN_LIBC_SOCKET_SHUT_WRITE 16u
#define TERN_LIBC_SOCKET_ERROR_REPORTED 32u /* a failed connection's error was returned once */
#define TERN_LIBC_SOCKET_END_SEEN 64u       /* TCP: the peer's end of stream was read */
/* A non-blocking connect said EINPROGRESS and no connect call has seen how it ended: the
 * next one reports it (0 or the error), as Linux's does, before EISCONN. */
#define TERN_LIBC_SOCKET_CONNECT_UNREPORTED 128u
/* A copy a forked child got of its parent's socket: the network server knows only the
 * parent's, so the child's close drops the descriptor and leaves the socket open. */
#define TERN_LIBC_SOCKET_FORKED_COPY 256u

struct tern_libc_socket {
    uint32_t id;    /* the network server's socket id */
    uint32_t type;  /* TERN_LINUX_SOCK_STREAM or TERN_LINUX_SOCK_DGRAM */
    uint32_t state; /* enum tern_libc_socket_state */
    uint32_t flags; /* TERN_LIBC_SOCKET_* */
    int32_t error;  /* the pending error SO_ERROR reports (a Linux errno), 0 for none */
    uint32_t reserved;
    uint64_t receive_timeout_ns; /* SO_RCVTIMEO, 0: wait for ever */
    uint64_t send_timeout_ns;    /* SO_SNDTIMEO */
};

/* The socket operations, for the errno rules. */
enum tern_libc_socket_op {
    TERN_LIBC_OP_SOCKET,
    TERN_LIBC_OP_BIND,
    TERN_LIBC_OP_LISTEN,
    TERN_LIBC_OP_ACCEPT,
    TERN_LIBC_OP_CONNECT,
    TERN_LIBC_OP_SEND,
    TERN_LIBC_OP_RECV,
    TERN_LIBC_OP_SHUTDOWN,
    TERN_LIBC_OP_SOCKNAME,
    TERN_LIBC_OP_PEERNAME,
    TERN_LIBC_OP_OPTION,
    TERN_LIBC_OP_POLL,
};

#ifdef __cplusplus
extern "C" {
#endif

/* socket(domain, type, protocol): the rule Linux applies to the arguments. 0 with the
 * socket's base type in *base_type and SOCK_NONBLOCK/SOCK_CLOEXEC in *extra; else
 * -EAFNOSUPPORT (domain not AF_INET), -EINVAL (unknown flags, or a type outside Linux's
 * range 0..10), -EPROTONOSUPPORT (a type Tern does not serve: raw, sequenced packets,
 * where Linux says EPERM or ESOCKTNOSUPPORT; or a protocol that is not the type's: 0, TCP
 * for stream, UDP for datagram). */
int tern_libc_socket_check_create(int64_t domain, int64_t type, int64_t protocol,
                                  uint32_t* base_type, uint32_t* extra);

/* Reads a struct sockaddr_in of len bytes (the bytes are given: the caller copied them
 * in): -EINVAL when len is under 16 or over 128, -EAFNOSUPPORT when the family is not
 * AF_INET (AF_UNSPEC is taken as AF_INET when allow_unspec, as Linux's bind and sendto
 * do for INADDR_ANY and a datagram's address). The address in host order. */
int tern_libc_sockaddr_read(const void* bytes, int64_t len, int allow_unspec, uint32_t* ip,
                            uint16_t* port);

/* Makes the 16 bytes of a struct sockaddr_in for ip and port (host order). */
void tern_libc_sockaddr_make(uint32_t ip, uint16_t port, uint8_t out[TERN_LINUX_SOCKADDR_IN_SIZE]);

/* How many bytes of an address to write for a caller whose *addrlen is given: the
 * smaller of it and 16 (Linux truncates and reports the full length); -EINVAL when it is
 * negative. */
int tern_libc_sockaddr_out_size(int64_t given);

/* The check before each call on a socket in its current state: 0 to go ahead, or the
 * negated errno Linux gives. For send, 1 when the call is to end with EPIPE and for recv 1
 * when it is to answer end of file, without asking the server. `addressed` says a send
 * names a destination. */
int tern_libc_socket_precheck(const struct tern_libc_socket* s, enum tern_libc_socket_op op,
                              int addressed);

/* The negated errno for the network server's status (a tern_status, positive) in answer
 * to op on s. It also moves s to what the answer means (a connection that failed, a
 * reset reported once). For send, PEER_CLOSED is ECONNRESET the first time and EPIPE
 * after; for recv ECONNRESET the first time and end of file (0) after. */
int tern_libc_socket_error(struct tern_libc_socket* s, enum tern_libc_socket_op op, int64_t status);

/* shutdown's `how` as the protocol's bits (1 read, 2 write); -EINVAL for another value. */
int tern_libc_shutdown_bits(int64_t how);

/* Socket options. setsockopt: the option's meaning in *effect (below) and its value;
 * -ENOPROTOOPT for an unknown level or option (or a TCP option on a UDP socket, or a
 * read-only one), -EINVAL for an optlen too short, -EDOM for a timeval's microseconds
 * outside [0, 1e6). Timeouts: a negative or zero timeval is no timeout. */
enum tern_libc_option_effect {
    TERN_LIBC_OPTION_FLAG,    /* a flag bit in s->flags, sent to the server */
    TERN_LIBC_OPTION_TIMEOUT, /* a timeout kept by the C library */
};
int tern_libc_socket_setopt(struct tern_libc_socket* s, int64_t level, int64_t name,
                            const void* value, int64_t len, uint32_t* server_option,
                            uint32_t* server_value);

/* getsockopt: the value in out (up to 16 bytes: an int, or a struct timeval), its size
 * in *size; -ENOPROTOOPT for unknown options. SO_ERROR reports and clears the pending
 * error. */
int tern_libc_socket_getopt(struct tern_libc_socket* s, int64_t level, int64_t name, void* out,
                            uint32_t* size);

/* poll events of a socket from the server's readiness bits (TERN_NET_POLL_*) and what was
 * asked (POLLIN, POLLOUT and their RDNORM/WRNORM twins); POLLERR, POLLHUP and POLLNVAL
 * are reported whether asked or not. */
uint32_t tern_libc_poll_events(uint32_t net_events, uint32_t requested);

/* What to ask the server for from requested poll events. */
uint32_t tern_libc_poll_interest(uint32_t requested);

/* Updates s from a Poll result: a non-blocking connect that finished (server state
 * connected, 4) or failed (error status, positive, non-zero), keeping the error for
 * SO_ERROR. */
void tern_libc_socket_observe(struct tern_libc_socket* s, uint32_t server_state, int32_t error);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_SOCKETS_H */

/*
 * Tern's musl backend: BSD sockets over the network server (tern/protocols/net.h), and
 * poll and select over sockets, the console and files together.
 *
 * A socket is a descriptor of the process's one table (portable/files.h, kind
 * TERN_LIBC_FD_SOCKET) that holds the server's socket id and what the C library knows of
 * the socket (portable/sockets.h): its state, options, timeouts and a pending error. The
 * rules (which state allows which call, which errno a refusal is) are portable code the
 * host tests check; this file makes the calls. Pointers a program passes for addresses,
 * lengths, options and message headers are copied through the kernel
 * (tern_libc_copy_in/out), so a bad one is EFAULT; data goes to the server in the call's
 * data part, which the kernel copies likewise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/pipe.h>
#include <libc/musl/portable/sockets.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <tern/syscall.h>

_Static_assert(TERN_LINUX_AF_INET == AF_INET && TERN_LINUX_AF_UNSPEC == AF_UNSPEC
                   && TERN_LINUX_SOCK_STREAM == SOCK_STREAM && TERN_LINUX_SOCK_DGRAM == SOCK_DGRAM
                   && TERN_LINUX_SOCK_RAW == SOCK_RAW && TERN_LINUX_SOCK_SEQPACKET == SOCK_SEQPACKET
                   && TERN_LINUX_SOCK_NONBLOCK == SOCK_NONBLOCK
                   && TERN_LINUX_SOCK_CLOEXEC == SOCK_CLOEXEC && TERN_LINUX_O_NONBLOCK == O_NONBLOCK
                   && TERN_LINUX_IPPROTO_TCP == IPPROTO_TCP
                   && TERN_LINUX_IPPROTO_UDP == IPPROTO_UDP,
               "socket constants differ from musl's");
_Static_assert(TERN_LINUX_SOL_SOCKET == SOL_SOCKET && TERN_LINUX_SO_REUSEADDR == SO_REUSEADDR
                   && TERN_LINUX_SO_TYPE == SO_TYPE && TERN_LINUX_SO_ERROR == SO_ERROR
                   && TERN_LINUX_SO_KEEPALIVE == SO_KEEPALIVE
                   && TERN_LINUX_SO_RCVTIMEO == SO_RCVTIMEO && TERN_LINUX_SO_SNDTIMEO == SO_SNDTIMEO
                   && TERN_LINUX_TCP_NODELAY == TCP_NODELAY,
               "socket options differ from musl's");
_Static_assert(TERN_LINUX_MSG_PEEK == MSG_PEEK && TERN_LINUX_MSG_TRUNC == MSG_TRUNC
                   && TERN_LINUX_MSG_DONTWAIT == MSG_DONTWAIT
                   && TERN_LINUX_MSG_WAITALL == MSG_WAITALL
                   && TERN_LINUX_MSG_NOSIGNAL == MSG_NOSIGNAL && TERN_LINUX_SHUT_RD == SHUT_RD
                   && TERN_LINUX_SHUT_WR == SHUT_WR && TERN_LINUX_SHUT_RDWR == SHUT_RDWR,
               "MSG_* or SHUT_* differ from musl's");
_Static_assert(TERN_LINUX_POLLIN == POLLIN && TERN_LINUX_POLLPRI == POLLPRI
                   && TERN_LINUX_POLLOUT == POLLOUT && TERN_LINUX_POLLERR == POLLERR
                   && TERN_LINUX_POLLHUP == POLLHUP && TERN_LINUX_POLLNVAL == POLLNVAL
                   && TERN_LINUX_POLLRDNORM == POLLRDNORM && TERN_LINUX_POLLWRNORM == POLLWRNORM,
               "POLL* differ from musl's");
_Static_assert(sizeof(struct sockaddr_in) == TERN_LINUX_SOCKADDR_IN_SIZE
                   && sizeof(struct sockaddr_storage) == TERN_LINUX_SOCKADDR_MAX,
               "struct sockaddr_in differs");

enum {
    kMaxData = TERN_LIBC_NET_MAX_DATA,
    kMaxDatagram = TERN_LIBC_NET_MAX_DATAGRAM,
    /* How often poll looks at the console while it also waits for sockets. */
    kConsoleSliceNs = 20000000,
    kMaxPollFds = 1024,
};

/* Staging for data a program's buffer is too small to take whole (a reply's data part
 * must have room for kMaxData bytes) and for gathering a message's pieces. */
static uint8_t g_staging[kMaxData];

/* ---- Descriptors ---- */

static long socket_of(long fd, struct tern_libc_file** out) {
    if (tern_libc_is_console_fd(fd))
        return -ENOTSOCK;
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return -EBADF;
    if (file->kind != TERN_LIBC_FD_SOCKET)
        return -ENOTSOCK;
    *out = file;
    return 0;
}

/* O_NONBLOCK is the description's, which a forked child or an exec'd image may hold too
 * (its flags are then in a shared page: backend.c). */
static int nonblocking(struct tern_libc_file* file, long flags) {
    return (tern_libc_file_status(file) & O_NONBLOCK) || (flags & MSG_DONTWAIT);
}

static long no_server(long r) { return r == TERN_LIBC_NET_NO_SERVER ? -ENETDOWN : r; }

/* The errno of a server status (negated), after the portable rules. */
static long net_error(struct tern_libc_file* file, enum tern_libc_socket_op op, long r) {
    if (r == TERN_LIBC_NET_NO_SERVER)
        return -ENETDOWN;
    return tern_libc_socket_error(&file->socket, op, -r);
}

static uint64_t now_ns(void) { return (uint64_t)tern_sys_clock_monotonic(); }

/* Waits up to timeout_ns for one socket to be ready for events (TERN_NET_POLL_*):
 * 1 ready, 0 not, or a negated errno. */
static long wait_ready(struct tern_libc_file* file, uint32_t events, uint64_t timeout_ns) {
    struct tern_libc_net_poll entry = {file->socket.id, events, 0, 0};
    int64_t r = tern_libc_net_poll(&entry, 1, timeout_ns);
    if (r < 0)
        return no_server(-tern_libc_errno_from_status(-r));
    tern_libc_socket_observe(&file->socket, entry.state, entry.error);
    return r > 0;
}

/* ---- Addresses ---- */

/* Reads a program's sockaddr. */
static long read_address(const void* user, long len, int allow_unspec, uint32_t* ip,
                         uint16_t* port) {
    if (len < 0 || len > TERN_LINUX_SOCKADDR_MAX)
        return -EINVAL;
    uint8_t bytes[TERN_LINUX_SOCKADDR_MAX];
    if (len >= TERN_LINUX_SOCKADDR_IN_SIZE
        && tern_libc_copy_in(bytes, user, TERN_LINUX_SOCKADDR_IN_SIZE) != 0)
        return -EFAULT;
    return tern_libc_sockaddr_read(bytes, len, allow_unspec, ip, port);
}

/* Writes an address back to (addr, *addrlen), as accept, recvfrom and getsockname do:
 * nothing when addr is null. */
static long write_address(void* addr, socklen_t* addrlen, uint32_t ip, uint16_t port) {
    if (!addr)
        return 0;
    int32_t given = 0;
    if (tern_libc_copy_in(&given, addrlen, sizeof(given)) != 0)
        return -EFAULT;
    int size = tern_libc_sockaddr_out_size(given);
    if (size < 0)
        return size;
    uint8_t bytes[TERN_LINUX_SOCKADDR_IN_SIZE];
    tern_libc_sockaddr_make(ip, port, bytes);
    int32_t full = TERN_LINUX_SOCKADDR_IN_SIZE;
    if (tern_libc_copy_out(addr, bytes, (uint64_t)size) != 0
        || tern_libc_copy_out(addrlen, &full, sizeof(full)) != 0)
        return -EFAULT;
    return 0;
}

/* ---- socket, bind, listen, accept, connect ---- */

static long new_socket_fd(uint32_t id, uint32_t type, uint32_t state, uint32_t extra) {
    int fd = tern_libc_fd_allocate(tern_libc_fds(), TERN_LIBC_FD_SOCKET);
    if (fd < 0) {
        (void)tern_libc_net_close(id);
        return fd;
    }
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    file->flags = O_RDWR | ((extra & SOCK_NONBLOCK) ? O_NONBLOCK : 0);
    if (extra & SOCK_CLOEXEC)
        (void)tern_libc_fd_set_flags(tern_libc_fds(), fd, FD_CLOEXEC);
    file->socket.id = id;
    file->socket.type = type;
    file->socket.state = state;
    return fd;
}

static long sys_socket(long domain, long type, long protocol) {
    uint32_t base = 0, extra = 0;
    long r = tern_libc_socket_check_create(domain, type, protocol, &base, &extra);
    if (r != 0)
        return r;
    int64_t id = tern_libc_net_socket(base == SOCK_STREAM);
    if (id == TERN_LIBC_NET_NO_SERVER)
        return -EAFNOSUPPORT; /* no network stack on this system */
    if (id < 0)
        return id == -TERN_QUOTA_EXCEEDED ? -EMFILE : -tern_libc_errno_from_status(-id);
    return new_socket_fd((uint32_t)id, base, TERN_LIBC_SOCKET_CREATED, extra);
}

static long sys_bind(long fd, const void* addr, long len) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    uint32_t ip = 0;
    uint16_t port = 0;
    if ((r = read_address(addr, len, 1, &ip, &port)) != 0)
        return r;
    if ((r = tern_libc_socket_precheck(&file->socket, TERN_LIBC_OP_BIND, 0)) != 0)
        return r;
    r = tern_libc_net_bind(file->socket.id, ip, port, 0);
    if (r < 0)
        return net_error(file, TERN_LIBC_OP_BIND, r);
    file->socket.state = TERN_LIBC_SOCKET_BOUND;
    return 0;
}

static long sys_listen(long fd, long backlog) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    if ((r = tern_libc_socket_precheck(&file->socket, TERN_LIBC_OP_LISTEN, 0)) != 0)
        return r;
    if (file->socket.state == TERN_LIBC_SOCKET_LISTENING)
        return 0; /* Linux lets a listener change its backlog; the server keeps its own */
    /* Linux clamps the backlog; the server takes 1..16. */
    uint32_t clamped = backlog <= 0 ? 1 : backlog > 16 ? 16 : (uint32_t)backlog;
    r = tern_libc_net_listen(file->socket.id, clamped);
    if (r < 0)
        return net_error(file, TERN_LIBC_OP_LISTEN, r);
    file->socket.state = TERN_LIBC_SOCKET_LISTENING;
    return 0;
}

static long sys_accept4(long fd, void* addr, socklen_t* addrlen, long flags) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    if (flags & ~(long)(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return -EINVAL;
    if ((r = tern_libc_socket_precheck(&file->socket, TERN_LIBC_OP_ACCEPT, 0)) != 0)
        return r;
    int nb = nonblocking(file, 0);
    uint64_t timeout = file->socket.receive_timeout_ns;
    uint64_t deadline = timeout ? now_ns() + timeout : 0;
    uint32_t accepted = 0;
    struct tern_libc_net_address peer = {0};
    for (;;) {
        if (!nb && timeout) {
            uint64_t now = now_ns();
            if (now >= deadline)
                return -EAGAIN;
            r = wait_ready(file, TERN_NET_POLL_READABLE, deadline - now);
            if (r < 0)
                return r;
            if (r == 0)
                return -EAGAIN;
        }
        r = tern_libc_net_accept(file->socket.id, nb || timeout, &accepted, &peer);
        if (r == -TERN_WOULD_BLOCK && !nb && timeout)
            continue;
        break;
    }
    if (r < 0)
        return net_error(file, TERN_LIBC_OP_ACCEPT, r);
    long nfd = new_socket_fd(accepted, SOCK_STREAM, TERN_LIBC_SOCKET_CONNECTED, (uint32_t)flags);
    if (nfd < 0)
        return nfd;
    r = write_address(addr, addrlen, peer.ip, peer.port);
    return r < 0 ? r : nfd;
}

static long sys_connect(long fd, const void* addr, long len) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    uint32_t ip = 0;
    uint16_t port = 0;
    if ((r = read_address(addr, len, 0, &ip, &port)) != 0)
        return r;
    struct tern_libc_socket* s = &file->socket;
    if (s->type == SOCK_STREAM && (s->flags & TERN_LIBC_SOCKET_CONNECT_UNREPORTED)) {
        /* A second connect reports how the first is going, as Linux's does. */
        if ((r = wait_ready(file, TERN_NET_POLL_WRITABLE, 0)) < 0)
            return r;
        if (s->state != TERN_LIBC_SOCKET_CONNECTING)
            s->flags &= ~TERN_LIBC_SOCKET_CONNECT_UNREPORTED;
        if (s->state == TERN_LIBC_SOCKET_CONNECTED)
            return 0;
        if (s->state == TERN_LIBC_SOCKET_FAILED) {
            long e = -s->error;
            s->error = 0;
            s->flags |= TERN_LIBC_SOCKET_ERROR_REPORTED;
            return e;
        }
        return -EALREADY;
    }
    if ((r = tern_libc_socket_precheck(s, TERN_LIBC_OP_CONNECT, 0)) != 0)
        return r;
    if (ip == 0)
        ip = 0x7F000001; /* Linux connects to INADDR_ANY as to this host */
    r = tern_libc_net_connect(s->id, nonblocking(file, 0), ip, port);
    if (r < 0)
        return net_error(file, TERN_LIBC_OP_CONNECT, r);
    s->state = TERN_LIBC_SOCKET_CONNECTED;
    return 0;
}

/* ---- Data ---- */

static long broken_pipe(long flags) {
    if (!(flags & MSG_NOSIGNAL))
        (void)tern_libc_raise(SIGPIPE);
    return -EPIPE;
}

/* Sends length bytes from a program's buffer. */
static long socket_send(struct tern_libc_file* file, const void* data, size_t length, long flags,
                        const struct tern_libc_net_address* to) {
    struct tern_libc_socket* s = &file->socket;
    long r = tern_libc_socket_precheck(s, TERN_LIBC_OP_SEND, to != 0);
    if (r == 1)
        return broken_pipe(flags);
    if (r != 0)
        return r;
    int nb = nonblocking(file, flags);
    if (s->type == SOCK_DGRAM) {
        if (length > kMaxDatagram)
            return -EMSGSIZE;
        int64_t sent = tern_libc_net_send(s->id, nb, 0, to, data, (uint32_t)length);
        if (sent < 0)
            return net_error(file, TERN_LIBC_OP_SEND, sent);
        if (s->state == TERN_LIBC_SOCKET_CREATED)
            s->state = TERN_LIBC_SOCKET_BOUND;
        return (long)sent;
    }
    /* A send timeout travels with each call: the server gives up a wait for room when it
     * runs out (WOULD_BLOCK), so a timed send costs no Poll of its own. */
    uint64_t timeout = nb ? 0 : s->send_timeout_ns;
    uint64_t deadline = timeout ? now_ns() + timeout : 0;
    size_t done = 0;
    while (done < length || length == 0) {
        uint64_t wait = 0;
        if (timeout) {
            uint64_t now = now_ns();
            if (now >= deadline)
                return done > 0 ? (long)done : -EAGAIN;
            wait = deadline - now;
        }
        size_t chunk = length - done < kMaxData ? length - done : kMaxData;
        int64_t sent =
            tern_libc_net_send(s->id, nb, wait, 0, (const uint8_t*)data + done, (uint32_t)chunk);
        if (sent == -TERN_WOULD_BLOCK && timeout)
            return done > 0 ? (long)done : -EAGAIN;
        if (sent < 0) {
            if (done > 0)
                return (long)done;
            r = net_error(file, TERN_LIBC_OP_SEND, sent);
            return r == -EPIPE ? broken_pipe(flags) : r;
        }
        done += (size_t)sent;
        if (length == 0 || (nb && (size_t)sent < chunk))
            break;
    }
    return (long)done;
}

/* Receives up to length bytes into a program's buffer; *from gets the sender, *truncated
 * whether a datagram was cut. */
static long socket_recv(struct tern_libc_file* file, void* data, size_t length, long flags,
                        struct tern_libc_net_address* from, int* truncated) {
    struct tern_libc_socket* s = &file->socket;
    long r = tern_libc_socket_precheck(s, TERN_LIBC_OP_RECV, 0);
    if (r == 1)
        return 0;
    if (r != 0)
        return r;
    if (flags & MSG_PEEK)
        return -EOPNOTSUPP; /* the protocol's Recv always consumes */
    int nb = nonblocking(file, flags);
    if (s->type == SOCK_DGRAM && s->state == TERN_LIBC_SOCKET_CREATED) {
        /* Nothing can arrive at a socket without a port: Linux waits for ever. */
        if (nb)
            return -EAGAIN;
        r = tern_libc_net_bind(s->id, 0, 0, 0);
        if (r < 0)
            return net_error(file, TERN_LIBC_OP_BIND, r);
        s->state = TERN_LIBC_SOCKET_BOUND;
    }
    if (length == 0)
        return 0;
    /* As with send, the receive timeout travels with each call. */
    uint64_t timeout = nb ? 0 : s->receive_timeout_ns;
    uint64_t deadline = timeout ? now_ns() + timeout : 0;
    int wait_all = (flags & MSG_WAITALL) && s->type == SOCK_STREAM && !nb;
    size_t done = 0;
    while (done < length) {
        uint64_t wait = 0;
        if (timeout) {
            uint64_t now = now_ns();
            if (now >= deadline)
                return done > 0 ? (long)done : -EAGAIN;
            wait = deadline - now;
        }
        size_t want = length - done < kMaxData ? length - done : kMaxData;
        uint8_t* direct = want == kMaxData ? (uint8_t*)data + done : 0;
        struct tern_libc_net_received got = {0};
        r = tern_libc_net_recv(s->id, nb, wait, direct ? direct : g_staging, (uint32_t)want, &got);
        if (r == -TERN_WOULD_BLOCK && timeout)
            return done > 0 ? (long)done : -EAGAIN;
        if (r < 0) {
            if (done > 0)
                return (long)done;
            return net_error(file, TERN_LIBC_OP_RECV, r);
        }
        if (!direct && tern_libc_copy_out((uint8_t*)data + done, g_staging, got.size) != 0)
            return done > 0 ? (long)done : -EFAULT;
        done += got.size;
        if (from)
            *from = got.from;
        if (truncated)
            *truncated = got.truncated != 0;
        if (got.end_of_stream) {
            s->flags |= TERN_LIBC_SOCKET_END_SEEN;
            break;
        }
        if (!wait_all)
            break;
    }
    return (long)done;
}

long tern_libc_socket_read(struct tern_libc_file* file, void* data, size_t length) {
    return socket_recv(file, data, length, 0, 0, 0);
}

long tern_libc_socket_write(struct tern_libc_file* file, const void* data, size_t length) {
    return socket_send(file, data, length, 0, 0);
}

void tern_libc_socket_close(struct tern_libc_file* file) {
    if (file->socket.flags & TERN_LIBC_SOCKET_FORKED_COPY)
        return; /* the parent's socket: it stays open for the parent */
    (void)tern_libc_net_close(file->socket.id);
}

uint64_t tern_libc_socket_fork_shared;

uint64_t tern_libc_socket_fork_share(uint32_t child_task) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    uint64_t used = tern_libc_fd_descriptions(table);
    uint64_t shared = 0;
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        if (!(used >> i & 1))
            continue;
        struct tern_libc_file* file = &table->files[i];
        if (file->references == 0 || file->kind != TERN_LIBC_FD_SOCKET
            || (file->socket.flags & TERN_LIBC_SOCKET_FORKED_COPY))
            continue;
        if (tern_libc_net_share(file->socket.id, child_task) == 0) {
            shared |= 1ull << i;
        } else {
            static const char line[] =
                "libc: a socket stays the parent's after fork (the network server refused "
                "to share it)\n";
            (void)tern_sys_debug_write((uint64_t)(uintptr_t)line, sizeof(line) - 1);
        }
    }
    return shared;
}

void tern_libc_socket_fork_child(void) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        if (!(used >> i & 1))
            continue;
        struct tern_libc_file* file = &table->files[i];
        if (file->references != 0 && file->kind == TERN_LIBC_FD_SOCKET
            && !(tern_libc_socket_fork_shared >> i & 1))
            file->socket.flags |= TERN_LIBC_SOCKET_FORKED_COPY;
    }
}

long tern_libc_socket_exec_share(struct tern_libc_file* file, uint32_t task) {
    if (file->kind != TERN_LIBC_FD_SOCKET || (file->socket.flags & TERN_LIBC_SOCKET_FORKED_COPY))
        return 0; /* a copy the server never knew: it crosses as such */
    int r = tern_libc_net_share(file->socket.id, task);
    if (r == 0)
        return 0;
    return r == TERN_LIBC_NET_NO_SERVER ? -ENETDOWN : -ENOMEM;
}

static long sys_sendto(long fd, const void* data, size_t length, long flags, const void* addr,
                       long len) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    struct tern_libc_net_address to = {0};
    int addressed = addr != 0 && file->socket.type == SOCK_DGRAM;
    if (addressed && (r = read_address(addr, len, 1, &to.ip, &to.port)) != 0)
        return r;
    if (addressed && to.ip == 0)
        to.ip = 0x7F000001; /* INADDR_ANY as a destination is this host, as on Linux */
    return socket_send(file, data, length, flags, addressed ? &to : 0);
}

static long sys_recvfrom(long fd, void* data, size_t length, long flags, void* addr,
                         socklen_t* addrlen) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    struct tern_libc_net_address from = {0};
    long n = socket_recv(file, data, length, flags, &from, 0);
    if (n < 0)
        return n;
    if (file->socket.type == SOCK_DGRAM
        && (r = write_address(addr, addrlen, from.ip, from.port)) != 0)
        return r;
    return n;
}

/* A message header and its I/O vector, copied in. */
struct message {
    struct msghdr header;
    struct iovec iov[64];
    size_t total;
};

static long read_message(const struct msghdr* user, struct message* m) {
    if (tern_libc_copy_in(&m->header, user, sizeof(m->header)) != 0)
        return -EFAULT;
    /* Linux takes up to 1024 pieces (UIO_MAXIOV); Tern up to 64. */
    if (m->header.msg_iovlen < 0 || m->header.msg_iovlen > 1024)
        return -EMSGSIZE;
    if (m->header.msg_iovlen > 64)
        return -ENOBUFS;
    if (m->header.msg_iovlen > 0
        && tern_libc_copy_in(m->iov, m->header.msg_iov,
                             (size_t)m->header.msg_iovlen * sizeof(struct iovec))
               != 0)
        return -EFAULT;
    m->total = 0;
    for (size_t i = 0; i < (size_t)m->header.msg_iovlen; ++i) {
        if (m->iov[i].iov_len > (size_t)INT64_MAX - m->total)
            return -EINVAL;
        m->total += m->iov[i].iov_len;
    }
    return 0;
}

static long sys_sendmsg(long fd, const struct msghdr* user, long flags) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    static struct message m;
    if ((r = read_message(user, &m)) != 0)
        return r;
    struct tern_libc_net_address to = {0};
    int addressed = m.header.msg_name != 0 && file->socket.type == SOCK_DGRAM;
    if (addressed
        && (r = read_address(m.header.msg_name, m.header.msg_namelen, 1, &to.ip, &to.port)) != 0)
        return r;
    if (addressed && to.ip == 0)
        to.ip = 0x7F000001;
    if (file->socket.type == SOCK_DGRAM) {
        /* One datagram: the pieces are gathered first. */
        if (m.total > kMaxDatagram)
            return -EMSGSIZE;
        static uint8_t gathered[kMaxDatagram];
        size_t at = 0;
        for (size_t i = 0; i < (size_t)m.header.msg_iovlen; ++i) {
            if (tern_libc_copy_in(gathered + at, m.iov[i].iov_base, m.iov[i].iov_len) != 0)
                return -EFAULT;
            at += m.iov[i].iov_len;
        }
        return socket_send(file, gathered, at, flags, addressed ? &to : 0);
    }
    size_t done = 0;
    for (size_t i = 0; i < (size_t)m.header.msg_iovlen; ++i) {
        if (m.iov[i].iov_len == 0)
            continue;
        long n = socket_send(file, m.iov[i].iov_base, m.iov[i].iov_len, flags, 0);
        if (n < 0)
            return done > 0 ? (long)done : n;
        done += (size_t)n;
        if ((size_t)n < m.iov[i].iov_len)
            break;
    }
    return (long)done;
}

static long sys_recvmsg(long fd, struct msghdr* user, long flags) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    static struct message m;
    if ((r = read_message(user, &m)) != 0)
        return r;
    /* One receive, scattered over the vector. */
    size_t want = m.total < kMaxData ? m.total : kMaxData;
    static uint8_t buffer[kMaxData];
    struct tern_libc_net_address from = {0};
    int truncated = 0;
    long n = socket_recv(file, buffer, want, flags, &from, &truncated);
    if (n < 0)
        return n;
    size_t at = 0;
    for (size_t i = 0; i < (size_t)m.header.msg_iovlen && at < (size_t)n; ++i) {
        size_t piece = m.iov[i].iov_len < (size_t)n - at ? m.iov[i].iov_len : (size_t)n - at;
        if (tern_libc_copy_out(m.iov[i].iov_base, buffer + at, piece) != 0)
            return -EFAULT;
        at += piece;
    }
    int out_flags = truncated ? MSG_TRUNC : 0;
    socklen_t namelen = 0;
    if (m.header.msg_name && file->socket.type == SOCK_DGRAM) {
        namelen = m.header.msg_namelen;
        int size = tern_libc_sockaddr_out_size((int32_t)namelen);
        if (size < 0)
            return size;
        uint8_t bytes[TERN_LINUX_SOCKADDR_IN_SIZE];
        tern_libc_sockaddr_make(from.ip, from.port, bytes);
        if (tern_libc_copy_out(m.header.msg_name, bytes, (uint64_t)size) != 0)
            return -EFAULT;
        namelen = TERN_LINUX_SOCKADDR_IN_SIZE;
    }
    size_t no_control = 0;
    if (tern_libc_copy_out(&user->msg_namelen, &namelen, sizeof(namelen)) != 0
        || tern_libc_copy_out(&user->msg_controllen, &no_control, sizeof(no_control)) != 0
        || tern_libc_copy_out(&user->msg_flags, &out_flags, sizeof(out_flags)) != 0)
        return -EFAULT;
    return n;
}

static long sys_shutdown(long fd, long how) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    int bits = tern_libc_shutdown_bits(how);
    if (bits < 0)
        return bits;
    struct tern_libc_socket* s = &file->socket;
    if ((r = tern_libc_socket_precheck(s, TERN_LIBC_OP_SHUTDOWN, 0)) != 0)
        return r;
    if (s->type == SOCK_STREAM) {
        r = tern_libc_net_shutdown(s->id, (uint32_t)bits);
        if (r < 0)
            return net_error(file, TERN_LIBC_OP_SHUTDOWN, r);
    }
    if (bits & 1)
        s->flags |= TERN_LIBC_SOCKET_SHUT_READ;
    if (bits & 2)
        s->flags |= TERN_LIBC_SOCKET_SHUT_WRITE;
    return 0;
}

static long sys_name(long fd, void* addr, socklen_t* addrlen, int peer) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    if (peer && (r = tern_libc_socket_precheck(&file->socket, TERN_LIBC_OP_PEERNAME, 0)) != 0)
        return r;
    struct tern_libc_net_address a = {0};
    r = tern_libc_net_name(file->socket.id, peer, &a);
    if (r < 0)
        return peer ? -ENOTCONN : net_error(file, TERN_LIBC_OP_SOCKNAME, r);
    if (!addr)
        return -EFAULT;
    return write_address(addr, addrlen, a.ip, a.port);
}

static long sys_setsockopt(long fd, long level, long name, const void* value, long len) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    if (len < 0)
        return -EINVAL;
    uint8_t bytes[16] = {0};
    size_t n = (size_t)len < sizeof(bytes) ? (size_t)len : sizeof(bytes);
    if (n > 0 && tern_libc_copy_in(bytes, value, n) != 0)
        return -EFAULT;
    struct tern_libc_socket before = file->socket;
    uint32_t option = 0, setting = 0;
    r = tern_libc_socket_setopt(&file->socket, level, name, bytes, len, &option, &setting);
    if (r != 0)
        return r;
    if (option != 0) {
        r = tern_libc_net_set_option(file->socket.id, option, setting);
        if (r < 0) {
            file->socket = before;
            return net_error(file, TERN_LIBC_OP_OPTION, r);
        }
    }
    return 0;
}

static long sys_getsockopt(long fd, long level, long name, void* value, socklen_t* len) {
    struct tern_libc_file* file = 0;
    long r = socket_of(fd, &file);
    if (r != 0)
        return r;
    int32_t given = 0;
    if (tern_libc_copy_in(&given, len, sizeof(given)) != 0)
        return -EFAULT;
    if (given < 0)
        return -EINVAL;
    /* SO_ERROR of a connect under way: ask how it went first. */
    if (level == SOL_SOCKET && name == SO_ERROR && file->socket.state == TERN_LIBC_SOCKET_CONNECTING
        && (r = wait_ready(file, TERN_NET_POLL_WRITABLE, 0)) < 0)
        return r;
    uint8_t bytes[16];
    uint32_t size = 0;
    struct tern_libc_socket before = file->socket;
    r = tern_libc_socket_getopt(&file->socket, level, name, bytes, &size);
    if (r != 0)
        return r;
    uint32_t n = (uint32_t)given < size ? (uint32_t)given : size;
    if (tern_libc_copy_out(value, bytes, n) != 0 || tern_libc_copy_out(len, &n, sizeof(n)) != 0) {
        file->socket = before; /* a pending error is not lost to a bad pointer */
        return -EFAULT;
    }
    return 0;
}

/* ---- poll and select ---- */

/* What one descriptor is ready for at once without asking a server, for descriptors that
 * are not sockets: the console writes at once and reads when a line is pending (or there
 * is no console server: end of input); a pipe end as its ring says (portable/pipe.h); a
 * file is always ready; a descriptor that is not open is POLLNVAL. *console_wait is set
 * when console input is asked for and not ready, *pipe_wait when a pipe is not. */
static uint32_t local_events(long fd, uint32_t asked, int* console_wait, int* pipe_wait) {
    const uint32_t in = POLLIN | POLLRDNORM, out = POLLOUT | POLLWRNORM;
    if (tern_libc_is_console_fd(fd)) {
        uint32_t events = asked & out;
        if (asked & in) {
            if (tern_libc_console_wait(0))
                events |= asked & in;
            else
                *console_wait = 1;
        }
        return events;
    }
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return POLLNVAL;
    if (file->kind == TERN_LIBC_FD_PIPE_READ || file->kind == TERN_LIBC_FD_PIPE_WRITE) {
        struct tern_libc_pipe_ring* ring = file->pipe.ring;
        int write_end = file->kind == TERN_LIBC_FD_PIPE_WRITE;
        uint32_t events = tern_libc_pipe_poll(ring, write_end, asked);
        if (!events && !__atomic_load_n(&ring->polled, __ATOMIC_RELAXED)) {
            /* From now on every change to the ring wakes (backend_pipes.c, wake_ring):
             * marked before the last look, so a change in between is seen or wakes. */
            __atomic_store_n(&ring->polled, 1, __ATOMIC_SEQ_CST);
            events = tern_libc_pipe_poll(ring, write_end, asked);
        }
        if (!events)
            *pipe_wait = 1;
        return events;
    }
    return asked & (in | out);
}

/* poll's work over a copy of the program's array. timeout_ns: TERN_LIBC_NET_FOREVER for
 * none. Returns how many entries have events. */
static long poll_fds(struct pollfd* fds, size_t count, uint64_t timeout_ns, uint64_t mark) {
    static struct tern_libc_net_poll entries[TERN_LIBC_NET_MAX_POLL];
    static uint32_t entry_fd[TERN_LIBC_NET_MAX_POLL];
    uint64_t deadline = timeout_ns == TERN_LIBC_NET_FOREVER ? TERN_LIBC_NET_FOREVER
                        : timeout_ns > ~now_ns()            ? TERN_LIBC_NET_FOREVER
                                                            : now_ns() + timeout_ns;
    for (;;) {
        long ready = 0;
        uint32_t sockets = 0;
        int console_wait = 0;
        int pipe_wait = 0;
        for (size_t i = 0; i < count; ++i) {
            fds[i].revents = 0;
            if (fds[i].fd < 0)
                continue;
            struct tern_libc_file* file = 0;
            uint32_t asked = (uint32_t)(uint16_t)fds[i].events;
            if (socket_of(fds[i].fd, &file) == 0) {
                if (sockets == TERN_LIBC_NET_MAX_POLL)
                    return -EINVAL; /* FIXME: more than 64 sockets in one poll */
                entries[sockets] = (struct tern_libc_net_poll){
                    file->socket.id, tern_libc_poll_interest(asked), 0, 0};
                entry_fd[sockets++] = (uint32_t)i;
                continue;
            }
            fds[i].revents = (short)local_events(fds[i].fd, asked, &console_wait, &pipe_wait);
            if (fds[i].revents)
                ++ready;
        }
        uint64_t now = now_ns();
        uint64_t left = deadline == TERN_LIBC_NET_FOREVER ? TERN_LIBC_NET_FOREVER
                        : deadline > now                  ? deadline - now
                                                          : 0;
        /* The sockets wait in the server unless something is ready already or the
         * console needs looking at too, in which case the wait is cut in slices. */
        uint64_t socket_wait = ready > 0 ? 0 : left;
        if (console_wait && socket_wait > kConsoleSliceNs)
            socket_wait = kConsoleSliceNs;
        if (sockets > 0) {
            int64_t r = tern_libc_net_poll(entries, sockets, socket_wait);
            if (r < 0)
                return r == TERN_LIBC_NET_NO_SERVER ? -ENETDOWN : -tern_libc_errno_from_status(-r);
            for (uint32_t k = 0; k < sockets; ++k) {
                struct pollfd* p = &fds[entry_fd[k]];
                struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), p->fd);
                tern_libc_socket_observe(&file->socket, entries[k].state, entries[k].error);
                p->revents =
                    (short)tern_libc_poll_events(entries[k].events, (uint32_t)(uint16_t)p->events);
                if (p->revents)
                    ++ready;
            }
        }
        if (ready > 0 || left == 0)
            return ready;
        /* A handler that ran while this call waited ends it (poll and select are never
         * restarted); a wait in the network server that a signal cut short comes here. */
        if (tern_libc_signal_interrupts(mark, 0))
            return -EINTR;
        if (console_wait) {
            uint64_t slice = sockets > 0 || pipe_wait ? 1000000 : left;
            if (slice > left)
                slice = left;
            (void)tern_libc_console_wait(slice);
        } else if (pipe_wait && sockets == 0) {
            /* Only pipes to wait for: sleep until one of the process's pipes changes. */
            (void)tern_libc_pipe_wait(left);
        }
        if (tern_libc_signal_interrupts(mark, 0))
            return -EINTR;
    }
}

/* poll and select with nothing to watch: a sleep that a signal ends. Like poll and
 * select with descriptors, they are never restarted: once a handler has run (SA_RESTART
 * or not) they end with EINTR, as on Linux; an ignored or blocked signal sleeps on. */
static long sleep_unless_signalled(uint64_t timeout_ns, uint64_t mark) {
    uint64_t end = timeout_ns == TERN_LIBC_NET_FOREVER ? TERN_LIBC_NET_FOREVER
                   : timeout_ns > ~now_ns()            ? TERN_LIBC_NET_FOREVER
                                                       : now_ns() + timeout_ns;
    for (;;) {
        uint64_t now = now_ns();
        if (end != TERN_LIBC_NET_FOREVER && now >= end)
            return 0;
        int64_t r =
            tern_sys_thread_sleep(end == TERN_LIBC_NET_FOREVER ? TERN_TIMEOUT_INFINITE : end - now);
        if (r < 0 && r != -TERN_INTERRUPTED)
            return (long)tern_libc_linux_result(r);
        if (tern_libc_signal_interrupts(mark, 0))
            return -EINTR;
    }
}

static uint64_t timeout_from_ms(long ms) {
    return ms < 0 ? TERN_LIBC_NET_FOREVER : (uint64_t)ms * 1000000u;
}

static long sys_poll(struct pollfd* user, unsigned long count, uint64_t timeout_ns) {
    if (count > kMaxPollFds)
        return -EINVAL;
    static struct pollfd fds[kMaxPollFds];
    if (count > 0 && tern_libc_copy_in(fds, user, count * sizeof(struct pollfd)) != 0)
        return -EFAULT;
    uint64_t mark = tern_libc_signal_mark();
    if (count == 0)
        return sleep_unless_signalled(timeout_ns, mark);
    long r = poll_fds(fds, count, timeout_ns, mark);
    if (r < 0)
        return r;
    if (tern_libc_copy_out(user, fds, count * sizeof(struct pollfd)) != 0)
        return -EFAULT;
    return r;
}

static long read_timespec(const struct timespec* user, uint64_t* ns) {
    if (!user) {
        *ns = TERN_LIBC_NET_FOREVER;
        return 0;
    }
    struct timespec ts;
    if (tern_libc_copy_in(&ts, user, sizeof(ts)) != 0)
        return -EFAULT;
    return tern_libc_timespec_to_ns(ts.tv_sec, ts.tv_nsec, ns);
}

static long select_core(long nfds, fd_set* rd, fd_set* wr, fd_set* ex, uint64_t timeout_ns) {
    if (nfds < 0 || nfds > FD_SETSIZE)
        return -EINVAL;
    static fd_set sets[3];
    fd_set* user[3] = {rd, wr, ex};
    size_t bytes = ((size_t)nfds + 63) / 64 * 8;
    for (int k = 0; k < 3; ++k) {
        memset(&sets[k], 0, sizeof(sets[k]));
        if (user[k] && bytes > 0 && tern_libc_copy_in(&sets[k], user[k], bytes) != 0)
            return -EFAULT;
    }
    static struct pollfd fds[FD_SETSIZE];
    size_t count = 0;
    for (long fd = 0; fd < nfds; ++fd) {
        short events = 0;
        if (FD_ISSET(fd, &sets[0]))
            events |= POLLIN;
        if (FD_ISSET(fd, &sets[1]))
            events |= POLLOUT;
        if (FD_ISSET(fd, &sets[2]))
            events |= POLLPRI;
        if (!events)
            continue;
        if (!tern_libc_fd_lookup(tern_libc_fds(), fd))
            return -EBADF;
        fds[count++] = (struct pollfd){(int)fd, events, 0};
    }
    uint64_t mark = tern_libc_signal_mark();
    long r = count > 0 ? poll_fds(fds, count, timeout_ns, mark)
                       : sleep_unless_signalled(timeout_ns, mark);
    if (r < 0)
        return r;
    for (int k = 0; k < 3; ++k)
        memset(&sets[k], 0, sizeof(sets[k]));
    long marked = 0;
    for (size_t i = 0; i < count; ++i) {
        short got = fds[i].revents;
        if ((fds[i].events & POLLIN) && (got & (POLLIN | POLLHUP | POLLERR))) {
            FD_SET(fds[i].fd, &sets[0]);
            ++marked;
        }
        if ((fds[i].events & POLLOUT) && (got & (POLLOUT | POLLERR))) {
            FD_SET(fds[i].fd, &sets[1]);
            ++marked;
        }
    }
    for (int k = 0; k < 3; ++k)
        if (user[k] && bytes > 0 && tern_libc_copy_out(user[k], &sets[k], bytes) != 0)
            return -EFAULT;
    return marked;
}

static long sys_select(long nfds, fd_set* rd, fd_set* wr, fd_set* ex, struct timeval* tv) {
    uint64_t ns = TERN_LIBC_NET_FOREVER;
    if (tv) {
        struct timeval t;
        if (tern_libc_copy_in(&t, tv, sizeof(t)) != 0)
            return -EFAULT;
        if (t.tv_sec < 0 || t.tv_usec < 0 || t.tv_usec >= 1000000)
            return -EINVAL;
        ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_usec * 1000u;
    }
    return select_core(nfds, rd, wr, ex, ns);
}

long tern_libc_socket_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6,
                              int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_socket:
        return sys_socket(a1, a2, a3);
    case SYS_bind:
        return sys_bind(a1, (const void*)a2, a3);
    case SYS_listen:
        return sys_listen(a1, a2);
    case SYS_accept:
        return sys_accept4(a1, (void*)a2, (socklen_t*)a3, 0);
    case SYS_accept4:
        return sys_accept4(a1, (void*)a2, (socklen_t*)a3, a4);
    case SYS_connect:
        return sys_connect(a1, (const void*)a2, a3);
    case SYS_sendto:
        return sys_sendto(a1, (const void*)a2, (size_t)a3, a4, (const void*)a5, a6);
    case SYS_recvfrom:
        return sys_recvfrom(a1, (void*)a2, (size_t)a3, a4, (void*)a5, (socklen_t*)a6);
    case SYS_sendmsg:
        return sys_sendmsg(a1, (const struct msghdr*)a2, a3);
    case SYS_recvmsg:
        return sys_recvmsg(a1, (struct msghdr*)a2, a3);
    case SYS_shutdown:
        return sys_shutdown(a1, a2);
    case SYS_getsockname:
        return sys_name(a1, (void*)a2, (socklen_t*)a3, 0);
    case SYS_getpeername:
        return sys_name(a1, (void*)a2, (socklen_t*)a3, 1);
    case SYS_setsockopt:
        return sys_setsockopt(a1, a2, a3, (const void*)a4, a5);
    case SYS_getsockopt:
        return sys_getsockopt(a1, a2, a3, (void*)a4, (socklen_t*)a5);
    case SYS_poll:
        return sys_poll((struct pollfd*)a1, (unsigned long)a2, timeout_from_ms(a3));
    case SYS_ppoll: {
        /* FIXME: the signal mask is not applied for the wait (nor pselect6's), so a
         * signal it would block can end the wait with EINTR. */
        uint64_t ns = 0;
        long r = read_timespec((const struct timespec*)a3, &ns);
        return r != 0 ? r : sys_poll((struct pollfd*)a1, (unsigned long)a2, ns);
    }
    case SYS_select:
        return sys_select(a1, (fd_set*)a2, (fd_set*)a3, (fd_set*)a4, (struct timeval*)a5);
    case SYS_pselect6: {
        uint64_t ns = 0;
        long r = read_timespec((const struct timespec*)a5, &ns);
        return r != 0 ? r : select_core(a1, (fd_set*)a2, (fd_set*)a3, (fd_set*)a4, ns);
    }
    default:
        *handled = 0;
        (void)a6;
        return -ENOSYS;
    }
}

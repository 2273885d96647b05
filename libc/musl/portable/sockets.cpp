// Tern's musl port: the pure rules behind BSD sockets (see sockets.h).
#include <libc/musl/portable/sockets.h>
#include <libc/musl/portable/translate.h>
#include <tern/abi/errors.h>

namespace {

constexpr uint32_t kServerConnected = 4; // net::SocketState::kConnected
constexpr uint32_t kServerClosing = 5;   // net::SocketState::kClosing

// The protocol's option numbers (net::SocketOption).
constexpr uint32_t kOptionReuseAddress = 1;
constexpr uint32_t kOptionNoDelay = 2;
constexpr uint32_t kOptionKeepAlive = 3;

uint16_t load16_be(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
uint32_t load32_be(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
int32_t load32_le(const uint8_t* p) {
    return int32_t(uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16)
                   | (uint32_t(p[3]) << 24));
}
int64_t load64_le(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return int64_t(v);
}
void store64_le(uint8_t* p, int64_t value) {
    uint64_t v = uint64_t(value);
    for (int i = 0; i < 8; ++i)
        p[i] = uint8_t(v >> (8 * i));
}
void store32_le(uint8_t* p, int32_t value) {
    uint32_t v = uint32_t(value);
    for (int i = 0; i < 4; ++i)
        p[i] = uint8_t(v >> (8 * i));
}

bool is_stream(const tern_libc_socket* s) { return s->type == TERN_LINUX_SOCK_STREAM; }

} // namespace

extern "C" {

int tern_libc_socket_check_create(int64_t domain, int64_t type, int64_t protocol,
                                  uint32_t* base_type, uint32_t* extra) {
    // Linux checks the family before the type.
    if (domain != TERN_LINUX_AF_INET)
        return -TERN_LINUX_EAFNOSUPPORT;
    int64_t flags = type & ~int64_t(0xf);
    int64_t base = type & 0xf;
    if (flags & ~int64_t(TERN_LINUX_SOCK_NONBLOCK | TERN_LINUX_SOCK_CLOEXEC))
        return -TERN_LINUX_EINVAL;
    if (base <= 0 || base > 10)
        return -TERN_LINUX_EINVAL;
    if (base == TERN_LINUX_SOCK_STREAM) {
        if (protocol != 0 && protocol != TERN_LINUX_IPPROTO_TCP)
            return -TERN_LINUX_EPROTONOSUPPORT;
    } else if (base == TERN_LINUX_SOCK_DGRAM) {
        if (protocol != 0 && protocol != TERN_LINUX_IPPROTO_UDP)
            return -TERN_LINUX_EPROTONOSUPPORT;
    } else {
        return -TERN_LINUX_EPROTONOSUPPORT;
    }
    *base_type = uint32_t(base);
    *extra = uint32_t(flags);
    return 0;
}

int tern_libc_sockaddr_read(const void* bytes, int64_t len, int allow_unspec, uint32_t* ip,
                            uint16_t* port) {
    if (len < TERN_LINUX_SOCKADDR_IN_SIZE || len > TERN_LINUX_SOCKADDR_MAX)
        return -TERN_LINUX_EINVAL;
    const auto* p = static_cast<const uint8_t*>(bytes);
    uint16_t family = uint16_t(p[0] | (p[1] << 8)); // sa_family_t, host order
    if (family != TERN_LINUX_AF_INET && !(allow_unspec && family == TERN_LINUX_AF_UNSPEC))
        return -TERN_LINUX_EAFNOSUPPORT;
    *port = load16_be(p + 2);
    *ip = load32_be(p + 4);
    return 0;
}

void tern_libc_sockaddr_make(uint32_t ip, uint16_t port, uint8_t out[TERN_LINUX_SOCKADDR_IN_SIZE]) {
    for (int i = 0; i < TERN_LINUX_SOCKADDR_IN_SIZE; ++i)
        out[i] = 0;
    out[0] = TERN_LINUX_AF_INET;
    out[2] = uint8_t(port >> 8);
    out[3] = uint8_t(port);
    out[4] = uint8_t(ip >> 24);
    out[5] = uint8_t(ip >> 16);
    out[6] = uint8_t(ip >> 8);
    out[7] = uint8_t(ip);
}

int tern_libc_sockaddr_out_size(int64_t given) {
    if (given < 0)
        return -TERN_LINUX_EINVAL;
    return given < TERN_LINUX_SOCKADDR_IN_SIZE ? int(given) : TERN_LINUX_SOCKADDR_IN_SIZE;
}

int tern_libc_socket_precheck(const struct tern_libc_socket* s, enum tern_libc_socket_op op,
                              int addressed) {
    uint32_t state = s->state;
    switch (op) {
    case TERN_LIBC_OP_BIND:
        return state == TERN_LIBC_SOCKET_CREATED ? 0 : -TERN_LINUX_EINVAL;
    case TERN_LIBC_OP_LISTEN:
        if (!is_stream(s))
            return -TERN_LINUX_EOPNOTSUPP;
        if (state == TERN_LIBC_SOCKET_CREATED || state == TERN_LIBC_SOCKET_BOUND
            || state == TERN_LIBC_SOCKET_LISTENING)
            return 0;
        return -TERN_LINUX_EINVAL;
    case TERN_LIBC_OP_ACCEPT:
        if (!is_stream(s))
            return -TERN_LINUX_EOPNOTSUPP;
        return state == TERN_LIBC_SOCKET_LISTENING ? 0 : -TERN_LINUX_EINVAL;
    case TERN_LIBC_OP_CONNECT:
        if (!is_stream(s))
            return 0; // a datagram socket may change its peer
        switch (state) {
        case TERN_LIBC_SOCKET_CONNECTED:
        case TERN_LIBC_SOCKET_LISTENING:
            return -TERN_LINUX_EISCONN;
        case TERN_LIBC_SOCKET_CONNECTING:
            return -TERN_LINUX_EALREADY;
        case TERN_LIBC_SOCKET_FAILED:
            // The server's socket cannot connect again; Linux would try once more.
            return -TERN_LINUX_EINVAL;
        default:
            return 0;
        }
    case TERN_LIBC_OP_SEND:
        if (!is_stream(s)) {
            if (s->flags & TERN_LIBC_SOCKET_SHUT_WRITE)
                return 1;
            if (!addressed && state != TERN_LIBC_SOCKET_CONNECTED)
                return -TERN_LINUX_EDESTADDRREQ;
            return 0;
        }
        if (s->flags & TERN_LIBC_SOCKET_SHUT_WRITE)
            return 1;
        switch (state) {
        case TERN_LIBC_SOCKET_CONNECTED:
            return 0;
        case TERN_LIBC_SOCKET_CONNECTING:
            return -TERN_LINUX_EAGAIN;
        case TERN_LIBC_SOCKET_FAILED:
            if (!(s->flags & TERN_LIBC_SOCKET_ERROR_REPORTED) && s->error != 0)
                return -s->error;
            return 1;
        default:
            return 1; // never connected: Linux says EPIPE
        }
    case TERN_LIBC_OP_RECV:
        if (!is_stream(s))
            return 0;
        switch (state) {
        case TERN_LIBC_SOCKET_CONNECTED:
            return (s->flags & TERN_LIBC_SOCKET_SHUT_READ) ? 1 : 0;
        case TERN_LIBC_SOCKET_FAILED:
            if (!(s->flags & TERN_LIBC_SOCKET_ERROR_REPORTED) && s->error != 0)
                return -s->error;
            return 1;
        default:
            return -TERN_LINUX_ENOTCONN;
        }
    case TERN_LIBC_OP_SHUTDOWN:
        if (state == TERN_LIBC_SOCKET_CONNECTED)
            return 0;
        return -TERN_LINUX_ENOTCONN;
    case TERN_LIBC_OP_PEERNAME:
        return state == TERN_LIBC_SOCKET_CONNECTED ? 0 : -TERN_LINUX_ENOTCONN;
    default:
        return 0;
    }
}

int tern_libc_socket_error(struct tern_libc_socket* s, enum tern_libc_socket_op op,
                           int64_t status) {
    switch (status) {
    case TERN_OK:
        return 0;
    case TERN_BAD_HANDLE:
        return -TERN_LINUX_EBADF;
    case TERN_TOO_BIG:
        return -TERN_LINUX_EMSGSIZE;
    case TERN_ALREADY_EXISTS:
        return op == TERN_LIBC_OP_CONNECT ? -TERN_LINUX_EISCONN : -TERN_LINUX_EADDRINUSE;
    case TERN_WOULD_BLOCK:
        if (op == TERN_LIBC_OP_CONNECT) {
            s->state = TERN_LIBC_SOCKET_CONNECTING;
            s->flags |= TERN_LIBC_SOCKET_CONNECT_UNREPORTED;
            return -TERN_LINUX_EINPROGRESS;
        }
        return -TERN_LINUX_EAGAIN;
    case TERN_NO_SPACE:
        return -TERN_LINUX_ENOBUFS;
    case TERN_QUOTA_EXCEEDED:
        return -TERN_LINUX_EMFILE;
    case TERN_NO_MEMORY:
        return -TERN_LINUX_ENOMEM;
    case TERN_INVALID_ARGUMENT:
        // The state rules ran before the call, so what is left is the address: one that
        // is not this node's (bind), or a destination of 0 (connect, send).
        if (op == TERN_LIBC_OP_BIND)
            return -TERN_LINUX_EADDRNOTAVAIL;
        if (op == TERN_LIBC_OP_SEND && is_stream(s))
            return -TERN_LINUX_EPIPE;
        return -TERN_LINUX_EINVAL;
    case TERN_NOT_FOUND:
    case TERN_TIMED_OUT:
    case TERN_PEER_CLOSED: {
        int error = status == TERN_NOT_FOUND   ? TERN_LINUX_ECONNREFUSED
                    : status == TERN_TIMED_OUT ? TERN_LINUX_ETIMEDOUT
                                               : TERN_LINUX_ECONNRESET;
        if (!is_stream(s))
            return status == TERN_NOT_FOUND ? -TERN_LINUX_ECONNREFUSED : -error;
        if (op == TERN_LIBC_OP_ACCEPT)
            return -TERN_LINUX_ECONNABORTED;
        if (s->state == TERN_LIBC_SOCKET_FAILED && (s->flags & TERN_LIBC_SOCKET_ERROR_REPORTED))
            return op == TERN_LIBC_OP_RECV ? 0 : -TERN_LINUX_EPIPE;
        s->state = TERN_LIBC_SOCKET_FAILED;
        s->error = 0;
        s->flags |= TERN_LIBC_SOCKET_ERROR_REPORTED;
        return -error;
    }
    default:
        return -tern_libc_errno_from_status(status);
    }
}

int tern_libc_shutdown_bits(int64_t how) {
    switch (how) {
    case TERN_LINUX_SHUT_RD:
        return 1;
    case TERN_LINUX_SHUT_WR:
        return 2;
    case TERN_LINUX_SHUT_RDWR:
        return 3;
    default:
        return -TERN_LINUX_EINVAL;
    }
}

int tern_libc_socket_setopt(struct tern_libc_socket* s, int64_t level, int64_t name,
                            const void* value, int64_t len, uint32_t* server_option,
                            uint32_t* server_value) {
    const auto* p = static_cast<const uint8_t*>(value);
    *server_option = 0;
    *server_value = 0;
    uint32_t flag = 0;
    if (level == TERN_LINUX_SOL_SOCKET) {
        switch (name) {
        case TERN_LINUX_SO_REUSEADDR:
            flag = TERN_LIBC_SOCKET_REUSEADDR;
            *server_option = kOptionReuseAddress;
            break;
        case TERN_LINUX_SO_KEEPALIVE:
            flag = TERN_LIBC_SOCKET_KEEPALIVE;
            *server_option = is_stream(s) ? kOptionKeepAlive : 0;
            break;
        case TERN_LINUX_SO_RCVTIMEO:
        case TERN_LINUX_SO_SNDTIMEO: {
            if (len < 16)
                return -TERN_LINUX_EINVAL;
            int64_t seconds = load64_le(p), microseconds = load64_le(p + 8);
            if (microseconds < 0 || microseconds >= 1000000)
                return -TERN_LINUX_EDOM;
            uint64_t ns = 0;
            if (seconds > 0 || (seconds == 0 && microseconds > 0)) {
                // Beyond 584 years is for ever, which is what 0 means.
                ns = uint64_t(seconds) > (~uint64_t(0) / 1000000000u) - 1
                         ? 0
                         : uint64_t(seconds) * 1000000000u + uint64_t(microseconds) * 1000u;
            }
            if (name == TERN_LINUX_SO_RCVTIMEO)
                s->receive_timeout_ns = ns;
            else
                s->send_timeout_ns = ns;
            return 0;
        }
        default:
            return -TERN_LINUX_ENOPROTOOPT;
        }
    } else if (level == TERN_LINUX_IPPROTO_TCP && is_stream(s) && name == TERN_LINUX_TCP_NODELAY) {
        flag = TERN_LIBC_SOCKET_NODELAY;
        *server_option = kOptionNoDelay;
    } else {
        return -TERN_LINUX_ENOPROTOOPT;
    }
    if (len < 4)
        return -TERN_LINUX_EINVAL;
    bool on = load32_le(p) != 0;
    s->flags = on ? s->flags | flag : s->flags & ~flag;
    *server_value = on ? 1 : 0;
    return 0;
}

int tern_libc_socket_getopt(struct tern_libc_socket* s, int64_t level, int64_t name, void* out,
                            uint32_t* size) {
    auto* p = static_cast<uint8_t*>(out);
    int32_t v = 0;
    if (level == TERN_LINUX_SOL_SOCKET) {
        switch (name) {
        case TERN_LINUX_SO_REUSEADDR:
            v = (s->flags & TERN_LIBC_SOCKET_REUSEADDR) ? 1 : 0;
            break;
        case TERN_LINUX_SO_KEEPALIVE:
            v = (s->flags & TERN_LIBC_SOCKET_KEEPALIVE) ? 1 : 0;
            break;
        case TERN_LINUX_SO_TYPE:
            v = int32_t(s->type);
            break;
        case TERN_LINUX_SO_ERROR:
            v = s->error;
            s->error = 0;
            if (v != 0)
                s->flags |= TERN_LIBC_SOCKET_ERROR_REPORTED;
            break;
        case TERN_LINUX_SO_RCVTIMEO:
        case TERN_LINUX_SO_SNDTIMEO: {
            uint64_t ns =
                name == TERN_LINUX_SO_RCVTIMEO ? s->receive_timeout_ns : s->send_timeout_ns;
            store64_le(p, int64_t(ns / 1000000000u));
            store64_le(p + 8, int64_t((ns % 1000000000u) / 1000u));
            *size = 16;
            return 0;
        }
        default:
            return -TERN_LINUX_ENOPROTOOPT;
        }
    } else if (level == TERN_LINUX_IPPROTO_TCP && is_stream(s) && name == TERN_LINUX_TCP_NODELAY) {
        v = (s->flags & TERN_LIBC_SOCKET_NODELAY) ? 1 : 0;
    } else {
        return -TERN_LINUX_ENOPROTOOPT;
    }
    store32_le(p, v);
    *size = 4;
    return 0;
}

uint32_t tern_libc_poll_interest(uint32_t requested) {
    uint32_t interest = 0;
    if (requested & (TERN_LINUX_POLLIN | TERN_LINUX_POLLRDNORM))
        interest |= TERN_NET_POLL_READABLE;
    if (requested & (TERN_LINUX_POLLOUT | TERN_LINUX_POLLWRNORM))
        interest |= TERN_NET_POLL_WRITABLE;
    return interest;
}

uint32_t tern_libc_poll_events(uint32_t net_events, uint32_t requested) {
    if (net_events & TERN_NET_POLL_INVALID)
        return TERN_LINUX_POLLNVAL;
    uint32_t events = 0;
    if (net_events & TERN_NET_POLL_READABLE)
        events |= requested & (TERN_LINUX_POLLIN | TERN_LINUX_POLLRDNORM);
    if (net_events & TERN_NET_POLL_WRITABLE)
        events |= requested & (TERN_LINUX_POLLOUT | TERN_LINUX_POLLWRNORM);
    if (net_events & TERN_NET_POLL_ERROR)
        events |= TERN_LINUX_POLLERR;
    if (net_events & TERN_NET_POLL_HANGUP)
        events |= TERN_LINUX_POLLHUP;
    return events;
}

void tern_libc_socket_observe(struct tern_libc_socket* s, uint32_t server_state, int32_t error) {
    if (s->state != TERN_LIBC_SOCKET_CONNECTING)
        return;
    if (error != 0) {
        struct tern_libc_socket probe = *s;
        int e = tern_libc_socket_error(&probe, TERN_LIBC_OP_CONNECT, error);
        s->state = TERN_LIBC_SOCKET_FAILED;
        s->error = -e;
        s->flags &= ~TERN_LIBC_SOCKET_ERROR_REPORTED;
    } else if (server_state == kServerConnected || server_state == kServerClosing) {
        s->state = TERN_LIBC_SOCKET_CONNECTED;
    }
}

} // extern "C"

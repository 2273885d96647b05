// The network server's sockets: UDP and TCP over lwIP's raw API (<tern/protocols/net.h>).
//
// Every socket lives in a fixed table and is named by index and generation, so a stale or
// made-up id is recognised. lwIP calls back into this file (data arrived, room to send,
// connection up or gone) from inside the event loop; each callback moves data into the
// socket's queue and answers the call parked on the socket, if any. Received data stays in
// lwIP's pbufs until the program reads it, and TCP's window opens only as it does
// (tcp_recved), so a slow reader slows its sender instead of filling the server.
#include "server.h"

#include <base/utility.h>
#include <tern/new.h>
#include <tern/print.h>
#include <tern/protocols/net.h>
#include <tern/syscall.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

namespace netsrv {

using namespace tern;
using base::Error;
using net::Address;
using net::SocketState;
using net::SocketType;

namespace {

constexpr uint32_t kMaxDatagrams = 32;
constexpr uint32_t kMaxClients = 64;

struct Datagram {
    pbuf* p;
    Address from;
};

struct Socket {
    bool used = false;
    uint16_t index = 0;
    uint16_t generation = 0; // bumped (never to 0) each time the slot is taken
    SocketType type{};       // set when the slot is taken
    SocketState state = SocketState::kClosed;
    uint64_t owner = 0;
    // Other tasks holding it (Share): a forked child, the new image of an execve.
    uint64_t sharers[net::kMaxSharers] = {};
    uint32_t sharer_count = 0;
    uint64_t accept_task = 0; // whose parked Accept waits
    udp_pcb* udp = nullptr;
    tcp_pcb* tcp = nullptr;
    Address udp_peer = {};
    bool udp_connected = false;
    // TCP state beside lwIP's.
    bool peer_closed = false; // FIN received
    bool shut_read = false;
    bool shut_write = false;
    bool awaiting_accept = false; // a connection in its listener's queue
    Error error = Error::OK;      // why the connection ended (state kError)
    pbuf* rx = nullptr;           // TCP: received, not yet read
    Datagram datagrams[kMaxDatagrams] = {};
    uint32_t datagram_head = 0, datagram_count = 0;
    uint64_t drops = 0;
    uint32_t backlog = 0;
    uint32_t accept_queue[net::kMaxBacklog] = {};
    uint32_t accept_count = 0;
    // Parked calls.
    proto::PendingReply recv, send, accept, connect;
    // When a parked Recv or Send gives up (net::kPollForever: never).
    uint64_t recv_deadline = net::kPollForever;
    uint64_t send_deadline = net::kPollForever;
    uint32_t recv_max = 0;
    bool delivery_due = false;      // TCP data came for a parked Recv: answered by deliver_held()
    uint8_t* send_buffer = nullptr; // kMaxData bytes, allocated the first time a send waits
    uint32_t send_size = 0;
};

struct Client {
    bool used = false;
    uint32_t generation = 0;
    uint64_t task_id = 0;
    tern_handle_t task = TERN_INVALID_HANDLE;
    uint32_t sockets = 0;
    // A parked Poll: its entries and when it expires (kPollForever: never).
    proto::PendingReply poll;
    uint64_t poll_deadline = 0;
    uint32_t poll_count = 0;
    net::PollEntry poll_entries[net::kMaxPoll] = {};
};

// Sockets are allocated the first time their slot is used and kept for reuse, so the
// server's memory grows with the most sockets it has had at once, not with the table.
Socket* g_sockets[net::kMaxSockets];
Client g_clients[kMaxClients];
// Data for a reply is gathered here from a pbuf chain; one reply is built at a time.
uint8_t g_scratch[net::kMaxData];
// At least the number of parked Recv and Send calls with a deadline; the loop looks for
// expired ones only while it is not zero (expire_waits sets it to the exact count).
uint32_t g_timed_calls = 0;
// While a driver's Sync is served, TCP data is only marked (delivery_due) and the parked
// Recvs are answered when the Sync's frames are all in; g_deliveries_due counts the marks.
bool g_holding = false;
uint32_t g_deliveries_due = 0;

// The deadline of a call that may wait wait_ns (0: without limit).
uint64_t deadline_after(uint64_t wait_ns) {
    if (wait_ns == 0)
        return net::kPollForever;
    uint64_t now = uint64_t(tern_sys_clock_monotonic());
    return wait_ns >= net::kPollForever - now ? net::kPollForever : now + wait_ns;
}

uint32_t socket_id(const Socket& s) { return (uint32_t(s.generation) << 16) | s.index; }

// Whether task holds s: made it or was given it by Share.
bool holds(const Socket& s, uint64_t task) {
    if (s.owner == task)
        return true;
    for (uint32_t i = 0; i < s.sharer_count; ++i)
        if (s.sharers[i] == task)
            return true;
    return false;
}

Socket* find(proto::Request& request, uint32_t id) {
    uint32_t index = id & 0xFFFF;
    if (index < net::kMaxSockets) {
        Socket* s = g_sockets[index];
        if (s && s->used && s->generation == (id >> 16) && holds(*s, request.badge())
            && !s->awaiting_accept)
            return s;
    }
    request.set_refusal_reason("no such socket");
    return nullptr;
}

Client* client_of(uint64_t task_id) {
    for (Client& c : g_clients)
        if (c.used && c.task_id == task_id)
            return &c;
    return nullptr;
}

// Takes task's hold of s away (one of several holders); the socket stays open for the
// others. An owner that lets go is replaced by a sharer.
void drop_hold(Socket& s, uint64_t task) {
    if (s.owner == task) {
        s.owner = s.sharers[--s.sharer_count];
    } else {
        for (uint32_t i = 0; i < s.sharer_count; ++i)
            if (s.sharers[i] == task) {
                s.sharers[i] = s.sharers[--s.sharer_count];
                break;
            }
    }
    if (Client* c = client_of(task))
        --c->sockets;
}

// An accepted connection goes to the task whose Accept took it (one of the listener's
// holders), when that task has room for it; it stays with the listener's owner otherwise.
void give_accepted(Socket& child, uint64_t task) {
    if (task == 0 || child.owner == task)
        return;
    Client* to = client_of(task);
    if (!to || to->sockets >= net::kMaxSocketsPerTask)
        return;
    if (Client* from = client_of(child.owner))
        --from->sockets;
    child.owner = task;
    ++to->sockets;
}

ip_addr_t to_lwip(uint32_t ip) {
    ip_addr_t a;
    ip4_addr_set_u32(&a, lwip_htonl(ip));
    return a;
}

Address from_lwip(const ip_addr_t& a, uint16_t port) {
    return {lwip_ntohl(ip4_addr_get_u32(&a)), port, 0};
}

Socket* alloc_socket(uint64_t owner, SocketType type) {
    Client* c = client_of(owner);
    if (!c || c->sockets >= net::kMaxSocketsPerTask)
        return nullptr;
    for (uint16_t i = 0; i < net::kMaxSockets; ++i) {
        if (!g_sockets[i]) {
            g_sockets[i] = new (std::nothrow) Socket;
            if (!g_sockets[i])
                return nullptr;
        } else if (g_sockets[i]->used) {
            continue;
        }
        Socket& s = *g_sockets[i];
        uint16_t generation = uint16_t(s.generation + 1 == 0 ? 1 : s.generation + 1);
        uint8_t* buffer = s.send_buffer;
        s = Socket{};
        s.used = true;
        s.index = i;
        s.generation = generation;
        s.owner = owner;
        s.type = type;
        s.send_buffer = buffer;
        ++c->sockets;
        return &s;
    }
    return nullptr;
}

// ---- Answers to parked calls ----------------------------------------------------------

void fail_parked(proto::PendingReply& pending, Error status) {
    if (pending.valid())
        (void)proto::reply_raw(base::exchange(pending.reply, TERN_INVALID_HANDLE), status, nullptr,
                               0, proto::Reply{});
}

uint32_t tcp_queued(const Socket& s) { return s.rx ? s.rx->tot_len : 0; }

// Builds a Recv answer from what the socket holds: the bytes go to g_scratch. Returns
// false when there is nothing to answer with yet. `consume` is then called once the
// answer has been delivered.
bool recv_answer(Socket& s, uint32_t max, net::RecvResponse& out, Error& status) {
    status = Error::OK;
    out = {};
    if (s.type == SocketType::kUdp) {
        if (s.datagram_count == 0)
            return false;
        const Datagram& d = s.datagrams[s.datagram_head];
        uint32_t n = base::min<uint32_t>(d.p->tot_len, max);
        out.size = pbuf_copy_partial(d.p, g_scratch, uint16_t(n), 0);
        out.truncated = d.p->tot_len > max ? 1 : 0;
        out.from = d.from;
        return true;
    }
    if (s.rx) {
        uint32_t n = base::min<uint32_t>(s.rx->tot_len, max);
        out.size = pbuf_copy_partial(s.rx, g_scratch, uint16_t(n), 0);
        out.from = s.tcp ? from_lwip(s.tcp->remote_ip, s.tcp->remote_port) : Address{};
        return true;
    }
    if (s.state == SocketState::kError) {
        status = s.error;
        return true;
    }
    if (s.peer_closed || s.shut_read) {
        out.end_of_stream = 1;
        return true;
    }
    return false;
}

void recv_consume(Socket& s, const net::RecvResponse& out) {
    if (s.type == SocketType::kUdp) {
        if (s.datagram_count == 0)
            return;
        pbuf_free(s.datagrams[s.datagram_head].p);
        s.datagram_head = (s.datagram_head + 1) % kMaxDatagrams;
        --s.datagram_count;
        return;
    }
    if (out.size > 0 && s.rx) {
        s.rx = pbuf_free_header(s.rx, uint16_t(out.size));
        if (s.tcp)
            tcp_recved(s.tcp, uint16_t(out.size));
    }
}

void deliver_recv(Socket& s) {
    if (!s.recv.valid())
        return;
    net::RecvResponse out;
    Error status;
    if (!recv_answer(s, s.recv_max, out, status))
        return;
    proto::Reply parts;
    parts.data = {g_scratch, status == Error::OK ? out.size : 0};
    // A caller that gave up gets nothing, and the data stays for the next Recv.
    if (proto::reply_later<net::Recv>(s.recv, status, out, parts) == Error::OK
        && status == Error::OK)
        recv_consume(s, out);
}

// Writes as much of data as TCP's send buffer takes now; returns the bytes taken.
uint32_t tcp_push(Socket& s, const uint8_t* data, uint32_t size) {
    uint32_t room = base::min<uint32_t>(tcp_sndbuf(s.tcp), size);
    if (room == 0 || tcp_sndqueuelen(s.tcp) >= TCP_SND_QUEUELEN)
        return 0;
    if (tcp_write(s.tcp, data, uint16_t(room), TCP_WRITE_FLAG_COPY) != ERR_OK)
        return 0;
    (void)tcp_output(s.tcp);
    return room;
}

void deliver_send(Socket& s) {
    if (!s.send.valid())
        return;
    Error status = Error::OK;
    net::SendResponse out{};
    if (s.state == SocketState::kError) {
        status = s.error;
    } else if (!s.tcp) {
        status = Error::PEER_CLOSED;
    } else {
        out.sent = tcp_push(s, s.send_buffer, s.send_size);
        if (out.sent == 0)
            return;
    }
    (void)proto::reply_later<net::Send>(s.send, status, out);
}

void deliver_accept(Socket& listener) {
    if (!listener.accept.valid() || listener.accept_count == 0)
        return;
    Socket& child = *g_sockets[listener.accept_queue[0]];
    net::AcceptResponse out{socket_id(child), {}};
    if (child.tcp)
        out.peer = from_lwip(child.tcp->remote_ip, child.tcp->remote_port);
    if (proto::reply_later<net::Accept>(listener.accept, Error::OK, out) != Error::OK)
        return;
    child.awaiting_accept = false;
    give_accepted(child, listener.accept_task);
    for (uint32_t i = 1; i < listener.accept_count; ++i)
        listener.accept_queue[i - 1] = listener.accept_queue[i];
    --listener.accept_count;
}

// ---- lwIP callbacks ---------------------------------------------------------------------

void on_udp_recv(void* arg, udp_pcb*, pbuf* p, const ip_addr_t* addr, u16_t port) {
    Socket& s = *static_cast<Socket*>(arg);
    if (s.datagram_count == kMaxDatagrams) {
        ++s.drops;
        pbuf_free(p);
        return;
    }
    s.datagrams[(s.datagram_head + s.datagram_count) % kMaxDatagrams] = {p, from_lwip(*addr, port)};
    ++s.datagram_count;
    deliver_recv(s);
}

Error map_connection_error(const Socket& s, err_t err) {
    switch (err) {
    case ERR_RST:
        return s.state == SocketState::kConnecting ? Error::NOT_FOUND : Error::PEER_CLOSED;
    case ERR_ABRT:
    case ERR_TIMEOUT:
        return Error::TIMED_OUT;
    case ERR_RTE:
        return Error::NOT_FOUND;
    default:
        return Error::PEER_CLOSED;
    }
}

// lwIP has freed the pcb already.
void on_tcp_err(void* arg, err_t err) {
    if (!arg)
        return;
    Socket& s = *static_cast<Socket*>(arg);
    s.tcp = nullptr;
    s.error = map_connection_error(s, err);
    s.state = SocketState::kError;
    fail_parked(s.connect, s.error);
    fail_parked(s.send, s.error);
    deliver_recv(s);
}

err_t on_tcp_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t err) {
    Socket& s = *static_cast<Socket*>(arg);
    if (err != ERR_OK) {
        if (p)
            pbuf_free(p);
        return ERR_OK;
    }
    if (!p) {
        s.peer_closed = true;
        if (s.state == SocketState::kConnected)
            s.state = SocketState::kClosing;
    } else if (s.shut_read) {
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    } else if (s.rx) {
        pbuf_cat(s.rx, p);
    } else {
        s.rx = p;
    }
    if (!g_holding) {
        deliver_recv(s);
    } else if (s.recv.valid() && !s.delivery_due) {
        // Answered when the rest of the Sync's frames are in, in one answer.
        s.delivery_due = true;
        ++g_deliveries_due;
    }
    return ERR_OK;
}

err_t on_tcp_sent(void* arg, tcp_pcb*, u16_t) {
    deliver_send(*static_cast<Socket*>(arg));
    return ERR_OK;
}

err_t on_tcp_connected(void* arg, tcp_pcb* pcb, err_t) {
    Socket& s = *static_cast<Socket*>(arg);
    s.state = SocketState::kConnected;
    if (s.connect.valid()) {
        net::AddressResponse out{from_lwip(pcb->local_ip, pcb->local_port)};
        (void)proto::reply_later<net::Connect>(s.connect, Error::OK, out);
    }
    return ERR_OK;
}

void attach_tcp_callbacks(Socket& s) {
    tcp_arg(s.tcp, &s);
    tcp_recv(s.tcp, on_tcp_recv);
    tcp_sent(s.tcp, on_tcp_sent);
    tcp_err(s.tcp, on_tcp_err);
}

err_t on_tcp_accept(void* arg, tcp_pcb* pcb, err_t err) {
    Socket& listener = *static_cast<Socket*>(arg);
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    Socket* child = nullptr;
    if (listener.accept_count < listener.backlog)
        child = alloc_socket(listener.owner, SocketType::kTcp);
    if (!child) {
        // Backlog or tables full: the peer sees a reset, as with a full listen queue.
        ++listener.drops;
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    child->tcp = pcb;
    child->state = SocketState::kConnected;
    child->awaiting_accept = true;
    attach_tcp_callbacks(*child);
    listener.accept_queue[listener.accept_count++] = child->index;
    deliver_accept(listener);
    return ERR_OK;
}

// ---- Closing ----------------------------------------------------------------------------

void release(Socket& s) {
    fail_parked(s.recv, Error::PEER_CLOSED);
    fail_parked(s.send, Error::PEER_CLOSED);
    fail_parked(s.accept, Error::PEER_CLOSED);
    fail_parked(s.connect, Error::PEER_CLOSED);
    for (uint32_t i = 0; i < s.datagram_count; ++i)
        pbuf_free(s.datagrams[(s.datagram_head + i) % kMaxDatagrams].p);
    s.datagram_count = 0;
    if (s.udp) {
        udp_remove(s.udp);
        s.udp = nullptr;
    }
    bool unread = s.rx != nullptr;
    if (s.rx) {
        pbuf_free(s.rx);
        s.rx = nullptr;
    }
    if (s.tcp) {
        tcp_pcb* pcb = base::exchange(s.tcp, nullptr);
        tcp_arg(pcb, nullptr);
        if (s.state == SocketState::kListening) {
            tcp_accept(pcb, nullptr);
            (void)tcp_close(pcb); // a listening pcb always closes
        } else {
            tcp_recv(pcb, nullptr);
            tcp_sent(pcb, nullptr);
            tcp_err(pcb, nullptr);
            // Data the program never read is lost, and the peer is told so with a reset,
            // as a POSIX close does.
            if (unread || tcp_close(pcb) != ERR_OK)
                tcp_abort(pcb);
        }
    }
    for (uint32_t i = 0; i < s.accept_count; ++i)
        release(*g_sockets[s.accept_queue[i]]);
    s.accept_count = 0;
    if (Client* c = client_of(s.owner))
        --c->sockets;
    s.used = false;
}

// ---- Handlers ---------------------------------------------------------------------------

// The client record of task task_id, made (and the task watched, so that its sockets go
// when it ends) when it has none; takes task, a handle to it. nullptr when the table is
// full.
Client* client_for(tern_handle_t task, uint64_t task_id) {
    Client* c = client_of(task_id);
    if (c) {
        (void)tern_sys_handle_close(task);
        return c;
    }
    for (Client& candidate : g_clients)
        if (!candidate.used) {
            c = &candidate;
            break;
        }
    if (!c) {
        (void)tern_sys_handle_close(task);
        return nullptr;
    }
    uint32_t generation = c->generation + 1;
    *c = Client{};
    c->used = true;
    c->generation = generation;
    c->task_id = task_id;
    c->task = task;
    proto::SlotCookie cookie{uint32_t(c - g_clients), generation};
    if (tern_sys_object_watch(task, g_port, cookie.value()) < 0) {
        (void)tern_sys_handle_close(task);
        c->used = false;
        return nullptr;
    }
    return c;
}

Error on_share(void*, proto::Request& request, const net::ShareRequest& in, proto::Empty&,
               proto::Reply&, proto::PendingReply&) {
    tern_handle_t task = request.take_handle(0);
    Socket* s = find(request, in.socket);
    int64_t task_id = task == TERN_INVALID_HANDLE ? -1 : tern_sys_task_id_of(task);
    if (!s || task_id < 0) {
        if (task != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(task);
        if (!s)
            return Error::BAD_HANDLE;
        request.set_refusal_reason("needs a handle to the task to share with");
        return Error::INVALID_ARGUMENT;
    }
    if (holds(*s, uint64_t(task_id))) {
        (void)tern_sys_handle_close(task);
        return Error::OK;
    }
    if (s->sharer_count >= net::kMaxSharers) {
        (void)tern_sys_handle_close(task);
        return Error::NO_SPACE;
    }
    Client* c = client_for(task, uint64_t(task_id));
    if (!c)
        return Error::NO_SPACE;
    if (c->sockets >= net::kMaxSocketsPerTask)
        return Error::QUOTA_EXCEEDED;
    s->sharers[s->sharer_count++] = uint64_t(task_id);
    ++c->sockets;
    return Error::OK;
}

Error on_socket(void*, proto::Request& request, const net::SocketRequest& in,
                net::SocketResponse& out, proto::Reply&, proto::PendingReply&) {
    if ((in.type != SocketType::kUdp && in.type != SocketType::kTcp) || in.flags != 0) {
        request.set_refusal_reason("unknown socket type or flags");
        return Error::INVALID_ARGUMENT;
    }
    tern_handle_t task = request.take_handle(0);
    int64_t task_id = task == TERN_INVALID_HANDLE ? -1 : tern_sys_task_id_of(task);
    if (task_id < 0 || uint64_t(task_id) != request.badge()) {
        if (task != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(task);
        request.set_refusal_reason("needs a handle to the calling task");
        return Error::INVALID_ARGUMENT;
    }
    Client* c = client_for(task, uint64_t(task_id));
    if (!c)
        return Error::NO_SPACE;
    if (c->sockets >= net::kMaxSocketsPerTask)
        return Error::QUOTA_EXCEEDED;
    Socket* s = alloc_socket(request.badge(), in.type);
    if (!s)
        return Error::NO_SPACE;
    if (in.type == SocketType::kUdp) {
        s->udp = udp_new();
        if (s->udp)
            udp_recv(s->udp, on_udp_recv, s);
    } else {
        s->tcp = tcp_new();
        if (s->tcp)
            attach_tcp_callbacks(*s);
    }
    if (!s->udp && !s->tcp) {
        release(*s);
        return Error::NO_SPACE;
    }
    out.socket = socket_id(*s);
    return Error::OK;
}

Error lwip_status(err_t err) {
    switch (err) {
    case ERR_OK:
        return Error::OK;
    case ERR_USE:
    case ERR_ISCONN:
        return Error::ALREADY_EXISTS;
    case ERR_MEM:
    case ERR_BUF:
        return Error::NO_SPACE;
    case ERR_RTE:
        return Error::NOT_FOUND;
    case ERR_VAL:
    case ERR_ARG:
        return Error::INVALID_ARGUMENT;
    case ERR_TIMEOUT:
        return Error::TIMED_OUT;
    default:
        return Error::PEER_CLOSED;
    }
}

Error on_bind(void*, proto::Request& request, const net::BindRequest& in, net::AddressResponse& out,
              proto::Reply&, proto::PendingReply&) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (in.local.reserved != 0) {
        request.set_refusal_reason("reserved field set");
        return Error::INVALID_ARGUMENT;
    }
    ip_addr_t ip = to_lwip(in.local.ip);
    if (s->type == SocketType::kUdp) {
        if (s->udp->local_port != 0) {
            request.set_refusal_reason("socket is bound already");
            return Error::INVALID_ARGUMENT;
        }
        if (Error e = lwip_status(udp_bind(s->udp, &ip, in.local.port)); e != Error::OK)
            return e;
        out.address = from_lwip(s->udp->local_ip, s->udp->local_port);
    } else {
        if (s->state != SocketState::kClosed || !s->tcp) {
            request.set_refusal_reason("socket is bound already");
            return Error::INVALID_ARGUMENT;
        }
        if (Error e = lwip_status(tcp_bind(s->tcp, &ip, in.local.port)); e != Error::OK)
            return e;
        out.address = from_lwip(s->tcp->local_ip, s->tcp->local_port);
    }
    s->state = SocketState::kBound;
    return Error::OK;
}

Error on_listen(void*, proto::Request& request, const net::ListenRequest& in, proto::Empty&,
                proto::Reply&, proto::PendingReply&) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (s->type != SocketType::kTcp || !s->tcp
        || (s->state != SocketState::kClosed && s->state != SocketState::kBound)) {
        request.set_refusal_reason("listen needs an unconnected TCP socket");
        return Error::INVALID_ARGUMENT;
    }
    if (in.backlog > net::kMaxBacklog) {
        request.set_refusal_reason("backlog over kMaxBacklog");
        return Error::INVALID_ARGUMENT;
    }
    if (s->state == SocketState::kClosed) {
        if (Error e = lwip_status(tcp_bind(s->tcp, IP4_ADDR_ANY, 0)); e != Error::OK)
            return e;
    }
    uint32_t backlog = in.backlog == 0 ? net::kMaxBacklog : in.backlog;
    tcp_pcb* listener = tcp_listen_with_backlog(s->tcp, uint8_t(backlog));
    if (!listener)
        return Error::NO_SPACE; // the original pcb is still s->tcp
    s->tcp = listener;
    s->backlog = backlog;
    s->state = SocketState::kListening;
    tcp_arg(listener, s);
    tcp_accept(listener, on_tcp_accept);
    return Error::OK;
}

Error on_accept(void*, proto::Request& request, const net::AcceptRequest& in,
                net::AcceptResponse& out, proto::Reply& reply, proto::PendingReply& pending) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (s->state != SocketState::kListening || (in.flags & ~net::kNonBlocking) != 0) {
        request.set_refusal_reason("accept needs a listening socket");
        return Error::INVALID_ARGUMENT;
    }
    if (s->accept_count > 0) {
        Socket& child = *g_sockets[s->accept_queue[0]];
        child.awaiting_accept = false;
        give_accepted(child, request.badge());
        out.socket = socket_id(child);
        if (child.tcp)
            out.peer = from_lwip(child.tcp->remote_ip, child.tcp->remote_port);
        for (uint32_t i = 1; i < s->accept_count; ++i)
            s->accept_queue[i - 1] = s->accept_queue[i];
        --s->accept_count;
        return Error::OK;
    }
    if (in.flags & net::kNonBlocking)
        return Error::WOULD_BLOCK;
    if (s->accept.valid())
        return Error::BUSY;
    s->accept = pending;
    s->accept_task = request.badge();
    reply.deferred = true;
    return Error::OK;
}

Error on_connect(void*, proto::Request& request, const net::ConnectRequest& in,
                 net::AddressResponse& out, proto::Reply& reply, proto::PendingReply& pending) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (in.remote.ip == 0 || in.remote.port == 0 || in.remote.reserved != 0
        || (in.flags & ~net::kNonBlocking) != 0) {
        request.set_refusal_reason("connect needs an address and a port");
        return Error::INVALID_ARGUMENT;
    }
    ip_addr_t ip = to_lwip(in.remote.ip);
    if (s->type == SocketType::kUdp) {
        if (Error e = lwip_status(udp_connect(s->udp, &ip, in.remote.port)); e != Error::OK)
            return e;
        s->udp_peer = in.remote;
        s->udp_connected = true;
        s->state = SocketState::kConnected;
        out.address = from_lwip(s->udp->local_ip, s->udp->local_port);
        return Error::OK;
    }
    if (s->state == SocketState::kConnecting)
        return in.flags & net::kNonBlocking ? Error::WOULD_BLOCK : Error::BUSY;
    if (s->state != SocketState::kClosed && s->state != SocketState::kBound) {
        request.set_refusal_reason("socket is connected or listening");
        return Error::INVALID_ARGUMENT;
    }
    if (Error e = lwip_status(tcp_connect(s->tcp, &ip, in.remote.port, on_tcp_connected));
        e != Error::OK)
        return e;
    s->state = SocketState::kConnecting;
    if (in.flags & net::kNonBlocking)
        return Error::WOULD_BLOCK;
    s->connect = pending;
    reply.deferred = true;
    return Error::OK;
}

Error on_send(void*, proto::Request& request, const net::SendRequest& in, net::SendResponse& out,
              proto::Reply& reply, proto::PendingReply& pending) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if ((in.flags & ~net::kNonBlocking) != 0 || in.to.reserved != 0) {
        request.set_refusal_reason("unknown flags");
        return Error::INVALID_ARGUMENT;
    }
    base::Span<const uint8_t> data = request.data();
    if (s->type == SocketType::kUdp) {
        if (data.size() > net::kMaxDatagram) {
            request.set_refusal_reason("a datagram over kMaxDatagram");
            return Error::TOO_BIG;
        }
        bool addressed = in.to.ip != 0 || in.to.port != 0;
        if (!addressed && !s->udp_connected) {
            request.set_refusal_reason("no destination: not connected and no address");
            return Error::INVALID_ARGUMENT;
        }
        if (addressed && (in.to.ip == 0 || in.to.port == 0)) {
            request.set_refusal_reason("destination needs an address and a port");
            return Error::INVALID_ARGUMENT;
        }
        pbuf* p = pbuf_alloc(PBUF_TRANSPORT, uint16_t(data.size()), PBUF_RAM);
        if (!p)
            return Error::NO_SPACE;
        if (data.size() > 0)
            (void)pbuf_take(p, data.data(), uint16_t(data.size()));
        err_t err;
        if (addressed) {
            ip_addr_t ip = to_lwip(in.to.ip);
            err = udp_sendto(s->udp, p, &ip, in.to.port);
        } else {
            err = udp_send(s->udp, p);
        }
        pbuf_free(p);
        if (Error e = lwip_status(err); e != Error::OK)
            return e;
        if (s->state == SocketState::kClosed)
            s->state = SocketState::kBound; // sending bound it to an ephemeral port
        out.sent = uint32_t(data.size());
        return Error::OK;
    }
    if (s->state == SocketState::kError)
        return s->error;
    if ((s->state != SocketState::kConnected && s->state != SocketState::kClosing) || !s->tcp) {
        request.set_refusal_reason("TCP socket is not connected");
        return Error::INVALID_ARGUMENT;
    }
    if (s->shut_write) {
        request.set_refusal_reason("socket is shut down for writing");
        return Error::INVALID_ARGUMENT;
    }
    if (data.size() == 0) {
        out.sent = 0;
        return Error::OK;
    }
    out.sent = tcp_push(*s, data.data(), uint32_t(data.size()));
    if (out.sent > 0)
        return Error::OK;
    if (in.flags & net::kNonBlocking)
        return Error::WOULD_BLOCK;
    if (s->send.valid())
        return Error::BUSY;
    if (!s->send_buffer) {
        s->send_buffer = new (std::nothrow) uint8_t[net::kMaxData];
        if (!s->send_buffer)
            return Error::NO_SPACE;
    }
    __builtin_memcpy(s->send_buffer, data.data(), data.size());
    s->send_size = uint32_t(data.size());
    s->send = pending;
    s->send_deadline = deadline_after(in.wait_ns);
    if (s->send_deadline != net::kPollForever)
        ++g_timed_calls;
    reply.deferred = true;
    return Error::OK;
}

Error on_recv(void*, proto::Request& request, const net::RecvRequest& in, net::RecvResponse& out,
              proto::Reply& reply, proto::PendingReply& pending) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (in.max == 0 || in.max > net::kMaxData || (in.flags & ~net::kNonBlocking) != 0
        || in.reserved != 0) {
        request.set_refusal_reason("max outside 1..kMaxData, unknown flags, or reserved set");
        return Error::INVALID_ARGUMENT;
    }
    if (s->type == SocketType::kUdp && s->udp->local_port == 0) {
        request.set_refusal_reason("UDP socket is not bound");
        return Error::INVALID_ARGUMENT;
    }
    if (s->type == SocketType::kTcp && s->state != SocketState::kConnected
        && s->state != SocketState::kClosing && s->state != SocketState::kError) {
        request.set_refusal_reason("TCP socket is not connected");
        return Error::INVALID_ARGUMENT;
    }
    Error status;
    if (recv_answer(*s, in.max, out, status)) {
        if (status != Error::OK)
            return status;
        // Answered straight away: the reply is sent as this handler returns.
        reply.data = {g_scratch, out.size};
        recv_consume(*s, out);
        return Error::OK;
    }
    if (in.flags & net::kNonBlocking)
        return Error::WOULD_BLOCK;
    if (s->recv.valid())
        return Error::BUSY;
    s->recv = pending;
    s->recv_max = in.max;
    s->recv_deadline = deadline_after(in.wait_ns);
    if (s->recv_deadline != net::kPollForever)
        ++g_timed_calls;
    reply.deferred = true;
    return Error::OK;
}

Error on_close(void*, proto::Request& request, const net::CloseRequest& in, proto::Empty&,
               proto::Reply&, proto::PendingReply&) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (s->sharer_count > 0)
        drop_hold(*s, request.badge()); // others hold it still
    else
        release(*s);
    return Error::OK;
}

Error on_shutdown(void*, proto::Request& request, const net::ShutdownRequest& in, proto::Empty&,
                  proto::Reply&, proto::PendingReply&) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (in.how == 0 || (in.how & ~(net::kShutdownRead | net::kShutdownWrite)) != 0) {
        request.set_refusal_reason("how must be read, write or both");
        return Error::INVALID_ARGUMENT;
    }
    if (s->type != SocketType::kTcp
        || (s->state != SocketState::kConnected && s->state != SocketState::kClosing) || !s->tcp) {
        request.set_refusal_reason("shutdown needs a connected TCP socket");
        return Error::INVALID_ARGUMENT;
    }
    bool rd = in.how & net::kShutdownRead, wr = in.how & net::kShutdownWrite;
    if (rd && !s->shut_read) {
        s->shut_read = true;
        if (s->rx) {
            tcp_recved(s->tcp, s->rx->tot_len);
            pbuf_free(s->rx);
            s->rx = nullptr;
        }
        deliver_recv(*s);
    }
    if (wr && !s->shut_write) {
        s->shut_write = true;
        if (Error e = lwip_status(tcp_shutdown(s->tcp, 0, 1)); e != Error::OK)
            return e;
        fail_parked(s->send, Error::PEER_CLOSED);
    }
    return Error::OK;
}

Error on_sockname(void*, proto::Request& request, const net::NameRequest& in,
                  net::AddressResponse& out, proto::Reply&, proto::PendingReply&) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (s->udp)
        out.address = from_lwip(s->udp->local_ip, s->udp->local_port);
    else if (s->tcp)
        out.address = from_lwip(s->tcp->local_ip, s->tcp->local_port);
    return Error::OK;
}

Error on_peername(void*, proto::Request& request, const net::NameRequest& in,
                  net::AddressResponse& out, proto::Reply&, proto::PendingReply&) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (s->type == SocketType::kUdp && s->udp_connected) {
        out.address = s->udp_peer;
        return Error::OK;
    }
    if (s->type == SocketType::kTcp && s->tcp
        && (s->state == SocketState::kConnected || s->state == SocketState::kClosing)) {
        out.address = from_lwip(s->tcp->remote_ip, s->tcp->remote_port);
        return Error::OK;
    }
    request.set_refusal_reason("socket is not connected");
    return Error::INVALID_ARGUMENT;
}

// ---- Readiness --------------------------------------------------------------------------

// What a socket is ready for now (net::kPoll*), whether asked or not; the caller masks.
uint32_t readiness(const Socket& s) {
    uint32_t events = 0;
    if (s.type == SocketType::kUdp) {
        events |= net::kPollWritable;
        if (s.datagram_count > 0)
            events |= net::kPollReadable;
        return events;
    }
    switch (s.state) {
    case SocketState::kListening:
        if (s.accept_count > 0)
            events |= net::kPollReadable;
        break;
    case SocketState::kConnected:
    case SocketState::kClosing:
        if (s.rx || s.peer_closed || s.shut_read)
            events |= net::kPollReadable;
        if (s.shut_write
            || (s.tcp && tcp_sndbuf(s.tcp) > 0 && tcp_sndqueuelen(s.tcp) < TCP_SND_QUEUELEN))
            events |= net::kPollWritable;
        if (s.peer_closed && s.shut_write)
            events |= net::kPollHangUp;
        break;
    case SocketState::kError:
        events |= net::kPollReadable | net::kPollWritable | net::kPollError | net::kPollHangUp;
        break;
    case SocketState::kClosed:
    case SocketState::kBound:
        // A TCP socket that never connected: nothing will ever come (Linux says POLLOUT
        // and POLLHUP of such a socket).
        events |= net::kPollWritable | net::kPollHangUp;
        break;
    case SocketState::kConnecting:
        break;
    }
    return events;
}

constexpr uint32_t kAlwaysReported = net::kPollError | net::kPollHangUp | net::kPollInvalid;

// Fills results for entries; returns how many have an event.
uint32_t poll_results(uint64_t owner, const net::PollEntry* entries, uint32_t count,
                      net::PollResult* results) {
    uint32_t ready = 0;
    for (uint32_t i = 0; i < count; ++i) {
        net::PollResult& r = results[i];
        r = {entries[i].socket, 0, 0, SocketState::kClosed};
        uint32_t index = entries[i].socket & 0xFFFF;
        Socket* s = index < net::kMaxSockets ? g_sockets[index] : nullptr;
        if (!s || !s->used || s->generation != (entries[i].socket >> 16) || !holds(*s, owner)
            || s->awaiting_accept) {
            r.events = net::kPollInvalid;
        } else {
            r.events = readiness(*s) & (entries[i].events | kAlwaysReported);
            r.state = s->state;
            r.error = s->state == SocketState::kError ? int32_t(s->error) : 0;
        }
        if (r.events != 0)
            ++ready;
    }
    return ready;
}

net::PollResult g_poll_results[net::kMaxPoll];
uint32_t g_parked_polls = 0;

void answer_poll(Client& c) {
    net::PollResponse out{poll_results(c.task_id, c.poll_entries, c.poll_count, g_poll_results),
                          c.poll_count};
    proto::Reply parts;
    parts.data = {reinterpret_cast<const uint8_t*>(g_poll_results),
                  c.poll_count * sizeof(net::PollResult)};
    (void)proto::reply_later<net::Poll>(c.poll, Error::OK, out, parts);
    --g_parked_polls;
}

Error on_poll(void*, proto::Request& request, const net::PollRequest& in, net::PollResponse& out,
              proto::Reply& reply, proto::PendingReply& pending) {
    base::Span<const uint8_t> data = request.data();
    if (in.count == 0 || in.count > net::kMaxPoll || in.flags != 0
        || data.size() != in.count * sizeof(net::PollEntry)) {
        request.set_refusal_reason("poll needs 1..kMaxPoll entries and no flags");
        return Error::INVALID_ARGUMENT;
    }
    Client* c = client_of(request.badge());
    if (c && c->poll.valid())
        answer_poll(*c);
    net::PollEntry entries[net::kMaxPoll];
    __builtin_memcpy(entries, data.data(), data.size());
    out.count = in.count;
    out.ready = poll_results(request.badge(), entries, in.count, g_poll_results);
    // A task that never made a socket has nothing to wait for: every entry is invalid.
    if (out.ready > 0 || in.timeout_ns == 0 || !c) {
        reply.data = {reinterpret_cast<const uint8_t*>(g_poll_results),
                      in.count * sizeof(net::PollResult)};
        return Error::OK;
    }
    __builtin_memcpy(c->poll_entries, entries, data.size());
    c->poll_count = in.count;
    uint64_t now = uint64_t(tern_sys_clock_monotonic());
    c->poll_deadline = in.timeout_ns >= ~now ? net::kPollForever : now + in.timeout_ns;
    c->poll = pending;
    ++g_parked_polls;
    reply.deferred = true;
    return Error::OK;
}

Error on_set_option(void*, proto::Request& request, const net::SetOptionRequest& in, proto::Empty&,
                    proto::Reply&, proto::PendingReply&) {
    Socket* s = find(request, in.socket);
    if (!s)
        return Error::BAD_HANDLE;
    if (in.value > 1 || in.reserved != 0) {
        request.set_refusal_reason("option value must be 0 or 1");
        return Error::INVALID_ARGUMENT;
    }
    bool on = in.value != 0;
    switch (in.option) {
    case net::SocketOption::kReuseAddress:
        if (s->udp) {
            if (on)
                ip_set_option(s->udp, SOF_REUSEADDR);
            else
                ip_reset_option(s->udp, SOF_REUSEADDR);
        } else if (s->tcp) {
            if (on)
                ip_set_option(s->tcp, SOF_REUSEADDR);
            else
                ip_reset_option(s->tcp, SOF_REUSEADDR);
        }
        return Error::OK;
    case net::SocketOption::kNoDelay:
    case net::SocketOption::kKeepAlive:
        if (s->type != SocketType::kTcp) {
            request.set_refusal_reason("a TCP option on a UDP socket");
            return Error::INVALID_ARGUMENT;
        }
        // A listening pcb has neither; the option is the C library's to remember then.
        if (!s->tcp || s->state == SocketState::kListening)
            return Error::OK;
        if (in.option == net::SocketOption::kNoDelay) {
            if (on)
                tcp_nagle_disable(s->tcp);
            else
                tcp_nagle_enable(s->tcp);
        } else if (on) {
            ip_set_option(s->tcp, SOF_KEEPALIVE);
        } else {
            ip_reset_option(s->tcp, SOF_KEEPALIVE);
        }
        return Error::OK;
    }
    request.set_refusal_reason("unknown option");
    return Error::INVALID_ARGUMENT;
}

Error on_sockets(void*, proto::Request&, const proto::Empty&, net::SocketsResponse& out,
                 proto::Reply& reply, proto::PendingReply&) {
    static net::SocketInfo infos[net::kMaxSockets];
    uint32_t n = 0;
    for (Socket* slot : g_sockets) {
        if (!slot || !slot->used)
            continue;
        Socket& s = *slot;
        net::SocketInfo& info = infos[n++];
        info = {};
        info.socket = socket_id(s);
        info.type = s.type;
        info.state = s.state;
        info.owner = s.owner;
        if (s.udp) {
            info.local = from_lwip(s.udp->local_ip, s.udp->local_port);
            if (s.udp_connected)
                info.remote = s.udp_peer;
            uint32_t queued = 0;
            for (uint32_t i = 0; i < s.datagram_count; ++i)
                queued += s.datagrams[(s.datagram_head + i) % kMaxDatagrams].p->tot_len;
            info.rx_queued = queued;
        } else if (s.tcp) {
            info.local = from_lwip(s.tcp->local_ip, s.tcp->local_port);
            if (s.state != SocketState::kListening) {
                info.remote = from_lwip(s.tcp->remote_ip, s.tcp->remote_port);
                info.tx_queued = uint32_t(TCP_SND_BUF - tcp_sndbuf(s.tcp));
            }
            info.rx_queued = tcp_queued(s);
        }
    }
    out.count = n;
    reply.data = {reinterpret_cast<const uint8_t*>(infos), n * sizeof(net::SocketInfo)};
    return Error::OK;
}

} // namespace

void client_gone(uint64_t cookie) {
    proto::SlotCookie slot = proto::SlotCookie::from(cookie);
    if (slot.index >= kMaxClients)
        return;
    Client& c = g_clients[slot.index];
    if (!c.used || c.generation != slot.generation)
        return;
    for (Socket* s : g_sockets) {
        if (!s || !s->used || s->awaiting_accept || !holds(*s, c.task_id))
            continue;
        if (s->sharer_count > 0)
            drop_hold(*s, c.task_id); // others hold it still
        else
            release(*s);
    }
    // Connections still waiting in a listener's queue went with the listener.
    if (c.poll.valid()) {
        (void)tern_sys_handle_close(base::exchange(c.poll.reply, TERN_INVALID_HANDLE));
        --g_parked_polls;
    }
    (void)tern_sys_handle_close(c.task);
    c.used = false;
}

void register_sockets(proto::Server& server) {
    server.on<net::Socket>(static_cast<void*>(nullptr), on_socket);
    server.on<net::Bind>(static_cast<void*>(nullptr), on_bind);
    server.on<net::Listen>(static_cast<void*>(nullptr), on_listen);
    server.on<net::Accept>(static_cast<void*>(nullptr), on_accept);
    server.on<net::Connect>(static_cast<void*>(nullptr), on_connect);
    server.on<net::Send>(static_cast<void*>(nullptr), on_send);
    server.on<net::Recv>(static_cast<void*>(nullptr), on_recv);
    server.on<net::Close>(static_cast<void*>(nullptr), on_close);
    server.on<net::Shutdown>(static_cast<void*>(nullptr), on_shutdown);
    server.on<net::SockName>(static_cast<void*>(nullptr), on_sockname);
    server.on<net::PeerName>(static_cast<void*>(nullptr), on_peername);
    server.on<net::Sockets>(static_cast<void*>(nullptr), on_sockets);
    server.on<net::Poll>(static_cast<void*>(nullptr), on_poll);
    server.on<net::SetOption>(static_cast<void*>(nullptr), on_set_option);
    server.on<net::Share>(static_cast<void*>(nullptr), on_share);
}

void hold_deliveries() { g_holding = true; }

void deliver_held() {
    g_holding = false;
    if (g_deliveries_due == 0)
        return;
    for (Socket* s : g_sockets) {
        if (!s || !s->delivery_due)
            continue;
        s->delivery_due = false;
        if (s->used)
            deliver_recv(*s);
    }
    g_deliveries_due = 0;
}

// Answers WOULD_BLOCK to each parked Recv and Send whose wait ran out, and counts the
// timed ones still parked.
void expire_waits(uint64_t now) {
    uint32_t timed = 0;
    for (Socket* slot : g_sockets) {
        if (!slot || !slot->used)
            continue;
        Socket& s = *slot;
        if (s.recv.valid() && s.recv_deadline != net::kPollForever) {
            if (now >= s.recv_deadline)
                fail_parked(s.recv, Error::WOULD_BLOCK);
            else
                ++timed;
        }
        if (s.send.valid() && s.send_deadline != net::kPollForever) {
            if (now >= s.send_deadline)
                fail_parked(s.send, Error::WOULD_BLOCK);
            else
                ++timed;
        }
    }
    g_timed_calls = timed;
}

void check_polls() {
    if (g_parked_polls == 0 && g_timed_calls == 0)
        return;
    uint64_t now = uint64_t(tern_sys_clock_monotonic());
    if (g_timed_calls > 0)
        expire_waits(now);
    if (g_parked_polls == 0)
        return;
    for (Client& c : g_clients) {
        if (!c.used || !c.poll.valid())
            continue;
        if (now >= c.poll_deadline
            || poll_results(c.task_id, c.poll_entries, c.poll_count, g_poll_results) > 0)
            answer_poll(c);
    }
}

uint64_t next_poll_deadline() {
    uint64_t deadline = net::kPollForever;
    if (g_timed_calls > 0) {
        for (const Socket* s : g_sockets) {
            if (!s || !s->used)
                continue;
            if (s->recv.valid() && s->recv_deadline < deadline)
                deadline = s->recv_deadline;
            if (s->send.valid() && s->send_deadline < deadline)
                deadline = s->send_deadline;
        }
    }
    if (g_parked_polls == 0)
        return deadline;
    for (const Client& c : g_clients)
        if (c.used && c.poll.valid() && c.poll_deadline < deadline)
            deadline = c.poll_deadline;
    return deadline;
}

} // namespace netsrv

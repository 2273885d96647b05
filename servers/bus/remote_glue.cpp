// Remote ports in the network server: proxies, exports and forwarded calls over the bus
// (remote_glue.h). Runs in the server's one thread.
#include "remote_glue.h"

#include "portable/remote.h"
#include "portable/remote_ports.h"

#include <tern/abi/task.h>
#include <tern/async_call.h>
#include <tern/print.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

namespace tern::bus::remote {

namespace {

using base::Error;

static_assert(kLastKind == uint8_t(kSignalKind), "the bus hands kinds up to kLastKind here");

// The queue of each proxy: what local senders may have queued before the bus forwards.
constexpr uint32_t kProxyQueue = 64;

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

RemotePorts* g_table = nullptr;
tern_handle_t g_set = TERN_INVALID_HANDLE;
tern_handle_t g_reply_ports[RemotePorts::kReplyPorts] = {};
uint64_t g_logged = 0;
uint8_t g_out[kMaxMessage];
RemoteCounters g_counters;

template<typename... Args>
void log_limited(const char* format, const Args&... args) {
    // At most 64 lines, so a misbehaving peer or program cannot flood the log.
    if (g_logged++ < 64)
        tern::println(format, args...);
}

void close_handle(tern_handle_t h) {
    if (h != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(h);
}

void close_all(const tern_handle_t* handles, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i)
        close_handle(handles[i]);
}

// The type, rights and kernel object id of each handle of this task, looked up when a
// message carries handles.
bool handle_type(tern_handle_t h, uint32_t& type, uint32_t& rights, uint64_t& object) {
    static tern_handle_info infos[1024];
    int64_t n = tern_sys_task_handles(tern::self(), addr(infos), 1024);
    if (n < 0)
        return false;
    for (int64_t i = 0; i < n && i < 1024; ++i) {
        if (infos[i].handle == h) {
            type = infos[i].type;
            rights = infos[i].rights;
            object = infos[i].object;
            return true;
        }
    }
    return false;
}

// Asks for a death notice of an export's port (on the first reply port, cookie = its id),
// so the table holds only live ports.
void watch_export(tern_handle_t handle, uint64_t id) {
    if (int64_t w = tern_sys_object_watch(handle, g_reply_ports[0], id); w < 0) {
        // Without a notice the export goes when a message finds its port dead.
        log_limited("bus: no death notice for export {:#x}: {}", id,
                    base::error_name(tern::sys_status(w)));
    }
}

// A SEND right a local program may hold for the global id: a proxy (made when new) or,
// for an id of this node, a duplicate of the export's right.
// With signal, the right may port_signal too (the sender's right could).
Error right_for(uint64_t id, tern_handle_t& out, bool signal = false) {
    uint32_t rights = TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER
                      | (signal ? TERN_RIGHT_SIGNAL : 0);
    // A port that lives here (exported here, or moved here) is handed out directly.
    const RemotePorts::Export* e = g_table->find_export(id);
    if (e || port_id_node(id) == g_table->self()) {
        if (!e)
            return Error::NOT_FOUND;
        int64_t d = tern_sys_handle_duplicate(e->handle, rights);
        if (d < 0 && signal) // the export's own right cannot signal: nor can this one
            d = tern_sys_handle_duplicate(e->handle, rights & ~TERN_RIGHT_SIGNAL);
        if (d < 0)
            return tern::sys_status(d);
        out = tern_handle_t(d);
        return Error::OK;
    }
    const RemotePorts::Proxy* p = g_table->find_proxy(id);
    tern_handle_t port;
    if (p) {
        port = p->handle;
    } else {
        int64_t created = tern_sys_port_create(kProxyQueue);
        if (created < 0)
            return tern::sys_status(created);
        port = tern_handle_t(created);
        auto key = g_table->add_proxy(id, port);
        if (!key.ok() && key.error() == Error::PEER_CLOSED) {
            // Its node said the port died: the receiver gets a right to a closed port,
            // as for a local port that died on the way (senders get PEER_CLOSED, a watch
            // fires at once).
            int64_t d = tern_sys_handle_duplicate(port, TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE
                                                            | TERN_RIGHT_TRANSFER);
            close_handle(port);
            if (d < 0)
                return tern::sys_status(d);
            out = tern_handle_t(d);
            return Error::OK;
        }
        if (!key.ok()) {
            close_handle(port);
            return key.error();
        }
        int64_t r = tern_sys_port_set_add(g_set, port, key.value());
        if (r < 0) {
            (void)g_table->remove_proxy(id);
            close_handle(port);
            return tern::sys_status(r);
        }
    }
    int64_t d = tern_sys_handle_duplicate(port, rights);
    if (d < 0)
        return tern::sys_status(d);
    out = tern_handle_t(d);
    return Error::OK;
}

constexpr uint64_t kPage = 4096;

// A new memory object with contents (a whole number of pages, as copy_memory makes them).
Error memory_for(base::Span<const uint8_t> contents, tern_handle_t& out) {
    if (contents.size() % kPage != 0)
        return Error::CORRUPT;
    int64_t m = tern_sys_memory_create(contents.size(), 0);
    if (m < 0)
        return tern::sys_status(m);
    int64_t at = tern_sys_vm_map_memory(tern::self(), tern_handle_t(m), 0, 0, contents.size(),
                                        TERN_PROT_READ | TERN_PROT_WRITE);
    if (at < 0) {
        close_handle(tern_handle_t(m));
        return tern::sys_status(at);
    }
    __builtin_memcpy(reinterpret_cast<void*>(at), contents.data(), contents.size());
    (void)tern_sys_vm_free(uint64_t(at), contents.size());
    out = tern_handle_t(m);
    return Error::OK;
}

// Copies a memory object's pages to out, page by page (the kernel says no object's size:
// the first offset that does not map is its end). TOO_BIG when it does not fit out.
base::Result<size_t> copy_memory(tern_handle_t memory, base::Span<uint8_t> out) {
    size_t n = 0;
    for (;; n += kPage) {
        int64_t at = tern_sys_vm_map_memory(tern::self(), memory, 0, n, kPage, TERN_PROT_READ);
        if (at < 0) {
            Error e = tern::sys_status(at);
            if (e == Error::OUT_OF_RANGE && n > 0)
                return n;
            return e;
        }
        bool fits = n + kPage <= out.size();
        if (fits)
            __builtin_memcpy(out.data() + n, reinterpret_cast<const void*>(at), kPage);
        (void)tern_sys_vm_free(uint64_t(at), kPage);
        if (!fits)
            return Error::TOO_BIG;
    }
}

// The staging buffer for the memory contents of the message being encoded.
uint8_t g_memory[kMaxMessage];

// Whether the right kept for export id may port_signal.
bool can_signal(uint64_t id) {
    const RemotePorts::Export* e = g_table->find_export(id);
    uint32_t type = 0;
    uint32_t rights = 0;
    uint64_t object = 0;
    return e && handle_type(e->handle, type, rights, object) && (rights & TERN_RIGHT_SIGNAL);
}

// A port moved here with id (a kReceive entry): a new port takes the id, exported here
// under it, and its RECEIVE right goes to the message's receiver. Messages for the id
// that reach the node it left are forwarded here by that node's bus (its old port is now
// a proxy for this node).
Error receive_for(uint64_t id, uint16_t from, tern_handle_t& out) {
    int64_t port = tern_sys_port_create(kProxyQueue);
    if (port < 0)
        return tern::sys_status(port);
    int64_t send = tern_sys_handle_duplicate(tern_handle_t(port),
                                             TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE
                                                 | TERN_RIGHT_TRANSFER | TERN_RIGHT_SIGNAL);
    if (send < 0) {
        close_handle(tern_handle_t(port));
        return tern::sys_status(send);
    }
    uint32_t type = 0;
    uint32_t rights = 0;
    uint64_t object = 0;
    if (!handle_type(tern_handle_t(send), type, rights, object)) {
        close_handle(tern_handle_t(send));
        close_handle(tern_handle_t(port));
        return Error::NO_SPACE;
    }
    auto before = g_table->adopt_export(id, object, tern_handle_t(send));
    if (!before.ok()) {
        close_handle(tern_handle_t(send));
        close_handle(tern_handle_t(port));
        return before.error();
    }
    // A port that comes back to a node it lived on replaces the right kept for it; the
    // proxy it left here still forwards what its old holders send (through the node it
    // came from, which forwards it back).
    close_handle(before.value());
    watch_export(tern_handle_t(send), id);
    // The node it came from keeps a proxy for it: told at once when it dies here.
    (void)g_table->add_holder(id, from);
    ++g_counters.arrived;
    out = tern_handle_t(port);
    return Error::OK;
}

// The local message for a remote one: words, data and rights for its port ids, new
// memory objects for its memory contents. On an error every handle made so far is
// closed.
Error to_local(const RemoteMessage& m, uint16_t from, tern_msg& out) {
    out = {};
    out.hdr.label = m.label;
    for (size_t i = 0; i < kRemoteWords; ++i)
        out.words[i] = m.words[i];
    out.data = addr(m.data.data());
    out.hdr.data_size = uint32_t(m.data.size());
    for (uint32_t i = 0; i < m.handle_count; ++i) {
        Error e = m.handles[i].kind == RemoteHandleKind::kPort
                      ? right_for(m.handles[i].port_id, out.handles[i],
                                  m.handles[i].rights == kRemoteRightSignal)
                  : m.handles[i].kind == RemoteHandleKind::kReceive
                      ? receive_for(m.handles[i].port_id, from, out.handles[i])
                      : memory_for(m.handles[i].contents, out.handles[i]);
        if (e != Error::OK) {
            close_all(out.handles, i);
            return e;
        }
        out.hdr.handle_count = i + 1;
    }
    return Error::OK;
}

// A RECEIVE right going to node: the port moves there. It is exported here under a new
// id (the id it keeps), and its receive right stays here as a proxy for that id on node,
// so what its local senders send, what other nodes send here for it and what was
// already queued in it follows it, in order, behind the message that moves it.
// A port already exported keeps its id (the table finds it by the kernel object's id), so
// the nodes that hold proxies for it are redirected (hint_location) to where it went.
base::Result<uint64_t> move_port(tern_handle_t port, uint64_t object, uint16_t node) {
    if (node == g_table->self())
        return Error::INVALID_ARGUMENT;
    int64_t send = tern_sys_handle_duplicate(port, TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE
                                                       | TERN_RIGHT_TRANSFER | TERN_RIGHT_SIGNAL);
    if (send < 0)
        return tern::sys_status(send);
    bool created = false;
    auto id = g_table->export_port(object, tern_handle_t(send), created);
    if (!id.ok()) {
        close_handle(tern_handle_t(send));
        return id.error();
    }
    if (!created)
        close_handle(tern_handle_t(send)); // the export keeps the right it has
    auto key = g_table->add_proxy(id.value(), port, node);
    if (!key.ok()) {
        if (created)
            close_handle(g_table->remove_export(id.value()));
        return key.error();
    }
    if (int64_t r = tern_sys_port_set_add(g_set, port, key.value()); r < 0) {
        (void)g_table->remove_proxy(id.value());
        if (created)
            close_handle(g_table->remove_export(id.value()));
        return tern::sys_status(r);
    }
    if (created)
        watch_export(tern_handle_t(send), id.value());
    ++g_counters.moved;
    return id.value();
}

// The remote form of a local message's parts, for node `to`. SEND rights become exports
// (the table keeps them, with `to` as a holder to tell when the port dies), RECEIVE
// rights move their port to `to` (move_port); memory objects are copied (into g_memory,
// and closed); anything else fails the message. On an error, the message's handles that
// were not taken are closed.
Error to_remote(tern_msg& msg, RemoteMessage& out, uint16_t to) {
    out.label = msg.hdr.label;
    for (size_t i = 0; i < kRemoteWords; ++i)
        out.words[i] = msg.words[i];
    out.data =
        base::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(msg.data), msg.hdr.data_size);
    out.handle_count = 0;
    // What the message may carry of memory: the bus message's room after the header, the
    // handle entries and the data part.
    size_t fixed =
        kRemoteHeaderSize + msg.hdr.handle_count * kRemoteHandleEntrySize + msg.hdr.data_size;
    size_t room = fixed < kMaxMessage ? kMaxMessage - fixed : 0;
    size_t used = 0;
    for (uint32_t i = 0; i < msg.hdr.handle_count; ++i) {
        uint32_t type = 0;
        uint32_t rights = 0;
        uint64_t object = 0;
        bool known = handle_type(msg.handles[i], type, rights, object);
        if (known && type == TERN_OBJ_MEMORY) {
            auto n = copy_memory(msg.handles[i], base::Span<uint8_t>(g_memory + used, room - used));
            if (!n.ok()) {
                log_limited("bus: a memory object cannot go to another node: {} (a message "
                            "carries at most {} bytes of memory beside its {}-byte data part)",
                            base::error_name(n.error()), room, msg.hdr.data_size);
                close_all(msg.handles + i, msg.hdr.handle_count - i);
                return n.error();
            }
            close_handle(msg.handles[i]);
            out.handles[i].kind = RemoteHandleKind::kMemory;
            out.handles[i].port_id = 0;
            out.handles[i].contents = base::Span<const uint8_t>(g_memory + used, n.value());
            used += n.value();
            out.handle_count = i + 1;
            continue;
        }
        if (!known || type != TERN_OBJ_PORT) {
            log_limited("bus: a message for another node carries a handle of type {}: only "
                        "port rights and memory objects cross nodes",
                        type);
            close_all(msg.handles + i, msg.hdr.handle_count - i);
            return Error::NOT_SUPPORTED;
        }
        if ((rights & TERN_RIGHT_RECEIVE) != 0) {
            auto id = move_port(msg.handles[i], object, to);
            if (!id.ok()) {
                log_limited("bus: a port cannot move to node {}: {}", to,
                            base::error_name(id.error()));
                close_all(msg.handles + i, msg.hdr.handle_count - i);
                return id.error();
            }
            out.handles[i].kind = RemoteHandleKind::kReceive;
            out.handles[i].port_id = id.value();
            out.handle_count = i + 1;
            continue;
        }
        // A port exported before gets the id it has (the table knows it by the kernel's
        // object id), however many rights to it the bus receives.
        bool created = false;
        auto id = g_table->export_port(object, msg.handles[i], created);
        if (!id.ok()) {
            close_all(msg.handles + i, msg.hdr.handle_count - i);
            return id.error();
        }
        if (created) {
            watch_export(msg.handles[i], id.value());
        } else if ((rights & TERN_RIGHT_SIGNAL) != 0 && !can_signal(id.value())) {
            // This right can signal and the one kept cannot: keep this one.
            close_handle(g_table->replace_export_handle(id.value(), msg.handles[i]));
        } else {
            close_handle(msg.handles[i]);
        }
        if (!g_table->add_holder(id.value(), to))
            log_limited("bus: export {:#x} has {} holders; node {} learns of its death only "
                        "when it next addresses it",
                        id.value(), RemotePorts::kMaxHolders, to);
        out.handles[i].kind = RemoteHandleKind::kPort;
        out.handles[i].rights = (rights & TERN_RIGHT_SIGNAL) != 0 ? kRemoteRightSignal : 0;
        out.handles[i].port_id = id.value();
        out.handle_count = i + 1;
    }
    return Error::OK;
}

Error send_remote(uint16_t node, const RemoteMessage& m) {
    auto n = encode_remote(m, base::Span<uint8_t>(g_out, sizeof(g_out)));
    if (!n.ok())
        return n.error();
    return send_bus_message(node, base::Span<const uint8_t>(g_out, n.value()));
}

// Fails a local caller's call the way a local failure would: for the statuses that
// describe the far side (NODE_DOWN, PEER_CLOSED, TIMED_OUT, ...) the kernel makes the
// caller's port_call return the status itself (port_reply_error); anything else is
// answered as the protocol's status in a reply.
void fail_call(tern_handle_t reply, Error status) {
    switch (status) {
    case Error::NODE_DOWN:
    case Error::PEER_CLOSED:
    case Error::TIMED_OUT:
    case Error::WOULD_BLOCK:
    case Error::TOO_BIG:
    case Error::NO_MEMORY:
    case Error::QUOTA_EXCEEDED:
        // Refused only as INVALID_ARGUMENT, which leaves the right for the reply below.
        if (int64_t r = tern_sys_port_reply_error(reply, uint64_t(status));
            r >= 0 || tern::sys_status(r) != Error::INVALID_ARGUMENT)
            return;
        break;
    default:
        break;
    }
    (void)proto::reply_raw(reply, status, nullptr, 0, proto::Reply{});
}

void send_failed_reply(uint16_t node, uint64_t call_id, Error status) {
    RemoteMessage r;
    r.kind = BusMessageKind::kReply;
    r.call_id = call_id;
    r.status = status;
    if (Error e = send_remote(node, r); e != Error::OK)
        log_limited("bus: cannot answer call {} of node {}: {}", call_id, node,
                    base::error_name(e));
}

// A send forwarded through proxy took one of its credits: with none left the proxy
// leaves the port set, so its queue fills and its senders wait (flow control).
void take_credit(const RemotePorts::Proxy& proxy) {
    auto left = g_table->take_send_credit(proxy.id);
    if (left.ok() && left.value() == 0)
        (void)tern_sys_port_set_remove(g_set, proxy.handle);
}

// Credits for sends to our proxy for id came back: a proxy that had none rejoins the set.
void on_credit(uint16_t node, const RemoteMessage& m) {
    // From the node the port lives on, or one it left (for sends it forwarded): any node,
    // as the window bounds what can come back.
    auto before = g_table->add_send_credit(m.target, uint32_t(m.words[0]));
    if (!before.ok()) {
        if (before.error() != Error::NOT_FOUND)
            log_limited("bus: node {} returned {} credits for {:#x}, more than were taken", node,
                        m.words[0], m.target);
        return;
    }
    if (before.value() != 0)
        return;
    const RemotePorts::Proxy* p = g_table->find_proxy(m.target);
    if (int64_t r = tern_sys_port_set_add(g_set, p->handle, g_table->key_of(m.target)); r < 0)
        log_limited("bus: cannot put the proxy for {:#x} back in the set: {}", m.target,
                    base::error_name(tern::sys_status(r)));
}

// A call or send a local program made on a proxy: forward it to the exporting node.
void forward(const RemotePorts::Proxy& proxy, tern_msg& msg) {
    uint64_t id = proxy.id;
    uint16_t node = proxy.node;
    bool call = (msg.hdr.flags & TERN_MSG_FLAG_CALL) != 0;
    tern_handle_t reply = call ? msg.reply_handle : TERN_INVALID_HANDLE;
    RemoteMessage m;
    m.kind = call ? BusMessageKind::kCall : BusMessageKind::kSend;
    m.target = id;
    Error e = node_up(node) ? Error::OK : Error::NODE_DOWN;
    if (e == Error::OK)
        e = to_remote(msg, m, node);
    else
        close_all(msg.handles, msg.hdr.handle_count);
    if (e == Error::OK && call) {
        auto call_id = g_table->add_forwarded(node, reply);
        if (call_id.ok())
            m.call_id = call_id.value();
        else
            e = call_id.error();
    }
    if (e == Error::OK) {
        e = send_remote(node, m);
        if (e != Error::OK && call)
            (void)g_table->take_forwarded(node, m.call_id);
    }
    if (e == Error::OK && !call)
        take_credit(proxy);
    if (e == Error::OK)
        return;
    // The exports this message made stay until their ports die; the caller's call fails
    // with the error.
    log_limited("bus: cannot forward to {:#x} on node {}: {}", id, node, base::error_name(e));
    if (call)
        fail_call(reply, e);
}

// Signal bits a local program gave a proxy (port_signal; the kernel hands them to the
// bus as one event): they go to the node the port lives on, which signals the port.
// Signals never wait and never fail their sender, so a node that is down loses them,
// with a log line, as a port that died would.
void forward_signal(const RemotePorts::Proxy& proxy, uint64_t bits) {
    RemoteMessage m;
    m.kind = kSignalKind;
    m.target = proxy.id;
    m.words[0] = bits;
    Error e = node_up(proxy.node) ? send_remote(proxy.node, m) : Error::NODE_DOWN;
    if (e == Error::OK)
        ++g_counters.signals;
    else
        log_limited("bus: signal {:#x} for {:#x} not sent to node {}: {}", bits, proxy.id,
                    proxy.node, base::error_name(e));
}

// The answer to a call another node made, from one of our reply ports.
void on_answer(tern_msg& msg) {
    RemotePorts::ServedCall c;
    if (!is_async_answer(msg) || !g_table->take_served(msg.hdr.sender_badge, c)) {
        log_limited("bus: a message on a reply port that answers no call (cookie {})",
                    msg.hdr.sender_badge);
        close_all(msg.handles, msg.hdr.handle_count);
        return;
    }
    if (c.node == 0) { // the caller's node went down meanwhile
        close_all(msg.handles, msg.hdr.handle_count);
        return;
    }
    RemoteMessage r;
    r.kind = BusMessageKind::kReply;
    r.call_id = c.call_id;
    Error e = async_answer_status(msg);
    if (e == Error::OK)
        e = to_remote(msg, r, c.node);
    else
        close_all(msg.handles, msg.hdr.handle_count);
    if (e != Error::OK) {
        send_failed_reply(c.node, c.call_id, e);
        return;
    }
    if (Error s = send_remote(c.node, r); s != Error::OK)
        send_failed_reply(c.node, c.call_id, s);
}

// ---- Flow control on the exporting side (docs/bus.md, "Flow control")
//
// A send or call whose port's queue is full is held here, in arrival order, and put in
// the queue when it has room (tried again every kHoldRetryNs while any is held); a
// message for a port that has held messages waits behind them. Each node has at most
// kSendWindow sends on their way per proxy, so what is held is bounded; the hard limits
// below only stop a node that ignores its credits.

constexpr uint64_t kHoldRetryNs = 1'000'000;
constexpr size_t kMaxHeld = 4096;
constexpr size_t kMaxHeldBytes = 16u << 20;

struct Held {
    Held* next = nullptr;
    uint16_t node = 0; // the sending node; 0 once it was lost (no credit is owed)
    uint64_t target = 0;
    size_t size = 0;
    uint8_t* bytes = nullptr;
};

Held* g_held_head = nullptr;
Held* g_held_tail = nullptr;
size_t g_held_count = 0;
size_t g_held_bytes = 0;

// Credits owed per (node, export), returned kCreditBatch at a time.
struct Owed {
    uint16_t node = 0;
    uint64_t target = 0;
    uint32_t count = 0;
};
constexpr size_t kMaxOwed = 1024;
Owed g_owed[kMaxOwed];

void send_credit(uint16_t node, uint64_t target, uint32_t count) {
    RemoteMessage c;
    c.kind = kCreditKind;
    c.target = target;
    c.words[0] = count;
    if (Error e = send_remote(node, c); e != Error::OK)
        log_limited("bus: cannot return {} credits for {:#x} to node {}: {}", count, target, node,
                    base::error_name(e));
}

// A send from node for target left the bus (queued, or failed): one credit is owed.
void owe_credit(uint16_t node, uint64_t target) {
    if (node == 0)
        return;
    Owed* free_slot = nullptr;
    for (Owed& o : g_owed) {
        if (o.count != 0 && o.node == node && o.target == target) {
            if (++o.count == kCreditBatch) {
                send_credit(node, target, o.count);
                o = {};
            }
            return;
        }
        if (o.count == 0 && !free_slot)
            free_slot = &o;
    }
    if (free_slot)
        *free_slot = {node, target, 1};
    else
        send_credit(node, target, 1); // no room to gather: return it at once
}

bool held_for(uint64_t target) {
    for (Held* h = g_held_head; h; h = h->next) {
        if (h->target == target)
            return true;
    }
    return false;
}

bool hold(uint16_t node, uint64_t target, base::Span<const uint8_t> bytes) {
    if (g_held_count >= kMaxHeld || g_held_bytes + bytes.size() > kMaxHeldBytes)
        return false;
    Held* h = new Held;
    h->bytes = new uint8_t[bytes.size()];
    for (size_t i = 0; i < bytes.size(); ++i)
        h->bytes[i] = bytes[i];
    h->size = bytes.size();
    h->node = node;
    h->target = target;
    if (g_held_tail)
        g_held_tail->next = h;
    else
        g_held_head = h;
    g_held_tail = h;
    ++g_held_count;
    g_held_bytes += bytes.size();
    return true;
}

// Puts a send or call in its export's queue. WOULD_BLOCK: the queue is full (nothing
// kept; the caller holds the message). Any other error is final.
Error deliver(uint16_t node, const RemoteMessage& m, const RemotePorts::Export& target) {
    tern_msg local;
    Error e = to_local(m, node, local);
    if (e != Error::OK)
        return e;
    if (m.kind == BusMessageKind::kCall) {
        auto slot = g_table->add_served(node, m.call_id);
        if (!slot.ok()) {
            e = Error::WOULD_BLOCK; // every reply port slot is taken: wait like a full queue
        } else {
            auto r = call_async(target.handle, local, g_reply_ports[slot.value().reply_port],
                                slot.value().cookie);
            if (!r.ok()) {
                RemotePorts::ServedCall unused;
                (void)g_table->take_served(slot.value().cookie, unused);
                e = r.error();
            }
        }
    } else {
        int64_t r = tern_sys_port_send(target.handle, addr(&local), TERN_TIMEOUT_NONE);
        e = r < 0 ? tern::sys_status(r) : Error::OK;
    }
    if (e != Error::OK)
        close_all(local.handles, local.hdr.handle_count);
    return e;
}

// Sends the kPortGone notices the table queued (an export died: each node it was sent to
// closes its proxy at once). A full transport queue keeps the rest for the next run();
// a node that is not up is skipped (its proxies close when it is declared down).
void send_notices() {
    RemotePorts::GoneNotice n;
    while (g_table->next_notice(n)) {
        if (node_up(n.node)) {
            RemoteMessage gone;
            gone.kind = BusMessageKind::kPortGone;
            gone.target = n.id;
            Error e = send_remote(n.node, gone);
            if (e == Error::WOULD_BLOCK)
                return;
            if (e != Error::OK)
                log_limited("bus: cannot tell node {} that {:#x} is gone: {}", n.node, n.id,
                            base::error_name(e));
        }
        g_table->pop_notice();
    }
}

// What follows a send or call that left the bus with status e: the credit of a send, and
// for a failure the caller's answer or a log line.
void finish(uint16_t node, const RemoteMessage& m, Error e) {
    bool call = m.kind == BusMessageKind::kCall;
    if (!call)
        owe_credit(node, m.target);
    if (e == Error::OK)
        return;
    if (e == Error::PEER_CLOSED && g_table->find_export(m.target)) {
        // The exported port died before its death notice came: its holders are told
        // (the sender among them when it is one), so their proxies close.
        if (node != 0)
            (void)g_table->add_holder(m.target, node);
        close_handle(g_table->remove_export(m.target));
        send_notices();
    }
    if (call && node != 0)
        send_failed_reply(node, m.call_id, e);
    else if (!call)
        log_limited("bus: a message from node {} for {:#x} was dropped: {}", node, m.target,
                    base::error_name(e));
}

// An exported port died (its death notice): the export goes, so the table holds only
// live ports, and every node it was sent to is told at once (kPortGone), so its proxy
// closes and watches on it fire; messages held for it fail when next tried.
void on_export_gone(uint64_t id) {
    if (port_id_serial(id) < kFirstSerial)
        return;
    close_handle(g_table->remove_export(id));
    send_notices();
}

// A message for a port of another node that does not live here, from a node that is not
// its home: the port is on its way here (the hint that sent the message here can beat
// the message that moves the port) or moved on. It goes to the port's home node through
// a proxy, like a local sender's; the home node forwards it to where the port lives.
void via_home(uint16_t node, const RemoteMessage& m) {
    tern_handle_t send = TERN_INVALID_HANDLE;
    Error e = right_for(m.target, send);
    if (e == Error::OK) {
        RemotePorts::Export through = {m.target, 0, send};
        e = deliver(node, m, through);
        close_handle(send);
    }
    ++g_counters.via_home;
    finish(node, m, e);
}

// A message delivered here for a port that has moved on: tell its sender where it lives.
void hint_location(uint16_t node, uint64_t id) {
    const RemotePorts::Proxy* p = g_table->find_proxy(id);
    if (!p || p->node == node || node == 0)
        return;
    RemoteMessage hint;
    hint.kind = kMovedKind;
    hint.target = id;
    hint.words[0] = p->node;
    if (send_remote(node, hint) == Error::OK)
        ++g_counters.hints_sent;
}

// Signal bits from node for a port here, or for one that is not here yet or moved on
// (through its home node, as via_home does for messages).
void on_signal(uint16_t node, const RemoteMessage& m) {
    const RemotePorts::Export* e = g_table->find_export(m.target);
    tern_handle_t through = TERN_INVALID_HANDLE;
    if (!e && port_id_node(m.target) != g_table->self() && port_id_node(m.target) != node)
        (void)right_for(m.target, through, true);
    tern_handle_t port = e ? e->handle : through;
    Error status = Error::PEER_CLOSED;
    if (port != TERN_INVALID_HANDLE) {
        int64_t r = tern_sys_port_signal(port, m.words[0]);
        status = r < 0 ? tern::sys_status(r) : Error::OK;
    }
    close_handle(through);
    if (status == Error::OK)
        return;
    log_limited("bus: signal {:#x} from node {} for {:#x}: {}", m.words[0], node, m.target,
                base::error_name(status));
    if (status == Error::PEER_CLOSED) {
        RemoteMessage gone;
        gone.kind = BusMessageKind::kPortGone;
        gone.target = m.target;
        (void)send_remote(node, gone);
    }
}

void on_call_or_send(uint16_t node, const RemoteMessage& m, base::Span<const uint8_t> bytes) {
    const RemotePorts::Export* target = g_table->find_export(m.target);
    bool call = m.kind == BusMessageKind::kCall;
    if (!target && port_id_node(m.target) != g_table->self() && port_id_node(m.target) != node) {
        via_home(node, m);
        return;
    }
    if (!target) {
        ++g_counters.unknown_targets;
        log_limited("bus: node {} addressed {:#x}, which is not exported here", node, m.target);
        {
            // Ours once (serials are never reused), or a port its home forwarded here that
            // is gone from here: the sender's proxy closes.
            RemoteMessage gone;
            gone.kind = BusMessageKind::kPortGone;
            gone.target = m.target;
            (void)send_remote(node, gone);
        }
        if (call)
            send_failed_reply(node, m.call_id, Error::PEER_CLOSED);
        else
            owe_credit(node, m.target);
        return;
    }
    hint_location(node, m.target);
    // A port that moved here: the nodes that address it here hold proxies for it, to be
    // told at once when it dies (its own ids' holders are those it was sent to).
    if (port_id_node(m.target) != g_table->self())
        (void)g_table->add_holder(m.target, node);
    Error e = held_for(m.target) ? Error::WOULD_BLOCK : deliver(node, m, *target);
    if (e == Error::WOULD_BLOCK) {
        if (hold(node, m.target, bytes))
            return;
        log_limited("bus: node {} sent more than its credits allow ({} messages held)", node,
                    g_held_count);
    }
    finish(node, m, e);
}

// Tries the held messages in order; a port whose first held message still does not fit
// keeps the rest of its messages too.
void retry_held() {
    constexpr size_t kBlockedMax = 64;
    uint64_t blocked[kBlockedMax];
    size_t blocked_count = 0;
    Held* previous = nullptr;
    for (Held* h = g_held_head; h;) {
        bool skip = false;
        for (size_t i = 0; i < blocked_count && !skip; ++i)
            skip = blocked[i] == h->target;
        if (skip) {
            previous = h;
            h = h->next;
            continue;
        }
        RemoteMessage m;
        const RemotePorts::Export* target = g_table->find_export(h->target);
        Error e = Error::PEER_CLOSED;
        if (decode_remote(base::Span<const uint8_t>(h->bytes, h->size), m).ok() && target)
            e = deliver(h->node, m, *target);
        if (e == Error::WOULD_BLOCK) {
            if (blocked_count == kBlockedMax)
                return;
            blocked[blocked_count++] = h->target;
            previous = h;
            h = h->next;
            continue;
        }
        // Unlinked before finish(), which may remove the export.
        Held* next = h->next;
        if (previous)
            previous->next = next;
        else
            g_held_head = next;
        if (g_held_tail == h)
            g_held_tail = previous;
        --g_held_count;
        g_held_bytes -= h->size;
        if (target)
            finish(h->node, m, e);
        else if (m.kind != BusMessageKind::kCall)
            owe_credit(h->node, h->target); // its proxy closes with the port's death
        else if (h->node != 0)
            send_failed_reply(h->node, m.call_id, Error::PEER_CLOSED);
        delete[] h->bytes;
        delete h;
        h = next;
    }
}

void on_reply(uint16_t node, const RemoteMessage& m) {
    tern_handle_t reply = g_table->take_forwarded(node, m.call_id);
    if (reply == 0) {
        log_limited("bus: node {} answered call {}, which is not waiting", node, m.call_id);
        return;
    }
    if (m.status != Error::OK) {
        fail_call(reply, m.status);
        return;
    }
    tern_msg local;
    Error e = to_local(m, node, local);
    if (e != Error::OK) {
        fail_call(reply, e);
        return;
    }
    // A caller that gave up drops what it would have got.
    (void)tern_sys_port_reply(reply, addr(&local));
}

} // namespace

void start(uint16_t self, tern_handle_t set) {
    g_table = new RemotePorts(self);
    g_set = set;
    for (size_t i = 0; i < RemotePorts::kReplyPorts; ++i) {
        int64_t p = tern_sys_port_create(uint32_t(RemotePorts::kCallsPerReplyPort));
        if (p < 0 || tern_sys_port_set_add(set, tern_handle_t(p), uint32_t(1 + i)) < 0) {
            tern::println("bus: no reply port for remote calls");
            return;
        }
        g_reply_ports[i] = tern_handle_t(p);
    }
    if (auto r = g_table->set_root(kRootNameSerial, 1, tern::name_server()); !r.ok())
        tern::println("bus: cannot export the name server: {}", base::error_name(r.error()));
    // proc's root export is its port for the bus, which init hands this server alone
    // (init.conf +bus): proc takes RemoteSpawn and RemoteWait only from there.
    tern_handle_t proc = tern::startup_handle(TERN_STARTUP_PROC_BUS);
    if (proc == TERN_INVALID_HANDLE)
        tern::println("bus: no port of proc's for the bus (init.conf: +bus); other nodes "
                      "cannot reach this node's proc");
    else if (auto r = g_table->set_root(kRootProcSerial, 2, proc); !r.ok())
        tern::println("bus: cannot export proc: {}", base::error_name(r.error()));
}

void on_message(uint16_t node, base::Span<const uint8_t> bytes) {
    if (!g_table)
        return;
    RemoteMessage m;
    if (auto r = decode_remote(bytes, m); !r.ok()) {
        log_limited("bus: a malformed {}-byte remote message from node {}", bytes.size(), node);
        return;
    }
    switch (m.kind) {
    case BusMessageKind::kSend:
    case BusMessageKind::kCall:
        on_call_or_send(node, m, bytes);
        break;
    case BusMessageKind::kReply:
        on_reply(node, m);
        break;
    case BusMessageKind::kPortGone:
        // From the port's home node, or the node it lives on: closing the receive right
        // fails local senders with PEER_CLOSED and fires their watches; the id is
        // remembered, so no proxy for it is made again.
        if (const RemotePorts::Proxy* p = g_table->find_proxy(m.target);
            port_id_node(m.target) == node || (p && p->node == node))
            close_handle(g_table->port_gone(m.target));
        break;
    default:
        if (m.kind == kCreditKind) {
            on_credit(node, m);
        } else if (m.kind == kSignalKind) {
            on_signal(node, m);
        } else if (m.kind == kMovedKind) {
            // Only the node a proxy sends to can redirect it.
            const RemotePorts::Proxy* p = g_table->find_proxy(m.target);
            if (p && p->node == node && g_table->move_proxy(m.target, uint16_t(m.words[0])))
                ++g_counters.redirected;
        }
        break;
    }
}

void on_node_lost(uint16_t node) {
    if (!g_table)
        return;
    static tern_handle_t handles[RemotePorts::kMaxForwardedCalls];
    size_t n = g_table->take_forwarded_of(
        node, base::Span<uint32_t>(handles, RemotePorts::kMaxForwardedCalls));
    for (size_t i = 0; i < n; ++i)
        fail_call(handles[i], Error::NODE_DOWN);
    size_t proxies =
        g_table->remove_proxies_of(node, base::Span<uint32_t>(handles, RemotePorts::kMaxProxies));
    for (size_t i = 0; i < proxies; ++i)
        close_handle(handles[i]);
    size_t orphaned = g_table->orphan_served_of(node);
    // Its proxies went with it: none of our exports is held there any more.
    (void)g_table->forget_holder(node);
    // Its held messages are still delivered (it sent them), but its next life's proxies
    // start with full windows: nothing is owed to it any more.
    for (Held* h = g_held_head; h; h = h->next) {
        if (h->node == node)
            h->node = 0;
    }
    for (Owed& o : g_owed) {
        if (o.node == node)
            o = {};
    }
    if (n || proxies || orphaned)
        tern::println("bus: node {} lost: {} calls failed with NODE_DOWN, {} proxies closed, {} "
                      "calls from it orphaned",
                      node, n, proxies, orphaned);
}

void on_member(void*, tern_msg& msg, uint32_t key) {
    if (!g_table) {
        close_all(msg.handles, msg.hdr.handle_count);
        close_handle(msg.reply_handle);
        return;
    }
    if (key >= 1 && key <= RemotePorts::kReplyPorts) {
        // Only the kernel sends to the reply ports: answers, and on the first one the
        // death notices of exported ports.
        if (!is_async_answer(msg) && msg.hdr.label == TERN_LABEL_OBJECT_GONE
            && msg.hdr.sender_badge == 0)
            on_export_gone(msg.words[0]);
        else
            on_answer(msg);
        return;
    }
    const RemotePorts::Proxy* p = g_table->proxy_at_key(key);
    if (!p) {
        close_all(msg.handles, msg.hdr.handle_count);
        close_handle(msg.reply_handle);
        return;
    }
    RemotePorts::Proxy copy = *p;
    // Signal bits on a proxy come from the kernel (badge 0), not from a sender.
    if (msg.hdr.label == TERN_LABEL_SIGNAL && msg.hdr.sender_badge == 0 && !is_async_answer(msg)) {
        forward_signal(copy, msg.words[0]);
        return;
    }
    forward(copy, msg);
}

void run() {
    if (g_table && g_held_head)
        retry_held();
    if (g_table && g_table->notice_count())
        send_notices();
}

uint64_t next_deadline(uint64_t now) {
    bool pending = g_held_head || (g_table && g_table->notice_count());
    return pending ? now + kHoldRetryNs : UINT64_MAX;
}

const RemoteCounters& remote_counters() { return g_counters; }

Error root_proxy(uint16_t node, uint64_t serial, tern_handle_t& out) {
    if (!g_table)
        return Error::NOT_FOUND;
    if ((serial != kRootNameSerial && serial != kRootProcSerial) || node == g_table->self()
        || node == 0)
        return Error::INVALID_ARGUMENT;
    if (!node_up(node))
        return Error::NODE_DOWN;
    return right_for(global_port_id(node, serial), out);
}

} // namespace tern::bus::remote

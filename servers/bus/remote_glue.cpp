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

// The queue of each proxy: what local senders may have queued before the bus forwards.
constexpr uint32_t kProxyQueue = 64;

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

RemotePorts* g_table = nullptr;
tern_handle_t g_set = TERN_INVALID_HANDLE;
tern_handle_t g_reply_ports[RemotePorts::kReplyPorts] = {};
uint64_t g_logged = 0;
uint8_t g_out[kMaxMessage];

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

// The type of each handle of this task, looked up when a message carries handles.
bool handle_type(tern_handle_t h, uint32_t& type) {
    static tern_handle_info infos[512];
    int64_t n = tern_sys_task_handles(tern::self(), addr(infos), 512);
    if (n < 0)
        return false;
    for (int64_t i = 0; i < n && i < 512; ++i) {
        if (infos[i].handle == h) {
            type = infos[i].type;
            return true;
        }
    }
    return false;
}

// A SEND right a local program may hold for the global id: a proxy (made when new) or,
// for an id of this node, a duplicate of the export's right.
Error right_for(uint64_t id, tern_handle_t& out) {
    if (port_id_node(id) == g_table->self()) {
        const RemotePorts::Export* e = g_table->find_export(id);
        if (!e)
            return Error::NOT_FOUND;
        int64_t d = tern_sys_handle_duplicate(e->handle, TERN_RIGHTS_SAME);
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
    int64_t d = tern_sys_handle_duplicate(port, TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE
                                                    | TERN_RIGHT_TRANSFER);
    if (d < 0)
        return tern::sys_status(d);
    out = tern_handle_t(d);
    return Error::OK;
}

// The local message for a remote one: words, data and rights for its port ids. On an
// error every right made so far is closed.
Error to_local(const RemoteMessage& m, tern_msg& out) {
    out = {};
    out.hdr.label = m.label;
    for (size_t i = 0; i < kRemoteWords; ++i)
        out.words[i] = m.words[i];
    out.data = addr(m.data.data());
    out.hdr.data_size = uint32_t(m.data.size());
    for (uint32_t i = 0; i < m.handle_count; ++i) {
        Error e = m.handles[i].kind == RemoteHandleKind::kPort
                      ? right_for(m.handles[i].port_id, out.handles[i])
                      : Error::NOT_SUPPORTED; // memory across nodes: not carried yet
        if (e != Error::OK) {
            close_all(out.handles, i);
            return e;
        }
        out.hdr.handle_count = i + 1;
    }
    return Error::OK;
}

// The remote form of a local message's parts. Port rights become exports (the table
// keeps them); anything else fails the message. On an error, the message's handles that
// were not exported are closed.
Error to_remote(tern_msg& msg, RemoteMessage& out) {
    out.label = msg.hdr.label;
    for (size_t i = 0; i < kRemoteWords; ++i)
        out.words[i] = msg.words[i];
    out.data =
        base::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(msg.data), msg.hdr.data_size);
    out.handle_count = 0;
    for (uint32_t i = 0; i < msg.hdr.handle_count; ++i) {
        uint32_t type = 0;
        if (!handle_type(msg.handles[i], type) || type != TERN_OBJ_PORT) {
            log_limited("bus: a message for another node carries a handle of type {}: only "
                        "port rights cross nodes",
                        type);
            close_all(msg.handles + i, msg.hdr.handle_count - i);
            return Error::NOT_SUPPORTED;
        }
        // The kernel gives no identity of a right's object, so each right the bus
        // receives is a new export (docs/bus.md).
        bool created = false;
        auto id = g_table->export_port(msg.handles[i], msg.handles[i], created);
        if (!id.ok()) {
            close_all(msg.handles + i, msg.hdr.handle_count - i);
            return id.error();
        }
        if (!created)
            close_handle(msg.handles[i]);
        out.handles[i].kind = RemoteHandleKind::kPort;
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

void send_failed_reply(uint16_t node, uint64_t call_id, Error status) {
    RemoteMessage r;
    r.kind = BusMessageKind::kReply;
    r.call_id = call_id;
    r.status = status;
    if (Error e = send_remote(node, r); e != Error::OK)
        log_limited("bus: cannot answer call {} of node {}: {}", call_id, node,
                    base::error_name(e));
}

// A call or send a local program made on a proxy: forward it to the exporting node.
void forward(const RemotePorts::Proxy& proxy, tern_msg& msg) {
    uint64_t id = proxy.id;
    uint16_t node = port_id_node(id);
    bool call = (msg.hdr.flags & TERN_MSG_FLAG_CALL) != 0;
    tern_handle_t reply = call ? msg.reply_handle : TERN_INVALID_HANDLE;
    RemoteMessage m;
    m.kind = call ? BusMessageKind::kCall : BusMessageKind::kSend;
    m.target = id;
    Error e = node_up(node) ? Error::OK : Error::NODE_DOWN;
    if (e == Error::OK)
        e = to_remote(msg, m);
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
    if (e == Error::OK)
        return;
    // The exports this message made stay until their ports die; the caller's reply
    // right is answered with the error in the protocol's form.
    log_limited("bus: cannot forward to {:#x} on node {}: {}", id, node, base::error_name(e));
    if (call)
        (void)proto::reply_raw(reply, e, nullptr, 0, proto::Reply{});
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
        e = to_remote(msg, r);
    else
        close_all(msg.handles, msg.hdr.handle_count);
    if (e != Error::OK) {
        send_failed_reply(c.node, c.call_id, e);
        return;
    }
    if (Error s = send_remote(c.node, r); s != Error::OK)
        send_failed_reply(c.node, c.call_id, s);
}

void on_call_or_send(uint16_t node, const RemoteMessage& m) {
    const RemotePorts::Export* target = g_table->find_export(m.target);
    bool call = m.kind == BusMessageKind::kCall;
    if (!target || port_id_node(m.target) != g_table->self()) {
        log_limited("bus: node {} addressed {:#x}, which is not exported here", node, m.target);
        if (call)
            send_failed_reply(node, m.call_id, Error::PEER_CLOSED);
        return;
    }
    tern_msg local;
    Error e = to_local(m, local);
    if (e == Error::OK && call) {
        auto slot = g_table->add_served(node, m.call_id);
        if (!slot.ok()) {
            e = Error::WOULD_BLOCK;
        } else {
            auto r = call_async(target->handle, local, g_reply_ports[slot.value().reply_port],
                                slot.value().cookie);
            if (!r.ok()) {
                RemotePorts::ServedCall unused;
                (void)g_table->take_served(slot.value().cookie, unused);
                e = r.error();
            }
        }
    } else if (e == Error::OK) {
        int64_t r = tern_sys_port_send(target->handle, addr(&local), TERN_TIMEOUT_NONE);
        e = r < 0 ? tern::sys_status(r) : Error::OK;
    }
    if (e == Error::OK)
        return;
    close_all(local.handles, local.hdr.handle_count);
    if (e == Error::PEER_CLOSED) {
        // The exported port died: tell the node, so its proxy closes.
        RemoteMessage gone;
        gone.kind = BusMessageKind::kPortGone;
        gone.target = m.target;
        (void)send_remote(node, gone);
        close_handle(g_table->remove_export(m.target));
    }
    if (call)
        send_failed_reply(node, m.call_id, e);
    else
        log_limited("bus: a message from node {} for {:#x} was dropped: {}", node, m.target,
                    base::error_name(e));
}

void on_reply(uint16_t node, const RemoteMessage& m) {
    tern_handle_t reply = g_table->take_forwarded(node, m.call_id);
    if (reply == 0) {
        log_limited("bus: node {} answered call {}, which is not waiting", node, m.call_id);
        return;
    }
    if (m.status != Error::OK) {
        (void)proto::reply_raw(reply, m.status, nullptr, 0, proto::Reply{});
        return;
    }
    tern_msg local;
    Error e = to_local(m, local);
    if (e != Error::OK) {
        (void)proto::reply_raw(reply, e, nullptr, 0, proto::Reply{});
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
    ServiceHandle proc{"proc"};
    auto p = proc.get();
    if (!p.ok() || !g_table->set_root(kRootProcSerial, 2, p.value()).ok())
        tern::println("bus: cannot export proc");
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
        on_call_or_send(node, m);
        break;
    case BusMessageKind::kReply:
        on_reply(node, m);
        break;
    case BusMessageKind::kPortGone:
        if (port_id_node(m.target) == node)
            close_handle(g_table->remove_proxy(m.target));
        break;
    default:
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
        (void)proto::reply_raw(handles[i], Error::NODE_DOWN, nullptr, 0, proto::Reply{});
    size_t proxies =
        g_table->remove_proxies_of(node, base::Span<uint32_t>(handles, RemotePorts::kMaxProxies));
    for (size_t i = 0; i < proxies; ++i)
        close_handle(handles[i]);
    size_t orphaned = g_table->orphan_served_of(node);
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
    forward(copy, msg);
}

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

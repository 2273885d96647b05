// The name server: string names for ports (tern/protocols/name.h).
//
// Names live in a fixed table. Each registration keeps a SEND right to the port and a
// death-notice watch on it (object_watch), so when the port's receive right closes (its
// owner exited or closed it) the notice arrives here and the name is released. Each task
// that registers has a record in a table of owners, made from the handle to itself it
// sends with its first registration and watched once, so when the task ends its names
// are released too, whichever port they point at. Lookups that ask to wait are parked
// until the name appears.
#include <base/format.h>
#include <base/string_view.h>
#include <tern/async_call.h>
#include <tern/print.h>
#include <tern/protocols/bus.h>
#include <tern/protocols/name.h>
#include <tern/runtime.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

struct Entry {
    bool used = false;
    char name[name::kMaxName + 1] = {};
    uint32_t name_length = 0;
    tern_handle_t port = TERN_INVALID_HANDLE;
    uint64_t port_id = 0;
    uint64_t owner = 0;      // the registering task's id (the message badge)
    uint32_t generation = 0; // makes stale death notices harmless
};

struct Waiter {
    bool used = false;
    char name[name::kMaxName + 1] = {};
    uint32_t name_length = 0;
    uint64_t sequence = 0; // age, for making room
    proto::PendingReply reply;
};

// A task that registers names, or that proc vouched for (Trust).
struct Owner {
    bool used = false;
    bool trusted = false; // may register system names
    uint64_t task_id = 0;
    tern_handle_t task = TERN_INVALID_HANDLE;
    uint32_t generation = 0;
};

constexpr size_t kMaxWaiters = 64;
constexpr size_t kMaxNamesPerOwner = 32;
// A task holding a name has one record, so theirs always fit; when the table is full, a
// record that holds no names and is not trusted gives way (add_owner).
constexpr size_t kMaxOwners = name::kMaxNames;
// Watch cookies for owner records carry their index from here, above those of entries.
constexpr uint32_t kOwnerCookieBase = 0x10000;

struct State {
    Entry entries[name::kMaxNames];
    Owner owners[kMaxOwners];
    Waiter waiters[kMaxWaiters];
    tern_handle_t port = TERN_INVALID_HANDLE;
    uint64_t node = 0;
    uint64_t next_serial = 1;
    uint64_t waiter_sequence = 0;
    // Until proc first vouches for a task, only init and the core servers run, and any of
    // them may register a system name.
    bool system_names_open = true;
};

State g_state;

// ---- Names on other nodes ---------------------------------------------------------------
//
// "x@N" is x in node N's name space: the lookup goes to node N's name server through the
// bus (its root export, a proxy from bus.RemoteRoot), asynchronously, and its answer (a
// proxy for the port) is passed on. "x@N" with N this node is x here. A name whose
// suffix is not a node number is an ordinary name.
//
// A bare name x that is not registered here, looked up without waiting, is asked of
// every other node the bus has up, as "x@M" (so node M answers from its own names and
// asks no further): registered on exactly one of them, its proxy is the answer; on two
// or more, AMBIGUOUS; on none, NOT_FOUND. A name registered here always wins. A lookup
// that waits is answered from this node's names only, as is any lookup the network
// server itself makes (it answers the bus's questions and must not wait on them).

Entry* find(base::StringView name);

constexpr size_t kMaxRemoteLookups = 64; // the reply port's queue: one slot each
constexpr size_t kMaxNodeProxies = 16;
constexpr uint32_t kReplyPortKey = 1;

constexpr size_t kMaxBareLookups = 16;
constexpr uint32_t kNoBareLookup = UINT32_MAX;

struct RemoteLookup {
    bool used = false;
    uint32_t generation = 0;
    uint16_t node = 0;
    uint32_t bare = kNoBareLookup; // the bare lookup it is part of, an index of g_bare
    proto::PendingReply reply;
};

// A bare name asked of every other node: the answers gathered so far.
struct BareLookup {
    bool used = false;
    uint32_t outstanding = 0;                 // nodes that have not answered
    uint32_t found = 0;                       // nodes that have the name
    tern_handle_t port = TERN_INVALID_HANDLE; // the first one's proxy
    uint64_t port_id = 0;
    proto::PendingReply reply;
};

struct NodeProxy {
    uint16_t node = 0; // 0: free
    tern_handle_t port = TERN_INVALID_HANDLE;
};

RemoteLookup g_remote[kMaxRemoteLookups];
NodeProxy g_node_proxies[kMaxNodeProxies];
BareLookup g_bare[kMaxBareLookups];
tern_handle_t g_reply_port = TERN_INVALID_HANDLE;

// Splits "x@N" into x and N; false when the name has no "@<node>" suffix.
bool split_node(base::StringView n, base::StringView& local, uint16_t& node) {
    size_t at = n.size();
    while (at > 0 && n[at - 1] >= '0' && n[at - 1] <= '9')
        --at;
    if (at == n.size() || at < 2 || n[at - 1] != '@' || n.size() - at > 5)
        return false;
    uint32_t value = 0;
    for (size_t i = at; i < n.size(); ++i)
        value = value * 10 + uint32_t(n[i] - '0');
    if (value == 0 || value > UINT16_MAX)
        return false;
    local = base::StringView(n.data(), at - 1);
    node = uint16_t(value);
    return true;
}

void forget_node_proxy(uint16_t node) {
    for (NodeProxy& p : g_node_proxies) {
        if (p.node == node) {
            (void)tern_sys_handle_close(p.port);
            p = NodeProxy{};
        }
    }
}

// A SEND right to node's name server through the bus (kept for the next lookups).
base::Result<tern_handle_t> node_proxy(uint16_t node) {
    for (const NodeProxy& p : g_node_proxies)
        if (p.node == node)
            return p.port;
    // The bus is registered here, by the network server.
    Entry* bus = find("bus");
    if (!bus)
        return base::Error::NOT_FOUND;
    tern_handle_t proxy = TERN_INVALID_HANDLE;
    uint32_t count = 0;
    proto::CallParts parts;
    parts.out_handles = &proxy;
    parts.out_handle_count = &count;
    // Bounded: the network server may itself be calling this server (while it starts).
    auto r = proto::call<bus::RemoteRoot>(bus->port, {node, 1}, parts, 1'000'000'000ull);
    if (r.is_error())
        return r.error();
    if (count != 1)
        return base::Error::CORRUPT;
    for (NodeProxy& p : g_node_proxies) {
        if (p.node == 0) {
            p = {node, proxy};
            return proxy;
        }
    }
    // The cache is full: replace its first entry.
    (void)tern_sys_handle_close(g_node_proxies[0].port);
    g_node_proxies[0] = {node, proxy};
    return proxy;
}

// Sends the lookup of name ("x@node", which node answers from its own names) to node;
// the answer arrives on the reply port.
base::Error lookup_remote(base::StringView name, uint16_t node, uint32_t flags,
                          proto::PendingReply pending, uint32_t bare = kNoBareLookup) {
    if (g_reply_port == TERN_INVALID_HANDLE) {
        // Made at the first remote lookup: a port set with a member costs every receive a
        // little, which a node that never looks across the cluster need not pay.
        int64_t port = tern_sys_port_create(kMaxRemoteLookups);
        if (port < 0)
            return tern::sys_status(port);
        if (int64_t r = tern_sys_port_set_add(g_state.port, tern_handle_t(port), kReplyPortKey);
            r < 0) {
            (void)tern_sys_handle_close(tern_handle_t(port));
            tern::println("name: no reply port for lookups on other nodes: {}",
                          base::error_name(tern::sys_status(r)));
            return tern::sys_status(r);
        }
        g_reply_port = tern_handle_t(port);
    }
    RemoteLookup* slot = nullptr;
    for (RemoteLookup& r : g_remote)
        if (!r.used) {
            slot = &r;
            break;
        }
    if (!slot)
        return base::Error::NO_SPACE;
    name::LookupRequest request = {flags};
    tern_msg msg = {};
    msg.hdr.label = name::Lookup::kLabel;
    __builtin_memcpy(msg.words, &request, sizeof(request));
    msg.data = reinterpret_cast<uint64_t>(name.data());
    msg.hdr.data_size = uint32_t(name.size());
    uint64_t cookie = proto::SlotCookie{uint32_t(slot - g_remote), slot->generation}.value();
    // A proxy the bus closed (its node was down) is fetched again once.
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto proxy = node_proxy(node);
        if (proxy.is_error())
            return proxy.error();
        auto sent = call_async(proxy.value(), msg, g_reply_port, cookie);
        if (sent.ok()) {
            slot->used = true;
            slot->node = node;
            slot->bare = bare;
            slot->reply = pending;
            return base::Error::OK;
        }
        if (sent.error() != base::Error::PEER_CLOSED)
            return sent.error();
        forget_node_proxy(node);
    }
    return base::Error::NODE_DOWN;
}

// The bare lookup is complete: one node's proxy, AMBIGUOUS or NOT_FOUND.
void finish_bare(BareLookup& b) {
    if (b.found == 1) {
        proto::Reply parts;
        parts.handles[0] = b.port;
        parts.handle_count = 1;
        (void)proto::reply_later<name::Lookup>(b.reply, base::Error::OK, {b.port_id}, parts);
    } else {
        if (b.port != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(b.port);
        (void)proto::reply_later<name::Lookup>(
            b.reply, b.found > 1 ? base::Error::AMBIGUOUS : base::Error::NOT_FOUND, {});
    }
    b = BareLookup{};
}

// One node's answer to a bare lookup. A node that failed to answer (down meanwhile)
// counts as one without the name.
void bare_answer(BareLookup& b, uint16_t node, tern_msg& msg) {
    bool found = async_answer_status(msg) == base::Error::OK && msg.hdr.label == 0
                 && msg.hdr.handle_count == 1;
    if (async_answer_status(msg) != base::Error::OK)
        forget_node_proxy(node);
    if (found && b.found == 0) {
        b.port = msg.handles[0];
        b.port_id = msg.words[0];
    } else {
        for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
            (void)tern_sys_handle_close(msg.handles[i]);
    }
    b.found += found ? 1 : 0;
    if (--b.outstanding == 0)
        finish_bare(b);
}

// Asks every other node that is up for the bare name n; OK when the answer will come
// later (reply deferred), NOT_FOUND when there is no one to ask.
base::Error lookup_everywhere(State* s, base::StringView n, uint64_t badge,
                              proto::PendingReply pending) {
    Entry* bus = find("bus");
    // "x@65535" must still be a valid name; the network server's own lookups stay here.
    if (!bus || bus->owner == badge || n.size() + 6 > name::kMaxName)
        return base::Error::NOT_FOUND;
    static bus::NodeInfo nodes[bus::kMaxNodes];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(nodes), sizeof(nodes)};
    parts.out_data_size = &size;
    // Bounded, as node_proxy's call: the network server may be calling us meanwhile.
    auto r = proto::call<bus::Nodes>(bus->port, {}, parts, 1'000'000'000ull);
    if (r.is_error())
        return base::Error::NOT_FOUND;
    BareLookup* b = nullptr;
    for (BareLookup& x : g_bare) {
        if (!x.used) {
            b = &x;
            break;
        }
    }
    if (!b)
        return base::Error::NO_SPACE;
    b->used = true;
    b->reply = pending;
    uint32_t index = uint32_t(b - g_bare);
    for (size_t i = 0; i < size / sizeof(bus::NodeInfo) && i < bus::kMaxNodes; ++i) {
        if (nodes[i].state != bus::kNodeUp || nodes[i].node == s->node)
            continue;
        char full[name::kMaxName + 1];
        base::BufferSink sink(full, sizeof(full));
        base::format_to(sink, "{}@{}", n, nodes[i].node);
        // Counted first: an answer cannot come before this returns, but the count must
        // never reach 0 while lookups are still being sent.
        ++b->outstanding;
        if (lookup_remote(sink.view(), nodes[i].node, 0, pending, index) != base::Error::OK)
            --b->outstanding;
    }
    if (b->outstanding == 0) {
        *b = BareLookup{};
        return base::Error::NOT_FOUND;
    }
    return base::Error::OK;
}

// The answer of another node's name server: passed on to the client as it came.
void on_remote_answer(void*, tern_msg& msg, uint32_t key) {
    proto::SlotCookie c = proto::SlotCookie::from(msg.hdr.sender_badge);
    bool known = key == kReplyPortKey && is_async_answer(msg) && c.index < kMaxRemoteLookups
                 && g_remote[c.index].used && g_remote[c.index].generation == c.generation;
    if (!known) {
        for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
            (void)tern_sys_handle_close(msg.handles[i]);
        if (msg.reply_handle != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(msg.reply_handle);
        return;
    }
    RemoteLookup& r = g_remote[c.index];
    proto::PendingReply pending = r.reply;
    if (r.bare != kNoBareLookup) {
        bare_answer(g_bare[r.bare], r.node, msg);
    } else if (async_answer_status(msg) != base::Error::OK) {
        forget_node_proxy(r.node);
        (void)proto::reply_later<name::Lookup>(pending, base::Error::NODE_DOWN, {});
    } else {
        // The remote server's reply (status in the label, the response in the words, the
        // port's proxy in handles[0]) goes on unchanged.
        msg.hdr.flags = 0;
        msg.hdr.sender_badge = 0;
        msg.data = 0;
        msg.hdr.data_size = 0;
        msg.reply_handle = 0;
        if (tern_sys_port_reply(pending.reply, reinterpret_cast<uint64_t>(&msg)) < 0) {
            for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
                (void)tern_sys_handle_close(msg.handles[i]);
        }
    }
    r.used = false;
    ++r.generation;
}

bool valid_name(base::Span<const uint8_t> data) {
    if (data.empty() || data.size() > name::kMaxName)
        return false;
    for (uint8_t c : data) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                  || c == '_' || c == '.' || c == '@' || c == '/' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

base::StringView view(base::Span<const uint8_t> data) {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
}

Entry* find(base::StringView name) {
    for (Entry& e : g_state.entries)
        if (e.used && base::StringView(e.name, e.name_length) == name)
            return &e;
    return nullptr;
}

// A SEND copy of the entry's port for a client.
base::Result<tern_handle_t> copy_port(const Entry& e) {
    int64_t h = tern_sys_handle_duplicate(e.port, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER
                                                      | TERN_RIGHT_DUPLICATE);
    if (h < 0)
        return tern::sys_status(h);
    return tern_handle_t(h);
}

void answer_lookup(proto::PendingReply& pending, const Entry& e) {
    auto h = copy_port(e);
    if (h.is_error()) {
        (void)proto::reply_later<name::Lookup>(pending, h.error(), {});
        return;
    }
    proto::Reply parts;
    parts.handles[0] = h.value();
    parts.handle_count = 1;
    (void)proto::reply_later<name::Lookup>(pending, base::Error::OK, {e.port_id}, parts);
}

size_t names_of(const State& s, uint64_t task_id) {
    size_t n = 0;
    for (const Entry& e : s.entries)
        n += e.used && e.owner == task_id;
    return n;
}

Owner* find_owner(State* s, uint64_t task_id) {
    for (Owner& o : s->owners)
        if (o.used && o.task_id == task_id)
            return &o;
    return nullptr;
}

void drop_owner(Owner& o) {
    (void)tern_sys_handle_close(o.task);
    uint32_t generation = o.generation;
    o = Owner{};
    o.generation = generation;
}

// A record for the task behind `task` (whose id is task_id), watched from now on; the
// handle is the record's, or closed on failure. When the table is full, the record of a
// task that holds no names and is not trusted makes room: its watch stays in the kernel
// until that task ends, and the notice is then recognised as stale.
base::Result<Owner*> add_owner(State* s, tern_handle_t task, uint64_t task_id, bool trusted) {
    size_t index = kMaxOwners;
    for (size_t i = 0; i < kMaxOwners && index == kMaxOwners; ++i)
        if (!s->owners[i].used)
            index = i;
    for (size_t i = 0; i < kMaxOwners && index == kMaxOwners; ++i) {
        const Owner& o = s->owners[i];
        if (!o.trusted && names_of(*s, o.task_id) == 0) {
            drop_owner(s->owners[i]);
            index = i;
        }
    }
    if (index == kMaxOwners) {
        (void)tern_sys_handle_close(task);
        return base::Error::NO_SPACE;
    }
    Owner& o = s->owners[index];
    uint32_t generation = o.generation + 1;
    uint64_t cookie = proto::SlotCookie{uint32_t(kOwnerCookieBase + index), generation}.value();
    if (int64_t r = tern_sys_object_watch(task, s->port, cookie); r < 0) {
        (void)tern_sys_handle_close(task);
        return tern::sys_status(r); // QUOTA_EXCEEDED: the task has the most watches
    }
    o = Owner{};
    o.used = true;
    o.trusted = trusted;
    o.task_id = task_id;
    o.task = task;
    o.generation = generation;
    return &o;
}

// The record of the calling task, made from the handle to itself in request slot
// `slot` when there is none yet. The handle must name the caller either way.
base::Result<Owner*> caller(State* s, proto::Request& request, uint32_t slot) {
    tern_handle_t task = request.take_handle(slot);
    if (tern_sys_task_id_of(task) != int64_t(request.badge())) {
        (void)tern_sys_handle_close(task);
        request.set_refusal_reason("the handle is not the caller's task");
        return base::Error::INVALID_ARGUMENT;
    }
    if (Owner* o = find_owner(s, request.badge())) {
        (void)tern_sys_handle_close(task);
        return o;
    }
    return add_owner(s, task, request.badge(), s->system_names_open);
}

base::Error on_register(State* s, proto::Request& request, const name::RegisterRequest& in,
                        name::RegisterResponse& out, proto::Reply&, proto::PendingReply&) {
    if (in.flags != 0 || !valid_name(request.data())) {
        request.set_refusal_reason("bad name or flags");
        return base::Error::INVALID_ARGUMENT;
    }
    if (request.handle_count() != 2) {
        request.set_refusal_reason("needs the port and the caller's task");
        return base::Error::INVALID_ARGUMENT;
    }
    base::StringView n = view(request.data());
    if (find(n))
        return base::Error::ALREADY_EXISTS;
    Entry* slot = nullptr;
    size_t index = 0;
    for (size_t i = 0; i < name::kMaxNames; ++i) {
        if (!s->entries[i].used) {
            slot = &s->entries[i];
            index = i;
            break;
        }
    }
    if (!slot)
        return base::Error::NO_SPACE;
    auto owner = caller(s, request, 1);
    if (owner.is_error())
        return owner.error();
    if (name::is_system_name(n) && !owner.value()->trusted) {
        request.set_refusal_reason("a system name, for the services init starts");
        return base::Error::ACCESS_DENIED;
    }
    // One task cannot take the whole table from everyone else.
    if (names_of(*s, request.badge()) >= kMaxNamesPerOwner)
        return base::Error::QUOTA_EXCEEDED;
    tern_handle_t port = request.take_handle(0);
    uint32_t generation = slot->generation + 1;
    uint64_t cookie = proto::SlotCookie{uint32_t(index), generation}.value();
    // object_watch takes a task as readily as a port, so a task is refused here.
    if (tern_sys_task_id_of(port) >= 0) {
        (void)tern_sys_handle_close(port);
        request.set_refusal_reason("not a port");
        return base::Error::INVALID_ARGUMENT;
    }
    if (int64_t r = tern_sys_object_watch(port, s->port, cookie); r < 0) {
        (void)tern_sys_handle_close(port);
        // WRONG_TYPE: not a port; QUOTA_EXCEEDED: the port carries the kernel's most
        // watches.
        if (r == -TERN_QUOTA_EXCEEDED)
            return base::Error::QUOTA_EXCEEDED;
        request.set_refusal_reason("not a port");
        return base::Error::INVALID_ARGUMENT;
    }
    *slot = Entry{};
    slot->used = true;
    __builtin_memcpy(slot->name, n.data(), n.size());
    slot->name_length = uint32_t(n.size());
    slot->port = port;
    slot->owner = request.badge();
    slot->generation = generation;
    slot->port_id = (s->node << 48) | s->next_serial++;
    out.port_id = slot->port_id;
    // Parked lookups for this name are answered now.
    for (Waiter& w : s->waiters) {
        if (w.used && base::StringView(w.name, w.name_length) == n) {
            answer_lookup(w.reply, *slot);
            w = Waiter{};
        }
    }
    return base::Error::OK;
}

base::Error on_lookup(State* s, proto::Request& request, const name::LookupRequest& in,
                      name::LookupResponse& out, proto::Reply& reply,
                      proto::PendingReply& pending) {
    if ((in.flags & ~name::kLookupWait) != 0 || !valid_name(request.data())) {
        request.set_refusal_reason("bad name or flags");
        return base::Error::INVALID_ARGUMENT;
    }
    base::StringView n = view(request.data());
    base::StringView local;
    uint16_t node = 0;
    if (split_node(n, local, node)) {
        if (node != s->node) {
            base::Error e = lookup_remote(n, node, in.flags, pending);
            if (e != base::Error::OK) {
                request.set_refusal_reason("lookup on another node");
                return e;
            }
            reply.deferred = true;
            return base::Error::OK;
        }
        n = local;
    }
    if (Entry* e = find(n)) {
        auto h = copy_port(*e);
        if (h.is_error())
            return h.error();
        reply.handles[0] = h.value();
        reply.handle_count = 1;
        out.port_id = e->port_id;
        return base::Error::OK;
    }
    if (!(in.flags & name::kLookupWait)) {
        if (node != 0) // "x@N" with N this node: this node's names only
            return base::Error::NOT_FOUND;
        base::Error e = lookup_everywhere(s, n, request.badge(), pending);
        if (e != base::Error::OK)
            return e;
        reply.deferred = true;
        return base::Error::OK;
    }
    // Parked lookups are bounded; a full table answers its oldest TIMED_OUT (proto::park).
    Waiter* slot = &proto::park<name::Lookup>(s->waiters, s->waiter_sequence);
    __builtin_memcpy(slot->name, n.data(), n.size());
    slot->name_length = uint32_t(n.size());
    slot->reply = pending;
    reply.deferred = true;
    return base::Error::OK;
}

void release(Entry& e, const char* why) {
    tern::println("name: '{}' released ({})", base::StringView(e.name, e.name_length), why);
    // The port's watch goes with the name (NOT_FOUND when it has fired): a port registered
    // and unregistered again and again must not fill its 64 watch slots.
    uint32_t index = uint32_t(&e - g_state.entries);
    uint64_t cookie = proto::SlotCookie{index, e.generation}.value();
    (void)tern_sys_object_unwatch(e.port, g_state.port, cookie);
    (void)tern_sys_handle_close(e.port);
    uint32_t generation = e.generation;
    e = Entry{};
    e.generation = generation;
}

base::Error on_unregister(State*, proto::Request& request, const proto::Empty&, proto::Empty&,
                          proto::Reply&, proto::PendingReply&) {
    if (!valid_name(request.data())) {
        request.set_refusal_reason("bad name");
        return base::Error::INVALID_ARGUMENT;
    }
    Entry* e = find(view(request.data()));
    if (!e)
        return base::Error::NOT_FOUND;
    if (e->owner != request.badge()) {
        request.set_refusal_reason("another task's name");
        return base::Error::NOT_OWNER;
    }
    release(*e, "unregistered");
    return base::Error::OK;
}

char g_list[name::kListBytes];

base::Error on_list(State* s, proto::Request&, const proto::Empty&, name::ListResponse& out,
                    proto::Reply& reply, proto::PendingReply&) {
    base::BufferSink sink(g_list, sizeof(g_list));
    uint32_t count = 0;
    for (const Entry& e : s->entries) {
        if (!e.used)
            continue;
        base::format_to(sink, "{} {:#x} {}\n", base::StringView(e.name, e.name_length), e.port_id,
                        e.owner);
        ++count;
    }
    out.count = count;
    reply.data = {reinterpret_cast<const uint8_t*>(g_list), sink.written()};
    return base::Error::OK;
}

base::Error on_trust(State* s, proto::Request& request, const proto::Empty&, proto::Empty&,
                     proto::Reply&, proto::PendingReply&) {
    const Entry* proc = find("proc");
    if (!proc || proc->owner != request.badge()) {
        request.set_refusal_reason("only proc vouches for tasks");
        return base::Error::ACCESS_DENIED;
    }
    tern_handle_t task = request.take_handle(0);
    int64_t id = tern_sys_task_id_of(task);
    if (id <= 0) {
        (void)tern_sys_handle_close(task);
        request.set_refusal_reason("needs a task");
        return base::Error::INVALID_ARGUMENT;
    }
    s->system_names_open = false;
    if (Owner* o = find_owner(s, uint64_t(id))) {
        (void)tern_sys_handle_close(task);
        o->trusted = true;
        return base::Error::OK;
    }
    auto added = add_owner(s, task, uint64_t(id), true);
    return added.is_error() ? added.error() : base::Error::OK;
}

void owner_ended(State* s, Owner& o) {
    for (Entry& e : s->entries)
        if (e.used && e.owner == o.task_id)
            release(e, "its owner ended");
    drop_owner(o);
}

void on_event(void* context, const tern_msg& event, uint32_t) {
    auto* s = static_cast<State*>(context);
    if (event.hdr.label != TERN_LABEL_OBJECT_GONE)
        return;
    auto cookie = proto::SlotCookie::from(event.words[0]);
    if (cookie.index >= kOwnerCookieBase && cookie.index - kOwnerCookieBase < kMaxOwners) {
        Owner& o = s->owners[cookie.index - kOwnerCookieBase];
        if (o.used && o.generation == cookie.generation)
            owner_ended(s, o);
        return;
    }
    if (cookie.index >= name::kMaxNames)
        return;
    Entry& e = s->entries[cookie.index];
    if (e.used && e.generation == cookie.generation)
        release(e, "its port closed");
}

} // namespace

extern "C" int main(uint64_t) {
    int64_t port = tern_sys_port_create(64);
    if (port < 0) {
        tern::println("name: cannot create a port: {}", port);
        return 1;
    }
    g_state.port = tern_handle_t(port);
    g_state.node = uint64_t(tern_sys_node_id());
    // The name server's own port reaches clients through their startup handle; init
    // waits for this message to know the server is ready (startup private handle 16).
    tern_handle_t ready = startup_handle(TERN_STARTUP_PRIVATE);
    proto::Server server("name", g_state.port);
    server.on<name::Register>(&g_state, on_register);
    server.on<name::Lookup>(&g_state, on_lookup);
    server.on<name::Unregister>(&g_state, on_unregister);
    server.on<name::List>(&g_state, on_list);
    server.on<name::Trust>(&g_state, on_trust);
    server.on_event(&g_state, on_event);
    server.on_member(nullptr, on_remote_answer);
    if (ready != TERN_INVALID_HANDLE) {
        // Hand init a SEND right to our port: it passes copies to every program.
        int64_t copy = tern_sys_handle_duplicate(g_state.port, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER
                                                                   | TERN_RIGHT_DUPLICATE);
        tern_msg msg = {};
        msg.hdr.label = 1;
        msg.hdr.handle_count = 1;
        msg.handles[0] = tern_handle_t(copy);
        if (copy < 0
            || tern_sys_port_send(ready, reinterpret_cast<uint64_t>(&msg), TERN_TIMEOUT_INFINITE)
                   < 0) {
            tern::println("name: cannot reach init");
            return 1;
        }
        (void)tern_sys_handle_close(ready);
    }
    server.run();
}

// The name server: string names for ports (servers/name/protocol.h).
//
// Names live in a fixed table. Each registration keeps a SEND right to the port and a
// death-notice watch on it (object_watch), so when the port's receive right closes (its
// owner exited or closed it) the notice arrives here and the name is released. Lookups
// that ask to wait are parked until the name appears.
#include <base/string_view.h>
#include <servers/name/protocol.h>
#include <tern/print.h>
#include <tern/runtime.h>
#include <tern/startup.h>
#include <tern/syscall.h>

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

constexpr size_t kMaxWaiters = 64;
constexpr size_t kMaxNamesPerOwner = 32;

struct State {
    Entry entries[name::kMaxNames];
    Waiter waiters[kMaxWaiters];
    tern_handle_t port = TERN_INVALID_HANDLE;
    uint64_t node = 0;
    uint64_t next_serial = 1;
    uint64_t waiter_sequence = 0;
};

State g_state;

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
        return base::Error(int32_t(-h));
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

base::Error on_register(State* s, proto::Request& request, const name::RegisterRequest& in,
                        name::RegisterResponse& out, proto::Reply&, proto::PendingReply&) {
    if (in.flags != 0 || !valid_name(request.data()) || request.handle_count() != 1)
        return base::Error::INVALID_ARGUMENT;
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
    // One task cannot take the whole table from everyone else.
    size_t owned = 0;
    for (const Entry& e : s->entries)
        owned += e.used && e.owner == request.badge();
    if (owned >= kMaxNamesPerOwner)
        return base::Error::QUOTA_EXCEEDED;
    tern_handle_t port = request.take_handle(0);
    uint32_t generation = slot->generation + 1;
    uint64_t cookie = proto::SlotCookie{uint32_t(index), generation}.value();
    if (int64_t r = tern_sys_object_watch(port, s->port, cookie); r < 0) {
        (void)tern_sys_handle_close(port);
        // WRONG_TYPE: not a port (tasks are watchable too, but not registrable);
        // QUOTA_EXCEEDED: the port carries the kernel's most watches.
        return r == -TERN_QUOTA_EXCEEDED ? base::Error::QUOTA_EXCEEDED
                                         : base::Error::INVALID_ARGUMENT;
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
    if ((in.flags & ~name::kLookupWait) != 0 || !valid_name(request.data()))
        return base::Error::INVALID_ARGUMENT;
    base::StringView n = view(request.data());
    if (Entry* e = find(n)) {
        auto h = copy_port(*e);
        if (h.is_error())
            return h.error();
        reply.handles[0] = h.value();
        reply.handle_count = 1;
        out.port_id = e->port_id;
        return base::Error::OK;
    }
    if (!(in.flags & name::kLookupWait))
        return base::Error::NOT_FOUND;
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
    (void)tern_sys_handle_close(e.port);
    uint32_t generation = e.generation;
    e = Entry{};
    e.generation = generation;
}

base::Error on_unregister(State*, proto::Request& request, const proto::Empty&, proto::Empty&,
                          proto::Reply&, proto::PendingReply&) {
    if (!valid_name(request.data()))
        return base::Error::INVALID_ARGUMENT;
    Entry* e = find(view(request.data()));
    if (!e)
        return base::Error::NOT_FOUND;
    if (e->owner != request.badge())
        return base::Error::NOT_OWNER;
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

void on_event(void* context, const tern_msg& event, uint32_t) {
    auto* s = static_cast<State*>(context);
    if (event.hdr.label != TERN_LABEL_OBJECT_GONE)
        return;
    auto cookie = proto::SlotCookie::from(event.words[0]);
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
    server.on_event(&g_state, on_event);
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

// The typed protocol layer (libc/native/include/tern/protocol.h) on the host: client
// calls, server dispatch and every refusal, over a small in-process model of the kernel's
// ports, handles and one-shot reply rights (the parts of port_call/receive/reply the
// layer relies on: data copied at send, NO_SPACE for a reply that does not fit, handles
// moved, a reply to a caller that gave up failing with PEER_CLOSED).
#include <catch2/catch.hpp>

#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <tern/ipc_regs.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/syscall.h>

namespace {

struct Queued {
    tern_msg msg;
    std::vector<uint8_t> data;
    std::vector<uint32_t> objects; // handle payload: object ids
    uint32_t reply_object = 0;
    uint32_t key = 0; // the port set key receive returns (the member it came through)
};

struct Object {
    enum Kind {
        Port,
        Reply,
        Other
    } kind;
    std::deque<Queued> queue;
    bool answered = false;
    bool abandoned = false;
    Queued answer;
};

// The badge the fake kernel stamps on calls: the calling task's id.
constexpr uint64_t kClientTask = 7;

struct FakeKernel {
    std::map<uint32_t, Object> objects;
    std::map<uint32_t, uint32_t> handles; // handle value -> object id
    uint32_t next_object = 1, next_handle = 0x100;
    std::function<void()> server_pump; // runs the server while a call waits
    std::string console;
    int64_t clock_ns = 1000;
    uint32_t call_key = 0; // the member the next calls arrive through (0: the port itself)

    uint32_t new_object(Object::Kind kind) {
        objects[next_object] = Object{kind, {}, false, false, {}};
        return next_object++;
    }
    uint32_t insert(uint32_t object) {
        handles[next_handle] = object;
        return next_handle++;
    }
    Object* lookup(uint64_t handle) {
        auto it = handles.find(uint32_t(handle));
        return it == handles.end() ? nullptr : &objects[it->second];
    }

    int64_t build(const tern_msg& m, Queued& q) {
        if (m.hdr.data_size > TERN_MSG_MAX_DATA || m.hdr.handle_count > TERN_MSG_MAX_HANDLES)
            return -TERN_TOO_BIG;
        q.msg = m;
        const auto* p = reinterpret_cast<const uint8_t*>(m.data);
        q.data.assign(p, p + m.hdr.data_size);
        for (uint32_t i = 0; i < m.hdr.handle_count; ++i) {
            auto it = handles.find(m.handles[i]);
            if (it == handles.end())
                return -TERN_BAD_HANDLE;
            q.objects.push_back(it->second);
        }
        for (uint32_t i = 0; i < m.hdr.handle_count; ++i)
            handles.erase(m.handles[i]);
        return 0;
    }

    int64_t deliver(Queued& q, tern_msg* out) {
        if (q.data.size() > out->data_capacity)
            return -TERN_NO_SPACE;
        uint64_t data = out->data;
        uint32_t capacity = out->data_capacity;
        *out = q.msg;
        out->data = data;
        out->data_capacity = capacity;
        if (!q.data.empty())
            std::memcpy(reinterpret_cast<void*>(data), q.data.data(), q.data.size());
        for (size_t i = 0; i < TERN_MSG_MAX_HANDLES; ++i)
            out->handles[i] = i < q.objects.size() ? insert(q.objects[i]) : 0;
        out->reply_handle = q.reply_object ? insert(q.reply_object) : 0;
        return 0;
    }

    int64_t syscall(uint64_t num, uint64_t a0, uint64_t a1, uint64_t) {
        switch (num) {
        case TERN_SYS_clock_monotonic:
            return clock_ns;
        case TERN_SYS_debug_write:
            console.append(reinterpret_cast<const char*>(a0), a1);
            return int64_t(a1);
        case TERN_SYS_handle_close:
            return handles.erase(uint32_t(a0)) ? 0 : -TERN_BAD_HANDLE;
        case TERN_SYS_port_send: {
            Object* port = lookup(a0);
            if (!port)
                return -TERN_BAD_HANDLE;
            Queued q;
            if (int64_t r = build(*reinterpret_cast<tern_msg*>(a1), q); r < 0)
                return r;
            port->queue.push_back(q);
            return 0;
        }
        case TERN_SYS_port_call: {
            Object* port = lookup(a0);
            if (!port)
                return -TERN_BAD_HANDLE;
            auto* m = reinterpret_cast<tern_msg*>(a1);
            Queued q;
            if (int64_t r = build(*m, q); r < 0)
                return r;
            uint32_t reply = new_object(Object::Reply);
            q.reply_object = reply;
            q.msg.hdr.flags = TERN_MSG_FLAG_CALL;
            q.msg.hdr.sender_badge = kClientTask;
            q.key = call_key;
            port->queue.push_back(q);
            server_pump();
            Object& r = objects[reply];
            if (!r.answered) {
                r.abandoned = true;
                return -TERN_TIMED_OUT;
            }
            return deliver(r.answer, m);
        }
        case TERN_SYS_port_receive: {
            Object* port = lookup(a0);
            if (!port)
                return -TERN_BAD_HANDLE;
            if (port->queue.empty())
                return -TERN_WOULD_BLOCK;
            auto* m = reinterpret_cast<tern_msg*>(a1);
            if (port->queue.front().data.size() > m->data_capacity)
                return -TERN_NO_SPACE;
            Queued q = port->queue.front();
            port->queue.pop_front();
            int64_t r = deliver(q, m);
            return r < 0 ? r : int64_t(q.key);
        }
        case TERN_SYS_port_reply: {
            auto it = handles.find(uint32_t(a0));
            if (it == handles.end())
                return -TERN_BAD_HANDLE;
            Object& r = objects[it->second];
            handles.erase(it);
            Queued q;
            if (int64_t rr = build(*reinterpret_cast<tern_msg*>(a1), q); rr < 0)
                return rr;
            if (r.abandoned)
                return -TERN_PEER_CLOSED;
            r.answered = true;
            r.answer = q;
            return 0;
        }
        default:
            return -TERN_NOT_SUPPORTED;
        }
    }
};

FakeKernel* g_kernel = nullptr;

} // namespace

int64_t tern_fake_syscall(uint64_t num, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t, uint64_t,
                          uint64_t) {
    return g_kernel->syscall(num, a0, a1, a2);
}

// port_call_regs as the kernel serves it, over the model's port_call: the call's words
// go as a message of inline words only, and the answer comes back in m, or whole in
// overflow when it has a data part or handles.
extern "C" int64_t tern_ipc_regs(uint64_t number, uint64_t port, uint64_t timeout, tern_reg_msg* m,
                                 tern_msg* overflow) {
    if (number != TERN_SYS_port_call_regs)
        return -TERN_NOT_SUPPORTED;
    tern_msg msg{};
    if (overflow) {
        msg.data = overflow->data;
        msg.data_capacity = overflow->data_capacity;
    }
    msg.hdr.label = uint32_t(m->label);
    std::memcpy(msg.words, m->words, sizeof(msg.words));
    int64_t r =
        g_kernel->syscall(TERN_SYS_port_call, port, reinterpret_cast<uint64_t>(&msg), timeout);
    if (r < 0)
        return r;
    m->flags = 0;
    if (msg.hdr.data_size || msg.hdr.handle_count) {
        if (!overflow)
            return -TERN_NO_SPACE;
        *overflow = msg;
        m->flags = TERN_MSG_FLAG_IN_BUFFER;
    }
    m->label = msg.hdr.label;
    m->badge = msg.hdr.sender_badge;
    std::memcpy(m->words, msg.words, sizeof(m->words));
    return 0;
}

namespace {

struct AddRequest {
    uint64_t a, b;
};
struct AddResponse {
    uint64_t sum;
    uint64_t bytes_seen;
};
using Add = tern::proto::Op<
    1, AddRequest, AddResponse,
    tern::proto::Limits{
        .request_data = 16, .response_data = 32, .request_handles = 1, .response_handles = 1}>;
using Park = tern::proto::Op<2, tern::proto::Empty, tern::proto::Empty>;

struct Service {
    tern::proto::PendingReply parked;
    uint32_t handles_taken = 0;
    bool reply_too_much = false;
    uint32_t last_key = ~0u; // the member the last Add came through
};

base::Error on_add(Service* s, tern::proto::Request& request, const AddRequest& in,
                   AddResponse& out, tern::proto::Reply& reply, tern::proto::PendingReply&) {
    static const char text[] = "0123456789abcdef0123456789abcdefXYZ";
    out.sum = in.a + in.b;
    out.bytes_seen = request.data().size();
    s->last_key = request.key();
    if (in.a == 13)
        return base::Error::NOT_OWNER;
    if (in.a == 14)
        return base::Error::NOT_FOUND;
    if (in.a == 15) {
        request.set_refusal_reason("a is 15");
        return base::Error::INVALID_ARGUMENT;
    }
    reply.data = {reinterpret_cast<const uint8_t*>(text), s->reply_too_much ? 35u : 5u};
    if (request.handle_count() == 1) {
        // Echo the handle back.
        reply.handles[0] = request.take_handle(0);
        reply.handle_count = 1;
        ++s->handles_taken;
    }
    return base::Error::OK;
}

base::Error on_park(Service* s, tern::proto::Request&, const tern::proto::Empty&,
                    tern::proto::Empty&, tern::proto::Reply& reply,
                    tern::proto::PendingReply& pending) {
    s->parked = pending;
    reply.deferred = true;
    return base::Error::OK;
}

struct Fixture {
    FakeKernel kernel;
    Service service;
    uint32_t port_object = (g_kernel = &kernel, kernel.new_object(Object::Port));
    tern_handle_t server_port = kernel.insert(port_object);
    tern_handle_t client_port = kernel.insert(port_object);
    tern::proto::Server server{"test", server_port};

    Fixture() {
        server.on<Add>(&service, on_add);
        server.on<Park>(&service, on_park);
        kernel.server_pump = [this] { (void)server.serve_one(0); };
    }
    ~Fixture() { g_kernel = nullptr; }
};

} // namespace

tern::proto::CallParts room() {
    static uint8_t out[32];
    tern::proto::CallParts parts;
    parts.out_data = {out, sizeof(out)};
    return parts;
}

TEST_CASE("a typed call reaches its handler and returns the response") {
    Fixture f;
    auto r = tern::proto::call<Add>(f.client_port, {2, 40}, room());
    REQUIRE(r.ok());
    CHECK(r.value().sum == 42);
    CHECK(r.value().bytes_seen == 0);
    CHECK(f.server.served() == 1);
}

TEST_CASE("request data, reply data and handles travel both ways") {
    Fixture f;
    uint8_t in[16] = "hello";
    uint8_t out[32] = {};
    uint32_t out_size = 0, out_count = 0;
    tern_handle_t sent = f.kernel.insert(f.kernel.new_object(Object::Other));
    tern_handle_t back = 0;
    tern::proto::CallParts parts;
    parts.in_data = {in, 6};
    parts.in_handles = {&sent, 1};
    parts.out_data = {out, sizeof(out)};
    parts.out_data_size = &out_size;
    parts.out_handles = &back;
    parts.out_handle_count = &out_count;
    auto r = tern::proto::call<Add>(f.client_port, {1, 1}, parts);
    REQUIRE(r.ok());
    CHECK(r.value().bytes_seen == 6);
    CHECK(out_size == 5);
    CHECK(std::memcmp(out, "01234", 5) == 0);
    CHECK(out_count == 1);
    CHECK(f.kernel.handles.count(back) == 1);
    CHECK(f.kernel.handles.count(sent) == 0); // moved
}

TEST_CASE("the client refuses parts over the declared limits before sending") {
    Fixture f;
    uint8_t in[64] = {};
    tern::proto::CallParts parts;
    parts.in_data = {in, 17};
    CHECK(tern::proto::call<Add>(f.client_port, {1, 1}, parts).error() == base::Error::TOO_BIG);
    tern_handle_t two[2] = {1, 2};
    parts = {};
    parts.in_handles = {two, 2};
    CHECK(tern::proto::call<Add>(f.client_port, {1, 1}, parts).error() == base::Error::TOO_BIG);
    CHECK(f.server.served() == 0);
    // Request and reply data share the reply buffer, so it must hold the request.
    uint8_t small[4];
    parts = {};
    parts.in_data = {in, 8};
    parts.out_data = {small, sizeof(small)};
    CHECK(tern::proto::call<Add>(f.client_port, {1, 1}, parts).error()
          == base::Error::INVALID_ARGUMENT);
    // Reply data needs room for the operation's whole bound, or the answer would be lost
    // after the server acted.
    uint8_t almost[31];
    parts = {};
    parts.out_data = {almost, sizeof(almost)};
    CHECK(tern::proto::call<Add>(f.client_port, {1, 1}, parts).error()
          == base::Error::INVALID_ARGUMENT);
    CHECK(f.server.served() == 0);
}

TEST_CASE("a handler's error status reaches the client with nothing else") {
    Fixture f;
    auto r = tern::proto::call<Add>(f.client_port, {13, 0}, room());
    REQUIRE(r.is_error());
    CHECK(r.error() == base::Error::NOT_OWNER);
}

size_t occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

TEST_CASE("a handler's refusal is logged once, with server, operation, task and error") {
    Fixture f;
    auto r = tern::proto::call<Add>(f.client_port, {13, 0}, room());
    CHECK(r.error() == base::Error::NOT_OWNER);
    CHECK(occurrences(f.kernel.console,
                      "test: refused request 0x1 from task 7: refused by the handler (NOT_OWNER)\n")
          == 1);
    CHECK(occurrences(f.kernel.console, "\n") == 1);
    CHECK(f.server.refused() == 1);
    r = tern::proto::call<Add>(f.client_port, {15, 0}, room());
    CHECK(r.error() == base::Error::INVALID_ARGUMENT);
    CHECK(occurrences(f.kernel.console,
                      "test: refused request 0x1 from task 7: a is 15 (INVALID_ARGUMENT)\n")
          == 1);
    CHECK(f.server.refused() == 2);
}

TEST_CASE("ordinary answers and successes are not logged as refusals") {
    Fixture f;
    CHECK(tern::proto::call<Add>(f.client_port, {14, 0}, room()).error() == base::Error::NOT_FOUND);
    CHECK(tern::proto::call<Add>(f.client_port, {1, 2}, room()).ok());
    CHECK(f.kernel.console.empty());
    CHECK(f.server.refused() == 0);
    CHECK(!tern::proto::is_refusal(base::Error::WOULD_BLOCK));
    CHECK(!tern::proto::is_refusal(base::Error::ALREADY_EXISTS));
    CHECK(!tern::proto::is_refusal(base::Error::NO_MEMORY));
    CHECK(tern::proto::is_refusal(base::Error::ACCESS_DENIED));
    CHECK(tern::proto::is_refusal(base::Error::CORRUPT));
}

TEST_CASE("a client that keeps sending bad requests cannot flood the log") {
    Fixture f;
    constexpr int kCalls = 5000;
    for (int i = 0; i < kCalls; ++i)
        REQUIRE(tern::proto::call<Add>(f.client_port, {13, 0}, room()).error()
                == base::Error::NOT_OWNER);
    CHECK(f.server.refused() == kCalls);
    // The first 32, then the 1000th, 2000th, ... with the count.
    CHECK(occurrences(f.kernel.console, "\n")
          == tern::proto::Server::kLoggedRefusals
                 + kCalls / tern::proto::Server::kRefusalLogInterval);
    CHECK(occurrences(f.kernel.console, "; 1 refusal in 1000 is logged for the rest of the minute")
          == 1);
    CHECK(occurrences(f.kernel.console, "; 5000 refusals this minute\n") == 1);
    // The layer's own refusals share the budget.
    tern_msg m = {};
    m.hdr.label = 77;
    REQUIRE(tern_sys_port_call(f.client_port, reinterpret_cast<uint64_t>(&m), 0) == 0);
    CHECK(m.hdr.label == TERN_NOT_SUPPORTED);
    CHECK(occurrences(f.kernel.console, "unknown operation") == 0);
    CHECK(f.server.refused() == kCalls + 1);
    // A minute on, refusals are logged again, after a count of those that were not.
    f.kernel.clock_ns += 59'000'000'000;
    REQUIRE(tern::proto::call<Add>(f.client_port, {13, 0}, room()).error()
            == base::Error::NOT_OWNER);
    CHECK(occurrences(f.kernel.console, "not logged") == 0);
    f.kernel.clock_ns += 1'000'000'000;
    f.kernel.console.clear();
    REQUIRE(tern::proto::call<Add>(f.client_port, {13, 0}, room()).error()
            == base::Error::NOT_OWNER);
    CHECK(f.kernel.console
          == "test: 4965 refusals in the last minute were not logged\n"
             "test: refused request 0x1 from task 7: refused by the handler (NOT_OWNER)\n");
}

TEST_CASE("the server answers protocol violations and keeps serving") {
    Fixture f;
    auto raw = [&](tern_msg& m) {
        return tern_sys_port_call(f.client_port, reinterpret_cast<uint64_t>(&m), 0);
    };
    static uint8_t big[100];
    tern_msg m = {};
    m.hdr.label = 77;
    REQUIRE(raw(m) == 0);
    CHECK(m.hdr.label == TERN_NOT_SUPPORTED);

    m = {};
    m.hdr.label = Add::kLabel;
    m.data = reinterpret_cast<uint64_t>(big);
    m.hdr.data_size = 100;
    REQUIRE(raw(m) == 0);
    CHECK(m.hdr.label == TERN_TOO_BIG);

    // Two handles where one is allowed: refused, and both are closed on the server side.
    size_t before = f.kernel.handles.size();
    m = {};
    m.hdr.label = Add::kLabel;
    m.hdr.handle_count = 2;
    m.handles[0] = f.kernel.insert(f.kernel.new_object(Object::Other));
    m.handles[1] = f.kernel.insert(f.kernel.new_object(Object::Other));
    REQUIRE(raw(m) == 0);
    CHECK(m.hdr.label == TERN_TOO_BIG);
    CHECK(f.kernel.handles.size() == before);
    CHECK(f.service.handles_taken == 0);

    // A plain send is not a call: logged, handles closed, nothing answered.
    m = {};
    m.hdr.label = Add::kLabel;
    m.hdr.handle_count = 1;
    m.handles[0] = f.kernel.insert(f.kernel.new_object(Object::Other));
    REQUIRE(tern_sys_port_send(f.client_port, reinterpret_cast<uint64_t>(&m), 0) == 0);
    REQUIRE(f.server.serve_one(0) == base::Error::OK);
    CHECK(f.kernel.handles.size() == before);
    CHECK(f.kernel.console.find("not a call") != std::string::npos);
    CHECK(f.server.refused() == 4);

    auto r = tern::proto::call<Add>(f.client_port, {20, 22}, room());
    REQUIRE(r.ok());
    CHECK(r.value().sum == 42);
}

TEST_CASE("a server reply over its own limits becomes an error, not a broken reply") {
    Fixture f;
    f.service.reply_too_much = true;
    uint8_t out[64];
    tern::proto::CallParts parts;
    parts.out_data = {out, sizeof(out)};
    auto r = tern::proto::call<Add>(f.client_port, {1, 2}, parts);
    REQUIRE(r.is_error());
    CHECK(r.error() == base::Error::TOO_BIG);
    CHECK(f.kernel.console.find("BUG") != std::string::npos);
}

TEST_CASE("a deferred reply answers later; one to a caller that left fails cleanly") {
    Fixture f;
    // The fake kernel's call returns TIMED_OUT when the server parks the call.
    auto r = tern::proto::call<Park>(f.client_port, {});
    CHECK(r.error() == base::Error::TIMED_OUT);
    REQUIRE(f.service.parked.valid());
    CHECK(tern::proto::reply_later<Park>(f.service.parked, base::Error::OK, {})
          == base::Error::PEER_CLOSED);
    CHECK(!f.service.parked.valid());
}

TEST_CASE("a reply with more handles than the client expects is refused and closed") {
    Fixture f;
    // The client passes no room for handles, but the server sends one back.
    tern_handle_t sent = f.kernel.insert(f.kernel.new_object(Object::Other));
    tern::proto::CallParts parts = room();
    parts.in_handles = {&sent, 1};
    size_t before = f.kernel.handles.size();
    auto r = tern::proto::call<Add>(f.client_port, {1, 1}, parts);
    REQUIRE(r.is_error());
    CHECK(r.error() == base::Error::CORRUPT);
    CHECK(f.kernel.handles.size() == before - 1); // the sent one moved and came back closed
}

TEST_CASE("a member marked for requests reaches the operations; other members the handler") {
    Fixture f;
    static uint32_t member_key;
    static int member_messages;
    member_key = 0;
    member_messages = 0;
    f.server.on_member(nullptr, [](void*, tern_msg& msg, uint32_t key) {
        member_key = key;
        ++member_messages;
        (void)tern_sys_handle_close(msg.reply_handle); // owned here: never answered
    });
    // Through member 2 before it is marked: the member handler takes it.
    f.kernel.call_key = 2;
    auto r = tern::proto::call<Add>(f.client_port, {2, 3}, room());
    CHECK(r.error() == base::Error::TIMED_OUT);
    CHECK(member_messages == 1);
    CHECK(member_key == 2);

    f.server.requests_on_member(2);
    r = tern::proto::call<Add>(f.client_port, {2, 3}, room());
    REQUIRE(r.ok());
    CHECK(r.value().sum == 5);
    CHECK(f.service.last_key == 2); // the handler sees where it came from
    CHECK(member_messages == 1);

    // Another member still goes to the member handler; the port itself to the operations.
    f.kernel.call_key = 1;
    r = tern::proto::call<Add>(f.client_port, {4, 4}, room());
    CHECK(r.error() == base::Error::TIMED_OUT);
    CHECK(member_messages == 2);
    CHECK(member_key == 1);
    f.kernel.call_key = 0;
    r = tern::proto::call<Add>(f.client_port, {4, 5}, room());
    REQUIRE(r.ok());
    CHECK(r.value().sum == 9);
    CHECK(f.service.last_key == 0);
}

// xcall: an echo service and its client, to exercise calls across nodes.
//
//   xcall serve <seconds>         registers "echo.rpc" on this node and answers calls for
//                                 that long (each answer: seq back, x transformed, the
//                                 data part reversed)
//   xcall call <node> <count>     looks up "echo.rpc@<node>" (node's name server answers
//                                 through the bus) and calls it count times, checking
//                                 every answer; stops at the first failure and says
//                                 how long that call took
//   xcall watch <node>            looks up "echo.rpc@<node>", watches the proxy
//                                 (object_watch), asks the server to end, and says how
//                                 long after that the death notice came
//   xcall child <node> <seconds>  starts `sleep <seconds>` on node with a handle to watch;
//                                 with 0, `sleep 600` killed at once. Says when the
//                                 notice came and what wait() then answers
//   xcall forge                   sends this node's proc a RemoteSpawn and a RemoteWait
//                                 as a local program (proc takes them only from the
//                                 bus), and asks for a child with proc's bus port
//                                 (init only)
#include <base/format.h>
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/protocol.h>
#include <tern/protocols/bus.h>
#include <tern/protocols/name.h>
#include <tern/protocols/proc.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

struct EchoRequest {
    uint64_t seq;
    uint64_t x;
};
struct EchoResponse {
    uint64_t seq;
    uint64_t y;
};
inline constexpr uint32_t kEchoData = 256;
using Echo = proto::Op<0x4501, EchoRequest, EchoResponse,
                       proto::Limits{.request_data = kEchoData, .response_data = kEchoData}>;

// Answered, then the server stops serving and ends.
using Quit = proto::Op<0x4502, proto::Empty, proto::Empty>;

constexpr char kName[] = "echo.rpc";
constexpr uint64_t kTimeoutNs = 10'000'000'000ull;

uint64_t transform(uint64_t x) { return (x ^ 0x5A5A5A5A5A5A5A5Aull) * 3 + 1; }

uint64_t now_ns() { return uint64_t(tern_sys_clock_monotonic()); }

bool parse_number(const char* s, uint64_t& out) {
    auto value = base::parse_u64(base::StringView(s ? s : ""));
    if (value.has_value())
        out = *value;
    return value.has_value();
}

uint8_t g_echo_data[kEchoData];

base::Error on_echo(void*, proto::Request& request, const EchoRequest& in, EchoResponse& out,
                    proto::Reply& reply, proto::PendingReply&) {
    base::Span<const uint8_t> data = request.data();
    for (size_t i = 0; i < data.size(); ++i)
        g_echo_data[i] = data[data.size() - 1 - i];
    out.seq = in.seq;
    out.y = transform(in.x);
    reply.data = {g_echo_data, data.size()};
    return base::Error::OK;
}

bool g_quit = false;

base::Error on_quit(void*, proto::Request&, const proto::Empty&, proto::Empty&, proto::Reply&,
                    proto::PendingReply&) {
    g_quit = true;
    return base::Error::OK;
}

int serve(uint64_t seconds) {
    int64_t port = tern_sys_port_create(64);
    if (port < 0) {
        println("xcall: no port: {}", base::error_name(sys_status(port)));
        return 1;
    }
    if (auto r = register_name(kName, tern_handle_t(port)); r.is_error()) {
        println("xcall: cannot register {}: {}", kName, base::error_name(r.error()));
        return 1;
    }
    proto::Server server("xcall", tern_handle_t(port));
    server.on<Echo>(static_cast<void*>(nullptr), on_echo);
    server.on<Quit>(static_cast<void*>(nullptr), on_quit);
    println("xcall: serving {} for {} s", kName, seconds);
    uint64_t end = now_ns() + seconds * 1'000'000'000ull;
    for (uint64_t t = now_ns(); t < end && !g_quit; t = now_ns())
        (void)server.serve_one(end - t);
    println("xcall: served {} calls", server.served());
    return 0;
}

int call(uint64_t node, uint64_t count) {
    // "echo.rpc@N": the name server asks node N's name server through the bus.
    char full[32];
    base::BufferSink sink(full, sizeof(full));
    base::format_to(sink, "{}@{}", kName, node);
    auto echo_port = lookup(sink.view(), false, kTimeoutNs);
    if (echo_port.is_error()) {
        println("xcall: {}@{}: {}", kName, node, base::error_name(echo_port.error()));
        return 1;
    }
    tern_handle_t echo = echo_port.value();
    println("xcall: {} found; calling it {} times", sink.view(), count);
    uint8_t data[64];
    uint8_t back[kEchoData];
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < count; ++i) {
        size_t n = 1 + i % sizeof(data);
        for (size_t j = 0; j < n; ++j)
            data[j] = uint8_t(i * 31 + j);
        uint32_t back_size = 0;
        proto::CallParts parts;
        parts.in_data = {data, n};
        parts.out_data = {back, sizeof(back)};
        parts.out_data_size = &back_size;
        uint64_t before = now_ns();
        uint64_t x = i * 0x9E3779B97F4A7C15ull;
        auto r = proto::call<Echo>(echo, {i, x}, parts, kTimeoutNs);
        if (r.is_error()) {
            println("xcall: call {} failed: {} after {} ms", i, base::error_name(r.error()),
                    (now_ns() - before) / 1'000'000);
            return 2;
        }
        bool ok = r.value().seq == i && r.value().y == transform(x) && back_size == n;
        for (size_t j = 0; ok && j < n; ++j)
            ok = back[j] == data[n - 1 - j];
        if (!ok) {
            println("xcall: call {}: wrong answer (seq {}, {} bytes)", i, r.value().seq, back_size);
            return 3;
        }
        if ((i + 1) % 1000 == 0)
            println("xcall: {} calls ok", i + 1);
    }
    uint64_t ms = (now_ns() - start) / 1'000'000;
    println("xcall: {} calls checked in {} ms", count, ms);
    return 0;
}

// Waits up to timeout_ns on port for the death notice with cookie; OK when it came (its
// status and object type in words[1], words[2]).
base::Error wait_notice(tern_handle_t port, uint64_t cookie, uint64_t timeout_ns,
                        tern_msg& notice) {
    uint64_t end = now_ns() + timeout_ns;
    for (;;) {
        uint64_t t = now_ns();
        if (t >= end)
            return base::Error::TIMED_OUT;
        notice = {};
        int64_t r = tern_sys_port_receive(port, reinterpret_cast<uint64_t>(&notice), end - t);
        if (r < 0)
            return sys_status(r);
        if (notice.hdr.label == TERN_LABEL_OBJECT_GONE && notice.hdr.sender_badge == 0
            && notice.words[0] == cookie)
            return base::Error::OK;
    }
}

// A port to receive death notices on, watching h.
base::Result<tern_handle_t> watch(tern_handle_t h, uint64_t cookie) {
    int64_t port = tern_sys_port_create(4);
    if (port < 0)
        return sys_status(port);
    if (int64_t r = tern_sys_object_watch(h, tern_handle_t(port), cookie); r < 0) {
        (void)tern_sys_handle_close(tern_handle_t(port));
        return sys_status(r);
    }
    return tern_handle_t(port);
}

// One echo call with no data (the reply's room is the operation's bound all the same).
base::Error echo_once(tern_handle_t echo, uint64_t seq) {
    uint8_t back[kEchoData];
    uint32_t back_size = 0;
    proto::CallParts parts;
    parts.out_data = {back, sizeof(back)};
    parts.out_data_size = &back_size;
    auto r = proto::call<Echo>(echo, {seq, seq}, parts, kTimeoutNs);
    if (r.is_error())
        return r.error();
    return r.value().seq == seq && r.value().y == transform(seq) ? base::Error::OK
                                                                 : base::Error::CORRUPT;
}

int watch_port(uint64_t node) {
    char full[32];
    base::BufferSink sink(full, sizeof(full));
    base::format_to(sink, "{}@{}", kName, node);
    auto echo = lookup(sink.view(), false, kTimeoutNs);
    if (echo.is_error()) {
        println("xcall: {}: {}", sink.view(), base::error_name(echo.error()));
        return 1;
    }
    if (base::Error e = echo_once(echo.value(), 1); e != base::Error::OK) {
        println("xcall: {} does not answer: {}", sink.view(), base::error_name(e));
        return 1;
    }
    auto port = watch(echo.value(), 7);
    if (port.is_error()) {
        println("xcall: cannot watch {}: {}", sink.view(), base::error_name(port.error()));
        return 1;
    }
    uint64_t asked = now_ns();
    if (auto r = proto::call<Quit>(echo.value(), {}, {}, kTimeoutNs); r.is_error()) {
        println("xcall: {} did not take the quit: {}", sink.view(), base::error_name(r.error()));
        return 1;
    }
    uint64_t answered = now_ns();
    tern_msg notice;
    if (base::Error e = wait_notice(port.value(), 7, kTimeoutNs, notice); e != base::Error::OK) {
        println("xcall: no death notice for {} within {} ms: {}", sink.view(),
                kTimeoutNs / 1'000'000, base::error_name(e));
        return 2;
    }
    uint64_t came = now_ns();
    // The proxy is closed: a call through it fails at once.
    base::Error after = echo_once(echo.value(), 2);
    println("xcall: death notice for {}: {} us after the quit was answered ({} us after it was "
            "asked; status {}, type {}); a call now: {}",
            sink.view(), (came - answered) / 1000, (came - asked) / 1000, notice.words[1],
            notice.words[2], base::error_name(after));
    return after == base::Error::PEER_CLOSED ? 0 : 3;
}

int watch_child(uint64_t node, uint64_t seconds) {
    char duration[24];
    base::BufferSink sink(duration, sizeof(duration));
    base::format_to(sink, "{}", seconds ? seconds : 600);
    duration[sink.written()] = '\0';
    const char* argv[] = {"sleep", duration, nullptr};
    SpawnExtras extras;
    tern_handle_t task = TERN_INVALID_HANDLE;
    extras.task = &task;
    extras.node = uint32_t(node);
    auto pid = spawn("sleep", argv, nullptr, extras);
    if (pid.is_error()) {
        println("xcall: cannot start sleep on node {}: {}", node, base::error_name(pid.error()));
        return 1;
    }
    if (task == TERN_INVALID_HANDLE) {
        println("xcall: sleep {:#x} started on node {}, but no handle to watch", pid.value(), node);
        return 1;
    }
    auto port = watch(task, 9);
    if (port.is_error()) {
        println("xcall: cannot watch {:#x}: {}", pid.value(), base::error_name(port.error()));
        return 1;
    }
    println("xcall: watching sleep {:#x} on node {}", pid.value(), node);
    uint64_t from = now_ns();
    if (seconds == 0) {
        // The handle is for watching: a call through it is refused on the child's node.
        auto r = proto::call<Quit>(task, {}, {}, kTimeoutNs);
        println("xcall: a call on the handle: {}",
                r.is_error() ? base::error_name(r.error()) : "OK");
        if (auto k = kill(pid.value()); k.is_error()) {
            println("xcall: kill {:#x}: {}", pid.value(), base::error_name(k.error()));
            return 1;
        }
        from = now_ns();
    }
    tern_msg notice;
    uint64_t limit = (seconds ? seconds : 0) * 1'000'000'000ull + 4 * kTimeoutNs;
    if (base::Error e = wait_notice(port.value(), 9, limit, notice); e != base::Error::OK) {
        println("xcall: no death notice for {:#x}: {}", pid.value(), base::error_name(e));
        return 2;
    }
    uint64_t came = now_ns();
    auto status = wait(pid.value());
    char said[32];
    base::BufferSink said_sink(said, sizeof(said));
    if (status.is_error())
        base::format_to(said_sink, "{}", base::error_name(status.error()));
    else
        base::format_to(said_sink, "status {}", status.value());
    println("xcall: death notice for {:#x} {} us after {} (status {}, type {}); wait: {}",
            pid.value(), (came - from) / 1000, seconds == 0 ? "the kill" : "it started",
            notice.words[1], notice.words[2], said_sink.view());
    return 0;
}

// As a local program, what only another node's proc (through the bus) may send.
int forge() {
    const char path[] = "sleep\0"
                        "1";
    proc::RemoteSpawnRequest spawn_request = {(uint64_t(9) << 32) | 99, 1, 0, {}, 0};
    proto::CallParts parts;
    parts.in_data = {reinterpret_cast<const uint8_t*>(path), sizeof(path)};
    auto s = proto::call<proc::RemoteSpawn>(proc_server(), spawn_request, parts, kTimeoutNs);
    auto w =
        proto::call<proc::RemoteWait>(proc_server(), {(uint64_t(9) << 32) | 99, 1}, {}, kTimeoutNs);
    // Nor may it ask for proc's port for the bus for a child (init alone may).
    const char* argv[] = {"true", nullptr};
    SpawnExtras extras;
    extras.bus_port = true;
    auto b = spawn("true", argv, nullptr, extras);
    println("xcall: a local RemoteSpawn: {}; a local RemoteWait: {}; a spawn with the bus "
            "port: {}",
            s.is_error() ? base::error_name(s.error()) : "OK",
            w.is_error() ? base::error_name(w.error()) : "OK",
            b.is_error() ? base::error_name(b.error()) : "OK");
    bool denied = s.is_error() && s.error() == base::Error::ACCESS_DENIED && w.is_error()
                  && w.error() == base::Error::ACCESS_DENIED && b.is_error()
                  && b.error() == base::Error::ACCESS_DENIED;
    return denied ? 0 : 1;
}

} // namespace

extern "C" int main(uint64_t) {
    int argc = tern::argc();
    char* const* args = tern::argv();
    uint64_t a = 0;
    uint64_t b = 0;
    if (argc == 3 && base::StringView(args[1]) == "serve" && parse_number(args[2], a))
        return serve(a);
    if (argc == 4 && base::StringView(args[1]) == "call" && parse_number(args[2], a)
        && parse_number(args[3], b) && a > 0 && a <= UINT16_MAX)
        return call(a, b);
    if (argc == 3 && base::StringView(args[1]) == "watch" && parse_number(args[2], a) && a > 0
        && a <= UINT16_MAX)
        return watch_port(a);
    if (argc == 4 && base::StringView(args[1]) == "child" && parse_number(args[2], a)
        && parse_number(args[3], b) && a > 0 && a <= UINT16_MAX && b <= 86400)
        return watch_child(a, b);
    if (argc == 2 && base::StringView(args[1]) == "forge")
        return forge();
    println("usage: xcall serve <seconds> | xcall call <node> <count> | xcall watch <node> | "
            "xcall child <node> <seconds> | xcall forge");
    return 1;
}

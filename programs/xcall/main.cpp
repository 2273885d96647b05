// xcall: an echo service and its client, to exercise calls across nodes.
//
//   xcall serve <seconds>         registers "echo.rpc" on this node and answers calls for
//                                 that long (each answer: seq back, x transformed, the
//                                 data part reversed)
//   xcall call <node> <count>     looks up "echo.rpc@<node>" (node's name server answers
//                                 through the bus) and calls it count times, checking
//                                 every answer; stops at the first failure and says
//                                 how long that call took
#include <base/format.h>
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/bus.h>
#include <tern/protocols/name.h>
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
    println("xcall: serving {} for {} s", kName, seconds);
    uint64_t end = now_ns() + seconds * 1'000'000'000ull;
    for (uint64_t t = now_ns(); t < end; t = now_ns())
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
    println("usage: xcall serve <seconds> | xcall call <node> <count>");
    return 1;
}

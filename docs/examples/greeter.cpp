// A complete native Tern program, used by docs/native-api.md: a server and its client in
// one binary. Run `greeter` at the shell: it registers a port under a name, starts a copy
// of itself as the client (`greeter client <name>`), answers its call and waits for it.
#include <base/format.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/protocol.h>
#include <tern/protocols/name.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>

// 1. The protocol, declared once: an operation label, the fixed request and response
//    (at most 64 bytes each, in the message's inline words) and bounds on the rest.
struct GreetRequest {
    uint32_t times;
};
struct GreetResponse {
    uint64_t server_pid;
};
using Greet = tern::proto::Op<1, GreetRequest, GreetResponse,
                              tern::proto::Limits{.request_data = 32, .response_data = 128}>;

// 2. The server side: one handler per operation.
struct Greeter {
    char text[128];
};

base::Error on_greet(Greeter* g, tern::proto::Request& request, const GreetRequest& in,
                     GreetResponse& out, tern::proto::Reply& reply, tern::proto::PendingReply&) {
    if (in.times == 0 || in.times > 3)
        return base::Error::INVALID_ARGUMENT; // the client sees this error code
    base::StringView who(reinterpret_cast<const char*>(request.data().data()),
                         request.data().size());
    base::BufferSink sink(g->text, sizeof(g->text));
    for (uint32_t i = 0; i < in.times; ++i)
        base::format_to(sink, "hello, {}! ", who);
    out.server_pid = tern::pid();
    reply.data = {reinterpret_cast<const uint8_t*>(g->text), sink.written()};
    return base::Error::OK;
}

// 3. The client side: look the name up, call, read the reply.
int client(const char* name) {
    auto port = tern::lookup(name, /*wait=*/true, /*timeout_ns=*/5000000000ull);
    if (port.is_error()) {
        tern::println("client: lookup '{}': {}", name, base::error_name(port.error()));
        return 1;
    }
    char answer[128];
    uint32_t size = 0;
    tern::proto::CallParts parts;
    parts.in_data = {reinterpret_cast<const uint8_t*>("client"), 6};
    parts.out_data = {reinterpret_cast<uint8_t*>(answer), sizeof(answer)};
    parts.out_data_size = &size;
    auto r = tern::proto::call<Greet>(port.value(), {2}, parts);
    if (r.is_error()) {
        tern::println("client: call: {}", base::error_name(r.error()));
        return 1;
    }
    tern::println("client: server {:#x} says: {}", r.value().server_pid,
                  base::StringView(answer, size));
    // Breaking the protocol's rules gets an error, not a crash.
    auto bad = tern::proto::call<Greet>(port.value(), {7}, parts);
    tern::println("client: asking for 7 greetings: {}", base::error_name(bad.error()));
    return 0;
}

extern "C" int main(uint64_t) {
    if (tern::argc() == 3)
        return client(tern::argv()[2]);

    // A port with a queue of 8 messages; we hold its only receive right.
    int64_t port = tern_sys_port_create(8);
    if (port < 0)
        return 1;
    char name[48];
    base::BufferSink sink(name, sizeof(name));
    base::format_to(sink, "greeter.{}", tern::pid() & 0xFFFFFFFF);
    if (auto r = tern::register_name(sink.view(), tern_handle_t(port)); r.is_error())
        return 1;
    tern::println("greeter: node {}, pid {:#x}, registered '{}'", tern_sys_node_id(), tern::pid(),
                  sink.view());

    const char* argv[] = {"greeter", "client", name, nullptr};
    auto child = tern::spawn("greeter", argv);
    if (child.is_error())
        return 1;

    static Greeter state;
    tern::proto::Server server("greeter", tern_handle_t(port));
    server.on<Greet>(&state, on_greet);
    for (int i = 0; i < 2; ++i) // the good call and the bad one
        (void)server.serve_one(5000000000ull);

    auto status = tern::wait(child.value());
    tern::println("greeter: client exited with status {}", status.ok() ? status.value() : -1);
    return status.ok() ? int(status.value()) : 1;
}

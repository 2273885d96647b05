// nettest: the network server end to end over 127.0.0.1, from two processes.
//
//   nettest                          every check; "nettest: N checks, 0 failures" and exit 0
//   nettest udp-echo <port>          (child) echo datagrams to 127.0.0.1:<port> until "quit"
//   nettest tcp-send <port> <bytes>  (child) connect, send <bytes> of a known sequence, shut
//                                    down writing, and check the checksum the peer returns
//
// The parent runs a UDP echo through a child, a TCP transfer with a checksum checked on
// both sides, and the bad inputs: a made-up and a closed socket id, an oversized send, a
// receive on an unbound socket, a connection to a port nobody listens on, and more, each
// with its expected error, then checks that the server still serves and that a child's
// sockets went with it.
#include "net_client.h"

#include <base/string_view.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/runtime.h>
#include <tern/startup.h>

using base::Error;
using namespace tern;
using net::Address;
using net::SocketType;

namespace {

constexpr uint16_t kUdpPort = 7001;
constexpr uint16_t kTcpPort = 7002;
constexpr uint32_t kTransferBytes = 1024 * 1024;
constexpr int kEchoes = 32;

nettest::Client g_net;
int g_checks = 0, g_failures = 0;
uint8_t g_buffer[net::kMaxData];

void check(bool ok, const char* what, int64_t detail = 0) {
    ++g_checks;
    if (ok) {
        println("nettest: ok {}", what);
    } else {
        ++g_failures;
        println("nettest: FAILED {} (got {})", what, detail);
    }
}

void check_error(Error got, Error want, const char* what) {
    ++g_checks;
    if (got == want) {
        println("nettest: ok {}: {}", what, base::error_name(got));
    } else {
        ++g_failures;
        println("nettest: FAILED {}: got {}, expected {}", what, base::error_name(got),
                base::error_name(want));
    }
}

template<typename T>
Error error_of(const base::Result<T>& r) {
    return r.is_error() ? r.error() : Error::OK;
}

Address loopback(uint16_t port) { return {net::kLoopback, port, 0}; }

uint64_t parse(const char* text) {
    auto v = base::parse_u64(base::StringView(text));
    return v.has_value() ? v.value() : 0;
}

// The transfer's bytes: a sequence both ends can make, and a checksum over it.
uint8_t sequence_byte(uint32_t i) { return uint8_t((i * 2654435761u) >> 13); }
uint64_t fnv1a(uint64_t hash, const uint8_t* data, uint32_t size) {
    for (uint32_t i = 0; i < size; ++i)
        hash = (hash ^ data[i]) * 0x100000001b3ull;
    return hash;
}
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

// ---- Children ------------------------------------------------------------------------------

int child_udp_echo(uint16_t parent_port) {
    if (g_net.connect_server() != Error::OK)
        return 10;
    auto s = g_net.socket(SocketType::kUdp);
    if (s.is_error() || g_net.bind(s.value(), loopback(0)).is_error())
        return 11;
    // The first datagram tells the parent where this end is.
    if (g_net.send(s.value(), "hello", 5, loopback(parent_port)).is_error())
        return 12;
    for (;;) {
        auto r = g_net.recv(s.value(), g_buffer, net::kMaxData);
        if (r.is_error())
            return 13;
        if (r.value().size == 4 && __builtin_memcmp(g_buffer, "quit", 4) == 0)
            return 0;
        if (g_net.send(s.value(), g_buffer, r.value().size, r.value().from).is_error())
            return 14;
    }
}

int child_tcp_send(uint16_t port, uint32_t bytes) {
    if (g_net.connect_server() != Error::OK)
        return 20;
    auto s = g_net.socket(SocketType::kTcp);
    if (s.is_error())
        return 21;
    if (g_net.connect(s.value(), loopback(port)).is_error())
        return 22;
    uint64_t hash = kFnvBasis;
    uint32_t sent = 0;
    while (sent < bytes) {
        uint32_t n = bytes - sent < net::kMaxData ? bytes - sent : net::kMaxData;
        for (uint32_t i = 0; i < n; ++i)
            g_buffer[i] = sequence_byte(sent + i);
        // TCP may take a part; the rest goes again.
        auto r = g_net.send(s.value(), g_buffer, n);
        if (r.is_error() || r.value() == 0)
            return 23;
        hash = fnv1a(hash, g_buffer, r.value());
        sent += r.value();
    }
    if (g_net.shutdown(s.value(), net::kShutdownWrite) != Error::OK)
        return 24;
    // The receiver answers with the checksum of what it got.
    uint64_t theirs = 0;
    uint32_t got = 0;
    while (got < sizeof(theirs)) {
        auto r = g_net.recv(s.value(), g_buffer, sizeof(theirs) - got);
        if (r.is_error() || r.value().end_of_stream)
            return 25;
        __builtin_memcpy(reinterpret_cast<uint8_t*>(&theirs) + got, g_buffer, r.value().size);
        got += r.value().size;
    }
    (void)g_net.close(s.value());
    return theirs == hash ? 0 : 26;
}

// ---- The checks ----------------------------------------------------------------------------

void udp_echo() {
    auto s = g_net.socket(SocketType::kUdp);
    check(s.ok(), "UDP socket");
    if (s.is_error())
        return;
    auto bound = g_net.bind(s.value(), loopback(kUdpPort));
    check(bound.ok() && bound.value().port == kUdpPort && bound.value().ip == net::kLoopback,
          "UDP bind 127.0.0.1:7001");
    char port_text[8];
    base::BufferSink sink(port_text, sizeof(port_text));
    base::format_to(sink, "{}", kUdpPort);
    const char* argv[] = {"nettest", "udp-echo", sink.c_str(), nullptr};
    auto child = spawn("nettest", argv);
    check(child.ok(), "spawn the UDP echo child");
    if (child.is_error())
        return;
    auto hello = g_net.recv(s.value(), g_buffer, net::kMaxData);
    check(hello.ok() && hello.value().size == 5, "hello from the child", int64_t(error_of(hello)));
    Address peer = hello.ok() ? hello.value().from : Address{};
    check(peer.ip == net::kLoopback && peer.port != 0, "the child's address is on 127.0.0.1");
    int good = 0;
    for (int i = 0; i < kEchoes && hello.ok(); ++i) {
        uint32_t size = uint32_t(1 + i * 250);
        for (uint32_t j = 0; j < size; ++j)
            g_buffer[j] = uint8_t(i * 31 + j);
        if (g_net.send(s.value(), g_buffer, size, peer).is_error())
            break;
        __builtin_memset(g_buffer, 0, size);
        auto r = g_net.recv(s.value(), g_buffer, net::kMaxData);
        if (r.is_error() || r.value().size != size || r.value().from.port != peer.port)
            break;
        bool same = true;
        for (uint32_t j = 0; j < size; ++j)
            same = same && g_buffer[j] == uint8_t(i * 31 + j);
        if (!same)
            break;
        ++good;
    }
    check(good == kEchoes, "32 datagrams of 1..7751 bytes echoed intact", good);
    (void)g_net.send(s.value(), "quit", 4, peer);
    auto status = wait(child.value());
    check(status.ok() && status.value() == 0, "the echo child exited 0",
          status.ok() ? status.value() : -1);
    check(g_net.close(s.value()) == Error::OK, "UDP close");
}

void tcp_transfer() {
    auto l = g_net.socket(SocketType::kTcp);
    check(l.ok(), "TCP socket");
    if (l.is_error())
        return;
    check(g_net.bind(l.value(), loopback(kTcpPort)).ok(), "TCP bind 127.0.0.1:7002");
    check(g_net.listen(l.value()) == Error::OK, "TCP listen");
    char port_text[8], bytes_text[16];
    base::BufferSink port_sink(port_text, sizeof(port_text));
    base::format_to(port_sink, "{}", kTcpPort);
    base::BufferSink bytes_sink(bytes_text, sizeof(bytes_text));
    base::format_to(bytes_sink, "{}", kTransferBytes);
    const char* argv[] = {"nettest", "tcp-send", port_sink.c_str(), bytes_sink.c_str(), nullptr};
    auto child = spawn("nettest", argv);
    check(child.ok(), "spawn the TCP sender");
    if (child.is_error())
        return;
    auto a = g_net.accept(l.value());
    check(a.ok(), "accept", int64_t(error_of(a)));
    if (a.is_error())
        return;
    uint32_t c = a.value().socket;
    check(a.value().peer.ip == net::kLoopback, "the peer is 127.0.0.1");
    auto peer = g_net.peername(c);
    check(peer.ok() && peer.value().port == a.value().peer.port, "getpeername = accept's peer");
    auto local = g_net.sockname(c);
    check(local.ok() && local.value().port == kTcpPort, "getsockname: port 7002");
    uint64_t hash = kFnvBasis;
    uint32_t got = 0;
    bool in_order = true, eof = false;
    while (!eof) {
        auto r = g_net.recv(c, g_buffer, net::kMaxData);
        if (r.is_error())
            break;
        for (uint32_t i = 0; i < r.value().size; ++i)
            in_order = in_order && g_buffer[i] == sequence_byte(got + i);
        hash = fnv1a(hash, g_buffer, r.value().size);
        got += r.value().size;
        eof = r.value().end_of_stream;
    }
    check(eof && got == kTransferBytes, "1 MiB received, then end of stream", got);
    check(in_order, "every byte in order");
    println("nettest: TCP checksum {:#x} over {} bytes", hash, got);
    uint32_t sent = 0;
    while (sent < sizeof(hash)) {
        auto r = g_net.send(c, reinterpret_cast<uint8_t*>(&hash) + sent, sizeof(hash) - sent);
        if (r.is_error())
            break;
        sent += r.value();
    }
    auto status = wait(child.value());
    check(status.ok() && status.value() == 0, "the sender got the same checksum (exit 0)",
          status.ok() ? status.value() : -1);
    check(g_net.close(c) == Error::OK, "close the connection");
    check(g_net.close(l.value()) == Error::OK, "close the listener");
}

void bad_inputs() {
    // Ids that were never handed out.
    check_error(error_of(g_net.recv(0x7FFF0042, g_buffer, 16)), Error::BAD_HANDLE,
                "recv on a made-up socket id");
    check_error(g_net.close(0), Error::BAD_HANDLE, "close socket 0");
    // A closed socket's id stays dead.
    auto s = g_net.socket(SocketType::kUdp);
    if (s.ok()) {
        (void)g_net.close(s.value());
        check_error(error_of(g_net.send(s.value(), "x", 1, loopback(9))), Error::BAD_HANDLE,
                    "send on a closed socket");
    }
    // A socket without the caller's task handle.
    auto none =
        proto::call<net::Socket>(g_net.port, {SocketType::kUdp, 0}, {}, nettest::kCallTimeout);
    check_error(error_of(none), Error::INVALID_ARGUMENT, "socket without a task handle");
    check_error(error_of(g_net.socket(SocketType(7))), Error::INVALID_ARGUMENT,
                "socket of an unknown type");

    auto u = g_net.socket(SocketType::kUdp);
    check(u.ok(), "a UDP socket for the bad inputs");
    if (u.is_error())
        return;
    check_error(error_of(g_net.recv(u.value(), g_buffer, 16)), Error::INVALID_ARGUMENT,
                "recv on an unbound UDP socket");
    check_error(error_of(g_net.send(u.value(), "x", 1)), Error::INVALID_ARGUMENT,
                "send with no destination");
    // An oversized send, past the client's own check: the server refuses it.
    static uint8_t big[net::kMaxData + 1];
    net::SendRequest request{u.value(), 0, loopback(9), 0};
    net::SendResponse response{};
    proto::CallParts parts;
    parts.in_data = {big, sizeof(big)};
    Error e = proto::call_raw(g_net.port, net::Send::kLabel, &request, sizeof(request), &response,
                              sizeof(response), proto::Limits{.request_data = sizeof(big)}, parts,
                              nettest::kCallTimeout);
    check_error(e, Error::TOO_BIG, "send of kMaxData + 1 bytes");
    // Within kMaxData but over a datagram's limit: the server's own check refuses it.
    check_error(error_of(g_net.send(u.value(), big, net::kMaxDatagram + 1, loopback(9))),
                Error::TOO_BIG, "a datagram of kMaxDatagram + 1 bytes");
    check_error(error_of(g_net.bind(u.value(), loopback(kUdpPort))), Error::OK,
                "bind the UDP socket");
    auto u2 = g_net.socket(SocketType::kUdp);
    if (u2.ok()) {
        check_error(error_of(g_net.bind(u2.value(), loopback(kUdpPort))), Error::ALREADY_EXISTS,
                    "bind to a port in use");
        (void)g_net.close(u2.value());
    }
    check_error(error_of(g_net.bind(u.value(), loopback(0))), Error::INVALID_ARGUMENT,
                "bind twice");
    check_error(error_of(g_net.recv(u.value(), g_buffer, 16, net::kNonBlocking)),
                Error::WOULD_BLOCK, "non-blocking recv with nothing queued");
    check_error(error_of(g_net.recv(u.value(), g_buffer, 0)), Error::INVALID_ARGUMENT,
                "recv of 0 bytes");
    check_error(g_net.listen(u.value()), Error::INVALID_ARGUMENT, "listen on UDP");

    auto t = g_net.socket(SocketType::kTcp);
    check(t.ok(), "a TCP socket for the bad inputs");
    if (t.is_error())
        return;
    check_error(error_of(g_net.send(t.value(), "x", 1)), Error::INVALID_ARGUMENT,
                "send on an unconnected TCP socket");
    check_error(error_of(g_net.accept(t.value(), net::kNonBlocking)), Error::INVALID_ARGUMENT,
                "accept on a socket that is not listening");
    check_error(error_of(g_net.connect(t.value(), loopback(0))), Error::INVALID_ARGUMENT,
                "connect to port 0");
    check_error(error_of(g_net.connect(t.value(), loopback(9))), Error::NOT_FOUND,
                "connect to a closed port is refused");
    (void)g_net.close(t.value());
    (void)g_net.close(u.value());
}

// The server still serves after all that: a datagram to oneself comes back.
void still_serving() {
    auto s = g_net.socket(SocketType::kUdp);
    auto bound = s.ok() ? g_net.bind(s.value(), loopback(0)) : base::Result<Address>(s.error());
    check(bound.ok(), "a fresh UDP socket after the bad inputs");
    if (bound.is_error())
        return;
    auto sent = g_net.send(s.value(), "still", 5, bound.value());
    auto r = g_net.recv(s.value(), g_buffer, net::kMaxData);
    check(sent.ok() && r.ok() && r.value().size == 5 && __builtin_memcmp(g_buffer, "still", 5) == 0,
          "the server still serves: a datagram to oneself");
    (void)g_net.close(s.value());
}

// Sockets belong to their program: none of the children's are left.
void children_cleaned_up() {
    static net::SocketInfo infos[net::kMaxSockets];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(infos), sizeof(infos)};
    parts.out_data_size = &size;
    auto r = proto::call<net::Sockets>(g_net.port, {}, parts, nettest::kCallTimeout);
    check(r.ok(), "list the node's sockets");
    if (r.is_error())
        return;
    uint64_t self = uint64_t(tern_sys_task_id());
    uint32_t others = 0;
    for (uint32_t i = 0; i < r.value().count; ++i)
        if (infos[i].owner != self)
            ++others;
    check(others == 0, "no socket outlives the child that made it", others);
}

} // namespace

extern "C" int main(uint64_t) {
    if (argc() >= 3 && base::StringView(argv()[1]) == "udp-echo")
        return child_udp_echo(uint16_t(parse(argv()[2])));
    if (argc() >= 4 && base::StringView(argv()[1]) == "tcp-send")
        return child_tcp_send(uint16_t(parse(argv()[2])), uint32_t(parse(argv()[3])));
    if (g_net.connect_server() != Error::OK) {
        println("nettest: FAILED: no network server");
        return 1;
    }
    udp_echo();
    tcp_transfer();
    bad_inputs();
    still_serving();
    children_cleaned_up();
    println("nettest: {} checks, {} failures", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

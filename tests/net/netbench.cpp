// netbench [count]: the cost of one UDP echo through the network server over 127.0.0.1,
// as `net.loopback.udp_echo_insns: <n> instructions` (the median of count echoes, in
// rdtsc ticks: guest instructions under QEMU's -icount). One echo is a 64-byte datagram
// sent to an echo process and its answer received: four calls to the server and two
// trips through lwIP's UDP, IP and loopback interface, everything both processes and the
// server execute.
//
//   netbench [count]        measure (count 16..256, default 64)
//   netbench echo <port>    (child) echo datagrams to 127.0.0.1:<port> until "quit"
#include "../bench/bench_support.h"
#include "net_client.h"

#include <base/string_view.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/startup.h>

using base::Error;
using namespace tern;

namespace {

constexpr uint16_t kPort = 7101;
constexpr uint32_t kSize = 64;
constexpr int kWarmUp = 8;
constexpr int kMaxCount = 256;

nettest::Client g_net;
uint8_t g_buffer[net::kMaxData];

net::Address loopback(uint16_t port) { return {net::kLoopback, port, 0}; }

int echo(uint16_t parent_port) {
    if (g_net.connect_server() != Error::OK)
        return 10;
    auto s = g_net.socket(net::SocketType::kUdp);
    if (s.is_error() || g_net.bind(s.value(), loopback(0)).is_error())
        return 11;
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

} // namespace

extern "C" int main(uint64_t) {
    if (argc() >= 3 && base::StringView(argv()[1]) == "echo") {
        auto port = base::parse_u64(base::StringView(argv()[2]));
        return echo(uint16_t(port.has_value() ? port.value() : 0));
    }
    int count = 64;
    if (argc() >= 2) {
        auto n = base::parse_u64(base::StringView(argv()[1]));
        if (!n.has_value() || n.value() < 16 || n.value() > kMaxCount) {
            println("netbench: count must be 16..{}", kMaxCount);
            return 2;
        }
        count = int(n.value());
    }
    if (g_net.connect_server() != Error::OK) {
        println("netbench: no network server");
        return 1;
    }
    auto s = g_net.socket(net::SocketType::kUdp);
    if (s.is_error() || g_net.bind(s.value(), loopback(kPort)).is_error()) {
        println("netbench: cannot bind 127.0.0.1:{}", kPort);
        return 1;
    }
    char port_text[8];
    base::BufferSink sink(port_text, sizeof(port_text));
    base::format_to(sink, "{}", kPort);
    const char* argv_echo[] = {"netbench", "echo", sink.c_str(), nullptr};
    auto child = spawn("netbench", argv_echo);
    if (child.is_error()) {
        println("netbench: cannot start the echo process");
        return 1;
    }
    auto hello = g_net.recv(s.value(), g_buffer, net::kMaxData);
    if (hello.is_error()) {
        println("netbench: the echo process did not answer");
        return 1;
    }
    net::Address peer = hello.value().from;
    static uint64_t samples[kMaxCount];
    static uint8_t message[kSize];
    for (uint32_t i = 0; i < kSize; ++i)
        message[i] = uint8_t(i);
    for (int i = -kWarmUp; i < count; ++i) {
        uint64_t t0 = bench::rdtsc();
        auto sent = g_net.send(s.value(), message, kSize, peer);
        auto r = g_net.recv(s.value(), g_buffer, net::kMaxData);
        uint64_t t1 = bench::rdtsc();
        if (sent.is_error() || r.is_error() || r.value().size != kSize
            || __builtin_memcmp(g_buffer, message, kSize) != 0) {
            println("netbench: echo {} failed", i);
            return 1;
        }
        if (i >= 0)
            samples[i] = t1 - t0;
    }
    (void)g_net.send(s.value(), "quit", 4, peer);
    auto status = wait(child.value());
    (void)g_net.close(s.value());
    bench::sort(samples, size_t(count));
    println("net.loopback.udp_echo_insns: {} instructions", samples[count / 2]);
    return status.is_error() || status.value() != 0 ? 1 : 0;
}

// netecho: UDP echo between nodes through the network server, its NIC driver and the
// wire, for the cluster tests and by hand.
//
//   netecho serve <port> <count>   answer <count> datagrams on UDP <port>, then exit
//   netecho <a.b.c.d> <port> <count>
//                                  send <count> 64-byte datagrams, one at a time, each
//                                  waited for up to 10 s, and check every echo's bytes
//
// The client prints `netecho: <n> of <count> echoed by <a.b.c.d>:<port>, median <us> us`
// and exits 0 only when every datagram came back intact.
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/startup.h>

#include "net_client.h"

using namespace tern;

namespace {

constexpr uint32_t kSize = 64;
constexpr uint32_t kMaxCount = 1000;

bool parse_number(const char* text, uint32_t max, uint32_t& out) {
    uint64_t v = 0;
    if (!*text)
        return false;
    for (; *text; ++text) {
        if (*text < '0' || *text > '9')
            return false;
        v = v * 10 + uint64_t(*text - '0');
        if (v > max)
            return false;
    }
    out = uint32_t(v);
    return true;
}

bool parse_ip(const char* text, uint32_t& out) {
    uint32_t value = 0;
    for (int part = 0; part < 4; ++part) {
        char digits[4] = {};
        int n = 0;
        while (*text >= '0' && *text <= '9' && n < 3)
            digits[n++] = *text++;
        uint32_t byte;
        if (!parse_number(digits, 255, byte))
            return false;
        value = (value << 8) | byte;
        if (part < 3 && *text++ != '.')
            return false;
    }
    out = value;
    return *text == '\0';
}

int serve(nettest::Client& c, uint32_t socket, uint32_t port, uint32_t count) {
    static uint8_t buffer[net::kMaxData];
    println("netecho: serving UDP port {} for {} datagrams", port, count);
    for (uint32_t i = 0; i < count;) {
        auto r = c.recv(socket, buffer, net::kMaxData);
        if (r.is_error()) {
            if (r.error() == base::Error::TIMED_OUT)
                continue; // the call's own bound; keep serving
            println("netecho: recv: {}", base::error_name(r.error()));
            return 1;
        }
        auto sent = c.send(socket, buffer, r.value().size, r.value().from);
        if (sent.is_error()) {
            println("netecho: send: {}", base::error_name(sent.error()));
            return 1;
        }
        ++i;
    }
    println("netecho: echoed {} datagrams", count);
    return 0;
}

int client(nettest::Client& c, uint32_t socket, net::Address to, uint32_t count) {
    static uint8_t out[kSize], in[net::kMaxData];
    static uint64_t rtt[kMaxCount];
    uint32_t echoed = 0;
    for (uint32_t i = 0; i < count; ++i) {
        for (uint32_t b = 0; b < kSize; ++b)
            out[b] = uint8_t(i * 31 + b);
        uint64_t start = uint64_t(tern_sys_clock_monotonic());
        if (auto r = c.send(socket, out, kSize, to); r.is_error()) {
            println("netecho: send {}: {}", i, base::error_name(r.error()));
            continue;
        }
        // A blocking receive: the call's own bound (10 s) ends a wait for a lost datagram.
        bool got = false;
        while (!got) {
            auto r = c.recv(socket, in, net::kMaxData);
            if (r.is_error()) {
                println("netecho: recv {}: {}", i, base::error_name(r.error()));
                break;
            }
            if (r.value().size == kSize && __builtin_memcmp(in, out, kSize) == 0
                && r.value().from.ip == to.ip && r.value().from.port == to.port) {
                got = true;
                rtt[echoed++] = uint64_t(tern_sys_clock_monotonic()) - start;
            } else {
                println("netecho: datagram {}: a wrong answer ({} bytes); still waiting", i,
                        r.value().size);
            }
        }
        if (!got)
            println("netecho: datagram {} not echoed", i);
    }
    // Insertion sort: at most kMaxCount figures.
    for (uint32_t i = 1; i < echoed; ++i)
        for (uint32_t j = i; j > 0 && rtt[j - 1] > rtt[j]; --j) {
            uint64_t t = rtt[j];
            rtt[j] = rtt[j - 1];
            rtt[j - 1] = t;
        }
    println("netecho: {} of {} echoed by {}.{}.{}.{}:{}, median {} us", echoed, count, to.ip >> 24,
            (to.ip >> 16) & 0xFF, (to.ip >> 8) & 0xFF, to.ip & 0xFF, to.port,
            echoed ? rtt[echoed / 2] / 1000 : 0);
    return echoed == count ? 0 : 1;
}

} // namespace

extern "C" int main(uint64_t) {
    char* const* argv = tern::argv();
    uint32_t port = 0, count = 0, ip = 0;
    bool serving = tern::argc() == 4 && base::StringView(argv[1]) == "serve";
    if (tern::argc() != 4 || (!serving && !parse_ip(argv[1], ip))
        || !parse_number(argv[2], 65535, port) || port == 0
        || !parse_number(argv[3], kMaxCount, count) || count == 0) {
        println("usage: netecho serve <port> <count> | netecho <a.b.c.d> <port> <count>");
        return 2;
    }
    nettest::Client c;
    if (c.connect_server() != base::Error::OK) {
        println("netecho: no network server");
        return 1;
    }
    auto socket = c.socket(net::SocketType::kUdp);
    if (socket.is_error()) {
        println("netecho: socket: {}", base::error_name(socket.error()));
        return 1;
    }
    auto bound = c.bind(socket.value(), {0, uint16_t(serving ? port : 0), 0});
    if (bound.is_error()) {
        println("netecho: bind: {}", base::error_name(bound.error()));
        return 1;
    }
    if (serving)
        return serve(c, socket.value(), port, count);
    return client(c, socket.value(), {ip, uint16_t(port), 0}, count);
}

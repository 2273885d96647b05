// ping: sends ICMP echo requests through the network server (net::Ping) and prints each
// reply's round trip, then a summary.
//
//     ping [-c count] [-i interval_ms] [-s size] [-W timeout_ms] host
//
// host is a.b.c.d or a name from /etc/hosts (node1, node2, ...). Defaults: 4 requests,
// one a second, 56 payload bytes, each waited for 2000 ms. The round trip is what the
// network server measured, from the request leaving it to the reply reaching it. Exit
// status: 0 when at least one reply came, 1 when none did, 2 for bad usage or a host
// that cannot be found or reached.
#include <base/format.h>
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/bootfs.h>
#include <tern/protocols/net.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

constexpr uint32_t kMaxCount = 100000;
constexpr uint32_t kMaxSamples = 1024;

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

bool parse_ip(base::StringView text, uint32_t& out) {
    uint32_t value = 0;
    size_t at = 0;
    for (int part = 0; part < 4; ++part) {
        uint32_t byte = 0;
        size_t digits = 0;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9' && digits < 3) {
            byte = byte * 10 + uint32_t(text[at++] - '0');
            ++digits;
        }
        if (digits == 0 || byte > 255)
            return false;
        value = (value << 8) | byte;
        if (part < 3 && (at >= text.size() || text[at++] != '.'))
            return false;
    }
    out = value;
    return at == text.size();
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Finds name in the text of a hosts file: lines of "address name [alias...]", with
// comments from '#'.
bool find_host(base::StringView hosts, base::StringView name, uint32_t& out) {
    size_t at = 0;
    while (at < hosts.size()) {
        size_t end = at;
        while (end < hosts.size() && hosts[end] != '\n')
            ++end;
        base::StringView line = hosts.substr(at, end - at);
        at = end + 1;
        for (size_t i = 0; i < line.size(); ++i)
            if (line[i] == '#') {
                line = line.substr(0, i);
                break;
            }
        base::StringView fields[8];
        size_t count = 0;
        for (size_t i = 0; i < line.size() && count < 8;) {
            while (i < line.size() && is_space(line[i]))
                ++i;
            size_t start = i;
            while (i < line.size() && !is_space(line[i]))
                ++i;
            if (i > start)
                fields[count++] = line.substr(start, i - start);
        }
        uint32_t ip;
        if (count < 2 || !parse_ip(fields[0], ip))
            continue;
        for (size_t f = 1; f < count; ++f)
            if (fields[f] == name) {
                out = ip;
                return true;
            }
    }
    return false;
}

// Looks name up in /etc/hosts (the boot file system's copy).
bool resolve(base::StringView name, uint32_t& out) {
    if (parse_ip(name, out))
        return true;
    auto server = lookup("bootfs", true, 5'000'000'000ull);
    if (server.is_error()) {
        println("ping: no boot file system to read /etc/hosts: {}",
                base::error_name(server.error()));
        return false;
    }
    static const char kPath[] = "/etc/hosts";
    tern_handle_t memory = TERN_INVALID_HANDLE;
    uint32_t handles = 0;
    proto::CallParts parts;
    parts.in_data = {reinterpret_cast<const uint8_t*>(kPath), sizeof(kPath) - 1};
    parts.out_handles = &memory;
    parts.out_handle_count = &handles;
    auto r = proto::call<bootfs::Map>(server.value(), {}, parts, 5'000'000'000ull);
    (void)tern_sys_handle_close(server.value());
    if (r.is_error()) {
        println("ping: /etc/hosts: {}", base::error_name(r.error()));
        return false;
    }
    const bootfs::MapResponse& m = r.value();
    if (handles != 1 || m.data_offset > m.map_size || m.size > m.map_size - m.data_offset) {
        println("ping: /etc/hosts: the file server's answer is malformed");
        if (handles == 1)
            (void)tern_sys_handle_close(memory);
        return false;
    }
    int64_t at =
        tern_sys_vm_map_memory(self(), memory, 0, m.map_offset, m.map_size, TERN_PROT_READ);
    (void)tern_sys_handle_close(memory);
    if (at < 0) {
        println("ping: /etc/hosts: cannot map: {}", base::error_name(sys_status(at)));
        return false;
    }
    base::StringView text(reinterpret_cast<const char*>(at + m.data_offset), m.size);
    bool found = find_host(text, name, out);
    (void)tern_sys_vm_free(uint64_t(at), m.map_size);
    if (!found)
        println("ping: {}: not a.b.c.d and not in /etc/hosts", name);
    return found;
}

// Microseconds as milliseconds with three decimals.
void print_ms(base::FormatSink& sink, uint64_t us) {
    base::format_to(sink, "{}.{:03}", us / 1000, us % 1000);
}

void sort(uint64_t* v, uint32_t n) {
    for (uint32_t i = 1; i < n; ++i)
        for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; --j) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

int usage() {
    println("usage: ping [-c count] [-i interval_ms] [-s size] [-W timeout_ms] host");
    return 2;
}

} // namespace

extern "C" int main(uint64_t) {
    uint32_t count = 4, interval_ms = 1000, size = 56, timeout_ms = 2000;
    const char* host = nullptr;
    char* const* argv = tern::argv();
    for (int i = 1; i < tern::argc(); ++i) {
        base::StringView a(argv[i]);
        uint32_t* target = nullptr;
        uint32_t max = 0;
        if (a == "-c") {
            target = &count;
            max = kMaxCount;
        } else if (a == "-i") {
            target = &interval_ms;
            max = 60000;
        } else if (a == "-s") {
            target = &size;
            max = net::kMaxPingSize;
        } else if (a == "-W") {
            target = &timeout_ms;
            max = uint32_t(net::kMaxPingTimeoutNs / 1'000'000);
        } else if (!host && a.size() > 0 && a[0] != '-') {
            host = argv[i];
            continue;
        } else {
            return usage();
        }
        if (i + 1 >= tern::argc() || !parse_number(argv[++i], max, *target))
            return usage();
    }
    if (!host || count == 0 || timeout_ms == 0)
        return usage();
    uint32_t ip;
    if (!resolve(base::StringView(host), ip))
        return 2;
    auto port = lookup("net", true, 5'000'000'000ull);
    if (port.is_error()) {
        println("ping: no network server: {}", base::error_name(port.error()));
        return 2;
    }
    println("PING {} ({}.{}.{}.{}): {} data bytes", base::StringView(host), ip >> 24,
            (ip >> 16) & 0xFF, (ip >> 8) & 0xFF, ip & 0xFF, size);

    static uint64_t samples[kMaxSamples];
    uint32_t received = 0, sampled = 0;
    uint64_t min_us = ~0ull, max_us = 0;
    for (uint32_t n = 0; n < count; ++n) {
        if (n > 0)
            tern_sys_thread_sleep(uint64_t(interval_ms) * 1'000'000);
        uint64_t timeout_ns = uint64_t(timeout_ms) * 1'000'000;
        // The call's own bound leaves the server time to answer TIMED_OUT itself.
        auto r = proto::call<net::Ping>(port.value(), {ip, size, timeout_ns}, {},
                                        timeout_ns + 5'000'000'000ull);
        if (r.is_error()) {
            base::Error e = r.error();
            if (e == base::Error::TIMED_OUT) {
                println("no reply from {}: icmp_seq={}", base::StringView(host), n + 1);
                continue;
            }
            if (e == base::Error::NOT_FOUND) {
                // No route now (the interface's link is down, e.g. while its driver
                // restarts): this echo is lost, the next may go.
                println("no route to {}: icmp_seq={}", base::StringView(host), n + 1);
                continue;
            }
            println("ping: {}: {}", base::StringView(host), base::error_name(e));
            if (e == base::Error::INVALID_ARGUMENT)
                return 2;
            continue;
        }
        const net::PingResponse& reply = r.value();
        uint64_t us = reply.rtt_ns / 1000;
        ++received;
        if (sampled < kMaxSamples)
            samples[sampled++] = us;
        min_us = us < min_us ? us : min_us;
        max_us = us > max_us ? us : max_us;
        DebugSink out;
        base::format_to(out, "{} bytes from {}.{}.{}.{}: icmp_seq={} ttl={} time=", size + 8,
                        reply.from >> 24, (reply.from >> 16) & 0xFF, (reply.from >> 8) & 0xFF,
                        reply.from & 0xFF, n + 1, reply.ttl);
        print_ms(out, us);
        base::format_to(out, " ms\n");
    }
    DebugSink out;
    base::format_to(out, "--- {} ping statistics ---\n", base::StringView(host));
    base::format_to(out, "{} packets transmitted, {} received, {}% packet loss\n", count, received,
                    (count - received) * 100 / count);
    if (received > 0) {
        sort(samples, sampled);
        base::format_to(out, "rtt min/median/max = ");
        print_ms(out, min_us);
        base::format_to(out, "/");
        print_ms(out, samples[sampled / 2]);
        base::format_to(out, "/");
        print_ms(out, max_us);
        base::format_to(out, " ms\n");
    }
    return received > 0 ? 0 : 1;
}

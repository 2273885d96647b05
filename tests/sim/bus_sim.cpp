// The bus transport in a simulated cluster: N nodes, each with the real Transport
// (servers/bus/portable), over a simulated network that loses, duplicates, delays and
// reorders frames, partitions nodes and heals them, crashes nodes and restarts them with a
// new incarnation, and injects forged frames, all driven from one seed.
//
// Every run checks:
//   - exactly once, in order: a receiver sees each sender's messages (per sender life) in
//     strictly increasing order, never twice, with intact contents;
//   - nothing lost in silence: at the end, after every partition has healed, every
//     message was delivered or its sender was told it failed (kSendFailed), and a
//     message that was skipped at its receiver was reported failed to its sender;
//   - failures only with a cause: a message fails only when its receiver crashed or was
//     cut off (a run without crashes and partitions fails nothing);
//   - no forged frame is ever accepted (the MAC refuses it) and none is delivered.
//
//   bus_sim --seeds 1000                 1000 seeds from --start (default 1)
//   bus_sim --seed 42 --trace            one seed with every event printed
//   bus_sim --nodes 1000 --messages 20   a large cluster
//
// Prints `sim.bus.seeds: N seeds`, `sim.bus.seeds_per_s: X seeds/s` and, on failure, the
// seed and the command that replays it; exits 1 on the first failed seed.
#include <servers/bus/portable/transport.h>

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace tern::bus;

namespace {

struct Rng {
    uint64_t s;
    uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    bool percent(double p) { return double(next() % 1000000) < p * 10000.0; }
};

// HMAC-SHA-256 under the cluster key, truncated to the frame's 16-byte tag.
class SodiumAuth final : public FrameAuth {
public:
    explicit SodiumAuth(const uint8_t* key) { std::memcpy(m_key, key, sizeof(m_key)); }
    void sign(base::Span<const uint8_t> data, uint8_t tag[kTagSize]) override {
        uint8_t full[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256(full, data.data(), data.size(), m_key);
        std::memcpy(tag, full, kTagSize);
    }
    bool verify(base::Span<const uint8_t> data, base::Span<const uint8_t> tag) override {
        uint8_t full[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256(full, data.data(), data.size(), m_key);
        return tag.size() == kTagSize && sodium_memcmp(full, tag.data(), kTagSize) == 0;
    }

private:
    uint8_t m_key[crypto_auth_hmacsha256_KEYBYTES];
};

struct Options {
    uint64_t start = 1;
    uint64_t seeds = 1;
    uint32_t nodes = 0;    // 0: chosen by the seed (3-8)
    uint32_t messages = 0; // per node; 0: chosen by the seed
    bool trace = false;
    bool faults = true;
};

constexpr uint64_t kMs = 1'000'000;

// A message's contents: who sent it in which life, its index in that stream, and bytes
// derived from all three, so corruption or a mix-up is caught.
struct Stamp {
    uint16_t from;
    uint16_t to;
    uint32_t life;
    uint64_t index;
};

uint8_t pattern(const Stamp& s, size_t i) {
    return uint8_t((s.index * 131 + i * 7 + s.from * 3 + s.life) & 0xFF);
}

class Sim {
public:
    Sim(uint64_t seed, const Options& o) : m_seed(seed), m_rng{seed * 0x9E3779B97F4A7C15ull + 1} {
        m_trace = o.trace;
        m_node_count = o.nodes ? o.nodes : 3 + uint32_t(m_rng.below(6));
        m_messages = o.messages ? o.messages : 20 + uint32_t(m_rng.below(60));
        if (o.faults) {
            m_loss = double(m_rng.below(15));
            m_dup = double(m_rng.below(10));
            m_reorder = double(m_rng.below(30));
            m_crashes = m_rng.percent(40);
            m_partitions = m_rng.percent(40);
            m_forgeries = m_rng.percent(50);
        }
        for (auto& b : m_key)
            b = uint8_t(m_rng.next());
        m_auth = std::make_unique<SodiumAuth>(m_key);
        uint8_t other[crypto_auth_hmacsha256_KEYBYTES];
        for (auto& b : other)
            b = uint8_t(m_rng.next());
        m_forger_auth = std::make_unique<SodiumAuth>(other);
        m_nodes.resize(m_node_count + 1);
        for (uint32_t n = 1; n <= m_node_count; ++n)
            boot(uint16_t(n));
    }

    bool run(std::string& why);

private:
    struct Node {
        std::unique_ptr<Transport> transport;
        uint32_t life = 0;
        bool up = true;
        uint64_t restart_at = 0;
        uint32_t sent = 0;      // messages this life has had accepted
        uint64_t next_send = 0; // when it next tries to send
    };
    struct Flight {
        uint64_t at;
        uint64_t order;
        uint16_t to;
        std::vector<uint8_t> bytes;
        bool operator>(const Flight& o) const { return at != o.at ? at > o.at : order > o.order; }
    };
    using StreamKey = std::tuple<uint16_t, uint32_t, uint16_t>; // from, life, to

    void boot(uint16_t n) {
        Node& node = m_nodes[n];
        node.life = ++m_lives[n];
        TransportConfig config;
        config.rto_initial_ns = 20 * kMs;
        config.rto_min_ns = 2 * kMs;
        config.rto_max_ns = 200 * kMs;
        config.max_retries = 6;
        config.receive_slots = 8;
        node.transport = std::make_unique<Transport>(n, node.life, *m_auth, config);
        node.up = true;
        node.sent = 0;
        node.next_send = m_now + m_rng.below(5 * kMs);
        trace("node %u boots, life %u", n, node.life);
    }

    void trace(const char* format, ...) __attribute__((format(printf, 2, 3))) {
        if (!m_trace)
            return;
        std::printf("[%8.3f ms] ", double(m_now) / double(kMs));
        va_list args;
        va_start(args, format);
        std::vprintf(format, args);
        va_end(args);
        std::printf("\n");
    }

    bool cut(uint16_t a, uint16_t b) const {
        return m_partitioned && (m_side.count(a) != m_side.count(b));
    }

    void transmit(uint16_t from, const OutFrame& f) {
        if (f.destination == 0 || f.destination > m_node_count)
            return;
        if (cut(from, f.destination) || m_rng.percent(m_loss))
            return;
        int copies = m_rng.percent(m_dup) ? 2 : 1;
        for (int i = 0; i < copies; ++i) {
            uint64_t delay = 100'000 + m_rng.below(400'000);
            if (m_rng.percent(m_reorder))
                delay += m_rng.below(5 * kMs);
            m_flights.push(Flight{m_now + delay, m_order++, f.destination,
                                  std::vector<uint8_t>(f.bytes, f.bytes + f.length)});
        }
    }

    void drain(uint16_t n) {
        Node& node = m_nodes[n];
        if (!node.up)
            return;
        OutFrame f;
        while (node.transport->pop_frame(f))
            transmit(n, f);
        Event e;
        while (node.transport->pop_event(e))
            on_event(n, e);
        while (node.transport->pop_frame(f))
            transmit(n, f);
    }

    void on_event(uint16_t n, const Event& e) {
        switch (e.kind) {
        case EventKind::kDelivered: {
            ++m_delivered;
            if (e.data.size() < sizeof(Stamp)) {
                fail("node %u got a %zu-byte message from %u", n, e.data.size(), e.node);
                return;
            }
            Stamp s;
            std::memcpy(&s, e.data.data(), sizeof(s));
            if (s.from != e.node || s.to != n) {
                fail("node %u got a message stamped %u->%u from %u", n, s.from, s.to, e.node);
                return;
            }
            for (size_t i = sizeof(Stamp); i < e.data.size(); ++i)
                if (e.data[i] != pattern(s, i)) {
                    fail("message %u/%u #%" PRIu64 " corrupt at byte %zu", s.from, s.life, s.index,
                         i);
                    return;
                }
            if (m_sizes[{s.from, s.life, s.to, s.index}] != e.data.size()) {
                fail("message %u/%u #%" PRIu64 " has the wrong length", s.from, s.life, s.index);
                return;
            }
            StreamKey key{s.from, s.life, s.to};
            auto [it, fresh] = m_last_seen.try_emplace(key, 0);
            if (!fresh && s.index <= it->second) {
                fail("node %u got %u/%u #%" PRIu64 " after #%" PRIu64 " (duplicate or reordered)",
                     n, s.from, s.life, s.index, it->second);
                return;
            }
            for (uint64_t skipped = fresh ? 1 : it->second + 1; skipped < s.index; ++skipped)
                m_skipped.insert({s.from, s.life, s.to, skipped});
            it->second = s.index;
            m_done.insert({s.from, s.life, s.to, s.index});
            trace("node %u delivered %u/%u #%" PRIu64 " (%zu bytes)", n, s.from, s.life, s.index,
                  e.data.size());
            break;
        }
        case EventKind::kSendFailed: {
            auto it = m_by_id.find({n, m_nodes[n].life, e.message_id});
            if (it == m_by_id.end()) {
                fail("node %u: failure of unknown message id %" PRIu64, n, e.message_id);
                return;
            }
            m_failed.insert(it->second);
            ++m_failed_count;
            trace("node %u: message to %u failed: %s", n, e.node, base::error_name(e.error));
            break;
        }
        case EventKind::kPeerUp:
            trace("node %u: peer %u up (life %u)", n, e.node, e.incarnation);
            break;
        case EventKind::kPeerRestarted:
            trace("node %u: peer %u restarted (life %u)", n, e.node, e.incarnation);
            break;
        case EventKind::kPeerDown:
            trace("node %u: peer %u down", n, e.node);
            break;
        }
    }

    void fail(const char* format, ...) __attribute__((format(printf, 2, 3))) {
        if (!m_failure.empty())
            return;
        char buffer[512];
        va_list args;
        va_start(args, format);
        std::vsnprintf(buffer, sizeof(buffer), format, args);
        va_end(args);
        m_failure = buffer;
    }

    void try_send(uint16_t n) {
        Node& node = m_nodes[n];
        if (node.sent >= m_messages)
            return;
        uint16_t to = uint16_t(1 + m_rng.below(m_node_count - 1));
        if (to >= n)
            ++to;
        uint64_t index = ++m_stream_next[{n, node.life, to}];
        size_t size =
            sizeof(Stamp)
            + (m_rng.percent(10) ? m_rng.below(kMaxMessage - sizeof(Stamp)) : m_rng.below(200));
        std::vector<uint8_t> bytes(size);
        Stamp s{n, to, node.life, index};
        std::memcpy(bytes.data(), &s, sizeof(s));
        for (size_t i = sizeof(Stamp); i < size; ++i)
            bytes[i] = pattern(s, i);
        auto r = node.transport->send(to, base::Span<const uint8_t>(bytes.data(), size), m_now);
        if (r.is_error()) {
            --m_stream_next[{n, node.life, to}];
            if (r.error() != base::Error::WOULD_BLOCK)
                fail("node %u: send to %u failed: %s", n, to, base::error_name(r.error()));
            node.next_send = m_now + 2 * kMs;
            return;
        }
        ++node.sent;
        m_sizes[{n, node.life, to, index}] = size;
        m_sent.insert({n, node.life, to, index});
        m_by_id[{n, node.life, r.value()}] = {n, node.life, to, index};
        node.next_send = m_now + m_rng.below(3 * kMs);
        trace("node %u sends #%" PRIu64 " to %u (%zu bytes)", n, index, to, size);
    }

    void forge() {
        // A frame from outside the cluster: a real-looking header under the wrong key, or
        // a copy of nothing at all.
        uint16_t to = uint16_t(1 + m_rng.below(m_node_count));
        uint16_t from = uint16_t(1 + m_rng.below(m_node_count));
        FrameHeader h;
        h.kind = FrameKind::kData;
        h.source = from;
        h.destination = to;
        h.source_incarnation = m_lives[from];
        h.destination_incarnation = m_lives[to];
        h.source_session = 1;
        h.destination_session = 1;
        h.sequence = uint32_t(1 + m_rng.below(8));
        h.ack = 1;
        h.window = 8;
        h.fragment_count = 1;
        Stamp s{from, to, m_lives[from], 1};
        uint8_t payload[sizeof(Stamp)];
        std::memcpy(payload, &s, sizeof(s));
        h.message_length = sizeof(payload);
        OutFrame f;
        f.destination = to;
        f.length = encode_frame(h, base::Span<const uint8_t>(payload, sizeof(payload)),
                                base::Span<uint8_t>(f.bytes, kMaxFrame));
        m_forger_auth->sign(base::Span<const uint8_t>(f.bytes, f.length - kTagSize),
                            f.bytes + f.length - kTagSize);
        m_flights.push(
            Flight{m_now + 1000, m_order++, to, std::vector<uint8_t>(f.bytes, f.bytes + f.length)});
        ++m_forged;
    }

    uint64_t m_seed;
    Rng m_rng;
    bool m_trace = false;
    uint32_t m_node_count;
    uint32_t m_messages;
    double m_loss = 0, m_dup = 0, m_reorder = 0;
    bool m_crashes = false, m_partitions = false, m_forgeries = false;
    uint8_t m_key[crypto_auth_hmacsha256_KEYBYTES];
    std::unique_ptr<SodiumAuth> m_auth, m_forger_auth;
    std::vector<Node> m_nodes;
    std::map<uint16_t, uint32_t> m_lives;
    uint64_t m_now = 0;
    uint64_t m_order = 0;
    std::priority_queue<Flight, std::vector<Flight>, std::greater<Flight>> m_flights;
    bool m_partitioned = false;
    std::set<uint16_t> m_side;
    uint64_t m_delivered = 0, m_failed_count = 0, m_forged = 0;
    bool m_any_crash = false, m_any_partition = false;
    std::string m_failure;

    using MsgKey = std::tuple<uint16_t, uint32_t, uint16_t, uint64_t>; // from, life, to, index
    std::map<std::tuple<uint16_t, uint32_t, uint16_t>, uint64_t> m_stream_next;
    std::map<MsgKey, size_t> m_sizes;
    std::map<std::tuple<uint16_t, uint32_t, uint64_t>, MsgKey> m_by_id;
    std::map<StreamKey, uint64_t> m_last_seen;
    std::set<MsgKey> m_sent, m_done, m_failed, m_skipped;
};

bool Sim::run(std::string& why) {
    const uint64_t fault_end = 3000 * kMs; // faults stop here; the rest is for settling
    const uint64_t end = 20000 * kMs;
    uint64_t next_fault = m_rng.below(500 * kMs);
    while (m_now < end && m_failure.empty()) {
        // The next thing to happen: a frame landing, a timer, a send, a fault.
        uint64_t at = end;
        if (!m_flights.empty())
            at = std::min(at, m_flights.top().at);
        for (uint32_t n = 1; n <= m_node_count; ++n) {
            Node& node = m_nodes[n];
            if (node.up) {
                at = std::min(at, node.transport->next_deadline());
                if (node.sent < m_messages)
                    at = std::min(at, node.next_send);
            } else {
                at = std::min(at, node.restart_at);
            }
        }
        if (m_now < fault_end)
            at = std::min(at, next_fault);
        if (at >= end)
            break;
        m_now = std::max(m_now, at);
        if (m_now < fault_end && m_now >= next_fault) {
            next_fault = m_now + 50 * kMs + m_rng.below(500 * kMs);
            uint64_t pick = m_rng.below(3);
            if (pick == 0 && m_crashes) {
                uint16_t n = uint16_t(1 + m_rng.below(m_node_count));
                if (m_nodes[n].up) {
                    trace("node %u crashes", n);
                    m_nodes[n].up = false;
                    m_nodes[n].transport.reset();
                    m_nodes[n].restart_at = m_now + 10 * kMs + m_rng.below(1000 * kMs);
                    m_any_crash = true;
                }
            } else if (pick == 1 && m_partitions) {
                m_partitioned = !m_partitioned;
                m_side.clear();
                if (m_partitioned) {
                    for (uint32_t n = 1; n <= m_node_count; ++n)
                        if (m_rng.percent(50))
                            m_side.insert(uint16_t(n));
                    m_any_partition = true;
                }
                trace(m_partitioned ? "partition" : "heal");
            } else if (m_forgeries) {
                forge();
            }
        }
        if (m_now >= fault_end && m_partitioned) {
            m_partitioned = false;
            trace("heal (faults over)");
        }
        for (uint32_t n = 1; n <= m_node_count; ++n) {
            Node& node = m_nodes[n];
            if (!node.up && node.restart_at <= m_now)
                boot(uint16_t(n));
        }
        while (!m_flights.empty() && m_flights.top().at <= m_now) {
            Flight f = m_flights.top();
            m_flights.pop();
            Node& node = m_nodes[f.to];
            if (!node.up)
                continue;
            node.transport->on_frame(base::Span<const uint8_t>(f.bytes.data(), f.bytes.size()),
                                     m_now);
            drain(f.to);
        }
        for (uint32_t n = 1; n <= m_node_count; ++n) {
            Node& node = m_nodes[n];
            if (!node.up)
                continue;
            if (node.transport->next_deadline() <= m_now)
                node.transport->on_tick(m_now);
            if (node.sent < m_messages && node.next_send <= m_now)
                try_send(uint16_t(n));
            drain(uint16_t(n));
        }
    }
    if (m_failure.empty()) {
        uint64_t accepted_forgeries = 0;
        uint64_t refused = 0;
        for (uint32_t n = 1; n <= m_node_count; ++n)
            if (m_nodes[n].up)
                refused += m_nodes[n].transport->counters().bad_tag;
        (void)accepted_forgeries;
        for (const MsgKey& k : m_sent) {
            bool done = m_done.count(k) != 0;
            bool failed = m_failed.count(k) != 0;
            if (!done && !failed) {
                // Pending at the end: allowed only on a sender whose life ended (its
                // transport, and its promise, went with it).
                auto [from, life, to, index] = k;
                if (m_nodes[from].life == life && m_nodes[from].up) {
                    fail("message %u/%u -> %u #%" PRIu64 " neither delivered nor failed", from,
                         life, to, index);
                    break;
                }
            }
        }
        for (const MsgKey& k : m_skipped) {
            auto [from, life, to, index] = k;
            if (m_failed.count(k) == 0 && m_nodes[from].life == life) {
                fail("message %u/%u -> %u #%" PRIu64 " skipped at the receiver but never failed",
                     from, life, to, index);
                break;
            }
        }
        if (!m_any_crash && !m_any_partition && m_failed_count)
            fail("%" PRIu64 " messages failed with no crash or partition", m_failed_count);
    }
    if (!m_failure.empty()) {
        if (m_trace)
            for (uint32_t n = 1; n <= m_node_count; ++n) {
                if (!m_nodes[n].up)
                    continue;
                const TransportCounters& c = m_nodes[n].transport->counters();
                std::printf("node %u: sent %" PRIu64 " frames, received %" PRIu64
                            ", retransmits %" PRIu64 ", duplicates %" PRIu64
                            ", out of window %" PRIu64 ", bad tag %" PRIu64 ", stale %" PRIu64
                            ", bad fragments %" PRIu64 ", delivered %" PRIu64 ", failed %" PRIu64
                            ", acked %" PRIu64 "\n",
                            n, c.frames_sent, c.frames_received, c.retransmits, c.duplicates,
                            c.out_of_window, c.bad_tag, c.stale, c.bad_fragments, c.delivered,
                            c.failed_messages, c.acked_messages);
                for (uint32_t m = 1; m <= m_node_count; ++m)
                    if (PeerInfo i; m != n && m_nodes[n].transport->peer_info(uint16_t(m), i))
                        std::printf("  peer %u: state %u life %u sessions %u/%u snd_next %u "
                                    "snd_una %u in flight %u queued %u window %u retries %u "
                                    "rto %" PRIu64 " timer %" PRIu64 " rcv_next %u waiting %u\n",
                                    m, i.state, i.incarnation, i.my_session, i.peer_session,
                                    i.snd_next, i.snd_una, i.in_flight, i.queued, i.peer_window,
                                    i.retries, i.rto_ns, i.timer_at, i.rcv_next, i.waiting);
            }
        why = m_failure;
        return false;
    }
    if (m_trace)
        std::printf("seed %" PRIu64 ": %u nodes, %" PRIu64 " delivered, %" PRIu64
                    " failed, %" PRIu64 " forged frames; loss %.0f%% dup %.0f%% reorder %.0f%%\n",
                    m_seed, m_node_count, m_delivered, m_failed_count, m_forged, m_loss, m_dup,
                    m_reorder);
    return true;
}

} // namespace

int main(int argc, char** argv) {
    if (sodium_init() < 0) {
        std::fprintf(stderr, "bus_sim: libsodium failed to initialise\n");
        return 2;
    }
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> uint64_t {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bus_sim: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return std::strtoull(argv[++i], nullptr, 0);
        };
        if (a == "--seeds")
            o.seeds = value();
        else if (a == "--start" || a == "--seed")
            o.start = value();
        else if (a == "--nodes")
            o.nodes = uint32_t(value());
        else if (a == "--messages")
            o.messages = uint32_t(value());
        else if (a == "--trace")
            o.trace = true;
        else if (a == "--no-faults")
            o.faults = false;
        else {
            std::fprintf(stderr, "usage: bus_sim [--seeds N] [--seed S] [--nodes N] [--messages M] "
                                 "[--trace] [--no-faults]\n");
            return 2;
        }
    }
    if (o.nodes == 1 || o.nodes > 60000) {
        std::fprintf(stderr, "bus_sim: --nodes must be 2..60000\n");
        return 2;
    }
    auto started = std::chrono::steady_clock::now();
    for (uint64_t seed = o.start; seed < o.start + o.seeds; ++seed) {
        Sim sim(seed, o);
        std::string why;
        if (!sim.run(why)) {
            std::printf("sim.bus: FAIL seed %" PRIu64 ": %s\n", seed, why.c_str());
            std::printf("replay: bus_sim --seed %" PRIu64 "%s%s --trace\n", seed,
                        o.nodes ? (" --nodes " + std::to_string(o.nodes)).c_str() : "",
                        o.messages ? (" --messages " + std::to_string(o.messages)).c_str() : "");
            return 1;
        }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("sim.bus.seeds: %" PRIu64 " seeds\n", o.seeds);
    std::printf("sim.bus.seconds: %.2f s\n", seconds);
    std::printf("sim.bus.seeds_per_s: %.1f seeds/s\n", double(o.seeds) / seconds);
    return 0;
}

// Host tests for the bus's membership state machine, its heartbeat codec and the frame
// authentication the network server links (servers/bus/portable).
#include <catch2/catch.hpp>
#include <servers/bus/portable/hmac_auth.h>
#include <servers/bus/portable/incarnation.h>
#include <servers/bus/portable/membership.h>
#include <servers/bus/portable/peers.h>

#include <cstring>
#include <vector>

using namespace tern::bus;

namespace {

constexpr uint64_t kMs = 1'000'000;

std::vector<MembershipChange> drain(Membership& m) {
    std::vector<MembershipChange> out;
    MembershipChange c;
    while (m.pop_change(c))
        out.push_back(c);
    return out;
}

std::vector<uint16_t> due_at(Membership& m, uint64_t now) {
    uint16_t buffer[Membership::kMaxMembers];
    size_t n = m.due(now, base::Span<uint16_t>(buffer, Membership::kMaxMembers));
    return std::vector<uint16_t>(buffer, buffer + n);
}

Heartbeat beat(uint32_t incarnation, uint32_t load = 0) {
    Heartbeat h;
    h.incarnation = incarnation;
    h.load = load;
    return h;
}

} // namespace

TEST_CASE("heartbeats round-trip and malformed ones are refused") {
    uint8_t bytes[kHeartbeatSize];
    encode_heartbeat(beat(0x01020304, 7), bytes);
    Heartbeat out;
    REQUIRE(decode_heartbeat(base::Span<const uint8_t>(bytes, sizeof(bytes)), out));
    CHECK(out.incarnation == 0x01020304);
    CHECK(out.load == 7);
    CHECK(bytes[4] == 0x04); // little-endian

    CHECK_FALSE(decode_heartbeat(base::Span<const uint8_t>(bytes, sizeof(bytes) - 1), out));
    for (size_t i : {size_t(0), size_t(1), size_t(2), size_t(3), size_t(12), size_t(15)}) {
        uint8_t bad[kHeartbeatSize];
        std::memcpy(bad, bytes, sizeof(bad));
        bad[i] ^= 0x40;
        INFO("byte " << i);
        CHECK_FALSE(decode_heartbeat(base::Span<const uint8_t>(bad, sizeof(bad)), out));
    }
    uint8_t zero_life[kHeartbeatSize];
    encode_heartbeat(beat(0), zero_life);
    CHECK_FALSE(decode_heartbeat(base::Span<const uint8_t>(zero_life, sizeof(zero_life)), out));
}

TEST_CASE("membership: up on a heartbeat, down after the configured silence, up again") {
    MembershipConfig config;
    config.heartbeat_ns = 100 * kMs;
    config.down_ns = 300 * kMs;
    Membership m(1, config);
    CHECK_FALSE(m.add_peer(1, 0)); // itself
    CHECK_FALSE(m.add_peer(0, 0));
    REQUIRE(m.add_peer(2, 0));
    REQUIRE(m.add_peer(3, 0));
    CHECK_FALSE(m.add_peer(3, 0));
    CHECK(m.find(2)->state == MemberState::kUnknown);

    // Both peers are due a heartbeat at once, then once per period.
    CHECK(due_at(m, 0) == std::vector<uint16_t>{2, 3});
    CHECK(due_at(m, 50 * kMs).empty());
    CHECK(m.next_deadline() == 100 * kMs);
    CHECK(due_at(m, 100 * kMs) == std::vector<uint16_t>{2, 3});

    REQUIRE(m.on_heartbeat(2, beat(10, 4), 120 * kMs));
    CHECK_FALSE(m.on_heartbeat(9, beat(10), 120 * kMs)); // not a peer
    auto changes = drain(m);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].node == 2);
    CHECK(changes[0].state == MemberState::kUp);
    CHECK(changes[0].incarnation == 10);
    CHECK(changes[0].previous_incarnation == 0);
    CHECK(m.find(2)->load == 4);
    CHECK(m.find(2)->last_heard_ns == 120 * kMs);

    // Heard again in time: no change. Silence beyond down_ns: down, once.
    REQUIRE(m.on_heartbeat(2, beat(10, 5), 300 * kMs));
    m.on_tick(599 * kMs);
    CHECK(drain(m).empty());
    CHECK(m.next_deadline() <= 600 * kMs);
    m.on_tick(600 * kMs);
    changes = drain(m);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].state == MemberState::kDown);
    CHECK(changes[0].silence);
    CHECK(m.find(2)->state == MemberState::kDown);
    m.on_tick(900 * kMs);
    CHECK(drain(m).empty());
    CHECK(m.find(3)->state == MemberState::kUnknown); // never heard, never declared down

    // Back with a new life.
    REQUIRE(m.on_heartbeat(2, beat(11), 1000 * kMs));
    changes = drain(m);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].state == MemberState::kUp);
    CHECK(changes[0].incarnation == 11);
    CHECK(changes[0].previous_incarnation == 10);
    CHECK(m.find(2)->ups == 2);
    CHECK(m.find(2)->downs == 1);
}

TEST_CASE("membership: restarts, earlier lives and the transport's verdict") {
    Membership m(5, {});
    REQUIRE(m.add_peer(2, 0));
    REQUIRE(m.on_heartbeat(2, beat(10), 1 * kMs));
    drain(m);

    // A higher incarnation while up is a restart the silence never showed.
    REQUIRE(m.on_heartbeat(2, beat(12), 2 * kMs));
    auto changes = drain(m);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].state == MemberState::kUp);
    CHECK(changes[0].previous_incarnation == 10);
    CHECK(changes[0].incarnation == 12);

    // A late heartbeat of the earlier life changes nothing.
    REQUIRE(m.on_heartbeat(2, beat(10, 99), 3 * kMs));
    CHECK(drain(m).empty());
    CHECK(m.find(2)->incarnation == 12);
    CHECK(m.find(2)->load != 99);

    // on_heard keeps an up peer alive; the transport's verdict takes it down.
    m.on_heard(2, 2900 * kMs);
    m.on_tick(3000 * kMs);
    CHECK(drain(m).empty());
    m.on_peer_down(2);
    changes = drain(m);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].state == MemberState::kDown);
    CHECK_FALSE(changes[0].silence);
    m.on_peer_down(2); // already down
    CHECK(drain(m).empty());
}

TEST_CASE("membership: a slept-through period gives one heartbeat, not a burst") {
    MembershipConfig config;
    config.heartbeat_ns = 10 * kMs;
    Membership m(1, config);
    REQUIRE(m.add_peer(2, 0));
    CHECK(due_at(m, 0).size() == 1);
    CHECK(due_at(m, 1000 * kMs).size() == 1);
    CHECK(due_at(m, 1001 * kMs).empty());
    CHECK(m.next_deadline() == 1010 * kMs);
}

TEST_CASE("membership: the table holds kMaxMembers peers") {
    Membership m(1, {});
    for (uint16_t n = 2; n < 2 + Membership::kMaxMembers; ++n)
        REQUIRE(m.add_peer(n, 0));
    CHECK_FALSE(m.add_peer(1000, 0));
    CHECK(m.members().size() == Membership::kMaxMembers);
}

// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"; the tag is the
// first 16 bytes of HMAC-SHA-256.
TEST_CASE("HmacAuth signs with truncated HMAC-SHA-256 and refuses any other tag") {
    const uint8_t jefe[] = {'J', 'e', 'f', 'e'};
    const char* text = "what do ya want for nothing?";
    const uint8_t expected[16] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
                                  0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7};
    HmacAuth auth(base::Span<const uint8_t>(jefe, sizeof(jefe)));
    base::Span<const uint8_t> data(reinterpret_cast<const uint8_t*>(text), std::strlen(text));
    uint8_t tag[kTagSize];
    auth.sign(data, tag);
    CHECK(std::memcmp(tag, expected, kTagSize) == 0);
    CHECK(auth.verify(data, base::Span<const uint8_t>(tag, kTagSize)));
    // Signing twice starts from the same keyed state.
    uint8_t again[kTagSize];
    auth.sign(data, again);
    CHECK(std::memcmp(tag, again, kTagSize) == 0);

    for (size_t i = 0; i < kTagSize; ++i) {
        uint8_t bad[kTagSize];
        std::memcpy(bad, tag, kTagSize);
        bad[i] ^= 1;
        CHECK_FALSE(auth.verify(data, base::Span<const uint8_t>(bad, kTagSize)));
    }
    CHECK_FALSE(auth.verify(data, base::Span<const uint8_t>(tag, kTagSize - 1)));
    CHECK_FALSE(auth.verify(data.subspan(1), base::Span<const uint8_t>(tag, kTagSize)));
    const uint8_t other_key[] = {'J', 'e', 'f', 'f'};
    HmacAuth other(base::Span<const uint8_t>(other_key, sizeof(other_key)));
    CHECK_FALSE(other.verify(data, base::Span<const uint8_t>(tag, kTagSize)));
}

TEST_CASE("peers come from the node<N> names of the hosts file") {
    const char* hosts = "127.0.0.1\tlocalhost\n"
                        "10.0.0.1\tnode1\n"
                        "10.0.0.2 node2 # the second\n"
                        "# 10.0.0.9 node9\n"
                        "10.0.0.3 alias node3 other\n"
                        "10.0.0.30 node3\n"    // listed twice: the first counts
                        "10.0.0.300 node4\n"   // bad address
                        "10.0.0.5 node05\n"    // leading zero
                        "10.0.0.6 node70000\n" // out of range
                        "10.0.0.7 nodeX\n"     // not a number
                        "\n   \n"
                        "10.0.0.8 node8"; // no final newline
    PeerAddress peers[8];
    PeersParse r = parse_peers(hosts, 1, peers, 8);
    REQUIRE(r.count == 3);
    CHECK(r.malformed == 4);
    CHECK(r.dropped == 0);
    CHECK(peers[0].node == 2);
    CHECK(peers[0].ip == 0x0A000002);
    CHECK(peers[1].node == 3);
    CHECK(peers[1].ip == 0x0A000003);
    CHECK(peers[2].node == 8);

    PeerAddress two[2];
    r = parse_peers(hosts, 2, two, 2);
    CHECK(r.count == 2);
    CHECK(r.dropped == 1);
    CHECK(two[0].node == 1);

    CHECK(node_of_name("node1") == 1);
    CHECK(node_of_name("node65535") == 65535);
    CHECK(node_of_name("node65536") == 0);
    CHECK(node_of_name("node") == 0);
    CHECK(node_of_name("node0") == 0);
    CHECK(node_of_name("nodes") == 0);
    CHECK(node_of_name("mode1") == 0);
}

TEST_CASE("incarnations count seconds from 2024 and grow with the clock") {
    ClockTime t;
    t.year = 2024;
    t.month = 1;
    t.day = 1;
    CHECK(incarnation_of(t) == 1);
    t.second = 1;
    CHECK(incarnation_of(t) == 2);
    // 2025-03-01 12:34:56: 366 days of 2024, 31 + 28 of 2025.
    t = {2025, 3, 1, 12, 34, 56};
    CHECK(incarnation_of(t) == (366u + 59u) * 86400u + 12u * 3600u + 34u * 60u + 56u + 1u);
    ClockTime later = t;
    later.second = 57;
    CHECK(incarnation_of(later) == incarnation_of(t) + 1);
    // The end of a day, month and year all carry into the next.
    ClockTime eoy{2024, 12, 31, 23, 59, 59};
    ClockTime ny{2025, 1, 1, 0, 0, 0};
    CHECK(incarnation_of(ny) == incarnation_of(eoy) + 1);
    CHECK(incarnation_of({2024, 2, 29, 0, 0, 0}) != 0);
    CHECK(incarnation_of({2025, 2, 29, 0, 0, 0}) == 0);
    CHECK(incarnation_of({2023, 12, 31, 23, 59, 59}) == 0);
    CHECK(incarnation_of({2024, 13, 1, 0, 0, 0}) == 0);
    CHECK(incarnation_of({2024, 1, 0, 0, 0, 0}) == 0);
    CHECK(incarnation_of({2024, 1, 1, 24, 0, 0}) == 0);
    CHECK(incarnation_of({2161, 1, 1, 0, 0, 0}) == 0);

    CHECK(cmos_value(0x59, false) == 59);
    CHECK(cmos_value(59, true) == 59);
    CHECK(cmos_hour(0x12, false, false) == 0);         // 12 AM
    CHECK(cmos_hour(0x80 | 0x12, false, false) == 12); // 12 PM
    CHECK(cmos_hour(0x80 | 0x01, false, false) == 13);
    CHECK(cmos_hour(0x23, false, true) == 23);
    CHECK(cmos_hour(0x80 | 11, true, false) == 23);
}

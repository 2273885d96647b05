// Host tests for the bus frame codec and the transport's state machine
// (servers/bus/portable). The randomized cluster runs are in tests/sim/bus_sim.cpp.
#include <catch2/catch.hpp>
#include <servers/bus/portable/transport.h>

#include <cstring>
#include <vector>

using namespace tern::bus;

namespace {

// A keyed checksum standing in for the MAC: enough to tell the key and the bytes apart.
class TestAuth final : public FrameAuth {
public:
    explicit TestAuth(uint8_t key) : m_key(key) {}
    void sign(base::Span<const uint8_t> data, uint8_t tag[kTagSize]) override {
        uint64_t h = 1469598103934665603ull ^ m_key;
        for (uint8_t b : data)
            h = (h ^ b) * 1099511628211ull;
        for (size_t i = 0; i < kTagSize; ++i)
            tag[i] = uint8_t(h >> (8 * (i % 8))) ^ uint8_t(i);
    }
    bool verify(base::Span<const uint8_t> data, base::Span<const uint8_t> tag) override {
        uint8_t want[kTagSize];
        sign(data, want);
        return tag.size() == kTagSize && std::memcmp(want, tag.data(), kTagSize) == 0;
    }

private:
    uint8_t m_key;
};

std::vector<uint8_t> frame_of(const FrameHeader& h, size_t payload_size) {
    std::vector<uint8_t> payload(payload_size, 0xAB);
    std::vector<uint8_t> out(kMaxFrame + 64);
    size_t n = encode_frame(h, base::Span<const uint8_t>(payload.data(), payload.size()),
                            base::Span<uint8_t>(out.data(), out.size()));
    out.resize(n);
    return out;
}

FrameHeader data_header(uint32_t length, uint16_t index) {
    FrameHeader h;
    h.kind = FrameKind::kData;
    h.source = 1;
    h.destination = 2;
    h.sequence = 7;
    h.message_length = length;
    h.fragment_count = uint16_t(length == 0 ? 1 : (length + kMaxPayload - 1) / kMaxPayload);
    h.fragment_index = index;
    return h;
}

// Moves every frame between two transports until both are quiet; drop(i) loses frame i.
template<typename Drop>
void shuttle(Transport& a, Transport& b, uint64_t& now, Drop drop, int rounds = 200) {
    int counter = 0;
    for (int r = 0; r < rounds; ++r) {
        bool moved = false;
        OutFrame f;
        while (a.pop_frame(f)) {
            moved = true;
            if (!drop(counter++))
                b.on_frame(base::Span<const uint8_t>(f.bytes, f.length), now);
        }
        while (b.pop_frame(f)) {
            moved = true;
            if (!drop(counter++))
                a.on_frame(base::Span<const uint8_t>(f.bytes, f.length), now);
        }
        if (!moved) {
            now += 10'000'000;
            a.on_tick(now);
            b.on_tick(now);
        }
    }
}

} // namespace

TEST_CASE("frames round-trip and every field survives") {
    FrameHeader h = data_header(3000, 1);
    h.source_incarnation = 5;
    h.destination_incarnation = 9;
    h.source_session = 3;
    h.destination_session = 4;
    h.ack = 0xFFFFFFF0;
    h.selective = 0x80000001;
    h.window = 64;
    auto bytes = frame_of(h, kMaxPayload);
    DecodedFrame d;
    FrameProblem problem;
    REQUIRE(decode_frame(base::Span<const uint8_t>(bytes.data(), bytes.size()), d, problem));
    CHECK(d.header.kind == FrameKind::kData);
    CHECK(d.header.source_incarnation == 5);
    CHECK(d.header.destination_session == 4);
    CHECK(d.header.ack == 0xFFFFFFF0);
    CHECK(d.header.selective == 0x80000001);
    CHECK(d.payload.size() == kMaxPayload);
    CHECK(d.tag.size() == kTagSize);
}

TEST_CASE("bad frames are refused with the reason") {
    DecodedFrame d;
    FrameProblem problem;
    auto good = frame_of(data_header(10, 0), 10);
    auto span = [](const std::vector<uint8_t>& v) {
        return base::Span<const uint8_t>(v.data(), v.size());
    };
    // Truncated anywhere, including inside the tag.
    for (size_t n = 0; n < good.size(); ++n) {
        std::vector<uint8_t> cut(good.begin(), good.begin() + long(n));
        CHECK_FALSE(decode_frame(span(cut), d, problem));
        CHECK((problem == FrameProblem::kTruncated));
    }
    auto longer = good;
    longer.push_back(0);
    CHECK_FALSE(decode_frame(span(longer), d, problem));
    CHECK((problem == FrameProblem::kOversized));
    auto magic = good;
    magic[0] ^= 1;
    CHECK_FALSE(decode_frame(span(magic), d, problem));
    CHECK((problem == FrameProblem::kBadMagic));
    auto kind = good;
    kind[3] = 9;
    CHECK_FALSE(decode_frame(span(kind), d, problem));
    CHECK((problem == FrameProblem::kBadKind));
    // Fragments that do not add up.
    FrameHeader h = data_header(3000, 0);
    h.fragment_count = 2; // 3000 bytes need 3
    auto wrong_count = frame_of(h, kMaxPayload);
    CHECK_FALSE(decode_frame(span(wrong_count), d, problem));
    CHECK((problem == FrameProblem::kBadFragment));
    auto short_middle = frame_of(data_header(3000, 1), 100); // not the last: must be full
    CHECK_FALSE(decode_frame(span(short_middle), d, problem));
    CHECK((problem == FrameProblem::kBadFragment));
    FrameHeader past = data_header(3000, 3); // index beyond the count
    auto beyond = frame_of(past, 10);
    CHECK_FALSE(decode_frame(span(beyond), d, problem));
    FrameHeader huge = data_header(kMaxMessage + 1, 0);
    auto too_big = frame_of(huge, kMaxPayload);
    CHECK_FALSE(decode_frame(span(too_big), d, problem));
    // An ack with a payload.
    FrameHeader ack;
    ack.kind = FrameKind::kAck;
    auto ack_payload = frame_of(ack, 4);
    CHECK_FALSE(decode_frame(span(ack_payload), d, problem));
}

TEST_CASE("two nodes deliver messages of every size once and in order under loss") {
    TestAuth auth(7);
    Transport a(1, 100, auth), b(2, 200, auth);
    uint64_t now = 0;
    std::vector<size_t> sizes = {0,     1,          kMaxPayload - 1, kMaxPayload, kMaxPayload + 1,
                                 20000, kMaxMessage};
    for (size_t i = 0; i < sizes.size(); ++i) {
        std::vector<uint8_t> m(sizes[i], uint8_t(i + 1));
        REQUIRE(a.send(2, base::Span<const uint8_t>(m.data(), m.size()), now).ok());
    }
    size_t next = 0;
    bool up = false;
    shuttle(a, b, now, [](int i) { return i % 5 == 3; }); // every fifth frame is lost
    Event e;
    while (b.pop_event(e)) {
        if (e.kind == EventKind::kPeerUp) {
            up = true;
            continue;
        }
        REQUIRE(e.kind == EventKind::kDelivered);
        REQUIRE(next < sizes.size());
        CHECK(e.data.size() == sizes[next]);
        CHECK(e.node == 1);
        for (uint8_t byte : e.data)
            REQUIRE(byte == uint8_t(next + 1));
        ++next;
    }
    CHECK(up);
    CHECK(next == sizes.size());
    CHECK(a.pending_to(2) == 0);
    CHECK(a.counters().retransmits > 0);
    CHECK(a.counters().failed_messages == 0);
}

TEST_CASE("send refuses bad destinations, oversize messages and a full queue") {
    TestAuth auth(1);
    TransportConfig config;
    config.send_queue_frames = 4;
    Transport a(1, 1, auth, config);
    uint8_t byte = 0;
    auto one = base::Span<const uint8_t>(&byte, 1);
    CHECK(a.send(1, one, 0).error() == base::Error::INVALID_ARGUMENT);
    CHECK(a.send(0, one, 0).error() == base::Error::INVALID_ARGUMENT);
    std::vector<uint8_t> big(kMaxMessage + 1);
    CHECK(a.send(2, base::Span<const uint8_t>(big.data(), big.size()), 0).error()
          == base::Error::TOO_BIG);
    for (int i = 0; i < 4; ++i)
        REQUIRE(a.send(2, one, 0).ok());
    CHECK(a.send(2, one, 0).error() == base::Error::WOULD_BLOCK);
}

TEST_CASE("frames under another key, for another node or from an old life are refused") {
    TestAuth auth(1), other(2);
    Transport a(1, 10, auth), b(2, 20, auth), forger(1, 10, other);
    uint64_t now = 0;
    uint8_t byte = 5;
    REQUIRE(forger.send(2, base::Span<const uint8_t>(&byte, 1), now).ok());
    OutFrame f;
    REQUIRE(forger.pop_frame(f));
    b.on_frame(base::Span<const uint8_t>(f.bytes, f.length), now);
    CHECK(b.counters().bad_tag == 1);
    Event e;
    CHECK_FALSE(b.pop_event(e));
    // A frame for node 3 reaching node 2.
    Transport c(1, 10, auth);
    REQUIRE(c.send(3, base::Span<const uint8_t>(&byte, 1), now).ok());
    REQUIRE(c.pop_frame(f));
    b.on_frame(base::Span<const uint8_t>(f.bytes, f.length), now);
    CHECK(b.counters().misdirected == 1);
    // A session, then node 1 restarts with a higher incarnation: b hears of the restart,
    // and frames of the old life are refused.
    REQUIRE(a.send(2, base::Span<const uint8_t>(&byte, 1), now).ok());
    shuttle(
        a, b, now, [](int) { return false; }, 20);
    std::vector<uint8_t> old_hello;
    Transport a_old(1, 10, auth);
    REQUIRE(a_old.send(2, base::Span<const uint8_t>(&byte, 1), now).ok());
    REQUIRE(a_old.pop_frame(f));
    old_hello.assign(f.bytes, f.bytes + f.length);
    Transport a2(1, 11, auth);
    REQUIRE(a2.send(2, base::Span<const uint8_t>(&byte, 1), now).ok());
    shuttle(
        a2, b, now, [](int) { return false; }, 20);
    bool restarted = false;
    int delivered = 0;
    while (b.pop_event(e)) {
        restarted |= e.kind == EventKind::kPeerRestarted && e.incarnation == 11;
        delivered += e.kind == EventKind::kDelivered;
    }
    CHECK(restarted);
    CHECK(delivered == 2);
    uint64_t stale = b.counters().stale;
    b.on_frame(base::Span<const uint8_t>(old_hello.data(), old_hello.size()), now);
    CHECK(b.counters().stale == stale + 1);
}

TEST_CASE("an unreachable peer fails what it did not acknowledge") {
    TestAuth auth(3);
    TransportConfig config;
    config.max_retries = 3;
    Transport a(1, 1, auth, config);
    uint8_t byte = 0;
    REQUIRE(a.send(2, base::Span<const uint8_t>(&byte, 1), 0).ok());
    REQUIRE(a.send(2, base::Span<const uint8_t>(&byte, 1), 0).ok());
    uint64_t now = 0;
    OutFrame f;
    for (int i = 0; i < 10; ++i) {
        while (a.pop_frame(f)) {
        }
        now = a.next_deadline();
        if (now == ~uint64_t(0))
            break;
        a.on_tick(now);
    }
    Event e;
    int failed = 0;
    bool down = false;
    while (a.pop_event(e)) {
        if (e.kind == EventKind::kSendFailed) {
            CHECK(e.error == base::Error::NODE_DOWN);
            ++failed;
        }
        down |= e.kind == EventKind::kPeerDown;
    }
    CHECK(failed == 2);
    CHECK(down);
    CHECK(a.next_deadline() == ~uint64_t(0));
}

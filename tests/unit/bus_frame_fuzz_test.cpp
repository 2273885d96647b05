// Seeded mutation fuzzing of the bus frame decoder and of the transport's receive side
// (fragment reassembly, acks, sessions), under ASan and UBSan.
//
// Decoder: 200,000 mutants of valid frames (bit flips, field rewrites with edge values,
// truncation, appended bytes). decode_frame must return; every frame it accepts is
// re-checked here, independently: its length is exactly header + payload + tag, its
// payload lies inside it, and a data frame's fragment fields agree with its message
// length.
//
// Transport: a receiver whose MAC accepts everything (an attacker holding the cluster
// key, the worst case) is fed a real session's frames mixed with mutants of them. It must
// survive, and every message it delivers must be within kMaxMessage.
#include <catch2/catch.hpp>
#include <servers/bus/portable/transport.h>

#include <cstring>
#include <random>
#include <vector>

using namespace tern::bus;

namespace {

class AcceptAll final : public FrameAuth {
public:
    void sign(base::Span<const uint8_t>, uint8_t tag[kTagSize]) override {
        std::memset(tag, 0x5A, kTagSize);
    }
    bool verify(base::Span<const uint8_t>, base::Span<const uint8_t>) override { return true; }
};

std::vector<uint8_t> valid_frame(std::mt19937_64& rng) {
    FrameHeader h;
    h.kind = FrameKind(1 + rng() % 4);
    h.source = uint16_t(1 + rng() % 4);
    h.destination = uint16_t(1 + rng() % 4);
    h.sequence = uint32_t(rng());
    h.ack = uint32_t(rng());
    size_t payload = 0;
    if (h.kind == FrameKind::kData) {
        h.message_length = uint32_t(rng() % (kMaxMessage + 1));
        h.fragment_count = uint16_t(
            h.message_length == 0 ? 1 : (h.message_length + kMaxPayload - 1) / kMaxPayload);
        h.fragment_index = uint16_t(rng() % h.fragment_count);
        size_t before = size_t(h.fragment_index) * kMaxPayload;
        payload = std::min<size_t>(kMaxPayload, h.message_length - before);
    }
    std::vector<uint8_t> p(payload, uint8_t(rng()));
    std::vector<uint8_t> out(kMaxFrame);
    out.resize(encode_frame(h, base::Span<const uint8_t>(p.data(), p.size()),
                            base::Span<uint8_t>(out.data(), out.size())));
    return out;
}

void mutate(std::vector<uint8_t>& f, std::mt19937_64& rng) {
    static const uint32_t kEdges[] = {0,
                                      1,
                                      0xFF,
                                      0xFFFF,
                                      0xFFFFFFFF,
                                      0x7FFFFFFF,
                                      uint32_t(kMaxPayload),
                                      uint32_t(kMaxMessage),
                                      uint32_t(kMaxMessage + 1),
                                      uint32_t(kMaxFragments)};
    switch (rng() % 5) {
    case 0:
        if (!f.empty())
            f[rng() % f.size()] ^= uint8_t(1u << (rng() % 8));
        break;
    case 1: { // rewrite a header field with an edge value
        size_t at = (rng() % 12) * 4;
        uint32_t v = kEdges[rng() % (sizeof(kEdges) / sizeof(kEdges[0]))];
        for (int i = 0; i < 4 && at + i < f.size(); ++i)
            f[at + i] = uint8_t(v >> (8 * i));
        break;
    }
    case 2:
        f.resize(rng() % (f.size() + 1));
        break;
    case 3:
        f.resize(f.size() + 1 + rng() % 64, uint8_t(rng()));
        break;
    default: { // a 16-bit field
        size_t at = 28 + (rng() % 4) * 2;
        uint16_t v = uint16_t(kEdges[rng() % (sizeof(kEdges) / sizeof(kEdges[0]))]);
        if (at + 1 < f.size()) {
            f[at] = uint8_t(v);
            f[at + 1] = uint8_t(v >> 8);
        }
        break;
    }
    }
}

} // namespace

TEST_CASE("bus frame decoder: 200,000 mutants, every acceptance re-checked") {
    std::mt19937_64 rng(20261205);
    size_t accepted = 0;
    for (int i = 0; i < 200000; ++i) {
        std::vector<uint8_t> f = valid_frame(rng);
        int mutations = 1 + int(rng() % 3);
        for (int m = 0; m < mutations; ++m)
            mutate(f, rng);
        DecodedFrame d;
        FrameProblem problem;
        if (!decode_frame(base::Span<const uint8_t>(f.data(), f.size()), d, problem)) {
            REQUIRE(problem != FrameProblem::kNone);
            continue;
        }
        ++accepted;
        REQUIRE(f.size() == kHeaderSize + d.payload.size() + kTagSize);
        REQUIRE(d.payload.data() == f.data() + kHeaderSize);
        REQUIRE(d.tag.data() + kTagSize == f.data() + f.size());
        if (d.header.kind == FrameKind::kData) {
            REQUIRE(d.header.message_length <= kMaxMessage);
            REQUIRE(d.header.fragment_index < d.header.fragment_count);
            size_t before = size_t(d.header.fragment_index) * kMaxPayload;
            REQUIRE(before + d.payload.size()
                    <= d.header.message_length + (d.header.message_length == 0));
        } else {
            REQUIRE(d.payload.size() == 0);
        }
    }
    CHECK(accepted > 1000); // the mutants reach the accepting paths too
}

TEST_CASE("bus transport: a key holder's garbage never breaks the receiver") {
    std::mt19937_64 rng(77);
    AcceptAll auth;
    for (int round = 0; round < 20; ++round) {
        Transport sender(1, 1, auth), receiver(2, 1, auth);
        uint64_t now = 0;
        for (int m = 0; m < 8; ++m) {
            std::vector<uint8_t> msg(rng() % 9000, uint8_t(m));
            (void)sender.send(2, base::Span<const uint8_t>(msg.data(), msg.size()), now);
        }
        std::vector<std::vector<uint8_t>> seen;
        for (int step = 0; step < 400; ++step) {
            OutFrame f;
            while (sender.pop_frame(f)) {
                std::vector<uint8_t> bytes(f.bytes, f.bytes + f.length);
                seen.push_back(bytes);
                receiver.on_frame(base::Span<const uint8_t>(bytes.data(), bytes.size()), now);
            }
            // Replays and mutants of frames seen so far.
            for (int k = 0; k < 4 && !seen.empty(); ++k) {
                std::vector<uint8_t> x = seen[rng() % seen.size()];
                if (rng() % 2)
                    mutate(x, rng);
                receiver.on_frame(base::Span<const uint8_t>(x.data(), x.size()), now);
            }
            while (receiver.pop_frame(f))
                sender.on_frame(base::Span<const uint8_t>(f.bytes, f.length), now);
            Event e;
            while (receiver.pop_event(e))
                if (e.kind == EventKind::kDelivered)
                    REQUIRE(e.data.size() <= kMaxMessage);
            while (sender.pop_event(e)) {
            }
            now += 3'000'000;
            sender.on_tick(now);
            receiver.on_tick(now);
        }
    }
}

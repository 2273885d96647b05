// Seeded mutation fuzzing of the remote message decoder (servers/bus/portable/remote.h),
// under ASan and UBSan: 300,000 mutants of valid messages of every kind (bit flips, field
// rewrites with edge values, truncation, appended bytes, spliced lengths). decode_remote
// must return; every message it accepts must encode back to exactly the bytes it came
// from (the layout has one spelling per message), and its data and contents must lie
// inside them.
#include <catch2/catch.hpp>
#include <servers/bus/portable/remote.h>

#include <cstring>
#include <random>
#include <vector>

using namespace tern::bus;

namespace {

uint64_t random_port(std::mt19937_64& rng) {
    return global_port_id(uint16_t(1 + rng() % 8), 1 + rng() % 40);
}

std::vector<uint8_t> valid_message(std::mt19937_64& rng) {
    RemoteMessage m;
    static const BusMessageKind kKinds[] = {BusMessageKind::kSend, BusMessageKind::kCall,
                                            BusMessageKind::kReply, BusMessageKind::kPortGone,
                                            kCreditKind};
    m.kind = kKinds[rng() % 5];
    m.label = uint32_t(rng());
    for (uint64_t& w : m.words)
        w = rng() % 3 == 0 ? 0 : rng();
    std::vector<uint8_t> data(rng() % 3 == 0 ? 0 : rng() % 2000, uint8_t(rng()));
    std::vector<uint8_t> memory[kRemoteMaxHandles];
    bool carries = true;
    switch (m.kind) {
    case BusMessageKind::kSend:
        m.target = random_port(rng);
        break;
    case BusMessageKind::kCall:
        m.target = random_port(rng);
        m.call_id = 1 + rng();
        break;
    case BusMessageKind::kReply:
        m.call_id = 1 + rng() % 1000;
        if (rng() % 4 == 0) {
            m.status = base::Error(1 + rng() % (base::kErrorCount - 1));
            carries = false;
        }
        break;
    default:
        m.target = random_port(rng);
        carries = false;
        if (m.kind == kCreditKind) {
            m.label = 0;
            for (uint64_t& w : m.words)
                w = 0;
            m.words[0] = 1 + rng() % kSendWindow;
        }
        break;
    }
    if (carries) {
        m.data = base::Span<const uint8_t>(data.data(), data.size());
        uint32_t limit =
            m.kind == BusMessageKind::kCall ? kRemoteMaxHandles - 1 : kRemoteMaxHandles;
        m.handle_count = uint32_t(rng() % (limit + 1));
        for (uint32_t i = 0; i < m.handle_count; ++i) {
            if (rng() % 2) {
                m.handles[i].kind = RemoteHandleKind::kPort;
                m.handles[i].port_id = random_port(rng);
            } else {
                m.handles[i].kind = RemoteHandleKind::kMemory;
                memory[i].assign(1 + rng() % 600, uint8_t(rng()));
                m.handles[i].contents =
                    base::Span<const uint8_t>(memory[i].data(), memory[i].size());
            }
        }
    }
    std::vector<uint8_t> out(kMaxMessage);
    auto r = encode_remote(m, base::Span<uint8_t>(out.data(), out.size()));
    REQUIRE(r.ok());
    out.resize(r.value());
    return out;
}

void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    for (size_t i = 0; i < 4 && at + i < b.size(); ++i)
        b[at + i] = uint8_t(v >> (8 * i));
}

void mutate(std::vector<uint8_t>& b, std::mt19937_64& rng) {
    static const uint32_t kEdges[] = {0,
                                      1,
                                      2,
                                      7,
                                      8,
                                      9,
                                      0xFF,
                                      0xFFFF,
                                      65536,
                                      65537,
                                      uint32_t(kMaxMessage),
                                      0x7FFFFFFF,
                                      0x80000000,
                                      0xFFFFFFFF};
    int rounds = 1 + int(rng() % 4);
    for (int r = 0; r < rounds; ++r) {
        switch (rng() % 6) {
        case 0: // bit flip anywhere
            if (!b.empty())
                b[rng() % b.size()] ^= uint8_t(1u << (rng() % 8));
            break;
        case 1: { // a length-like field of the header or a handle entry to an edge value
            static const size_t kFields[] = {0, 2, 24, 28, 100, 116, 132, 148};
            size_t at = kFields[rng() % 8];
            uint32_t v = kEdges[rng() % (sizeof(kEdges) / sizeof(kEdges[0]))];
            if (at == 0 || at == 2) {
                if (at < b.size())
                    b[at] = uint8_t(v);
            } else {
                put32(b, at, v);
            }
            break;
        }
        case 2: // truncate
            b.resize(b.empty() ? 0 : rng() % b.size());
            break;
        case 3: // append
            b.insert(b.end(), 1 + rng() % 40, uint8_t(rng()));
            break;
        case 4: // a byte to a random value
            if (!b.empty())
                b[rng() % b.size()] = uint8_t(rng());
            break;
        default: // a 64-bit field (target, call id, a port id) to zero or all ones
            if (b.size() >= 24) {
                static const size_t kIds[] = {8, 16, 104, 120, 136};
                size_t at = kIds[rng() % 5];
                uint8_t fill = rng() % 2 ? 0 : 0xFF;
                for (size_t i = 0; i < 8 && at + i < b.size(); ++i)
                    b[at + i] = fill;
            }
            break;
        }
    }
}

} // namespace

TEST_CASE("remote message decoder survives mutants and accepts only canonical messages") {
    std::mt19937_64 rng(20261206);
    size_t accepted = 0;
    size_t refused = 0;
    std::vector<uint8_t> again(kMaxMessage);
    for (int i = 0; i < 300'000; ++i) {
        std::vector<uint8_t> b = valid_message(rng);
        if (i % 10 != 0) // one in ten stays valid: the accepting path is exercised too
            mutate(b, rng);
        RemoteMessage m;
        auto r = decode_remote(base::Span<const uint8_t>(b.data(), b.size()), m);
        if (!r.ok()) {
            REQUIRE(r.error() == base::Error::CORRUPT);
            ++refused;
            continue;
        }
        ++accepted;
        const uint8_t* begin = b.data();
        const uint8_t* end = b.data() + b.size();
        REQUIRE(m.handle_count <= kRemoteMaxHandles);
        REQUIRE((m.data.size() == 0
                 || (m.data.data() >= begin && m.data.data() + m.data.size() <= end)));
        for (uint32_t h = 0; h < m.handle_count; ++h) {
            base::Span<const uint8_t> c = m.handles[h].contents;
            REQUIRE((c.size() == 0 || (c.data() >= begin && c.data() + c.size() <= end)));
        }
        auto e = encode_remote(m, base::Span<uint8_t>(again.data(), again.size()));
        REQUIRE(e.ok());
        REQUIRE(e.value() == b.size());
        REQUIRE(std::memcmp(again.data(), b.data(), b.size()) == 0);
    }
    // Both paths were taken in bulk.
    CHECK(accepted > 30'000);
    CHECK(refused > 100'000);
}

// Host tests for the e1000 driver's descriptor rings (drivers/net/e1000/portable) against
// a simulated device that follows the 82540EM's rules: it owns the slots from its head to
// the driver's tail, writes frames into the buffers those slots name and sets DD/EOP, and
// sends what the transmit ring holds. Checked: ownership (the device never touches a slot
// the driver owns, every buffer is in one place), wrap-around over many laps, and a
// device reporting bad lengths or status (counted, dropped, buffer reused).

#include <catch2/catch.hpp>

#include <drivers/net/e1000/portable/rings.h>

#include <cstring>
#include <random>
#include <set>
#include <vector>

using e1000::RxDescriptor;
using e1000::TxDescriptor;
using tern::nic::Descriptor;
using tern::nic::kBufferSize;

namespace {

constexpr uint64_t kBase = 0x100000; // the buffers' "device address"
constexpr uint32_t kMaxFrame = 1514;

struct SimRx {
    std::vector<RxDescriptor> ring;
    std::vector<uint8_t> memory; // the buffers, at kBase
    uint32_t head = 0;

    SimRx(uint32_t size, uint32_t buffers) : ring(size), memory(buffers * kBufferSize) {}

    // Delivers one frame if the device owns a slot (head != tail); false otherwise.
    bool deliver(uint32_t tail, uint16_t length, uint8_t fill, uint8_t status = 3,
                 uint8_t errors = 0) {
        if (head == tail)
            return false;
        RxDescriptor& d = ring[head];
        REQUIRE(d.status == 0);
        REQUIRE(d.address >= kBase);
        uint64_t offset = d.address - kBase;
        REQUIRE(offset % kBufferSize == 0);
        REQUIRE(offset + kBufferSize <= memory.size());
        std::memset(&memory[offset], fill, std::min<size_t>(length, kBufferSize));
        d.length = length;
        d.errors = errors;
        d.status = status;
        head = (head + 1) % uint32_t(ring.size());
        return true;
    }
};

} // namespace

TEST_CASE("receive: frames come back in order with their buffers; wrap-around over laps") {
    constexpr uint32_t kSize = 16, kBuffers = 8;
    SimRx dev(kSize, kBuffers);
    auto ring = std::make_unique<e1000::RxRing>();
    REQUIRE(ring->init(dev.ring.data(), kSize, kBase, kMaxFrame));
    for (uint16_t i = 0; i < kBuffers; ++i)
        REQUIRE(ring->post(i));
    e1000::RxCounters c;
    uint64_t delivered = 0;
    for (int lap = 0; lap < 50; ++lap) {
        // The device fills what it owns, then stops at the tail.
        uint32_t n = 0;
        while (dev.deliver(ring->tail(), uint16_t(60 + lap), uint8_t(lap)))
            ++n;
        REQUIRE(n == kBuffers);
        REQUIRE(ring->ready());
        Descriptor out[32];
        size_t got = ring->harvest({out, 32}, c);
        REQUIRE(got == kBuffers);
        REQUIRE_FALSE(ring->ready());
        std::set<uint16_t> seen;
        for (size_t i = 0; i < got; ++i) {
            REQUIRE(out[i].length == 60 + lap);
            REQUIRE(out[i].index < kBuffers);
            REQUIRE(seen.insert(out[i].index).second);
            REQUIRE(dev.memory[out[i].index * kBufferSize] == uint8_t(lap));
        }
        delivered += got;
        // The stack hands the buffers back, in another order.
        for (auto it = seen.rbegin(); it != seen.rend(); ++it)
            REQUIRE(ring->post(*it));
    }
    CHECK(c.frames == delivered);
    CHECK(c.errors + c.runts + c.oversize == 0);
}

TEST_CASE("receive: the ring keeps one slot free and refuses a post beyond it") {
    SimRx dev(8, 16);
    auto ring = std::make_unique<e1000::RxRing>();
    REQUIRE(ring->init(dev.ring.data(), 8, kBase, kMaxFrame));
    for (uint16_t i = 0; i < 7; ++i)
        REQUIRE(ring->post(i));
    CHECK_FALSE(ring->post(7));
    CHECK(ring->posted() == 7);
    e1000::RxRing bad;
    CHECK_FALSE(bad.init(dev.ring.data(), 12, kBase, kMaxFrame));
    CHECK_FALSE(bad.init(dev.ring.data(), 0, kBase, kMaxFrame));
}

TEST_CASE("receive: bad lengths and status are counted and dropped; the buffer is reused") {
    SimRx dev(16, 8);
    auto ring = std::make_unique<e1000::RxRing>();
    REQUIRE(ring->init(dev.ring.data(), 16, kBase, kMaxFrame));
    for (uint16_t i = 0; i < 8; ++i)
        REQUIRE(ring->post(i));
    REQUIRE(dev.deliver(ring->tail(), 10, 1));           // runt
    REQUIRE(dev.deliver(ring->tail(), 1600, 2));         // oversize
    REQUIRE(dev.deliver(ring->tail(), 0xFFFF, 3));       // absurd
    REQUIRE(dev.deliver(ring->tail(), 100, 4, 3, 0x01)); // CRC error
    REQUIRE(dev.deliver(ring->tail(), 100, 5, 1));       // DD without EOP
    REQUIRE(dev.deliver(ring->tail(), 64, 6));           // good
    e1000::RxCounters c;
    Descriptor out[8];
    size_t got = ring->harvest({out, 8}, c);
    REQUIRE(got == 1);
    CHECK(out[0].length == 64);
    CHECK(c.runts == 1);
    CHECK(c.oversize == 2);
    CHECK(c.errors == 2);
    CHECK(c.frames == 1);
    // The five dropped buffers went back to the device: it owns 7 slots again.
    CHECK(ring->posted() == 7);
    uint32_t more = 0;
    while (dev.deliver(ring->tail(), 64, 7))
        ++more;
    CHECK(more == 7);
}

TEST_CASE("receive: harvest stops at the caller's room and resumes") {
    SimRx dev(16, 8);
    auto ring = std::make_unique<e1000::RxRing>();
    REQUIRE(ring->init(dev.ring.data(), 16, kBase, kMaxFrame));
    for (uint16_t i = 0; i < 8; ++i)
        REQUIRE(ring->post(i));
    while (dev.deliver(ring->tail(), 64, 0)) {
    }
    e1000::RxCounters c;
    Descriptor out[3];
    CHECK(ring->harvest({out, 3}, c) == 3);
    CHECK(ring->harvest({out, 3}, c) == 3);
    CHECK(ring->harvest({out, 3}, c) == 2);
    CHECK(ring->harvest({out, 3}, c) == 0);
}

TEST_CASE("transmit: submit, device completion, reclaim in order; full ring; bad lengths") {
    constexpr uint32_t kSize = 8;
    std::vector<TxDescriptor> mem(kSize);
    auto ring = std::make_unique<e1000::TxRing>();
    REQUIRE(ring->init(mem.data(), kSize, kBase, kMaxFrame));
    e1000::TxCounters c;
    uint32_t device_head = 0;
    uint16_t next_buffer = 0;
    uint64_t sent = 0;
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        // The stack queues a few frames.
        uint32_t want = rng() % 5;
        for (uint32_t i = 0; i < want; ++i) {
            base::Error e = ring->submit({uint16_t(next_buffer % 32), 100}, c);
            if (e == base::Error::NO_SPACE) {
                CHECK(ring->in_flight() == kSize - 1);
                break;
            }
            REQUIRE(e == base::Error::OK);
            ++next_buffer;
        }
        // The device sends some of what it owns (head..tail).
        uint32_t budget = rng() % 4;
        while (budget-- && device_head != ring->tail()) {
            TxDescriptor& d = mem[device_head];
            REQUIRE(d.status == 0);
            REQUIRE(d.command & e1000::kCommandReportStatus);
            REQUIRE(d.length == 100);
            d.status = e1000::kStatusDone;
            device_head = (device_head + 1) % kSize;
        }
        uint16_t done[16];
        size_t n = ring->reclaim({done, 16}, c);
        for (size_t i = 0; i < n; ++i)
            REQUIRE(done[i] == uint16_t((sent + i) % 32));
        sent += n;
    }
    CHECK(c.frames == sent);
    CHECK(ring->submit({0, 13}, c) == base::Error::INVALID_ARGUMENT);
    CHECK(ring->submit({0, 1515}, c) == base::Error::INVALID_ARGUMENT);
    CHECK(c.refused == 2);
}

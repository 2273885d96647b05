// Host tests for the virtio PCI transport: the capability parser
// (drivers/virtio/portable/pci_capabilities.h) on configuration spaces shaped like QEMU's
// virtio-net-pci and on broken ones (legacy-only, loops, pointers out of the header, bad
// BARs, short structures, random bytes), and the transport (transport.h) against a
// simulated common configuration: reset, feature negotiation (VERSION_1 required), queue
// set-up with its checks, notification, and configuration reads across generations.

#include <catch2/catch.hpp>

#include <drivers/virtio/portable/pci_capabilities.h>
#include <drivers/virtio/portable/transport.h>

#include <cstring>
#include <random>
#include <vector>

using base::Error;
using virtio::BarInfo;
using virtio::PciLayout;

namespace {

struct FakeConfig final : virtio::ConfigSpace {
    uint8_t bytes[256] = {};
    int reads = 0;
    int fail_after = -1;

    base::Result<uint32_t> read(uint16_t offset, uint8_t width) override {
        if (fail_after >= 0 && reads++ >= fail_after)
            return Error::PEER_CLOSED;
        REQUIRE(offset + width <= 256);
        REQUIRE(offset % width == 0);
        uint32_t v = 0;
        std::memcpy(&v, bytes + offset, width);
        return v;
    }
    void put8(uint16_t at, uint8_t v) { bytes[at] = v; }
    void put32(uint16_t at, uint32_t v) { std::memcpy(bytes + at, &v, 4); }

    // A virtio_pci_cap at `at`, linked to `next`.
    void virtio_cap(uint8_t at, uint8_t next, uint8_t type, uint8_t bar, uint32_t offset,
                    uint32_t length, uint8_t cap_length = 16) {
        put8(at, 0x09);
        put8(at + 1, next);
        put8(at + 2, cap_length);
        put8(at + 3, type);
        put8(at + 4, bar);
        put32(at + 8, offset);
        put32(at + 12, length);
    }
};

// The layout QEMU gives virtio-net-pci: an MSI-X capability, then the common, ISR,
// device, notify (multiplier 4) and PCI-config structures, all in BAR 4 (16 KiB).
FakeConfig qemu_like() {
    FakeConfig c;
    c.put8(0x06, 0x10); // status: capability list
    c.put8(0x34, 0x98);
    c.put8(0x98, 0x11); // MSI-X
    c.put8(0x99, 0x84);
    c.virtio_cap(0x84, 0x70, 5, 0, 0, 0, 20); // PCI config access: ignored
    c.virtio_cap(0x70, 0x60, 2, 4, 0x3000, 0x1000, 20);
    c.put32(0x70 + 16, 4);
    c.virtio_cap(0x60, 0x50, 4, 4, 0x2000, 0x1000);
    c.virtio_cap(0x50, 0x40, 3, 4, 0x1000, 0x1000);
    c.virtio_cap(0x40, 0x00, 1, 4, 0x0000, 0x1000);
    return c;
}

std::vector<BarInfo> qemu_bars() {
    std::vector<BarInfo> bars(6, BarInfo{0, false});
    bars[0] = {0x20, false};  // legacy I/O
    bars[1] = {0x1000, true}; // MSI-X table
    bars[4] = {0x4000, true};
    return bars;
}

} // namespace

TEST_CASE("virtio pci: QEMU's layout parses") {
    FakeConfig c = qemu_like();
    auto bars = qemu_bars();
    const char* why = nullptr;
    auto layout = virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why);
    REQUIRE(layout.ok());
    const PciLayout& l = layout.value();
    CHECK(l.common.present);
    CHECK(l.common.bar == 4);
    CHECK(l.common.offset == 0);
    CHECK(l.isr.offset == 0x1000);
    CHECK(l.device.offset == 0x2000);
    CHECK(l.notify.offset == 0x3000);
    CHECK(l.notify_multiplier == 4);
}

TEST_CASE("virtio pci: a legacy-only device is refused with a reason") {
    auto bars = qemu_bars();
    const char* why = nullptr;
    SECTION("no capability list") {
        FakeConfig c;
        auto r = virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why);
        CHECK(r.error() == Error::NOT_SUPPORTED);
    }
    SECTION("capabilities, none of them virtio's") {
        FakeConfig c;
        c.put8(0x06, 0x10);
        c.put8(0x34, 0x40);
        c.put8(0x40, 0x11);
        auto r = virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why);
        CHECK(r.error() == Error::NOT_SUPPORTED);
    }
    REQUIRE(why != nullptr);
    CHECK(std::strstr(why, "legacy") != nullptr);
}

TEST_CASE("virtio pci: a broken capability list is refused") {
    auto bars = qemu_bars();
    const char* why = nullptr;
    SECTION("a loop") {
        FakeConfig c = qemu_like();
        c.put8(0x41, 0x84); // the last capability points back to an earlier one
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::CORRUPT);
        CHECK(std::strstr(why, "loops") != nullptr);
    }
    SECTION("a pointer into the standard header") {
        FakeConfig c = qemu_like();
        c.put8(0x34, 0x10);
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::CORRUPT);
    }
    SECTION("a read that fails") {
        FakeConfig c = qemu_like();
        c.fail_after = 5;
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::PEER_CLOSED);
    }
}

TEST_CASE("virtio pci: unusable structures are skipped, the first usable one wins") {
    auto bars = qemu_bars();
    const char* why = nullptr;
    SECTION("a reserved BAR, then a good one") {
        FakeConfig c = qemu_like();
        // Put a bad common structure first in the chain: 0x98 -> 0xA8 (bad) -> 0x84 ...
        c.put8(0x99, 0xA8);
        c.virtio_cap(0xA8, 0x84, 1, 7, 0, 0x1000);
        auto r = virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why);
        REQUIRE(r.ok());
        CHECK(r.value().common.bar == 4);
    }
    SECTION("a structure past its BAR's end") {
        FakeConfig c = qemu_like();
        c.virtio_cap(0x40, 0x00, 1, 4, 0x3800, 0x1000);
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::CORRUPT);
    }
    SECTION("an offset that overflows 32 bits") {
        FakeConfig c = qemu_like();
        c.virtio_cap(0x40, 0x00, 1, 4, 0xFFFFF000u, 0x2000);
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::CORRUPT);
    }
    SECTION("an I/O or unused BAR") {
        FakeConfig c = qemu_like();
        c.virtio_cap(0x40, 0x00, 1, 0, 0, 0x10);
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::CORRUPT);
        c.virtio_cap(0x40, 0x00, 1, 2, 0, 0x40);
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::CORRUPT);
    }
    SECTION("a common structure too short to hold the queue registers") {
        FakeConfig c = qemu_like();
        c.virtio_cap(0x40, 0x00, 1, 4, 0, 0x20);
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::CORRUPT);
    }
    SECTION("a notify capability without its multiplier, or an odd one") {
        FakeConfig c = qemu_like();
        c.put8(0x70 + 2, 16);
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::CORRUPT);
        c.put8(0x70 + 2, 20);
        c.put32(0x70 + 16, 3);
        CHECK(virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why).error()
              == Error::CORRUPT);
    }
    SECTION("the device structure is optional") {
        FakeConfig c = qemu_like();
        c.put8(0x61, 0x50);
        c.put8(0x71, 0x50); // notify -> ISR, skipping the device structure
        auto r = virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why);
        REQUIRE(r.ok());
        CHECK_FALSE(r.value().device.present);
    }
}

TEST_CASE("virtio pci: random configuration space never escapes the BARs") {
    std::mt19937 random(99);
    auto bars = qemu_bars();
    int parsed = 0;
    for (int trial = 0; trial < 20000; ++trial) {
        FakeConfig c = qemu_like();
        // Flip a few bytes of the capability area, or fill it at random.
        int flips = trial % 4 == 0 ? 192 : 1 + int(random() % 6);
        for (int i = 0; i < flips; ++i)
            c.bytes[0x34 + random() % (256 - 0x34)] = uint8_t(random());
        const char* why = nullptr;
        auto r = virtio::parse_capabilities(c, {bars.data(), bars.size()}, &why);
        if (r.is_error()) {
            REQUIRE(why != nullptr);
            continue;
        }
        ++parsed;
        for (const virtio::Region* region :
             {&r.value().common, &r.value().notify, &r.value().isr, &r.value().device}) {
            if (!region->present)
                continue;
            REQUIRE(region->bar < 6);
            REQUIRE(bars[region->bar].memory);
            REQUIRE(uint64_t(region->offset) + region->length <= bars[region->bar].size);
        }
        REQUIRE(r.value().common.length >= virtio::kCommonConfigSize);
    }
    CHECK(parsed > 0);
}

// ---- the transport ----------------------------------------------------------------------

namespace {

// A register block over bytes, with hooks for the common configuration's behaviour.
struct Block final : virtio::Window {
    std::vector<uint8_t> bytes;
    std::function<void(uint32_t, uint32_t, int)> on_write;
    std::function<void(uint32_t)> on_read;
    explicit Block(size_t size) : bytes(size) {}
    template<typename T>
    T get(uint32_t at) {
        if (on_read)
            on_read(at);
        T v;
        std::memcpy(&v, bytes.data() + at, sizeof(T));
        return v;
    }
    template<typename T>
    void put(uint32_t at, T v) {
        REQUIRE(at + sizeof(T) <= bytes.size());
        std::memcpy(bytes.data() + at, &v, sizeof(T));
        if (on_write)
            on_write(at, uint32_t(v), int(sizeof(T)));
    }
    uint8_t read8(uint32_t at) override { return get<uint8_t>(at); }
    uint16_t read16(uint32_t at) override { return get<uint16_t>(at); }
    uint32_t read32(uint32_t at) override { return get<uint32_t>(at); }
    void write8(uint32_t at, uint8_t v) override { put(at, v); }
    void write16(uint32_t at, uint16_t v) override { put(at, v); }
    void write32(uint32_t at, uint32_t v) override { put(at, v); }
};

using namespace virtio::common;

// A simulated device behind the common configuration: features, status, two queues.
struct SimDevice {
    Block common{0x40};
    Block notify{0x100};
    Block isr{4};
    Block device{0x20};
    uint64_t features = virtio::kFeatureVersion1 | (1u << 5) | (1u << 16);
    uint64_t driver_features = 0;
    uint16_t queue_max[2] = {256, 256};
    uint16_t notify_off[2] = {0, 1};
    bool accept_features = true;
    bool stuck_reset = false;
    bool refuse_vectors = false;
    uint16_t vectors[2] = {virtio::kNoVector, virtio::kNoVector};
    uint64_t rings[2][3] = {};
    bool enabled[2] = {};
    uint32_t select = 0;
    uint32_t driver_select = 0;

    SimDevice() {
        common.put<uint16_t>(kNumQueues, 2);
        common.on_write = [this](uint32_t at, uint32_t v, int) { write(at, v); };
    }
    uint16_t queue() { return common.get<uint16_t>(kQueueSelect); }
    void write(uint32_t at, uint32_t v) {
        switch (at) {
        case kDeviceFeatureSelect:
            select = v;
            std::memcpy(common.bytes.data() + kDeviceFeature,
                        &reinterpret_cast<uint32_t*>(&features)[v & 1], 4);
            break;
        case kDriverFeatureSelect:
            driver_select = v;
            break;
        case kDriverFeature:
            reinterpret_cast<uint32_t*>(&driver_features)[driver_select & 1] = v;
            break;
        case kDeviceStatus:
            if (v == 0 && stuck_reset)
                common.bytes[kDeviceStatus] = 1;
            if ((v & virtio::kStatusFeaturesOk) && !accept_features)
                common.bytes[kDeviceStatus] = uint8_t(v & ~virtio::kStatusFeaturesOk);
            break;
        case kQueueSelect:
            if (v < 2) {
                common.bytes[kQueueSize] = uint8_t(queue_max[v]);
                common.bytes[kQueueSize + 1] = uint8_t(queue_max[v] >> 8);
                std::memcpy(common.bytes.data() + kQueueNotifyOff, &notify_off[v], 2);
            } else {
                common.bytes[kQueueSize] = common.bytes[kQueueSize + 1] = 0;
            }
            break;
        case kQueueMsixVector:
            if (refuse_vectors)
                std::memset(common.bytes.data() + kQueueMsixVector, 0xFF, 2);
            else if (queue() < 2)
                vectors[queue()] = uint16_t(v);
            break;
        case kQueueEnable:
            enabled[queue()] = v == 1;
            for (int i = 0; i < 3; ++i)
                std::memcpy(&rings[queue()][i], common.bytes.data() + kQueueDesc + 8 * i, 8);
            break;
        default:
            break;
        }
    }
    virtio::Transport transport(uint32_t multiplier = 4) {
        return virtio::Transport(common, notify, uint32_t(notify.bytes.size()), multiplier, isr,
                                 &device, uint32_t(device.bytes.size()));
    }
};

} // namespace

TEST_CASE("virtio transport: reset, negotiation and queue set-up in the spec's order") {
    SimDevice d;
    auto t = d.transport();
    REQUIRE(t.reset().ok());
    auto features = t.negotiate((1u << 5) | (1u << 7));
    REQUIRE(features.ok());
    // Only what both want: MAC and VERSION_1, not STATUS (unasked) or bit 7 (unoffered).
    CHECK(features.value() == (virtio::kFeatureVersion1 | (1u << 5)));
    CHECK(d.driver_features == features.value());
    CHECK((t.status() & virtio::kStatusFeaturesOk) != 0);
    CHECK(t.queue_max_size(0).value() == 256);
    CHECK(t.queue_max_size(2).error() == Error::NOT_FOUND);
    REQUIRE(t.enable_queue(1, 128, 0x1000, 0x2000, 0x3000, 1).ok());
    CHECK(d.enabled[1]);
    CHECK(d.rings[1][0] == 0x1000);
    CHECK(d.rings[1][1] == 0x2000);
    CHECK(d.rings[1][2] == 0x3000);
    CHECK(d.vectors[1] == 1);
    CHECK(d.common.get<uint16_t>(kQueueSize) == 128);
    // Queue 1's notification goes to notify_off 1 * multiplier 4.
    t.notify(1);
    CHECK(d.notify.get<uint16_t>(4) == 1);
    // A queue never enabled is not notified.
    d.notify.bytes.assign(d.notify.bytes.size(), 0);
    t.notify(0);
    t.notify(3);
    CHECK(d.notify.get<uint16_t>(0) == 0);
    t.driver_ok();
    CHECK((t.status() & virtio::kStatusDriverOk) != 0);
}

TEST_CASE("virtio transport: a device without VERSION_1 is refused and marked failed") {
    SimDevice d;
    d.features = 1u << 5;
    auto t = d.transport();
    REQUIRE(t.reset().ok());
    CHECK(t.negotiate(1u << 5).error() == Error::NOT_SUPPORTED);
    CHECK(std::strstr(t.why(), "VERSION_1") != nullptr);
    CHECK((t.status() & virtio::kStatusFailed) != 0);
}

TEST_CASE("virtio transport: what the device refuses or gets wrong is an error") {
    SimDevice d;
    SECTION("FEATURES_OK not kept") {
        d.accept_features = false;
        auto t = d.transport();
        CHECK(t.negotiate(0).error() == Error::NOT_SUPPORTED);
    }
    SECTION("a reset that never finishes") {
        d.stuck_reset = true;
        auto t = d.transport();
        CHECK(t.reset().error() == Error::TIMED_OUT);
    }
    SECTION("queue sizes") {
        auto t = d.transport();
        CHECK(t.enable_queue(0, 512, 0, 0, 0, virtio::kNoVector).error()
              == Error::INVALID_ARGUMENT);
        CHECK(t.enable_queue(0, 96, 0, 0, 0, virtio::kNoVector).error() == Error::INVALID_ARGUMENT);
        d.queue_max[0] = 0;
        CHECK(t.enable_queue(0, 64, 0, 0, 0, virtio::kNoVector).error() == Error::NOT_FOUND);
    }
    SECTION("a vector the device does not take") {
        d.refuse_vectors = true;
        auto t = d.transport();
        CHECK(t.enable_queue(0, 64, 0, 0, 0, 0).error() == Error::NOT_SUPPORTED);
        CHECK_FALSE(d.enabled[0]);
    }
    SECTION("a notification offset outside the notify structure") {
        d.notify_off[1] = 0x40; // 0x40 * 4 = 0x100: the block's end
        auto t = d.transport();
        CHECK(t.enable_queue(1, 64, 0, 0, 0, virtio::kNoVector).error() == Error::OUT_OF_RANGE);
        CHECK_FALSE(d.enabled[1]);
    }
}

TEST_CASE("virtio transport: configuration reads see one generation") {
    SimDevice d;
    auto t = d.transport();
    uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    std::memcpy(d.device.bytes.data(), mac, 6);
    // The generation moves during the first read: the read starts over.
    int generation_reads = 0;
    d.common.on_read = [&](uint32_t at) {
        if (at == kConfigGeneration && ++generation_reads == 2)
            d.common.bytes[kConfigGeneration]++;
    };
    uint8_t out[6];
    REQUIRE(t.read_config(0, {out, 6}).ok());
    CHECK(std::memcmp(out, mac, 6) == 0);
    CHECK(generation_reads == 4);
    // A generation that never settles.
    d.common.on_read = [&](uint32_t at) {
        if (at == kConfigGeneration)
            d.common.bytes[kConfigGeneration]++;
    };
    CHECK(t.read_config(0, {out, 6}).error() == Error::BUSY);
    d.common.on_read = nullptr;
    d.device.put<uint16_t>(6, 1);
    CHECK(t.read_config16(6).value() == 1);
    CHECK(t.read_config16(7).error() == Error::MISALIGNED);
    CHECK(t.read_config(0x1E, {out, 6}).error() == Error::OUT_OF_RANGE);
    CHECK(t.read_config16(0x20).error() == Error::OUT_OF_RANGE);
}

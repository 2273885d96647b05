// Host tests for the virtio-net driver's core (drivers/net/virtio_net/portable/net_core.h)
// between a simulated device (the device side of its two virtqueues) and a simulated
// network server (the NIC protocol's Sync messages): frames land in the buffer area where
// the server reads them, transmit buffers go to the device and come back, bad frames from
// the device are counted and their buffers posted again, a server's bad descriptors are
// refused, and in a long random exchange every buffer stays in exactly one place.

#include <catch2/catch.hpp>

#include "virtio_sim.h"

#include <drivers/net/virtio_net/portable/net_core.h>

#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

using base::Error;
using virtio_net::NetCore;
using virtio_sim::Chain;
using virtio_sim::DeviceQueue;
using virtio_sim::QueueMemory;
namespace nic = tern::nic;

namespace {

constexpr uint32_t kMaxFrame = 1514;

struct Rig {
    Rig(uint32_t rx_count, uint32_t tx_count, uint16_t queue_size)
        : geometry{rx_count, tx_count}, rx_memory(queue_size), tx_memory(queue_size),
          area(geometry.area_size()), headers(NetCore::header_area_size(geometry)),
          rx(std::make_unique<virtio::SplitQueue>()), tx(std::make_unique<virtio::SplitQueue>()),
          core(std::make_unique<NetCore>()) {
        REQUIRE(rx->init(rx_memory.data(), rx_memory.address(), queue_size).ok());
        REQUIRE(tx->init(tx_memory.data(), tx_memory.address(), queue_size).ok());
        rx_device = DeviceQueue(rx_memory.data(), queue_size);
        tx_device = DeviceQueue(tx_memory.data(), queue_size);
    }
    NetCore::Memory memory() {
        return {geometry,
                area.data(),
                uint64_t(uintptr_t(area.data())),
                headers.data(),
                uint64_t(uintptr_t(headers.data())),
                kMaxFrame};
    }
    void start() {
        auto kick = core->start(*rx, *tx, memory());
        REQUIRE(kick.ok());
        // The buffers are visible to the device without a further publish.
        CHECK(kick.value().receive);
        CHECK(rx_device.available_index() == geometry.rx_count);
    }
    uint8_t* rx_buffer(uint16_t i) { return area.data() + geometry.rx_offset(i); }
    uint8_t* tx_buffer(uint16_t i) { return area.data() + geometry.tx_offset(i); }
    // Which receive buffer a chain the device holds is.
    uint16_t rx_index_of(const Chain& c) {
        return uint16_t((c.parts.at(1).address - uint64_t(uintptr_t(area.data())))
                        / nic::kBufferSize);
    }
    // The device receives `frame` into the chain: header then frame, as QEMU writes it.
    void receive(const Chain& c, const std::vector<uint8_t>& frame, uint8_t gso = 0,
                 uint16_t num_buffers = 1, int32_t length_adjust = 0) {
        uint8_t* header = c.writable(0);
        std::memset(header, 0, virtio_net::kHeaderSize);
        header[virtio_net::kHeaderGsoType] = gso;
        std::memcpy(header + virtio_net::kHeaderNumBuffers, &num_buffers, 2);
        std::memcpy(c.writable(1), frame.data(), frame.size());
        rx_device.push(c.head,
                       uint32_t(int32_t(virtio_net::kHeaderSize + frame.size()) + length_adjust));
    }
    std::vector<Chain> device_rx_chains() {
        std::vector<Chain> out;
        Chain c;
        while (rx_device.pop(c))
            out.push_back(c);
        return out;
    }

    nic::Geometry geometry;
    QueueMemory rx_memory, tx_memory;
    std::vector<uint8_t> area, headers;
    std::unique_ptr<virtio::SplitQueue> rx, tx;
    DeviceQueue rx_device, tx_device;
    std::unique_ptr<NetCore> core;
};

std::vector<uint8_t> frame_of(size_t length, uint8_t seed) {
    std::vector<uint8_t> f(length);
    for (size_t i = 0; i < length; ++i)
        f[i] = uint8_t(seed + i * 7);
    return f;
}

nic::SyncResponse reply_of(std::vector<uint16_t> rx_free, std::vector<nic::Descriptor> tx) {
    nic::SyncResponse r{};
    (void)nic::encode_sync(r, {rx_free.data(), rx_free.size()}, {tx.data(), tx.size()});
    return r;
}

} // namespace

TEST_CASE("virtio-net core: start refuses queues too small for the buffers") {
    Rig rig(64, 64, 64); // 64 buffers need 128 descriptors
    CHECK(rig.core->start(*rig.rx, *rig.tx, rig.memory()).error() == Error::INVALID_ARGUMENT);
    Rig bad(8, 8, 64);
    auto m = bad.memory();
    m.max_frame = 4000;
    CHECK(bad.core->start(*bad.rx, *bad.tx, m).error() == Error::INVALID_ARGUMENT);
}

TEST_CASE("virtio-net core: every receive buffer is posted as header + buffer") {
    Rig rig(16, 16, 32);
    rig.start();
    auto chains = rig.device_rx_chains();
    REQUIRE(chains.size() == 16);
    std::set<uint16_t> seen;
    for (const Chain& c : chains) {
        REQUIRE(c.parts.size() == 2);
        CHECK(c.parts[0].length == virtio_net::kHeaderSize);
        CHECK(c.parts[0].device_writes);
        CHECK(c.parts[1].length == nic::kBufferSize);
        CHECK(c.parts[1].device_writes);
        uint16_t index = rig.rx_index_of(c);
        CHECK(c.parts[0].address
              == uint64_t(uintptr_t(rig.headers.data())) + index * virtio_net::kHeaderSlot);
        seen.insert(index);
    }
    CHECK(seen.size() == 16);
    CHECK_FALSE(rig.core->has_news());
}

TEST_CASE("virtio-net core: a received frame reaches the server in place and its buffer returns") {
    Rig rig(4, 4, 8);
    rig.start();
    auto chains = rig.device_rx_chains();
    auto frame = frame_of(60, 3);
    rig.receive(chains[2], frame);
    auto kick = rig.core->poll_device();
    CHECK_FALSE(kick.receive);
    REQUIRE(rig.core->has_news());
    nic::SyncRequest sync;
    rig.core->fill_sync(sync, 0x10002);
    CHECK(sync.nic == 0x10002);
    REQUIRE(sync.rx_count == 1);
    CHECK(sync.tx_done_count == 0);
    nic::Descriptor d = nic::unpack(sync.entries[0]);
    uint16_t index = rig.rx_index_of(chains[2]);
    CHECK(d.index == index);
    CHECK(d.length == 60);
    // Zero copies: the frame is where the device put it, at the buffer's start.
    CHECK(std::memcmp(rig.rx_buffer(index), frame.data(), frame.size()) == 0);
    rig.core->sync_done(sync);
    CHECK_FALSE(rig.core->has_news());
    bool more = true;
    kick = rig.core->take_reply(reply_of({index}, {}), &more);
    CHECK_FALSE(more);
    CHECK(kick.receive);
    auto again = rig.device_rx_chains();
    REQUIRE(again.size() == 1);
    CHECK(rig.rx_index_of(again[0]) == index);
    auto c = rig.core->counters();
    CHECK(c.rx_frames == 1);
    CHECK(c.rx_bytes == 60);
    CHECK(c.rx_errors == 0);
    // The buffer was handed back once; a second return is a lie.
    rig.core->take_reply(reply_of({index}, {}), &more);
    CHECK(rig.core->refused() == 1);
}

TEST_CASE("virtio-net core: bad frames from the device are counted and reposted") {
    Rig rig(8, 8, 16);
    rig.start();
    auto chains = rig.device_rx_chains();
    rig.receive(chains[0], frame_of(10, 1));              // a runt: under 14 bytes
    rig.receive(chains[1], frame_of(1600, 1));            // over MTU + header
    rig.receive(chains[2], frame_of(100, 1), 1);          // segmentation not negotiated
    rig.receive(chains[3], frame_of(100, 1), 0, 2);       // merged buffers not negotiated
    rig.receive(chains[4], frame_of(100, 1), 0, 1, 2000); // a length over the chain
    rig.rx_device.push(chains[5].head, 5);                // not even a whole header
    rig.receive(chains[6], frame_of(100, 1), 0, 0);       // num_buffers 0: accepted
    auto kick = rig.core->poll_device();
    CHECK(kick.receive);
    auto c = rig.core->counters();
    CHECK(c.rx_errors == 6);
    CHECK(c.rx_frames == 1);
    CHECK(rig.rx->faults().bad_length == 1);
    auto reposted = rig.device_rx_chains();
    CHECK(reposted.size() == 6);
    // Reposted headers are clean.
    for (const Chain& r : reposted)
        CHECK(r.writable(0)[virtio_net::kHeaderGsoType] == 0);
    nic::SyncRequest sync;
    rig.core->fill_sync(sync, 1);
    CHECK(sync.rx_count == 1);
}

TEST_CASE("virtio-net core: a frame from the server goes out and its buffer comes back") {
    Rig rig(4, 4, 8);
    rig.start();
    auto frame = frame_of(42, 9);
    std::memcpy(rig.tx_buffer(3), frame.data(), frame.size());
    bool more = false;
    nic::SyncResponse reply = reply_of({}, {{3, 42}});
    reply.flags = nic::kSyncMore;
    auto kick = rig.core->take_reply(reply, &more);
    CHECK(more);
    CHECK(kick.transmit);
    Chain c;
    REQUIRE(rig.tx_device.pop(c));
    REQUIRE(c.parts.size() == 2);
    CHECK_FALSE(c.parts[0].device_writes);
    CHECK(c.parts[0].length == virtio_net::kHeaderSize);
    // The header is all zero: no offloads.
    for (uint32_t i = 0; i < virtio_net::kHeaderSize; ++i)
        CHECK(c.writable(0)[i] == 0);
    CHECK_FALSE(c.parts[1].device_writes);
    CHECK(c.parts[1].length == 42);
    CHECK(c.parts[1].address == uint64_t(uintptr_t(rig.tx_buffer(3))));
    // The same buffer cannot be sent twice while the device has it.
    rig.core->take_reply(reply_of({}, {{3, 42}}), &more);
    CHECK(rig.core->refused() == 1);
    rig.tx_device.push(c.head, 0);
    CHECK_FALSE(rig.core->has_news());
    rig.core->poll_device();
    REQUIRE(rig.core->has_news());
    nic::SyncRequest sync;
    rig.core->fill_sync(sync, 1);
    CHECK(sync.rx_count == 0);
    REQUIRE(sync.tx_done_count == 1);
    CHECK(nic::unpack(sync.entries[0]).index == 3);
    rig.core->sync_done(sync);
    auto counters = rig.core->counters();
    CHECK(counters.tx_frames == 1);
    CHECK(counters.tx_bytes == 42);
}

TEST_CASE("virtio-net core: descriptors a server should not send are refused") {
    Rig rig(4, 4, 8);
    rig.start();
    bool more = false;
    SECTION("receive buffers the server never had") {
        rig.core->take_reply(reply_of({0, 4, 999}, {}), &more);
        CHECK(rig.core->refused() == 3);
        CHECK(rig.device_rx_chains().size() == 4);
    }
    SECTION("transmit buffers out of range") {
        auto kick = rig.core->take_reply(reply_of({}, {{4, 60}, {0xFFFF, 60}}), &more);
        CHECK_FALSE(kick.transmit);
        CHECK(rig.core->refused() == 2);
        CHECK(rig.core->counters().tx_errors == 2);
    }
    SECTION("lengths outside the NIC's: the buffer goes straight back") {
        rig.core->take_reply(reply_of({}, {{1, 13}, {2, 1515}}), &more);
        CHECK(rig.core->refused() == 2);
        Chain c;
        CHECK_FALSE(rig.tx_device.pop(c));
        nic::SyncRequest sync;
        rig.core->fill_sync(sync, 1);
        CHECK(sync.tx_done_count == 2);
    }
    SECTION("counts over the entries") {
        nic::SyncResponse r{};
        r.rx_free_count = 10;
        r.tx_count = 10;
        rig.core->take_reply(r, &more);
        CHECK(rig.core->refused() == 1);
        CHECK(std::string(rig.core->last_refusal()).find("counts") != std::string::npos);
    }
}

TEST_CASE("virtio-net core: a long random exchange keeps every buffer in one place") {
    std::mt19937 random(4242);
    Rig rig(32, 32, 64);
    rig.start();
    std::deque<Chain> device_rx, device_tx;
    std::vector<uint16_t> server_rx; // frames the server holds, to hand back
    std::set<uint16_t> server_tx;    // transmit buffers the server holds
    for (uint16_t i = 0; i < 32; ++i)
        server_tx.insert(i);
    std::map<uint16_t, uint8_t> sent_seed; // transmit buffer -> frame seed
    uint64_t delivered = 0, transmitted = 0;
    for (int step = 0; step < 20000; ++step) {
        Chain c;
        while (rig.rx_device.pop(c))
            device_rx.push_back(c);
        while (rig.tx_device.pop(c))
            device_tx.push_back(c);
        // The device receives some frames and finishes some sends, in any order.
        if (!device_rx.empty() && random() % 2) {
            size_t pick = random() % device_rx.size();
            Chain chain = device_rx[pick];
            device_rx.erase(device_rx.begin() + long(pick));
            size_t length = 14 + random() % 1501;
            rig.receive(chain, frame_of(length, uint8_t(step)));
        }
        if (!device_tx.empty() && random() % 2) {
            size_t pick = random() % device_tx.size();
            Chain chain = device_tx[pick];
            device_tx.erase(device_tx.begin() + long(pick));
            uint16_t index =
                uint16_t((chain.parts[1].address - uint64_t(uintptr_t(rig.tx_buffer(0))))
                         / nic::kBufferSize);
            auto expected = frame_of(chain.parts[1].length, sent_seed.at(index));
            REQUIRE(std::memcmp(rig.tx_buffer(index), expected.data(), expected.size()) == 0);
            rig.tx_device.push(chain.head, 0);
            ++transmitted;
        }
        rig.core->poll_device();
        // The driver syncs; the server takes frames, returns some buffers, sends some.
        if (rig.core->has_news() || random() % 4 == 0) {
            nic::SyncRequest sync;
            rig.core->fill_sync(sync, 1);
            REQUIRE(nic::check_sync(sync) == Error::OK);
            for (uint32_t i = 0; i < sync.rx_count; ++i) {
                nic::Descriptor d = nic::unpack(sync.entries[i]);
                REQUIRE(d.index < 32);
                REQUIRE(d.length >= 14);
                server_rx.push_back(d.index);
                ++delivered;
            }
            for (uint32_t i = sync.rx_count; i < uint32_t(sync.rx_count) + sync.tx_done_count;
                 ++i) {
                uint16_t index = nic::unpack(sync.entries[i]).index;
                REQUIRE(server_tx.insert(index).second); // never returned twice
            }
            rig.core->sync_done(sync);
            std::vector<uint16_t> back;
            while (!server_rx.empty() && back.size() < 7 && random() % 3 != 0) {
                back.push_back(server_rx.back());
                server_rx.pop_back();
            }
            std::vector<nic::Descriptor> out;
            while (!server_tx.empty() && out.size() < 7 && random() % 2) {
                uint16_t index = *server_tx.begin();
                server_tx.erase(server_tx.begin());
                uint16_t length = uint16_t(14 + random() % 1501);
                uint8_t seed = uint8_t(random());
                auto frame = frame_of(length, seed);
                std::memcpy(rig.tx_buffer(index), frame.data(), length);
                sent_seed[index] = seed;
                out.push_back({index, length});
            }
            bool more = false;
            rig.core->take_reply(reply_of(back, out), &more);
        }
        // Every receive buffer is with the device or the server or waiting in the driver;
        // every transmit buffer with the server, the device or waiting.
        REQUIRE(rig.rx->in_flight() + server_rx.size() <= 32);
        REQUIRE(rig.tx->in_flight() + server_tx.size() <= 32);
    }
    CHECK(rig.core->refused() == 0);
    CHECK(rig.core->counters().rx_errors == 0);
    CHECK(delivered > 1000);
    CHECK(transmitted > 1000);
    CHECK(rig.core->counters().rx_frames == delivered);
}

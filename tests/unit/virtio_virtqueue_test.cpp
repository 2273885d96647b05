// Host tests for the split virtqueue (drivers/virtio/portable/virtqueue.h) against a
// simulated device: the layout, chains as the device sees them, the free list, the 16-bit
// index wrap, interrupt and notification flags, and a device that lies: a used id out of
// range, the same id twice, a length beyond the chain, a used index that runs ahead. Each
// is counted and refused; the queue stays usable (or, for the index, says it is broken).

#include <catch2/catch.hpp>

#include "virtio_sim.h"

#include <deque>
#include <memory>
#include <random>

using base::Error;
using virtio::BufferRef;
using virtio::SplitQueue;
using virtio_sim::Chain;
using virtio_sim::DeviceQueue;
using virtio_sim::QueueMemory;

namespace {

struct Fixture {
    explicit Fixture(uint16_t size) : memory(size), queue(std::make_unique<SplitQueue>()) {
        REQUIRE(queue->init(memory.data(), memory.address(), size).ok());
        device = DeviceQueue(memory.data(), size);
    }
    QueueMemory memory;
    std::unique_ptr<SplitQueue> queue;
    DeviceQueue device;
};

uint16_t add_one(SplitQueue& q, uint64_t address, uint32_t length, bool writes) {
    BufferRef part{address, length, writes};
    auto head = q.add({&part, 1});
    REQUIRE(head.ok());
    return head.value();
}

} // namespace

TEST_CASE("virtqueue: layout follows the spec's alignment and sizes") {
    auto l = SplitQueue::layout(256);
    CHECK(l.descriptors == 0);
    CHECK(l.available == 16 * 256);
    CHECK(l.used % 4 == 0);
    CHECK(l.used >= l.available + 6 + 2 * 256);
    CHECK(l.total == l.used + 6 + 8 * 256);
    auto one = SplitQueue::layout(1);
    CHECK(one.available == 16);
    CHECK(one.used == 24); // 16 + 6 + 2 = 24, already aligned
}

TEST_CASE("virtqueue: init refuses bad sizes and misaligned memory") {
    QueueMemory memory(1024);
    auto q = std::make_unique<SplitQueue>();
    CHECK(q->init(memory.data(), memory.address(), 0).error() == Error::INVALID_ARGUMENT);
    CHECK(q->init(memory.data(), memory.address(), 3).error() == Error::INVALID_ARGUMENT);
    CHECK(q->init(memory.data(), memory.address(), 2048).error() == Error::INVALID_ARGUMENT);
    CHECK(q->init(memory.data() + 2, memory.address() + 2, 4).error() == Error::INVALID_ARGUMENT);
    CHECK(q->init(nullptr, 0, 4).error() == Error::INVALID_ARGUMENT);
    CHECK(q->init(memory.data(), memory.address(), 1024).ok());
    CHECK(q->free_descriptors() == 1024);
}

TEST_CASE("virtqueue: a chain reaches the device whole and comes back") {
    Fixture f(8);
    uint8_t header[12], frame[64], reply[128];
    BufferRef chain[3] = {
        {uint64_t(uintptr_t(header)), sizeof(header), false},
        {uint64_t(uintptr_t(frame)), sizeof(frame), false},
        {uint64_t(uintptr_t(reply)), sizeof(reply), true},
    };
    auto head = f.queue->add({chain, 3});
    REQUIRE(head.ok());
    CHECK(f.queue->free_descriptors() == 5);
    CHECK(f.queue->in_flight() == 1);
    // Nothing is visible before publish.
    CHECK_FALSE(f.device.has_available());
    CHECK(f.queue->publish());
    Chain seen;
    REQUIRE(f.device.pop(seen));
    CHECK(seen.head == head.value());
    REQUIRE(seen.parts.size() == 3);
    for (int i = 0; i < 3; ++i) {
        CHECK(seen.parts[i].address == chain[i].address);
        CHECK(seen.parts[i].length == chain[i].length);
        CHECK(seen.parts[i].device_writes == chain[i].device_writes);
    }
    CHECK_FALSE(f.queue->has_used());
    CHECK_FALSE(f.queue->next_used().has_value());
    f.device.push(seen.head, 100);
    CHECK(f.queue->has_used());
    auto done = f.queue->next_used();
    REQUIRE(done.has_value());
    CHECK(done.value().head == head.value());
    CHECK(done.value().length == 100);
    CHECK(done.value().status == Error::OK);
    CHECK(f.queue->free_descriptors() == 8);
    CHECK(f.queue->in_flight() == 0);
    CHECK_FALSE(f.queue->next_used().has_value());
}

TEST_CASE("virtqueue: add refuses what the spec or the queue does not allow") {
    Fixture f(4);
    uint8_t buffer[16];
    uint64_t a = uint64_t(uintptr_t(buffer));
    CHECK(f.queue->add({}).error() == Error::INVALID_ARGUMENT);
    BufferRef zero{a, 0, false};
    CHECK(f.queue->add({&zero, 1}).error() == Error::INVALID_ARGUMENT);
    BufferRef backwards[2] = {{a, 8, true}, {a + 8, 8, false}};
    CHECK(f.queue->add({backwards, 2}).error() == Error::INVALID_ARGUMENT);
    BufferRef too_long[SplitQueue::kMaxChain + 1];
    for (auto& p : too_long)
        p = {a, 1, false};
    CHECK(f.queue->add({too_long, SplitQueue::kMaxChain + 1}).error() == Error::INVALID_ARGUMENT);
    BufferRef three[3] = {{a, 4, false}, {a + 4, 4, false}, {a + 8, 8, true}};
    REQUIRE(f.queue->add({three, 3}).ok());
    CHECK(f.queue->add({three, 3}).error() == Error::NO_SPACE);
    CHECK(f.queue->add({three, 1}).ok());
    CHECK(f.queue->add({three, 1}).error() == Error::NO_SPACE);
    CHECK(f.queue->free_descriptors() == 0);
    // Nothing refused touched the record.
    CHECK(f.queue->in_flight() == 2);
}

TEST_CASE("virtqueue: indices wrap past 65535 with completions out of order") {
    Fixture f(4);
    uint8_t buffers[4][32];
    std::mt19937 random(7);
    std::deque<Chain> at_device;
    uint64_t completed = 0;
    // Enough rounds for both 16-bit indices to wrap more than once.
    for (int round = 0; round < 150000; ++round) {
        while (f.queue->free_descriptors() > 0 && random() % 3 != 0) {
            uint16_t slot = uint16_t(random() % 4);
            add_one(*f.queue, uint64_t(uintptr_t(buffers[slot])), 32, true);
        }
        f.queue->publish();
        Chain c;
        while (f.device.pop(c))
            at_device.push_back(c);
        if (!at_device.empty()) {
            // Complete a random one of those the device holds.
            size_t pick = random() % at_device.size();
            Chain done = at_device[pick];
            at_device.erase(at_device.begin() + long(pick));
            f.device.push(done.head, uint32_t(random() % 33));
        }
        while (auto used = f.queue->next_used()) {
            REQUIRE(used.value().status == Error::OK);
            REQUIRE(used.value().length <= 32);
            ++completed;
        }
        REQUIRE(f.queue->free_descriptors() + f.queue->in_flight() == 4);
        REQUIRE(f.queue->in_flight() == at_device.size());
    }
    CHECK(completed > 70000);
    CHECK(f.queue->faults().bad_id + f.queue->faults().duplicate_id == 0);
    CHECK_FALSE(f.queue->broken());
}

TEST_CASE("virtqueue: an out-of-range used id is counted and skipped") {
    Fixture f(4);
    uint8_t buffer[16];
    uint16_t head = add_one(*f.queue, uint64_t(uintptr_t(buffer)), 16, true);
    uint16_t other = add_one(*f.queue, uint64_t(uintptr_t(buffer)), 16, true);
    f.queue->publish();
    f.device.push(4, 8); // just past the queue
    f.device.push(0xFFFF0000u, 8);
    // Two bogus entries and two chains in flight: the index itself is plausible.
    auto done = f.queue->next_used();
    CHECK_FALSE(done.has_value());
    CHECK(f.queue->faults().bad_id == 2);
    CHECK(f.queue->in_flight() == 2);
    f.device.push(other, 8);
    done = f.queue->next_used();
    REQUIRE(done.has_value());
    CHECK(done.value().head == other);
    CHECK(f.queue->in_flight() == 1);
    (void)head;
    CHECK_FALSE(f.queue->broken());
}

TEST_CASE("virtqueue: the same id twice is refused the second time") {
    Fixture f(4);
    uint8_t buffer[16];
    uint16_t a = add_one(*f.queue, uint64_t(uintptr_t(buffer)), 16, true);
    uint16_t b = add_one(*f.queue, uint64_t(uintptr_t(buffer)), 16, true);
    f.queue->publish();
    f.device.push(a, 4);
    f.device.push(a, 4);
    auto first = f.queue->next_used();
    REQUIRE(first.has_value());
    CHECK(first.value().head == a);
    CHECK_FALSE(f.queue->next_used().has_value());
    CHECK(f.queue->faults().duplicate_id == 1);
    // a's descriptors were freed once, not twice.
    CHECK(f.queue->free_descriptors() == 3);
    f.device.push(b, 4);
    auto second = f.queue->next_used();
    REQUIRE(second.has_value());
    CHECK(second.value().head == b);
    CHECK(f.queue->free_descriptors() == 4);
}

TEST_CASE("virtqueue: a length beyond the chain's writable bytes is flagged") {
    Fixture f(8);
    uint8_t in[20], out[30];
    BufferRef chain[2] = {{uint64_t(uintptr_t(in)), 20, false},
                          {uint64_t(uintptr_t(out)), 30, true}};
    auto head = f.queue->add({chain, 2});
    REQUIRE(head.ok());
    f.queue->publish();
    // The readable part does not count: 31 > 30 writable bytes.
    f.device.push(head.value(), 31);
    auto done = f.queue->next_used();
    REQUIRE(done.has_value());
    CHECK(done.value().head == head.value());
    CHECK(done.value().status == Error::CORRUPT);
    CHECK(f.queue->faults().bad_length == 1);
    // The chain is free again all the same.
    CHECK(f.queue->free_descriptors() == 8);
    // Exactly the writable size is fine.
    head = f.queue->add({chain, 2});
    f.queue->publish();
    f.device.push(head.value(), 30);
    done = f.queue->next_used();
    REQUIRE(done.has_value());
    CHECK(done.value().status == Error::OK);
}

TEST_CASE("virtqueue: a used index that runs ahead breaks the queue") {
    Fixture f(8);
    uint8_t buffer[16];
    add_one(*f.queue, uint64_t(uintptr_t(buffer)), 16, true);
    f.queue->publish();
    f.device.set_used_index(5); // five completions for one chain
    CHECK_FALSE(f.queue->next_used().has_value());
    CHECK(f.queue->faults().bad_index == 1);
    CHECK(f.queue->broken());
    CHECK_FALSE(f.queue->has_used());
    BufferRef part{uint64_t(uintptr_t(buffer)), 16, true};
    CHECK(f.queue->add({&part, 1}).error() == Error::NO_SPACE);
    // init starts over (after the device's reset).
    REQUIRE(f.queue->init(f.memory.data(), f.memory.address(), 8).ok());
    CHECK_FALSE(f.queue->broken());
}

TEST_CASE("virtqueue: notification and interrupt suppression flags") {
    Fixture f(4);
    uint8_t buffer[16];
    add_one(*f.queue, uint64_t(uintptr_t(buffer)), 16, false);
    CHECK(f.queue->publish());
    f.device.set_no_notify(true);
    add_one(*f.queue, uint64_t(uintptr_t(buffer)), 16, false);
    CHECK_FALSE(f.queue->publish());
    CHECK(f.device.available_index() == 2);
    f.queue->set_interrupts(false);
    CHECK(f.device.available_flags() == 1);
    f.queue->set_interrupts(true);
    CHECK(f.device.available_flags() == 0);
}

TEST_CASE("virtqueue: a device writing random used entries never breaks the driver's record") {
    std::mt19937 random(20240601);
    for (int trial = 0; trial < 200; ++trial) {
        uint16_t size = uint16_t(1u << (random() % 6));
        Fixture f(size);
        uint8_t buffer[64];
        for (int step = 0; step < 400 && !f.queue->broken(); ++step) {
            if (f.queue->free_descriptors() > 0 && random() % 2) {
                BufferRef part{uint64_t(uintptr_t(buffer)), uint32_t(1 + random() % 64),
                               random() % 2 == 0};
                REQUIRE(f.queue->add({&part, 1}).ok());
                f.queue->publish();
            }
            Chain c;
            while (f.device.pop(c)) {
            }
            // Entries the device makes up only while something is in flight, so the
            // index stays plausible and the entries themselves are what is tested.
            bool busy = f.queue->in_flight() > 0;
            switch (random() % 4) {
            case 0: // a plausible entry, possibly a duplicate or with a wrong length
                if (busy)
                    f.device.push(uint32_t(random() % size), uint32_t(random() % 80));
                break;
            case 1: // any id at all
                if (busy)
                    f.device.push(uint32_t(random()), uint32_t(random()));
                break;
            case 2: // an index anywhere
                if (random() % 16 == 0)
                    f.device.set_used_index(uint16_t(random()));
                break;
            default:
                break;
            }
            while (auto done = f.queue->next_used()) {
                REQUIRE(done.value().head < size);
                REQUIRE(
                    (done.value().status == Error::OK || done.value().status == Error::CORRUPT));
            }
            REQUIRE(f.queue->free_descriptors() + f.queue->in_flight() == size);
        }
    }
}

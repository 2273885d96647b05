// The virtio split queue's driver side (drivers/virtio/portable/virtqueue.h) with a
// device that writes anything into the used ring: ids, lengths and the used index.
//
// Input: one byte for the queue size (a power of two, 1..64), then records of one
// operation byte and its operands:
//   0  u8 parts, then per part u16 length and u8 direction: add a chain
//   1  publish                                  2  u8 slot, u32 id, u32 length: the
//   3  u16 index: the device sets the used index   device writes a used entry
//   4  take every completion (next_used)        5  u8: set_interrupts
//   6  u8 n: the device returns the n oldest published chains correctly
// Every completion must name a chain in flight, each once; an OK one may not claim more
// bytes than the chain can take; the free descriptors and the chains' descriptors always
// add up to the queue's size.
#include "seeds.h"

#include <drivers/virtio/portable/virtqueue.h>

#include <cstring>
#include <deque>
#include <map>
#include <vector>

using namespace virtio;
using tern::fuzz::Input;
using tern::fuzz::Output;

namespace {

void check(bool ok, const char* what) {
    if (!ok) {
        fprintf(stderr, "fuzz_virtqueue: broken: %s\n", what);
        abort();
    }
}

struct Chain {
    uint32_t writable;
    uint16_t count;
};

struct State {
    alignas(4096) uint8_t memory[8192];
    SplitQueue queue;
};

template<typename T>
void put(uint8_t* at, T v) {
    std::memcpy(at, &v, sizeof(v));
}
template<typename T>
T get(const uint8_t* at) {
    T v;
    std::memcpy(&v, at, sizeof(v));
    return v;
}

void make_seeds() {
    tern::fuzz::SeedWriter seeds;
    if (!seeds.enabled())
        return;
    for (uint8_t size : {0, 3, 6}) {
        Output out;
        out.u8(size);
        for (int i = 0; i < 6; ++i) {
            out.u8(0);
            out.u8(uint8_t(i % 3)); // 1..3 parts
            for (int p = 0; p <= i % 3; ++p) {
                out.u16(uint16_t(100 + 500 * p));
                out.u8(uint8_t(p > 0));
            }
        }
        out.u8(1);
        out.u8(6);
        out.u8(4);
        out.u8(4);
        out.u8(5);
        out.u8(1);
        out.u8(2);
        out.u8(0);
        out.u32(0);
        out.u32(100000);
        out.u8(3);
        out.u16(7);
        out.u8(4);
        seeds.add(out.result());
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    make_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in(data, size);
    static State s;
    uint16_t qsize = uint16_t(1u << (in.u8() % 7));
    SplitQueue::Layout layout = SplitQueue::layout(qsize);
    check(layout.total <= sizeof(s.memory), "layout fits");
    check(s.queue.init(s.memory, 0x200000, qsize).ok(), "init");
    uint8_t* used = s.memory + layout.used;
    std::map<uint16_t, Chain> in_flight;
    std::deque<uint16_t> published, added;
    uint16_t device_used = 0; // the device's own used index for correct returns
    auto account = [&] {
        uint32_t held = 0;
        for (const auto& [head, c] : in_flight)
            held += c.count;
        check(s.queue.free_descriptors() + held == qsize, "descriptors add up");
        check(s.queue.in_flight() == in_flight.size(), "chains in flight");
    };
    while (!in.empty()) {
        switch (in.u8() % 7) {
        case 0: {
            uint8_t parts = in.u8() % (SplitQueue::kMaxChain + 2);
            BufferRef chain[SplitQueue::kMaxChain + 1];
            uint32_t writable = 0;
            for (uint8_t i = 0; i < parts; ++i) {
                chain[i] = {0x300000 + 0x1000ull * i, in.u16(), (in.u8() & 1) != 0};
                if (chain[i].device_writes)
                    writable += chain[i].length;
            }
            uint16_t before = s.queue.free_descriptors();
            base::Result<uint16_t> head = s.queue.add(base::Span<const BufferRef>(chain, parts));
            if (!head.ok()) {
                check(s.queue.free_descriptors() == before, "a refused add takes nothing");
                break;
            }
            check(parts >= 1 && parts <= SplitQueue::kMaxChain, "chain length accepted");
            check(head.value() < qsize && in_flight.count(head.value()) == 0, "a new head");
            in_flight[head.value()] = {writable, parts};
            added.push_back(head.value());
            account();
            break;
        }
        case 1:
            (void)s.queue.publish();
            published.insert(published.end(), added.begin(), added.end());
            added.clear();
            break;
        case 2: {
            uint8_t* entry = used + 4 + 8 * (in.u8() % qsize);
            put<uint32_t>(entry, in.u32());
            put<uint32_t>(entry + 4, in.u32());
            break;
        }
        case 3:
            device_used = in.u16();
            put<uint16_t>(used + 2, device_used);
            break;
        case 4:
            for (uint32_t i = 0; i <= 2u * qsize + 2; ++i) {
                (void)s.queue.has_used();
                base::Optional<Completion> c = s.queue.next_used();
                if (!c.has_value())
                    break;
                auto it = in_flight.find(c.value().head);
                check(it != in_flight.end(), "a completion names a chain in flight");
                check(c.value().status != base::Error::OK
                          || c.value().length <= it->second.writable,
                      "an OK completion fits its chain");
                in_flight.erase(it);
                account();
            }
            break;
        case 5:
            s.queue.set_interrupts(in.u8() & 1);
            break;
        default: {
            device_used = get<uint16_t>(used + 2);
            for (uint8_t n = in.u8() % 8; n > 0 && !published.empty(); --n) {
                uint16_t head = published.front();
                published.pop_front();
                auto it = in_flight.find(head);
                if (it == in_flight.end())
                    continue;
                uint8_t* entry = used + 4 + 8 * (device_used % qsize);
                put<uint32_t>(entry, head);
                put<uint32_t>(entry + 4, it->second.writable);
                ++device_used;
            }
            put<uint16_t>(used + 2, device_used);
            break;
        }
        }
    }
    account();
    return 0;
}

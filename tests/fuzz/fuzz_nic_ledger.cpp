// The NIC protocol's descriptor codec and buffer ledger (<tern/protocols/nic.h>), driven
// by a sequence of operations decoded from the input and checked against a plain model
// of who owns each buffer.
//
// Input: records of one operation byte and its operands:
//   0  u16 rx, u16 tx, u16 max_frame: reset
//   1  u32 word: frame_received(unpack(word))      2  u16: rx_returned
//   3  take_tx                                     4  u32 word: frame_sent(unpack(word))
//   5  u8: untake_tx of a buffer taken earlier     6  u16: tx_released
//   7  u16: tx_done
//   8  64 bytes: a SyncRequest from a driver; checked, then its descriptors applied as
//      the server does (frame_received, tx_done)
//   9  64 bytes: a SyncResponse from the server; checked, then applied as a driver does
//      (rx_returned, frame_sent)
//  10  u32 word: push on a DescriptorQueue      11  u8 n: peek and drop n
// Every verdict is compared with the model; a difference aborts.
#include "seeds.h"

#include <tern/protocols/nic.h>

#include <cstring>
#include <deque>
#include <set>
#include <vector>

using namespace tern::nic;
using tern::fuzz::Input;
using tern::fuzz::Output;
using Owner = Ledger::Owner;

namespace {

void check(bool ok, const char* what) {
    if (!ok) {
        fprintf(stderr, "fuzz_nic_ledger: broken: %s\n", what);
        abort();
    }
}

struct Model {
    Geometry geometry{};
    uint32_t max_frame = 0;
    std::vector<Owner> rx, tx;
    std::set<uint16_t> free, taken;

    bool frame_ok(Descriptor d, uint32_t count, const std::vector<Owner>& owners, Owner want) {
        return d.index < count && owners[d.index] == want && d.length >= kMinFrame
               && d.length <= max_frame;
    }
};

struct State {
    Ledger ledger;
    Model model;
    DescriptorQueue queue;
    std::deque<Descriptor> queue_model;
};

void expect(base::Error got, bool ok, const char* what) {
    check(got == (ok ? base::Error::OK : base::Error::CORRUPT), what);
}

void frame_received(State& s, Descriptor d) {
    bool ok = s.model.frame_ok(d, s.model.geometry.rx_count, s.model.rx, Owner::kDriver);
    expect(s.ledger.frame_received(d), ok, "frame_received");
    if (ok)
        s.model.rx[d.index] = Owner::kServer;
}

void rx_returned(State& s, uint16_t index) {
    bool ok = index < s.model.geometry.rx_count && s.model.rx[index] == Owner::kServer;
    expect(s.ledger.rx_returned(index), ok, "rx_returned");
    if (ok)
        s.model.rx[index] = Owner::kDriver;
}

void frame_sent(State& s, Descriptor d) {
    bool ok = s.model.frame_ok(d, s.model.geometry.tx_count, s.model.tx, Owner::kServer);
    expect(s.ledger.frame_sent(d), ok, "frame_sent");
    if (ok) {
        s.model.tx[d.index] = Owner::kDriver;
        s.model.free.erase(d.index);
        s.model.taken.erase(d.index);
    }
}

void tx_released(State& s, uint16_t index) {
    bool ok = index < s.model.geometry.tx_count && s.model.tx[index] == Owner::kDriver;
    expect(s.ledger.tx_released(index), ok, "tx_released");
    if (ok)
        s.model.tx[index] = Owner::kServer;
}

void tx_done(State& s, uint16_t index) {
    bool ok = index < s.model.geometry.tx_count && s.model.tx[index] == Owner::kDriver;
    expect(s.ledger.tx_done(index), ok, "tx_done");
    if (ok) {
        s.model.tx[index] = Owner::kServer;
        s.model.free.insert(index);
    }
}

void check_all(const State& s) {
    check(s.ledger.free_tx() == s.model.free.size(), "free transmit buffers");
    for (uint32_t i = 0; i < s.model.geometry.rx_count; ++i)
        check(s.ledger.rx_owner(uint16_t(i)) == s.model.rx[i], "receive owners");
    for (uint32_t i = 0; i < s.model.geometry.tx_count; ++i)
        check(s.ledger.tx_owner(uint16_t(i)) == s.model.tx[i], "transmit owners");
}

void make_seeds() {
    tern::fuzz::SeedWriter seeds;
    if (!seeds.enabled())
        return;
    const uint16_t geometries[][3] = {{8, 8, 1514}, {1, 1, 14}, {512, 512, 2048}, {3, 5, 600}};
    for (const auto& g : geometries) {
        Output out;
        out.u8(0);
        out.u16(g[0]);
        out.u16(g[1]);
        out.u16(g[2]);
        for (uint16_t i = 0; i < 6; ++i) {
            out.u8(1); // a frame in rx buffer i, returned
            out.u32(pack({i, 60}));
            out.u8(3); // take, send, complete
            out.u8(4);
            out.u32(pack({uint16_t(g[1] - 1 - i), 1514}));
            out.u8(7);
            out.u16(uint16_t(g[1] - 1 - i));
            out.u8(2);
            out.u16(i);
        }
        SyncRequest request;
        Descriptor rx[] = {{0, 60}, {1, 1514}, {2, 14}};
        uint16_t done[] = {0, 1};
        encode_sync(request, 1, base::Span<const Descriptor>(rx, 3),
                    base::Span<const uint16_t>(done, 2));
        std::vector<uint8_t> bytes(sizeof(request));
        std::memcpy(bytes.data(), &request, sizeof(request));
        out.u8(8);
        out.bytes(bytes);
        SyncResponse response;
        uint16_t returned[] = {0, 1, 2};
        Descriptor tx[] = {{3, 60}, {4, 1514}};
        encode_sync(response, base::Span<const uint16_t>(returned, 3),
                    base::Span<const Descriptor>(tx, 2));
        std::memcpy(bytes.data(), &response, sizeof(response));
        out.u8(9);
        out.bytes(bytes);
        for (uint16_t i = 0; i < 20; ++i) {
            out.u8(10);
            out.u32(pack({i, 100}));
        }
        out.u8(11);
        out.u8(7);
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
    static State s; // large (the ledger's arrays); reset for every input below
    s.ledger = Ledger();
    s.model = Model();
    s.queue.clear();
    s.queue_model.clear();
    while (!in.empty()) {
        switch (in.u8() % 12) {
        case 0: {
            Geometry g{in.u16(), in.u16()};
            uint32_t max_frame = in.u16();
            bool ok = g.valid() && max_frame >= kMinFrame && max_frame <= kBufferSize;
            base::Error got = s.ledger.reset(g, max_frame);
            check(got == (ok ? base::Error::OK : base::Error::INVALID_ARGUMENT), "reset");
            if (ok) {
                s.model = Model();
                s.model.geometry = g;
                s.model.max_frame = max_frame;
                s.model.rx.assign(g.rx_count, Owner::kDriver);
                s.model.tx.assign(g.tx_count, Owner::kServer);
                for (uint32_t i = 0; i < g.tx_count; ++i)
                    s.model.free.insert(uint16_t(i));
            }
            break;
        }
        case 1:
            frame_received(s, unpack(in.u32()));
            break;
        case 2:
            rx_returned(s, in.u16());
            break;
        case 3: {
            base::Result<uint16_t> r = s.ledger.take_tx();
            if (s.model.free.empty()) {
                check(!r.ok() && r.error() == base::Error::NO_SPACE, "take_tx when none is free");
                break;
            }
            check(r.ok(), "take_tx");
            uint16_t index = r.value();
            check(s.model.free.erase(index) == 1, "take_tx gives a free buffer");
            check(s.model.tx[index] == Owner::kServer, "take_tx gives a server buffer");
            s.model.taken.insert(index);
            break;
        }
        case 4:
            frame_sent(s, unpack(in.u32()));
            break;
        case 5: {
            if (s.model.taken.empty())
                break;
            auto it = s.model.taken.begin();
            std::advance(it, in.u8() % s.model.taken.size());
            uint16_t index = *it;
            s.model.taken.erase(it);
            s.ledger.untake_tx(index);
            s.model.free.insert(index);
            break;
        }
        case 6:
            tx_released(s, in.u16());
            break;
        case 7:
            tx_done(s, in.u16());
            break;
        case 8: {
            std::vector<uint8_t> bytes = in.bytes(sizeof(SyncRequest));
            SyncRequest r{};
            if (!bytes.empty())
                std::memcpy(&r, bytes.data(), bytes.size());
            bool ok = uint32_t(r.rx_count) + r.tx_done_count <= kSyncEntries && r.flags == 0;
            check((check_sync(r) == base::Error::OK) == ok, "check_sync(SyncRequest)");
            if (!ok)
                break;
            for (uint32_t i = 0; i < r.rx_count; ++i)
                frame_received(s, unpack(r.entries[i]));
            for (uint32_t i = 0; i < r.tx_done_count; ++i)
                tx_done(s, unpack(r.entries[r.rx_count + i]).index);
            break;
        }
        case 9: {
            std::vector<uint8_t> bytes = in.bytes(sizeof(SyncResponse));
            SyncResponse r{};
            if (!bytes.empty())
                std::memcpy(&r, bytes.data(), bytes.size());
            bool ok = uint32_t(r.rx_free_count) + r.tx_count <= kSyncEntries
                      && (r.flags & ~kSyncMore) == 0;
            check((check_sync(r) == base::Error::OK) == ok, "check_sync(SyncResponse)");
            if (!ok)
                break;
            for (uint32_t i = 0; i < r.rx_free_count; ++i)
                rx_returned(s, unpack(r.entries[i]).index);
            for (uint32_t i = 0; i < r.tx_count; ++i)
                frame_sent(s, unpack(r.entries[r.rx_free_count + i]));
            break;
        }
        case 10: {
            Descriptor d = unpack(in.u32());
            bool room = s.queue_model.size() < kMaxBuffersPerDirection;
            check(s.queue.push(d) == room, "queue push");
            if (room)
                s.queue_model.push_back(d);
            break;
        }
        default: {
            size_t n = in.u8();
            Descriptor out[255];
            size_t got = s.queue.peek(base::Span<Descriptor>(out, n));
            check(got == std::min(n, s.queue_model.size()), "queue peek count");
            for (size_t i = 0; i < got; ++i)
                check(out[i].index == s.queue_model[i].index
                          && out[i].length == s.queue_model[i].length,
                      "queue order");
            s.queue.drop(n);
            s.queue_model.erase(s.queue_model.begin(),
                                s.queue_model.begin() + std::min(n, s.queue_model.size()));
            check(s.queue.size() == s.queue_model.size(), "queue size");
            break;
        }
        }
        check(s.ledger.free_tx() == s.model.free.size(), "free transmit buffers");
    }
    check_all(s);
    return 0;
}

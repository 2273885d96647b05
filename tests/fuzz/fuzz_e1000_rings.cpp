// The e1000 driver's descriptor rings (drivers/net/e1000/portable/rings.h) with a device
// that writes anything into the descriptors it owns: lengths, status and error bits, in
// any slot, at any time.
//
// Input: one byte for the ring sizes (8..64 descriptors) and one for max_frame, then
// records of one operation byte and its operands:
//   0  the driver posts a new receive buffer        1  u8 slot, u16 length, u8 status,
//   2  u8 n: harvest up to n frames                    u8 errors: the device writes rx
//   3  u16 length: the driver submits a frame       4  u8 slot, u8 status: the device
//   5  u8 n: reclaim up to n transmit buffers          writes tx
// Every buffer the rings hand back must be one the driver gave them and still out, each
// once, and every received length must lie in [kMinFrame, max_frame].
#include "seeds.h"

#include <drivers/net/e1000/portable/rings.h>

#include <map>
#include <vector>

using namespace e1000;
using tern::fuzz::Input;
using tern::fuzz::Output;
using tern::nic::Descriptor;
using tern::nic::kMinFrame;

namespace {

void check(bool ok, const char* what) {
    if (!ok) {
        fprintf(stderr, "fuzz_e1000_rings: broken: %s\n", what);
        abort();
    }
}

constexpr uint64_t kBase = 0x100000;

struct State {
    alignas(16) RxDescriptor rx_ring[64];
    alignas(16) TxDescriptor tx_ring[64];
    RxRing rx;
    TxRing tx;
};

// A buffer index the driver handed out, and how many times it is out (must stay 0 or 1).
void give(std::map<uint16_t, int>& out, uint16_t index) { check(++out[index] == 1, "given twice"); }
void take_back(std::map<uint16_t, int>& out, uint16_t index, const char* what) {
    auto it = out.find(index);
    check(it != out.end() && it->second == 1, what);
    out.erase(it);
}

void make_seeds() {
    tern::fuzz::SeedWriter seeds;
    if (!seeds.enabled())
        return;
    for (uint8_t sizes : {0, 7}) {
        Output out;
        out.u8(sizes);
        out.u8(0xFF);
        for (int i = 0; i < 6; ++i)
            out.u8(0);
        for (uint8_t slot = 0; slot < 6; ++slot) {
            out.u8(1);
            out.u8(slot);
            out.u16(uint16_t(slot == 2 ? 10 : 60 + slot * 100));
            out.u8(kStatusDone | kStatusEndOfPacket);
            out.u8(slot == 4 ? 1 : 0);
        }
        out.u8(2);
        out.u8(8);
        for (int i = 0; i < 5; ++i) {
            out.u8(3);
            out.u16(uint16_t(60 + i));
        }
        for (uint8_t slot = 0; slot < 3; ++slot) {
            out.u8(4);
            out.u8(slot);
            out.u8(kStatusDone);
        }
        out.u8(5);
        out.u8(8);
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
    uint8_t sizes = in.u8();
    uint32_t rx_size = 8 * (1 + (sizes & 7));
    uint32_t tx_size = 8 * (1 + ((sizes >> 3) & 7));
    uint32_t max_frame = kMinFrame + in.u8() * 8;
    check(s.rx.init(s.rx_ring, rx_size, kBase, max_frame), "rx init");
    check(s.tx.init(s.tx_ring, tx_size, kBase, max_frame), "tx init");
    RxCounters rc;
    TxCounters tc;
    std::map<uint16_t, int> rx_out, tx_out;
    uint16_t next_rx = 0, next_tx = 0;
    while (!in.empty()) {
        switch (in.u8() % 6) {
        case 0: {
            bool room = s.rx.posted() + 1 < rx_size;
            check(s.rx.post(next_rx) == room, "post when there is room");
            if (room)
                give(rx_out, next_rx++);
            break;
        }
        case 1: {
            RxDescriptor& d = s.rx_ring[in.u8() % rx_size];
            d.length = in.u16();
            d.status = in.u8();
            d.errors = in.u8();
            break;
        }
        case 2: {
            Descriptor got[64];
            size_t n = s.rx.harvest(base::Span<Descriptor>(got, in.u8() % 65), rc);
            for (size_t i = 0; i < n; ++i) {
                take_back(rx_out, got[i].index, "a harvested buffer was posted");
                check(got[i].length >= kMinFrame && got[i].length <= max_frame, "harvested length");
            }
            check(s.rx.posted() == rx_out.size(), "posted count");
            break;
        }
        case 3: {
            uint16_t length = in.u16();
            base::Error e = s.tx.submit({next_tx, length}, tc);
            bool good = length >= kMinFrame && length <= max_frame;
            if (!good) {
                check(e == base::Error::INVALID_ARGUMENT, "a bad length is refused");
            } else if (tx_out.size() + 1 >= tx_size) {
                check(e == base::Error::NO_SPACE, "a full ring says NO_SPACE");
            } else {
                check(e == base::Error::OK, "submit");
                give(tx_out, next_tx++);
            }
            break;
        }
        case 4:
            s.tx_ring[in.u8() % tx_size].status = in.u8();
            break;
        default: {
            uint16_t got[64];
            size_t n = s.tx.reclaim(base::Span<uint16_t>(got, in.u8() % 65), tc);
            for (size_t i = 0; i < n; ++i)
                take_back(tx_out, got[i], "a reclaimed buffer was submitted");
            check(s.tx.in_flight() == tx_out.size(), "in-flight count");
            break;
        }
        }
    }
    return 0;
}

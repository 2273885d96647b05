// The bus frame decoder and the transport's receive side, fed frames from a node that
// holds the cluster key (its MAC accepts everything: the worst case).
//
// Input: a sequence of records, each one operation byte and its operands:
//   0  u16 n, n bytes: a datagram; decode_frame's verdict is re-checked independently,
//      then the receiver gets it (acks, sessions, fragment reassembly)
//   1  u32 t: time advances by t ns (bounded); the receiver's timers run
//   2  u16 n: the receiver sends an (n mod 4096)-byte message to node 1 (a session to answer)
//   3  the receiver's frames and events are drained; a delivered message must fit
//      kMaxMessage
// The seeds are real sessions: a sender's frames for messages of several sizes, with the
// receiver's answers fed back to the sender.
#include "seeds.h"

#include <servers/bus/portable/transport.h>

#include <cstring>

using namespace tern::bus;
using tern::fuzz::Input;
using tern::fuzz::Output;

namespace {

class AcceptAll final : public FrameAuth {
public:
    void sign(base::Span<const uint8_t>, uint8_t tag[kTagSize]) override {
        std::memset(tag, 0x5A, kTagSize);
    }
    bool verify(base::Span<const uint8_t>, base::Span<const uint8_t>) override { return true; }
};

void check(bool ok, const char* what) {
    if (!ok) {
        fprintf(stderr, "fuzz_bus_frame: broken: %s\n", what);
        abort();
    }
}

void check_decode(base::Span<const uint8_t> f) {
    DecodedFrame d;
    FrameProblem problem = FrameProblem::kNone;
    if (!decode_frame(f, d, problem)) {
        check(problem != FrameProblem::kNone, "a refusal names its problem");
        return;
    }
    check(f.size() == kHeaderSize + d.payload.size() + kTagSize, "accepted length");
    check(d.payload.data() == f.data() + kHeaderSize, "payload position");
    check(d.tag.data() + kTagSize == f.data() + f.size(), "tag position");
    check(d.authenticated.size() == kHeaderSize + d.payload.size(), "authenticated span");
    if (d.header.kind == FrameKind::kData) {
        check(d.header.message_length <= kMaxMessage, "message length limit");
        check(d.header.fragment_index < d.header.fragment_count, "fragment index");
        size_t before = size_t(d.header.fragment_index) * kMaxPayload;
        check(before + d.payload.size() <= d.header.message_length + (d.header.message_length == 0),
              "fragment inside its message");
    } else {
        check(d.payload.size() == 0, "payload only on data frames");
    }
}

void drain(Transport& t) {
    OutFrame f;
    while (t.pop_frame(f))
        check(f.length <= kMaxFrame, "an outgoing frame fits kMaxFrame");
    Event e;
    while (t.pop_event(e))
        if (e.kind == EventKind::kDelivered)
            check(e.data.size() <= kMaxMessage, "a delivered message fits kMaxMessage");
}

void make_seeds() {
    tern::fuzz::SeedWriter seeds;
    if (!seeds.enabled())
        return;
    static AcceptAll auth;
    const size_t sizes[][3] = {{0, 1, 100}, {kMaxPayload, kMaxPayload + 1, 3000}, {9000, 20, 0}};
    for (const auto& set : sizes) {
        Transport sender(1, 7, auth);
        Transport receiver(2, 9, auth);
        Output out;
        uint64_t now = 0;
        for (size_t n : set) {
            std::vector<uint8_t> msg(n, uint8_t(n));
            (void)sender.send(2, base::Span<const uint8_t>(msg.data(), msg.size()), now);
        }
        for (int step = 0; step < 12; ++step) {
            OutFrame f;
            while (sender.pop_frame(f)) {
                out.u8(0);
                out.u16(uint16_t(f.length));
                out.bytes(std::vector<uint8_t>(f.bytes, f.bytes + f.length));
                receiver.on_frame(base::Span<const uint8_t>(f.bytes, f.length), now);
            }
            while (receiver.pop_frame(f))
                sender.on_frame(base::Span<const uint8_t>(f.bytes, f.length), now);
            out.u8(3);
            drain(receiver);
            Event e;
            while (sender.pop_event(e)) {
            }
            now += 2'000'000;
            out.u8(1);
            out.u32(2'000'000);
            sender.on_tick(now);
            receiver.on_tick(now);
        }
        seeds.add(out.result());
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    make_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static AcceptAll auth;
    Input in(data, size);
    Transport receiver(2, 9, auth);
    uint64_t now = 0;
    while (!in.empty()) {
        switch (in.u8() % 4) {
        case 0: {
            std::vector<uint8_t> f = in.bytes(in.u16() % (kMaxFrame + 64));
            base::Span<const uint8_t> span(f.data(), f.size());
            check_decode(span);
            receiver.on_frame(span, now);
            break;
        }
        case 1:
            now += in.u32();
            receiver.on_tick(now);
            break;
        case 2: {
            std::vector<uint8_t> msg(in.u16() % 4096, 0xA5);
            (void)receiver.send(1, base::Span<const uint8_t>(msg.data(), msg.size()), now);
            break;
        }
        default:
            drain(receiver);
            break;
        }
    }
    drain(receiver);
    return 0;
}

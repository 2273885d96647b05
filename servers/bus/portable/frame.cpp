// Bus frame encoding and checking (frame.h has the layout).
#include "frame.h"

namespace tern::bus {

namespace {

void put16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v);
    p[1] = uint8_t(v >> 8);
}
void put32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = uint8_t(v >> (8 * i));
}
uint16_t get16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t get32(const uint8_t* p) {
    return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

} // namespace

const char* frame_problem_name(FrameProblem problem) {
    switch (problem) {
    case FrameProblem::kNone:
        return "none";
    case FrameProblem::kTruncated:
        return "truncated";
    case FrameProblem::kOversized:
        return "oversized";
    case FrameProblem::kBadMagic:
        return "bad magic or version";
    case FrameProblem::kBadKind:
        return "unknown kind";
    case FrameProblem::kBadFragment:
        return "bad fragment";
    }
    return "unknown";
}

size_t encode_frame(const FrameHeader& h, base::Span<const uint8_t> payload,
                    base::Span<uint8_t> out) {
    size_t length = kHeaderSize + payload.size() + kTagSize;
    if (payload.size() > kMaxPayload || out.size() < length)
        return 0;
    uint8_t* p = out.data();
    put16(p + 0, kMagic);
    p[2] = kVersion;
    p[3] = uint8_t(h.kind);
    put16(p + 4, h.source);
    put16(p + 6, h.destination);
    put32(p + 8, h.source_incarnation);
    put32(p + 12, h.destination_incarnation);
    put32(p + 16, h.sequence);
    put32(p + 20, h.ack);
    put32(p + 24, h.selective);
    put16(p + 28, h.window);
    put16(p + 30, h.fragment_index);
    put16(p + 32, h.fragment_count);
    put16(p + 34, uint16_t(payload.size()));
    put32(p + 36, h.message_length);
    put32(p + 40, h.source_session);
    put32(p + 44, h.destination_session);
    for (size_t i = 0; i < payload.size(); ++i)
        p[kHeaderSize + i] = payload[i];
    for (size_t i = 0; i < kTagSize; ++i)
        p[kHeaderSize + payload.size() + i] = 0;
    return length;
}

bool decode_frame(base::Span<const uint8_t> frame, DecodedFrame& out, FrameProblem& problem) {
    problem = FrameProblem::kNone;
    if (frame.size() < kHeaderSize + kTagSize) {
        problem = FrameProblem::kTruncated;
        return false;
    }
    if (frame.size() > kMaxFrame) {
        problem = FrameProblem::kOversized;
        return false;
    }
    const uint8_t* p = frame.data();
    if (get16(p) != kMagic || p[2] != kVersion) {
        problem = FrameProblem::kBadMagic;
        return false;
    }
    uint8_t kind = p[3];
    if (kind < uint8_t(FrameKind::kHello) || kind > uint8_t(FrameKind::kAck)) {
        problem = FrameProblem::kBadKind;
        return false;
    }
    FrameHeader& h = out.header;
    h.kind = FrameKind(kind);
    h.source = get16(p + 4);
    h.destination = get16(p + 6);
    h.source_incarnation = get32(p + 8);
    h.destination_incarnation = get32(p + 12);
    h.sequence = get32(p + 16);
    h.ack = get32(p + 20);
    h.selective = get32(p + 24);
    h.window = get16(p + 28);
    h.fragment_index = get16(p + 30);
    h.fragment_count = get16(p + 32);
    h.payload_length = get16(p + 34);
    h.message_length = get32(p + 36);
    h.source_session = get32(p + 40);
    h.destination_session = get32(p + 44);
    size_t expected = kHeaderSize + size_t(h.payload_length) + kTagSize;
    if (frame.size() < expected) {
        problem = FrameProblem::kTruncated;
        return false;
    }
    if (frame.size() > expected) {
        problem = FrameProblem::kOversized;
        return false;
    }
    if (h.kind == FrameKind::kData) {
        // Every fragment but the last is full; together they are exactly message_length.
        uint32_t fragments = h.message_length == 0
                                 ? 1u
                                 : uint32_t((h.message_length + kMaxPayload - 1) / kMaxPayload);
        bool ok = h.message_length <= kMaxMessage && h.fragment_count == fragments
                  && h.fragment_index < h.fragment_count;
        if (ok) {
            size_t before = size_t(h.fragment_index) * kMaxPayload;
            size_t want =
                h.message_length - before < kMaxPayload ? h.message_length - before : kMaxPayload;
            ok = before <= h.message_length && h.payload_length == want;
        }
        if (!ok) {
            problem = FrameProblem::kBadFragment;
            return false;
        }
    } else if (h.payload_length != 0) {
        problem = FrameProblem::kOversized;
        return false;
    }
    out.payload = base::Span<const uint8_t>(p + kHeaderSize, h.payload_length);
    out.authenticated = base::Span<const uint8_t>(p, kHeaderSize + h.payload_length);
    out.tag = base::Span<const uint8_t>(p + kHeaderSize + h.payload_length, kTagSize);
    return true;
}

} // namespace tern::bus

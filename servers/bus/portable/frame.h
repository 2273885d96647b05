#pragma once
// Bus frames: the unit the node-to-node transport puts in one UDP datagram.
//
// Every frame is a fixed 48-byte header, a payload, and a 16-byte authentication tag
// over both (little-endian throughout):
//
//   offset size field
//        0    2 magic 0x5442 ("TB")
//        2    1 version (1)
//        3    1 kind: kHello, kHelloAck, kData, kAck
//        4    2 source node        6 2 destination node
//        8    4 source incarnation 12 4 destination incarnation (0 in a first Hello)
//       16    4 sequence number of this data frame (0 for the others)
//       20    4 cumulative acknowledgement: the next sequence the sender expects
//       24    4 selective acknowledgements: bit i = frame ack+1+i has arrived
//       28    2 window: data frames the sender can still take beyond ack
//       30    2 fragment index     32 2 fragment count (data frames; 1 for whole messages)
//       34    2 payload length     36 4 message length (all fragments; data frames)
//       40    4 source session     44 4 destination session (0 in a first Hello)
//       48    n payload
//     48+n   16 tag
//
// A session is one exactly-once stream between two nodes in each direction; either end
// starts a new one (after a restart, or after giving the other up), and frames of an
// older session are refused.
//
// decode() checks every field against the frame's own length and the limits below and
// says what was wrong; the transport counts and drops such frames. The tag is computed
// and checked by the transport's FrameAuth, never here.
#include <base/error.h>
#include <base/result.h>
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>

namespace tern::bus {

inline constexpr uint16_t kMagic = 0x5442;
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderSize = 48;
inline constexpr size_t kTagSize = 16;
// A payload that keeps a frame inside one Ethernet MTU with IPv4 and UDP headers
// (1500 - 20 - 28 = 1472, minus header and tag).
inline constexpr size_t kMaxPayload = 1472 - kHeaderSize - kTagSize;
inline constexpr size_t kMaxFrame = kHeaderSize + kMaxPayload + kTagSize;
// The largest message: the largest data part a local message carries (64 KiB) and room
// for its header and handles.
inline constexpr uint32_t kMaxMessage = 65536 + 1024;
inline constexpr uint16_t kMaxFragments = (kMaxMessage + kMaxPayload - 1) / kMaxPayload;

enum class FrameKind : uint8_t {
    kHello = 1,
    kHelloAck = 2,
    kData = 3,
    kAck = 4
};

struct FrameHeader {
    FrameKind kind = FrameKind::kAck;
    uint16_t source = 0;
    uint16_t destination = 0;
    uint32_t source_incarnation = 0;
    uint32_t destination_incarnation = 0;
    uint32_t sequence = 0;
    uint32_t ack = 0;
    uint32_t selective = 0;
    uint16_t window = 0;
    uint16_t fragment_index = 0;
    uint16_t fragment_count = 0;
    uint16_t payload_length = 0;
    uint32_t message_length = 0;
    uint32_t source_session = 0;
    uint32_t destination_session = 0;
};

// What decode found wrong, for counters and log lines.
enum class FrameProblem : uint8_t {
    kNone = 0,
    kTruncated,   // shorter than a header and a tag, or than its payload length says
    kOversized,   // longer than kMaxFrame or than header + payload + tag
    kBadMagic,    // not a bus frame, or another version
    kBadKind,     // unknown kind
    kBadFragment, // fragment index/count/message length inconsistent or over the limits
};
const char* frame_problem_name(FrameProblem problem);

// Writes header, payload and room for the tag into out (which must hold
// kHeaderSize + payload.size() + kTagSize bytes); returns the frame length. The tag bytes
// are left zero for the caller to fill.
size_t encode_frame(const FrameHeader& header, base::Span<const uint8_t> payload,
                    base::Span<uint8_t> out);

struct DecodedFrame {
    FrameHeader header;
    base::Span<const uint8_t> payload;
    base::Span<const uint8_t> authenticated; // header + payload: what the tag covers
    base::Span<const uint8_t> tag;
};
// Parses and checks a frame; problem says why it is refused.
bool decode_frame(base::Span<const uint8_t> frame, DecodedFrame& out, FrameProblem& problem);

// Sequence numbers wrap: a is before b when the signed distance is negative.
constexpr bool seq_before(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }

} // namespace tern::bus

#pragma once
// Remote port messages: what the bus sends another node's bus for a port exported across
// the cluster (docs/bus.md, "Remote ports"). A pure codec, shared by the network server
// and the host tests.
//
// A port is named across the cluster by its global id: the node it was exported from
// (16 bits) and a serial that node's bus assigned (48 bits). Serials 1 and 2 are the root
// exports every node has (its name server and proc); the bus numbers the ports it exports
// from kFirstSerial on.
//
// The wire layout (little-endian), after the bus message kind byte every bus message
// starts with (membership.h):
//
//   offset size field
//        0    1 kind: kSend, kCall, kReply, kPortGone, kCreditKind, kMovedKind
//        1    1 version (1)
//        2    1 handle count (at most 8; a call at most 7)
//        3    1 zero
//        4    4 label
//        8    8 target: the exported port's global id (send, call, port-gone; 0 in a reply)
//       16    8 call id (call, reply; 0 otherwise)
//       24    4 status (reply: OK or the error the call failed with; 0 otherwise)
//       28    4 data size (at most 65,536)
//       32   64 the eight inline words
//       96 16*h handle entries: kind (1), rights (1), zero (2), size (4), value (8)
//                kPort:    size 0, value = the port's global id (a SEND right);
//                          rights: kRemoteRightSignal when the right may port_signal
//                kMemory:  size = bytes of the memory's contents, value 0
//                kReceive: size 0, value = the port's global id (its RECEIVE right:
//                          the port moves to the receiving node)
//     96+16h    the data part, then each memory handle's contents in handle order
//
// A credit (kCreditKind) returns send credits to the node holding a proxy for target
// (docs/bus.md, "Flow control"): words[0] is the number, 1..kSendWindow; it carries no
// label, call id, status, other words, handles or data.
//
// A location hint (kMovedKind) tells a node that sent a message for target to a node the
// port has left that it lives on node words[0] now; laid out like a credit. A signal
// (kSignalKind) carries the bits a local program gave port_signal on a proxy for target
// in words[0] (non-zero), laid out the same way.
//
// The whole message is at most kMaxMessage bytes (the transport's limit), which is also
// the limit on memory contents carried: data part and memory together fit in it.
// decode_remote checks every field; a message it refuses is counted and dropped by the
// bus (it came from a node holding the cluster key: a bug or a newer Tern).
#include "frame.h"
#include "membership.h"

#include <base/error.h>
#include <base/result.h>
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>

namespace tern::bus {

inline constexpr uint8_t kRemoteVersion = 1;
inline constexpr size_t kRemoteHeaderSize = 96;
inline constexpr size_t kRemoteHandleEntrySize = 16;
inline constexpr uint32_t kRemoteMaxHandles = 8;  // TERN_MSG_MAX_HANDLES
inline constexpr uint32_t kRemoteMaxData = 65536; // TERN_MSG_MAX_DATA
inline constexpr size_t kRemoteWords = 8;         // TERN_MSG_INLINE_WORDS

// Bus message kind 6, after membership.h's five: a credit for sends to a proxy; 7: where a
// port that moved lives now.
inline constexpr BusMessageKind kCreditKind = BusMessageKind(6);
inline constexpr BusMessageKind kMovedKind = BusMessageKind(7);
// 8: signal bits for a port (port_signal on a proxy).
inline constexpr BusMessageKind kSignalKind = BusMessageKind(8);
// A kPort entry's rights byte: the SEND right carries TERN_RIGHT_SIGNAL too.
inline constexpr uint8_t kRemoteRightSignal = 1;
// The sends a node may have on its way to one exported port (per proxy) before the
// exporting node has put them in the port's queue and returned their credits; and how
// many the exporting node gathers before it returns them in one credit message.
inline constexpr uint32_t kSendWindow = 16;
inline constexpr uint32_t kCreditBatch = 8;

// Global port ids.
inline constexpr uint64_t kSerialMask = (uint64_t(1) << 48) - 1;
inline constexpr uint64_t kRootNameSerial = 1;
inline constexpr uint64_t kRootProcSerial = 2;
inline constexpr uint64_t kFirstSerial = 16;
constexpr uint64_t global_port_id(uint16_t node, uint64_t serial) {
    return uint64_t(node) << 48 | (serial & kSerialMask);
}
constexpr uint16_t port_id_node(uint64_t id) { return uint16_t(id >> 48); }
constexpr uint64_t port_id_serial(uint64_t id) { return id & kSerialMask; }
// A global id names a port only with a node and a serial, both non-zero.
constexpr bool is_valid_port_id(uint64_t id) {
    return port_id_node(id) != 0 && port_id_serial(id) != 0;
}

enum class RemoteHandleKind : uint8_t {
    kPort = 1,    // a SEND right: the receiver hands out a proxy for the global id
    kMemory = 2,  // a memory object: the receiver makes a new one with these contents
    kReceive = 3, // a RECEIVE right: the port moves to the receiving node, keeping its id
};

struct RemoteHandle {
    RemoteHandleKind kind = RemoteHandleKind::kPort;
    uint8_t rights = 0;                 // kPort: 0 or kRemoteRightSignal
    uint64_t port_id = 0;               // kPort
    base::Span<const uint8_t> contents; // kMemory
};

struct RemoteMessage {
    BusMessageKind kind = BusMessageKind::kSend;
    uint64_t target = 0;
    uint64_t call_id = 0;
    base::Error status = base::Error::OK;
    uint32_t label = 0;
    uint64_t words[kRemoteWords] = {};
    base::Span<const uint8_t> data;
    uint32_t handle_count = 0;
    RemoteHandle handles[kRemoteMaxHandles];
};

// Bytes encode_remote writes for message (without checking it).
size_t remote_size(const RemoteMessage& message);
// Writes message to out and returns its length. INVALID_ARGUMENT for a message
// decode_remote would refuse (a zero target, a call id where none belongs, ...),
// TOO_BIG when it exceeds kMaxMessage or a bound above, NO_SPACE when out is too small.
base::Result<size_t> encode_remote(const RemoteMessage& message, base::Span<uint8_t> out);
// Decodes a remote message; data and memory contents point into bytes. CORRUPT for
// anything but a well-formed message (every field checked against the layout and the
// bytes' own length).
base::Result<void> decode_remote(base::Span<const uint8_t> bytes, RemoteMessage& out);

} // namespace tern::bus

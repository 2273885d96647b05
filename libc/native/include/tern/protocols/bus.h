#pragma once
// The message bus's protocol (registered as "bus"; served by the network server, which
// runs the bus inside its event loop): the membership table and the transport's counters,
// for the `nodes` and `busstat` programs. docs/bus.md describes the bus.
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::bus {

inline constexpr uint32_t kMaxNodes = 64;
inline constexpr uint64_t kNeverHeard = UINT64_MAX;

// Member states, as the table reports them.
inline constexpr uint8_t kNodeUnknown = 0; // configured, never heard
inline constexpr uint8_t kNodeUp = 1;
inline constexpr uint8_t kNodeDown = 2;

struct NodeInfo {
    uint16_t node;
    uint8_t state; // kNode*
    uint8_t reserved;
    uint32_t incarnation;  // 0: never heard
    uint32_t ip;           // host byte order
    uint32_t load;         // kernel objects alive on that node at its last heartbeat
    uint32_t ups;          // times it came up
    uint32_t downs;        // times it was declared down
    uint64_t heard_ago_ns; // kNeverHeard when never heard
};

struct NodesResponse {
    uint16_t self;
    uint16_t reserved;
    uint32_t incarnation; // this node's
    uint32_t count;       // NodeInfo records in the reply data
    uint32_t down_ms;     // silence after which a node is declared down
};
// reply data = count NodeInfo records (the other nodes; this node is self).
// NOT_FOUND: the bus is off on this node (no static address).
using Nodes = proto::Op<0x4201, proto::Empty, NodesResponse,
                        proto::Limits{.response_data = kMaxNodes * sizeof(NodeInfo)}>;

// The transport's counters (docs/bus.md has what each means) and the bus's own.
struct StatsInfo {
    uint64_t frames_sent;
    uint64_t frames_received;
    uint64_t retransmits;
    uint64_t duplicates;
    uint64_t out_of_window;
    uint64_t malformed;
    uint64_t bad_tag;
    uint64_t stale;
    uint64_t misdirected;
    uint64_t bad_fragments;
    uint64_t delivered;
    uint64_t sent_messages;
    uint64_t failed_messages;
    uint64_t acked_messages;
    uint64_t unroutable;      // frames for a node with no known address, dropped
    uint64_t send_errors;     // frames lwIP refused to send
    uint64_t bad_messages;    // delivered messages the bus could not decode, dropped
    uint64_t unknown_senders; // heartbeats from nodes that are not configured peers
    // Ports that move between nodes (docs/bus.md, "Ports that move").
    uint64_t ports_moved_out;   // RECEIVE rights sent to another node
    uint64_t ports_moved_in;    // ports that came here
    uint64_t location_hints;    // senders told where a port that left lives now
    uint64_t redirects;         // proxies here redirected by such a hint
    uint64_t via_home;          // messages for a port not (yet) here, sent on via its home
    uint64_t signals_forwarded; // port_signal on a proxy here, sent to the port's node
    uint64_t unknown_targets;   // messages for a port no longer here: refused, never delivered
};
struct StatsResponse {
    uint32_t size; // sizeof(StatsInfo) in the reply data
};
// reply data = one StatsInfo. NOT_FOUND: the bus is off on this node.
using Stats = proto::Op<0x4202, proto::Empty, StatsResponse,
                        proto::Limits{.response_data = sizeof(StatsInfo)}>;

// A SEND right to a root export of another node through this node's bus: its name
// server (serial 1) or proc (serial 2), as a proxy the bus forwards to that node.
// NOT_FOUND: the bus is off or node is not a peer; NODE_DOWN: node is not up;
// INVALID_ARGUMENT: another serial, or this node; NO_SPACE: the bus's proxies are full.
struct RemoteRootRequest {
    uint32_t node;
    uint32_t serial;
};
struct RemoteRootResponse {
    uint64_t port_id; // node << 48 | serial
};
using RemoteRoot =
    proto::Op<0x4203, RemoteRootRequest, RemoteRootResponse, proto::Limits{.response_handles = 1}>;

} // namespace tern::bus

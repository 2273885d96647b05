#pragma once
// Remote ports in the network server (docs/bus.md, "Remote ports"): the kernel side of
// the tables in portable/remote_ports.h. bus.cpp feeds it remote messages and node
// losses; the protocol server hands it what arrives on the bus's proxies and reply ports.
#include <base/error.h>
#include <base/span.h>
#include <stdint.h>
#include <tern/abi/message.h>
#include <tern/protocol.h>

namespace tern::bus {

// From bus.cpp: queue a bus message for node (OK, or why not), and whether node is up.
base::Error send_bus_message(uint16_t node, base::Span<const uint8_t> bytes);
bool node_up(uint16_t node);

namespace remote {
// The last bus message kind the remote layer takes (remote.h: kSignalKind).
inline constexpr uint8_t kLastKind = 8;
// The remote layer's counters for busstat: ports that move (docs/bus.md, "Ports that
// move"), signals forwarded and messages for ports that are gone.
struct RemoteCounters {
    uint64_t moved = 0;           // ports that left this node (a RECEIVE right sent away)
    uint64_t arrived = 0;         // ports that came here
    uint64_t hints_sent = 0;      // senders told where a port that left lives now
    uint64_t redirected = 0;      // proxies here pointed at a port's new node by a hint
    uint64_t via_home = 0;        // messages for a port not here sent on through its home
    uint64_t signals = 0;         // signals forwarded from a proxy here to another node
    uint64_t unknown_targets = 0; // messages for a port that is gone: dropped, never delivered
};
// Makes the reply ports (members of set) and the root exports.
void start(uint16_t self, tern_handle_t set);
// A remote port message (kinds kSend..kPortGone) from node.
void on_message(uint16_t node, base::Span<const uint8_t> bytes);
// node is down or restarted: its proxies close, calls to it fail, its calls are orphaned.
void on_node_lost(uint16_t node);
// Tries again the messages held for full ports (flow control), and when it next must.
void run();
uint64_t next_deadline(uint64_t now);
// A message on a member of the bus's port set: a proxy or a reply port.
void on_member(void* context, tern_msg& msg, uint32_t key);
const RemoteCounters& remote_counters();
// The proxy SEND right for node's root export serial (bus::RemoteRoot).
base::Error root_proxy(uint16_t node, uint64_t serial, tern_handle_t& out);
} // namespace remote

} // namespace tern::bus

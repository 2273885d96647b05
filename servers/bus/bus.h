#pragma once
// The message bus inside the network server (docs/bus.md): the transport between nodes
// (portable/transport.h) on one lwIP raw UDP port, membership with heartbeats
// (portable/membership.h), and the "bus" protocol (<tern/protocols/bus.h>) on the network
// server's port. Everything runs in the server's one event loop: lwIP's receive callback
// feeds frames in, the loop's timeout drives the timers, so a frame costs no message
// between processes on either side.
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::bus {

inline constexpr uint16_t kUdpPort = 7400;

// Starts the bus when the node has a static address (ip=): reads the peers from
// /etc/hosts, numbers this life from the CMOS clock (rtc: its ports' resource, or
// TERN_INVALID_HANDLE), opens the UDP port. Without an address the bus stays off and
// says so.
// settings: from the boot options; an empty key means the built-in default key.
struct Settings {
    uint8_t key[32] = {};
    size_t key_length = 0; // bytes of key, 8-32; 0: none configured
    uint64_t down_ms = 0;  // 0: the membership's default
};
void start(tern_handle_t rtc, const Settings& settings);
// Registers the "bus" protocol's operations on the server and the name "bus" for its
// port (answered with NOT_FOUND while the bus is off).
void register_protocol(proto::Server& server, tern_handle_t port);
// Whether the bus runs on this node. The loop asks before calling run() and
// next_deadline(), so a node without the bus pays one load and test per round.
extern bool g_on;
inline bool is_on() { return g_on; }
// Runs what is due now: retransmissions, heartbeats, failure detection.
void run();
// The monotonic time (ns) run() next has work, or UINT64_MAX.
uint64_t next_deadline();

} // namespace tern::bus

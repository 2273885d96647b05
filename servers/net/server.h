#pragma once
// The network server's parts (servers/net): the socket table (sockets.cpp), the NIC
// interfaces (nic.cpp) and the event loop that drives them and lwIP (main.cpp).
#include <stdint.h>
#include <tern/protocol.h>

struct netif;

namespace netsrv {

// The server's port, where death notices for watched clients and drivers arrive.
extern tern_handle_t g_port;

// The node's static IPv4 settings (ip= and gw= among the boot options, which init lets
// the server read: init.conf +config), host byte order. Without them a NIC's interface
// asks DHCP for its address.
struct StaticAddress {
    bool set = false;
    uint32_t ip = 0;
    uint32_t netmask = 0;
    uint32_t gateway = 0;
};
extern StaticAddress g_static;

// Death-notice cookies: the top bit tells a NIC driver's port from a client task.
inline constexpr uint64_t kNicCookieBit = 1ull << 63;

void register_sockets(tern::proto::Server& server);
void register_nics(tern::proto::Server& server);
void register_views(tern::proto::Server& server);
void register_pings(tern::proto::Server& server);

// Answers every parked Poll whose sockets became ready or whose time is up, and every
// parked Recv or Send whose wait ran out (WOULD_BLOCK); the loop calls it after each
// round, since any message or timer may have changed a socket.
void check_polls();
// Between the two, TCP data lwIP hands over only marks its socket; deliver_held then
// answers each marked socket's parked Recv, so the segments of one Sync from a driver
// go to the program in one answer rather than one each.
void hold_deliveries();
void deliver_held();
// The earliest deadline of a parked Poll, Recv or Send (monotonic ns), or
// net::kPollForever.
uint64_t next_poll_deadline();
// A watched client task ended: its sockets close.
void client_gone(uint64_t cookie);
// A driver's port closed: its interface goes.
void nic_gone(uint64_t cookie);
// Whether any NIC is attached (the Ethernet timers are needed only then).
bool nics_attached();
// Whether a Ping waits for its reply (its timeout is an lwIP timer; ping.cpp).
bool pings_waiting();
// The name ifconfig shows for an interface lwIP knows.
void interface_name(const struct netif* netif, char (&name)[16]);
// For the views: the driver-reported counters and link of a NIC's interface (false for
// an interface that is not a NIC).
struct DeviceView {
    uint64_t rx_frames, tx_frames, errors, drops;
    uint64_t syncs, doorbells;
};
bool nic_device_view(const struct netif* netif, DeviceView& out);

} // namespace netsrv

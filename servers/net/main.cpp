// The network server: lwIP (NO_SYS, raw API) in one event loop, serving sockets to
// programs (<tern/protocols/net.h>) and interfaces to NIC drivers
// (<tern/protocols/nic.h>), registered as "net".
//
// The loop: run lwIP's due timers, deliver what the loopback interface queued, then wait
// for the next message no longer than lwIP's next timer. Everything lwIP does happens in
// this thread, in a handler or a timer, so nothing needs a lock. While no NIC is
// attached and no TCP connection needs its timer, the Ethernet timers (ARP, DHCP,
// reassembly) have nothing to do and the loop sleeps until a message comes, so an idle
// node without a NIC pays nothing for the server.
#include "portable/address.h"
#include "server.h"

#include <servers/bus/bus.h>

#include <tern/print.h>
#include <tern/protocols/net.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"

namespace netsrv {

tern_handle_t g_port = TERN_INVALID_HANDLE;
StaticAddress g_static;

namespace {

using namespace tern;
using base::Error;

// Loopback delivery queues a packet on the loopback interface; netif_poll hands the
// queue to lwIP's input, whose answers (an echo, an ACK) queue again. A bound on the
// rounds keeps a flood of traffic to oneself from starving the message loop.
void poll_loopback() {
    for (int round = 0; round < 64; ++round) {
        bool queued = false;
        struct netif* netif;
        NETIF_FOREACH(netif) {
            if (netif->loop_first)
                queued = true;
        }
        if (!queued)
            return;
        netif_poll_all();
    }
}

uint64_t lwip_wait_ns() {
    if (!nics_attached() && !tcp_active_pcbs && !tcp_tw_pcbs && !pings_waiting())
        return TERN_TIMEOUT_INFINITE;
    u32_t ms = sys_timeouts_sleeptime();
    if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
        return TERN_TIMEOUT_INFINITE;
    return uint64_t(ms) * 1000000ull;
}

// One boot option's value; empty when it is not set or cannot be read.
base::StringView boot_option(tern_handle_t config, const char* name, char (&buffer)[64]) {
    int64_t n =
        tern_sys_boot_option(config, reinterpret_cast<uint64_t>(name), __builtin_strlen(name),
                             reinterpret_cast<uint64_t>(buffer), sizeof(buffer));
    if (n < 0) {
        if (n != -TERN_NOT_FOUND)
            tern::println("net: boot option {} unreadable: {}", base::StringView(name),
                          base::error_name(tern::sys_status(n)));
        return {};
    }
    return base::StringView(buffer, size_t(n));
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// The bus's settings: cluster_key= (hex; the kernel checked its digits and length) and
// bus_down_ms=.
void read_bus_settings(tern_handle_t config, tern::bus::Settings& out) {
    char text[64];
    base::StringView key = boot_option(config, "cluster_key", text);
    if (key.size() % 2 == 0 && key.size() / 2 <= sizeof(out.key)) {
        size_t n = key.size() / 2;
        for (size_t i = 0; i < n; ++i) {
            int high = hex_value(key[2 * i]), low = hex_value(key[2 * i + 1]);
            if (high < 0 || low < 0) {
                n = 0;
                break;
            }
            out.key[i] = uint8_t(high << 4 | low);
        }
        out.key_length = n;
    } else {
        tern::println("net: cluster_key of {} digits not understood; default key", key.size());
    }
    base::StringView down = boot_option(config, "bus_down_ms", text);
    uint64_t ms = 0;
    for (char c : down) {
        if (c < '0' || c > '9' || ms > 1'000'000'000) {
            ms = 0;
            break;
        }
        ms = ms * 10 + uint64_t(c - '0');
    }
    out.down_ms = ms;
}

void read_boot_settings(tern::bus::Settings& bus_settings) {
    tern_handle_t config = tern::startup_handle(TERN_STARTUP_PRIVATE);
    if (config == TERN_INVALID_HANDLE)
        return;
    char ip[64], gw[64];
    base::StringView ip_text = boot_option(config, "ip", ip);
    base::StringView gw_text = boot_option(config, "gw", gw);
    read_bus_settings(config, bus_settings);
    (void)tern_sys_handle_close(config);
    if (ip_text.empty())
        return;
    StaticAddress a;
    if (!parse_ipv4_prefix(ip_text, a.ip, a.netmask)) {
        tern::println("net: ip={} is not a.b.c.d/len; interfaces use DHCP", ip_text);
        return;
    }
    if (!gw_text.empty() && !parse_ipv4(gw_text, a.gateway))
        tern::println("net: gw={} is not a.b.c.d; no gateway", gw_text);
    a.set = true;
    g_static = a;
}

// The wait is bounded by lwIP's next timer, by the first parked Poll to expire and by the
// bus's next retransmission, heartbeat or failure check.
uint64_t next_wait_ns() {
    uint64_t wait = lwip_wait_ns();
    uint64_t poll = next_poll_deadline();
    uint64_t bus = tern::bus::is_on() ? tern::bus::next_deadline() : UINT64_MAX;
    uint64_t deadline = poll < bus ? poll : bus;
    if (deadline == net::kPollForever)
        return wait;
    uint64_t now = uint64_t(tern_sys_clock_monotonic());
    uint64_t until = deadline > now ? deadline - now : 0;
    return until < wait ? until : wait;
}

void on_event(void*, const tern_msg& event, uint32_t) {
    if (event.hdr.label != TERN_LABEL_OBJECT_GONE)
        return;
    uint64_t cookie = event.words[0];
    if (cookie & kNicCookieBit)
        nic_gone(cookie);
    else
        client_gone(cookie);
}

void fill_interface(const struct netif* netif, net::InterfaceInfo& info) {
    info = {};
    interface_name(netif, info.name);
    __builtin_memcpy(info.mac, netif->hwaddr, sizeof(info.mac));
    info.mtu = netif->mtu;
    info.flags = (netif_is_up(netif) ? net::kInterfaceUp : 0)
                 | (netif_is_link_up(netif) ? net::kInterfaceLinkUp : 0)
                 | (netif->name[0] == 'l' && netif->name[1] == 'o' ? net::kInterfaceLoopback : 0);
    info.ip = lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(netif)));
    info.netmask = lwip_ntohl(ip4_addr_get_u32(netif_ip4_netmask(netif)));
    info.gateway = lwip_ntohl(ip4_addr_get_u32(netif_ip4_gw(netif)));
    const stats_mib2_netif_ctrs& c = netif->mib2_counters;
    info.rx_packets = uint64_t(c.ifinucastpkts) + c.ifinnucastpkts;
    info.rx_bytes = c.ifinoctets;
    info.rx_errors = c.ifinerrors;
    info.rx_drops = c.ifindiscards;
    info.tx_packets = uint64_t(c.ifoutucastpkts) + c.ifoutnucastpkts;
    info.tx_bytes = c.ifoutoctets;
    info.tx_errors = c.ifouterrors;
    info.tx_drops = c.ifoutdiscards;
    DeviceView device;
    if (nic_device_view(netif, device)) {
        info.device_rx_frames = device.rx_frames;
        info.device_tx_frames = device.tx_frames;
        info.device_errors = device.errors;
        info.device_drops = device.drops;
        info.syncs = device.syncs;
        info.doorbells = device.doorbells;
    }
}

Error on_interfaces(void*, proto::Request&, const proto::Empty&, net::InterfacesResponse& out,
                    proto::Reply& reply, proto::PendingReply&) {
    static net::InterfaceInfo infos[net::kMaxInterfaces];
    uint32_t n = 0;
    struct netif* netif;
    NETIF_FOREACH(netif) {
        if (n == net::kMaxInterfaces)
            break;
        fill_interface(netif, infos[n++]);
    }
    out.count = n;
    reply.data = {reinterpret_cast<const uint8_t*>(infos), n * sizeof(net::InterfaceInfo)};
    return Error::OK;
}

} // namespace

void register_views(proto::Server& server) {
    server.on<net::Interfaces>(static_cast<void*>(nullptr), on_interfaces);
}

} // namespace netsrv

extern "C" int main(uint64_t) {
    using namespace netsrv;
    int64_t port = tern_sys_port_create(64);
    if (port < 0) {
        tern::println("net: no port: {}", base::error_name(tern::sys_status(port)));
        return 1;
    }
    g_port = tern_handle_t(port);
    lwip_init(); // brings up the loopback interface, 127.0.0.1/8

    tern::proto::Server server("net", g_port);
    register_sockets(server);
    register_nics(server);
    register_views(server);
    register_pings(server);
    server.on_event(nullptr, on_event);
    if (auto r = tern::register_name("net", g_port); r.is_error()) {
        tern::println("net: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    tern::bus::Settings bus_settings;
    read_boot_settings(bus_settings);
    tern::println("net: lwIP {} serving; loopback 127.0.0.1", LWIP_VERSION_STRING);
    tern::bus::register_protocol(server, g_port);
    tern::bus::start(tern::startup_handle(TERN_STARTUP_PRIVATE + 1), bus_settings);
    for (;;) {
        sys_check_timeouts();
        poll_loopback();
        check_polls();
        if (tern::bus::is_on())
            tern::bus::run();
        base::Error e = server.serve_one(next_wait_ns());
        if (e == base::Error::OK || e == base::Error::TIMED_OUT || e == base::Error::WOULD_BLOCK)
            continue;
        if (e == base::Error::PEER_CLOSED || e == base::Error::BAD_HANDLE
            || e == base::Error::ACCESS_DENIED || e == base::Error::WRONG_TYPE) {
            tern::println("net: its port is unusable ({}); stopping", base::error_name(e));
            return 1;
        }
        tern::println("net: receive failed: {}", base::error_name(e));
        tern_sys_thread_sleep(10000000);
    }
}

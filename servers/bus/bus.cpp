// The bus in the network server: transport and membership over lwIP's raw UDP API
// (bus.h). Runs in the server's one thread, from lwIP's callbacks and the event loop.
#include "bus.h"

#include "portable/hmac_auth.h"
#include "portable/incarnation.h"
#include "portable/membership.h"
#include "portable/peers.h"
#include "portable/remote.h"
#include "portable/transport.h"
#include "remote_glue.h"

#include <servers/net/server.h>
#include <tern/abi/task.h>
#include <tern/print.h>
#include <tern/protocols/bootfs.h>
#include <tern/protocols/bus.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

namespace tern::bus {

bool g_on = false;

namespace {

using base::Error;

// The key every node uses when the configuration gives none, so that `./tern run --nodes
// N` works out of the box. Anyone with the image knows it: a cluster on a network others
// can reach needs its own key.
// A node configured with cluster_key= (read through init's +key grant) uses that.
constexpr uint8_t kDefaultKey[32] = {
    0x54, 0x65, 0x72, 0x6e, 0x20, 0x64, 0x65, 0x66, 0x61, 0x75, 0x6c, 0x74, 0x20, 0x62, 0x75, 0x73,
    0x20, 0x6b, 0x65, 0x79, 0x3a, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74};

constexpr size_t kMaxPeers = Membership::kMaxMembers;
// Frames one lwIP receive callback or one loop round hands the wire at most; the rest
// wait for the next round, so a burst of retransmissions cannot starve the sockets.
constexpr int kMaxFramesPerRound = 256;

struct State {
    uint16_t self = 0;
    uint32_t incarnation = 0;
    udp_pcb* pcb = nullptr;
    HmacAuth* auth = nullptr;
    Transport* transport = nullptr;
    Membership* members = nullptr;
    PeerAddress peers[kMaxPeers];
    size_t peer_count = 0;
    StatsInfo extra = {}; // the bus's own counters (unroutable, send_errors, ...)
    tern_handle_t port = TERN_INVALID_HANDLE; // the server's port: the remote ports' set
};
State g;

// Receive buffer: one byte more than the largest frame, so an oversized datagram reaches
// the decoder as oversized rather than cut to a plausible length.
uint8_t g_frame[kMaxFrame + 1];
OutFrame g_out;

uint64_t now_ns() { return uint64_t(tern_sys_clock_monotonic()); }

const PeerAddress* peer(uint16_t node) {
    for (size_t i = 0; i < g.peer_count; ++i) {
        if (g.peers[i].node == node)
            return &g.peers[i];
    }
    return nullptr;
}

// ---- The CMOS clock -------------------------------------------------------------------

uint8_t cmos_read(uint8_t reg) {
    uint8_t value;
    __asm__ volatile("outb %0, $0x70" : : "a"(reg));
    __asm__ volatile("inb $0x71, %0" : "=a"(value));
    return value;
}

void cmos_pause() { tern_sys_thread_yield(); }

bool read_clock(ClockTime& out) { return base::cmos_read_time(cmos_read, cmos_pause, out); }

// This life's number: the clock right after its seconds tick (incarnation.h says why).
uint32_t read_incarnation(tern_handle_t rtc) {
    if (rtc == TERN_INVALID_HANDLE) {
        tern::println("bus: no CMOS clock ports (init.conf +rtc); cannot number this life");
        return 0;
    }
    int64_t r = tern_sys_ioport_enable(rtc, 0x70, 2);
    (void)tern_sys_handle_close(rtc);
    if (r < 0) {
        tern::println("bus: CMOS clock ports refused: {}", base::error_name(tern::sys_status(r)));
        return 0;
    }
    ClockTime first;
    if (!read_clock(first))
        return 0;
    // Wait for the next tick (at most a second, with a margin), polling every 5 ms.
    for (int i = 0; i < 300; ++i) {
        tern_sys_thread_sleep(5'000'000);
        ClockTime t;
        if (!read_clock(t))
            return 0;
        if (t.second != first.second)
            return incarnation_of(t);
    }
    tern::println("bus: the CMOS clock does not tick");
    return 0;
}

// ---- Peers from /etc/hosts ------------------------------------------------------------

void read_peers() {
    ServiceHandle bootfs{"bootfs"};
    auto server = bootfs.get();
    if (server.is_error()) {
        tern::println("bus: no boot file system for /etc/hosts: {}",
                      base::error_name(server.error()));
        return;
    }
    static constexpr char kPath[] = "/etc/hosts";
    tern_handle_t memory = TERN_INVALID_HANDLE;
    uint32_t count = 0;
    proto::CallParts parts;
    parts.in_data = {reinterpret_cast<const uint8_t*>(kPath), sizeof(kPath) - 1};
    parts.out_handles = &memory;
    parts.out_handle_count = &count;
    auto r = proto::call<bootfs::Map>(server.value(), {}, parts);
    if (r.is_error() || count != 1) {
        tern::println("bus: /etc/hosts: {}",
                      r.is_error() ? base::error_name(r.error()) : "no memory in the answer");
        return;
    }
    const bootfs::MapResponse& m = r.value();
    if (m.data_offset > m.map_size || m.size > m.map_size - m.data_offset) {
        tern::println("bus: /etc/hosts: the file server's answer is malformed");
        (void)tern_sys_handle_close(memory);
        return;
    }
    int64_t at =
        tern_sys_vm_map_memory(tern::self(), memory, 0, m.map_offset, m.map_size, TERN_PROT_READ);
    (void)tern_sys_handle_close(memory);
    if (at < 0) {
        tern::println("bus: /etc/hosts: cannot map: {}", base::error_name(tern::sys_status(at)));
        return;
    }
    base::StringView text(reinterpret_cast<const char*>(at + m.data_offset), m.size);
    PeersParse p = parse_peers(text, g.self, g.peers, kMaxPeers);
    (void)tern_sys_vm_free(uint64_t(at), m.map_size);
    g.peer_count = p.count;
    if (p.malformed || p.dropped)
        tern::println("bus: /etc/hosts: {} malformed node lines and {} nodes beyond {} ignored",
                      p.malformed, p.dropped, kMaxPeers);
}

// ---- Frames and events ----------------------------------------------------------------

uint32_t load_figure() {
    tern_memory_info info = {};
    if (tern_sys_memory_info(reinterpret_cast<uint64_t>(&info)) < 0)
        return 0;
    return info.live_objects > UINT32_MAX ? UINT32_MAX : uint32_t(info.live_objects);
}

void flush_frames() {
    for (int i = 0; i < kMaxFramesPerRound && g.transport->pop_frame(g_out); ++i) {
        const PeerAddress* to = peer(g_out.destination);
        if (!to) {
            ++g.extra.unroutable;
            continue;
        }
        pbuf* p = pbuf_alloc(PBUF_TRANSPORT, uint16_t(g_out.length), PBUF_RAM);
        if (!p) {
            ++g.extra.send_errors;
            continue;
        }
        (void)pbuf_take(p, g_out.bytes, uint16_t(g_out.length));
        ip_addr_t ip;
        ip_addr_set_ip4_u32(&ip, lwip_htonl(to->ip));
        // A frame lwIP cannot send (no ARP entry yet, no buffer) is lost like one the
        // wire loses; the transport sends it again.
        if (udp_sendto(g.pcb, p, &ip, kUdpPort) != ERR_OK)
            ++g.extra.send_errors;
        pbuf_free(p);
    }
}

void take_events(uint64_t now) {
    Event e;
    while (g.transport->pop_event(e)) {
        switch (e.kind) {
        case EventKind::kDelivered: {
            Heartbeat hb;
            uint8_t kind = e.data.size() > 0 ? e.data[0] : 0;
            if (kind == uint8_t(BusMessageKind::kHeartbeat) && decode_heartbeat(e.data, hb)) {
                if (!g.members->on_heartbeat(e.node, hb, now))
                    ++g.extra.unknown_senders;
            } else if (kind >= uint8_t(BusMessageKind::kSend) && kind <= uint8_t(remote::kLastKind)
                       && g.members->find(e.node)) {
                g.members->on_heard(e.node, now);
                remote::on_message(e.node, e.data);
            } else {
                // Authenticated, so from a node with the key: a newer Tern or a bug, not
                // an attack. Counted and dropped.
                if (g.extra.bad_messages++ < 8)
                    tern::println("bus: dropped a {}-byte message of kind {} from node {}",
                                  e.data.size(), e.data.size() ? e.data[0] : 0, e.node);
                g.members->on_heard(e.node, now);
            }
            break;
        }
        case EventKind::kPeerDown:
            g.members->on_peer_down(e.node);
            remote::on_node_lost(e.node);
            break;
        case EventKind::kPeerRestarted:
            // Its exports and calls died with its last life.
            remote::on_node_lost(e.node);
            break;
        case EventKind::kSendFailed:
        case EventKind::kPeerUp:
            // A heartbeat that failed is replaced by the next one; sessions are the
            // transport's business; membership follows the heartbeats.
            break;
        }
    }
}

void log_changes() {
    MembershipChange c;
    while (g.members->pop_change(c)) {
        if (c.state == MemberState::kDown || c.previous_incarnation != 0)
            remote::on_node_lost(c.node);
        if (c.state == MemberState::kUp && c.previous_incarnation == 0)
            tern::println("bus: node {} up (incarnation {})", c.node, c.incarnation);
        else if (c.state == MemberState::kUp)
            tern::println("bus: node {} up (incarnation {}, was {})", c.node, c.incarnation,
                          c.previous_incarnation);
        else if (c.silence)
            tern::println("bus: node {} down (silent for {} ms)", c.node,
                          g.members->config().down_ns / 1'000'000);
        else
            tern::println("bus: node {} down (unacknowledged)", c.node);
    }
}

void send_heartbeats(uint64_t now) {
    uint16_t due[kMaxPeers];
    size_t n = g.members->due(now, base::Span<uint16_t>(due, kMaxPeers));
    if (n == 0)
        return;
    Heartbeat hb;
    hb.incarnation = g.incarnation;
    hb.load = load_figure();
    uint8_t bytes[kHeartbeatSize];
    encode_heartbeat(hb, bytes);
    for (size_t i = 0; i < n; ++i) {
        // One heartbeat in flight per peer: a dead peer costs one queued message.
        if (g.transport->pending_to(due[i]) != 0)
            continue;
        (void)g.transport->send(due[i], base::Span<const uint8_t>(bytes, sizeof(bytes)), now);
    }
}

void on_udp(void*, udp_pcb*, pbuf* p, const ip_addr_t*, u16_t) {
    size_t n = pbuf_copy_partial(p, g_frame, uint16_t(sizeof(g_frame)), 0);
    pbuf_free(p);
    uint64_t now = now_ns();
    g.transport->on_frame(base::Span<const uint8_t>(g_frame, n), now);
    take_events(now);
    log_changes();
    remote::run();
    flush_frames();
}

// ---- The protocol ---------------------------------------------------------------------

Error on_nodes(void*, proto::Request&, const proto::Empty&, NodesResponse& out, proto::Reply& reply,
               proto::PendingReply&) {
    if (!g_on)
        return Error::NOT_FOUND;
    static NodeInfo infos[kMaxNodes];
    uint64_t now = now_ns();
    base::Span<const Member> members = g.members->members();
    uint32_t n = 0;
    for (const Member& m : members) {
        if (n == kMaxNodes)
            break;
        NodeInfo& info = infos[n++];
        info = {};
        info.node = m.node;
        info.state = m.state == MemberState::kUp     ? kNodeUp
                     : m.state == MemberState::kDown ? kNodeDown
                                                     : kNodeUnknown;
        info.incarnation = m.incarnation;
        const PeerAddress* a = peer(m.node);
        info.ip = a ? a->ip : 0;
        info.load = m.load;
        info.ups = m.ups;
        info.downs = m.downs;
        info.heard_ago_ns = m.incarnation == 0 ? kNeverHeard : now - m.last_heard_ns;
    }
    out.self = g.self;
    out.incarnation = g.incarnation;
    out.count = n;
    out.down_ms = uint32_t(g.members->config().down_ns / 1'000'000);
    reply.data = {reinterpret_cast<const uint8_t*>(infos), n * sizeof(NodeInfo)};
    return Error::OK;
}

Error on_stats(void*, proto::Request&, const proto::Empty&, StatsResponse& out, proto::Reply& reply,
               proto::PendingReply&) {
    if (!g_on)
        return Error::NOT_FOUND;
    static StatsInfo s;
    const TransportCounters& c = g.transport->counters();
    s = g.extra;
    s.frames_sent = c.frames_sent;
    s.frames_received = c.frames_received;
    s.retransmits = c.retransmits;
    s.duplicates = c.duplicates;
    s.out_of_window = c.out_of_window;
    s.malformed = c.malformed;
    s.bad_tag = c.bad_tag;
    s.stale = c.stale;
    s.misdirected = c.misdirected;
    s.bad_fragments = c.bad_fragments;
    s.delivered = c.delivered;
    s.sent_messages = c.sent_messages;
    s.failed_messages = c.failed_messages;
    s.acked_messages = c.acked_messages;
    const remote::RemoteCounters& counters = remote::remote_counters();
    s.ports_moved_out = counters.moved;
    s.ports_moved_in = counters.arrived;
    s.location_hints = counters.hints_sent;
    s.redirects = counters.redirected;
    s.via_home = counters.via_home;
    s.signals_forwarded = counters.signals;
    s.unknown_targets = counters.unknown_targets;
    out.size = sizeof(s);
    reply.data = {reinterpret_cast<const uint8_t*>(&s), sizeof(s)};
    return Error::OK;
}

Error on_remote_root(void*, proto::Request&, const RemoteRootRequest& in, RemoteRootResponse& out,
                     proto::Reply& reply, proto::PendingReply&) {
    if (!g_on)
        return Error::NOT_FOUND;
    if (in.node > UINT16_MAX || !g.members->find(uint16_t(in.node)))
        return in.node == g.self ? Error::INVALID_ARGUMENT : Error::NOT_FOUND;
    tern_handle_t proxy = TERN_INVALID_HANDLE;
    Error e = remote::root_proxy(uint16_t(in.node), in.serial, proxy);
    if (e != Error::OK)
        return e;
    out.port_id = global_port_id(uint16_t(in.node), in.serial);
    reply.handles[0] = proxy;
    reply.handle_count = 1;
    return Error::OK;
}

} // namespace

Error send_bus_message(uint16_t node, base::Span<const uint8_t> bytes) {
    if (!g_on)
        return Error::NOT_FOUND;
    auto r = g.transport->send(node, bytes, now_ns());
    return r.ok() ? Error::OK : r.error();
}

bool node_up(uint16_t node) {
    const Member* m = g_on ? g.members->find(node) : nullptr;
    return m && m->state == MemberState::kUp;
}

void start(tern_handle_t rtc, const Settings& settings) {
    if (!netsrv::g_static.set) {
        if (rtc != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(rtc);
        tern::println("bus: off (no static address: ip= is not set)");
        return;
    }
    g.self = uint16_t(tern_sys_node_id());
    g.incarnation = read_incarnation(rtc);
    if (g.incarnation == 0) {
        tern::println("bus: off (no incarnation number for this life)");
        return;
    }
    read_peers();
    g.pcb = udp_new();
    if (!g.pcb || udp_bind(g.pcb, IP4_ADDR_ANY, kUdpPort) != ERR_OK) {
        tern::println("bus: off (UDP port {} unavailable)", kUdpPort);
        if (g.pcb)
            udp_remove(g.pcb);
        g.pcb = nullptr;
        return;
    }
    if (settings.key_length > 0) {
        tern::println("bus: authenticating frames with the cluster key ({} bytes)",
                      settings.key_length);
        g.auth = new HmacAuth(base::Span<const uint8_t>(settings.key, settings.key_length));
    } else {
        tern::println("bus: authenticating frames with the built-in default key (no "
                      "cluster_key=): anyone with the image can forge frames");
        g.auth = new HmacAuth(base::Span<const uint8_t>(kDefaultKey, sizeof(kDefaultKey)));
    }
    g.transport = new Transport(g.self, g.incarnation, *g.auth);
    MembershipConfig config;
    if (settings.down_ms > 0)
        config.down_ns = settings.down_ms * 1'000'000;
    g.members = new Membership(g.self, config);
    uint64_t now = now_ns();
    for (size_t i = 0; i < g.peer_count; ++i)
        (void)g.members->add_peer(g.peers[i].node, now);
    udp_recv(g.pcb, on_udp, nullptr);
    g_on = true;
    remote::start(g.self, g.port);
    tern::println("bus: node {} incarnation {} on UDP port {}, {} peers, down after {} ms", g.self,
                  g.incarnation, kUdpPort, g.peer_count, config.down_ns / 1'000'000);
}

void register_protocol(proto::Server& server, tern_handle_t port) {
    server.on<Nodes>(static_cast<void*>(nullptr), on_nodes);
    server.on<Stats>(static_cast<void*>(nullptr), on_stats);
    server.on<RemoteRoot>(static_cast<void*>(nullptr), on_remote_root);
    server.on_member(nullptr, remote::on_member);
    g.port = port;
    if (auto r = tern::register_name("bus", port); r.is_error())
        tern::println("bus: cannot register the name: {}", base::error_name(r.error()));
}

void run() {
    if (!g_on)
        return;
    uint64_t now = now_ns();
    if (g.transport->next_deadline() <= now)
        g.transport->on_tick(now);
    g.members->on_tick(now);
    send_heartbeats(now);
    take_events(now);
    log_changes();
    remote::run();
    flush_frames();
}

uint64_t next_deadline() {
    if (!g_on)
        return UINT64_MAX;
    uint64_t t = g.transport->next_deadline();
    uint64_t m = g.members->next_deadline();
    uint64_t r = remote::next_deadline(now_ns());
    if (r < t)
        t = r;
    return m < t ? m : t;
}

} // namespace tern::bus

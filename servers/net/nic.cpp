// The network server's side of the NIC protocol (<tern/protocols/nic.h>): each
// attached driver is one lwIP Ethernet interface whose frames move through the driver's
// buffer area. The stack sees only lwIP's netif; which device is underneath is the
// driver's business.
//
// Receive: a Sync request brings (index, length) descriptors; each frame is checked
// against the ledger, copied into a pbuf and handed to lwIP, and its buffer goes back to
// the driver in the same reply. Transmit: lwIP's linkoutput copies the frame into a free
// transmit buffer and queues its descriptor; the driver's port is rung when the queue
// goes from empty to not empty, and the driver fetches the queue with its next Sync.
//
// A driver that dies (its port closes) leaves its interface behind, link down, with its
// addresses: frames to it are dropped as on a cable pulled out, TCP retransmits, and when
// a driver attaches again under the same name and MAC address it takes the interface
// over, so connections through it survive a driver restart. Detach removes it for good.
//
// FIXME: received frames are copied once into lwIP's pool; handing lwIP the buffer itself
// (a custom pbuf returned to the driver when freed) would save the copy.
#include "server.h"

#include <base/utility.h>
#include <tern/print.h>
#include <tern/protocols/net.h>
#include <tern/protocols/nic.h>
#include <tern/startup.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/snmp.h"
#include "netif/ethernet.h"

namespace netsrv {

using namespace tern;
using base::Error;

namespace {

constexpr uint32_t kMaxNics = 4;
// Bad descriptors from a driver are logged this many times per NIC, then only counted.
constexpr uint64_t kLoggedCorruptions = 8;

struct Nic {
    bool used = false;
    bool orphan = false;     // its driver died; the interface waits for a new one
    uint16_t generation = 0; // bumped (never to 0) each time the slot is taken
    char name[16] = {};
    uint64_t owner = 0; // the driver's task id
    struct netif netif = {};
    uint8_t* area = nullptr;
    uint64_t area_size = 0;
    tern_handle_t area_handle = TERN_INVALID_HANDLE;
    tern_handle_t doorbell = TERN_INVALID_HANDLE;
    nic::Ledger ledger;
    nic::DescriptorQueue tx_queue;
    nic::Counters device = {};
    uint64_t corrupt = 0;
    uint64_t syncs = 0;     // Sync calls served
    uint64_t doorbells = 0; // doorbells rung
    // While the driver's Sync is being served: frames lwIP sends meanwhile (the ACKs and
    // segments the received frames call for) go back in its reply, so they ring nothing.
    bool in_sync = false;
};

Nic g_nics[kMaxNics];
// How many are attached: the loop asks on every turn, and the table's pages (a ledger
// and a queue per NIC) stay untouched on a node without one.
uint32_t g_attached = 0;

uint32_t nic_id(const Nic& n) { return (uint32_t(n.generation) << 16) | uint32_t(&n - g_nics); }

Nic* find(proto::Request& request, uint32_t id) {
    uint32_t index = id & 0xFFFF;
    if (index < kMaxNics) {
        Nic& n = g_nics[index];
        if (n.used && !n.orphan && n.generation == (id >> 16) && n.owner == request.badge())
            return &n;
    }
    request.set_refusal_reason("no such NIC for this driver");
    return nullptr;
}

void corrupt(Nic& n, const char* what, uint32_t index, uint32_t length) {
    ++n.corrupt;
    MIB2_STATS_NETIF_INC(&n.netif, ifinerrors);
    if (n.corrupt <= kLoggedCorruptions)
        println(
            "net: {}: refused {} (buffer {}, length {}){}", base::StringView(n.name), what, index,
            length,
            base::StringView(n.corrupt == kLoggedCorruptions ? "; further ones are counted" : ""));
}

void ring(Nic& n) {
    ++n.doorbells;
    (void)tern_sys_port_signal(n.doorbell, nic::kDoorbell);
}

err_t link_output(struct netif* netif, struct pbuf* p) {
    Nic& n = *static_cast<Nic*>(netif->state);
    if (!netif_is_link_up(netif) || p->tot_len > n.ledger.max_frame()) {
        MIB2_STATS_NETIF_INC(netif, ifoutdiscards);
        return ERR_IF;
    }
    auto buffer = n.ledger.take_tx();
    if (buffer.is_error()) {
        // Every transmit buffer is with the driver: the frame is dropped, and TCP sends
        // it again.
        MIB2_STATS_NETIF_INC(netif, ifoutdiscards);
        return ERR_MEM;
    }
    uint16_t index = buffer.value();
    uint16_t length = p->tot_len < nic::kMinFrame ? uint16_t(nic::kMinFrame) : p->tot_len;
    uint8_t* frame = n.area + n.ledger.geometry().tx_offset(index);
    if (p->tot_len < length)
        __builtin_memset(frame, 0, length);
    (void)pbuf_copy_partial(p, frame, p->tot_len, 0);
    if (n.ledger.frame_sent({index, length}) != Error::OK) {
        n.ledger.untake_tx(index);
        MIB2_STATS_NETIF_INC(netif, ifoutdiscards);
        return ERR_IF;
    }
    bool was_empty = n.tx_queue.empty();
    (void)n.tx_queue.push({index, length});
    MIB2_STATS_NETIF_ADD(netif, ifoutoctets, length);
    MIB2_STATS_NETIF_INC(netif, ifoutucastpkts);
    if (was_empty && !n.in_sync)
        ring(n);
    return ERR_OK;
}

err_t netif_setup(struct netif* netif) {
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->output = etharp_output;
    netif->linkoutput = link_output;
    netif->hwaddr_len = ETH_HWADDR_LEN;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    return ERR_OK;
}

// Lets go of the driver's buffer area and port; the interface stays.
void release_driver(Nic& n) {
    (void)tern_sys_vm_free(reinterpret_cast<uint64_t>(n.area), n.area_size);
    (void)tern_sys_handle_close(n.area_handle);
    (void)tern_sys_handle_close(n.doorbell);
    n.area = nullptr;
    n.area_size = 0;
    n.area_handle = TERN_INVALID_HANDLE;
    n.doorbell = TERN_INVALID_HANDLE;
    n.owner = 0;
    n.tx_queue.clear();
}

void detach(Nic& n) {
    dhcp_stop(&n.netif);
    dhcp_cleanup(&n.netif);
    netif_remove(&n.netif);
    if (!n.orphan)
        release_driver(n);
    println("net: {}: detached", base::StringView(n.name));
    n.used = false;
    n.orphan = false;
    --g_attached;
}

// The driver is gone but the interface stays, link down, for the next driver.
void orphan(Nic& n) {
    release_driver(n);
    n.orphan = true;
    netif_set_link_down(&n.netif);
    println("net: {}: link down until a driver attaches again (addresses and connections "
            "kept)",
            base::StringView(n.name));
}

bool valid_name(base::Span<const uint8_t> name) {
    if (name.size() == 0 || name.size() > nic::kMaxNameLength)
        return false;
    for (uint8_t c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return false;
    return true;
}

Error on_attach(void*, proto::Request& request, const nic::AttachRequest& in,
                nic::AttachResponse& out, proto::Reply&, proto::PendingReply&) {
    nic::Geometry geometry{in.rx_count, in.tx_count};
    if (!valid_name(request.data())) {
        request.set_refusal_reason("name must be 1..15 of [a-z0-9]");
        return Error::INVALID_ARGUMENT;
    }
    if (in.mtu < nic::kMinMtu || in.mtu > nic::kMaxMtu || in.buffer_size != nic::kBufferSize
        || !geometry.valid() || (in.flags & ~nic::kLinkUp) != 0) {
        request.set_refusal_reason("MTU, buffer size, buffer counts or flags out of range");
        return Error::INVALID_ARGUMENT;
    }
    if (request.handle_count() != 2) {
        request.set_refusal_reason("needs the buffer area and the driver's port");
        return Error::INVALID_ARGUMENT;
    }
    base::StringView name(reinterpret_cast<const char*>(request.data().data()),
                          request.data().size());
    Nic* slot = nullptr;
    for (Nic& n : g_nics) {
        if (n.used && base::StringView(n.name) == name) {
            // The same device back under a new driver takes its interface over; anything
            // else under a name in use is refused.
            if (!n.orphan || __builtin_memcmp(n.netif.hwaddr, in.mac, ETH_HWADDR_LEN) != 0)
                return Error::ALREADY_EXISTS;
            slot = &n;
            break;
        }
        if (!n.used && !slot)
            slot = &n;
    }
    if (!slot)
        return Error::NO_SPACE;
    Nic& n = *slot;
    bool rebind = n.used && n.orphan;
    uint16_t generation = uint16_t(n.generation + 1 == 0 ? 1 : n.generation + 1);
    n.generation = generation;
    if (n.ledger.reset(geometry, in.mtu + nic::kEthernetHeader) != Error::OK)
        return Error::INVALID_ARGUMENT;
    tern_handle_t area = request.take_handle(0);
    tern_handle_t port = request.take_handle(1);
    int64_t at = tern_sys_vm_map_memory(tern::self(), area, 0, 0, geometry.area_size(),
                                        TERN_PROT_READ | TERN_PROT_WRITE);
    if (at < 0) {
        (void)tern_sys_handle_close(area);
        (void)tern_sys_handle_close(port);
        request.set_refusal_reason("the buffer area cannot be mapped at its size");
        Error e = tern::sys_status(at);
        return proto::is_refusal(e) ? e : Error::INVALID_ARGUMENT;
    }
    proto::SlotCookie cookie{uint32_t(&n - g_nics), generation};
    if (tern_sys_object_watch(port, g_port, kNicCookieBit | cookie.value()) < 0) {
        (void)tern_sys_vm_free(uint64_t(at), geometry.area_size());
        (void)tern_sys_handle_close(area);
        (void)tern_sys_handle_close(port);
        request.set_refusal_reason("the driver's port cannot be watched");
        return Error::INVALID_ARGUMENT;
    }
    __builtin_memcpy(n.name, name.data(), name.size());
    n.name[name.size()] = '\0';
    n.owner = request.badge();
    n.area = reinterpret_cast<uint8_t*>(at);
    n.area_size = geometry.area_size();
    n.area_handle = area;
    n.doorbell = port;
    n.device = {};
    n.corrupt = 0;
    n.syncs = 0;
    n.doorbells = 0;
    n.tx_queue.clear();
    if (rebind) {
        n.orphan = false;
        n.netif.mtu = in.mtu;
        if (in.flags & nic::kLinkUp)
            netif_set_link_up(&n.netif);
        println("net: {}: a new driver took the interface over, MTU {}, {}+{} buffers, link {}",
                base::StringView(n.name), in.mtu, in.rx_count, in.tx_count,
                base::StringView((in.flags & nic::kLinkUp) ? "up" : "down"));
        out.nic = nic_id(n);
        return Error::OK;
    }
    n.netif = {};
    if (!netif_add(&n.netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, &n, netif_setup,
                   ethernet_input)) {
        (void)tern_sys_vm_free(uint64_t(at), n.area_size);
        (void)tern_sys_handle_close(area);
        (void)tern_sys_handle_close(port);
        return Error::NO_SPACE;
    }
    __builtin_memcpy(n.netif.hwaddr, in.mac, ETH_HWADDR_LEN);
    n.netif.mtu = in.mtu;
    n.used = true;
    ++g_attached;
    netif_set_up(&n.netif);
    if (in.flags & nic::kLinkUp)
        netif_set_link_up(&n.netif);
    // FIXME: with more than one NIC every interface gets the node's one static address;
    // per-interface settings come with the node configuration's interfaces.
    if (g_static.set) {
        ip4_addr_t ip, mask, gw;
        ip4_addr_set_u32(&ip, lwip_htonl(g_static.ip));
        ip4_addr_set_u32(&mask, lwip_htonl(g_static.netmask));
        ip4_addr_set_u32(&gw, lwip_htonl(g_static.gateway));
        netif_set_addr(&n.netif, &ip, &mask, &gw);
        if (!netif_default)
            netif_set_default(&n.netif);
    } else {
        (void)dhcp_start(&n.netif);
    }
    println("net: {}: attached, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, MTU {}, {}+{} "
            "buffers",
            base::StringView(n.name), in.mac[0], in.mac[1], in.mac[2], in.mac[3], in.mac[4],
            in.mac[5], in.mtu, in.rx_count, in.tx_count);
    out.nic = nic_id(n);
    return Error::OK;
}

Error on_sync(void*, proto::Request& request, const nic::SyncRequest& in, nic::SyncResponse& out,
              proto::Reply&, proto::PendingReply&) {
    Nic* found = find(request, in.nic);
    if (!found)
        return Error::BAD_HANDLE;
    Nic& n = *found;
    ++n.syncs;
    if (nic::check_sync(in) != Error::OK) {
        request.set_refusal_reason("descriptor counts over kSyncEntries, or flags set");
        return Error::INVALID_ARGUMENT;
    }
    for (uint32_t i = in.rx_count; i < uint32_t(in.rx_count) + in.tx_done_count; ++i) {
        nic::Descriptor d = nic::unpack(in.entries[i]);
        if (n.ledger.tx_done(d.index) != Error::OK)
            corrupt(n, "a transmit buffer it does not hold", d.index, 0);
    }
    // Every frame is taken (and copied, or dropped) before any buffer goes back, so a
    // buffer named twice in one request is refused the second time.
    uint16_t returned[nic::kSyncEntries];
    pbuf* frames[nic::kSyncEntries];
    uint32_t returned_count = 0;
    for (uint32_t i = 0; i < in.rx_count; ++i) {
        nic::Descriptor d = nic::unpack(in.entries[i]);
        if (n.ledger.frame_received(d) != Error::OK) {
            corrupt(n, "a received frame", d.index, d.length);
            continue;
        }
        pbuf* p = pbuf_alloc(PBUF_RAW, d.length, PBUF_POOL);
        if (p)
            (void)pbuf_take(p, n.area + n.ledger.geometry().rx_offset(d.index), d.length);
        else
            MIB2_STATS_NETIF_INC(&n.netif, ifindiscards);
        frames[returned_count] = p;
        returned[returned_count++] = d.index;
    }
    n.in_sync = true;
    hold_deliveries();
    for (uint32_t i = 0; i < returned_count; ++i) {
        (void)n.ledger.rx_returned(returned[i]);
        pbuf* p = frames[i];
        if (!p)
            continue;
        MIB2_STATS_NETIF_ADD(&n.netif, ifinoctets, p->tot_len);
        MIB2_STATS_NETIF_INC(&n.netif, ifinucastpkts);
        if (n.netif.input(p, &n.netif) != ERR_OK)
            pbuf_free(p);
    }
    // Answering the programs' Recvs may open windows: the updates go in this reply too.
    deliver_held();
    n.in_sync = false;
    nic::Descriptor tx[nic::kSyncEntries];
    size_t tx_count = n.tx_queue.peek({tx, nic::kSyncEntries - returned_count});
    nic::Packed packed = nic::encode_sync(out, {returned, returned_count}, {tx, tx_count});
    n.tx_queue.drop(packed.second);
    if (!n.tx_queue.empty())
        out.flags |= nic::kSyncMore;
    return Error::OK;
}

Error on_status(void*, proto::Request& request, const nic::StatusRequest& in, proto::Empty&,
                proto::Reply&, proto::PendingReply&) {
    Nic* n = find(request, in.nic);
    if (!n)
        return Error::BAD_HANDLE;
    if ((in.flags & ~nic::kLinkUp) != 0 || request.data().size() != sizeof(nic::Counters)) {
        request.set_refusal_reason("unknown flags, or data is not the counters");
        return Error::INVALID_ARGUMENT;
    }
    __builtin_memcpy(&n->device, request.data().data(), sizeof(nic::Counters));
    bool up = in.flags & nic::kLinkUp;
    if (up != bool(netif_is_link_up(&n->netif))) {
        if (up)
            netif_set_link_up(&n->netif);
        else
            netif_set_link_down(&n->netif);
        println("net: {}: link {}", base::StringView(n->name),
                base::StringView(up ? "up" : "down"));
    }
    return Error::OK;
}

Error on_detach(void*, proto::Request& request, const nic::DetachRequest& in, proto::Empty&,
                proto::Reply&, proto::PendingReply&) {
    Nic* n = find(request, in.nic);
    if (!n)
        return Error::BAD_HANDLE;
    detach(*n);
    return Error::OK;
}

} // namespace

void nic_gone(uint64_t cookie) {
    proto::SlotCookie slot = proto::SlotCookie::from(cookie & ~kNicCookieBit);
    if (slot.index >= kMaxNics)
        return;
    Nic& n = g_nics[slot.index];
    if (!n.used || n.generation != slot.generation)
        return;
    println("net: {}: the driver's port closed", base::StringView(n.name));
    orphan(n);
}

bool nics_attached() { return g_attached > 0; }

void interface_name(const struct netif* netif, char (&name)[16]) {
    for (const Nic& n : g_nics) {
        if (g_attached == 0)
            break;
        if (n.used && &n.netif == netif) {
            __builtin_memcpy(name, n.name, sizeof(name));
            return;
        }
    }
    name[0] = netif->name[0];
    name[1] = netif->name[1];
    name[2] = char('0' + netif->num % 10);
    name[3] = '\0';
}

bool nic_device_view(const struct netif* netif, DeviceView& out) {
    for (const Nic& n : g_nics) {
        if (g_attached == 0)
            break;
        if (n.used && &n.netif == netif) {
            out = {n.device.rx_frames,
                   n.device.tx_frames,
                   n.device.rx_errors + n.device.tx_errors,
                   n.device.rx_drops + n.device.tx_drops,
                   n.syncs,
                   n.doorbells};
            return true;
        }
    }
    return false;
}

void register_nics(proto::Server& server) {
    server.on<nic::Attach>(static_cast<void*>(nullptr), on_attach);
    server.on<nic::Sync>(static_cast<void*>(nullptr), on_sync);
    server.on<nic::Status>(static_cast<void*>(nullptr), on_status);
    server.on<nic::Detach>(static_cast<void*>(nullptr), on_detach);
}

} // namespace netsrv

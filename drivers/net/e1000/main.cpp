// The e1000 driver: Intel's 82540EM (QEMU's `-device e1000`) as a network interface of
// the network server, through the NIC protocol (<tern/protocols/nic.h>).
//
// init starts it with a device port from the PCI bus server (TERN_STARTUP_PRIVATE) and
// the function's address as its argument. It maps BAR 0 (the registers), resets the
// device, reads the MAC address (RAL/RAH, or the EEPROM), and puts both descriptor rings
// in one DMA page and the protocol's buffer area in one contiguous DMA memory object,
// which it shares with the server: the device writes received frames straight into the
// buffers the server reads, and sends from the buffers the server fills, so frame bytes
// are never copied through messages.
//
// The loop: the interrupt (INTx; the cause comes from ICR, which reading clears) and the
// server's doorbell both lead to one Sync, which passes received frames and finished
// transmit buffers to the server and brings back receive buffers and frames to send.
// Link changes (LSC) and, once a second, the device's counters go to the server in a
// Status. When the server goes away the driver ends, and init starts it again: a fresh
// claim, a fresh reset, a fresh Attach.
#include <base/utility.h>
#include <driver/dma.h>
#include <driver/irq.h>
#include <driver/mmio.h>
#include <drivers/net/e1000/portable/rings.h>
#include <tern/print.h>
#include <tern/protocols/nic.h>
#include <tern/protocols/pci.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;
using base::Error;

namespace {

// Registers (82540EM manual, section 13).
constexpr uint32_t kCtrl = 0x0000;
constexpr uint32_t kStatus = 0x0008;
constexpr uint32_t kEeprom = 0x0014; // EERD
constexpr uint32_t kIcr = 0x00C0;
constexpr uint32_t kIms = 0x00D0;
constexpr uint32_t kImc = 0x00D8;
constexpr uint32_t kIvar = 0x00E4; // 82574 only
constexpr uint32_t kIvarAllToVector0 = 0x00088888;
// With MSI-X the 82574 reports queue causes (receive queue 0, transmit queue 0, other) that
// the IVAR routes; they must be enabled in IMS too.
constexpr uint32_t kIntMsixQueues = (1u << 20) | (1u << 22) | (1u << 24);
constexpr uint32_t kRctl = 0x0100;
constexpr uint32_t kTctl = 0x0400;
constexpr uint32_t kTipg = 0x0410;
constexpr uint32_t kRdbal = 0x2800;
constexpr uint32_t kRdbah = 0x2804;
constexpr uint32_t kRdlen = 0x2808;
constexpr uint32_t kRdh = 0x2810;
constexpr uint32_t kRdt = 0x2818;
constexpr uint32_t kTdbal = 0x3800;
constexpr uint32_t kTdbah = 0x3804;
constexpr uint32_t kTdlen = 0x3808;
constexpr uint32_t kTdh = 0x3810;
constexpr uint32_t kTdt = 0x3818;
constexpr uint32_t kMta = 0x5200;
constexpr uint32_t kRal = 0x5400;
constexpr uint32_t kRah = 0x5404;
// Statistics, cleared by reading.
constexpr uint32_t kCrcErrors = 0x4000;
constexpr uint32_t kRxErrors = 0x400C;
constexpr uint32_t kMissed = 0x4010;
constexpr uint32_t kRxNoBuffers = 0x40A0;

constexpr uint32_t kCtrlLinkUp = 1 << 6; // SLU
constexpr uint32_t kCtrlAutoSpeed = 1 << 5;
constexpr uint32_t kCtrlReset = 1u << 26;
constexpr uint32_t kCtrlPhyReset = 1u << 31;
constexpr uint32_t kCtrlLinkReset = 1 << 3;
constexpr uint32_t kStatusLinkUp = 1 << 1;
constexpr uint32_t kRctlEnable = 1 << 1;
constexpr uint32_t kRctlBroadcast = 1 << 15;
constexpr uint32_t kRctlStripCrc = 1u << 26; // SECRC; buffer size 2048 is BSIZE 00
constexpr uint32_t kTctlEnable = 1 << 1;
constexpr uint32_t kTctlPadShort = 1 << 3;
constexpr uint32_t kTctlCollisionThreshold = 0x0F << 4;
constexpr uint32_t kTctlCollisionDistance = 0x40 << 12;
constexpr uint32_t kTipgValue = 10 | (8 << 10) | (6 << 20);
// Interrupt causes.
constexpr uint32_t kIntTxDone = 1 << 0;
constexpr uint32_t kIntLinkChange = 1 << 2;
constexpr uint32_t kIntRxSequence = 1 << 3;
constexpr uint32_t kIntRxLow = 1 << 4;
constexpr uint32_t kIntRxOverrun = 1 << 6;
constexpr uint32_t kIntRxTimer = 1 << 7;
constexpr uint32_t kInterrupts =
    kIntTxDone | kIntLinkChange | kIntRxSequence | kIntRxLow | kIntRxOverrun | kIntRxTimer;

constexpr uint32_t kRxBuffers = 64;
constexpr uint32_t kTxBuffers = 64;
constexpr uint32_t kRingSize = 128; // twice the buffers: a ring never fills
constexpr uint16_t kMtu = 1500;
constexpr uint32_t kMaxFrame = kMtu + nic::kEthernetHeader;
constexpr uint64_t kIrqBit = 1;
constexpr uint64_t kSecondNs = 1000000000ull;
constexpr uint64_t kCallTimeoutNs = 5 * kSecondNs;

struct Device {
    driver::Mmio regs;
    e1000::RxRing rx;
    e1000::TxRing tx;
    e1000::RxCounters rx_counters;
    e1000::TxCounters tx_counters;
    nic::Counters counters = {};
    uint32_t causes = 0; // read from ICR, not yet handled
    bool link = false;
    bool link_changed = false;

    // Pending work for the next Sync: frames for the server, transmit buffers done.
    nic::Descriptor received[kRxBuffers];
    uint32_t received_count = 0;
    uint16_t sent[kTxBuffers];
    uint32_t sent_count = 0;

    // The interrupt causes, cleared by writing them back: reading clears them on the
    // 82540EM, but not on the 82574 with MSI-X enabled, and writing ones clears on both.
    uint32_t take_causes() {
        uint32_t now = regs.read32(kIcr);
        if (now)
            regs.write32(kIcr, now);
        return now;
    }
    // driver::Irq::serve: take what the rings hold; taking the causes lowers the line.
    void drain() {
        causes |= take_causes();
        if (causes & kIntLinkChange) {
            bool up = regs.read32(kStatus) & kStatusLinkUp;
            link_changed |= up != link;
            link = up;
        }
        causes = 0;
        received_count += uint32_t(
            rx.harvest({received + received_count, kRxBuffers - received_count}, rx_counters));
        sent_count +=
            uint32_t(tx.reclaim({sent + sent_count, kTxBuffers - sent_count}, tx_counters));
    }
    bool pending() {
        causes |= take_causes();
        return (causes & kInterrupts) != 0 || (rx.ready() && received_count < kRxBuffers);
    }
};

struct State {
    tern_handle_t port = TERN_INVALID_HANDLE;
    tern_handle_t net = TERN_INVALID_HANDLE;
    uint32_t nic = 0;
    char name[16] = {};
    Device dev;
    driver::Irq irq;
    driver::DmaBuffer rings;
    driver::DmaBuffer area;
    nic::Ledger ledger;
    uint64_t corrupt = 0;
    uint64_t last_status = 0;
};

State g_state;

[[noreturn]] void stop(const char* what, Error e) {
    println("e1000: {}: {}: {}", base::StringView(g_state.name), base::StringView(what),
            base::error_name(e));
    tern_sys_task_exit(1);
    __builtin_trap();
}

template<typename T>
T must(base::Result<T> r, const char* what) {
    if (r.is_error())
        stop(what, r.error());
    return r.value();
}

void must(Error e, const char* what) {
    if (e != Error::OK)
        stop(what, e);
}

uint32_t config_read(tern_handle_t device, uint16_t offset, uint8_t width) {
    return must(proto::call<pci::ConfigRead>(device, {offset, width, 0, 0}, {}, kCallTimeoutNs),
                "reading configuration space")
        .value;
}

void config_write(tern_handle_t device, uint16_t offset, uint8_t width, uint32_t value) {
    must(proto::call<pci::ConfigWrite>(device, {offset, width, 0, value}, {}, kCallTimeoutNs),
         "writing configuration space");
}

uint16_t eeprom_read(const driver::Mmio& regs, uint8_t word) {
    regs.write32(kEeprom, 1u | (uint32_t(word) << 8));
    for (int spin = 0; spin < 100000; ++spin) {
        uint32_t v = regs.read32(kEeprom);
        if (v & (1u << 4))
            return uint16_t(v >> 16);
    }
    return 0xFFFF;
}

void read_mac(const driver::Mmio& regs, uint8_t (&mac)[6]) {
    uint32_t low = regs.read32(kRal), high = regs.read32(kRah);
    if (high & (1u << 31)) {
        for (int i = 0; i < 4; ++i)
            mac[i] = uint8_t(low >> (8 * i));
        mac[4] = uint8_t(high);
        mac[5] = uint8_t(high >> 8);
        return;
    }
    for (uint8_t i = 0; i < 3; ++i) {
        uint16_t w = eeprom_read(regs, i);
        mac[2 * i] = uint8_t(w);
        mac[2 * i + 1] = uint8_t(w >> 8);
    }
    regs.write32(kRal, uint32_t(mac[0]) | (uint32_t(mac[1]) << 8) | (uint32_t(mac[2]) << 16)
                           | (uint32_t(mac[3]) << 24));
    regs.write32(kRah, uint32_t(mac[4]) | (uint32_t(mac[5]) << 8) | (1u << 31));
}

void reset(const driver::Mmio& regs) {
    regs.write32(kImc, 0xFFFFFFFFu);
    regs.write32(kCtrl, regs.read32(kCtrl) | kCtrlReset);
    // The reset takes about a microsecond; wait for the bit to clear, no longer than 100 ms.
    for (int i = 0; i < 100 && (regs.read32(kCtrl) & kCtrlReset); ++i)
        tern_sys_thread_sleep(1000000);
    regs.write32(kImc, 0xFFFFFFFFu);
    (void)regs.read32(kIcr);
}

void collect_counters(State& s) {
    Device& d = s.dev;
    const driver::Mmio& r = d.regs;
    d.counters.rx_errors += r.read32(kCrcErrors) + r.read32(kRxErrors);
    d.counters.rx_drops += r.read32(kMissed) + r.read32(kRxNoBuffers);
    d.counters.rx_frames = d.rx_counters.frames;
    d.counters.rx_bytes = d.rx_counters.bytes;
    d.counters.tx_frames = d.tx_counters.frames;
    d.counters.tx_bytes = d.tx_counters.bytes;
    d.counters.tx_errors = d.tx_counters.refused;
}

void send_status(State& s) {
    collect_counters(s);
    nic::Counters c = s.dev.counters;
    c.rx_errors += s.dev.rx_counters.errors + s.dev.rx_counters.runts + s.dev.rx_counters.oversize;
    proto::CallParts parts;
    parts.in_data = {reinterpret_cast<const uint8_t*>(&c), sizeof(c)};
    auto r = proto::call<nic::Status>(s.net, {s.nic, s.dev.link ? nic::kLinkUp : 0u}, parts,
                                      kCallTimeoutNs);
    if (r.is_error())
        stop("the network server refused the status", r.error());
    s.last_status = uint64_t(tern_sys_clock_monotonic());
}

void corrupt(State& s, const char* what, uint16_t index) {
    ++s.corrupt;
    if (s.corrupt <= 8)
        println("e1000: {}: the network server sent {} (buffer {}){}", base::StringView(s.name),
                base::StringView(what), index,
                base::StringView(s.corrupt == 8 ? "; further ones are counted" : ""));
}

// Exchanges descriptors with the server until neither side has more for the other.
void sync(State& s) {
    Device& d = s.dev;
    for (int round = 0; round < 64; ++round) {
        nic::SyncRequest request;
        nic::Packed packed = nic::encode_sync(request, s.nic, {d.received, d.received_count},
                                              {d.sent, d.sent_count});
        for (uint32_t i = 0; i < packed.first; ++i)
            (void)s.ledger.frame_received(d.received[i]); // harvested frames are in range
        for (uint32_t i = 0; i < packed.second; ++i)
            (void)s.ledger.tx_released(d.sent[i]);
        auto r = proto::call<nic::Sync>(s.net, request, {}, kCallTimeoutNs);
        if (r.is_error())
            stop("the network server refused a sync", r.error());
        // What went out leaves the pending lists.
        for (uint32_t i = packed.first; i < d.received_count; ++i)
            d.received[i - packed.first] = d.received[i];
        d.received_count -= packed.first;
        for (uint32_t i = packed.second; i < d.sent_count; ++i)
            d.sent[i - packed.second] = d.sent[i];
        d.sent_count -= packed.second;

        const nic::SyncResponse& reply = r.value();
        if (nic::check_sync(reply) != Error::OK)
            stop("the network server's sync reply is malformed", Error::CORRUPT);
        for (uint32_t i = 0; i < reply.rx_free_count; ++i) {
            nic::Descriptor e = nic::unpack(reply.entries[i]);
            if (s.ledger.rx_returned(e.index) != Error::OK)
                corrupt(s, "back a receive buffer it does not hold", e.index);
            else if (!d.rx.post(e.index))
                stop("the receive ring is full", Error::CORRUPT); // cannot happen: 128 > 64
        }
        bool queued = false;
        for (uint32_t i = reply.rx_free_count; i < uint32_t(reply.rx_free_count) + reply.tx_count;
             ++i) {
            nic::Descriptor e = nic::unpack(reply.entries[i]);
            if (s.ledger.frame_sent(e) != Error::OK) {
                corrupt(s, "a frame in a buffer it does not hold, or of a bad length", e.index);
                continue;
            }
            if (d.tx.submit(e, d.tx_counters) != Error::OK) {
                // Checked by the ledger already; the buffer goes back unsent.
                d.sent[d.sent_count++] = e.index;
                continue;
            }
            queued = true;
        }
        d.regs.write32(kRdt, d.rx.tail());
        if (queued)
            d.regs.write32(kTdt, d.tx.tail());
        if (!(reply.flags & nic::kSyncMore) && d.received_count == 0 && d.sent_count == 0)
            return;
    }
}

void on_irq(State& s) {
    if (auto r = s.irq.serve(s.dev); r.is_error())
        stop("serving the interrupt", r.error());
    if (s.dev.link_changed) {
        s.dev.link_changed = false;
        println("e1000: {}: link {}", base::StringView(s.name),
                base::StringView(s.dev.link ? "up" : "down"));
        send_status(s);
    }
}

void setup(State& s, tern_handle_t device) {
    pci::DeviceInfo info;
    uint32_t size = 0;
    proto::CallParts info_parts;
    info_parts.out_data = {reinterpret_cast<uint8_t*>(&info), sizeof(info)};
    info_parts.out_data_size = &size;
    must(proto::call<pci::Info>(device, {}, info_parts, kCallTimeoutNs), "asking for the device");
    if (size != sizeof(info))
        stop("the bus server's device record is malformed", Error::CORRUPT);
    base::BufferSink name(s.name, sizeof(s.name));
    // Named by where it sits, as Linux names predictably: enp<bus>s<slot>[f<function>].
    base::format_to(name, "enp{}s{}", info.address.bus, info.address.device);
    if (info.address.function)
        base::format_to(name, "f{}", info.address.function);

    tern_handle_t bar = TERN_INVALID_HANDLE;
    uint32_t handle_count = 0;
    proto::CallParts bar_parts;
    bar_parts.out_handles = &bar;
    bar_parts.out_handle_count = &handle_count;
    auto mapped =
        must(proto::call<pci::MapBar>(device, {0}, bar_parts, kCallTimeoutNs), "mapping BAR 0");
    if (handle_count != 1 || mapped.kind == pci::BarKind::kIo || mapped.size < 0x10000)
        stop("BAR 0 is not the register window", Error::CORRUPT);
    s.dev.regs = must(driver::Mmio::map_memory(bar, mapped.size), "mapping the registers");
    // DMA: the device reads descriptors and buffers by itself.
    config_write(device, 0x04, 2, config_read(device, 0x04, 2) | 0x4);

    const driver::Mmio& regs = s.dev.regs;
    reset(regs);
    regs.write32(kCtrl, (regs.read32(kCtrl) | kCtrlLinkUp | kCtrlAutoSpeed)
                            & ~(kCtrlPhyReset | kCtrlLinkReset));
    uint8_t mac[6];
    read_mac(regs, mac);
    for (uint32_t i = 0; i < 128; ++i)
        regs.write32(kMta + 4 * i, 0);

    s.rings = must(driver::DmaBuffer::allocate(2 * kRingSize * 16), "allocating the rings");
    nic::Geometry geometry{kRxBuffers, kTxBuffers};
    s.area = must(driver::DmaBuffer::allocate(geometry.area_size()), "allocating the buffers");
    // Pinned at the bus server before the device sees an address: if this task dies, the
    // pages stay out of the allocator until the function's bus mastering is off.
    must(s.rings.pin_for(device), "pinning the rings");
    must(s.area.pin_for(device), "pinning the buffers");
    auto* rx_ring = reinterpret_cast<e1000::RxDescriptor*>(s.rings.data());
    auto* tx_ring = reinterpret_cast<e1000::TxDescriptor*>(s.rings.data() + kRingSize * 16);
    if (!s.dev.rx.init(rx_ring, kRingSize, s.area.physical(), kMaxFrame)
        || !s.dev.tx.init(tx_ring, kRingSize, s.area.physical() + geometry.tx_offset(0), kMaxFrame))
        stop("ring set-up", Error::INVALID_ARGUMENT);
    must(s.ledger.reset(geometry, kMaxFrame), "buffer ledger");
    for (uint16_t i = 0; i < kRxBuffers; ++i)
        (void)s.dev.rx.post(i);

    uint64_t rings = s.rings.physical();
    regs.write32(kRdbal, uint32_t(rings));
    regs.write32(kRdbah, uint32_t(rings >> 32));
    regs.write32(kRdlen, kRingSize * 16);
    regs.write32(kRdh, 0);
    regs.write32(kRdt, s.dev.rx.tail());
    regs.write32(kRctl, kRctlEnable | kRctlBroadcast | kRctlStripCrc);
    uint64_t tx = rings + kRingSize * 16;
    regs.write32(kTdbal, uint32_t(tx));
    regs.write32(kTdbah, uint32_t(tx >> 32));
    regs.write32(kTdlen, kRingSize * 16);
    regs.write32(kTdh, 0);
    regs.write32(kTdt, 0);
    regs.write32(kTipg, kTipgValue);
    regs.write32(kTctl,
                 kTctlEnable | kTctlPadShort | kTctlCollisionThreshold | kTctlCollisionDistance);

    tern_handle_t irq = TERN_INVALID_HANDLE;
    proto::CallParts irq_parts;
    irq_parts.out_handles = &irq;
    irq_parts.out_handle_count = &handle_count;
    auto got = must(proto::call<pci::Interrupt>(device, {pci::InterruptKind::kAny, 1}, irq_parts,
                                                kCallTimeoutNs),
                    "asking for the interrupt");
    if (got.count != 1 || handle_count != 1)
        stop("the bus server's interrupt answer is malformed", Error::CORRUPT);
    if (got.kind == pci::InterruptKind::kMsix) {
        // The 82574 (e1000e) routes each cause to an MSI-X vector through IVAR: receive,
        // transmit and other causes all to vector 0, each with its valid bit.
        regs.write32(kIvar, kIvarAllToVector0);
    }
    s.irq = must(driver::Irq::adopt(irq, info.gsi, s.port, kIrqBit), "binding the interrupt");
    s.dev.link = regs.read32(kStatus) & kStatusLinkUp;
    regs.write32(kIms, kInterrupts | (got.kind == pci::InterruptKind::kMsix ? kIntMsixQueues : 0));

    s.net = must(lookup("net", true, 10 * kSecondNs), "finding the network server");
    nic::AttachRequest attach = {};
    __builtin_memcpy(attach.mac, mac, sizeof(mac));
    attach.mtu = kMtu;
    attach.flags = s.dev.link ? nic::kLinkUp : 0;
    attach.rx_count = kRxBuffers;
    attach.tx_count = kTxBuffers;
    attach.buffer_size = nic::kBufferSize;
    tern_handle_t handles[2] = {
        must(sys_result<tern_handle_t>(tern_sys_handle_duplicate(
                 s.area.memory(),
                 TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_WRITE | TERN_RIGHT_TRANSFER)),
             "sharing the buffers"),
        must(sys_result<tern_handle_t>(
                 tern_sys_handle_duplicate(s.port, TERN_RIGHT_SIGNAL | TERN_RIGHT_TRANSFER)),
             "sharing the doorbell")};
    proto::CallParts attach_parts;
    attach_parts.in_data = {reinterpret_cast<const uint8_t*>(name.c_str()), name.written()};
    attach_parts.in_handles = {handles, 2};
    s.nic = must(proto::call<nic::Attach>(s.net, attach, attach_parts, kCallTimeoutNs),
                 "attaching to the network server")
                .nic;
    println("e1000: {}: {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, link {}, IRQ {}",
            base::StringView(s.name), mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
            base::StringView(s.dev.link ? "up" : "down"), info.gsi);
    (void)tern_sys_handle_close(device);
    // Anything the device raised before the binding is looked at once.
    (void)s.irq.poke();
}

} // namespace

extern "C" int main(uint64_t) {
    State& s = g_state;
    __builtin_memcpy(s.name, "e1000", 6);
    tern_handle_t device = startup_handle(TERN_STARTUP_PRIVATE);
    if (device == TERN_INVALID_HANDLE) {
        println("e1000: needs a device port from the PCI bus server (started by init)");
        return 2;
    }
    s.port = must(sys_result<tern_handle_t>(tern_sys_port_create(16)), "creating its port");
    setup(s, device);
    for (;;) {
        tern_msg msg = {};
        int64_t r = tern_sys_port_receive(s.port, reinterpret_cast<uint64_t>(&msg), kSecondNs);
        if (r < 0 && r != -TERN_TIMED_OUT && r != -TERN_WOULD_BLOCK)
            stop("receiving", sys_status(r));
        if (r >= 0) {
            for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
                (void)tern_sys_handle_close(msg.handles[i]);
            if (msg.reply_handle != TERN_INVALID_HANDLE)
                (void)tern_sys_handle_close(msg.reply_handle);
            if (s.irq.signalled(msg))
                on_irq(s);
        }
        // A doorbell, an interrupt, or a quiet second: the server gets what is pending and
        // gives what it has.
        sync(s);
        if (uint64_t(tern_sys_clock_monotonic()) - s.last_status >= kSecondNs)
            send_status(s);
    }
}

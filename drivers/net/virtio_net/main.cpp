// The virtio-net driver: one virtio 1.x network device (QEMU's virtio-net-pci) as a NIC of
// the network server, through the NIC protocol (<tern/protocols/nic.h>).
//
// init starts it for a matching PCI function and hands it the function's device port
// (TERN_STARTUP_PRIVATE). It finds the virtio structures (drivers/virtio), negotiates
// VERSION_1 with MAC and STATUS when offered and no offloads, sets up the receive and
// transmit queues over DMA memory, and attaches to `net` with a buffer area the device
// reads and writes directly, so frames are never copied by the driver
// (portable/net_core.h). Interrupts are MSI-X (one vector for configuration changes, one
// for both queues) or, on a function without MSI-X, the level-triggered INTx line, whose
// ISR read lowers it before the line is acknowledged.
//
// The driver ends (and init starts it again, which resets the device) when the device
// breaks a queue or asks for a reset, or when the network server goes away.
#include <base/format.h>
#include <base/utility.h>
#include <driver/dma.h>
#include <drivers/net/virtio_net/portable/net_core.h>
#include <drivers/virtio/pci_function.h>
#include <tern/print.h>
#include <tern/protocols/nic.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;
using base::Error;

namespace {

// Queue sizes asked for: 256 entries hold 128 two-part chains, one per buffer.
constexpr uint16_t kQueueSize = 256;
constexpr uint16_t kMtu = 1500;
// Signal bits on the driver's port: the server's doorbell is nic::kDoorbell (1).
constexpr uint64_t kConfigBit = 2;
constexpr uint64_t kQueueBit = 4;
// MSI-X vectors (table entries): configuration changes, then both queues.
constexpr uint16_t kConfigVector = 0;
constexpr uint16_t kQueueVector = 1;
// How often the counters go to the server while they change.
constexpr uint64_t kStatusPeriodNs = 1000000000ull;
// Refusals of the server's descriptors are logged this many times, then counted.
constexpr uint64_t kLoggedRefusals = 8;
// The network server never waits for a driver, so a call it does not answer in this time
// means it is stuck or gone.
constexpr uint64_t kCallTimeoutNs = 5000000000ull;

struct Driver {
    virtio::PciFunction* function = nullptr;
    virtio::MmioWindow common, notify, isr, device;
    virtio::Transport transport;
    virtio::SplitQueue rx, tx;
    virtio_net::NetCore core;
    virtio::Interrupts irqs{};
    uint64_t features = 0;
    bool link_up = true;
    tern_handle_t port = TERN_INVALID_HANDLE;
    tern_handle_t server = TERN_INVALID_HANDLE;
    uint32_t nic = 0;
    char name[16] = {};
    size_t name_length = 0;
    uint64_t logged_refusals = 0;
    nic::Counters reported{};
    uint64_t last_status_ns = 0;
};

Driver g_driver;

void log_error(const char* what, Error e) {
    println("virtio-net: {}: {}", base::StringView(what), base::error_name(e));
}

base::Result<void> set_up_device(Driver& d, const pci::DeviceInfo& info) {
    virtio::BarInfo bars[pci::kBarCount];
    for (uint32_t i = 0; i < pci::kBarCount; ++i)
        bars[i] = {info.bars[i].size, info.bars[i].kind == pci::BarKind::kMemory32
                                          || info.bars[i].kind == pci::BarKind::kMemory64};
    const char* why = "";
    auto layout = virtio::parse_capabilities(*d.function, {bars, pci::kBarCount}, &why);
    if (layout.is_error()) {
        println("virtio-net: {:02x}:{:02x}.{} refused: {}", info.address.bus, info.address.device,
                info.address.function, base::StringView(why));
        return layout.error();
    }
    const virtio::PciLayout& l = layout.value();
    auto window = [&](const virtio::Region& r, virtio::MmioWindow& out) -> base::Result<void> {
        volatile uint8_t* base = TRY(d.function->map_bar(r.bar));
        out = virtio::MmioWindow(base + r.offset);
        return base::ok();
    };
    TRY(window(l.common, d.common));
    TRY(window(l.notify, d.notify));
    TRY(window(l.isr, d.isr));
    if (l.device.present)
        TRY(window(l.device, d.device));
    d.transport = virtio::Transport(d.common, d.notify, l.notify.length, l.notify_multiplier, d.isr,
                                    l.device.present ? &d.device : nullptr,
                                    l.device.present ? l.device.length : 0);
    return base::ok();
}

// The largest power of two no greater than both.
uint16_t queue_size(uint16_t device_max) {
    uint16_t size = kQueueSize;
    while (size > device_max)
        size = uint16_t(size / 2);
    return size;
}

base::Result<void> start_device(Driver& d) {
    virtio::Transport& t = d.transport;
    if (auto r = t.reset(); r.is_error()) {
        println("virtio-net: {}", base::StringView(t.why()));
        return r.error();
    }
    auto features = t.negotiate(virtio_net::kFeatureMac | virtio_net::kFeatureStatus);
    if (features.is_error()) {
        println("virtio-net: {}", base::StringView(t.why()));
        return features.error();
    }
    d.features = features.value();

    auto irqs = d.function->interrupts(2);
    if (irqs.is_error()) {
        log_error("no interrupt for the device", irqs.error());
        return irqs.error();
    }
    d.irqs = irqs.value();
    bool msix = d.irqs.kind == pci::InterruptKind::kMsix;
    for (uint32_t i = 0; i < d.irqs.count; ++i) {
        // With two vectors the first is the configuration's; with one, everything shares it.
        uint64_t bit = msix && d.irqs.count > 1 && i == kConfigVector ? kConfigBit : kQueueBit;
        TRY(sys_result<void>(tern_sys_irq_bind(d.irqs.irqs[i], d.port, bit)));
    }
    uint16_t queue_vector = virtio::kNoVector;
    if (msix) {
        queue_vector = d.irqs.count > 1 ? kQueueVector : kConfigVector;
        if (auto r = t.set_config_vector(kConfigVector); r.is_error()) {
            println("virtio-net: {}", base::StringView(t.why()));
            return r.error();
        }
    }

    uint16_t rx_max = TRY(t.queue_max_size(virtio_net::kReceiveQueue));
    uint16_t tx_max = TRY(t.queue_max_size(virtio_net::kTransmitQueue));
    uint16_t rx_size = queue_size(rx_max);
    uint16_t tx_size = queue_size(tx_max);
    if (rx_size < 2 || tx_size < 2) {
        println("virtio-net: queues of {} and {} entries are too small", rx_max, tx_max);
        return Error::NOT_SUPPORTED;
    }
    nic::Geometry geometry{uint32_t(rx_size / 2), uint32_t(tx_size / 2)};
    if ((geometry.rx_count + geometry.tx_count) % 2 != 0)
        geometry.rx_count -= 1;

    // One DMA block for both rings and the header slots; one for the buffer area.
    auto rx_layout = virtio::SplitQueue::layout(rx_size);
    auto tx_layout = virtio::SplitQueue::layout(tx_size);
    uint64_t tx_at = base::align_up(rx_layout.total, uint64_t(4096));
    uint64_t headers_at = base::align_up(tx_at + tx_layout.total, uint64_t(64));
    uint64_t rings_size = headers_at + virtio_net::NetCore::header_area_size(geometry);
    auto rings = driver::DmaBuffer::allocate(rings_size);
    if (rings.is_error()) {
        log_error("no DMA memory for the rings", rings.error());
        return rings.error();
    }
    auto area = driver::DmaBuffer::allocate(geometry.area_size());
    if (area.is_error()) {
        log_error("no DMA memory for the buffer area", area.error());
        return area.error();
    }
    // Pinned at the bus server before the device sees an address: if this task dies, the
    // pages stay out of the allocator until the function's bus mastering is off.
    const driver::DmaBuffer* dma[] = {&rings.value(), &area.value()};
    for (const driver::DmaBuffer* b : dma) {
        if (auto pinned = b->pin_for(d.function->device()); pinned.is_error()) {
            log_error("the bus server did not pin the DMA memory", pinned.error());
            return pinned.error();
        }
    }
    const driver::DmaBuffer& r = rings.value();
    TRY(d.rx.init(r.data(), r.physical(), rx_size));
    TRY(d.tx.init(r.data() + tx_at, r.physical() + tx_at, tx_size));
    if (auto e = t.enable_queue(virtio_net::kReceiveQueue, rx_size, d.rx.descriptor_address(),
                                d.rx.available_address(), d.rx.used_address(), queue_vector);
        e.is_error()) {
        println("virtio-net: receive queue: {}", base::StringView(t.why()));
        return e.error();
    }
    if (auto e = t.enable_queue(virtio_net::kTransmitQueue, tx_size, d.tx.descriptor_address(),
                                d.tx.available_address(), d.tx.used_address(), queue_vector);
        e.is_error()) {
        println("virtio-net: transmit queue: {}", base::StringView(t.why()));
        return e.error();
    }
    virtio_net::NetCore::Memory memory{
        geometry,
        area.value().data(),
        area.value().physical(),
        r.data() + headers_at,
        r.physical() + headers_at,
        uint32_t(kMtu + nic::kEthernetHeader),
    };
    auto posted = TRY(d.core.start(d.rx, d.tx, memory));
    TRY(d.function->enable_bus_master());
    t.driver_ok();
    if (posted.receive)
        t.notify(virtio_net::kReceiveQueue);

    // The buffer area goes to the server: MAP, READ and WRITE, and TRANSFER to send it.
    uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
    if (d.features & virtio_net::kFeatureMac) {
        if (auto e = t.read_config(virtio_net::kConfigMac, {mac, 6}); e.is_error()) {
            println("virtio-net: MAC address: {}", base::StringView(t.why()));
            return e.error();
        }
    } else {
        // A locally administered address from the clock, so two such NICs differ.
        uint64_t now = uint64_t(tern_sys_clock_monotonic());
        for (int i = 1; i < 6; ++i)
            mac[i] = uint8_t(now >> (8 * i));
        println("virtio-net: the device has no MAC address; using a local one");
    }
    if (d.features & virtio_net::kFeatureStatus) {
        auto status = t.read_config16(virtio_net::kConfigStatus);
        d.link_up = status.ok() && (status.value() & virtio_net::kStatusLinkUp) != 0;
    }
    auto server = lookup("net", true, 10000000000ull);
    if (server.is_error()) {
        log_error("no network server", server.error());
        return server.error();
    }
    d.server = server.value();
    auto area_copy = sys_result<tern_handle_t>(tern_sys_handle_duplicate(
        area.value().memory(),
        TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_WRITE | TERN_RIGHT_TRANSFER));
    auto port_copy = sys_result<tern_handle_t>(
        tern_sys_handle_duplicate(d.port, TERN_RIGHT_SIGNAL | TERN_RIGHT_TRANSFER));
    if (area_copy.is_error() || port_copy.is_error())
        return Error::NO_MEMORY;
    tern_handle_t handles[2] = {area_copy.value(), port_copy.value()};
    proto::CallParts parts{};
    parts.in_data = {reinterpret_cast<const uint8_t*>(d.name), d.name_length};
    parts.in_handles = {handles, 2};
    nic::AttachRequest request{};
    __builtin_memcpy(request.mac, mac, 6);
    request.mtu = kMtu;
    request.flags = d.link_up ? nic::kLinkUp : 0;
    request.rx_count = geometry.rx_count;
    request.tx_count = geometry.tx_count;
    request.buffer_size = nic::kBufferSize;
    auto attached = proto::call<nic::Attach>(d.server, request, parts, kCallTimeoutNs);
    if (attached.is_error()) {
        log_error("attach to the network server", attached.error());
        return attached.error();
    }
    d.nic = attached.value().nic;
    println("virtio-net: {}: {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, link {}, {} interrupts, "
            "queues {}+{}",
            base::StringView(d.name, d.name_length), mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
            base::StringView(d.link_up ? "up" : "down"), base::StringView(msix ? "MSI-X" : "INTx"),
            rx_size, tx_size);
    return base::ok();
}

void send_status(Driver& d) {
    nic::Counters c = d.core.counters();
    proto::CallParts parts{};
    parts.in_data = {reinterpret_cast<const uint8_t*>(&c), sizeof(c)};
    auto r = proto::call<nic::Status>(d.server, {d.nic, d.link_up ? nic::kLinkUp : 0u}, parts,
                                      kCallTimeoutNs);
    if (r.is_error())
        log_error("status to the network server", r.error());
    d.reported = c;
    d.last_status_ns = uint64_t(tern_sys_clock_monotonic());
}

void kick(Driver& d, virtio_net::NetCore::Kick k) {
    if (k.receive)
        d.transport.notify(virtio_net::kReceiveQueue);
    if (k.transmit)
        d.transport.notify(virtio_net::kTransmitQueue);
}

// Trades frames and buffers with the server until neither side has more. Errors end the
// driver: the server is gone or no longer knows this NIC.
base::Result<void> exchange(Driver& d, bool server_rang) {
    bool more = server_rang;
    while (more || d.core.has_news()) {
        nic::SyncRequest request;
        d.core.fill_sync(request, d.nic);
        auto reply = proto::call<nic::Sync>(d.server, request, {}, kCallTimeoutNs);
        if (reply.is_error())
            return reply.error();
        d.core.sync_done(request);
        uint64_t refused_before = d.core.refused();
        kick(d, d.core.take_reply(reply.value(), &more));
        if (d.core.refused() != refused_before && d.logged_refusals++ < kLoggedRefusals)
            println("virtio-net: refused from the server: {}{}",
                    base::StringView(d.core.last_refusal()),
                    base::StringView(
                        d.logged_refusals == kLoggedRefusals ? "; further ones are counted" : ""));
    }
    return base::ok();
}

void check_link(Driver& d) {
    if (!(d.features & virtio_net::kFeatureStatus))
        return;
    auto status = d.transport.read_config16(virtio_net::kConfigStatus);
    if (status.is_error())
        return;
    bool up = (status.value() & virtio_net::kStatusLinkUp) != 0;
    if (up != d.link_up) {
        d.link_up = up;
        println("virtio-net: {} link {}", base::StringView(d.name, d.name_length),
                base::StringView(up ? "up" : "down"));
        send_status(d);
    }
}

bool counters_changed(const nic::Counters& a, const nic::Counters& b) {
    return __builtin_memcmp(&a, &b, sizeof(a)) != 0;
}

int serve(Driver& d) {
    send_status(d);
    tern_msg message{};
    while (true) {
        bool pending = counters_changed(d.core.counters(), d.reported);
        uint64_t timeout = pending ? kStatusPeriodNs : TERN_TIMEOUT_INFINITE;
        message = {};
        int64_t r = tern_sys_port_receive(d.port, reinterpret_cast<uint64_t>(&message), timeout);
        uint64_t bits = 0;
        if (r >= 0 && message.hdr.label == TERN_LABEL_SIGNAL)
            bits = message.words[0];
        else if (r >= 0) {
            // Nobody else has this port's SEND right; a stray message is dropped.
            for (uint32_t i = 0; i < message.hdr.handle_count && i < TERN_MSG_MAX_HANDLES; ++i)
                (void)tern_sys_handle_close(message.handles[i]);
            if (message.reply_handle)
                (void)tern_sys_handle_close(message.reply_handle);
        } else if (sys_status(r) != Error::TIMED_OUT) {
            log_error("receive", sys_status(r));
            return 1;
        }

        bool config_changed = (bits & kConfigBit) != 0;
        if (d.irqs.kind == pci::InterruptKind::kIntx && (bits & kQueueBit)) {
            // Reading the ISR lowers the level-triggered line; it says what happened.
            uint8_t isr = d.transport.read_isr();
            config_changed = config_changed || (isr & virtio::kIsrConfig);
        }
        // Drain, acknowledge the interrupts, then look again: work that came after the
        // last look but before the acknowledgement raised no new interrupt.
        for (int round = 0; round < 64; ++round) {
            kick(d, d.core.poll_device());
            if (bits & (kQueueBit | kConfigBit))
                for (uint32_t i = 0; i < d.irqs.count; ++i)
                    (void)tern_sys_irq_ack(d.irqs.irqs[i]);
            if (!d.rx.has_used() && !d.tx.has_used())
                break;
        }
        if (config_changed)
            check_link(d);
        if (d.core.broken() || d.transport.needs_reset()) {
            println("virtio-net: the device broke its queues (rx faults {}/{}/{}/{}, tx faults "
                    "{}/{}/{}/{}) or asks for a reset; the driver ends so it starts afresh",
                    d.rx.faults().bad_id, d.rx.faults().duplicate_id, d.rx.faults().bad_length,
                    d.rx.faults().bad_index, d.tx.faults().bad_id, d.tx.faults().duplicate_id,
                    d.tx.faults().bad_length, d.tx.faults().bad_index);
            d.transport.fail();
            return 1;
        }
        if (auto e = exchange(d, (bits & nic::kDoorbell) != 0); e.is_error()) {
            log_error("the network server", e.error());
            return 1;
        }
        uint64_t now = uint64_t(tern_sys_clock_monotonic());
        if (counters_changed(d.core.counters(), d.reported)
            && now - d.last_status_ns >= kStatusPeriodNs)
            send_status(d);
    }
}

} // namespace

extern "C" int main(uint64_t) {
    tern_handle_t device = startup_handle(TERN_STARTUP_PRIVATE);
    if (device == TERN_INVALID_HANDLE) {
        println("virtio-net: started without a PCI device port (init starts it per device)");
        return 2;
    }
    static virtio::PciFunction function(device);
    Driver& d = g_driver;
    d.function = &function;
    auto info = function.info();
    if (info.is_error()) {
        log_error("PCI device information", info.error());
        return 1;
    }
    const pci::DeviceInfo& i = info.value();
    bool net = i.device_id == virtio::kPciTransitionalNet
               || i.device_id == virtio::kPciModernBase + virtio::kDeviceTypeNet;
    if (i.vendor_id != virtio::kPciVendor || !net) {
        println("virtio-net: {:04x}:{:04x} is not a virtio network device", i.vendor_id,
                i.device_id);
        return 2;
    }
    // Named by where it sits, as Linux names predictably: enp<bus>s<slot>[f<function>].
    base::BufferSink name(d.name, sizeof(d.name));
    base::format_to(name, "enp{}s{}", i.address.bus, i.address.device);
    if (i.address.function)
        base::format_to(name, "f{}", i.address.function);
    d.name_length = name.written();
    auto port = sys_result<tern_handle_t>(tern_sys_port_create(16));
    if (port.is_error()) {
        log_error("no port", port.error());
        return 1;
    }
    d.port = port.value();
    if (set_up_device(d, i).is_error())
        return 1;
    if (auto r = start_device(d); r.is_error()) {
        d.transport.fail();
        return 1;
    }
    return serve(d);
}

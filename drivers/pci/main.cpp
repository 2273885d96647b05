// The PCI bus server: enumerates the buses through the configuration ports 0xCF8/0xCFC,
// registers "pci" and serves <tern/protocols/pci.h>: List to anyone, Claim to the tasks
// init trusts, and one device port per claimed function, through which its driver
// reaches that function and nothing else (its configuration space minus the BARs, its
// memory BARs as MMIO memory objects, its interrupt).
//
// init hands the server the I/O port, IRQ, MMIO and MSI resources (init.conf: +pci); the
// server passes on exactly the part of them each device needs. Device ports are members
// of the server's port set, keyed by the device's index + 1, so one loop serves them all
// and a request's key names its device.
#include <base/utility.h>
#include <driver/io_ports.h>
#include <drivers/pci/portable/enumerate.h>
#include <tern/abi/firmware.h>
#include <tern/print.h>
#include <tern/protocols/pci.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

// The portable core is ::pci; the protocol is tern::pci, named in full here.
namespace proto = tern::proto;
using base::Error;
using tern::println;
using tern::register_name;
using tern::startup_handle;
using tern::sys_result;
using tern::sys_status;

namespace {

constexpr uint16_t kConfigAddress = 0xCF8;
constexpr uint16_t kConfigPorts = 8;
// The most IRQ objects one Interrupt reply carries (pci::Interrupt's response_handles).
constexpr uint32_t kMaxVectors = 4;
constexpr uint32_t kMaxTrusted = 4;
constexpr uint64_t kPage = 4096;

// Configuration space: ECAM when the firmware's MCFG gives a window for segment 0 (each
// function's 4 KiB are memory, mapped one bus (1 MiB) at a time as enumeration reaches
// it), else mechanism #1, where an address dword at 0xCF8 selects bus, device, function
// and dword and 0xCFC..0xCFF is the data. A bus outside the ECAM window is reached
// through the ports, for its first 256 bytes; beyond them it reads as all ones.
class Config final : public pci::ConfigSpace {
public:
    driver::IoPorts io;

    // Uses the ECAM window [base, ...) for buses start..end; false (ports stay) when the
    // window is unusable.
    bool use_ecam(tern_handle_t mmio, uint64_t base, uint32_t start, uint32_t end) {
        if (start > end || end > 255 || base % kPage != 0)
            return false;
        m_mmio = mmio;
        m_ecam_base = base;
        m_start = start;
        m_end = end;
        m_ecam = true;
        // Bus `start` must map, or ECAM is no use.
        if (!bus_window(uint8_t(start))) {
            m_ecam = false;
            return false;
        }
        return true;
    }
    bool ecam() const { return m_ecam; }

    uint32_t read(pci::Address a, uint16_t offset, uint8_t width) override {
        if (volatile uint8_t* at = ecam_at(a, offset)) {
            switch (width) {
            case 1:
                return *at;
            case 2:
                return *reinterpret_cast<volatile uint16_t*>(at);
            default:
                return *reinterpret_cast<volatile uint32_t*>(at);
            }
        }
        if (offset >= 256)
            return width == 4 ? 0xFFFFFFFFu : (1u << (8 * width)) - 1;
        select(a, offset);
        switch (width) {
        case 1:
            return io.in8(uint16_t(4 + (offset & 3)));
        case 2:
            return io.in16(uint16_t(4 + (offset & 2)));
        default:
            return io.in32(4);
        }
    }
    void write(pci::Address a, uint16_t offset, uint8_t width, uint32_t value) override {
        if (volatile uint8_t* at = ecam_at(a, offset)) {
            switch (width) {
            case 1:
                *at = uint8_t(value);
                break;
            case 2:
                *reinterpret_cast<volatile uint16_t*>(at) = uint16_t(value);
                break;
            default:
                *reinterpret_cast<volatile uint32_t*>(at) = value;
                break;
            }
            return;
        }
        if (offset >= 256)
            return;
        select(a, offset);
        switch (width) {
        case 1:
            io.out8(uint16_t(4 + (offset & 3)), uint8_t(value));
            break;
        case 2:
            io.out16(uint16_t(4 + (offset & 2)), uint16_t(value));
            break;
        default:
            io.out32(4, value);
            break;
        }
    }
    uint16_t limit() const override { return m_ecam ? 4096 : 256; }

private:
    static constexpr uint64_t kBusBytes = 1 << 20;

    void select(pci::Address a, uint16_t offset) {
        io.out32(0, 0x80000000u | (uint32_t(a.bus) << 16) | (uint32_t(a.device & 31) << 11)
                        | (uint32_t(a.function & 7) << 8) | (offset & 0xFC));
    }
    // The bus's 1 MiB of ECAM, mapped on first use; nullptr when it cannot be (logged
    // once per bus; that bus then goes through the ports).
    volatile uint8_t* bus_window(uint8_t bus) {
        if (m_bus[bus] || m_failed[bus])
            return m_bus[bus];
        uint64_t phys = m_ecam_base + uint64_t(bus) * kBusBytes;
        int64_t memory = tern_sys_memory_create_physical(m_mmio, phys, kBusBytes);
        int64_t at = memory < 0
                         ? memory
                         : tern_sys_vm_map_memory(tern::self(), tern_handle_t(memory), 0, 0,
                                                  kBusBytes, TERN_PROT_READ | TERN_PROT_WRITE);
        if (memory >= 0)
            (void)tern_sys_handle_close(tern_handle_t(memory));
        if (at < 0) {
            m_failed[bus] = true;
            println("pci: ECAM for bus {} at {:#x} cannot be mapped: {}; ports instead", bus, phys,
                    base::error_name(sys_status(at)));
            return nullptr;
        }
        m_bus[bus] = reinterpret_cast<volatile uint8_t*>(at);
        return m_bus[bus];
    }
    volatile uint8_t* ecam_at(pci::Address a, uint16_t offset) {
        if (!m_ecam || a.bus < m_start || a.bus > m_end)
            return nullptr;
        volatile uint8_t* window = bus_window(a.bus);
        if (!window)
            return nullptr;
        return window
               + ((uint32_t(a.device & 31) << 15) | (uint32_t(a.function & 7) << 12)
                  | (offset & 0xFFF));
    }

    bool m_ecam = false;
    tern_handle_t m_mmio = TERN_INVALID_HANDLE;
    uint64_t m_ecam_base = 0;
    uint32_t m_start = 0;
    uint32_t m_end = 0;
    volatile uint8_t* m_bus[256] = {};
    bool m_failed[256] = {};
};

struct Log final : pci::Diagnostics {
    void report(pci::Address a, const char* what, uint64_t value) override {
        println("pci: {:02x}:{:02x}.{}: {} ({:#x})", a.bus, a.device, a.function,
                base::StringView(what), value);
    }
};

struct Device {
    pci::DeviceInfo info;
    tern_handle_t port = TERN_INVALID_HANDLE;    // the device port's receive right, if claimed
    tern_handle_t irq = TERN_INVALID_HANDLE;     // the INTx line's IRQ object, once made
    tern_handle_t msi_irq = TERN_INVALID_HANDLE; // its MSI vector, once made
    // Its MSI-X vectors (entries 0..msix_count-1 of the table), once made, and the table,
    // mapped into the server when MSI-X is first set up.
    tern_handle_t msix_irqs[kMaxVectors] = {};
    tern_msi_message msix_messages[kMaxVectors] = {};
    uint32_t msix_count = 0;
    volatile uint32_t* msix_table = nullptr;
    // DMA memory objects the claimant pinned (PinDma), released by quiesce().
    tern_handle_t pinned[tern::pci::kMaxPinned] = {};
    uint64_t pinned_bytes[tern::pci::kMaxPinned] = {};
    uint32_t pinned_count = 0;
};

struct State {
    tern_handle_t port = TERN_INVALID_HANDLE;
    tern_handle_t io_resource = TERN_INVALID_HANDLE;
    tern_handle_t irq_resource = TERN_INVALID_HANDLE;
    tern_handle_t mmio_resource = TERN_INVALID_HANDLE;
    tern_handle_t msi_resource = TERN_INVALID_HANDLE;
    Config config;
    Device devices[tern::pci::kMaxDevices];
    pci::DeviceInfo infos[tern::pci::kMaxDevices];
    uint32_t count = 0;
    uint64_t trusted[kMaxTrusted] = {};
    uint32_t trusted_count = 0;
};

State g_state;

void put_address(char (&out)[16], pci::Address a) {
    base::BufferSink sink(out, sizeof(out));
    base::format_to(sink, "{:02x}:{:02x}.{}", a.bus, a.device, a.function);
}

bool is_trusted(uint64_t badge) {
    for (uint32_t i = 0; i < g_state.trusted_count; ++i)
        if (g_state.trusted[i] == badge)
            return true;
    return false;
}

uint16_t command_of(const Device& d) {
    return uint16_t(g_state.config.read(d.info.address, pci::kCommand, 2));
}
void set_command(const Device& d, uint16_t command) {
    g_state.config.write(d.info.address, pci::kCommand, 2, command);
}

// What a new claimant must not inherit: DMA, and interrupts of any kind.
void quiesce(Device& d) {
    set_command(d, uint16_t((command_of(d) & ~pci::kCommandBusMaster) | pci::kCommandIntxDisable));
    pci::Address a = d.info.address;
    if (d.info.msi_offset) {
        uint16_t control = uint16_t(g_state.config.read(a, uint16_t(d.info.msi_offset + 2), 2));
        g_state.config.write(a, uint16_t(d.info.msi_offset + 2), 2, control & ~1u);
    }
    if (d.info.msix_offset) {
        uint16_t control = uint16_t(g_state.config.read(a, uint16_t(d.info.msix_offset + 2), 2));
        g_state.config.write(a, uint16_t(d.info.msix_offset + 2), 2, control & ~0x8000u);
    }
    if (d.irq != TERN_INVALID_HANDLE)
        (void)tern_sys_irq_bind(d.irq, 0, 0);
    // The device can no longer master the bus (the read flushes the command write): the
    // memory the last claimant pinned for it can go back to the page allocator.
    (void)command_of(d);
    if (d.pinned_count > 0) {
        uint64_t bytes = 0;
        for (uint32_t i = 0; i < d.pinned_count; ++i) {
            bytes += d.pinned_bytes[i];
            (void)tern_sys_handle_close(d.pinned[i]);
            d.pinned[i] = TERN_INVALID_HANDLE;
        }
        char name[16];
        put_address(name, a);
        println("pci: {}: bus mastering off; {} DMA buffers ({} KiB) released",
                base::StringView(name), d.pinned_count, bytes / 1024);
        d.pinned_count = 0;
    }
    if (d.msi_irq != TERN_INVALID_HANDLE)
        (void)tern_sys_irq_bind(d.msi_irq, 0, 0);
    for (uint32_t i = 0; i < d.msix_count; ++i)
        (void)tern_sys_irq_bind(d.msix_irqs[i], 0, 0);
}

void revoke(Device& d) {
    if (d.port == TERN_INVALID_HANDLE)
        return;
    (void)tern_sys_port_set_remove(g_state.port, d.port);
    (void)tern_sys_handle_close(d.port);
    d.port = TERN_INVALID_HANDLE;
}

Device* device_of(proto::Request& request) {
    uint32_t key = request.key();
    if (key == 0 || key > g_state.count || g_state.devices[key - 1].port == TERN_INVALID_HANDLE) {
        request.set_refusal_reason("a device operation on the bus port");
        return nullptr;
    }
    return &g_state.devices[key - 1];
}

// ---- the bus port ----

Error on_list(State* s, proto::Request&, const proto::Empty&, tern::pci::ListResponse& out,
              proto::Reply& reply, proto::PendingReply&) {
    for (uint32_t i = 0; i < s->count; ++i)
        s->infos[i] = s->devices[i].info;
    out.count = s->count;
    out.method = s->config.ecam() ? 2 : 1;
    reply.data = {reinterpret_cast<const uint8_t*>(s->infos), s->count * sizeof(pci::DeviceInfo)};
    return Error::OK;
}

Error on_trust(State* s, proto::Request& request, const proto::Empty&, proto::Empty&, proto::Reply&,
               proto::PendingReply&) {
    if (s->trusted_count > 0 && !is_trusted(request.badge())) {
        request.set_refusal_reason("only a trusted task may trust another");
        return Error::ACCESS_DENIED;
    }
    tern_handle_t task = request.take_handle(0);
    int64_t id = tern_sys_task_id_of(task);
    (void)tern_sys_handle_close(task);
    if (id < 0) {
        request.set_refusal_reason("handles[0] is not a task");
        Error e = sys_status(id);
        return proto::is_refusal(e) ? e : Error::INVALID_ARGUMENT;
    }
    if (is_trusted(uint64_t(id)))
        return Error::OK;
    if (s->trusted_count == kMaxTrusted)
        return Error::NO_SPACE;
    s->trusted[s->trusted_count++] = uint64_t(id);
    return Error::OK;
}

Error on_claim(State* s, proto::Request& request, const tern::pci::ClaimRequest& in, proto::Empty&,
               proto::Reply& reply, proto::PendingReply&) {
    if (!is_trusted(request.badge())) {
        request.set_refusal_reason("only a trusted task (init) claims devices");
        return Error::ACCESS_DENIED;
    }
    Device* d = nullptr;
    for (uint32_t i = 0; i < s->count; ++i) {
        pci::Address a = s->devices[i].info.address;
        if (a.bus == in.address.bus && a.device == in.address.device
            && a.function == in.address.function)
            d = &s->devices[i];
    }
    if (!d)
        return Error::NOT_FOUND;
    char name[16];
    put_address(name, d->info.address);
    if (d->port != TERN_INVALID_HANDLE) {
        println("pci: {}: claimed again; the earlier device port is revoked",
                base::StringView(name));
        revoke(*d);
    }
    quiesce(*d);
    auto port = sys_result<tern_handle_t>(tern_sys_port_create(16));
    if (port.is_error())
        return port.error();
    uint32_t key = uint32_t(d - s->devices) + 1;
    if (auto r = sys_result<void>(tern_sys_port_set_add(s->port, port.value(), key));
        r.is_error()) {
        (void)tern_sys_handle_close(port.value());
        println("pci: {}: cannot serve another device port: {}", base::StringView(name),
                base::error_name(r.error()));
        return r.error() == Error::NO_SPACE ? Error::NO_SPACE : Error::BUSY;
    }
    auto send = sys_result<tern_handle_t>(tern_sys_handle_duplicate(
        port.value(), TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE));
    if (send.is_error()) {
        (void)tern_sys_port_set_remove(s->port, port.value());
        (void)tern_sys_handle_close(port.value());
        return send.error();
    }
    d->port = port.value();
    reply.handles[0] = send.value();
    reply.handle_count = 1;
    return Error::OK;
}

// ---- a device port ----

Error on_info(State*, proto::Request& request, const proto::Empty&, proto::Empty&,
              proto::Reply& reply, proto::PendingReply&) {
    Device* d = device_of(request);
    if (!d)
        return Error::INVALID_ARGUMENT;
    reply.data = {reinterpret_cast<const uint8_t*>(&d->info), sizeof(d->info)};
    return Error::OK;
}

Error on_config_read(State* s, proto::Request& request, const tern::pci::ConfigRequest& in,
                     tern::pci::ConfigResponse& out, proto::Reply&, proto::PendingReply&) {
    Device* d = device_of(request);
    if (!d)
        return Error::INVALID_ARGUMENT;
    Error e = pci::check_driver_access(d->info, in.offset, in.width, false, s->config.limit());
    if (e != Error::OK) {
        request.set_refusal_reason("bad width, or offset misaligned or out of range");
        return e;
    }
    out.value = s->config.read(d->info.address, in.offset, in.width);
    return Error::OK;
}

Error on_config_write(State* s, proto::Request& request, const tern::pci::ConfigRequest& in,
                      proto::Empty&, proto::Reply&, proto::PendingReply&) {
    Device* d = device_of(request);
    if (!d)
        return Error::INVALID_ARGUMENT;
    Error e = pci::check_driver_access(d->info, in.offset, in.width, true, s->config.limit());
    if (e == Error::ACCESS_DENIED) {
        request.set_refusal_reason(
            "the BARs, the ROM and the interrupt capabilities are the bus server's");
        return e;
    }
    if (e != Error::OK) {
        request.set_refusal_reason("bad width, or offset misaligned or out of range");
        return e;
    }
    if (in.width < 4 && (in.value >> (8 * in.width)) != 0) {
        request.set_refusal_reason("value wider than the access");
        return Error::INVALID_ARGUMENT;
    }
    s->config.write(d->info.address, in.offset, in.width, in.value);
    return Error::OK;
}

Error on_map_bar(State* s, proto::Request& request, const tern::pci::MapBarRequest& in,
                 tern::pci::MapBarResponse& out, proto::Reply& reply, proto::PendingReply&) {
    Device* d = device_of(request);
    if (!d)
        return Error::INVALID_ARGUMENT;
    if (in.index >= tern::pci::kBarCount) {
        request.set_refusal_reason("BAR index over 5");
        return Error::INVALID_ARGUMENT;
    }
    const pci::Bar& bar = d->info.bars[in.index];
    if (bar.kind == pci::BarKind::kNone)
        return Error::NOT_FOUND;
    if (bar.kind == pci::BarKind::kIo) {
        auto ports =
            sys_result<tern_handle_t>(tern_sys_resource_split(s->io_resource, bar.base, bar.size));
        if (ports.is_error())
            return Error::NOT_SUPPORTED;
        set_command(*d, command_of(*d) | pci::kCommandIo);
        out.size = bar.size;
        out.kind = bar.kind;
        reply.handles[0] = ports.value();
        reply.handle_count = 1;
        return Error::OK;
    }
    // A BAR smaller than a page is mapped with the rest of its page; BARs are aligned to
    // their size, so that page holds no other function's registers only when firmware
    // placed them a page apart (SeaBIOS does for memory BARs).
    uint64_t first = base::align_down(bar.base, kPage);
    uint64_t length = base::align_up(bar.base + bar.size, kPage) - first;
    auto memory =
        sys_result<tern_handle_t>(tern_sys_memory_create_physical(s->mmio_resource, first, length));
    if (memory.is_error()) {
        char name[16];
        put_address(name, d->info.address);
        println("pci: {}: BAR {} at {:#x} cannot be mapped: {}", base::StringView(name), in.index,
                bar.base, base::error_name(memory.error()));
        return memory.error() == Error::NO_MEMORY ? Error::NO_MEMORY : Error::NOT_SUPPORTED;
    }
    set_command(*d, command_of(*d) | pci::kCommandMemory);
    out.size = bar.size;
    out.kind = bar.kind;
    reply.handles[0] = memory.value();
    reply.handle_count = 1;
    return Error::OK;
}

// One MSI vector: the kernel allocates it and says what the function must write; the
// server programs the capability (one message) and turns INTx off.
Error setup_msi(State& s, Device& d, tern::pci::InterruptResponse& out, proto::Reply& reply) {
    if (d.msi_irq == TERN_INVALID_HANDLE) {
        tern_msi_message message = {};
        auto irq = sys_result<tern_handle_t>(
            tern_sys_irq_create_msi(s.msi_resource, reinterpret_cast<uint64_t>(&message)));
        if (irq.is_error())
            return irq.error() == Error::NO_SPACE ? Error::NO_SPACE : Error::NOT_SUPPORTED;
        d.msi_irq = irq.value();
        pci::Address a = d.info.address;
        uint16_t cap = d.info.msi_offset;
        uint16_t control = uint16_t(s.config.read(a, uint16_t(cap + 2), 2));
        bool wide = control & (1 << 7);
        s.config.write(a, uint16_t(cap + 4), 4, uint32_t(message.address));
        if (wide) {
            s.config.write(a, uint16_t(cap + 8), 4, uint32_t(message.address >> 32));
            s.config.write(a, uint16_t(cap + 12), 2, message.data & 0xFFFF);
        } else {
            s.config.write(a, uint16_t(cap + 8), 2, message.data & 0xFFFF);
        }
        s.config.write(a, uint16_t(cap + 2), 2, uint16_t((control & ~0x70u) | 1u));
    }
    (void)tern_sys_irq_bind(d.msi_irq, 0, 0);
    auto copy = sys_result<tern_handle_t>(tern_sys_handle_duplicate(d.msi_irq, TERN_RIGHTS_SAME));
    if (copy.is_error())
        return copy.error();
    // quiesce() cleared the enable bit on a new claim; the vector is programmed already.
    pci::Address a = d.info.address;
    uint16_t at = uint16_t(d.info.msi_offset + 2);
    s.config.write(a, at, 2, uint16_t(s.config.read(a, at, 2) | 1u));
    set_command(d, uint16_t(command_of(d) | pci::kCommandIntxDisable));
    out.kind = tern::pci::InterruptKind::kMsi;
    out.count = 1;
    reply.handles[0] = copy.value();
    reply.handle_count = 1;
    return Error::OK;
}

// Maps the function's MSI-X table into the server, once.
Error map_msix_table(State& s, Device& d) {
    if (d.msix_table)
        return Error::OK;
    char name[16];
    put_address(name, d.info.address);
    uint32_t where = s.config.read(d.info.address, uint16_t(d.info.msix_offset + 4), 4);
    pci::MsixTable table;
    if (pci::locate_msix_table(d.info, where, table) != Error::OK) {
        println("pci: {}: the MSI-X table ({:#x}) is not inside a memory BAR; no MSI-X",
                base::StringView(name), where);
        return Error::NOT_SUPPORTED;
    }
    uint64_t first = base::align_down(table.physical, kPage);
    uint64_t length = base::align_up(table.physical + table.bytes, kPage) - first;
    auto memory =
        sys_result<tern_handle_t>(tern_sys_memory_create_physical(s.mmio_resource, first, length));
    if (memory.is_error()) {
        println("pci: {}: the MSI-X table at {:#x} cannot be mapped: {}", base::StringView(name),
                table.physical, base::error_name(memory.error()));
        return Error::NOT_SUPPORTED;
    }
    auto at = sys_result<uint64_t>(tern_sys_vm_map_memory(
        tern::self(), memory.value(), 0, 0, length, TERN_PROT_READ | TERN_PROT_WRITE));
    (void)tern_sys_handle_close(memory.value());
    if (at.is_error())
        return at.error() == Error::NO_MEMORY ? Error::NO_MEMORY : Error::NOT_SUPPORTED;
    d.msix_table = reinterpret_cast<volatile uint32_t*>(at.value() + (table.physical - first));
    return Error::OK;
}

// MSI-X: up to `count` vectors (at most kMaxVectors and the table's size), each from the
// kernel, written into table entries 0..n-1 and unmasked; the other entries stay masked,
// INTx is turned off. The vectors are kept across claims and Interrupt calls (their table
// entries are written again each time, as a driver with the BAR mapped may have touched
// them); the reply may carry fewer than asked when the kernel runs out.
Error setup_msix(State& s, Device& d, uint32_t count, tern::pci::InterruptResponse& out,
                 proto::Reply& reply) {
    if (Error e = map_msix_table(s, d); e != Error::OK)
        return e;
    uint32_t want = base::min(base::min(count, kMaxVectors), uint32_t(d.info.msix_entries));
    pci::Address a = d.info.address;
    uint16_t control_at = uint16_t(d.info.msix_offset + 2);
    // Function mask on while the table changes; memory decoding on, so the table answers.
    s.config.write(a, control_at, 2, uint16_t(s.config.read(a, control_at, 2) | 0x4000u));
    set_command(d, uint16_t(command_of(d) | pci::kCommandMemory | pci::kCommandIntxDisable));
    for (uint32_t i = 0; i < d.info.msix_entries; ++i)
        d.msix_table[4 * i + 3] = 1;
    while (d.msix_count < want) {
        tern_msi_message message = {};
        auto irq = sys_result<tern_handle_t>(
            tern_sys_irq_create_msi(s.msi_resource, reinterpret_cast<uint64_t>(&message)));
        if (irq.is_error()) {
            if (d.msix_count == 0)
                return irq.error() == Error::NO_SPACE ? Error::NO_SPACE : Error::NOT_SUPPORTED;
            break;
        }
        d.msix_irqs[d.msix_count] = irq.value();
        d.msix_messages[d.msix_count] = message;
        ++d.msix_count;
    }
    uint32_t n = base::min(want, d.msix_count);
    for (uint32_t i = 0; i < n; ++i) {
        (void)tern_sys_irq_bind(d.msix_irqs[i], 0, 0);
        auto copy =
            sys_result<tern_handle_t>(tern_sys_handle_duplicate(d.msix_irqs[i], TERN_RIGHTS_SAME));
        if (copy.is_error()) {
            for (uint32_t j = 0; j < i; ++j)
                (void)tern_sys_handle_close(reply.handles[j]);
            return copy.error();
        }
        reply.handles[i] = copy.value();
        volatile uint32_t* entry = d.msix_table + 4 * i;
        entry[0] = uint32_t(d.msix_messages[i].address);
        entry[1] = uint32_t(d.msix_messages[i].address >> 32);
        entry[2] = d.msix_messages[i].data;
        entry[3] = 0; // unmasked
    }
    s.config.write(a, control_at, 2,
                   uint16_t((s.config.read(a, control_at, 2) | 0x8000u) & ~0x4000u));
    reply.handle_count = n;
    out.kind = tern::pci::InterruptKind::kMsix;
    out.count = n;
    return Error::OK;
}

Error set_up_interrupt(State* s, proto::Request& request, const tern::pci::InterruptRequest& in,
                       tern::pci::InterruptResponse& out, proto::Reply& reply) {
    using tern::pci::InterruptKind;
    Device* d = device_of(request);
    if (!d)
        return Error::INVALID_ARGUMENT;
    if (in.count == 0 || uint32_t(in.kind) > uint32_t(InterruptKind::kIntx)) {
        request.set_refusal_reason("count 0 or an unknown kind");
        return Error::INVALID_ARGUMENT;
    }
    if (in.kind == InterruptKind::kMsix && d->info.msix_offset == 0)
        return Error::NOT_SUPPORTED;
    if (d->info.msix_offset != 0
        && (in.kind == InterruptKind::kMsix || in.kind == InterruptKind::kAny)) {
        Error e = setup_msix(*s, *d, in.count, out, reply);
        if (e == Error::OK || in.kind == InterruptKind::kMsix)
            return e;
        // kAny: a function whose MSI-X cannot be used falls back to MSI or INTx.
    }
    if (in.kind == InterruptKind::kMsi && d->info.msi_offset == 0)
        return Error::NOT_SUPPORTED;
    if (d->info.msi_offset != 0 && in.kind != InterruptKind::kIntx)
        return setup_msi(*s, *d, out, reply);
    if (d->info.interrupt_pin == 0 || d->info.gsi == pci::kNoGsi)
        return Error::NOT_SUPPORTED;
    if (d->irq == TERN_INVALID_HANDLE) {
        // QEMU (pc and q35) drives a PCI interrupt line high while the function asserts
        // INTx: a level-triggered, active-high input, masked from each interrupt to the
        // driver's irq_ack, so the asserted line cannot storm.
        auto irq = sys_result<tern_handle_t>(
            tern_sys_irq_create(s->irq_resource, d->info.gsi, TERN_IRQ_GSI | TERN_IRQ_LEVEL));
        if (irq.is_error()) {
            // FIXME: two claimed functions on one INTx line need a shared line, which the
            // kernel's IRQ objects cannot be yet.
            char name[16];
            put_address(name, d->info.address);
            println("pci: {}: IRQ {} unavailable: {}", base::StringView(name), d->info.gsi,
                    base::error_name(irq.error()));
            return irq.error() == Error::BUSY ? Error::BUSY : Error::NOT_SUPPORTED;
        }
        d->irq = irq.value();
    }
    // The earlier binding (an earlier call, or a dead driver's) stops firing here.
    (void)tern_sys_irq_bind(d->irq, 0, 0);
    auto copy = sys_result<tern_handle_t>(tern_sys_handle_duplicate(d->irq, TERN_RIGHTS_SAME));
    if (copy.is_error())
        return copy.error();
    set_command(*d, uint16_t(command_of(*d) & ~pci::kCommandIntxDisable));
    out.kind = InterruptKind::kIntx;
    out.count = 1;
    reply.handles[0] = copy.value();
    reply.handle_count = 1;
    return Error::OK;
}

Error on_interrupt(State* s, proto::Request& request, const tern::pci::InterruptRequest& in,
                   tern::pci::InterruptResponse& out, proto::Reply& reply, proto::PendingReply&) {
    Error e = set_up_interrupt(s, request, in, out, reply);
    if (e == Error::OK) {
        Device* d = device_of(request);
        char name[16];
        put_address(name, d->info.address);
        const char* kinds[] = {"any", "MSI-X", "MSI", "INTx"};
        println("pci: {}: {} interrupt{}, {} vector{}", base::StringView(name),
                base::StringView(kinds[uint32_t(out.kind) & 3]),
                base::StringView(out.kind == tern::pci::InterruptKind::kIntx ? " (level)" : ""),
                out.count, base::StringView(out.count == 1 ? "" : "s"));
    }
    return e;
}

Error on_pin_dma(State*, proto::Request& request, const proto::Empty&,
                 tern::pci::PinDmaResponse& out, proto::Reply&, proto::PendingReply&) {
    Device* d = device_of(request);
    if (!d)
        return Error::INVALID_ARGUMENT;
    tern_handle_t memory = request.take_handle(0);
    char name[16];
    put_address(name, d->info.address);
    // memory_physical answers only for a memory object held with CONTROL.
    int64_t physical = tern_sys_memory_physical(memory, 0);
    if (physical < 0) {
        Error e = sys_status(physical);
        println("pci: {}: PinDma refused: handles[0] is not a memory object with every "
                "right ({})",
                base::StringView(name), base::error_name(e));
        (void)tern_sys_handle_close(memory);
        request.set_refusal_reason("handles[0] must be a DMA memory object with CONTROL");
        return Error::WRONG_TYPE;
    }
    if (d->pinned_count == tern::pci::kMaxPinned) {
        println("pci: {}: PinDma refused: {} buffers pinned already", base::StringView(name),
                d->pinned_count);
        (void)tern_sys_handle_close(memory);
        return Error::NO_SPACE;
    }
    // Its size, for the log: the number of pages memory_physical answers for, found by
    // bisection (DMA buffers are at most 4 MiB).
    uint64_t lo = 1, hi = (uint64_t(4) << 20) / 4096;
    while (lo < hi) {
        uint64_t mid = (lo + hi + 1) / 2;
        if (tern_sys_memory_physical(memory, (mid - 1) * 4096) >= 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    uint64_t size = lo * 4096;
    d->pinned[d->pinned_count] = memory;
    d->pinned_bytes[d->pinned_count] = size;
    ++d->pinned_count;
    out.pinned = d->pinned_count;
    return Error::OK;
}

} // namespace

extern "C" int main(uint64_t) {
    tern_handle_t io = startup_handle(TERN_STARTUP_PRIVATE);
    g_state.io_resource = io;
    g_state.irq_resource = startup_handle(TERN_STARTUP_PRIVATE + 1);
    g_state.mmio_resource = startup_handle(TERN_STARTUP_PRIVATE + 2);
    g_state.msi_resource = startup_handle(TERN_STARTUP_PRIVATE + 3);
    if (io == TERN_INVALID_HANDLE || g_state.irq_resource == TERN_INVALID_HANDLE
        || g_state.mmio_resource == TERN_INVALID_HANDLE
        || g_state.msi_resource == TERN_INVALID_HANDLE) {
        println("pci: needs the I/O port, IRQ, MMIO and MSI resources (init.conf: +pci)");
        return 2;
    }
    auto ports = driver::IoPorts::enable(io, kConfigAddress, kConfigPorts);
    if (ports.is_error()) {
        println("pci: configuration ports refused: {}", base::error_name(ports.error()));
        return 1;
    }
    g_state.config.io = ports.value();
    // ECAM when MCFG describes segment 0 (q35); the ports otherwise (pc has no MCFG).
    static tern_firmware_info firmware;
    if (tern_sys_firmware_info(reinterpret_cast<uint64_t>(&firmware)) >= 0
        && (firmware.flags & TERN_FIRMWARE_MCFG)) {
        for (uint32_t i = 0; i < firmware.ecam_count && i < TERN_FIRMWARE_MAX_ECAM; ++i) {
            const tern_firmware_ecam& w = firmware.ecam[i];
            if (w.segment == 0
                && g_state.config.use_ecam(g_state.mmio_resource, w.base, w.start_bus, w.end_bus))
                break;
        }
    }
    auto port = sys_result<tern_handle_t>(tern_sys_port_create(32));
    if (port.is_error()) {
        println("pci: no port: {}", base::error_name(port.error()));
        return 1;
    }
    g_state.port = port.value();

    Log log;
    pci::Enumeration e =
        pci::enumerate(g_state.config, {g_state.infos, tern::pci::kMaxDevices}, log);
    g_state.count = e.count;
    for (uint32_t i = 0; i < e.count; ++i)
        g_state.devices[i].info = g_state.infos[i];
    if (g_state.config.ecam())
        println("pci: {} functions on {} buses (ECAM)", e.count, e.buses);
    else
        println("pci: {} functions on {} buses (configuration ports 0xcf8)", e.count, e.buses);

    proto::Server server("pci", g_state.port);
    server.on<tern::pci::List>(&g_state, on_list);
    server.on<tern::pci::Claim>(&g_state, on_claim);
    server.on<tern::pci::Trust>(&g_state, on_trust);
    server.on<tern::pci::Info>(&g_state, on_info);
    server.on<tern::pci::ConfigRead>(&g_state, on_config_read);
    server.on<tern::pci::ConfigWrite>(&g_state, on_config_write);
    server.on<tern::pci::MapBar>(&g_state, on_map_bar);
    server.on<tern::pci::Interrupt>(&g_state, on_interrupt);
    server.on<tern::pci::PinDma>(&g_state, on_pin_dma);
    if (auto r = register_name("pci", g_state.port); r.is_error()) {
        println("pci: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    server.run();
}

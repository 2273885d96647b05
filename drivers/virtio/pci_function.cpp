// The parts of the virtio library that talk to the PCI server and the kernel.
#include <base/utility.h>
#include <drivers/virtio/pci_function.h>
#include <tern/protocol.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

namespace virtio {

using namespace tern;

namespace {

constexpr uint16_t kPciCommand = 0x04;
constexpr uint32_t kCommandBusMaster = 1u << 2;
constexpr uint64_t kPage = 4096;
// The PCI bus server answers at once; no answer in this time means it is stuck or gone.
constexpr uint64_t kCallTimeoutNs = 5000000000ull;

} // namespace

base::Result<pci::DeviceInfo> PciFunction::info() {
    pci::DeviceInfo out{};
    uint32_t size = 0;
    proto::CallParts parts{};
    parts.out_data = {reinterpret_cast<uint8_t*>(&out), sizeof(out)};
    parts.out_data_size = &size;
    TRY(proto::call<pci::Info>(m_device, {}, parts, kCallTimeoutNs));
    if (size != sizeof(out))
        return base::Error::CORRUPT;
    return out;
}

base::Result<uint32_t> PciFunction::read(uint16_t offset, uint8_t width) {
    pci::ConfigRequest request{offset, width, 0, 0};
    auto response = TRY(proto::call<pci::ConfigRead>(m_device, request, {}, kCallTimeoutNs));
    return response.value;
}

base::Result<void> PciFunction::write(uint16_t offset, uint8_t width, uint32_t value) {
    pci::ConfigRequest request{offset, width, 0, value};
    TRY(proto::call<pci::ConfigWrite>(m_device, request, {}, kCallTimeoutNs));
    return base::ok();
}

base::Result<void> PciFunction::enable_bus_master() {
    uint32_t command = TRY(read(kPciCommand, 2));
    if (command & kCommandBusMaster)
        return base::ok();
    return write(kPciCommand, 2, command | kCommandBusMaster);
}

base::Result<volatile uint8_t*> PciFunction::map_bar(uint32_t index) {
    if (index >= pci::kBarCount)
        return base::Error::INVALID_ARGUMENT;
    if (m_bars[index])
        return m_bars[index];
    tern_handle_t memory = TERN_INVALID_HANDLE;
    uint32_t handle_count = 0;
    proto::CallParts parts{};
    parts.out_handles = &memory;
    parts.out_handle_count = &handle_count;
    auto bar = TRY(proto::call<pci::MapBar>(m_device, {index}, parts, kCallTimeoutNs));
    if (handle_count != 1) {
        if (handle_count)
            (void)tern_sys_handle_close(memory);
        return base::Error::CORRUPT;
    }
    if (bar.kind == pci::BarKind::kIo || bar.kind == pci::BarKind::kNone || bar.size == 0) {
        (void)tern_sys_handle_close(memory);
        return base::Error::NOT_SUPPORTED;
    }
    uint64_t length = base::align_up(bar.size, kPage);
    auto at = sys_result<uint64_t>(tern_sys_vm_map_memory(tern::self(), memory, 0, 0, length,
                                                          TERN_PROT_READ | TERN_PROT_WRITE));
    // The mapping keeps the memory object alive; the handle is not needed again.
    (void)tern_sys_handle_close(memory);
    if (at.is_error())
        return at.error();
    m_bars[index] = reinterpret_cast<volatile uint8_t*>(at.value());
    return m_bars[index];
}

base::Result<Interrupts> PciFunction::interrupts(uint32_t count) {
    Interrupts out{};
    const pci::InterruptKind kinds[] = {pci::InterruptKind::kMsix, pci::InterruptKind::kIntx};
    for (pci::InterruptKind kind : kinds) {
        uint32_t handle_count = 0;
        proto::CallParts parts{};
        parts.out_handles = out.irqs;
        parts.out_handle_count = &handle_count;
        uint32_t wanted = kind == pci::InterruptKind::kMsix ? count : 1;
        auto r = proto::call<pci::Interrupt>(m_device, {kind, wanted}, parts, kCallTimeoutNs);
        if (r.is_error()) {
            if (r.error() == base::Error::NOT_SUPPORTED)
                continue;
            return r.error();
        }
        if (handle_count == 0 || handle_count != r.value().count || r.value().kind != kind
            || handle_count > wanted) {
            for (uint32_t i = 0; i < handle_count; ++i)
                (void)tern_sys_handle_close(out.irqs[i]);
            return base::Error::CORRUPT;
        }
        out.kind = kind;
        out.count = handle_count;
        return out;
    }
    return base::Error::NOT_SUPPORTED;
}

} // namespace virtio

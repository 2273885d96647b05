// The parts of drivers/lib/include/driver/ that talk to the kernel.
#include <base/utility.h>
#include <driver/dma.h>
#include <driver/io_ports.h>
#include <driver/irq.h>
#include <driver/mmio.h>
#include <tern/abi/firmware.h>
#include <tern/protocol.h>
#include <tern/protocols/pci.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

namespace driver {
namespace {

constexpr uint64_t kPage = 4096;
// The PCI bus server answers at once; no answer in this time means it is stuck or gone.
constexpr uint64_t kPciCallTimeoutNs = 5000000000ull;

} // namespace

base::Result<IoPorts> IoPorts::enable(tern_handle_t resource, uint16_t base, uint16_t count) {
    if (count == 0 || uint32_t(base) + count > 0x10000u)
        return base::Error::INVALID_ARGUMENT;
    TRY(tern::sys_result<void>(tern_sys_ioport_enable(resource, base, count)));
    return IoPorts(base, count);
}

base::Result<Mmio> Mmio::map(tern_handle_t resource, uint64_t physical, uint64_t size) {
    if (size == 0 || physical + size < physical)
        return base::Error::INVALID_ARGUMENT;
    uint64_t first = base::align_down(physical, kPage);
    uint64_t length = base::align_up(physical + size, kPage) - first;
    auto memory = TRY(
        tern::sys_result<tern_handle_t>(tern_sys_memory_create_physical(resource, first, length)));
    auto at = tern::sys_result<uint64_t>(tern_sys_vm_map_memory(tern::self(), memory, 0, 0, length,
                                                                TERN_PROT_READ | TERN_PROT_WRITE));
    if (at.is_error()) {
        (void)tern_sys_handle_close(memory);
        return at.error();
    }
    auto* base = reinterpret_cast<volatile uint8_t*>(at.value() + (physical - first));
    return Mmio(memory, base, size);
}

base::Result<Mmio> Mmio::map_memory(tern_handle_t memory, uint64_t size) {
    if (size == 0)
        return base::Error::INVALID_ARGUMENT;
    uint64_t length = base::align_up(size, kPage);
    auto at = TRY(tern::sys_result<uint64_t>(tern_sys_vm_map_memory(
        tern::self(), memory, 0, 0, length, TERN_PROT_READ | TERN_PROT_WRITE)));
    return Mmio(memory, reinterpret_cast<volatile uint8_t*>(at), size);
}

base::Result<DmaBuffer> DmaBuffer::allocate(uint64_t size) {
    if (size == 0 || size > (uint64_t(4) << 20))
        return base::Error::INVALID_ARGUMENT;
    size = base::align_up(size, kPage);
    auto memory =
        TRY(tern::sys_result<tern_handle_t>(tern_sys_memory_create(size, TERN_MEMORY_CONTIGUOUS)));
    auto at = tern::sys_result<uint64_t>(
        tern_sys_vm_map_memory(tern::self(), memory, 0, 0, size, TERN_PROT_READ | TERN_PROT_WRITE));
    if (at.is_error()) {
        (void)tern_sys_handle_close(memory);
        return at.error();
    }
    auto physical = tern::sys_result<uint64_t>(tern_sys_memory_physical(memory, 0));
    if (physical.is_error()) {
        (void)tern_sys_vm_free(at.value(), size);
        (void)tern_sys_handle_close(memory);
        return physical.error();
    }
    return DmaBuffer(memory, reinterpret_cast<uint8_t*>(at.value()), size, physical.value());
}

base::Result<void> DmaBuffer::pin_for(tern_handle_t device) const {
    auto copy =
        TRY(tern::sys_result<tern_handle_t>(tern_sys_handle_duplicate(m_memory, TERN_RIGHTS_SAME)));
    tern::proto::CallParts parts{};
    parts.in_handles = {&copy, 1};
    auto r = tern::proto::call<tern::pci::PinDma>(device, {}, parts, kPciCallTimeoutNs);
    if (r.is_error())
        return r.error();
    return {};
}

base::Result<Irq> Irq::bind(tern_handle_t resource, uint32_t line, tern_handle_t port,
                            uint64_t bit) {
    if (bit == 0)
        return base::Error::INVALID_ARGUMENT;
    auto irq =
        TRY(tern::sys_result<tern_handle_t>(tern_sys_irq_create(resource, line, TERN_IRQ_ISA)));
    if (auto r = tern::sys_result<void>(tern_sys_irq_bind(irq, port, bit)); r.is_error()) {
        (void)tern_sys_handle_close(irq);
        return r.error();
    }
    return Irq(irq, port, line, bit);
}

base::Result<Irq> Irq::adopt(tern_handle_t irq, uint32_t line, tern_handle_t port, uint64_t bit) {
    if (bit == 0)
        return base::Error::INVALID_ARGUMENT;
    TRY(tern::sys_result<void>(tern_sys_irq_bind(irq, port, bit)));
    return Irq(irq, port, line, bit);
}

base::Result<void> Irq::ack() const {
    // serve() acks once per round and after a poke(); the kernel answers BAD_STATE when
    // the line has not fired since the last ack, which leaves it unmasked as wanted.
    auto r = tern::sys_result<void>(tern_sys_irq_ack(m_irq));
    if (r.is_error() && r.error() == base::Error::BAD_STATE)
        return base::ok();
    return r;
}

base::Result<void> Irq::poke() const {
    return tern::sys_result<void>(tern_sys_port_signal(m_port, m_bit));
}

} // namespace driver

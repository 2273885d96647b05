// Self-tests of IRQ objects, memory objects and resources.
#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/ioapic.h>
#include <kernel/core/clock.h>
#include <kernel/core/memory.h>
#include <kernel/object/irq.h>
#include <kernel/object/memory_object.h>
#include <kernel/object/resource.h>
#include <kernel/object/task.h>
#include <kernel/test/ktest.h>

namespace kernel {
using namespace x86_64;

namespace {

KTEST(device, irq_becomes_port_signal) {
    // COM1 raises IRQ 4 as soon as its transmitter-empty interrupt is enabled, which
    // makes it a device every machine here has and the test can trigger at will.
    auto irq = Irq::create_isa(4);
    KEXPECT_OK(irq);
    obj::Ref<Irq> guard = obj::Ref<Irq>::adopt(irq.value());
    KEXPECT_EQ(Irq::create_isa(4).error(), base::Error::BUSY);
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(2));
    KEXPECT_OK(guard->bind(port, 0x10));
    outb(0x3F8 + 1, 0x02); // IER: transmitter holding register empty
    auto m = port->receive(monotonic_ns() + 200000000ull, true);
    outb(0x3F8 + 1, 0x00);
    KEXPECT_OK(m);
    KEXPECT_EQ(m.value().header.label, uint32_t(TERN_LABEL_SIGNAL));
    KEXPECT_EQ(m.value().words[0], uint64_t(0x10));
    KEXPECT(guard->count() >= 1);
    // Masked until acknowledged: no second signal without an ack.
    auto again = port->receive(monotonic_ns() + 20000000ull, true);
    KEXPECT(again.is_error());
    KEXPECT_OK(guard->ack());
    KEXPECT_EQ(guard->ack().error(), base::Error::BAD_STATE);
    KEXPECT_OK(guard->bind({}, 0));
}

// A level-triggered, active-low input (PCI INTx): programmed that way, masked from the
// interrupt until the ack, then unmasked; a second ack is refused.
KTEST(device, level_irq_masked_until_ack) {
    constexpr uint32_t kMasked = 1u << 16, kLevel = 1u << 15, kActiveLow = 1u << 13;
    uint32_t gsi = ioapic_gsi_count() - 1;
    auto irq = Irq::create_gsi(gsi, true, true);
    KEXPECT_OK(irq);
    obj::Ref<Irq> guard = obj::Ref<Irq>::adopt(irq.value());
    uint32_t entry = ioapic_read_entry(gsi);
    KEXPECT_EQ(entry & 0xFF, uint32_t(kGsiVectorBase + gsi));
    KEXPECT(entry & kLevel);
    KEXPECT(entry & kActiveLow);
    KEXPECT(entry & kMasked);
    KEXPECT_EQ(guard->ack().error(), base::Error::BAD_STATE);
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(2));
    {
        // With interrupts off, so a device really on the line cannot interleave.
        InterruptGuard off;
        KEXPECT_OK(guard->bind(port, 1));
        KEXPECT(!(ioapic_read_entry(gsi) & kMasked));
        guard->fire(); // as the interrupt handler does
        KEXPECT(ioapic_read_entry(gsi) & kMasked);
        KEXPECT_OK(guard->ack());
        KEXPECT(!(ioapic_read_entry(gsi) & kMasked));
        KEXPECT_EQ(guard->ack().error(), base::Error::BAD_STATE);
        KEXPECT_OK(guard->bind({}, 0));
    }
    KEXPECT(ioapic_read_entry(gsi) & kMasked);
    KEXPECT_EQ(Irq::create_gsi(ioapic_gsi_count(), true, true).error(), base::Error::OUT_OF_RANGE);
}

// An MSI arrives as its vector; a self-IPI delivers exactly what the device's message
// write would.
KTEST(device, msi_vector_becomes_port_signal) {
    auto irq = Irq::create_msi(0, ~0ull);
    KEXPECT_OK(irq);
    obj::Ref<Irq> guard = obj::Ref<Irq>::adopt(irq.value());
    KEXPECT(guard->vector() >= kMsiVectorBase);
    uint64_t address = 0;
    uint32_t data = 0;
    msi_compose(guard->vector(), address, data);
    KEXPECT_EQ(address & 0xFFF00000ull, uint64_t(0xFEE00000));
    KEXPECT_EQ(data & 0xFF, uint32_t(guard->vector()));
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(2));
    KEXPECT_OK(guard->bind(port, 0x20));
    lapic_self_ipi(guard->vector());
    auto m = port->receive(monotonic_ns() + 200000000ull, true);
    KEXPECT_OK(m);
    KEXPECT_EQ(m.value().words[0], uint64_t(0x20));
    KEXPECT_EQ(guard->count(), uint64_t(1));
    KEXPECT_OK(guard->ack());
    KEXPECT_EQ(guard->ack().error(), base::Error::BAD_STATE);
    // A range of one vector that is taken has no room.
    KEXPECT_EQ(Irq::create_msi(guard->vector(), 1).error(), base::Error::NO_SPACE);
    KEXPECT_EQ(Irq::create_msi(0, kMsiVectorBase).error(), base::Error::NO_SPACE);
}

KTEST(device, contiguous_memory_object_for_dma) {
    // The first object may grow the heap's slab for its size, which the heap keeps; only a
    // second round is measured.
    if (auto warm = MemoryObject::create(16 * 4096, true); warm.ok())
        warm.value()->release_ref();
    size_t before = page_allocator().free_page_count();
    auto m = MemoryObject::create(16 * 4096, true);
    KEXPECT_OK(m);
    for (uint64_t i = 1; i < 16; ++i)
        KEXPECT_EQ(m.value()->page_phys(i), m.value()->page_phys(0) + i * 4096);
    KEXPECT_EQ(*phys_to_virt<uint64_t>(m.value()->page_phys(3)), uint64_t(0));
    m.value()->release_ref();
    KEXPECT_EQ(page_allocator().free_page_count(), before);
    KEXPECT(MemoryObject::create(4097, false).is_error());
    KEXPECT(MemoryObject::create(0, false).is_error());
}

KTEST(device, mmio_object_refuses_ram) {
    KEXPECT(is_managed_ram(0x200000, 4096) || is_managed_ram(0x1000000, 4096));
    KEXPECT(!is_managed_ram(0xFEE00000, 4096)); // the local APIC's registers
}

KTEST(device, resource_ranges) {
    Resource r(Resource::Kind::kIoPort, 0x3F8, 8);
    KEXPECT(r.covers(Resource::Kind::kIoPort, 0x3F8, 8));
    KEXPECT(r.covers(Resource::Kind::kIoPort, 0x3FA, 2));
    KEXPECT(!r.covers(Resource::Kind::kIoPort, 0x3FA, 7));
    KEXPECT(!r.covers(Resource::Kind::kIoPort, 0x3F7, 1));
    KEXPECT(!r.covers(Resource::Kind::kIrq, 0x3F8, 1));
    KEXPECT(!r.covers(Resource::Kind::kIoPort, 0xFFFFFFFF, 2));
}

} // namespace
} // namespace kernel

// Self-tests of IRQ objects, memory objects and resources.
#include <kernel/arch/x86_64/cpu.h>
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
    auto irq = Irq::create(4);
    KEXPECT_OK(irq);
    obj::Ref<Irq> guard = obj::Ref<Irq>::adopt(irq.value());
    KEXPECT_EQ(Irq::create(4).error(), base::Error::BUSY);
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
    KEXPECT_OK(guard->bind({}, 0));
}

KTEST(device, contiguous_memory_object_for_dma) {
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

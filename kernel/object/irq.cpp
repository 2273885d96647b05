// IRQ objects: an interrupt line's interrupts become signals on a port.
#include <kernel/arch/x86_64/ioapic.h>
#include <kernel/core/memory.h>
#include <kernel/object/irq.h>
#include <kernel/object/thread.h>

namespace kernel {

namespace {

// The IRQ object that owns each line, if any.
Irq* g_irqs[x86_64::kIoApicLines];

void on_line(uint32_t line) {
    if (line < x86_64::kIoApicLines && g_irqs[line])
        g_irqs[line]->fire();
}

} // namespace

void irq_init() { x86_64::ioapic_init(on_line); }

base::Result<Irq*> Irq::create(uint32_t line) {
    if (line >= x86_64::kIoApicLines)
        return base::Error::OUT_OF_RANGE;
    InterruptGuard guard;
    if (g_irqs[line])
        return base::Error::BUSY;
    auto* irq = new (kNoThrow) Irq(line);
    if (!irq)
        return base::Error::NO_MEMORY;
    g_irqs[line] = irq;
    return irq;
}

base::Result<void> Irq::bind(obj::Ref<Port> port, uint64_t bits) {
    InterruptGuard guard;
    m_port = base::move(port);
    m_bits = bits;
    x86_64::ioapic_set_masked(m_line, !m_port);
    return {};
}

void Irq::fire() {
    ++m_count;
    // Masked until the driver acknowledges, so a level-triggered or chattering device
    // cannot flood the CPU.
    x86_64::ioapic_set_masked(m_line, true);
    if (m_port)
        (void)m_port->signal(m_bits);
}

void Irq::ack() {
    InterruptGuard guard;
    if (m_port)
        x86_64::ioapic_set_masked(m_line, false);
}

void Irq::destroy() {
    {
        InterruptGuard guard;
        x86_64::ioapic_set_masked(m_line, true);
        g_irqs[m_line] = nullptr;
    }
    delete this;
}

} // namespace kernel

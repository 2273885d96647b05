// IRQ objects: an interrupt source's interrupts become signals on a port.
#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/ioapic.h>
#include <kernel/arch/x86_64/trap.h>
#include <kernel/core/memory.h>
#include <kernel/object/irq.h>
#include <kernel/object/thread.h>

namespace kernel {

namespace {

using x86_64::kGsiVectorBase;
using x86_64::kMsiVectorBase;
using x86_64::kMsiVectorCount;

// The IRQ object that owns each vector, if any.
Irq* g_owners[256];

void on_vector(x86_64::TrapFrame& frame) {
    if (Irq* irq = g_owners[frame.vector & 0xFF])
        irq->fire();
    x86_64::lapic_eoi();
}

} // namespace

void irq_init() {
    for (uint32_t gsi = 0; gsi < x86_64::kMaxGsis; ++gsi)
        x86_64::set_trap_handler(uint8_t(kGsiVectorBase + gsi), on_vector);
    for (uint32_t i = 0; i < kMsiVectorCount; ++i)
        x86_64::set_trap_handler(uint8_t(kMsiVectorBase + i), on_vector);
}

base::Result<Irq*> Irq::create_gsi(uint32_t gsi, bool level, bool active_low) {
    if (gsi >= x86_64::ioapic_gsi_count())
        return base::Error::OUT_OF_RANGE;
    uint8_t vector = uint8_t(kGsiVectorBase + gsi);
    InterruptGuard guard;
    if (g_owners[vector])
        return base::Error::BUSY;
    if (!x86_64::ioapic_configure(gsi, level, active_low))
        return base::Error::OUT_OF_RANGE;
    auto* irq = new (kNoThrow) Irq(Kind::kGsi, gsi, vector);
    if (!irq)
        return base::Error::NO_MEMORY;
    g_owners[vector] = irq;
    return irq;
}

base::Result<Irq*> Irq::create_isa(uint32_t isa_irq) {
    if (isa_irq >= x86_64::kIsaIrqs)
        return base::Error::OUT_OF_RANGE;
    x86_64::IsaRoute route = x86_64::ioapic_isa_route(isa_irq);
    return create_gsi(route.gsi, route.level, route.active_low);
}

base::Result<Irq*> Irq::create_msi(uint64_t first, uint64_t count) {
    uint64_t lo = first > kMsiVectorBase ? first : kMsiVectorBase;
    uint64_t hi = uint64_t(kMsiVectorBase) + kMsiVectorCount;
    if (count < hi - first && first + count < hi)
        hi = first + count;
    InterruptGuard guard;
    for (uint64_t v = lo; v < hi; ++v) {
        if (g_owners[v])
            continue;
        auto* irq = new (kNoThrow) Irq(Kind::kMsi, uint32_t(v), uint8_t(v));
        if (!irq)
            return base::Error::NO_MEMORY;
        g_owners[v] = irq;
        return irq;
    }
    return base::Error::NO_SPACE;
}

base::Result<void> Irq::bind(obj::Ref<Port> port, uint64_t bits) {
    InterruptGuard guard;
    m_port = base::move(port);
    m_bits = bits;
    m_pending = false;
    if (m_kind == Kind::kGsi)
        x86_64::ioapic_set_masked(m_line, !m_port);
    return {};
}

void Irq::fire() {
    ++m_count;
    // An I/O APIC input stays masked until the driver acknowledges, so a level-triggered
    // or chattering device cannot flood the CPU.
    if (m_kind == Kind::kGsi)
        x86_64::ioapic_set_masked(m_line, true);
    m_pending = true;
    if (m_port)
        (void)m_port->signal(m_bits);
}

base::Result<void> Irq::ack() {
    InterruptGuard guard;
    if (!m_pending)
        return base::Error::BAD_STATE;
    m_pending = false;
    if (m_kind == Kind::kGsi && m_port)
        x86_64::ioapic_set_masked(m_line, false);
    return {};
}

void Irq::destroy() {
    {
        InterruptGuard guard;
        if (m_kind == Kind::kGsi)
            x86_64::ioapic_set_masked(m_line, true);
        g_owners[m_vector] = nullptr;
    }
    delete this;
}

} // namespace kernel

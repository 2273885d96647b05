#pragma once
// An IRQ object: one interrupt source, turned into signals on a port. Two kinds:
// - an I/O APIC input (a GSI, edge or level, either polarity): masked from each
//   interrupt until the driver acknowledges it, so a level-triggered line that stays
//   asserted cannot storm the CPU;
// - an MSI vector: the device sends one message per event, so nothing needs masking; the
//   object remembers that it fired until the driver acknowledges.
#include <base/result.h>
#include <kernel/object/kobject.h>
#include <kernel/object/port.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace kernel {

class Irq final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_IRQ;
    enum class Kind : uint8_t {
        kGsi,
        kMsi
    };
    // An I/O APIC input. OUT_OF_RANGE: no I/O APIC input with a vector; BUSY: owned.
    static base::Result<Irq*> create_gsi(uint32_t gsi, bool level, bool active_low);
    // An ISA IRQ, routed as the firmware's overrides say. OUT_OF_RANGE above 15.
    static base::Result<Irq*> create_isa(uint32_t isa_irq);
    // A free MSI vector in [first, first + count) (clipped to the MSI vectors). NO_SPACE.
    static base::Result<Irq*> create_msi(uint64_t first, uint64_t count);
    base::Result<void> bind(obj::Ref<Port> port, uint64_t bits);
    // BAD_STATE when it has not fired since the last bind or ack.
    base::Result<void> ack();
    void fire(); // from the interrupt handler
    Kind kind() const { return m_kind; }
    uint32_t line() const { return m_line; }
    uint8_t vector() const { return m_vector; }
    uint64_t count() const { return m_count; }
    bool pending() const { return m_pending; }

protected:
    void destroy() override;

private:
    Irq(Kind kind, uint32_t line, uint8_t vector)
        : obj::KObject(kType), m_kind(kind), m_vector(vector), m_line(line) {}
    Kind m_kind;
    uint8_t m_vector;
    bool m_pending = false;
    uint32_t m_line; // the GSI, or the vector for an MSI
    obj::Ref<Port> m_port;
    uint64_t m_bits = 0;
    uint64_t m_count = 0;
};

// Installs the interrupt handler for every GSI and MSI vector (the I/O APICs must be set
// up first: x86_64::ioapic_init).
void irq_init();

} // namespace kernel

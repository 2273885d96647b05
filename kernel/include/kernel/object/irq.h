#pragma once
// An IRQ object: one interrupt line, turned into signals on a port. The line stays
// masked from each interrupt until the driver acknowledges it.
#include <base/result.h>
#include <kernel/object/kobject.h>
#include <kernel/object/port.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace kernel {

class Irq final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_IRQ;
    static base::Result<Irq*> create(uint32_t line);
    base::Result<void> bind(obj::Ref<Port> port, uint64_t bits);
    void ack();
    void fire(); // from the interrupt handler
    uint32_t line() const { return m_line; }
    uint64_t count() const { return m_count; }

protected:
    void destroy() override;

private:
    explicit Irq(uint32_t line) : obj::KObject(kType), m_line(line) {}
    uint32_t m_line;
    obj::Ref<Port> m_port;
    uint64_t m_bits = 0;
    uint64_t m_count = 0;
};

// Routes the interrupt lines IRQ objects can claim to them (all masked until bound).
void irq_init();

} // namespace kernel

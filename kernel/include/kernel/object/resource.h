#pragma once
// A resource: a range of IRQ lines, I/O ports or physical addresses that its holder may
// claim for a driver (irq_create, ioport_enable, memory_create_physical) or hand on.
#include <kernel/object/kobject.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace kernel {

class Resource final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_RESOURCE;
    enum class Kind : uint8_t {
        kIrq,
        kIoPort,
        kMmio
    };
    Resource(Kind kind, uint64_t base, uint64_t count)
        : obj::KObject(kType), m_kind(kind), m_base(base), m_count(count) {}
    bool covers(Kind kind, uint64_t base, uint64_t count) const {
        return kind == m_kind && base >= m_base && count <= m_count
               && base - m_base <= m_count - count;
    }

protected:
    void destroy() override { delete this; }

private:
    Kind m_kind;
    uint64_t m_base, m_count;
};

} // namespace kernel

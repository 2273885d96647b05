#pragma once
// A resource: a range of GSIs, I/O ports, physical addresses or MSI vectors that its holder
// may claim for a driver (irq_create, ioport_enable, memory_create_physical,
// irq_create_msi), narrow (resource_split) or hand on; or the right to read the boot
// options (boot_option).
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
        kMmio,
        kMsi,
        kConfig
    };
    Resource(Kind kind, uint64_t base, uint64_t count)
        : obj::KObject(kType), m_kind(kind), m_base(base), m_count(count) {}
    bool covers(Kind kind, uint64_t base, uint64_t count) const {
        return kind == m_kind && base >= m_base && count <= m_count
               && base - m_base <= m_count - count;
    }
    Kind kind() const { return m_kind; }
    uint64_t base() const { return m_base; }
    uint64_t count() const { return m_count; }

protected:
    void destroy() override { delete this; }

private:
    Kind m_kind;
    uint64_t m_base, m_count;
};

} // namespace kernel

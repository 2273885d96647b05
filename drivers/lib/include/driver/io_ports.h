#pragma once

// A driver's window of x86 I/O ports, [base, base + count). The kernel lets a task use IN
// and OUT only on ranges an I/O resource handle covers (ioport_enable); anything else
// faults (#GP). Registers are addressed by their offset in the window, and an offset
// outside it is a bug in the driver, not input, so it is asserted.

#include <base/assert.h>
#include <base/result.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace driver {

class IoPorts {
public:
    IoPorts() = default;

    // Enables [base, base + count) for the calling task through `resource` (an I/O
    // resource covering the range). ACCESS_DENIED when it does not cover it.
    [[nodiscard]] static base::Result<IoPorts> enable(tern_handle_t resource, uint16_t base,
                                                      uint16_t count);

    uint16_t base() const { return m_base; }
    uint16_t count() const { return m_count; }

    uint8_t in8(uint16_t offset) const {
        uint8_t value;
        __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port(offset, 1)));
        return value;
    }
    uint16_t in16(uint16_t offset) const {
        uint16_t value;
        __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port(offset, 2)));
        return value;
    }
    uint32_t in32(uint16_t offset) const {
        uint32_t value;
        __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port(offset, 4)));
        return value;
    }
    void out8(uint16_t offset, uint8_t value) const {
        __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port(offset, 1)));
    }
    void out16(uint16_t offset, uint16_t value) const {
        __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port(offset, 2)));
    }
    void out32(uint16_t offset, uint32_t value) const {
        __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port(offset, 4)));
    }

private:
    IoPorts(uint16_t base, uint16_t count) : m_base(base), m_count(count) {}
    uint16_t port(uint16_t offset, uint16_t width) const {
        TERN_ASSERT(uint32_t(offset) + width <= m_count);
        return uint16_t(m_base + offset);
    }

    uint16_t m_base = 0;
    uint16_t m_count = 0;
};

} // namespace driver

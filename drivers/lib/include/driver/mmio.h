#pragma once

// A device's memory-mapped registers: a memory object over the physical range (the
// kernel maps it uncached and refuses RAM it manages), mapped read-write into the
// driver. Accesses are volatile and exactly as wide as asked, as device registers need.
// An offset outside the window is a bug in the driver, so it is asserted.

#include <base/assert.h>
#include <base/result.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace driver {

class Mmio {
public:
    Mmio() = default;

    // Maps [physical, physical + size) through `resource` (an MMIO resource covering the
    // range). The range need not be page-aligned; the pages around it are mapped too.
    // ACCESS_DENIED (not covered), INVALID_ARGUMENT (RAM, or size 0), NO_MEMORY.
    [[nodiscard]] static base::Result<Mmio> map(tern_handle_t resource, uint64_t physical,
                                                uint64_t size);
    // Maps the first `size` bytes of a memory object over device registers, as the PCI
    // bus server's MapBar hands out; the object is kept. INVALID_ARGUMENT (size 0), the
    // kernel's errors for the mapping.
    [[nodiscard]] static base::Result<Mmio> map_memory(tern_handle_t memory, uint64_t size);

    uint64_t size() const { return m_size; }
    tern_handle_t memory() const { return m_memory; }

    uint8_t read8(uint64_t offset) const { return *at<uint8_t>(offset); }
    uint16_t read16(uint64_t offset) const { return *at<uint16_t>(offset); }
    uint32_t read32(uint64_t offset) const { return *at<uint32_t>(offset); }
    uint64_t read64(uint64_t offset) const { return *at<uint64_t>(offset); }
    void write8(uint64_t offset, uint8_t value) const { *at<uint8_t>(offset) = value; }
    void write16(uint64_t offset, uint16_t value) const { *at<uint16_t>(offset) = value; }
    void write32(uint64_t offset, uint32_t value) const { *at<uint32_t>(offset) = value; }
    void write64(uint64_t offset, uint64_t value) const { *at<uint64_t>(offset) = value; }

private:
    Mmio(tern_handle_t memory, volatile uint8_t* base, uint64_t size)
        : m_memory(memory), m_base(base), m_size(size) {}
    template<typename T>
    volatile T* at(uint64_t offset) const {
        TERN_ASSERT(offset % sizeof(T) == 0 && offset + sizeof(T) <= m_size);
        return reinterpret_cast<volatile T*>(m_base + offset);
    }

    tern_handle_t m_memory = TERN_INVALID_HANDLE;
    volatile uint8_t* m_base = nullptr;
    uint64_t m_size = 0;
};

} // namespace driver

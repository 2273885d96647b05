#pragma once

// Memory a device reads and writes by itself (descriptor rings, packet buffers): zeroed,
// physically contiguous pages (at most 4 MiB, the kernel's bound), mapped read-write into
// the driver, with the physical address the device is programmed with.

#include <base/result.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace driver {

class DmaBuffer {
public:
    DmaBuffer() = default;

    // `size` is rounded up to whole pages. INVALID_ARGUMENT (0 or over 4 MiB), NO_MEMORY,
    // QUOTA_EXCEEDED (the task's memory quota).
    [[nodiscard]] static base::Result<DmaBuffer> allocate(uint64_t size);

    uint8_t* data() const { return m_data; }
    uint64_t size() const { return m_size; }
    // The device address of data()[0]; data()[i] is at physical() + i.
    uint64_t physical() const { return m_physical; }
    // The memory object, to hand to another task that shares the buffer.
    tern_handle_t memory() const { return m_memory; }

    // Hands the PCI bus server a reference to the memory for the function behind
    // `device` (a device port), so the pages outlive this task until the function's bus
    // mastering is off (tern::pci::PinDma). Call it before the device learns physical().
    // WRONG_TYPE, NO_SPACE (the server's limit), or the call's error.
    [[nodiscard]] base::Result<void> pin_for(tern_handle_t device) const;

private:
    DmaBuffer(tern_handle_t memory, uint8_t* data, uint64_t size, uint64_t physical)
        : m_memory(memory), m_data(data), m_size(size), m_physical(physical) {}

    tern_handle_t m_memory = TERN_INVALID_HANDLE;
    uint8_t* m_data = nullptr;
    uint64_t m_size = 0;
    uint64_t m_physical = 0;
};

} // namespace driver

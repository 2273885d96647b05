#pragma once
// The device side of a virtio split virtqueue, simulated on the host for the virtio tests:
// it reads the available ring and the descriptor table the driver wrote and fills the
// used ring, as a device would by DMA. Device addresses in these tests are host pointers,
// so the simulated device reaches buffers directly. It can also misbehave on purpose
// (raw used entries, a used index that jumps).

#include <drivers/virtio/portable/virtqueue.h>

#include <cstring>
#include <vector>

namespace virtio_sim {

struct Part {
    uint64_t address;
    uint32_t length;
    bool device_writes;
};

struct Chain {
    uint16_t head;
    std::vector<Part> parts;
    uint8_t* writable(size_t part) const {
        return reinterpret_cast<uint8_t*>(uintptr_t(parts.at(part).address));
    }
};

class DeviceQueue {
public:
    DeviceQueue() = default;
    DeviceQueue(uint8_t* memory, uint16_t size)
        : m_memory(memory), m_size(size), m_layout(virtio::SplitQueue::layout(size)) {}

    uint16_t available_index() const { return load16(m_layout.available + 2); }
    uint16_t available_flags() const { return load16(m_layout.available); }
    bool has_available() const { return available_index() != m_last_available; }

    // The next chain the driver made available, following NEXT links (at most size
    // links, as a device that guards against loops would).
    bool pop(Chain& out) {
        if (!has_available())
            return false;
        uint16_t head = load16(m_layout.available + 4 + 2 * (m_last_available % m_size));
        ++m_last_available;
        out.head = head;
        out.parts.clear();
        uint16_t index = head;
        for (int n = 0; n < m_size; ++n) {
            const uint8_t* d = m_memory + m_layout.descriptors + 16 * uint64_t(index);
            uint64_t address;
            uint32_t length;
            uint16_t flags, next;
            std::memcpy(&address, d, 8);
            std::memcpy(&length, d + 8, 4);
            std::memcpy(&flags, d + 12, 2);
            std::memcpy(&next, d + 14, 2);
            out.parts.push_back({address, length, (flags & 2) != 0});
            if (!(flags & 1))
                break;
            index = next;
        }
        return true;
    }

    // Writes a used entry and moves the used index past it.
    void push(uint32_t id, uint32_t length) {
        write_entry(m_used_index, id, length);
        ++m_used_index;
        store16(m_layout.used + 2, m_used_index);
    }
    // Writes an entry at the next slot without publishing it.
    void write_entry(uint16_t index, uint32_t id, uint32_t length) {
        uint8_t* e = m_memory + m_layout.used + 4 + 8 * uint64_t(index % m_size);
        std::memcpy(e, &id, 4);
        std::memcpy(e + 4, &length, 4);
    }
    // Sets the used index to anything (a broken device).
    void set_used_index(uint16_t index) {
        m_used_index = index;
        store16(m_layout.used + 2, index);
    }
    void set_no_notify(bool on) { store16(m_layout.used, on ? 1 : 0); }

private:
    uint16_t load16(uint64_t offset) const {
        uint16_t v;
        std::memcpy(&v, m_memory + offset, 2);
        return v;
    }
    void store16(uint64_t offset, uint16_t v) { std::memcpy(m_memory + offset, &v, 2); }

    uint8_t* m_memory = nullptr;
    uint16_t m_size = 0;
    virtio::SplitQueue::Layout m_layout{};
    uint16_t m_last_available = 0;
    uint16_t m_used_index = 0;
};

// Queue memory for a test: 16-byte aligned, device address = host address.
struct QueueMemory {
    explicit QueueMemory(uint16_t size)
        : bytes(virtio::SplitQueue::layout(size).total + 16), size(size) {}
    uint8_t* data() {
        return reinterpret_cast<uint8_t*>((uintptr_t(bytes.data()) + 15) & ~uintptr_t(15));
    }
    uint64_t address() { return uint64_t(uintptr_t(data())); }
    std::vector<uint8_t> bytes;
    uint16_t size;
};

} // namespace virtio_sim

#pragma once
// A virtio 1.x split virtqueue (virtio spec section 2.6) over raw memory: the descriptor
// table, the available ring the driver fills and the used ring the device fills, laid out
// in one block the driver allocates (DMA memory in a driver, plain memory in host tests).
//
// The device is outside Tern's trust: everything it writes (the used ring's index, each
// used entry's id and length) is checked before it is believed. The queue keeps its own
// record of every chain it handed out (head, descriptor count, bytes the device may
// write) in driver-private memory the device cannot reach, and refuses a used entry
// whose id is out of range or not in flight (a duplicate), and a length beyond the
// chain's writable bytes, counting each. A used index that claims more completions than
// chains are in flight makes the queue *broken*: the device must be reset.
//
// Indices are free-running 16-bit counters, as the spec has them; the ring slot is the
// index modulo the queue size, which must be a power of two so that the wrap from 65535
// to 0 keeps the slots in order.
//
// Memory order: the device reads what the driver wrote after it sees the available index
// move, so descriptors and ring slots are stored before the index (release). The driver
// reads a used entry only after it has seen the used index cover it (acquire). Whether the
// device wants a notification is read after the available index is published, with a full
// fence between (a store followed by a load).
#include <base/optional.h>
#include <base/result.h>
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>

namespace virtio {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "virtio 1.x rings are little-endian; this code stores them natively");

// One part of a chain: a device address, a length, and which way the data goes.
struct BufferRef {
    uint64_t address;
    uint32_t length;
    bool device_writes; // true: the device fills it (receive); false: the device reads it
};

// A chain the device has finished with. status is OK, or CORRUPT when the device claimed
// to have written more bytes than the chain holds (the chain is still returned, so its
// buffers can be used again, but its contents must not be trusted).
struct Completion {
    uint16_t head;
    uint32_t length;
    base::Error status;
};

// What the device got wrong, per queue.
struct QueueFaults {
    uint64_t bad_id;       // a used id outside the queue
    uint64_t duplicate_id; // a used id that is not a chain in flight
    uint64_t bad_length;   // a used length beyond the chain's writable bytes
    uint64_t bad_index;    // a used index ahead of what was in flight (the queue breaks)
};

class SplitQueue {
public:
    // The largest queue this driver-side structure keeps a record for. The spec allows
    // 32768; Tern's drivers ask for at most a few hundred, so the private record stays
    // small (9 KiB per queue).
    static constexpr uint16_t kMaxSize = 1024;
    // The longest chain add() takes.
    static constexpr uint16_t kMaxChain = 16;

    // Where each part lies in the queue's memory block, for a queue of `size` entries.
    struct Layout {
        uint64_t descriptors; // 16-byte aligned, 16 * size
        uint64_t available;   // 2-byte aligned, 6 + 2 * size
        uint64_t used;        // 4-byte aligned, 6 + 8 * size
        uint64_t total;
    };
    static Layout layout(uint16_t size);
    static bool valid_size(uint16_t size) {
        return size != 0 && size <= kMaxSize && (size & (size - 1)) == 0;
    }

    SplitQueue() = default;
    SplitQueue(const SplitQueue&) = delete;
    SplitQueue& operator=(const SplitQueue&) = delete;

    // Takes over `memory` (layout(size).total bytes at least, 16-byte aligned), which the
    // device sees at `device_address`, and zeroes it. INVALID_ARGUMENT: a size that is not
    // a power of two in 1..kMaxSize, or misaligned memory.
    [[nodiscard]] base::Result<void> init(void* memory, uint64_t device_address, uint16_t size);

    uint16_t size() const { return m_size; }
    uint64_t descriptor_address() const { return m_device_address + m_layout.descriptors; }
    uint64_t available_address() const { return m_device_address + m_layout.available; }
    uint64_t used_address() const { return m_device_address + m_layout.used; }
    uint16_t free_descriptors() const { return m_free_count; }
    uint16_t in_flight() const { return m_in_flight; }

    // Puts one chain in the available ring (not yet visible to the device: see publish)
    // and returns its head. NO_SPACE: fewer free descriptors than parts;
    // INVALID_ARGUMENT: an empty chain, one over kMaxChain, a zero length, or a
    // device-readable part after a device-writable one (the spec's order).
    [[nodiscard]] base::Result<uint16_t> add(base::Span<const BufferRef> chain);
    // Makes every chain added so far visible to the device. Returns whether the device
    // asks to be notified (it has not set VIRTQ_USED_F_NO_NOTIFY).
    bool publish();

    // Whether the device has returned chains not yet taken.
    bool has_used() const;
    // The next chain the device returned, or nothing. Entries the device got wrong are
    // counted in faults() and skipped (their id names no chain the driver can trust);
    // after a bad used index the queue is broken() and returns nothing.
    base::Optional<Completion> next_used();

    // Asks the device not to interrupt for this queue (VIRTQ_AVAIL_F_NO_INTERRUPT), or to
    // interrupt again. The device may ignore the request, so a driver still drains on
    // every interrupt; after enabling, it checks has_used() once more, because an entry
    // may have arrived while interrupts were off.
    void set_interrupts(bool enabled);

    const QueueFaults& faults() const { return m_faults; }
    bool broken() const { return m_broken; }

private:
    struct Record {
        uint32_t writable; // bytes the device may write into the chain
        uint16_t count;    // descriptors in the chain
        bool in_flight;
    };
    void free_chain(uint16_t head);

    uint8_t* m_memory = nullptr;
    uint64_t m_device_address = 0;
    Layout m_layout{};
    uint16_t m_size = 0;
    uint16_t m_free_head = 0;
    uint16_t m_free_count = 0;
    uint16_t m_in_flight = 0;
    uint16_t m_next_available = 0; // the available index the driver will publish
    uint16_t m_last_used = 0;      // the used index up to which entries were taken
    bool m_broken = false;
    QueueFaults m_faults{};
    // Driver-private: the free list's links and each head's record. The descriptor
    // table's own next fields are the device's view and are never read back.
    uint16_t m_next[kMaxSize] = {};
    Record m_records[kMaxSize] = {};
};

} // namespace virtio

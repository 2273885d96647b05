#pragma once

// The e1000's receive and transmit descriptor rings, as the driver keeps them: which
// slots the device owns, which buffer of the NIC protocol's area each slot carries, and
// what the device's written-back status says about each frame. Nothing here touches the
// device's registers (the driver writes the tail registers from tail()), so host tests
// run the rings against a simulated device (tests/unit/e1000_rings_test.cpp).
//
// Ownership. The device owns the slots from its head up to (not including) the tail the
// driver last wrote; the driver owns the rest. The driver never lets the tail catch up
// with the head (one slot stays empty), so a full ring and an empty one differ. Every
// slot the device owns carries exactly one buffer, and a buffer is in at most one slot.
//
// The device's write-back is outside input: a completed receive descriptor whose length
// is below an Ethernet header or above the largest frame, that carries error bits, or
// that is not the end of a frame (buffers are as large as any frame, so a frame never
// spans two) is counted and dropped, and its buffer goes straight back to the device.

#include <base/span.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/protocols/nic.h>

namespace e1000 {

// The legacy receive descriptor (82540EM manual, 3.2.3).
struct RxDescriptor {
    uint64_t address;
    uint16_t length;
    uint16_t checksum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
};
// The legacy transmit descriptor (3.3.3).
struct TxDescriptor {
    uint64_t address;
    uint16_t length;
    uint8_t cso;
    uint8_t command;
    uint8_t status;
    uint8_t css;
    uint16_t special;
};
static_assert(sizeof(RxDescriptor) == 16 && sizeof(TxDescriptor) == 16);

inline constexpr uint8_t kStatusDone = 1 << 0;        // DD
inline constexpr uint8_t kStatusEndOfPacket = 1 << 1; // EOP (receive)
inline constexpr uint8_t kCommandEndOfPacket = 1 << 0;
inline constexpr uint8_t kCommandInsertFcs = 1 << 1;
inline constexpr uint8_t kCommandReportStatus = 1 << 3;

// Ring sizes: a multiple of 8 descriptors (the length registers count 128-byte units).
inline constexpr uint32_t kMaxRingSize = 4096;

struct RxCounters {
    uint64_t frames = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0; // error bits, or not a whole frame
    uint64_t runts = 0;  // shorter than an Ethernet header
    uint64_t oversize = 0;
};

struct TxCounters {
    uint64_t frames = 0;
    uint64_t bytes = 0;
    uint64_t refused = 0; // descriptors from the stack with a bad length
};

class RxRing {
public:
    // `ring` is `size` descriptors in DMA memory; buffer i of the area is at device
    // address buffer_base + i * kBufferSize. Frames longer than max_frame are dropped.
    // False for a size that is not a multiple of 8 within kMaxRingSize.
    bool init(RxDescriptor* ring, uint32_t size, uint64_t buffer_base, uint32_t max_frame);

    // Hands buffer `index` to the device at the tail; false when the ring has no free
    // slot (the caller keeps the buffer).
    bool post(uint16_t index);
    // The value for the tail register (RDT) after posts.
    uint32_t tail() const { return m_tail; }
    uint32_t posted() const { return m_posted; }

    // Whether the device has finished the oldest slot it owns.
    bool ready() const;
    // Takes up to out.size() completed frames, oldest first, as (buffer, length); bad
    // ones are counted and their buffers posted again. Returns how many were written.
    size_t harvest(base::Span<tern::nic::Descriptor> out, RxCounters& counters);

private:
    volatile RxDescriptor* m_ring = nullptr;
    uint32_t m_size = 0;
    uint64_t m_buffer_base = 0;
    uint32_t m_max_frame = 0;
    uint32_t m_head = 0; // the oldest slot the device owns
    uint32_t m_tail = 0;
    uint32_t m_posted = 0;
    uint16_t m_buffer[kMaxRingSize] = {};
};

class TxRing {
public:
    // As RxRing::init; buffer i of the transmit half is at buffer_base + i * kBufferSize.
    bool init(TxDescriptor* ring, uint32_t size, uint64_t buffer_base, uint32_t max_frame);

    // Queues the frame in buffer d.index for sending. INVALID_ARGUMENT (counted) for a
    // length outside [kMinFrame, max_frame]; NO_SPACE when the ring is full.
    base::Error submit(tern::nic::Descriptor d, TxCounters& counters);
    uint32_t tail() const { return m_tail; }
    uint32_t in_flight() const { return m_in_flight; }
    // Takes up to out.size() buffers the device has finished sending, oldest first.
    size_t reclaim(base::Span<uint16_t> out, TxCounters& counters);

private:
    volatile TxDescriptor* m_ring = nullptr;
    uint32_t m_size = 0;
    uint64_t m_buffer_base = 0;
    uint32_t m_max_frame = 0;
    uint32_t m_head = 0;
    uint32_t m_tail = 0;
    uint32_t m_in_flight = 0;
    uint16_t m_buffer[kMaxRingSize] = {};
    uint16_t m_length[kMaxRingSize] = {};
};

} // namespace e1000

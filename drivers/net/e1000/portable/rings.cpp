// The e1000's descriptor rings (see rings.h).
#include "rings.h"

namespace e1000 {

using tern::nic::kBufferSize;
using tern::nic::kMinFrame;

namespace {

// Descriptor memory is shared with the device: the compiler must neither reorder the
// driver's writes of a descriptor after the tail update nor read the status before the
// rest of the written-back descriptor. x86 keeps stores in order and loads in order, so a
// compiler barrier is all that is needed.
inline void barrier() { __asm__ volatile("" ::: "memory"); }

bool valid_size(uint32_t size) { return size >= 8 && size <= kMaxRingSize && size % 8 == 0; }

} // namespace

bool RxRing::init(RxDescriptor* ring, uint32_t size, uint64_t buffer_base, uint32_t max_frame) {
    if (!valid_size(size))
        return false;
    m_ring = ring;
    m_size = size;
    m_buffer_base = buffer_base;
    m_max_frame = max_frame;
    m_head = m_tail = m_posted = 0;
    for (uint32_t i = 0; i < size; ++i) {
        m_ring[i].address = 0;
        m_ring[i].status = 0;
    }
    return true;
}

bool RxRing::post(uint16_t index) {
    if (m_posted + 1 >= m_size)
        return false;
    volatile RxDescriptor& d = m_ring[m_tail];
    d.address = m_buffer_base + uint64_t(index) * kBufferSize;
    d.length = 0;
    d.errors = 0;
    d.status = 0;
    m_buffer[m_tail] = index;
    m_tail = (m_tail + 1) % m_size;
    ++m_posted;
    barrier();
    return true;
}

bool RxRing::ready() const { return m_posted > 0 && (m_ring[m_head].status & kStatusDone); }

size_t RxRing::harvest(base::Span<tern::nic::Descriptor> out, RxCounters& c) {
    size_t n = 0;
    // Each pass takes one slot from the device, so the loop ends within the ring's size
    // even when bad frames are posted again.
    for (uint32_t looked = 0; looked < m_size && n < out.size() && ready(); ++looked) {
        barrier();
        volatile RxDescriptor& d = m_ring[m_head];
        uint16_t index = m_buffer[m_head];
        uint16_t length = d.length;
        uint8_t status = d.status;
        uint8_t errors = d.errors;
        m_head = (m_head + 1) % m_size;
        --m_posted;
        bool good = false;
        if (errors != 0 || !(status & kStatusEndOfPacket))
            ++c.errors;
        else if (length < kMinFrame)
            ++c.runts;
        else if (length > m_max_frame)
            ++c.oversize;
        else
            good = true;
        if (!good) {
            (void)post(index); // a slot was just freed, so this cannot fail
            continue;
        }
        ++c.frames;
        c.bytes += length;
        out[n++] = {index, length};
    }
    return n;
}

bool TxRing::init(TxDescriptor* ring, uint32_t size, uint64_t buffer_base, uint32_t max_frame) {
    if (!valid_size(size))
        return false;
    m_ring = ring;
    m_size = size;
    m_buffer_base = buffer_base;
    m_max_frame = max_frame;
    m_head = m_tail = m_in_flight = 0;
    for (uint32_t i = 0; i < size; ++i) {
        m_ring[i].address = 0;
        m_ring[i].status = 0;
        m_ring[i].command = 0;
    }
    return true;
}

base::Error TxRing::submit(tern::nic::Descriptor frame, TxCounters& c) {
    if (frame.length < kMinFrame || frame.length > m_max_frame) {
        ++c.refused;
        return base::Error::INVALID_ARGUMENT;
    }
    if (m_in_flight + 1 >= m_size)
        return base::Error::NO_SPACE;
    volatile TxDescriptor& d = m_ring[m_tail];
    d.address = m_buffer_base + uint64_t(frame.index) * kBufferSize;
    d.length = frame.length;
    d.cso = 0;
    d.css = 0;
    d.special = 0;
    d.status = 0;
    d.command = kCommandEndOfPacket | kCommandInsertFcs | kCommandReportStatus;
    m_buffer[m_tail] = frame.index;
    m_length[m_tail] = frame.length;
    m_tail = (m_tail + 1) % m_size;
    ++m_in_flight;
    barrier();
    return base::Error::OK;
}

size_t TxRing::reclaim(base::Span<uint16_t> out, TxCounters& c) {
    size_t n = 0;
    while (n < out.size() && m_in_flight > 0 && (m_ring[m_head].status & kStatusDone)) {
        barrier();
        ++c.frames;
        c.bytes += m_length[m_head];
        out[n++] = m_buffer[m_head];
        m_ring[m_head].status = 0;
        m_head = (m_head + 1) % m_size;
        --m_in_flight;
    }
    return n;
}

} // namespace e1000

#include <drivers/virtio/portable/virtqueue.h>

namespace virtio {

namespace {

// Descriptor flags (virtio spec 2.6.5).
constexpr uint16_t kDescNext = 1;
constexpr uint16_t kDescWrite = 2;
// Available ring flags (2.6.6) and used ring flags (2.6.8).
constexpr uint16_t kAvailNoInterrupt = 1;
constexpr uint16_t kUsedNoNotify = 1;

constexpr uint64_t kDescriptorSize = 16;

uint64_t align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

// The rings are shared with a device that reads and writes them on its own, so every
// access is a single atomic load or store of the field's natural width; the ordering
// between them comes from the explicit fences below.
template<typename T>
T load(const uint8_t* at) {
    return __atomic_load_n(reinterpret_cast<const T*>(at), __ATOMIC_RELAXED);
}
template<typename T>
void store(uint8_t* at, T value) {
    __atomic_store_n(reinterpret_cast<T*>(at), value, __ATOMIC_RELAXED);
}

} // namespace

SplitQueue::Layout SplitQueue::layout(uint16_t size) {
    Layout l{};
    l.descriptors = 0;
    l.available = kDescriptorSize * size;
    // flags, idx, ring[size], used_event
    l.used = align_up(l.available + 4 + 2 * uint64_t(size) + 2, 4);
    // flags, idx, ring[size] of {id, len}, avail_event
    l.total = l.used + 4 + 8 * uint64_t(size) + 2;
    return l;
}

base::Result<void> SplitQueue::init(void* memory, uint64_t device_address, uint16_t size) {
    if (!valid_size(size) || memory == nullptr || reinterpret_cast<uintptr_t>(memory) % 16 != 0
        || device_address % 16 != 0)
        return base::Error::INVALID_ARGUMENT;
    m_memory = static_cast<uint8_t*>(memory);
    m_device_address = device_address;
    m_layout = layout(size);
    m_size = size;
    __builtin_memset(m_memory, 0, m_layout.total);
    for (uint16_t i = 0; i < size; ++i) {
        m_next[i] = uint16_t(i + 1);
        m_records[i] = {};
    }
    m_free_head = 0;
    m_free_count = size;
    m_in_flight = 0;
    m_next_available = 0;
    m_last_used = 0;
    m_broken = false;
    m_faults = {};
    return base::ok();
}

base::Result<uint16_t> SplitQueue::add(base::Span<const BufferRef> chain) {
    if (chain.size() == 0 || chain.size() > kMaxChain)
        return base::Error::INVALID_ARGUMENT;
    bool seen_writable = false;
    uint64_t writable = 0;
    for (const BufferRef& part : chain) {
        if (part.length == 0 || (seen_writable && !part.device_writes))
            return base::Error::INVALID_ARGUMENT;
        seen_writable = part.device_writes;
        if (part.device_writes)
            writable += part.length;
    }
    // A used length is 32 bits: a chain whose writable bytes do not fit could never be
    // checked against it.
    if (writable > UINT32_MAX)
        return base::Error::INVALID_ARGUMENT;
    if (m_broken || chain.size() > m_free_count)
        return base::Error::NO_SPACE;

    uint16_t head = m_free_head;
    uint16_t index = head;
    for (size_t i = 0; i < chain.size(); ++i) {
        uint8_t* d = m_memory + m_layout.descriptors + kDescriptorSize * index;
        bool last = i + 1 == chain.size();
        uint16_t next = m_next[index];
        store<uint64_t>(d, chain[i].address);
        store<uint32_t>(d + 8, chain[i].length);
        store<uint16_t>(
            d + 12, uint16_t((chain[i].device_writes ? kDescWrite : 0) | (last ? 0 : kDescNext)));
        store<uint16_t>(d + 14, last ? 0 : next);
        if (!last)
            index = next;
        else
            m_free_head = next;
    }
    m_free_count = uint16_t(m_free_count - chain.size());
    m_records[head] = {uint32_t(writable), uint16_t(chain.size()), true};
    ++m_in_flight;

    uint8_t* available = m_memory + m_layout.available;
    store<uint16_t>(available + 4 + 2 * (m_next_available % m_size), head);
    ++m_next_available;
    return head;
}

bool SplitQueue::publish() {
    uint8_t* available = m_memory + m_layout.available;
    // The descriptors and ring slots must be visible before the index that covers them.
    __atomic_thread_fence(__ATOMIC_RELEASE);
    store<uint16_t>(available + 2, m_next_available);
    // The device may set NO_NOTIFY after reading an older index; the load of its flags
    // must not pass the store of the index.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return (load<uint16_t>(m_memory + m_layout.used) & kUsedNoNotify) == 0;
}

bool SplitQueue::has_used() const {
    if (m_broken || m_size == 0)
        return false;
    return load<uint16_t>(m_memory + m_layout.used + 2) != m_last_used;
}

void SplitQueue::free_chain(uint16_t head) {
    Record& r = m_records[head];
    uint16_t last = head;
    for (uint16_t i = 1; i < r.count; ++i)
        last = m_next[last];
    m_next[last] = m_free_head;
    m_free_head = head;
    m_free_count = uint16_t(m_free_count + r.count);
    r.in_flight = false;
    --m_in_flight;
}

base::Optional<Completion> SplitQueue::next_used() {
    if (m_broken || m_size == 0)
        return {};
    const uint8_t* used = m_memory + m_layout.used;
    while (true) {
        uint16_t device_index = load<uint16_t>(used + 2);
        uint16_t pending = uint16_t(device_index - m_last_used);
        if (pending == 0)
            return {};
        // The device can only return chains it was given: an index further ahead would
        // make the driver read entries the device never wrote.
        if (pending > m_in_flight) {
            ++m_faults.bad_index;
            m_broken = true;
            return {};
        }
        // The entry is read only after the index that covers it.
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        const uint8_t* entry = used + 4 + 8 * (m_last_used % m_size);
        uint32_t id = load<uint32_t>(entry);
        uint32_t length = load<uint32_t>(entry + 4);
        ++m_last_used;
        if (id >= m_size) {
            ++m_faults.bad_id;
            continue;
        }
        if (!m_records[id].in_flight) {
            ++m_faults.duplicate_id;
            continue;
        }
        Completion done{uint16_t(id), length, base::Error::OK};
        if (length > m_records[id].writable) {
            ++m_faults.bad_length;
            done.status = base::Error::CORRUPT;
        }
        free_chain(uint16_t(id));
        return done;
    }
}

void SplitQueue::set_interrupts(bool enabled) {
    uint8_t* available = m_memory + m_layout.available;
    store<uint16_t>(available, enabled ? 0 : kAvailNoInterrupt);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

} // namespace virtio

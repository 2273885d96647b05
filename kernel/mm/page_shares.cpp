// Copy-on-write holder counts of shared physical pages (see page_shares.h).
#include <base/assert.h>
#include <base/utility.h>
#include <kernel/mm/page_shares.h>

namespace kernel::mm {

namespace {

constexpr size_t kMinCapacity = 64;

uint64_t pfn_of(uint64_t phys) { return phys >> 12; }

} // namespace

void PageShares::reset() {
    if (m_table)
        m_release(m_table);
    m_table = nullptr;
    m_capacity = 0;
    m_count = 0;
    m_reserved = 0;
}

size_t PageShares::slot_of(uint64_t pfn) const {
    // Fibonacci hashing spreads the consecutive frames a clone records.
    return size_t((pfn * 0x9E3779B97F4A7C15ull) >> 17) & (m_capacity - 1);
}

PageShares::Entry* PageShares::find(uint64_t pfn) const {
    if (m_capacity == 0)
        return nullptr;
    for (size_t i = slot_of(pfn);; i = (i + 1) & (m_capacity - 1)) {
        Entry& e = m_table[i];
        if (e.key() == 0)
            return nullptr;
        if (e.key() == pfn + 1)
            return &e;
    }
}

uint32_t PageShares::holders(uint64_t phys) const {
    const Entry* e = find(pfn_of(phys));
    return e ? uint32_t(e->holders()) : 1u;
}

void PageShares::insert(Entry* table, size_t capacity, uint64_t pfn, uint64_t holders) {
    size_t i = size_t((pfn * 0x9E3779B97F4A7C15ull) >> 17) & (capacity - 1);
    while (table[i].key() != 0)
        i = (i + 1) & (capacity - 1);
    table[i].set(pfn + 1, holders);
}

base::Result<void> PageShares::reserve(size_t more) {
    if (more <= m_reserved)
        return base::ok();
    size_t needed = m_count + more;
    // At most half full, so probes stay short.
    if (needed * 2 <= m_capacity) {
        m_reserved = more;
        return base::ok();
    }
    size_t capacity = m_capacity ? m_capacity : kMinCapacity;
    while (capacity < needed * 2)
        capacity *= 2;
    auto* table = static_cast<Entry*>(m_allocate(capacity * sizeof(Entry)));
    if (!table)
        return base::Error::NO_MEMORY;
    for (size_t i = 0; i < capacity; ++i)
        table[i].m_bits = 0;
    for (size_t i = 0; i < m_capacity; ++i)
        if (m_table[i].key() != 0)
            insert(table, capacity, m_table[i].key() - 1, m_table[i].holders());
    if (m_table)
        m_release(m_table);
    m_table = table;
    m_capacity = capacity;
    m_reserved = more;
    return base::ok();
}

void PageShares::end_reservation() {
    m_reserved = 0;
    if (m_count == 0)
        reset();
}

void PageShares::share(uint64_t phys) {
    uint64_t pfn = pfn_of(phys);
    if (Entry* e = find(pfn)) {
        e->set(e->key(), e->holders() + 1);
        return;
    }
    TERN_ASSERT(m_reserved > 0);
    --m_reserved;
    insert(m_table, m_capacity, pfn, 2);
    ++m_count;
}

base::Result<void> PageShares::share_growing(uint64_t phys) {
    uint64_t pfn = pfn_of(phys);
    if (Entry* e = find(pfn)) {
        e->set(e->key(), e->holders() + 1);
        return base::ok();
    }
    if (m_reserved == 0)
        TRY(reserve(base::max(m_count, kMinCapacity / 2)));
    --m_reserved;
    insert(m_table, m_capacity, pfn, 2);
    ++m_count;
    return base::ok();
}

void PageShares::erase(Entry* entry) {
    // Backward-shift deletion: move later entries of the probe run into the hole so that
    // no lookup stops early at it.
    size_t hole = size_t(entry - m_table);
    for (size_t i = (hole + 1) & (m_capacity - 1);; i = (i + 1) & (m_capacity - 1)) {
        Entry& e = m_table[i];
        if (e.key() == 0)
            break;
        size_t home = slot_of(e.key() - 1);
        // e may fill the hole unless its home lies cyclically in (hole, i].
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            m_table[hole] = e;
            hole = i;
        }
    }
    m_table[hole].m_bits = 0;
    --m_count;
    if (m_count == 0 && m_reserved == 0) {
        m_release(m_table);
        m_table = nullptr;
        m_capacity = 0;
    }
}

uint32_t PageShares::release(uint64_t phys) {
    Entry* e = find(pfn_of(phys));
    if (!e)
        return 0;
    uint64_t left = e->holders() - 1;
    e->set(e->key(), left);
    if (left == 1)
        erase(e);
    return uint32_t(left);
}

} // namespace kernel::mm

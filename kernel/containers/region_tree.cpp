#include <kernel/containers/region_tree.h>

namespace kernel::obj {

using base::Error;
using base::Result;

namespace {

// The right-hand part of `region` from `address` on; address must lie strictly inside.
Region tail_from(const Region& region, uint64_t address) {
    Region tail = region;
    tail.start = address;
    tail.offset = region.offset + (address - region.start);
    return tail;
}

// The part of `region` inside [start, end), which must intersect it.
Region clipped(const Region& region, uint64_t start, uint64_t end) {
    Region piece = region;
    if (piece.start < start)
        piece = tail_from(piece, start);
    if (piece.end > end)
        piece.end = end;
    return piece;
}

// align_up that reports overflow past the top of the address space instead of wrapping.
bool checked_align_up(uint64_t value, uint64_t alignment, uint64_t* out) {
    uint64_t mask = alignment - 1;
    if (value > UINT64_MAX - mask)
        return false;
    *out = (value + mask) & ~mask;
    return true;
}

// True when [base, base + size) ends at or below `limit`, without overflowing.
bool fits_below(uint64_t base, uint64_t size, uint64_t limit) {
    return base <= limit && size <= limit - base;
}

} // namespace

size_t RegionTree::first_ending_after(uint64_t address) const {
    // Regions do not overlap, so their ends are sorted as their starts are.
    size_t low = 0;
    size_t high = m_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (m_regions[middle].end > address)
            high = middle;
        else
            low = middle + 1;
    }
    return low;
}

size_t RegionTree::first_starting_at_or_after(uint64_t address) const {
    size_t low = 0;
    size_t high = m_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (m_regions[middle].start >= address)
            high = middle;
        else
            low = middle + 1;
    }
    return low;
}

void RegionTree::insert_at_index(size_t index, const Region& region) {
    TERN_ASSERT(m_count < m_regions.size());
    TERN_ASSERT(index <= m_count);
    for (size_t i = m_count; i > index; --i)
        m_regions[i] = m_regions[i - 1];
    m_regions[index] = region;
    ++m_count;
    if (region.protection == 0)
        ++m_no_access;
}

void RegionTree::erase_indices(size_t first, size_t last) {
    TERN_ASSERT(first <= last && last <= m_count);
    size_t removed = last - first;
    if (removed == 0)
        return;
    for (size_t i = first; i < last; ++i)
        if (m_regions[i].protection == 0)
            --m_no_access;
    for (size_t i = last; i < m_count; ++i)
        m_regions[i - removed] = m_regions[i];
    m_count -= removed;
}

void RegionTree::split_index(size_t index, uint64_t address) {
    Region& region = m_regions[index];
    TERN_ASSERT(address > region.start && address < region.end);
    Region tail = tail_from(region, address);
    region.end = address;
    insert_at_index(index + 1, tail);
}

Result<void> RegionTree::insert(const Region& region) {
    if (region.start >= region.end)
        return Error::INVALID_ARGUMENT;
    size_t index = first_ending_after(region.start);
    if (index < m_count && m_regions[index].start < region.end)
        return Error::ALREADY_EXISTS;
    if (is_full())
        return Error::QUOTA_EXCEEDED;
    insert_at_index(index, region);
    return base::ok();
}

const Region* RegionTree::find(uint64_t address) const {
    // Lookups cluster (a syscall's user copies hit the same stack or buffer region), so
    // the last hit is tried first. Regions never overlap, so a hinted slot that contains
    // the address is the answer whatever changed since; a stale hint only misses.
    if (m_hint < m_count && m_regions[m_hint].contains(address))
        return &m_regions[m_hint];
    size_t index = first_ending_after(address);
    if (index < m_count && m_regions[index].start <= address) {
        m_hint = index;
        return &m_regions[index];
    }
    return nullptr;
}

const Region* RegionTree::find_first_overlap(uint64_t start, uint64_t end) const {
    if (start >= end)
        return nullptr;
    size_t index = first_ending_after(start);
    if (index < m_count && m_regions[index].start < end)
        return &m_regions[index];
    return nullptr;
}

Result<Region> RegionTree::remove(uint64_t start, uint64_t end) {
    size_t index = first_ending_after(start);
    if (index >= m_count || m_regions[index].start != start || m_regions[index].end != end)
        return Error::NOT_FOUND;
    Region removed = m_regions[index];
    erase_indices(index, index + 1);
    return removed;
}

Result<uint32_t> RegionTree::remove_range_impl(uint64_t start, uint64_t end, PieceCallback callback,
                                               void* context) {
    if (start >= end)
        return Error::INVALID_ARGUMENT;
    size_t first = first_ending_after(start);
    size_t last = first_starting_at_or_after(end); // one past the last region touched
    if (first >= last)
        return 0u;
    uint32_t affected = static_cast<uint32_t>(last - first);

    // One region reaching past both bounds is the only case that needs a new slot.
    bool splits = last - first == 1 && m_regions[first].start < start && m_regions[first].end > end;
    if (splits && is_full())
        return Error::QUOTA_EXCEEDED;

    if (callback) {
        for (size_t i = first; i < last; ++i)
            callback(context, clipped(m_regions[i], start, end));
    }

    if (splits) {
        split_index(first, end);
        m_regions[first].end = start;
        return affected;
    }

    // Trim the regions crossing either bound; whatever lies in between goes entirely.
    size_t erase_first = first;
    size_t erase_last = last;
    if (m_regions[first].start < start) {
        m_regions[first].end = start;
        ++erase_first;
    }
    if (erase_first < last && m_regions[last - 1].end > end) {
        m_regions[last - 1] = tail_from(m_regions[last - 1], end);
        --erase_last;
    }
    erase_indices(erase_first, erase_last);
    return affected;
}

Result<void> RegionTree::split_at(uint64_t address) {
    size_t index = first_ending_after(address);
    if (index >= m_count || m_regions[index].start >= address)
        return base::ok();
    if (is_full())
        return Error::QUOTA_EXCEEDED;
    split_index(index, address);
    return base::ok();
}

Result<void> RegionTree::protect(uint64_t start, uint64_t end, uint32_t protection) {
    if (start >= end)
        return Error::INVALID_ARGUMENT;

    // The whole range must be mapped, without holes, before anything changes.
    size_t first = first_ending_after(start);
    if (first >= m_count || m_regions[first].start > start)
        return Error::NOT_FOUND;
    size_t last = first;
    while (m_regions[last].end < end) {
        if (last + 1 >= m_count || m_regions[last + 1].start != m_regions[last].end)
            return Error::NOT_FOUND;
        ++last;
    }

    size_t needed = (m_regions[first].start < start ? 1 : 0) + (m_regions[last].end > end ? 1 : 0);
    if (m_count + needed > m_regions.size())
        return Error::QUOTA_EXCEEDED;

    // Both splits now succeed, so the operation is all or nothing.
    if (m_regions[first].start < start) {
        split_index(first, start);
        ++first;
        ++last;
    }
    if (m_regions[last].end > end)
        split_index(last, end);
    for (size_t i = first; i <= last; ++i) {
        if (m_regions[i].protection == 0)
            --m_no_access;
        if (protection == 0)
            ++m_no_access;
        m_regions[i].protection = protection;
    }
    return base::ok();
}

Result<uint64_t> RegionTree::find_gap(uint64_t size, uint64_t alignment, uint64_t low,
                                      uint64_t high) const {
    if (size == 0 || !base::is_power_of_two(alignment) || low >= high)
        return Error::INVALID_ARGUMENT;

    uint64_t candidate;
    if (!checked_align_up(low, alignment, &candidate))
        return Error::NOT_FOUND;
    // Walk the regions from the first one that could block the candidate, moving the
    // candidate past each region it collides with.
    for (size_t i = first_ending_after(candidate); i < m_count; ++i) {
        const Region& region = m_regions[i];
        if (!fits_below(candidate, size, high))
            return Error::NOT_FOUND;
        if (fits_below(candidate, size, region.start))
            return candidate;
        if (region.end > candidate && !checked_align_up(region.end, alignment, &candidate))
            return Error::NOT_FOUND;
    }
    if (!fits_below(candidate, size, high))
        return Error::NOT_FOUND;
    return candidate;
}

} // namespace kernel::obj

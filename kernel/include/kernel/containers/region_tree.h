#pragma once

// RegionTree: the map of an address space, a set of non-overlapping [start, end) ranges
// each with its attributes.
//
// The regions live sorted by address in a fixed array the caller provides, so lookups
// are binary searches and the address-space layer knows its memory cost up front; an
// insertion that would need more regions than the array holds fails with
// QUOTA_EXCEEDED. Address spaces hold tens to a few hundred regions, where shifting a
// sorted array beats a balanced tree in both code size and cache behaviour; the name
// reflects the role, not the shape.
//
// The tree does not interpret attributes. `protection` and `kind` are the address-space
// layer's own codes; `cookie` names the backing object and `offset` is where `start` lies
// inside it. Splitting a region copies its attributes into both halves and advances the
// right half's offset by the split distance, so both halves still map the same bytes of
// the backing object. When the cookie stands for a counted reference, the caller takes
// one more for every extra region a split creates.
//
// Every operation either succeeds completely or changes nothing. No locking; the kernel
// serializes access per address space.

#include <base/result.h>
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::obj {

struct Region {
    uint64_t start{0};
    uint64_t end{0}; // exclusive
    uint32_t protection{0};
    uint32_t kind{0};
    uintptr_t cookie{0};
    uint64_t offset{0};
    // The protections the region may be given later: without TERN_PROT_WRITE for a memory
    // object mapped through a handle without the WRITE right (its pages are the object's).
    uint32_t limit{~0u};

    [[nodiscard]] constexpr uint64_t size() const { return end - start; }
    [[nodiscard]] constexpr bool contains(uint64_t address) const {
        return address >= start && address < end;
    }
};

class RegionTree {
public:
    // Uses `storage` (which must outlive the tree) for the regions; its size is the
    // capacity. The tree starts empty.
    explicit RegionTree(base::Span<Region> storage) : m_regions(storage) {}

    RegionTree(const RegionTree&) = delete;
    RegionTree& operator=(const RegionTree&) = delete;

    // Adds a region. INVALID_ARGUMENT: start >= end. ALREADY_EXISTS: it overlaps a region.
    // QUOTA_EXCEEDED: the tree is full.
    [[nodiscard]] base::Result<void> insert(const Region& region);

    // The region containing `address`, or null.
    [[nodiscard]] const Region* find(uint64_t address) const;

    // The lowest region that intersects [start, end), or null.
    [[nodiscard]] const Region* find_first_overlap(uint64_t start, uint64_t end) const;

    // Removes the region that is exactly [start, end) and returns it. NOT_FOUND: no region
    // has exactly those bounds.
    [[nodiscard]] base::Result<Region> remove(uint64_t start, uint64_t end);

    // Removes every part of every region inside [start, end): regions wholly inside go,
    // regions crossing a bound are trimmed, and a region that spans the whole range on
    // both sides is split in two. Calls on_removed(const Region&) for each removed piece,
    // in address order and before the tree changes, with the piece's bounds and offset
    // (the callback must not touch the tree). Returns the number of regions affected;
    // an unmapped range is no error. INVALID_ARGUMENT: start >= end. QUOTA_EXCEEDED: the
    // split needs a slot and the tree is full.
    template<typename Callback>
    [[nodiscard]] base::Result<uint32_t> remove_range(uint64_t start, uint64_t end,
                                                      Callback&& on_removed) {
        using Fn = base::remove_reference_t<Callback>;
        return remove_range_impl(
            start, end,
            [](void* context, const Region& piece) { (*static_cast<Fn*>(context))(piece); },
            const_cast<void*>(static_cast<const void*>(&on_removed)));
    }
    [[nodiscard]] base::Result<uint32_t> remove_range(uint64_t start, uint64_t end) {
        return remove_range_impl(start, end, nullptr, nullptr);
    }

    // Sets the protection of [start, end), splitting regions that cross a bound.
    // INVALID_ARGUMENT: start >= end. NOT_FOUND: part of the range is not mapped.
    // QUOTA_EXCEEDED: the splits need more slots than are free.
    [[nodiscard]] base::Result<void> protect(uint64_t start, uint64_t end, uint32_t protection);

    // Splits the region containing `address` into [start, address) and [address, end).
    // Nothing to do (and success) when address is a region's start or is unmapped.
    // QUOTA_EXCEEDED: a split is needed and the tree is full.
    [[nodiscard]] base::Result<void> split_at(uint64_t address);

    // The lowest address that is a multiple of `alignment` and starts `size` free bytes
    // inside [low, high). INVALID_ARGUMENT: size is 0, alignment is not a power of two or
    // low >= high. NOT_FOUND: no such gap.
    [[nodiscard]] base::Result<uint64_t> find_gap(uint64_t size, uint64_t alignment, uint64_t low,
                                                  uint64_t high) const;

    // The regions in address order.
    [[nodiscard]] base::Span<const Region> regions() const {
        return base::Span<const Region>(m_regions.data(), m_count);
    }
    const Region* begin() const { return m_regions.data(); }
    const Region* end() const { return m_regions.data() + m_count; }
    const Region& operator[](size_t index) const {
        TERN_ASSERT(index < m_count);
        return m_regions[index];
    }

    [[nodiscard]] size_t size() const { return m_count; }
    [[nodiscard]] size_t capacity() const { return m_regions.size(); }
    [[nodiscard]] bool is_empty() const { return m_count == 0; }
    [[nodiscard]] bool is_full() const { return m_count == m_regions.size(); }

    void clear() {
        m_count = 0;
        m_no_access = 0;
    }

    // How many regions have protection 0 (no access at all).
    [[nodiscard]] size_t no_access_count() const { return m_no_access; }

private:
    using PieceCallback = void (*)(void* context, const Region& piece);

    base::Result<uint32_t> remove_range_impl(uint64_t start, uint64_t end, PieceCallback callback,
                                             void* context);

    // The first region whose end is above `address`: the one containing it, or the next.
    size_t first_ending_after(uint64_t address) const;
    // The first region starting at or above `address`.
    size_t first_starting_at_or_after(uint64_t address) const;

    void insert_at_index(size_t index, const Region& region);
    void erase_indices(size_t first, size_t last);
    // Splits region `index` at `address`, which must lie strictly inside it; needs a slot.
    void split_index(size_t index, uint64_t address);

    base::Span<Region> m_regions;
    size_t m_count{0};
    mutable size_t m_hint{0}; // slot of the last region find() returned
    size_t m_no_access{0};
};

} // namespace kernel::obj

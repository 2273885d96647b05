#pragma once

// The physical page allocator: a binary buddy allocator over the usable ranges that the
// memory map sanitizer produced.
//
// Blocks have orders 0..kMaxOrder (one page up to 4 MiB) and are naturally aligned to
// their size. Free blocks are kept on one doubly linked list per order whose links live
// in the free pages themselves, reached through the PhysToVirt translation. Beside the
// lists, the allocator keeps one state byte per page between the lowest and the highest
// usable page (holes included, so 64 GiB of span costs 16 MiB). The byte says whether the
// page heads a free block, heads an allocated block, lies inside a block, has never been
// issued, or is not managed; that is what lets a free find and merge its buddy in O(1)
// per order, and reject frees of memory that is not allocated without touching any state.
//
// Memory that has never been handed out is not put on the lists at all: each run of
// usable memory keeps a frontier, the range of its pages never issued so far, which only
// shrinks, a naturally aligned block at a time from either end. An allocation still takes
// the smallest free block that is big enough, as if all free memory were listed; when
// that block is in a frontier it is carved off then. So init writes nothing but the state
// array, and a free page is first written when it is first needed. Under a hypervisor
// that backs guest memory lazily, that keeps the host from committing all of the guest's
// memory at boot.
//
// The state array is carved from the start of the first usable range big enough to hold
// it; those pages are never handed out.
//
// Not thread-safe: the kernel wraps the allocator in its own lock.

#include <base/result.h>
#include <base/span.h>
#include <kernel/mm/types.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::mm {

// Declared outside PageAllocator so that `Options options = {}` can be a default argument
// of its members.
struct PageAllocatorOptions {
    // Fill freed blocks with PageAllocator::kPoisonByte. Costs a pass over every freed
    // page, so the kernel turns it on in debug builds only.
    bool poison_free_pages = false;
};

class PageAllocator {
public:
    static constexpr unsigned kMaxOrder = 10;
    static constexpr size_t kMaxBlockPages = size_t(1) << kMaxOrder;
    // Usable ranges init() accepts: as many as the kernel collects from the memory map,
    // because each needs a frontier in a fixed table inside the allocator.
    static constexpr size_t kMaxRanges = 128;

    // Byte written over freed pages when poisoning is on, so a use after free reads an
    // obviously wrong value instead of plausible stale data.
    static constexpr uint8_t kPoisonByte = 0xDB;

    using Options = PageAllocatorOptions;

    constexpr PageAllocator() {
        for (uint64_t& head : m_heads)
            head = kNil;
    }
    PageAllocator(const PageAllocator&) = delete;
    PageAllocator& operator=(const PageAllocator&) = delete;

    // Takes over `usable`, which must be sorted, disjoint and page-aligned, as
    // sanitize_memory_map() produces it. Errors: BAD_STATE if already initialised,
    // MISALIGNED for a range that is not page-aligned, INVALID_ARGUMENT for unsorted or
    // overlapping ranges or ones reaching past kPhysAddressLimit, NO_SPACE for more than
    // kMaxRanges non-empty ranges, NO_MEMORY if there is no usable memory or no range can
    // hold the metadata. Empty ranges are skipped. On error the allocator stays
    // uninitialised. Writes the state array and nothing else: no free page is touched.
    [[nodiscard]] base::Result<void> init(base::Span<const PhysRange> usable, PhysToVirt translate,
                                          Options options = {});

    // A naturally aligned block of 2^order pages. INVALID_ARGUMENT if order > kMaxOrder,
    // NO_MEMORY if no block is large enough.
    [[nodiscard]] base::Result<uint64_t> alloc_pages(unsigned order);
    [[nodiscard]] base::Result<uint64_t> alloc_page() { return alloc_pages(0); }

    // Exactly `page_count` physically contiguous pages starting on a multiple of
    // `align_pages` pages (a power of two; 0 means 1), for DMA. The allocator takes a buddy
    // block big enough for both and gives the pages beyond `page_count` straight back, so
    // at most kMaxBlockPages pages can be asked for (TOO_BIG beyond that).
    // Free with free_contiguous() and the same count.
    [[nodiscard]] base::Result<uint64_t> alloc_contiguous(size_t page_count,
                                                          size_t align_pages = 1);

    // Returns a block from alloc_pages() with the order it was allocated with.
    // Errors, all leaving the allocator unchanged:
    //   MISALIGNED       phys is not aligned to the block size;
    //   OUT_OF_RANGE     the block is not managed memory (outside the span, in a hole or
    //                    in the allocator's own metadata);
    //   DOUBLE_FREE      the page is free already;
    //   INVALID_ARGUMENT the page is allocated, but not as a block of this order (wrong
    //                    order, inside a block, or from alloc_contiguous()), or order is
    //                    above kMaxOrder.
    [[nodiscard]] base::Result<void> free_pages(uint64_t phys, unsigned order);
    [[nodiscard]] base::Result<void> free_page(uint64_t phys) { return free_pages(phys, 0); }

    // Returns pages from alloc_contiguous(); the count must match. Errors as free_pages().
    [[nodiscard]] base::Result<void> free_contiguous(uint64_t phys, size_t page_count);

    // Pages currently free (never-issued frontier pages included), and pages the allocator
    // manages (usable minus metadata).
    size_t free_page_count() const { return m_free_pages; }
    size_t total_page_count() const { return m_total_pages; }

    // The largest order with a free block, listed or still in a frontier, or -1 when
    // memory is exhausted. An order is reported only if alloc_pages() of it would succeed.
    int largest_free_order() const;

    // Number of free blocks of exactly this order: the blocks on the free list of that
    // order, plus the blocks of that order in the frontiers. A frontier counts as the
    // blocks it will be carved into: its never-issued pages split greedily into the
    // largest naturally aligned blocks that fit, which is exactly how an allocator that
    // listed all memory at init would have listed it. So the numbers do not depend on
    // how much memory has been touched, and after every allocation is freed they are
    // what they were right after init.
    size_t free_block_count(unsigned order) const;

    // Where the state array lives, so the kernel can report it.
    uint64_t metadata_base() const { return m_meta_phys; }
    size_t metadata_page_count() const { return m_meta_pages; }

    bool is_initialized() const { return m_state != nullptr; }
    void* phys_to_virt(uint64_t phys) const { return m_translate(phys); }

    // Cross-checks the free lists and the frontiers against the state array and the
    // counters. O(span), for tests and debugging; returns false at the first disagreement.
    [[nodiscard]] bool check_consistency() const;

private:
    struct FreeNode;

    static constexpr uint64_t kNil = ~uint64_t(0);

    // The never-issued pages [low, high) of one run of usable pages (touching ranges form
    // one run). The ends only move inwards, a whole block at a time.
    struct Frontier {
        uint64_t low;
        uint64_t high;
    };

    uint8_t state(uint64_t pfn) const { return m_state[pfn - m_base_pfn]; }
    void set_state(uint64_t pfn, uint8_t value) { m_state[pfn - m_base_pfn] = value; }
    bool in_span(uint64_t pfn) const { return pfn >= m_base_pfn && pfn < m_end_pfn; }
    FreeNode* node(uint64_t pfn) const;

    void list_push(uint64_t pfn, unsigned order);
    void list_remove(uint64_t pfn, unsigned order);
    uint64_t take_block(unsigned order);
    uint64_t carve_frontier(unsigned order);
    void insert_free(uint64_t pfn, unsigned order);
    base::Error classify_bad_free(uint64_t pfn) const;
    base::Result<void> check_block(uint64_t phys, size_t pages) const;
    void poison(uint64_t pfn, size_t pages) const;

    PhysToVirt m_translate{};
    Options m_options{};
    uint8_t* m_state{nullptr};
    uint64_t m_base_pfn{0};
    uint64_t m_end_pfn{0};
    uint64_t m_meta_phys{0};
    size_t m_meta_pages{0};
    size_t m_free_pages{0};
    size_t m_total_pages{0};
    uint64_t m_heads[kMaxOrder + 1]{}; // first free block of each order, or kNil
    size_t m_counts[kMaxOrder + 1]{};
    Frontier m_frontiers[kMaxRanges]{};
    size_t m_frontier_count{0};
    size_t m_frontier_blocks[kMaxOrder + 1]{}; // blocks of each order the frontiers hold
};

} // namespace kernel::mm

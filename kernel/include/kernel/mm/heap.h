#pragma once

// The kernel heap: small objects from per-size-class slabs, everything else as whole
// page blocks, all on top of a PageSource (in the kernel, the buddy page allocator).
//
// Size classes are the powers of two from 16 to 2048 bytes; a slab is one page carved
// into equal slots, each naturally aligned to its class size. Larger requests, and
// requests aligned to a whole page, get a buddy block of their own.
//
// All bookkeeping lives away from the objects: slab and block descriptors sit in
// dedicated descriptor pages, found through a hash table keyed by page address. So an
// overrun can damage neighbouring objects but never the heap's own structures, and
// deallocate() can reject a pointer the heap never returned without reading the memory
// it points to.
//
// Debugging aids that are always on, since the kernel heap is where memory bugs hurt
// most:
//  - every object is followed by a redzone of kCanaryByte (at least kRedzoneBytes,
//    which includes a small trailer recording the requested size); deallocate() checks
//    it and reports Error::CORRUPT on an overrun;
//  - freed memory is filled with kPoisonByte, so a use after free reads garbage that is
//    easy to recognise;
//  - a double free, a pointer into the middle of an object or a pointer the heap never
//    handed out is reported as an error and changes nothing.
//
// Not thread-safe: the kernel wraps the heap in its own lock.

#include <base/result.h>
#include <kernel/mm/types.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::mm {

class PageAllocator;

// Where the heap gets its pages. Plain function pointers rather than virtual functions,
// so the kernel needs no C++ runtime support for it.
struct PageSource {
    void* ctx = nullptr;
    base::Result<uint64_t> (*alloc_pages)(void* ctx, unsigned order) = nullptr;
    base::Result<void> (*free_pages)(void* ctx, uint64_t phys, unsigned order) = nullptr;
    // Must map a block of 2^order pages to one contiguous, page-aligned stretch.
    void* (*phys_to_virt)(void* ctx, uint64_t phys) = nullptr;
};

// A PageSource that draws on `allocator`, which must outlive the heap.
PageSource page_source_from(PageAllocator& allocator);

class Heap {
public:
    static constexpr size_t kClassCount = 8;
    static constexpr size_t kMinClassSize = 16;
    static constexpr size_t kMaxClassSize = 2048;
    static constexpr size_t kMaxAlign = kPageSize;
    static constexpr size_t kDefaultAlign = 16;
    // Bytes every object needs beyond its requested size: a canary word and the trailer.
    static constexpr size_t kRedzoneBytes = 8;
    // The largest request that a slab serves.
    static constexpr size_t kMaxSlabRequest = kMaxClassSize - kRedzoneBytes;
    // Large blocks are buddy blocks of at most 2^kMaxLargeOrder pages.
    static constexpr unsigned kMaxLargeOrder = 10;
    static constexpr uint8_t kPoisonByte = 0xDE;
    static constexpr uint8_t kCanaryByte = 0xCA;

    struct ClassStats {
        size_t object_size = 0;  // slot size of the class
        size_t slabs = 0;        // slab pages held, the cached empty one included
        size_t cached_slabs = 0; // 0 or 1: an empty slab kept for the next allocation
        size_t objects_in_use = 0;
        size_t capacity = 0;      // slots in all slabs held
        uint64_t allocations = 0; // successful allocations since init
        uint64_t frees = 0;       // successful frees since init
    };

    struct Stats {
        size_t bytes_in_use = 0;   // sum of the sizes callers asked for
        size_t large_blocks = 0;   // live page-block allocations
        size_t large_pages = 0;    // pages those blocks take
        size_t slab_pages = 0;     // pages held by slabs, cached ones included
        size_t metadata_pages = 0; // descriptor pages and the hash table
        uint64_t failed_allocations = 0;
        uint64_t double_frees = 0;  // deallocate() calls rejected with DOUBLE_FREE
        uint64_t invalid_frees = 0; // rejected with INVALID_ARGUMENT
        uint64_t corruptions = 0;   // rejected with CORRUPT
    };

    constexpr Heap() = default;
    explicit Heap(PageSource source) { init(source); }
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;

    // Sets the page source. Must be called once, before the first allocation.
    void init(PageSource source);

    // At least `size` bytes aligned to `align` (a power of two up to kMaxAlign; 0 means
    // kDefaultAlign), or nullptr when memory is exhausted or the arguments are invalid.
    // A size of 0 is served as 1 byte so that every success is a distinct pointer. The
    // memory is not zeroed (it holds kPoisonByte).
    [[nodiscard]] void* allocate(size_t size, size_t align = kDefaultAlign);

    // Frees what allocate() returned; nullptr is accepted and ignored. Errors, all leaving
    // the heap unchanged:
    //   INVALID_ARGUMENT  the pointer is not one the heap returned (foreign, or inside an
    //                     object rather than at its start);
    //   DOUBLE_FREE       the object is already free;
    //   CORRUPT           the redzone after the object was overwritten. The object is
    //                     then left allocated (leaked) rather than recycled, since the
    //                     damage may extend further than the heap can see.
    // Detection holds while the memory stays with the heap. Once an empty slab or a large
    // block has gone back to the page source, a second free of a pointer into it looks
    // foreign (INVALID_ARGUMENT); if the page has meanwhile been reused for a new slab,
    // the stale pointer may name a live object and cannot be told apart from it.
    [[nodiscard]] base::Result<void> deallocate(void* pointer);

    // The size requested for a live object, or 0 for anything else.
    size_t allocated_size(const void* pointer) const;

    // Returns the cached empty slab of every class to the page source.
    void release_cached_slabs();

    size_t bytes_in_use() const { return m_stats.bytes_in_use; }
    Stats stats() const { return m_stats; }
    ClassStats class_stats(size_t index) const;

    // The class an allocation of `size` bytes aligned to `align` lands in, or -1 for a
    // page block. For tests and statistics.
    static int size_class_for(size_t size, size_t align = kDefaultAlign);

private:
    struct Chunk;

    Chunk* new_chunk();
    void free_chunk(Chunk* chunk);
    bool ensure_table();
    void grow_table();
    void hash_insert(Chunk* chunk);
    void hash_remove(Chunk* chunk);
    Chunk* hash_find(uintptr_t page) const;
    void* allocate_small(size_t index, size_t size);
    void* allocate_large(size_t size);
    base::Result<void> free_small(Chunk* slab, uintptr_t address);
    base::Result<void> free_large(Chunk* block, uintptr_t address);
    void release_slab(Chunk* slab);
    void* to_virt(uint64_t phys) const { return m_source.phys_to_virt(m_source.ctx, phys); }

    struct ClassState {
        Chunk* partial = nullptr; // slabs with free and used slots
        Chunk* full = nullptr;    // slabs with no free slot
        Chunk* cached = nullptr;  // at most one empty slab
        ClassStats stats{};
    };

    PageSource m_source{};
    ClassState m_classes[kClassCount]{};
    Chunk* m_free_chunks{nullptr};
    Chunk** m_buckets{nullptr};
    uint64_t m_buckets_phys{0};
    unsigned m_bucket_order{0};
    size_t m_bucket_count{0};
    size_t m_chunk_count{0};
    Stats m_stats{};
};

} // namespace kernel::mm

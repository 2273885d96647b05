// The kernel heap. See <kernel/mm/heap.h> for the contract.

#include <base/assert.h>
#include <base/utility.h>
#include <kernel/mm/heap.h>
#include <kernel/mm/page_allocator.h>

namespace kernel::mm {

namespace {

enum ChunkKind : uint8_t {
    kUnusedChunk = 0,
    kSlabChunk = 1,
    kLargeChunk = 2
};
enum SlabList : uint8_t {
    kNoList = 0,
    kPartialList = 1,
    kFullList = 2,
    kCachedList = 3
};

// The trailer in the last four bytes of every slab slot: this magic in the high half and
// the requested size in the low half. It tells free_small() where the canary starts.
constexpr uint32_t kTrailerMagic = 0xa110;
constexpr size_t kTrailerBytes = 4;

// Large blocks keep their size in the descriptor, so their redzone is all canary; this
// much of the slack after the object is checked (at least Heap::kRedzoneBytes always
// fits, since the block size is chosen to leave it).
constexpr size_t kLargeCanaryBytes = 64;

// The bucket array grows by doubling while chunks outnumber buckets, up to this order
// (32768 buckets); beyond that chains simply get longer.
constexpr unsigned kMaxBucketOrder = 6;

constexpr unsigned ceil_log2(uint64_t value) {
    return value <= 1 ? 0 : 64 - unsigned(__builtin_clzll(value - 1));
}

constexpr size_t class_size(size_t index) { return Heap::kMinClassSize << index; }
constexpr size_t slots_per_slab(size_t index) { return kPageSize / class_size(index); }

bool all_bytes_are(const uint8_t* bytes, size_t count, uint8_t value) {
    for (size_t i = 0; i < count; ++i) {
        if (bytes[i] != value)
            return false;
    }
    return true;
}

} // namespace

// Describes one slab page or one large block. Descriptors live in pages of their own,
// never next to objects, so an overrun cannot reach them.
struct Heap::Chunk {
    uintptr_t base; // virtual address of the first page
    uint64_t phys;  // physical address, for giving the pages back
    Chunk* next;    // class list, or the list of unused descriptors
    Chunk* prev;
    Chunk* hash_next; // bucket chain
    uint32_t size;    // large: bytes requested
    uint16_t in_use;  // slab: live objects
    uint8_t kind;     // ChunkKind
    uint8_t index;    // slab: class index; large: block order
    uint8_t list;     // slab: SlabList
    uint64_t used[4]; // slab: one bit per slot, set while the slot is allocated
};

static_assert(slots_per_slab(0) <= 4 * 64, "slot bitmap too small for the smallest class");
static_assert(Heap::kMaxClassSize == Heap::kMinClassSize << (Heap::kClassCount - 1));
static_assert(Heap::kRedzoneBytes >= kTrailerBytes + 4);

namespace {

template<typename Chunk>
void list_push(Chunk*& head, Chunk* chunk) {
    chunk->prev = nullptr;
    chunk->next = head;
    if (head != nullptr)
        head->prev = chunk;
    head = chunk;
}

template<typename Chunk>
void list_remove(Chunk*& head, Chunk* chunk) {
    if (chunk->prev != nullptr)
        chunk->prev->next = chunk->next;
    else
        head = chunk->next;
    if (chunk->next != nullptr)
        chunk->next->prev = chunk->prev;
    chunk->next = chunk->prev = nullptr;
}

} // namespace

PageSource page_source_from(PageAllocator& allocator) {
    PageSource source;
    source.ctx = &allocator;
    source.alloc_pages = [](void* ctx, unsigned order) -> base::Result<uint64_t> {
        return static_cast<PageAllocator*>(ctx)->alloc_pages(order);
    };
    source.free_pages = [](void* ctx, uint64_t phys, unsigned order) -> base::Result<void> {
        return static_cast<PageAllocator*>(ctx)->free_pages(phys, order);
    };
    source.phys_to_virt = [](void* ctx, uint64_t phys) -> void* {
        return static_cast<PageAllocator*>(ctx)->phys_to_virt(phys);
    };
    return source;
}

void Heap::init(PageSource source) {
    TERN_ASSERT(m_source.alloc_pages == nullptr);
    TERN_ASSERT(source.alloc_pages != nullptr && source.free_pages != nullptr
                && source.phys_to_virt != nullptr);
    m_source = source;
}

int Heap::size_class_for(size_t size, size_t align) {
    size = base::max(size, size_t(1));
    align = base::max(align, kDefaultAlign);
    if (size > kMaxSlabRequest || align > kMaxClassSize)
        return -1;
    // Slots are aligned to their own size, so a class at least as big as the alignment
    // satisfies it.
    size_t need = base::max(size + kRedzoneBytes, align);
    return int(ceil_log2(need) - ceil_log2(kMinClassSize));
}

// ---- Descriptors and the page hash ---------------------------------------------------

Heap::Chunk* Heap::new_chunk() {
    if (m_free_chunks == nullptr) {
        auto page = m_source.alloc_pages(m_source.ctx, 0);
        if (page.is_error())
            return nullptr;
        auto* chunks = static_cast<Chunk*>(to_virt(page.value()));
        for (size_t i = 0; i < kPageSize / sizeof(Chunk); ++i) {
            new (&chunks[i]) Chunk{};
            list_push(m_free_chunks, &chunks[i]);
        }
        ++m_stats.metadata_pages;
    }
    Chunk* chunk = m_free_chunks;
    list_remove(m_free_chunks, chunk);
    *chunk = Chunk{};
    return chunk;
}

// Descriptor pages are kept for reuse rather than returned: they are few (one per 46
// chunks) and finding when one becomes wholly unused would cost a scan.
void Heap::free_chunk(Chunk* chunk) {
    *chunk = Chunk{};
    list_push(m_free_chunks, chunk);
}

static size_t bucket_of(uintptr_t page, unsigned order) {
    unsigned bits = ceil_log2(kPageSize / sizeof(void*)) + order;
    return size_t((uint64_t(page >> kPageShift) * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

bool Heap::ensure_table() {
    if (m_buckets != nullptr)
        return true;
    auto page = m_source.alloc_pages(m_source.ctx, 0);
    if (page.is_error())
        return false;
    m_buckets_phys = page.value();
    m_buckets = static_cast<Chunk**>(to_virt(m_buckets_phys));
    m_bucket_order = 0;
    m_bucket_count = kPageSize / sizeof(Chunk*);
    for (size_t i = 0; i < m_bucket_count; ++i)
        m_buckets[i] = nullptr;
    ++m_stats.metadata_pages;
    return true;
}

// Doubles the bucket array. Failure is harmless: the old table keeps working with longer
// chains, so a low-memory moment never makes an allocation fail on the table's account.
void Heap::grow_table() {
    if (m_bucket_order >= kMaxBucketOrder)
        return;
    unsigned order = m_bucket_order + 1;
    auto page = m_source.alloc_pages(m_source.ctx, order);
    if (page.is_error())
        return;
    auto** buckets = static_cast<Chunk**>(to_virt(page.value()));
    size_t count = (kPageSize << order) / sizeof(Chunk*);
    for (size_t i = 0; i < count; ++i)
        buckets[i] = nullptr;
    for (size_t i = 0; i < m_bucket_count; ++i) {
        Chunk* chunk = m_buckets[i];
        while (chunk != nullptr) {
            Chunk* next = chunk->hash_next;
            size_t bucket = bucket_of(chunk->base, order);
            chunk->hash_next = buckets[bucket];
            buckets[bucket] = chunk;
            chunk = next;
        }
    }
    MUST(m_source.free_pages(m_source.ctx, m_buckets_phys, m_bucket_order));
    m_stats.metadata_pages += (size_t(1) << order) - (size_t(1) << m_bucket_order);
    m_buckets = buckets;
    m_buckets_phys = page.value();
    m_bucket_order = order;
    m_bucket_count = count;
}

void Heap::hash_insert(Chunk* chunk) {
    if (m_chunk_count >= m_bucket_count)
        grow_table();
    size_t bucket = bucket_of(chunk->base, m_bucket_order);
    chunk->hash_next = m_buckets[bucket];
    m_buckets[bucket] = chunk;
    ++m_chunk_count;
}

void Heap::hash_remove(Chunk* chunk) {
    Chunk** link = &m_buckets[bucket_of(chunk->base, m_bucket_order)];
    while (*link != chunk) {
        TERN_ASSERT(*link != nullptr);
        link = &(*link)->hash_next;
    }
    *link = chunk->hash_next;
    chunk->hash_next = nullptr;
    --m_chunk_count;
}

Heap::Chunk* Heap::hash_find(uintptr_t page) const {
    if (m_buckets == nullptr)
        return nullptr;
    for (Chunk* chunk = m_buckets[bucket_of(page, m_bucket_order)]; chunk != nullptr;
         chunk = chunk->hash_next) {
        if (chunk->base == page)
            return chunk;
    }
    return nullptr;
}

// ---- Allocation ------------------------------------------------------------------------

void* Heap::allocate(size_t size, size_t align) {
    if (align == 0)
        align = kDefaultAlign;
    void* result = nullptr;
    if (m_source.alloc_pages != nullptr && base::is_power_of_two(align) && align <= kMaxAlign) {
        int index = size_class_for(size, align);
        result = index >= 0 ? allocate_small(size_t(index), base::max(size, size_t(1)))
                            : allocate_large(base::max(size, size_t(1)));
    }
    if (result == nullptr)
        ++m_stats.failed_allocations;
    return result;
}

void* Heap::allocate_small(size_t index, size_t size) {
    ClassState& cls = m_classes[index];
    size_t object_size = class_size(index);
    size_t slots = slots_per_slab(index);

    Chunk* slab = cls.partial;
    if (slab == nullptr) {
        if (cls.cached != nullptr) {
            slab = cls.cached;
            cls.cached = nullptr;
            cls.stats.cached_slabs = 0;
        } else {
            if (!ensure_table())
                return nullptr;
            slab = new_chunk();
            if (slab == nullptr)
                return nullptr;
            auto page = m_source.alloc_pages(m_source.ctx, 0);
            if (page.is_error()) {
                free_chunk(slab);
                return nullptr;
            }
            slab->phys = page.value();
            slab->base = reinterpret_cast<uintptr_t>(to_virt(slab->phys));
            slab->kind = kSlabChunk;
            slab->index = uint8_t(index);
            base::memset(reinterpret_cast<void*>(slab->base), kPoisonByte, kPageSize);
            hash_insert(slab);
            ++cls.stats.slabs;
            cls.stats.capacity += slots;
            ++m_stats.slab_pages;
        }
        list_push(cls.partial, slab);
        slab->list = kPartialList;
    }

    size_t slot = slots;
    for (size_t word = 0; word * 64 < slots; ++word) {
        uint64_t free_bits = ~slab->used[word];
        if (slots - word * 64 < 64)
            free_bits &= (uint64_t(1) << (slots - word * 64)) - 1;
        if (free_bits != 0) {
            slot = word * 64 + size_t(__builtin_ctzll(free_bits));
            break;
        }
    }
    TERN_ASSERT(slot < slots);
    slab->used[slot / 64] |= uint64_t(1) << (slot % 64);
    if (++slab->in_use == slots) {
        list_remove(cls.partial, slab);
        list_push(cls.full, slab);
        slab->list = kFullList;
    }

    auto* object = reinterpret_cast<uint8_t*>(slab->base + slot * object_size);
    base::memset(object + size, kCanaryByte, object_size - kTrailerBytes - size);
    uint32_t trailer = (kTrailerMagic << 16) | uint32_t(size);
    base::memcpy(object + object_size - kTrailerBytes, &trailer, kTrailerBytes);

    ++cls.stats.objects_in_use;
    ++cls.stats.allocations;
    m_stats.bytes_in_use += size;
    return object;
}

void* Heap::allocate_large(size_t size) {
    if (size > (kPageSize << kMaxLargeOrder) - kRedzoneBytes)
        return nullptr;
    size_t pages = (size + kRedzoneBytes + kPageSize - 1) / kPageSize;
    unsigned order = ceil_log2(pages);
    size_t block_bytes = kPageSize << order;

    if (!ensure_table())
        return nullptr;
    Chunk* block = new_chunk();
    if (block == nullptr)
        return nullptr;
    auto page = m_source.alloc_pages(m_source.ctx, order);
    if (page.is_error()) {
        free_chunk(block);
        return nullptr;
    }
    block->phys = page.value();
    block->base = reinterpret_cast<uintptr_t>(to_virt(block->phys));
    block->kind = kLargeChunk;
    block->index = uint8_t(order);
    block->size = uint32_t(size);
    auto* object = reinterpret_cast<uint8_t*>(block->base);
    base::memset(object + size, kCanaryByte, base::min(kLargeCanaryBytes, block_bytes - size));
    hash_insert(block);

    ++m_stats.large_blocks;
    m_stats.large_pages += size_t(1) << order;
    m_stats.bytes_in_use += size;
    return object;
}

// ---- Deallocation ----------------------------------------------------------------------

base::Result<void> Heap::deallocate(void* pointer) {
    if (pointer == nullptr)
        return base::ok();
    auto address = reinterpret_cast<uintptr_t>(pointer);
    // Only the page address is used to look the chunk up; the pointer itself is not read
    // until the heap knows it owns the memory.
    Chunk* chunk = hash_find(base::align_down(address, kPageSize));
    base::Result<void> result = base::Error::INVALID_ARGUMENT;
    if (chunk != nullptr)
        result =
            chunk->kind == kSlabChunk ? free_small(chunk, address) : free_large(chunk, address);
    if (result.is_error()) {
        switch (result.error()) {
        case base::Error::DOUBLE_FREE:
            ++m_stats.double_frees;
            break;
        case base::Error::CORRUPT:
            ++m_stats.corruptions;
            break;
        default:
            ++m_stats.invalid_frees;
            break;
        }
    }
    return result;
}

base::Result<void> Heap::free_small(Chunk* slab, uintptr_t address) {
    size_t index = slab->index;
    ClassState& cls = m_classes[index];
    size_t object_size = class_size(index);
    size_t offset = address - slab->base;
    if (offset % object_size != 0)
        return base::Error::INVALID_ARGUMENT;
    size_t slot = offset / object_size;
    uint64_t bit = uint64_t(1) << (slot % 64);
    if ((slab->used[slot / 64] & bit) == 0)
        return base::Error::DOUBLE_FREE;

    auto* object = reinterpret_cast<uint8_t*>(address);
    uint32_t trailer;
    base::memcpy(&trailer, object + object_size - kTrailerBytes, kTrailerBytes);
    size_t size = trailer & 0xffff;
    if ((trailer >> 16) != kTrailerMagic || size == 0 || size > object_size - kRedzoneBytes)
        return base::Error::CORRUPT;
    if (!all_bytes_are(object + size, object_size - kTrailerBytes - size, kCanaryByte))
        return base::Error::CORRUPT;

    slab->used[slot / 64] &= ~bit;
    base::memset(object, kPoisonByte, object_size);
    --cls.stats.objects_in_use;
    ++cls.stats.frees;
    m_stats.bytes_in_use -= size;

    if (slab->list == kFullList) {
        list_remove(cls.full, slab);
        list_push(cls.partial, slab);
        slab->list = kPartialList;
    }
    if (--slab->in_use == 0) {
        list_remove(cls.partial, slab);
        if (cls.cached == nullptr) {
            // Keep one empty slab so that a class bouncing between zero and one object
            // does not hit the page allocator every time.
            cls.cached = slab;
            slab->list = kCachedList;
            cls.stats.cached_slabs = 1;
        } else {
            release_slab(slab);
        }
    }
    return base::ok();
}

void Heap::release_slab(Chunk* slab) {
    ClassState& cls = m_classes[slab->index];
    hash_remove(slab);
    --cls.stats.slabs;
    cls.stats.capacity -= slots_per_slab(slab->index);
    --m_stats.slab_pages;
    MUST(m_source.free_pages(m_source.ctx, slab->phys, 0));
    free_chunk(slab);
}

base::Result<void> Heap::free_large(Chunk* block, uintptr_t address) {
    if (address != block->base)
        return base::Error::INVALID_ARGUMENT;
    size_t block_bytes = kPageSize << block->index;
    auto* object = reinterpret_cast<uint8_t*>(address);
    if (!all_bytes_are(object + block->size,
                       base::min(kLargeCanaryBytes, block_bytes - block->size), kCanaryByte))
        return base::Error::CORRUPT;

    base::memset(object, kPoisonByte, block_bytes);
    hash_remove(block);
    --m_stats.large_blocks;
    m_stats.large_pages -= size_t(1) << block->index;
    m_stats.bytes_in_use -= block->size;
    MUST(m_source.free_pages(m_source.ctx, block->phys, block->index));
    free_chunk(block);
    return base::ok();
}

// ---- Queries ---------------------------------------------------------------------------

size_t Heap::allocated_size(const void* pointer) const {
    auto address = reinterpret_cast<uintptr_t>(pointer);
    const Chunk* chunk = hash_find(base::align_down(address, kPageSize));
    if (chunk == nullptr)
        return 0;
    if (chunk->kind == kLargeChunk)
        return address == chunk->base ? chunk->size : 0;
    size_t object_size = class_size(chunk->index);
    size_t offset = address - chunk->base;
    size_t slot = offset / object_size;
    if (offset % object_size != 0 || (chunk->used[slot / 64] & (uint64_t(1) << (slot % 64))) == 0)
        return 0;
    uint32_t trailer;
    base::memcpy(&trailer, reinterpret_cast<const uint8_t*>(address) + object_size - kTrailerBytes,
                 kTrailerBytes);
    return (trailer >> 16) == kTrailerMagic ? (trailer & 0xffff) : 0;
}

void Heap::release_cached_slabs() {
    for (ClassState& cls : m_classes) {
        if (cls.cached == nullptr)
            continue;
        Chunk* slab = cls.cached;
        cls.cached = nullptr;
        cls.stats.cached_slabs = 0;
        release_slab(slab);
    }
}

Heap::ClassStats Heap::class_stats(size_t index) const {
    if (index >= kClassCount)
        return {};
    ClassStats stats = m_classes[index].stats;
    stats.object_size = class_size(index);
    return stats;
}

} // namespace kernel::mm

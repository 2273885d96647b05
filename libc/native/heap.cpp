// The native user-space heap: operator new and delete over memory from vm_allocate.
// <tern/heap.h> describes the design; this file keeps it small and checkable rather than
// fast, because native programs allocate little and musl will bring its own malloc.
//
// Layout: every block starts with a 16-byte Header {size, tag} and is a multiple of 16
// bytes, so every payload is 16-byte aligned (the default new alignment on x86-64). A free
// block also holds the link to the next free block, which sets the 32-byte minimum.

#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/heap.h>
#include <tern/new.h>
#include <tern/print.h>
#include <tern/runtime.h>
#include <tern/syscall.h>

const std::nothrow_t std::nothrow{};

namespace tern {

namespace {

constexpr size_t kPageSize = 4096;
constexpr size_t kGranule = 16;
constexpr size_t kHeaderSize = 16;
constexpr size_t kMinBlock = 32;
constexpr size_t kChunkSize = 64 * 1024;
// Larger than any user address space, so size arithmetic below it cannot overflow.
constexpr size_t kMaxRequest = size_t(1) << 47;

static_assert(kGranule == __STDCPP_DEFAULT_NEW_ALIGNMENT__);
static_assert(kLargeRequest + kHeaderSize <= kChunkSize, "a small block must fit a chunk");

// Tags are eight ASCII characters, so a hex dump of a corrupted heap is readable.
constexpr uint64_t kTagFree = 0x65657266'6e726574ull;    // "ternfree"
constexpr uint64_t kTagUsed = 0x64657375'6e726574ull;    // "ternused"
constexpr uint64_t kTagLarge = 0x65677261'6c6e7274ull;   // "trnlarge"
constexpr uint64_t kTagAligned = 0x6e67696c'616e7274ull; // "trnalign"

struct Header {
    // Free, Used, Large: bytes in the block (or mapping) including this header.
    // Aligned: the distance from this header's payload back to the real payload.
    uint64_t size;
    uint64_t tag;
};
static_assert(sizeof(Header) == kHeaderSize);

struct FreeBlock {
    Header header;
    FreeBlock* next;
};

// Guarded by g_locked.
FreeBlock* g_free_list = nullptr;
size_t g_mapped_bytes = 0;
size_t g_used_bytes = 0;
size_t g_large_mappings = 0;
bool g_locked = false;

// A yielding spin lock: contention is rare (the heap is held for a list walk at most),
// and yielding lets the holder run on a single CPU.
class HeapLock {
public:
    HeapLock() {
        while (__atomic_exchange_n(&g_locked, true, __ATOMIC_ACQUIRE))
            tern_sys_thread_yield();
    }
    ~HeapLock() { __atomic_store_n(&g_locked, false, __ATOMIC_RELEASE); }
    HeapLock(const HeapLock&) = delete;
    HeapLock& operator=(const HeapLock&) = delete;
};

[[noreturn]] void heap_abort(const char* what, const void* where) {
    println("tern: abort: heap: {} at {}", what, where);
    tern_sys_task_exit(static_cast<uint64_t>(kAbortStatus));
    __builtin_trap();
}

[[noreturn]] void out_of_memory(size_t size) {
    println("tern: abort: out of memory allocating {} bytes", size);
    tern_sys_task_exit(static_cast<uint64_t>(kAbortStatus));
    __builtin_trap();
}

uint8_t* end_of(const void* block) {
    return static_cast<uint8_t*>(const_cast<void*>(block))
           + static_cast<const Header*>(block)->size;
}

void* map_pages(size_t bytes) {
    int64_t result = tern_sys_vm_allocate(bytes, TERN_PROT_READ | TERN_PROT_WRITE);
    if (result < 0)
        return nullptr;
    return reinterpret_cast<void*>(result);
}

// Puts block on the address-ordered free list and merges it with its neighbours when
// they touch. Chunks are never unmapped, so merging across two chunks that the kernel
// happened to place next to each other is safe.
void insert_free(FreeBlock* block) {
    FreeBlock* prev = nullptr;
    FreeBlock* next = g_free_list;
    while (next != nullptr && next < block) {
        prev = next;
        next = next->next;
    }
    if ((prev != nullptr && end_of(prev) > reinterpret_cast<uint8_t*>(block))
        || (next != nullptr && end_of(block) > reinterpret_cast<uint8_t*>(next)))
        heap_abort("freed block overlaps a free block", block + 1);

    block->header.tag = kTagFree;
    block->next = next;
    if (next != nullptr && end_of(block) == reinterpret_cast<uint8_t*>(next)) {
        block->header.size += next->header.size;
        block->next = next->next;
    }
    if (prev == nullptr) {
        g_free_list = block;
    } else if (end_of(prev) == reinterpret_cast<uint8_t*>(block)) {
        prev->header.size += block->header.size;
        prev->next = block->next;
    } else {
        prev->next = block;
    }
}

// First fit. A block with room to spare is split and its tail handed out, which leaves
// the free list's links untouched.
Header* take_free(size_t need) {
    FreeBlock** link = &g_free_list;
    for (FreeBlock* block = *link; block != nullptr; link = &block->next, block = *link) {
        if (block->header.tag != kTagFree)
            heap_abort("free list corrupted", block + 1);
        if (block->header.size < need)
            continue;
        if (block->header.size - need >= kMinBlock) {
            block->header.size -= need;
            auto* taken = reinterpret_cast<Header*>(end_of(block));
            taken->size = need;
            return taken;
        }
        *link = block->next;
        return &block->header;
    }
    return nullptr;
}

void* allocate_small(size_t size) {
    size_t need = base::align_up(size + kHeaderSize, kGranule);
    if (need < kMinBlock)
        need = kMinBlock;
    HeapLock lock;
    Header* block = take_free(need);
    if (block == nullptr) {
        auto* chunk = static_cast<FreeBlock*>(map_pages(kChunkSize));
        if (chunk == nullptr)
            return nullptr;
        g_mapped_bytes += kChunkSize;
        chunk->header.size = kChunkSize;
        insert_free(chunk);
        block = take_free(need);
    }
    block->tag = kTagUsed;
    g_used_bytes += block->size;
    return block + 1;
}

void* allocate_large(size_t size) {
    size_t bytes = base::align_up(size + kHeaderSize, kPageSize);
    auto* block = static_cast<Header*>(map_pages(bytes));
    if (block == nullptr)
        return nullptr;
    block->size = bytes;
    block->tag = kTagLarge;
    HeapLock lock;
    g_mapped_bytes += bytes;
    g_used_bytes += bytes;
    ++g_large_mappings;
    return block + 1;
}

void* allocate(size_t size) {
    if (size == 0)
        size = 1; // Every new must return a distinct pointer, even for zero bytes.
    if (size > kMaxRequest)
        return nullptr;
    return size >= kLargeRequest ? allocate_large(size) : allocate_small(size);
}

// Over-allocates by the alignment and hands out an aligned address inside the block.
// When that address is not the block's own payload, an Aligned header just below it
// records the way back, so delete needs no alignment argument to find the block.
void* allocate_aligned(size_t size, size_t alignment) {
    if (!base::is_power_of_two(alignment))
        return nullptr;
    if (alignment <= kGranule)
        return allocate(size);
    if (size > kMaxRequest || alignment > kMaxRequest)
        return nullptr;
    void* raw = allocate(size + alignment);
    if (raw == nullptr)
        return nullptr;
    uintptr_t payload = base::align_up(reinterpret_cast<uintptr_t>(raw), alignment);
    if (payload != reinterpret_cast<uintptr_t>(raw)) {
        // Both addresses are multiples of 16, so there are at least 16 bytes between them
        // for the header.
        auto* header = reinterpret_cast<Header*>(payload) - 1;
        header->size = payload - reinterpret_cast<uintptr_t>(raw);
        header->tag = kTagAligned;
    }
    return reinterpret_cast<void*>(payload);
}

void deallocate(void* pointer) {
    if (pointer == nullptr)
        return;
    if ((reinterpret_cast<uintptr_t>(pointer) & (kGranule - 1)) != 0)
        heap_abort("delete of a pointer new never returned", pointer);
    auto* header = static_cast<Header*>(pointer) - 1;
    if (header->tag == kTagAligned) {
        uint64_t offset = header->size;
        if (offset < kGranule || (offset & (kGranule - 1)) != 0
            || offset > reinterpret_cast<uintptr_t>(pointer))
            heap_abort("corrupted aligned-block header", pointer);
        pointer = static_cast<uint8_t*>(pointer) - offset;
        header = static_cast<Header*>(pointer) - 1;
    }
    switch (header->tag) {
    case kTagUsed: {
        if (header->size < kMinBlock || (header->size & (kGranule - 1)) != 0
            || header->size > kChunkSize)
            heap_abort("corrupted block header", pointer);
        HeapLock lock;
        g_used_bytes -= header->size;
        insert_free(reinterpret_cast<FreeBlock*>(header));
        return;
    }
    case kTagLarge: {
        uint64_t bytes = header->size;
        if (bytes == 0 || (bytes & (kPageSize - 1)) != 0
            || (reinterpret_cast<uintptr_t>(header) & (kPageSize - 1)) != 0)
            heap_abort("corrupted large-block header", pointer);
        {
            HeapLock lock;
            g_mapped_bytes -= bytes;
            g_used_bytes -= bytes;
            --g_large_mappings;
        }
        // Poison the tag first: if the unmap failed and the pages stayed, a second delete
        // must still be recognised.
        header->tag = kTagFree;
        if (tern_sys_vm_free(reinterpret_cast<uint64_t>(header), bytes) < 0)
            heap_abort("could not unmap a large block", pointer);
        return;
    }
    case kTagFree:
        heap_abort("double delete", pointer);
    default:
        heap_abort("delete of a pointer new never returned, or heap corruption", pointer);
    }
}

void* allocate_or_abort(size_t size) {
    void* pointer = allocate(size);
    if (pointer == nullptr)
        out_of_memory(size);
    return pointer;
}

void* allocate_aligned_or_abort(size_t size, std::align_val_t alignment) {
    void* pointer = allocate_aligned(size, static_cast<size_t>(alignment));
    if (pointer == nullptr)
        out_of_memory(size);
    return pointer;
}

} // namespace

HeapStats heap_stats() {
    HeapLock lock;
    HeapStats stats{g_mapped_bytes, g_used_bytes, 0, 0, g_large_mappings};
    for (FreeBlock* block = g_free_list; block != nullptr; block = block->next) {
        stats.free_bytes += block->header.size;
        ++stats.free_blocks;
    }
    return stats;
}

} // namespace tern

// Allocation functions. Without exceptions, the forms that may not return nullptr abort
// the task when memory runs out; the nothrow forms return nullptr.

void* operator new(size_t size) { return tern::allocate_or_abort(size); }
void* operator new[](size_t size) { return tern::allocate_or_abort(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return tern::allocate(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return tern::allocate(size); }

void* operator new(size_t size, std::align_val_t alignment) {
    return tern::allocate_aligned_or_abort(size, alignment);
}
void* operator new[](size_t size, std::align_val_t alignment) {
    return tern::allocate_aligned_or_abort(size, alignment);
}
void* operator new(size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return tern::allocate_aligned(size, static_cast<size_t>(alignment));
}
void* operator new[](size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return tern::allocate_aligned(size, static_cast<size_t>(alignment));
}

// Deallocation functions. Every block records its own size and kind, so the size and
// alignment arguments are not needed.

void operator delete(void* p) noexcept { tern::deallocate(p); }
void operator delete[](void* p) noexcept { tern::deallocate(p); }
void operator delete(void* p, size_t) noexcept { tern::deallocate(p); }
void operator delete[](void* p, size_t) noexcept { tern::deallocate(p); }
void operator delete(void* p, std::align_val_t) noexcept { tern::deallocate(p); }
void operator delete[](void* p, std::align_val_t) noexcept { tern::deallocate(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { tern::deallocate(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { tern::deallocate(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { tern::deallocate(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { tern::deallocate(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    tern::deallocate(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    tern::deallocate(p);
}

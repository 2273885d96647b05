#pragma once

// The native user-space heap (libc/native/heap.cpp) serves operator new and delete.
// Small requests come from an address-ordered free list with first fit, splitting and
// coalescing, over 64 KiB chunks mapped with vm_allocate; requests of kLargeRequest bytes
// or more get a mapping of their own that delete returns to the kernel at once. Every
// block carries a tagged header, so a double delete or a pointer the heap never handed
// out aborts the task (status tern::kAbortStatus) instead of corrupting memory later.
// The heap is safe to use from several threads of one task.

#include <stddef.h>

namespace tern {

// Requests from this many bytes up are mapped individually.
inline constexpr size_t kLargeRequest = 32 * 1024;

struct HeapStats {
    // Bytes mapped for chunks and large allocations together.
    size_t mapped_bytes;
    // Bytes in live blocks, headers and rounding included.
    size_t used_bytes;
    // Bytes on the free list, and how many separate free blocks hold them.
    size_t free_bytes;
    size_t free_blocks;
    // Live allocations that have a mapping of their own.
    size_t large_mappings;
};

// A consistent snapshot of the heap's counters; it walks the free list, so it is meant
// for tests and diagnostics, not hot paths.
[[nodiscard]] HeapStats heap_stats();

} // namespace tern

#pragma once
// The kernel's memory: physical pages (buddy allocator), the kernel address space (direct
// map, image sections with W^X, MMIO window) and the kernel heap.
#include <kernel/arch/x86_64/page_table.h>
#include <kernel/lib/multiboot2.h>
#include <kernel/mm/page_allocator.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel {

using x86_64::kDirectMapBase;
inline constexpr uint32_t kTimerHz = 100;
// Below this much usable RAM the kernel stops with a clear message.
inline constexpr uint64_t kMinimumUsableBytes = 8ull << 20;

struct MemoryStats {
    uint64_t total_bytes;  // all RAM the firmware reported available
    uint64_t usable_bytes; // after the kernel image, modules and reserved ranges
    size_t total_pages;    // pages managed by the page allocator
    size_t free_pages;
    size_t heap_bytes_in_use;
    // Pages the kernel heap holds: slabs (cached empty ones included), its metadata and
    // large blocks. Cached slabs are not leaks, so leak checks count these apart.
    size_t heap_pages;
};

// Builds the kernel's page tables, switches to them and starts the page allocator and the
// heap. Panics with a clear message when memory is unusable (no map, too little RAM).
void memory_init(const mb2::BootInfo& info, uint64_t info_phys);
MemoryStats memory_stats();
mm::PageAllocator& page_allocator();
x86_64::PageTable& kernel_page_table();
// The environment for page tables the kernel creates (address spaces).
const x86_64::PageTableEnv& kernel_page_table_env();
// Maps a device's registers uncached into the MMIO window; returns the virtual address.
uint64_t map_mmio(uint64_t phys, size_t size);

template<typename T = void>
T* phys_to_virt(uint64_t phys) {
    return reinterpret_cast<T*>(kDirectMapBase + phys);
}
inline uint64_t virt_to_phys_direct(const void* p) {
    return reinterpret_cast<uint64_t>(p) - kDirectMapBase;
}

// True when any page of [phys, phys+size) is RAM from the usable memory map.
bool is_managed_ram(uint64_t phys, uint64_t size);

void* kmalloc(size_t size, size_t align = 16);

// `new (kernel::kNoThrow) T(...)` returns nullptr when the heap is exhausted instead of
// panicking: every allocation a user program can cause goes through it.
struct NoThrowTag {};
inline constexpr NoThrowTag kNoThrow{};
void kfree(void* p);

} // namespace kernel

void* operator new(size_t size, kernel::NoThrowTag) noexcept;
void* operator new[](size_t size, kernel::NoThrowTag) noexcept;

#include <base/utility.h>
#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/core/panic.h>
#include <kernel/mm/heap.h>
#include <kernel/mm/memory_map.h>

extern "C" char _kernel_phys_start[], _kernel_phys_end[];
extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern "C" char __data_start[], __data_end[];
extern "C" char boot_stack_bottom[];

namespace kernel {

using namespace x86_64;

namespace {

constexpr uint64_t kKernelVma = kKernelImageBase;
constexpr uint64_t kMmioWindowBase = 0xFFFFFFFF00000000ull;
constexpr uint64_t kMmioWindowEnd = kKernelImageBase;
constexpr size_t kMaxRanges = 128;

mm::PageAllocator g_pages;
alignas(PageTable) uint8_t g_kernel_pt_storage[sizeof(PageTable)];
PageTable* g_kernel_pt = nullptr;
PageTableEnv g_env;
mm::Heap g_heap;
bool g_nx = false;
uint64_t g_mmio_next = kMmioWindowBase;
uint64_t g_total_bytes = 0;
uint64_t g_usable_bytes = 0;
// RAM-like ranges (available and ACPI), as mapped in the direct map.
mm::PhysRange g_ram[kMaxRanges];
size_t g_ram_count = 0;

// Before the page allocator exists, page-table pages come from the low end of one usable
// range below 4 GiB (which the boot page tables map).
struct BumpRegion {
    uint64_t base = 0, next = 0, end = 0;
} g_bump;
bool g_allocator_ready = false;

base::Result<uint64_t> alloc_table_page(void*) {
    if (g_allocator_ready)
        return g_pages.alloc_page();
    if (g_bump.next + 4096 > g_bump.end)
        return base::Error::NO_MEMORY;
    uint64_t p = g_bump.next;
    g_bump.next += 4096;
    return p;
}

void free_table_page(uint64_t phys, void*) {
    if (auto r = g_pages.free_page(phys); r.is_error())
        log::error("vm: freeing page-table page {:#x}: {}", phys, r.error());
}

void flush_range(uint64_t virt, uint64_t size, void*) {
    if (size > 64 * 4096) {
        write_cr3(read_cr3());
        return;
    }
    for (uint64_t v = virt; v < virt + size; v += 4096)
        invlpg(v);
}

PageFlags nx() { return g_nx ? PageFlags::kNoExecute : PageFlags::kNone; }

// Maps [phys, phys+size) at virt with 2 MiB pages where alignment allows, 4 KiB elsewhere.
void map_mixed(PageTable& pt, uint64_t virt, uint64_t phys, uint64_t size, PageFlags flags) {
    uint64_t end = phys + size;
    while (phys < end) {
        bool large = (phys % kLargePageSize) == 0 && (virt % kLargePageSize) == 0
                     && end - phys >= kLargePageSize;
        uint64_t step = large ? kLargePageSize : kPageSize;
        auto r = pt.map(virt, phys, step, flags, large ? PageSize::kSize2M : PageSize::kSize4K);
        if (r.is_error())
            panic("vm: mapping {:#x} -> {:#x}: {}", virt, phys, r.error());
        virt += step;
        phys += step;
    }
}

void map_image_section(PageTable& pt, const char* start, const char* end, PageFlags flags) {
    uint64_t v = reinterpret_cast<uint64_t>(start);
    uint64_t e = base::align_up(reinterpret_cast<uint64_t>(end), kPageSize);
    if (e > v)
        map_mixed(pt, v, v - kKernelVma, e - v, flags);
}

void enable_cpu_protections() {
    auto ext = cpuid(0x80000001);
    g_nx = ext.edx & (1u << 20);
    uint64_t cr4 = read_cr4() | kCr4Pge;
    auto leaf0 = cpuid(0);
    if (leaf0.eax >= 7) {
        auto l7 = cpuid(7, 0);
        if (l7.ebx & (1u << 7))
            cr4 |= kCr4Smep;
        if (l7.ebx & (1u << 20))
            cr4 |= kCr4Smap;
    }
    write_cr4(cr4);
}

} // namespace

mm::PageAllocator& page_allocator() { return g_pages; }
PageTable& kernel_page_table() { return *g_kernel_pt; }
const PageTableEnv& kernel_page_table_env() { return g_env; }

void memory_init(const mb2::BootInfo& info, uint64_t info_phys) {
    if (!info.has_memory_map || info.memory_count == 0)
        panic("memory: the boot loader gave no memory map; cannot continue");
    enable_cpu_protections();

    // Firmware ranges, plus a RAM-only view (available and ACPI) for the direct map.
    static mm::FirmwareRange firmware[mb2::kMaxMemoryEntries];
    static mm::FirmwareRange ram_like[mb2::kMaxMemoryEntries];
    for (size_t i = 0; i < info.memory_count; ++i) {
        const auto& e = info.memory[i];
        firmware[i] = {e.base, e.length, e.type};
        bool ram = e.type == mm::kFirmwareAvailable || e.type == mm::kFirmwareAcpiReclaimable
                   || e.type == mm::kFirmwareAcpiNvs;
        ram_like[i] = {e.base, e.length, ram ? mm::kFirmwareAvailable : mm::kFirmwareReserved};
        if (e.type == mm::kFirmwareAvailable && e.base + e.length > e.base)
            g_total_bytes += e.length;
    }
    base::Span<const mm::FirmwareRange> fw(firmware, info.memory_count);

    // Reserved: low memory, the kernel image, the boot information and every module.
    static mm::PhysRange reserved[4 + mb2::kMaxModules];
    size_t nreserved = 0;
    uint64_t kstart = reinterpret_cast<uint64_t>(_kernel_phys_start);
    uint64_t kend = reinterpret_cast<uint64_t>(_kernel_phys_end);
    reserved[nreserved++] = mm::kLowMemoryReserve;
    reserved[nreserved++] = {kstart, kend - kstart};
    for (size_t i = 0; i < info.module_count; ++i) {
        const auto& m = info.modules[i];
        if (m.start < kend && m.end > kstart)
            panic("memory: boot module '{}' at {:#x}..{:#x} overlaps the kernel image "
                  "{:#x}..{:#x}; the boot loader configuration is wrong",
                  m.name, m.start, m.end, kstart, kend);
        reserved[nreserved++] = {m.start, uint64_t(m.end) - m.start};
    }
    // The information block itself (its strings stay in use).
    reserved[nreserved++] = {info_phys, info.total_size};

    static mm::PhysRange usable[kMaxRanges];
    mm::MemoryMapStats stats;
    auto count = mm::sanitize_memory_map(fw, base::Span<const mm::PhysRange>(reserved, nreserved),
                                         base::Span<mm::PhysRange>(usable, kMaxRanges), stats);
    if (count.is_error())
        panic("memory: sanitizing the memory map failed: {}", count.error());
    size_t nusable = count.value();
    if (stats.malformed_dropped() || stats.unknown_type_entries || stats.overlapping_available
        || stats.available_reserved_conflicts)
        log::warn("memory: firmware map had {} malformed entries (dropped), {} unknown types, "
                  "{} overlapping available pairs, {} available/reserved conflicts",
                  stats.malformed_dropped(), stats.unknown_type_entries,
                  stats.overlapping_available, stats.available_reserved_conflicts);
    g_usable_bytes = stats.usable_bytes;
    if (g_usable_bytes < kMinimumUsableBytes)
        panic("memory: only {} KiB of usable RAM; Tern needs at least {} MiB", g_usable_bytes >> 10,
              kMinimumUsableBytes >> 20);

    // Page-table pages for the new kernel space come from the first usable range below
    // 4 GiB with room for them (the boot tables map only the first 4 GiB).
    size_t bump_index = nusable;
    for (size_t i = 0; i < nusable; ++i) {
        if (usable[i].end() <= (4ull << 30) && usable[i].length >= (2ull << 20)) {
            bump_index = i;
            break;
        }
    }
    if (bump_index == nusable)
        panic("memory: no usable range of 2 MiB below 4 GiB for the kernel's page tables");
    g_bump = {usable[bump_index].base, usable[bump_index].base,
              usable[bump_index].base + base::min<uint64_t>(usable[bump_index].length, 1ull << 20)};

    g_env = PageTableEnv{};
    g_env.alloc_table_page = alloc_table_page;
    g_env.free_table_page = free_table_page;
    g_env.direct_map_offset = kDirectMapBase;
    // invlpg on addresses the boot tables map is harmless, so flushing is on from the start.
    g_env.flush_range = flush_range;
    auto created = PageTable::create(g_env);
    if (created.is_error())
        panic("memory: creating the kernel page table: {}", created.error());
    g_kernel_pt = new (g_kernel_pt_storage) PageTable(created.release_value());
    PageTable& pt = *g_kernel_pt;

    // The direct map: every RAM-like range, writable, never executable.
    mm::PhysRange* ram = g_ram;
    mm::MemoryMapStats ram_stats;
    auto nram =
        mm::sanitize_memory_map(base::Span<const mm::FirmwareRange>(ram_like, info.memory_count),
                                {}, base::Span<mm::PhysRange>(ram, kMaxRanges), ram_stats);
    if (nram.is_error())
        panic("memory: building the direct map: {}", nram.error());
    PageFlags rw = PageFlags::kPresent | PageFlags::kWritable | PageFlags::kGlobal | nx();
    g_ram_count = nram.value();
    for (size_t i = 0; i < nram.value(); ++i)
        map_mixed(pt, kDirectMapBase + ram[i].base, ram[i].base, ram[i].length, rw);
    // Low memory below 1 MiB is not always reported as RAM but holds the boot information
    // on some loaders; the first MiB is mapped read-only so it can be inspected.
    // The kernel image: text read-only and executable, rodata read-only, data and bss
    // read-write; the guard page below the boot stack stays unmapped.
    PageFlags base_flags = PageFlags::kPresent | PageFlags::kGlobal;
    map_image_section(pt, __text_start, __text_end, base_flags);
    map_image_section(pt, __rodata_start, __rodata_end, base_flags | nx());
    uint64_t guard = reinterpret_cast<uint64_t>(boot_stack_bottom);
    map_image_section(pt, __data_start, boot_stack_bottom, rw);
    map_image_section(pt, reinterpret_cast<const char*>(guard + kPageSize), __data_end, rw);

    log::debug("memory: kernel page table built");
    write_cr3(pt.root_phys());
    log::debug("memory: switched to the kernel page table");

    // Hand everything except the bump-allocated table pages to the page allocator.
    uint64_t used = g_bump.next - g_bump.base;
    usable[bump_index].base += used;
    usable[bump_index].length -= used;
    auto init = g_pages.init(base::Span<const mm::PhysRange>(usable, nusable),
                             mm::PhysToVirt::direct_map(kDirectMapBase));
    if (init.is_error())
        panic("memory: page allocator init failed: {}", init.error());
    g_allocator_ready = true;
    log::debug("memory: page allocator up");

    g_heap.init(mm::page_source_from(g_pages));

    log::info("memory: page allocator and heap up; {} MiB usable in {} ranges, {} page-table pages "
              "for the kernel space, NX {}",
              g_usable_bytes >> 20, nusable, used / kPageSize, g_nx ? "on" : "off");
}

bool is_managed_ram(uint64_t phys, uint64_t size) {
    for (size_t i = 0; i < g_ram_count; ++i)
        if (phys < g_ram[i].end() && phys + size > g_ram[i].base)
            return true;
    return false;
}

MemoryStats memory_stats() {
    mm::Heap::Stats heap = g_heap.stats();
    return MemoryStats{g_total_bytes,
                       g_usable_bytes,
                       g_pages.total_page_count(),
                       g_pages.free_page_count(),
                       g_heap.bytes_in_use(),
                       heap.slab_pages + heap.metadata_pages + heap.large_pages};
}

uint64_t map_mmio(uint64_t phys, size_t size) {
    uint64_t offset = phys % kPageSize;
    uint64_t base = phys - offset;
    uint64_t length = base::align_up(size + offset, kPageSize);
    if (g_mmio_next + length > kMmioWindowEnd)
        panic("vm: MMIO window exhausted mapping {:#x}", phys);
    uint64_t virt = g_mmio_next;
    PageFlags flags = PageFlags::kPresent | PageFlags::kWritable | PageFlags::kCacheDisable
                      | PageFlags::kWriteThrough | PageFlags::kGlobal | nx();
    if (auto r = g_kernel_pt->map(virt, base, length, flags); r.is_error())
        panic("vm: mapping MMIO {:#x}: {}", phys, r.error());
    g_mmio_next += length + kPageSize; // an unmapped page between windows
    return virt + offset;
}

void* kmalloc(size_t size, size_t align) { return g_heap.allocate(size, align); }

void kfree(void* p) {
    if (!p)
        return;
    if (auto r = g_heap.deallocate(p); r.is_error())
        panic("heap: free of {} failed: {}", p, r.error());
}

} // namespace kernel

void* operator new(size_t size) {
    void* p = kernel::kmalloc(size);
    if (!p)
        kernel::panic("heap: out of memory allocating {} bytes", size);
    return p;
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new(size_t size, kernel::NoThrowTag) noexcept { return kernel::kmalloc(size); }
void* operator new[](size_t size, kernel::NoThrowTag) noexcept { return kernel::kmalloc(size); }
void operator delete(void* p) noexcept { kernel::kfree(p); }
void operator delete[](void* p) noexcept { kernel::kfree(p); }
void operator delete(void* p, size_t) noexcept { kernel::kfree(p); }
void operator delete[](void* p, size_t) noexcept { kernel::kfree(p); }

// ---- Self-tests -----------------------------------------------------------------------
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/arch/x86_64/trap.h>
#include <kernel/test/ktest.h>

namespace kernel {
namespace {

KTEST(mm, page_alloc_free_roundtrip) {
    size_t before = g_pages.free_page_count();
    auto page = g_pages.alloc_page();
    KEXPECT_OK(page);
    KEXPECT(base::is_aligned(page.value(), kPageSize));
    auto* p = phys_to_virt<uint64_t>(page.value());
    p[0] = 0x1122334455667788ull;
    p[511] = 42;
    KEXPECT_EQ(p[0], 0x1122334455667788ull);
    KEXPECT_EQ(g_pages.free_page_count(), before - 1);
    KEXPECT_OK(g_pages.free_page(page.value()));
    KEXPECT_EQ(g_pages.free_page_count(), before);
}

KTEST(mm, double_free_detected) {
    auto page = g_pages.alloc_page();
    KEXPECT_OK(page);
    KEXPECT_OK(g_pages.free_page(page.value()));
    size_t before = g_pages.free_page_count();
    auto again = g_pages.free_page(page.value());
    KEXPECT(again.is_error());
    KEXPECT_EQ(g_pages.free_page_count(), before);
}

KTEST(mm, contiguous_dma_range) {
    auto r = g_pages.alloc_contiguous(20, 16);
    KEXPECT_OK(r);
    KEXPECT(base::is_aligned(r.value(), 16 * kPageSize));
    // Every page of the range is backed and writable through the direct map.
    for (size_t i = 0; i < 20; ++i)
        phys_to_virt<uint8_t>(r.value())[i * kPageSize] = uint8_t(i);
    KEXPECT_OK(g_pages.free_contiguous(r.value(), 20));
}

KTEST(mm, exhaustion_and_recovery) {
    // Take every page in max-order blocks, then order 0, until NO_MEMORY; give all back.
    size_t before = g_pages.free_page_count();
    static uint64_t blocks[70000];
    static unsigned orders[70000];
    size_t n = 0;
    for (int order = mm::PageAllocator::kMaxOrder; order >= 0; --order) {
        while (n < 70000) {
            auto r = g_pages.alloc_pages(unsigned(order));
            if (r.is_error()) {
                KEXPECT_EQ(r.error(), base::Error::NO_MEMORY);
                break;
            }
            blocks[n] = r.value();
            orders[n++] = unsigned(order);
        }
    }
    KEXPECT_EQ(g_pages.free_page_count(), size_t(0));
    for (size_t i = 0; i < n; ++i)
        KEXPECT_OK(g_pages.free_pages(blocks[i], orders[i]));
    KEXPECT_EQ(g_pages.free_page_count(), before);
}

KTEST(mm, heap_sizes_and_alignment) {
    size_t before = g_heap.bytes_in_use();
    void* ptrs[12];
    for (int i = 0; i < 12; ++i) {
        size_t size = size_t(1) << i;
        ptrs[i] = kmalloc(size * 8, size_t(16) << (i % 4));
        KEXPECT(ptrs[i] != nullptr);
        KEXPECT(base::is_aligned(reinterpret_cast<uint64_t>(ptrs[i]), size_t(16) << (i % 4)));
        __builtin_memset(ptrs[i], 0xA5, size * 8);
    }
    for (int i = 0; i < 12; ++i)
        kfree(ptrs[i]);
    KEXPECT_EQ(g_heap.bytes_in_use(), before);
    void* big = kmalloc(64 * 1024);
    KEXPECT(big != nullptr);
    kfree(big);
}

KTEST(mm, heap_double_free_detected) {
    void* p = kmalloc(48);
    KEXPECT(p != nullptr);
    KEXPECT_OK(g_heap.deallocate(p));
    KEXPECT(g_heap.deallocate(p).is_error());
}

KTEST(mm, new_and_delete) {
    struct Thing {
        uint64_t a = 7;
        uint64_t b[5] = {};
    };
    Thing* t = new Thing;
    KEXPECT_EQ(t->a, uint64_t(7));
    delete t;
}

void touch(void* p) { *static_cast<volatile uint64_t*>(p) = 1; }
void read_byte(void* p) { (void)*static_cast<volatile uint8_t*>(p); }
void execute(void* p) { reinterpret_cast<void (*)()>(p)(); }

KTEST(vm, map_access_unmap_faults) {
    auto page = g_pages.alloc_page();
    KEXPECT_OK(page);
    uint64_t virt = kMmioWindowBase - (16ull << 20); // an unused kernel-half address
    PageFlags flags = PageFlags::kPresent | PageFlags::kWritable | nx();
    KEXPECT_OK(g_kernel_pt->map(virt, page.value(), kPageSize, flags));
    KEXPECT_EQ(x86_64::try_call(touch, reinterpret_cast<void*>(virt)), int64_t(-1));
    KEXPECT_EQ(*phys_to_virt<uint64_t>(page.value()), uint64_t(1));
    KEXPECT_OK(g_kernel_pt->unmap(virt, kPageSize));
    KEXPECT_EQ(x86_64::try_call(touch, reinterpret_cast<void*>(virt)), int64_t(kVecPageFault));
    KEXPECT_OK(g_pages.free_page(page.value()));
}

KTEST(vm, kernel_text_is_read_only) {
    void* text = reinterpret_cast<void*>(&touch);
    KEXPECT_EQ(x86_64::try_call(touch, text), int64_t(kVecPageFault));
    KEXPECT_EQ(x86_64::try_call(read_byte, text), int64_t(-1));
}

KTEST(vm, data_is_not_executable) {
    if (!g_nx)
        KSKIP("the CPU has no NX bit, so it cannot enforce this");
    static uint8_t code[16] = {0xC3}; // ret
    KEXPECT_EQ(x86_64::try_call(execute, code), int64_t(kVecPageFault));
    KEXPECT_EQ(x86_64::try_call(execute, phys_to_virt(0x200000)), int64_t(kVecPageFault));
}

KTEST(vm, boot_stack_guard_page_unmapped) {
    KEXPECT(!g_kernel_pt->translate(reinterpret_cast<uint64_t>(boot_stack_bottom)).has_value());
    KEXPECT(g_kernel_pt->translate(reinterpret_cast<uint64_t>(boot_stack_bottom) + kPageSize)
                .has_value());
}

KTEST(vm, identity_map_is_gone) {
    // Null and low addresses must fault in the kernel's own space.
    KEXPECT_EQ(x86_64::try_call(read_byte, reinterpret_cast<void*>(0x1000)),
               int64_t(kVecPageFault));
}

KTEST(vm, mmio_window_mapping) {
    uint64_t v = map_mmio(x86_64::lapic_phys_base(), 4096);
    auto t = g_kernel_pt->translate(v);
    KEXPECT(t.has_value());
    KEXPECT_EQ(t->phys, x86_64::lapic_phys_base());
    KEXPECT(has_flag(t->flags, PageFlags::kCacheDisable));
}

} // namespace
} // namespace kernel

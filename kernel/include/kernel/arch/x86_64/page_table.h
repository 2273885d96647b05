#pragma once

// x86-64 four-level page tables, written without any privileged instruction so the same
// code runs in the kernel and in host tests.
//
// A PageTable wraps the physical address of a PML4. It never touches CR3 and never
// flushes a TLB itself: table pages are reached through a physical-to-virtual translation
// supplied by the caller, new table pages come from the caller's allocator, and every
// virtual range whose old translation may still sit in a TLB is reported through a flush
// callback, so the kernel decides between invlpg, a full flush and a shootdown.
//
// The caller serialises all operations on one PageTable (the address-space lock).

#include <base/optional.h>
#include <base/result.h>
#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::x86_64 {

// ---- Virtual address layout -----------------------------------------------------------
//
// x86-64 with four-level paging translates 48-bit addresses; bits 63..48 must copy bit 47
// ("canonical"), which splits the 64-bit space into two 128 TiB halves with a hole
// between them:
//
//   0x0000000000000000 .. 0x0000000000000FFF  never mapped, so a null pointer faults
//   0x0000000000001000 .. 0x00007FFFFFFFEFFF  user space, private to each address space
//   0x00007FFFFFFFF000 .. 0x00007FFFFFFFFFFF  never mapped, a guard below the hole
//   0x0000800000000000 .. 0xFFFF7FFFFFFFFFFF  non-canonical hole
//   0xFFFF800000000000 .. 0xFFFFBFFFFFFFFFFF  direct map of all physical memory (64 TiB)
//   0xFFFFFFFF80000000 .. 0xFFFFFFFFFFFFFFFF  kernel image (the top 2 GiB, so the kernel
//                                             links with -mcmodel=kernel)
//
// PML4 entries 0..255 cover the user half and belong to one address space; entries
// 256..511 cover the kernel half and are shared by every address space (each new PML4
// copies them from the kernel's), so the tables below them are never freed by one space.

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kLargePageSize = 2ull << 20;
inline constexpr uint64_t kHugePageSize = 1ull << 30;

inline constexpr uint64_t kUserSpaceStart = 0x0000000000001000ull;
// Exclusive end of user space: the last user page is 0x00007FFFFFFFE000.
inline constexpr uint64_t kUserSpaceEnd = 0x00007FFFFFFFF000ull;
inline constexpr uint64_t kKernelHalfStart = 0xFFFF800000000000ull;
inline constexpr uint64_t kDirectMapBase = 0xFFFF800000000000ull;
inline constexpr uint64_t kDirectMapSize = 64ull << 40;
inline constexpr uint64_t kKernelImageBase = 0xFFFFFFFF80000000ull;

inline constexpr size_t kEntriesPerTable = 512;
// PML4 entries below this index map the user half.
inline constexpr size_t kUserPml4Entries = 256;
// The largest physical address a page-table entry can hold (MAXPHYADDR is at most 52).
inline constexpr uint64_t kMaxPhysicalAddress = (1ull << 52) - 1;

// True when bits 63..47 of addr are all equal, i.e. the CPU would accept it.
constexpr bool is_canonical(uint64_t addr) {
    uint64_t top = addr >> 47;
    return top == 0 || top == 0x1FFFF;
}

constexpr bool is_user_address(uint64_t addr) {
    return addr >= kUserSpaceStart && addr < kUserSpaceEnd;
}

constexpr bool is_kernel_half(uint64_t addr) { return addr >= kKernelHalfStart; }

// ---- Flags ----------------------------------------------------------------------------
//
// The values are the hardware bit positions, so converting to and from entries is a mask.

enum class PageFlags : uint64_t {
    kNone = 0,
    kPresent = 1ull << 0,
    kWritable = 1ull << 1,
    kUser = 1ull << 2,
    kWriteThrough = 1ull << 3,
    kCacheDisable = 1ull << 4,
    // Set by the CPU; reported by translate() and for_each_mapping(), ignored on input.
    kAccessed = 1ull << 5,
    kDirty = 1ull << 6,
    // A 2 MiB or 1 GiB leaf. Reported on output; on input the PageSize argument decides.
    kHuge = 1ull << 7,
    kGlobal = 1ull << 8,
    kNoExecute = 1ull << 63,
};

constexpr PageFlags operator|(PageFlags a, PageFlags b) {
    return static_cast<PageFlags>(static_cast<uint64_t>(a) | static_cast<uint64_t>(b));
}
constexpr PageFlags operator&(PageFlags a, PageFlags b) {
    return static_cast<PageFlags>(static_cast<uint64_t>(a) & static_cast<uint64_t>(b));
}
constexpr PageFlags operator~(PageFlags a) {
    return static_cast<PageFlags>(~static_cast<uint64_t>(a));
}
constexpr PageFlags& operator|=(PageFlags& a, PageFlags b) { return a = a | b; }
constexpr PageFlags& operator&=(PageFlags& a, PageFlags b) { return a = a & b; }
constexpr bool has_flag(PageFlags set, PageFlags flag) { return (set & flag) == flag; }
constexpr bool has_any_flag(PageFlags set, PageFlags flags) {
    return (set & flags) != PageFlags::kNone;
}

// Every flag with a meaning here; any other bit in an input is INVALID_ARGUMENT.
inline constexpr PageFlags kAllPageFlags =
    PageFlags::kPresent | PageFlags::kWritable | PageFlags::kUser | PageFlags::kWriteThrough
    | PageFlags::kCacheDisable | PageFlags::kAccessed | PageFlags::kDirty | PageFlags::kHuge
    | PageFlags::kGlobal | PageFlags::kNoExecute;

enum class PageSize : uint64_t {
    kSize4K = kPageSize,
    kSize2M = kLargePageSize,
    kSize1G = kHugePageSize,
};

constexpr uint64_t page_size_bytes(PageSize size) { return static_cast<uint64_t>(size); }

// ---- Environment ----------------------------------------------------------------------

// How a PageTable reaches memory and tells its owner what changed. All callbacks get ctx.
struct PageTableEnv {
    void* ctx{nullptr};

    // Returns the physical address of a fresh 4 KiB page for a table. The page need not be
    // zeroed: PageTable clears it. Failure is reported as an error (NO_MEMORY).
    base::Result<uint64_t> (*alloc_table_page)(void* ctx){nullptr};
    // Returns a table page that is no longer referenced, after the flush that made it
    // unreachable from every TLB and paging-structure cache.
    void (*free_table_page)(uint64_t phys, void* ctx){nullptr};

    // Where the table page at phys can be read and written. When null, the page is found
    // at phys + direct_map_offset (the kernel's direct map).
    uint64_t* (*table_virt)(uint64_t phys, void* ctx){nullptr};
    uint64_t direct_map_offset{kDirectMapBase};

    // Called with [virt, virt + size) when translations in that range were removed,
    // narrowed, changed in size or had their table freed; the kernel invalidates the range
    // (invlpg, or a full flush for a large one) on every CPU using this PageTable, and for
    // the kernel half on every CPU. It is always called before a table page reachable
    // through the range is passed to free_table_page. Adjacent ranges are merged. May be
    // null when the table is not live on any CPU (for example in tests).
    void (*flush_range)(uint64_t virt, uint64_t size, void* ctx){nullptr};
};

// ---- Queries --------------------------------------------------------------------------

struct Translation {
    // The physical address the queried virtual address maps to (offset included).
    uint64_t phys;
    // The leaf's flags, Present always set, Huge set for 2 MiB and 1 GiB leaves.
    PageFlags flags;
    PageSize page_size;
    // The start of the leaf that holds the queried address, virtual and physical.
    uint64_t page_virt;
    uint64_t page_phys;
};

// One leaf, as listed by for_each_mapping.
struct Mapping {
    uint64_t virt;
    uint64_t phys;
    PageSize page_size;
    PageFlags flags;
};

// Returns false to stop the walk early.
using MappingVisitor = bool (*)(const Mapping& mapping, void* ctx);

// ---- PageTable ------------------------------------------------------------------------

class PageTable {
public:
    // Wraps an existing PML4 (the one the boot code built, or one created below).
    PageTable(uint64_t pml4_phys, const PageTableEnv& env) : m_root(pml4_phys), m_env(env) {}

    // Allocates an empty PML4.
    [[nodiscard]] static base::Result<PageTable> create(const PageTableEnv& env);

    // Allocates a PML4 for a new address space: empty user half, kernel half entries
    // copied from kernel_space so the kernel is mapped identically everywhere.
    [[nodiscard]] static base::Result<PageTable>
    create_address_space(const PageTableEnv& env, const PageTable& kernel_space);

    PageTable(const PageTable&) = delete;
    PageTable& operator=(const PageTable&) = delete;
    PageTable(PageTable&& other) : m_root(base::exchange(other.m_root, 0ull)), m_env(other.m_env) {}
    PageTable& operator=(PageTable&& other) {
        if (this != &other) {
            m_root = base::exchange(other.m_root, 0ull);
            m_env = other.m_env;
        }
        return *this;
    }

    // The value for CR3 (without PCID bits).
    [[nodiscard]] uint64_t root_phys() const { return m_root; }

    // Gives every kernel-half PML4 entry a PDPT, so address spaces created afterwards share
    // all later kernel mappings. Call once on the kernel's PageTable before creating
    // address spaces. NO_MEMORY leaves the entries filled so far in place.
    [[nodiscard]] base::Result<void> populate_kernel_half();

    // Maps [virt, virt + size) to [phys, phys + size) with leaves of page_size.
    // Present is implied; Accessed, Dirty and Huge in flags are ignored except that Huge
    // with Size4K is INVALID_ARGUMENT. Errors, with nothing changed:
    //   INVALID_ARGUMENT  size 0, unknown flag bits, a range that is not canonical or
    //                     crosses the hole, User in the kernel half, Global in the user half;
    //   MISALIGNED        virt, phys or size not a multiple of page_size;
    //   OUT_OF_RANGE      phys range beyond kMaxPhysicalAddress;
    //   ALREADY_EXISTS    any page of the range is already mapped;
    //   NO_MEMORY         the table pages the mapping needs could not all be allocated.
    [[nodiscard]] base::Result<void> map(uint64_t virt, uint64_t phys, size_t size, PageFlags flags,
                                         PageSize page_size = PageSize::kSize4K);

    // Removes every mapping in [virt, virt + size). Large leaves only partly inside the
    // range are split and the rest stays mapped. Tables left empty are freed (except the
    // shared kernel-half PDPTs). Errors, with nothing changed: INVALID_ARGUMENT and
    // MISALIGNED as for map (4 KiB granularity); NOT_FOUND if any page in the range is not
    // mapped; NO_MEMORY if a split needed a table page that could not be allocated.
    [[nodiscard]] base::Result<void> unmap(uint64_t virt, size_t size);

    // Replaces the permission and caching flags of every page in [virt, virt + size),
    // keeping physical addresses, page sizes (except for splits at the range ends),
    // Accessed and Dirty. Present, Huge, Accessed and Dirty in flags are ignored. Errors
    // as for unmap, plus INVALID_ARGUMENT for User in the kernel half or Global in the
    // user half.
    [[nodiscard]] base::Result<void> protect(uint64_t virt, size_t size, PageFlags flags);

    // Points the 4 KiB leaf that maps virt at another frame, with new flags (as for map),
    // in one entry write: the copy-on-write fault's "this page is now a private copy",
    // which must not leave a moment without a mapping or need a table page. The old
    // translation is flushed. Errors, with nothing changed: INVALID_ARGUMENT and
    // MISALIGNED as for map; OUT_OF_RANGE for phys; NOT_FOUND when virt is not mapped by
    // a 4 KiB leaf.
    [[nodiscard]] base::Result<void> replace_page(uint64_t virt, uint64_t phys, PageFlags flags);

    // Maps one 4 KiB page where its tables exist already, in one walk and one entry
    // write (a page a pager supplies): map()'s work without its planning pass. No flush
    // is needed, as the entry was not present. Errors, with nothing changed:
    // INVALID_ARGUMENT, MISALIGNED and OUT_OF_RANGE as for map; ALREADY_EXISTS when
    // virt is mapped; NOT_FOUND when a table on the way is missing (map() makes it).
    [[nodiscard]] base::Result<void> map_page(uint64_t virt, uint64_t phys, PageFlags flags);

    // Decides, for one 4 KiB leaf of the source of copy_leaves_from, the flags its copy
    // gets (*copy) and the source leaf's own from now on (*source); both start as the
    // leaf's flags, and only the bits map() takes count. false stops the copy there, with
    // NO_MEMORY, before the leaf is copied or changed.
    using LeafCopier = bool (*)(const Mapping& leaf, PageFlags* copy, PageFlags* source, void* ctx);

    // Maps every 4 KiB leaf of source in [virt, virt + size) of the user half into this
    // table at the same address and frame, with the flags copier gives, and changes the
    // source's leaves as it says (their old translations are flushed together, at the
    // end): a copy-on-write clone of an address space in one walk, creating only the
    // tables the copies need. Errors: INVALID_ARGUMENT and MISALIGNED as for unmap, and
    // for a range in the kernel half; NOT_SUPPORTED for a large leaf in the source;
    // ALREADY_EXISTS where this table maps a page already; NO_MEMORY for a table page
    // or when the copier refuses a leaf.
    // Unlike map(), an error leaves what was copied before it in place (the leaves
    // before it in address order), with the copier's changes: it is meant for a table
    // being built, which is dropped whole when its copy fails.
    [[nodiscard]] base::Result<void> copy_leaves_from(PageTable& source, uint64_t virt, size_t size,
                                                      LeafCopier copier, void* ctx);

    // The translation of one address, or nothing if it is unmapped or not canonical.
    [[nodiscard]] base::Optional<Translation> translate(uint64_t virt) const;

    // The physical addresses of `count` consecutive 4 KiB pages from the page at `virt`
    // (rounded down) into phys[], for a run of pages that are all to be reached at once
    // (a message's data part): each table on the way is walked once for the run, not
    // once per page. Every leaf must have all of `required` and none of `refused`.
    // Returns how many pages from the first were found so; fewer than `count` means the
    // next one is unmapped, not canonical or flagged otherwise.
    [[nodiscard]] size_t pages_of(uint64_t virt, size_t count, PageFlags required,
                                  PageFlags refused, uint64_t* phys) const;

    // Calls visitor for every leaf overlapping [virt, virt + size), in address order.
    // A large leaf is reported whole even when it only partly overlaps the range.
    void for_each_mapping(uint64_t virt, uint64_t size, MappingVisitor visitor, void* ctx) const;
    // Every leaf in both halves.
    void for_each_mapping(MappingVisitor visitor, void* ctx) const;

    // Lambda forms; the callable returns bool (false stops) or nothing.
    template<typename Callback>
    void for_each_mapping(uint64_t virt, uint64_t size, Callback&& callback) const {
        for_each_mapping(virt, size, &call_visitor<base::remove_reference_t<Callback>>, &callback);
    }
    template<typename Callback>
    void for_each_mapping(Callback&& callback) const {
        for_each_mapping(&call_visitor<base::remove_reference_t<Callback>>, &callback);
    }

    // Clears every leaf overlapping [virt, virt + size) of the user half in one walk and
    // hands each to visitor after its entry is cleared (a large leaf whole); the tables
    // stay, for destroy(). Nothing is flushed: it is for an address space that no CPU
    // uses any more (an ended task's), whose frames the visitor may free at once.
    void clear_leaves(uint64_t virt, uint64_t size, MappingVisitor visitor, void* ctx);
    template<typename Callback>
    void clear_leaves(uint64_t virt, uint64_t size, Callback&& callback) {
        clear_leaves(virt, size, &call_visitor<base::remove_reference_t<Callback>>, &callback);
    }

    // Frees every table page of the user half and the PML4 itself. The kernel-half tables
    // are shared and stay. Mapped frames are not touched: they belong to the caller, who
    // lists them with for_each_mapping first. The PageTable must not be loaded in CR3 on
    // any CPU; afterwards root_phys() is 0 and the object must not be used.
    void destroy();

private:
    template<typename Callback>
    static bool call_visitor(const Mapping& mapping, void* ctx) {
        auto& callback = *static_cast<Callback*>(ctx);
        if constexpr (base::is_same_v<decltype(callback(mapping)), void>) {
            callback(mapping);
            return true;
        } else {
            return static_cast<bool>(callback(mapping));
        }
    }

    uint64_t m_root{0};
    PageTableEnv m_env;
};

} // namespace kernel::x86_64

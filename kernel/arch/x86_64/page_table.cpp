// x86-64 four-level page tables without privileged instructions (see page_table.h).
//
// Every modifying operation runs in two passes. The first pass only reads: it checks the
// whole range (overlap for map, holes for unmap and protect) and counts the table pages
// the second pass will need. Those pages are then allocated up front, so the second pass,
// which writes entries, cannot fail half-way: an error always leaves the tables exactly
// as they were.
//
// Levels are numbered as the hardware walks them: level 4 entries live in the PML4,
// level 3 in PDPTs, level 2 in page directories, level 1 in page tables. An entry at
// level L maps 4 KiB * 512^(L-1) bytes. Ranges are passed as [start, last] with an
// inclusive last byte, because the exclusive end of the top page of the address space
// does not fit in 64 bits.

#include <base/assert.h>
#include <base/utility.h>
#include <kernel/arch/x86_64/page_table.h>

namespace kernel::x86_64 {

namespace {

using base::Error;
using base::Result;

constexpr uint64_t kEntryPresent = 1ull << 0;
constexpr uint64_t kEntryWritable = 1ull << 1;
constexpr uint64_t kEntryUser = 1ull << 2;
constexpr uint64_t kEntryHuge = 1ull << 7;
// In a 4 KiB entry the PAT bit is bit 7; in a 2 MiB or 1 GiB leaf bit 7 means "huge" and
// PAT moves to bit 12.
constexpr uint64_t kEntryPat4K = 1ull << 7;
constexpr uint64_t kEntryPatHuge = 1ull << 12;
constexpr uint64_t kTableAddressMask = 0x000FFFFFFFFFF000ull;

// Bits a caller chooses for a leaf through map() and protect().
constexpr uint64_t kSettableBits =
    static_cast<uint64_t>(PageFlags::kWritable | PageFlags::kUser | PageFlags::kWriteThrough
                          | PageFlags::kCacheDisable | PageFlags::kGlobal | PageFlags::kNoExecute);
// Bits a leaf reports as PageFlags (Huge is added from the level, not read from bit 7,
// because bit 7 of a 4 KiB entry is PAT).
constexpr uint64_t kReportedBits =
    static_cast<uint64_t>(PageFlags::kPresent | PageFlags::kAccessed | PageFlags::kDirty)
    | kSettableBits;

constexpr int kTopLevel = 4;

constexpr unsigned level_shift(int level) { return 12u + 9u * static_cast<unsigned>(level - 1); }
// Bytes mapped by one entry at this level.
constexpr uint64_t level_span(int level) { return 1ull << level_shift(level); }
constexpr size_t level_index(uint64_t virt, int level) {
    return static_cast<size_t>((virt >> level_shift(level)) & (kEntriesPerTable - 1));
}
// The physical address bits of a leaf at this level.
constexpr uint64_t leaf_address_mask(int level) {
    return kTableAddressMask & ~(level_span(level) - 1);
}

constexpr bool is_present(uint64_t entry) { return (entry & kEntryPresent) != 0; }

constexpr bool is_leaf(uint64_t entry, int level) {
    if (!is_present(entry))
        return false;
    if (level == 1)
        return true;
    // The PS bit is reserved in PML4 entries, so they always point to a table.
    return level <= 3 && (entry & kEntryHuge) != 0;
}

constexpr int leaf_level_of(PageSize size) {
    switch (size) {
    case PageSize::kSize4K:
        return 1;
    case PageSize::kSize2M:
        return 2;
    case PageSize::kSize1G:
        return 3;
    }
    return 0;
}

constexpr PageSize page_size_of_level(int level) {
    return level == 1 ? PageSize::kSize4K : (level == 2 ? PageSize::kSize2M : PageSize::kSize1G);
}

// Intermediate entries are as permissive as possible so the leaf alone decides access.
// Only user-half tables carry User: a user mapping can never appear in the kernel half.
constexpr uint64_t intermediate_bits(uint64_t virt) {
    return kEntryPresent | kEntryWritable | (is_kernel_half(virt) ? 0 : kEntryUser);
}

constexpr PageFlags flags_of_leaf(uint64_t entry, int level) {
    PageFlags flags = static_cast<PageFlags>(entry & kReportedBits);
    if (level > 1)
        flags |= PageFlags::kHuge;
    return flags;
}

uint64_t* table_at(const PageTableEnv& env, uint64_t phys) {
    if (env.table_virt)
        return env.table_virt(phys, env.ctx);
    return reinterpret_cast<uint64_t*>(phys + env.direct_map_offset);
}

bool table_is_empty(const PageTableEnv& env, uint64_t phys) {
    const uint64_t* table = table_at(env, phys);
    for (size_t i = 0; i < kEntriesPerTable; ++i) {
        if (is_present(table[i]))
            return false;
    }
    return true;
}

// Calls fn(index, start, last) for each entry of a table at `level` that [start, last]
// touches, with the range clipped to that entry. fn returns false to stop; the result
// says whether the walk ran to the end.
template<typename Fn>
bool for_each_slot(int level, uint64_t start, uint64_t last, Fn&& fn) {
    uint64_t span = level_span(level);
    uint64_t cursor = start;
    for (;;) {
        uint64_t slot_last = base::align_down(cursor, span) + (span - 1);
        uint64_t clip_last = base::min(last, slot_last);
        if (!fn(level_index(cursor, level), cursor, clip_last))
            return false;
        if (clip_last == last)
            return true;
        cursor = clip_last + 1;
    }
}

// Hands a table and every table below it to release(phys). Leaves are the caller's
// frames and stay.
// True when none of the eight entries from table[i] is present: one test for a run of
// empty slots, which most of a process's tables are.
inline bool eight_absent(const uint64_t* table, size_t i) {
    return ((table[i] | table[i + 1] | table[i + 2] | table[i + 3] | table[i + 4] | table[i + 5]
             | table[i + 6] | table[i + 7])
            & kEntryPresent)
           == 0;
}

template<typename Release>
void free_subtree(const PageTableEnv& env, uint64_t phys, int level, Release&& release) {
    if (level > 1) {
        uint64_t* table = table_at(env, phys);
        for (size_t run = 0; run < kEntriesPerTable; run += 8) {
            if (eight_absent(table, run))
                continue;
            for (size_t i = run; i < run + 8; ++i) {
                uint64_t entry = table[i];
                if (is_present(entry) && !is_leaf(entry, level))
                    free_subtree(env, entry & kTableAddressMask, level - 1, release);
            }
        }
    }
    release(phys);
}

bool subtree_has_leaves(const PageTableEnv& env, uint64_t phys, int level) {
    const uint64_t* table = table_at(env, phys);
    for (size_t i = 0; i < kEntriesPerTable; ++i) {
        uint64_t entry = table[i];
        if (!is_present(entry))
            continue;
        if (is_leaf(entry, level))
            return true;
        if (subtree_has_leaves(env, entry & kTableAddressMask, level - 1))
            return true;
    }
    return false;
}

// Table pages allocated before any entry is written. They are chained through their first
// word until taken, and the ones left over go back to the allocator.
class TablePool {
public:
    explicit TablePool(const PageTableEnv& env) : m_env(env) {}
    TablePool(const TablePool&) = delete;
    TablePool& operator=(const TablePool&) = delete;
    ~TablePool() {
        while (m_count > 0)
            m_env.free_table_page(pop(), m_env.ctx);
    }

    [[nodiscard]] Result<void> reserve(uint64_t count) {
        for (uint64_t i = 0; i < count; ++i) {
            // On failure the destructor returns the pages taken so far.
            uint64_t phys = TRY(m_env.alloc_table_page(m_env.ctx));
            TERN_ASSERT(base::is_aligned(phys, kPageSize) && phys <= kMaxPhysicalAddress);
            table_at(m_env, phys)[0] = m_head;
            m_head = phys;
            ++m_count;
        }
        return base::ok();
    }

    // A zeroed table page. The first pass counted exactly what the second pass takes, so
    // running dry here is a bug in that count.
    uint64_t take() {
        uint64_t phys = pop();
        base::memset(table_at(m_env, phys), 0, kPageSize);
        return phys;
    }

    [[nodiscard]] uint64_t count() const { return m_count; }

private:
    uint64_t pop() {
        TERN_ASSERT(m_count > 0);
        uint64_t phys = m_head;
        m_head = table_at(m_env, phys)[0];
        --m_count;
        return phys;
    }

    const PageTableEnv& m_env;
    uint64_t m_head{0};
    uint64_t m_count{0};
};

// Collects the ranges whose stale translations must go and reports them merged, and
// holds back unlinked table pages until a flush has covered them: until then another CPU
// may still walk through a cached pointer to such a table.
class FlushBatch {
public:
    explicit FlushBatch(const PageTableEnv& env) : m_env(env) {}
    FlushBatch(const FlushBatch&) = delete;
    FlushBatch& operator=(const FlushBatch&) = delete;
    ~FlushBatch() { flush(); }

    // Frees an unlinked table at the next flush. The caller has already added the range
    // the table served. The pages are chained through their first word; a link is a
    // page-aligned address, so its Present bit is clear and a CPU walking the stale table
    // meanwhile sees a non-present entry there, like the zero it replaced.
    void release_table(uint64_t phys) {
        TERN_ASSERT(m_pending);
        table_at(m_env, phys)[0] = m_released_head;
        m_released_head = phys;
        ++m_released_count;
    }

    void add(uint64_t start, uint64_t last) {
        if (m_pending) {
            // Merge when the ranges overlap or touch; written to avoid overflow at both
            // ends of the address space.
            bool apart =
                (start > m_last && start - m_last > 1) || (m_start > last && m_start - last > 1);
            if (!apart) {
                m_start = base::min(m_start, start);
                m_last = base::max(m_last, last);
                return;
            }
            flush();
        }
        m_pending = true;
        m_start = start;
        m_last = last;
    }

    // Reports the pending range, then frees the tables it made unreachable. Every
    // released table's range was added before it was released, so it is covered by this
    // flush or an earlier one.
    void flush() {
        if (m_pending) {
            m_pending = false;
            if (m_env.flush_range)
                m_env.flush_range(m_start, m_last - m_start + 1, m_env.ctx);
        }
        while (m_released_count > 0) {
            uint64_t phys = m_released_head;
            m_released_head = table_at(m_env, phys)[0];
            --m_released_count;
            m_env.free_table_page(phys, m_env.ctx);
        }
    }

private:
    const PageTableEnv& m_env;
    bool m_pending{false};
    uint64_t m_start{0};
    uint64_t m_last{0};
    uint64_t m_released_head{0};
    uint64_t m_released_count{0};
};

// Validates a virtual range and returns its last byte.
Result<uint64_t> check_virtual_range(uint64_t virt, uint64_t size, uint64_t granule) {
    if (size == 0)
        return Error::INVALID_ARGUMENT;
    if (!base::is_aligned(virt, granule) || !base::is_aligned(size, granule))
        return Error::MISALIGNED;
    uint64_t last = virt + (size - 1);
    if (last < virt)
        return Error::INVALID_ARGUMENT;
    if (!is_canonical(virt) || !is_canonical(last))
        return Error::INVALID_ARGUMENT;
    // Both ends canonical but in different halves means the range spans the hole.
    if (is_kernel_half(virt) != is_kernel_half(last))
        return Error::INVALID_ARGUMENT;
    return last;
}

// Turns caller flags into the settable leaf bits, enforcing the half-specific rules:
// User pages in the shared kernel half would be visible to every task, and Global pages
// in the user half would survive the CR3 switch into another address space.
Result<uint64_t> leaf_bits_from_flags(PageFlags flags, uint64_t virt) {
    uint64_t raw = static_cast<uint64_t>(flags);
    if ((raw & ~static_cast<uint64_t>(kAllPageFlags)) != 0)
        return Error::INVALID_ARGUMENT;
    if (is_kernel_half(virt) && has_flag(flags, PageFlags::kUser))
        return Error::INVALID_ARGUMENT;
    if (!is_kernel_half(virt) && has_flag(flags, PageFlags::kGlobal))
        return Error::INVALID_ARGUMENT;
    return raw & kSettableBits;
}

// ---- map ------------------------------------------------------------------------------

// Tables needed to map [start, last] at leaf_level when no table exists yet at `level`
// or below: at each level, one per naturally aligned block that the range touches.
uint64_t tables_for_absent(int level, int leaf_level, uint64_t start, uint64_t last) {
    uint64_t count = 0;
    for (int l = leaf_level; l <= level; ++l) {
        unsigned shift = level_shift(l + 1);
        count += (last >> shift) - (start >> shift) + 1;
    }
    return count;
}

struct MapPlan {
    int leaf_level;
    uint64_t needed_tables;
};

Result<void> plan_map(const PageTableEnv& env, uint64_t table_phys, int level, uint64_t start,
                      uint64_t last, MapPlan& plan) {
    const uint64_t* table = table_at(env, table_phys);
    Error error = Error::OK;
    for_each_slot(level, start, last, [&](size_t index, uint64_t slot_start, uint64_t slot_last) {
        uint64_t entry = table[index];
        if (!is_present(entry)) {
            if (level > plan.leaf_level)
                plan.needed_tables +=
                    tables_for_absent(level - 1, plan.leaf_level, slot_start, slot_last);
            return true;
        }
        if (is_leaf(entry, level)) {
            error = Error::ALREADY_EXISTS;
            return false;
        }
        if (level == plan.leaf_level) {
            // A table where the new leaf goes: acceptable only if nothing below it is
            // mapped, in which case map() frees it.
            if (subtree_has_leaves(env, entry & kTableAddressMask, level - 1)) {
                error = Error::ALREADY_EXISTS;
                return false;
            }
            return true;
        }
        Result<void> below =
            plan_map(env, entry & kTableAddressMask, level - 1, slot_start, slot_last, plan);
        if (below.is_error()) {
            error = below.error();
            return false;
        }
        return true;
    });
    return error;
}

struct MapContext {
    const PageTableEnv& env;
    TablePool& pool;
    FlushBatch& flush;
    int leaf_level;
    uint64_t leaf_bits;
    uint64_t virt_base;
    uint64_t phys_base;
};

void do_map(MapContext& context, uint64_t table_phys, int level, uint64_t start, uint64_t last) {
    uint64_t* table = table_at(context.env, table_phys);
    for_each_slot(level, start, last, [&](size_t index, uint64_t slot_start, uint64_t slot_last) {
        uint64_t& entry = table[index];
        if (level == context.leaf_level) {
            if (is_present(entry)) {
                // An empty table, checked by plan_map. Its entry may sit in a
                // paging-structure cache, so it is freed only after a flush.
                uint64_t old_table = entry & kTableAddressMask;
                entry = 0;
                context.flush.add(slot_start, slot_last);
                free_subtree(context.env, old_table, level - 1,
                             [&](uint64_t phys) { context.flush.release_table(phys); });
            }
            entry = (context.phys_base + (slot_start - context.virt_base)) | context.leaf_bits;
            return true;
        }
        if (!is_present(entry))
            entry = context.pool.take() | intermediate_bits(slot_start);
        else
            entry |= intermediate_bits(slot_start);
        do_map(context, entry & kTableAddressMask, level - 1, slot_start, slot_last);
        return true;
    });
}

// ---- unmap and protect ----------------------------------------------------------------

// Tables needed to split a leaf at `level` so that exactly [start, last] (inside it) can
// be changed: none if the range covers the leaf, else one table for the level below plus
// whatever the at most two partly covered entries of that table need in turn.
uint64_t split_cost(int level, uint64_t start, uint64_t last) {
    uint64_t span = level_span(level);
    uint64_t leaf_start = base::align_down(start, span);
    if (start == leaf_start && last == leaf_start + (span - 1))
        return 0;
    uint64_t cost = 1;
    int sub = level - 1;
    if (sub >= 2) {
        uint64_t sub_span = level_span(sub);
        uint64_t first_start = base::align_down(start, sub_span);
        uint64_t first_last = first_start + (sub_span - 1);
        cost += split_cost(sub, start, base::min(last, first_last));
        uint64_t last_start = base::align_down(last, sub_span);
        if (last_start != first_start)
            cost += split_cost(sub, last_start, last);
    }
    return cost;
}

Result<void> plan_modify(const PageTableEnv& env, uint64_t table_phys, int level, uint64_t start,
                         uint64_t last, uint64_t& needed_tables) {
    const uint64_t* table = table_at(env, table_phys);
    Error error = Error::OK;
    for_each_slot(level, start, last, [&](size_t index, uint64_t slot_start, uint64_t slot_last) {
        uint64_t entry = table[index];
        if (!is_present(entry)) {
            error = Error::NOT_FOUND;
            return false;
        }
        if (is_leaf(entry, level)) {
            needed_tables += split_cost(level, slot_start, slot_last);
            return true;
        }
        Result<void> below = plan_modify(env, entry & kTableAddressMask, level - 1, slot_start,
                                         slot_last, needed_tables);
        if (below.is_error()) {
            error = below.error();
            return false;
        }
        return true;
    });
    return error;
}

// Fills a fresh table with 512 leaves that together map exactly what `leaf` mapped.
void fill_split(const PageTableEnv& env, uint64_t table_phys, uint64_t leaf, int level) {
    int sub = level - 1;
    uint64_t base_phys = leaf & leaf_address_mask(level);
    uint64_t bits = leaf & kReportedBits;
    if (leaf & kEntryPatHuge)
        bits |= sub == 1 ? kEntryPat4K : kEntryPatHuge;
    if (sub > 1)
        bits |= kEntryHuge;
    uint64_t sub_span = level_span(sub);
    uint64_t* table = table_at(env, table_phys);
    for (size_t i = 0; i < kEntriesPerTable; ++i)
        table[i] = (base_phys + i * sub_span) | bits;
}

struct ModifyContext {
    const PageTableEnv& env;
    TablePool& pool;
    FlushBatch& flush;
    bool unmap;
    uint64_t new_bits;
};

void do_modify(ModifyContext& context, uint64_t table_phys, int level, uint64_t start,
               uint64_t last) {
    uint64_t* table = table_at(context.env, table_phys);
    for_each_slot(level, start, last, [&](size_t index, uint64_t slot_start, uint64_t slot_last) {
        uint64_t& entry = table[index];
        TERN_ASSERT(is_present(entry));
        if (is_leaf(entry, level)) {
            uint64_t span = level_span(level);
            uint64_t leaf_start = base::align_down(slot_start, span);
            if (slot_start == leaf_start && slot_last == leaf_start + (span - 1)) {
                if (context.unmap) {
                    entry = 0;
                    context.flush.add(slot_start, slot_last);
                } else {
                    uint64_t updated = (entry & ~kSettableBits) | context.new_bits;
                    if (updated != entry) {
                        entry = updated;
                        context.flush.add(slot_start, slot_last);
                    }
                }
                return true;
            }
            // Only part of a large leaf changes: replace it by a table of smaller leaves
            // mapping the same memory, then change the part. The page size of the whole
            // leaf changes, so all of it must leave the TLB.
            uint64_t child = context.pool.take();
            fill_split(context.env, child, entry, level);
            entry = child | intermediate_bits(slot_start);
            context.flush.add(leaf_start, leaf_start + (span - 1));
        }
        uint64_t child = entry & kTableAddressMask;
        do_modify(context, child, level - 1, slot_start, slot_last);
        // The kernel-half PDPTs are shared by every address space through copied PML4
        // entries, so they stay even when empty.
        bool shared = level == kTopLevel && is_kernel_half(slot_start);
        if (context.unmap && !shared && table_is_empty(context.env, child)) {
            entry = 0;
            // A CPU may still cache the entry that pointed to the table; the page may
            // only be reused once that is gone.
            context.flush.add(slot_start, slot_last);
            context.flush.release_table(child);
        }
        return true;
    });
}

// ---- listing --------------------------------------------------------------------------

bool walk_mappings(const PageTableEnv& env, uint64_t table_phys, int level, uint64_t start,
                   uint64_t last, MappingVisitor visitor, void* ctx) {
    const uint64_t* table = table_at(env, table_phys);
    return for_each_slot(level, start, last,
                         [&](size_t index, uint64_t slot_start, uint64_t slot_last) {
                             uint64_t entry = table[index];
                             if (!is_present(entry))
                                 return true;
                             if (is_leaf(entry, level)) {
                                 Mapping mapping{
                                     .virt = base::align_down(slot_start, level_span(level)),
                                     .phys = entry & leaf_address_mask(level),
                                     .page_size = page_size_of_level(level),
                                     .flags = flags_of_leaf(entry, level),
                                 };
                                 return visitor(mapping, ctx);
                             }
                             return walk_mappings(env, entry & kTableAddressMask, level - 1,
                                                  slot_start, slot_last, visitor, ctx);
                         });
}

constexpr uint64_t kLowerHalfLast = 0x00007FFFFFFFFFFFull;

void clear_leaves_below(const PageTableEnv& env, uint64_t table_phys, int level, uint64_t start,
                        uint64_t last, MappingVisitor visitor, void* ctx) {
    uint64_t* table = table_at(env, table_phys);
    if (level == 1) {
        // [start, last] lies in this table's span (the level above clipped it): a plain
        // loop over its entries, eight empty ones skipped at a time.
        uint64_t base = base::align_down(start, level_span(2));
        size_t last_index = level_index(last, 1);
        for (size_t i = level_index(start, 1); i <= last_index;) {
            if (i % 8 == 0 && i + 7 <= last_index && eight_absent(table, i)) {
                i += 8;
                continue;
            }
            uint64_t entry = table[i];
            if (is_present(entry)) {
                table[i] = 0;
                Mapping mapping{
                    .virt = base + i * kPageSize,
                    .phys = entry & leaf_address_mask(1),
                    .page_size = page_size_of_level(1),
                    .flags = flags_of_leaf(entry, 1),
                };
                (void)visitor(mapping, ctx);
            }
            ++i;
        }
        return;
    }
    for_each_slot(level, start, last, [&](size_t index, uint64_t slot_start, uint64_t slot_last) {
        uint64_t entry = table[index];
        if (!is_present(entry))
            return true;
        if (is_leaf(entry, level)) {
            table[index] = 0;
            Mapping mapping{
                .virt = base::align_down(slot_start, level_span(level)),
                .phys = entry & leaf_address_mask(level),
                .page_size = page_size_of_level(level),
                .flags = flags_of_leaf(entry, level),
            };
            (void)visitor(mapping, ctx);
            return true;
        }
        clear_leaves_below(env, entry & kTableAddressMask, level - 1, slot_start, slot_last,
                           visitor, ctx);
        return true;
    });
}

} // namespace

void PageTable::clear_leaves(uint64_t virt, uint64_t size, MappingVisitor visitor, void* ctx) {
    TERN_ASSERT(m_root != 0);
    if (size == 0 || virt > kLowerHalfLast)
        return;
    uint64_t last = virt + (size - 1);
    if (last < virt || last > kLowerHalfLast)
        last = kLowerHalfLast;
    clear_leaves_below(m_env, m_root, kTopLevel, virt, last, visitor, ctx);
}

// ---- PageTable ------------------------------------------------------------------------

Result<PageTable> PageTable::create(const PageTableEnv& env) {
    TERN_ASSERT(env.alloc_table_page != nullptr && env.free_table_page != nullptr);
    uint64_t root = TRY(env.alloc_table_page(env.ctx));
    TERN_ASSERT(base::is_aligned(root, kPageSize) && root <= kMaxPhysicalAddress);
    base::memset(table_at(env, root), 0, kPageSize);
    return PageTable(root, env);
}

Result<PageTable> PageTable::create_address_space(const PageTableEnv& env,
                                                  const PageTable& kernel_space) {
    PageTable space = TRY(create(env));
    const uint64_t* kernel_root = table_at(kernel_space.m_env, kernel_space.m_root);
    uint64_t* root = table_at(env, space.m_root);
    for (size_t i = kUserPml4Entries; i < kEntriesPerTable; ++i)
        root[i] = kernel_root[i];
    return space;
}

Result<void> PageTable::populate_kernel_half() {
    TERN_ASSERT(m_root != 0);
    uint64_t* root = table_at(m_env, m_root);
    for (size_t i = kUserPml4Entries; i < kEntriesPerTable; ++i) {
        if (is_present(root[i]))
            continue;
        uint64_t table = TRY(m_env.alloc_table_page(m_env.ctx));
        TERN_ASSERT(base::is_aligned(table, kPageSize) && table <= kMaxPhysicalAddress);
        base::memset(table_at(m_env, table), 0, kPageSize);
        root[i] = table | intermediate_bits(kKernelHalfStart);
    }
    return base::ok();
}

Result<void> PageTable::map(uint64_t virt, uint64_t phys, size_t size, PageFlags flags,
                            PageSize page_size) {
    TERN_ASSERT(m_root != 0);
    int leaf_level = leaf_level_of(page_size);
    if (leaf_level == 0)
        return Error::INVALID_ARGUMENT;
    uint64_t granule = page_size_bytes(page_size);
    uint64_t last = TRY(check_virtual_range(virt, size, granule));
    if (!base::is_aligned(phys, granule))
        return Error::MISALIGNED;
    if (phys > kMaxPhysicalAddress || size - 1 > kMaxPhysicalAddress - phys)
        return Error::OUT_OF_RANGE;
    if (page_size == PageSize::kSize4K && has_flag(flags, PageFlags::kHuge))
        return Error::INVALID_ARGUMENT;
    uint64_t leaf_bits = TRY(leaf_bits_from_flags(flags, virt)) | kEntryPresent;
    if (leaf_level > 1)
        leaf_bits |= kEntryHuge;

    MapPlan plan{leaf_level, 0};
    TRY(plan_map(m_env, m_root, kTopLevel, virt, last, plan));

    TablePool pool(m_env);
    TRY(pool.reserve(plan.needed_tables));

    // New translations replace non-present entries, which no TLB holds, so the batch only
    // fills if an empty table had to make way for a large leaf; its destructor flushes.
    FlushBatch flush(m_env);
    MapContext context{m_env, pool, flush, leaf_level, leaf_bits, virt, phys};
    do_map(context, m_root, kTopLevel, virt, last);
    TERN_ASSERT(pool.count() == 0);
    return base::ok();
}

Result<void> PageTable::unmap(uint64_t virt, size_t size) {
    TERN_ASSERT(m_root != 0);
    uint64_t last = TRY(check_virtual_range(virt, size, kPageSize));

    uint64_t needed_tables = 0;
    TRY(plan_modify(m_env, m_root, kTopLevel, virt, last, needed_tables));

    TablePool pool(m_env);
    TRY(pool.reserve(needed_tables));

    FlushBatch flush(m_env);
    ModifyContext context{m_env, pool, flush, true, 0};
    do_modify(context, m_root, kTopLevel, virt, last);
    TERN_ASSERT(pool.count() == 0);
    return base::ok();
}

Result<void> PageTable::protect(uint64_t virt, size_t size, PageFlags flags) {
    TERN_ASSERT(m_root != 0);
    uint64_t last = TRY(check_virtual_range(virt, size, kPageSize));
    uint64_t new_bits = TRY(leaf_bits_from_flags(flags, virt));

    uint64_t needed_tables = 0;
    TRY(plan_modify(m_env, m_root, kTopLevel, virt, last, needed_tables));

    TablePool pool(m_env);
    TRY(pool.reserve(needed_tables));

    FlushBatch flush(m_env);
    ModifyContext context{m_env, pool, flush, false, new_bits};
    do_modify(context, m_root, kTopLevel, virt, last);
    TERN_ASSERT(pool.count() == 0);
    return base::ok();
}

namespace {

struct CopyContext {
    const PageTableEnv& source_env;
    const PageTableEnv& env;
    FlushBatch& flush;
    PageTable::LeafCopier copier;
    void* ctx;
    Error error;
};

bool copy_tables(CopyContext& c, uint64_t source_phys, uint64_t phys, int level, uint64_t start,
                 uint64_t last) {
    uint64_t* source = table_at(c.source_env, source_phys);
    uint64_t* table = table_at(c.env, phys);
    return for_each_slot(
        level, start, last, [&](size_t index, uint64_t slot_start, uint64_t slot_last) {
            uint64_t entry = source[index];
            if (!is_present(entry))
                return true;
            if (level == 1) {
                if (is_present(table[index])) {
                    c.error = Error::ALREADY_EXISTS;
                    return false;
                }
                uint64_t frame = entry & leaf_address_mask(1);
                Mapping leaf{slot_start, frame, PageSize::kSize4K, flags_of_leaf(entry, 1)};
                PageFlags copy = leaf.flags, kept = leaf.flags;
                if (!c.copier(leaf, &copy, &kept, c.ctx)) {
                    c.error = Error::NO_MEMORY;
                    return false;
                }
                table[index] = frame | kEntryPresent | (static_cast<uint64_t>(copy) & kSettableBits)
                               | (entry & kEntryPat4K);
                uint64_t changed =
                    (entry & ~kSettableBits) | (static_cast<uint64_t>(kept) & kSettableBits);
                if (changed != entry) {
                    source[index] = changed;
                    c.flush.add(slot_start, slot_last);
                }
                return true;
            }
            if (is_leaf(entry, level)) {
                c.error = Error::NOT_SUPPORTED;
                return false;
            }
            uint64_t& own = table[index];
            if (!is_present(own)) {
                auto page = c.env.alloc_table_page(c.env.ctx);
                if (page.is_error()) {
                    c.error = Error::NO_MEMORY;
                    return false;
                }
                base::memset(table_at(c.env, page.value()), 0, kPageSize);
                own = page.value() | intermediate_bits(slot_start);
            } else if (is_leaf(own, level)) {
                c.error = Error::ALREADY_EXISTS;
                return false;
            }
            return copy_tables(c, entry & kTableAddressMask, own & kTableAddressMask, level - 1,
                               slot_start, slot_last);
        });
}

} // namespace

Result<void> PageTable::copy_leaves_from(PageTable& source, uint64_t virt, size_t size,
                                         LeafCopier copier, void* ctx) {
    TERN_ASSERT(m_root != 0 && source.m_root != 0);
    uint64_t last = TRY(check_virtual_range(virt, size, kPageSize));
    if (is_kernel_half(virt))
        return Error::INVALID_ARGUMENT;
    FlushBatch flush(source.m_env);
    CopyContext c{source.m_env, m_env, flush, copier, ctx, Error::OK};
    copy_tables(c, source.m_root, m_root, kTopLevel, virt, last);
    return c.error;
}

namespace {

// The 4 KiB leaf entry for virt in the tables under root, and the leaf bits flags give
// phys there. NOT_FOUND when a table on the way is missing, ALREADY_EXISTS when a large
// page maps virt; the argument checks' errors as map() gives them.
[[gnu::always_inline]] inline Result<uint64_t*> leaf_entry(const PageTableEnv& env, uint64_t root,
                                                           uint64_t virt, uint64_t phys,
                                                           PageFlags flags, uint64_t* bits) {
    TRY(check_virtual_range(virt, kPageSize, kPageSize));
    if (!base::is_aligned(phys, kPageSize))
        return Error::MISALIGNED;
    if (phys > kMaxPhysicalAddress)
        return Error::OUT_OF_RANGE;
    *bits = TRY(leaf_bits_from_flags(flags, virt));
    uint64_t table_phys = root;
    for (int level = kTopLevel; level > 1; --level) {
        uint64_t entry = table_at(env, table_phys)[level_index(virt, level)];
        if (!is_present(entry))
            return Error::NOT_FOUND;
        if (is_leaf(entry, level))
            return Error::ALREADY_EXISTS;
        table_phys = entry & kTableAddressMask;
    }
    return &table_at(env, table_phys)[level_index(virt, 1)];
}

} // namespace

Result<void> PageTable::map_page(uint64_t virt, uint64_t phys, PageFlags flags) {
    TERN_ASSERT(m_root != 0);
    uint64_t bits = 0;
    uint64_t* leaf = TRY(leaf_entry(m_env, m_root, virt, phys, flags, &bits));
    if (is_present(*leaf))
        return Error::ALREADY_EXISTS;
    *leaf = phys | kEntryPresent | bits;
    return base::ok();
}

Result<void> PageTable::replace_page(uint64_t virt, uint64_t phys, PageFlags flags) {
    TERN_ASSERT(m_root != 0);
    uint64_t bits = 0;
    auto found = leaf_entry(m_env, m_root, virt, phys, flags, &bits);
    if (found.is_error())
        return found.error() == Error::ALREADY_EXISTS ? Error::NOT_FOUND : found.error();
    uint64_t& leaf = *found.value();
    if (!is_present(leaf))
        return Error::NOT_FOUND;
    // Keep the PAT bit, as protect() does; the caller chooses the rest.
    leaf = phys | kEntryPresent | bits | (leaf & kEntryPat4K);
    FlushBatch flush(m_env);
    flush.add(virt, virt + (kPageSize - 1));
    return base::ok();
}

base::Optional<Translation> PageTable::translate(uint64_t virt) const {
    TERN_ASSERT(m_root != 0);
    if (!is_canonical(virt))
        return base::nullopt;
    uint64_t table_phys = m_root;
    for (int level = kTopLevel; level >= 1; --level) {
        uint64_t entry = table_at(m_env, table_phys)[level_index(virt, level)];
        if (!is_present(entry))
            return base::nullopt;
        if (is_leaf(entry, level)) {
            uint64_t span = level_span(level);
            uint64_t page_phys = entry & leaf_address_mask(level);
            return Translation{
                .phys = page_phys + (virt & (span - 1)),
                .flags = flags_of_leaf(entry, level),
                .page_size = page_size_of_level(level),
                .page_virt = base::align_down(virt, span),
                .page_phys = page_phys,
            };
        }
        table_phys = entry & kTableAddressMask;
    }
    TERN_ASSERT_NOT_REACHED();
}

size_t PageTable::pages_of(uint64_t virt, size_t count, PageFlags required, PageFlags refused,
                           uint64_t* phys) const {
    TERN_ASSERT(m_root != 0);
    uint64_t need = static_cast<uint64_t>(required) | kEntryPresent;
    uint64_t refuse = static_cast<uint64_t>(refused) & kSettableBits;
    uint64_t page = virt & ~(kPageSize - 1);
    size_t done = 0;
    // The environment read once rather than at every level (a callback could change it).
    auto table_virt = m_env.table_virt;
    void* ctx = m_env.ctx;
    uint64_t offset = m_env.direct_map_offset;
    auto table = [&](uint64_t phys) -> const uint64_t* {
        if (table_virt) [[unlikely]]
            return table_virt(phys, ctx);
        return reinterpret_cast<const uint64_t*>(phys + offset);
    };
    while (done < count) {
        if (!is_canonical(page))
            return done;
        // One walk down to the leaf of `page`; then every following page that the same
        // leaf (a large page) or the same last-level table holds comes without one.
        uint64_t table_phys = m_root;
        int level = kTopLevel;
        uint64_t entry = 0;
        for (;; --level) {
            entry = table(table_phys)[level_index(page, level)];
            if (!is_present(entry))
                return done;
            if (is_leaf(entry, level))
                break;
            table_phys = entry & kTableAddressMask;
        }
        if ((entry & need) != need || (entry & refuse) != 0)
            return done;
        if (level > 1) {
            // A large leaf: the pages it holds are consecutive in physical memory.
            uint64_t span = level_span(level);
            uint64_t base = entry & leaf_address_mask(level);
            do {
                phys[done++] = base + (page & (span - 1));
                page += kPageSize;
            } while (done < count && (page & (span - 1)) != 0);
            continue;
        }
        const uint64_t* leaves = table(table_phys);
        size_t index = level_index(page, 1);
        for (;;) {
            phys[done++] = entry & kTableAddressMask;
            page += kPageSize;
            if (done == count || ++index == kEntriesPerTable)
                break;
            entry = leaves[index];
            if ((entry & need) != need || (entry & refuse) != 0)
                return done;
        }
    }
    return done;
}

void PageTable::for_each_mapping(uint64_t virt, uint64_t size, MappingVisitor visitor,
                                 void* ctx) const {
    TERN_ASSERT(m_root != 0);
    if (size == 0)
        return;
    uint64_t last = virt + (size - 1);
    if (last < virt)
        last = UINT64_MAX;
    // Walk the part of [virt, last] in each half; the hole has no entries.
    if (virt <= kLowerHalfLast) {
        if (!walk_mappings(m_env, m_root, kTopLevel, virt, base::min(last, kLowerHalfLast), visitor,
                           ctx))
            return;
    }
    if (last >= kKernelHalfStart)
        walk_mappings(m_env, m_root, kTopLevel, base::max(virt, kKernelHalfStart), last, visitor,
                      ctx);
}

void PageTable::for_each_mapping(MappingVisitor visitor, void* ctx) const {
    for_each_mapping(0, UINT64_MAX, visitor, ctx);
}

void PageTable::destroy() {
    TERN_ASSERT(m_root != 0);
    uint64_t* root = table_at(m_env, m_root);
    for (size_t i = 0; i < kUserPml4Entries; ++i) {
        uint64_t entry = root[i];
        if (is_present(entry)) {
            free_subtree(m_env, entry & kTableAddressMask, kTopLevel - 1,
                         [this](uint64_t phys) { m_env.free_table_page(phys, m_env.ctx); });
        }
        root[i] = 0;
    }
    m_env.free_table_page(m_root, m_env.ctx);
    m_root = 0;
}

} // namespace kernel::x86_64

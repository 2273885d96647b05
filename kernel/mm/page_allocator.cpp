// The buddy page allocator. See <kernel/mm/page_allocator.h> for the contract.

#include <base/assert.h>
#include <base/utility.h>
#include <kernel/mm/page_allocator.h>

namespace kernel::mm {

namespace {

// One state byte per page: the kind in the high nibble, the block order in the low one.
// Tail is zero so a whole range can be marked "inside some block" with one memset.
enum Kind : uint8_t {
    kTail = 0,         // inside a block whose head is another page
    kFreeHead = 1,     // first page of a free block on m_heads[order]
    kAllocHead = 2,    // first page of a block from alloc_pages()
    kContigOnly = 3,   // the single piece of an alloc_contiguous() allocation
    kContigFirst = 4,  // pieces of a multi-piece alloc_contiguous() allocation,
    kContigMiddle = 5, // each itself a naturally aligned buddy block
    kContigLast = 6,
    kUnmanaged = 7, // a hole, the metadata, or anything else not ours to hand out
    kFrontier = 8,  // never issued yet: beyond the frontier of its run (see below)
};

constexpr uint8_t make_state(Kind kind, unsigned order) { return uint8_t((kind << 4) | order); }
constexpr Kind kind_of(uint8_t state) { return Kind(state >> 4); }
constexpr unsigned order_of(uint8_t state) { return state & 0x0f; }
constexpr uint8_t kUnmanagedState = make_state(kUnmanaged, 0x0f);
constexpr uint8_t kFrontierState = make_state(kFrontier, 0);

// Stored in every free node so that a corrupted free list (a write after free somewhere
// in the kernel) is caught when the node is next touched instead of spreading.
constexpr uint64_t kFreeNodeMagic = 0x7465726e66726565; // "ternfree"

constexpr uint64_t pages_of(unsigned order) { return uint64_t(1) << order; }

constexpr unsigned ceil_log2(uint64_t value) {
    return value <= 1 ? 0 : 64 - unsigned(__builtin_clzll(value - 1));
}

constexpr unsigned floor_log2(uint64_t value) { return 63 - unsigned(__builtin_clzll(value)); }

// Kind of piece `index` out of `count` in a contiguous allocation.
constexpr Kind contig_kind(unsigned index, unsigned count) {
    if (count == 1)
        return kContigOnly;
    if (index == 0)
        return kContigFirst;
    return index + 1 == count ? kContigLast : kContigMiddle;
}

constexpr unsigned kMaxOrder = PageAllocator::kMaxOrder;

// Frontiers. Every run of usable pages (a usable range minus the metadata; touching
// ranges are joined into one run) has a frontier [low, high): the pages of the run that
// have never been issued. They carry kFrontierState and nothing else about them is
// stored, so init touches none of them. Consider the run's greedy decomposition: the
// blocks the allocator would get by cutting the run, from its start, into the largest
// naturally aligned blocks of at most kMaxOrder that fit. It is also the set of maximal
// aligned blocks inside the run, so it can be computed from either end. Its orders rise
// towards kMaxOrder from the start of the run and fall after the last maximal block.
//
// A frontier only ever gives up whole blocks of that decomposition, taken from either of
// its ends. So [low, high) always consists of whole greedy blocks, namely its own greedy
// decomposition, which m_frontier_blocks counts. Any of those blocks can be carved after
// the blocks between it and one end of the frontier (the lower end while orders still
// rise towards it, the upper end once they fall), all of which are smaller; those go onto
// the free lists. So the frontiers offer exactly the blocks that an allocator listing all
// memory at init would have listed, and best fit by order works as it always did.
//
// Invariant: every block that is listed or allocated lies inside one greedy block of its
// run. Carving issues whole greedy blocks and splitting stays inside them. A merge could
// only leave one by joining a whole greedy block G with a free buddy B of the same order;
// B would have to lie inside a greedy block too, but one larger than B would contain G
// as well, one equal to B would make G and B buddies in the greedy decomposition (which
// would hold their parent instead), and B in another run would make the two runs touch,
// which init joins. Two things follow. A free never needs to merge with frontier memory,
// and it cannot by accident since kFrontierState is no kFreeHead state. And once every
// carved block is free again, the lists hold exactly the carved greedy blocks, so
// free_block_count() reads as it did right after init.

// Order of the greedy block that starts at `low` in [low, high) (low < high).
constexpr unsigned lowest_block_order(uint64_t low, uint64_t high) {
    unsigned order = low == 0 ? kMaxOrder : base::min(unsigned(__builtin_ctzll(low)), kMaxOrder);
    while (low + pages_of(order) > high)
        --order;
    return order;
}

// Order of the greedy block that ends at `high` in [low, high) (low < high).
constexpr unsigned highest_block_order(uint64_t low, uint64_t high) {
    unsigned order = base::min(unsigned(__builtin_ctzll(high)), kMaxOrder);
    while (high - low < pages_of(order))
        --order;
    return order;
}

// Adds the greedy decomposition of [low, high) to counts. Runs of maximal blocks are
// counted at once, so this takes O(kMaxOrder) steps however long the range.
void count_greedy_blocks(uint64_t low, uint64_t high, size_t* counts) {
    while (low < high) {
        unsigned order = lowest_block_order(low, high);
        uint64_t blocks = order == kMaxOrder ? (high - low) >> kMaxOrder : 1;
        counts[order] += blocks;
        low += blocks << order;
    }
}

// Which end of [low, high) reaches a greedy block of exactly `order` past smaller blocks
// only. Looks at no more than kMaxOrder + 1 blocks from each end.
enum class Side {
    kNone,
    kLow,
    kHigh
};

constexpr Side side_with_block(uint64_t low, uint64_t high, unsigned order) {
    for (uint64_t pfn = low; pfn < high;) {
        unsigned found = lowest_block_order(pfn, high);
        if (found == order)
            return Side::kLow;
        if (found > order)
            break;
        pfn += pages_of(found);
    }
    for (uint64_t pfn = high; pfn > low;) {
        unsigned found = highest_block_order(low, pfn);
        if (found == order)
            return Side::kHigh;
        if (found > order)
            break;
        pfn -= pages_of(found);
    }
    return Side::kNone;
}

} // namespace

struct PageAllocator::FreeNode {
    uint64_t next;
    uint64_t prev;
    uint64_t check;
};

static uint64_t node_check(uint64_t pfn, unsigned order) {
    return kFreeNodeMagic ^ (pfn << 4) ^ order;
}

PageAllocator::FreeNode* PageAllocator::node(uint64_t pfn) const {
    return static_cast<FreeNode*>(m_translate(pfn << kPageShift));
}

void PageAllocator::list_push(uint64_t pfn, unsigned order) {
    FreeNode* n = node(pfn);
    n->next = m_heads[order];
    n->prev = kNil;
    n->check = node_check(pfn, order);
    if (m_heads[order] != kNil)
        node(m_heads[order])->prev = pfn;
    m_heads[order] = pfn;
    ++m_counts[order];
}

void PageAllocator::list_remove(uint64_t pfn, unsigned order) {
    FreeNode* n = node(pfn);
    TERN_ASSERT(n->check == node_check(pfn, order));
    if (n->prev == kNil)
        m_heads[order] = n->next;
    else
        node(n->prev)->next = n->next;
    if (n->next != kNil)
        node(n->next)->prev = n->prev;
    TERN_ASSERT(m_counts[order] > 0);
    --m_counts[order];
}

// Carves a block of exactly `order` out of the lowest frontier that holds one, which
// m_frontier_blocks says some frontier does. The greedy blocks between it and the end it
// is carved from are smaller; they go onto the free lists, touching one page each (at
// most 2 * kMaxOrder per run over the allocator's life, since each end of a frontier only
// passes each order once). Returns the block with all its pages kTail.
uint64_t PageAllocator::carve_frontier(unsigned order) {
    TERN_ASSERT(m_frontier_blocks[order] > 0);
    for (size_t i = 0; i < m_frontier_count; ++i) {
        Frontier& frontier = m_frontiers[i];
        Side side = side_with_block(frontier.low, frontier.high, order);
        if (side == Side::kNone)
            continue;
        for (;;) {
            uint64_t pfn;
            unsigned carved;
            if (side == Side::kLow) {
                pfn = frontier.low;
                carved = lowest_block_order(frontier.low, frontier.high);
                frontier.low += pages_of(carved);
            } else {
                carved = highest_block_order(frontier.low, frontier.high);
                frontier.high -= pages_of(carved);
                pfn = frontier.high;
            }
            TERN_ASSERT(carved <= order && m_frontier_blocks[carved] > 0);
            --m_frontier_blocks[carved];
            base::memset(m_state + (pfn - m_base_pfn), make_state(kTail, 0), pages_of(carved));
            if (carved == order)
                return pfn;
            // The free pages only move from the frontier to the lists.
            set_state(pfn, make_state(kFreeHead, carved));
            list_push(pfn, carved);
        }
    }
    // m_frontier_blocks counts a block that no frontier holds.
    TERN_ASSERT_NOT_REACHED();
}

// Takes a free block of exactly `order` pages, splitting the smallest larger one if
// needed, listed or in a frontier: best fit by order, as if all free memory were listed,
// so never-issued memory fragments no differently. At equal order a listed block wins,
// because its pages have been touched before and a frontier's have not. The returned
// head's state byte is left for the caller to set.
uint64_t PageAllocator::take_block(unsigned order) {
    unsigned found = order;
    while (found <= kMaxOrder && m_heads[found] == kNil && m_frontier_blocks[found] == 0)
        ++found;
    if (found > kMaxOrder)
        return kNil;
    uint64_t pfn;
    if (m_heads[found] != kNil) {
        pfn = m_heads[found];
        list_remove(pfn, found);
    } else {
        pfn = carve_frontier(found);
    }
    // Give back the upper half at each level until the block has the wanted size.
    while (found > order) {
        --found;
        uint64_t upper = pfn + pages_of(found);
        set_state(upper, make_state(kFreeHead, found));
        list_push(upper, found);
    }
    set_state(pfn, make_state(kTail, 0));
    m_free_pages -= pages_of(order);
    return pfn;
}

// Puts a block whose pages are all marked kTail (its head included) onto the free lists,
// merging it with its buddy for as long as the buddy is a free block of the same order.
void PageAllocator::insert_free(uint64_t pfn, unsigned order) {
    m_free_pages += pages_of(order);
    set_state(pfn, make_state(kTail, 0));
    while (order < kMaxOrder) {
        uint64_t buddy = pfn ^ pages_of(order);
        if (!in_span(buddy) || state(buddy) != make_state(kFreeHead, order))
            break;
        list_remove(buddy, order);
        set_state(buddy, make_state(kTail, 0));
        pfn = base::min(pfn, buddy);
        ++order;
    }
    set_state(pfn, make_state(kFreeHead, order));
    list_push(pfn, order);
}

base::Result<void> PageAllocator::init(base::Span<const PhysRange> usable, PhysToVirt translate,
                                       Options options) {
    if (m_state != nullptr)
        return base::Error::BAD_STATE;
    if (translate.translate == nullptr)
        return base::Error::INVALID_ARGUMENT;

    uint64_t low = 0;
    uint64_t high = 0;
    bool any = false;
    size_t nonempty = 0;
    for (const PhysRange& range : usable) {
        if (range.length == 0)
            continue;
        if (++nonempty > kMaxRanges)
            return base::Error::NO_SPACE;
        if (!base::is_aligned(range.base, kPageSize) || !base::is_aligned(range.length, kPageSize))
            return base::Error::MISALIGNED;
        if (range.base >= kPhysAddressLimit || range.length > kPhysAddressLimit - range.base)
            return base::Error::INVALID_ARGUMENT;
        if (any && range.base < high)
            return base::Error::INVALID_ARGUMENT;
        if (!any)
            low = range.base;
        high = range.end();
        any = true;
    }
    if (!any)
        return base::Error::NO_MEMORY;

    // One byte per page of the span; the array itself takes whole pages.
    uint64_t span_pages = (high - low) >> kPageShift;
    uint64_t meta_pages = base::align_up(span_pages, kPageSize) >> kPageShift;
    const PhysRange* carve = nullptr;
    for (const PhysRange& range : usable) {
        if ((range.length >> kPageShift) >= meta_pages) {
            carve = &range;
            break;
        }
    }
    if (carve == nullptr)
        return base::Error::NO_MEMORY;

    m_translate = translate;
    m_options = options;
    m_base_pfn = low >> kPageShift;
    m_end_pfn = high >> kPageShift;
    m_meta_phys = carve->base;
    m_meta_pages = meta_pages;
    m_state = static_cast<uint8_t*>(translate(carve->base));
    base::memset(m_state, kUnmanagedState, span_pages);

    for (const PhysRange& range : usable) {
        if (range.length == 0)
            continue;
        uint64_t pfn = range.base >> kPageShift;
        uint64_t end = range.end() >> kPageShift;
        if (&range == carve)
            pfn += meta_pages;
        if (pfn >= end)
            continue;
        // Only the state bytes are written: the pages stay untouched until carved.
        base::memset(m_state + (pfn - m_base_pfn), kFrontierState, end - pfn);
        m_total_pages += end - pfn;
        m_free_pages += end - pfn;
        // A range that starts where the previous run ends continues it, so that blocks
        // can span the boundary, as buddies merging across it would have made them.
        if (m_frontier_count > 0 && m_frontiers[m_frontier_count - 1].high == pfn) {
            m_frontiers[m_frontier_count - 1].high = end;
        } else {
            TERN_ASSERT(m_frontier_count < kMaxRanges);
            m_frontiers[m_frontier_count++] = {pfn, end};
        }
    }
    for (size_t i = 0; i < m_frontier_count; ++i)
        count_greedy_blocks(m_frontiers[i].low, m_frontiers[i].high, m_frontier_blocks);
    return base::ok();
}

base::Result<uint64_t> PageAllocator::alloc_pages(unsigned order) {
    if (m_state == nullptr)
        return base::Error::BAD_STATE;
    if (order > kMaxOrder)
        return base::Error::INVALID_ARGUMENT;
    uint64_t pfn = take_block(order);
    if (pfn == kNil)
        return base::Error::NO_MEMORY;
    set_state(pfn, make_state(kAllocHead, order));
    return pfn << kPageShift;
}

base::Result<uint64_t> PageAllocator::alloc_contiguous(size_t page_count, size_t align_pages) {
    if (m_state == nullptr)
        return base::Error::BAD_STATE;
    if (align_pages == 0)
        align_pages = 1;
    if (page_count == 0 || !base::is_power_of_two(align_pages))
        return base::Error::INVALID_ARGUMENT;
    if (page_count > kMaxBlockPages || align_pages > kMaxBlockPages)
        return base::Error::TOO_BIG;

    // A buddy block is aligned to its own size, so one big enough for both the count
    // and the alignment satisfies both.
    unsigned order = base::max(ceil_log2(page_count), floor_log2(align_pages));
    uint64_t pfn = take_block(order);
    if (pfn == kNil)
        return base::Error::NO_MEMORY;

    // The allocation is recorded as the binary decomposition of page_count, largest
    // piece first; each piece is a naturally aligned block, so free_contiguous() can
    // return the pieces to the buddy lists like ordinary blocks.
    unsigned pieces = unsigned(__builtin_popcountll(page_count));
    unsigned index = 0;
    uint64_t offset = 0;
    for (int bit = int(order); bit >= 0; --bit) {
        if ((page_count & pages_of(unsigned(bit))) == 0)
            continue;
        set_state(pfn + offset, make_state(contig_kind(index++, pieces), unsigned(bit)));
        offset += pages_of(unsigned(bit));
    }
    // Give back the rest of the block as the largest aligned blocks that fit.
    while (offset < pages_of(order)) {
        unsigned piece = unsigned(__builtin_ctzll(offset));
        insert_free(pfn + offset, piece);
        offset += pages_of(piece);
    }
    return pfn << kPageShift;
}

// Checks that [phys, phys + pages) is page-aligned and inside the managed span.
base::Result<void> PageAllocator::check_block(uint64_t phys, size_t pages) const {
    if (!base::is_aligned(phys, kPageSize))
        return base::Error::MISALIGNED;
    uint64_t pfn = phys >> kPageShift;
    if (pfn < m_base_pfn || pfn >= m_end_pfn || pages > m_end_pfn - pfn)
        return base::Error::OUT_OF_RANGE;
    return base::ok();
}

// Explains why `pfn` cannot be freed as the caller asked.
base::Error PageAllocator::classify_bad_free(uint64_t pfn) const {
    uint8_t s = state(pfn);
    if (kind_of(s) == kTail) {
        // The block containing pfn starts at pfn rounded down to the block's size, and no
        // page between that head and pfn heads anything, so the first non-tail page found
        // by rounding down ever further is the containing block's head.
        for (unsigned order = 1; order <= kMaxOrder; ++order) {
            uint64_t head = pfn & ~(pages_of(order) - 1);
            if (head < m_base_pfn)
                break;
            if (kind_of(state(head)) != kTail) {
                s = state(head);
                break;
            }
        }
    }
    switch (kind_of(s)) {
    case kUnmanaged:
        return base::Error::OUT_OF_RANGE;
    case kFreeHead:
    case kFrontier:
        return base::Error::DOUBLE_FREE;
    default:
        return base::Error::INVALID_ARGUMENT;
    }
}

void PageAllocator::poison(uint64_t pfn, size_t pages) const {
    if (!m_options.poison_free_pages)
        return;
    // Page by page, because a block that merged across two touching ranges need not be
    // contiguous in the translation.
    for (size_t i = 0; i < pages; ++i)
        base::memset(m_translate((pfn + i) << kPageShift), kPoisonByte, kPageSize);
}

base::Result<void> PageAllocator::free_pages(uint64_t phys, unsigned order) {
    if (m_state == nullptr)
        return base::Error::BAD_STATE;
    if (order > kMaxOrder)
        return base::Error::INVALID_ARGUMENT;
    TRY(check_block(phys, pages_of(order)));
    uint64_t pfn = phys >> kPageShift;
    if (!base::is_aligned(pfn, pages_of(order)))
        return base::Error::MISALIGNED;
    if (state(pfn) != make_state(kAllocHead, order))
        return classify_bad_free(pfn);
    poison(pfn, pages_of(order));
    insert_free(pfn, order);
    return base::ok();
}

base::Result<void> PageAllocator::free_contiguous(uint64_t phys, size_t page_count) {
    if (m_state == nullptr)
        return base::Error::BAD_STATE;
    if (page_count == 0 || page_count > kMaxBlockPages)
        return base::Error::INVALID_ARGUMENT;
    TRY(check_block(phys, page_count));
    uint64_t pfn = phys >> kPageShift;

    // Check every piece before changing anything, so a wrong count or address leaves
    // the allocator exactly as it was.
    unsigned pieces = unsigned(__builtin_popcountll(page_count));
    unsigned index = 0;
    uint64_t offset = 0;
    for (int bit = int(kMaxOrder); bit >= 0; --bit) {
        if ((page_count & pages_of(unsigned(bit))) == 0)
            continue;
        uint64_t piece = pfn + offset;
        if (!base::is_aligned(piece, pages_of(unsigned(bit))))
            return base::Error::MISALIGNED;
        if (state(piece) != make_state(contig_kind(index++, pieces), unsigned(bit)))
            return classify_bad_free(piece);
        offset += pages_of(unsigned(bit));
    }

    poison(pfn, page_count);
    offset = 0;
    for (int bit = int(kMaxOrder); bit >= 0; --bit) {
        if ((page_count & pages_of(unsigned(bit))) == 0)
            continue;
        insert_free(pfn + offset, unsigned(bit));
        offset += pages_of(unsigned(bit));
    }
    return base::ok();
}

int PageAllocator::largest_free_order() const {
    for (int order = int(kMaxOrder); order >= 0; --order) {
        if (m_heads[order] != kNil || m_frontier_blocks[order] != 0)
            return order;
    }
    return -1;
}

size_t PageAllocator::free_block_count(unsigned order) const {
    return order <= kMaxOrder ? m_counts[order] + m_frontier_blocks[order] : 0;
}

bool PageAllocator::check_consistency() const {
    if (m_state == nullptr)
        return m_free_pages == 0 && m_total_pages == 0;
    uint64_t span = m_end_pfn - m_base_pfn;
    size_t listed_blocks = 0;
    size_t listed_pages = 0;
    for (unsigned order = 0; order <= kMaxOrder; ++order) {
        size_t count = 0;
        uint64_t prev = kNil;
        for (uint64_t pfn = m_heads[order]; pfn != kNil; pfn = node(pfn)->next) {
            if (!in_span(pfn) || pfn + pages_of(order) > m_end_pfn
                || !base::is_aligned(pfn, pages_of(order)))
                return false;
            if (state(pfn) != make_state(kFreeHead, order))
                return false;
            const FreeNode* n = node(pfn);
            if (n->prev != prev || n->check != node_check(pfn, order))
                return false;
            if (++count > span)
                return false; // a cycle
            prev = pfn;
        }
        if (count != m_counts[order])
            return false;
        listed_blocks += count;
        listed_pages += count * pages_of(order);
    }

    // The frontiers: sorted and disjoint, every page above a frontier in the frontier
    // state, and the block counts those pages decompose into.
    if (m_frontier_count > kMaxRanges)
        return false;
    size_t frontier_pages = 0;
    size_t frontier_blocks[kMaxOrder + 1] = {};
    uint64_t previous_high = m_base_pfn;
    for (size_t i = 0; i < m_frontier_count; ++i) {
        const Frontier& frontier = m_frontiers[i];
        if (frontier.low < previous_high || frontier.low > frontier.high
            || frontier.high > m_end_pfn)
            return false;
        previous_high = frontier.high;
        for (uint64_t pfn = frontier.low; pfn < frontier.high; ++pfn) {
            if (state(pfn) != kFrontierState)
                return false;
        }
        frontier_pages += frontier.high - frontier.low;
        count_greedy_blocks(frontier.low, frontier.high, frontier_blocks);
    }
    for (unsigned order = 0; order <= kMaxOrder; ++order) {
        if (frontier_blocks[order] != m_frontier_blocks[order])
            return false;
    }
    if (listed_pages + frontier_pages != m_free_pages)
        return false;

    size_t heads = 0;
    size_t managed = 0;
    size_t frontier_states = 0;
    for (uint64_t i = 0; i < span; ++i) {
        uint8_t s = m_state[i];
        if (kind_of(s) == kUnmanaged)
            continue;
        ++managed;
        if (kind_of(s) > kFrontier || order_of(s) > kMaxOrder)
            return false;
        if (kind_of(s) == kFrontier) {
            ++frontier_states;
            continue;
        }
        if (kind_of(s) == kFreeHead) {
            ++heads;
            // A free block's own pages are all tails, or a merge was missed.
            uint64_t pages = pages_of(order_of(s));
            for (uint64_t j = 1; j < pages; ++j) {
                if (i + j >= span || m_state[i + j] != make_state(kTail, 0))
                    return false;
            }
            // Its buddy is not a free block of the same order, or a merge was missed.
            uint64_t pfn = m_base_pfn + i;
            uint64_t buddy = pfn ^ pages;
            if (order_of(s) < kMaxOrder && in_span(buddy) && state(buddy) == s)
                return false;
        }
    }
    // Frontier states outside every frontier would be pages nobody can ever allocate.
    return heads == listed_blocks && managed == m_total_pages && frontier_states == frontier_pages;
}

} // namespace kernel::mm

// Tests for the buddy page allocator, over simulated physical memory (see
// mm_test_support.h) so that ranges can sit above 4 GiB with holes between them.

#include "mm_test_support.h"

#include <catch2/catch.hpp>
#include <kernel/mm/page_allocator.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

using kernel::mm::kPageSize;
using kernel::mm::PageAllocator;
using kernel::mm::PhysRange;
using mm_test::SimMemory;

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;

base::Result<void> init(PageAllocator& allocator, SimMemory& memory, bool poison = false) {
    auto ranges = memory.ranges();
    PageAllocator::Options options;
    options.poison_free_pages = poison;
    return allocator.init(base::Span<const PhysRange>(ranges.data(), ranges.size()),
                          memory.translation(), options);
}

// Everything observable about the allocator's free state, to show an operation that
// failed changed nothing.
struct Snapshot {
    size_t free_pages;
    std::vector<size_t> blocks;
    int largest;

    static Snapshot of(const PageAllocator& allocator) {
        Snapshot snapshot{allocator.free_page_count(), {}, allocator.largest_free_order()};
        for (unsigned order = 0; order <= PageAllocator::kMaxOrder; ++order)
            snapshot.blocks.push_back(allocator.free_block_count(order));
        return snapshot;
    }

    bool operator==(const Snapshot& other) const {
        return free_pages == other.free_pages && blocks == other.blocks && largest == other.largest;
    }
};

#define CHECK_ERROR(expr, expected)                                                                \
    do {                                                                                           \
        auto result_ = (expr);                                                                     \
        REQUIRE(result_.is_error());                                                               \
        CHECK(result_.error() == (expected));                                                      \
    } while (0)

// Two order-10 blocks at 4 MiB..12 MiB plus a small low range that takes the metadata,
// so the big range starts out as exactly two maximal blocks.
struct TwoBlocks {
    SimMemory memory{{1 * MiB, 64 * KiB}, {4 * MiB, 8 * MiB}};
    PageAllocator allocator;
    TwoBlocks() { REQUIRE(init(allocator, memory).ok()); }
};

} // namespace

TEST_CASE("page allocator: init over one range", "[mm][page_allocator]") {
    SimMemory memory{{1 * MiB, 8 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    // 2048 pages of span need 2048 bytes of state: one page, carved from the front.
    CHECK(allocator.metadata_page_count() == 1);
    CHECK(allocator.metadata_base() == 1 * MiB);
    CHECK(allocator.total_page_count() == 2047);
    CHECK(allocator.free_page_count() == 2047);
    CHECK(allocator.largest_free_order() == 10);
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: init rejects bad ranges", "[mm][page_allocator]") {
    auto try_init = [](std::vector<PhysRange> ranges) {
        static SimMemory memory{{0, 4 * MiB}};
        PageAllocator allocator;
        auto result = allocator.init(base::Span<const PhysRange>(ranges.data(), ranges.size()),
                                     memory.translation());
        CHECK_FALSE(allocator.is_initialized());
        return result;
    };
    CHECK_ERROR(try_init({}), base::Error::NO_MEMORY);
    CHECK_ERROR(try_init({{0, 0}}), base::Error::NO_MEMORY);
    CHECK_ERROR(try_init({{0x1001, 0x1000}}), base::Error::MISALIGNED);
    CHECK_ERROR(try_init({{0x1000, 0x1001}}), base::Error::MISALIGNED);
    CHECK_ERROR(try_init({{2 * MiB, 1 * MiB}, {0, 1 * MiB}}), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(try_init({{0, 2 * MiB}, {1 * MiB, 2 * MiB}}), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(try_init({{kernel::mm::kPhysAddressLimit, 0x1000}}), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(try_init({{0xfffffffffffff000ull, 0x2000}}), base::Error::INVALID_ARGUMENT);
    // 1 GiB of span needs 64 pages of state, and no range has them.
    CHECK_ERROR(try_init({{0, 0x1000}, {1 * GiB, 0x1000}}), base::Error::NO_MEMORY);
}

TEST_CASE("page allocator: a second init is refused", "[mm][page_allocator]") {
    SimMemory memory{{1 * MiB, 1 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    CHECK_ERROR(init(allocator, memory), base::Error::BAD_STATE);
}

TEST_CASE("page allocator: calls before init fail cleanly", "[mm][page_allocator]") {
    PageAllocator allocator;
    CHECK_ERROR(allocator.alloc_page(), base::Error::BAD_STATE);
    CHECK_ERROR(allocator.alloc_contiguous(2), base::Error::BAD_STATE);
    CHECK_ERROR(allocator.free_page(0x1000), base::Error::BAD_STATE);
    CHECK_ERROR(allocator.free_contiguous(0x1000, 1), base::Error::BAD_STATE);
    CHECK(allocator.largest_free_order() == -1);
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: empty ranges are skipped", "[mm][page_allocator]") {
    SimMemory memory{{1 * MiB, 1 * MiB}};
    std::vector<PhysRange> ranges{{0, 0}, {1 * MiB, 1 * MiB}, {5 * MiB, 0}};
    PageAllocator allocator;
    REQUIRE(
        allocator
            .init(base::Span<const PhysRange>(ranges.data(), ranges.size()), memory.translation())
            .ok());
    CHECK(allocator.total_page_count() == 255);
}

TEST_CASE("page allocator: blocks are aligned, inside memory and disjoint",
          "[mm][page_allocator]") {
    SimMemory memory{{1 * MiB, 8 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    std::set<uint64_t> pages;
    for (unsigned order = 0; order <= PageAllocator::kMaxOrder; ++order) {
        auto block = allocator.alloc_pages(order);
        REQUIRE(block.ok());
        uint64_t phys = block.value();
        CHECK(phys % (kPageSize << order) == 0);
        CHECK(memory.contains(phys, kPageSize << order));
        CHECK(phys >= allocator.metadata_base() + allocator.metadata_page_count() * kPageSize);
        for (uint64_t page = phys; page < phys + (kPageSize << order); page += kPageSize)
            CHECK(pages.insert(page).second);
        // The memory is really ours: write all of it.
        std::memset(memory.at(phys), int(order), kPageSize << order);
    }
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: exhaustion and full recovery", "[mm][page_allocator]") {
    SimMemory memory{{1 * MiB, 8 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    Snapshot initial = Snapshot::of(allocator);

    std::vector<uint64_t> pages;
    for (;;) {
        auto page = allocator.alloc_page();
        if (page.is_error()) {
            CHECK(page.error() == base::Error::NO_MEMORY);
            break;
        }
        pages.push_back(page.value());
    }
    CHECK(pages.size() == allocator.total_page_count());
    CHECK(allocator.free_page_count() == 0);
    CHECK(allocator.largest_free_order() == -1);
    CHECK_ERROR(allocator.alloc_pages(3), base::Error::NO_MEMORY);
    CHECK_ERROR(allocator.alloc_contiguous(1), base::Error::NO_MEMORY);
    CHECK(allocator.check_consistency());

    // Free in a scrambled order; the buddies must still all merge back.
    std::mt19937_64 random(7);
    std::shuffle(pages.begin(), pages.end(), random);
    for (uint64_t page : pages)
        REQUIRE(allocator.free_page(page).ok());
    CHECK(Snapshot::of(allocator) == initial);
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: exhaustion at every order", "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    Snapshot initial = Snapshot::of(allocator);
    for (unsigned order = 0; order <= PageAllocator::kMaxOrder; ++order) {
        std::vector<uint64_t> blocks;
        while (true) {
            auto block = allocator.alloc_pages(order);
            if (block.is_error())
                break;
            blocks.push_back(block.value());
        }
        INFO("order " << order);
        CHECK(allocator.free_page_count() < (size_t(1) << order));
        for (uint64_t block : blocks)
            REQUIRE(allocator.free_pages(block, order).ok());
        CHECK(Snapshot::of(allocator) == initial);
    }
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: invalid orders", "[mm][page_allocator]") {
    TwoBlocks fixture;
    CHECK_ERROR(fixture.allocator.alloc_pages(PageAllocator::kMaxOrder + 1),
                base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(fixture.allocator.alloc_pages(64), base::Error::INVALID_ARGUMENT);
    auto page = fixture.allocator.alloc_page();
    REQUIRE(page.ok());
    CHECK_ERROR(fixture.allocator.free_pages(page.value(), PageAllocator::kMaxOrder + 1),
                base::Error::INVALID_ARGUMENT);
}

TEST_CASE("page allocator: double free is detected and changes nothing", "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    auto page = allocator.alloc_pages(2);
    auto other = allocator.alloc_page();
    REQUIRE(page.ok());
    REQUIRE(other.ok());
    REQUIRE(allocator.free_pages(page.value(), 2).ok());
    Snapshot before = Snapshot::of(allocator);
    CHECK_ERROR(allocator.free_pages(page.value(), 2), base::Error::DOUBLE_FREE);
    // Freeing any part of the free block again, at any order, is still a double free.
    CHECK_ERROR(allocator.free_pages(page.value(), 0), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_pages(page.value() + kPageSize, 0), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_pages(page.value() + 2 * kPageSize, 1), base::Error::DOUBLE_FREE);
    CHECK(Snapshot::of(allocator) == before);
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: freeing memory that was never allocated", "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    Snapshot before = Snapshot::of(allocator);
    CHECK_ERROR(allocator.free_page(4 * MiB), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_pages(8 * MiB, 10), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_page(12 * MiB - kPageSize), base::Error::DOUBLE_FREE);
    CHECK(Snapshot::of(allocator) == before);
}

TEST_CASE("page allocator: bogus frees are rejected and change nothing", "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    auto block = allocator.alloc_pages(3);
    REQUIRE(block.ok());
    uint64_t phys = block.value();
    Snapshot before = Snapshot::of(allocator);

    // Not page-aligned, or not aligned to the block size.
    CHECK_ERROR(allocator.free_pages(phys + 1, 3), base::Error::MISALIGNED);
    CHECK_ERROR(allocator.free_pages(phys + 0x800, 0), base::Error::MISALIGNED);
    CHECK_ERROR(allocator.free_pages(phys + kPageSize, 3), base::Error::MISALIGNED);
    CHECK_ERROR(allocator.free_pages(phys + kPageSize, 1), base::Error::MISALIGNED);
    // Outside the span, in the hole between the ranges, or in the metadata.
    CHECK_ERROR(allocator.free_page(0), base::Error::OUT_OF_RANGE);
    CHECK_ERROR(allocator.free_page(512 * KiB), base::Error::OUT_OF_RANGE);
    CHECK_ERROR(allocator.free_page(12 * MiB), base::Error::OUT_OF_RANGE);
    CHECK_ERROR(allocator.free_page(64 * GiB), base::Error::OUT_OF_RANGE);
    CHECK_ERROR(allocator.free_page(UINT64_MAX & ~(kPageSize - 1)), base::Error::OUT_OF_RANGE);
    CHECK_ERROR(allocator.free_page(2 * MiB), base::Error::OUT_OF_RANGE);
    CHECK_ERROR(allocator.free_page(allocator.metadata_base()), base::Error::OUT_OF_RANGE);
    CHECK_ERROR(allocator.free_pages(12 * MiB - kPageSize * 2, 2), base::Error::OUT_OF_RANGE);
    // Allocated, but not as the block the caller names.
    CHECK_ERROR(allocator.free_pages(phys, 2), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_pages(phys, 0), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_pages(phys + 4 * kPageSize, 2), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_page(phys + 7 * kPageSize), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_contiguous(phys, 8), base::Error::INVALID_ARGUMENT);

    CHECK(Snapshot::of(allocator) == before);
    CHECK(allocator.check_consistency());
    REQUIRE(allocator.free_pages(phys, 3).ok());
    CHECK(allocator.largest_free_order() == 10);
    CHECK(allocator.free_block_count(10) == 2);
}

TEST_CASE("page allocator: fragmentation and coalescing back to the maximum order",
          "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    Snapshot initial = Snapshot::of(allocator);
    CHECK(allocator.free_block_count(10) == 2);

    std::vector<uint64_t> pages;
    while (true) {
        auto page = allocator.alloc_page();
        if (page.is_error())
            break;
        pages.push_back(page.value());
    }
    std::sort(pages.begin(), pages.end());
    size_t total = pages.size();
    CHECK(total == allocator.total_page_count());

    // Free every other page: half of memory is free, yet no two free pages are buddies.
    for (size_t i = 0; i < pages.size(); i += 2)
        REQUIRE(allocator.free_page(pages[i]).ok());
    CHECK(allocator.free_page_count() == (total + 1) / 2);
    CHECK(allocator.largest_free_order() == 0);
    CHECK_ERROR(allocator.alloc_pages(1), base::Error::NO_MEMORY);
    CHECK_ERROR(allocator.alloc_contiguous(2), base::Error::NO_MEMORY);
    CHECK(allocator.check_consistency());

    // Single pages are still there.
    auto single = allocator.alloc_page();
    REQUIRE(single.ok());
    REQUIRE(allocator.free_page(single.value()).ok());

    for (size_t i = 1; i < pages.size(); i += 2)
        REQUIRE(allocator.free_page(pages[i]).ok());
    CHECK(allocator.largest_free_order() == int(PageAllocator::kMaxOrder));
    CHECK(allocator.free_block_count(10) == 2);
    CHECK(Snapshot::of(allocator) == initial);
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: splitting takes the smallest block that fits", "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    size_t low_pages = allocator.free_page_count() - 2048;
    auto big = allocator.alloc_pages(10);
    REQUIRE(big.ok());
    // The low range has only small blocks; an order-9 request must split the other
    // order-10 block and leave its upper half free.
    auto half = allocator.alloc_pages(9);
    REQUIRE(half.ok());
    CHECK(allocator.free_block_count(9) == 1);
    CHECK(allocator.free_block_count(10) == 0);
    CHECK(allocator.free_page_count() == low_pages + 512);
    REQUIRE(allocator.free_pages(half.value(), 9).ok());
    REQUIRE(allocator.free_pages(big.value(), 10).ok());
    CHECK(allocator.free_block_count(10) == 2);
}

TEST_CASE("page allocator: contiguous allocations take exactly the pages asked for",
          "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    Snapshot initial = Snapshot::of(allocator);

    for (size_t count : {1u, 2u, 3u, 5u, 7u, 100u, 513u, 1000u, 1023u, 1024u}) {
        INFO("count " << count);
        size_t before = allocator.free_page_count();
        auto block = allocator.alloc_contiguous(count);
        REQUIRE(block.ok());
        CHECK(allocator.free_page_count() == before - count);
        CHECK(fixture.memory.contains(block.value(), count * kPageSize));
        std::memset(fixture.memory.at(block.value()), 0xab, count * kPageSize);
        CHECK(allocator.check_consistency());
        REQUIRE(allocator.free_contiguous(block.value(), count).ok());
        CHECK(Snapshot::of(allocator) == initial);
    }
}

TEST_CASE("page allocator: the pages after a contiguous allocation are usable",
          "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    auto block = allocator.alloc_contiguous(5, 8);
    REQUIRE(block.ok());
    // The remaining three pages of the order-3 block went back to the free lists;
    // their addresses must be allocatable without overlapping the five.
    std::set<uint64_t> seen;
    for (int i = 0; i < 3000; ++i) {
        auto page = allocator.alloc_page();
        if (page.is_error())
            break;
        CHECK((page.value() < block.value() || page.value() >= block.value() + 5 * kPageSize));
        seen.insert(page.value());
    }
    CHECK(seen.count(block.value() + 5 * kPageSize) == 1);
    CHECK(seen.count(block.value() + 7 * kPageSize) == 1);
}

TEST_CASE("page allocator: contiguous allocations honour the alignment", "[mm][page_allocator]") {
    // Eight maximal blocks, enough for the seven allocations kept live at once even when
    // each needs a whole one.
    SimMemory memory{{1 * MiB, 64 * KiB}, {4 * MiB, 32 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    REQUIRE(allocator.free_block_count(10) == 8);
    std::vector<std::pair<uint64_t, size_t>> live;
    for (size_t align : {0u, 1u, 2u, 4u, 16u, 64u, 256u, 1024u}) {
        for (size_t count : {1u, 3u, 17u}) {
            auto block = allocator.alloc_contiguous(count, align);
            REQUIRE(block.ok());
            CHECK(block.value() % (kPageSize * std::max<size_t>(align, 1)) == 0);
            live.push_back({block.value(), count});
            if (live.size() > 6) {
                REQUIRE(allocator.free_contiguous(live.front().first, live.front().second).ok());
                live.erase(live.begin());
            }
        }
    }
    for (auto& [phys, count] : live)
        REQUIRE(allocator.free_contiguous(phys, count).ok());
    CHECK(allocator.free_block_count(10) == 8);
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: contiguous argument errors", "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    CHECK_ERROR(allocator.alloc_contiguous(0), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.alloc_contiguous(1, 3), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.alloc_contiguous(1025), base::Error::TOO_BIG);
    CHECK_ERROR(allocator.alloc_contiguous(1, 2048), base::Error::TOO_BIG);
    CHECK_ERROR(allocator.alloc_contiguous(SIZE_MAX), base::Error::TOO_BIG);
    // Three order-10 requests when there are two order-10 blocks.
    auto a = allocator.alloc_contiguous(1024);
    auto b = allocator.alloc_contiguous(600, 1024);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK_ERROR(allocator.alloc_contiguous(1000), base::Error::NO_MEMORY);
    REQUIRE(allocator.free_contiguous(a.value(), 1024).ok());
    REQUIRE(allocator.free_contiguous(b.value(), 600).ok());
}

TEST_CASE("page allocator: wrong contiguous frees change nothing", "[mm][page_allocator]") {
    TwoBlocks fixture;
    auto& allocator = fixture.allocator;
    auto block = allocator.alloc_contiguous(5);
    auto pages = allocator.alloc_pages(2);
    REQUIRE(block.ok());
    REQUIRE(pages.ok());
    uint64_t phys = block.value();
    Snapshot before = Snapshot::of(allocator);

    CHECK_ERROR(allocator.free_contiguous(phys, 0), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_contiguous(phys, 4), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_contiguous(phys, 6), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_contiguous(phys, 1), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_contiguous(phys, 2000), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_contiguous(phys + 4 * kPageSize, 1), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_contiguous(phys + 1, 5), base::Error::MISALIGNED);
    CHECK_ERROR(allocator.free_contiguous(12 * MiB - kPageSize, 2), base::Error::OUT_OF_RANGE);
    CHECK_ERROR(allocator.free_pages(phys, 2), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_pages(phys, 3), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(allocator.free_page(phys + 4 * kPageSize), base::Error::INVALID_ARGUMENT);
    // Pages 5..7 of the order-3 block were given back: freeing them is a double free.
    CHECK_ERROR(allocator.free_contiguous(phys + 5 * kPageSize, 1), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_contiguous(pages.value(), 4), base::Error::INVALID_ARGUMENT);
    CHECK(Snapshot::of(allocator) == before);
    CHECK(allocator.check_consistency());

    REQUIRE(allocator.free_contiguous(phys, 5).ok());
    CHECK_ERROR(allocator.free_contiguous(phys, 5), base::Error::DOUBLE_FREE);
    REQUIRE(allocator.free_pages(pages.value(), 2).ok());
    CHECK(allocator.free_block_count(10) == 2);
}

TEST_CASE("page allocator: memory above 4 GiB with a hole", "[mm][page_allocator]") {
    SimMemory memory{{1 * MiB, 8 * MiB}, {4 * GiB, 8 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    // One state byte per page of the whole span, hole included: 1 MiB.
    uint64_t span_pages = (4 * GiB + 8 * MiB - 1 * MiB) / kPageSize;
    CHECK(allocator.metadata_page_count() == (span_pages + kPageSize - 1) / kPageSize);
    CHECK(allocator.total_page_count() == 2048 - allocator.metadata_page_count() + 2048);
    CHECK(allocator.free_block_count(10) >= 2);

    std::vector<uint64_t> pages;
    size_t high = 0;
    while (true) {
        auto page = allocator.alloc_page();
        if (page.is_error())
            break;
        uint64_t phys = page.value();
        REQUIRE(memory.contains(phys, kPageSize));
        REQUIRE(phys >= allocator.metadata_base() + allocator.metadata_page_count() * kPageSize);
        if (phys >= 4 * GiB)
            ++high;
        // Tag each page with its own address; overlaps would clobber a tag.
        std::memcpy(memory.at(phys), &phys, sizeof phys);
        pages.push_back(phys);
    }
    CHECK(high == 2048);
    CHECK(pages.size() == allocator.total_page_count());
    for (uint64_t phys : pages) {
        uint64_t tag;
        std::memcpy(&tag, memory.at(phys), sizeof tag);
        REQUIRE(tag == phys);
    }
    CHECK_ERROR(allocator.free_page(2 * GiB), base::Error::OUT_OF_RANGE);
    for (uint64_t phys : pages)
        REQUIRE(allocator.free_page(phys).ok());
    CHECK(allocator.free_page_count() == allocator.total_page_count());
    CHECK(allocator.check_consistency());
    // An order-10 block above 4 GiB is really there, aligned to 4 MiB.
    bool found_high = false;
    std::vector<uint64_t> blocks;
    while (true) {
        auto block = allocator.alloc_pages(10);
        if (block.is_error())
            break;
        found_high = found_high || block.value() >= 4 * GiB;
        CHECK(block.value() % (4 * MiB) == 0);
        blocks.push_back(block.value());
    }
    CHECK(found_high);
    for (uint64_t block : blocks)
        REQUIRE(allocator.free_pages(block, 10).ok());
}

TEST_CASE("page allocator: a 64 GiB span keeps metadata proportional to it",
          "[mm][page_allocator]") {
    // The low range must hold the 16 MiB state array; the high range sits just below
    // 64 GiB with nothing but a hole in between.
    SimMemory memory{{1 * MiB, 20 * MiB}, {64 * GiB - 8 * MiB, 8 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    CHECK(allocator.metadata_page_count() == 4096);
    CHECK(allocator.total_page_count() == 5120 - 4096 + 2048);

    std::vector<uint64_t> pages;
    while (true) {
        auto page = allocator.alloc_page();
        if (page.is_error())
            break;
        pages.push_back(page.value());
    }
    CHECK(pages.size() == allocator.total_page_count());
    CHECK(*std::max_element(pages.begin(), pages.end()) == 64 * GiB - kPageSize);
    for (uint64_t phys : pages)
        REQUIRE(allocator.free_page(phys).ok());
    CHECK(allocator.free_page_count() == allocator.total_page_count());
    // The low range starts 4096 metadata pages in, off 4 MiB alignment; the high one
    // holds two whole maximal blocks.
    CHECK(allocator.free_block_count(10) == 2);
}

TEST_CASE("page allocator: metadata goes into the first range big enough", "[mm][page_allocator]") {
    // 128 MiB of span needs 8 pages of state; the first range has 4.
    SimMemory memory{{0, 16 * KiB}, {8 * MiB, 64 * KiB}, {127 * MiB, 1 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    CHECK(allocator.metadata_page_count() == 8);
    CHECK(allocator.metadata_base() == 8 * MiB);
    CHECK(allocator.total_page_count() == 4 + 8 + 256);
}

TEST_CASE("page allocator: touching ranges coalesce across the boundary", "[mm][page_allocator]") {
    SimMemory memory{{1 * MiB, 64 * KiB}, {4 * MiB, 2 * MiB}, {6 * MiB, 2 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    CHECK(allocator.free_block_count(10) == 1);
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: freed pages are poisoned when asked", "[mm][page_allocator]") {
    SimMemory memory{{1 * MiB, 1 * MiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory, true).ok());
    auto block = allocator.alloc_pages(1);
    REQUIRE(block.ok());
    std::memset(memory.at(block.value()), 0x11, 2 * kPageSize);
    REQUIRE(allocator.free_pages(block.value(), 1).ok());
    auto* bytes = static_cast<const uint8_t*>(memory.at(block.value()));
    // The free-list link takes the first few bytes of the block; the rest is poison.
    for (size_t i = 64; i < 2 * kPageSize; ++i)
        REQUIRE(bytes[i] == PageAllocator::kPoisonByte);
}

// Whether every page of [phys, phys + pages) is memory. A block may span two touching
// ranges, which SimMemory backs separately, so this goes page by page.
static bool backed(const SimMemory& memory, uint64_t phys, size_t pages) {
    for (size_t i = 0; i < pages; ++i) {
        if (!memory.contains(phys + i * kPageSize, kPageSize))
            return false;
    }
    return true;
}

// Random operations checked against a simple model of which pages are allocated.
static void run_random_model(SimMemory& memory) {
    PageAllocator allocator;
    REQUIRE(init(allocator, memory, true).ok());
    Snapshot initial = Snapshot::of(allocator);
    const size_t total = allocator.total_page_count();

    struct Allocation {
        size_t pages;
        bool contiguous;
        unsigned order;
    };
    std::map<uint64_t, Allocation> live;
    std::vector<uint64_t> freed; // recently freed, for double-free attempts
    size_t allocated_pages = 0;

    auto overlaps_live = [&](uint64_t phys, size_t pages) {
        auto next = live.lower_bound(phys);
        if (next != live.end() && next->first < phys + pages * kPageSize)
            return true;
        if (next != live.begin()) {
            auto prev = std::prev(next);
            if (prev->first + prev->second.pages * kPageSize > phys)
                return true;
        }
        return false;
    };

    for (uint64_t seed : {1u, 2u, 3u}) {
        std::mt19937_64 random(seed);
        for (int step = 0; step < 20000; ++step) {
            unsigned action = unsigned(random() % 10);
            if (action < 4) {
                unsigned order = unsigned(random() % 5);
                auto block = allocator.alloc_pages(order);
                if (block.is_error()) {
                    REQUIRE(block.error() == base::Error::NO_MEMORY);
                    continue;
                }
                uint64_t phys = block.value();
                REQUIRE(phys % (kPageSize << order) == 0);
                REQUIRE(backed(memory, phys, size_t(1) << order));
                REQUIRE_FALSE(overlaps_live(phys, size_t(1) << order));
                live[phys] = {size_t(1) << order, false, order};
                allocated_pages += size_t(1) << order;
            } else if (action < 6) {
                size_t count = 1 + random() % 40;
                size_t align = size_t(1) << (random() % 4);
                auto block = allocator.alloc_contiguous(count, align);
                if (block.is_error()) {
                    REQUIRE(block.error() == base::Error::NO_MEMORY);
                    continue;
                }
                uint64_t phys = block.value();
                REQUIRE(phys % (kPageSize * align) == 0);
                REQUIRE(backed(memory, phys, count));
                REQUIRE_FALSE(overlaps_live(phys, count));
                live[phys] = {count, true, 0};
                allocated_pages += count;
            } else if (action < 9 && !live.empty()) {
                auto it = live.begin();
                std::advance(it, random() % live.size());
                uint64_t phys = it->first;
                Allocation allocation = it->second;
                auto result = allocation.contiguous
                                  ? allocator.free_contiguous(phys, allocation.pages)
                                  : allocator.free_pages(phys, allocation.order);
                REQUIRE(result.ok());
                live.erase(it);
                allocated_pages -= allocation.pages;
                freed.push_back(phys);
                if (freed.size() > 16)
                    freed.erase(freed.begin());
            } else if (!freed.empty()) {
                // Free something that is not allocated (unless it was reallocated since).
                uint64_t phys = freed[random() % freed.size()];
                if (live.count(phys) || overlaps_live(phys, 1))
                    continue;
                Snapshot before = Snapshot::of(allocator);
                auto result = allocator.free_page(phys);
                REQUIRE(result.is_error());
                CHECK(result.error() == base::Error::DOUBLE_FREE);
                REQUIRE(Snapshot::of(allocator) == before);
            }
            REQUIRE(allocator.free_page_count() == total - allocated_pages);
            if (step % 2000 == 0)
                REQUIRE(allocator.check_consistency());
        }
        REQUIRE(allocator.check_consistency());
    }

    for (auto& [phys, allocation] : live) {
        auto result = allocation.contiguous ? allocator.free_contiguous(phys, allocation.pages)
                                            : allocator.free_pages(phys, allocation.order);
        REQUIRE(result.ok());
    }
    CHECK(Snapshot::of(allocator) == initial);
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: random stress against a reference model", "[mm][page_allocator]") {
    SimMemory memory{{1 * MiB, 3 * MiB}, {5 * MiB, 6 * MiB}, {4 * GiB, 4 * MiB}};
    run_random_model(memory);
}

TEST_CASE("page allocator: random stress with ragged and touching ranges", "[mm][page_allocator]") {
    // Ranges that start and end off every block boundary, so frontiers are carved from
    // both ends, and two that touch, so one frontier spans them.
    SimMemory memory{{1 * MiB + 4 * KiB, 3 * MiB - 12 * KiB},
                     {5 * MiB + 20 * KiB, 3 * MiB},
                     {8 * MiB + 20 * KiB, 3 * MiB - 20 * KiB},
                     {4 * GiB + 4 * KiB, 4 * MiB - 8 * KiB}};
    run_random_model(memory);
}

// Lazily issued memory. The allocator must not touch a free page before it hands it out
// (or lists it), because under a hypervisor the first touch of a guest page commits host
// memory for it.

namespace {

// Simulated physical memory that backs and records only the pages the allocator
// translates. The first range, which must hold the metadata (the one object the
// allocator addresses across pages), is one host arena; every other page gets its own
// host page on its first translation. Apart from the metadata the allocator reaches
// memory one page at a time through the translation (a free-list node, a page to
// poison), so the pages it translates are the pages it touches, and a machine of many
// gigabytes costs the host only those.
class TouchTracker {
public:
    explicit TouchTracker(std::vector<PhysRange> ranges) : m_ranges(std::move(ranges)) {
        m_dense.assign(m_ranges.front().length / sizeof(uint64_t), 0x5a5a5a5a5a5a5a5aull);
    }

    TouchTracker(const TouchTracker&) = delete;
    TouchTracker& operator=(const TouchTracker&) = delete;

    kernel::mm::PhysToVirt translation() { return {&TouchTracker::translate, this}; }
    const std::vector<PhysRange>& ranges() const { return m_ranges; }

    // Pages translated so far, other than the allocator's metadata.
    size_t touched(const PageAllocator& allocator) const {
        uint64_t meta = allocator.metadata_base();
        uint64_t meta_end = meta + allocator.metadata_page_count() * kPageSize;
        return size_t(std::count_if(m_touched.begin(), m_touched.end(), [&](uint64_t page) {
            return page < meta || page >= meta_end;
        }));
    }
    size_t sparse_pages() const { return m_sparse.size(); }

    bool contains(uint64_t phys, uint64_t length = 1) const {
        for (const auto& range : m_ranges) {
            if (phys >= range.base && phys - range.base + length <= range.length)
                return true;
        }
        return false;
    }

    static void* translate(uint64_t phys, void* ctx) {
        auto* self = static_cast<TouchTracker*>(ctx);
        const PhysRange& dense = self->m_ranges.front();
        uint64_t page = phys & ~(kPageSize - 1);
        self->m_touched.insert(page);
        if (phys >= dense.base && phys - dense.base < dense.length)
            return reinterpret_cast<uint8_t*>(self->m_dense.data()) + (phys - dense.base);
        if (!self->contains(phys)) {
            std::fprintf(stderr, "TouchTracker: translation of unbacked address %#llx\n",
                         static_cast<unsigned long long>(phys));
            std::abort();
        }
        auto& backing = self->m_sparse[page];
        if (backing.empty())
            backing.assign(kPageSize / sizeof(uint64_t), 0x5a5a5a5a5a5a5a5aull);
        return reinterpret_cast<uint8_t*>(backing.data()) + (phys - page);
    }

private:
    std::vector<PhysRange> m_ranges;
    std::vector<uint64_t> m_dense;
    std::map<uint64_t, std::vector<uint64_t>> m_sparse;
    std::set<uint64_t> m_touched;
};

base::Result<void> init(PageAllocator& allocator, TouchTracker& memory) {
    const auto& ranges = memory.ranges();
    return allocator.init(base::Span<const PhysRange>(ranges.data(), ranges.size()),
                          memory.translation());
}

} // namespace

TEST_CASE("page allocator: init touches no free page of a 4 GiB machine", "[mm][page_allocator]") {
    // About 4 GiB of usable memory over a 5 GiB span, with ragged range edges. The low
    // range holds the 320 pages of state, one byte for each page of the span.
    TouchTracker memory({{1 * MiB, 3 * MiB},
                         {4 * MiB + 12 * KiB, 3 * GiB - 4 * MiB - 12 * KiB},
                         {4 * GiB, 1 * GiB + 20 * KiB}});
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    CHECK(allocator.metadata_page_count() == 320);
    CHECK(memory.touched(allocator) == 0);
    CHECK(memory.sparse_pages() == 0);
    // The never-issued memory is free and counted as the blocks it decomposes into.
    CHECK(allocator.free_page_count() == allocator.total_page_count());
    CHECK(allocator.largest_free_order() == int(PageAllocator::kMaxOrder));
    CHECK(allocator.free_block_count(PageAllocator::kMaxOrder) >= 1000);
    CHECK(allocator.check_consistency());
    CHECK(memory.touched(allocator) == 0);

    // One page: at most the upper halves of one split block are written.
    auto page = allocator.alloc_page();
    REQUIRE(page.ok());
    CHECK(memory.touched(allocator) <= PageAllocator::kMaxOrder);

    // A thousand pages: the pages handed out plus the heads of the blocks left listed.
    std::vector<uint64_t> pages{page.value()};
    for (int i = 1; i < 1000; ++i) {
        auto more = allocator.alloc_page();
        REQUIRE(more.ok());
        pages.push_back(more.value());
    }
    CHECK(memory.touched(allocator) <= 1000 + 2 * (PageAllocator::kMaxOrder + 1));

    // Maximal blocks come straight from the frontier without a split.
    size_t before = memory.touched(allocator);
    std::vector<uint64_t> blocks;
    for (int i = 0; i < 16; ++i) {
        auto block = allocator.alloc_pages(PageAllocator::kMaxOrder);
        REQUIRE(block.ok());
        CHECK(block.value() % (4 * MiB) == 0);
        blocks.push_back(block.value());
    }
    CHECK(memory.touched(allocator) - before <= 2 * PageAllocator::kMaxOrder);

    for (uint64_t block : blocks)
        REQUIRE(allocator.free_pages(block, PageAllocator::kMaxOrder).ok());
    for (uint64_t phys : pages)
        REQUIRE(allocator.free_page(phys).ok());
    CHECK(allocator.free_page_count() == allocator.total_page_count());
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: freeing never-issued memory is a double free", "[mm][page_allocator]") {
    // One run with ragged edges at both ends, so it is carved from both.
    TouchTracker memory({{1 * MiB, 64 * KiB}, {4 * MiB + 4 * KiB, 8 * MiB - 12 * KiB}});
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    Snapshot fresh = Snapshot::of(allocator);
    CHECK_ERROR(allocator.free_page(4 * MiB + 4 * KiB), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_page(12 * MiB - 12 * KiB), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_pages(8 * MiB, 9), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_pages(6 * MiB, 3), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_contiguous(8 * MiB, 5), base::Error::DOUBLE_FREE);
    CHECK_ERROR(allocator.free_pages(6 * MiB + 4 * KiB, 1), base::Error::MISALIGNED);
    CHECK_ERROR(allocator.free_page(12 * MiB - 8 * KiB), base::Error::OUT_OF_RANGE);
    CHECK(Snapshot::of(allocator) == fresh);
    CHECK(memory.touched(allocator) == 0);
    CHECK(allocator.check_consistency());

    // Carve from both ends and the middle, then try to free every page that is not
    // allocated, whether it is listed or was never issued.
    std::map<uint64_t, unsigned> live;
    for (unsigned order : {0u, 1u, 0u, 9u, 2u, 8u, 4u, 0u, 3u}) {
        auto block = allocator.alloc_pages(order);
        REQUIRE(block.ok());
        live[block.value()] = order;
    }
    auto allocated = [&](uint64_t phys) {
        auto next = live.upper_bound(phys);
        if (next == live.begin())
            return false;
        auto block = std::prev(next);
        return phys < block->first + (kPageSize << block->second);
    };
    Snapshot before = Snapshot::of(allocator);
    size_t touched = memory.touched(allocator);
    size_t tried = 0;
    for (const PhysRange& range : memory.ranges()) {
        for (uint64_t phys = range.base; phys < range.end(); phys += kPageSize) {
            if (phys < allocator.metadata_base() + allocator.metadata_page_count() * kPageSize
                || allocated(phys))
                continue;
            auto result = allocator.free_page(phys);
            REQUIRE(result.is_error());
            REQUIRE(result.error() == base::Error::DOUBLE_FREE);
            ++tried;
        }
    }
    CHECK(tried == allocator.free_page_count());
    CHECK(Snapshot::of(allocator) == before);
    CHECK(memory.touched(allocator) == touched);
    CHECK(allocator.check_consistency());

    for (auto& [phys, order] : live)
        REQUIRE(allocator.free_pages(phys, order).ok());
    CHECK(Snapshot::of(allocator) == fresh);
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: never-issued memory is still allocated best fit",
          "[mm][page_allocator]") {
    // The run is one maximal block at 4 MiB followed by an order-8 block at 8 MiB. An
    // order-8 request takes the small block from the top of the frontier and leaves the
    // maximal block whole, as an allocator that listed everything at init would.
    TouchTracker memory({{1 * MiB, 64 * KiB}, {4 * MiB, 5 * MiB}});
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    REQUIRE(allocator.free_block_count(10) == 1);
    REQUIRE(allocator.free_block_count(8) == 1);
    auto small = allocator.alloc_pages(8);
    REQUIRE(small.ok());
    CHECK(small.value() == 8 * MiB);
    CHECK(allocator.free_block_count(10) == 1);
    auto big = allocator.alloc_pages(10);
    REQUIRE(big.ok());
    CHECK(big.value() == 4 * MiB);
    // The low range's 15 pages are all that is left.
    CHECK(allocator.free_page_count() == 15);
    CHECK(allocator.check_consistency());
    REQUIRE(allocator.free_pages(small.value(), 8).ok());
    REQUIRE(allocator.free_pages(big.value(), 10).ok());
    CHECK(allocator.check_consistency());
}

TEST_CASE("page allocator: exhaustion across ragged, touching runs coalesces back",
          "[mm][page_allocator]") {
    // Ragged edges, two touching ranges forming one run with maximal blocks across the
    // boundary, and a separate run above.
    SimMemory memory{{1 * MiB, 64 * KiB},
                     {4 * MiB + 4 * KiB, 4 * MiB - 4 * KiB},
                     {8 * MiB, 10 * MiB},
                     {32 * MiB, 4 * MiB + 12 * KiB}};
    PageAllocator allocator;
    REQUIRE(init(allocator, memory).ok());
    Snapshot initial = Snapshot::of(allocator);
    CHECK(allocator.free_block_count(10) == 3);

    // Largest blocks first, then smaller ones, until nothing is left at all.
    std::vector<std::pair<uint64_t, unsigned>> blocks;
    for (int order = int(PageAllocator::kMaxOrder); order >= 0; --order) {
        for (;;) {
            auto block = allocator.alloc_pages(unsigned(order));
            if (block.is_error()) {
                CHECK(block.error() == base::Error::NO_MEMORY);
                break;
            }
            blocks.push_back({block.value(), unsigned(order)});
        }
    }
    CHECK(allocator.free_page_count() == 0);
    CHECK(allocator.largest_free_order() == -1);
    CHECK(allocator.check_consistency());

    // Split everything into single pages, so that every buddy has to merge again.
    std::vector<uint64_t> pages;
    for (auto& [phys, order] : blocks) {
        REQUIRE(allocator.free_pages(phys, order).ok());
        for (size_t i = 0; i < (size_t(1) << order); ++i) {
            auto page = allocator.alloc_page();
            REQUIRE(page.ok());
            pages.push_back(page.value());
        }
    }
    CHECK(pages.size() == allocator.total_page_count());
    std::mt19937_64 random(11);
    std::shuffle(pages.begin(), pages.end(), random);
    for (uint64_t page : pages)
        REQUIRE(allocator.free_page(page).ok());
    CHECK(Snapshot::of(allocator) == initial);
    CHECK(allocator.check_consistency());

    // The maximal blocks are whole again, the one across the touching ranges included.
    std::vector<uint64_t> maximal;
    for (;;) {
        auto block = allocator.alloc_pages(PageAllocator::kMaxOrder);
        if (block.is_error())
            break;
        CHECK(block.value() % (4 * MiB) == 0);
        maximal.push_back(block.value());
    }
    CHECK(maximal.size() == 3);
    CHECK(std::count(maximal.begin(), maximal.end(), 8 * MiB) == 1);
    for (uint64_t block : maximal)
        REQUIRE(allocator.free_pages(block, PageAllocator::kMaxOrder).ok());
    CHECK(Snapshot::of(allocator) == initial);
}

TEST_CASE("page allocator: at most kMaxRanges ranges", "[mm][page_allocator]") {
    // The metadata range, then single pages with holes between them.
    std::vector<PhysRange> ranges{{1 * MiB, 64 * KiB}};
    for (uint64_t i = 1; i < PageAllocator::kMaxRanges; ++i)
        ranges.push_back({2 * MiB + i * 8 * KiB, kPageSize});
    // Empty ranges do not count.
    ranges.push_back({8 * MiB, 0});
    {
        TouchTracker memory(ranges);
        PageAllocator allocator;
        REQUIRE(init(allocator, memory).ok());
        CHECK(memory.touched(allocator) == 0);
        CHECK(allocator.total_page_count() == 15 + PageAllocator::kMaxRanges - 1);
        std::vector<uint64_t> pages;
        for (;;) {
            auto page = allocator.alloc_page();
            if (page.is_error())
                break;
            REQUIRE(memory.contains(page.value(), kPageSize));
            pages.push_back(page.value());
        }
        CHECK(pages.size() == allocator.total_page_count());
        for (uint64_t page : pages)
            REQUIRE(allocator.free_page(page).ok());
        CHECK(allocator.check_consistency());
    }
    ranges.push_back({16 * MiB, kPageSize});
    {
        TouchTracker memory(ranges);
        PageAllocator allocator;
        CHECK_ERROR(init(allocator, memory), base::Error::NO_SPACE);
        CHECK_FALSE(allocator.is_initialized());
        CHECK(memory.touched(allocator) == 0);
    }
}

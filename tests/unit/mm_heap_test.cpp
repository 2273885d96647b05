// Tests for the kernel heap, on top of the buddy page allocator over simulated physical
// memory, exactly as the kernel stacks them.

#include "mm_test_support.h"

#include <catch2/catch.hpp>
#include <kernel/mm/heap.h>
#include <kernel/mm/page_allocator.h>

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

using kernel::mm::Heap;
using kernel::mm::kPageSize;
using kernel::mm::PageAllocator;
using kernel::mm::PhysRange;
using mm_test::SimMemory;

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;

struct HeapFixture {
    SimMemory memory;
    PageAllocator pages;
    Heap heap;
    size_t initial_free = 0;

    explicit HeapFixture(uint64_t size = 16 * MiB) : memory{{1 * MiB, size}} {
        auto ranges = memory.ranges();
        REQUIRE(pages
                    .init(base::Span<const PhysRange>(ranges.data(), ranges.size()),
                          memory.translation())
                    .ok());
        heap.init(kernel::mm::page_source_from(pages));
        initial_free = pages.free_page_count();
    }

    // Pages the heap holds right now, by the page allocator's count.
    size_t pages_held() const { return initial_free - pages.free_page_count(); }
};

#define CHECK_ERROR(expr, expected)                                                                \
    do {                                                                                           \
        auto result_ = (expr);                                                                     \
        REQUIRE(result_.is_error());                                                               \
        CHECK(result_.error() == (expected));                                                      \
    } while (0)

bool all_bytes(const void* pointer, size_t count, uint8_t value) {
    auto* bytes = static_cast<const uint8_t*>(pointer);
    for (size_t i = 0; i < count; ++i) {
        if (bytes[i] != value)
            return false;
    }
    return true;
}

// Everything a rejected deallocate() must leave as it was.
struct HeapSnapshot {
    size_t bytes;
    size_t large_blocks;
    size_t slab_pages;
    std::vector<size_t> in_use;
    size_t free_pages;

    static HeapSnapshot of(const HeapFixture& f) {
        HeapSnapshot snapshot{f.heap.bytes_in_use(),
                              f.heap.stats().large_blocks,
                              f.heap.stats().slab_pages,
                              {},
                              f.pages.free_page_count()};
        for (size_t i = 0; i < Heap::kClassCount; ++i)
            snapshot.in_use.push_back(f.heap.class_stats(i).objects_in_use);
        return snapshot;
    }

    bool operator==(const HeapSnapshot& o) const {
        return bytes == o.bytes && large_blocks == o.large_blocks && slab_pages == o.slab_pages
               && in_use == o.in_use && free_pages == o.free_pages;
    }
};

} // namespace

TEST_CASE("heap: size classes", "[mm][heap]") {
    CHECK(Heap::size_class_for(0) == 0);
    CHECK(Heap::size_class_for(1) == 0);
    CHECK(Heap::size_class_for(8) == 0);
    CHECK(Heap::size_class_for(9) == 1);
    CHECK(Heap::size_class_for(24) == 1);
    CHECK(Heap::size_class_for(25) == 2);
    CHECK(Heap::size_class_for(120) == 3);
    CHECK(Heap::size_class_for(1016) == 6);
    CHECK(Heap::size_class_for(1017) == 7);
    CHECK(Heap::size_class_for(Heap::kMaxSlabRequest) == 7);
    CHECK(Heap::size_class_for(Heap::kMaxSlabRequest + 1) == -1);
    CHECK(Heap::size_class_for(1, 64) == 2);
    CHECK(Heap::size_class_for(100, 512) == 5);
    CHECK(Heap::size_class_for(1, 2048) == 7);
    CHECK(Heap::size_class_for(1, 4096) == -1);
}

TEST_CASE("heap: every size class serves, aligns and accounts", "[mm][heap]") {
    HeapFixture f;
    for (size_t index = 0; index < Heap::kClassCount; ++index) {
        size_t object = Heap::kMinClassSize << index;
        for (size_t size : {object / 2 - 7, object - Heap::kRedzoneBytes}) {
            if (size == 0 || Heap::size_class_for(size) != int(index))
                continue;
            INFO("class " << object << " size " << size);
            void* p = f.heap.allocate(size);
            REQUIRE(p != nullptr);
            CHECK(reinterpret_cast<uintptr_t>(p) % Heap::kDefaultAlign == 0);
            CHECK(reinterpret_cast<uintptr_t>(p) % object == 0);
            CHECK(f.heap.class_stats(index).objects_in_use == 1);
            CHECK(f.heap.bytes_in_use() == size);
            CHECK(f.heap.allocated_size(p) == size);
            std::memset(p, 0x42, size);
            REQUIRE(f.heap.deallocate(p).ok());
            CHECK(f.heap.class_stats(index).objects_in_use == 0);
            CHECK(f.heap.bytes_in_use() == 0);
        }
        auto stats = f.heap.class_stats(index);
        CHECK(stats.object_size == object);
        CHECK(stats.allocations == stats.frees);
        CHECK(stats.allocations >= 1);
    }
}

TEST_CASE("heap: objects in a slab are distinct and hold their contents", "[mm][heap]") {
    HeapFixture f;
    for (size_t size : {1u, 8u, 24u, 48u, 100u, 200u, 500u, 1000u, 2040u}) {
        INFO("size " << size);
        std::vector<uint8_t*> objects;
        for (int i = 0; i < 300; ++i) {
            auto* p = static_cast<uint8_t*>(f.heap.allocate(size));
            REQUIRE(p != nullptr);
            std::memset(p, i & 0xff, size);
            objects.push_back(p);
        }
        std::set<uint8_t*> unique(objects.begin(), objects.end());
        CHECK(unique.size() == objects.size());
        for (int i = 0; i < 300; ++i) {
            REQUIRE(all_bytes(objects[i], size, uint8_t(i & 0xff)));
            REQUIRE(f.heap.deallocate(objects[i]).ok());
        }
    }
    CHECK(f.heap.bytes_in_use() == 0);
}

TEST_CASE("heap: zero-byte allocations are distinct pointers", "[mm][heap]") {
    HeapFixture f;
    void* a = f.heap.allocate(0);
    void* b = f.heap.allocate(0);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(a != b);
    CHECK(f.heap.bytes_in_use() == 2);
    REQUIRE(f.heap.deallocate(a).ok());
    REQUIRE(f.heap.deallocate(b).ok());
}

TEST_CASE("heap: alignment up to a page", "[mm][heap]") {
    HeapFixture f;
    std::vector<void*> live;
    for (size_t align = 1; align <= Heap::kMaxAlign; align *= 2) {
        for (size_t size : {1u, 16u, 100u, 1000u, 3000u, 5000u}) {
            INFO("align " << align << " size " << size);
            void* p = f.heap.allocate(size, align);
            REQUIRE(p != nullptr);
            CHECK(reinterpret_cast<uintptr_t>(p) % align == 0);
            CHECK(reinterpret_cast<uintptr_t>(p) % Heap::kDefaultAlign == 0);
            std::memset(p, 0x33, size);
            live.push_back(p);
        }
    }
    for (void* p : live)
        REQUIRE(f.heap.deallocate(p).ok());
    CHECK(f.heap.bytes_in_use() == 0);
}

TEST_CASE("heap: invalid alignments are refused", "[mm][heap]") {
    HeapFixture f;
    CHECK(f.heap.allocate(16, 3) == nullptr);
    CHECK(f.heap.allocate(16, 48) == nullptr);
    CHECK(f.heap.allocate(16, 8192) == nullptr);
    CHECK(f.heap.allocate(16, size_t(1) << 63) == nullptr);
    CHECK(f.heap.stats().failed_allocations == 4);
    void* p = f.heap.allocate(16, 0);
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % Heap::kDefaultAlign == 0);
    REQUIRE(f.heap.deallocate(p).ok());
}

TEST_CASE("heap: large allocations are page blocks", "[mm][heap]") {
    HeapFixture f;
    struct Case {
        size_t size;
        size_t pages;
    };
    for (Case c : {Case{Heap::kMaxSlabRequest + 1, 1}, Case{4088, 1}, Case{4089, 2}, Case{10000, 4},
                   Case{1 * MiB, 512}, Case{4 * MiB - Heap::kRedzoneBytes, 1024}}) {
        INFO("size " << c.size);
        auto* p = static_cast<uint8_t*>(f.heap.allocate(c.size));
        REQUIRE(p != nullptr);
        CHECK(reinterpret_cast<uintptr_t>(p) % kPageSize == 0);
        CHECK(f.heap.stats().large_blocks == 1);
        CHECK(f.heap.stats().large_pages == c.pages);
        CHECK(f.heap.bytes_in_use() == c.size);
        CHECK(f.heap.allocated_size(p) == c.size);
        std::memset(p, 0x77, c.size);
        REQUIRE(f.heap.deallocate(p).ok());
        CHECK(f.heap.stats().large_blocks == 0);
        // Everything went back except the heap's own bookkeeping pages.
        CHECK(f.pages_held() == f.heap.stats().metadata_pages);
    }
    // Beyond the largest buddy block, or absurd.
    CHECK(f.heap.allocate(4 * MiB - Heap::kRedzoneBytes + 1) == nullptr);
    CHECK(f.heap.allocate(4 * MiB) == nullptr);
    CHECK(f.heap.allocate(SIZE_MAX) == nullptr);
    CHECK(f.heap.allocate(SIZE_MAX - 4096) == nullptr);
    CHECK(f.heap.bytes_in_use() == 0);
}

TEST_CASE("heap: double free is detected and changes nothing", "[mm][heap]") {
    HeapFixture f;
    void* keep = f.heap.allocate(40);
    void* p = f.heap.allocate(40);
    REQUIRE(keep != nullptr);
    REQUIRE(p != nullptr);
    REQUIRE(f.heap.deallocate(p).ok());
    HeapSnapshot before = HeapSnapshot::of(f);
    CHECK_ERROR(f.heap.deallocate(p), base::Error::DOUBLE_FREE);
    CHECK(HeapSnapshot::of(f) == before);
    CHECK(f.heap.stats().double_frees == 1);

    // The slab becomes empty and cached: its slots are still known to be free.
    REQUIRE(f.heap.deallocate(keep).ok());
    CHECK(f.heap.class_stats(2).cached_slabs == 1);
    CHECK_ERROR(f.heap.deallocate(keep), base::Error::DOUBLE_FREE);
    CHECK_ERROR(f.heap.deallocate(p), base::Error::DOUBLE_FREE);
    CHECK(f.heap.stats().double_frees == 3);
}

TEST_CASE("heap: pointers the heap never returned are rejected", "[mm][heap]") {
    HeapFixture f;
    auto* small = static_cast<uint8_t*>(f.heap.allocate(100));
    auto* large = static_cast<uint8_t*>(f.heap.allocate(20000));
    REQUIRE(small != nullptr);
    REQUIRE(large != nullptr);
    HeapSnapshot before = HeapSnapshot::of(f);

    int on_stack = 0;
    std::vector<uint8_t> host(64);
    auto direct = f.pages.alloc_page();
    REQUIRE(direct.ok());
    before.free_pages = f.pages.free_page_count();
    void* not_heap_page = f.memory.at(direct.value());

    CHECK_ERROR(f.heap.deallocate(&on_stack), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.heap.deallocate(host.data()), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.heap.deallocate(not_heap_page), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.heap.deallocate(reinterpret_cast<void*>(uintptr_t(0x1000))),
                base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.heap.deallocate(reinterpret_cast<void*>(UINTPTR_MAX)),
                base::Error::INVALID_ARGUMENT);
    // Inside an object, not at its start.
    CHECK_ERROR(f.heap.deallocate(small + 1), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.heap.deallocate(small + 16), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.heap.deallocate(small + 64), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.heap.deallocate(large + 8), base::Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.heap.deallocate(large + kPageSize), base::Error::INVALID_ARGUMENT);
    CHECK(f.heap.stats().invalid_frees == 10);
    CHECK(HeapSnapshot::of(f) == before);
    CHECK(f.heap.allocated_size(small + 1) == 0);
    CHECK(f.heap.allocated_size(&on_stack) == 0);

    REQUIRE(f.heap.deallocate(small).ok());
    REQUIRE(f.heap.deallocate(large).ok());
    REQUIRE(f.heap.deallocate(nullptr).ok());
}

TEST_CASE("heap: an unused slot of a live slab is a double free", "[mm][heap]") {
    HeapFixture f;
    auto* a = static_cast<uint8_t*>(f.heap.allocate(100)); // class 128, slot 0
    REQUIRE(a != nullptr);
    CHECK_ERROR(f.heap.deallocate(a + 128), base::Error::DOUBLE_FREE);
    REQUIRE(f.heap.deallocate(a).ok());
}

TEST_CASE("heap: overruns are caught on free", "[mm][heap]") {
    HeapFixture f;
    for (size_t size : {1u, 8u, 20u, 100u, 1016u, 2040u, 3000u, 4088u, 9000u}) {
        for (size_t over : {1u, 4u}) {
            INFO("size " << size << " overrun " << over);
            auto* p = static_cast<uint8_t*>(f.heap.allocate(size));
            REQUIRE(p != nullptr);
            std::memset(p, 0x11, size + over);
            HeapSnapshot before = HeapSnapshot::of(f);
            uint64_t corruptions = f.heap.stats().corruptions;
            CHECK_ERROR(f.heap.deallocate(p), base::Error::CORRUPT);
            CHECK(f.heap.stats().corruptions == corruptions + 1);
            CHECK(HeapSnapshot::of(f) == before);
            // Repairing the redzone (which only a test can do) makes the free succeed.
            std::memset(p + size, Heap::kCanaryByte, over);
            REQUIRE(f.heap.deallocate(p).ok());
        }
    }
    CHECK(f.heap.bytes_in_use() == 0);
}

TEST_CASE("heap: a smashed size trailer is caught", "[mm][heap]") {
    HeapFixture f;
    auto* p = static_cast<uint8_t*>(f.heap.allocate(20)); // class 32
    REQUIRE(p != nullptr);
    // Writing the whole slot with the canary value still destroys the trailer.
    std::memset(p + 20, Heap::kCanaryByte, 12);
    CHECK_ERROR(f.heap.deallocate(p), base::Error::CORRUPT);
    // A trailer that claims a larger size than the slot can hold is rejected too.
    uint32_t trailer = (0xa110u << 16) | 30u;
    std::memcpy(p + 28, &trailer, 4);
    CHECK_ERROR(f.heap.deallocate(p), base::Error::CORRUPT);
    CHECK(f.heap.bytes_in_use() == 20);
}

TEST_CASE("heap: an overrun into the next object is caught when either is freed", "[mm][heap]") {
    HeapFixture f;
    auto* a = static_cast<uint8_t*>(f.heap.allocate(56)); // class 64
    auto* b = static_cast<uint8_t*>(f.heap.allocate(56));
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    REQUIRE(b == a + 64);
    std::memset(a, 0, 80);
    CHECK_ERROR(f.heap.deallocate(a), base::Error::CORRUPT);
    REQUIRE(f.heap.deallocate(b).ok()); // b's own redzone is intact
}

TEST_CASE("heap: freed memory is poisoned", "[mm][heap]") {
    HeapFixture f;
    auto* keep = static_cast<uint8_t*>(f.heap.allocate(200));
    auto* p = static_cast<uint8_t*>(f.heap.allocate(200));
    REQUIRE(keep != nullptr);
    REQUIRE(p != nullptr);
    std::memset(p, 0x00, 200);
    REQUIRE(f.heap.deallocate(p).ok());
    // The slab stays with the heap (keep is live), so the slot can be inspected.
    CHECK(all_bytes(p, 256, Heap::kPoisonByte));

    // Fresh memory is not zeroed: it holds the poison too.
    auto* q = static_cast<uint8_t*>(f.heap.allocate(200));
    CHECK(q == p);
    CHECK(all_bytes(q, 200, Heap::kPoisonByte));
    REQUIRE(f.heap.deallocate(q).ok());
    REQUIRE(f.heap.deallocate(keep).ok());

    // A large block is poisoned before it goes back to the page allocator.
    auto* large = static_cast<uint8_t*>(f.heap.allocate(3 * kPageSize));
    REQUIRE(large != nullptr);
    std::memset(large, 0, 3 * kPageSize);
    REQUIRE(f.heap.deallocate(large).ok());
    // The page allocator keeps its free-list link at the start of the block.
    CHECK(all_bytes(large + 64, 4 * kPageSize - 64, Heap::kPoisonByte));
}

TEST_CASE("heap: empty slabs go back to the page source, one cached per class", "[mm][heap]") {
    HeapFixture f;
    std::vector<void*> objects;
    // 2000 objects of class 64: 64 per slab, so 32 slabs.
    for (int i = 0; i < 2000; ++i) {
        void* p = f.heap.allocate(50);
        REQUIRE(p != nullptr);
        objects.push_back(p);
    }
    auto stats = f.heap.class_stats(2);
    CHECK(stats.object_size == 64);
    CHECK(stats.slabs == 32);
    CHECK(stats.capacity == 32 * 64);
    CHECK(stats.objects_in_use == 2000);
    CHECK(f.heap.stats().slab_pages == 32);
    size_t metadata = f.heap.stats().metadata_pages;
    CHECK(f.pages_held() == 32 + metadata);

    for (void* p : objects)
        REQUIRE(f.heap.deallocate(p).ok());
    stats = f.heap.class_stats(2);
    CHECK(stats.slabs == 1);
    CHECK(stats.cached_slabs == 1);
    CHECK(stats.objects_in_use == 0);
    CHECK(f.pages_held() == 1 + metadata);

    // The cached slab serves the next allocation without a new page.
    void* again = f.heap.allocate(50);
    REQUIRE(again != nullptr);
    CHECK(f.pages_held() == 1 + metadata);
    CHECK(f.heap.class_stats(2).cached_slabs == 0);
    REQUIRE(f.heap.deallocate(again).ok());

    f.heap.release_cached_slabs();
    CHECK(f.heap.class_stats(2).slabs == 0);
    CHECK(f.heap.stats().slab_pages == 0);
    CHECK(f.pages_held() == metadata);
}

TEST_CASE("heap: large blocks go back to the page source at once", "[mm][heap]") {
    HeapFixture f;
    void* warm = f.heap.allocate(10); // creates the descriptor page and the hash table
    REQUIRE(warm != nullptr);
    size_t held = f.pages_held();
    void* p = f.heap.allocate(100 * KiB);
    REQUIRE(p != nullptr);
    CHECK(f.pages_held() == held + 32);
    REQUIRE(f.heap.deallocate(p).ok());
    CHECK(f.pages_held() == held);
    REQUIRE(f.heap.deallocate(warm).ok());
}

TEST_CASE("heap: many chunks grow the page hash", "[mm][heap]") {
    HeapFixture f(32 * MiB);
    std::vector<uint8_t*> blocks;
    // One page each, more chunks than the first bucket array has buckets.
    for (int i = 0; i < 1500; ++i) {
        auto* p = static_cast<uint8_t*>(f.heap.allocate(3000));
        REQUIRE(p != nullptr);
        std::memcpy(p, &i, sizeof i);
        blocks.push_back(p);
    }
    CHECK(f.heap.stats().large_blocks == 1500);
    for (int i = 0; i < 1500; ++i) {
        int tag;
        std::memcpy(&tag, blocks[i], sizeof tag);
        REQUIRE(tag == i);
        REQUIRE(f.heap.allocated_size(blocks[i]) == 3000);
    }
    for (int i = 1499; i >= 0; i -= 2)
        REQUIRE(f.heap.deallocate(blocks[i]).ok());
    for (int i = 0; i < 1500; i += 2)
        REQUIRE(f.heap.deallocate(blocks[i]).ok());
    CHECK(f.heap.stats().large_blocks == 0);
    CHECK(f.pages_held() == f.heap.stats().metadata_pages);
}

TEST_CASE("heap: exhaustion returns nullptr and recovers", "[mm][heap]") {
    HeapFixture f(256 * KiB); // 63 usable pages
    std::vector<void*> objects;
    while (true) {
        void* p = f.heap.allocate(1500);
        if (p == nullptr)
            break;
        objects.push_back(p);
    }
    CHECK(objects.size() > 50);
    CHECK(f.heap.stats().failed_allocations == 1);
    CHECK(f.heap.allocate(5000) == nullptr);
    // Free pages may remain for other classes; what matters is that failure is clean.
    for (void* p : objects)
        REQUIRE(f.heap.deallocate(p).ok());
    CHECK(f.heap.bytes_in_use() == 0);
    void* p = f.heap.allocate(5000);
    REQUIRE(p != nullptr);
    REQUIRE(f.heap.deallocate(p).ok());
}

TEST_CASE("heap: an uninitialised heap refuses everything", "[mm][heap]") {
    Heap heap;
    CHECK(heap.allocate(16) == nullptr);
    int x = 0;
    CHECK_ERROR(heap.deallocate(&x), base::Error::INVALID_ARGUMENT);
    REQUIRE(heap.deallocate(nullptr).ok());
    CHECK(heap.bytes_in_use() == 0);
}

TEST_CASE("heap: random stress against a reference model", "[mm][heap]") {
    HeapFixture f(32 * MiB);
    struct Live {
        size_t size;
        uint8_t fill;
    };
    std::map<uint8_t*, Live> live;
    size_t bytes = 0;
    std::mt19937_64 random(0xbeef);
    for (int step = 0; step < 40000; ++step) {
        if (random() % 100 < 55 || live.empty()) {
            size_t size;
            switch (random() % 8) {
            case 0:
                size = 2048 + random() % 30000;
                break;
            case 1:
                size = random() % 2048;
                break;
            default:
                size = random() % 256;
                break;
            }
            size_t align = random() % 4 == 0 ? size_t(1) << (random() % 13) : Heap::kDefaultAlign;
            auto* p = static_cast<uint8_t*>(f.heap.allocate(size, align));
            REQUIRE(p != nullptr);
            REQUIRE(reinterpret_cast<uintptr_t>(p) % align == 0);
            // A new object never overlaps a live one.
            auto next = live.lower_bound(p);
            if (next != live.end())
                REQUIRE(p + std::max<size_t>(size, 1) <= next->first);
            if (next != live.begin()) {
                auto prev = std::prev(next);
                REQUIRE(prev->first + std::max<size_t>(prev->second.size, 1) <= p);
            }
            auto fill = uint8_t(random());
            std::memset(p, fill, size);
            live[p] = {size, fill};
            bytes += std::max<size_t>(size, 1);
        } else {
            auto it = live.begin();
            std::advance(it, random() % live.size());
            REQUIRE(all_bytes(it->first, it->second.size, it->second.fill));
            REQUIRE(f.heap.deallocate(it->first).ok());
            if (random() % 16 == 0) {
                // Freeing it again is a double free or, if its pages went back, foreign.
                auto again = f.heap.deallocate(it->first);
                REQUIRE(again.is_error());
                CHECK((again.error() == base::Error::DOUBLE_FREE
                       || again.error() == base::Error::INVALID_ARGUMENT));
            }
            bytes -= std::max<size_t>(it->second.size, 1);
            live.erase(it);
        }
        REQUIRE(f.heap.bytes_in_use() == bytes);
    }
    for (auto& [p, object] : live) {
        REQUIRE(all_bytes(p, object.size, object.fill));
        REQUIRE(f.heap.deallocate(p).ok());
    }
    CHECK(f.heap.bytes_in_use() == 0);
    f.heap.release_cached_slabs();
    CHECK(f.pages_held() == f.heap.stats().metadata_pages);
    CHECK(f.pages.check_consistency());
}

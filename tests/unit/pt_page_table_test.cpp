// Host tests for the portable x86-64 page-table code. Physical memory is simulated by a
// pool of 4 KiB pages at made-up physical addresses, so every table page the code
// allocates, frees or touches is tracked and checked.

#include <catch2/catch.hpp>

#include <kernel/arch/x86_64/page_table.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

using base::Error;
using kernel::x86_64::Mapping;
using kernel::x86_64::PageFlags;
using kernel::x86_64::PageSize;
using kernel::x86_64::PageTable;
using kernel::x86_64::PageTableEnv;

namespace {

constexpr uint64_t K4 = 4096;
constexpr uint64_t M2 = 2ull << 20;
constexpr uint64_t G1 = 1ull << 30;
constexpr uint64_t kFakePhysBase = 0x40000000ull;
constexpr uint64_t kAddrMask = 0x000FFFFFFFFFF000ull;

// Simulated physical memory for table pages with an optional allocation limit.
struct FakeMemory {
    struct alignas(4096) Page {
        uint64_t words[512];
    };

    std::vector<std::unique_ptr<Page>> pages;
    std::vector<uint64_t> free_list;
    std::set<uint64_t> live;
    size_t limit = SIZE_MAX; // allocations allowed before NO_MEMORY
    size_t total_allocations = 0;
    std::vector<std::pair<uint64_t, uint64_t>> flushes;
    // 'F' per flush and 'X' per freed table, in order: a table must never be freed
    // before the flush that makes it unreachable.
    std::string events;
    bool poison_new_pages = true;

    uint64_t* virt(uint64_t phys) {
        REQUIRE(phys >= kFakePhysBase);
        REQUIRE((phys & (K4 - 1)) == 0);
        size_t index = (phys - kFakePhysBase) / K4;
        REQUIRE(index < pages.size());
        return pages[index]->words;
    }

    base::Result<uint64_t> alloc() {
        if (live.size() >= limit)
            return Error::NO_MEMORY;
        uint64_t phys;
        if (!free_list.empty()) {
            phys = free_list.back();
            free_list.pop_back();
        } else {
            pages.push_back(std::make_unique<Page>());
            phys = kFakePhysBase + (pages.size() - 1) * K4;
        }
        // Fill with junk so a missing clear in the page-table code shows up.
        if (poison_new_pages) {
            for (auto& w : pages[(phys - kFakePhysBase) / K4]->words)
                w = 0xDEADBEEFDEADBEEFull;
        }
        live.insert(phys);
        ++total_allocations;
        return phys;
    }

    void free(uint64_t phys) {
        REQUIRE(live.count(phys) == 1); // no double free, no foreign page
        live.erase(phys);
        free_list.push_back(phys);
        events += 'X';
    }

    PageTableEnv env() {
        PageTableEnv e;
        e.ctx = this;
        e.alloc_table_page = [](void* ctx) { return static_cast<FakeMemory*>(ctx)->alloc(); };
        e.free_table_page = [](uint64_t phys, void* ctx) {
            static_cast<FakeMemory*>(ctx)->free(phys);
        };
        e.table_virt = [](uint64_t phys, void* ctx) {
            return static_cast<FakeMemory*>(ctx)->virt(phys);
        };
        e.flush_range = [](uint64_t virt, uint64_t size, void* ctx) {
            static_cast<FakeMemory*>(ctx)->flushes.emplace_back(virt, size);
            static_cast<FakeMemory*>(ctx)->events += 'F';
        };
        return e;
    }

    // Walks the hardware format directly: counts reachable table pages and checks that
    // none below the PML4 is empty (except the shared kernel-half PDPTs if allowed).
    size_t reachable_tables(uint64_t root, bool allow_empty_kernel_pdpts = false) {
        size_t count = 1;
        walk(root, 4, 0, allow_empty_kernel_pdpts, count);
        return count;
    }

    void walk(uint64_t phys, int level, size_t pml4_index, bool allow_empty_kernel_pdpts,
              size_t& count) {
        uint64_t* t = virt(phys);
        bool any = false;
        for (size_t i = 0; i < 512; ++i) {
            uint64_t e = t[i];
            if (!(e & 1))
                continue;
            any = true;
            if (level == 1 || (level <= 3 && (e & 0x80)))
                continue;
            ++count;
            walk(e & kAddrMask, level - 1, level == 4 ? i : pml4_index, allow_empty_kernel_pdpts,
                 count);
        }
        if (level < 4 && !any) {
            bool shared_pdpt = level == 3 && pml4_index >= 256 && allow_empty_kernel_pdpts;
            INFO("empty table at level " << level);
            CHECK(shared_pdpt);
        }
    }
};

constexpr PageFlags RW = PageFlags::kWritable;
constexpr PageFlags URW = PageFlags::kUser | PageFlags::kWritable;
constexpr PageFlags kSettableMask = PageFlags::kWritable | PageFlags::kUser
                                    | PageFlags::kWriteThrough | PageFlags::kCacheDisable
                                    | PageFlags::kGlobal | PageFlags::kNoExecute;

PageTable make_table(FakeMemory& mem) {
    auto r = PageTable::create(mem.env());
    REQUIRE(r.ok());
    return r.release_value();
}

Error err(const base::Result<void>& r) { return r.ok() ? Error::OK : r.error(); }

std::vector<Mapping> list(const PageTable& pt) {
    std::vector<Mapping> out;
    pt.for_each_mapping([&](const Mapping& m) { out.push_back(m); });
    return out;
}

} // namespace

TEST_CASE("pt: canonical addresses and layout constants", "[pt]") {
    using namespace kernel::x86_64;
    CHECK(is_canonical(0));
    CHECK(is_canonical(0x00007FFFFFFFFFFFull));
    CHECK_FALSE(is_canonical(0x0000800000000000ull));
    CHECK_FALSE(is_canonical(0xFFFF7FFFFFFFFFFFull));
    CHECK(is_canonical(0xFFFF800000000000ull));
    CHECK(is_canonical(0xFFFFFFFFFFFFFFFFull));
    CHECK_FALSE(is_canonical(0x8000000000000000ull));
    CHECK(is_canonical(kDirectMapBase));
    CHECK(is_canonical(kKernelImageBase));
    CHECK(is_canonical(kUserSpaceEnd - 1));
    CHECK(is_user_address(kUserSpaceStart));
    CHECK_FALSE(is_user_address(0));
    CHECK_FALSE(is_user_address(kUserSpaceEnd));
    CHECK(is_kernel_half(kDirectMapBase));
    CHECK(kDirectMapBase + kDirectMapSize <= kKernelImageBase);
}

TEST_CASE("pt: map, translate, unmap a 4 KiB page", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    CHECK(mem.live.size() == 1);

    REQUIRE(pt.map(0x400000, 0x1234000, K4, URW).ok());
    CHECK(mem.live.size() == 4); // PML4 + PDPT + PD + PT
    CHECK(mem.reachable_tables(pt.root_phys()) == 4);

    auto t = pt.translate(0x400123);
    REQUIRE(t.has_value());
    CHECK(t->phys == 0x1234123);
    CHECK(t->page_size == PageSize::kSize4K);
    CHECK(t->page_virt == 0x400000);
    CHECK(t->page_phys == 0x1234000);
    CHECK(has_flag(t->flags, PageFlags::kPresent));
    CHECK(has_flag(t->flags, PageFlags::kUser));
    CHECK(has_flag(t->flags, PageFlags::kWritable));
    CHECK_FALSE(has_flag(t->flags, PageFlags::kNoExecute));
    CHECK_FALSE(has_flag(t->flags, PageFlags::kHuge));

    CHECK_FALSE(pt.translate(0x401000).has_value());
    CHECK_FALSE(pt.translate(0x3FF000).has_value());

    // Intermediate entries carry User|Writable in the user half so the leaf decides.
    uint64_t* pml4 = mem.virt(pt.root_phys());
    uint64_t e4 = pml4[0];
    CHECK((e4 & 0x7) == 0x7);
    uint64_t e3 = mem.virt(e4 & kAddrMask)[0];
    CHECK((e3 & 0x7) == 0x7);
    uint64_t e2 = mem.virt(e3 & kAddrMask)[2];
    CHECK((e2 & 0x7) == 0x7);
    CHECK((e2 & (1ull << 63)) == 0);

    mem.flushes.clear();
    mem.events.clear();
    REQUIRE(pt.unmap(0x400000, K4).ok());
    CHECK_FALSE(pt.translate(0x400000).has_value());
    CHECK(mem.live.size() == 1); // intermediate tables freed
    // One flush of the page, then the PT, PD and PDPT it made unreachable are freed.
    CHECK(mem.events == "FXXX");
    REQUIRE(mem.flushes.size() == 1);
    CHECK(mem.flushes[0].first == 0x400000);
    CHECK(mem.flushes[0].second == K4);

    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: map_page maps one page where its tables exist, without a flush", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    // No tables on the way yet: NOT_FOUND, nothing made.
    CHECK(pt.map_page(0x400000, 0x1234000, URW).error() == Error::NOT_FOUND);
    CHECK(mem.live.size() == 1);
    REQUIRE(pt.map(0x401000, 0x2000000, K4, URW).ok());
    size_t tables = mem.live.size();
    mem.flushes.clear();
    REQUIRE(pt.map_page(0x400000, 0x1234000, URW).ok());
    CHECK(mem.live.size() == tables);
    CHECK(mem.flushes.empty());
    auto t = pt.translate(0x400123);
    REQUIRE(t.has_value());
    CHECK(t->phys == 0x1234123);
    CHECK(has_flag(t->flags, PageFlags::kUser));
    CHECK(has_flag(t->flags, PageFlags::kWritable));
    // Mapped already (by map_page or map): nothing changes.
    CHECK(pt.map_page(0x400000, 0x5000000, URW).error() == Error::ALREADY_EXISTS);
    CHECK(pt.map_page(0x401000, 0x5000000, URW).error() == Error::ALREADY_EXISTS);
    CHECK(pt.translate(0x400000)->phys == 0x1234000);
    CHECK(pt.translate(0x401000)->phys == 0x2000000);
    // Bad arguments as for map.
    CHECK(pt.map_page(0x402001, 0x1000, URW).error() == Error::MISALIGNED);
    CHECK(pt.map_page(0x402000, 0x1001, URW).error() == Error::MISALIGNED);
    CHECK(pt.map_page(0x0000800000000000ull, 0x1000, URW).error() == Error::INVALID_ARGUMENT);
    // Under a 2 MiB leaf: mapped already.
    REQUIRE(pt.map(0x40000000, 0x40000000, 0x200000, URW, PageSize::kSize2M).ok());
    CHECK(pt.map_page(0x40001000, 0x1000, URW).error() == Error::ALREADY_EXISTS);
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: NX, User and caching flags are visible in translate", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x10000, 0x5000, K4, PageFlags::kUser | PageFlags::kNoExecute).ok());
    REQUIRE(pt.map(0x11000, 0x6000, K4,
                   PageFlags::kWritable | PageFlags::kCacheDisable | PageFlags::kWriteThrough)
                .ok());
    REQUIRE(pt.map(0x12000, 0x7000, K4, PageFlags::kNone).ok());

    auto a = pt.translate(0x10000);
    REQUIRE(a);
    CHECK(has_flag(a->flags, PageFlags::kUser));
    CHECK(has_flag(a->flags, PageFlags::kNoExecute));
    CHECK_FALSE(has_flag(a->flags, PageFlags::kWritable));

    auto b = pt.translate(0x11FFF);
    REQUIRE(b);
    CHECK(b->phys == 0x6FFF);
    CHECK((b->flags & kSettableMask)
          == (PageFlags::kWritable | PageFlags::kCacheDisable | PageFlags::kWriteThrough));

    auto c = pt.translate(0x12000);
    REQUIRE(c);
    CHECK(c->flags == PageFlags::kPresent);

    // Accessed and Dirty are set by the CPU; simulate it and see translate report them
    // and protect keep them.
    uint64_t* pml4 = mem.virt(pt.root_phys());
    uint64_t* pdpt = mem.virt(pml4[0] & kAddrMask);
    uint64_t* pd = mem.virt(pdpt[0] & kAddrMask);
    uint64_t* ptab = mem.virt(pd[0] & kAddrMask);
    ptab[0x10] |= 0x60;
    auto d = pt.translate(0x10000);
    REQUIRE(d);
    CHECK(has_flag(d->flags, PageFlags::kAccessed | PageFlags::kDirty));
    REQUIRE(pt.protect(0x10000, K4, PageFlags::kUser | PageFlags::kWritable).ok());
    auto e = pt.translate(0x10000);
    REQUIRE(e);
    CHECK(has_flag(e->flags, PageFlags::kAccessed | PageFlags::kDirty | PageFlags::kWritable));
    CHECK_FALSE(has_flag(e->flags, PageFlags::kNoExecute));

    REQUIRE(pt.unmap(0x10000, 3 * K4).ok());
    CHECK(mem.live.size() == 1);
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: multi-page ranges across table boundaries", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    // 1 GiB boundary minus 8 KiB .. plus 8 KiB: two PDs' worth of walking.
    uint64_t virt = G1 - 2 * K4;
    REQUIRE(pt.map(virt, 0x100000, 4 * K4, RW).ok());
    // PML4 + PDPT + 2 PD + 2 PT
    CHECK(mem.live.size() == 6);
    for (uint64_t i = 0; i < 4; ++i) {
        auto t = pt.translate(virt + i * K4);
        REQUIRE(t);
        CHECK(t->phys == 0x100000 + i * K4);
    }
    auto all = list(pt);
    REQUIRE(all.size() == 4);
    for (size_t i = 0; i < 4; ++i)
        CHECK(all[i].virt == virt + i * K4);

    // Unmapping the middle keeps the outer pages and tables.
    REQUIRE(pt.unmap(virt + K4, 2 * K4).ok());
    CHECK(pt.translate(virt));
    CHECK_FALSE(pt.translate(virt + K4));
    CHECK_FALSE(pt.translate(virt + 2 * K4));
    CHECK(pt.translate(virt + 3 * K4));
    CHECK(mem.reachable_tables(pt.root_phys()) == mem.live.size());

    // The unmapped range is reported as one merged flush.
    mem.flushes.clear();
    REQUIRE(pt.map(virt + K4, 0x200000, 2 * K4, RW).ok());
    CHECK(mem.flushes.empty()); // new translations need no flush
    REQUIRE(pt.unmap(virt, 4 * K4).ok());
    REQUIRE(!mem.flushes.empty());
    CHECK(mem.flushes.front().first == virt);
    uint64_t covered_last = 0;
    for (auto& f : mem.flushes)
        covered_last = std::max(covered_last, f.first + f.second);
    CHECK(covered_last >= virt + 4 * K4);
    CHECK(mem.live.size() == 1);
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: pages_of lists a run of pages across tables and stops where one fails", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    const PageFlags none{};
    const PageFlags uncached = PageFlags::kCacheDisable | PageFlags::kWriteThrough;
    // Four pages across a 1 GiB boundary (two PDs, two PTs), then a read-only one, a
    // hole, and an uncached one.
    uint64_t virt = G1 - 2 * K4;
    REQUIRE(pt.map(virt, 0x100000, 4 * K4, URW).ok());
    REQUIRE(pt.map(virt + 4 * K4, 0x300000, K4, PageFlags::kUser).ok());
    REQUIRE(pt.map(virt + 6 * K4, 0x400000, K4, URW | PageFlags::kCacheDisable).ok());
    uint64_t phys[8] = {};
    CHECK(pt.pages_of(virt + 123, 4, URW, uncached, phys) == 4);
    for (uint64_t i = 0; i < 4; ++i)
        CHECK(phys[i] == 0x100000 + i * K4);
    CHECK(pt.pages_of(virt, 5, URW, uncached, phys) == 4); // the fifth is read-only
    CHECK(pt.pages_of(virt, 5, PageFlags::kUser, uncached, phys) == 5);
    CHECK(phys[4] == 0x300000);
    CHECK(pt.pages_of(virt, 7, PageFlags::kUser, none, phys) == 5); // the hole
    CHECK(pt.pages_of(virt + 6 * K4, 1, URW, uncached, phys) == 0);
    CHECK(pt.pages_of(virt + 6 * K4, 1, URW, none, phys) == 1);
    CHECK(phys[0] == 0x400000);
    CHECK(pt.pages_of(virt + 5 * K4, 1, none, none, phys) == 0);
    CHECK(pt.pages_of(0x0000800000000000ull, 1, none, none, phys) == 0); // not canonical
    CHECK(pt.pages_of(virt, 0, URW, none, phys) == 0);

    // A 2 MiB leaf gives its pages one after another, then the 4 KiB page after it.
    REQUIRE(pt.map(0x80000000, 0x80000000, M2, URW, PageSize::kSize2M).ok());
    REQUIRE(pt.map(0x80000000 + M2, 0x500000, K4, URW).ok());
    CHECK(pt.pages_of(0x80000000 + M2 - 2 * K4, 3, URW, uncached, phys) == 3);
    CHECK(phys[0] == 0x80000000 + M2 - 2 * K4);
    CHECK(phys[1] == 0x80000000 + M2 - K4);
    CHECK(phys[2] == 0x500000);
}

TEST_CASE("pt: 2 MiB pages", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x40000000, 0x80000000, 2 * M2, URW | PageFlags::kNoExecute, PageSize::kSize2M)
                .ok());
    CHECK(mem.live.size() == 3); // no page table level needed

    auto t = pt.translate(0x40000000 + M2 + 0x12345);
    REQUIRE(t);
    CHECK(t->phys == 0x80000000 + M2 + 0x12345);
    CHECK(t->page_size == PageSize::kSize2M);
    CHECK(t->page_virt == 0x40000000 + M2);
    CHECK(t->page_phys == 0x80000000 + M2);
    CHECK(has_flag(t->flags, PageFlags::kHuge | PageFlags::kUser | PageFlags::kNoExecute));

    auto all = list(pt);
    REQUIRE(all.size() == 2);
    CHECK(all[0].page_size == PageSize::kSize2M);
    CHECK(all[1].virt == 0x40000000 + M2);

    // Huge with a 4 KiB size is contradictory.
    CHECK(err(pt.map(0x1000000, 0x1000000, K4, RW | PageFlags::kHuge)) == Error::INVALID_ARGUMENT);
    // Huge flag with a 2 MiB size is fine.
    REQUIRE(pt.map(0x1000000, 0x1000000, M2, RW | PageFlags::kHuge, PageSize::kSize2M).ok());

    // Misaligned for the large size.
    CHECK(err(pt.map(0x40000000 + 4 * M2 + K4, 0x0, M2, RW, PageSize::kSize2M))
          == Error::MISALIGNED);
    CHECK(err(pt.map(0x40000000 + 4 * M2, K4, M2, RW, PageSize::kSize2M)) == Error::MISALIGNED);
    CHECK(err(pt.map(0x40000000 + 4 * M2, 0, M2 + K4, RW, PageSize::kSize2M)) == Error::MISALIGNED);

    REQUIRE(pt.unmap(0x40000000, 2 * M2).ok());
    REQUIRE(pt.unmap(0x1000000, M2).ok());
    CHECK(mem.live.size() == 1);
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: 1 GiB pages", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(4 * G1, 2 * G1, G1, RW, PageSize::kSize1G).ok());
    CHECK(mem.live.size() == 2);
    auto t = pt.translate(4 * G1 + 0x1234567);
    REQUIRE(t);
    CHECK(t->phys == 2 * G1 + 0x1234567);
    CHECK(t->page_size == PageSize::kSize1G);

    // Unmapping one 4 KiB page in the middle splits 1 GiB -> 2 MiB -> 4 KiB.
    uint64_t hole = 4 * G1 + 5 * M2 + 7 * K4;
    mem.flushes.clear();
    REQUIRE(pt.unmap(hole, K4).ok());
    CHECK(mem.live.size() == 4);
    CHECK_FALSE(pt.translate(hole));
    auto before = pt.translate(hole - K4);
    REQUIRE(before);
    CHECK(before->phys == 2 * G1 + 5 * M2 + 6 * K4);
    CHECK(before->page_size == PageSize::kSize4K);
    auto far = pt.translate(4 * G1 + 100 * M2 + 5);
    REQUIRE(far);
    CHECK(far->phys == 2 * G1 + 100 * M2 + 5);
    CHECK(far->page_size == PageSize::kSize2M);
    // The whole 1 GiB changed page size, so all of it is flushed.
    bool whole = false;
    for (auto& f : mem.flushes)
        whole |= f.first <= 4 * G1 && f.first + f.second >= 5 * G1;
    CHECK(whole);

    size_t count4k = 0, count2m = 0;
    pt.for_each_mapping(
        [&](const Mapping& m) { (m.page_size == PageSize::kSize4K ? count4k : count2m)++; });
    CHECK(count4k == 511);
    CHECK(count2m == 511);

    REQUIRE(pt.unmap(4 * G1, hole - 4 * G1).ok());
    REQUIRE(pt.unmap(hole + K4, 5 * G1 - hole - K4).ok());
    CHECK(mem.live.size() == 1);
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: unmapping part of a 2 MiB page splits it", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x200000, 0x600000, M2, URW, PageSize::kSize2M).ok());
    size_t tables = mem.live.size();

    mem.flushes.clear();
    REQUIRE(pt.unmap(0x201000, 2 * K4).ok());
    CHECK(mem.live.size() == tables + 1);
    CHECK_FALSE(pt.translate(0x201000));
    CHECK_FALSE(pt.translate(0x202000));
    auto a = pt.translate(0x200010);
    REQUIRE(a);
    CHECK(a->phys == 0x600010);
    CHECK(a->page_size == PageSize::kSize4K);
    CHECK(has_flag(a->flags, PageFlags::kUser | PageFlags::kWritable));
    CHECK_FALSE(has_flag(a->flags, PageFlags::kHuge));
    auto b = pt.translate(0x3FF000);
    REQUIRE(b);
    CHECK(b->phys == 0x7FF000);
    // The flush covers the whole former large page.
    REQUIRE(mem.flushes.size() == 1);
    CHECK(mem.flushes[0].first == 0x200000);
    CHECK(mem.flushes[0].second == M2);

    CHECK(list(pt).size() == 510);

    // Unmapping the rest frees the split table and the tables above.
    REQUIRE(pt.unmap(0x200000, K4).ok());
    REQUIRE(pt.unmap(0x203000, M2 - 3 * K4).ok());
    CHECK(mem.live.size() == 1);
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: protect changes flags, splitting large pages at the edges", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x200000, 0x600000, 2 * M2, URW, PageSize::kSize2M).ok());

    // Whole large page: stays large.
    REQUIRE(pt.protect(0x200000, M2, PageFlags::kUser | PageFlags::kNoExecute).ok());
    auto a = pt.translate(0x300000);
    REQUIRE(a);
    CHECK(a->page_size == PageSize::kSize2M);
    CHECK(has_flag(a->flags, PageFlags::kNoExecute));
    CHECK_FALSE(has_flag(a->flags, PageFlags::kWritable));

    // Part of the second: split.
    REQUIRE(pt.protect(0x400000 + 16 * K4, K4, PageFlags::kUser).ok());
    auto b = pt.translate(0x400000 + 16 * K4);
    REQUIRE(b);
    CHECK(b->page_size == PageSize::kSize4K);
    CHECK((b->flags & kSettableMask) == PageFlags::kUser);
    auto c = pt.translate(0x400000 + 17 * K4);
    REQUIRE(c);
    CHECK((c->flags & kSettableMask) == URW);
    CHECK(c->phys == 0x800000 + 17 * K4);

    // Protect with the flags already there reports no flush.
    mem.flushes.clear();
    REQUIRE(pt.protect(0x400000 + 16 * K4, K4, PageFlags::kUser).ok());
    CHECK(mem.flushes.empty());
    // Present/Huge/Accessed/Dirty in the input are ignored, so translate output round-trips.
    REQUIRE(pt.protect(0x200000, M2, a->flags).ok());
    CHECK(mem.flushes.empty());
    // A real change is flushed.
    REQUIRE(pt.protect(0x400000 + 16 * K4, K4, URW).ok());
    REQUIRE(mem.flushes.size() == 1);
    CHECK(mem.flushes[0] == std::make_pair(0x400000 + 16 * K4, K4));

    // Protect over a hole fails with nothing changed.
    REQUIRE(pt.unmap(0x400000 + 100 * K4, K4).ok());
    size_t tables = mem.live.size();
    CHECK(err(pt.protect(0x200000, 2 * M2, PageFlags::kUser)) == Error::NOT_FOUND);
    CHECK(mem.live.size() == tables);
    auto d = pt.translate(0x400000);
    REQUIRE(d);
    CHECK((d->flags & kSettableMask) == URW);

    // Unknown bits and half-specific rules.
    CHECK(err(pt.protect(0x400000, K4, static_cast<PageFlags>(1ull << 40)))
          == Error::INVALID_ARGUMENT);
    CHECK(err(pt.protect(0x400000, K4, PageFlags::kGlobal)) == Error::INVALID_ARGUMENT);

    REQUIRE(pt.unmap(0x200000, M2).ok());
    REQUIRE(pt.unmap(0x400000, 100 * K4).ok());
    REQUIRE(pt.unmap(0x400000 + 101 * K4, M2 - 101 * K4).ok());
    CHECK(mem.live.size() == 1);
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: overlapping map is refused with nothing changed", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x10000, 0x1000000, 4 * K4, RW).ok());
    REQUIRE(pt.map(0x40000000, 0x2000000, M2, RW, PageSize::kSize2M).ok());
    auto before = list(pt);
    size_t tables = mem.live.size();
    size_t allocations = mem.total_allocations;

    // Partial overlap at the end of a new range that would also need new tables.
    CHECK(err(pt.map(0x3FE00000 - 8 * K4, 0x5000000, M2 + 8 * K4 + K4, RW))
          == Error::ALREADY_EXISTS);
    // Overlap at the start.
    CHECK(err(pt.map(0x13000, 0x5000000, 4 * K4, RW)) == Error::ALREADY_EXISTS);
    // Exactly the same.
    CHECK(err(pt.map(0x10000, 0x1000000, 4 * K4, RW)) == Error::ALREADY_EXISTS);
    // 4 KiB inside a 2 MiB page.
    CHECK(err(pt.map(0x40001000, 0x5000000, K4, RW)) == Error::ALREADY_EXISTS);
    // 2 MiB over 4 KiB pages.
    CHECK(err(pt.map(0, 0x5000000, M2, RW, PageSize::kSize2M)) == Error::ALREADY_EXISTS);
    // 1 GiB over both.
    CHECK(err(pt.map(0, 0x40000000, G1, RW, PageSize::kSize1G)) == Error::ALREADY_EXISTS);
    CHECK(err(pt.map(G1, 0x40000000, G1, RW, PageSize::kSize1G)) == Error::ALREADY_EXISTS);

    auto after = list(pt);
    REQUIRE(after.size() == before.size());
    for (size_t i = 0; i < after.size(); ++i) {
        CHECK(after[i].virt == before[i].virt);
        CHECK(after[i].phys == before[i].phys);
        CHECK(after[i].flags == before[i].flags);
    }
    CHECK(mem.live.size() == tables);
    CHECK(mem.total_allocations == allocations); // the check ran before any allocation
    CHECK_FALSE(pt.translate(0x3FE00000 - 8 * K4));

    REQUIRE(pt.unmap(0x10000, 4 * K4).ok());
    REQUIRE(pt.unmap(0x40000000, M2).ok());
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: a 2 MiB map replaces an empty page table", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x200000, 0x1000, K4, RW).ok());
    // Keep the PD alive with a second mapping, then hand-build an empty PT below it, as a
    // table left by other code would look.
    REQUIRE(pt.map(0x800000, 0x2000, K4, RW).ok());
    REQUIRE(pt.unmap(0x200000, K4).ok());
    uint64_t* pml4 = mem.virt(pt.root_phys());
    uint64_t* pdpt = mem.virt(pml4[0] & kAddrMask);
    uint64_t* pd = mem.virt(pdpt[0] & kAddrMask);
    REQUIRE((pd[1] & 1) == 0);
    uint64_t empty = mem.alloc().value();
    std::fill(mem.virt(empty), mem.virt(empty) + 512, 0);
    pd[1] = empty | 0x7;
    size_t tables = mem.live.size();

    mem.flushes.clear();
    mem.events.clear();
    REQUIRE(pt.map(0x200000, 0x400000, M2, RW, PageSize::kSize2M).ok());
    CHECK(mem.events == "FX");
    CHECK(mem.live.size() == tables - 1);
    CHECK(mem.live.count(empty) == 0);
    CHECK_FALSE(mem.flushes.empty());
    auto t = pt.translate(0x200000);
    REQUIRE(t);
    CHECK(t->page_size == PageSize::kSize2M);

    REQUIRE(pt.unmap(0x200000, M2).ok());
    REQUIRE(pt.unmap(0x800000, K4).ok());
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: invalid arguments", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);

    // Non-canonical and hole-crossing ranges.
    CHECK(err(pt.map(0x0000800000000000ull, 0, K4, RW)) == Error::INVALID_ARGUMENT);
    CHECK(err(pt.map(0xFFFF7FFFFFFFF000ull, 0, K4, RW)) == Error::INVALID_ARGUMENT);
    CHECK(err(pt.map(0x00007FFFFFFFF000ull, 0, 2 * K4, RW)) == Error::INVALID_ARGUMENT);
    CHECK(err(pt.map(0x8000000000000000ull, 0, K4, RW)) == Error::INVALID_ARGUMENT);
    CHECK(err(pt.unmap(0x0000800000000000ull, K4)) == Error::INVALID_ARGUMENT);
    CHECK(err(pt.protect(0x0000800000000000ull, K4, RW)) == Error::INVALID_ARGUMENT);
    // Wrapping past the top of the address space.
    CHECK(err(pt.map(0xFFFFFFFFFFFFF000ull, 0, 2 * K4, RW)) == Error::INVALID_ARGUMENT);
    CHECK_FALSE(pt.translate(0x0000800000000000ull));

    // Misalignment.
    CHECK(err(pt.map(0x1001, 0, K4, RW)) == Error::MISALIGNED);
    CHECK(err(pt.map(0x1000, 0x10, K4, RW)) == Error::MISALIGNED);
    CHECK(err(pt.map(0x1000, 0, 100, RW)) == Error::MISALIGNED);
    CHECK(err(pt.unmap(0x1800, K4)) == Error::MISALIGNED);
    CHECK(err(pt.protect(0x1000, 10, RW)) == Error::MISALIGNED);

    // Size zero.
    CHECK(err(pt.map(0x1000, 0, 0, RW)) == Error::INVALID_ARGUMENT);
    CHECK(err(pt.unmap(0x1000, 0)) == Error::INVALID_ARGUMENT);

    // Physical range beyond 52 bits.
    CHECK(err(pt.map(0x1000, 1ull << 52, K4, RW)) == Error::OUT_OF_RANGE);
    CHECK(err(pt.map(0x1000, (1ull << 52) - K4, 2 * K4, RW)) == Error::OUT_OF_RANGE);

    // Unknown page size, unknown flag bits, User in the kernel half, Global in the user half.
    CHECK(err(pt.map(0x1000, 0, K4, RW, static_cast<PageSize>(8192))) == Error::INVALID_ARGUMENT);
    CHECK(err(pt.map(0x1000, 0, K4, static_cast<PageFlags>(1ull << 9))) == Error::INVALID_ARGUMENT);
    CHECK(err(pt.map(0xFFFF800000000000ull, 0, K4, URW)) == Error::INVALID_ARGUMENT);
    CHECK(err(pt.map(0x1000, 0, K4, RW | PageFlags::kGlobal)) == Error::INVALID_ARGUMENT);

    // Unmapping or protecting something unmapped.
    CHECK(err(pt.unmap(0x1000, K4)) == Error::NOT_FOUND);
    CHECK(err(pt.protect(0x1000, K4, RW)) == Error::NOT_FOUND);
    REQUIRE(pt.map(0x1000, 0, K4, RW).ok());
    CHECK(err(pt.unmap(0x1000, 2 * K4)) == Error::NOT_FOUND);
    CHECK(pt.translate(0x1000)); // untouched by the failed unmap
    REQUIRE(pt.unmap(0x1000, K4).ok());

    // None of it allocated or leaked anything.
    CHECK(mem.live.size() == 1);
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: the top page of the address space", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0xFFFFFFFFFFFFF000ull, 0x9000, K4, RW | PageFlags::kGlobal).ok());
    auto t = pt.translate(0xFFFFFFFFFFFFFFFFull);
    REQUIRE(t);
    CHECK(t->phys == 0x9FFF);
    CHECK(has_flag(t->flags, PageFlags::kGlobal));
    auto all = list(pt);
    REQUIRE(all.size() == 1);
    CHECK(all[0].virt == 0xFFFFFFFFFFFFF000ull);

    mem.flushes.clear();
    REQUIRE(pt.unmap(0xFFFFFFFFFFFFF000ull, K4).ok());
    REQUIRE(!mem.flushes.empty());
    CHECK(mem.flushes[0].first == 0xFFFFFFFFFFFFF000ull);
    CHECK(mem.flushes[0].second == K4);
    // The page directory and page table go; the kernel-half PDPT stays, because in the
    // kernel's table it is shared with every address space.
    CHECK(mem.live.size() == 2);
    CHECK(mem.reachable_tables(pt.root_phys(), true) == 2);
    // destroy() leaves the kernel half alone too.
    pt.destroy();
    CHECK(mem.live.size() == 1);
}

TEST_CASE("pt: table exhaustion mid-map gives NO_MEMORY with no partial mapping", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x1000, 0x1000, K4, RW).ok());
    auto before = list(pt);
    size_t base_tables = mem.live.size();

    // 512 GiB - 8 MiB .. 512 GiB + 8 MiB crosses a PML4 entry boundary, so the tables it
    // needs are spread over several levels. Raise the allocation limit one page at a
    // time: every attempt short of the need must fail cleanly.
    uint64_t virt = (512ull << 30) - 4 * M2;
    uint64_t size = 8 * M2;
    size_t needed = 0;
    for (size_t extra = 0;; ++extra) {
        mem.limit = base_tables + extra;
        auto r = pt.map(virt, 0x10000000, size, RW);
        if (r.ok()) {
            needed = extra;
            break;
        }
        CHECK(r.error() == Error::NO_MEMORY);
        CHECK(mem.live.size() == base_tables);
        CHECK_FALSE(pt.translate(virt));
        CHECK_FALSE(pt.translate(virt + size - K4));
        auto now = list(pt);
        REQUIRE(now.size() == before.size());
        REQUIRE(extra < 100);
    }
    // PML4 slot 0: existing PDPT, 1 new PD, 4 PTs; slot 1: PDPT, PD, 4 PTs.
    CHECK(needed == 1 + 4 + 1 + 1 + 4);
    CHECK(list(pt).size() == before.size() + size / K4);
    mem.limit = SIZE_MAX;

    // A split needs a table too: exhaustion leaves the large page whole.
    REQUIRE(pt.map(0x40000000, 0x40000000, M2, RW, PageSize::kSize2M).ok());
    mem.limit = mem.live.size();
    CHECK(err(pt.unmap(0x40001000, K4)) == Error::NO_MEMORY);
    CHECK(err(pt.protect(0x40001000, K4, PageFlags::kNone)) == Error::NO_MEMORY);
    auto t = pt.translate(0x40001000);
    REQUIRE(t);
    CHECK(t->page_size == PageSize::kSize2M);
    CHECK((t->flags & kSettableMask) == RW);
    mem.limit = SIZE_MAX;

    REQUIRE(pt.unmap(0x40000000, M2).ok());
    REQUIRE(pt.unmap(virt, size).ok());
    REQUIRE(pt.unmap(0x1000, K4).ok());
    CHECK(mem.live.size() == 1);
    pt.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: destroy frees all user-half tables even with mappings left", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x1000, 0x1000, 64 * K4, URW).ok());
    REQUIRE(pt.map(0x7F0000000000ull, 0x200000, M2, URW, PageSize::kSize2M).ok());
    REQUIRE(pt.map(0x200000000ull, 0, G1, URW, PageSize::kSize1G).ok());
    CHECK(mem.live.size() > 1);
    pt.destroy();
    CHECK(mem.live.empty());
    CHECK(pt.root_phys() == 0);
}

TEST_CASE("pt: kernel half is shared between address spaces", "[pt]") {
    FakeMemory mem;
    PageTable kernel = make_table(mem);
    REQUIRE(kernel.populate_kernel_half().ok());
    CHECK(mem.live.size() == 1 + 256);
    // Idempotent.
    REQUIRE(kernel.populate_kernel_half().ok());
    CHECK(mem.live.size() == 1 + 256);

    REQUIRE(kernel.map(kernel::x86_64::kKernelImageBase, 0x100000, 16 * K4, RW | PageFlags::kGlobal)
                .ok());
    size_t kernel_tables = mem.live.size();

    auto space_result = PageTable::create_address_space(mem.env(), kernel);
    REQUIRE(space_result.ok());
    PageTable space = space_result.release_value();
    CHECK(mem.live.size() == kernel_tables + 1);

    // Existing and later kernel mappings are visible through the new space.
    CHECK(space.translate(kernel::x86_64::kKernelImageBase + 0x3000)->phys == 0x103000);
    REQUIRE(kernel
                .map(kernel::x86_64::kDirectMapBase, 0, 4 * M2, RW | PageFlags::kNoExecute,
                     PageSize::kSize2M)
                .ok());
    auto dm = space.translate(kernel::x86_64::kDirectMapBase + M2 + 5);
    REQUIRE(dm);
    CHECK(dm->phys == M2 + 5);

    // Kernel-half intermediate entries are not User.
    uint64_t kernel_pml4_entry = mem.virt(kernel.root_phys())[511];
    CHECK((kernel_pml4_entry & 0x4) == 0);

    // User mappings stay private.
    REQUIRE(space.map(0x400000, 0x200000, 8 * K4, URW).ok());
    CHECK(space.translate(0x400000));
    CHECK_FALSE(kernel.translate(0x400000));

    // Unmapping all kernel mappings keeps the shared PDPTs.
    REQUIRE(kernel.unmap(kernel::x86_64::kDirectMapBase, 4 * M2).ok());
    REQUIRE(kernel.unmap(kernel::x86_64::kKernelImageBase, 16 * K4).ok());
    CHECK(mem.live.size() == 1 + 256 + 1 + 3);
    CHECK(mem.reachable_tables(kernel.root_phys(), true) == 1 + 256);

    // Destroying the address space frees its user half and PML4 only.
    space.destroy();
    CHECK(mem.live.size() == 1 + 256);
    for (size_t i = 256; i < 512; ++i)
        CHECK((mem.virt(kernel.root_phys())[i] & 1) == 1);
}

TEST_CASE("pt: for_each_mapping over a range and early stop", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x1000, 0x1000, 8 * K4, RW).ok());
    REQUIRE(pt.map(0x200000, 0x200000, M2, RW, PageSize::kSize2M).ok());
    REQUIRE(pt.map(0xFFFF800000001000ull, 0x1000, K4, RW).ok());

    std::vector<uint64_t> seen;
    pt.for_each_mapping(0x3000, 0x201000 - 0x3000,
                        [&](const Mapping& m) { seen.push_back(m.virt); });
    REQUIRE(seen.size() == 7);
    CHECK(seen.front() == 0x3000);
    CHECK(seen.back() == 0x200000); // a large leaf overlapping the range is reported whole

    int visited = 0;
    pt.for_each_mapping([&](const Mapping&) { return ++visited < 3; });
    CHECK(visited == 3);

    // A range spanning the hole lists both halves.
    seen.clear();
    pt.for_each_mapping(0x8000, UINT64_MAX - 0x8000 + 1,
                        [&](const Mapping& m) { seen.push_back(m.virt); });
    REQUIRE(seen.size() == 3);
    CHECK(seen.back() == 0xFFFF800000001000ull);

    // The plain function-pointer form.
    size_t count = 0;
    pt.for_each_mapping(
        [](const Mapping&, void* ctx) {
            ++*static_cast<size_t*>(ctx);
            return true;
        },
        &count);
    CHECK(count == 10);

    // The kernel-half tables are not destroy()'s to free.
    size_t kernel_tables = 3;
    pt.destroy();
    CHECK(mem.live.size() == kernel_tables);
}

TEST_CASE("pt: random map/unmap/protect against a reference model", "[pt]") {
    // Each window straddles a boundary at a different table level.
    const uint64_t windows[] = {
        0x0,                                 // start of space
        G1 - 8 * M2,                         // a PDPT entry boundary
        (512ull << 30) - 8 * M2,             // a PML4 entry boundary
        0xFFFF800000000000ull + G1 - 8 * M2, // kernel half
    };
    const uint64_t kWindowSize = 16 * M2;
    const PageFlags flag_choices[] = {
        PageFlags::kNone,         RW,
        PageFlags::kNoExecute,    RW | PageFlags::kNoExecute,
        PageFlags::kWriteThrough, PageFlags::kCacheDisable | RW,
    };

    for (uint64_t window : windows) {
        for (uint32_t seed : {1u, 2u, 3u, 42u}) {
            INFO("window " << std::hex << window << " seed " << std::dec << seed);
            std::mt19937_64 rng(seed);
            FakeMemory mem;
            mem.poison_new_pages = (seed & 1) != 0;
            PageTable pt = make_table(mem);
            bool user = window < 0x0000800000000000ull;

            // Model: 4 KiB page -> (phys, settable flags).
            std::map<uint64_t, std::pair<uint64_t, PageFlags>> model;

            auto pick_flags = [&] {
                PageFlags f = flag_choices[rng() % std::size(flag_choices)];
                if (user && (rng() & 1))
                    f |= PageFlags::kUser;
                if (!user && (rng() & 1))
                    f |= PageFlags::kGlobal;
                return f;
            };

            for (int step = 0; step < 1000; ++step) {
                int op = static_cast<int>(rng() % 10);
                bool large = (rng() % 4) == 0;
                uint64_t granule = large ? M2 : K4;
                uint64_t pages = 1 + rng() % (large ? 3 : 700);
                uint64_t size = pages * granule;
                uint64_t offset = base::align_down(rng() % kWindowSize, granule);
                if (offset + size > kWindowSize)
                    size = kWindowSize - offset;
                uint64_t virt = window + offset;

                mem.events.clear();
                bool all_free = true, all_mapped = true;
                for (uint64_t a = virt; a < virt + size; a += K4) {
                    if (model.count(a))
                        all_free = false;
                    else
                        all_mapped = false;
                }

                if (op < 5) {
                    uint64_t phys = base::align_down(rng() % (1ull << 40), granule);
                    PageFlags f = pick_flags();
                    auto r =
                        pt.map(virt, phys, size, f, large ? PageSize::kSize2M : PageSize::kSize4K);
                    REQUIRE(r.ok() == all_free);
                    if (!r.ok()) {
                        CHECK(r.error() == Error::ALREADY_EXISTS);
                        continue;
                    }
                    for (uint64_t a = 0; a < size; a += K4)
                        model[virt + a] = {phys + a, f};
                } else if (op < 8) {
                    auto r = pt.unmap(virt, size);
                    REQUIRE(r.ok() == all_mapped);
                    if (!r.ok()) {
                        CHECK(r.error() == Error::NOT_FOUND);
                        continue;
                    }
                    for (uint64_t a = 0; a < size; a += K4)
                        model.erase(virt + a);
                } else {
                    PageFlags f = pick_flags();
                    auto r = pt.protect(virt, size, f);
                    REQUIRE(r.ok() == all_mapped);
                    if (!r.ok()) {
                        CHECK(r.error() == Error::NOT_FOUND);
                        continue;
                    }
                    for (uint64_t a = 0; a < size; a += K4)
                        model[virt + a].second = f;
                }

                // Frees only ever follow a flush.
                CHECK((mem.events.empty() || mem.events[0] == 'F'));

                // Spot-check translations, then compare the full listing.
                for (int probe = 0; probe < 32; ++probe) {
                    uint64_t a = window + base::align_down(rng() % kWindowSize, K4);
                    auto t = pt.translate(a + 0x123);
                    auto it = model.find(a);
                    REQUIRE(t.has_value() == (it != model.end()));
                    if (t) {
                        CHECK(t->phys == it->second.first + 0x123);
                        CHECK((t->flags & kSettableMask) == it->second.second);
                    }
                }
                if (step % 25 == 0) {
                    size_t listed = 0;
                    bool match = true;
                    pt.for_each_mapping([&](const Mapping& m) {
                        uint64_t bytes = kernel::x86_64::page_size_bytes(m.page_size);
                        for (uint64_t a = 0; a < bytes; a += K4) {
                            auto it = model.find(m.virt + a);
                            if (it == model.end() || it->second.first != m.phys + a
                                || it->second.second != (m.flags & kSettableMask))
                                match = false;
                            ++listed;
                        }
                    });
                    CHECK(match);
                    CHECK(listed == model.size());
                    // No leaked and no empty tables.
                    CHECK(mem.reachable_tables(pt.root_phys(), !user) == mem.live.size());
                }
            }

            // Unmap everything that is left, in runs, and all tables come back.
            while (!model.empty()) {
                uint64_t start = model.begin()->first;
                uint64_t end = start;
                while (model.count(end))
                    end += K4;
                REQUIRE(pt.unmap(start, end - start).ok());
                for (uint64_t a = start; a < end; a += K4)
                    model.erase(a);
            }
            CHECK(list(pt).empty());
            // Only the PML4 is left, plus in the kernel half the PDPT that stays shared.
            size_t kept = user ? 0 : 1;
            CHECK(mem.live.size() == 1 + kept);
            CHECK(mem.reachable_tables(pt.root_phys(), true) == mem.live.size());
            pt.destroy();
            CHECK(mem.live.size() == kept);
        }
    }
}

TEST_CASE("pt: copy_leaves_from copies leaves and changes the source as told", "[pt]") {
    FakeMemory mem;
    PageTable source = make_table(mem);
    PageTable copy = make_table(mem);
    // Three pages across a page-table boundary, one read-only, and one outside the range.
    REQUIRE(source.map(0x1FE000, 0x10000000, 2 * K4, URW).ok());
    REQUIRE(source.map(0x200000, 0x10005000, K4, PageFlags::kUser | PageFlags::kNoExecute).ok());
    REQUIRE(source.map(0x400000, 0x10009000, K4, URW).ok());
    mem.flushes.clear();
    struct Seen {
        std::vector<uint64_t> frames;
    } seen;
    auto copier = [](const Mapping& leaf, PageFlags* to, PageFlags* from, void* ctx) {
        static_cast<Seen*>(ctx)->frames.push_back(leaf.phys);
        *to &= ~PageFlags::kWritable;
        *from &= ~PageFlags::kWritable;
        return true;
    };
    REQUIRE(copy.copy_leaves_from(source, 0x100000, 0x200000, copier, &seen).ok());
    CHECK(seen.frames == std::vector<uint64_t>{0x10000000, 0x10001000, 0x10005000});
    for (uint64_t v : {0x1FE000ull, 0x1FF000ull, 0x200000ull}) {
        auto s = source.translate(v);
        auto c = copy.translate(v);
        REQUIRE(s.has_value());
        REQUIRE(c.has_value());
        CHECK(c->page_phys == s->page_phys);
        CHECK_FALSE(has_flag(s->flags, PageFlags::kWritable));
        CHECK_FALSE(has_flag(c->flags, PageFlags::kWritable));
        CHECK(has_flag(c->flags, PageFlags::kUser));
    }
    CHECK(has_flag(copy.translate(0x200000)->flags, PageFlags::kNoExecute));
    CHECK_FALSE(copy.translate(0x400000).has_value());
    CHECK(has_flag(source.translate(0x400000)->flags, PageFlags::kWritable));
    // The two changed source leaves are flushed together; the read-only one was unchanged.
    REQUIRE(mem.flushes.size() == 1);
    CHECK(mem.flushes[0] == std::make_pair(uint64_t(0x1FE000), uint64_t(2 * K4)));
    CHECK(mem.reachable_tables(copy.root_phys()) == 5); // PML4, PDPT, PD, two PTs
    // A second copy over the same range finds the pages there.
    CHECK(err(copy.copy_leaves_from(source, 0x1FE000, K4, copier, &seen)) == Error::ALREADY_EXISTS);
    CHECK(err(copy.copy_leaves_from(source, 0xFFFF800000000000ull, K4, copier, &seen))
          == Error::INVALID_ARGUMENT);
    CHECK(err(copy.copy_leaves_from(source, 0x1000, 100, copier, &seen)) == Error::MISALIGNED);
    copy.destroy();
    source.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: copy_leaves_from refuses large leaves and runs out of tables cleanly", "[pt]") {
    FakeMemory mem;
    PageTable source = make_table(mem);
    PageTable copy = make_table(mem);
    auto keep = [](const Mapping&, PageFlags*, PageFlags*, void*) { return true; };
    REQUIRE(source.map(0x40000000, 0x80000000, M2, URW, PageSize::kSize2M).ok());
    CHECK(err(copy.copy_leaves_from(source, 0x40000000, M2, keep, nullptr))
          == Error::NOT_SUPPORTED);
    REQUIRE(source.map(0x10000, 0x20000000, K4, URW).ok());
    mem.limit = mem.live.size() + 1; // room for one table of the three the copy needs
    CHECK(err(copy.copy_leaves_from(source, 0x10000, K4, keep, nullptr)) == Error::NO_MEMORY);
    CHECK_FALSE(copy.translate(0x10000).has_value());
    mem.limit = SIZE_MAX;
    REQUIRE(copy.copy_leaves_from(source, 0x10000, K4, keep, nullptr).ok());
    CHECK(copy.translate(0x10000)->page_phys == 0x20000000);
    copy.destroy();
    source.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: a copier that refuses a leaf stops the copy before it", "[pt]") {
    FakeMemory mem;
    PageTable source = make_table(mem);
    PageTable copy = make_table(mem);
    REQUIRE(source.map(0x10000, 0x20000000, 3 * K4, URW).ok());
    // Takes two leaves, write-protecting them in the source, and refuses the third.
    auto two = [](const Mapping&, PageFlags* to, PageFlags* from, void* ctx) {
        int& left = *static_cast<int*>(ctx);
        if (left == 0)
            return false;
        --left;
        *to &= ~PageFlags::kWritable;
        *from &= ~PageFlags::kWritable;
        return true;
    };
    int left = 2;
    CHECK(err(copy.copy_leaves_from(source, 0x10000, 3 * K4, two, &left)) == Error::NO_MEMORY);
    CHECK(copy.translate(0x10000).has_value());
    CHECK(copy.translate(0x11000).has_value());
    CHECK_FALSE(copy.translate(0x12000).has_value());
    CHECK_FALSE(has_flag(source.translate(0x11000)->flags, PageFlags::kWritable));
    CHECK(has_flag(source.translate(0x12000)->flags, PageFlags::kWritable));
    copy.destroy();
    source.destroy();
    CHECK(mem.live.empty());
}

TEST_CASE("pt: clear_leaves clears a range in one walk and reports each leaf", "[pt]") {
    FakeMemory mem;
    PageTable pt = make_table(mem);
    REQUIRE(pt.map(0x1FE000, 0x10000000, 3 * K4, URW).ok()); // across a table boundary
    REQUIRE(pt.map(0x400000, 0x10009000, K4, URW).ok());     // outside the range
    REQUIRE(pt.map(0x40000000, 0x80000000, M2, URW, PageSize::kSize2M).ok());
    size_t tables = mem.live.size();
    mem.flushes.clear();
    std::vector<std::pair<uint64_t, uint64_t>> seen;
    pt.clear_leaves(0x100000, 0x200000, [&](const Mapping& m) {
        seen.emplace_back(m.virt, m.phys);
        CHECK(m.page_size == PageSize::kSize4K);
    });
    CHECK(seen
          == std::vector<std::pair<uint64_t, uint64_t>>{
              {0x1FE000, 0x10000000}, {0x1FF000, 0x10001000}, {0x200000, 0x10002000}});
    for (uint64_t v : {0x1FE000ull, 0x1FF000ull, 0x200000ull})
        CHECK_FALSE(pt.translate(v).has_value());
    CHECK(pt.translate(0x400000)->page_phys == 0x10009000);
    // A large leaf is reported whole; nothing is flushed and no table is freed.
    seen.clear();
    pt.clear_leaves(0x40100000, K4, [&](const Mapping& m) {
        seen.emplace_back(m.virt, m.phys);
        CHECK(m.page_size == PageSize::kSize2M);
    });
    CHECK(seen == std::vector<std::pair<uint64_t, uint64_t>>{{0x40000000, 0x80000000}});
    CHECK_FALSE(pt.translate(0x40000000).has_value());
    CHECK(mem.flushes.empty());
    CHECK(mem.live.size() == tables);
    // The kernel half and empty ranges are left alone.
    pt.clear_leaves(0xFFFF800000000000ull, K4, [&](const Mapping&) { CHECK(false); });
    pt.clear_leaves(0x400000, 0, [&](const Mapping&) { CHECK(false); });
    CHECK(pt.translate(0x400000).has_value());
    pt.destroy();
    CHECK(mem.live.empty());
}

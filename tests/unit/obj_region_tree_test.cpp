// Tests for RegionTree, the address-space region map: insertion and overlap, removal with
// splits, protection changes, gap finding, and a seeded random comparison against a
// deliberately naive model.

#include <catch2/catch.hpp>
#include <kernel/containers/region_tree.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

using base::Error;
using kernel::obj::Region;
using kernel::obj::RegionTree;

namespace {

#define CHECK_ERROR(expr, expected)                                                                \
    do {                                                                                           \
        auto result_ = (expr);                                                                     \
        REQUIRE(result_.is_error());                                                               \
        CHECK(result_.error() == (expected));                                                      \
    } while (0)

constexpr uint32_t kRead = 1;
constexpr uint32_t kWrite = 2;
constexpr uint32_t kExec = 4;

Region region(uint64_t start, uint64_t end, uint32_t protection = kRead, uintptr_t cookie = 0,
              uint64_t offset = 0, uint32_t kind = 0) {
    Region r;
    r.start = start;
    r.end = end;
    r.protection = protection;
    r.kind = kind;
    r.cookie = cookie;
    r.offset = offset;
    return r;
}

bool same(const Region& a, const Region& b) {
    return a.start == b.start && a.end == b.end && a.protection == b.protection && a.kind == b.kind
           && a.cookie == b.cookie && a.offset == b.offset;
}

std::vector<Region> contents(const RegionTree& tree) {
    return std::vector<Region>(tree.begin(), tree.end());
}

bool same_contents(const std::vector<Region>& a, const std::vector<Region>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), same);
}

template<size_t N>
struct Fixture {
    Region storage[N];
    RegionTree tree{storage};
};

} // namespace

TEST_CASE("find returns the region containing an address, ends exclusive") {
    Fixture<8> f;
    REQUIRE(f.tree.insert(region(0x1000, 0x3000, kRead, 11)).ok());
    REQUIRE(f.tree.insert(region(0x5000, 0x6000, kWrite, 22)).ok());
    CHECK(f.tree.find(0x0fff) == nullptr);
    REQUIRE(f.tree.find(0x1000) != nullptr);
    CHECK(f.tree.find(0x1000)->cookie == 11);
    CHECK(f.tree.find(0x2fff)->cookie == 11);
    CHECK(f.tree.find(0x3000) == nullptr);
    CHECK(f.tree.find(0x5000)->cookie == 22);
    CHECK(f.tree.find(0x6000) == nullptr);
    CHECK(f.tree.find(UINT64_MAX) == nullptr);
    CHECK(f.tree.find(0x1800)->contains(0x1800));
    CHECK(f.tree.find(0x1800)->size() == 0x2000);
}

TEST_CASE("regions are kept in address order whatever the insertion order") {
    Fixture<8> f;
    uint64_t starts[] = {0x7000, 0x1000, 0x5000, 0x3000, 0x9000};
    for (uint64_t start : starts)
        REQUIRE(f.tree.insert(region(start, start + 0x1000)).ok());
    uint64_t previous = 0;
    size_t count = 0;
    for (const Region& r : f.tree) {
        CHECK(r.start > previous);
        previous = r.start;
        ++count;
    }
    CHECK(count == 5);
    CHECK(f.tree.regions().size() == 5);
    CHECK(f.tree[0].start == 0x1000);
    CHECK(f.tree[4].start == 0x9000);
}

TEST_CASE("an overlapping insert fails with ALREADY_EXISTS and changes nothing") {
    Fixture<8> f;
    REQUIRE(f.tree.insert(region(0x2000, 0x4000)).ok());
    REQUIRE(f.tree.insert(region(0x6000, 0x8000)).ok());
    auto before = contents(f.tree);
    CHECK_ERROR(f.tree.insert(region(0x2000, 0x4000)), Error::ALREADY_EXISTS);
    CHECK_ERROR(f.tree.insert(region(0x1000, 0x2001)), Error::ALREADY_EXISTS);
    CHECK_ERROR(f.tree.insert(region(0x3fff, 0x5000)), Error::ALREADY_EXISTS);
    CHECK_ERROR(f.tree.insert(region(0x2800, 0x2900)), Error::ALREADY_EXISTS);
    CHECK_ERROR(f.tree.insert(region(0x1000, 0x9000)), Error::ALREADY_EXISTS);
    CHECK_ERROR(f.tree.insert(region(0x3000, 0x7000)), Error::ALREADY_EXISTS);
    CHECK(same_contents(before, contents(f.tree)));
    // Touching neighbours are not overlaps.
    CHECK(f.tree.insert(region(0x4000, 0x6000)).ok());
    CHECK(f.tree.insert(region(0x1000, 0x2000)).ok());
    CHECK(f.tree.insert(region(0x8000, 0x9000)).ok());
    CHECK(f.tree.size() == 5);
}

TEST_CASE("empty and inverted ranges are invalid") {
    Fixture<4> f;
    CHECK_ERROR(f.tree.insert(region(0x1000, 0x1000)), Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.tree.insert(region(0x2000, 0x1000)), Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.tree.remove_range(0x1000, 0x1000), Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.tree.protect(0x2000, 0x1000, kRead), Error::INVALID_ARGUMENT);
    CHECK(f.tree.is_empty());
}

TEST_CASE("a full tree refuses inserts with QUOTA_EXCEEDED") {
    Fixture<3> f;
    for (uint64_t i = 0; i < 3; ++i)
        REQUIRE(f.tree.insert(region(i * 0x1000, i * 0x1000 + 0x800)).ok());
    CHECK(f.tree.is_full());
    CHECK_ERROR(f.tree.insert(region(0x10000, 0x11000)), Error::QUOTA_EXCEEDED);
    // Overlap is reported first: it is the more specific failure.
    CHECK_ERROR(f.tree.insert(region(0x0, 0x100)), Error::ALREADY_EXISTS);
    CHECK(f.tree.size() == 3);
}

TEST_CASE("remove takes out exactly one region with matching bounds") {
    Fixture<4> f;
    REQUIRE(f.tree.insert(region(0x1000, 0x3000, kRead, 5, 0x40)).ok());
    REQUIRE(f.tree.insert(region(0x3000, 0x4000, kWrite, 6)).ok());
    CHECK_ERROR(f.tree.remove(0x1000, 0x2000), Error::NOT_FOUND);
    CHECK_ERROR(f.tree.remove(0x1000, 0x4000), Error::NOT_FOUND);
    CHECK_ERROR(f.tree.remove(0x8000, 0x9000), Error::NOT_FOUND);
    auto removed = f.tree.remove(0x1000, 0x3000);
    REQUIRE(removed.ok());
    CHECK(same(removed.value(), region(0x1000, 0x3000, kRead, 5, 0x40)));
    CHECK(f.tree.size() == 1);
    CHECK(f.tree.find(0x1000) == nullptr);
    CHECK(f.tree.find(0x3000) != nullptr);
}

TEST_CASE("removing the middle of a region leaves two with adjusted offsets") {
    Fixture<4> f;
    REQUIRE(f.tree.insert(region(0x10000, 0x20000, kRead | kWrite, 77, 0x5000, 3)).ok());
    std::vector<Region> pieces;
    auto affected = f.tree.remove_range(0x14000, 0x18000,
                                        [&](const Region& piece) { pieces.push_back(piece); });
    REQUIRE(affected.ok());
    CHECK(affected.value() == 1);
    REQUIRE(f.tree.size() == 2);
    CHECK(same(f.tree[0], region(0x10000, 0x14000, kRead | kWrite, 77, 0x5000, 3)));
    CHECK(same(f.tree[1], region(0x18000, 0x20000, kRead | kWrite, 77, 0x5000 + 0x8000, 3)));
    REQUIRE(pieces.size() == 1);
    CHECK(same(pieces[0], region(0x14000, 0x18000, kRead | kWrite, 77, 0x5000 + 0x4000, 3)));
}

TEST_CASE("a split removal into a full tree fails and changes nothing") {
    Fixture<2> f;
    REQUIRE(f.tree.insert(region(0x1000, 0x9000)).ok());
    REQUIRE(f.tree.insert(region(0xa000, 0xb000)).ok());
    auto before = contents(f.tree);
    bool called = false;
    CHECK_ERROR(f.tree.remove_range(0x2000, 0x3000, [&](const Region&) { called = true; }),
                Error::QUOTA_EXCEEDED);
    CHECK_FALSE(called);
    CHECK(same_contents(before, contents(f.tree)));
    // Trimming an end needs no slot, so it still works when full.
    CHECK(f.tree.remove_range(0x1000, 0x2000).ok());
    CHECK(f.tree[0].start == 0x2000);
    CHECK(f.tree[0].offset == 0x1000);
}

TEST_CASE("removing a range across several regions trims the ends and drops the rest") {
    Fixture<8> f;
    REQUIRE(f.tree.insert(region(0x1000, 0x3000, kRead, 1, 0)).ok());
    REQUIRE(f.tree.insert(region(0x3000, 0x4000, kRead, 2, 0)).ok());
    REQUIRE(f.tree.insert(region(0x5000, 0x6000, kRead, 3, 0)).ok());
    REQUIRE(f.tree.insert(region(0x7000, 0x9000, kRead, 4, 0x100)).ok());
    REQUIRE(f.tree.insert(region(0xa000, 0xb000, kRead, 5, 0)).ok());
    std::vector<Region> pieces;
    auto affected =
        f.tree.remove_range(0x2000, 0x8000, [&](const Region& piece) { pieces.push_back(piece); });
    REQUIRE(affected.ok());
    CHECK(affected.value() == 4);
    REQUIRE(f.tree.size() == 3);
    CHECK(same(f.tree[0], region(0x1000, 0x2000, kRead, 1, 0)));
    CHECK(same(f.tree[1], region(0x8000, 0x9000, kRead, 4, 0x1100)));
    CHECK(same(f.tree[2], region(0xa000, 0xb000, kRead, 5, 0)));
    REQUIRE(pieces.size() == 4);
    CHECK(same(pieces[0], region(0x2000, 0x3000, kRead, 1, 0x1000)));
    CHECK(same(pieces[1], region(0x3000, 0x4000, kRead, 2, 0)));
    CHECK(same(pieces[2], region(0x5000, 0x6000, kRead, 3, 0)));
    CHECK(same(pieces[3], region(0x7000, 0x8000, kRead, 4, 0x100)));

    // An unmapped range is no error and touches nothing.
    auto none = f.tree.remove_range(0x3000, 0x8000);
    REQUIRE(none.ok());
    CHECK(none.value() == 0);
    // Exact bounds remove whole regions.
    auto whole = f.tree.remove_range(0x0, UINT64_MAX);
    REQUIRE(whole.ok());
    CHECK(whole.value() == 3);
    CHECK(f.tree.is_empty());
}

TEST_CASE("protect splits at both bounds and changes only the range") {
    Fixture<8> f;
    REQUIRE(f.tree.insert(region(0x1000, 0x9000, kRead | kWrite, 9, 0x200)).ok());
    REQUIRE(f.tree.protect(0x3000, 0x5000, kRead).ok());
    REQUIRE(f.tree.size() == 3);
    CHECK(same(f.tree[0], region(0x1000, 0x3000, kRead | kWrite, 9, 0x200)));
    CHECK(same(f.tree[1], region(0x3000, 0x5000, kRead, 9, 0x2200)));
    CHECK(same(f.tree[2], region(0x5000, 0x9000, kRead | kWrite, 9, 0x4200)));

    // Over several adjacent regions, aligned to an existing bound on one side.
    REQUIRE(f.tree.protect(0x2000, 0x5000, kExec).ok());
    REQUIRE(f.tree.size() == 4);
    CHECK(f.tree[0].end == 0x2000);
    CHECK(f.tree[1].protection == kExec);
    CHECK(f.tree[1].offset == 0x1200);
    CHECK(f.tree[2].protection == kExec);
    CHECK(f.tree[3].protection == (kRead | kWrite));

    // Exact bounds need no split.
    REQUIRE(f.tree.protect(0x5000, 0x9000, kRead).ok());
    CHECK(f.tree.size() == 4);
    CHECK(f.tree[3].protection == kRead);
}

TEST_CASE("protect refuses a range with holes and a split that does not fit") {
    Fixture<3> f;
    REQUIRE(f.tree.insert(region(0x1000, 0x2000, kRead)).ok());
    REQUIRE(f.tree.insert(region(0x3000, 0x8000, kRead)).ok());
    auto before = contents(f.tree);
    CHECK_ERROR(f.tree.protect(0x1000, 0x4000, kWrite), Error::NOT_FOUND); // hole at 0x2000
    CHECK_ERROR(f.tree.protect(0x0, 0x1800, kWrite), Error::NOT_FOUND);    // hole before
    CHECK_ERROR(f.tree.protect(0x7000, 0x9000, kWrite), Error::NOT_FOUND); // hole after
    CHECK_ERROR(f.tree.protect(0x8000, 0x9000, kWrite), Error::NOT_FOUND);
    // Two splits needed, one slot free.
    CHECK_ERROR(f.tree.protect(0x4000, 0x5000, kWrite), Error::QUOTA_EXCEEDED);
    CHECK(same_contents(before, contents(f.tree)));
    // One split fits.
    CHECK(f.tree.protect(0x3000, 0x5000, kWrite).ok());
    CHECK(f.tree.size() == 3);
    CHECK(f.tree[1].protection == kWrite);
    CHECK(f.tree[2].protection == kRead);
}

TEST_CASE("split_at divides a region and ignores bounds and holes") {
    Fixture<3> f;
    REQUIRE(f.tree.insert(region(0x1000, 0x4000, kRead, 1, 0x10)).ok());
    CHECK(f.tree.split_at(0x1000).ok()); // already a bound
    CHECK(f.tree.split_at(0x4000).ok()); // the end is a bound too
    CHECK(f.tree.split_at(0x9000).ok()); // unmapped
    CHECK(f.tree.size() == 1);
    REQUIRE(f.tree.split_at(0x2000).ok());
    REQUIRE(f.tree.split_at(0x3000).ok());
    REQUIRE(f.tree.size() == 3);
    CHECK(same(f.tree[1], region(0x2000, 0x3000, kRead, 1, 0x1010)));
    CHECK(same(f.tree[2], region(0x3000, 0x4000, kRead, 1, 0x2010)));
    CHECK_ERROR(f.tree.split_at(0x3800), Error::QUOTA_EXCEEDED);
}

TEST_CASE("find_gap finds the lowest aligned hole inside the window") {
    Fixture<8> f;
    // Empty tree: the aligned low bound.
    CHECK(f.tree.find_gap(0x1000, 0x1000, 0x1000, 0x10000).value() == 0x1000);
    CHECK(f.tree.find_gap(0x1000, 0x4000, 0x1001, 0x10000).value() == 0x4000);
    REQUIRE(f.tree.insert(region(0x1000, 0x3000)).ok());
    REQUIRE(f.tree.insert(region(0x4000, 0x5000)).ok());
    REQUIRE(f.tree.insert(region(0x8000, 0x9000)).ok());
    CHECK(f.tree.find_gap(0x1000, 0x1000, 0x0, 0x10000).value() == 0x0);
    CHECK(f.tree.find_gap(0x1000, 0x1000, 0x1000, 0x10000).value() == 0x3000);
    CHECK(f.tree.find_gap(0x2000, 0x1000, 0x1000, 0x10000).value() == 0x5000);
    CHECK(f.tree.find_gap(0x3000, 0x1000, 0x1000, 0x10000).value() == 0x5000);
    CHECK(f.tree.find_gap(0x4000, 0x1000, 0x1000, 0x10000).value() == 0x9000);
    CHECK(f.tree.find_gap(0x1000, 0x8000, 0x1000, 0x20000).value() == 0x10000);
    CHECK(f.tree.find_gap(0x2000, 0x2000, 0x1000, 0x10000).value() == 0x6000);
    // The hole must also end inside the window.
    CHECK_ERROR(f.tree.find_gap(0x8000, 0x1000, 0x1000, 0x10000), Error::NOT_FOUND);
    CHECK(f.tree.find_gap(0x7000, 0x1000, 0x1000, 0x10000).value() == 0x9000);
    CHECK_ERROR(f.tree.find_gap(0x1000, 0x1000, 0x1000, 0x3000), Error::NOT_FOUND);
    CHECK(f.tree.find_gap(0x1, 0x1, 0x2fff, 0x3001).value() == 0x3000);
    // Bad requests.
    CHECK_ERROR(f.tree.find_gap(0, 0x1000, 0, 0x10000), Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.tree.find_gap(0x1000, 0x3000, 0, 0x10000), Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.tree.find_gap(0x1000, 0, 0, 0x10000), Error::INVALID_ARGUMENT);
    CHECK_ERROR(f.tree.find_gap(0x1000, 0x1000, 0x10000, 0x10000), Error::INVALID_ARGUMENT);
}

TEST_CASE("find_gap does not wrap around the top of the address space") {
    Fixture<4> f;
    constexpr uint64_t kTop = UINT64_MAX;
    REQUIRE(f.tree.insert(region(kTop - 0x1fff, kTop)).ok());
    CHECK_ERROR(f.tree.find_gap(0x1000, 0x1000, kTop - 0x1000, kTop), Error::NOT_FOUND);
    CHECK_ERROR(f.tree.find_gap(0x1000, uint64_t(1) << 63, (uint64_t(1) << 63) + 1, kTop),
                Error::NOT_FOUND);
    CHECK_ERROR(f.tree.find_gap(kTop, 1, 1, kTop), Error::NOT_FOUND);
    CHECK(f.tree.find_gap(0x1000, 0x1000, kTop - 0x3fff, kTop).value() == kTop - 0x3fff);
    CHECK(f.tree.find_gap(0x2000, 0x1000, kTop - 0x3fff, kTop).value() == kTop - 0x3fff);
    CHECK_ERROR(f.tree.find_gap(0x2001, 0x1000, kTop - 0x3fff, kTop), Error::NOT_FOUND);
    // A region ending at the very top leaves nothing after it to align to.
    Fixture<2> g;
    REQUIRE(g.tree.insert(region(0x1000, kTop)).ok());
    CHECK_ERROR(g.tree.find_gap(0x10, 0x10, 0x1000, kTop), Error::NOT_FOUND);
    CHECK(g.tree.find_gap(0x10, 0x10, 0x0, kTop).value() == 0x0);
}

TEST_CASE("find_first_overlap reports the lowest region touching a range") {
    Fixture<4> f;
    REQUIRE(f.tree.insert(region(0x2000, 0x3000, kRead, 1)).ok());
    REQUIRE(f.tree.insert(region(0x5000, 0x6000, kRead, 2)).ok());
    CHECK(f.tree.find_first_overlap(0x0, 0x2000) == nullptr);
    CHECK(f.tree.find_first_overlap(0x0, 0x2001)->cookie == 1);
    CHECK(f.tree.find_first_overlap(0x2fff, 0x9000)->cookie == 1);
    CHECK(f.tree.find_first_overlap(0x3000, 0x9000)->cookie == 2);
    CHECK(f.tree.find_first_overlap(0x3000, 0x5000) == nullptr);
    CHECK(f.tree.find_first_overlap(0x5000, 0x5000) == nullptr);
}

namespace {

// The model: an unsorted list of regions, every operation written the obvious slow way.
struct Model {
    std::vector<Region> regions;

    static bool overlaps(const Region& r, uint64_t start, uint64_t end) {
        return r.start < end && start < r.end;
    }

    void sort() {
        std::sort(regions.begin(), regions.end(),
                  [](const Region& a, const Region& b) { return a.start < b.start; });
    }

    const Region* find(uint64_t address) const {
        for (const Region& r : regions) {
            if (r.start <= address && address < r.end)
                return &r;
        }
        return nullptr;
    }

    bool free_range(uint64_t start, uint64_t end) const {
        for (const Region& r : regions) {
            if (overlaps(r, start, end))
                return false;
        }
        return true;
    }

    // Splits every region at `address` when it lies strictly inside.
    void split(uint64_t address) {
        for (size_t i = 0; i < regions.size(); ++i) {
            Region r = regions[i];
            if (r.start < address && address < r.end) {
                Region tail = r;
                tail.start = address;
                tail.offset = r.offset + (address - r.start);
                regions[i].end = address;
                regions.push_back(tail);
                return;
            }
        }
    }

    size_t touched(uint64_t start, uint64_t end) const {
        size_t n = 0;
        for (const Region& r : regions)
            n += overlaps(r, start, end) ? 1 : 0;
        return n;
    }

    bool covered(uint64_t start, uint64_t end) const {
        for (uint64_t a = start; a < end; ++a) {
            if (!find(a))
                return false;
        }
        return true;
    }

    size_t splits_needed(uint64_t start, uint64_t end) const {
        size_t n = 0;
        for (const Region& r : regions) {
            if (r.start < start && start < r.end)
                ++n;
            if (r.start < end && end < r.end)
                ++n;
        }
        return n;
    }

    bool remove_range_splits(uint64_t start, uint64_t end) const {
        for (const Region& r : regions) {
            if (r.start < start && end < r.end)
                return true;
        }
        return false;
    }

    void remove_range(uint64_t start, uint64_t end) {
        split(start);
        split(end);
        std::vector<Region> kept;
        for (const Region& r : regions) {
            if (!(r.start >= start && r.end <= end))
                kept.push_back(r);
        }
        regions = kept;
        sort();
    }

    void protect(uint64_t start, uint64_t end, uint32_t protection) {
        split(start);
        split(end);
        for (Region& r : regions) {
            if (r.start >= start && r.end <= end)
                r.protection = protection;
        }
        sort();
    }

    // Tries every aligned address from the bottom up.
    bool find_gap(uint64_t size, uint64_t alignment, uint64_t low, uint64_t high,
                  uint64_t* out) const {
        uint64_t candidate = (low + alignment - 1) / alignment * alignment;
        for (; candidate + size <= high; candidate += alignment) {
            if (free_range(candidate, candidate + size)) {
                *out = candidate;
                return true;
            }
        }
        return false;
    }
};

} // namespace

TEST_CASE("random operations match a naive model of the region map") {
    constexpr uint64_t kSpace = 512; // small enough that the model can test every address
    constexpr size_t kCapacity = 24;
    // Counts each outcome so the test can show the walk reached all of them.
    std::map<std::string, int> outcomes;
    for (uint32_t seed : {1u, 2u, 3u, 0xC0FFEEu}) {
        INFO("seed " << seed);
        std::mt19937_64 rng(seed);
        Fixture<kCapacity> f;
        Model model;
        auto random_range = [&](uint64_t* start, uint64_t* end) {
            *start = rng() % kSpace;
            // Short ranges often fall strictly inside a region, which is what splits.
            *end = *start + 1 + rng() % (rng() % 2 == 0 ? 64 : 4);
        };

        for (int step = 0; step < 4000; ++step) {
            uint64_t start, end;
            random_range(&start, &end);
            uint32_t op = rng() % 7;
            if (op <= 1) {
                Region r = region(start, end, uint32_t(rng() % 8), uintptr_t(rng() % 5),
                                  rng() % 0x10000, uint32_t(rng() % 3));
                auto result = f.tree.insert(r);
                if (!model.free_range(start, end)) {
                    REQUIRE(result.error() == Error::ALREADY_EXISTS);
                    ++outcomes["insert overlap"];
                } else if (model.regions.size() == kCapacity) {
                    REQUIRE(result.error() == Error::QUOTA_EXCEEDED);
                    ++outcomes["insert full"];
                } else {
                    REQUIRE(result.ok());
                    ++outcomes["insert"];
                    model.regions.push_back(r);
                    model.sort();
                }
            } else if (op == 2) {
                // Exact removal of an existing region, or of a range that is not one.
                if (!model.regions.empty() && rng() % 2 == 0) {
                    Region target = model.regions[rng() % model.regions.size()];
                    auto removed = f.tree.remove(target.start, target.end);
                    REQUIRE(removed.ok());
                    REQUIRE(same(removed.value(), target));
                    ++outcomes["remove"];
                    model.remove_range(target.start, target.end);
                } else {
                    bool exact = false;
                    for (const Region& r : model.regions)
                        exact |= r.start == start && r.end == end;
                    auto removed = f.tree.remove(start, end);
                    REQUIRE(removed.ok() == exact);
                    ++outcomes[exact ? "remove" : "remove missing"];
                    if (exact)
                        model.remove_range(start, end);
                }
            } else if (op == 3) {
                size_t touched = model.touched(start, end);
                bool needs_slot = model.remove_range_splits(start, end);
                std::vector<Region> pieces;
                auto result = f.tree.remove_range(
                    start, end, [&](const Region& piece) { pieces.push_back(piece); });
                if (needs_slot && model.regions.size() == kCapacity) {
                    REQUIRE(result.error() == Error::QUOTA_EXCEEDED);
                    REQUIRE(pieces.empty());
                    ++outcomes["remove_range full"];
                } else {
                    REQUIRE(result.ok());
                    ++outcomes[needs_slot ? "remove_range split" : "remove_range"];
                    REQUIRE(result.value() == touched);
                    uint64_t removed_bytes = 0;
                    for (const Region& piece : pieces) {
                        REQUIRE(piece.start >= start);
                        REQUIRE(piece.end <= end);
                        const Region* owner = model.find(piece.start);
                        REQUIRE(owner != nullptr);
                        REQUIRE(piece.offset == owner->offset + (piece.start - owner->start));
                        REQUIRE(piece.cookie == owner->cookie);
                        removed_bytes += piece.size();
                    }
                    uint64_t mapped = 0;
                    for (uint64_t a = start; a < end; ++a)
                        mapped += model.find(a) ? 1 : 0;
                    REQUIRE(removed_bytes == mapped);
                    model.remove_range(start, end);
                }
            } else if (op == 4) {
                uint32_t protection = uint32_t(rng() % 8);
                auto result = f.tree.protect(start, end, protection);
                if (!model.covered(start, end)) {
                    REQUIRE(result.error() == Error::NOT_FOUND);
                    ++outcomes["protect hole"];
                } else if (model.regions.size() + model.splits_needed(start, end) > kCapacity) {
                    REQUIRE(result.error() == Error::QUOTA_EXCEEDED);
                    ++outcomes["protect full"];
                } else {
                    REQUIRE(result.ok());
                    ++outcomes["protect"];
                    model.protect(start, end, protection);
                }
            } else if (op == 5) {
                uint64_t size = 1 + rng() % 48;
                uint64_t alignment = uint64_t(1) << (rng() % 6);
                uint64_t low = rng() % kSpace;
                uint64_t high = low + 1 + rng() % kSpace;
                uint64_t expected = 0;
                bool exists = model.find_gap(size, alignment, low, high, &expected);
                auto found = f.tree.find_gap(size, alignment, low, high);
                REQUIRE(found.ok() == exists);
                ++outcomes[exists ? "gap" : "no gap"];
                if (exists)
                    REQUIRE(found.value() == expected);
            } else {
                uint64_t address = rng() % (kSpace + 64);
                auto result = f.tree.split_at(address);
                bool inside = false;
                for (const Region& r : model.regions)
                    inside |= r.start < address && address < r.end;
                if (inside && model.regions.size() == kCapacity) {
                    REQUIRE(result.error() == Error::QUOTA_EXCEEDED);
                } else {
                    REQUIRE(result.ok());
                    model.split(address);
                    model.sort();
                }
            }

            // Same regions, same order, the same count of no-access regions, and every
            // address resolves alike (find() with its last-hit hint against a plain scan).
            REQUIRE(same_contents(model.regions, contents(f.tree)));
            size_t no_access = 0;
            for (const Region& r : model.regions)
                no_access += r.protection == 0 ? 1 : 0;
            REQUIRE(f.tree.no_access_count() == no_access);
            for (uint64_t a = 0; a < kSpace + 64; a += 7) {
                const Region* expected = model.find(a);
                const Region* actual = f.tree.find(a);
                REQUIRE((expected == nullptr) == (actual == nullptr));
                if (expected)
                    REQUIRE(same(*expected, *actual));
            }
        }
    }
    for (const char* outcome :
         {"insert", "insert overlap", "insert full", "remove", "remove missing", "remove_range",
          "remove_range split", "remove_range full", "protect", "protect hole", "protect full",
          "gap", "no gap"}) {
        INFO(outcome);
        CHECK(outcomes[outcome] > 0);
    }
}

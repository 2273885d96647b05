// Tests for the copy-on-write holder counts (kernel/mm/page_shares.cpp), against a plain
// map as the model.

#include <catch2/catch.hpp>
#include <kernel/mm/page_shares.h>

#include <cstdlib>
#include <map>
#include <random>

using kernel::mm::PageShares;

namespace {

int g_live_blocks = 0;
bool g_fail_next = false;
size_t g_last_bytes = 0;

void* test_allocate(size_t bytes) {
    g_last_bytes = bytes;
    if (g_fail_next) {
        g_fail_next = false;
        return nullptr;
    }
    ++g_live_blocks;
    return std::malloc(bytes);
}

void test_release(void* memory) {
    --g_live_blocks;
    std::free(memory);
}

constexpr uint64_t page(uint64_t n) { return n << 12; }

} // namespace

TEST_CASE("an unrecorded page has one holder and no storage is used", "[page_shares]") {
    PageShares shares(test_allocate, test_release);
    CHECK(shares.holders(page(5)) == 1);
    CHECK(shares.release(page(5)) == 0);
    CHECK(shares.capacity() == 0);
    CHECK(g_live_blocks == 0);
}

TEST_CASE("share and release count holders; the last holder owns the page again", "[page_shares]") {
    PageShares shares(test_allocate, test_release);
    REQUIRE(shares.reserve(1).ok());
    shares.share(page(7));
    CHECK(shares.holders(page(7)) == 2);
    shares.share(page(7)); // a second clone: no new entry, no reservation needed
    CHECK(shares.holders(page(7)) == 3);
    shares.end_reservation();
    CHECK(shares.release(page(7)) == 2);
    CHECK(shares.release(page(7)) == 1);
    CHECK(shares.holders(page(7)) == 1);
    CHECK(shares.shared_pages() == 0);
    // Storage goes back with the last shared page.
    CHECK(shares.capacity() == 0);
    CHECK(g_live_blocks == 0);
    CHECK(shares.release(page(7)) == 0);
}

TEST_CASE("a reservation that cannot be allocated fails and changes nothing", "[page_shares]") {
    PageShares shares(test_allocate, test_release);
    g_fail_next = true;
    CHECK(shares.reserve(10).error() == base::Error::NO_MEMORY);
    CHECK(shares.capacity() == 0);
    REQUIRE(shares.reserve(3).ok());
    shares.share(page(1));
    g_fail_next = true;
    CHECK(shares.reserve(1000).error() == base::Error::NO_MEMORY);
    CHECK(shares.holders(page(1)) == 2);
    shares.end_reservation();
    CHECK(shares.release(page(1)) == 1);
    CHECK(g_live_blocks == 0);
}

TEST_CASE("random shares and releases agree with a model", "[page_shares]") {
    PageShares shares(test_allocate, test_release);
    std::map<uint64_t, uint32_t> model; // holders of recorded pages (>= 2)
    std::mt19937_64 rng(12345);
    for (int round = 0; round < 200; ++round) {
        // A clone: many consecutive frames (as a task's pages often are) and some others.
        std::vector<uint64_t> batch;
        uint64_t base = rng() % 4096;
        for (int i = 0; i < 64; ++i)
            batch.push_back(i < 48 ? base + uint64_t(i) : rng() % 8192);
        size_t fresh = 0;
        for (uint64_t pfn : batch)
            fresh += model.count(pfn) ? 0 : 1;
        REQUIRE(shares.reserve(fresh).ok());
        for (uint64_t pfn : batch) {
            if (model.count(pfn)) {
                ++model[pfn];
            } else {
                model[pfn] = 2;
                // A page listed twice in one batch: counted fresh once only.
            }
            shares.share(page(pfn));
        }
        shares.end_reservation();
        // Releases: a random part of what is recorded.
        for (auto it = model.begin(); it != model.end();) {
            if (rng() % 3 == 0) {
                uint32_t left = shares.release(page(it->first));
                REQUIRE(left == it->second - 1);
                if (--it->second == 1)
                    it = model.erase(it);
                else
                    ++it;
            } else {
                ++it;
            }
        }
        REQUIRE(shares.shared_pages() == model.size());
        for (int probe = 0; probe < 100; ++probe) {
            uint64_t pfn = rng() % 8192;
            auto it = model.find(pfn);
            REQUIRE(shares.holders(page(pfn)) == (it == model.end() ? 1u : it->second));
        }
    }
    for (auto& [pfn, holders] : model)
        while (holders-- > 1)
            shares.release(page(pfn));
    CHECK(shares.shared_pages() == 0);
    CHECK(g_live_blocks == 0);
}

TEST_CASE("many holders of one frame, and 128 Ki frames in a 2 MiB table", "[page_shares]") {
    PageShares shares(test_allocate, test_release);
    REQUIRE(shares.reserve(1).ok());
    for (int i = 0; i < 1000; ++i)
        shares.share(page(3));
    shares.end_reservation();
    CHECK(shares.holders(page(3)) == 1001);
    for (uint32_t left = 1000; left >= 1; --left)
        REQUIRE(shares.release(page(3)) == left);
    CHECK(g_live_blocks == 0);
    // What the kernel heap's largest block (just under 4 MiB) allows.
    REQUIRE(shares.reserve(128 * 1024).ok());
    CHECK(g_last_bytes == 2u << 20);
    CHECK(shares.capacity() == 256u * 1024);
    // Frames far up in physical memory keep their numbers.
    shares.share(page((1ull << 39) - 5));
    shares.end_reservation();
    CHECK(shares.holders(page((1ull << 39) - 5)) == 2);
    CHECK(shares.release(page((1ull << 39) - 5)) == 1);
    CHECK(g_live_blocks == 0);
}

TEST_CASE("share_growing makes room as it goes and fails cleanly", "[page_shares]") {
    PageShares shares(test_allocate, test_release);
    // Nothing reserved: the table is made, then doubled, as pages come.
    for (uint64_t pfn = 100; pfn < 1100; ++pfn)
        REQUIRE(shares.share_growing(page(pfn)).ok());
    REQUIRE(shares.share_growing(page(100)).ok()); // recorded: one more holder, no room
    shares.end_reservation();
    CHECK(shares.shared_pages() == 1000);
    CHECK(shares.capacity() >= 2000);
    CHECK(shares.holders(page(100)) == 3);
    CHECK(shares.holders(page(1099)) == 2);
    CHECK(shares.holders(page(1100)) == 1);
    // A table that cannot grow: the page stays unrecorded, the others as they were.
    size_t capacity = shares.capacity();
    for (uint64_t pfn = 2000; shares.capacity() == capacity; ++pfn) {
        g_fail_next = true;
        base::Result<void> r = shares.share_growing(page(pfn));
        if (r.is_error()) {
            CHECK(r.error() == base::Error::NO_MEMORY);
            CHECK(shares.holders(page(pfn)) == 1);
            break;
        }
        g_fail_next = false;
    }
    shares.end_reservation();
    CHECK(shares.holders(page(500)) == 2);
    for (uint64_t pfn = 100; pfn < 3000; ++pfn)
        while (shares.holders(page(pfn)) > 1)
            shares.release(page(pfn));
    CHECK(shares.shared_pages() == 0);
    CHECK(g_live_blocks == 0);
}

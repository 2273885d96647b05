// Tests for the memory map sanitizer: the firmware map is outside input, so besides the
// ordinary cases these feed it everything a broken or hostile firmware could produce.

#include <catch2/catch.hpp>
#include <kernel/mm/memory_map.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using kernel::mm::FirmwareRange;
using kernel::mm::kFirmwareAvailable;
using kernel::mm::kFirmwareReserved;
using kernel::mm::kPageSize;
using kernel::mm::kPhysAddressLimit;
using kernel::mm::MemoryMapStats;
using kernel::mm::PhysRange;

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;

FirmwareRange avail(uint64_t base, uint64_t length) { return {base, length, kFirmwareAvailable}; }
FirmwareRange resv(uint64_t base, uint64_t length, uint32_t type = kFirmwareReserved) {
    return {base, length, type};
}

struct Outcome {
    bool ok;
    base::Error error;
    std::vector<PhysRange> ranges;
    MemoryMapStats stats;
};

Outcome run(std::vector<FirmwareRange> firmware, std::vector<PhysRange> reserved = {},
            size_t capacity = 64) {
    std::vector<PhysRange> out(capacity, PhysRange{0xdead, 0xbeef});
    Outcome outcome{};
    auto result = kernel::mm::sanitize_memory_map(
        base::Span<const FirmwareRange>(firmware.data(), firmware.size()),
        base::Span<const PhysRange>(reserved.data(), reserved.size()),
        base::Span<PhysRange>(out.data(), out.size()), outcome.stats);
    outcome.ok = result.ok();
    if (result.ok()) {
        out.resize(result.value());
        outcome.ranges = out;
        outcome.error = base::Error::OK;
    } else {
        outcome.error = result.error();
        outcome.ranges = out;
    }
    return outcome;
}

bool same(const std::vector<PhysRange>& a, const std::vector<PhysRange>& b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].base != b[i].base || a[i].length != b[i].length)
            return false;
    }
    return true;
}

std::string describe(const std::vector<PhysRange>& ranges) {
    std::string text;
    char buffer[64];
    for (const auto& range : ranges) {
        std::snprintf(buffer, sizeof buffer, "[%#llx, %#llx) ",
                      static_cast<unsigned long long>(range.base),
                      static_cast<unsigned long long>(range.end()));
        text += buffer;
    }
    return text;
}

#define CHECK_RANGES(outcome, ...)                                                                 \
    do {                                                                                           \
        std::vector<PhysRange> expected_ranges{__VA_ARGS__};                                       \
        INFO("got " << describe((outcome).ranges) << " expected " << describe(expected_ranges));   \
        CHECK((outcome).ok);                                                                       \
        CHECK(same((outcome).ranges, expected_ranges));                                            \
    } while (0)

void check_well_formed(const std::vector<PhysRange>& ranges) {
    for (size_t i = 0; i < ranges.size(); ++i) {
        CHECK(ranges[i].length > 0);
        CHECK(ranges[i].base % kPageSize == 0);
        CHECK(ranges[i].length % kPageSize == 0);
        CHECK(ranges[i].end() <= kPhysAddressLimit);
        if (i > 0)
            CHECK(ranges[i - 1].end() < ranges[i].base); // disjoint and not even touching
    }
}

} // namespace

TEST_CASE("memory map: a single available range passes through", "[mm][memory_map]") {
    auto outcome = run({avail(1 * MiB, 15 * MiB)});
    CHECK_RANGES(outcome, {1 * MiB, 15 * MiB});
    CHECK(outcome.stats.usable_bytes == 15 * MiB);
    CHECK(outcome.stats.available_entries == 1);
    CHECK(outcome.stats.malformed_dropped() == 0);
}

TEST_CASE("memory map: empty input gives no ranges", "[mm][memory_map]") {
    auto outcome = run({});
    CHECK_RANGES(outcome);
    CHECK(outcome.stats.usable_bytes == 0);
}

TEST_CASE("memory map: a typical QEMU map with kernel reservations", "[mm][memory_map]") {
    // The map QEMU's SeaBIOS reports for -m 512, with the kernel image at 1 MiB,
    // a boot module at 8 MiB and the Multiboot information inside the kernel's bss.
    auto outcome = run(
        {
            avail(0, 0x9fc00),
            resv(0x9fc00, 0x400),
            resv(0xf0000, 0x10000),
            avail(0x100000, 0x1fee0000),
            resv(0x1ffe0000, 0x20000),
            resv(0xfffc0000, 0x40000),
        },
        {kernel::mm::kLowMemoryReserve, {1 * MiB, 2 * MiB + 123}, {8 * MiB, 300 * KiB}});
    CHECK_RANGES(outcome, {3 * MiB + kPageSize, 5 * MiB - kPageSize},
                 {8 * MiB + 300 * KiB, 0x1ffe0000 - (8 * MiB + 300 * KiB)});
    CHECK(outcome.stats.firmware_entries == 6);
    CHECK(outcome.stats.available_entries == 2);
    CHECK(outcome.stats.reserved_entries == 4);
    CHECK(outcome.stats.malformed_dropped() == 0);
}

TEST_CASE("memory map: unsorted entries give sorted output", "[mm][memory_map]") {
    auto outcome =
        run({avail(64 * MiB, 8 * MiB), avail(1 * MiB, 1 * MiB), avail(16 * MiB, 4 * MiB)});
    CHECK_RANGES(outcome, {1 * MiB, 1 * MiB}, {16 * MiB, 4 * MiB}, {64 * MiB, 8 * MiB});
}

TEST_CASE("memory map: overlapping available entries merge", "[mm][memory_map]") {
    auto outcome = run({avail(3 * MiB, 5 * MiB), avail(1 * MiB, 4 * MiB), avail(2 * MiB, 1 * MiB)});
    CHECK_RANGES(outcome, {1 * MiB, 7 * MiB});
    CHECK(outcome.stats.overlapping_available == 2); // [2M,3M) only touches [3M,8M)
}

TEST_CASE("memory map: touching available entries merge", "[mm][memory_map]") {
    auto outcome = run({avail(2 * MiB, 1 * MiB), avail(1 * MiB, 1 * MiB), avail(3 * MiB, 1 * MiB)});
    CHECK_RANGES(outcome, {1 * MiB, 3 * MiB});
    CHECK(outcome.stats.overlapping_available == 0);
}

TEST_CASE("memory map: duplicate entries are harmless", "[mm][memory_map]") {
    auto outcome = run({avail(1 * MiB, 1 * MiB), avail(1 * MiB, 1 * MiB), avail(1 * MiB, 1 * MiB)});
    CHECK_RANGES(outcome, {1 * MiB, 1 * MiB});
}

TEST_CASE("memory map: a reserved firmware entry splits available memory", "[mm][memory_map]") {
    auto outcome = run({avail(1 * MiB, 15 * MiB), resv(4 * MiB, 1 * MiB)});
    CHECK_RANGES(outcome, {1 * MiB, 3 * MiB}, {5 * MiB, 11 * MiB});
    CHECK(outcome.stats.available_reserved_conflicts == 1);
}

TEST_CASE("memory map: reserved wins regardless of entry order", "[mm][memory_map]") {
    auto a = run({resv(4 * MiB, 1 * MiB), avail(1 * MiB, 15 * MiB)});
    auto b = run({avail(1 * MiB, 15 * MiB), resv(4 * MiB, 1 * MiB)});
    CHECK(same(a.ranges, b.ranges));
    CHECK_RANGES(a, {1 * MiB, 3 * MiB}, {5 * MiB, 11 * MiB});
}

TEST_CASE("memory map: reserved entries overlapping the edges trim available memory",
          "[mm][memory_map]") {
    auto outcome = run({avail(4 * MiB, 4 * MiB), resv(3 * MiB, 2 * MiB), resv(7 * MiB, 2 * MiB)});
    CHECK_RANGES(outcome, {5 * MiB, 2 * MiB});
}

TEST_CASE("memory map: a reserved entry covering everything leaves nothing", "[mm][memory_map]") {
    auto outcome = run({avail(1 * MiB, 15 * MiB), resv(0, 1 * GiB)});
    CHECK_RANGES(outcome);
}

TEST_CASE("memory map: every non-available type is reserved", "[mm][memory_map]") {
    for (uint32_t type : {0u, 2u, 3u, 4u, 5u, 6u, 7u, 12u, 0xffffffffu}) {
        INFO("type " << type);
        auto outcome = run({avail(1 * MiB, 15 * MiB), resv(2 * MiB, 1 * MiB, type)});
        CHECK_RANGES(outcome, {1 * MiB, 1 * MiB}, {3 * MiB, 13 * MiB});
        bool unknown = type == 0 || type > 5;
        CHECK(outcome.stats.unknown_type_entries == (unknown ? 1u : 0u));
    }
}

TEST_CASE("memory map: caller reservations carve out memory", "[mm][memory_map]") {
    auto outcome = run({avail(0, 64 * MiB)},
                       {kernel::mm::kLowMemoryReserve, {2 * MiB, 1 * MiB}, {10 * MiB, 6 * MiB}});
    CHECK_RANGES(outcome, {1 * MiB, 1 * MiB}, {3 * MiB, 7 * MiB}, {16 * MiB, 48 * MiB});
}

TEST_CASE("memory map: overlapping caller reservations", "[mm][memory_map]") {
    auto outcome =
        run({avail(0, 16 * MiB)}, {{2 * MiB, 3 * MiB}, {4 * MiB, 2 * MiB}, {3 * MiB, 1 * MiB}});
    CHECK_RANGES(outcome, {0, 2 * MiB}, {6 * MiB, 10 * MiB});
}

TEST_CASE("memory map: unaligned available ranges shrink inward", "[mm][memory_map]") {
    auto outcome = run({avail(0x1001, 0x5fff - 0x1001)});
    CHECK_RANGES(outcome, {0x2000, 0x3000});
    CHECK(outcome.stats.alignment_loss_bytes == (0x5fff - 0x1001) - 0x3000);
}

TEST_CASE("memory map: an unaligned reservation takes whole pages", "[mm][memory_map]") {
    auto outcome = run({avail(0x1000, 0x7000)}, {{0x3001, 1}});
    CHECK_RANGES(outcome, {0x1000, 0x2000}, {0x4000, 0x4000});
}

TEST_CASE("memory map: an unaligned reserved firmware entry takes whole pages",
          "[mm][memory_map]") {
    auto outcome = run({avail(0x1000, 0x7000), resv(0x2fff, 2)});
    CHECK_RANGES(outcome, {0x1000, 0x1000}, {0x4000, 0x4000});
}

TEST_CASE("memory map: runs smaller than a page vanish", "[mm][memory_map]") {
    auto outcome = run({avail(0x1800, 0xc00), avail(0x10000, 0x1000)});
    CHECK_RANGES(outcome, {0x10000, 0x1000});
    CHECK(outcome.stats.runs_too_small == 1);
}

TEST_CASE("memory map: unaligned pieces that together cover a page are merged first",
          "[mm][memory_map]") {
    // Neither entry covers a page alone; their union does.
    auto outcome = run({avail(0x1000, 0x800), avail(0x1800, 0x800)});
    CHECK_RANGES(outcome, {0x1000, 0x1000});
}

TEST_CASE("memory map: zero-length entries are dropped and counted", "[mm][memory_map]") {
    auto outcome = run({avail(1 * MiB, 0), avail(2 * MiB, 1 * MiB), resv(2 * MiB, 0), avail(0, 0)},
                       {{2 * MiB, 0}});
    CHECK_RANGES(outcome, {2 * MiB, 1 * MiB});
    CHECK(outcome.stats.dropped_zero_length == 3);
    CHECK(outcome.stats.reserved_ranges_ignored == 1);
    CHECK(outcome.stats.malformed_dropped() == 3);
}

TEST_CASE("memory map: available entries that wrap past 2^64 are dropped", "[mm][memory_map]") {
    auto outcome = run({
        avail(1 * MiB, UINT64_MAX),
        avail(0xfffffffffffff000ull, 0x2000),
        avail(UINT64_MAX, 2),
        avail(4 * MiB, 1 * MiB),
    });
    CHECK_RANGES(outcome, {4 * MiB, 1 * MiB});
    CHECK(outcome.stats.dropped_wrapping == 3);
}

TEST_CASE("memory map: an entry ending exactly at 2^64 does not wrap", "[mm][memory_map]") {
    auto outcome = run({avail(0xfffffffffffff000ull, 0x1000), avail(1 * MiB, 1 * MiB)});
    CHECK_RANGES(outcome, {1 * MiB, 1 * MiB});
    CHECK(outcome.stats.dropped_wrapping == 0);
    CHECK(outcome.stats.dropped_beyond_limit == 1);
}

TEST_CASE("memory map: a wrapping reserved entry reserves up to the limit", "[mm][memory_map]") {
    auto outcome = run({avail(1 * MiB, 64 * MiB), resv(8 * MiB, UINT64_MAX)});
    CHECK_RANGES(outcome, {1 * MiB, 7 * MiB});
    CHECK(outcome.stats.reserved_wrapping == 1);
}

TEST_CASE("memory map: a wrapping caller reservation reserves up to the limit",
          "[mm][memory_map]") {
    auto outcome = run({avail(1 * MiB, 64 * MiB)}, {{8 * MiB, UINT64_MAX}});
    CHECK_RANGES(outcome, {1 * MiB, 7 * MiB});
    CHECK(outcome.stats.reserved_ranges_clipped == 1);
}

TEST_CASE("memory map: memory beyond the physical address limit is dropped or clipped",
          "[mm][memory_map]") {
    auto outcome = run({
        avail(uint64_t(1) << 60, 1 * GiB),
        avail(kPhysAddressLimit - 1 * MiB, 2 * MiB),
        avail(1 * MiB, 1 * MiB),
    });
    CHECK_RANGES(outcome, {1 * MiB, 1 * MiB}, {kPhysAddressLimit - 1 * MiB, 1 * MiB});
    CHECK(outcome.stats.dropped_beyond_limit == 1);
    CHECK(outcome.stats.clipped_at_limit == 1);
}

TEST_CASE("memory map: memory above 4 GiB with holes", "[mm][memory_map]") {
    auto outcome = run({avail(4 * GiB, 4 * GiB), avail(1 * MiB, 2 * GiB), resv(3 * GiB, 1 * GiB),
                        avail(64 * GiB, 1 * GiB)});
    CHECK_RANGES(outcome, {1 * MiB, 2 * GiB}, {4 * GiB, 4 * GiB}, {64 * GiB, 1 * GiB});
}

TEST_CASE("memory map: too small an output buffer reports NO_SPACE", "[mm][memory_map]") {
    auto outcome =
        run({avail(1 * MiB, 1 * MiB), avail(4 * MiB, 1 * MiB), avail(8 * MiB, 1 * MiB)}, {}, 2);
    REQUIRE_FALSE(outcome.ok);
    CHECK(outcome.error == base::Error::NO_SPACE);
    CHECK(outcome.stats.ranges_needed == 3);
    // The buffer holds the first ranges, in order.
    CHECK(outcome.ranges[0].base == 1 * MiB);
    CHECK(outcome.ranges[1].base == 4 * MiB);

    auto exact =
        run({avail(1 * MiB, 1 * MiB), avail(4 * MiB, 1 * MiB), avail(8 * MiB, 1 * MiB)}, {}, 3);
    CHECK(exact.ok);
    CHECK(exact.ranges.size() == 3);

    auto none = run({avail(1 * MiB, 1 * MiB)}, {}, 0);
    CHECK(none.error == base::Error::NO_SPACE);
    auto empty_ok = run({resv(1 * MiB, 1 * MiB)}, {}, 0);
    CHECK(empty_ok.ok);
}

TEST_CASE("memory map: statistics are reset on every call", "[mm][memory_map]") {
    MemoryMapStats stats;
    stats.dropped_zero_length = 99;
    stats.usable_bytes = 12345;
    FirmwareRange firmware[] = {avail(1 * MiB, 1 * MiB)};
    PhysRange out[4];
    auto result = kernel::mm::sanitize_memory_map(firmware, {}, out, stats);
    REQUIRE(result.ok());
    CHECK(result.value() == 1);
    CHECK(stats.dropped_zero_length == 0);
    CHECK(stats.usable_bytes == 1 * MiB);
}

TEST_CASE("memory map: random junk never breaks the output invariants", "[mm][memory_map]") {
    std::mt19937_64 random(0x7e4e);
    for (int round = 0; round < 300; ++round) {
        std::vector<FirmwareRange> firmware;
        int count = int(random() % 40);
        for (int i = 0; i < count; ++i) {
            FirmwareRange entry{random(), random(), uint32_t(random() % 8)};
            switch (random() % 4) {
            case 0: // fully random junk
                break;
            case 1: // plausible
                entry.base = random() % (64 * GiB);
                entry.length = random() % (4 * GiB);
                break;
            case 2: // near the top of the address space
                entry.base = UINT64_MAX - random() % (1 * GiB);
                break;
            default: // near the limit
                entry.base = kPhysAddressLimit - random() % (1 * GiB);
                entry.length = random() % (2 * GiB);
                break;
            }
            firmware.push_back(entry);
        }
        std::vector<PhysRange> reserved;
        for (int i = 0, n = int(random() % 4); i < n; ++i)
            reserved.push_back({random() % (64 * GiB), random() % (1 * GiB)});
        auto outcome = run(firmware, reserved, 128);
        REQUIRE(outcome.ok);
        check_well_formed(outcome.ranges);
        uint64_t sum = 0;
        for (const auto& range : outcome.ranges)
            sum += range.length;
        CHECK(sum == outcome.stats.usable_bytes);
    }
}

// A byte-granular reference on a small address space: a page is usable exactly when every
// byte of it is covered by an available entry and by no reservation.
TEST_CASE("memory map: matches a byte-level reference model", "[mm][memory_map]") {
    constexpr uint64_t kSpace = 256 * KiB;
    std::mt19937_64 random(20240101);
    for (int round = 0; round < 200; ++round) {
        std::vector<FirmwareRange> firmware;
        std::vector<PhysRange> reserved;
        std::vector<uint8_t> available(kSpace, 0), blocked(kSpace, 0);
        for (int i = 0, n = 1 + int(random() % 12); i < n; ++i) {
            uint64_t base = random() % kSpace;
            // Mostly short entries, sometimes one that runs past the top (or wraps).
            uint64_t length = random() % 8 == 0 ? UINT64_MAX - random() % 3 : random() % (64 * KiB);
            uint32_t type = random() % 3 == 0 ? uint32_t(random() % 7) : kFirmwareAvailable;
            firmware.push_back({base, length, type});
            bool wraps = length != 0 && length - 1 > UINT64_MAX - base;
            if (type == kFirmwareAvailable && wraps)
                continue; // dropped as malformed
            uint64_t end = wraps || length > kSpace - base ? kSpace : base + length;
            for (uint64_t b = base; b < end; ++b)
                (type == kFirmwareAvailable ? available : blocked)[b] = 1;
        }
        for (int i = 0, n = int(random() % 4); i < n; ++i) {
            uint64_t base = random() % kSpace;
            uint64_t length = random() % (16 * KiB);
            reserved.push_back({base, length});
            for (uint64_t b = base; b < base + length && b < kSpace; ++b)
                blocked[b] = 1;
        }
        auto outcome = run(firmware, reserved, 256);
        REQUIRE(outcome.ok);
        check_well_formed(outcome.ranges);

        std::vector<uint8_t> output_pages(kSpace / kPageSize, 0);
        for (const auto& range : outcome.ranges) {
            // An entry may run on past the modelled space (up to the physical limit); only
            // pages inside it are compared, and those do not depend on anything above.
            uint64_t end = std::min(range.end(), kSpace);
            for (uint64_t page = range.base / kPageSize; page < end / kPageSize; ++page)
                output_pages[page] = 1;
        }
        for (uint64_t page = 0; page < kSpace / kPageSize; ++page) {
            bool usable = true;
            for (uint64_t b = page * kPageSize; b < (page + 1) * kPageSize; ++b)
                usable = usable && available[b] && !blocked[b];
            INFO("round " << round << " page " << page);
            CHECK(bool(output_pages[page]) == usable);
        }
    }
}

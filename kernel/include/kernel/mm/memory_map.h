#pragma once

// The memory map sanitizer turns the firmware's description of physical memory (which
// may be unsorted, overlapping, zero-length, wrapping past 2^64 or simply junk) and the
// ranges the kernel must keep for itself into the one thing the page allocator accepts:
// sorted, disjoint, page-aligned ranges of memory that is certainly free to use.
//
// A byte is usable only if some available firmware entry covers it, and neither a
// reserved firmware entry nor a caller-reserved range covers it: reserved always wins.
// Usable runs are then shrunk inward to page boundaries. The firmware map is outside
// input, so nothing here asserts on it; oddities are counted in MemoryMapStats instead,
// for the kernel to log.

#include <base/result.h>
#include <base/span.h>
#include <kernel/mm/types.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::mm {

// Firmware memory types as Multiboot2 (and the E820 map beneath it) number them.
inline constexpr uint32_t kFirmwareAvailable = 1;
inline constexpr uint32_t kFirmwareReserved = 2;
inline constexpr uint32_t kFirmwareAcpiReclaimable = 3;
inline constexpr uint32_t kFirmwareAcpiNvs = 4;
inline constexpr uint32_t kFirmwareBadRam = 5;

// One entry of the firmware map, as Multiboot2 reports it. Only kFirmwareAvailable is
// usable; every other type, known or not, is treated as reserved.
struct FirmwareRange {
    uint64_t base;
    uint64_t length;
    uint32_t type;
};

// The low megabyte holds the real-mode IVT, the BIOS data area, the EBDA and option ROMs;
// the kernel passes this as one of its reserved ranges.
inline constexpr PhysRange kLowMemoryReserve{0, uint64_t(1) << 20};

struct MemoryMapStats {
    // Firmware entries seen, by outcome.
    size_t firmware_entries = 0;
    size_t available_entries = 0;    // type 1 entries that contributed memory
    size_t reserved_entries = 0;     // entries of any other type that took effect
    size_t unknown_type_entries = 0; // types outside 1..5, treated as reserved

    // Malformed firmware entries.
    size_t dropped_zero_length = 0;  // length 0, ignored
    size_t dropped_wrapping = 0;     // available, base + length passes 2^64: dropped
    size_t dropped_beyond_limit = 0; // available, starts at or above kPhysAddressLimit
    size_t clipped_at_limit = 0;     // available, truncated at kPhysAddressLimit
    size_t reserved_wrapping = 0;    // reserved and wrapping: kept, clipped to the limit

    // Firmware inconsistencies that were resolved rather than dropped.
    size_t overlapping_available = 0;        // pairs of available entries that overlap
    size_t available_reserved_conflicts = 0; // available entries overlapped by a reserved one

    // Caller-provided reserved ranges that were empty (ignored) or wrapped (clipped).
    size_t reserved_ranges_ignored = 0;
    size_t reserved_ranges_clipped = 0;

    // The result.
    size_t ranges_needed = 0;          // output ranges produced (may exceed the buffer)
    size_t runs_too_small = 0;         // usable runs that vanished under page alignment
    uint64_t usable_bytes = 0;         // sum of the output range lengths
    uint64_t alignment_loss_bytes = 0; // usable bytes lost to page alignment

    // Entries that were discarded outright because they were malformed.
    size_t malformed_dropped() const {
        return dropped_zero_length + dropped_wrapping + dropped_beyond_limit;
    }
};

// Writes the usable ranges, sorted and disjoint, to `out` and returns how many it wrote.
// Fails with Error::NO_SPACE when `out` is too small; `stats.ranges_needed` then says how
// many entries a retry needs and `out` holds the first out.size() ranges. `stats` is
// always filled. Runs in O((F + R)^2 * F) time for F firmware entries and R reserved
// ranges, using no memory besides `out`, because it runs before any allocator exists.
[[nodiscard]] base::Result<size_t> sanitize_memory_map(base::Span<const FirmwareRange> firmware,
                                                       base::Span<const PhysRange> reserved,
                                                       base::Span<PhysRange> out,
                                                       MemoryMapStats& stats);

} // namespace kernel::mm

// The memory map sanitizer. See <kernel/mm/memory_map.h> for the contract.
//
// It runs before any allocator exists and the firmware may describe memory in any order,
// so instead of sorting copies of the input it sweeps a cursor upward through the
// physical address space, each step asking the raw input "where does the next usable
// byte start, and how far does the usable run reach?". Every step moves the cursor to a
// range boundary, so the sweep ends after at most one step per boundary.

#include <base/utility.h>
#include <kernel/mm/memory_map.h>

namespace kernel::mm {

namespace {

// A half-open interval already clipped below kPhysAddressLimit, so end never overflows.
struct Interval {
    uint64_t start;
    uint64_t end;
};

// True when [base, base + length) runs past the last byte of the 64-bit space. A range
// that ends exactly at 2^64 is not wrapping, although its end is not representable.
constexpr bool wraps(uint64_t base, uint64_t length) {
    return length != 0 && length - 1 > UINT64_MAX - base;
}

enum class EntryKind {
    kIgnored,
    kAvailable,
    kReserved
};

// Normalises one firmware entry. Available memory that is malformed is dropped, since
// using memory the firmware did not clearly offer could corrupt the machine; reserved
// entries that are malformed are kept as far as they can be understood, since reserving
// too much only costs memory.
EntryKind classify(const FirmwareRange& entry, Interval& interval) {
    if (entry.length == 0 || entry.base >= kPhysAddressLimit)
        return EntryKind::kIgnored;
    bool wrapping = wraps(entry.base, entry.length);
    if (entry.type == kFirmwareAvailable && wrapping)
        return EntryKind::kIgnored;
    uint64_t end = (wrapping || entry.length > kPhysAddressLimit - entry.base)
                       ? kPhysAddressLimit
                       : entry.base + entry.length;
    interval = {entry.base, end};
    return entry.type == kFirmwareAvailable ? EntryKind::kAvailable : EntryKind::kReserved;
}

bool classify_reserved(const PhysRange& range, Interval& interval) {
    if (range.length == 0 || range.base >= kPhysAddressLimit)
        return false;
    uint64_t end =
        (wraps(range.base, range.length) || range.length > kPhysAddressLimit - range.base)
            ? kPhysAddressLimit
            : range.base + range.length;
    interval = {range.base, end};
    return true;
}

class Sweep {
public:
    Sweep(base::Span<const FirmwareRange> firmware, base::Span<const PhysRange> reserved)
        : m_firmware(firmware), m_reserved(reserved) {}

    // The lowest available address >= cursor, or false if there is none.
    bool next_available(uint64_t cursor, uint64_t& address) const {
        bool found = false;
        for (const FirmwareRange& entry : m_firmware) {
            Interval interval;
            if (classify(entry, interval) != EntryKind::kAvailable || interval.end <= cursor)
                continue;
            uint64_t candidate = base::max(interval.start, cursor);
            if (!found || candidate < address) {
                address = candidate;
                found = true;
            }
        }
        return found;
    }

    // If a reserved interval covers `address`, the end of the furthest-reaching one.
    bool reserved_cover_end(uint64_t address, uint64_t& end) const {
        bool covered = false;
        auto consider = [&](const Interval& interval) {
            if (interval.start <= address && address < interval.end
                && (!covered || interval.end > end)) {
                end = interval.end;
                covered = true;
            }
        };
        for (const FirmwareRange& entry : m_firmware) {
            Interval interval;
            if (classify(entry, interval) == EntryKind::kReserved)
                consider(interval);
        }
        for (const PhysRange& range : m_reserved) {
            Interval interval;
            if (classify_reserved(range, interval))
                consider(interval);
        }
        return covered;
    }

    // The end of the run of available memory that contains `address`, merging entries
    // that overlap or touch.
    uint64_t available_run_end(uint64_t address) const {
        uint64_t end = address;
        for (;;) {
            uint64_t reach = end;
            for (const FirmwareRange& entry : m_firmware) {
                Interval interval;
                if (classify(entry, interval) == EntryKind::kAvailable && interval.start <= end
                    && interval.end > reach)
                    reach = interval.end;
            }
            if (reach == end)
                return end;
            end = reach;
        }
    }

    // The lowest start of a reserved interval above `address`, or the limit.
    uint64_t next_reserved_start(uint64_t address) const {
        uint64_t next = kPhysAddressLimit;
        for (const FirmwareRange& entry : m_firmware) {
            Interval interval;
            if (classify(entry, interval) == EntryKind::kReserved && interval.start > address)
                next = base::min(next, interval.start);
        }
        for (const PhysRange& range : m_reserved) {
            Interval interval;
            if (classify_reserved(range, interval) && interval.start > address)
                next = base::min(next, interval.start);
        }
        return next;
    }

private:
    base::Span<const FirmwareRange> m_firmware;
    base::Span<const PhysRange> m_reserved;
};

bool overlaps(const Interval& a, const Interval& b) { return a.start < b.end && b.start < a.end; }

void count_input(base::Span<const FirmwareRange> firmware, base::Span<const PhysRange> reserved,
                 MemoryMapStats& stats) {
    stats.firmware_entries = firmware.size();
    for (size_t i = 0; i < firmware.size(); ++i) {
        const FirmwareRange& entry = firmware[i];
        bool available = entry.type == kFirmwareAvailable;
        if (entry.type < kFirmwareAvailable || entry.type > kFirmwareBadRam)
            ++stats.unknown_type_entries;
        if (entry.length == 0) {
            ++stats.dropped_zero_length;
            continue;
        }
        bool wrapping = wraps(entry.base, entry.length);
        if (available) {
            if (wrapping)
                ++stats.dropped_wrapping;
            else if (entry.base >= kPhysAddressLimit)
                ++stats.dropped_beyond_limit;
            else if (entry.length > kPhysAddressLimit - entry.base)
                ++stats.clipped_at_limit;
        } else if (wrapping) {
            ++stats.reserved_wrapping;
        }

        Interval interval;
        EntryKind kind = classify(entry, interval);
        if (kind == EntryKind::kIgnored)
            continue;
        if (kind == EntryKind::kReserved) {
            ++stats.reserved_entries;
            continue;
        }
        ++stats.available_entries;
        bool conflict = false;
        for (size_t j = 0; j < firmware.size(); ++j) {
            Interval other;
            EntryKind other_kind = classify(firmware[j], other);
            if (j == i || other_kind == EntryKind::kIgnored || !overlaps(interval, other))
                continue;
            if (other_kind == EntryKind::kReserved)
                conflict = true;
            else if (j > i)
                ++stats.overlapping_available;
        }
        if (conflict)
            ++stats.available_reserved_conflicts;
    }
    for (const PhysRange& range : reserved) {
        if (range.length == 0)
            ++stats.reserved_ranges_ignored;
        else if (wraps(range.base, range.length))
            ++stats.reserved_ranges_clipped;
    }
}

} // namespace

base::Result<size_t> sanitize_memory_map(base::Span<const FirmwareRange> firmware,
                                         base::Span<const PhysRange> reserved,
                                         base::Span<PhysRange> out, MemoryMapStats& stats) {
    stats = MemoryMapStats{};
    count_input(firmware, reserved, stats);

    Sweep sweep(firmware, reserved);
    size_t written = 0;
    uint64_t cursor = 0;
    uint64_t start = 0;
    while (sweep.next_available(cursor, start)) {
        uint64_t reserved_end = 0;
        if (sweep.reserved_cover_end(start, reserved_end)) {
            // Reserved wins: skip past the reservation and look again from there.
            cursor = reserved_end;
            continue;
        }
        // No reservation covers `start`, so every reservation that begins at or below it
        // also ends at or below it, and the run is cut only by one that begins above.
        uint64_t end = base::min(sweep.available_run_end(start), sweep.next_reserved_start(start));
        TERN_ASSERT(end > start);
        cursor = end;

        uint64_t aligned_start = base::align_up(start, kPageSize);
        uint64_t aligned_end = base::align_down(end, kPageSize);
        if (aligned_end <= aligned_start) {
            ++stats.runs_too_small;
            stats.alignment_loss_bytes += end - start;
            continue;
        }
        stats.alignment_loss_bytes += (end - start) - (aligned_end - aligned_start);
        stats.usable_bytes += aligned_end - aligned_start;
        ++stats.ranges_needed;
        if (written < out.size())
            out[written++] = PhysRange{aligned_start, aligned_end - aligned_start};
    }

    if (stats.ranges_needed > out.size())
        return base::Error::NO_SPACE;
    return written;
}

} // namespace kernel::mm

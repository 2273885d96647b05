#pragma once
// Multiboot2 boot-information parser. The information block comes from the boot loader
// and is treated as outside input: every length and offset is checked against the
// block's own size, and anything malformed is reported rather than trusted.
#include <base/result.h>
#include <base/string_view.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::mb2 {

inline constexpr uint32_t kBootloaderMagic = 0x36D76289;
// An information block larger than this is rejected as corrupt.
inline constexpr uint32_t kMaxInfoSize = 1u << 20;
inline constexpr size_t kMaxMemoryEntries = 128;
// The image carries the kernel's symbols, init, the boot file system and the programs the
// self-tests and benchmarks run (about 25 today); the rest is dropped and counted.
inline constexpr size_t kMaxModules = 32;

struct MemoryEntry {
    uint64_t base;
    uint64_t length;
    uint32_t type; // 1 available, 3 ACPI reclaimable, 4 ACPI NVS, 5 bad RAM, others reserved
};

struct Module {
    uint32_t start; // physical
    uint32_t end;   // physical, exclusive
    base::StringView name;
};

struct BootInfo {
    uint32_t total_size = 0;
    base::StringView cmdline;
    base::StringView loader_name;
    MemoryEntry memory[kMaxMemoryEntries];
    size_t memory_count = 0;
    Module modules[kMaxModules];
    size_t module_count = 0;
    bool has_memory_map = false;
    uint32_t basic_mem_lower_kib = 0;
    uint32_t basic_mem_upper_kib = 0;
    // The boot loader's copy of the ACPI RSDP (the 2.0 one when both are given), inside
    // the block and unchecked: acpi::parse_rsdp checks it.
    const uint8_t* rsdp = nullptr;
    size_t rsdp_size = 0;
    bool rsdp_new = false;
    // Problems found while parsing; the kernel logs each.
    uint32_t skipped_tags = 0;    // unknown tag types (normal; not an error)
    uint32_t malformed_tags = 0;  // sizes that do not fit, truncated entries, no end tag
    uint32_t dropped_memory = 0;  // memory entries beyond kMaxMemoryEntries
    uint32_t dropped_modules = 0; // modules beyond kMaxModules or with bad ranges
};

// Parses the block at `info` (whose first word is its total size). `available` bounds how
// many bytes may be read at all (the caller knows how much is mapped). The string views in
// the result point into the block. Errors: CORRUPT for an unusable block (size field
// smaller than the header, larger than `available` or kMaxInfoSize, misaligned).
[[nodiscard]] base::Result<void> parse(const uint8_t* info, size_t available, BootInfo& out);

} // namespace kernel::mb2

#pragma once
// ACPI table parser: finds the MADT (local APICs, I/O APICs, interrupt source overrides)
// and the MCFG (PCI Express ECAM windows) from the RSDP the boot loader copied.
//
// Firmware tables are outside input. Every table's length is checked against what can be
// read, every checksum is verified, and every entry must lie inside its table; anything
// malformed is refused with an error and recorded as a problem line the kernel logs, so
// a broken table never crashes the parser and never yields half-trusted data.
//
// The parser does not touch hardware: physical memory is read through a callback, which
// the kernel points at its direct map and the host tests at a buffer.
#include <base/result.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::acpi {

inline constexpr size_t kMaxCpus = 64;
inline constexpr size_t kMaxIoApics = 8;
inline constexpr size_t kMaxOverrides = 16;
inline constexpr size_t kMaxEcamWindows = 4;
inline constexpr size_t kMaxProblems = 8;
// A table longer than this is taken as corrupt (real MADTs and MCFGs are a few hundred
// bytes; the RSDT/XSDT lists a few dozen tables).
inline constexpr uint32_t kMaxTableLength = 64 * 1024;
inline constexpr size_t kHeaderLength = 36;

// Interrupt source override and NMI flags (MPS INTI flags).
inline constexpr uint16_t kPolarityMask = 0x3;
inline constexpr uint16_t kPolarityActiveHigh = 0x1;
inline constexpr uint16_t kPolarityActiveLow = 0x3;
inline constexpr uint16_t kTriggerMask = 0xC;
inline constexpr uint16_t kTriggerEdge = 0x4;
inline constexpr uint16_t kTriggerLevel = 0xC;

struct Rsdp {
    uint8_t revision = 0;
    uint32_t rsdt = 0; // physical address, 0 when absent
    uint64_t xsdt = 0; // physical address, 0 when absent (revision 0)
};

struct IoApic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;
};

// An ISA interrupt that does not arrive on the I/O APIC input of the same number, or that
// is not edge-triggered active-high.
struct Override {
    uint8_t bus;    // 0: ISA
    uint8_t source; // the ISA IRQ
    uint32_t gsi;
    uint16_t flags; // kPolarity* | kTrigger*; 0 in a field means "as the bus defines"
};

struct Madt {
    uint32_t lapic_address = 0;
    uint32_t flags = 0; // bit 0: the machine also has 8259 PICs
    uint8_t cpu_apic_ids[kMaxCpus] = {};
    size_t cpu_count = 0; // enabled (or online-capable) processors
    IoApic ioapics[kMaxIoApics] = {};
    size_t ioapic_count = 0;
    Override overrides[kMaxOverrides] = {};
    size_t override_count = 0;
    size_t dropped_entries = 0; // beyond the fixed tables above
};

struct EcamWindow {
    uint64_t base;
    uint16_t segment;
    uint8_t start_bus;
    uint8_t end_bus;
};

struct Mcfg {
    EcamWindow windows[kMaxEcamWindows] = {};
    size_t count = 0;
    size_t dropped = 0;
};

// One line for the boot log: the table's signature, `what`, then `value` in hex.
struct Problem {
    const char* what;
    uint64_t value;
    char table[5];
};

struct Problems {
    Problem list[kMaxProblems] = {};
    size_t count = 0;
    size_t dropped = 0;
    void add(const char* what, uint64_t value, const char* table = "ACPI");
};

// What the firmware described.
struct Tables {
    bool has_rsdp = false;
    bool has_madt = false;
    bool has_mcfg = false;
    Rsdp rsdp;
    Madt madt;
    Mcfg mcfg;
    Problems problems;
};

// Returns a pointer to `length` readable bytes at physical address `phys`, or null when
// the range cannot be read.
using ReadPhysical = const uint8_t* (*)(void* context, uint64_t phys, size_t length);

// Checks an RSDP (signature, the 20-byte checksum, and for revision 2 its length and the
// extended checksum) of which `size` bytes are available. CORRUPT otherwise.
[[nodiscard]] base::Result<Rsdp> parse_rsdp(const uint8_t* bytes, size_t size, Problems& problems);

// Checks a table header at `table` of which `available` bytes can be read: the signature,
// a length from the header size to `available` and kMaxTableLength, and the checksum.
// Returns the table's length. CORRUPT or NOT_FOUND (another signature).
[[nodiscard]] base::Result<uint32_t> check_table(const uint8_t* table, size_t available,
                                                 const char (&signature)[5], Problems& problems);

// Parse a checked table (header included; `length` from check_table).
[[nodiscard]] base::Result<void> parse_madt(const uint8_t* table, uint32_t length, Madt& out,
                                            Problems& problems);
[[nodiscard]] base::Result<void> parse_mcfg(const uint8_t* table, uint32_t length, Mcfg& out,
                                            Problems& problems);

// The whole walk: RSDP, then the XSDT (or the RSDT when there is no XSDT or it is broken),
// then the MADT and MCFG it lists. Fills `out`; what is missing or broken stays absent
// (has_madt / has_mcfg false) and is recorded in out.problems.
void discover(const uint8_t* rsdp, size_t rsdp_size, ReadPhysical read, void* context, Tables& out);

} // namespace kernel::acpi

#pragma once
// The I/O APICs: every input masked at boot, then configured (trigger, polarity, vector)
// and unmasked by IRQ objects. Where they are and how ISA IRQs reach them comes from the
// MADT; without a usable MADT the kernel assumes the PC's one I/O APIC at 0xFEC00000 with
// ISA IRQ n on input n.
#include <stddef.h>
#include <stdint.h>

namespace kernel::acpi {
struct Tables;
}

namespace kernel::x86_64 {

// Vectors: GSI g arrives on kGsiVectorBase + g; MSIs on [kMsiVectorBase, +kMsiVectorCount).
inline constexpr uint32_t kMaxGsis = 64;
inline constexpr uint8_t kGsiVectorBase = 64;
inline constexpr uint8_t kMsiVectorBase = kGsiVectorBase + kMaxGsis;
inline constexpr uint32_t kMsiVectorCount = 96;
static_assert(kMsiVectorBase + kMsiVectorCount <= 0xF0, "below the spurious vector");
inline constexpr uint32_t kIsaIrqs = 16;
inline constexpr uint32_t kDefaultIoApicPhys = 0xFEC00000;

struct IoApicUnit {
    uint8_t id;
    uint64_t phys;
    uint32_t gsi_base;
    uint32_t gsi_count;
};

// How an ISA IRQ arrives: its GSI and the trigger and polarity to program.
struct IsaRoute {
    uint32_t gsi;
    bool level;
    bool active_low;
};

// Maps the I/O APICs the tables name (or the fallback), masks every input, and logs what
// it did when it had to fall back.
void ioapic_init(const acpi::Tables& tables);
bool ioapic_from_madt();
size_t ioapic_count();
const IoApicUnit& ioapic_unit(size_t index);
// GSIs below this have an I/O APIC input and a vector (at most kMaxGsis).
uint32_t ioapic_gsi_count();
// ISA IRQ (< kIsaIrqs) to GSI, through the MADT's overrides.
IsaRoute ioapic_isa_route(uint32_t isa_irq);
// Programs a GSI's input (masked) for its vector; false when no I/O APIC has it.
bool ioapic_configure(uint32_t gsi, bool level, bool active_low);
void ioapic_set_masked(uint32_t gsi, bool masked);
// The low word of a GSI's redirection entry, for self-tests (0 when there is none).
uint32_t ioapic_read_entry(uint32_t gsi);

} // namespace kernel::x86_64

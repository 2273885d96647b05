#pragma once
// The I/O APIC: routes the ISA interrupt lines to the boot CPU, each masked until a driver
// binds it.
#include <stdint.h>

namespace kernel::x86_64 {

// The lines the kernel routes (the ISA lines 0..15).
inline constexpr uint32_t kIoApicLines = 16;

// Maps the I/O APIC, masks every line and calls on_line(line) from the interrupt handler
// of each (the local APIC is acknowledged after it returns).
void ioapic_init(void (*on_line)(uint32_t line));
// Masks or unmasks a line (edge-triggered, active high, to the boot CPU).
void ioapic_set_masked(uint32_t line, bool masked);

} // namespace kernel::x86_64

#pragma once
// Local APIC (xAPIC, MMIO) and its timer, the legacy PIT used to calibrate it, and the
// 8259 PICs, which Tern masks.
#include <stdint.h>

namespace kernel::x86_64 {

void pic_disable();
// `mmio` is the virtual address at which the LAPIC's 4 KiB register page is mapped
// uncached. Enables the APIC with the spurious vector.
void lapic_init(uint64_t mmio);
uint64_t lapic_phys_base();
uint32_t lapic_id();
void lapic_eoi();
// Sends `vector` to this CPU, as a device's MSI would arrive (self-tests).
void lapic_self_ipi(uint8_t vector);
// The MSI message that delivers `vector` to this CPU: fixed delivery, edge, physical
// destination mode.
void msi_compose(uint8_t vector, uint64_t& address, uint32_t& data);
// Measures the TSC frequency against PIT channel 2 and starts the monotonic clock;
// returns false (and assumes 1 GHz) when the PIT does not answer.
bool tsc_calibrate();
// Measures the LAPIC timer's frequency against the calibrated TSC.
void lapic_timer_calibrate();
// Starts the periodic timer interrupt at `hz` on kVecTimer.
void timer_start_periodic(uint32_t hz);
// One-shot deadline support for the scheduler: fire once after `ns`.
void timer_arm_oneshot_ns(uint64_t ns);

} // namespace kernel::x86_64

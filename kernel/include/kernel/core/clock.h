#pragma once
// The kernel's monotonic clock: nanoseconds since the TSC was calibrated at boot.
#include <stdint.h>

namespace kernel {

// 0 until the timer is calibrated.
uint64_t monotonic_ns();
bool clock_ready();
// Frequencies measured at boot against the PIT, for the banner and benchmarks.
uint64_t tsc_hz();
uint64_t lapic_timer_hz();
// Timer interrupts since boot.
uint64_t timer_ticks();

} // namespace kernel

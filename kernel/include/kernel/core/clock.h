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

// The wall clock: reads the CMOS clock once (after the TSC is calibrated) and keeps its
// offset from the monotonic clock. Logs the time read, or why there is none.
void wall_clock_init();
// Nanoseconds since 1970-01-01 00:00:00 UTC; monotonic_ns() when the CMOS clock could not
// be read. Moves forward with the monotonic clock.
uint64_t realtime_ns();

} // namespace kernel

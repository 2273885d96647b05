// The wall clock: the CMOS clock read once at boot, then advanced by the monotonic clock
// (base/calendar.h decodes the CMOS registers; the bus reads them the same way).
#include <base/calendar.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/core/clock.h>
#include <kernel/core/log.h>

namespace kernel {

namespace {

// Nanoseconds from 1970 to the moment the monotonic clock read 0; 0 without a CMOS clock.
uint64_t g_offset_ns = 0;

uint8_t cmos_register(uint8_t reg) {
    x86_64::outb(0x70, reg); // bit 7 clear: NMIs stay enabled
    return x86_64::inb(0x71);
}

void cmos_pause() { x86_64::pause(); }

} // namespace

void wall_clock_init() {
    base::CivilTime t;
    if (!base::cmos_read_time(cmos_register, cmos_pause, t)) {
        log::warn("clock: the CMOS clock does not answer; CLOCK_REALTIME counts from boot");
        return;
    }
    uint64_t now = monotonic_ns();
    int64_t seconds = base::unix_seconds(t);
    if (seconds < 0) {
        log::warn("clock: the CMOS clock says {}-{}-{} {}:{}:{}, not a date; CLOCK_REALTIME "
                  "counts from boot",
                  t.year, unsigned(t.month), unsigned(t.day), unsigned(t.hour), unsigned(t.minute),
                  unsigned(t.second));
        return;
    }
    g_offset_ns = uint64_t(seconds) * 1000000000ull - now;
    log::info("clock: {}-{:02}-{:02} {:02}:{:02}:{:02} UTC from the CMOS clock", t.year,
              unsigned(t.month), unsigned(t.day), unsigned(t.hour), unsigned(t.minute),
              unsigned(t.second));
}

uint64_t realtime_ns() { return g_offset_ns + monotonic_ns(); }

} // namespace kernel

// ---- Self-tests -----------------------------------------------------------------------
#include <kernel/test/ktest.h>

namespace {

KTEST(timer, wall_clock_is_a_date_after_2024_and_advances) {
    // 2024-01-01 00:00:00 UTC: QEMU's CMOS clock holds the host's time.
    constexpr uint64_t k2024 = 1704067200ull * 1000000000ull;
    uint64_t a = kernel::realtime_ns();
    for (volatile int i = 0; i < 100000; i = i + 1) {
    }
    uint64_t b = kernel::realtime_ns();
    KEXPECT(a > k2024);
    KEXPECT(b > a);
}

} // namespace

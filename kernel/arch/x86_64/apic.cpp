#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/trap.h>
#include <kernel/core/clock.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>

namespace kernel::x86_64 {

namespace {

enum LapicReg : uint32_t {
    kRegId = 0x20,
    kRegTpr = 0x80,
    kRegEoi = 0xB0,
    kRegIcrLow = 0x300,
    kRegIcrHigh = 0x310,
    kRegSvr = 0xF0,
    kRegLvtTimer = 0x320,
    kRegTimerInitial = 0x380,
    kRegTimerCurrent = 0x390,
    kRegTimerDivide = 0x3E0,
};
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtPeriodic = 1u << 17;
constexpr uint32_t kDivideBy16 = 0x3;
constexpr uint64_t kPitHz = 1193182;
constexpr uint32_t kCalibrationMs = 10;

volatile uint32_t* g_lapic = nullptr;
uint64_t g_tsc_hz = 0;
uint64_t g_lapic_hz = 0; // timer input after the divide-by-16
uint64_t g_tsc_base = 0;
uint64_t g_ns_mult = 0; // ns = (tsc delta * mult) >> 32
volatile uint64_t g_ticks = 0;

uint32_t read(uint32_t reg) { return g_lapic[reg / 4]; }
void write(uint32_t reg, uint32_t v) { g_lapic[reg / 4] = v; }

// System calls run with interrupts off, so a tick that falls due during one is taken at
// the first instruction after it returns, in user mode: a tick that finds user code about
// to run the instruction after a SYSCALL (0F 05) was most likely held by it, and is system
// time. Read through the page table, never faulting: an instruction on a page start, or
// a page not present, counts as user time.
bool held_by_syscall(const TrapFrame& frame) {
    if ((frame.rip & 0xFFF) < 2)
        return false;
    Thread* t = current_thread();
    if (!t || !t->task())
        return false;
    auto where = t->task()->page_table().translate(frame.rip - 2);
    // Only RAM is read: a device's memory mapped executable is not touched.
    if (!where.has_value() || !is_managed_ram(where.value().phys, 2))
        return false;
    const auto* bytes = reinterpret_cast<const uint8_t*>(kDirectMapBase + where.value().phys);
    return bytes[0] == 0x0F && bytes[1] == 0x05;
}

void on_timer(TrapFrame& frame) {
    g_ticks = g_ticks + 1;
    bool user = frame.from_user() && !held_by_syscall(frame);
    lapic_eoi();
    scheduler_tick(user);
}

} // namespace

void pic_disable() {
    // Remap both 8259s to vectors 32..47 first so a stray interrupt cannot look like an
    // exception, then mask every line.
    outb(0x20, 0x11);
    outb(0xA0, 0x11);
    outb(0x21, 0x20);
    outb(0xA1, 0x28);
    outb(0x21, 0x04);
    outb(0xA1, 0x02);
    outb(0x21, 0x01);
    outb(0xA1, 0x01);
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
}

uint64_t lapic_phys_base() { return rdmsr(kMsrApicBase) & 0xFFFFFFFFFF000ull; }

void lapic_init(uint64_t mmio) {
    g_lapic = reinterpret_cast<volatile uint32_t*>(mmio);
    wrmsr(kMsrApicBase, rdmsr(kMsrApicBase) | (1u << 11)); // global enable
    write(kRegTpr, 0);
    write(kRegSvr, 0x100 | kVecSpurious);
    write(kRegLvtTimer, kLvtMasked);
    set_trap_handler(kVecTimer, on_timer);
}

uint32_t lapic_id() { return g_lapic ? read(kRegId) >> 24 : 0; }

void lapic_eoi() {
    if (g_lapic)
        write(kRegEoi, 0);
}

void lapic_self_ipi(uint8_t vector) {
    constexpr uint32_t kShorthandSelf = 1u << 18;
    if (!g_lapic)
        return;
    write(kRegIcrHigh, 0);
    write(kRegIcrLow, kShorthandSelf | vector);
}

void msi_compose(uint8_t vector, uint64_t& address, uint32_t& data) {
    // Address: 0xFEE in bits 31..20, the destination APIC id in 19..12, redirection hint
    // and destination mode 0. Data: the vector, fixed delivery, edge.
    address = 0xFEE00000ull | (uint64_t(lapic_id() & 0xFF) << 12);
    data = vector;
}

namespace {

// A counter read between two TSC reads: the counter had `value` at TSC `tsc` (the
// midpoint), give or take half of `width`. A read the host descheduled this virtual CPU
// in, or an SMI interrupted on real hardware, is wide; the narrowest of a few is not.
struct BracketedRead {
    uint64_t tsc;
    uint64_t width;
    uint32_t value;
};
constexpr int kBracketTries = 8;

template<typename Read>
BracketedRead narrowest_read(Read read_counter) {
    BracketedRead best{0, ~0ull, 0};
    for (int i = 0; i < kBracketTries; ++i) {
        uint64_t before = rdtsc();
        uint32_t value = read_counter();
        uint64_t after = rdtsc();
        if (after - before < best.width)
            best = BracketedRead{before + (after - before) / 2, after - before, value};
    }
    return best;
}

// PIT channel 2's count, latched so both bytes belong to one moment.
uint32_t pit2_count() {
    outb(0x43, 0x80);
    uint8_t lo = inb(0x42);
    uint8_t hi = inb(0x42);
    return uint32_t(lo) | (uint32_t(hi) << 8);
}

constexpr uint8_t kPitOut2 = 0x20; // port 0x61: channel 2's output, set at terminal count

// One measurement of the TSC against PIT channel 2 counting down from 0xFFFF (55 ms) in
// mode 0; kCalibrationMs of PIT time between two narrow reads. Returns 0 when the PIT
// does not count or its count ran out (the output went high: a pause longer than the
// whole count, so the count may have wrapped).
uint64_t measure_tsc_hz(uint64_t& start_tsc) {
    // Channel 2 gate on, speaker off; mode 0 (interrupt on terminal count), binary.
    outb(0x61, uint8_t((inb(0x61) & ~0x02) | 0x01));
    outb(0x43, 0xB0);
    outb(0x42, 0xFF);
    outb(0x42, 0xFF);
    // Restart the count by toggling the gate.
    uint8_t gate = inb(0x61);
    outb(0x61, uint8_t(gate & ~0x01));
    outb(0x61, uint8_t(gate | 0x01));
    const uint32_t span = uint32_t(kPitHz * kCalibrationMs / 1000);
    BracketedRead start = narrowest_read(pit2_count);
    bool counted = false;
    // Bounded: a machine without a PIT must not hang the boot.
    for (uint64_t spins = 0; spins < 50000000ull; ++spins) {
        uint32_t now = pit2_count();
        if (now <= start.value && start.value - now >= span) {
            counted = true;
            break;
        }
        if (inb(0x61) & kPitOut2)
            return 0;
    }
    if (!counted)
        return 0;
    BracketedRead end = narrowest_read(pit2_count);
    if ((inb(0x61) & kPitOut2) || end.value >= start.value || end.tsc <= start.tsc)
        return 0;
    start_tsc = start.tsc;
    return (end.tsc - start.tsc) * kPitHz / (start.value - end.value);
}

} // namespace

bool tsc_calibrate() {
    // Each bound of the interval is the narrowest of kBracketTries reads, so a pause of
    // this virtual CPU (a busy host) or an SMI widens a read that is then not chosen,
    // instead of stretching the interval and making every clock on the node run slow.
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (uint64_t hz = measure_tsc_hz(g_tsc_base); hz != 0) {
            g_tsc_hz = hz;
            g_ns_mult = (1000000000ull << 32) / g_tsc_hz;
            return true;
        }
    }
    g_tsc_hz = 1000000000;
    g_tsc_base = rdtsc();
    g_ns_mult = (1000000000ull << 32) / g_tsc_hz;
    return false;
}

void lapic_timer_calibrate() {
    // Measured against the TSC, which tsc_calibrate() has already measured, between two
    // narrow reads of the count as above.
    write(kRegTimerDivide, kDivideBy16);
    write(kRegLvtTimer, kLvtMasked);
    write(kRegTimerInitial, 0xFFFFFFFF);
    auto current = [] { return read(kRegTimerCurrent); };
    BracketedRead start = narrowest_read(current);
    uint64_t span = g_tsc_hz * kCalibrationMs / 1000;
    while (rdtsc() - start.tsc < span)
        pause();
    BracketedRead end = narrowest_read(current);
    write(kRegTimerInitial, 0);
    uint64_t elapsed = start.value > end.value ? start.value - end.value : 0;
    g_lapic_hz =
        elapsed && end.tsc > start.tsc ? elapsed * g_tsc_hz / (end.tsc - start.tsc) : 62500000;
}

void timer_start_periodic(uint32_t hz) {
    uint64_t count = g_lapic_hz / hz;
    if (count == 0)
        count = 1;
    write(kRegTimerDivide, kDivideBy16);
    write(kRegLvtTimer, kVecTimer | kLvtPeriodic);
    write(kRegTimerInitial, uint32_t(count > 0xFFFFFFFFu ? 0xFFFFFFFFu : count));
}

void timer_arm_oneshot_ns(uint64_t ns) {
    uint64_t count = ns * g_lapic_hz / 1000000000ull;
    if (count == 0)
        count = 1;
    write(kRegTimerDivide, kDivideBy16);
    write(kRegLvtTimer, kVecTimer);
    write(kRegTimerInitial, uint32_t(count > 0xFFFFFFFFu ? 0xFFFFFFFFu : count));
}

} // namespace kernel::x86_64

namespace kernel {

uint64_t monotonic_ns() {
    using namespace x86_64;
    if (g_ns_mult == 0)
        return 0;
    uint64_t delta = rdtsc() - g_tsc_base;
    return uint64_t((static_cast<unsigned __int128>(delta) * g_ns_mult) >> 32);
}
bool clock_ready() { return x86_64::g_ns_mult != 0; }
uint64_t tsc_hz() { return x86_64::g_tsc_hz; }
uint64_t lapic_timer_hz() { return x86_64::g_lapic_hz; }
uint64_t timer_ticks() { return x86_64::g_ticks; }

} // namespace kernel

// ---- Self-tests -----------------------------------------------------------------------
#include <kernel/test/ktest.h>

namespace {

KTEST(timer, calibrated_frequencies_plausible) {
    // Any x86-64 machine Tern runs on has a TSC between 100 MHz and 20 GHz.
    KEXPECT(kernel::tsc_hz() > 100000000ull && kernel::tsc_hz() < 20000000000ull);
    KEXPECT(kernel::lapic_timer_hz() > 100000ull);
}

KTEST(timer, tsc_measures_the_same_again) {
    // A second measurement agrees with the boot's to within 1 %, however busy the host
    // was at either: every clock and timeout on the node runs at the boot's rate.
    uint64_t start = 0;
    uint64_t hz = 0;
    for (int attempt = 0; attempt < 3 && hz == 0; ++attempt)
        hz = kernel::x86_64::measure_tsc_hz(start);
    KEXPECT(hz != 0);
    uint64_t boot = kernel::tsc_hz();
    uint64_t diff = hz > boot ? hz - boot : boot - hz;
    KEXPECT(diff * 100 <= boot);
}

KTEST(timer, monotonic_clock_advances) {
    uint64_t a = kernel::monotonic_ns();
    for (volatile int i = 0; i < 100000; i = i + 1) {
    }
    uint64_t b = kernel::monotonic_ns();
    KEXPECT(b > a);
}

KTEST(timer, interrupts_tick) {
    // With the timer at 100 Hz, waiting 50 ms of clock time must see interrupts.
    uint64_t start_ticks = kernel::timer_ticks();
    uint64_t deadline = kernel::monotonic_ns() + 50000000ull;
    while (kernel::monotonic_ns() < deadline)
        kernel::x86_64::hlt();
    uint64_t got = kernel::timer_ticks() - start_ticks;
    KEXPECT(got >= 2);
    KEXPECT(got <= 20);
}

} // namespace

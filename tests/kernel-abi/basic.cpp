// The basic calls: null, clock_monotonic, clock_realtime, thread_yield, thread_sleep (and its
// accuracy), debug_write with every kind of bad pointer, and unknown syscall numbers.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_basic from its self-test user.abi_basic.
#include "harness.h"

using namespace abi;

namespace {

// ---- Basic calls ---------------------------------------------------------------------

void test_basics() {
    expect_eq(tern_sys_null(), 0, "basic.null");
    int64_t t0 = tern_sys_clock_monotonic();
    int64_t t1 = tern_sys_clock_monotonic();
    expect_true(t0 > 0 && t1 >= t0, t1 - t0, "basic.clock_monotonic_increases");
    // The wall clock: after 2024-01-01 (QEMU's CMOS clock is the host's), and it moves
    // with the monotonic clock: over a 10 ms sleep both advance by the same amount.
    constexpr int64_t k2024 = 1704067200ll * 1000000000ll;
    int64_t r0 = tern_sys_clock_realtime();
    int64_t m0 = tern_sys_clock_monotonic();
    tern_sys_thread_sleep(10 * kMs);
    int64_t r1 = tern_sys_clock_realtime();
    int64_t m1 = tern_sys_clock_monotonic();
    expect_true(r0 > k2024, r0 / 1000000000, "basic.clock_realtime_after_2024");
    int64_t skew = (r1 - r0) - (m1 - m0);
    expect_true(r1 - r0 >= int64_t(10 * kMs) && skew > -int64_t(kMs) && skew < int64_t(kMs), skew,
                "basic.clock_realtime_advances_with_monotonic");
    expect_eq(tern_sys_thread_yield(), 0, "basic.thread_yield");

    static const char kLine[] = "ktest: (debug_write test line)\n";
    expect_eq(tern_sys_debug_write(ptr(kLine), sizeof(kLine) - 1), sizeof(kLine) - 1,
              "basic.debug_write_returns_length");
    expect_eq(tern_sys_debug_write(0, 0), 0, "basic.debug_write_zero_length");
    expect_err(tern_sys_debug_write(ptr(kLine), 4097), TERN_TOO_BIG, "basic.debug_write_too_big");
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_debug_write(b.address, 16), TERN_BAD_ADDRESS, "basic.debug_write_{}",
                   b.name);

    // Sleep accuracy: at least the request, and not more than a few timer ticks over.
    static constexpr uint64_t kSleeps[] = {1, 20, 50};
    for (uint64_t ms : kSleeps) {
        uint64_t start = now_ns();
        int64_t r = tern_sys_thread_sleep(ms * kMs);
        uint64_t elapsed = now_ns() - start;
        expect_eq(r, 0, "basic.thread_sleep_{}ms_returns_0", ms);
        expect_true(elapsed >= ms * kMs && elapsed < ms * kMs + 40 * kMs,
                    static_cast<int64_t>(elapsed), "basic.thread_sleep_{}ms_accuracy", ms);
    }
    uint64_t start = now_ns();
    expect_eq(tern_sys_thread_sleep(0), 0, "basic.thread_sleep_0");
    expect_true(now_ns() - start < 40 * kMs, static_cast<int64_t>(now_ns() - start),
                "basic.thread_sleep_0_is_short");

    // memory_info counts live kernel objects: one more while a new port lives. (Nothing
    // else runs while the self-tests do, so the count moves only with this program.)
    tern_memory_info before{}, during{}, after{};
    expect_eq(tern_sys_memory_info(ptr(&before)), 0, "basic.memory_info");
    expect_true(before.live_objects >= 2, int64_t(before.live_objects),
                "basic.memory_info_counts_this_task_and_thread");
    int64_t port = port_create(1);
    (void)tern_sys_memory_info(ptr(&during));
    close(port);
    (void)tern_sys_memory_info(ptr(&after));
    expect_eq(int64_t(during.live_objects - before.live_objects), 1,
              "basic.live_objects_counts_a_new_port");
    expect_eq(int64_t(after.live_objects), int64_t(before.live_objects),
              "basic.live_objects_drops_a_closed_port");
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_memory_info(b.address), TERN_BAD_ADDRESS, "basic.memory_info_{}",
                   b.name);

    expect_err(tern_syscall_0(999), TERN_NOT_SUPPORTED, "basic.unknown_syscall");
    expect_err(tern_syscall_0(TERN_SYSCALL_COUNT), TERN_NOT_SUPPORTED,
               "basic.syscall_count_is_unknown");
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_basic");
    test_basics();
    return finish();
}

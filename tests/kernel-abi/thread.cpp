// Threads of the task: thread_create with good and bad entry points and stacks,
// priorities, thread_exit, thread ids.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_thread from its self-test user.abi_thread.
#include "harness.h"

using namespace abi;

namespace {

// ---- Threads --------------------------------------------------------------------------

void test_threads() {
    uint64_t entry = ptr(reinterpret_cast<void*>(&ktest_thread_start));
    int64_t stack = vm_allocate(kJobStack);
    if (!expect_ok(stack, "thread.stack"))
        return;
    uint64_t top = static_cast<uint64_t>(stack) + kJobStack;
    static Job dummy;
    expect_err(tern_sys_thread_create(0, top, ptr(&dummy), 10), TERN_INVALID_ARGUMENT,
               "thread.create_entry_null");
    expect_err(tern_sys_thread_create(0xFFFFFFFF80000000ull, top, ptr(&dummy), 10),
               TERN_INVALID_ARGUMENT, "thread.create_entry_kernel");
    expect_err(tern_sys_thread_create(0x0000800000000000ull, top, ptr(&dummy), 10),
               TERN_INVALID_ARGUMENT, "thread.create_entry_non_canonical");
    expect_err(tern_sys_thread_create(entry, top - 8, ptr(&dummy), 10), TERN_INVALID_ARGUMENT,
               "thread.create_stack_misaligned");
    expect_err(tern_sys_thread_create(entry, 0xFFFF800000001000ull, ptr(&dummy), 10),
               TERN_INVALID_ARGUMENT, "thread.create_stack_kernel");
    expect_err(tern_sys_thread_create(entry, 0, ptr(&dummy), 10), TERN_INVALID_ARGUMENT,
               "thread.create_stack_null");
    expect_err(tern_sys_thread_create(entry, top, ptr(&dummy), 32), TERN_INVALID_ARGUMENT,
               "thread.create_priority_32");
    expect_err(tern_sys_thread_create(entry, top, ptr(&dummy), 1ull << 32), TERN_INVALID_ARGUMENT,
               "thread.create_priority_over_32_bits");
    vm_free(stack, kJobStack);

    // Preemption: two busy threads both make progress while this one sleeps.
    static Job a, b;
    bool started = expect_ok(start_job(a, job_spin), "thread.spinner_a")
                   && expect_ok(start_job(b, job_spin), "thread.spinner_b");
    sleep_ms(200);
    uint64_t ca = a.counter, cb = b.counter;
    a.stop = 1;
    b.stop = 1;
    if (started) {
        expect_true(join_job(a) && join_job(b), 0, "thread.spinners_exit");
        expect_true(ca > 0 && cb > 0, static_cast<int64_t>(ca < cb ? ca : cb),
                    "thread.both_spinners_progress_within_200ms");
        uint64_t lo = ca < cb ? ca : cb, hi = ca < cb ? cb : ca;
        expect_true(hi < 4 * lo, static_cast<int64_t>(hi / (lo ? lo : 1)),
                    "thread.spinners_share_fairly");
    } else {
        join_job(a);
        join_job(b);
    }

    // The thread quota (64 per task, this thread included). The threads block on a port
    // and leave when its receive right is closed.
    int64_t p = port_create(1);
    constexpr uint64_t kSlice = 16 * 1024;
    int64_t stacks = vm_allocate(64 * kSlice);
    if (!expect_ok(p, "thread.quota_port") || !expect_ok(stacks, "thread.quota_stacks"))
        return;
    static Job jobs[64];
    int created = 0;
    int64_t last = 0;
    for (; created < 64; ++created) {
        jobs[created].a = static_cast<uint64_t>(p);
        last = start_job(jobs[created], job_block_on_port,
                         static_cast<uint64_t>(stacks) + (created + 1) * kSlice);
        if (last < 0)
            break;
    }
    expect_eq(last, -TERN_QUOTA_EXCEEDED, "thread.quota_exceeded");
    expect_eq(created, 63, "thread.quota_is_64_with_main");
    sleep_ms(20); // all of them reach their receive
    expect_eq(tern_sys_handle_close(p), 0, "thread.quota_release_port");
    bool all = true;
    for (int i = 0; i < created; ++i) {
        all = all && join_job(jobs[i]);
        all = all && jobs[i].result == -TERN_PEER_CLOSED;
    }
    expect_true(all, created, "thread.quota_threads_woken_with_peer_closed");
    vm_free(stacks, 64 * kSlice);
    static Job after;
    expect_ok(start_job(after, job_spin), "thread.create_after_quota_released");
    after.stop = 1;
    join_job(after);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_thread");
    test_threads();
    return finish();
}

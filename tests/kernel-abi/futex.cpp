// Futexes and threads with a clear-tid word: futex_wait, futex_wake and futex_requeue
// with good and bad addresses, values, timeouts and counts, private and shared (one
// memory object mapped at two addresses), thread_spawn, thread_set_clear_tid and
// task_set_robust_lists' refusals.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_futex from its self-test user.abi_futex.
#include "harness.h"

using namespace abi;

namespace {

constexpr uint64_t kAll = TERN_TIMEOUT_INFINITE;

alignas(8) volatile uint32_t g_words[4];

uint64_t word(int i) { return ptr(const_cast<uint32_t*>(&g_words[i])); }

// Waits on the futex at address a for value b with flags c (forever); returns the result.
int64_t job_futex_wait(Job& j) { return tern_sys_futex_wait(j.a, uint32_t(j.b), kAll, j.c); }

void test_bad_input() {
    g_words[0] = 5;
    expect_err(tern_sys_futex_wait(word(0) + 1, 5, 0, 0), TERN_INVALID_ARGUMENT,
               "futex.wait_unaligned");
    expect_err(tern_sys_futex_wake(word(0) + 2, 1, 0), TERN_INVALID_ARGUMENT,
               "futex.wake_unaligned");
    expect_err(tern_sys_futex_wait(0xFFFF800000001000ull, 5, 0, 0), TERN_BAD_ADDRESS,
               "futex.wait_kernel_address");
    expect_err(tern_sys_futex_wait(0, 0, 0, 0), TERN_BAD_ADDRESS, "futex.wait_null");
    int64_t gone = vm_allocate(kPage);
    if (expect_ok(gone, "futex.unmapped_page")) {
        vm_free(gone, kPage);
        expect_err(tern_sys_futex_wait(uint64_t(gone), 0, 0, 0), TERN_BAD_ADDRESS,
                   "futex.wait_unmapped");
        expect_err(tern_sys_futex_wake(uint64_t(gone), 1, 0), TERN_BAD_ADDRESS,
                   "futex.wake_unmapped");
        expect_err(tern_sys_futex_requeue(word(0), 1, uint64_t(gone), 1, 0, 0), TERN_BAD_ADDRESS,
                   "futex.requeue_to_unmapped");
    }
    int64_t none = vm_allocate(kPage, 0);
    if (expect_ok(none, "futex.no_access_page")) {
        expect_err(tern_sys_futex_wait(uint64_t(none), 0, 0, 0), TERN_BAD_ADDRESS,
                   "futex.wait_no_access");
        vm_free(none, kPage);
    }
    expect_err(tern_sys_futex_wait(word(0), 5, 0, 4), TERN_INVALID_ARGUMENT,
               "futex.wait_unknown_flags");
    expect_err(tern_sys_futex_wait(word(0), 5, 0, TERN_FUTEX_COMPARE), TERN_INVALID_ARGUMENT,
               "futex.wait_compare_flag");
    expect_err(tern_sys_futex_wake(word(0), 1, 1u << 31), TERN_INVALID_ARGUMENT,
               "futex.wake_unknown_flags");
    expect_err(tern_sys_futex_wait(word(0), 5, 1ull << 32 | 5, 1ull << 32), TERN_INVALID_ARGUMENT,
               "futex.wait_flags_over_32_bits");
    expect_err(tern_sys_futex_wait(word(0), 6, kAll, 0), TERN_WOULD_BLOCK,
               "futex.wait_value_differs");
    expect_err(tern_sys_futex_wait(word(0), 5, TERN_TIMEOUT_NONE, 0), TERN_TIMED_OUT,
               "futex.wait_timeout_none");
    uint64_t before = now_ns();
    expect_err(tern_sys_futex_wait(word(0), 5, 3 * kMs, 0), TERN_TIMED_OUT,
               "futex.wait_timeout_3ms");
    uint64_t waited = now_ns() - before;
    expect_true(waited >= 3 * kMs, int64_t(waited), "futex.wait_lasted_3ms");
    expect_eq(tern_sys_futex_wake(word(0), 10, 0), 0, "futex.wake_nobody");
    expect_err(tern_sys_futex_requeue(word(0), 1, word(1), 1, 4, TERN_FUTEX_COMPARE),
               TERN_WOULD_BLOCK, "futex.requeue_compare_differs");
    expect_eq(tern_sys_futex_requeue(word(0), 1, word(1), 1, 5, TERN_FUTEX_COMPARE), 0,
              "futex.requeue_compare_matches_nobody");
}

void test_wake_and_requeue() {
    g_words[0] = 0;
    g_words[1] = 0;
    static Job jobs[3];
    bool started = true;
    for (Job& j : jobs) {
        j.a = word(0);
        j.b = 0;
        j.c = 0;
        started = expect_ok(start_job(j, job_futex_wait), "futex.waiter_started") && started;
    }
    sleep_ms(20); // all three wait by now
    expect_eq(tern_sys_futex_wake(word(0), 1, 0), 1, "futex.wake_one_of_three");
    sleep_ms(5);
    expect_true(job_done(jobs[0]) && !job_done(jobs[1]) && !job_done(jobs[2]), 0,
                "futex.oldest_waiter_woken_first");
    expect_eq(tern_sys_futex_requeue(word(0), 0, word(1), 1, 0, TERN_FUTEX_COMPARE), 1,
              "futex.requeue_moves_one");
    expect_eq(tern_sys_futex_wake(word(0), 5, 0), 1, "futex.one_left_on_the_first_word");
    expect_eq(tern_sys_futex_wake(word(1), 5, 0), 1, "futex.moved_one_woken_on_the_second");
    bool all = started;
    for (Job& j : jobs)
        all = join_job(j) && j.result == 0 && all;
    expect_true(all, 0, "futex.every_waiter_returned_0");
}

void test_shared() {
    int64_t mem = tern_sys_memory_create(kPage, 0);
    if (!expect_ok(mem, "futex.shared_memory"))
        return;
    constexpr uint32_t kRw = TERN_PROT_READ | TERN_PROT_WRITE;
    int64_t a = tern_sys_vm_map_memory(TERN_HANDLE_SELF, uint64_t(mem), 0, 0, kPage, kRw);
    int64_t b = tern_sys_vm_map_memory(TERN_HANDLE_SELF, uint64_t(mem), 0, 0, kPage, kRw);
    if (!expect_ok(a, "futex.shared_map_a") || !expect_ok(b, "futex.shared_map_b"))
        return;
    uint64_t at_a = uint64_t(a) + 64, at_b = uint64_t(b) + 64;
    static Job shared, priv;
    shared.a = at_a, shared.b = 0, shared.c = TERN_FUTEX_SHARED;
    priv.a = at_a, priv.b = 0, priv.c = 0;
    bool started = expect_ok(start_job(shared, job_futex_wait), "futex.shared_waiter")
                   && expect_ok(start_job(priv, job_futex_wait), "futex.private_waiter");
    sleep_ms(20);
    // The same word through the other mapping: the shared waiter is found, the private
    // one (keyed by its own address) is not.
    expect_eq(tern_sys_futex_wake(at_b, 5, 0), 0, "futex.private_wake_at_other_address");
    expect_eq(tern_sys_futex_wake(at_b, 5, TERN_FUTEX_SHARED), 1,
              "futex.shared_wake_at_other_address");
    expect_eq(tern_sys_futex_wake(at_a, 5, 0), 1, "futex.private_wake_at_own_address");
    if (started) {
        expect_true(join_job(shared) && join_job(priv), 0, "futex.shared_waiters_returned");
    }
    vm_free(a, kPage);
    vm_free(b, kPage);
    close(mem);
}

alignas(8) volatile uint32_t g_tid_word = 77;

void test_spawn() {
    uint64_t entry = ptr(reinterpret_cast<void*>(&ktest_thread_start));
    int64_t stack = vm_allocate(kJobStack);
    if (!expect_ok(stack, "spawn.stack"))
        return;
    uint64_t top = uint64_t(stack) + kJobStack;
    static Job job;
    job.fn = job_spin;
    job.stop = 1;
    uint64_t tid = ptr(const_cast<uint32_t*>(&g_tid_word));
    expect_err(tern_sys_thread_spawn(entry, top - 8, ptr(&job), 0, tid, 0), TERN_INVALID_ARGUMENT,
               "spawn.stack_misaligned");
    expect_err(tern_sys_thread_spawn(entry, top, ptr(&job), 0, tid + 2, 0), TERN_INVALID_ARGUMENT,
               "spawn.clear_tid_unaligned");
    expect_err(tern_sys_thread_spawn(entry, top, ptr(&job), 0xFFFF800000000000ull, tid, 0),
               TERN_INVALID_ARGUMENT, "spawn.fs_base_kernel");
    expect_err(tern_sys_thread_spawn(0, top, ptr(&job), 0, tid, 0), TERN_INVALID_ARGUMENT,
               "spawn.entry_null");
    expect_err(tern_sys_thread_set_clear_tid(tid + 1), TERN_INVALID_ARGUMENT,
               "spawn.set_clear_tid_unaligned");
    expect_eq(tern_sys_thread_set_clear_tid(0), 0, "spawn.set_clear_tid_none");
    expect_err(tern_sys_thread_spawn(entry, top, ptr(&job), 0, tid, 0xFFFF800000001000ull),
               TERN_BAD_ADDRESS, "spawn.handle_out_kernel");
    int64_t id = tern_sys_thread_spawn(entry, top, ptr(&job), 0, tid, 0);
    if (expect_true(id > 0 && id != tern_sys_thread_id(), id, "spawn.returns_a_thread_id")) {
        // The word is cleared and its futex woken when the thread has ended.
        int64_t r = tern_sys_futex_wait(tid, 77, 2000 * kMs, TERN_FUTEX_SHARED);
        expect_true(r == 0 || r == -TERN_WOULD_BLOCK, r, "spawn.clear_tid_wakes");
        expect_eq(g_tid_word, 0, "spawn.clear_tid_cleared");
        expect_true(job_done(job), 0, "spawn.thread_ran");
    }
    vm_free(stack, kJobStack);
}

// thread_spawn with handle_out: a thread handle for another task's thread control, which
// names the new thread (its own task may not stop it) and outlives it.
void test_spawn_handle() {
    uint64_t entry = ptr(reinterpret_cast<void*>(&ktest_thread_start));
    int64_t stack = vm_allocate(kJobStack);
    if (!expect_ok(stack, "spawn_handle.stack"))
        return;
    uint64_t top = uint64_t(stack) + kJobStack;
    static Job job;
    job.fn = job_spin;
    job.stop = 0;
    g_tid_word = 78;
    uint64_t tid = ptr(const_cast<uint32_t*>(&g_tid_word));
    tern_handle_t handle = TERN_INVALID_HANDLE;
    int64_t id = tern_sys_thread_spawn(entry, top, ptr(&job), 0, tid, ptr(&handle));
    if (!expect_true(id > 0 && handle != TERN_INVALID_HANDLE, id, "spawn_handle.made")) {
        vm_free(stack, kJobStack);
        return;
    }
    // The thread runs: resume refuses a thread that is not stopped, and its own task
    // cannot stop it (another task holding the handle can).
    expect_err(tern_sys_thread_resume(handle), TERN_BAD_STATE, "spawn_handle.resume_running");
    expect_err(tern_sys_thread_stop(handle, 0), TERN_BAD_STATE, "spawn_handle.own_task_stop");
    tern_cpu_times times = {};
    expect_ok(tern_sys_cpu_times(handle, ptr(&times)), "spawn_handle.readable");
    job.stop = 1;
    int64_t r = tern_sys_futex_wait(tid, 78, 2000 * kMs, TERN_FUTEX_SHARED);
    expect_true(r == 0 || r == -TERN_WOULD_BLOCK, r, "spawn_handle.thread_ended");
    // The handle outlives the thread: a stop of a dead thread is BAD_STATE, then closed.
    expect_err(tern_sys_thread_stop(handle, 0), TERN_BAD_STATE, "spawn_handle.dead_stop");
    expect_eq(tern_sys_handle_close(handle), 0, "spawn_handle.closed");
    vm_free(stack, kJobStack);
}

// A thread left waiting when the task ends: the kernel's self-test checks afterwards
// that its record left the futex table (user.abi_futex).
void leave_a_waiter() {
    static Job waiter;
    g_words[3] = 9;
    waiter.a = word(3), waiter.b = 9, waiter.c = 0;
    expect_ok(start_job(waiter, job_futex_wait), "futex.waiter_left_at_exit");
    sleep_ms(5);
    expect_true(!job_done(waiter), 0, "futex.waiter_still_waiting_at_exit");
}

// The records are checked when they are registered; the walk itself (when a task dies)
// is the C library's test (posix_threadsig: a killed process's robust mutex).
void test_robust_lists() {
    alignas(8) static tern_robust_list records[TERN_ROBUST_LISTS_MAX];
    uint64_t at = ptr(&records[0]);
    expect_err(tern_sys_task_set_robust_lists(at + 4, 1), TERN_INVALID_ARGUMENT,
               "robust.unaligned");
    expect_err(tern_sys_task_set_robust_lists(at, TERN_ROBUST_LISTS_MAX + 1), TERN_INVALID_ARGUMENT,
               "robust.too_many");
    expect_err(tern_sys_task_set_robust_lists(0xFFFF800000000000ull, 1), TERN_INVALID_ARGUMENT,
               "robust.kernel_address");
    expect_eq(tern_sys_task_set_robust_lists(at, TERN_ROBUST_LISTS_MAX), 0, "robust.registered");
    expect_eq(tern_sys_task_set_robust_lists(0, 0), 0, "robust.removed");
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_futex");
    test_bad_input();
    test_wake_and_requeue();
    test_shared();
    test_spawn();
    test_spawn_handle();
    test_robust_lists();
    leave_a_waiter();
    return finish();
}

// Tasks: task_create, task_vm_allocate/write/read, task_thread_create, task_kill,
// task_wait, task_mappings, task_handles, task_give_handle, cpu_times and fault_resume.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_task from its self-test user.abi_task.
#include "harness.h"

using namespace abi;

namespace {

// ---- Tasks --------------------------------------------------------------------------

void test_tasks() {
    expect_err(tern_sys_task_create(ptr("0123456789012345678901234567890123"), 32), TERN_TOO_BIG,
               "task.create_name_32_too_big");
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_task_create(b.address, 5), TERN_BAD_ADDRESS, "task.create_name_{}",
                   b.name);
    int64_t t = tern_sys_task_create(0, 0);
    expect_ok(t, "task.create_empty_name");
    int64_t t31 = tern_sys_task_create(ptr("0123456789012345678901234567890"), 31);
    expect_ok(t31, "task.create_name_31");
    close(t31);
    if (t < 0)
        return;

    // A task with no threads: waiting would block; killing it finishes it at once.
    expect_err(tern_sys_task_wait(t, 0), TERN_WOULD_BLOCK, "task.wait_empty_task_would_block");
    uint64_t start = now_ns();
    expect_err(tern_sys_task_wait(t, 20 * kMs), TERN_TIMED_OUT, "task.wait_timed_out");
    expect_true(now_ns() - start >= 20 * kMs, static_cast<int64_t>(now_ns() - start),
                "task.wait_timeout_duration");

    // Memory in another task.
    constexpr uint32_t kRw = TERN_PROT_READ | TERN_PROT_WRITE;
    constexpr uint64_t kAt = 0x10000000;
    expect_eq(tern_sys_task_vm_allocate(t, kAt, 2 * kPage, kRw), kAt, "task.vm_allocate_fixed");
    expect_err(tern_sys_task_vm_allocate(t, kAt + kPage, kPage, kRw), TERN_ALREADY_EXISTS,
               "task.vm_allocate_overlap");
    expect_err(tern_sys_task_vm_allocate(t, kAt + 1, kPage, kRw), TERN_MISALIGNED,
               "task.vm_allocate_misaligned");
    expect_err(tern_sys_task_vm_allocate(t, 0xFFFF800000000000ull, kPage, kRw),
               TERN_INVALID_ARGUMENT, "task.vm_allocate_kernel_address");
    expect_err(tern_sys_task_vm_allocate(t, 0x00007FFFFFFFF000ull, kPage, kRw),
               TERN_INVALID_ARGUMENT, "task.vm_allocate_past_user_end");
    expect_err(tern_sys_task_vm_allocate(t, 0, kPage, kRw | TERN_PROT_EXEC), TERN_INVALID_ARGUMENT,
               "task.vm_allocate_wx");
    expect_err(tern_sys_task_vm_allocate(t, 0, 0, kRw), TERN_INVALID_ARGUMENT,
               "task.vm_allocate_size_0");
    expect_err(tern_sys_task_vm_allocate(t, 0, kPage, kRw | (1ull << 32)), TERN_INVALID_ARGUMENT,
               "task.vm_allocate_prot_over_32_bits");
    int64_t anywhere = tern_sys_task_vm_allocate(t, 0, kPage, TERN_PROT_READ);
    expect_ok(anywhere, "task.vm_allocate_anywhere");

    static uint8_t pattern[300], back[300];
    for (uint32_t i = 0; i < sizeof(pattern); ++i)
        pattern[i] = static_cast<uint8_t>(i * 13);
    expect_eq(tern_sys_task_vm_write(t, kAt + kPage - 100, ptr(pattern), sizeof(pattern)),
              sizeof(pattern), "task.vm_write_across_pages");
    expect_eq(tern_sys_task_vm_read(t, kAt + kPage - 100, ptr(back), sizeof(back)), sizeof(back),
              "task.vm_read_across_pages");
    bool same = true;
    for (uint32_t i = 0; i < sizeof(pattern); ++i)
        same = same && back[i] == pattern[i];
    expect_true(same, 0, "task.vm_read_matches_write");
    if (anywhere > 0) {
        // Task control writes into read-only memory of the target (the loader's case).
        expect_eq(tern_sys_task_vm_write(t, anywhere, ptr(pattern), 8), 8,
                  "task.vm_write_into_readonly_region");
    }
    expect_eq(tern_sys_task_vm_read(t, kAt + kPage + 500, ptr(back), 8), 8,
              "task.vm_read_untouched_page");
    expect_true(back[0] == 0 && back[7] == 0, back[0], "task.untouched_page_reads_zero");
    expect_err(tern_sys_task_vm_write(t, 0x20000000, ptr(pattern), 8), TERN_BAD_ADDRESS,
               "task.vm_write_unmapped_target");
    expect_err(tern_sys_task_vm_read(t, 0x20000000, ptr(back), 8), TERN_BAD_ADDRESS,
               "task.vm_read_unmapped_target");
    expect_err(tern_sys_task_vm_write(t, kAt + 2 * kPage - 4, ptr(pattern), 8), TERN_BAD_ADDRESS,
               "task.vm_write_runs_off_region");
    expect_err(tern_sys_task_vm_write(t, 0xFFFF800000000000ull, ptr(pattern), 8), TERN_BAD_ADDRESS,
               "task.vm_write_kernel_target");
    expect_err(tern_sys_task_vm_write(t, kAt, ptr(pattern), kMaxTransfer + 1), TERN_TOO_BIG,
               "task.vm_write_too_big");
    expect_err(tern_sys_task_vm_read(t, kAt, ptr(back), kMaxTransfer + 1), TERN_TOO_BIG,
               "task.vm_read_too_big");
    for (const BadPointer& b : kBadPointers) {
        expect_err(tern_sys_task_vm_write(t, kAt, b.address, 8), TERN_BAD_ADDRESS,
                   "task.vm_write_buf_{}", b.name);
        expect_err(tern_sys_task_vm_read(t, kAt, b.address, 8), TERN_BAD_ADDRESS,
                   "task.vm_read_buf_{}", b.name);
    }
    expect_err(tern_sys_task_vm_read(t, kAt, ptr(kReadOnlyWords), 8), TERN_BAD_ADDRESS,
               "task.vm_read_into_readonly_buffer");

    // Listings.
    static tern_mapping maps[8];
    int64_t count = tern_sys_task_mappings(t, ptr(maps), 8);
    expect_eq(count, 2, "task.mappings_count");
    expect_true(maps[0].start == kAt && maps[0].end == kAt + 2 * kPage && maps[0].prot == kRw
                    && maps[0].kind == TERN_MAPPING_ANONYMOUS && maps[0].resident_pages == 2,
                static_cast<int64_t>(maps[0].resident_pages), "task.mappings_entry");
    expect_eq(tern_sys_task_mappings(t, 0, 0), 2, "task.mappings_count_only");
    maps[1] = tern_mapping{};
    expect_eq(tern_sys_task_mappings(t, ptr(maps), 1), 2, "task.mappings_truncated");
    expect_true(maps[1].start == 0, static_cast<int64_t>(maps[1].start),
                "task.mappings_writes_only_max");
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_task_mappings(t, b.address, 8), TERN_BAD_ADDRESS,
                   "task.mappings_out_{}", b.name);
    expect_eq(tern_sys_task_handles(t, 0, 0), 0, "task.handles_none");

    // Giving handles.
    int64_t p = port_create(2);
    int64_t ps = dup(p, TERN_RIGHT_SEND);
    expect_err(tern_sys_task_give_handle(t, ps, TERN_RIGHTS_SAME), TERN_ACCESS_DENIED,
               "task.give_without_transfer");
    int64_t pt = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    expect_err(tern_sys_task_give_handle(t, pt, TERN_RIGHT_SEND | TERN_RIGHT_RECEIVE),
               TERN_ACCESS_DENIED, "task.give_more_rights");
    expect_err(tern_sys_task_give_handle(t, 0x3FFF, TERN_RIGHTS_SAME), TERN_BAD_HANDLE,
               "task.give_bad_handle");
    expect_err(tern_sys_task_give_handle(t, pt, 1ull << 32), TERN_INVALID_ARGUMENT,
               "task.give_rights_over_32_bits");
    int64_t given = tern_sys_task_give_handle(t, pt, TERN_RIGHT_SEND);
    expect_ok(given, "task.give_send");
    expect_ok(send_label(pt, 1), "task.given_handle_still_ours");
    static tern_handle_info infos[4];
    expect_eq(tern_sys_task_handles(t, ptr(infos), 4), 1, "task.handles_count");
    expect_true(infos[0].handle == static_cast<tern_handle_t>(given)
                    && infos[0].type == TERN_OBJ_PORT && infos[0].rights == TERN_RIGHT_SEND,
                infos[0].rights, "task.handles_entry");
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_task_handles(t, b.address, 4), TERN_BAD_ADDRESS, "task.handles_out_{}",
                   b.name);
    int64_t moved = tern_sys_task_give_handle(t, p, TERN_RIGHTS_SAME);
    expect_ok(moved, "task.give_receive_right");
    expect_err(tern_sys_handle_close(p), TERN_BAD_HANDLE, "task.receive_right_moved");
    expect_eq(tern_sys_task_handles(t, ptr(infos), 4), 2, "task.handles_after_move");

    // Rights on the task handle itself.
    int64_t no_map = dup(t, TERN_RIGHTS_ALL & ~TERN_RIGHT_MAP & ~TERN_RIGHT_RECEIVE);
    int64_t no_control = dup(t, TERN_RIGHT_READ | TERN_RIGHT_MAP);
    int64_t no_read = dup(t, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP);
    expect_true(no_map > 0 && no_control > 0 && no_read > 0, no_map, "task.duplicates");
    expect_err(tern_sys_task_vm_allocate(no_map, 0, kPage, kRw), TERN_ACCESS_DENIED,
               "task.vm_allocate_needs_map");
    expect_err(tern_sys_task_vm_write(no_control, kAt, ptr(pattern), 8), TERN_ACCESS_DENIED,
               "task.vm_write_needs_control");
    expect_err(tern_sys_task_vm_read(no_control, kAt, ptr(back), 8), TERN_ACCESS_DENIED,
               "task.vm_read_needs_control");
    expect_err(tern_sys_task_kill(no_control, 1), TERN_ACCESS_DENIED, "task.kill_needs_control");
    expect_err(tern_sys_task_thread_create(no_control, kAt, kAt + kPage, 0), TERN_ACCESS_DENIED,
               "task.thread_create_needs_control");
    expect_err(tern_sys_task_give_handle(no_control, ps, TERN_RIGHTS_SAME), TERN_ACCESS_DENIED,
               "task.give_needs_control");
    expect_err(tern_sys_task_wait(no_read, 0), TERN_ACCESS_DENIED, "task.wait_needs_read");
    expect_err(tern_sys_task_mappings(no_read, ptr(maps), 8), TERN_ACCESS_DENIED,
               "task.mappings_needs_read");
    expect_err(tern_sys_task_handles(no_read, ptr(infos), 4), TERN_ACCESS_DENIED,
               "task.handles_needs_read");
    expect_err(tern_sys_task_set_exception_port(no_control, pt), TERN_ACCESS_DENIED,
               "task.exception_port_needs_control");
    expect_err(tern_sys_vm_map_pager(no_map, 0, kPage, TERN_PROT_READ, pt), TERN_ACCESS_DENIED,
               "task.map_pager_needs_map");

    // task_thread_create: argument checks, and a new thread is stopped with the state given.
    expect_err(tern_sys_task_thread_create(t, 0xFFFFFFFF80000000ull, kAt + kPage, 0),
               TERN_INVALID_ARGUMENT, "task.thread_create_entry_kernel");
    expect_err(tern_sys_task_thread_create(t, kAt, kAt + kPage + 8, 0), TERN_INVALID_ARGUMENT,
               "task.thread_create_stack_misaligned");
    int64_t th = tern_sys_task_thread_create(t, kAt, kAt + kPage, 0xABCD);
    if (expect_ok(th, "task.thread_create")) {
        tern_regs regs{};
        expect_eq(tern_sys_thread_get_regs(th, ptr(&regs)), 0, "task.new_thread_is_stopped");
        expect_true(regs.rip == kAt && regs.rsp == kAt + kPage && regs.rdi == 0xABCD
                        && (regs.rflags & 0x200),
                    static_cast<int64_t>(regs.rip), "task.new_thread_registers");
        // It would run at kAt, where only data lives: it dies on the first fetch.
    }
    expect_eq(tern_sys_task_kill(t, 0x55), 0, "task.kill");
    expect_eq(tern_sys_task_wait(t, 0), 0x55, "task.wait_after_kill");
    expect_eq(tern_sys_task_wait(t, kLong), 0x55, "task.wait_again");
    expect_eq(tern_sys_task_kill(t, 0x66), 0, "task.kill_dead_task");
    expect_eq(tern_sys_task_wait(t, 0), 0x55, "task.status_kept_after_second_kill");
    {
        // An exited task's memory is gone: copies to or from it are refused, not turned
        // into fresh pages of a region that no longer owns any.
        uint64_t word = 0x1234;
        expect_err(tern_sys_task_vm_write(t, kAt, ptr(&word), sizeof(word)), TERN_BAD_STATE,
                   "task.vm_write_exited_task");
        expect_err(tern_sys_task_vm_read(t, kAt, ptr(&word), sizeof(word)), TERN_BAD_STATE,
                   "task.vm_read_exited_task");
    }
    {
        // An exited task takes no more handles: a port whose queue holds a handle to the
        // task, given to it, would keep both alive for ever. The port stays ours.
        int64_t q = port_create(2);
        expect_err(tern_sys_task_give_handle(t, q, TERN_RIGHTS_SAME), TERN_BAD_STATE,
                   "task.give_to_exited_task");
        expect_ok(send_label(q, 7), "task.refused_gift_still_ours");
        expect_eq(tern_sys_task_handles(t, 0, 0), 0, "task.exited_task_has_no_handles");
        close(q);
    }
    if (th > 0) {
        tern_regs regs{};
        expect_err(tern_sys_thread_get_regs(th, ptr(&regs)), TERN_BAD_STATE,
                   "task.dead_thread_get_regs");
        expect_err(tern_sys_thread_resume(th), TERN_BAD_STATE, "task.dead_thread_resume");
        expect_err(tern_sys_thread_stop(th, 0), TERN_BAD_STATE, "task.dead_thread_stop");
    }
    // Not documented either way: a dead task still accepts new memory from its controller.
    int64_t late = tern_sys_task_vm_allocate(t, 0, kPage, kRw);
    if (late >= 0)
        tern::println("ktest: note: task_vm_allocate into an exited task succeeded");
    close(th);
    close(no_map);
    close(no_control);
    close(no_read);
    close(ps);
    close(pt);
    close(t);

    // Real children: exit status, faults, and waiting.
    Child c;
    CloneOptions o;
    o.mode = kChildExitParam;
    o.param = 0x2A;
    if (clone_child(c, "exit_status", o)) {
        expect_eq(wait_child(c), 0x2A, "task.child_exit_status");
        release_child(c);
    }
    o.mode = kChildProtectWrite;
    if (clone_child(c, "protect_write", o)) {
        expect_eq(wait_child(c), kPageFaultExit, "task.child_write_to_readonly_page_faults");
        release_child(c);
    }
    o.mode = kChildFreeTouch;
    if (clone_child(c, "free_touch", o)) {
        expect_eq(wait_child(c), kPageFaultExit, "task.child_touch_freed_page_faults");
        release_child(c);
    }
    o.mode = kChildSleep;
    if (clone_child(c, "sleeper", o)) {
        expect_err(wait_child(c, 0), TERN_WOULD_BLOCK, "task.wait_running_would_block");
        expect_err(wait_child(c, 20 * kMs), TERN_TIMED_OUT, "task.wait_running_timed_out");
        expect_eq(tern_sys_task_kill(c.task, TERN_EXIT_KILLED), 0, "task.kill_sleeper");
        expect_eq(wait_child(c), TERN_EXIT_KILLED, "task.killed_status");
        release_child(c);
    }
}

// ---- Processor time -------------------------------------------------------------------

tern_cpu_times cpu_times(uint64_t handle) {
    tern_cpu_times t{};
    (void)tern_sys_cpu_times(handle, ptr(&t));
    return t;
}

// Work in user mode until the calling thread has been charged `ns` more user time;
// false if that took longer than the bound (the timer samples every 10 ms).
bool spin_user(uint64_t ns) {
    uint64_t want = cpu_times(TERN_INVALID_HANDLE).user_ns + ns;
    uint64_t end = now_ns() + 10 * 1000 * kMs;
    while (cpu_times(TERN_INVALID_HANDLE).user_ns < want) {
        if (now_ns() > end)
            return false;
        for (volatile uint32_t i = 0; i < 200000; i = i + 1) {
        }
    }
    return true;
}

int64_t spin_job(Job& j) {
    j.started = 1;
    return spin_user(j.a) ? 0 : 1;
}

void test_cpu_times() {
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_cpu_times(TERN_INVALID_HANDLE, b.address), TERN_BAD_ADDRESS,
                   "cpu_times.out_{}", b.name);
    tern_cpu_times t{};
    int64_t port = port_create(1);
    expect_err(tern_sys_cpu_times(port, ptr(&t)), TERN_WRONG_TYPE, "cpu_times.port_wrong_type");
    close(port);
    expect_err(tern_sys_cpu_times(port, ptr(&t)), TERN_BAD_HANDLE, "cpu_times.closed_handle");
    int64_t no_read = dup(TERN_HANDLE_SELF, TERN_RIGHT_CONTROL);
    expect_err(tern_sys_cpu_times(no_read, ptr(&t)), TERN_ACCESS_DENIED,
               "cpu_times.task_needs_read");
    close(no_read);

    // User work is charged as user time, to the thread and to its task.
    tern_cpu_times task_before = cpu_times(TERN_HANDLE_SELF);
    tern_cpu_times before = cpu_times(TERN_INVALID_HANDLE);
    expect_true(spin_user(50 * kMs), 0, "cpu_times.user_work_is_user_time");
    tern_cpu_times after = cpu_times(TERN_INVALID_HANDLE);
    expect_true(after.user_ns - before.user_ns >= 50 * kMs,
                static_cast<int64_t>(after.user_ns - before.user_ns), "cpu_times.thread_user");
    expect_true(after.system_ns - before.system_ns < after.user_ns - before.user_ns,
                static_cast<int64_t>(after.system_ns - before.system_ns),
                "cpu_times.user_work_mostly_user");
    expect_true(after.user_ns % TERN_CPU_TICK_NS == 0 && after.system_ns % TERN_CPU_TICK_NS == 0,
                static_cast<int64_t>(after.user_ns), "cpu_times.whole_ticks");
    tern_cpu_times task_after = cpu_times(TERN_HANDLE_SELF);
    expect_true(task_after.user_ns - task_before.user_ns >= after.user_ns - before.user_ns,
                static_cast<int64_t>(task_after.user_ns - task_before.user_ns),
                "cpu_times.task_includes_thread");

    // Work in the kernel (syscalls that copy out) is charged as system time.
    uint64_t want = cpu_times(TERN_INVALID_HANDLE).system_ns + 20 * kMs;
    uint64_t end = now_ns() + 10 * 1000 * kMs;
    static tern_mapping maps[16];
    while (cpu_times(TERN_INVALID_HANDLE).system_ns < want && now_ns() < end)
        (void)tern_sys_task_mappings(TERN_HANDLE_SELF, ptr(maps), 16);
    expect_true(cpu_times(TERN_INVALID_HANDLE).system_ns >= want, 0,
                "cpu_times.kernel_work_is_system_time");

    // A thread's time stays with its task after the thread ends, and its own handle
    // reports its own time.
    static Job job;
    job = Job{};
    job.a = 30 * kMs;
    tern_cpu_times task_mid = cpu_times(TERN_HANDLE_SELF);
    int64_t th = start_job(job, spin_job);
    if (expect_ok(th, "cpu_times.job_started")) {
        for (uint64_t until = now_ns() + 15 * 1000 * kMs; !job_done(job) && now_ns() < until;)
            (void)tern_sys_thread_sleep(kMs);
        tern_cpu_times own = cpu_times(static_cast<uint64_t>(th));
        expect_true(own.user_ns >= 30 * kMs, static_cast<int64_t>(own.user_ns),
                    "cpu_times.thread_handle");
        expect_true(join_job(job), 0, "cpu_times.job_joined");
        expect_eq(job.result, 0, "cpu_times.job_spun");
        tern_cpu_times task_end = cpu_times(TERN_HANDLE_SELF);
        expect_true(task_end.user_ns - task_mid.user_ns >= 30 * kMs,
                    static_cast<int64_t>(task_end.user_ns - task_mid.user_ns),
                    "cpu_times.ended_thread_counted");
    }
}

// ---- Faults resumed in user code ----------------------------------------------------------

// Reads the byte at RDI into RAX (0 when done); a fault resumed at abi_probe_fault returns
// the vector the kernel put in RAX.
extern "C" uint64_t abi_probe(uint64_t address);
extern "C" char abi_probe_end[];
extern "C" char abi_probe_fault[];
__asm__(".text\n"
        ".globl abi_probe\n"
        "abi_probe:\n"
        "    movzbl (%rdi), %eax\n"
        "    xorl %eax, %eax\n"
        ".globl abi_probe_end\n"
        "abi_probe_end:\n"
        "    ret\n"
        ".globl abi_probe_fault\n"
        "abi_probe_fault:\n"
        "    ret\n");

void test_fault_resume() {
    uint64_t start = reinterpret_cast<uint64_t>(abi_probe);
    uint64_t end = reinterpret_cast<uint64_t>(abi_probe_end);
    uint64_t resume = reinterpret_cast<uint64_t>(abi_probe_fault);
    expect_err(tern_sys_fault_resume(end, start, resume), TERN_INVALID_ARGUMENT,
               "fault_resume.start_after_end");
    expect_err(tern_sys_fault_resume(start, start, resume), TERN_INVALID_ARGUMENT,
               "fault_resume.empty_range");
    expect_err(tern_sys_fault_resume(start, end, start), TERN_INVALID_ARGUMENT,
               "fault_resume.resume_inside");
    expect_err(tern_sys_fault_resume(start, 0xFFFF800000001000ull, resume), TERN_INVALID_ARGUMENT,
               "fault_resume.end_in_kernel");
    expect_err(tern_sys_fault_resume(start, end, 0xFFFFFFFF80000000ull), TERN_INVALID_ARGUMENT,
               "fault_resume.resume_in_kernel");
    expect_err(tern_sys_fault_resume(0, 0, resume), TERN_INVALID_ARGUMENT,
               "fault_resume.zero_range");
    static const uint8_t readable = 7;
    if (!expect_ok(tern_sys_fault_resume(start, end, resume), "fault_resume.set"))
        return;
    expect_eq(static_cast<int64_t>(abi_probe(reinterpret_cast<uint64_t>(&readable))), 0,
              "fault_resume.good_address_reads");
    // Each of these would end the task without the range: a page fault (14) for unmapped
    // and kernel addresses, a general-protection fault (13) for a non-canonical one.
    expect_eq(static_cast<int64_t>(abi_probe(0)), 14, "fault_resume.null_page_fault");
    expect_eq(static_cast<int64_t>(abi_probe(0x200000)), 14, "fault_resume.unmapped_page_fault");
    expect_eq(static_cast<int64_t>(abi_probe(0xFFFFFFFF80000000ull)), 14,
              "fault_resume.kernel_page_fault");
    expect_eq(static_cast<int64_t>(abi_probe(0x0000800000000000ull)), 13,
              "fault_resume.non_canonical_gp");
    expect_ok(tern_sys_fault_resume(0, 0, 0), "fault_resume.cleared");
    expect_eq(static_cast<int64_t>(abi_probe(reinterpret_cast<uint64_t>(&readable))), 0,
              "fault_resume.good_address_after_clear");
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_task");
    test_tasks();
    test_cpu_times();
    test_fault_resume();
    return finish();
}

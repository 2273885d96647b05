// Task control: thread_stop and thread_resume, thread_get/set_regs and
// thread_get/set_fpu, and exception ports (task_set_exception_port).
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_task_control from its self-test user.abi_task_control.
#include "harness.h"

using namespace abi;

namespace {

// ---- Thread control: stop, registers, FPU ------------------------------------------

void test_thread_control() {
    Child c;
    CloneOptions o;
    o.entry = ptr(reinterpret_cast<void*>(&ktest_child_spin));
    if (!clone_child(c, "spinner", o))
        return;
    tern_regs regs{};
    sleep_ms(5); // it is spinning now
    expect_err(tern_sys_thread_get_regs(c.thread, ptr(&regs)), TERN_BAD_STATE,
               "control.get_regs_while_running");
    expect_err(tern_sys_thread_resume(c.thread), TERN_BAD_STATE, "control.resume_while_running");
    static uint8_t fpu_raw[512 + 16];
    auto* fpu = reinterpret_cast<tern_fpu_state*>((ptr(fpu_raw) + 15) & ~15ull);
    expect_err(tern_sys_thread_get_fpu(c.thread, ptr(fpu)), TERN_BAD_STATE,
               "control.get_fpu_while_running");
    int64_t read_only = dup(c.thread, TERN_RIGHT_READ);
    expect_err(tern_sys_thread_stop(read_only, kLong), TERN_ACCESS_DENIED,
               "control.stop_needs_control");
    close(read_only);

    expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "control.stop");
    expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "control.stop_stopped_thread");
    expect_eq(tern_sys_thread_get_regs(c.thread, ptr(&regs)), 0, "control.get_regs");
    uint64_t loop = ptr(reinterpret_cast<void*>(&ktest_child_spin_loop));
    uint64_t loop_end = ptr(reinterpret_cast<void*>(&ktest_child_spin_end));
    expect_true(regs.rip >= loop && regs.rip < loop_end, static_cast<int64_t>(regs.rip),
                "control.rip_inside_spin_loop");
    expect_true(regs.rbx == 0 && regs.rsp == c.stack_top, static_cast<int64_t>(regs.rsp),
                "control.registers_as_started");
    for (const BadPointer& b : kBadPointers) {
        expect_err(tern_sys_thread_get_regs(c.thread, b.address), TERN_BAD_ADDRESS,
                   "control.get_regs_out_{}", b.name);
        expect_err(tern_sys_thread_set_regs(c.thread, b.address), TERN_BAD_ADDRESS,
                   "control.set_regs_in_{}", b.name);
        expect_err(tern_sys_thread_get_fpu(c.thread, b.address), TERN_BAD_ADDRESS,
                   "control.get_fpu_out_{}", b.name);
        expect_err(tern_sys_thread_set_fpu(c.thread, b.address), TERN_BAD_ADDRESS,
                   "control.set_fpu_in_{}", b.name);
    }
    expect_err(tern_sys_thread_get_regs(c.thread, ptr(kReadOnlyWords)), TERN_BAD_ADDRESS,
               "control.get_regs_into_readonly");

    tern_regs bad = regs;
    bad.rip = 0xFFFFFFFF80000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_rip_kernel");
    bad.rip = 0x0000800000000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_rip_non_canonical");
    bad.rip = 0;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_rip_null");
    bad = regs;
    bad.rsp = 0xFFFF800000000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_rsp_kernel");
    bad = regs;
    bad.fs_base = 0xFFFF800000000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_fs_base_kernel");
    bad.fs_base = 0x0000800000000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_fs_base_non_canonical");

    // RFLAGS: only the user bits stick (no IOPL, no TF here since it would trap), IF on.
    tern_regs flags = regs;
    flags.rflags = 0xFFFFFFFFFFFFFEFFull & ~0x200ull;
    expect_eq(tern_sys_thread_set_regs(c.thread, ptr(&flags)), 0, "control.set_rflags_all_bits");
    expect_eq(tern_sys_thread_get_regs(c.thread, ptr(&flags)), 0, "control.get_rflags_back");
    expect_eq(static_cast<int64_t>(flags.rflags),
              static_cast<int64_t>((0xFFFFFFFFFFFFFEFFull & TERN_RFLAGS_USER_MASK) | 0x202),
              "control.rflags_masked_and_if_forced");

    // The FPU image: MXCSR with reserved bits is refused, XMM0 is written.
    expect_eq(tern_sys_thread_get_fpu(c.thread, ptr(fpu)), 0, "control.get_fpu");
    uint32_t mxcsr = 0;
    __builtin_memcpy(&mxcsr, fpu->fxsave + 24, 4);
    expect_eq(mxcsr, 0x1F80, "control.default_mxcsr");
    uint64_t xmm0 = 1;
    __builtin_memcpy(&xmm0, fpu->fxsave + 160, 8);
    expect_eq(static_cast<int64_t>(xmm0), 0, "control.xmm0_cleared_by_child");
    static uint8_t bad_raw[512 + 16];
    auto* bad_fpu = reinterpret_cast<tern_fpu_state*>((ptr(bad_raw) + 15) & ~15ull);
    static constexpr uint32_t kReserved[] = {0x10000, 0x80000000, 0xFFFF0000};
    for (uint32_t reserved : kReserved) {
        *bad_fpu = *fpu;
        uint32_t value = 0x1F80 | reserved;
        __builtin_memcpy(bad_fpu->fxsave + 24, &value, 4);
        expect_err(tern_sys_thread_set_fpu(c.thread, ptr(bad_fpu)), TERN_INVALID_ARGUMENT,
                   "control.set_mxcsr_reserved_{:#x}", reserved);
    }
    xmm0 = 0x5000;
    __builtin_memcpy(fpu->fxsave + 160, &xmm0, 8);
    expect_eq(tern_sys_thread_set_fpu(c.thread, ptr(fpu)), 0, "control.set_fpu_xmm0");
    *bad_fpu = tern_fpu_state{};
    expect_eq(tern_sys_thread_get_fpu(c.thread, ptr(bad_fpu)), 0, "control.get_fpu_again");
    __builtin_memcpy(&xmm0, bad_fpu->fxsave + 160, 8);
    expect_eq(static_cast<int64_t>(xmm0), 0x5000, "control.xmm0_reads_back");

    // Make the child leave its loop: RBX = 0x34, so it exits with 0x34 ^ 0x5000.
    regs.rbx = 0x34;
    expect_eq(tern_sys_thread_set_regs(c.thread, ptr(&regs)), 0, "control.set_rbx");
    expect_eq(tern_sys_thread_resume(c.thread), 0, "control.resume");
    expect_err(tern_sys_thread_resume(c.thread), TERN_BAD_STATE, "control.resume_twice");
    expect_eq(wait_child(c), 0x5034, "control.child_exit_shows_registers_and_fpu");
    expect_err(tern_sys_thread_stop(c.thread, 0), TERN_BAD_STATE, "control.stop_dead_thread");
    release_child(c);

    // Stopping a thread blocked in a sleep: it stops, and it runs on after resume.
    o = CloneOptions{};
    o.mode = kChildSleep;
    if (clone_child(c, "sleeping", o)) {
        sleep_ms(5);
        expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "control.stop_sleeping_thread");
        expect_eq(tern_sys_thread_get_regs(c.thread, ptr(&regs)), 0,
                  "control.get_regs_of_sleeping_thread");
        expect_eq(tern_sys_thread_resume(c.thread), 0, "control.resume_sleeping_thread");
        sleep_ms(5);
        expect_err(wait_child(c, 0), TERN_WOULD_BLOCK, "control.sleeper_still_alive");
        release_child(c);
    }
}

// ---- Exception ports ---------------------------------------------------------------

void test_exceptions() {
    int64_t ep = port_create(4);
    if (!expect_ok(ep, "exception.port"))
        return;
    int64_t ep_send = dup(ep, TERN_RIGHT_SEND);
    int64_t ep_none = dup(ep, TERN_RIGHT_TRANSFER);
    Child c;
    CloneOptions o;
    o.entry = ptr(reinterpret_cast<void*>(&ktest_child_ud2));
    o.start = false;
    if (!clone_child(c, "ud2", o))
        return;
    expect_err(tern_sys_task_set_exception_port(c.task, ep_none), TERN_ACCESS_DENIED,
               "exception.port_needs_send");
    expect_err(tern_sys_task_set_exception_port(c.task, c.thread), TERN_WRONG_TYPE,
               "exception.port_wrong_type");
    expect_err(tern_sys_task_set_exception_port(c.task, 0x3FFF), TERN_BAD_HANDLE,
               "exception.port_bad_handle");
    expect_eq(tern_sys_task_set_exception_port(c.task, 0), 0, "exception.port_remove_none");
    expect_eq(tern_sys_task_set_exception_port(c.task, ep_send), 0, "exception.port_set");
    expect_eq(tern_sys_thread_resume(c.thread), 0, "exception.start_child");
    tern_msg m{};
    expect_eq(receive(ep, m, kLong), 0, "exception.message_arrives");
    uint64_t ud2 = ptr(reinterpret_cast<void*>(&ktest_child_ud2));
    expect_true(m.hdr.label == TERN_LABEL_EXCEPTION && m.words[0] == 6 && m.words[2] == ud2
                    && m.words[4] != 0 && m.hdr.handle_count == 1 && m.handles[0] != 0,
                static_cast<int64_t>(m.words[0]), "exception.message_contents");
    int64_t th = m.handles[0];
    tern_regs regs{};
    expect_eq(tern_sys_thread_get_regs(th, ptr(&regs)), 0, "exception.thread_is_stopped");
    expect_eq(static_cast<int64_t>(regs.rip), static_cast<int64_t>(ud2), "exception.rip_at_ud2");
    expect_err(wait_child(c, 0), TERN_WOULD_BLOCK, "exception.child_still_alive");
    regs.rip += 2;
    expect_eq(static_cast<int64_t>(regs.rip),
              static_cast<int64_t>(ptr(reinterpret_cast<void*>(&ktest_child_ud2_resume))),
              "exception.skip_lands_on_resume_label");
    expect_eq(tern_sys_thread_set_regs(th, ptr(&regs)), 0, "exception.skip_instruction");
    expect_eq(tern_sys_thread_resume(th), 0, "exception.resume");
    expect_eq(wait_child(c), 0, "exception.child_exits_0_after_fix");
    close(th);
    release_child(c);

    // A thread stopped at an exception dies with its task when the task is killed.
    o.start = true;
    o.exception_port = static_cast<uint64_t>(ep_send);
    if (clone_child(c, "ud2_killed_while_stopped", o)) {
        expect_eq(receive(ep, m, kLong), 0, "exception.second_message");
        expect_eq(tern_sys_task_kill(c.task, 0x77), 0, "exception.kill_stopped_child");
        expect_eq(wait_child(c), 0x77, "exception.killed_while_stopped");
        for (uint32_t i = 0; i < m.hdr.handle_count; ++i)
            close(m.handles[i]);
        release_child(c);
    }
    o.exception_port = 0;
    if (clone_child(c, "ud2_no_port", o)) {
        expect_eq(wait_child(c), TERN_EXIT_FAULT_BASE + 6, "exception.no_port_kills_task");
        release_child(c);
    }
    close(ep_none);
    close(ep_send);
    close(ep);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_task_control");
    test_thread_control();
    test_exceptions();
    return finish();
}

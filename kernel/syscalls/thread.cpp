// Threads: of the calling task, and thread control (stop, resume, registers) on threads
// of other tasks through a handle with TERN_RIGHT_CONTROL.
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/core/usercopy.h>
#include <kernel/object/futex.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/syscalls/handlers.h>
#include <tern/abi/task.h>

namespace kernel {

using namespace x86_64;

namespace {

Task& self_task() { return *current_thread()->task(); }

base::Result<obj::Ref<Thread>> thread_arg(Handle h, uint32_t rights) {
    return self_task().handles().get_as<Thread>(h.value(), rights);
}

// Exit statuses are the low 31 bits of what a program passes, so task_wait can never
// return a value that reads as an error code.
int64_t exit_status_from(uint64_t value) { return int64_t(value & 0x7FFFFFFF); }

} // namespace

SyscallResult sys_thread_exit(uint64_t status) {
    Task& task = self_task();
    task.set_exit_status(exit_status_from(status));
    // The thread runs no more user code: clearing its word now lets a joiner free the
    // stack the thread ran on (CLONE_CHILD_CLEARTID). A word that is gone is ignored.
    Thread* cur = current_thread();
    if (uint64_t word = cur->m_clear_tid) {
        cur->m_clear_tid = 0;
        uint32_t zero = 0;
        if (copy_to_user(word, &zero, sizeof(zero)).ok()) {
            if (auto key = task.futex_key(word, true); key.ok())
                futex_wake(key.value(), 1);
        }
    }
    thread_exit_current();
}

SyscallResult sys_task_exit(uint64_t status) {
    Task& task = self_task();
    task.set_exit_status(exit_status_from(status));
    task.kill(exit_status_from(status), nullptr);
    thread_exit_current();
}

SyscallResult sys_thread_yield() {
    yield();
    return 0;
}

SyscallResult sys_thread_sleep(uint64_t ns) {
    sleep_ns(ns > (1ull << 62) ? (1ull << 62) : ns);
    return 0;
}

SyscallResult sys_thread_create(uint64_t entry, uint64_t stack_top, uint64_t arg,
                                uint32_t priority) {
    Task& task = self_task();
    if (priority > 31)
        return base::Error::INVALID_ARGUMENT;
    Thread* thread = TRY(thread_create_user(task, entry, stack_top, arg, uint8_t(priority)));
    auto h = task.handles().insert(obj::Ref<obj::KObject>::retain(thread),
                                   TERN_RIGHT_CONTROL | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER
                                       | TERN_RIGHT_READ);
    if (h.is_error()) {
        thread_kill(*thread);
        return h.error();
    }
    make_ready(*thread);
    return h.value();
}

SyscallResult sys_thread_id() { return current_thread()->id(); }

namespace {
bool valid_clear_tid(uint64_t word) {
    return word == 0 || ((word & 3) == 0 && is_user_address(word) && is_user_address(word + 3));
}
} // namespace

SyscallResult sys_thread_spawn(uint64_t entry, uint64_t stack_top, uint64_t arg, uint64_t fs_base,
                               uint64_t clear_tid, uint64_t handle_out) {
    if ((fs_base != 0 && !is_user_address(fs_base)) || !valid_clear_tid(clear_tid))
        return base::Error::INVALID_ARGUMENT;
    UserPtr<tern_handle_t> out(handle_out);
    // The handle's slot is checked before there is a thread to undo.
    if (handle_out != 0)
        TRY(out.write(TERN_INVALID_HANDLE));
    Task& task = self_task();
    Thread* cur = current_thread();
    Thread* thread = TRY(thread_create_user(task, entry, stack_top, arg, cur->priority()));
    thread->set_user_fs_base(fs_base);
    thread->m_clear_tid = clear_tid;
    uint64_t id = thread->id();
    if (handle_out != 0) {
        // A handle for thread control by another task (the signal owner): CONTROL, to
        // stop the thread and change its registers; TRANSFER, to send it there.
        auto h = task.handles().insert(obj::Ref<obj::KObject>::retain(thread),
                                       TERN_RIGHT_CONTROL | TERN_RIGHT_DUPLICATE
                                           | TERN_RIGHT_TRANSFER | TERN_RIGHT_READ);
        if (h.is_error()) {
            thread_kill(*thread);
            return h.error();
        }
        if (auto w = out.write(h.value()); w.is_error()) {
            (void)task.handles().close(h.value());
            thread_kill(*thread);
            return w.error();
        }
    }
    // Without a handle the scheduler's reference keeps the thread until it ends.
    make_ready(*thread);
    return id;
}

SyscallResult sys_thread_set_clear_tid(uint64_t clear_tid) {
    if (!valid_clear_tid(clear_tid))
        return base::Error::INVALID_ARGUMENT;
    current_thread()->m_clear_tid = clear_tid;
    return 0;
}

SyscallResult sys_task_set_robust_lists(uint64_t records, uint64_t count) {
    if (count > TERN_ROBUST_LISTS_MAX)
        return base::Error::INVALID_ARGUMENT;
    if (count != 0
        && ((records & 7) != 0 || !user_range_ok(records, count * sizeof(tern_robust_list))))
        return base::Error::INVALID_ARGUMENT;
    self_task().set_robust_lists(count != 0 ? records : 0, uint32_t(count));
    return 0;
}

SyscallResult sys_thread_set_fs_base(uint64_t base) {
    if (base != 0 && !is_user_address(base))
        return base::Error::INVALID_ARGUMENT;
    current_thread()->set_user_fs_base(base);
    return 0;
}

SyscallResult sys_task_thread_create(Handle task_handle, uint64_t entry, uint64_t stack_top,
                                     uint64_t arg) {
    auto task = TRY(self_task().handles().get_as<Task>(task_handle.value(), TERN_RIGHT_CONTROL));
    Thread* thread =
        TRY(thread_create_user(*task, entry, stack_top, arg, Thread::kDefaultPriority));
    thread->m_state = ThreadState::kStopped;
    auto h = self_task().handles().insert(obj::Ref<obj::KObject>::retain(thread),
                                          TERN_RIGHT_CONTROL | TERN_RIGHT_READ
                                              | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER);
    if (h.is_error()) {
        thread_kill(*thread);
        return h.error();
    }
    return h.value();
}

SyscallResult sys_thread_stop(Handle handle, Timeout timeout) {
    auto t = TRY(thread_arg(handle, TERN_RIGHT_CONTROL));
    Thread& thread = *t;
    if (&thread == current_thread() || thread.state() == ThreadState::kDead || !thread.task())
        return base::Error::BAD_STATE;
    if (thread.task() == current_thread()->task())
        return base::Error::BAD_STATE; // a task does not stop its own threads (yet)
    InterruptGuard guard;
    if (thread.state() == ThreadState::kStopped || thread.state() == ThreadState::kEmbryo)
        return 0;
    thread.m_stop_requested = true;
    thread_interrupt(thread);
    WaitQueue waiters;
    thread.m_stopped_waiters = &waiters;
    uint64_t deadline = timeout.deadline();
    base::Error e = base::Error::OK;
    while (thread.state() != ThreadState::kStopped && thread.state() != ThreadState::kDead) {
        if (!timeout.blocks()) {
            e = base::Error::WOULD_BLOCK;
            break;
        }
        e = waiters.wait(deadline);
        if (e != base::Error::OK)
            break;
    }
    thread.m_stopped_waiters = nullptr;
    if (thread.state() == ThreadState::kDead)
        return base::Error::BAD_STATE;
    if (thread.state() == ThreadState::kStopped)
        return 0;
    return e;
}

SyscallResult sys_thread_resume(Handle handle) {
    auto t = TRY(thread_arg(handle, TERN_RIGHT_CONTROL));
    TRY(thread_resume(*t));
    return 0;
}

SyscallResult sys_thread_get_regs(Handle handle, UserPtr<tern_regs> out) {
    auto t = TRY(thread_arg(handle, TERN_RIGHT_CONTROL));
    Thread& thread = *t;
    if (thread.state() != ThreadState::kStopped || !thread.task())
        return base::Error::BAD_STATE;
    const TrapFrame& f = thread.user_frame();
    tern_regs r{f.rax,
                f.rbx,
                f.rcx,
                f.rdx,
                f.rsi,
                f.rdi,
                f.rbp,
                f.rsp,
                f.r8,
                f.r9,
                f.r10,
                f.r11,
                f.r12,
                f.r13,
                f.r14,
                f.r15,
                f.rip,
                f.rflags,
                thread.user_fs_base(),
                0};
    TRY(out.write(r));
    return 0;
}

SyscallResult sys_thread_set_regs(Handle handle, UserPtr<tern_regs> regs) {
    auto t = TRY(thread_arg(handle, TERN_RIGHT_CONTROL));
    Thread& thread = *t;
    if (thread.state() != ThreadState::kStopped || !thread.task())
        return base::Error::BAD_STATE;
    tern_regs r;
    TRY(regs.read(r));
    if (!is_user_address(r.rip) || r.rsp > kUserSpaceEnd
        || (r.fs_base && !is_user_address(r.fs_base)))
        return base::Error::INVALID_ARGUMENT;
    TrapFrame& f = thread.user_frame();
    f.rax = r.rax, f.rbx = r.rbx, f.rcx = r.rcx, f.rdx = r.rdx, f.rsi = r.rsi, f.rdi = r.rdi;
    f.rbp = r.rbp, f.rsp = r.rsp, f.r8 = r.r8, f.r9 = r.r9, f.r10 = r.r10, f.r11 = r.r11;
    f.r12 = r.r12, f.r13 = r.r13, f.r14 = r.r14, f.r15 = r.r15, f.rip = r.rip;
    f.rflags = (r.rflags & TERN_RFLAGS_USER_MASK) | 0x202;
    f.cs = kUserCs;
    f.ss = kUserDs;
    thread.set_user_fs_base(r.fs_base);
    thread.m_force_iret = true;
    return 0;
}

SyscallResult sys_thread_get_fpu(Handle handle, UserPtr<tern_fpu_state> out) {
    auto t = TRY(thread_arg(handle, TERN_RIGHT_CONTROL));
    Thread& thread = *t;
    if (thread.state() != ThreadState::kStopped)
        return base::Error::BAD_STATE;
    static_assert(sizeof(tern_fpu_state) == sizeof(thread.m_fpu));
    tern_fpu_state state;
    __builtin_memcpy(&state, thread.m_fpu, sizeof(state));
    TRY(out.write(state));
    return 0;
}

SyscallResult sys_thread_set_fpu(Handle handle, UserPtr<tern_fpu_state> state) {
    auto t = TRY(thread_arg(handle, TERN_RIGHT_CONTROL));
    Thread& thread = *t;
    if (thread.state() != ThreadState::kStopped)
        return base::Error::BAD_STATE;
    alignas(16) tern_fpu_state image_state;
    TRY(state.read(image_state));
    auto* image = reinterpret_cast<uint8_t*>(&image_state);
    // FXRSTOR faults on MXCSR bits the CPU lacks; check against the CPU's own mask.
    uint32_t mxcsr, mask;
    __builtin_memcpy(&mxcsr, image + 24, 4);
    __builtin_memcpy(&mask, thread.m_fpu + 28, 4);
    if (mask == 0)
        mask = 0xFFBF;
    if (mxcsr & ~mask)
        return base::Error::INVALID_ARGUMENT;
    __builtin_memcpy(image + 28, &mask, 4);
    __builtin_memcpy(thread.m_fpu, image, sizeof(image_state));
    return 0;
}

} // namespace kernel

// Task control, pagers and queue capture: the syscalls a controller (the migrate server,
// a debugger, a pager) uses on another task. Every one goes through a handle with
// TERN_RIGHT_CONTROL (MAP for memory, RECEIVE for capturing a queue).
#include <base/utility.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/core/clock.h>
#include <kernel/core/memory.h>
#include <kernel/core/usercopy.h>
#include <kernel/object/port.h>
#include <kernel/object/task.h>
#include <kernel/syscalls/dispatch.h>
#include <tern/abi/message.h>
#include <tern/abi/syscalls.h>
#include <tern/abi/task.h>

namespace kernel {

using namespace x86_64;

namespace {

int64_t err(base::Error e) { return syscall_error(e); }
int64_t ret(const base::Result<void>& r) { return r.is_error() ? err(r.error()) : 0; }

Task& self_task() { return *current_thread()->task(); }

base::Result<obj::Ref<Task>> task_arg(uint64_t h, uint32_t rights) {
    if (h > 0xFFFFFFFFull)
        return base::Error::BAD_HANDLE;
    return self_task().handles().get_as<Task>(tern_handle_t(h), rights);
}
base::Result<obj::Ref<Thread>> thread_arg(uint64_t h, uint32_t rights) {
    if (h > 0xFFFFFFFFull)
        return base::Error::BAD_HANDLE;
    return self_task().handles().get_as<Thread>(tern_handle_t(h), rights);
}

constexpr uint64_t kMaxTransfer = 1ull << 20;

} // namespace

int64_t sys_task_create(const SyscallArgs& a) {
    char name[32] = {};
    if (a.a1 > 31)
        return err(base::Error::TOO_BIG);
    if (auto r = copy_from_user(name, a.a0, a.a1); r.is_error())
        return err(r.error());
    auto task = Task::create(name);
    if (task.is_error())
        return err(task.error());
    auto h = self_task().handles().insert(obj::Ref<obj::KObject>::adopt(task.value()),
                                          TERN_RIGHTS_ALL & ~TERN_RIGHT_RECEIVE);
    return h.is_error() ? err(h.error()) : int64_t(h.value());
}

int64_t sys_task_id_of(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull)
        return err(base::Error::BAD_HANDLE);
    auto task = self_task().handles().get_as<Task>(tern_handle_t(a.a0), 0);
    if (task.is_error())
        return err(task.error());
    return int64_t(task.value()->id());
}

int64_t sys_task_vm_allocate(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP);
    if (task.is_error())
        return err(task.error());
    if (a.a3 > 0xFFFFFFFFull)
        return err(base::Error::INVALID_ARGUMENT);
    auto r = task.value()->vm_allocate(a.a2, uint32_t(a.a3), kRegionAnonymous, a.a1);
    return r.is_error() ? err(r.error()) : int64_t(r.value());
}

int64_t sys_task_vm_write(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL);
    if (task.is_error())
        return err(task.error());
    if (a.a3 > kMaxTransfer)
        return err(base::Error::TOO_BIG);
    uint8_t chunk[512];
    for (uint64_t done = 0; done < a.a3;) {
        size_t n = base::min<uint64_t>(sizeof(chunk), a.a3 - done);
        if (auto r = copy_from_user(chunk, a.a2 + done, n); r.is_error())
            return err(r.error());
        if (auto r = task.value()->write_memory(a.a1 + done, base::Span<const uint8_t>(chunk, n));
            r.is_error())
            return err(r.error());
        done += n;
    }
    return int64_t(a.a3);
}

int64_t sys_task_vm_read(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL);
    if (task.is_error())
        return err(task.error());
    if (a.a3 > kMaxTransfer)
        return err(base::Error::TOO_BIG);
    uint8_t chunk[512];
    for (uint64_t done = 0; done < a.a3;) {
        size_t n = base::min<uint64_t>(sizeof(chunk), a.a3 - done);
        if (auto r = task.value()->read_memory(a.a1 + done, base::Span<uint8_t>(chunk, n));
            r.is_error())
            return err(r.error());
        if (auto r = copy_to_user(a.a2 + done, chunk, n); r.is_error())
            return err(r.error());
        done += n;
    }
    return int64_t(a.a3);
}

int64_t sys_task_thread_create(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL);
    if (task.is_error())
        return err(task.error());
    auto t = thread_create_user(*task.value(), a.a1, a.a2, a.a3, Thread::kDefaultPriority);
    if (t.is_error())
        return err(t.error());
    Thread* thread = t.value();
    thread->m_state = ThreadState::Stopped;
    auto h = self_task().handles().insert(obj::Ref<obj::KObject>::retain(thread),
                                          TERN_RIGHT_CONTROL | TERN_RIGHT_READ
                                              | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER);
    if (h.is_error()) {
        thread_kill(*thread);
        return err(h.error());
    }
    return int64_t(h.value());
}

int64_t sys_thread_stop(const SyscallArgs& a) {
    auto t = thread_arg(a.a0, TERN_RIGHT_CONTROL);
    if (t.is_error())
        return err(t.error());
    Thread& thread = *t.value();
    if (&thread == current_thread() || thread.state() == ThreadState::Dead || !thread.task())
        return err(base::Error::BAD_STATE);
    if (thread.task() == current_thread()->task())
        return err(base::Error::BAD_STATE); // a task does not stop its own threads (yet)
    InterruptGuard guard;
    if (thread.state() == ThreadState::Stopped || thread.state() == ThreadState::Embryo)
        return 0;
    thread.m_stop_requested = true;
    thread_interrupt(thread);
    WaitQueue waiters;
    thread.m_stopped_waiters = &waiters;
    uint64_t deadline = deadline_from_timeout(a.a1);
    base::Error e = base::Error::OK;
    while (thread.state() != ThreadState::Stopped && thread.state() != ThreadState::Dead) {
        if (a.a1 == TERN_TIMEOUT_NONE) {
            e = base::Error::WOULD_BLOCK;
            break;
        }
        e = waiters.wait(deadline);
        if (e != base::Error::OK)
            break;
    }
    thread.m_stopped_waiters = nullptr;
    if (thread.state() == ThreadState::Dead)
        return err(base::Error::BAD_STATE);
    if (thread.state() == ThreadState::Stopped)
        return 0;
    return err(e);
}

int64_t sys_thread_resume(const SyscallArgs& a) {
    auto t = thread_arg(a.a0, TERN_RIGHT_CONTROL);
    if (t.is_error())
        return err(t.error());
    return ret(thread_resume(*t.value()));
}

int64_t sys_thread_get_regs(const SyscallArgs& a) {
    auto t = thread_arg(a.a0, TERN_RIGHT_CONTROL);
    if (t.is_error())
        return err(t.error());
    Thread& thread = *t.value();
    if (thread.state() != ThreadState::Stopped || !thread.task())
        return err(base::Error::BAD_STATE);
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
                thread.m_user_fs_base,
                0};
    return ret(copy_to_user(a.a1, r));
}

int64_t sys_thread_set_regs(const SyscallArgs& a) {
    auto t = thread_arg(a.a0, TERN_RIGHT_CONTROL);
    if (t.is_error())
        return err(t.error());
    Thread& thread = *t.value();
    if (thread.state() != ThreadState::Stopped || !thread.task())
        return err(base::Error::BAD_STATE);
    tern_regs r;
    if (auto c = copy_from_user(r, a.a1); c.is_error())
        return err(c.error());
    if (!is_user_address(r.rip) || r.rsp > kUserSpaceEnd
        || (r.fs_base && !is_user_address(r.fs_base)))
        return err(base::Error::INVALID_ARGUMENT);
    TrapFrame& f = thread.user_frame();
    f.rax = r.rax, f.rbx = r.rbx, f.rcx = r.rcx, f.rdx = r.rdx, f.rsi = r.rsi, f.rdi = r.rdi;
    f.rbp = r.rbp, f.rsp = r.rsp, f.r8 = r.r8, f.r9 = r.r9, f.r10 = r.r10, f.r11 = r.r11;
    f.r12 = r.r12, f.r13 = r.r13, f.r14 = r.r14, f.r15 = r.r15, f.rip = r.rip;
    f.rflags = (r.rflags & TERN_RFLAGS_USER_MASK) | 0x202;
    f.cs = kUserCs;
    f.ss = kUserDs;
    thread.m_user_fs_base = r.fs_base;
    thread.m_force_iret = true;
    return 0;
}

int64_t sys_thread_get_fpu(const SyscallArgs& a) {
    auto t = thread_arg(a.a0, TERN_RIGHT_CONTROL);
    if (t.is_error())
        return err(t.error());
    Thread& thread = *t.value();
    if (thread.state() != ThreadState::Stopped)
        return err(base::Error::BAD_STATE);
    return ret(copy_to_user(a.a1, thread.m_fpu, sizeof(thread.m_fpu)));
}

int64_t sys_thread_set_fpu(const SyscallArgs& a) {
    auto t = thread_arg(a.a0, TERN_RIGHT_CONTROL);
    if (t.is_error())
        return err(t.error());
    Thread& thread = *t.value();
    if (thread.state() != ThreadState::Stopped)
        return err(base::Error::BAD_STATE);
    alignas(16) uint8_t image[512];
    if (auto c = copy_from_user(image, a.a1, sizeof(image)); c.is_error())
        return err(c.error());
    // FXRSTOR faults on MXCSR bits the CPU lacks; check against the CPU's own mask.
    uint32_t mxcsr, mask;
    __builtin_memcpy(&mxcsr, image + 24, 4);
    __builtin_memcpy(&mask, thread.m_fpu + 28, 4);
    if (mask == 0)
        mask = 0xFFBF;
    if (mxcsr & ~mask)
        return err(base::Error::INVALID_ARGUMENT);
    __builtin_memcpy(image + 28, &mask, 4);
    __builtin_memcpy(thread.m_fpu, image, sizeof(image));
    return 0;
}

int64_t sys_task_kill(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL);
    if (task.is_error())
        return err(task.error());
    if (a.a1 > 0x7FFFFFFF)
        return err(base::Error::INVALID_ARGUMENT);
    task.value()->kill(int64_t(a.a1), "killed");
    if (task.value().get() == &self_task())
        thread_exit_current();
    return 0;
}

int64_t sys_task_wait(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_READ);
    if (task.is_error())
        return err(task.error());
    if (task.value()->exited())
        return task.value()->exit_status();
    if (a.a1 == TERN_TIMEOUT_NONE)
        return err(base::Error::WOULD_BLOCK);
    auto r = task.value()->wait_exit(deadline_from_timeout(a.a1));
    return r.is_error() ? err(r.error()) : r.value();
}

int64_t sys_task_mappings(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_READ);
    if (task.is_error())
        return err(task.error());
    auto regions = task.value()->regions().regions();
    for (size_t i = 0; i < regions.size() && i < a.a2; ++i) {
        const obj::Region& r = regions[i];
        tern_mapping m{r.start, r.end, r.protection, r.kind,
                       task.value()->resident_pages(r.start, r.end)};
        if (auto c = copy_to_user(a.a1 + i * sizeof(m), m); c.is_error())
            return err(c.error());
    }
    return int64_t(regions.size());
}

int64_t sys_task_handles(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_READ);
    if (task.is_error())
        return err(task.error());
    uint64_t n = 0;
    base::Error failure = base::Error::OK;
    task.value()->handles().for_each([&](tern_handle_t h, obj::KObject& object, uint32_t rights) {
        if (n < a.a2 && failure == base::Error::OK) {
            tern_handle_info info{h, object.type(), rights, 0};
            if (auto c = copy_to_user(a.a1 + n * sizeof(info), info); c.is_error())
                failure = c.error();
        }
        ++n;
    });
    return failure == base::Error::OK ? int64_t(n) : err(failure);
}

int64_t sys_task_set_exception_port(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL);
    if (task.is_error())
        return err(task.error());
    if (a.a1 == 0) {
        task.value()->exception_port().reset();
        return 0;
    }
    if (a.a1 > 0xFFFFFFFFull)
        return err(base::Error::BAD_HANDLE);
    auto port = self_task().handles().get_as<Port>(tern_handle_t(a.a1), TERN_RIGHT_SEND);
    if (port.is_error())
        return err(port.error());
    task.value()->exception_port() = port.release_value();
    return 0;
}

int64_t sys_vm_map_pager(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP);
    if (task.is_error())
        return err(task.error());
    if (a.a3 > 0xFFFFFFFFull || a.a4 > 0xFFFFFFFFull)
        return err(base::Error::INVALID_ARGUMENT);
    auto port = self_task().handles().get_as<Port>(tern_handle_t(a.a4), TERN_RIGHT_SEND);
    if (port.is_error())
        return err(port.error());
    auto r = task.value()->map_pager(a.a1, a.a2, uint32_t(a.a3), port.release_value());
    return r.is_error() ? err(r.error()) : int64_t(r.value());
}

int64_t sys_vm_supply(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP);
    if (task.is_error())
        return err(task.error());
    if (!is_user_address(a.a1))
        return err(base::Error::INVALID_ARGUMENT);
    static uint8_t page[4096]; // one CPU, syscalls not preempted: a static bounce buffer
    if (auto c = copy_from_user(page, a.a2, sizeof(page)); c.is_error())
        return err(c.error());
    return ret(task.value()->supply_page(a.a1, page));
}

int64_t sys_vm_refuse(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP);
    if (task.is_error())
        return err(task.error());
    return ret(task.value()->refuse_page(a.a1));
}

} // namespace kernel

namespace kernel {

int64_t sys_task_give_handle(const SyscallArgs& a) {
    auto task = task_arg(a.a0, TERN_RIGHT_CONTROL);
    if (task.is_error())
        return err(task.error());
    if (a.a1 > 0xFFFFFFFFull || a.a2 > 0xFFFFFFFFull)
        return err(base::Error::INVALID_ARGUMENT);
    Task& self = self_task();
    uint32_t held = 0;
    auto object = self.handles().get(tern_handle_t(a.a1), TERN_OBJ_ANY, TERN_RIGHT_TRANSFER, &held);
    if (object.is_error())
        return err(object.error());
    uint32_t rights = uint32_t(a.a2) == TERN_RIGHTS_SAME ? held : uint32_t(a.a2);
    if (rights & ~held)
        return err(base::Error::ACCESS_DENIED);
    // A task's handle to itself is a reference cycle that only its exit breaks; a task
    // without threads may never exit, so it must have one first.
    if (object.value().get() == task.value().get() && task.value()->thread_count() == 0)
        return err(base::Error::BAD_STATE);
    auto h = task.value()->handles().insert(object.release_value(), rights);
    if (h.is_error())
        return err(h.error());
    // There is only ever one receive right: giving it away moves it.
    if (rights & TERN_RIGHT_RECEIVE)
        (void)self.handles().remove(tern_handle_t(a.a1), nullptr);
    return int64_t(h.value());
}

} // namespace kernel

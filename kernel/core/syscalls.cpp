// System call entry: the dispatch table generated from the ABI's syscall list, and the
// handlers. Every handler takes its raw arguments and returns a value >= 0 or a negated
// tern_status; pointers from user space are only touched through usercopy.
#include <base/error.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/arch/x86_64/serial.h>
#include <kernel/core/clock.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/core/port.h>
#include <kernel/core/syscalls.h>
#include <kernel/core/task.h>
#include <kernel/core/thread.h>
#include <kernel/core/usercopy.h>
#include <kernel/lib/cmdline.h>
#include <tern/abi/syscalls.h>
#include <tern/abi/task.h>

extern "C" void syscall_entry();

namespace kernel {

using namespace x86_64;

namespace {

uint64_t g_syscall_counts[TERN_SYSCALL_COUNT];
uint64_t g_unknown_syscalls = 0;

int64_t err(base::Error e) { return syscall_error(e); }
template<typename T>
int64_t ret(const base::Result<T>& r) {
    if (r.is_error())
        return err(r.error());
    return int64_t(r.value());
}
int64_t ret(const base::Result<void>& r) { return r.is_error() ? err(r.error()) : 0; }

Task& current_task() { return *current_thread()->task(); }

} // namespace

int64_t sys_null(const SyscallArgs&) { return 0; }

int64_t sys_debug_write(const SyscallArgs& a) {
    uint64_t buf = a.a0, len = a.a1;
    if (len > 4096)
        return err(base::Error::TOO_BIG);
    if (!user_range_ok(buf, len) && len != 0)
        return err(base::Error::BAD_ADDRESS);
    char chunk[256];
    for (uint64_t done = 0; done < len;) {
        size_t n = base::min<uint64_t>(sizeof(chunk), len - done);
        if (auto r = copy_from_user(chunk, buf + done, n); r.is_error())
            return err(r.error());
        com1().write(chunk, n);
        done += n;
    }
    return int64_t(len);
}

// Exit statuses are the low 31 bits of what a program passes, so task_wait can never
// return a value that reads as an error code.
int64_t exit_status_from(uint64_t value) { return int64_t(value & 0x7FFFFFFF); }

int64_t sys_thread_exit(const SyscallArgs& a) {
    current_task().set_exit_status(exit_status_from(a.a0));
    thread_exit_current();
}

int64_t sys_task_exit(const SyscallArgs& a) {
    Task& task = current_task();
    task.set_exit_status(exit_status_from(a.a0));
    task.kill(exit_status_from(a.a0), nullptr);
    thread_exit_current();
}

int64_t sys_thread_yield(const SyscallArgs&) {
    yield();
    return 0;
}

int64_t sys_clock_monotonic(const SyscallArgs&) { return int64_t(monotonic_ns()); }

int64_t sys_thread_sleep(const SyscallArgs& a) {
    sleep_ns(a.a0 > (1ull << 62) ? (1ull << 62) : a.a0);
    return 0;
}

int64_t sys_vm_allocate(const SyscallArgs& a) {
    if (a.a1 > 0xFFFFFFFFull)
        return err(base::Error::INVALID_ARGUMENT);
    return ret(current_task().vm_allocate(a.a0, uint32_t(a.a1)));
}

int64_t sys_vm_free(const SyscallArgs& a) { return ret(current_task().vm_free(a.a0, a.a1)); }

int64_t sys_vm_protect(const SyscallArgs& a) {
    if (a.a2 > 0xFFFFFFFFull)
        return err(base::Error::INVALID_ARGUMENT);
    return ret(current_task().vm_protect(a.a0, a.a1, uint32_t(a.a2)));
}

int64_t sys_thread_create(const SyscallArgs& a) {
    Task& task = current_task();
    if (a.a3 > 31)
        return err(base::Error::INVALID_ARGUMENT);
    auto t = thread_create_user(task, a.a0, a.a1, a.a2, uint8_t(a.a3));
    if (t.is_error())
        return err(t.error());
    Thread* thread = t.value();
    auto h = task.handles().insert(obj::Ref<obj::KObject>::retain(thread),
                                   TERN_RIGHT_CONTROL | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER
                                       | TERN_RIGHT_READ);
    if (h.is_error()) {
        thread_kill(*thread);
        return err(h.error());
    }
    make_ready(*thread);
    return int64_t(h.value());
}

int64_t sys_task_id(const SyscallArgs&) { return int64_t(current_task().id()); }
int64_t sys_thread_id(const SyscallArgs&) { return int64_t(current_thread()->id()); }

const BootOptions& boot_options();
int64_t sys_node_id(const SyscallArgs&) { return int64_t(boot_options().node_id); }

int64_t sys_memory_info(const SyscallArgs& a) {
    MemoryStats stats = memory_stats();
    tern_memory_info info = {stats.total_bytes, uint64_t(stats.total_pages) * 4096,
                             uint64_t(stats.free_pages) * 4096, stats.heap_bytes_in_use,
                             obj::KObject::live_total()};
    auto r = copy_to_user(a.a0, info);
    return r.is_error() ? err(r.error()) : 0;
}

int64_t sys_thread_set_fs_base(const SyscallArgs& a) {
    if (a.a0 != 0 && !is_user_address(a.a0))
        return err(base::Error::INVALID_ARGUMENT);
    current_thread()->m_user_fs_base = a.a0;
    wrmsr(kMsrFsBase, a.a0);
    return 0;
}

int64_t sys_handle_close(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull)
        return err(base::Error::BAD_HANDLE);
    return ret(handle_close(current_task(), tern_handle_t(a.a0)));
}

int64_t sys_handle_duplicate(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull || a.a1 > 0xFFFFFFFFull)
        return err(a.a0 > 0xFFFFFFFFull ? base::Error::BAD_HANDLE : base::Error::INVALID_ARGUMENT);
    // A port has exactly one receive right: it can be moved, never duplicated.
    uint32_t held = 0;
    auto object = current_task().handles().get(tern_handle_t(a.a0), TERN_OBJ_ANY, 0, &held);
    if (object.is_error())
        return err(object.error());
    uint32_t wanted = uint32_t(a.a1) == TERN_RIGHTS_SAME ? held : uint32_t(a.a1);
    if (wanted & TERN_RIGHT_RECEIVE)
        return err(base::Error::ACCESS_DENIED);
    return ret(current_task().handles().duplicate(tern_handle_t(a.a0), wanted));
}

uint64_t deadline_from_timeout(uint64_t timeout) {
    if (timeout == TERN_TIMEOUT_INFINITE)
        return 0;
    uint64_t now = monotonic_ns();
    return timeout > ~0ull - now ? 0 : now + timeout;
}

void syscall_init() {
    wrmsr(kMsrEfer, rdmsr(kMsrEfer) | 1); // SCE
    wrmsr(kMsrStar, (uint64_t(0x10) << 48) | (uint64_t(kKernelCs) << 32));
    wrmsr(kMsrLstar, reinterpret_cast<uint64_t>(&syscall_entry));
    // Clear IF (the kernel is not preemptible inside a syscall), TF, DF, AC (SMAP), NT.
    wrmsr(kMsrSfmask, 0x200 | 0x100 | 0x400 | 0x40000 | 0x4000);
}

uint64_t syscall_count(uint32_t number) {
    return number < TERN_SYSCALL_COUNT ? g_syscall_counts[number] : g_unknown_syscalls;
}

} // namespace kernel

using namespace kernel;

extern "C" uint64_t syscall_dispatch(TrapFrame* f) {
    SyscallArgs a{f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9, f};
    uint64_t number = f->rax;
    int64_t result;
    switch (number) {
#define TERN_X_SYSCALL_CASE(num, name, argc)                                                       \
    case num:                                                                                      \
        ++g_syscall_counts[num];                                                                   \
        result = sys_##name(a);                                                                    \
        break;
        TERN_ENUMERATE_SYSCALLS(TERN_X_SYSCALL_CASE)
#undef TERN_X_SYSCALL_CASE
    default:
        if (g_unknown_syscalls++ < 8)
            log::warn("syscall: task {} called unknown syscall {}", current_task().id(), number);
        result = err(base::Error::NOT_SUPPORTED);
        break;
    }
    f->rax = uint64_t(result);
    if (need_resched())
        yield();
    on_return_to_user();
    Thread* t = current_thread();
    // SYSRET to a non-canonical RIP would fault in ring 0 with the user's stack, and it
    // cannot restore RCX and R11: leave through IRETQ when the return address is not a
    // plain user address or a controller rewrote the registers.
    bool iret = t->m_force_iret || !is_user_address(f->rip);
    t->m_force_iret = false;
    return iret ? 1 : 0;
}

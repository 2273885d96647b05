// Tasks: creation, exit status, and control of another task through a handle with
// TERN_RIGHT_CONTROL (its memory, its handles, killing it), as the spawner, the migrate
// server or a debugger uses them.
#include <base/utility.h>
#include <kernel/core/memory.h>
#include <kernel/object/port.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/syscalls/handlers.h>
#include <tern/abi/task.h>

namespace kernel {

namespace {

Task& self_task() { return *current_thread()->task(); }

base::Result<obj::Ref<Task>> task_arg(Handle h, uint32_t rights) {
    return self_task().handles().get_as<Task>(h.value(), rights);
}

// The most task_vm_write and task_vm_read copy in one call.
constexpr uint64_t kMaxTransfer = 1ull << 20;

} // namespace

SyscallResult sys_task_create(UserBuffer name) {
    char text[32] = {};
    if (name.size() > 31)
        return base::Error::TOO_BIG;
    TRY(name.read(0, text, name.size()));
    Task& self = self_task();
    QuotaCharge charge = TRY(QuotaCharge::take(self.account(), QuotaKind::kTasks));
    Task* task = TRY(Task::create(text));
    task->set_quota_charge(base::move(charge));
    return TRY(self.handles().insert(obj::Ref<obj::KObject>::adopt(task),
                                     TERN_RIGHTS_ALL & ~TERN_RIGHT_RECEIVE));
}

SyscallResult sys_task_clone(Handle handle, uint64_t entry, uint64_t stack_top, uint64_t arg,
                             UserPtr<tern_handle_t> thread_out) {
    auto source = TRY(task_arg(handle, TERN_RIGHT_CONTROL));
    Task& self = self_task();
    Thread* caller = current_thread();
    // Checked before anything is made, so that a bad pointer costs nothing.
    TRY(thread_out.write(TERN_INVALID_HANDLE));
    QuotaCharge charge = TRY(QuotaCharge::take(self.account(), QuotaKind::kTasks));
    Task* child = TRY(Task::clone(*source));
    child->set_quota_charge(base::move(charge));
    auto drop = [child](base::Error e) -> SyscallResult {
        child->kill(0, "clone failed");
        child->release_ref();
        return e;
    };
    bool same = source.get() == &self;
    auto made = thread_create_user(*child, entry, stack_top, arg,
                                   same ? caller->priority() : Thread::kDefaultPriority);
    if (made.is_error())
        return drop(made.error());
    Thread* thread = made.value();
    thread->m_state = ThreadState::kStopped;
    if (same) {
        thread->set_user_fs_base(caller->user_fs_base());
        // The clone's thread ends as the caller would (its memory is a copy of the
        // caller's): a C library's fork child keeps its thread-exit protocol.
        thread->m_clear_tid = caller->m_clear_tid;
    }
    auto thread_handle = self.handles().insert(obj::Ref<obj::KObject>::retain(thread),
                                               TERN_RIGHT_CONTROL | TERN_RIGHT_READ
                                                   | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER);
    if (thread_handle.is_error()) {
        thread_kill(*thread);
        return drop(thread_handle.error());
    }
    auto task_handle = self.handles().insert(obj::Ref<obj::KObject>::retain(child),
                                             TERN_RIGHTS_ALL & ~TERN_RIGHT_RECEIVE);
    if (task_handle.is_error()) {
        (void)self.handles().close(thread_handle.value());
        thread_kill(*thread);
        return drop(task_handle.error());
    }
    child->release_ref(); // the handle holds it now
    if (auto w = thread_out.write(thread_handle.value()); w.is_error()) {
        child->kill(0, "clone failed");
        (void)self.handles().close(thread_handle.value());
        (void)self.handles().close(task_handle.value());
        return w.error();
    }
    return task_handle.value();
}

SyscallResult sys_task_id() { return self_task().id(); }

SyscallResult sys_task_id_of(Handle handle) { return TRY(task_arg(handle, 0))->id(); }

SyscallResult sys_task_vm_allocate(Handle handle, uint64_t address, uint64_t size, uint32_t prot) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP));
    return task->vm_allocate(size, prot, kRegionAnonymous, address);
}

SyscallResult sys_task_vm_write(Handle handle, uint64_t address, UserBuffer bytes) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL));
    if (bytes.size() > kMaxTransfer)
        return base::Error::TOO_BIG;
    if (task.get() == &self_task() && user_range_ok(address, bytes.size())
        && task->user_access_ok(address, bytes.size(), true)) {
        // The caller's own writable memory (a C library's checked copy, as for read()):
        // one copy from buffer to buffer, whose faults resolve as the program's own would
        // (demand-zero, copy-on-write) or fail it with BAD_ADDRESS.
        TRY(bytes.read(0, reinterpret_cast<void*>(address), bytes.size()));
        return bytes.size();
    }
    struct Fill {
        const UserBuffer* bytes;
        uint64_t done;
    };
    uint8_t chunk[512];
    for (uint64_t done = 0; done < bytes.size();) {
        uint64_t v = address + done;
        if (base::is_aligned(v, x86_64::kPageSize) && bytes.size() - done >= x86_64::kPageSize) {
            // A whole page not mapped yet (a program being loaded): straight from the
            // caller into a new page, not zeroed first nor copied twice.
            Fill fill{&bytes, done};
            auto r = task->write_new_page(
                v,
                [](uint8_t* page, void* ctx) {
                    auto* f = static_cast<Fill*>(ctx);
                    return f->bytes->read(f->done, page, x86_64::kPageSize);
                },
                &fill);
            if (r.ok()) {
                done += x86_64::kPageSize;
                continue;
            }
            if (r.error() != base::Error::ALREADY_EXISTS)
                return r.error();
        }
        size_t n = base::min<uint64_t>(sizeof(chunk), bytes.size() - done);
        TRY(bytes.read(done, chunk, n));
        TRY(task->write_memory(address + done, base::Span<const uint8_t>(chunk, n)));
        done += n;
    }
    return bytes.size();
}

SyscallResult sys_task_vm_read(Handle handle, uint64_t address, UserBuffer bytes) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL));
    if (bytes.size() > kMaxTransfer)
        return base::Error::TOO_BIG;
    if (task.get() == &self_task() && user_range_ok(address, bytes.size())
        && task->user_access_ok(address, bytes.size(), false)) {
        // The caller's own readable memory: one copy, as for task_vm_write above.
        TRY(bytes.write(0, reinterpret_cast<const void*>(address), bytes.size()));
        return bytes.size();
    }
    uint8_t chunk[512];
    for (uint64_t done = 0; done < bytes.size();) {
        size_t n = base::min<uint64_t>(sizeof(chunk), bytes.size() - done);
        TRY(task->read_memory(address + done, base::Span<uint8_t>(chunk, n)));
        TRY(bytes.write(done, chunk, n));
        done += n;
    }
    return bytes.size();
}

SyscallResult sys_task_kill(Handle handle, uint64_t status) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL));
    if (status > 0x7FFFFFFF)
        return base::Error::INVALID_ARGUMENT;
    task->kill(int64_t(status), "killed");
    if (task.get() == &self_task())
        thread_exit_current();
    return 0;
}

SyscallResult sys_fault_resume(uint64_t start, uint64_t end, uint64_t resume) {
    if (start == 0 && end == 0 && resume == 0) {
        self_task().set_fault_resume({});
        return 0;
    }
    if (start >= end || !user_range_ok(start, end - start) || !user_range_ok(resume, 1)
        || (resume >= start && resume < end))
        return base::Error::INVALID_ARGUMENT;
    self_task().set_fault_resume({start, end, resume});
    return 0;
}

SyscallResult sys_task_wait(Handle handle, Timeout timeout) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_READ));
    if (task->exited())
        return uint64_t(task->exit_status());
    if (!timeout.blocks())
        return base::Error::WOULD_BLOCK;
    return uint64_t(TRY(task->wait_exit(timeout.deadline())));
}

SyscallResult sys_task_mappings(Handle handle, UserArray<tern_mapping> out) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_READ));
    auto regions = task->regions().regions();
    for (size_t i = 0; i < regions.size() && i < out.count(); ++i) {
        const obj::Region& r = regions[i];
        tern_mapping m{r.start, r.end, r.protection, r.kind, task->resident_pages(r.start, r.end)};
        TRY(out.at(i).write(m));
    }
    return regions.size();
}

SyscallResult sys_cpu_times(Handle handle, UserPtr<tern_cpu_times> out) {
    static_assert(TERN_CPU_TICK_NS * kTimerHz == 1000000000ull, "a tick is 1 / kTimerHz");
    uint64_t user = 0;
    uint64_t system = 0;
    if (handle.is_none()) {
        user = current_thread()->m_user_ticks;
        system = current_thread()->m_system_ticks;
    } else if (auto task = task_arg(handle, TERN_RIGHT_READ); !task.is_error()) {
        task.value()->cpu_ticks(user, system);
    } else if (task.error() != base::Error::WRONG_TYPE) {
        return task.error();
    } else {
        auto thread = TRY(self_task().handles().get_as<Thread>(handle.value(), TERN_RIGHT_READ));
        user = thread->m_user_ticks;
        system = thread->m_system_ticks;
    }
    TRY(out.write(tern_cpu_times{user * TERN_CPU_TICK_NS, system * TERN_CPU_TICK_NS}));
    return 0;
}

SyscallResult sys_task_handles(Handle handle, UserArray<tern_handle_info> out) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_READ));
    uint64_t n = 0;
    base::Error failure = base::Error::OK;
    task->handles().for_each([&](tern_handle_t h, obj::KObject& object, uint32_t rights) {
        if (n < out.count() && failure == base::Error::OK) {
            tern_handle_info info{h, object.type(), rights, 0, object.object_id()};
            if (auto c = out.at(n).write(info); c.is_error())
                failure = c.error();
        }
        ++n;
    });
    if (failure != base::Error::OK)
        return failure;
    return n;
}

SyscallResult sys_task_set_exception_port(Handle handle, Handle port) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL));
    if (port.is_none()) {
        task->exception_port().reset();
        return 0;
    }
    // An exited task holds no references (a port here could be what keeps it alive).
    if (task->exited())
        return base::Error::BAD_STATE;
    task->exception_port() = TRY(self_task().handles().get_as<Port>(port.value(), TERN_RIGHT_SEND));
    return 0;
}

SyscallResult sys_task_give_handle(Handle handle, Handle given, uint32_t rights) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL));
    Task& self = self_task();
    uint32_t held = 0;
    auto object = TRY(self.handles().get(given.value(), TERN_OBJ_ANY, TERN_RIGHT_TRANSFER, &held));
    uint32_t granted = rights == TERN_RIGHTS_SAME ? held : rights;
    if (granted & ~held)
        return base::Error::ACCESS_DENIED;
    // A task's handle to itself is a reference cycle that only its exit breaks; a task
    // without threads may never exit, so it must have one first.
    if (object.get() == task.get() && task->thread_count() == 0)
        return base::Error::BAD_STATE;
    tern_handle_t value = TRY(task->handles().insert(base::move(object), granted));
    // There is only ever one receive right: giving it away moves it.
    if (granted & TERN_RIGHT_RECEIVE)
        (void)self.handles().remove(given.value(), nullptr);
    return value;
}

} // namespace kernel

// Address spaces: the caller's memory, pagers, and memory objects mapped into a task.
#include <base/utility.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/object/memory_object.h>
#include <kernel/object/port.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/syscalls/handlers.h>

namespace kernel {

namespace {

Task& self_task() { return *current_thread()->task(); }

base::Result<obj::Ref<Task>> task_arg(Handle h, uint32_t rights) {
    return self_task().handles().get_as<Task>(h.value(), rights);
}

} // namespace

SyscallResult sys_vm_allocate(uint64_t size, uint32_t prot) {
    return self_task().vm_allocate(size, prot);
}

SyscallResult sys_vm_free(uint64_t address, uint64_t size) {
    TRY(self_task().vm_free(address, size));
    return 0;
}

SyscallResult sys_vm_protect(uint64_t address, uint64_t size, uint32_t prot) {
    TRY(self_task().vm_protect(address, size, prot));
    return 0;
}

SyscallResult sys_vm_map_pager(Handle handle, uint64_t address, uint64_t size, uint32_t prot,
                               Handle pager) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP));
    auto port = TRY(self_task().handles().get_as<Port>(pager.value(), TERN_RIGHT_SEND));
    return task->map_pager(address, size, prot, base::move(port));
}

SyscallResult sys_vm_supply(Handle handle, uint64_t address, UserPtr<uint8_t[4096]> page) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP));
    if (!x86_64::is_user_address(address))
        return base::Error::INVALID_ARGUMENT;
    TRY(task->supply_pages(address, 1, page.address()));
    return 0;
}

SyscallResult sys_vm_supply_batch(Handle handle, uint64_t address, uint64_t pages, uint64_t count) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP));
    uint64_t first = base::align_down(address, uint64_t(4096));
    if (count == 0 || count > Task::kMaxSupplyPages || !x86_64::is_user_address(first)
        || !x86_64::is_user_address(first + count * 4096 - 1))
        return base::Error::INVALID_ARGUMENT;
    TRY(task->supply_pages(first, count, pages));
    return count;
}

SyscallResult sys_vm_refuse(Handle handle, uint64_t address) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP));
    TRY(task->refuse_page(address));
    return 0;
}

SyscallResult sys_memory_create(uint64_t size, uint32_t flags) {
    if (flags & ~TERN_MEMORY_CONTIGUOUS)
        return base::Error::INVALID_ARGUMENT;
    Task& task = self_task();
    if (size
        > task.quotas().memory_bytes - base::min(task.quotas().memory_bytes, task.memory_used()))
        return base::Error::QUOTA_EXCEEDED;
    obj::Ref<MemoryObject> memory = obj::Ref<MemoryObject>::adopt(
        TRY(MemoryObject::create(size, flags & TERN_MEMORY_CONTIGUOUS)));
    // The creator pays for the pages for as long as the object lives.
    TRY(memory->charge_to(task));
    return TRY(task.handles().insert(
        base::move(memory), TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_WRITE
                                | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER | TERN_RIGHT_CONTROL));
}

SyscallResult sys_vm_map_memory(Handle handle, Handle memory_handle, uint64_t address,
                                uint64_t offset, uint64_t size, uint32_t prot) {
    auto task = TRY(task_arg(handle, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP));
    uint32_t need = TERN_RIGHT_MAP | ((prot & TERN_PROT_WRITE) ? TERN_RIGHT_WRITE : 0);
    auto memory = TRY(self_task().handles().get_as<MemoryObject>(memory_handle.value(), need));
    if (offset % 4096 || size % 4096 || size == 0 || offset > memory->size()
        || size > memory->size() - offset)
        return base::Error::OUT_OF_RANGE;
    // A mapping made through a handle without WRITE can never be made writable.
    bool writable =
        self_task().handles().get_as<MemoryObject>(memory_handle.value(), TERN_RIGHT_WRITE).ok();
    return task->map_memory(address, base::move(memory), offset, size, prot, writable);
}

SyscallResult sys_memory_physical(Handle handle, uint64_t offset) {
    auto memory =
        TRY(self_task().handles().get_as<MemoryObject>(handle.value(), TERN_RIGHT_CONTROL));
    if (offset >= memory->size())
        return base::Error::OUT_OF_RANGE;
    return memory->page_phys(offset / 4096) + offset % 4096;
}

} // namespace kernel

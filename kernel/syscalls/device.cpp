// Device access for user-space drivers: IRQ lines, I/O ports and device registers, each
// claimed through a resource handle that covers it.
#include <kernel/core/memory.h>
#include <kernel/object/irq.h>
#include <kernel/object/memory_object.h>
#include <kernel/object/port.h>
#include <kernel/object/resource.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/syscalls/handlers.h>

namespace kernel {

namespace {

Task& self_task() { return *current_thread()->task(); }

base::Result<obj::Ref<Resource>> resource_arg(Handle h) {
    return self_task().handles().get_as<Resource>(h.value(), TERN_RIGHT_READ);
}

} // namespace

SyscallResult sys_memory_create_physical(Handle resource, uint64_t phys, uint64_t size) {
    if (phys % 4096 || size % 4096)
        return base::Error::MISALIGNED;
    if (size == 0 || size > (1ull << 30) || phys + size < phys)
        return base::Error::INVALID_ARGUMENT;
    auto range = TRY(resource_arg(resource));
    if (!range->covers(Resource::Kind::kMmio, phys, size))
        return base::Error::ACCESS_DENIED;
    // Handing out RAM the page allocator manages would let a task read other tasks' pages.
    if (is_managed_ram(phys, size))
        return base::Error::INVALID_ARGUMENT;
    auto* memory = MemoryObject::wrap_physical(phys, size / 4096, true);
    if (!memory)
        return base::Error::NO_MEMORY;
    return TRY(self_task().handles().insert(obj::Ref<obj::KObject>::adopt(memory),
                                            TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_WRITE
                                                | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER
                                                | TERN_RIGHT_CONTROL));
}

SyscallResult sys_irq_create(Handle resource, uint32_t line) {
    auto range = TRY(resource_arg(resource));
    if (!range->covers(Resource::Kind::kIrq, line, 1))
        return base::Error::ACCESS_DENIED;
    Irq* irq = TRY(Irq::create(line));
    return TRY(self_task().handles().insert(obj::Ref<obj::KObject>::adopt(irq),
                                            TERN_RIGHT_CONTROL | TERN_RIGHT_DUPLICATE
                                                | TERN_RIGHT_TRANSFER));
}

SyscallResult sys_irq_bind(Handle handle, Handle port, uint64_t bits) {
    auto irq = TRY(self_task().handles().get_as<Irq>(handle.value(), TERN_RIGHT_CONTROL));
    if (port.is_none()) {
        if (irq->bind({}, 0).is_error())
            return base::Error::BAD_STATE;
        return 0;
    }
    if (bits == 0)
        return base::Error::INVALID_ARGUMENT;
    auto target = TRY(self_task().handles().get_as<Port>(port.value(), TERN_RIGHT_SIGNAL));
    TRY(irq->bind(base::move(target), bits));
    return 0;
}

SyscallResult sys_irq_ack(Handle handle) {
    TRY(self_task().handles().get_as<Irq>(handle.value(), TERN_RIGHT_CONTROL))->ack();
    return 0;
}

SyscallResult sys_ioport_enable(Handle resource, uint32_t base, uint32_t count) {
    if (base > 0xFFFF || count == 0 || count > 0x10000 || base + count > 0x10000)
        return base::Error::INVALID_ARGUMENT;
    auto range = TRY(resource_arg(resource));
    if (!range->covers(Resource::Kind::kIoPort, base, count))
        return base::Error::ACCESS_DENIED;
    TRY(self_task().enable_io_ports(base, count));
    return 0;
}

} // namespace kernel

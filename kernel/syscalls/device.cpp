// Device access for user-space drivers: IRQ lines, MSI vectors, I/O ports and device
// registers, each claimed through a resource handle that covers it; what the firmware
// says about the machine; the boot options system tasks may read.
#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/ioapic.h>
#include <kernel/core/boot.h>
#include <kernel/core/firmware.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/lib/cmdline.h>
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

SyscallResult sys_irq_create(Handle resource, uint32_t line, uint32_t flags) {
    if (flags & ~TERN_IRQ_FLAGS_ALL)
        return base::Error::INVALID_ARGUMENT;
    bool is_gsi = flags & TERN_IRQ_GSI;
    // An ISA IRQ's trigger and polarity come from the firmware, not the caller.
    if (!is_gsi && flags != TERN_IRQ_ISA)
        return base::Error::INVALID_ARGUMENT;
    if (!is_gsi && line >= x86_64::kIsaIrqs)
        return base::Error::OUT_OF_RANGE;
    auto range = TRY(resource_arg(resource));
    uint32_t gsi = is_gsi ? line : x86_64::ioapic_isa_route(line).gsi;
    if (gsi >= x86_64::ioapic_gsi_count())
        return base::Error::OUT_OF_RANGE;
    if (!range->covers(Resource::Kind::kIrq, gsi, 1))
        return base::Error::ACCESS_DENIED;
    Irq* irq =
        TRY(is_gsi ? Irq::create_gsi(line, flags & TERN_IRQ_LEVEL, flags & TERN_IRQ_ACTIVE_LOW)
                   : Irq::create_isa(line));
    return TRY(self_task().handles().insert(obj::Ref<obj::KObject>::adopt(irq),
                                            TERN_RIGHT_CONTROL | TERN_RIGHT_DUPLICATE
                                                | TERN_RIGHT_TRANSFER));
}

SyscallResult sys_irq_create_msi(Handle resource, UserPtr<tern_msi_message> out) {
    auto range = TRY(resource_arg(resource));
    if (range->kind() != Resource::Kind::kMsi)
        return base::Error::ACCESS_DENIED;
    Irq* irq = TRY(Irq::create_msi(range->base(), range->count()));
    obj::Ref<obj::KObject> ref = obj::Ref<obj::KObject>::adopt(irq);
    tern_msi_message message{};
    x86_64::msi_compose(irq->vector(), message.address, message.data);
    message.vector = irq->vector();
    // Written before the handle exists, so a bad pointer leaves nothing behind.
    TRY(out.write(message));
    return TRY(self_task().handles().insert(
        base::move(ref), TERN_RIGHT_CONTROL | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER));
}

SyscallResult sys_resource_split(Handle resource, uint64_t base, uint64_t count) {
    uint32_t held = 0;
    auto range = TRY(self_task().handles().get_as<Resource>(
        resource.value(), TERN_RIGHT_READ | TERN_RIGHT_DUPLICATE, &held));
    if (count == 0 || base + count < base || range->kind() == Resource::Kind::kConfig)
        return base::Error::INVALID_ARGUMENT;
    if (!range->covers(range->kind(), base, count))
        return base::Error::ACCESS_DENIED;
    auto* part = new (kNoThrow) Resource(range->kind(), base, count);
    if (!part)
        return base::Error::NO_MEMORY;
    return TRY(self_task().handles().insert(
        obj::Ref<obj::KObject>::adopt(part),
        held & (TERN_RIGHT_READ | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER)));
}

SyscallResult sys_firmware_info(UserPtr<tern_firmware_info> out) {
    tern_firmware_info info;
    firmware_fill_info(info);
    TRY(out.write(info));
    return 0;
}

SyscallResult sys_boot_option(Handle config, UserBuffer name, UserBuffer value) {
    auto range = TRY(resource_arg(config));
    if (range->kind() != Resource::Kind::kConfig)
        return base::Error::ACCESS_DENIED;
    // Secrets (the cluster key) need CONTROL beside READ: init hands them only to the
    // network server, whose bus authenticates frames with the key.
    bool secrets = self_task()
                       .handles()
                       .get_as<Resource>(config.value(), TERN_RIGHT_READ | TERN_RIGHT_CONTROL)
                       .ok();
    char key[33];
    if (name.size() == 0 || name.size() >= sizeof(key))
        return base::Error::INVALID_ARGUMENT;
    TRY(name.read(0, key, name.size()));
    // Long enough for every option's value (the longest is a 63-character filter).
    char text[80];
    auto result = format_cmdline_option_value(base::StringView(key, name.size()), boot_options(),
                                              text, sizeof(text), secrets);
    switch (result.status) {
    case CmdlineValueStatus::kUnknown:
        return base::Error::INVALID_ARGUMENT;
    case CmdlineValueStatus::kUnset:
        return base::Error::NOT_FOUND;
    case CmdlineValueStatus::kSecret:
        log::warn("boot_option: task {} asked for the secret option '{}'; refused",
                  self_task().id(), base::StringView(key, name.size()));
        return base::Error::ACCESS_DENIED;
    case CmdlineValueStatus::kOk:
        break;
    }
    if (result.length > value.size())
        return base::Error::NO_SPACE;
    TRY(value.write(0, text, result.length));
    return result.length;
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
    TRY(TRY(self_task().handles().get_as<Irq>(handle.value(), TERN_RIGHT_CONTROL))->ack());
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

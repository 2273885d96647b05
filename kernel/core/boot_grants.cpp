// The handles the kernel gives the tasks it starts from boot modules: the root device
// resources and init's bootstrap port.
#include <base/utility.h>
#include <kernel/arch/x86_64/ioapic.h>
#include <kernel/core/boot.h>
#include <kernel/core/boot_grants.h>
#include <kernel/core/memory.h>
#include <kernel/lib/multiboot2.h>
#include <kernel/object/memory_object.h>
#include <kernel/object/port.h>
#include <kernel/object/resource.h>
#include <kernel/object/task.h>
#include <tern/abi/syscalls.h>

namespace kernel {

base::Result<void> grant_device_resources(Task& task) {
    // IRQs: every GSI with an I/O APIC input. MMIO: any physical address the CPU can reach
    // (RAM is refused per request). MSI: every vector the kernel sets aside for MSIs.
    obj::Ref<obj::KObject> irq = obj::Ref<obj::KObject>::adopt(
        new (kNoThrow) Resource(Resource::Kind::kIrq, 0, x86_64::ioapic_gsi_count()));
    obj::Ref<obj::KObject> io =
        obj::Ref<obj::KObject>::adopt(new (kNoThrow) Resource(Resource::Kind::kIoPort, 0, 65536));
    obj::Ref<obj::KObject> mmio = obj::Ref<obj::KObject>::adopt(
        new (kNoThrow) Resource(Resource::Kind::kMmio, 0, 1ull << 52));
    obj::Ref<obj::KObject> msi = obj::Ref<obj::KObject>::adopt(new (kNoThrow) Resource(
        Resource::Kind::kMsi, x86_64::kMsiVectorBase, x86_64::kMsiVectorCount));
    obj::Ref<obj::KObject> config =
        obj::Ref<obj::KObject>::adopt(new (kNoThrow) Resource(Resource::Kind::kConfig, 0, 0));
    if (!irq || !io || !mmio || !msi || !config)
        return base::Error::NO_MEMORY;
    uint32_t rights = TERN_RIGHT_READ | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER;
    TRY(task.handles().insert_at(TERN_HANDLE_IRQ_RESOURCE, base::move(irq), rights));
    TRY(task.handles().insert_at(TERN_HANDLE_IOPORT_RESOURCE, base::move(io), rights));
    TRY(task.handles().insert_at(TERN_HANDLE_MMIO_RESOURCE, base::move(mmio), rights));
    TRY(task.handles().insert_at(TERN_HANDLE_MSI_RESOURCE, base::move(msi), rights));
    // CONTROL on the config resource reads secret options too (the cluster key).
    TRY(task.handles().insert_at(TERN_HANDLE_CONFIG, base::move(config),
                                 rights | TERN_RIGHT_CONTROL));
    return {};
}

base::Result<void> grant_boot_modules(Task& task) {
    const mb2::BootInfo& info = boot_info();
    uint32_t capacity =
        uint32_t(base::clamp<size_t>(info.module_count, 1, obj::MessageQueue::kMaxCapacity));
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(capacity));
    if (!port)
        return base::Error::NO_MEMORY;
    for (size_t i = 0; i < info.module_count && i < capacity; ++i) {
        const auto& mod = info.modules[i];
        uint64_t first = base::align_down(uint64_t(mod.start), 4096);
        uint64_t last = base::align_up(uint64_t(mod.end), 4096);
        obj::Message m;
        m.header.label = TERN_LABEL_BOOT_MODULE;
        m.words[0] = mod.end - mod.start;
        m.words[1] = mod.start - first;
        m.words[2] = i;
        uint32_t name_len = uint32_t(base::min<size_t>(mod.name.length(), 255));
        if (name_len) {
            void* name = kmalloc(name_len);
            if (!name)
                return base::Error::NO_MEMORY;
            __builtin_memcpy(name, mod.name.data(), name_len);
            m.attach_data(name, name_len, [](void* p, uint32_t) { kfree(p); });
        }
        auto* object = MemoryObject::wrap_physical(first, (last - first) / 4096);
        if (!object)
            return base::Error::NO_MEMORY;
        TRY(m.add_handle(obj::Ref<obj::KObject>::adopt(object), TERN_RIGHT_MAP | TERN_RIGHT_READ
                                                                    | TERN_RIGHT_DUPLICATE
                                                                    | TERN_RIGHT_TRANSFER));
        TRY(port->send(base::move(m), 0, false));
    }
    return task.handles().insert_at(TERN_HANDLE_BOOTSTRAP, base::move(port), TERN_RIGHTS_ALL);
}

} // namespace kernel

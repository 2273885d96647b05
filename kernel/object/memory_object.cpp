#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/trap.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/core/usercopy.h>
#include <kernel/lib/multiboot2.h>
#include <kernel/object/memory_object.h>
#include <kernel/object/task.h>
#include <kernel/syscalls/dispatch.h>
#include <tern/abi/syscalls.h>

namespace kernel {

using namespace x86_64;

namespace {

// The IOAPIC at its architectural default address; ISA lines map to the same GSI here
// (QEMU's one override, IRQ 0 -> GSI 2, concerns the PIT, which drivers never claim).
constexpr uint64_t kIoApicPhys = 0xFEC00000;
constexpr uint8_t kIrqVectorBase = 64;
constexpr uint32_t kIsaLines = 16;
volatile uint32_t* g_ioapic = nullptr;
Irq* g_irqs[kIsaLines];

void ioapic_write(uint32_t reg, uint32_t value) {
    g_ioapic[0] = reg;
    g_ioapic[4] = value;
}

void set_masked(uint32_t line, bool masked) {
    if (!g_ioapic)
        return;
    uint32_t low = (kIrqVectorBase + line) | (masked ? (1u << 16) : 0);
    ioapic_write(0x10 + 2 * line, low); // edge-triggered, active high, fixed
    ioapic_write(0x10 + 2 * line + 1, lapic_id() << 24);
}

void on_device_interrupt(TrapFrame& frame) {
    uint32_t line = uint32_t(frame.vector - kIrqVectorBase);
    if (line < kIsaLines && g_irqs[line])
        g_irqs[line]->fire();
    lapic_eoi();
}

int64_t err(base::Error e) { return syscall_error(e); }
} // namespace
const mb2::BootInfo& boot_info();
namespace {
Task& self_task() { return *current_thread()->task(); }

} // namespace

void ioapic_init() {
    g_ioapic = reinterpret_cast<volatile uint32_t*>(map_mmio(kIoApicPhys, 4096));
    for (uint32_t line = 0; line < kIsaLines; ++line) {
        set_masked(line, true);
        set_trap_handler(uint8_t(kIrqVectorBase + line), on_device_interrupt);
    }
}

base::Result<Irq*> Irq::create(uint32_t line) {
    if (line >= kIsaLines)
        return base::Error::OUT_OF_RANGE;
    InterruptGuard guard;
    if (g_irqs[line])
        return base::Error::BUSY;
    auto* irq = new (kNoThrow) Irq(line);
    if (!irq)
        return base::Error::NO_MEMORY;
    g_irqs[line] = irq;
    return irq;
}

base::Result<void> Irq::bind(obj::Ref<Port> port, uint64_t bits) {
    InterruptGuard guard;
    m_port = base::move(port);
    m_bits = bits;
    set_masked(m_line, !m_port);
    return {};
}

void Irq::fire() {
    ++m_count;
    // Masked until the driver acknowledges, so a level-triggered or chattering device
    // cannot flood the CPU.
    set_masked(m_line, true);
    if (m_port)
        (void)m_port->signal(m_bits);
}

void Irq::ack() {
    InterruptGuard guard;
    if (m_port)
        set_masked(m_line, false);
}

void Irq::destroy() {
    {
        InterruptGuard guard;
        set_masked(m_line, true);
        g_irqs[m_line] = nullptr;
    }
    delete this;
}

base::Result<MemoryObject*> MemoryObject::create(uint64_t size, bool contiguous) {
    if (size == 0 || size % 4096 || size > (1ull << 30))
        return base::Error::INVALID_ARGUMENT;
    uint64_t pages = size / 4096;
    auto* m = new (kNoThrow) MemoryObject();
    if (!m)
        return base::Error::NO_MEMORY;
    m->m_pages = pages;
    m->m_contiguous = contiguous;
    if (contiguous) {
        auto base = page_allocator().alloc_contiguous(pages, 1);
        if (base.is_error()) {
            m->m_pages = 0;
            m->release_ref();
            return base.error();
        }
        m->m_base = base.value();
        __builtin_memset(phys_to_virt(m->m_base), 0, size);
        return m;
    }
    m->m_page_list = static_cast<uint64_t*>(kmalloc(pages * sizeof(uint64_t)));
    if (!m->m_page_list) {
        m->m_pages = 0;
        m->release_ref();
        return base::Error::NO_MEMORY;
    }
    for (uint64_t i = 0; i < pages; ++i) {
        auto p = page_allocator().alloc_page();
        if (p.is_error()) {
            m->m_pages = i;
            m->release_ref();
            return p.error();
        }
        m->m_page_list[i] = p.value();
        __builtin_memset(phys_to_virt(p.value()), 0, 4096);
    }
    return m;
}

MemoryObject* MemoryObject::wrap_physical(uint64_t base, uint64_t pages, bool uncached) {
    auto* m = new (kNoThrow) MemoryObject();
    if (!m)
        return nullptr;
    m->m_uncached = uncached;
    m->m_pages = pages;
    m->m_contiguous = true;
    m->m_owned = false;
    m->m_base = base;
    return m;
}

uint64_t MemoryObject::page_phys(uint64_t index) const {
    return m_contiguous ? m_base + index * 4096 : m_page_list[index];
}

void MemoryObject::charge_to(Task& task) {
    task.charge_memory(size());
    m_charged = obj::Ref<Task>::retain(&task);
}

void MemoryObject::destroy() {
    if (m_charged)
        m_charged->uncharge_memory(size());
    m_charged.reset();
    if (m_contiguous && m_pages && m_owned) {
        // free_contiguous takes at most one buddy block's worth; free in such pieces.
        for (uint64_t done = 0; done < m_pages;) {
            uint64_t n = base::min<uint64_t>(m_pages - done, 1024);
            (void)page_allocator().free_contiguous(m_base + done * 4096, n);
            done += n;
        }
    }
    if (m_page_list) {
        for (uint64_t i = 0; i < m_pages; ++i)
            (void)page_allocator().free_page(m_page_list[i]);
        kfree(m_page_list);
    }
    delete this;
}

base::Result<void> grant_device_resources(Task& task) {
    // MMIO: any physical address the CPU can reach; RAM is refused per request.
    obj::Ref<obj::KObject> irq =
        obj::Ref<obj::KObject>::adopt(new (kNoThrow) Resource(Resource::Kind::Irq, 0, kIsaLines));
    obj::Ref<obj::KObject> io =
        obj::Ref<obj::KObject>::adopt(new (kNoThrow) Resource(Resource::Kind::IoPort, 0, 65536));
    obj::Ref<obj::KObject> mmio =
        obj::Ref<obj::KObject>::adopt(new (kNoThrow) Resource(Resource::Kind::Mmio, 0, 1ull << 52));
    if (!irq || !io || !mmio)
        return base::Error::NO_MEMORY;
    uint32_t rights = TERN_RIGHT_READ | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER;
    TRY(task.handles().insert_at(TERN_HANDLE_IRQ_RESOURCE, base::move(irq), rights));
    TRY(task.handles().insert_at(TERN_HANDLE_IOPORT_RESOURCE, base::move(io), rights));
    TRY(task.handles().insert_at(TERN_HANDLE_MMIO_RESOURCE, base::move(mmio), rights));
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

// ---- Syscalls -----------------------------------------------------------------------

int64_t sys_memory_create(const SyscallArgs& a) {
    if (a.a1 & ~uint64_t(TERN_MEMORY_CONTIGUOUS))
        return err(base::Error::INVALID_ARGUMENT);
    Task& task = self_task();
    if (a.a0
        > task.quotas().memory_bytes - base::min(task.quotas().memory_bytes, task.memory_used()))
        return err(base::Error::QUOTA_EXCEEDED);
    auto m = MemoryObject::create(a.a0, a.a1 & TERN_MEMORY_CONTIGUOUS);
    if (m.is_error())
        return err(m.error());
    // The creator pays for the pages for as long as the object lives.
    m.value()->charge_to(task);
    auto h = task.handles().insert(obj::Ref<obj::KObject>::adopt(m.value()),
                                   TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_WRITE
                                       | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER
                                       | TERN_RIGHT_CONTROL);
    return h.is_error() ? err(h.error()) : int64_t(h.value());
}

int64_t sys_vm_map_memory(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull || a.a1 > 0xFFFFFFFFull || a.a5 > 0xFFFFFFFFull)
        return err(base::Error::INVALID_ARGUMENT);
    auto task = self_task().handles().get_as<Task>(tern_handle_t(a.a0),
                                                   TERN_RIGHT_CONTROL | TERN_RIGHT_MAP);
    if (task.is_error())
        return err(task.error());
    uint32_t prot = uint32_t(a.a5);
    uint32_t need = TERN_RIGHT_MAP | ((prot & TERN_PROT_WRITE) ? TERN_RIGHT_WRITE : 0);
    auto mem = self_task().handles().get_as<MemoryObject>(tern_handle_t(a.a1), need);
    if (mem.is_error())
        return err(mem.error());
    uint64_t offset = a.a3, size = a.a4;
    if (offset % 4096 || size % 4096 || size == 0 || offset > mem.value()->size()
        || size > mem.value()->size() - offset)
        return err(base::Error::OUT_OF_RANGE);
    auto r = task.value()->map_memory(a.a2, mem.release_value(), offset, size, prot);
    return r.is_error() ? err(r.error()) : int64_t(r.value());
}

int64_t sys_memory_physical(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull)
        return err(base::Error::BAD_HANDLE);
    auto mem = self_task().handles().get_as<MemoryObject>(tern_handle_t(a.a0), TERN_RIGHT_CONTROL);
    if (mem.is_error())
        return err(mem.error());
    if (a.a1 >= mem.value()->size())
        return err(base::Error::OUT_OF_RANGE);
    return int64_t(mem.value()->page_phys(a.a1 / 4096) + a.a1 % 4096);
}

int64_t sys_memory_create_physical(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull)
        return err(base::Error::BAD_HANDLE);
    uint64_t phys = a.a1, size = a.a2;
    if (phys % 4096 || size % 4096)
        return err(base::Error::MISALIGNED);
    if (size == 0 || size > (1ull << 30) || phys + size < phys)
        return err(base::Error::INVALID_ARGUMENT);
    auto res = self_task().handles().get_as<Resource>(tern_handle_t(a.a0), TERN_RIGHT_READ);
    if (res.is_error())
        return err(res.error());
    if (!res.value()->covers(Resource::Kind::Mmio, phys, size))
        return err(base::Error::ACCESS_DENIED);
    // Handing out RAM the page allocator manages would let a task read other tasks' pages.
    if (is_managed_ram(phys, size))
        return err(base::Error::INVALID_ARGUMENT);
    auto* m = MemoryObject::wrap_physical(phys, size / 4096, true);
    if (!m)
        return err(base::Error::NO_MEMORY);
    auto h = self_task().handles().insert(obj::Ref<obj::KObject>::adopt(m),
                                          TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_WRITE
                                              | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER
                                              | TERN_RIGHT_CONTROL);
    return h.is_error() ? err(h.error()) : int64_t(h.value());
}

int64_t sys_irq_create(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull || a.a1 > 0xFFFFFFFFull)
        return err(base::Error::INVALID_ARGUMENT);
    auto res = self_task().handles().get_as<Resource>(tern_handle_t(a.a0), TERN_RIGHT_READ);
    if (res.is_error())
        return err(res.error());
    if (!res.value()->covers(Resource::Kind::Irq, uint32_t(a.a1), 1))
        return err(base::Error::ACCESS_DENIED);
    auto irq = Irq::create(uint32_t(a.a1));
    if (irq.is_error())
        return err(irq.error());
    auto h = self_task().handles().insert(obj::Ref<obj::KObject>::adopt(irq.value()),
                                          TERN_RIGHT_CONTROL | TERN_RIGHT_DUPLICATE
                                              | TERN_RIGHT_TRANSFER);
    return h.is_error() ? err(h.error()) : int64_t(h.value());
}

int64_t sys_irq_bind(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull || a.a1 > 0xFFFFFFFFull)
        return err(base::Error::BAD_HANDLE);
    auto irq = self_task().handles().get_as<Irq>(tern_handle_t(a.a0), TERN_RIGHT_CONTROL);
    if (irq.is_error())
        return err(irq.error());
    if (a.a1 == 0)
        return irq.value()->bind({}, 0).is_error() ? err(base::Error::BAD_STATE) : 0;
    if (a.a2 == 0)
        return err(base::Error::INVALID_ARGUMENT);
    auto port = self_task().handles().get_as<Port>(tern_handle_t(a.a1), TERN_RIGHT_SIGNAL);
    if (port.is_error())
        return err(port.error());
    auto r = irq.value()->bind(port.release_value(), a.a2);
    return r.is_error() ? err(r.error()) : 0;
}

int64_t sys_irq_ack(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull)
        return err(base::Error::BAD_HANDLE);
    auto irq = self_task().handles().get_as<Irq>(tern_handle_t(a.a0), TERN_RIGHT_CONTROL);
    if (irq.is_error())
        return err(irq.error());
    irq.value()->ack();
    return 0;
}

int64_t sys_ioport_enable(const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull || a.a1 > 0xFFFF || a.a2 == 0 || a.a2 > 0x10000
        || a.a1 + a.a2 > 0x10000)
        return err(base::Error::INVALID_ARGUMENT);
    auto res = self_task().handles().get_as<Resource>(tern_handle_t(a.a0), TERN_RIGHT_READ);
    if (res.is_error())
        return err(res.error());
    if (!res.value()->covers(Resource::Kind::IoPort, uint32_t(a.a1), uint32_t(a.a2)))
        return err(base::Error::ACCESS_DENIED);
    auto r = self_task().enable_io_ports(uint32_t(a.a1), uint32_t(a.a2));
    return r.is_error() ? err(r.error()) : 0;
}

} // namespace kernel

// ---- Self-tests -----------------------------------------------------------------------
#include <kernel/core/clock.h>
#include <kernel/test/ktest.h>

namespace kernel {
namespace {

KTEST(device, irq_becomes_port_signal) {
    // COM1 raises IRQ 4 as soon as its transmitter-empty interrupt is enabled, which
    // makes it a device every machine here has and the test can trigger at will.
    auto irq = Irq::create(4);
    KEXPECT_OK(irq);
    obj::Ref<Irq> guard = obj::Ref<Irq>::adopt(irq.value());
    KEXPECT_EQ(Irq::create(4).error(), base::Error::BUSY);
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(2));
    KEXPECT_OK(guard->bind(port, 0x10));
    outb(0x3F8 + 1, 0x02); // IER: transmitter holding register empty
    auto m = port->receive(monotonic_ns() + 200000000ull, true);
    outb(0x3F8 + 1, 0x00);
    KEXPECT_OK(m);
    KEXPECT_EQ(m.value().header.label, uint32_t(TERN_LABEL_SIGNAL));
    KEXPECT_EQ(m.value().words[0], uint64_t(0x10));
    KEXPECT(guard->count() >= 1);
    // Masked until acknowledged: no second signal without an ack.
    auto again = port->receive(monotonic_ns() + 20000000ull, true);
    KEXPECT(again.is_error());
    KEXPECT_OK(guard->bind({}, 0));
}

KTEST(device, contiguous_memory_object_for_dma) {
    size_t before = page_allocator().free_page_count();
    auto m = MemoryObject::create(16 * 4096, true);
    KEXPECT_OK(m);
    for (uint64_t i = 1; i < 16; ++i)
        KEXPECT_EQ(m.value()->page_phys(i), m.value()->page_phys(0) + i * 4096);
    KEXPECT_EQ(*phys_to_virt<uint64_t>(m.value()->page_phys(3)), uint64_t(0));
    m.value()->release_ref();
    KEXPECT_EQ(page_allocator().free_page_count(), before);
    KEXPECT(MemoryObject::create(4097, false).is_error());
    KEXPECT(MemoryObject::create(0, false).is_error());
}

KTEST(device, mmio_object_refuses_ram) {
    KEXPECT(is_managed_ram(0x200000, 4096) || is_managed_ram(0x1000000, 4096));
    KEXPECT(!is_managed_ram(0xFEE00000, 4096)); // the local APIC's registers
}

KTEST(device, resource_ranges) {
    Resource r(Resource::Kind::IoPort, 0x3F8, 8);
    KEXPECT(r.covers(Resource::Kind::IoPort, 0x3F8, 8));
    KEXPECT(r.covers(Resource::Kind::IoPort, 0x3FA, 2));
    KEXPECT(!r.covers(Resource::Kind::IoPort, 0x3FA, 7));
    KEXPECT(!r.covers(Resource::Kind::IoPort, 0x3F7, 1));
    KEXPECT(!r.covers(Resource::Kind::Irq, 0x3F8, 1));
    KEXPECT(!r.covers(Resource::Kind::IoPort, 0xFFFFFFFF, 2));
}

} // namespace
} // namespace kernel

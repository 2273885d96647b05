#pragma once
// Device access for user-space drivers: resources (ranges of IRQ lines or I/O ports that
// may be handed out), IRQ objects that turn interrupts into port signals, per-task I/O
// port permission, and memory objects (shared pages, DMA-able contiguous ranges).
#include <base/result.h>
#include <kernel/object/kobject.h>
#include <kernel/object/port.h>
#include <tern/abi/rights.h>

namespace kernel {

class Task;

class Resource final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_RESOURCE;
    enum class Kind : uint8_t {
        Irq,
        IoPort,
        Mmio
    };
    Resource(Kind kind, uint64_t base, uint64_t count)
        : obj::KObject(kType), m_kind(kind), m_base(base), m_count(count) {}
    bool covers(Kind kind, uint64_t base, uint64_t count) const {
        return kind == m_kind && base >= m_base && count <= m_count
               && base - m_base <= m_count - count;
    }

protected:
    void destroy() override { delete this; }

private:
    Kind m_kind;
    uint64_t m_base, m_count;
};

class Irq final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_IRQ;
    static base::Result<Irq*> create(uint32_t line);
    base::Result<void> bind(obj::Ref<Port> port, uint64_t bits);
    void ack();
    void fire(); // from the interrupt handler
    uint32_t line() const { return m_line; }
    uint64_t count() const { return m_count; }

protected:
    void destroy() override;

private:
    explicit Irq(uint32_t line) : obj::KObject(kType), m_line(line) {}
    uint32_t m_line;
    obj::Ref<Port> m_port;
    uint64_t m_bits = 0;
    uint64_t m_count = 0;
};

class MemoryObject final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_MEMORY;
    static base::Result<MemoryObject*> create(uint64_t size, bool contiguous);
    // A memory object over existing physical pages it does not own (boot modules).
    static MemoryObject* wrap_physical(uint64_t base, uint64_t pages, bool uncached = false);
    bool uncached() const { return m_uncached; }
    void charge_to(Task& task);
    uint64_t size() const { return m_pages * 4096; }
    uint64_t page_phys(uint64_t index) const;

protected:
    void destroy() override;

private:
    MemoryObject() : obj::KObject(kType) {}
    uint64_t m_pages = 0;
    bool m_contiguous = false;
    bool m_owned = true;
    bool m_uncached = false;
    obj::Ref<Task> m_charged;        // the task whose memory quota pays for the pages
    uint64_t m_base = 0;             // contiguous: first page
    uint64_t* m_page_list = nullptr; // otherwise: one physical address per page
};

void ioapic_init();
// Gives a boot-module task the root device resources (TERN_HANDLE_*_RESOURCE).
base::Result<void> grant_device_resources(Task& task);
// Gives init its bootstrap port (TERN_HANDLE_BOOTSTRAP) holding one message per boot
// module (TERN_LABEL_BOOT_MODULE) with a read-only memory object of its contents.
base::Result<void> grant_boot_modules(Task& task);

} // namespace kernel

#pragma once
// A memory object: pages that can be mapped into address spaces, shared between tasks,
// physically contiguous for DMA, or a device's registers (MMIO).
#include <base/result.h>
#include <kernel/object/kobject.h>
#include <kernel/object/quota.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace kernel {

class Task;

class MemoryObject final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_MEMORY;
    static base::Result<MemoryObject*> create(uint64_t size, bool contiguous);
    // A memory object over existing physical pages it does not own (boot modules).
    static MemoryObject* wrap_physical(uint64_t base, uint64_t pages, bool uncached = false);
    bool uncached() const { return m_uncached; }
    // Its pages are physically contiguous (page_phys(i) = page_phys(0) + i * 4096).
    bool contiguous() const { return m_contiguous; }
    // Charges the pages to the task's memory quota and the object to its account, for as
    // long as the object lives. QUOTA_EXCEEDED: the account's memory-object limit.
    [[nodiscard]] base::Result<void> charge_to(Task& task);
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
    obj::Ref<Task> m_charged; // the task whose memory quota pays for the pages
    QuotaCharge m_quota_charge;
    uint64_t m_base = 0;             // contiguous: first page
    uint64_t* m_page_list = nullptr; // otherwise: one physical address per page
};

} // namespace kernel

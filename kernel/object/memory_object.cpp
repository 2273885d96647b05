// Memory objects: anonymous pages, physically contiguous pages for DMA, and wrappers of
// physical ranges the object does not own (boot modules, device registers).
#include <kernel/core/memory.h>
#include <kernel/object/memory_object.h>
#include <kernel/object/task.h>

namespace kernel {

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

base::Result<void> MemoryObject::charge_to(Task& task) {
    m_quota_charge = TRY(QuotaCharge::take(task.account(), QuotaKind::kMemoryObjects));
    task.charge_memory(size());
    m_charged = obj::Ref<Task>::retain(&task);
    return {};
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

} // namespace kernel

// Tasks: address spaces with demand-zero memory, handle tables, threads, quotas.
#include <base/utility.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/core/clock.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/core/panic.h>
#include <kernel/core/usercopy.h>
#include <kernel/object/handles.h>
#include <kernel/object/port.h>
#include <kernel/object/task.h>
#include <tern/abi/syscalls.h>
#include <tern/abi/task.h>

namespace kernel {

using namespace x86_64;

namespace {

uint64_t g_next_task_id = 1;
// Anonymous memory is placed from here up; the ELF image and stack live elsewhere.
constexpr uint64_t kMmapBase = 0x0000100000000000ull;

base::Result<uint64_t> alloc_table_page(void*) { return page_allocator().alloc_page(); }
void free_table_page(uint64_t phys, void*) {
    if (auto r = page_allocator().free_page(phys); r.is_error())
        log::error("task: freeing a page-table page {:#x}: {}", phys, r.error());
}
extern "C" [[noreturn]] void enter_user_frame(TrapFrame* frame);

// The kernel half of every user thread: leave for ring 3 through the frame that
// thread_create_user prepared at the top of the kernel stack.
void user_thread_start(void*) {
    x86_64::cli();
    // Killed or stopped before it first ran: that happens here, not in ring 3.
    on_return_to_user();
    enter_user_frame(&current_thread()->user_frame());
}

bool valid_prot(uint32_t prot) {
    if (prot & ~(TERN_PROT_READ | TERN_PROT_WRITE | TERN_PROT_EXEC))
        return false;
    return !((prot & TERN_PROT_WRITE) && (prot & TERN_PROT_EXEC));
}

bool nx_supported() {
    // CPUID is slow (a VM exit under virtualization); the answer never changes.
    static const bool supported = cpuid(0x80000001).edx & (1u << 20);
    return supported;
}

void* page_shares_allocate(size_t bytes) { return kmalloc(bytes); }
void page_shares_release(void* memory) { kfree(memory); }
constinit mm::PageShares g_page_shares(page_shares_allocate, page_shares_release);

} // namespace

mm::PageShares& page_shares() { return g_page_shares; }

PageFlags user_page_flags(uint32_t prot) {
    // A page with no access stays present for the kernel (its contents are kept) but is
    // not a user page, so any access from ring 3 faults.
    PageFlags f = PageFlags::kPresent | (prot ? PageFlags::kUser : PageFlags::kNone);
    if (prot & TERN_PROT_WRITE)
        f |= PageFlags::kWritable;
    if (!(prot & TERN_PROT_EXEC) && nx_supported())
        f |= PageFlags::kNoExecute;
    return f;
}

Task::Task(const TaskQuotas& quotas)
    : obj::KObject(kType), m_id(g_next_task_id++), m_page_table(0, kernel_page_table_env()),
      m_regions(base::Span<obj::Region>(m_region_storage, kMaxRegions)), m_quotas(quotas) {}

void Task::flush_range(uint64_t virt, uint64_t size, void* ctx) {
    // Without PCIDs only the active address space can have TLB entries.
    auto* task = static_cast<Task*>(ctx);
    if (read_cr3() != task->m_page_table.root_phys())
        return;
    if (size > 64 * kPageSize) {
        write_cr3(read_cr3());
        return;
    }
    for (uint64_t v = virt; v < virt + size; v += kPageSize)
        invlpg(v);
}

void Task::release_handles() { release_all_handles(*this); }

base::Result<Task*> Task::create(const char* name, const TaskQuotas& quotas) {
    KernelAccount* account = KernelAccount::create(quotas.kernel);
    if (!account)
        return base::Error::NO_MEMORY;
    Task* task = new (kNoThrow) Task(quotas);
    if (!task) {
        account->release_ref();
        return base::Error::NO_MEMORY;
    }
    task->m_account = account;
    PageTableEnv env = kernel_page_table_env();
    env.ctx = task;
    env.alloc_table_page = alloc_table_page;
    env.free_table_page = free_table_page;
    env.flush_range = flush_range;
    auto pt = PageTable::create_address_space(env, kernel_page_table());
    if (pt.is_error()) {
        account->release_ref();
        delete task;
        return pt.error();
    }
    task->m_page_table = pt.release_value();
    size_t i = 0;
    for (; name && name[i] && i + 1 < sizeof(task->m_name); ++i)
        task->m_name[i] = name[i];
    task->m_name[i] = 0;
    return task;
}

base::Result<void> Task::map_new_page(uint64_t page, uint64_t phys, uint32_t prot) {
    // One walk and one entry write where the tables exist (nearly always: a region's
    // pages share their tables); map() plans and builds the missing ones.
    PageFlags flags = user_page_flags(prot);
    auto r = m_page_table.map_page(page, phys, flags);
    if (r.is_error() && r.error() == base::Error::NOT_FOUND)
        r = m_page_table.map(page, phys, kPageSize, flags);
    return r;
}

base::Result<void> Task::map_zero_page(uint64_t page, uint32_t prot) {
    uint64_t phys = TRY(page_allocator().alloc_page());
    __builtin_memset(phys_to_virt(phys), 0, kPageSize);
    if (auto r = map_new_page(page, phys, prot); r.is_error()) {
        (void)page_allocator().free_page(phys);
        return r.error();
    }
    return {};
}

base::Result<void> Task::make_private(uint64_t page, uint32_t prot) {
    auto t = m_page_table.translate(page);
    if (!t.has_value())
        return base::Error::NOT_FOUND;
    uint64_t shared = t->page_phys;
    if (page_shares().holders(shared) == 1) {
        // The last holder writes in place.
        return m_page_table.protect(page, kPageSize, user_page_flags(prot));
    }
    uint64_t copy = TRY(page_allocator().alloc_page());
    __builtin_memcpy(phys_to_virt(copy), phys_to_virt(shared), kPageSize);
    if (auto r = m_page_table.replace_page(page, copy, user_page_flags(prot)); r.is_error()) {
        (void)page_allocator().free_page(copy);
        return r.error();
    }
    (void)page_shares().release(shared);
    return {};
}

base::Result<Task*> Task::clone(Task& source) {
    if (source.m_exited || source.m_dying)
        return base::Error::BAD_STATE;
    Task* child = TRY(Task::create(source.m_name, source.m_quotas));
    child->m_fault_resume = source.m_fault_resume; // the same code at the same addresses
    base::Result<void> copied = source.clone_memory_into(*child);
    if (copied.ok())
        copied = source.clone_handles_into(*child);
    page_shares().end_reservation();
    if (copied.is_error()) {
        // It may already hold a handle to itself: ending it drops its handles.
        child->kill(0, "clone failed");
        child->release_ref();
        return copied.error();
    }
    return child;
}

base::Result<void> Task::clone_memory_into(Task& child) {
    for (const obj::Ref<MemoryObject>& memory : m_memories)
        TRY(child.m_memories.push_back(obj::Ref<MemoryObject>::retain(memory.get())));
    for (const obj::Ref<Port>& pager : m_pagers)
        TRY(child.m_pagers.push_back(obj::Ref<Port>::retain(pager.get())));
    for (const obj::Region& r : m_regions.regions())
        TRY(child.m_regions.insert(r));
    child.m_memory_used = m_memory_used;
    // Memory objects' pages are copied as they are; private pages become shared, counted,
    // and write-protected in both tasks, in the one walk that copies them (the counts'
    // table grows as needed). A failure half-way leaves the child holding the pages it
    // got, counted: the caller drops it whole, which releases them; the parent's pages
    // already write-protected become writable again at their next write (one holder).
    auto copy_shared = [](const Mapping&, PageFlags*, PageFlags*, void*) { return true; };
    auto copy_private = [](const Mapping& leaf, PageFlags* copy, PageFlags* source, void*) {
        if (page_shares().share_growing(leaf.phys).is_error())
            return false;
        *copy &= ~PageFlags::kWritable;
        *source &= ~PageFlags::kWritable;
        return true;
    };
    for (const obj::Region& r : m_regions.regions()) {
        bool shared = r.kind == kRegionMemory;
        TRY(child.m_page_table.copy_leaves_from(m_page_table, r.start, r.size(),
                                                shared ? +copy_shared : +copy_private, nullptr));
    }
    return {};
}

base::Result<void> Task::clone_handles_into(Task& child) {
    base::Error failure = base::Error::OK;
    bool names_self = false;
    tern_handle_t self_values[8] = {};
    uint32_t self_rights[8] = {};
    size_t self_count = 0;
    m_handles.for_each([&](tern_handle_t h, obj::KObject& object, uint32_t rights) {
        if (failure != base::Error::OK || (rights & TERN_RIGHT_RECEIVE))
            return;
        uint32_t type = object.type();
        if (type == TERN_OBJ_TASK && &object == this) {
            // Inserted last: until then a failure must be able to drop the child.
            if (self_count == sizeof(self_values) / sizeof(self_values[0])) {
                failure = base::Error::QUOTA_EXCEEDED;
                return;
            }
            names_self = true;
            self_values[self_count] = h;
            self_rights[self_count++] = rights;
            return;
        }
        if (type != TERN_OBJ_PORT && type != TERN_OBJ_MEMORY && type != TERN_OBJ_TASK
            && type != TERN_OBJ_RESOURCE)
            return;
        if (auto r = child.m_handles.insert_at(h, obj::Ref<obj::KObject>::retain(&object), rights);
            r.is_error())
            failure = r.error();
    });
    if (failure != base::Error::OK)
        return failure;
    for (size_t i = 0; names_self && i < self_count; ++i) {
        child.add_ref();
        TRY(child.m_handles.insert_at(self_values[i], obj::Ref<obj::KObject>::adopt(&child),
                                      self_rights[i]));
    }
    return {};
}

base::Result<uint64_t> Task::vm_allocate(uint64_t size, uint32_t prot, uint32_t kind,
                                         uint64_t fixed_address, uint64_t cookie, uint32_t limit) {
    if (size == 0 || !base::is_aligned(size, kPageSize) || !valid_prot(prot))
        return base::Error::INVALID_ARGUMENT;
    if (size > kUserSpaceEnd - kUserSpaceStart)
        return base::Error::INVALID_ARGUMENT;
    if (m_memory_used + size > m_quotas.memory_bytes)
        return base::Error::QUOTA_EXCEEDED;
    uint64_t address = fixed_address;
    if (address) {
        if (!base::is_aligned(address, kPageSize))
            return base::Error::MISALIGNED;
        if (address < kUserSpaceStart || address > kUserSpaceEnd - size)
            return base::Error::INVALID_ARGUMENT;
    } else if (kind == kRegionAnonymous) {
        // Anonymous memory goes in the lowest gap and joins an anonymous region of the
        // same protection that ends right there, as mmap does: an allocator that maps
        // many small pieces would otherwise use up the task's region slots.
        address = TRY(m_regions.find_gap(size, kPageSize, kMmapBase, kUserSpaceEnd));
        const obj::Region* below = m_regions.find(address - 1);
        if (below && below->kind == kRegionAnonymous && below->protection == prot
            && below->end == address && below->cookie == 0) {
            obj::Region merged = *below;
            merged.end = address + size;
            obj::Region original = TRY(m_regions.remove(below->start, below->end));
            if (auto r = m_regions.insert(merged); r.is_error()) {
                (void)m_regions.insert(original);
                return r.error();
            }
            m_memory_used += size;
            return address;
        }
    } else {
        // One unmapped page below every other region keeps runaway accesses from sliding
        // into the neighbour.
        address = TRY(m_regions.find_gap(size + kPageSize, kPageSize, kMmapBase, kUserSpaceEnd))
                  + kPageSize;
    }
    obj::Region region{address, address + size, prot, kind, cookie, 0, limit};
    TRY(m_regions.insert(region));
    m_memory_used += size;
    return address;
}

void Task::unmap_page(uint64_t v, bool owns_pages) {
    auto t = m_page_table.translate(v);
    if (!t.has_value())
        return;
    uint64_t phys = t->page_phys;
    // A page shared with a clone goes to its other holders; the last one frees it.
    if (m_page_table.unmap(v, kPageSize).ok() && owns_pages && page_shares().release(phys) == 0)
        (void)page_allocator().free_page(phys);
}

void Task::unmap_range(uint64_t start, uint64_t end, bool owns_pages) {
    // Only the pages that are mapped, found by walking the tables a batch at a time (the
    // walk cannot change what it walks), each run of adjacent 4 KiB leaves unmapped in one
    // call: a region is mostly untouched (a stack, a .bss), and asking for each of its
    // pages whether it is mapped, then unmapping pages one walk each, cost more than the
    // rest of a short process's life.
    constexpr size_t kBatch = 64;
    struct Leaf {
        uint64_t virt;
        uint64_t phys;
        uint64_t size;
    };
    uint64_t from = start;
    while (from < end) {
        Leaf leaves[kBatch];
        size_t count = 0;
        m_page_table.for_each_mapping(from, end - from, [&](const Mapping& m) {
            if (count == kBatch)
                return false;
            leaves[count++] = {m.virt, m.phys, uint64_t(m.page_size)};
            return true;
        });
        for (size_t i = 0; i < count;) {
            if (leaves[i].size != kPageSize) {
                // A large leaf: page by page, as before (the first unmap splits it).
                uint64_t last = base::min(leaves[i].virt + leaves[i].size, end);
                for (uint64_t v = base::max(leaves[i].virt, from); v < last; v += kPageSize)
                    unmap_page(v, owns_pages);
                ++i;
                continue;
            }
            size_t j = i + 1;
            while (j < count && leaves[j].size == kPageSize
                   && leaves[j].virt == leaves[j - 1].virt + kPageSize)
                ++j;
            if (m_page_table.unmap(leaves[i].virt, (j - i) * kPageSize).ok() && owns_pages) {
                for (size_t k = i; k < j; ++k)
                    if (page_shares().release(leaves[k].phys) == 0)
                        (void)page_allocator().free_page(leaves[k].phys);
            }
            i = j;
        }
        if (count < kBatch)
            break;
        from = leaves[count - 1].virt + leaves[count - 1].size;
    }
}

void Task::release_memory() {
    // Nothing runs here again: off the CPU first, so the entries can go without flushes
    // (without PCIDs only the active address space has TLB entries) and the pages with
    // them.
    if (read_cr3() == m_page_table.root_phys())
        write_cr3(kernel_page_table().root_phys());
    for (const obj::Region& r : m_regions.regions()) {
        if (r.kind == kRegionMemory) {
            m_page_table.clear_leaves(r.start, r.size(), [](const Mapping&) {});
            continue;
        }
        m_page_table.clear_leaves(r.start, r.size(), [](const Mapping& m) {
            // A page shared with a clone goes to its other holders; the last one frees it.
            for (uint64_t at = 0; at < uint64_t(m.page_size); at += kPageSize)
                if (page_shares().release(m.phys + at) == 0)
                    (void)page_allocator().free_page(m.phys + at);
        });
    }
}

base::Result<obj::FutexKey> Task::futex_key(uint64_t address, bool shared) const {
    const obj::Region* r = m_regions.find(address);
    if (!r || !(r->protection & TERN_PROT_READ))
        return base::Error::BAD_ADDRESS;
    if (shared && r->kind == kRegionMemory && r->cookie >= 1 && r->cookie <= m_memories.size()) {
        // A memory object's pages are mapped when it is and never move, so the physical
        // address of the word is the same in every task that maps it, at any offset.
        auto t = m_page_table.translate(address);
        if (t.has_value())
            return obj::FutexKey{uintptr_t(m_memories[r->cookie - 1].get()), t->phys};
    }
    return obj::FutexKey{uintptr_t(this), address};
}

base::Result<uint64_t> Task::map_memory(uint64_t address, obj::Ref<MemoryObject> memory,
                                        uint64_t offset, uint64_t size, uint32_t prot,
                                        bool writable) {
    size_t index = m_memories.size();
    size_t empty = m_memories.size();
    for (size_t i = 0; i < m_memories.size(); ++i) {
        if (m_memories[i].get() == memory.get())
            index = i;
        else if (!m_memories[i] && empty == m_memories.size())
            empty = i;
    }
    MemoryObject* object = memory.get();
    if (index == m_memories.size() && empty < m_memories.size()) {
        index = empty;
        m_memories[index] = base::move(memory);
    } else if (index == m_memories.size()) {
        TRY(m_memories.push_back(base::move(memory)));
    }
    // Shared pages do not count against the memory quota a second time.
    uint32_t limit = writable ? ~0u : ~TERN_PROT_WRITE;
    uint64_t at = TRY(vm_allocate(size, prot, kRegionMemory, address, index + 1, limit));
    m_memory_used -= size;
    PageFlags flags = user_page_flags(prot);
    if (object->uncached())
        flags |= PageFlags::kCacheDisable | PageFlags::kWriteThrough;
    // Physically contiguous pages (a boot module such as the bootfs archive, DMA memory)
    // go in one call, which plans the tables once and writes the leaves in one walk;
    // others page by page, one walk each where the tables exist.
    uint64_t done = 0;
    base::Result<void> mapped;
    if (object->contiguous()) {
        mapped = m_page_table.map(at, object->page_phys(offset / kPageSize), size, flags);
        if (mapped.ok())
            done = size;
    }
    for (; mapped.ok() && done < size; done += kPageSize) {
        uint64_t phys = object->page_phys((offset + done) / kPageSize);
        mapped = m_page_table.map_page(at + done, phys, flags);
        if (mapped.is_error() && mapped.error() == base::Error::NOT_FOUND)
            mapped = m_page_table.map(at + done, phys, kPageSize, flags);
    }
    if (mapped.is_error()) {
        unmap_range(at, at + done, false);
        m_memory_used += size;
        (void)vm_free(at, size);
        return mapped.error();
    }
    return at;
}

base::Result<void> Task::enable_io_ports(uint32_t base, uint32_t count) {
    if (!m_io_bitmap) {
        m_io_bitmap = static_cast<uint8_t*>(kmalloc(8192 + 1));
        if (!m_io_bitmap)
            return base::Error::NO_MEMORY;
        __builtin_memset(m_io_bitmap, 0xFF, 8192 + 1);
    }
    for (uint32_t port = base; port < base + count; ++port)
        m_io_bitmap[port / 8] &= uint8_t(~(1u << (port % 8)));
    // The running task's bitmap is live in the TSS: refresh it now.
    PerCpu& cpu = this_cpu();
    __builtin_memcpy(cpu.io_bitmap, m_io_bitmap, 8192);
    cpu.io_owner = this;
    cpu.tss.iomap_base = sizeof(x86_64::Tss);
    return {};
}

base::Result<void> Task::vm_free(uint64_t address, uint64_t size) {
    if (!base::is_aligned(address, kPageSize) || !base::is_aligned(size, kPageSize))
        return base::Error::MISALIGNED;
    if (size == 0 || address < kUserSpaceStart || address >= kUserSpaceEnd
        || size > kUserSpaceEnd - address)
        return base::Error::INVALID_ARGUMENT;
    uint64_t end = address + size;
    if (!m_regions.find_first_overlap(address, end))
        return base::Error::NOT_FOUND;
    uint64_t freed = 0;
    bool memory_unmapped = false;
    auto on_removed = [&](const obj::Region& r) {
        bool shared = r.kind == kRegionMemory;
        if (!shared)
            freed += r.size();
        memory_unmapped |= shared;
        unmap_range(r.start, r.end, !shared);
    };
    TRY(m_regions.remove_range(address, end, on_removed));
    m_memory_used -= base::min(freed, m_memory_used);
    if (memory_unmapped)
        drop_unmapped_memories();
    return {};
}

void Task::drop_unmapped_memories() {
    for (size_t i = 0; i < m_memories.size(); ++i) {
        if (!m_memories[i])
            continue;
        bool mapped = false;
        for (const obj::Region& r : m_regions.regions())
            mapped |= r.kind == kRegionMemory && r.cookie == i + 1;
        if (!mapped)
            m_memories[i].reset();
    }
}

base::Result<void> Task::vm_protect(uint64_t address, uint64_t size, uint32_t prot) {
    if (!valid_prot(prot))
        return base::Error::INVALID_ARGUMENT;
    if (!base::is_aligned(address, kPageSize) || !base::is_aligned(size, kPageSize))
        return base::Error::MISALIGNED;
    if (size == 0 || address < kUserSpaceStart || address >= kUserSpaceEnd
        || size > kUserSpaceEnd - address)
        return base::Error::INVALID_ARGUMENT;
    uint64_t end = address + size;
    // Every page of the range must belong to some region, which may be given prot.
    for (uint64_t v = address; v < end;) {
        const obj::Region* r = m_regions.find(v);
        if (!r)
            return base::Error::NOT_FOUND;
        if (prot & ~r->limit)
            return base::Error::ACCESS_DENIED;
        v = r->end;
    }
    TRY(m_regions.protect(address, end, prot));
    for (uint64_t v = address; v < end; v += kPageSize) {
        auto t = m_page_table.translate(v);
        if (!t.has_value())
            continue;
        PageFlags flags = user_page_flags(prot);
        // A page shared with a clone stays write-protected: its first write copies it.
        if (page_shares().holders(t->page_phys) > 1)
            flags &= ~PageFlags::kWritable;
        TRY(m_page_table.protect(v, kPageSize, flags));
    }
    return {};
}

base::Result<void> Task::write_memory(uint64_t address, base::Span<const uint8_t> bytes) {
    // An exited task's regions stay in its tree but lost their pages: a write would map
    // fresh pages that nothing frees where the region belonged to a memory object.
    if (m_exited)
        return base::Error::BAD_STATE;
    size_t done = 0;
    while (done < bytes.size()) {
        uint64_t v = address + done;
        const obj::Region* r = m_regions.find(v);
        if (!r)
            return base::Error::BAD_ADDRESS;
        // A memory object's pages are the object's, shared with every task mapping it (a
        // program's code mapped from the boot file system): written only where mapped
        // writable.
        if (r->kind == kRegionMemory && !(r->protection & TERN_PROT_WRITE))
            return base::Error::ACCESS_DENIED;
        uint64_t page = base::align_down(v, kPageSize);
        auto t = m_page_table.translate(v);
        if (!t.has_value()) {
            TRY(map_zero_page(page, r->protection));
            t = m_page_table.translate(v);
        } else if (page_shares().holders(t->page_phys) > 1) {
            // Shared with a clone: write into a copy of this task's own.
            TRY(make_private(page, r->protection));
            t = m_page_table.translate(v);
        }
        size_t chunk = base::min<size_t>(bytes.size() - done, page + kPageSize - v);
        __builtin_memcpy(phys_to_virt(t->phys), bytes.data() + done, chunk);
        done += chunk;
    }
    return {};
}

base::Result<void> Task::write_new_page(uint64_t address, PageFiller fill, void* ctx) {
    if (m_exited)
        return base::Error::BAD_STATE; // as for write_memory
    if (!base::is_aligned(address, kPageSize))
        return base::Error::MISALIGNED;
    if (!m_regions.find(address))
        return base::Error::BAD_ADDRESS;
    if (m_page_table.translate(address).has_value())
        return base::Error::ALREADY_EXISTS;
    // Filled before it is mapped: nobody sees the page's old bytes, and a fill that fails
    // (or waits on a fault) leaves the task as it was.
    uint64_t phys = TRY(page_allocator().alloc_page());
    if (auto f = fill(static_cast<uint8_t*>(phys_to_virt(phys)), ctx); f.is_error()) {
        (void)page_allocator().free_page(phys);
        return f.error();
    }
    // The fill may have waited: look again.
    const obj::Region* r = m_exited ? nullptr : m_regions.find(address);
    base::Result<void> mapped = base::Error::BAD_ADDRESS;
    if (r && !m_page_table.translate(address).has_value())
        mapped = map_new_page(address, phys, r->protection);
    else if (r)
        mapped = base::Error::ALREADY_EXISTS;
    if (mapped.is_error())
        (void)page_allocator().free_page(phys);
    return mapped;
}

base::Result<void> Task::read_memory(uint64_t address, base::Span<uint8_t> out) {
    if (m_exited)
        return base::Error::BAD_STATE; // its memory is gone (see write_memory)
    size_t done = 0;
    while (done < out.size()) {
        uint64_t v = address + done;
        if (!m_regions.find(v))
            return base::Error::BAD_ADDRESS;
        uint64_t page = base::align_down(v, kPageSize);
        size_t chunk = base::min<size_t>(out.size() - done, page + kPageSize - v);
        auto t = m_page_table.translate(v);
        if (t.has_value())
            __builtin_memcpy(out.data() + done, phys_to_virt(t->phys), chunk);
        else
            __builtin_memset(out.data() + done, 0, chunk); // demand-zero, not yet touched
        done += chunk;
    }
    return {};
}

bool Task::user_access_ok(uint64_t address, uint64_t size, bool write) const {
    uint64_t end = address + size;
    for (uint64_t v = address; v < end;) {
        const obj::Region* r = m_regions.find(v);
        if (!r)
            return false;
        uint32_t need =
            write ? TERN_PROT_WRITE : (TERN_PROT_READ | TERN_PROT_WRITE | TERN_PROT_EXEC);
        if (!(r->protection & need))
            return false;
        v = r->end;
    }
    return true;
}

FaultResult Task::handle_page_fault(uint64_t address, uint64_t error_code) {
    const obj::Region* r = m_regions.find(address);
    if (!r)
        return FaultResult::kFatal;
    bool present = error_code & 1, write = error_code & 2, fetch = error_code & 16;
    if (write && !(r->protection & TERN_PROT_WRITE))
        return FaultResult::kFatal;
    if (present) {
        // A write the region allows to a present page: a page shared copy-on-write with a
        // clone (or one that was, whose other holders have gone). Anything else is a
        // protection violation, not a missing page.
        if (!write || fetch || r->kind == kRegionMemory)
            return FaultResult::kFatal;
        uint64_t page = base::align_down(address, kPageSize);
        auto t = m_page_table.translate(page);
        if (!t.has_value() || has_flag(t->flags, PageFlags::kWritable))
            return FaultResult::kFatal;
        if (auto res = make_private(page, r->protection); res.is_error()) {
            log::warn("task {} '{}': no memory to copy a shared page at {:#x}: {}", m_id, m_name,
                      address, res.error());
            return FaultResult::kFatal;
        }
        return FaultResult::kResolved;
    }
    if (fetch && !(r->protection & TERN_PROT_EXEC))
        return FaultResult::kFatal;
    if (!write && !fetch && !(r->protection & (TERN_PROT_READ | TERN_PROT_WRITE | TERN_PROT_EXEC)))
        return FaultResult::kFatal;
    if (r->kind == kRegionPager)
        return FaultResult::kNeedPager;
    if (auto res = map_zero_page(base::align_down(address, kPageSize), r->protection);
        res.is_error()) {
        log::warn("task {} '{}': no memory for a page at {:#x}: {}", m_id, m_name, address,
                  res.error());
        return FaultResult::kFatal;
    }
    return FaultResult::kResolved;
}

base::Error Task::wait_for_pager(uint64_t address, uint64_t error_code) {
    const obj::Region* r = m_regions.find(address);
    if (!r || r->kind != kRegionPager || r->cookie == 0 || r->cookie > m_pagers.size())
        return base::Error::NOT_FOUND;
    Port& pager = *m_pagers[r->cookie - 1];
    uint64_t page = base::align_down(address, kPageSize);
    Thread* self = current_thread();
    obj::Message m;
    m.header.label = TERN_LABEL_PAGE_FAULT;
    m.header.sender_badge = m_id;
    m.words[0] = address;
    m.words[1] = (error_code & 16)  ? TERN_PROT_EXEC
                 : (error_code & 2) ? TERN_PROT_WRITE
                                    : TERN_PROT_READ;
    m.words[2] = m_id;
    m.words[3] = self->id();
    add_ref();
    if (auto h =
            m.add_handle(obj::Ref<obj::KObject>::adopt(this), TERN_RIGHT_CONTROL | TERN_RIGHT_MAP);
        h.is_error())
        return h.error();
    InterruptGuard guard;
    // A pager already waiting for faults gets this one straight away, and the CPU with
    // it (the IPC fast path's hand-over); else the message is queued. Never block the
    // faulting thread on a full pager queue: a pager that cannot keep up is treated like
    // one that refused.
    Thread* pager_thread = hand_to_waiting_receiver(pager, m);
    if (!pager_thread)
        if (auto s = pager.send(base::move(m), 0, false); s.is_error())
            return s.error();
    self->m_fault_page = page;
    // The pager's receive right may go away without answering; look again every 50 ms.
    base::Error e;
    for (;;) {
        uint64_t deadline = monotonic_ns() + 50000000ull;
        // (hand_to_waiting_receiver checked that the pager thread may run next.)
        e = pager_thread ? m_pager_waiters.wait_switching_to(*base::exchange(pager_thread, nullptr),
                                                             deadline)
                         : m_pager_waiters.wait(deadline);
        if (e != base::Error::TIMED_OUT)
            break;
        if (pager.closed()) {
            e = base::Error::PEER_CLOSED;
            break;
        }
    }
    self->m_fault_page = 0;
    return e;
}

base::Result<uint64_t> Task::map_pager(uint64_t address, uint64_t size, uint32_t prot,
                                       obj::Ref<Port> pager) {
    // An exited task keeps no references: its pager list went with its memory.
    if (m_exited)
        return base::Error::BAD_STATE;
    size_t index = m_pagers.size();
    for (size_t i = 0; i < m_pagers.size(); ++i)
        if (m_pagers[i].get() == pager.get())
            index = i;
    if (index == m_pagers.size())
        TRY(m_pagers.push_back(base::move(pager)));
    return vm_allocate(size, prot, kRegionPager, address, index + 1);
}

base::Result<void> Task::supply_pages(uint64_t address, uint64_t count, uint64_t source) {
    // A task that has exited has no address space left to fill (its page would only
    // wait for the task object to go).
    if (m_exited)
        return base::Error::BAD_STATE;
    TERN_ASSERT(count >= 1 && count <= kMaxSupplyPages);
    uint64_t first = base::align_down(address, kPageSize);
    // Every page is checked before anything is allocated: a batch is all or nothing.
    // (One page needs no look ahead: mapping it finds a page already there.)
    const obj::Region* r = nullptr;
    if (count == 1) {
        r = m_regions.find(first);
        if (!r || r->kind != kRegionPager)
            return base::Error::NOT_FOUND;
    }
    for (uint64_t i = 0; count > 1 && i < count; ++i) {
        uint64_t page = first + i * kPageSize;
        if (!r || page >= r->end) {
            r = m_regions.find(page);
            if (!r || r->kind != kRegionPager)
                return base::Error::NOT_FOUND;
        }
        if (m_page_table.translate(page).has_value())
            return base::Error::ALREADY_EXISTS;
    }
    uint64_t frames[kMaxSupplyPages];
    base::Error failure = base::Error::OK;
    uint64_t made = 0;
    for (; made < count; ++made) {
        auto phys = page_allocator().alloc_page();
        if (phys.is_error()) {
            failure = phys.error();
            break;
        }
        frames[made] = phys.value();
        // Straight from the pager's memory into the frame: the only copy of the page.
        if (auto c =
                copy_from_user(phys_to_virt(frames[made]), source + made * kPageSize, kPageSize);
            c.is_error()) {
            failure = c.error();
            ++made;
            break;
        }
    }
    for (uint64_t i = 0; failure == base::Error::OK && i < count; ++i) {
        uint64_t page = first + i * kPageSize;
        if (!r->contains(page))
            r = m_regions.find(page);
        x86_64::PageFlags flags = user_page_flags(r->protection);
        auto m = m_page_table.map_page(page, frames[i], flags);
        if (m.is_error() && m.error() == base::Error::NOT_FOUND) // a table to make first
            m = m_page_table.map(page, frames[i], kPageSize, flags);
        if (m.is_error()) {
            // Unmap what this batch mapped: the frames go back below.
            for (uint64_t j = 0; j < i; ++j)
                (void)m_page_table.unmap(first + j * kPageSize, kPageSize);
            failure = m.error();
        }
    }
    if (failure != base::Error::OK) {
        for (uint64_t i = 0; i < made; ++i)
            (void)page_allocator().free_page(frames[i]);
        return failure;
    }
    uint64_t end = first + count * kPageSize;
    m_pager_waiters.wake_matching(
        [first, end](Thread& t) { return t.m_fault_page >= first && t.m_fault_page < end; },
        base::Error::OK);
    return {};
}

base::Result<void> Task::refuse_page(uint64_t address) {
    const obj::Region* r = m_regions.find(address);
    if (!r || r->kind != kRegionPager)
        return base::Error::NOT_FOUND;
    uint64_t page = base::align_down(address, kPageSize);
    m_pager_waiters.wake_matching([page](Thread& t) { return t.m_fault_page == page; },
                                  base::Error::ACCESS_DENIED);
    return {};
}

uint64_t Task::resident_pages(uint64_t start, uint64_t end) {
    uint64_t n = 0;
    for (uint64_t v = start; v < end; v += kPageSize)
        n += m_page_table.translate(v).has_value() ? 1 : 0;
    return n;
}

base::Result<void> Task::add_thread(Thread& t) {
    if (m_exited || m_dying)
        return base::Error::BAD_STATE;
    if (m_thread_count >= m_quotas.threads)
        return base::Error::QUOTA_EXCEEDED;
    m_threads.push_back(t);
    ++m_thread_count;
    return {};
}

void Task::kill(int64_t status, const char* reason) {
    InterruptGuard guard;
    if (m_exited || m_dying)
        return;
    m_dying = true;
    m_exit_status = status;
    m_kill_reason = reason ? reason : "";
    // thread_kill may call back into thread_exited and unlink the thread, so advance first.
    for (Thread* t = m_threads.front(); t;) {
        Thread* next = m_threads.next(*t);
        thread_kill(*t);
        t = next;
    }
    if (m_thread_count == 0)
        finish_exit();
}

void Task::thread_exited(Thread& t) {
    if (t.task_link.is_linked()) {
        m_threads.remove(t);
        --m_thread_count;
        m_ended_user_ticks += t.m_user_ticks;
        m_ended_system_ticks += t.m_system_ticks;
    }
    if (m_thread_count == 0)
        finish_exit();
}

void Task::cpu_ticks(uint64_t& user, uint64_t& system) const {
    user = m_ended_user_ticks;
    system = m_ended_system_ticks;
    for (const Thread& t : m_threads) {
        user += t.m_user_ticks;
        system += t.m_system_ticks;
    }
}

void Task::finish_exit() {
    if (m_exited)
        return;
    m_dying = true;
    m_exited = true;
    // Drop every handle (ports learn that their receiver is gone) and the memory.
    release_handles();
    release_memory();
    m_memory_used = 0;
    m_exception_port.reset();
    m_memories.clear();
    m_pagers.clear();
    m_pager_waiters.wake_all(base::Error::PEER_CLOSED);
    m_exit_waiters.wake_all(base::Error::OK);
    m_watchers.fire(m_exit_status);
}

base::Result<void> Task::watch(obj::Ref<Port> port, uint64_t cookie, KernelAccount* account) {
    TRY(m_watchers.add(base::move(port), cookie, TERN_OBJ_TASK, account));
    if (m_exited)
        m_watchers.fire(m_exit_status);
    return {};
}

void Task::set_exit_status(int64_t status) {
    if (!m_dying)
        m_exit_status = status;
}

base::Result<int64_t> Task::wait_exit(uint64_t deadline_ns) {
    while (!m_exited) {
        base::Error e = m_exit_waiters.wait(deadline_ns);
        if (e != base::Error::OK)
            return e; // timed out, or interrupted (the waiter is being stopped or killed)
    }
    return m_exit_status;
}

void Task::destroy() {
    TERN_VERIFY(m_thread_count == 0);
    // A task that never ran still tells its watchers it is gone.
    m_watchers.fire(m_exit_status);
    release_handles();
    release_memory();
    m_memories.clear();
    // The TSS copy may still hold this task's bitmap: forget whose it is, so the next
    // driver copies its own in (nobody uses it meanwhile: iomap_base is off while a task
    // without a bitmap runs).
    if (this_cpu().io_owner == this)
        this_cpu().io_owner = nullptr;
    kfree(m_io_bitmap);
    if (read_cr3() == m_page_table.root_phys())
        write_cr3(kernel_page_table().root_phys());
    if (m_page_table.root_phys())
        m_page_table.destroy();
    if (m_account)
        m_account->release_ref();
    delete this;
}

base::Result<Thread*> thread_create_user(Task& task, uint64_t entry, uint64_t stack_top,
                                         uint64_t arg, uint8_t priority) {
    if (!is_user_address(entry) || stack_top <= kUserSpaceStart || stack_top > kUserSpaceEnd
        || (stack_top & 15) != 0)
        return base::Error::INVALID_ARGUMENT;
    if (priority > 31)
        return base::Error::INVALID_ARGUMENT;
    Thread* t = Thread::create_kernel(task.name(), user_thread_start, nullptr, priority);
    if (!t)
        return base::Error::NO_MEMORY;
    if (auto r = task.add_thread(*t); r.is_error()) {
        t->release_ref();
        return r.error();
    }
    task.add_ref();
    t->m_task = &task;
    TrapFrame& f = t->user_frame();
    __builtin_memset(&f, 0, sizeof(f));
    f.rip = entry;
    f.cs = kUserCs;
    f.rflags = 0x202; // IF
    f.rsp = stack_top;
    f.ss = kUserDs;
    f.rdi = arg;
    return t;
}

} // namespace kernel

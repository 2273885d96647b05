#pragma once
// A task: an address space, a handle table, threads, and the quotas that bound them.
#include <base/fixed_vector.h>
#include <base/intrusive_list.h>
#include <base/result.h>
#include <base/span.h>
#include <kernel/arch/x86_64/page_table.h>
#include <kernel/containers/futex_table.h>
#include <kernel/containers/handle_table.h>
#include <kernel/containers/region_tree.h>
#include <kernel/mm/page_shares.h>
#include <kernel/object/kobject.h>
#include <kernel/object/memory_object.h>
#include <kernel/object/port.h>
#include <kernel/object/quota.h>
#include <kernel/object/thread.h>
#include <stdint.h>

namespace kernel {

struct TaskQuotas {
    uint32_t handles = obj::HandleTable::kDefaultQuota;
    uint32_t threads = 64;
    uint64_t memory_bytes = 256ull << 20;
    // Kernel objects and message data the task may have alive at once (quota.h).
    KernelQuotas kernel;
};

enum RegionKind : uint32_t {
    kRegionAnonymous = 1, // demand-zero memory
    kRegionImage = 2,     // loaded from an ELF image (pages present from the start)
    kRegionStack = 3,     // demand-zero, with an unmapped guard below
    kRegionPager = 4,     // pages supplied by a pager port (cookie = pager index + 1)
    kRegionMemory = 5,    // pages of a memory object (cookie = index + 1), never freed here
};

enum class FaultResult {
    kResolved,
    kNeedPager,
    kFatal
};

class Task final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_TASK;
    static constexpr size_t kMaxRegions = 256;

    // A task with an empty user address space. The caller owns the initial reference.
    static base::Result<Task*> create(const char* name, const TaskQuotas& quotas = {});

    // A copy-on-write clone of source (docs/kernel.md, "Copy-on-write clones"): a task
    // with the same name and quotas, the same regions, and every present page of
    // source's private regions shared with it write-protected in both (the first write
    // on either side copies the page, unless that side is the last holder); memory
    // objects stay shared. Handles are copied at the same values: ports without RECEIVE,
    // memory objects, tasks and resources, with source's handles to itself naming the
    // clone; RECEIVE rights, reply rights, threads and IRQs are not. No thread. The caller
    // owns the initial reference; a clone that will not run is ended with kill() first
    // (it may hold a handle to itself). BAD_STATE: source has exited. NO_MEMORY,
    // QUOTA_EXCEEDED (handles).
    static base::Result<Task*> clone(Task& source);

    uint64_t id() const { return m_id; }
    const char* name() const { return m_name; }
    x86_64::PageTable& page_table() { return m_page_table; }
    obj::HandleTable& handles() { return m_handles; }
    const obj::RegionTree& regions() const { return m_regions; }
    const TaskQuotas& quotas() const { return m_quotas; }
    // What the kernel objects this task makes are charged to.
    KernelAccount* account() const { return m_account; }
    // The charge to the account of the task that created this one, if any.
    void set_quota_charge(QuotaCharge&& charge) { m_quota_charge = base::move(charge); }
    uint64_t memory_used() const { return m_memory_used; }
    void charge_memory(uint64_t bytes) { m_memory_used += bytes; }
    void uncharge_memory(uint64_t bytes) {
        m_memory_used -= bytes < m_memory_used ? bytes : m_memory_used;
    }
    uint32_t thread_count() const { return m_thread_count; }
    bool exited() const { return m_exited; }
    int64_t exit_status() const { return m_exit_status; }
    // Faults and kills are logged with this reason; empty for a normal exit.
    const char* kill_reason() const { return m_kill_reason; }

    // Loads this task's page table into CR3 (inline: on every switch between tasks).
    void activate() { x86_64::write_cr3(m_page_table.root_phys()); }

    // Memory. prot is TERN_PROT_*; W and X together are refused.
    // limit: the protections vm_protect may give the region later.
    base::Result<uint64_t> vm_allocate(uint64_t size, uint32_t prot,
                                       uint32_t kind = kRegionAnonymous, uint64_t fixed_address = 0,
                                       uint64_t cookie = 0, uint32_t limit = ~0u);
    base::Result<void> vm_free(uint64_t address, uint64_t size);
    // ACCESS_DENIED: a protection beyond a region's limit (writing a memory object mapped
    // without the WRITE right).
    base::Result<void> vm_protect(uint64_t address, uint64_t size, uint32_t prot);
    // Copies bytes into the task's memory through the direct map (mapping demand-zero
    // pages as needed); used by the loader and by task control.
    base::Result<void> write_memory(uint64_t address, base::Span<const uint8_t> bytes);
    // Maps a new page at address (page-aligned, in a region, not mapped yet: else
    // ALREADY_EXISTS) whose 4 KiB fill writes first, without zeroing it: task_vm_write's
    // whole pages. Errors as for write_memory, and fill's, with nothing mapped.
    using PageFiller = base::Result<void> (*)(uint8_t* page, void* ctx);
    base::Result<void> write_new_page(uint64_t address, PageFiller fill, void* ctx);
    base::Result<void> read_memory(uint64_t address, base::Span<uint8_t> out);

    // True when every byte of [address, address+size) lies in a region that allows the
    // access (what the kernel checks before copying on the task's behalf).
    bool user_access_ok(uint64_t address, uint64_t size, bool write) const;

    // True when a guarded copy needs user_access_ok first: only a no-access page can be
    // present (for the kernel) while its region forbids access. Without one, an unmapped
    // page or a write to a read-only page faults (CR0.WP) into handle_page_fault, which
    // refuses what the region map refuses, and the copy fails with BAD_ADDRESS anyway.
    bool copies_need_region_check() const { return m_regions.no_access_count() != 0; }
    // Resolves a user page fault at `address` (demand-zero pages). Fatal when the access
    // is not allowed; NeedPager when a pager must supply the page (see wait_for_pager).
    FaultResult handle_page_fault(uint64_t address, uint64_t error_code);
    // Sends a page-fault message to the region's pager and blocks the current thread
    // until the page is supplied (OK) or refused (ACCESS_DENIED), or the pager is gone.
    base::Error wait_for_pager(uint64_t address, uint64_t error_code);
    // Pager-backed memory.
    base::Result<uint64_t> map_pager(uint64_t address, uint64_t size, uint32_t prot,
                                     obj::Ref<Port> pager);
    // Maps `count` (1..kMaxSupplyPages) consecutive pages from the page holding
    // `address`, each a copy of 4096 bytes read straight from the calling task's memory at
    // `source` (one copy, into the new frame), and resumes the threads waiting for them.
    // All or nothing: NOT_FOUND (a page outside a pager region), ALREADY_EXISTS (one is
    // present), BAD_ADDRESS (the source), NO_MEMORY, BAD_STATE (the task has exited).
    static constexpr uint64_t kMaxSupplyPages = 64;
    base::Result<void> supply_pages(uint64_t address, uint64_t count, uint64_t source);
    base::Result<void> refuse_page(uint64_t address);
    // Resident pages in [start, end).
    uint64_t resident_pages(uint64_t start, uint64_t end);

    // The futex a user address names (docs/kernel.md, "Futexes"): with `shared` and the
    // address in a mapped memory object, that object and the physical address of the
    // word, which every task mapping the object agrees on; otherwise this task and the
    // address. BAD_ADDRESS: no readable region there.
    base::Result<obj::FutexKey> futex_key(uint64_t address, bool shared) const;

    obj::Ref<Port>& exception_port() { return m_exception_port; }
    // fault_resume: where an unresolvable fault of user code in [start, end) resumes
    // (all 0: nowhere). 0 when rip is outside the range.
    struct FaultResume {
        uint64_t start = 0;
        uint64_t end = 0;
        uint64_t resume = 0;
    };
    void set_fault_resume(const FaultResume& range) { m_fault_resume = range; }
    uint64_t fault_resume_for(uint64_t rip) const {
        return rip >= m_fault_resume.start && rip < m_fault_resume.end ? m_fault_resume.resume : 0;
    }
    // object_watch on this task. A task that has exited already is noticed at once.
    base::Result<void> watch(obj::Ref<Port> port, uint64_t cookie, KernelAccount* account);
    WatchList& watchers() { return m_watchers; }

    // Maps [offset, offset+size) of a memory object at address (0: kernel chooses);
    // writable: the caller may write the object (the mapping may be made writable later).
    base::Result<uint64_t> map_memory(uint64_t address, obj::Ref<MemoryObject> memory,
                                      uint64_t offset, uint64_t size, uint32_t prot,
                                      bool writable = true);
    // I/O port permission (ports [base, base+count) become usable with IN/OUT).
    base::Result<void> enable_io_ports(uint32_t base, uint32_t count);
    const uint8_t* io_bitmap() const { return m_io_bitmap; }

    // Ends every thread; the task's exit status becomes `status`.
    void kill(int64_t status, const char* reason);
    // Blocks until the task has exited; returns its status or TIMED_OUT.
    base::Result<int64_t> wait_exit(uint64_t deadline_ns);

    // Called by the scheduler when one of this task's threads dies.
    void thread_exited(Thread& t);
    // Timer ticks its threads were found running in user mode and in the kernel, those
    // that ended included.
    void cpu_ticks(uint64_t& user, uint64_t& system) const;
    base::Result<void> add_thread(Thread& t);
    // Records the status a normal exit reports (the last thread's, or task_exit's).
    void set_exit_status(int64_t status);
    bool dying() const { return m_dying; }
    // The robust lists its threads registered (task_set_robust_lists): the user address
    // of an array of struct tern_robust_list and its length; 0 for none.
    void set_robust_lists(uint64_t records, uint32_t count) {
        m_robust_lists = records;
        m_robust_count = count;
    }
    uint64_t robust_lists() const { return m_robust_lists; }
    uint32_t robust_count() const { return m_robust_count; }

protected:
    void destroy() override;

private:
    explicit Task(const TaskQuotas& quotas);
    // Maps the frame phys at page (not present) for the task alone, with prot.
    base::Result<void> map_new_page(uint64_t page, uint64_t phys, uint32_t prot);
    base::Result<void> map_zero_page(uint64_t page, uint32_t prot);
    // Gives the task a page of its own at `page` (present): a copy when the frame is
    // shared with other tasks, else the frame itself; mapped with prot.
    base::Result<void> make_private(uint64_t page, uint32_t prot);
    base::Result<void> clone_memory_into(Task& child);
    base::Result<void> clone_handles_into(Task& child);
    void unmap_range(uint64_t start, uint64_t end, bool owns_pages = true);
    void unmap_page(uint64_t v, bool owns_pages);
    // An ended task's memory, in one walk of each region: its private pages freed (or
    // left to the clones sharing them), its entries cleared, no CPU left in it.
    void release_memory();
    // Lets go of the memory objects no region maps any more, so their slots serve again.
    void drop_unmapped_memories();
    void release_handles();
    void finish_exit();
    static void flush_range(uint64_t virt, uint64_t size, void* ctx);

    uint64_t m_id;
    char m_name[32] = {};
    x86_64::PageTable m_page_table;
    obj::Region m_region_storage[kMaxRegions];
    obj::RegionTree m_regions;
    obj::InlineHandleTable<> m_handles;
    TaskQuotas m_quotas;
    KernelAccount* m_account = nullptr; // one reference, dropped in destroy()
    QuotaCharge m_quota_charge;
    uint64_t m_memory_used = 0;
    uint32_t m_thread_count = 0;
    base::IntrusiveList<Thread, &Thread::task_link> m_threads;
    uint64_t m_ended_user_ticks = 0; // of the threads that ended
    uint64_t m_ended_system_ticks = 0;
    bool m_exited = false;
    bool m_dying = false;
    uint32_t m_robust_count = 0;
    uint64_t m_robust_lists = 0;
    int64_t m_exit_status = 0;
    const char* m_kill_reason = "";
    WaitQueue m_exit_waiters;
    WatchList m_watchers; // object_watch: notices sent when the task exits
    obj::Ref<Port> m_exception_port;
    FaultResume m_fault_resume;
    base::FixedVector<obj::Ref<Port>, 16> m_pagers;
    WaitQueue m_pager_waiters;
    // The memory objects mapped here (a memory region's cookie is its index + 1); a slot
    // whose object no region maps any more is empty and taken by the next map.
    base::FixedVector<obj::Ref<MemoryObject>, 32> m_memories;
    uint8_t* m_io_bitmap = nullptr;
};

// A user thread in `task` that starts at `entry` with RSP = stack_top and RDI = arg.
base::Result<Thread*> thread_create_user(Task& task, uint64_t entry, uint64_t stack_top,
                                         uint64_t arg, uint8_t priority);

// Holders of every shared physical page of user memory (copy-on-write clones).
mm::PageShares& page_shares();

// Converts TERN_PROT_* into leaf page flags for a user page.
x86_64::PageFlags user_page_flags(uint32_t prot);

} // namespace kernel

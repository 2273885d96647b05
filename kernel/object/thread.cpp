// Threads, the scheduler, wait queues and timed waits.
#include <base/bitmap.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/containers/run_queue.h>
#include <kernel/core/clock.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/core/panic.h>
#include <kernel/mm/heap.h>
#include <kernel/object/futex.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>

extern "C" void switch_context(uint64_t* save_rsp, uint64_t next_rsp);
extern "C" void thread_trampoline();

namespace kernel {

using namespace x86_64;

// Threads come from the kernel heap's 1 KiB class; a larger one would double what every
// thread's allocation and free cost (the heap poisons and checks whole slots).
static_assert(sizeof(Thread) <= 1024, "Thread outgrew the kernel heap's 1 KiB class");

bool g_need_resched = false;
size_t g_orphan_count = 0;
scheduler_detail::ReadyQueue scheduler_detail::g_ready;

namespace {

// Kernel stacks live in their own part of the kernel half: each slot is 32 KiB, the top
// 16 KiB mapped as the stack and the bottom 16 KiB left unmapped, so an overflow faults
// (and ends in a double fault on its IST stack) instead of corrupting a neighbour.
constexpr uint64_t kStackRegionBase = 0xFFFFFE0000000000ull;
constexpr uint64_t kStackSlotSize = 32768;
constexpr size_t kMaxStackSlots = 4096;
uint64_t g_stack_slot_words[kMaxStackSlots / 64];
base::Bitmap g_stack_slots(g_stack_slot_words, kMaxStackSlots);

constexpr uint32_t kQuantumTicks = 2;

using scheduler_detail::g_ready;
base::IntrusiveList<Thread, &Thread::timer_link> g_timed; // sorted by m_wake_at
base::IntrusiveList<Thread, &Thread::run_link> g_zombies;
base::IntrusiveList<Thread, &Thread::all_link> g_all_threads;
Thread* g_idle = nullptr;
Thread* g_boot_thread = nullptr;
bool g_started = false;
uint64_t g_next_id = 1;
uint64_t g_switches = 0;
uint64_t g_alive = 0;
uint64_t g_idle_ticks = 0;

// The boot thread needs a Thread object too; it keeps running on the boot stack.
alignas(Thread) uint8_t g_boot_thread_storage[sizeof(Thread)];

base::Result<uint64_t> alloc_stack_slot() {
    auto slot = g_stack_slots.find_first_clear(0);
    if (!slot.has_value())
        return base::Error::NO_SPACE;
    uint64_t base = kStackRegionBase + *slot * kStackSlotSize;
    uint64_t stack_base = base + kStackSlotSize - Thread::kStackSize;
    auto pages = TRY(page_allocator().alloc_pages(2)); // 4 pages = 16 KiB
    auto flags =
        PageFlags::kPresent | PageFlags::kWritable | PageFlags::kGlobal | PageFlags::kNoExecute;
    if (!(cpuid(0x80000001).edx & (1u << 20)))
        flags = flags & ~PageFlags::kNoExecute;
    if (auto r = kernel_page_table().map(stack_base, pages, Thread::kStackSize, flags);
        r.is_error()) {
        (void)page_allocator().free_pages(pages, 2);
        return r.error();
    }
    g_stack_slots.set(*slot);
    return uint64_t(*slot);
}

void free_stack_slot(uint64_t slot) {
    uint64_t stack_base =
        kStackRegionBase + slot * kStackSlotSize + kStackSlotSize - Thread::kStackSize;
    auto t = kernel_page_table().translate(stack_base);
    TERN_VERIFY(t.has_value());
    uint64_t phys = t->phys;
    TERN_VERIFY(kernel_page_table().unmap(stack_base, Thread::kStackSize).ok());
    TERN_VERIFY(page_allocator().free_pages(phys, 2).ok());
    g_stack_slots.clear(slot);
}

void copy_name(char* dst, size_t cap, const char* src) {
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; ++i)
        dst[i] = src[i];
    dst[i] = 0;
}

void timed_insert(Thread& t) {
    for (Thread& other : g_timed) {
        if (other.m_wake_at > t.m_wake_at) {
            g_timed.insert_before(other, t);
            return;
        }
    }
    g_timed.push_back(t);
}

// Threads whose last handle went away while they were unstarted or stopped; each holds a
// reference taken in unshared() until process_orphans() deals with it. An embryo or
// stopped thread is on no run or wait queue, so the list uses its run_link and has no
// bound: however many threads a task orphans at once, each is ended or resumed.
base::IntrusiveList<Thread, &Thread::run_link> g_orphans;

// Takes a thread off the orphan list; the caller drops the list's reference.
void unlink_orphan(Thread& t) {
    g_orphans.remove(t);
    --g_orphan_count;
    t.m_orphaned = false;
}

void reap_zombies() {
    while (Thread* z = g_zombies.pop_front()) {
        TERN_VERIFY(z != current_thread());
        // A dead thread may still hold an answer it never took (killed right after being
        // woken) or a hand-off hint; the handles in them would otherwise keep objects,
        // possibly this thread itself, alive.
        z->m_reply.reset();
        z->m_handoff.reset();
        z->m_reply_slot.reset(); // the reply object of its calls
        z->m_held_reply.reset();
        free_stack_slot(z->stack_slot());
        z->m_stack_freed = true;
        z->release_ref(); // the scheduler's reference; handles may keep the object
    }
}

} // namespace

// A thread is one slot of the heap's 1 KiB class (its 8-byte redzone included): one
// byte more doubles what every thread costs to allocate and free.
static_assert(sizeof(Thread) + mm::Heap::kRedzoneBytes <= 1024, "Thread outgrew its heap class");

Thread* Thread::create_kernel(const char* name, void (*fn)(void*), void* arg, uint8_t priority) {
    auto slot = alloc_stack_slot();
    if (slot.is_error())
        return nullptr;
    Thread* t = new (kNoThrow) Thread();
    if (!t) {
        free_stack_slot(slot.value());
        return nullptr;
    }
    t->m_id = g_next_id++;
    t->m_stack_slot = slot.value();
    t->m_stack_top = kStackRegionBase + slot.value() * kStackSlotSize + kStackSlotSize;
    t->m_priority = priority;
    copy_name(t->m_name, sizeof(t->m_name), name);
    __builtin_memset(t->m_fpu, 0, sizeof(t->m_fpu));
    // A default FPU image: x87 control word 0x37F, MXCSR 0x1F80 (all exceptions masked).
    t->m_fpu[0] = 0x7F;
    t->m_fpu[1] = 0x03;
    t->m_fpu[24] = 0x80;
    t->m_fpu[25] = 0x1F;
    // The first switch_context into this thread pops six registers and returns into the
    // trampoline, which calls fn(arg). Leave room for a user TrapFrame at the very top.
    uint64_t* sp = reinterpret_cast<uint64_t*>(t->m_stack_top - sizeof(TrapFrame) - 16);
    *--sp = reinterpret_cast<uint64_t>(&thread_trampoline);
    *--sp = 0;                               // rbp
    *--sp = 0;                               // rbx
    *--sp = reinterpret_cast<uint64_t>(fn);  // r12
    *--sp = reinterpret_cast<uint64_t>(arg); // r13
    *--sp = 0;                               // r14
    *--sp = 0;                               // r15
    t->m_saved_rsp = reinterpret_cast<uint64_t>(sp);
    InterruptGuard guard;
    ++g_alive;
    g_all_threads.push_back(*t);
    return t;
}

void Thread::set_user_fs_base(uint64_t base) {
    m_user_fs_base = base;
    if (this == current_thread())
        wrmsr(kMsrFsBase, base);
}

void Thread::destroy() {
    // The last reference to a dead thread: its stack was freed by the reaper.
    TERN_VERIFY(m_state == ThreadState::kDead || m_state == ThreadState::kEmbryo);
    if (!m_stack_freed)
        free_stack_slot(m_stack_slot);
    if (m_state == ThreadState::kEmbryo) {
        InterruptGuard guard;
        --g_alive;
    }
    {
        InterruptGuard guard;
        if (all_link.is_linked())
            g_all_threads.remove(*this);
    }
    if (m_task)
        m_task->release_ref();
    delete this;
}

namespace {
// Remembers, for the running user thread, whom it woke (see Thread::m_handoff).
void note_handoff(Thread& woken) {
    Thread* cur = current_thread();
    if (cur && cur != &woken && cur->m_task)
        cur->m_handoff = obj::Ref<Thread>::retain(&woken);
}
} // namespace

void make_ready(Thread& t) {
    InterruptGuard guard;
    TERN_VERIFY(t.m_state != ThreadState::kDead && t.m_state != ThreadState::kRunning);
    t.m_state = ThreadState::kReady;
    g_ready.enqueue(t);
    Thread* cur = current_thread();
    if (cur && t.m_priority > cur->m_priority)
        g_need_resched = true;
}

namespace {

[[gnu::always_inline]] inline void switch_to(Thread* prev, Thread* next);

// Picks the next thread and switches to it. The caller has set the current thread's
// state (and queued it if it stays ready). Interrupts are off.
void switch_to_next() {
    Thread* prev = current_thread();
    Thread* next = nullptr;
    // Direct hand-off to the thread prev just woke, unless something more urgent waits.
    if (prev->m_handoff) {
        Thread* hint = prev->m_handoff.get();
        if (hint != prev && hint->m_state == ThreadState::kReady
            && !g_ready.has_higher_than(hint->m_priority)) {
            g_ready.dequeue(*hint);
            next = hint;
        }
        prev->m_handoff.reset();
    }
    if (!next)
        next = g_ready.pick_next();
    if (!next)
        next = g_idle;
    g_need_resched = false;
    if (next == prev) {
        prev->m_state = ThreadState::kRunning;
        return;
    }
    switch_to(prev, next);
}

// Runs `next` (not prev, not on the ready queue) in place of prev, whose state the
// caller has set. Inline in both callers: it is the context switch itself.
[[gnu::always_inline]] inline void switch_to(Thread* prev, Thread* next) {
    next->m_state = ThreadState::kRunning;
    next->m_quantum_ticks = kQuantumTicks;
    ++g_switches;
    PerCpu& cpu = this_cpu();
    cpu.current = next;
    cpu.kernel_rsp = next->stack_top();
    cpu.tss.rsp[0] = next->stack_top();
    if (prev->m_task != next->m_task && next->m_task) {
        next->m_task->activate();
        // I/O permission follows the task; only driver tasks have a bitmap, and the copy
        // in the TSS is refreshed only when another driver's is there (see PerCpu).
        if (const uint8_t* bitmap = next->m_task->io_bitmap()) {
            if (cpu.io_owner != next->m_task) {
                __builtin_memcpy(cpu.io_bitmap, bitmap, 8192);
                cpu.io_owner = next->m_task;
            }
            cpu.tss.iomap_base = sizeof(x86_64::Tss);
        } else {
            cpu.tss.iomap_base = x86_64::kNoIoBitmap;
        }
    }
    asm volatile("fxsave64 %0" : "=m"(prev->m_fpu));
    asm volatile("fxrstor64 %0" ::"m"(next->m_fpu));
    // The FS base MSR always holds the running thread's m_user_fs_base: user code cannot
    // write it (CR4.FSGSBASE stays off) and set_user_fs_base writes both. So there is
    // nothing to read back, and nothing to write when both threads have the same base.
    if (next->m_user_fs_base != prev->m_user_fs_base)
        wrmsr(kMsrFsBase, next->m_user_fs_base);
    switch_context(&prev->m_saved_rsp, next->m_saved_rsp);
    // Back on prev's stack, possibly much later.
    reap_zombies();
    if (g_orphan_count)
        process_orphans();
}

} // namespace

void schedule() {
    InterruptGuard guard;
    switch_to_next();
}

void yield() {
    InterruptGuard guard;
    Thread* cur = current_thread();
    if (cur != g_idle) {
        cur->m_state = ThreadState::kReady;
        g_ready.enqueue(*cur);
    }
    switch_to_next();
}

void scheduler_tick(bool from_user) {
    if (!g_started)
        return;
    uint64_t now = monotonic_ns();
    while (Thread* t = g_timed.front()) {
        if (t->m_wake_at > now)
            break;
        wait_timeout(*t);
    }
    Thread* cur = current_thread();
    if (cur == g_idle) {
        ++g_idle_ticks;
        if (!g_ready.is_empty())
            g_need_resched = true;
        return;
    }
    if (from_user)
        ++cur->m_user_ticks;
    else
        ++cur->m_system_ticks;
    if (cur->m_quantum_ticks > 0)
        --cur->m_quantum_ticks;
    if (cur->m_quantum_ticks == 0 || g_ready.has_higher_than(cur->m_priority))
        g_need_resched = true;
}

void wait_timeout(Thread& t) {
    g_timed.remove(t);
    t.m_wake_at = 0;
    if (t.m_waiting_on) {
        t.m_waiting_on->m_waiters.remove(t);
        t.m_waiting_on = nullptr;
        t.m_wait_result = base::Error::TIMED_OUT;
    } else {
        t.m_wait_result = base::Error::OK; // a plain sleep
    }
    t.m_state = ThreadState::kReady;
    g_ready.enqueue(t);
    g_need_resched = true;
}

base::Error WaitQueue::wait(uint64_t deadline_ns) {
    InterruptGuard guard;
    Thread* cur = current_thread();
    // A thread told to exit while it was not blocked (ready, or running in the kernel)
    // must not block again on its way out: nothing would wake it.
    if (cur->m_exit_requested)
        return base::Error::INTERRUPTED;
    cur->m_state = ThreadState::kBlocked;
    cur->m_waiting_on = this;
    cur->m_wait_result = base::Error::OK;
    m_waiters.push_back(*cur);
    if (deadline_ns) {
        cur->m_wake_at = deadline_ns;
        timed_insert(*cur);
    }
    switch_to_next();
    return cur->m_wait_result;
}

base::Error WaitQueue::wait_switching_to(Thread& next, uint64_t deadline_ns) {
    Thread* cur = current_thread();
    TERN_ASSERT(next.m_state == ThreadState::kBlocked && next.m_waiting_on && &next != cur);
    next.m_waiting_on->m_waiters.remove(next);
    if (next.timer_link.is_linked())
        g_timed.remove(next);
    next.m_wake_at = 0;
    next.m_waiting_on = nullptr;
    next.m_wait_result = base::Error::OK;
    next.m_wait_token = 0;
    cur->m_state = ThreadState::kBlocked;
    cur->m_waiting_on = this;
    cur->m_wait_result = base::Error::OK;
    m_waiters.push_back(*cur);
    if (deadline_ns) {
        cur->m_wake_at = deadline_ns;
        timed_insert(*cur);
    }
    cur->m_handoff.reset();
    g_need_resched = false;
    switch_to(cur, &next);
    return cur->m_wait_result;
}

void WaitQueue::wake_specific(Thread& t, base::Error result) {
    InterruptGuard guard;
    m_waiters.remove(t);
    if (t.timer_link.is_linked())
        g_timed.remove(t);
    t.m_wake_at = 0;
    t.m_waiting_on = nullptr;
    t.m_wait_result = result;
    make_ready(t);
}

Thread* WaitQueue::wake_one(base::Error result, uint64_t token) {
    InterruptGuard guard;
    Thread* t = m_waiters.pop_front();
    if (!t)
        return nullptr;
    if (t->timer_link.is_linked())
        g_timed.remove(*t);
    t->m_wake_at = 0;
    t->m_waiting_on = nullptr;
    t->m_wait_result = result;
    t->m_wait_token = token;
    make_ready(*t);
    note_handoff(*t);
    return t;
}

size_t WaitQueue::wake_all(base::Error result) {
    size_t n = 0;
    while (wake_one(result))
        ++n;
    return n;
}

void sleep_ns(uint64_t ns) {
    InterruptGuard guard;
    Thread* cur = current_thread();
    if (cur->m_exit_requested)
        return;
    cur->m_state = ThreadState::kBlocked;
    cur->m_wake_at = monotonic_ns() + (ns ? ns : 1);
    timed_insert(*cur);
    switch_to_next();
}

[[noreturn]] void thread_exit_current() {
    Thread* cur = current_thread();
    // The first thread of a dying task to end here, still in its address space, reports
    // the robust mutexes the task's threads hold to their next lockers (docs/kernel.md).
    if (Task* task = cur->task(); task && task->robust_lists() != 0 && task->dying())
        (void)futex_release_robust_lists();
    x86_64::cli();
    TERN_VERIFY(cur != g_idle && cur != g_boot_thread);
    cur->m_state = ThreadState::kDead;
    --g_alive;
    cur->m_handoff.reset();
    // A call it received in registers and never answered: its caller gets PEER_CLOSED.
    cur->m_held_reply.reset();
    if (cur->m_task)
        cur->m_task->thread_exited(*cur);
    g_zombies.push_back(*cur);
    switch_to_next();
    panic("a dead thread was scheduled");
}

void thread_kill(Thread& t) {
    InterruptGuard guard;
    bool orphan_reference = false;
    switch (t.m_state) {
    case ThreadState::kReady:
        if (t.m_task) {
            // A user thread that is ready may be on its way back from a wait inside a
            // syscall, its kernel stack holding references (the reply of a call that was
            // just answered, the port it called): ending it here would leak them. It
            // exits when it next leaves the kernel, as a running thread does; one that
            // never ran exits before it first enters user mode.
            t.m_exit_requested = true;
            return;
        }
        g_ready.dequeue(t);
        break;
    case ThreadState::kBlocked:
        // Its kernel stack holds references (the port it waits on, a reply, ...): let
        // the syscall unwind with INTERRUPTED and exit on the way back to user mode.
        t.m_exit_requested = true;
        thread_interrupt(t);
        return;
    case ThreadState::kStopped:
    case ThreadState::kEmbryo:
        if (t.m_orphaned) {
            // Its task dies before process_orphans came to it: it goes to the zombies
            // (through the same link) and the list's reference is dropped below.
            unlink_orphan(t);
            orphan_reference = true;
        }
        break;
    case ThreadState::kRunning:
        // The current thread: it exits when it next leaves the kernel.
        t.m_exit_requested = true;
        return;
    case ThreadState::kDead:
        return;
    }
    t.m_state = ThreadState::kDead;
    --g_alive;
    t.m_handoff.reset();
    t.m_held_reply.reset();
    if (t.m_task)
        t.m_task->thread_exited(t);
    g_zombies.push_back(t);
    if (orphan_reference)
        t.release_ref(); // the scheduler's reference keeps it until it is reaped
}

void thread_interrupt(Thread& t) {
    InterruptGuard guard;
    if (t.m_state != ThreadState::kBlocked)
        return;
    if (t.m_waiting_on) {
        t.m_waiting_on->wake_specific(t, base::Error::INTERRUPTED);
        return;
    }
    // A plain sleep.
    if (t.timer_link.is_linked())
        g_timed.remove(t);
    t.m_wake_at = 0;
    t.m_wait_result = base::Error::INTERRUPTED;
    make_ready(t);
}

void stop_current() {
    InterruptGuard guard;
    Thread* cur = current_thread();
    // A thread told to exit does not stop on its way out: its task's kill has already
    // happened and would not come back for a stopped thread.
    if (cur->m_exit_requested)
        return;
    cur->m_stop_requested = false;
    cur->m_state = ThreadState::kStopped;
    if (cur->m_stopped_waiters)
        cur->m_stopped_waiters->wake_all(base::Error::OK);
    switch_to_next();
}

base::Result<void> thread_resume(Thread& t) {
    InterruptGuard guard;
    if (t.m_state != ThreadState::kStopped && t.m_state != ThreadState::kEmbryo)
        return base::Error::BAD_STATE;
    t.m_stop_requested = false;
    make_ready(t);
    return {};
}

void Thread::unshared() {
    // Only the scheduler's reference is left: no handle, message or caller can start or
    // resume this thread any more.
    if (!m_task || (m_state != ThreadState::kEmbryo && m_state != ThreadState::kStopped))
        return;
    InterruptGuard guard;
    if (m_orphaned)
        return;
    add_ref();
    m_orphaned = true;
    g_orphans.push_back(*this);
    ++g_orphan_count;
}

void dump_threads() {
    static const char* const kStates[] = {"embryo",  "ready",   "running",
                                          "blocked", "stopped", "dead"};
    InterruptGuard guard;
    for (Thread& t : g_all_threads)
        print("  thread {} '{}' {} task {} refs {}\n", t.id(), t.name(),
              kStates[uint8_t(t.state())], t.task() ? t.task()->id() : 0, t.ref_count());
}

size_t kill_user_tasks(const char* reason) {
    constexpr size_t kBatch = 64;
    size_t killed = 0;
    // Bounded: a thread that does not die shows up in the leak check instead of hanging it.
    for (int round = 0; round < 100; ++round) {
        Task* tasks[kBatch];
        size_t n = 0;
        {
            InterruptGuard guard;
            for (Thread& t : g_all_threads) {
                Task* task = t.task();
                if (!task || t.state() == ThreadState::kDead || task->exited() || n == kBatch)
                    continue;
                bool seen = false;
                for (size_t i = 0; i < n; ++i)
                    seen |= tasks[i] == task;
                if (!seen) {
                    task->add_ref();
                    tasks[n++] = task;
                }
            }
        }
        if (n == 0)
            return killed;
        for (size_t i = 0; i < n; ++i) {
            tasks[i]->kill(-1, reason);
            tasks[i]->release_ref();
        }
        killed += n;
        sleep_ns(1000000);
    }
    return killed;
}

UserThreadsLeft user_threads_left() {
    InterruptGuard guard;
    UserThreadsLeft left;
    for (Thread& t : g_all_threads) {
        if (!t.task())
            continue;
        if (t.state() == ThreadState::kDead)
            ++left.dead;
        else
            ++left.other;
    }
    return left;
}

void process_orphans() {
    InterruptGuard guard;
    while (Thread* t = g_orphans.front()) {
        unlink_orphan(*t);
        if (t->m_state == ThreadState::kEmbryo)
            thread_kill(*t);
        else if (t->m_state == ThreadState::kStopped)
            (void)thread_resume(*t);
        t->release_ref();
    }
}

void on_return_to_user_slow() {
    if (g_orphan_count)
        process_orphans();
    Thread* t = current_thread();
    for (;;) {
        if (t->m_exit_requested)
            thread_exit_current();
        if (!t->m_stop_requested)
            return;
        stop_current();
    }
}

extern "C" void kernel_thread_exit_current() { thread_exit_current(); }

namespace {
void idle_loop(void*) {
    for (;;) {
        x86_64::sti();
        x86_64::hlt();
        x86_64::cli();
        if (g_need_resched)
            yield();
    }
}
} // namespace

void scheduler_init() {
    // FPU/SSE state is saved per thread with FXSAVE; enable it for user code.
    write_cr0((read_cr0() & ~(1ull << 2)) | (1ull << 1)); // EM off, MP on
    write_cr4(read_cr4() | kCr4Osfxsr | kCr4Osxmmexcpt);
    // Every thread starts with FS base 0, so the MSR does too (see switch_to).
    wrmsr(kMsrFsBase, 0);
    asm volatile("fninit");

    Thread* boot = new (g_boot_thread_storage) Thread();
    boot->m_id = g_next_id++;
    boot->m_state = ThreadState::kRunning;
    boot->m_priority = Thread::kDefaultPriority;
    boot->m_quantum_ticks = kQuantumTicks;
    copy_name(boot->m_name, sizeof(boot->m_name), "boot");
    g_boot_thread = boot;
    ++g_alive;
    this_cpu().current = boot;
    g_idle = Thread::create_kernel("idle", idle_loop, nullptr, Thread::kIdlePriority);
    if (!g_idle)
        panic("scheduler: cannot create the idle thread");
    g_idle->m_state = ThreadState::kReady;
}

void scheduler_start() { g_started = true; }

SchedulerStats scheduler_stats() { return SchedulerStats{g_switches, g_alive, g_idle_ticks}; }

} // namespace kernel

#pragma once
// Threads and the scheduler.
//
// Concurrency model (one CPU today): kernel code that touches scheduler or object state
// runs with interrupts disabled. Syscalls enter with interrupts masked (SFMASK clears IF)
// and keep them masked until they return or block, so the kernel is not preemptible
// inside a syscall; kernel threads that run with interrupts on take an InterruptGuard
// around shared state. SMP will replace the guard with per-object locks; everything the
// scheduler keeps per CPU already lives in PerCpu.
#include <base/intrusive_list.h>
#include <base/result.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/arch/x86_64/trap.h>
#include <kernel/containers/message_queue.h>
#include <kernel/containers/run_queue.h>
#include <kernel/object/kobject.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace kernel {

class Task;

enum class ThreadState : uint8_t {
    kEmbryo,
    kReady,
    kRunning,
    kBlocked,
    kStopped,
    kDead
};

class InterruptGuard {
public:
    InterruptGuard() : m_were_on(x86_64::interrupts_enabled()) { x86_64::cli(); }
    ~InterruptGuard() {
        if (m_were_on)
            x86_64::sti();
    }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

private:
    bool m_were_on;
};

class WaitQueue;

// Where a waiting thread's data part goes (Thread::m_receive_buffer).
struct ReceiveBuffer {
    uint64_t data;
    uint32_t capacity;
};

class Thread final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_THREAD;
    static constexpr size_t kStackSize = 16384;
    static constexpr uint8_t kDefaultPriority = 10;
    static constexpr uint8_t kIdlePriority = 0;

    // A kernel thread running fn(arg), or (with task) the first kernel half of a user
    // thread. Returns nullptr when memory or stack slots run out.
    static Thread* create_kernel(const char* name, void (*fn)(void*), void* arg, uint8_t priority);

    uint64_t id() const { return m_id; }
    const char* name() const { return m_name; }
    ThreadState state() const { return m_state; }
    Task* task() const { return m_task; }
    uint8_t priority() const { return m_priority; }
    // The user register frame at the top of the kernel stack (user threads only).
    x86_64::TrapFrame& user_frame() {
        return *reinterpret_cast<x86_64::TrapFrame*>(m_stack_top - sizeof(x86_64::TrapFrame));
    }
    uint64_t stack_top() const { return m_stack_top; }
    // The FS base (thread-local storage) the thread runs with in user mode.
    uint64_t user_fs_base() const { return m_user_fs_base; }
    // Sets it; for the running thread the CPU's FS base changes at once.
    void set_user_fs_base(uint64_t base);

    // Scheduler state: public for the scheduler and wait queues, which are one unit.
    base::ListNode run_link;   // run queue or wait queue
    base::ListNode timer_link; // timed waits
    base::ListNode task_link;  // the owning task's thread list
    base::ListNode all_link;   // every thread, for diagnostics
    uint64_t m_saved_rsp = 0;
    uint64_t m_wake_at = 0; // deadline of a timed wait, 0 if none
    WaitQueue* m_waiting_on = nullptr;
    base::Error m_wait_result = base::Error::OK;
    uint32_t m_quantum_ticks = 0; // beside m_wait_result: no padding between them
    uint64_t m_wait_token = 0;    // a value handed over by the waker
    // Timer ticks that found the thread running in user mode and in the kernel (sampled:
    // kTimerHz a second; the task adds them up, cpu_times).
    uint32_t m_user_ticks = 0;
    uint32_t m_system_ticks = 0;
    uint64_t m_user_fs_base = 0;
    // A 32-bit user word the kernel clears, waking one waiter of its futex, when the
    // thread ends with thread_exit (thread_spawn, thread_set_clear_tid); 0 for none.
    // Here it fills what m_fpu's alignment would leave empty.
    uint64_t m_clear_tid = 0;
    alignas(16) uint8_t m_fpu[512];
    // The state, the priority and the flags share the 8 bytes after m_fpu (the Thread
    // must stay within the heap's 1 KiB class: see thread.cpp).
    uint8_t m_priority = kDefaultPriority;
    ThreadState m_state = ThreadState::kEmbryo;
    bool m_exit_requested : 1 = false;
    bool m_orphaned : 1 = false; // on the orphan list (see Thread::unshared)
    bool m_stack_freed : 1 = false;
    bool m_stop_requested = false;
    bool m_force_iret = false; // registers were set by a controller: return with IRETQ
    // A call was handed over in m_reply or in the user registers (see m_receive_msg);
    // for a thread in port_call_regs, its answer was written into its user registers.
    bool m_direct = false;
    bool m_receive_regs = false; // waits in port_reply_receive_regs on a port's own queue
    bool m_call_regs = false;    // waits in port_call_regs for its answer
    // Where a reply to this thread's port_call lands, and where the IPC fast path hands
    // a call to it while it waits in a receive.
    obj::Message m_reply;
    union {
        uint64_t m_fault_page = 0; // the page a pager is being asked for
        // While the thread waits in a tern_msg receive or for the answer to a port_call
        // (see m_receive_msg), where a data part for it goes: the tern_msg's data and
        // data_capacity as read when the call began, on the thread's kernel stack (null
        // when none). A thread waits for a pager or for a message, never both at once.
        const ReceiveBuffer* m_receive_buffer;
    };
    WaitQueue* m_stopped_waiters = nullptr; // controllers waiting for this thread to stop
    // The thread this one woke last: when this one blocks, the CPU goes straight to it
    // (if nothing more urgent is ready), so a call or reply hands the CPU to its peer.
    obj::Ref<Thread> m_handoff;
    // The IPC fast path (kernel/syscalls/ipc.cpp). While the thread waits in port_receive
    // (or the receive half of port_reply_receive) directly on a port's queue, the user
    // address of its tern_msg, else 0: a caller may then hand it a call in m_reply
    // rather than queue it, and set m_direct.
    uint64_t m_receive_msg = 0;
    // The reply object this thread's port_calls reuse (a Reply; see reply.h): its
    // reference is the caller's for the whole call, and once the server has let go of
    // it, it serves the next call without an allocation.
    obj::Ref<obj::KObject> m_reply_slot;
    // Register IPC (port_call_regs, port_reply_receive_regs). The reply right of the call
    // this thread received last in registers, held here instead of in the handle table
    // until its next port_reply_receive_regs answers it (dropped unanswered when the
    // thread ends, which gives the caller PEER_CLOSED).
    obj::Ref<obj::KObject> m_held_reply;

    Task* m_task = nullptr; // counted reference for user threads

    uint64_t stack_slot() const { return m_stack_slot; }
    Thread() : obj::KObject(kType) {}

protected:
    void destroy() override;
    void unshared() override;

private:
    friend void scheduler_init();
    uint64_t m_id = 0;
    uint64_t m_stack_slot = 0;
    uint64_t m_stack_top = 0;
    char m_name[24] = {};
};

// A set of threads waiting for one event.
class WaitQueue {
public:
    bool is_empty() const { return m_waiters.is_empty(); }
    // Blocks the current thread until woken or until `deadline_ns` (0 = none) passes.
    // Returns the waker's result (OK, PEER_CLOSED, ...) or TIMED_OUT.
    base::Error wait(uint64_t deadline_ns);
    // Wakes the oldest waiter with `result` and `token`; returns it or nullptr.
    Thread* wake_one(base::Error result = base::Error::OK, uint64_t token = 0);
    // Wakes every waiter; returns how many.
    size_t wake_all(base::Error result);
    // Wakes the waiters for which pred(Thread&) is true; returns how many.
    template<typename Pred>
    size_t wake_matching(Pred pred, base::Error result) {
        size_t n = 0;
        for (Thread* t = m_waiters.front(); t;) {
            Thread* next = m_waiters.next(*t);
            if (pred(*t)) {
                wake_specific(*t, result);
                ++n;
            }
            t = next;
        }
        return n;
    }
    void wake_specific(Thread& t, base::Error result);
    // The oldest waiter, left waiting; null when none.
    Thread* front() { return m_waiters.front(); }
    // The IPC fast path: blocks the current thread on this queue (until woken or
    // `deadline_ns`, as wait) and runs `next` at once, without the scheduler's pick.
    // `next` must be blocked on a wait queue; its wait ends with OK. The caller has
    // checked can_hand_off_to(next) and that the current thread may block.
    base::Error wait_switching_to(Thread& next, uint64_t deadline_ns);

private:
    friend void wait_timeout(Thread&);
    friend void thread_kill(Thread&);
    base::IntrusiveList<Thread, &Thread::run_link> m_waiters;
};

inline Thread* current_thread() { return static_cast<Thread*>(x86_64::this_cpu().current); }
// Ends a timed wait that expired (called from the timer path).
void wait_timeout(Thread& t);
void scheduler_init();
// Starts scheduling: the boot thread becomes a normal thread; idle runs when nothing else.
void scheduler_start();
void make_ready(Thread& t);
namespace scheduler_detail {
// The ready threads (thread.cpp); declared here only so that can_hand_off_to, on the IPC
// fast path, is inline.
using ReadyQueue = obj::RunQueue<Thread, &Thread::run_link, &Thread::m_priority>;
extern ReadyQueue g_ready;
} // namespace scheduler_detail
// True when the CPU may go straight to `next` as the current thread blocks: nothing of
// higher priority is ready, so the scheduler's pick would choose no one more urgent.
inline bool can_hand_off_to(const Thread& next) {
    return !scheduler_detail::g_ready.has_higher_than(next.priority());
}
// Gives the CPU to the next ready thread (the current one stays ready).
void yield();
// Switches away from the current thread, which must already be Blocked, Stopped or Dead.
void schedule();
// Called from the timer interrupt.
void scheduler_tick(bool from_user);
// Set when the current thread should be preempted at the next safe point (the scheduler
// owns it; read on every return to user mode, so it is inline).
extern bool g_need_resched;
// True when the current thread should be preempted at the next safe point.
inline bool need_resched() { return g_need_resched; }
// Sleeps the current thread at least ns.
void sleep_ns(uint64_t ns);
[[noreturn]] void thread_exit_current();
// Turns a ready, blocked or stopped thread into a dead one (task death).
void thread_kill(Thread& t);
// Ends a blocked thread's wait early with INTERRUPTED (sleeps end too).
void thread_interrupt(Thread& t);
// Marks the current thread stopped and switches away until thread_resume.
void stop_current();
// Makes a stopped thread runnable again. BAD_STATE unless stopped.
base::Result<void> thread_resume(Thread& t);
// Threads waiting for process_orphans (see Thread::unshared); nonzero sends every return
// to user mode through on_return_to_user_slow.
extern size_t g_orphan_count;
// The work of on_return_to_user when there is any.
void on_return_to_user_slow();
// Checks run on every return to user mode: orphans, deferred exits and stop requests.
// Inline because it runs after every syscall and nearly always finds nothing to do.
inline void on_return_to_user() {
    Thread* t = current_thread();
    if (g_orphan_count || t->m_exit_requested || t->m_stop_requested) [[unlikely]]
        on_return_to_user_slow();
}
// Ends unstarted threads and resumes stopped ones that nothing can reach any more (see
// Thread::unshared); runs at safe points.
void process_orphans();
// Prints every thread that has not been reaped (id, name, state, task, references).
void dump_threads();
// Kills every task that still has a thread (for the fuzz mode's leak check, which needs
// the fuzzer's descendants gone too); returns how many it killed.
size_t kill_user_tasks(const char* reason);
// User threads not yet destroyed: dead ones (reaped, yet still referenced) and others.
struct UserThreadsLeft {
    size_t dead = 0;
    size_t other = 0;
};
UserThreadsLeft user_threads_left();

struct SchedulerStats {
    uint64_t context_switches;
    uint64_t threads_alive;
    uint64_t idle_ticks;
};
SchedulerStats scheduler_stats();

} // namespace kernel

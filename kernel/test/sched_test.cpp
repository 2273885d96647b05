// Self-tests of the scheduler: preemption, sleeps, wait queues, reaping, priorities.
#include <kernel/core/clock.h>
#include <kernel/core/memory.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/test/ktest.h>

namespace kernel {
namespace {

struct SpinState {
    volatile uint64_t count = 0;
    volatile bool stop = false;
    volatile bool done = false;
};

void spinner(void* arg) {
    auto* s = static_cast<SpinState*>(arg);
    while (!s->stop)
        s->count = s->count + 1;
    s->done = true;
}

KTEST(sched, preemption_is_fair_between_busy_threads) {
    static SpinState a, b;
    a = SpinState{};
    b = SpinState{};
    Thread* ta = Thread::create_kernel("spin-a", spinner, &a, Thread::kDefaultPriority);
    Thread* tb = Thread::create_kernel("spin-b", spinner, &b, Thread::kDefaultPriority);
    KEXPECT(ta && tb);
    make_ready(*ta);
    make_ready(*tb);
    sleep_ns(300000000ull); // 300 ms: many time slices each
    a.stop = true;
    b.stop = true;
    while (!a.done || !b.done)
        sleep_ns(1000000);
    KEXPECT(a.count > 0 && b.count > 0);
    uint64_t lo = base::min(a.count, b.count), hi = base::max(a.count, b.count);
    KEXPECT(hi < lo * 3);
}

KTEST(sched, sleep_lasts_at_least_the_request) {
    uint64_t start = monotonic_ns();
    sleep_ns(30000000ull);
    uint64_t elapsed = monotonic_ns() - start;
    KEXPECT(elapsed >= 30000000ull);
    KEXPECT(elapsed < 500000000ull);
}

KTEST(sched, wait_queue_times_out) {
    WaitQueue q;
    uint64_t start = monotonic_ns();
    base::Error e = q.wait(start + 20000000ull);
    KEXPECT_EQ(e, base::Error::TIMED_OUT);
    KEXPECT(monotonic_ns() - start >= 20000000ull);
    KEXPECT(q.is_empty());
}

struct WakeState {
    WaitQueue queue;
    volatile int order[4] = {};
    volatile int next = 0;
    volatile base::Error results[4] = {};
};
struct Waiter {
    WakeState* state;
    int index;
};

void waiter_fn(void* arg) {
    auto* w = static_cast<Waiter*>(arg);
    base::Error e = w->state->queue.wait(0);
    w->state->results[w->index] = e;
    w->state->order[w->state->next] = w->index;
    w->state->next = w->state->next + 1;
}

KTEST(sched, wait_queue_wakes_in_fifo_order_with_results) {
    static WakeState s;
    static Waiter w[3];
    s.next = 0;
    for (int i = 0; i < 3; ++i) {
        w[i] = Waiter{&s, i};
        Thread* t = Thread::create_kernel("waiter", waiter_fn, &w[i], Thread::kDefaultPriority);
        KEXPECT(t != nullptr);
        make_ready(*t);
        sleep_ns(2000000); // let it block, in order
    }
    KEXPECT(s.queue.wake_one(base::Error::OK) != nullptr);
    KEXPECT(s.queue.wake_one(base::Error::PEER_CLOSED) != nullptr);
    KEXPECT_EQ(s.queue.wake_all(base::Error::INTERRUPTED), size_t(1));
    while (s.next < 3)
        sleep_ns(1000000);
    KEXPECT_EQ(s.order[0], 0);
    KEXPECT_EQ(s.order[1], 1);
    KEXPECT_EQ(s.order[2], 2);
    KEXPECT_EQ(s.results[1], base::Error::PEER_CLOSED);
    KEXPECT_EQ(s.results[2], base::Error::INTERRUPTED);
}

void quick(void* arg) { *static_cast<volatile int*>(arg) = 1; }

void run_quick_threads(KTestContext& ktest_ctx, volatile int* flags, int n) {
    for (int i = 0; i < n; ++i) {
        flags[i] = 0;
        Thread* t = Thread::create_kernel("quick", quick, const_cast<int*>(&flags[i]),
                                          Thread::kDefaultPriority);
        KEXPECT(t != nullptr);
        make_ready(*t);
    }
    sleep_ns(20000000);
    for (int i = 0; i < n; ++i)
        KEXPECT_EQ(flags[i], 1);
    yield(); // the reaper runs after a switch
}

KTEST(sched, exited_threads_are_reaped) {
    // Stacks and thread objects return to the allocator once the threads are gone. A
    // first round warms the heap's slab caches so the second can be compared exactly.
    static volatile int flags[20];
    run_quick_threads(ktest_ctx, flags, 20);
    size_t pages_before = page_allocator().free_page_count();
    uint64_t alive_before = scheduler_stats().threads_alive;
    run_quick_threads(ktest_ctx, flags, 20);
    KEXPECT_EQ(scheduler_stats().threads_alive, alive_before);
    KEXPECT_EQ(page_allocator().free_page_count(), pages_before);
}

KTEST(sched, higher_priority_thread_runs_first) {
    static volatile int ran = 0;
    ran = 0;
    Thread* t = Thread::create_kernel("urgent", quick, const_cast<int*>(&ran), 20);
    KEXPECT(t != nullptr);
    make_ready(*t);
    // A more urgent thread became ready: the next preemption point switches to it.
    if (need_resched())
        yield();
    KEXPECT_EQ(ran, 1);
}

// A thread whose last handle goes while it is unstarted (or stopped) is ended (or
// resumed) by process_orphans, however many there are at once: a fixed table of 256 left
// the rest unstarted for ever, and their tasks with them.
KTEST(sched, every_orphaned_thread_is_ended) {
    constexpr int kTasks = 5;
    constexpr int kThreadsPerTask = 60; // 300 in all, within each task's thread quota
    obj::Ref<Task> tasks[kTasks];
    uint64_t alive_before = scheduler_stats().threads_alive;
    for (auto& task : tasks) {
        auto created = Task::create("orphans");
        KEXPECT_OK(created);
        task = obj::Ref<Task>::adopt(created.value());
        for (int i = 0; i < kThreadsPerTask; ++i) {
            auto thread =
                thread_create_user(*task, 0x400000, 0x800000, 0, Thread::kDefaultPriority);
            KEXPECT_OK(thread);
            // The reference a handle would hold, dropped: only the scheduler's is left.
            obj::Ref<Thread>::retain(thread.value()).reset();
        }
    }
    sleep_ns(2000000); // orphans are dealt with at the next switch
    bool all_exited = true;
    for (auto& task : tasks) {
        all_exited &= task->exited();
        task.reset();
    }
    KEXPECT(all_exited);
    KEXPECT_EQ(scheduler_stats().threads_alive, alive_before);
}

} // namespace
} // namespace kernel

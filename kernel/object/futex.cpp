// Futexes: the node's table of waiters and the wait, wake and requeue that use it.
#include <kernel/core/usercopy.h>
#include <kernel/object/futex.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <tern/abi/task.h>

namespace kernel {

namespace {

obj::FutexTable g_futexes;

// What a waiter keeps on its kernel stack: the table's record and a wait queue of one.
struct Waiter {
    obj::FutexWaiter record;
    WaitQueue queue;
};

void wake_waiter(obj::FutexWaiter& record) {
    auto* waiter = static_cast<Waiter*>(record.owner);
    waiter->queue.wake_one(base::Error::OK);
}

} // namespace

base::Error futex_wait(const obj::FutexKey& key, uint64_t address, uint32_t expected, bool blocks,
                       uint64_t deadline_ns) {
    InterruptGuard guard;
    Waiter waiter;
    waiter.record.key = key;
    waiter.record.owner = &waiter;
    // Queued before the word is read: the read may fault in a page and block, and a wake
    // that comes meanwhile must find this waiter (it then sees `woken`).
    g_futexes.enqueue(waiter.record);
    uint32_t value = 0;
    base::Error e = base::Error::OK;
    if (copy_from_user(&value, address, sizeof(value)).is_error())
        e = base::Error::BAD_ADDRESS;
    else if (value != expected)
        e = base::Error::WOULD_BLOCK;
    else if (!blocks)
        e = base::Error::TIMED_OUT;
    while (e == base::Error::OK && !waiter.record.woken)
        e = waiter.queue.wait(deadline_ns);
    g_futexes.remove(waiter.record);
    // A wake that counted this waiter wins over a timeout or interruption at the same
    // time: the waker was told one thread took its wake.
    if (waiter.record.woken)
        return base::Error::OK;
    return e;
}

size_t futex_wake(const obj::FutexKey& key, size_t count) {
    InterruptGuard guard;
    return g_futexes.wake(key, count, wake_waiter);
}

size_t futex_requeue(const obj::FutexKey& from, size_t wake, const obj::FutexKey& to, size_t move) {
    InterruptGuard guard;
    return g_futexes.requeue(from, wake, to, move, wake_waiter);
}

namespace {

// One lock word of a dying owner: OWNER_DIED (keeping WAITERS) if `owner` still holds it,
// then one waiter woken, in whichever way it waits (a process-shared mutex's waiters in
// other tasks use the shared key). Reading and writing the word happen with interrupts
// off on the one CPU, so no locker changes it in between; a page the read faults in is
// present for the write.
bool mark_owner_died(Task& task, uint64_t word, uint32_t owner) {
    if ((word & 3) != 0 || !user_range_ok(word, sizeof(uint32_t)))
        return false;
    InterruptGuard guard;
    uint32_t value = 0;
    if (copy_from_user(value, word).is_error() || (value & kFutexOwnerMask) != owner)
        return false;
    uint32_t died = (value & kFutexWaitersBit) | kFutexOwnerDiedBit;
    if (copy_to_user(word, died).is_error())
        return false;
    if (auto key = task.futex_key(word, true); key.ok())
        futex_wake(key.value(), 1);
    if (auto key = task.futex_key(word, false); key.ok())
        futex_wake(key.value(), 1);
    return true;
}

// Walks one thread's robust list: Linux's struct robust_list_head at `head`.
size_t release_list(Task& task, uint64_t head, uint32_t owner) {
    // The first entry (a list that ends back at the head), the offset from an entry to
    // its lock word, and the entry being locked or unlocked.
    struct {
        uint64_t next;
        int64_t offset;
        uint64_t pending;
    } h;
    if (copy_from_user(h, head).is_error())
        return 0;
    size_t marked = 0;
    uint64_t entry = h.next;
    for (size_t n = 0; entry != head && entry != 0 && n < kRobustListLimit; ++n) {
        // The next entry is read first: once the word is marked, a locker may take the
        // mutex and relink it.
        uint64_t next = 0;
        if ((entry & 7) != 0 || copy_from_user(next, entry).is_error())
            break;
        if (entry != h.pending && mark_owner_died(task, entry + uint64_t(h.offset), owner))
            ++marked;
        entry = next;
    }
    if (h.pending != 0 && mark_owner_died(task, h.pending + uint64_t(h.offset), owner))
        ++marked;
    return marked;
}

} // namespace

size_t futex_release_robust_lists() {
    Task* task = current_thread()->task();
    if (task == nullptr || !task->dying() || task->robust_lists() == 0)
        return 0;
    uint64_t records = task->robust_lists();
    uint32_t count = task->robust_count();
    task->set_robust_lists(0, 0); // once, by the first thread that ends
    size_t marked = 0;
    for (uint32_t i = 0; i < count; ++i) {
        tern_robust_list record{};
        if (copy_from_user(record, records + i * sizeof(record)).is_error())
            break;
        if (record.head == 0 || (record.head & 7) != 0 || record.owner == 0
            || record.owner > kFutexOwnerMask)
            continue;
        marked += release_list(*task, record.head, record.owner);
    }
    return marked;
}

size_t futex_waiters() {
    InterruptGuard guard;
    return g_futexes.size();
}

} // namespace kernel

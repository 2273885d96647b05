// Futexes: the node's table of waiters and the wait, wake and requeue that use it.
#include <kernel/core/usercopy.h>
#include <kernel/object/futex.h>
#include <kernel/object/thread.h>

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

size_t futex_waiters() {
    InterruptGuard guard;
    return g_futexes.size();
}

} // namespace kernel

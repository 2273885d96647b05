#pragma once

// FutexTable: the waiters of every futex of the node, in a fixed hash of FIFO lists.
//
// A futex is a key: the address space (a task) and the user address, or a memory object
// and an offset into it, both given as two numbers the table only compares and hashes.
// A waiter is a record the waiting thread keeps on its own kernel stack for the length
// of its wait, so waiting allocates nothing and the table has no capacity to run out
// of: each bucket is an intrusive list, and a futex's waiters are its bucket's entries
// with its key, oldest first. Waking takes them in that order; requeueing moves them to
// another key's bucket, at its tail, keeping their order.
//
// The table knows nothing of threads or scheduling: wake and requeue hand each woken
// waiter to a callback, which makes its thread runnable. No locking; the kernel
// serializes access (interrupts off on one CPU).

#include <base/intrusive_list.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::obj {

struct FutexKey {
    uintptr_t space{0};  // a task, or a memory object
    uint64_t address{0}; // the user address, or the offset in the memory object

    [[nodiscard]] constexpr bool operator==(const FutexKey& other) const {
        return space == other.space && address == other.address;
    }
};

struct FutexWaiter {
    base::ListNode link;
    FutexKey key;
    void* owner{nullptr}; // the waiting thread, for the wake callback
    bool woken{false};    // set when a wake took it off the table
};

class FutexTable {
public:
    static constexpr size_t kBuckets = 256;

    FutexTable() = default;
    FutexTable(const FutexTable&) = delete;
    FutexTable& operator=(const FutexTable&) = delete;

    // Adds a waiter (not already queued) at the tail of its key's waiters.
    void enqueue(FutexWaiter& waiter);
    // Takes a waiter off the table if it is still there (a wait that timed out or was
    // interrupted); a woken waiter is not.
    void remove(FutexWaiter& waiter);

    // Wakes up to `count` waiters of `key`, oldest first: each is taken off the table,
    // marked woken and passed to on_woken(FutexWaiter&). Returns how many.
    template<typename Fn>
    size_t wake(const FutexKey& key, size_t count, Fn&& on_woken) {
        size_t woken = 0;
        List& list = bucket(key);
        for (FutexWaiter* w = list.front(); w && woken < count;) {
            FutexWaiter* next = list.next(*w);
            if (w->key == key) {
                list.remove(*w);
                --m_size_total;
                w->woken = true;
                on_woken(*w);
                ++woken;
            }
            w = next;
        }
        return woken;
    }

    // Wakes up to `wake_count` waiters of `from` as wake does, then moves up to
    // `move_count` of the rest to `to`, in order. Returns woken + moved.
    template<typename Fn>
    size_t requeue(const FutexKey& from, size_t wake_count, const FutexKey& to, size_t move_count,
                   Fn&& on_woken) {
        size_t done = wake(from, wake_count, on_woken);
        if (move_count == 0 || from == to)
            return done + (from == to ? count(from, move_count) : 0);
        List& source = bucket(from);
        List& target = bucket(to);
        size_t moved = 0;
        for (FutexWaiter* w = source.front(); w && moved < move_count;) {
            FutexWaiter* next = source.next(*w);
            if (w->key == from) {
                source.remove(*w);
                w->key = to;
                target.push_back(*w);
                ++moved;
            }
            w = next;
        }
        return done + moved;
    }

    // How many waiters `key` has, counting at most `limit`.
    [[nodiscard]] size_t count(const FutexKey& key, size_t limit = ~size_t(0));
    // Waiters in the whole table.
    [[nodiscard]] size_t size() const { return m_size_total; }

private:
    using List = base::IntrusiveList<FutexWaiter, &FutexWaiter::link>;
    [[nodiscard]] static size_t bucket_index(const FutexKey& key);
    List& bucket(const FutexKey& key) { return m_buckets[bucket_index(key)]; }

    List m_buckets[kBuckets];
    size_t m_size_total{0};
};

} // namespace kernel::obj

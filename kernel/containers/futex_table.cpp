#include <kernel/containers/futex_table.h>

namespace kernel::obj {

size_t FutexTable::bucket_index(const FutexKey& key) {
    // Addresses of futexes are 4-byte aligned and often a few words apart; mix both
    // halves of the key so neighbouring words and different spaces spread out.
    uint64_t h = (key.address >> 2) ^ (uint64_t(key.space) >> 4) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return size_t(h % kBuckets);
}

void FutexTable::enqueue(FutexWaiter& waiter) {
    waiter.woken = false;
    bucket(waiter.key).push_back(waiter);
    ++m_size_total;
}

void FutexTable::remove(FutexWaiter& waiter) {
    if (!waiter.link.is_linked())
        return;
    bucket(waiter.key).remove(waiter);
    --m_size_total;
}

size_t FutexTable::count(const FutexKey& key, size_t limit) {
    size_t n = 0;
    for (FutexWaiter& w : bucket(key)) {
        if (n >= limit)
            break;
        if (w.key == key)
            ++n;
    }
    return n;
}

} // namespace kernel::obj

#pragma once
// Buffers for message data parts, charged to the sending task's account while they live.
//
// Data parts come from two buffer sizes, and freed buffers wait in small pools, so the
// common message skips the hardened heap's canary, poisoning and (for a page) page
// allocator work: about 850 instructions per allocate/free pair for 64 bytes, 4,000 for
// 4 KiB. A pooled buffer is always overwritten by the sender's copy before anyone reads
// it. Idle pools hold at most 32 x 256 B + 4 x 4 KiB (with their headers, 512 B and
// 8 KiB heap blocks): 48 KiB. Allocation is inline: it is on every send with data.
#include <base/error.h>
#include <kernel/core/memory.h>
#include <kernel/object/quota.h>
#include <kernel/object/thread.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel {

namespace message_data {

struct Pool {
    uint32_t buffer_size;
    size_t max;
    void* buffers[32];
    size_t count;
};
inline Pool g_pools[] = {{256, 32, {}, 0}, {4096, 4, {}, 0}};

inline Pool* pool_for(uint32_t size) {
    for (Pool& pool : g_pools)
        if (size <= pool.buffer_size)
            return &pool;
    return nullptr;
}

// Each buffer starts with the account its data is charged to; the data follows.
struct Header {
    KernelAccount* account;
    uint64_t reserved; // keeps the data 16-byte aligned
};
static_assert(sizeof(Header) == 16);

} // namespace message_data

// A buffer of `size` bytes, charged to `account` (when not null) until it is freed; null
// with *error set on failure: QUOTA_EXCEEDED (the account's message-data limit) or
// NO_MEMORY. (An out-parameter rather than a Result: a Result comes back through memory,
// which costs measurably here.)
inline void* alloc_message_data(uint32_t size, KernelAccount* account, base::Error* error) {
    using namespace message_data;
    if (account && !account->try_charge_data(size)) {
        *error = base::Error::QUOTA_EXCEEDED;
        return nullptr;
    }
    void* block = nullptr;
    if (Pool* pool = pool_for(size)) {
        InterruptGuard guard;
        block = pool->count > 0 ? pool->buffers[--pool->count]
                                : kmalloc(sizeof(Header) + pool->buffer_size);
    } else {
        block = kmalloc(sizeof(Header) + size);
    }
    if (!block) {
        if (account)
            account->uncharge_data(size);
        *error = base::Error::NO_MEMORY;
        return nullptr;
    }
    auto* header = static_cast<Header*>(block);
    header->account = account;
    return header + 1;
}

// Gives back a buffer from alloc_message_data of the same size (the obj::DataRelease of
// every data part a task sends).
void free_message_data(void* data, uint32_t size);

} // namespace kernel

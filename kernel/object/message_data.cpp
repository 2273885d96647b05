// Message data parts: the kernel buffers that carry a message's data part between
// tasks.
#include <kernel/core/memory.h>
#include <kernel/object/message_data.h>
#include <kernel/object/thread.h>

namespace kernel {

namespace {

// Data parts come from two buffer sizes, and freed buffers wait in small pools, so the
// common message skips the hardened heap's canary, poisoning and (for a page) page
// allocator work: about 850 instructions per allocate/free pair for 64 bytes, 4,000 for
// 4 KiB. A pooled buffer is always overwritten by the sender's copy before anyone reads
// it. Idle pools hold at most 32 x 256 B + 4 x 4 KiB (8 KiB heap blocks): 40 KiB.
struct DataPool {
    uint32_t buffer_size;
    size_t max;
    void* buffers[32];
    size_t count;
};
DataPool g_data_pools[] = {{256, 32, {}, 0}, {4096, 4, {}, 0}};

DataPool* pool_for(uint32_t size) {
    for (DataPool& pool : g_data_pools)
        if (size <= pool.buffer_size)
            return &pool;
    return nullptr;
}

} // namespace

void* alloc_message_data(uint32_t size) {
    DataPool* pool = pool_for(size);
    if (!pool)
        return kmalloc(size);
    InterruptGuard guard;
    if (pool->count > 0)
        return pool->buffers[--pool->count];
    return kmalloc(pool->buffer_size);
}

void free_message_data(void* data, uint32_t size) {
    if (DataPool* pool = pool_for(size)) {
        InterruptGuard guard;
        if (pool->count < pool->max) {
            pool->buffers[pool->count++] = data;
            return;
        }
    }
    kfree(data);
}

} // namespace kernel

// Message data parts: giving a buffer back to its pool and its charge to its account.
#include <kernel/object/message_data.h>

namespace kernel {

void free_message_data(void* data, uint32_t size) {
    using namespace message_data;
    Header* header = static_cast<Header*>(data) - 1;
    if (header->account)
        header->account->uncharge_data(size);
    if (Pool* pool = pool_for(size)) {
        InterruptGuard guard;
        if (pool->count < pool->max) {
            pool->buffers[pool->count++] = header;
            return;
        }
    }
    kfree(header);
}

} // namespace kernel

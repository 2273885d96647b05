// Reply objects: one per port_call, recycled through a small pool.
#include <kernel/core/memory.h>
#include <kernel/object/reply.h>

namespace kernel {

namespace {
constexpr size_t kReplyPoolMax = 64;
void* g_reply_pool[kReplyPoolMax];
size_t g_reply_pool_size = 0;
} // namespace

Reply* Reply::create(Thread* caller) {
    InterruptGuard guard;
    if (g_reply_pool_size > 0)
        return new (g_reply_pool[--g_reply_pool_size]) Reply(caller);
    return new (kNoThrow) Reply(caller);
}

void Reply::unshared() {
    if (m_caller && !m_answered)
        m_waiter.wake_one(base::Error::PEER_CLOSED);
}

void Reply::destroy() {
    this->~Reply();
    InterruptGuard guard;
    if (g_reply_pool_size < kReplyPoolMax)
        g_reply_pool[g_reply_pool_size++] = this;
    else
        ::operator delete(static_cast<void*>(this));
}

} // namespace kernel

// Reply objects: one per port_call or port_call_async, recycled through a small pool.
#include <kernel/core/memory.h>
#include <kernel/object/port.h>
#include <kernel/object/reply.h>
#include <tern/abi/errors.h>

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

base::Result<Reply*> Reply::for_call(Thread& caller, KernelAccount& account) {
    if (obj::KObject* held = caller.m_reply_slot.get(); held && held->ref_count() == 1) {
        // Answered (or given up) and let go of by every server: as good as new.
        Reply* reply = static_cast<Reply*>(held);
        TERN_ASSERT(reply->m_waiter.is_empty() && !(reply->m_flags & kAsync));
        reply->m_flags = 0;
        reply->m_caller = &caller; // let go of when the call ends
        return reply;
    }
    Reply* reply = create(&caller);
    if (!reply)
        return base::Error::NO_MEMORY;
    if (!reply->quota_charge().take_from(account, QuotaKind::kReplies)) {
        reply->release_ref();
        return base::Error::QUOTA_EXCEEDED;
    }
    // A reply still held elsewhere (a server that has not closed it yet, a call that
    // timed out) lives on with that holder alone.
    caller.m_reply_slot = obj::Ref<obj::KObject>::adopt(reply);
    return reply;
}

Reply* Reply::create_async(Port& reply_port, uint64_t cookie) {
    Reply* reply = create(nullptr);
    if (!reply)
        return nullptr;
    reply->m_flags = kAsync;
    reply_port.add_ref();
    reply->m_reply_port = &reply_port;
    reply->m_cookie = cookie;
    return reply;
}

void Reply::cancel_async() {
    TERN_ASSERT((m_flags & (kAsync | kAnswered)) == kAsync);
    m_reply_port->queue().unreserve();
    m_flags |= kAnswered;
}

base::Result<void> Reply::answer_without_caller(obj::Message&& message) {
    // A synchronous call whose caller gave up or died, or an answer already given.
    if ((m_flags & (kAsync | kAnswered)) != kAsync)
        return base::Error::PEER_CLOSED;
    m_flags |= kAnswered;
    message.header.flags = TERN_MSG_FLAG_ASYNC_REPLY;
    message.header.sender_badge = m_cookie;
    // Queued into the slot reserved at the call; when the reply port has lost its
    // receiver the answer is dropped there, which is no error of the server's.
    m_reply_port->post_reserved(base::move(message));
    return {};
}

base::Result<void> Reply::fail(base::Error status) {
    if (!m_caller || (m_flags & kAnswered) || m_caller->state() == ThreadState::kDead) {
        if ((m_flags & (kAsync | kAnswered)) != kAsync)
            return base::Error::PEER_CLOSED;
        m_flags |= kAnswered;
        obj::Message failed;
        failed.header.label = TERN_LABEL_CALL_FAILED;
        failed.header.flags = TERN_MSG_FLAG_ASYNC_REPLY;
        failed.header.sender_badge = m_cookie;
        failed.words[0] = uint64_t(status);
        m_reply_port->post_reserved(base::move(failed));
        return {};
    }
    m_flags |= kAnswered;
    m_waiter.wake_one(status);
    return {};
}

void Reply::unshared() {
    if (m_caller && !(m_flags & kAnswered))
        m_waiter.wake_one(base::Error::PEER_CLOSED);
}

void Reply::finish_without_caller() {
    if (!(m_flags & kAsync))
        return;
    if (!(m_flags & kAnswered)) {
        // The right went unanswered: the caller learns it from its reply port.
        m_flags |= kAnswered;
        obj::Message failed;
        failed.header.label = TERN_LABEL_CALL_FAILED;
        failed.header.flags = TERN_MSG_FLAG_ASYNC_REPLY;
        failed.header.sender_badge = m_cookie;
        failed.words[0] = TERN_PEER_CLOSED;
        m_reply_port->post_reserved(base::move(failed));
    }
    m_reply_port->release_ref();
}

void Reply::destroy() {
    // Only a reply without a waiting caller has more to do; testing the caller here lets
    // the destructor's own test of it serve both, so a port_call pays nothing for this.
    if (!m_caller) [[unlikely]]
        finish_without_caller();
    this->~Reply();
    InterruptGuard guard;
    if (g_reply_pool_size < kReplyPoolMax)
        g_reply_pool[g_reply_pool_size++] = this;
    else
        ::operator delete(static_cast<void*>(this));
}

} // namespace kernel

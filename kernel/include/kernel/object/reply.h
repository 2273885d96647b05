#pragma once
// A reply object: the one-shot right to answer one port_call.
#include <base/result.h>
#include <kernel/containers/message_queue.h>
#include <kernel/object/kobject.h>
#include <kernel/object/quota.h>
#include <kernel/object/thread.h>
#include <tern/abi/rights.h>

namespace kernel {

class Reply final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_REPLY;
    // Reply objects are made and dropped once per call, so they are recycled through a
    // small pool rather than the heap.
    static Reply* create(Thread* caller);
    explicit Reply(Thread* caller)
        : obj::KObject(kType), m_caller(obj::Ref<Thread>::retain(caller)) {}
    // Delivers the answer to the waiting caller. PEER_CLOSED when it gave up.
    base::Result<void> answer(obj::Message&& message);
    // The caller stopped waiting (timeout); a later answer is refused.
    void abandon() { m_caller.reset(); }
    WaitQueue& waiter() { return m_waiter; }
    // The charge to the calling task's account.
    QuotaCharge& quota_charge() { return m_quota_charge; }

protected:
    void destroy() override;
    // The caller holds one reference for the whole call; when the other (the server's
    // handle or the queued message) goes without an answer, the caller is told.
    void unshared() override;

private:
    obj::Ref<Thread> m_caller;
    bool m_answered = false;
    WaitQueue m_waiter;
    QuotaCharge m_quota_charge;
};

// On every call's answer; inline so the reply path does not pay a call for it.
inline base::Result<void> Reply::answer(obj::Message&& message) {
    if (!m_caller || m_answered || m_caller->state() == ThreadState::kDead)
        return base::Error::PEER_CLOSED;
    m_answered = true;
    m_caller->m_reply = base::move(message);
    m_waiter.wake_one(base::Error::OK);
    return {};
}

} // namespace kernel

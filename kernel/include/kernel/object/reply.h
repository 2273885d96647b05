#pragma once
// A reply object: the one-shot right to answer one call.
//
// For port_call the caller's thread waits on it and the answer lands in the thread. For
// port_call_async nobody waits: the reply holds a reference to the reply port the caller
// named, one slot of whose queue it reserved, and the answer (or, when the right is
// dropped unanswered, a TERN_LABEL_CALL_FAILED message) is queued into that slot, marked
// TERN_MSG_FLAG_ASYNC_REPLY and badged with the caller's cookie. The server cannot tell
// the two kinds apart.
#include <base/result.h>
#include <kernel/containers/message_queue.h>
#include <kernel/object/kobject.h>
#include <kernel/object/quota.h>
#include <kernel/object/thread.h>
#include <tern/abi/rights.h>

namespace kernel {

class Port;

class Reply final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_REPLY;
    // Reply objects are made and dropped once per call, so they are recycled through a
    // small pool rather than the heap.
    static Reply* create(Thread* caller);
    // The reply for a port_call by `caller` (the current thread), kept in its
    // m_reply_slot: the one already there when nothing else holds it any more (the
    // common case: no allocation), else a new one, charged to `account`, that takes the
    // slot. The slot's reference is the caller's for the whole call. NO_MEMORY,
    // QUOTA_EXCEEDED.
    static base::Result<Reply*> for_call(Thread& caller, KernelAccount& account);
    // for_call's common case alone, for the register fast path: the reply in the
    // caller's slot, made ready for a new call, when nothing else holds it any more;
    // else null (and nothing changed: for_call then).
    [[gnu::always_inline]] static Reply* reuse_slot(Thread& caller) {
        obj::KObject* held = caller.m_reply_slot.get();
        if (!held || held->ref_count() != 1) [[unlikely]]
            return nullptr;
        Reply* reply = static_cast<Reply*>(held);
        reply->m_flags = 0;
        reply->m_caller = &caller; // let go of when the call ends
        return reply;
    }
    // A reply for port_call_async whose answer goes to the slot the caller has reserved
    // on `reply_port` (the reply takes over the reservation). Null when memory is short;
    // the reservation is then still the caller's.
    static Reply* create_async(Port& reply_port, uint64_t cookie);
    explicit Reply(Thread* caller) : obj::KObject(kType), m_caller(caller) {}
    // Delivers the answer to the waiting caller, or queues it on the reply port of an
    // asynchronous call. PEER_CLOSED when the caller gave up.
    base::Result<void> answer(obj::Message&& message);
    // Answers the call with a status instead of a message (port_reply_error): the
    // caller's port_call returns it, or, for an asynchronous call, the answer is a
    // TERN_LABEL_CALL_FAILED message with words[0] = the status. PEER_CLOSED when the
    // caller gave up.
    base::Result<void> fail(base::Error status);
    // The caller stopped waiting (the call is over: answered, timed out, interrupted);
    // a later answer is refused, and the reply no longer points at the thread.
    void abandon() { m_caller = nullptr; }
    // An asynchronous call that was never sent: gives the reserved slot back, and no
    // answer will be queued.
    void cancel_async();
    WaitQueue& waiter() { return m_waiter; }
    // The port an asynchronous call's answer is queued on, else null: an answer must not
    // carry a handle to it (it would sit in the queue it keeps alive).
    Port* answer_port() const { return (m_flags & kAsync) ? m_reply_port : nullptr; }
    // The IPC fast path's answer: the caller of an unanswered synchronous call while it
    // waits for the answer, else null.
    Thread* waiting_caller() {
        Thread* caller = m_caller;
        if (!caller || (m_flags & (kAnswered | kAsync)) || caller->m_waiting_on != &m_waiter)
            return nullptr;
        return caller;
    }
    // Marks the call answered; the answer is already in the caller's m_reply, and the
    // caller is then switched to (the fast path) or woken.
    void mark_answered() { m_flags |= kAnswered; }
    // The charge to the calling task's account.
    QuotaCharge& quota_charge() { return m_quota_charge; }

protected:
    void destroy() override;
    // The caller holds one reference for the whole call; when the other (the server's
    // handle or the queued message) goes without an answer, the caller is told.
    void unshared() override;

private:
    static constexpr uint8_t kAnswered = 1;
    static constexpr uint8_t kAsync = 2;
    // answer() and destroy() without a waiting caller: an abandoned call or an
    // asynchronous one. Out of line, so the synchronous path pays nothing for them.
    base::Result<void> answer_without_caller(obj::Message&& message);
    void finish_without_caller();

    // The caller of a synchronous call while the call lasts, without a counted reference:
    // it is set only by the calling thread itself as its call begins (for_call,
    // reuse_slot) and cleared by abandon() on every way out of the call (answer, timeout,
    // INTERRUPTED, an error before or after the send), all before the syscall returns. A
    // thread is destroyed only after it is dead, and it dies only outside a syscall (a
    // kill while it waits interrupts the wait and the call unwinds first), so the thread
    // outlives the pointer. Null for an asynchronous call and after the call.
    Thread* m_caller = nullptr;
    uint8_t m_flags = 0; // kAnswered, kAsync
    WaitQueue m_waiter;
    QuotaCharge m_quota_charge;
    // Set only with kAsync (the synchronous constructor leaves them as they are): the
    // reply port, on which the reply holds a reference and one reserved slot until its
    // answer is queued, and the caller's cookie.
    Port* m_reply_port;
    uint64_t m_cookie;
};

// On every call's answer; inline so the reply path does not pay a call for it.
inline base::Result<void> Reply::answer(obj::Message&& message) {
    if (!m_caller || (m_flags & kAnswered) || m_caller->state() == ThreadState::kDead) [[unlikely]]
        return answer_without_caller(base::move(message));
    m_flags |= kAnswered;
    m_caller->m_reply = base::move(message);
    m_waiter.wake_one(base::Error::OK);
    return {};
}

} // namespace kernel

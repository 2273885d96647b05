#pragma once
// A port: one receiver, any number of senders, a bounded queue, a signal word and pending
// death notices; a port can also be a set that receives for member ports. See
// abi/include/tern/abi/syscalls.h for the calls' contracts.
#include <base/intrusive_list.h>
#include <base/result.h>
#include <kernel/containers/message_queue.h>
#include <kernel/object/kobject.h>
#include <kernel/object/quota.h>
#include <kernel/object/thread.h>
#include <kernel/object/watch_list.h>
#include <tern/abi/message.h>
#include <tern/abi/rights.h>

namespace kernel {

class Port final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_PORT;
    static Port* create(uint32_t capacity);

    obj::MessageQueue& queue() { return m_queue; }
    // Removes the queue's oldest message once receive has delivered it in place, and
    // lets a blocked sender in.
    void drop_delivered();
    // Queues the answer to an asynchronous call into the slot its reply reserved on this
    // port (see MessageQueue::reserve) and wakes the receiver; once the port has lost
    // its receiver the answer is released instead, with the handles it carries.
    void post_reserved(obj::Message&& message);
    // Kernel-side send and receive (the syscalls and kernel servers use these).
    base::Result<void> send(obj::Message&& message, uint64_t deadline_ns, bool block);
    base::Result<obj::Message> receive(uint64_t deadline_ns, bool block);
    // Takes the pending signal bits or the oldest death notice into `out` (a fresh
    // Message), as receive returns them before queued messages; false when there is none.
    bool take_event(obj::Message& out);
    // The receive right was closed: pending messages are released, blocked and later
    // senders get PEER_CLOSED.
    void close_receiver();
    bool closed() const { return m_queue.is_closed(); }
    // ORs bits into the signal word and wakes the receiver; safe from interrupt handlers.
    base::Result<void> signal(uint64_t bits);
    bool has_signals() const { return m_signals != 0; }
    // Signals or death notices: what port_receive returns before queued messages.
    bool has_events() const { return m_signals != 0 || !m_notices.is_empty(); }
    // A watched object went away: queue its notice (never fails; dropped when closed).
    void post_notice(Notice& notice);
    WatchList& watchers() { return m_watchers; }
    // The charge to the account of the task that created the port, if any.
    void set_quota_charge(QuotaCharge&& charge) { m_quota_charge = base::move(charge); }
    // Port sets: the set is an ordinary port that also receives for its members. A set
    // has any number of members; it keeps the members that may have something pending
    // on a ready list, so finding the next one costs the same with 3 members or 3,000.
    base::Result<void> add_member(obj::Ref<Port> member, uint32_t key);
    base::Result<void> remove_member(Port& member);
    size_t member_count() const { return m_members.size(); }
    // The port (this one or a member) whose signal or message is next, and its key; null
    // when nothing is pending. Round-robin over the members with something pending.
    Port* ready_source(uint32_t* key);
    // The receive right travels in messages (Mach's rule, made safe against cycles): a
    // port whose queue carries a receive right cannot itself move, nor can a set with
    // members, so no port's receive right can ever end up inside its own queue, however
    // indirectly. While the right is in a message and in no task (in flight), releasing
    // that message closes the port like closing the right would.
    base::Error can_move_receive_right() const;
    void receive_right_left_task(); // sent: in flight; leaves the set it was in
    void receive_right_reached_task() { m_receive_in_flight = false; }
    // A message that held the in-flight receive right was released (g_receive_right_dropped).
    void receive_right_dropped();
    // A message went into the queue behind send's back (receive_direct's fallback):
    // the set this port belongs to learns that it has something pending.
    void note_pending();
    // Blocks until something may be pending here or in a member.
    base::Error wait_for_message(uint64_t deadline_ns) { return m_receivers.wait(deadline_ns); }
    // The same, running `next` at once (the IPC fast path; see WaitQueue::wait_switching_to).
    base::Error wait_for_message_switching_to(Thread& next, uint64_t deadline_ns) {
        return m_receivers.wait_switching_to(next, deadline_ns);
    }
    // The thread that has waited longest for a message here (not on a set this port
    // belongs to), or null.
    Thread* waiting_receiver() { return m_receivers.front(); }
    // Wake waiters after the queue changed behind send/receive (capture, restore).
    void queue_space_freed();
    void queue_filled();

protected:
    void destroy() override;

private:
    explicit Port(uint32_t capacity) : obj::KObject(kType), m_queue(capacity) {}
    QuotaCharge m_quota_charge;
    obj::MessageQueue m_queue;
    WaitQueue m_receivers;
    WaitQueue m_senders;
    uint64_t m_signals = 0;
    base::IntrusiveList<Notice, &Notice::link> m_notices;
    WatchList m_watchers;
    void drop_notices();
    void wake_receiver();
    // Unlinks every member (dropping the set's references) when the set goes away.
    void release_members();
    void unlink_member(Port& member);
    Port* next_ready_member(uint32_t* key);
    bool pending() const { return has_events() || !m_queue.is_empty(); }

    // Membership. A member is on its set's m_members (the set holds a reference) and,
    // while something may be pending on it, on the set's m_ready too. A member that
    // drained since is taken off m_ready lazily, by the next ready_source.
    base::ListNode m_member_link;
    base::ListNode m_ready_link;
    base::IntrusiveList<Port, &Port::m_member_link> m_members;
    base::IntrusiveList<Port, &Port::m_ready_link> m_ready;
    uint32_t m_member_key = 0;
    bool m_receive_in_flight = false;
    Port* m_set = nullptr; // the set this port belongs to (which holds a reference to it)
};

// For a message the kernel sends (a page fault to its pager): when the port's receiver
// already waits on it in port_receive with room for the message's one handle, and
// nothing is pending there, `m` goes straight into that thread's message slot as a fast
// call would (kernel/syscalls/ipc.cpp) and the thread is returned for the sender to
// switch to; else null, and `m` is left as it was.
Thread* hand_to_waiting_receiver(Port& port, obj::Message& m);

// ready_source and drop_delivered are on every receive; they are inline so the syscall
// path does not pay a call for each.
inline Port* Port::ready_source(uint32_t* key) {
    if (pending()) {
        *key = 0;
        return this;
    }
    if (m_ready.is_empty())
        return nullptr;
    return next_ready_member(key);
}

inline void Port::drop_delivered() {
    m_queue.drop_front();
    if (!m_senders.is_empty())
        m_senders.wake_one();
}

} // namespace kernel

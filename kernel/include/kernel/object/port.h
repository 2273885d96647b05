#pragma once
// Ports: one receiver, any number of senders, a bounded queue; and one-shot reply
// objects for port_call. See abi/include/tern/abi/syscalls.h for the calls' contracts.
#include <base/fixed_vector.h>
#include <base/result.h>
#include <kernel/containers/message_queue.h>
#include <kernel/object/kobject.h>
#include <kernel/object/thread.h>
#include <tern/abi/message.h>
#include <tern/abi/rights.h>

namespace kernel {

class Task;
class Port;

// A death notice (object_watch): made when an object is watched, kept on the watched
// object's WatchList, and moved onto the watching port's pending list when the object
// goes away. Allocating it up front is what makes delivery unable to fail.
struct Notice {
    base::ListNode link;
    obj::Ref<Port> port; // the port to notify; cleared once the notice is pending there
    uint64_t cookie = 0;
    int64_t status = 0;
    uint32_t type = 0;
};

// The watches on one task or port.
class WatchList {
public:
    static constexpr size_t kMaxWatches = 64;
    WatchList() = default;
    WatchList(const WatchList&) = delete;
    WatchList& operator=(const WatchList&) = delete;
    ~WatchList() { clear(); }
    // NO_MEMORY, QUOTA_EXCEEDED.
    base::Result<void> add(obj::Ref<Port> port, uint64_t cookie, uint32_t type);
    // The object went away: every notice goes to its port with this status.
    void fire(int64_t status);
    // Drops every watch without notice.
    void clear();
    // Cancels the watch that would notify `port` with `cookie`. NOT_FOUND: none (it may
    // have fired already).
    base::Result<void> remove(Port& port, uint64_t cookie);

private:
    void drop_dead_watchers();

    base::IntrusiveList<Notice, &Notice::link> m_list;
    size_t m_count = 0;
};

class Port final : public obj::KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_PORT;
    static Port* create(uint32_t capacity);

    obj::MessageQueue& queue() { return m_queue; }
    // Removes the queue's oldest message once receive has delivered it in place, and
    // lets a blocked sender in.
    void drop_delivered();
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
    // Port sets: the set is an ordinary port that also receives for its members.
    base::Result<void> add_member(obj::Ref<Port> member, uint32_t key);
    base::Result<void> remove_member(Port& member);
    // The port (this one or a member) whose signal or message is next, and its key; null
    // when nothing is pending. Round-robin over members.
    Port* ready_source(uint32_t* key);
    // Blocks until something may be pending here or in a member.
    base::Error wait_for_message(uint64_t deadline_ns) { return m_receivers.wait(deadline_ns); }
    // Wake waiters after the queue changed behind send/receive (capture, restore).
    void queue_space_freed();
    void queue_filled();

protected:
    void destroy() override;

private:
    explicit Port(uint32_t capacity) : obj::KObject(kType), m_queue(capacity) {}
    obj::MessageQueue m_queue;
    WaitQueue m_receivers;
    WaitQueue m_senders;
    uint64_t m_signals = 0;
    base::IntrusiveList<Notice, &Notice::link> m_notices;
    WatchList m_watchers;
    void drop_notices();
    struct Member {
        obj::Ref<Port> port;
        uint32_t key;
    };
    void wake_receiver();
    base::FixedVector<Member, 32> m_members;
    uint32_t m_next_member = 0;
    Port* m_set = nullptr; // the set this port belongs to (which holds a reference to it)
};

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

protected:
    void destroy() override;
    // The caller holds one reference for the whole call; when the other (the server's
    // handle or the queued message) goes without an answer, the caller is told.
    void unshared() override;

private:
    obj::Ref<Thread> m_caller;
    bool m_answered = false;
    WaitQueue m_waiter;
};

// Closes a handle, telling a port when its receive right goes away.
base::Result<void> handle_close(Task& task, tern_handle_t handle);
// Drops every handle of a dying task the same way.
void release_all_handles(Task& task);

} // namespace kernel

// Ports: queues, signals, pending death notices and port sets.
#include <kernel/core/memory.h>
#include <kernel/object/port.h>

namespace kernel {

namespace {

void close_dropped_receiver(obj::KObject& object) {
    if (Port* port = object.as<Port>())
        port->receive_right_dropped();
}

} // namespace

Port* Port::create(uint32_t capacity) {
    // Before any message can hold a port's receive right, one must exist.
    obj::g_receive_right_dropped = close_dropped_receiver;
    return new (kNoThrow) Port(capacity);
}

base::Error Port::can_move_receive_right() const {
    if (!m_members.is_empty())
        return base::Error::ACCESS_DENIED; // a set moves only with its task
    if (m_queue.carries(TERN_RIGHT_RECEIVE))
        return base::Error::BUSY;
    return base::Error::OK;
}

void Port::receive_right_left_task() {
    m_receive_in_flight = true;
    if (m_set)
        (void)m_set->remove_member(*this); // the caller holds a reference
}

void Port::receive_right_dropped() {
    if (!base::exchange(m_receive_in_flight, false))
        return; // a failed send: the sender still holds the right
    if (!m_queue.is_closed())
        close_receiver();
}

void Port::destroy() {
    m_queue.close();
    drop_notices();
    m_watchers.fire(0);
    release_members();
    delete this;
}

void Port::note_pending() {
    if (m_set && !m_ready_link.is_linked())
        m_set->m_ready.push_back(*this);
}

void Port::wake_receiver() {
    m_receivers.wake_one();
    if (m_set) {
        note_pending();
        m_set->m_receivers.wake_one();
    }
}

base::Result<void> Port::add_member(obj::Ref<Port> member, uint32_t key) {
    if (key == 0 || member.get() == this || m_set || !member->m_members.is_empty())
        return base::Error::INVALID_ARGUMENT;
    if (member->m_set)
        return base::Error::BUSY;
    Port* raw = member.release(); // the set's reference, dropped by unlink_member
    raw->m_set = this;
    raw->m_member_key = key;
    m_members.push_back(*raw);
    if (raw->pending()) {
        m_ready.push_back(*raw);
        m_receivers.wake_one();
    }
    return {};
}

void Port::unlink_member(Port& member) {
    member.m_set = nullptr;
    member.m_member_key = 0;
    m_members.remove(member);
    if (member.m_ready_link.is_linked())
        m_ready.remove(member);
    obj::Ref<Port>::adopt(&member).reset(); // may destroy it
}

base::Result<void> Port::remove_member(Port& member) {
    if (member.m_set != this)
        return base::Error::NOT_FOUND;
    unlink_member(member);
    return {};
}

void Port::release_members() {
    while (Port* member = m_members.front())
        unlink_member(*member);
}

// The first member on the ready list that has something pending goes to the back (so
// members take turns) and is returned; members found drained are dropped from the list.
// Each element was put there by one wake, so the loop is O(1) amortized.
Port* Port::next_ready_member(uint32_t* key) {
    while (Port* p = m_ready.pop_front()) {
        if (p->pending()) {
            m_ready.push_back(*p);
            *key = p->m_member_key;
            return p;
        }
    }
    return nullptr;
}

void Port::drop_notices() {
    while (Notice* n = m_notices.pop_front())
        delete n;
}

void Port::post_notice(Notice& notice) {
    notice.port.reset();
    if (m_queue.is_closed()) {
        delete &notice;
        return;
    }
    m_notices.push_back(notice);
    wake_receiver();
}

base::Result<void> Port::send(obj::Message&& message, uint64_t deadline_ns, bool block) {
    for (;;) {
        auto r = m_queue.push(base::move(message));
        if (r.ok()) {
            wake_receiver();
            return {};
        }
        if (r.error() != base::Error::WOULD_BLOCK || !block)
            return r.error();
        if (base::Error e = m_senders.wait(deadline_ns); e != base::Error::OK)
            return e;
    }
}

void Port::post_reserved(obj::Message&& message) {
    InterruptGuard guard;
    if (m_queue.push_reserved(base::move(message)).ok()) {
        wake_receiver();
        return;
    }
    message.reset();
}

base::Result<void> Port::signal(uint64_t bits) {
    InterruptGuard guard;
    if (m_queue.is_closed())
        return base::Error::PEER_CLOSED;
    m_signals |= bits;
    wake_receiver();
    return {};
}

base::Result<obj::Message> Port::receive(uint64_t deadline_ns, bool block) {
    for (;;) {
        {
            InterruptGuard guard;
            obj::Message event;
            if (take_event(event))
                return event;
        }
        auto r = m_queue.pop();
        if (r.ok()) {
            m_senders.wake_one();
            return r;
        }
        if (r.error() != base::Error::WOULD_BLOCK || !block)
            return r.error();
        if (base::Error e = m_receivers.wait(deadline_ns); e != base::Error::OK)
            return e;
    }
}

void Port::queue_space_freed() { m_senders.wake_all(base::Error::OK); }
void Port::queue_filled() {
    if (!m_queue.is_empty())
        note_pending();
    m_receivers.wake_all(base::Error::OK);
    if (m_set)
        m_set->m_receivers.wake_one();
}

bool Port::take_event(obj::Message& out) {
    if (m_signals) {
        out.header.label = TERN_LABEL_SIGNAL;
        out.words[0] = base::exchange(m_signals, uint64_t(0));
        return true;
    }
    if (Notice* n = m_notices.pop_front()) {
        out.header.label = TERN_LABEL_OBJECT_GONE;
        out.words[0] = n->cookie;
        out.words[1] = uint64_t(n->status);
        out.words[2] = n->type;
        delete n;
        return true;
    }
    return false;
}

void Port::close_receiver() {
    m_queue.close();
    drop_notices();
    m_watchers.fire(0);
    if (m_set)
        (void)m_set->remove_member(*this);
    // A set that loses its receiver lets its members go.
    release_members();
    m_senders.wake_all(base::Error::PEER_CLOSED);
    m_receivers.wake_all(base::Error::PEER_CLOSED);
}

} // namespace kernel

// Ports: queues, signals, pending death notices and port sets.
#include <kernel/core/memory.h>
#include <kernel/object/port.h>

namespace kernel {

Port* Port::create(uint32_t capacity) { return new (kNoThrow) Port(capacity); }

void Port::destroy() {
    m_queue.close();
    drop_notices();
    m_watchers.fire(0);
    for (Member& m : m_members)
        m.port->m_set = nullptr;
    m_members.clear();
    delete this;
}

void Port::wake_receiver() {
    m_receivers.wake_one();
    if (m_set)
        m_set->m_receivers.wake_one();
}

base::Result<void> Port::add_member(obj::Ref<Port> member, uint32_t key) {
    if (key == 0 || member.get() == this || m_set || !member->m_members.is_empty())
        return base::Error::INVALID_ARGUMENT;
    if (member->m_set)
        return base::Error::BUSY;
    Port* raw = member.get();
    TRY(m_members.push_back(Member{base::move(member), key}));
    raw->m_set = this;
    if (raw->has_events() || !raw->m_queue.is_empty())
        m_receivers.wake_one();
    return {};
}

base::Result<void> Port::remove_member(Port& member) {
    for (size_t i = 0; i < m_members.size(); ++i) {
        if (m_members[i].port.get() == &member) {
            member.m_set = nullptr;
            m_members.erase(i);
            return {};
        }
    }
    return base::Error::NOT_FOUND;
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
void Port::queue_filled() { m_receivers.wake_all(base::Error::OK); }

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
    for (Member& m : m_members)
        m.port->m_set = nullptr;
    m_members.clear();
    m_senders.wake_all(base::Error::PEER_CLOSED);
    m_receivers.wake_all(base::Error::PEER_CLOSED);
}

} // namespace kernel

#include <kernel/containers/message_queue.h>

namespace kernel::obj {

using base::Error;
using base::Result;

void Message::attach_data(void* data, uint32_t size, DataRelease release) {
    TERN_ASSERT(m_data == nullptr);
    m_data = data;
    m_data_size = size;
    m_data_release = release;
    header.data_size = size;
}

void* Message::detach_data() {
    void* data = m_data;
    m_data = nullptr;
    m_data_size = 0;
    m_data_release = nullptr;
    header.data_size = 0;
    return data;
}

Result<void> Message::add_handle(Ref<KObject> object, uint32_t rights) {
    if (!object)
        return Error::INVALID_ARGUMENT;
    if (header.handle_count >= TERN_MSG_MAX_HANDLES)
        return Error::TOO_BIG;
    MessageHandle& slot = handles[header.handle_count];
    slot.object = base::move(object);
    slot.rights = rights;
    ++header.handle_count;
    return base::ok();
}

Result<void> Message::validate() const {
    if (header.data_size > TERN_MSG_MAX_DATA || m_data_size > TERN_MSG_MAX_DATA)
        return Error::TOO_BIG;
    if (header.handle_count > TERN_MSG_MAX_HANDLES)
        return Error::TOO_BIG;
    if (header.data_size != m_data_size || (m_data_size > 0 && m_data == nullptr))
        return Error::INVALID_ARGUMENT;
    // Every slot is checked, so a handle stored past the count (which the counted-only
    // loops in reset and take_from would never release) is refused here.
    for (uint32_t i = 0; i < TERN_MSG_MAX_HANDLES; ++i) {
        bool counted = i < header.handle_count;
        if (counted != !handles[i].object.is_null())
            return Error::INVALID_ARGUMENT;
    }
    return base::ok();
}

ReceiveRightDropped g_receive_right_dropped = nullptr;

void Message::reset() {
    // Take the buffer out before calling the release function so the message is already
    // empty if the release function looks at it.
    DataRelease release = m_data_release;
    uint32_t size = m_data_size;
    void* data = detach_data();
    if (data && release)
        release(data, size);
    // Only counted slots can hold a reference: add_handle is the one writer, and
    // validate() refuses anything else before a message is queued.
    uint32_t count =
        header.handle_count < TERN_MSG_MAX_HANDLES ? header.handle_count : TERN_MSG_MAX_HANDLES;
    for (uint32_t i = 0; i < count; ++i) {
        if ((handles[i].rights & TERN_RIGHT_RECEIVE) && !handles[i].object.is_null()
            && g_receive_right_dropped)
            g_receive_right_dropped(*handles[i].object);
        handles[i].object.reset();
        handles[i].rights = 0;
    }
    header = tern_msg_header{};
    for (uint64_t& word : words)
        word = 0;
}

void Message::release_resources() {
    // The destructor's path: only what the message owns needs releasing.
    if (m_data || header.handle_count)
        reset();
}

void Message::take_from(Message& other) {
    // This message is empty here (fresh, or reset by the move assignment), so only the
    // source's counted handles move.
    header = other.header;
    for (size_t i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
        words[i] = other.words[i];
    uint32_t count = other.header.handle_count < TERN_MSG_MAX_HANDLES ? other.header.handle_count
                                                                      : TERN_MSG_MAX_HANDLES;
    for (size_t i = 0; i < count; ++i) {
        handles[i].object = base::move(other.handles[i].object);
        handles[i].rights = other.handles[i].rights;
    }
    m_data = base::exchange(other.m_data, nullptr);
    m_data_size = base::exchange(other.m_data_size, 0u);
    m_data_release = base::exchange(other.m_data_release, nullptr);
    // The source owns nothing any more: no data part and no counted handle. Its words
    // keep their values (they own nothing, and clearing them costs every move).
    other.header = tern_msg_header{};
}

MessageQueue::MessageQueue(uint32_t capacity) : m_capacity(capacity), m_limit(capacity) {
    TERN_VERIFY(capacity > 0 && capacity <= kMaxCapacity);
}

Result<void> MessageQueue::push(Message&& message) {
    TRY(message.validate());
    if (m_closed)
        return Error::PEER_CLOSED;
    if (is_full())
        return Error::WOULD_BLOCK;
    uint32_t tail = m_head + m_size;
    if (tail >= m_capacity)
        tail -= m_capacity;
    m_slots[tail] = base::move(message);
    ++m_size;
    return base::ok();
}

Result<void> MessageQueue::reserve() {
    if (m_closed)
        return Error::PEER_CLOSED;
    if (is_full())
        return Error::WOULD_BLOCK;
    --m_limit;
    return base::ok();
}

void MessageQueue::unreserve() {
    TERN_ASSERT(m_limit < m_capacity);
    ++m_limit;
}

Result<void> MessageQueue::push_reserved(Message&& message) {
    unreserve();
    if (m_closed)
        return Error::PEER_CLOSED;
    // The slot given back above is free: the queue held at most m_limit - 1 messages.
    auto r = push(base::move(message));
    TERN_ASSERT(r.ok() || r.error() != Error::WOULD_BLOCK);
    return r;
}

Result<Message> MessageQueue::pop() {
    if (m_closed)
        return Error::PEER_CLOSED;
    if (m_size == 0)
        return Error::WOULD_BLOCK;
    return take_front();
}

void MessageQueue::drop_front() {
    TERN_ASSERT(m_size > 0);
    Message& slot = m_slots[m_head];
    if (++m_head == m_capacity)
        m_head = 0;
    --m_size;
    // What the message still owns is released only after the queue is updated, and
    // from outside the slot: a destroy() hook reached through a dropped handle may push
    // to this queue, and the slot is the one a push into a nearly full queue reuses.
    if (slot.owns_resources()) {
        Message doomed = base::move(slot);
        (void)doomed;
    }
}

const Message* MessageQueue::peek() const { return m_size == 0 ? nullptr : &m_slots[m_head]; }

uint32_t MessageQueue::close() {
    if (m_closed)
        return 0;
    m_closed = true;
    uint32_t released = 0;
    // One message at a time, with the queue updated before the message is destroyed, so
    // a destroy() hook reached through a dropped handle sees a consistent queue.
    while (m_size > 0) {
        take_front().reset();
        ++released;
    }
    return released;
}

bool MessageQueue::carries(uint32_t rights) const {
    for (uint32_t n = 0; n < m_size; ++n) {
        uint32_t at = m_head + n;
        if (at >= m_capacity)
            at -= m_capacity;
        const Message& m = m_slots[at];
        uint32_t count = m.header.handle_count < TERN_MSG_MAX_HANDLES ? m.header.handle_count
                                                                      : TERN_MSG_MAX_HANDLES;
        for (uint32_t i = 0; i < count; ++i) {
            if ((m.handles[i].rights & rights) == rights)
                return true;
        }
    }
    return false;
}

Message MessageQueue::take_front() {
    TERN_ASSERT(m_size > 0);
    Message message = base::move(m_slots[m_head]);
    if (++m_head == m_capacity)
        m_head = 0;
    --m_size;
    return message;
}

} // namespace kernel::obj

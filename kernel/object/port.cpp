// Ports and replies, and the message syscalls that use them.
#include <kernel/core/clock.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/core/usercopy.h>
#include <kernel/object/port.h>
#include <kernel/object/task.h>
#include <kernel/syscalls/dispatch.h>

namespace kernel {

namespace {

// Data parts come from two buffer sizes, and freed buffers wait in small pools, so the
// common message skips the hardened heap's canary, poisoning and (for a page) page
// allocator work: about 850 instructions per allocate/free pair for 64 bytes, 4,000 for
// 4 KiB. A pooled buffer is always overwritten by the sender's copy before anyone reads
// it. Idle pools hold at most 32 x 256 B + 4 x 4 KiB (8 KiB heap blocks): 40 KiB.
struct DataPool {
    uint32_t buffer_size;
    size_t max;
    void* buffers[32];
    size_t count;
};
DataPool g_data_pools[] = {{256, 32, {}, 0}, {4096, 4, {}, 0}};

DataPool* pool_for(uint32_t size) {
    for (DataPool& pool : g_data_pools)
        if (size <= pool.buffer_size)
            return &pool;
    return nullptr;
}

void* alloc_data(uint32_t size) {
    DataPool* pool = pool_for(size);
    if (!pool)
        return kmalloc(size);
    InterruptGuard guard;
    if (pool->count > 0)
        return pool->buffers[--pool->count];
    return kmalloc(pool->buffer_size);
}

void free_data(void* data, uint32_t size) {
    if (DataPool* pool = pool_for(size)) {
        InterruptGuard guard;
        if (pool->count < pool->max) {
            pool->buffers[pool->count++] = data;
            return;
        }
    }
    kfree(data);
}

int64_t err(base::Error e) { return syscall_error(e); }

} // namespace

// ---- Port ---------------------------------------------------------------------------

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

base::Result<void> WatchList::add(obj::Ref<Port> port, uint64_t cookie, uint32_t type) {
    if (m_count >= kMaxWatches)
        drop_dead_watchers();
    if (m_count >= kMaxWatches)
        return base::Error::QUOTA_EXCEEDED;
    auto* notice = new (kNoThrow) Notice;
    if (!notice)
        return base::Error::NO_MEMORY;
    notice->port = base::move(port);
    notice->cookie = cookie;
    notice->type = type;
    m_list.push_back(*notice);
    ++m_count;
    return {};
}

void WatchList::fire(int64_t status) {
    InterruptGuard guard;
    while (Notice* n = m_list.pop_front()) {
        --m_count;
        n->status = status;
        obj::Ref<Port> port = base::move(n->port);
        port->post_notice(*n);
    }
}

void WatchList::drop_dead_watchers() {
    // A watch whose notice port has lost its receiver can never be read: it would only
    // hold the port and a slot until the watched object goes.
    for (Notice* n = m_list.front(); n;) {
        Notice* next = m_list.next(*n);
        if (n->port->closed()) {
            m_list.remove(*n);
            --m_count;
            delete n;
        }
        n = next;
    }
}

base::Result<void> WatchList::remove(Port& port, uint64_t cookie) {
    for (Notice* n = m_list.front(); n; n = m_list.next(*n)) {
        if (n->port.get() == &port && n->cookie == cookie) {
            m_list.remove(*n);
            --m_count;
            delete n;
            return {};
        }
    }
    return base::Error::NOT_FOUND;
}

void WatchList::clear() {
    while (Notice* n = m_list.pop_front())
        delete n;
    m_count = 0;
}

Port* Port::ready_source(uint32_t* key) {
    if (has_events() || !m_queue.is_empty()) {
        *key = 0;
        return this;
    }
    size_t n = m_members.size();
    for (size_t i = 0; i < n; ++i) {
        size_t index = (m_next_member + i) % n;
        Port* p = m_members[index].port.get();
        if (p->has_events() || !p->m_queue.is_empty()) {
            m_next_member = uint32_t((index + 1) % n);
            *key = m_members[index].key;
            return p;
        }
    }
    return nullptr;
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

void Port::drop_delivered() {
    m_queue.drop_front();
    if (!m_senders.is_empty())
        m_senders.wake_one();
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

// ---- Reply --------------------------------------------------------------------------

base::Result<void> Reply::answer(obj::Message&& message) {
    if (!m_caller || m_answered || m_caller->state() == ThreadState::Dead)
        return base::Error::PEER_CLOSED;
    m_answered = true;
    m_caller->m_reply = base::move(message);
    m_waiter.wake_one(base::Error::OK);
    return {};
}

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

// ---- Handles ------------------------------------------------------------------------

base::Result<void> handle_close(Task& task, tern_handle_t handle) {
    uint32_t rights = 0;
    auto object = TRY(task.handles().remove(handle, &rights));
    if (Port* port = object->as<Port>(); port && (rights & TERN_RIGHT_RECEIVE))
        port->close_receiver();
    return {};
}

void release_all_handles(Task& task) {
    task.handles().for_each([](tern_handle_t, obj::KObject& object, uint32_t rights) {
        if (Port* port = object.as<Port>(); port && (rights & TERN_RIGHT_RECEIVE))
            port->close_receiver();
    });
    task.handles().clear();
}

// ---- Syscalls -----------------------------------------------------------------------

namespace {

// Builds a kernel message from the user's tern_msg: copies the data part and takes
// references to the handles to move (they leave the sender's table only once the send
// has succeeded, so a failed send loses nothing).
base::Result<void> build_message(Task& task, const tern_msg& um, obj::Message& out,
                                 uint32_t max_handles, Port* target) {
    if (um.hdr.flags != 0 || um.reserved != 0)
        return base::Error::INVALID_ARGUMENT;
    if (um.hdr.data_size > TERN_MSG_MAX_DATA || um.hdr.handle_count > max_handles)
        return base::Error::TOO_BIG;
    out.header.label = um.hdr.label;
    out.header.sender_badge = task.id();
    for (int i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
        out.words[i] = um.words[i];
    if (um.hdr.data_size) {
        void* buffer = alloc_data(um.hdr.data_size);
        if (!buffer)
            return base::Error::NO_MEMORY;
        if (auto r = copy_from_user(buffer, um.data, um.hdr.data_size); r.is_error()) {
            kfree(buffer);
            return r.error();
        }
        out.attach_data(buffer, um.hdr.data_size, free_data);
    }
    for (uint32_t i = 0; i < um.hdr.handle_count; ++i) {
        uint32_t rights = 0;
        auto object =
            TRY(task.handles().get(um.handles[i], TERN_OBJ_ANY, TERN_RIGHT_TRANSFER, &rights));
        // A receive right moves only with its task (migration); a port must not carry a
        // handle to itself, or nobody could ever receive it.
        if ((rights & TERN_RIGHT_RECEIVE) || object.get() == target)
            return base::Error::ACCESS_DENIED;
        for (uint32_t j = 0; j < i; ++j)
            if (um.handles[j] == um.handles[i])
                return base::Error::INVALID_ARGUMENT;
        TRY(out.add_handle(base::move(object), rights));
    }
    return {};
}

void remove_sent_handles(Task& task, const tern_msg& um) {
    for (uint32_t i = 0; i < um.hdr.handle_count; ++i)
        (void)task.handles().remove(um.handles[i], nullptr);
}

// True when the kernel may write a tern_msg back at user_msg. Checked before anything is
// taken for delivery: once handles are in the table, their values must reach the task.
// (Nothing else in the task runs until the syscall returns, so the check stays true.)
bool message_writable(Task& task, uint64_t user_msg) {
    return user_range_ok(user_msg, sizeof(tern_msg))
           && task.user_access_ok(user_msg, sizeof(tern_msg), true);
}

// Writes a received message into the user's tern_msg (whose data/data_capacity say where
// the data part goes); the caller has checked message_writable and that the data fits.
// A failure before the handles move (the data buffer is bad, the handle table is full)
// leaves `m` as it was, *consumed false; from then on the message is used up, and `m` is
// left empty whatever happens.
base::Result<void> deliver(Task& task, obj::Message& m, uint64_t user_msg, tern_msg& um,
                           bool* consumed) {
    *consumed = false;
    uint32_t count = m.header.handle_count;
    tern_handle_t reply = TERN_INVALID_HANDLE;
    bool is_call = m.header.flags & TERN_MSG_FLAG_CALL;
    uint32_t user_handles = is_call ? count - 1 : count;
    if (task.handles().capacity() - task.handles().count() < count)
        return base::Error::QUOTA_EXCEEDED;
    if (m.data_size()) {
        if (m.data_size() > um.data_capacity)
            return base::Error::NO_SPACE;
        TRY(copy_to_user(um.data, m.data(), m.data_size()));
    }
    *consumed = true;
    um.hdr = m.header;
    um.hdr.handle_count = user_handles;
    for (int i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
        um.words[i] = m.words[i];
    for (uint32_t i = 0; i < TERN_MSG_MAX_HANDLES; ++i)
        um.handles[i] = TERN_INVALID_HANDLE;
    for (uint32_t i = 0; i < count; ++i) {
        auto h = task.handles().insert(base::move(m.handles[i].object), m.handles[i].rights);
        TERN_VERIFY(h.ok()); // room was checked above
        if (is_call && i == count - 1)
            reply = h.value();
        else
            um.handles[i] = h.value();
    }
    um.reply_handle = reply;
    m.reset();
    return copy_to_user(user_msg, um);
}

base::Result<obj::Ref<Port>> port_from(Task& task, uint64_t handle, uint32_t rights) {
    if (handle > 0xFFFFFFFFull)
        return base::Error::BAD_HANDLE;
    return task.handles().get_as<Port>(tern_handle_t(handle), rights);
}

} // namespace

int64_t sys_port_create(const SyscallArgs& a) {
    if (a.a0 == 0 || a.a0 > obj::MessageQueue::kMaxCapacity)
        return err(base::Error::INVALID_ARGUMENT);
    Task& task = *current_thread()->task();
    Port* port = Port::create(uint32_t(a.a0));
    if (!port)
        return err(base::Error::NO_MEMORY);
    auto h = task.handles().insert(obj::Ref<obj::KObject>::adopt(port), TERN_RIGHTS_ALL);
    if (h.is_error())
        return err(h.error());
    return int64_t(h.value());
}

int64_t sys_port_send(const SyscallArgs& a) {
    Task& task = *current_thread()->task();
    auto port = port_from(task, a.a0, TERN_RIGHT_SEND);
    if (port.is_error())
        return err(port.error());
    [[clang::uninitialized]] tern_msg um; // filled by the copy
    if (auto r = copy_from_user(um, a.a1); r.is_error())
        return err(r.error());
    [[clang::uninitialized]] obj::Message m;
    if (auto r = build_message(task, um, m, TERN_MSG_MAX_HANDLES, port.value().get()); r.is_error())
        return err(r.error());
    if (auto r = port.value()->send(base::move(m), deadline_from_timeout(a.a2),
                                    a.a2 != TERN_TIMEOUT_NONE);
        r.is_error())
        return err(r.error());
    remove_sent_handles(task, um);
    return 0;
}

namespace {

// port_receive(port, msg, timeout) for the calling task; also the second half of
// port_reply_receive.
int64_t receive_message(Task& task, uint64_t port_handle, uint64_t user_msg, uint64_t timeout) {
    auto port = port_from(task, port_handle, TERN_RIGHT_RECEIVE);
    if (port.is_error())
        return err(port.error());
    // Only where the data part goes is read; deliver() writes the rest.
    tern_msg um = {};
    if (auto r = copy_from_user(&um.data, user_msg + __builtin_offsetof(tern_msg, data),
                                sizeof(um.data) + sizeof(um.data_capacity));
        r.is_error())
        return err(r.error());
    Port& p = *port.value();
    uint64_t deadline = deadline_from_timeout(timeout);
    for (;;) {
        // Syscalls run with interrupts off on one CPU, so nothing changes between the
        // checks and the take: a message that cannot be delivered stays queued, in order.
        uint32_t key = 0;
        if (Port* source = p.ready_source(&key)) {
            if (!message_writable(task, user_msg))
                return err(base::Error::BAD_ADDRESS);
            bool consumed = false;
            if (!source->has_events()) {
                // Straight from the queue slot: no move of the message on the hot path.
                obj::Message& head = *source->queue().front();
                if (head.data_size() > um.data_capacity)
                    return err(base::Error::NO_SPACE);
                auto r = deliver(task, head, user_msg, um, &consumed);
                if (consumed)
                    source->drop_delivered();
                return r.is_error() ? err(r.error()) : int64_t(key);
            }
            [[clang::uninitialized]] obj::Message event;
            (void)source->take_event(event); // has_events() said there is one
            auto r = deliver(task, event, user_msg, um, &consumed);
            return r.is_error() ? err(r.error()) : int64_t(key);
        }
        if (p.closed())
            return err(base::Error::PEER_CLOSED);
        if (timeout == TERN_TIMEOUT_NONE)
            return err(base::Error::WOULD_BLOCK);
        if (base::Error e = p.wait_for_message(deadline); e != base::Error::OK)
            return err(e);
    }
}

// The first half of port_reply and port_reply_receive: answers the call behind
// reply_handle with the message at user_msg. On success the reply right and the handles
// the message names are gone from the table. A refused message (BAD_HANDLE, BAD_ADDRESS,
// INVALID_ARGUMENT, TOO_BIG, ...) changes nothing. PEER_CLOSED: the caller gave up; the
// right is consumed and the handles stay, listed in *um.
base::Result<void> send_reply(Task& task, uint64_t reply_handle, uint64_t user_msg, tern_msg& um) {
    if (reply_handle > 0xFFFFFFFFull)
        return base::Error::BAD_HANDLE;
    auto reply = TRY(task.handles().get_as<Reply>(tern_handle_t(reply_handle), TERN_RIGHT_SEND));
    TRY(copy_from_user(um, user_msg));
    [[clang::uninitialized]] obj::Message m;
    TRY(build_message(task, um, m, TERN_MSG_MAX_HANDLES, nullptr));
    // The reply right is consumed whether or not the caller is still there.
    (void)task.handles().remove(tern_handle_t(reply_handle), nullptr);
    TRY(reply->answer(base::move(m)));
    remove_sent_handles(task, um);
    return {};
}

} // namespace

int64_t sys_port_receive(const SyscallArgs& a) {
    return receive_message(*current_thread()->task(), a.a0, a.a1, a.a2);
}

int64_t sys_port_set_add(const SyscallArgs& a) {
    Task& task = *current_thread()->task();
    auto set = port_from(task, a.a0, TERN_RIGHT_RECEIVE);
    if (set.is_error())
        return err(set.error());
    auto member = port_from(task, a.a1, TERN_RIGHT_RECEIVE);
    if (member.is_error())
        return err(member.error());
    if (a.a2 == 0 || a.a2 > 0xFFFFFFFFull)
        return err(base::Error::INVALID_ARGUMENT);
    auto r = set.value()->add_member(member.release_value(), uint32_t(a.a2));
    return r.is_error() ? err(r.error()) : 0;
}

int64_t sys_port_set_remove(const SyscallArgs& a) {
    Task& task = *current_thread()->task();
    auto set = port_from(task, a.a0, TERN_RIGHT_RECEIVE);
    if (set.is_error())
        return err(set.error());
    auto member = port_from(task, a.a1, TERN_RIGHT_RECEIVE);
    if (member.is_error())
        return err(member.error());
    auto r = set.value()->remove_member(*member.value());
    return r.is_error() ? err(r.error()) : 0;
}

int64_t sys_port_call(const SyscallArgs& a) {
    Thread* self = current_thread();
    Task& task = *self->task();
    auto port = port_from(task, a.a0, TERN_RIGHT_SEND);
    if (port.is_error())
        return err(port.error());
    [[clang::uninitialized]] tern_msg um; // filled by the copy
    if (auto r = copy_from_user(um, a.a1); r.is_error())
        return err(r.error());
    // The answer comes back into the same tern_msg: refuse a read-only one before the
    // server does any work.
    if (!message_writable(task, a.a1))
        return err(base::Error::BAD_ADDRESS);
    [[clang::uninitialized]] obj::Message m;
    if (auto r = build_message(task, um, m, TERN_MSG_MAX_HANDLES - 1, port.value().get());
        r.is_error())
        return err(r.error());
    // The caller keeps a reference until the call is over; the message carries the
    // other. When that one goes unanswered, Reply::unshared wakes the caller.
    obj::Ref<Reply> reply = obj::Ref<Reply>::adopt(Reply::create(self));
    if (!reply)
        return err(base::Error::NO_MEMORY);
    if (auto r = m.add_handle(obj::Ref<obj::KObject>::retain(reply.get()),
                              TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
        r.is_error())
        return err(r.error());
    m.header.flags |= TERN_MSG_FLAG_CALL;
    uint64_t deadline = deadline_from_timeout(a.a2);
    Reply* pending = reply.get();
    {
        InterruptGuard guard;
        if (auto r = port.value()->send(base::move(m), deadline, a.a2 != TERN_TIMEOUT_NONE);
            r.is_error())
            return err(r.error());
        remove_sent_handles(task, um);
        base::Error e = pending->waiter().wait(deadline);
        if (e != base::Error::OK) {
            // Timed out, interrupted (stop, kill) or the server is gone: a late answer
            // must not land in a later call.
            pending->abandon();
            return err(e);
        }
    }
    // Straight from the thread's answer slot; what a failed delivery leaves is released.
    bool consumed = false;
    auto r = deliver(task, self->m_reply, a.a1, um, &consumed);
    if (r.is_error()) {
        self->m_reply.reset();
        return err(r.error());
    }
    return 0;
}

int64_t sys_port_reply(const SyscallArgs& a) {
    [[clang::uninitialized]] tern_msg um; // filled by send_reply
    auto r = send_reply(*current_thread()->task(), a.a0, a.a1, um);
    return r.is_error() ? err(r.error()) : 0;
}

int64_t sys_port_reply_receive(const SyscallArgs& a) {
    Task& task = *current_thread()->task();
    [[clang::uninitialized]] tern_msg um; // filled by send_reply
    if (auto r = send_reply(task, a.a0, a.a1, um); r.is_error()) {
        if (r.error() == base::Error::PEER_CLOSED) {
            // The caller is gone: what the reply carried goes as it would have with it.
            remove_sent_handles(task, um);
        } else {
            // The server's own bug. Its caller must not wait forever: dropping the right
            // wakes it with PEER_CLOSED. The reply's handles stay with the server.
            static uint32_t logged = 0;
            if (logged++ < 16)
                log::warn("task {} '{}': port_reply_receive: reply refused ({}); the caller "
                          "gets PEER_CLOSED",
                          task.id(), task.name(), base::error_name(r.error()));
            if (a.a0 <= 0xFFFFFFFFull)
                (void)task.handles().remove(tern_handle_t(a.a0), nullptr);
        }
    }
    return receive_message(task, a.a2, a.a3, a.a4);
}

namespace {

// The arguments of object_watch and object_unwatch: the watched object (a task or a
// port, any right) and the notice port, on which the caller needs RECEIVE: only its owner
// may ask for notices on it or cancel them, or anyone who can send to a server could make
// the kernel deliver it genuine notices with made-up cookies.
struct WatchArgs {
    obj::Ref<obj::KObject> object;
    obj::Ref<Port> port;
    WatchList* list;
};

base::Result<WatchArgs> watch_args(Task& task, const SyscallArgs& a) {
    if (a.a0 > 0xFFFFFFFFull)
        return base::Error::BAD_HANDLE;
    auto port = TRY(port_from(task, a.a1, TERN_RIGHT_RECEIVE));
    auto object = TRY(task.handles().get(tern_handle_t(a.a0), TERN_OBJ_ANY, 0, nullptr));
    obj::KObject* o = object.get();
    WatchList* list = o->type() == TERN_OBJ_TASK   ? &static_cast<Task*>(o)->watchers()
                      : o->type() == TERN_OBJ_PORT ? &static_cast<Port*>(o)->watchers()
                                                   : nullptr;
    if (!list)
        return base::Error::WRONG_TYPE;
    return WatchArgs{base::move(object), base::move(port), list};
}

} // namespace

int64_t sys_object_watch(const SyscallArgs& a) {
    Task& task = *current_thread()->task();
    auto args = watch_args(task, a);
    if (args.is_error())
        return err(args.error());
    obj::KObject* o = args.value().object.get();
    if (o->type() == TERN_OBJ_TASK) {
        auto r = static_cast<Task*>(o)->watch(base::move(args.value().port), a.a2);
        return r.is_error() ? err(r.error()) : 0;
    }
    Port* watched = static_cast<Port*>(o);
    auto r = watched->watchers().add(base::move(args.value().port), a.a2, TERN_OBJ_PORT);
    if (r.is_error())
        return err(r.error());
    if (watched->closed())
        watched->watchers().fire(0);
    return 0;
}

int64_t sys_object_unwatch(const SyscallArgs& a) {
    auto args = watch_args(*current_thread()->task(), a);
    if (args.is_error())
        return err(args.error());
    InterruptGuard guard;
    auto r = args.value().list->remove(*args.value().port, a.a2);
    return r.is_error() ? err(r.error()) : 0;
}

int64_t sys_port_signal(const SyscallArgs& a) {
    Task& task = *current_thread()->task();
    auto port = port_from(task, a.a0, TERN_RIGHT_SIGNAL);
    if (port.is_error())
        return err(port.error());
    if (a.a1 == 0)
        return err(base::Error::INVALID_ARGUMENT);
    auto r = port.value()->signal(a.a1);
    return r.is_error() ? err(r.error()) : 0;
}

int64_t sys_port_capture(const SyscallArgs& a) {
    Task& task = *current_thread()->task();
    auto port = port_from(task, a.a0, TERN_RIGHT_RECEIVE);
    if (port.is_error())
        return err(port.error());
    obj::MessageQueue& q = port.value()->queue();
    uint64_t n = q.size();
    if (n > a.a2)
        return err(base::Error::NO_SPACE);
    if (!user_range_ok(a.a1, n * sizeof(tern_msg)) && n)
        return err(base::Error::BAD_ADDRESS);
    // Check that everything fits before taking anything.
    uint64_t handles = 0;
    uint32_t i = 0;
    // Staging on the heap: a full queue is far bigger than a kernel stack.
    auto* scratch_queue = new (kNoThrow) obj::MessageQueue(obj::MessageQueue::kMaxCapacity);
    if (!scratch_queue)
        return err(base::Error::NO_MEMORY);
    obj::MessageQueue& scratch = *scratch_queue;
    base::Error failure = base::Error::OK;
    q.drain([&](obj::Message&& m) {
        tern_msg um;
        if (failure == base::Error::OK) {
            uint64_t at = a.a1 + i * sizeof(tern_msg);
            if (auto c = copy_from_user(um, at); c.is_error())
                failure = c.error();
            else if (m.data_size() > um.data_capacity)
                failure = base::Error::NO_SPACE;
            else if (auto w = copy_to_user(at, um); w.is_error())
                failure = w.error();
            else if (m.data_size()
                     && (!user_range_ok(um.data, m.data_size())
                         || !current_thread()->task()->user_access_ok(um.data, m.data_size(),
                                                                      true)))
                failure = base::Error::BAD_ADDRESS;
        }
        handles += m.header.handle_count;
        ++i;
        (void)scratch.push(base::move(m));
    });
    if (failure == base::Error::OK && task.handles().capacity() - task.handles().count() < handles)
        failure = base::Error::QUOTA_EXCEEDED;
    if (failure != base::Error::OK) {
        scratch.drain([&](obj::Message&& m) { (void)q.restore(base::move(m)); });
        delete scratch_queue;
        return err(failure);
    }
    i = 0;
    scratch.drain([&](obj::Message&& m) {
        tern_msg um;
        uint64_t at = a.a1 + i * sizeof(tern_msg);
        bool consumed = false;
        if (copy_from_user(um, at).ok())
            (void)deliver(task, m, at, um, &consumed);
        ++i;
    });
    delete scratch_queue;
    port.value()->queue_space_freed();
    return int64_t(n);
}

int64_t sys_port_restore(const SyscallArgs& a) {
    Task& task = *current_thread()->task();
    auto port = port_from(task, a.a0, TERN_RIGHT_SEND | TERN_RIGHT_RECEIVE);
    if (port.is_error())
        return err(port.error());
    obj::MessageQueue& q = port.value()->queue();
    uint64_t n = a.a2;
    if (n > obj::MessageQueue::kMaxCapacity || q.capacity() - q.size() < n)
        return err(base::Error::WOULD_BLOCK);
    auto* staged = new (kNoThrow) obj::MessageQueue(obj::MessageQueue::kMaxCapacity);
    auto* sent = new (kNoThrow) tern_msg[obj::MessageQueue::kMaxCapacity];
    if (!staged || !sent) {
        delete staged;
        delete[] sent;
        return err(base::Error::NO_MEMORY);
    }
    base::Error failure = base::Error::OK;
    for (uint64_t i = 0; i < n && failure == base::Error::OK; ++i) {
        tern_msg& um = sent[i];
        if (auto c = copy_from_user(um, a.a1 + i * sizeof(tern_msg)); c.is_error()) {
            failure = c.error();
            break;
        }
        // Each handle moves once: the same handle in two messages would copy it without
        // the DUPLICATE right.
        for (uint64_t j = 0; j < i && failure == base::Error::OK; ++j) {
            for (uint32_t x = 0; x <= um.hdr.handle_count && x < TERN_MSG_MAX_HANDLES + 1; ++x) {
                tern_handle_t h = x < um.hdr.handle_count && x < TERN_MSG_MAX_HANDLES
                                      ? um.handles[x]
                                      : um.reply_handle;
                if (h == TERN_INVALID_HANDLE)
                    continue;
                for (uint32_t y = 0; y < sent[j].hdr.handle_count && y < TERN_MSG_MAX_HANDLES; ++y)
                    if (sent[j].handles[y] == h)
                        failure = base::Error::INVALID_ARGUMENT;
                if (sent[j].reply_handle == h)
                    failure = base::Error::INVALID_ARGUMENT;
            }
        }
        if (failure != base::Error::OK)
            break;
        obj::Message m;
        uint32_t max = um.reply_handle ? TERN_MSG_MAX_HANDLES - 1 : TERN_MSG_MAX_HANDLES;
        tern_msg plain = um;
        plain.hdr.flags = 0;
        if (auto b = build_message(task, plain, m, max, port.value().get()); b.is_error()) {
            failure = b.error();
            break;
        }
        m.header.label = um.hdr.label;
        m.header.sender_badge = um.hdr.sender_badge;
        if (um.reply_handle) {
            auto reply = task.handles().get(um.reply_handle, TERN_OBJ_REPLY, TERN_RIGHT_TRANSFER);
            if (reply.is_error()) {
                failure = reply.error();
                break;
            }
            if (auto h = m.add_handle(reply.release_value(), TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
                h.is_error()) {
                failure = h.error();
                break;
            }
            m.header.flags |= TERN_MSG_FLAG_CALL;
        }
        (void)staged->push(base::move(m));
    }
    if (failure == base::Error::OK) {
        staged->drain([&](obj::Message&& m) { (void)q.push(base::move(m)); });
        for (uint64_t i = 0; i < n; ++i) {
            remove_sent_handles(task, sent[i]);
            if (sent[i].reply_handle)
                (void)task.handles().remove(sent[i].reply_handle, nullptr);
        }
        port.value()->queue_filled();
    }
    delete staged;
    delete[] sent;
    return failure == base::Error::OK ? int64_t(n) : err(failure);
}

} // namespace kernel

// ---- Self-tests -----------------------------------------------------------------------
#include <kernel/test/ktest.h>

namespace kernel {
namespace {

obj::Message make_message(uint32_t label, uint64_t word) {
    obj::Message m;
    m.header.label = label;
    m.words[0] = word;
    return m;
}

KTEST(port, fifo_order_and_full_queue) {
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(4));
    for (uint32_t i = 0; i < 4; ++i)
        KEXPECT_OK(port->send(make_message(i, i * 10), 0, false));
    auto full = port->send(make_message(99, 0), 0, false);
    KEXPECT(full.is_error());
    KEXPECT_EQ(full.error(), base::Error::WOULD_BLOCK);
    for (uint32_t i = 0; i < 4; ++i) {
        auto m = port->receive(0, false);
        KEXPECT_OK(m);
        KEXPECT_EQ(m.value().header.label, i);
        KEXPECT_EQ(m.value().words[0], uint64_t(i * 10));
    }
    auto empty = port->receive(0, false);
    KEXPECT(empty.is_error());
    KEXPECT_EQ(empty.error(), base::Error::WOULD_BLOCK);
}

KTEST(port, timeouts) {
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(1));
    uint64_t start = monotonic_ns();
    auto r = port->receive(start + 20000000ull, true);
    KEXPECT(r.is_error());
    KEXPECT_EQ(r.error(), base::Error::TIMED_OUT);
    KEXPECT_OK(port->send(make_message(1, 1), 0, false));
    auto s = port->send(make_message(2, 2), monotonic_ns() + 20000000ull, true);
    KEXPECT(s.is_error());
    KEXPECT_EQ(s.error(), base::Error::TIMED_OUT);
    KEXPECT(monotonic_ns() - start >= 40000000ull);
}

struct PortPair {
    Port* port;
    volatile int received = 0;
    volatile uint64_t sum = 0;
};

void receiver_fn(void* arg) {
    auto* p = static_cast<PortPair*>(arg);
    for (int i = 0; i < 100; ++i) {
        auto m = p->port->receive(0, true);
        if (m.is_error())
            return;
        p->sum = p->sum + m.value().words[0];
        p->received = p->received + 1;
    }
}

KTEST(port, blocking_sender_and_receiver_threads) {
    static PortPair pair;
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(2));
    pair.port = port.get();
    pair.received = 0;
    pair.sum = 0;
    Thread* t = Thread::create_kernel("receiver", receiver_fn, &pair, Thread::kDefaultPriority);
    KEXPECT(t != nullptr);
    make_ready(*t);
    // The queue holds two: the sender blocks and the receiver drains, a hundred times.
    uint64_t expected = 0;
    for (uint64_t i = 1; i <= 100; ++i) {
        KEXPECT_OK(port->send(make_message(0, i), 0, true));
        expected += i;
    }
    while (pair.received < 100)
        sleep_ns(1000000);
    KEXPECT_EQ(pair.sum, expected);
}

struct Counted final : obj::KObject {
    static constexpr uint32_t kType = TERN_OBJ_MEMORY;
    static inline int destroyed = 0;
    Counted() : obj::KObject(kType) {}
    void destroy() override {
        ++destroyed;
        delete this;
    }
};

KTEST(port, closing_the_receiver_fails_senders_and_releases_messages) {
    Counted::destroyed = 0;
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(4));
    obj::Message m = make_message(7, 7);
    KEXPECT_OK(m.add_handle(obj::Ref<obj::KObject>::adopt(new Counted()), TERN_RIGHT_SEND));
    KEXPECT_OK(port->send(base::move(m), 0, false));
    port->close_receiver();
    KEXPECT_EQ(Counted::destroyed, 1); // the carried handle was dropped, not leaked
    auto s = port->send(make_message(8, 8), 0, false);
    KEXPECT(s.is_error());
    KEXPECT_EQ(s.error(), base::Error::PEER_CLOSED);
}

KTEST(port, signals_accumulate_and_come_first) {
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(2));
    KEXPECT_OK(port->send(make_message(5, 5), 0, false));
    KEXPECT_OK(port->signal(0x1));
    KEXPECT_OK(port->signal(0x4));
    auto s = port->receive(0, false);
    KEXPECT_OK(s);
    KEXPECT_EQ(s.value().header.label, uint32_t(TERN_LABEL_SIGNAL));
    KEXPECT_EQ(s.value().words[0], uint64_t(0x5));
    auto m = port->receive(0, false);
    KEXPECT_OK(m);
    KEXPECT_EQ(m.value().header.label, 5u);
    KEXPECT(!port->has_signals());
    port->close_receiver();
    KEXPECT(port->signal(1).is_error());
}

KTEST(port, port_set_receives_for_members_round_robin) {
    obj::Ref<Port> set = obj::Ref<Port>::adopt(Port::create(2));
    obj::Ref<Port> a = obj::Ref<Port>::adopt(Port::create(4));
    obj::Ref<Port> b = obj::Ref<Port>::adopt(Port::create(4));
    KEXPECT_OK(set->add_member(a, 1));
    KEXPECT_OK(set->add_member(b, 2));
    KEXPECT_EQ(set->add_member(a, 3).error(), base::Error::BUSY);
    KEXPECT_EQ(a->add_member(b, 4).error(), base::Error::INVALID_ARGUMENT);
    KEXPECT_OK(a->send(make_message(10, 0), 0, false));
    KEXPECT_OK(a->send(make_message(11, 0), 0, false));
    KEXPECT_OK(b->send(make_message(20, 0), 0, false));
    uint32_t key = 0;
    uint32_t labels[3];
    uint32_t keys[3];
    for (int i = 0; i < 3; ++i) {
        Port* source = set->ready_source(&key);
        KEXPECT(source != nullptr);
        auto m = source->receive(0, false);
        KEXPECT_OK(m);
        labels[i] = m.value().header.label;
        keys[i] = key;
    }
    // Round-robin: a, b, a — each member's own order kept.
    KEXPECT_EQ(keys[0], 1u);
    KEXPECT_EQ(labels[0], 10u);
    KEXPECT_EQ(keys[1], 2u);
    KEXPECT_EQ(labels[1], 20u);
    KEXPECT_EQ(labels[2], 11u);
    KEXPECT(set->ready_source(&key) == nullptr);
    KEXPECT_OK(b->signal(0x8));
    KEXPECT(set->ready_source(&key) == b.get());
    KEXPECT_OK(set->remove_member(*b));
    KEXPECT(set->ready_source(&key) == nullptr);
    KEXPECT_EQ(set->remove_member(*b).error(), base::Error::NOT_FOUND);
}

KTEST(port, death_notice_of_a_port_survives_a_full_queue) {
    obj::Ref<Port> watcher = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> watched = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT_OK(watcher->send(make_message(5, 5), 0, false)); // now full
    KEXPECT_OK(watched->watchers().add(watcher, 77, TERN_OBJ_PORT));
    KEXPECT(!watcher->has_events());
    watched->close_receiver();
    KEXPECT(watcher->has_events());
    auto n = watcher->receive(0, false);
    KEXPECT_OK(n);
    KEXPECT_EQ(n.value().header.label, uint32_t(TERN_LABEL_OBJECT_GONE));
    KEXPECT_EQ(n.value().words[0], uint64_t(77));
    KEXPECT_EQ(n.value().words[2], uint64_t(TERN_OBJ_PORT));
    auto m = watcher->receive(0, false); // the queued message is still there, after it
    KEXPECT_OK(m);
    KEXPECT_EQ(m.value().header.label, 5u);
    // A second close notifies nobody twice.
    watched->close_receiver();
    KEXPECT(!watcher->has_events());
    watcher->close_receiver();
}

KTEST(port, death_notices_reach_a_port_set_and_die_with_a_closed_watcher) {
    obj::Ref<Port> set = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> member = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT_OK(set->add_member(member, 3));
    obj::Ref<Port> a = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> b = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT_OK(a->watchers().add(member, 1, TERN_OBJ_PORT));
    KEXPECT_OK(b->watchers().add(member, 2, TERN_OBJ_PORT));
    a->close_receiver();
    uint32_t key = 0;
    KEXPECT(set->ready_source(&key) == member.get());
    KEXPECT_EQ(key, 3u);
    obj::Message out;
    KEXPECT(member->take_event(out));
    KEXPECT_EQ(out.words[0], uint64_t(1));
    // The watcher goes first: b's notice is dropped when it fires, not leaked or delivered.
    member->close_receiver();
    b->close_receiver();
    KEXPECT(!member->has_events());
    set->close_receiver();
}

KTEST(port, unwatch_cancels_one_watch) {
    obj::Ref<Port> watcher = obj::Ref<Port>::adopt(Port::create(4));
    obj::Ref<Port> watched = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT_OK(watched->watchers().add(watcher, 1, TERN_OBJ_PORT));
    KEXPECT_OK(watched->watchers().add(watcher, 2, TERN_OBJ_PORT));
    KEXPECT_OK(watched->watchers().remove(*watcher, 1));
    auto again = watched->watchers().remove(*watcher, 1);
    KEXPECT(again.is_error());
    KEXPECT_EQ(again.error(), base::Error::NOT_FOUND);
    watched->close_receiver();
    auto n = watcher->receive(0, false);
    KEXPECT_OK(n);
    KEXPECT_EQ(n.value().words[0], uint64_t(2)); // only the watch that stayed fired
    KEXPECT(!watcher->receive(0, false).ok());
    watcher->close_receiver();
}

KTEST(port, a_full_watch_list_drops_watches_nobody_can_read) {
    obj::Ref<Port> watched = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> gone = obj::Ref<Port>::adopt(Port::create(1));
    for (size_t i = 0; i < WatchList::kMaxWatches; ++i)
        KEXPECT_OK(watched->watchers().add(gone, i, TERN_OBJ_PORT));
    obj::Ref<Port> live = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT(watched->watchers().add(live, 100, TERN_OBJ_PORT).is_error());
    gone->close_receiver(); // its 64 watches can never be read now
    KEXPECT_OK(watched->watchers().add(live, 101, TERN_OBJ_PORT));
    watched->close_receiver();
    auto n = live->receive(0, false);
    KEXPECT_OK(n);
    KEXPECT_EQ(n.value().words[0], uint64_t(101));
    live->close_receiver();
}

KTEST(port, watch_list_is_bounded) {
    obj::Ref<Port> watcher = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> watched = obj::Ref<Port>::adopt(Port::create(1));
    for (size_t i = 0; i < WatchList::kMaxWatches; ++i)
        KEXPECT_OK(watched->watchers().add(watcher, i, TERN_OBJ_PORT));
    auto r = watched->watchers().add(watcher, 99, TERN_OBJ_PORT);
    KEXPECT(r.is_error());
    KEXPECT_EQ(r.error(), base::Error::QUOTA_EXCEEDED);
    watched->close_receiver();
    size_t notices = 0;
    while (watcher->receive(0, false).ok())
        ++notices;
    KEXPECT_EQ(notices, WatchList::kMaxWatches);
    watcher->close_receiver();
}

KTEST(port, queue_capture_and_recreate_keeps_order) {
    obj::Ref<Port> a = obj::Ref<Port>::adopt(Port::create(8));
    obj::Ref<Port> b = obj::Ref<Port>::adopt(Port::create(8));
    for (uint32_t i = 0; i < 5; ++i)
        KEXPECT_OK(a->send(make_message(i, 100 + i), 0, false));
    uint32_t moved =
        a->queue().drain([&](obj::Message&& m) { (void)b->queue().restore(base::move(m)); });
    KEXPECT_EQ(moved, 5u);
    KEXPECT(a->queue().is_empty());
    for (uint32_t i = 0; i < 5; ++i) {
        auto m = b->receive(0, false);
        KEXPECT_OK(m);
        KEXPECT_EQ(m.value().header.label, i);
        KEXPECT_EQ(m.value().words[0], uint64_t(100 + i));
    }
}

} // namespace
} // namespace kernel

// Messages: ports, port sets, calls and replies, signals, death notices, and the capture
// and restore of a port's queue (the migration path).
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/object/message_data.h>
#include <kernel/object/port.h>
#include <kernel/object/reply.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/syscalls/dispatch.h>
#include <kernel/syscalls/handlers.h>

namespace kernel {

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
        base::Error error = base::Error::OK;
        void* buffer = alloc_message_data(um.hdr.data_size, task.account(), &error);
        if (!buffer)
            return error;
        if (auto r = UserBuffer(um.data, um.hdr.data_size).read(0, buffer, um.hdr.data_size);
            r.is_error()) {
            free_message_data(buffer, um.hdr.data_size);
            return r.error();
        }
        out.attach_data(buffer, um.hdr.data_size, free_message_data);
    }
    for (uint32_t i = 0; i < um.hdr.handle_count; ++i) {
        uint32_t rights = 0;
        auto object =
            TRY(task.handles().get(um.handles[i], TERN_OBJ_ANY, TERN_RIGHT_TRANSFER, &rights));
        // A port must not carry a handle to itself, or nobody could ever receive it; a
        // receive right moves only when no cycle can follow (Port::can_move_receive_right).
        if (object.get() == target)
            return base::Error::ACCESS_DENIED;
        if (rights & TERN_RIGHT_RECEIVE) {
            Port* port = object->as<Port>();
            if (base::Error e = port ? port->can_move_receive_right() : base::Error::OK;
                e != base::Error::OK)
                return e;
        }
        for (uint32_t j = 0; j < i; ++j)
            if (um.handles[j] == um.handles[i])
                return base::Error::INVALID_ARGUMENT;
        TRY(out.add_handle(base::move(object), rights));
    }
    return {};
}

void remove_sent_handles(Task& task, const tern_msg& um) {
    for (uint32_t i = 0; i < um.hdr.handle_count; ++i) {
        uint32_t rights = 0;
        auto object = task.handles().remove(um.handles[i], &rights);
        if (object.ok() && (rights & TERN_RIGHT_RECEIVE))
            if (Port* port = object.value()->as<Port>())
                port->receive_right_left_task();
    }
}

// True when the kernel may write a tern_msg back at msg. Checked before anything is
// taken for delivery: once handles are in the table, their values must reach the task.
// (Nothing else in the task runs until the syscall returns, so the check stays true.)
bool message_writable(Task& task, UserPtr<tern_msg> msg) {
    return user_range_ok(msg.address(), sizeof(tern_msg))
           && task.user_access_ok(msg.address(), sizeof(tern_msg), true);
}

// Writes a received message into the user's tern_msg (whose data/data_capacity say where
// the data part goes); the caller has checked message_writable and that the data fits.
// A failure before the handles move (the data buffer is bad, the handle table is full)
// leaves `m` as it was, *consumed false; from then on the message is used up, and `m` is
// left empty whatever happens.
base::Result<void> deliver(Task& task, obj::Message& m, UserPtr<tern_msg> msg, tern_msg& um,
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
        TRY(UserBuffer(um.data, um.data_capacity).write(0, m.data(), m.data_size()));
    }
    *consumed = true;
    um.hdr = m.header;
    um.hdr.handle_count = user_handles;
    for (int i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
        um.words[i] = m.words[i];
    for (uint32_t i = 0; i < TERN_MSG_MAX_HANDLES; ++i)
        um.handles[i] = TERN_INVALID_HANDLE;
    for (uint32_t i = 0; i < count; ++i) {
        if (m.handles[i].rights & TERN_RIGHT_RECEIVE)
            if (Port* port = m.handles[i].object->as<Port>())
                port->receive_right_reached_task();
        auto h = task.handles().insert(base::move(m.handles[i].object), m.handles[i].rights);
        TERN_VERIFY(h.ok()); // room was checked above
        if (is_call && i == count - 1)
            reply = h.value();
        else
            um.handles[i] = h.value();
    }
    um.reply_handle = reply;
    m.reset();
    return msg.write(um);
}

// One copy of a data part. A message with a data part for a thread that already waits
// for it (a server in a receive, a caller for its answer) is copied once, from the
// sender's buffer straight into the receiver's through the direct map, rather than into
// a pooled kernel buffer and out again. It is taken only when every page of both buffers
// is mapped for the user (the receiver's writable), cached RAM, and allowed by the
// regions, so the copy cannot fault: anything else (a page not touched yet, a bad
// buffer, a data part bigger than the receiver's capacity) goes the queued way, which
// pages in, refuses or reports as before, and no buffer is ever left half written.
constexpr uint64_t kPage = x86_64::kPageSize;
constexpr uint32_t kMaxDataPages = TERN_MSG_MAX_DATA / kPage + 1;

// Fills pages[] with the physical address of every page of [address, address+size) of
// `task`; false when one cannot be reached that way (see above). The page tables are
// walked once for the run (PageTable::pages_of), not once per page.
bool direct_pages(Task& task, uint64_t address, uint64_t size, bool write, uint64_t* pages) {
    if (!user_range_ok(address, size)
        || (task.copies_need_region_check() && !task.user_access_ok(address, size, write)))
        return false;
    using x86_64::PageFlags;
    PageFlags need = write ? PageFlags::kUser | PageFlags::kWritable : PageFlags::kUser;
    size_t count = (address % kPage + size + kPage - 1) / kPage;
    if (task.page_table().pages_of(address, count, need,
                                   PageFlags::kCacheDisable | PageFlags::kWriteThrough, pages)
        != count)
        return false;
    for (size_t i = 0; i < count; ++i)
        if (!is_managed_ram(pages[i], kPage))
            return false;
    return true;
}

// Copies within the direct map, eight bytes a step with `rep movsq` (the string move
// that current processors run fastest for whole pages), the rest a byte a step.
[[gnu::always_inline]] inline void copy_chunk(uint8_t* to, const uint8_t* from, uint64_t n) {
    uint64_t words = n / 8;
    uint64_t bytes = n % 8;
    asm volatile("rep movsq" : "+D"(to), "+S"(from), "+c"(words) : : "memory");
    asm volatile("rep movsb" : "+D"(to), "+S"(from), "+c"(bytes) : : "memory");
}

// Copies n bytes between two lists of physical pages, each starting at its offset into
// its first page, through the direct map.
void copy_pages(const uint64_t* to, uint64_t to_offset, const uint64_t* from, uint64_t from_offset,
                uint64_t n) {
    while (n) {
        uint64_t chunk = n;
        if (chunk > kPage - to_offset % kPage)
            chunk = kPage - to_offset % kPage;
        if (chunk > kPage - from_offset % kPage)
            chunk = kPage - from_offset % kPage;
        copy_chunk(phys_to_virt<uint8_t>(to[to_offset / kPage] + to_offset % kPage),
                   phys_to_virt<uint8_t>(from[from_offset / kPage] + from_offset % kPage), chunk);
        to_offset += chunk;
        from_offset += chunk;
        n -= chunk;
    }
}

// A planned copy of a data part of the current task into a waiting peer's buffer.
struct DirectCopy {
    uint64_t from[kMaxDataPages];
    uint64_t to[kMaxDataPages];
    uint64_t from_offset;
    uint64_t to_offset;
    uint32_t size;

    void run() const { copy_pages(to, to_offset, from, from_offset, size); }
};

// Plans the copy of `size` bytes at `src` of `task` into the data buffer of `peer`, a
// thread waiting for a message: the one its m_receive_buffer names (the buffer its own
// tern_msg named when its wait began, which is where the queued way would deliver too).
// False (and the queued way) when that buffer is too small or any page of either side
// cannot be reached. Nothing is written yet.
bool plan_direct_copy(Task& task, uint64_t src, uint32_t size, Thread& peer, DirectCopy& copy) {
    const ReceiveBuffer* buffer = peer.m_receive_buffer;
    if (size == 0 || size > TERN_MSG_MAX_DATA || !buffer || size > buffer->capacity)
        return false;
    if (!direct_pages(task, src, size, false, copy.from)
        || !direct_pages(*peer.task(), buffer->data, size, true, copy.to))
        return false;
    copy.from_offset = src % kPage;
    copy.to_offset = buffer->data % kPage;
    copy.size = size;
    return true;
}

base::Result<obj::Ref<Port>> port_from(Task& task, Handle handle, uint32_t rights) {
    return task.handles().get_as<Port>(handle.value(), rights);
}

Task& self_task() { return *current_thread()->task(); }

// A call the fast path put in this thread's m_reply while it waited on `port`: it is
// delivered as if it had been queued (the caller checked that it fits). Should the
// delivery fail all the same, the message goes to the port's queue, or, when that is
// full or closed, is dropped: its reply right goes with it and the caller gets
// PEER_CLOSED rather than waiting for an answer that cannot come.
SyscallResult receive_direct(Task& task, Port& port, UserPtr<tern_msg> msg, tern_msg& um) {
    Thread& self = *current_thread();
    self.m_direct = false;
    bool consumed = false;
    auto r = deliver(task, self.m_reply, msg, um, &consumed);
    if (r.is_error()) {
        if (!consumed) {
            if (port.queue().push(base::move(self.m_reply)).is_error())
                self.m_reply.reset();
            else
                port.note_pending();
        }
        return r.error();
    }
    return 0;
}

// port_receive(port, msg, timeout) for the calling task; also the second half of
// port_reply_receive (receive_message looks the port up first). With handoff and
// *handoff (the caller a fast reply has just answered), the first wait runs that
// thread at once, and *handoff becomes null; when nothing waits, *handoff is left for the
// caller of this function to wake.
[[gnu::always_inline]] inline SyscallResult receive_on(Task& task, Port& p, UserPtr<tern_msg> msg,
                                                       Timeout timeout, Thread** handoff) {
    // Only where the data part goes is read; deliver() writes the rest.
    static_assert(__builtin_offsetof(tern_msg, data_capacity)
                  == __builtin_offsetof(tern_msg, data) + sizeof(uint64_t));
    // deliver() writes every other field but the reserved ones, which are zeroed here
    // rather than the whole message (a 144-byte memset on every receive).
    [[clang::uninitialized]] tern_msg um;
    ReceiveBuffer descriptor;
    TRY(msg.member<ReceiveBuffer>(__builtin_offsetof(tern_msg, data)).read(descriptor));
    um.data = descriptor.data;
    um.data_capacity = descriptor.capacity;
    um.reserved = 0;
    um.reserved2 = 0;
    uint64_t deadline = timeout.deadline();
    for (;;) {
        // Syscalls run with interrupts off on one CPU, so nothing changes between the
        // checks and the take: a message that cannot be delivered stays queued, in order.
        uint32_t key = 0;
        if (Port* source = p.ready_source(&key)) {
            if (!message_writable(task, msg))
                return base::Error::BAD_ADDRESS;
            bool consumed = false;
            if (!source->has_events()) {
                // Straight from the queue slot: no move of the message on the hot path.
                obj::Message& head = *source->queue().front();
                if (head.data_size() > um.data_capacity)
                    return base::Error::NO_SPACE;
                auto r = deliver(task, head, msg, um, &consumed);
                if (consumed)
                    source->drop_delivered();
                TRY(r);
                return key;
            }
            [[clang::uninitialized]] obj::Message event;
            (void)source->take_event(event); // has_events() said there is one
            TRY(deliver(task, event, msg, um, &consumed));
            return key;
        }
        if (p.closed())
            return base::Error::PEER_CLOSED;
        if (!timeout.blocks())
            return base::Error::WOULD_BLOCK;
        Thread& self = *current_thread();
        self.m_receive_msg = msg.address();
        self.m_receive_buffer = &descriptor;
        base::Error e;
        if (handoff && *handoff)
            e = p.wait_for_message_switching_to(*base::exchange(*handoff, nullptr), deadline);
        else
            e = p.wait_for_message(deadline);
        self.m_receive_msg = 0;
        self.m_receive_buffer = nullptr;
        if (self.m_direct)
            return receive_direct(task, p, msg, um);
        if (e != base::Error::OK)
            return e;
    }
}

SyscallResult receive_message(Task& task, Handle port_handle, UserPtr<tern_msg> msg,
                              Timeout timeout) {
    auto port = TRY(port_from(task, port_handle, TERN_RIGHT_RECEIVE));
    return receive_on(task, *port, msg, timeout, nullptr);
}

// The first half of port_reply and port_reply_receive: answers the call behind
// reply_handle (naming `reply`) with `um`, the message the server wrote. On success the
// reply right and the handles the message names are gone from the table. A refused
// message (INVALID_ARGUMENT, TOO_BIG, BAD_ADDRESS of its data, ...) changes nothing.
// PEER_CLOSED: the caller gave up; the right is consumed and the handles stay, listed
// in um.
base::Result<void> answer_call(Task& task, Handle reply_handle, Reply& reply, const tern_msg& um) {
    [[clang::uninitialized]] obj::Message m;
    // An asynchronous call's answer is queued on the caller's reply port, so it is held
    // to the rules of a send there: no handle to that port itself.
    TRY(build_message(task, um, m, TERN_MSG_MAX_HANDLES, reply.answer_port()));
    // The reply right is consumed whether or not the caller is still there.
    (void)task.handles().remove(reply_handle.value(), nullptr);
    TRY(reply.answer(base::move(m)));
    remove_sent_handles(task, um);
    return {};
}

// The same, reading the message at msg into um first; BAD_HANDLE, BAD_ADDRESS, ...
// change nothing.
base::Result<void> send_reply(Task& task, Handle reply_handle, UserPtr<tern_msg> msg,
                              tern_msg& um) {
    auto reply = TRY(task.handles().get_as<Reply>(reply_handle.value(), TERN_RIGHT_SEND));
    TRY(msg.read(um));
    return answer_call(task, reply_handle, *reply, um);
}

} // namespace

SyscallResult sys_port_create(uint32_t capacity) {
    if (capacity == 0 || capacity > obj::MessageQueue::kMaxCapacity)
        return base::Error::INVALID_ARGUMENT;
    Task& task = self_task();
    QuotaCharge charge = TRY(QuotaCharge::take(task.account(), QuotaKind::kPorts));
    Port* port = Port::create(capacity);
    if (!port)
        return base::Error::NO_MEMORY;
    port->set_quota_charge(base::move(charge));
    return TRY(task.handles().insert(obj::Ref<obj::KObject>::adopt(port), TERN_RIGHTS_ALL));
}

SyscallResult sys_port_send(Handle port_handle, UserPtr<tern_msg> msg, Timeout timeout) {
    Task& task = self_task();
    auto port = TRY(port_from(task, port_handle, TERN_RIGHT_SEND));
    [[clang::uninitialized]] tern_msg um; // filled by the copy
    TRY(msg.read(um));
    [[clang::uninitialized]] obj::Message m;
    TRY(build_message(task, um, m, TERN_MSG_MAX_HANDLES, port.get()));
    TRY(port->send(base::move(m), timeout.deadline(), timeout.blocks()));
    remove_sent_handles(task, um);
    return 0;
}

SyscallResult sys_port_receive(Handle port, UserPtr<tern_msg> msg, Timeout timeout) {
    return receive_message(self_task(), port, msg, timeout);
}

SyscallResult sys_port_set_add(Handle set_handle, Handle member_handle, uint32_t key) {
    Task& task = self_task();
    auto set = TRY(port_from(task, set_handle, TERN_RIGHT_RECEIVE));
    auto member = TRY(port_from(task, member_handle, TERN_RIGHT_RECEIVE));
    if (key == 0)
        return base::Error::INVALID_ARGUMENT;
    TRY(set->add_member(base::move(member), key));
    return 0;
}

SyscallResult sys_port_set_remove(Handle set_handle, Handle member_handle) {
    Task& task = self_task();
    auto set = TRY(port_from(task, set_handle, TERN_RIGHT_RECEIVE));
    auto member = TRY(port_from(task, member_handle, TERN_RIGHT_RECEIVE));
    TRY(set->remove_member(*member));
    return 0;
}

namespace {

// The fast path's counters (tern_ipc_stats, read with ipc_stats); the slow ones are the
// dispatch's count of the syscall less these, so the slow path pays nothing for them.
tern_ipc_stats g_ipc_stats;

// The thread a fast call on `port` (inline words only, nothing pending there) goes to:
// its receiver, waiting on the port itself in a register receive, or in a receive whose
// tern_msg is writable with room for the reply right in its table; and nothing more
// urgent than it ready. Null: the slow path.
Thread* fast_receiver(Port& port) {
    Thread* server = port.waiting_receiver();
    if (!server)
        return nullptr;
    if (!server->m_receive_regs) {
        if (!server->m_receive_msg)
            return nullptr;
        Task& peer = *server->task();
        if (peer.handles().count() >= peer.handles().capacity()
            || !message_writable(peer, UserPtr<tern_msg>(server->m_receive_msg)))
            return nullptr;
    }
    if (!can_hand_off_to(*server))
        return nullptr;
    return server;
}

// The words of a register message, in the order the ABI gives them (syscalls.h,
// port_call_regs): R10, R8, R9, R12, R13, R14, R15, RBX.
[[gnu::always_inline]] inline void words_from_frame(const x86_64::TrapFrame& f, uint64_t* w) {
    w[0] = f.r10;
    w[1] = f.r8;
    w[2] = f.r9;
    w[3] = f.r12;
    w[4] = f.r13;
    w[5] = f.r14;
    w[6] = f.r15;
    w[7] = f.rbx;
}

// Writes a message into a thread's user registers, which its syscall's return restores.
[[gnu::always_inline]] inline void message_to_frame(x86_64::TrapFrame& f, uint32_t label,
                                                    uint64_t badge, uint32_t flags,
                                                    const uint64_t* w) {
    f.rsi = label;
    f.rdx = badge;
    f.rdi = flags;
    f.r10 = w[0];
    f.r8 = w[1];
    f.r9 = w[2];
    f.r12 = w[3];
    f.r13 = w[4];
    f.r14 = w[5];
    f.r15 = w[6];
    f.rbx = w[7];
}

// The fast path's hand-over of a call to `server` (from fast_receiver): a register
// receiver gets it in its registers with the reply right held by the thread, any other in
// its message slot with the right it will find in reply_handle. The server's wait ends
// with m_direct set.
[[gnu::always_inline]] inline void hand_call(Thread& server, uint32_t label, uint64_t badge,
                                             const uint64_t* words, Reply* pending) {
    if (server.m_receive_regs) {
        message_to_frame(server.user_frame(), label, badge, TERN_MSG_FLAG_CALL, words);
        server.m_held_reply = obj::Ref<obj::KObject>::retain(pending);
    } else {
        obj::Message& m = server.m_reply;
        TERN_ASSERT(!m.owns_resources() && m.data_size() == 0);
        m.header.label = label;
        m.header.flags = TERN_MSG_FLAG_CALL;
        m.header.sender_badge = badge;
        for (int i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
            m.words[i] = words[i];
        TERN_VERIFY(m.add_handle(obj::Ref<obj::KObject>::retain(pending),
                                 TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER)
                        .ok()); // the slot was empty
    }
    server.m_direct = true;
}

// A call the fast path can take: inline words only (no data part, no handles), to a port
// with nothing pending whose receiver is already waiting on it in port_receive (or
// port_reply_receive), where the message can be delivered at once, and with nothing more
// urgent than that thread ready to run. Returns that thread, or null (the slow path).
Thread* fast_call_target(Thread& self, Port& port, const tern_msg& um, Timeout timeout) {
    if (um.hdr.data_size != 0 || um.hdr.handle_count != 0 || um.hdr.flags != 0 || um.reserved != 0
        || !timeout.blocks() || self.m_exit_requested)
        return nullptr;
    if (!port.queue().is_empty() || port.has_events() || port.closed())
        return nullptr;
    return fast_receiver(port);
}

// The same for a call with a data part (and no handles): its receiver must wait in a
// tern_msg receive, where the data part can go straight into its buffer.
Thread* direct_data_target(Thread& self, Port& port, const tern_msg& um, Timeout timeout) {
    if (um.hdr.data_size == 0 || um.hdr.handle_count != 0 || um.hdr.flags != 0 || um.reserved != 0
        || !timeout.blocks() || self.m_exit_requested)
        return nullptr;
    if (!port.queue().is_empty() || port.has_events() || port.closed())
        return nullptr;
    Thread* server = fast_receiver(port);
    if (!server || server->m_receive_regs)
        return nullptr;
    return server;
}

} // namespace

Thread* hand_to_waiting_receiver(Port& port, obj::Message& m) {
    if (!port.queue().is_empty() || port.has_events() || port.closed())
        return nullptr;
    Thread* server = fast_receiver(port);
    // A register receiver cannot take a message with handles in its registers.
    if (!server || server->m_receive_regs || m.header.handle_count > 1)
        return nullptr;
    TERN_ASSERT(!server->m_reply.owns_resources() && server->m_reply.data_size() == 0);
    server->m_reply = base::move(m);
    server->m_direct = true;
    return server;
}

SyscallResult sys_port_call(Handle port_handle, UserPtr<tern_msg> msg, Timeout timeout) {
    Thread* self = current_thread();
    Task& task = *self->task();
    auto port = TRY(port_from(task, port_handle, TERN_RIGHT_SEND));
    [[clang::uninitialized]] tern_msg um; // filled by the copy
    TRY(msg.read(um));
    // The answer comes back into the same tern_msg: refuse a read-only one before the
    // server does any work.
    if (!message_writable(task, msg))
        return base::Error::BAD_ADDRESS;
    uint64_t deadline = timeout.deadline();
    Reply* pending;
    base::Error e;
    const ReceiveBuffer answer_buffer{um.data, um.data_capacity};
    Thread* data_server = direct_data_target(*self, *port, um, timeout);
    [[clang::uninitialized]] DirectCopy copy;
    if (data_server && !plan_direct_copy(task, um.data, um.hdr.data_size, *data_server, copy))
        data_server = nullptr;
    // While the caller waits, m_receive_msg says where the answer goes, so that a data
    // part can be copied straight there (sys_port_reply_receive).
    if (data_server) {
        // The data part goes straight into the waiting server's buffer, the rest as on
        // the fast path below; receive_direct finds the data part delivered.
        pending = TRY(Reply::for_call(*self, *task.account()));
        copy.run();
        hand_call(*data_server, um.hdr.label, task.id(), um.words, pending);
        data_server->m_reply.header.data_size = um.hdr.data_size;
        ++g_ipc_stats.fast_calls;
        self->m_receive_msg = msg.address();
        self->m_receive_buffer = &answer_buffer;
        e = pending->waiter().wait_switching_to(*data_server, deadline);
    } else if (Thread* server = fast_call_target(*self, *port, um, timeout)) {
        // The fast path: the call goes straight into the waiting server's slot, with the
        // reply right it will find in reply_handle, and the CPU goes to the server.
        pending = TRY(Reply::for_call(*self, *task.account()));
        hand_call(*server, um.hdr.label, task.id(), um.words, pending);
        ++g_ipc_stats.fast_calls;
        self->m_receive_msg = msg.address();
        self->m_receive_buffer = &answer_buffer;
        e = pending->waiter().wait_switching_to(*server, deadline);
    } else {
        [[clang::uninitialized]] obj::Message m;
        TRY(build_message(task, um, m, TERN_MSG_MAX_HANDLES - 1, port.get()));
        // The thread's reply slot holds the caller's reference until the call is over
        // (and after, for the next call); the message carries the other. When that one
        // goes unanswered, Reply::unshared wakes the caller.
        pending = TRY(Reply::for_call(*self, *task.account()));
        InterruptGuard guard;
        if (auto added = m.add_handle(obj::Ref<obj::KObject>::retain(pending),
                                      TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
            added.is_error()) {
            pending->abandon();
            return added.error();
        }
        m.header.flags |= TERN_MSG_FLAG_CALL;
        if (auto sent = port->send(base::move(m), deadline, timeout.blocks()); sent.is_error()) {
            pending->abandon(); // never sent: the reply goes back to the slot unused
            return sent.error();
        }
        remove_sent_handles(task, um);
        self->m_receive_msg = msg.address();
        self->m_receive_buffer = &answer_buffer;
        e = pending->waiter().wait(deadline);
    }
    self->m_receive_msg = 0;
    self->m_receive_buffer = nullptr;
    // The call is over either way. The reply in the slot lets go of this thread, so an
    // idle one keeps no reference to it (Thread::unshared must still see the last handle
    // go); after a timeout, an interruption or the server's error status, a late answer
    // is refused rather than landing in a later call.
    pending->abandon();
    if (e != base::Error::OK)
        return e;
    // Straight from the thread's answer slot; what a failed delivery leaves is released.
    bool consumed = false;
    auto r = deliver(task, self->m_reply, msg, um, &consumed);
    if (r.is_error()) {
        self->m_reply.reset();
        return r.error();
    }
    return 0;
}

SyscallResult sys_port_call_async(Handle port_handle, UserPtr<tern_msg> msg,
                                  Handle reply_port_handle, uint64_t cookie) {
    Task& task = self_task();
    auto port = TRY(port_from(task, port_handle, TERN_RIGHT_SEND));
    auto reply_port = TRY(port_from(task, reply_port_handle, TERN_RIGHT_SEND));
    [[clang::uninitialized]] tern_msg um; // filled by the copy
    TRY(msg.read(um));
    [[clang::uninitialized]] obj::Message m;
    TRY(build_message(task, um, m, TERN_MSG_MAX_HANDLES - 1, port.get()));
    // The answer's slot is set aside now, so that no answer is ever lost for want of
    // room; the reply object takes the reservation over, and the message carries the
    // only reference to it.
    TRY(reply_port->queue().reserve());
    obj::Ref<Reply> reply = obj::Ref<Reply>::adopt(Reply::create_async(*reply_port, cookie));
    if (!reply) {
        reply_port->queue().unreserve();
        return base::Error::NO_MEMORY;
    }
    base::Error error = base::Error::OK;
    if (!reply->quota_charge().take_from(*task.account(), QuotaKind::kReplies))
        error = base::Error::QUOTA_EXCEEDED;
    else if (auto r = m.add_handle(obj::Ref<obj::KObject>::retain(reply.get()),
                                   TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
             r.is_error())
        error = r.error();
    if (error == base::Error::OK) {
        m.header.flags |= TERN_MSG_FLAG_CALL;
        if (auto r = port->send(base::move(m), 0, false); r.is_error())
            error = r.error();
    }
    if (error != base::Error::OK) {
        // Never sent: no answer is owed, and the slot goes back.
        reply->cancel_async();
        return error;
    }
    remove_sent_handles(task, um);
    return 0;
}

SyscallResult sys_port_reply(Handle reply, UserPtr<tern_msg> msg) {
    [[clang::uninitialized]] tern_msg um; // filled by send_reply
    TRY(send_reply(self_task(), reply, msg, um));
    return 0;
}

namespace {

// The fast reply of port_reply_receive: an answer of inline words only to a caller
// waiting in port_call, from a server whose receive will wait (nothing is pending on its
// port), with nothing more urgent than the caller ready. Returns the caller, or null
// (the slow path).
Thread* fast_reply_target(Task& task, Reply& reply, const tern_msg& um, Handle port_handle,
                          Timeout timeout, obj::Ref<Port>& port_out, DirectCopy& copy) {
    Thread* caller = reply.waiting_caller();
    if (!caller || um.hdr.handle_count != 0 || um.hdr.flags != 0 || um.reserved != 0
        || !timeout.blocks() || current_thread()->m_exit_requested || !can_hand_off_to(*caller))
        return nullptr;
    auto port = port_from(task, port_handle, TERN_RIGHT_RECEIVE);
    uint32_t key = 0;
    if (port.is_error() || port.value()->closed() || port.value()->ready_source(&key))
        return nullptr;
    // A data part goes straight into the buffer of a caller in port_call (one in
    // port_call_regs takes it in its overflow tern_msg, the queued way).
    if (um.hdr.data_size != 0
        && (caller->m_call_regs || !caller->m_receive_msg
            || !plan_direct_copy(task, um.data, um.hdr.data_size, *caller, copy)))
        return nullptr;
    port_out = port.release_value();
    return caller;
}

} // namespace

SyscallResult sys_port_reply_receive(uint64_t reply, UserPtr<tern_msg> reply_msg, Handle port,
                                     UserPtr<tern_msg> msg, Timeout timeout) {
    Task& task = self_task();
    [[clang::uninitialized]] tern_msg um; // filled by the copy
    // The reply half cannot fail the call, so its handle is decoded here rather than at
    // dispatch: a bad one is refused like any other bad reply.
    auto reply_handle = Handle::from(reply);
    obj::Ref<Port> receive_port;              // set by fast_reply_target
    [[clang::uninitialized]] DirectCopy copy; // planned by fast_reply_target
    base::Result<void> sent = {};
    if (reply_handle.is_error()) {
        sent = reply_handle.error();
    } else if (auto object =
                   task.handles().get_as<Reply>(reply_handle.value().value(), TERN_RIGHT_SEND);
               object.is_error()) {
        sent = object.error();
    } else if (auto read = reply_msg.read(um); read.is_error()) {
        sent = read.error();
    } else if (Thread* caller = fast_reply_target(task, *object.value(), um, port, timeout,
                                                  receive_port, copy)) {
        // The answer goes straight into the caller's answer slot (its data part into the
        // caller's buffer), the reply right leaves the table, and the receive runs the
        // caller as it waits.
        obj::Message& m = caller->m_reply;
        TERN_ASSERT(!m.owns_resources() && m.data_size() == 0);
        if (um.hdr.data_size)
            copy.run();
        m.header.label = um.hdr.label;
        m.header.data_size = um.hdr.data_size;
        m.header.flags = 0;
        m.header.sender_badge = task.id();
        for (int i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
            m.words[i] = um.words[i];
        object.value()->mark_answered();
        (void)task.handles().remove(reply_handle.value().value(), nullptr);
        ++g_ipc_stats.fast_replies;
        Thread* handoff = caller;
        auto r = receive_on(task, *receive_port, msg, timeout, &handoff);
        if (handoff) // the receive did not wait (its buffer is bad): wake the caller
            caller->m_waiting_on->wake_specific(*caller, base::Error::OK);
        return r;
    } else {
        sent = answer_call(task, reply_handle.value(), *object.value(), um);
    }
    if (sent.is_error()) {
        if (sent.error() == base::Error::PEER_CLOSED) {
            // The caller is gone: what the reply carried goes as it would have with it.
            remove_sent_handles(task, um);
        } else {
            // The server's own bug. Its caller must not wait forever: dropping the right
            // wakes it with PEER_CLOSED. The reply's handles stay with the server. Only a
            // reply right is dropped: a handle of another kind named in its place stays as
            // it is, since removing it here would bypass what closing it does (a port's
            // receive right taken this way left the port open with nobody to receive, and
            // its queued messages and whatever they hold alive for good).
            bool is_reply =
                reply_handle.ok()
                && task.handles().get(reply_handle.value().value(), TERN_OBJ_REPLY, 0).ok();
            static uint32_t logged = 0;
            if (logged++ < 16)
                log::warn("task {} '{}': port_reply_receive: reply refused ({}); {}", task.id(),
                          task.name(), base::error_name(sent.error()),
                          is_reply ? "the caller gets PEER_CLOSED" : "no reply right named");
            if (is_reply)
                (void)task.handles().remove(reply_handle.value().value(), nullptr);
        }
    }
    return receive_message(task, port, msg, timeout);
}

SyscallResult sys_port_reply_error(Handle reply_handle, uint64_t status) {
    Task& task = self_task();
    auto reply = TRY(task.handles().get_as<Reply>(reply_handle.value(), TERN_RIGHT_SEND));
    // Only what a call can fail with for reasons on the far side: a status about the
    // caller's own arguments or thread (BAD_HANDLE, BAD_ADDRESS, INTERRUPTED, ...) would
    // be a lie, and OK is no failure.
    switch (status) {
    case TERN_NODE_DOWN:
    case TERN_PEER_CLOSED:
    case TERN_TIMED_OUT:
    case TERN_WOULD_BLOCK:
    case TERN_TOO_BIG:
    case TERN_NO_MEMORY:
    case TERN_QUOTA_EXCEEDED:
        break;
    default: {
        static uint32_t logged = 0;
        if (logged++ < 16)
            log::warn("task {} '{}': port_reply_error: status {} is not one a call can fail with",
                      task.id(), task.name(), status);
        return base::Error::INVALID_ARGUMENT;
    }
    }
    // The reply right is consumed whether or not the caller is still there.
    (void)task.handles().remove(reply_handle.value(), nullptr);
    TRY(reply->fail(base::Error(int32_t(status))));
    return 0;
}

SyscallResult sys_ipc_stats(UserPtr<tern_ipc_stats> out) {
    tern_ipc_stats stats = g_ipc_stats;
    stats.slow_calls = syscall_count(TERN_SYS_port_call) - stats.fast_calls;
    stats.slow_replies = syscall_count(TERN_SYS_port_reply_receive) - stats.fast_replies;
    stats.slow_reg_calls = syscall_count(TERN_SYS_port_call_regs) - stats.fast_reg_calls;
    stats.slow_reg_replies =
        syscall_count(TERN_SYS_port_reply_receive_regs) - stats.fast_reg_replies;
    TRY(out.write(stats));
    return 0;
}

namespace {

// Register IPC: port_call_regs and port_reply_receive_regs carry a message of inline
// words in the user registers (syscalls.h gives the layout), so the fast path copies
// nothing through user memory, and the server's reply right stays in its thread
// (Thread::m_held_reply) rather than entering and leaving its handle table.

// True when a message fits the registers: no data part, and no handle but a call's
// reply right.
[[gnu::always_inline]] inline bool fits_registers(const obj::Message& m) {
    uint32_t rights = (m.header.flags & TERN_MSG_FLAG_CALL) ? 1 : 0;
    return m.data_size() == 0 && m.header.handle_count == rights;
}

// Delivers such a message into the current thread's registers; a call's reply right
// stays with the thread. `m` is left empty.
void message_to_registers(Thread& self, obj::Message& m) {
    if (m.header.flags & TERN_MSG_FLAG_CALL) {
        self.m_held_reply = base::move(m.handles[0].object);
        m.handles[0].rights = 0;
        m.header.handle_count = 0;
    }
    message_to_frame(self.user_frame(), m.header.label, m.header.sender_badge, m.header.flags,
                     m.words);
    m.reset();
}

// The tern_msg at RBP, for a message that does not fit the registers. BAD_ADDRESS: not
// writable user memory; NO_SPACE: RBP is 0.
base::Result<UserPtr<tern_msg>> register_overflow_buffer(Task& task, Thread& self) {
    uint64_t at = self.user_frame().rbp;
    if (at == 0)
        return base::Error::NO_SPACE;
    UserPtr<tern_msg> msg(at);
    if (!message_writable(task, msg))
        return base::Error::BAD_ADDRESS;
    return msg;
}

// The receive half of port_reply_receive_regs: as receive_on, into registers, waiting
// until `deadline` (timeout.deadline(), 0 for none) when it blocks.
SyscallResult receive_regs(Task& task, Thread& self, Port& p, Timeout timeout, uint64_t deadline,
                           Thread** handoff) {
    for (;;) {
        uint32_t key = 0;
        if (Port* source = p.ready_source(&key)) {
            if (!source->has_events()) {
                obj::Message& head = *source->queue().front();
                if (!fits_registers(head)) {
                    // A data part or handles: the whole message goes to the tern_msg at
                    // RBP, as port_receive would deliver it (it stays queued otherwise).
                    auto buffer = TRY(register_overflow_buffer(task, self));
                    SyscallResult r = receive_on(task, p, buffer, Timeout(0), nullptr);
                    if (r.ok())
                        self.user_frame().rdi = TERN_MSG_FLAG_IN_BUFFER;
                    return r;
                }
                message_to_registers(self, head);
                source->drop_delivered();
                return key;
            }
            [[clang::uninitialized]] obj::Message event;
            (void)source->take_event(event); // has_events() said there is one
            message_to_registers(self, event);
            return key;
        }
        if (p.closed())
            return base::Error::PEER_CLOSED;
        if (!timeout.blocks())
            return base::Error::WOULD_BLOCK;
        self.m_receive_regs = true;
        base::Error e;
        if (*handoff)
            e = p.wait_for_message_switching_to(*base::exchange(*handoff, nullptr), deadline);
        else
            e = p.wait_for_message(deadline);
        self.m_receive_regs = false;
        if (self.m_direct) {
            // A fast call is in the registers already, its reply right held (hand_call).
            self.m_direct = false;
            return 0;
        }
        if (e != base::Error::OK)
            return e;
    }
}

[[gnu::noinline]] SyscallResult finish_call_regs(Task& task, Thread& self, Reply& pending,
                                                 base::Error e);

// The end of the fast path's receive when no call was handed over: its error, or (woken
// by a queued message or a signal) the handler's receive goes on, with the same deadline.
[[gnu::noinline]] SyscallResult finish_receive_regs(Task& task, Thread& self, Port& port,
                                                    Timeout timeout, uint64_t deadline,
                                                    base::Error e) {
    if (e != base::Error::OK)
        return e;
    Thread* none = nullptr;
    return receive_regs(task, self, port, timeout, deadline, &none);
}

} // namespace

SyscallResult sys_port_call_regs(Handle port_handle, uint64_t label, Timeout timeout) {
    Thread* self = current_thread();
    Task& task = *self->task();
    if (label >> 32)
        return base::Error::INVALID_ARGUMENT;
    auto port = TRY(port_from(task, port_handle, TERN_RIGHT_SEND));
    x86_64::TrapFrame& f = self->user_frame();
    uint64_t words[TERN_MSG_INLINE_WORDS];
    words_from_frame(f, words);
    uint64_t deadline = timeout.deadline();
    Reply* pending = TRY(Reply::for_call(*self, *task.account()));
    base::Error e;
    Thread* server = nullptr;
    if (timeout.blocks() && !self->m_exit_requested && port->queue().is_empty()
        && !port->has_events() && !port->closed())
        server = fast_receiver(*port);
    self->m_call_regs = true;
    if (server) {
        // The fast path: the call goes straight to the waiting server and the CPU with it.
        hand_call(*server, uint32_t(label), task.id(), words, pending);
        ++g_ipc_stats.fast_reg_calls;
        e = pending->waiter().wait_switching_to(*server, deadline);
    } else {
        [[clang::uninitialized]] obj::Message m;
        m.header.label = uint32_t(label);
        m.header.data_size = 0;
        m.header.handle_count = 0;
        m.header.flags = TERN_MSG_FLAG_CALL;
        m.header.sender_badge = task.id();
        for (int i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
            m.words[i] = words[i];
        InterruptGuard guard;
        if (auto added = m.add_handle(obj::Ref<obj::KObject>::retain(pending),
                                      TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
            added.is_error()) {
            self->m_call_regs = false;
            pending->abandon();
            return added.error();
        }
        if (auto sent = port->send(base::move(m), deadline, timeout.blocks()); sent.is_error()) {
            self->m_call_regs = false;
            pending->abandon(); // never sent: the reply goes back to the slot unused
            return sent.error();
        }
        e = pending->waiter().wait(deadline);
    }
    return finish_call_regs(task, *self, *pending, e);
}

namespace {

// The end of a port_call_regs, once its wait is over (either path): the answer, if any,
// goes into the caller's registers or its overflow tern_msg.
[[gnu::noinline]] SyscallResult finish_call_regs(Task& task, Thread& self, Reply& pending,
                                                 base::Error e) {
    self.m_call_regs = false;
    // As port_call: a late answer is refused from here on.
    pending.abandon();
    bool in_frame = base::exchange(self.m_direct, false);
    if (e != base::Error::OK)
        return e;
    if (in_frame)
        return 0; // the fast reply wrote the registers
    x86_64::TrapFrame& f = self.user_frame();
    obj::Message& answer = self.m_reply;
    if (fits_registers(answer)) {
        message_to_frame(f, answer.header.label, answer.header.sender_badge, answer.header.flags,
                         answer.words);
        answer.reset();
        return 0;
    }
    auto buffer = register_overflow_buffer(task, self);
    if (buffer.is_error()) {
        answer.reset();
        return buffer.error();
    }
    [[clang::uninitialized]] tern_msg um;
    if (auto r = buffer.value().read(um); r.is_error()) {
        answer.reset();
        return r.error();
    }
    um.reserved = 0;
    um.reserved2 = 0;
    bool consumed = false;
    if (auto r = deliver(task, answer, buffer.value(), um, &consumed); r.is_error()) {
        answer.reset();
        return r.error();
    }
    message_to_frame(f, um.hdr.label, um.hdr.sender_badge, TERN_MSG_FLAG_IN_BUFFER, um.words);
    return 0;
}

} // namespace

SyscallResult sys_port_reply_receive_regs(Handle port_handle, uint64_t label, Timeout timeout) {
    Thread& self = *current_thread();
    Task& task = *self.task();
    if (label >> 32)
        return base::Error::INVALID_ARGUMENT;
    // The receive port is looked up first (the fast reply needs to know that the receive
    // will wait), but a bad one fails the call only after the answer has gone.
    auto port = port_from(task, port_handle, TERN_RIGHT_RECEIVE);
    Thread* handoff = nullptr;
    if (self.m_held_reply) {
        Reply& reply = *static_cast<Reply*>(self.m_held_reply.get());
        x86_64::TrapFrame& f = self.user_frame();
        uint64_t words[TERN_MSG_INLINE_WORDS];
        words_from_frame(f, words);
        Thread* caller = reply.waiting_caller();
        uint32_t key = 0;
        if (caller && timeout.blocks() && !self.m_exit_requested && can_hand_off_to(*caller)
            && port.ok() && !port.value()->closed() && !port.value()->ready_source(&key)) {
            // The fast reply: straight into the caller's registers (or its answer slot, for
            // a port_call), and the receive below runs the caller as it waits.
            if (caller->m_call_regs) {
                message_to_frame(caller->user_frame(), uint32_t(label), task.id(), 0, words);
                caller->m_direct = true;
            } else {
                obj::Message& m = caller->m_reply;
                TERN_ASSERT(!m.owns_resources() && m.data_size() == 0);
                m.header.label = uint32_t(label);
                m.header.flags = 0;
                m.header.sender_badge = task.id();
                for (int i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
                    m.words[i] = words[i];
            }
            reply.mark_answered();
            handoff = caller;
            ++g_ipc_stats.fast_reg_replies;
        } else {
            [[clang::uninitialized]] obj::Message m;
            m.header.label = uint32_t(label);
            m.header.data_size = 0;
            m.header.handle_count = 0;
            m.header.flags = 0;
            m.header.sender_badge = task.id();
            for (int i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
                m.words[i] = words[i];
            (void)reply.answer(base::move(m)); // PEER_CLOSED: the caller gave up
        }
        self.m_held_reply.reset();
    }
    if (port.is_error()) {
        if (handoff)
            handoff->m_waiting_on->wake_specific(*handoff, base::Error::OK);
        return port.error();
    }
    auto r = receive_regs(task, self, *port.value(), timeout, timeout.deadline(), &handoff);
    if (handoff) // the receive did not wait: wake the caller
        handoff->m_waiting_on->wake_specific(*handoff, base::Error::OK);
    return r;
}

namespace {

[[gnu::always_inline]] inline uint64_t to_rax(const SyscallResult& r) {
    return r.is_error() ? uint64_t(base::to_syscall_return(r.error())) : r.value();
}

} // namespace

// The message in the sender's registers f (label, words), as the receiver's registers
// get it: the label in RSI, the sender's badge in RDX, flags in RDI, the words in R10, R8,
// R9, R12-R15 and RBX.
[[gnu::always_inline]] inline void put_register_message(x86_64::TrapFrame& to,
                                                        const x86_64::TrapFrame& f, uint64_t badge,
                                                        uint64_t flags) {
    to.rsi = uint32_t(f.rsi);
    to.rdx = badge;
    to.rdi = flags;
    to.r10 = f.r10;
    to.r8 = f.r8;
    to.r9 = f.r9;
    to.r12 = f.r12;
    to.r13 = f.r13;
    to.r14 = f.r14;
    to.r15 = f.r15;
    to.rbx = f.rbx;
}

// The register pair's fast path, tried by the dispatch before it decodes anything
// (dispatch.h). The common case of port_call_regs (the handler above) on the registers
// as they came: a blocking call to a port with nothing pending whose receiver
// waits in a register receive, with the caller's reply object free for reuse. It checks
// every condition before it changes anything; when one fails it returns false and the
// handler runs as before, which gives every error and every other case. Neither function
// has a buffer on its stack, so neither needs the stack protector's canary.
__attribute__((no_stack_protector)) bool fastpath_call_regs(x86_64::TrapFrame& f) {
    Thread& self = *current_thread();
    if (f.rdx == TERN_TIMEOUT_NONE || (f.rsi >> 32) != 0 || (f.rdi >> 32) != 0
        || self.m_exit_requested) [[unlikely]]
        return false;
    Task& task = *self.task();
    Port* port = task.handles().peek<Port>(tern_handle_t(f.rdi), TERN_RIGHT_SEND);
    if (!port || !port->queue().is_empty() || port->has_events() || port->closed()) [[unlikely]]
        return false;
    Thread* server = port->waiting_receiver();
    if (!server || !server->m_receive_regs || !can_hand_off_to(*server)) [[unlikely]]
        return false;
    Reply* pending = Reply::reuse_slot(self);
    if (!pending) [[unlikely]]
        return false;
    // From here on, as the handler's fast branch (hand_call).
    put_register_message(server->user_frame(), f, task.id(), TERN_MSG_FLAG_CALL);
    server->m_held_reply = obj::Ref<obj::KObject>::retain(pending);
    server->m_direct = true;
    ++g_ipc_stats.fast_reg_calls;
    ++g_ipc_stats.entry_reg_calls;
    self.m_call_regs = true;
    base::Error e = pending->waiter().wait_switching_to(*server, Timeout(f.rdx).deadline());
    if (e == base::Error::OK && self.m_direct) [[likely]] {
        // The fast reply wrote the registers (as finish_call_regs, which takes the rest).
        self.m_call_regs = false;
        self.m_direct = false;
        pending->abandon();
        f.rax = 0;
        return true;
    }
    f.rax = to_rax(finish_call_regs(task, self, *pending, e));
    return true;
}

// The same for port_reply_receive_regs: the held call's caller waits in port_call_regs,
// the receive will wait (nothing pending, a blocking timeout), and the answer goes straight
// into the caller's registers while this thread waits on its port and the caller runs.
__attribute__((no_stack_protector)) bool fastpath_reply_receive_regs(x86_64::TrapFrame& f) {
    Thread& self = *current_thread();
    if (f.rdx == TERN_TIMEOUT_NONE || (f.rsi >> 32) != 0 || (f.rdi >> 32) != 0
        || self.m_exit_requested || !self.m_held_reply) [[unlikely]]
        return false;
    Reply& reply = *static_cast<Reply*>(self.m_held_reply.get());
    Thread* caller = reply.waiting_caller();
    if (!caller || !caller->m_call_regs || !can_hand_off_to(*caller)) [[unlikely]]
        return false;
    Task& task = *self.task();
    // A port set goes the handler's way (ready_source); for a port with no members,
    // nothing pending is exactly an empty queue and no event.
    Port* port = task.handles().peek<Port>(tern_handle_t(f.rdi), TERN_RIGHT_RECEIVE);
    if (!port || port->closed() || !port->queue().is_empty() || port->has_events()
        || port->member_count() != 0) [[unlikely]]
        return false;
    put_register_message(caller->user_frame(), f, task.id(), 0);
    caller->m_direct = true;
    reply.mark_answered();
    ++g_ipc_stats.fast_reg_replies;
    ++g_ipc_stats.entry_reg_replies;
    // The server lets go of the answered call. The caller's reply slot holds the other
    // reference (a caller waits only on the reply in its slot), and Reply::unshared has
    // nothing to do for an answered call.
    self.m_held_reply.release()->release_shared_ref();
    // The port stays alive while this thread waits on it, as the handler's lookup keeps it.
    obj::Ref<Port> held_port = obj::Ref<Port>::retain(port);
    Timeout timeout(f.rdx);
    uint64_t deadline = timeout.deadline();
    self.m_receive_regs = true;
    base::Error e = port->wait_for_message_switching_to(*caller, deadline);
    self.m_receive_regs = false;
    if (self.m_direct) {
        // A fast call is in the registers already, its reply right held.
        self.m_direct = false;
        f.rax = 0;
        return true;
    }
    f.rax = to_rax(finish_receive_regs(task, self, *port, timeout, deadline, e));
    return true;
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

base::Result<WatchArgs> watch_args(Task& task, Handle object_handle, Handle port_handle) {
    auto port = TRY(port_from(task, port_handle, TERN_RIGHT_RECEIVE));
    auto object = TRY(task.handles().get(object_handle.value(), TERN_OBJ_ANY, 0, nullptr));
    obj::KObject* o = object.get();
    WatchList* list = o->type() == TERN_OBJ_TASK   ? &static_cast<Task*>(o)->watchers()
                      : o->type() == TERN_OBJ_PORT ? &static_cast<Port*>(o)->watchers()
                                                   : nullptr;
    if (!list)
        return base::Error::WRONG_TYPE;
    return WatchArgs{base::move(object), base::move(port), list};
}

} // namespace

SyscallResult sys_object_watch(Handle object, Handle port, uint64_t cookie) {
    WatchArgs args = TRY(watch_args(self_task(), object, port));
    obj::KObject* o = args.object.get();
    if (o->type() == TERN_OBJ_TASK) {
        TRY(static_cast<Task*>(o)->watch(base::move(args.port), cookie, self_task().account()));
        return 0;
    }
    Port* watched = static_cast<Port*>(o);
    TRY(watched->watchers().add(base::move(args.port), cookie, TERN_OBJ_PORT,
                                self_task().account()));
    if (watched->closed())
        watched->watchers().fire(0);
    return 0;
}

SyscallResult sys_object_unwatch(Handle object, Handle port, uint64_t cookie) {
    WatchArgs args = TRY(watch_args(self_task(), object, port));
    InterruptGuard guard;
    TRY(args.list->remove(*args.port, cookie));
    return 0;
}

SyscallResult sys_port_signal(Handle port_handle, uint64_t bits) {
    auto port = TRY(port_from(self_task(), port_handle, TERN_RIGHT_SIGNAL));
    if (bits == 0)
        return base::Error::INVALID_ARGUMENT;
    TRY(port->signal(bits));
    return 0;
}

SyscallResult sys_port_capture(Handle port_handle, UserArray<tern_msg> out) {
    Task& task = self_task();
    auto port = TRY(port_from(task, port_handle, TERN_RIGHT_RECEIVE));
    obj::MessageQueue& q = port->queue();
    // Answers still owed to asynchronous calls would land in the old queue after the
    // capture: a port with reserved slots cannot be moved yet.
    if (q.reserved())
        return base::Error::BAD_STATE;
    uint64_t n = q.size();
    if (n > out.count())
        return base::Error::NO_SPACE;
    if (n && !out.in_user_space(n))
        return base::Error::BAD_ADDRESS;
    // Check that everything fits before taking anything.
    uint64_t handles = 0;
    uint32_t i = 0;
    // Staging on the heap: a full queue is far bigger than a kernel stack.
    auto* scratch_queue = new (kNoThrow) obj::MessageQueue(obj::MessageQueue::kMaxCapacity);
    if (!scratch_queue)
        return base::Error::NO_MEMORY;
    obj::MessageQueue& scratch = *scratch_queue;
    base::Error failure = base::Error::OK;
    q.drain([&](obj::Message&& m) {
        tern_msg um;
        if (failure == base::Error::OK) {
            UserPtr<tern_msg> at = out.at(i);
            if (auto c = at.read(um); c.is_error())
                failure = c.error();
            else if (m.data_size() > um.data_capacity)
                failure = base::Error::NO_SPACE;
            else if (auto w = at.write(um); w.is_error())
                failure = w.error();
            else if (m.data_size()
                     && (!user_range_ok(um.data, m.data_size())
                         || !task.user_access_ok(um.data, m.data_size(), true)))
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
        return failure;
    }
    i = 0;
    scratch.drain([&](obj::Message&& m) {
        tern_msg um;
        UserPtr<tern_msg> at = out.at(i);
        bool consumed = false;
        if (at.read(um).ok())
            (void)deliver(task, m, at, um, &consumed);
        ++i;
    });
    delete scratch_queue;
    port->queue_space_freed();
    return n;
}

SyscallResult sys_port_restore(Handle port_handle, UserArray<tern_msg> msgs) {
    Task& task = self_task();
    auto port = TRY(port_from(task, port_handle, TERN_RIGHT_SEND | TERN_RIGHT_RECEIVE));
    obj::MessageQueue& q = port->queue();
    uint64_t n = msgs.count();
    if (n > obj::MessageQueue::kMaxCapacity || q.free_slots() < n)
        return base::Error::WOULD_BLOCK;
    auto* staged = new (kNoThrow) obj::MessageQueue(obj::MessageQueue::kMaxCapacity);
    auto* sent = new (kNoThrow) tern_msg[obj::MessageQueue::kMaxCapacity];
    if (!staged || !sent) {
        delete staged;
        delete[] sent;
        return base::Error::NO_MEMORY;
    }
    base::Error failure = base::Error::OK;
    for (uint64_t i = 0; i < n && failure == base::Error::OK; ++i) {
        tern_msg& um = sent[i];
        if (auto c = msgs.at(i).read(um); c.is_error()) {
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
        if (auto b = build_message(task, plain, m, max, port.get()); b.is_error()) {
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
        // A captured answer to an asynchronous call goes back as one (its badge, the
        // cookie, is restored like any other).
        m.header.flags |= um.hdr.flags & TERN_MSG_FLAG_ASYNC_REPLY;
        (void)staged->push(base::move(m));
    }
    if (failure == base::Error::OK) {
        staged->drain([&](obj::Message&& m) { (void)q.push(base::move(m)); });
        for (uint64_t i = 0; i < n; ++i) {
            remove_sent_handles(task, sent[i]);
            if (sent[i].reply_handle)
                (void)task.handles().remove(sent[i].reply_handle, nullptr);
        }
        port->queue_filled();
    }
    delete staged;
    delete[] sent;
    if (failure != base::Error::OK)
        return failure;
    return n;
}

} // namespace kernel

// The server side of the typed protocol layer (libc/native/include/tern/protocol.h).
#include <base/assert.h>
#include <base/utility.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/syscall_result.h>

namespace tern::proto {
namespace {

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

void close_handles(const tern_handle_t* handles, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i)
        if (handles[i] != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(handles[i]);
}

} // namespace

void Server::add(uint32_t label, uint32_t request_size, uint32_t response_size,
                 const Limits& limits, void* context, void* handler,
                 base::Error (*invoke)(void*, void*, Request&, const void*, void*, Reply&,
                                       PendingReply&)) {
    // A server's operations are fixed when it is written, so this is a programming error.
    TERN_VERIFY(m_op_count < kMaxOps);
    for (size_t i = 0; i < m_op_count; ++i)
        TERN_VERIFY(m_ops[i].label != label); // one handler per label: dispatch takes the first
    m_ops[m_op_count++] =
        Entry{label, request_size, response_size, limits, context, handler, invoke};
}

void Server::log_refusal(const tern_msg& msg, base::Error status, const char* why) {
    ++m_refused;
    int64_t clock = tern_sys_clock_monotonic();
    uint64_t now = clock > 0 ? uint64_t(clock) : 0;
    if (m_window_refused == 0 || now - m_window_start >= kRefusalWindowNs) {
        if (m_window_unlogged > 0)
            tern::println("{}: {} refusals in the last minute were not logged", m_name,
                          m_window_unlogged);
        m_window_start = now;
        m_window_refused = 0;
        m_window_unlogged = 0;
    }
    uint64_t n = ++m_window_refused;
    if (n < kLoggedRefusals) {
        tern::println("{}: refused request {:#x} from task {}: {} ({})", m_name, msg.hdr.label,
                      msg.hdr.sender_badge, why, base::error_name(status));
    } else if (n == kLoggedRefusals) {
        tern::println("{}: refused request {:#x} from task {}: {} ({}); 1 refusal in {} is "
                      "logged for the rest of the minute",
                      m_name, msg.hdr.label, msg.hdr.sender_badge, why, base::error_name(status),
                      kRefusalLogInterval);
    } else if (n % kRefusalLogInterval == 0) {
        tern::println("{}: refused request {:#x} from task {}: {} ({}); {} refusals this minute",
                      m_name, msg.hdr.label, msg.hdr.sender_badge, why, base::error_name(status),
                      n);
    } else {
        ++m_window_unlogged;
    }
}

void Server::refuse(tern_msg& msg, base::Error status, const char* why) {
    log_refusal(msg, status, why);
    close_handles(msg.handles, msg.hdr.handle_count);
    if (msg.reply_handle != TERN_INVALID_HANDLE)
        (void)reply_raw(msg.reply_handle, status, nullptr, 0, Reply{});
}

base::Error Server::serve_one(uint64_t timeout_ns) {
    if (!m_buffer) {
        // Every request is received whole, whatever its size, so a client that sends
        // more than an operation allows is answered instead of blocking the queue.
        m_buffer_size = TERN_MSG_MAX_DATA;
        m_buffer = new uint8_t[m_buffer_size];
    }
    tern_msg msg = {};
    msg.data = addr(m_buffer);
    msg.data_capacity = uint32_t(m_buffer_size);
    int64_t key;
    if (m_held_reply != TERN_INVALID_HANDLE) {
        // The last answer and this wait, in one syscall. Its reply half cannot fail it:
        // the kernel drops what a vanished caller would have got.
        key = tern_sys_port_reply_receive(m_held_reply, addr(&m_held_msg), m_port, addr(&msg),
                                          timeout_ns);
        m_held_reply = TERN_INVALID_HANDLE;
    } else {
        key = tern_sys_port_receive(m_port, addr(&msg), timeout_ns);
    }
    if (key < 0)
        return tern::sys_status(key);
    if (key != 0 && m_member_handler && uint32_t(key) != m_request_key) {
        m_member_handler(m_member_context, msg, uint32_t(key));
        return base::Error::OK;
    }
    // Kernel events carry badge 0; every message a task sends carries its (non-zero) task
    // id, so a client cannot pass its message off as a signal or a death notice.
    bool from_kernel = msg.hdr.sender_badge == 0;
    if (from_kernel
        && (msg.hdr.label == TERN_LABEL_SIGNAL || msg.hdr.label == TERN_LABEL_OBJECT_GONE)) {
        if (m_event_handler)
            m_event_handler(m_event_context, msg, uint32_t(key));
        return base::Error::OK;
    }
    if (msg.reply_handle == TERN_INVALID_HANDLE) {
        refuse(msg, base::Error::INVALID_ARGUMENT, "not a call");
        return base::Error::OK;
    }
    const Entry* op = nullptr;
    for (size_t i = 0; i < m_op_count; ++i)
        if (m_ops[i].label == msg.hdr.label) {
            op = &m_ops[i];
            break;
        }
    if (!op) {
        refuse(msg, base::Error::NOT_SUPPORTED, "unknown operation");
        return base::Error::OK;
    }
    if (msg.hdr.data_size > op->limits.request_data
        || msg.hdr.handle_count > op->limits.request_handles) {
        refuse(msg, base::Error::TOO_BIG, "parts over the operation's limits");
        return base::Error::OK;
    }
    uint64_t in[TERN_MSG_INLINE_WORDS];
    uint64_t out[TERN_MSG_INLINE_WORDS] = {};
    __builtin_memcpy(in, msg.words, sizeof(in));
    Request request(&msg, uint32_t(key));
    Reply reply;
    PendingReply pending{msg.reply_handle};
    base::Error status = op->invoke(op->handler, op->context, request, in, out, reply, pending);
    close_handles(msg.handles, msg.hdr.handle_count); // those the handler did not take
    ++m_served;
    if (reply.deferred)
        return base::Error::OK;
    if (is_refusal(status))
        log_refusal(msg, status, request.refusal_reason());
    if (status == base::Error::OK
        && (reply.data.size() > op->limits.response_data
            || reply.handle_count > op->limits.response_handles)) {
        tern::println("{}: BUG: reply to {:#x} over the operation's limits", m_name, msg.hdr.label);
        status = base::Error::TOO_BIG;
    }
    if (m_batch_replies) {
        build_reply(m_held_msg, status, out, op->response_size, reply);
        m_held_reply = msg.reply_handle;
        return base::Error::OK;
    }
    (void)reply_raw(msg.reply_handle, status, out, op->response_size, reply);
    return base::Error::OK;
}

void Server::flush_reply() {
    if (m_held_reply == TERN_INVALID_HANDLE)
        return;
    if (tern_sys_port_reply(m_held_reply, addr(&m_held_msg)) < 0) {
        // Handles that did not go stay ours; nobody else will close them.
        close_handles(m_held_msg.handles, m_held_msg.hdr.handle_count);
        (void)tern_sys_handle_close(m_held_reply); // no-op when consumed
    }
    m_held_reply = TERN_INVALID_HANDLE;
}

void Server::run() {
    m_batch_replies = true;
    for (;;) {
        base::Error e = serve_one();
        if (e == base::Error::OK)
            continue;
        if (e == base::Error::PEER_CLOSED || e == base::Error::BAD_HANDLE
            || e == base::Error::ACCESS_DENIED || e == base::Error::WRONG_TYPE) {
            tern::println("{}: its port is unusable ({}); stopping", m_name, base::error_name(e));
            tern_sys_task_exit(1);
            __builtin_trap();
        }
        // Anything else (QUOTA_EXCEEDED with a full handle table, say) may pass; a server
        // that others depend on keeps going rather than take the node down with it.
        tern::println("{}: receive failed: {}", m_name, base::error_name(e));
        tern_sys_thread_sleep(10000000);
    }
}

} // namespace tern::proto

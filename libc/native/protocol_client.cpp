// The client side of the typed protocol layer (libc/native/include/tern/protocol.h),
// also linked into C programs on musl. It never allocates and never prints.
#include <base/utility.h>
#include <tern/ipc_regs.h>
#include <tern/protocol.h>
#include <tern/syscall_result.h>

namespace tern::proto {
namespace {

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

base::Error status_error(uint64_t status) {
    if (status > uint64_t(TERN_TOO_BIG) + 64) // not a status any server sends
        return base::Error::CORRUPT;
    return base::Error(int32_t(status));
}

void close_handles(const tern_handle_t* handles, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i)
        if (handles[i] != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(handles[i]);
}

} // namespace

base::Error call_raw(tern_handle_t port, uint32_t label, const void* request, size_t request_size,
                     void* response, size_t response_size, const Limits& limits,
                     const CallParts& parts, uint64_t timeout_ns) {
    if (parts.in_data.size() > limits.request_data
        || parts.in_handles.size() > limits.request_handles)
        return base::Error::TOO_BIG;
    // A reply's data part that does not fit is lost in the kernel (the call fails with
    // NO_SPACE after the server acted), so the room is checked before anything happens.
    if (parts.out_data.size() < limits.response_data)
        return base::Error::INVALID_ARGUMENT;
    tern_msg msg = {};
    msg.hdr.label = label;
    __builtin_memcpy(msg.words, request, request_size);
    // One buffer serves the request's data part (copied by the kernel at send) and the
    // reply's, so request bytes are staged in the reply buffer when both are used.
    if (!parts.in_data.empty()) {
        if (!parts.out_data.empty()) {
            if (parts.out_data.size() < parts.in_data.size())
                return base::Error::INVALID_ARGUMENT;
            __builtin_memmove(parts.out_data.data(), parts.in_data.data(), parts.in_data.size());
            msg.data = addr(parts.out_data.data());
        } else {
            msg.data = addr(parts.in_data.data());
        }
        msg.hdr.data_size = uint32_t(parts.in_data.size());
    } else {
        msg.data = addr(parts.out_data.data());
    }
    msg.data_capacity = uint32_t(parts.out_data.size());
    msg.hdr.handle_count = uint32_t(parts.in_handles.size());
    for (size_t i = 0; i < parts.in_handles.size(); ++i)
        msg.handles[i] = parts.in_handles[i];
    int64_t r;
    if (parts.in_data.empty() && parts.in_handles.empty() && limits.response_data == 0
        && limits.response_handles == 0) {
        // Inline words only both ways: the call goes in registers (the IPC fast path).
        // An answer with a data part or handles all the same (a server's bug) lands in
        // msg as port_call would have left it, and is refused below.
        tern_reg_msg m;
        m.label = label;
        __builtin_memcpy(m.words, msg.words, sizeof(m.words));
        r = tern_call_regs(port, &m, timeout_ns, &msg);
        if (r >= 0 && !(m.flags & TERN_MSG_FLAG_IN_BUFFER)) {
            msg.hdr.label = uint32_t(m.label);
            msg.hdr.data_size = 0;
            msg.hdr.handle_count = 0;
            __builtin_memcpy(msg.words, m.words, sizeof(msg.words));
        }
    } else {
        r = tern_sys_port_call(port, addr(&msg), timeout_ns);
    }
    if (r < 0)
        return tern::sys_status(r);
    uint32_t room = parts.out_handles ? limits.response_handles : 0;
    if (msg.hdr.label != 0 || msg.hdr.handle_count > room
        || msg.hdr.data_size > limits.response_data) {
        close_handles(msg.handles, msg.hdr.handle_count);
        return msg.hdr.label != 0 ? status_error(msg.hdr.label) : base::Error::CORRUPT;
    }
    __builtin_memcpy(response, msg.words, response_size);
    if (parts.out_data_size)
        *parts.out_data_size = msg.hdr.data_size;
    for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
        parts.out_handles[i] = msg.handles[i];
    if (parts.out_handle_count)
        *parts.out_handle_count = msg.hdr.handle_count;
    return base::Error::OK;
}

tern_handle_t Request::take_handle(uint32_t i) {
    if (i >= m_msg->hdr.handle_count)
        return TERN_INVALID_HANDLE;
    return base::exchange(m_msg->handles[i], TERN_INVALID_HANDLE);
}

void build_reply(tern_msg& msg, base::Error status, const void* response, size_t response_size,
                 const Reply& parts) {
    msg = {};
    msg.hdr.label = uint32_t(status);
    if (status == base::Error::OK) {
        __builtin_memcpy(msg.words, response, response_size);
        msg.data = addr(parts.data.data());
        msg.hdr.data_size = uint32_t(parts.data.size());
        msg.hdr.handle_count = parts.handle_count;
        for (uint32_t i = 0; i < parts.handle_count; ++i)
            msg.handles[i] = parts.handles[i];
    } else {
        close_handles(parts.handles, parts.handle_count);
    }
}

base::Error reply_raw(tern_handle_t reply_handle, base::Error status, const void* response,
                      size_t response_size, const Reply& parts) {
    tern_msg msg;
    build_reply(msg, status, response, response_size, parts);
    int64_t r = tern_sys_port_reply(reply_handle, addr(&msg));
    if (r < 0) {
        // Handles that did not go stay ours; nobody else will close them.
        close_handles(msg.handles, msg.hdr.handle_count);
        (void)tern_sys_handle_close(reply_handle); // no-op when consumed
        return tern::sys_status(r);
    }
    return base::Error::OK;
}

} // namespace tern::proto

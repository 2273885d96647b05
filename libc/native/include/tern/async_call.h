#pragma once

// Asynchronous calls (port_call_async, <tern/abi/syscalls.h>): a call whose answer comes
// back later as a message on a port the caller receives on, tagged with a cookie, so one
// thread can have many calls outstanding:
//
//     TRY(tern::call_async(server, request, reply_port, /*cookie*/ slot));
//     ...
//     int64_t key = tern_sys_port_receive(set, addr(&msg), TERN_TIMEOUT_INFINITE);
//     if (tern::is_async_answer(msg)) {
//         Pending& p = pending[msg.hdr.sender_badge];       // the cookie, from the kernel
//         if (tern::async_answer_status(msg) != base::Error::OK) ... // the call failed
//     }

#include <base/error.h>
#include <base/result.h>
#include <stdint.h>
#include <tern/abi/errors.h>
#include <tern/abi/message.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

namespace tern {

// Sends msg to port as a call whose answer is queued on reply_port with sender_badge =
// cookie. Never blocks: WOULD_BLOCK when port is full or reply_port has no slot left to
// reserve for the answer (nothing is sent then).
[[nodiscard]] inline base::Result<void> call_async(tern_handle_t port, const tern_msg& msg,
                                                   tern_handle_t reply_port, uint64_t cookie) {
    return sys_result<void>(tern_sys_port_call_async(
        port, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&msg)), reply_port, cookie));
}

// True when a received message is the answer to an asynchronous call (its
// hdr.sender_badge is then the call's cookie).
[[nodiscard]] constexpr bool is_async_answer(const tern_msg& msg) {
    return (msg.hdr.flags & TERN_MSG_FLAG_ASYNC_REPLY) != 0;
}

// OK for the server's reply; for a call that failed (label TERN_LABEL_CALL_FAILED) the
// status in words[0]: PEER_CLOSED when its reply right was dropped unanswered, or what
// the server gave port_reply_error (NODE_DOWN from the bus, ...); PEER_CLOSED for a
// code outside the table.
[[nodiscard]] constexpr base::Error async_answer_status(const tern_msg& msg) {
    if (msg.hdr.label != TERN_LABEL_CALL_FAILED)
        return base::Error::OK;
    uint64_t status = msg.words[0];
    if (status == 0 || !base::is_known_error(int64_t(status)))
        return base::Error::PEER_CLOSED;
    return static_cast<base::Error>(int32_t(status));
}

} // namespace tern

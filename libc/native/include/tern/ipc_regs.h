/*
 * Tern native API: calls and replies with the message in registers.
 *
 * port_call_regs and port_reply_receive_regs (tern/abi/syscalls.h) take and return a
 * message of inline words in registers, the IPC fast path: nothing is copied through
 * memory and a server's reply right stays in its thread. Their register layout uses
 * registers the compiler keeps its own values in, so they are called through
 * tern_ipc_regs(), which loads a struct tern_reg_msg into them and stores the answer
 * back.
 *
 * Valid C and C++.
 */
#ifndef TERN_NATIVE_IPC_REGS_H
#define TERN_NATIVE_IPC_REGS_H

#include <stdint.h>
#include <tern/abi/message.h>
#include <tern/abi/syscalls.h>

struct tern_reg_msg {
    /* in: the label to send (port_call_regs) or to answer with (port_reply_receive_regs);
     * out: the label received */
    uint64_t label;
    uint64_t badge; /* out: the sender_badge received */
    uint64_t flags; /* out: its flags (TERN_MSG_FLAG_CALL, TERN_MSG_FLAG_IN_BUFFER) */
    uint64_t words[TERN_MSG_INLINE_WORDS]; /* in and out */
};

#ifdef __cplusplus
extern "C" {
#endif

/* Runs syscall `number` (TERN_SYS_port_call_regs or TERN_SYS_port_reply_receive_regs)
 * with port, timeout and the message in m; a message that does not fit the registers (a
 * data part or handles) is written to `overflow` (may be null). Returns the syscall's
 * result; on success m holds what came back, on failure it is unchanged. */
int64_t tern_ipc_regs(uint64_t number, uint64_t port, uint64_t timeout, struct tern_reg_msg* m,
                      struct tern_msg* overflow);

#ifdef __cplusplus
}
#endif

static inline int64_t tern_call_regs(uint64_t port, struct tern_reg_msg* m, uint64_t timeout,
                                     struct tern_msg* overflow) {
    return tern_ipc_regs(TERN_SYS_port_call_regs, port, timeout, m, overflow);
}

static inline int64_t tern_reply_receive_regs(uint64_t port, struct tern_reg_msg* m,
                                              uint64_t timeout, struct tern_msg* overflow) {
    return tern_ipc_regs(TERN_SYS_port_reply_receive_regs, port, timeout, m, overflow);
}

#endif /* TERN_NATIVE_IPC_REGS_H */

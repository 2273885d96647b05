/*
 * Tern ABI: the layout of a port message.
 *
 * A message is a header, a small inline payload that travels in registers on the fast
 * path, an optional data part copied through the kernel, and optionally handles moved or
 * copied to the receiver. Every part has a fixed bound so a queue slot has a fixed size
 * and a send can be checked before anything is allocated.
 *
 * This header is shared by the kernel, libc, servers and host tests. It holds no kernel
 * internals and must stay valid C and C++.
 */
#ifndef TERN_ABI_MESSAGE_H
#define TERN_ABI_MESSAGE_H

#include <stdint.h>
#include <tern/abi/rights.h>

/* 64-bit words of inline payload every message carries (zero-filled when unused). */
#define TERN_MSG_INLINE_WORDS 8
/* Largest data part, in bytes; a bigger send fails with TOO_BIG (use page grants). */
#define TERN_MSG_MAX_DATA 65536
/* Most handles one message can carry; more fails with TOO_BIG. */
#define TERN_MSG_MAX_HANDLES 8

struct tern_msg_header {
    /* Chosen by the sender; by convention the protocol's operation code. The kernel does
     * not interpret it. */
    uint32_t label;
    /* Bytes in the data part, at most TERN_MSG_MAX_DATA. */
    uint32_t data_size;
    /* Handles carried, at most TERN_MSG_MAX_HANDLES. */
    uint32_t handle_count;
    /* Flags for the port layer; bits it does not define must be zero. */
    uint32_t flags;
    /* Set by the kernel from the send handle, never by the sender, so a server can tell
     * its clients apart without trusting them. */
    uint64_t sender_badge;
};

#ifdef __cplusplus
static_assert(sizeof(struct tern_msg_header) == 24, "tern_msg_header is ABI");
#else
_Static_assert(sizeof(struct tern_msg_header) == 24, "tern_msg_header is ABI");
#endif

/* header.flags, set by the kernel on delivery: the message came from port_call and
 * msg.reply_handle answers it. A call carries at most TERN_MSG_MAX_HANDLES - 1 handles. */
#define TERN_MSG_FLAG_CALL 1u
/* header.flags, set by the kernel on delivery: the answer to a port_call_async, queued on
 * the reply port the caller named; header.sender_badge is the caller's cookie (written by
 * the kernel, so the receiver can trust it). Either the server's reply (its label, words,
 * data part and handles) or, when the reply right went unanswered, a message with label
 * TERN_LABEL_CALL_FAILED. */
#define TERN_MSG_FLAG_ASYNC_REPLY 2u
/* Returned in RDI by port_call_regs and port_reply_receive_regs (never in a header): the
 * message has a data part or handles and was written whole to the struct tern_msg at RBP. */
#define TERN_MSG_FLAG_IN_BUFFER 0x100u

/* label of the message port_receive makes from pending signal bits (port_signal). */
#define TERN_LABEL_SIGNAL 0x7E000003u
/* label of a death notice (object_watch; words[0] = cookie, words[1] = exit status,
 * words[2] = object type). */
#define TERN_LABEL_OBJECT_GONE 0x7E000005u
/* label of the boot-module messages on init's bootstrap port (see syscalls.h). */
#define TERN_LABEL_BOOT_MODULE 0x7E000004u
/* label of the answer to a port_call_async whose reply right was dropped unanswered (the
 * server closed it, the server task died, or the call was still queued when its port
 * lost its receiver): words[0] = TERN_PEER_CLOSED, flags TERN_MSG_FLAG_ASYNC_REPLY,
 * sender_badge = the cookie. */
#define TERN_LABEL_CALL_FAILED 0x7E000006u

/* The message as user space passes it to port_send, port_receive, port_call and
 * port_reply. On send, data/hdr.data_size name the data part and handles[0..count) the
 * handles to move. On receive, data/data_capacity name the buffer for the data part and
 * handles[] receives the new handle values; hdr is filled in. */
struct tern_msg {
    struct tern_msg_header hdr;
    uint64_t words[TERN_MSG_INLINE_WORDS];
    uint64_t data;          /* user address of the data part or the receive buffer */
    uint32_t data_capacity; /* receive: bytes available at data */
    uint32_t reserved;      /* must be zero */
    tern_handle_t handles[TERN_MSG_MAX_HANDLES];
    /* receive: a handle to reply with when the message came from port_call, else 0 */
    tern_handle_t reply_handle;
    uint32_t reserved2;
};

/* What ipc_stats reports: how this node's calls and replies went since boot. A call
 * takes the fast path when it carries inline words only (no data part, no handles) and
 * the port's receiver already waits on that port itself; an answer from
 * port_reply_receive takes it when it carries inline words only, its caller waits, and
 * the receive that follows will wait. Either way the message goes straight to the other
 * thread, which runs next. */
struct tern_ipc_stats {
    uint64_t fast_calls;   /* port_call handed straight to a waiting server */
    uint64_t slow_calls;   /* the other port_call syscalls (queued, or refused) */
    uint64_t fast_replies; /* port_reply_receive answers handed straight to the caller */
    uint64_t slow_replies; /* the other port_reply_receive syscalls */
    /* The same for the register calls, port_call_regs and port_reply_receive_regs (whose
     * answer or call went into the other thread's registers). */
    uint64_t fast_reg_calls;
    uint64_t slow_reg_calls;
    uint64_t fast_reg_replies;
    uint64_t slow_reg_replies; /* including those that held no call to answer */
    /* Of fast_reg_calls and fast_reg_replies, those the syscall entry's fast path served
     * before the dispatch decoded anything (kernel.md, "The register fast path"). */
    uint64_t entry_reg_calls;
    uint64_t entry_reg_replies;
};
#endif /* TERN_ABI_MESSAGE_H */

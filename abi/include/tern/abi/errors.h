/*
 * Tern ABI: status codes.
 *
 * Every syscall and every server protocol reports failure with one of these codes.
 * A syscall returns a signed 64-bit value: >= 0 is success (and may carry a result),
 * < 0 is the negated code below. The table is the single definition; C++ code derives
 * base::Error and the name/description tables from it.
 *
 * This header is shared by the kernel, libc, servers and host tests. It holds no kernel
 * internals and must stay valid C and C++.
 */
#ifndef TERN_ABI_ERRORS_H
#define TERN_ABI_ERRORS_H

/* X(name, value, description) */
#define TERN_ENUMERATE_ERRORS(X)                                                                   \
    X(OK, 0, "success")                                                                            \
    X(NO_MEMORY, 1, "out of memory")                                                               \
    X(INVALID_ARGUMENT, 2, "invalid argument")                                                     \
    X(BAD_HANDLE, 3, "handle does not name an object in this task")                                \
    X(ACCESS_DENIED, 4, "handle lacks the rights the operation needs")                             \
    X(WRONG_TYPE, 5, "handle names an object of another type")                                     \
    X(BAD_ADDRESS, 6, "user pointer is not mapped, not writable, or not user memory")              \
    X(TIMED_OUT, 7, "timeout expired")                                                             \
    X(WOULD_BLOCK, 8, "operation would block (queue full or empty, non-blocking mode)")            \
    X(PEER_CLOSED, 9, "the other end of the port is gone")                                         \
    X(NOT_FOUND, 10, "no such entry")                                                              \
    X(ALREADY_EXISTS, 11, "entry already exists")                                                  \
    X(OUT_OF_RANGE, 12, "value outside the allowed range")                                         \
    X(QUOTA_EXCEEDED, 13, "per-task quota exceeded")                                               \
    X(NOT_SUPPORTED, 14, "operation not supported")                                                \
    X(BUSY, 15, "resource is busy")                                                                \
    X(BAD_STATE, 16, "object is in the wrong state for this operation")                            \
    X(NO_SPACE, 17, "no space left in a fixed-size table or buffer")                               \
    X(INTERRUPTED, 18, "wait interrupted")                                                         \
    X(CORRUPT, 19, "malformed or corrupt data")                                                    \
    X(DOUBLE_FREE, 20, "object was already freed")                                                 \
    X(MISALIGNED, 21, "address or size is not suitably aligned")                                   \
    X(NOT_OWNER, 22, "caller does not own this object")                                            \
    X(TOO_BIG, 23, "size exceeds the documented bound")                                            \
    X(NODE_DOWN, 24, "the node holding the object is down or unreachable")                         \
    X(AMBIGUOUS, 25, "the name is registered on more than one node")

enum tern_status {
#define TERN_X_ERROR_ENUM(name, value, desc) TERN_##name = (value),
    TERN_ENUMERATE_ERRORS(TERN_X_ERROR_ENUM)
#undef TERN_X_ERROR_ENUM
    TERN_ERROR_COUNT_
};

/* Exit statuses are 0..0x7FFFFFFF. A task killed by a CPU exception exits with
 * TERN_EXIT_FAULT_BASE + the vector number (for example 0x10E for a page fault); a task
 * killed with task_kill exits with the status its killer gave; TERN_EXIT_KILLED is the
 * conventional one. */
#define TERN_EXIT_FAULT_BASE 0x100
#define TERN_EXIT_KILLED 0x200

#endif /* TERN_ABI_ERRORS_H */

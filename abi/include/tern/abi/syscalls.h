/*
 * Tern ABI: the system call table.
 *
 * One X-macro defines every syscall: its number, name, argument count and a summary of
 * its errors. The kernel's dispatch table and the user-side stubs are both generated from
 * it, so they cannot disagree.
 *
 * Calling convention (SYSCALL): number in RAX; arguments in RDI, RSI, RDX, R10, R8, R9;
 * result in RAX: >= 0 success, < 0 the negated tern_status (errors.h). RCX and R11 are
 * clobbered by the instruction itself; every other register is preserved.
 */
#ifndef TERN_ABI_SYSCALLS_H
#define TERN_ABI_SYSCALLS_H

/* X(number, name, argc, errors) */
#define TERN_ENUMERATE_SYSCALLS(X)                                                                 \
    /* Returns 0. For measuring the syscall path. */                                               \
    X(0, null, 0, "none")                                                                          \
    /* debug_write(const char* buf, size_t len): writes to the kernel console.                     \
       Returns len. BAD_ADDRESS: buf not readable user memory. TOO_BIG: len > 4096. */             \
    X(1, debug_write, 2, "BAD_ADDRESS TOO_BIG")                                                    \
    /* thread_exit(int64 status): ends the calling thread; does not return. */                     \
    X(2, thread_exit, 1, "none")                                                                   \
    /* thread_yield(): gives up the rest of the time slice. Returns 0. */                          \
    X(3, thread_yield, 0, "none")                                                                  \
    /* clock_monotonic(): nanoseconds since boot. */                                               \
    X(4, clock_monotonic, 0, "none")                                                               \
    /* thread_sleep(uint64 ns): sleeps at least ns. Returns 0. */                                  \
    X(5, thread_sleep, 1, "none")

enum tern_syscall {
#define TERN_X_SYSCALL_ENUM(num, name, argc, errors) TERN_SYS_##name = (num),
    TERN_ENUMERATE_SYSCALLS(TERN_X_SYSCALL_ENUM)
#undef TERN_X_SYSCALL_ENUM
    TERN_SYSCALL_COUNT
};

#endif /* TERN_ABI_SYSCALLS_H */

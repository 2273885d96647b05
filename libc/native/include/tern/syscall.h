/*
 * Tern native API: the user-side system call stubs.
 *
 * Every stub is generated from TERN_ENUMERATE_SYSCALLS in <tern/abi/syscalls.h>, so a
 * syscall added there appears here with the right number and arity without anyone
 * editing this file. For X(num, name, argc) this header defines
 *
 *     static inline int64_t tern_sys_<name>(uint64_t a0, ..., uint64_t a<argc-1>);
 *
 * which returns the raw result: >= 0 on success, the negated tern_status on failure.
 * Pointer arguments are passed as integers, e.g.
 *
 *     tern_sys_debug_write((uint64_t)(uintptr_t)text, len);
 *
 * Valid C and C++.
 */
#ifndef TERN_NATIVE_SYSCALL_H
#define TERN_NATIVE_SYSCALL_H

#include <stdint.h>
#include <tern/abi/errors.h>
#include <tern/abi/syscalls.h>

/*
 * One helper per arity. The kernel reads arguments from RDI, RSI, RDX, R10, R8 and R9;
 * the last three have no single-register constraint letter, so they are bound with
 * explicit register variables. SYSCALL itself overwrites RCX (return RIP) and R11
 * (RFLAGS). The "memory" clobber is required because many calls read or write user
 * buffers the compiler cannot see through the integer arguments.
 */
static inline int64_t tern_syscall_0(uint64_t num) {
    int64_t ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(num) : "rcx", "r11", "memory");
    return ret;
}

static inline int64_t tern_syscall_1(uint64_t num, uint64_t a0) {
    int64_t ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(num), "D"(a0) : "rcx", "r11", "memory");
    return ret;
}

static inline int64_t tern_syscall_2(uint64_t num, uint64_t a0, uint64_t a1) {
    int64_t ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(num), "D"(a0), "S"(a1) : "rcx", "r11", "memory");
    return ret;
}

static inline int64_t tern_syscall_3(uint64_t num, uint64_t a0, uint64_t a1, uint64_t a2) {
    int64_t ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(num), "D"(a0), "S"(a1), "d"(a2)
                     : "rcx", "r11", "memory");
    return ret;
}

static inline int64_t tern_syscall_4(uint64_t num, uint64_t a0, uint64_t a1, uint64_t a2,
                                     uint64_t a3) {
    int64_t ret;
    register uint64_t r10 __asm__("r10") = a3;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(num), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

static inline int64_t tern_syscall_5(uint64_t num, uint64_t a0, uint64_t a1, uint64_t a2,
                                     uint64_t a3, uint64_t a4) {
    int64_t ret;
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(num), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}

static inline int64_t tern_syscall_6(uint64_t num, uint64_t a0, uint64_t a1, uint64_t a2,
                                     uint64_t a3, uint64_t a4, uint64_t a5) {
    int64_t ret;
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    register uint64_t r9 __asm__("r9") = a5;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(num), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* Parameter lists and forwarded argument lists by arity, selected by token pasting. */
#define TERN_SYSCALL_PARAMS_0 void
#define TERN_SYSCALL_PARAMS_1 uint64_t a0
#define TERN_SYSCALL_PARAMS_2 uint64_t a0, uint64_t a1
#define TERN_SYSCALL_PARAMS_3 uint64_t a0, uint64_t a1, uint64_t a2
#define TERN_SYSCALL_PARAMS_4 uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3
#define TERN_SYSCALL_PARAMS_5 uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4
#define TERN_SYSCALL_PARAMS_6                                                                      \
    uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5

#define TERN_SYSCALL_ARGS_0
#define TERN_SYSCALL_ARGS_1 , a0
#define TERN_SYSCALL_ARGS_2 , a0, a1
#define TERN_SYSCALL_ARGS_3 , a0, a1, a2
#define TERN_SYSCALL_ARGS_4 , a0, a1, a2, a3
#define TERN_SYSCALL_ARGS_5 , a0, a1, a2, a3, a4
#define TERN_SYSCALL_ARGS_6 , a0, a1, a2, a3, a4, a5

#define TERN_X_SYSCALL_STUB(num, name, argc)                                                       \
    static inline int64_t tern_sys_##name(TERN_SYSCALL_PARAMS_##argc) {                            \
        return tern_syscall_##argc((uint64_t)TERN_SYS_##name TERN_SYSCALL_ARGS_##argc);            \
    }
TERN_ENUMERATE_SYSCALLS(TERN_X_SYSCALL_STUB)
#undef TERN_X_SYSCALL_STUB

#endif /* TERN_NATIVE_SYSCALL_H */

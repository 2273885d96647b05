/*
 * Host stand-in for libc/native/include/tern/syscall.h: the same tern_sys_<name> stubs,
 * generated from the same table, but each one calls tern_fake_syscall(), which a host test
 * implements (tests/unit/native_protocol_test.cpp runs a small in-process port layer).
 */
#ifndef TERN_NATIVE_SYSCALL_H
#define TERN_NATIVE_SYSCALL_H

#include <stdint.h>
#include <tern/abi/errors.h>
#include <tern/abi/syscalls.h>

int64_t tern_fake_syscall(uint64_t num, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                          uint64_t a4, uint64_t a5);

#define TERN_FAKE_PARAMS_0 void
#define TERN_FAKE_PARAMS_1 uint64_t a0
#define TERN_FAKE_PARAMS_2 uint64_t a0, uint64_t a1
#define TERN_FAKE_PARAMS_3 uint64_t a0, uint64_t a1, uint64_t a2
#define TERN_FAKE_PARAMS_4 uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3
#define TERN_FAKE_PARAMS_5 uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4
#define TERN_FAKE_PARAMS_6                                                                         \
    uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5
#define TERN_FAKE_ARGS_0 0, 0, 0, 0, 0, 0
#define TERN_FAKE_ARGS_1 a0, 0, 0, 0, 0, 0
#define TERN_FAKE_ARGS_2 a0, a1, 0, 0, 0, 0
#define TERN_FAKE_ARGS_3 a0, a1, a2, 0, 0, 0
#define TERN_FAKE_ARGS_4 a0, a1, a2, a3, 0, 0
#define TERN_FAKE_ARGS_5 a0, a1, a2, a3, a4, 0
#define TERN_FAKE_ARGS_6 a0, a1, a2, a3, a4, a5

#define TERN_X_SYSCALL_STUB(num, name, argc)                                                       \
    static inline int64_t tern_sys_##name(TERN_FAKE_PARAMS_##argc) {                               \
        return tern_fake_syscall((uint64_t)TERN_SYS_##name, TERN_FAKE_ARGS_##argc);                \
    }
TERN_ENUMERATE_SYSCALLS(TERN_X_SYSCALL_STUB)
#undef TERN_X_SYSCALL_STUB

#endif /* TERN_NATIVE_SYSCALL_H */

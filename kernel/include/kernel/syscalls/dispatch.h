#pragma once
// System call handlers, one per entry of TERN_ENUMERATE_SYSCALLS.
#include <base/error.h>
#include <kernel/arch/x86_64/trap.h>
#include <stdint.h>
#include <tern/abi/syscalls.h>

namespace kernel {

struct SyscallArgs {
    uint64_t a0, a1, a2, a3, a4, a5;
    x86_64::TrapFrame* frame;
};

#define TERN_X_SYSCALL_DECL(num, name, argc) int64_t sys_##name(const SyscallArgs& args);
TERN_ENUMERATE_SYSCALLS(TERN_X_SYSCALL_DECL)
#undef TERN_X_SYSCALL_DECL

// The value a handler returns for an error.
inline int64_t syscall_error(base::Error e) { return base::to_syscall_return(e); }
// The absolute deadline for a syscall's timeout argument: 0 (none) for
// TERN_TIMEOUT_INFINITE or when now + timeout would overflow.
uint64_t deadline_from_timeout(uint64_t timeout);

void syscall_init();
uint64_t syscall_count(uint32_t number);

} // namespace kernel

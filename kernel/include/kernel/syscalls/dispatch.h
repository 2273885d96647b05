#pragma once
// The system call entry: SYSCALL set-up and the per-call counters. The handlers are in
// kernel/syscalls/ (declared in handlers.h), the dispatch in dispatch.cpp.
#include <stdint.h>

namespace kernel {

namespace x86_64 {
struct TrapFrame;
}

void syscall_init();
// How often syscall `number` was made since boot (unknown numbers: all of them).
uint64_t syscall_count(uint32_t number);

// The register pair's fast path (kernel/syscalls/ipc.cpp, docs/kernel.md "The register
// fast path"): the syscall entry tries it for port_call_regs and port_reply_receive_regs
// before the dispatch (syscall_fast_call_regs in dispatch.cpp). True: the call was served and RAX
// is in the frame; false: nothing was done and the handler runs.
bool fastpath_call_regs(x86_64::TrapFrame& f);
bool fastpath_reply_receive_regs(x86_64::TrapFrame& f);

} // namespace kernel

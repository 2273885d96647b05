#pragma once
// The system call entry: SYSCALL set-up and the per-call counters. The handlers are in
// kernel/syscalls/ (declared in handlers.h), the dispatch in dispatch.cpp.
#include <stdint.h>

namespace kernel {

void syscall_init();
// How often syscall `number` was made since boot (unknown numbers: all of them).
uint64_t syscall_count(uint32_t number);

} // namespace kernel

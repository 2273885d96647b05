#pragma once
// Futexes: threads waiting on a 32-bit word of user memory (docs/kernel.md, "Futexes").
// The waiters live in one node-wide FutexTable (kernel/containers/futex_table.h); a
// waiter's record is on its own kernel stack, so a wait allocates nothing.
#include <base/result.h>
#include <kernel/containers/futex_table.h>
#include <stdint.h>

namespace kernel {

class Task;

// Blocks the current thread on `key` while the word at `address` (in the current task)
// equals `expected`, until woken (OK), `deadline_ns` passes (TIMED_OUT; 0 = none) or the
// thread is stopped or killed (INTERRUPTED). WOULD_BLOCK: the word differs.
// BAD_ADDRESS: it cannot be read. `blocks` false checks the value and times out at once.
base::Error futex_wait(const obj::FutexKey& key, uint64_t address, uint32_t expected, bool blocks,
                       uint64_t deadline_ns);
// Wakes up to count waiters of key; returns how many.
size_t futex_wake(const obj::FutexKey& key, size_t count);
// Wakes up to wake of from's waiters and moves up to move of the rest to `to`; returns
// how many were woken and moved.
size_t futex_requeue(const obj::FutexKey& from, size_t wake, const obj::FutexKey& to, size_t move);
// Waiters in the node's table (for the self-tests' leak checks).
size_t futex_waiters();

} // namespace kernel

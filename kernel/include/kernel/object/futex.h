#pragma once
// Futexes: threads waiting on a 32-bit word of user memory (docs/kernel.md, "Futexes").
// The waiters live in one node-wide FutexTable (kernel/containers/futex_table.h); a
// waiter's record is on its own kernel stack, so a wait allocates nothing.
#include <base/result.h>
#include <kernel/containers/futex_table.h>
#include <stddef.h>
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
// The lock-word bits of Linux's robust-list protocol, which the C library's robust
// mutexes follow: the owner's id in the low 30 bits.
constexpr uint32_t kFutexWaitersBit = 0x80000000u;
constexpr uint32_t kFutexOwnerDiedBit = 0x40000000u;
constexpr uint32_t kFutexOwnerMask = 0x3fffffffu;
// The entries of one robust list the kernel walks at most (a list that loops ends here).
constexpr size_t kRobustListLimit = 2048;

// The current thread ends while its task dies: walks the robust lists the task registered
// (task_set_robust_lists) in its own address space, once, marks every lock word still
// owned by the list's thread OWNER_DIED and wakes one waiter of each, so that the next
// locker, in another task sharing the memory, learns that the owner died (EOWNERDEAD).
// Returns how many words it marked.
size_t futex_release_robust_lists();

// Waiters in the node's table (for the self-tests' leak checks).
size_t futex_waiters();

} // namespace kernel

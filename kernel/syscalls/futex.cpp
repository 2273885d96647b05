// Futexes: waiting on, waking and requeueing waiters of 32-bit words of user memory.
#include <kernel/object/futex.h>
#include <kernel/object/task.h>
#include <kernel/syscalls/handlers.h>

namespace kernel {

namespace {

constexpr uint32_t kKnownFlags = TERN_FUTEX_SHARED | TERN_FUTEX_COMPARE;

// The futex a user address names: 4-byte aligned (INVALID_ARGUMENT), in a readable region
// of the caller (BAD_ADDRESS).
base::Result<obj::FutexKey> key_of(uint64_t address, uint32_t flags) {
    if ((address & 3) != 0)
        return base::Error::INVALID_ARGUMENT;
    if (!x86_64::is_user_address(address))
        return base::Error::BAD_ADDRESS;
    return current_thread()->task()->futex_key(address, (flags & TERN_FUTEX_SHARED) != 0);
}

} // namespace

SyscallResult sys_futex_wait(uint64_t addr, uint32_t expected, Timeout timeout, uint32_t flags) {
    if (flags & ~TERN_FUTEX_SHARED)
        return base::Error::INVALID_ARGUMENT;
    obj::FutexKey key = TRY(key_of(addr, flags));
    base::Error e = futex_wait(key, addr, expected, timeout.blocks(), timeout.deadline());
    if (e != base::Error::OK)
        return e;
    return 0;
}

SyscallResult sys_futex_wake(uint64_t addr, uint32_t count, uint32_t flags) {
    if (flags & ~TERN_FUTEX_SHARED)
        return base::Error::INVALID_ARGUMENT;
    obj::FutexKey key = TRY(key_of(addr, flags));
    return futex_wake(key, count);
}

SyscallResult sys_futex_requeue(uint64_t addr, uint32_t wake, uint64_t addr2, uint32_t move,
                                uint32_t expected, uint32_t flags) {
    if (flags & ~kKnownFlags)
        return base::Error::INVALID_ARGUMENT;
    obj::FutexKey from = TRY(key_of(addr, flags));
    obj::FutexKey to = TRY(key_of(addr2, flags));
    if (flags & TERN_FUTEX_COMPARE) {
        // Interrupts stay off from this read to the requeue (a syscall is not preempted),
        // so no waiter comes or goes between them, unless the read itself must wait for a
        // pager (a word in pager-backed memory).
        uint32_t value = 0;
        TRY(copy_from_user(&value, addr, sizeof(value)));
        if (value != expected)
            return base::Error::WOULD_BLOCK;
    }
    return futex_requeue(from, wake, to, move);
}

} // namespace kernel

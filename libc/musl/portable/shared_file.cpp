// Tern's musl port: an open file description shared by several processes (shared_file.h).
#include <libc/musl/portable/shared_file.h>

extern "C" {

void tern_libc_shared_file_init(tern_libc_shared_file* shared, uint64_t position, uint32_t flags,
                                uint32_t holders) {
    shared->lock = 0;
    shared->depth = 0;
    shared->owner = 0;
    shared->position = position;
    shared->status = flags & TERN_LIBC_SHARED_STATUS_FLAGS;
    shared->holders = holders;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int tern_libc_shared_file_try_lock(tern_libc_shared_file* shared, uint64_t pid, int contended) {
    uint32_t expected = 0;
    uint32_t want = contended ? 2u : 1u;
    if (__atomic_compare_exchange_n(&shared->lock, &expected, want, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
        __atomic_store_n(&shared->owner, pid, __ATOMIC_RELAXED);
        return TERN_LIBC_SHARED_TAKEN;
    }
    // Only the holder writes its own pid there, and clears it before it lets go: a pid
    // of the caller's own means the caller's process holds it.
    if (__atomic_load_n(&shared->owner, __ATOMIC_ACQUIRE) == pid) {
        ++shared->depth;
        return TERN_LIBC_SHARED_NESTED;
    }
    if (contended && __atomic_exchange_n(&shared->lock, 2u, __ATOMIC_ACQUIRE) == 0) {
        // Freed meanwhile: the exchange took it (as waited for).
        __atomic_store_n(&shared->owner, pid, __ATOMIC_RELAXED);
        return TERN_LIBC_SHARED_TAKEN;
    }
    return TERN_LIBC_SHARED_BUSY;
}

int tern_libc_shared_file_unlock(tern_libc_shared_file* shared, int result) {
    if (result == TERN_LIBC_SHARED_NESTED) {
        --shared->depth;
        return 0;
    }
    __atomic_store_n(&shared->owner, uint64_t{0}, __ATOMIC_RELEASE);
    return __atomic_exchange_n(&shared->lock, 0u, __ATOMIC_RELEASE) == 2u ? 1 : 0;
}

int tern_libc_shared_file_take_over(tern_libc_shared_file* shared, uint64_t owner, uint64_t pid) {
    if (owner == 0 || owner == pid)
        return 0;
    uint64_t expected = owner;
    if (!__atomic_compare_exchange_n(&shared->owner, &expected, pid, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        return 0;
    // The lock stays taken, now by the caller; waiters may remain.
    __atomic_store_n(&shared->lock, 2u, __ATOMIC_RELEASE);
    shared->depth = 0;
    return 1;
}

uint32_t tern_libc_shared_file_flags(const tern_libc_shared_file* shared, uint32_t flags) {
    return (flags & ~TERN_LIBC_SHARED_STATUS_FLAGS)
           | (__atomic_load_n(&shared->status, __ATOMIC_RELAXED) & TERN_LIBC_SHARED_STATUS_FLAGS);
}

void tern_libc_shared_file_store(tern_libc_shared_file* shared, uint64_t position, uint32_t flags) {
    shared->position = position;
    __atomic_store_n(&shared->status, flags & TERN_LIBC_SHARED_STATUS_FLAGS, __ATOMIC_RELAXED);
}

uint32_t tern_libc_shared_file_hold(tern_libc_shared_file* shared, int delta) {
    return __atomic_add_fetch(&shared->holders, uint32_t(delta), __ATOMIC_SEQ_CST);
}

} // extern "C"

#pragma once
// What the System V and POSIX queue stores share: the nothrow allocator (hosted for the
// unit tests, Tern's in the server), permission bits and byte copies.
#include <stddef.h>
#include <stdint.h>
#if __STDC_HOSTED__
#include <new>
#else
#include <tern/new.h>
#endif

namespace ipc {

inline constexpr uint32_t kModeBits = 0777;

inline void copy_bytes(void* to, const void* from, size_t size) {
    if (size != 0)
        __builtin_memcpy(to, from, size);
}

// Marks a scratch array that is written before it is read, so the build's filling of
// locals (-ftrivial-auto-var-init) leaves it alone: the semaphore paths keep arrays of
// kSemMsl entries of which a call uses a few.
#if defined(__clang__)
#define IPC_SCRATCH __attribute__((uninitialized))
#else
#define IPC_SCRATCH
#endif

} // namespace ipc

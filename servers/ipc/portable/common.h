#pragma once
// What the System V and POSIX queue stores share: the nothrow allocator (hosted for the
// unit tests, Tern's in the server), permission bits and byte copies.
#include <stddef.h>
#include <stdint.h>
#if __STDC_HOSTED__
#include <new>
#else
#include <base/utility.h> // placement new
#include <tern/new.h>
#endif

namespace ipc {

inline constexpr uint32_t kModeBits = 0777;

inline void copy_bytes(void* to, const void* from, size_t size) {
    if (size != 0)
        __builtin_memcpy(to, from, size);
}

// A message record (a type with `size` and `text` members) and its text in one
// allocation, the text right after the record: one allocation and one free a message.
// nullptr without memory; freed with delete_message.
template<typename M>
M* new_message(const void* text, size_t size) {
    static_assert(alignof(M) <= 16);
    auto* block = new (std::nothrow) uint8_t[sizeof(M) + size];
    if (!block)
        return nullptr;
    M* m = new (block) M;
    m->size = uint32_t(size);
    m->text = block + sizeof(M);
    copy_bytes(m->text, text, size);
    return m;
}

template<typename M>
void delete_message(M* m) {
    if (!m)
        return;
    m->~M();
    delete[] reinterpret_cast<uint8_t*>(m);
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

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
    auto* t = static_cast<uint8_t*>(to);
    const auto* f = static_cast<const uint8_t*>(from);
    for (size_t i = 0; i < size; ++i)
        t[i] = f[i];
}

} // namespace ipc

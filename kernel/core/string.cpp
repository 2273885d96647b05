// The few C library functions the compiler may call on its own (struct copies, zeroing,
// string literals), for the kernel only.
//
// Plain word loops rather than `rep movsb`/`rep stosb`: QEMU's TCG runs a rep-prefixed
// string instruction one iteration per translated block, which made zeroing 2 MiB take
// seconds. no_builtin keeps the compiler from turning these loops back into calls to the
// functions being defined.
#include <stddef.h>
#include <stdint.h>

extern "C" {

[[clang::no_builtin("memcpy")]] void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    const auto* s = static_cast<const uint8_t*>(src);
    if (((reinterpret_cast<uintptr_t>(d) ^ reinterpret_cast<uintptr_t>(s)) & 7) == 0) {
        while (n && (reinterpret_cast<uintptr_t>(d) & 7)) {
            *d++ = *s++;
            --n;
        }
        auto* dw = reinterpret_cast<uint64_t*>(d);
        const auto* sw = reinterpret_cast<const uint64_t*>(s);
        for (; n >= 32; n -= 32, dw += 4, sw += 4) {
            dw[0] = sw[0];
            dw[1] = sw[1];
            dw[2] = sw[2];
            dw[3] = sw[3];
        }
        for (; n >= 8; n -= 8)
            *dw++ = *sw++;
        d = reinterpret_cast<uint8_t*>(dw);
        s = reinterpret_cast<const uint8_t*>(sw);
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

[[clang::no_builtin("memset")]] void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    while (n && (reinterpret_cast<uintptr_t>(d) & 7)) {
        *d++ = uint8_t(c);
        --n;
    }
    uint64_t pattern = 0x0101010101010101ull * uint8_t(c);
    auto* dw = reinterpret_cast<uint64_t*>(d);
    for (; n >= 32; n -= 32, dw += 4) {
        dw[0] = pattern;
        dw[1] = pattern;
        dw[2] = pattern;
        dw[3] = pattern;
    }
    for (; n >= 8; n -= 8)
        *dw++ = pattern;
    d = reinterpret_cast<uint8_t*>(dw);
    while (n--)
        *d++ = uint8_t(c);
    return dst;
}

[[clang::no_builtin("memmove", "memcpy")]] void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    const auto* s = static_cast<const uint8_t*>(src);
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    // Overlapping with dst above src: copy backwards.
    while (n--)
        d[n] = s[n];
    return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
    const auto* x = static_cast<const uint8_t*>(a);
    const auto* y = static_cast<const uint8_t*>(b);
    for (size_t i = 0; i < n; ++i)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n])
        ++n;
    return n;
}
}

// The C library functions the compiler calls on its own (struct copies, zero
// initialisation, -ftrivial-auto-var-init patterns) for native user programs.
//
// They are word loops on purpose: QEMU's TCG runs a rep-prefixed string instruction one
// iteration per translated block, so `rep movsb` is far slower under emulation than a
// loop of 8-byte moves. x86-64 allows unaligned loads and stores, so only the destination
// is aligned and the source is read through an unaligned, aliasing-safe word type.
// clang::no_builtin stops the optimizer from recognising these loops as the very
// functions being defined and compiling them into self-calls.

#include <stddef.h>
#include <stdint.h>

namespace {

// A 64-bit word that may sit at any address and alias any object.
typedef uint64_t __attribute__((aligned(1), may_alias)) UnalignedWord;
// An aligned word that may alias any object, for reading strings a word at a time.
typedef uint64_t __attribute__((may_alias)) AliasingWord;

constexpr uint64_t kLowBits = 0x0101010101010101ull;
constexpr uint64_t kHighBits = 0x8080808080808080ull;

inline uint64_t load_word(const uint8_t* p) { return *reinterpret_cast<const UnalignedWord*>(p); }
inline void store_word(uint8_t* p, uint64_t v) { *reinterpret_cast<UnalignedWord*>(p) = v; }

} // namespace

extern "C" {

[[clang::no_builtin("memcpy")]] void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    const auto* s = static_cast<const uint8_t*>(src);
    if (n >= 16) {
        // Align the destination so stores never split a cache line.
        while (reinterpret_cast<uintptr_t>(d) & 7) {
            *d++ = *s++;
            --n;
        }
        for (; n >= 32; n -= 32, d += 32, s += 32) {
            uint64_t w0 = load_word(s);
            uint64_t w1 = load_word(s + 8);
            uint64_t w2 = load_word(s + 16);
            uint64_t w3 = load_word(s + 24);
            store_word(d, w0);
            store_word(d + 8, w1);
            store_word(d + 16, w2);
            store_word(d + 24, w3);
        }
        for (; n >= 8; n -= 8, d += 8, s += 8)
            store_word(d, load_word(s));
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

[[clang::no_builtin("memset")]] void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    const auto byte = static_cast<uint8_t>(c);
    if (n >= 16) {
        while (reinterpret_cast<uintptr_t>(d) & 7) {
            *d++ = byte;
            --n;
        }
        const uint64_t pattern = kLowBits * byte;
        for (; n >= 32; n -= 32, d += 32) {
            store_word(d, pattern);
            store_word(d + 8, pattern);
            store_word(d + 16, pattern);
            store_word(d + 24, pattern);
        }
        for (; n >= 8; n -= 8, d += 8)
            store_word(d, pattern);
    }
    while (n--)
        *d++ = byte;
    return dst;
}

[[clang::no_builtin("memmove", "memcpy")]] void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    const auto* s = static_cast<const uint8_t*>(src);
    // A forward copy is safe unless the destination starts inside the source.
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    // Copy from the end: each word is loaded before any store can overwrite it, because
    // every store lands at or above the addresses still to be read.
    d += n;
    s += n;
    for (; n >= 8; n -= 8) {
        d -= 8;
        s -= 8;
        store_word(d, load_word(s));
    }
    while (n--)
        *--d = *--s;
    return dst;
}

[[clang::no_builtin("memcmp", "bcmp")]] int memcmp(const void* a, const void* b, size_t n) {
    const auto* x = static_cast<const uint8_t*>(a);
    const auto* y = static_cast<const uint8_t*>(b);
    for (; n >= 8; n -= 8, x += 8, y += 8) {
        uint64_t wx = load_word(x);
        uint64_t wy = load_word(y);
        if (wx != wy) {
            // Byte-swapped, the first differing byte becomes the most significant one,
            // so an unsigned comparison orders the words as memcmp orders bytes.
            return __builtin_bswap64(wx) < __builtin_bswap64(wy) ? -1 : 1;
        }
    }
    for (; n > 0; --n, ++x, ++y)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

// The compiler may turn an equality-only memcmp into bcmp.
[[clang::no_builtin("memcmp", "bcmp")]] int bcmp(const void* a, const void* b, size_t n) {
    return memcmp(a, b, n);
}

[[clang::no_builtin("strlen")]] size_t strlen(const char* s) {
    const char* p = s;
    while (reinterpret_cast<uintptr_t>(p) & 7) {
        if (*p == 0)
            return static_cast<size_t>(p - s);
        ++p;
    }
    // An aligned word never crosses a page boundary, so reading the whole word that holds
    // the terminator cannot fault even when the string ends at the last mapped byte.
    const auto* w = reinterpret_cast<const AliasingWord*>(p);
    while (((*w - kLowBits) & ~*w & kHighBits) == 0)
        ++w;
    p = reinterpret_cast<const char*>(w);
    while (*p)
        ++p;
    return static_cast<size_t>(p - s);
}

} // extern "C"

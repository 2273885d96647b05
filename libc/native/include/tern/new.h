#pragma once

// The pieces of <new> that Tern's freestanding user programs need: std::align_val_t and
// std::nothrow_t, which the language names in the signatures of the allocation functions,
// and declarations of the forms the compiler does not declare implicitly. The definitions
// live in libc/native/heap.cpp. Placement new comes from <base/utility.h>.

#include <stddef.h>

namespace std {
// The compiler passes the alignment of an over-aligned type as this enumeration.
enum class align_val_t : size_t {
};
// Selects the allocation functions that return nullptr instead of aborting.
struct nothrow_t {
    explicit nothrow_t() = default;
};
extern const nothrow_t nothrow;
} // namespace std

[[nodiscard]] void* operator new(size_t size, const std::nothrow_t&) noexcept;
[[nodiscard]] void* operator new[](size_t size, const std::nothrow_t&) noexcept;
[[nodiscard]] void* operator new(size_t size, std::align_val_t align,
                                 const std::nothrow_t&) noexcept;
[[nodiscard]] void* operator new[](size_t size, std::align_val_t align,
                                   const std::nothrow_t&) noexcept;
void operator delete(void* p, const std::nothrow_t&) noexcept;
void operator delete[](void* p, const std::nothrow_t&) noexcept;
void operator delete(void* p, std::align_val_t align, const std::nothrow_t&) noexcept;
void operator delete[](void* p, std::align_val_t align, const std::nothrow_t&) noexcept;

#pragma once

// Core language helpers for freestanding code: move/forward, a handful of type traits,
// arithmetic and alignment helpers, placement new and thin wrappers over the compiler's
// memory builtins. Everything lives in namespace base so kernel and user space never
// reach for std::.

#include <stddef.h>
#include <stdint.h>

#if __STDC_HOSTED__
#include <new>
#else
// The freestanding build has no <new>, yet containers still need placement new to
// construct objects in storage they own.
inline void* operator new(size_t, void* p) noexcept { return p; }
inline void* operator new[](size_t, void* p) noexcept { return p; }
inline void operator delete(void*, void*) noexcept {}
inline void operator delete[](void*, void*) noexcept {}
#endif

namespace base {

// ---- Type traits --------------------------------------------------------------------

template<typename T, T V>
struct IntegralConstant {
    static constexpr T value = V;
    using ValueType = T;
    constexpr operator T() const { return V; }
};
using TrueType = IntegralConstant<bool, true>;
using FalseType = IntegralConstant<bool, false>;

template<typename T>
struct remove_reference {
    using type = T;
};
template<typename T>
struct remove_reference<T&> {
    using type = T;
};
template<typename T>
struct remove_reference<T&&> {
    using type = T;
};
template<typename T>
using remove_reference_t = typename remove_reference<T>::type;

template<typename T>
struct remove_const {
    using type = T;
};
template<typename T>
struct remove_const<const T> {
    using type = T;
};
template<typename T>
struct remove_volatile {
    using type = T;
};
template<typename T>
struct remove_volatile<volatile T> {
    using type = T;
};
template<typename T>
struct remove_cv {
    using type = typename remove_volatile<typename remove_const<T>::type>::type;
};
template<typename T>
using remove_cv_t = typename remove_cv<T>::type;
template<typename T>
using remove_cvref_t = remove_cv_t<remove_reference_t<T>>;

template<bool B, typename T = void>
struct enable_if {};
template<typename T>
struct enable_if<true, T> {
    using type = T;
};
template<bool B, typename T = void>
using enable_if_t = typename enable_if<B, T>::type;

template<bool B, typename T, typename F>
struct conditional {
    using type = T;
};
template<typename T, typename F>
struct conditional<false, T, F> {
    using type = F;
};
template<bool B, typename T, typename F>
using conditional_t = typename conditional<B, T, F>::type;

template<typename A, typename B>
struct is_same : FalseType {};
template<typename A>
struct is_same<A, A> : TrueType {};
template<typename A, typename B>
inline constexpr bool is_same_v = is_same<A, B>::value;

template<typename T>
struct is_lvalue_reference : FalseType {};
template<typename T>
struct is_lvalue_reference<T&> : TrueType {};
template<typename T>
inline constexpr bool is_lvalue_reference_v = is_lvalue_reference<T>::value;

template<typename T>
struct is_reference : FalseType {};
template<typename T>
struct is_reference<T&> : TrueType {};
template<typename T>
struct is_reference<T&&> : TrueType {};
template<typename T>
inline constexpr bool is_reference_v = is_reference<T>::value;

namespace detail {
template<typename T>
struct IsPointer : FalseType {};
template<typename T>
struct IsPointer<T*> : TrueType {};

template<typename T>
struct IsIntegral : FalseType {};
template<>
struct IsIntegral<bool> : TrueType {};
template<>
struct IsIntegral<char> : TrueType {};
template<>
struct IsIntegral<signed char> : TrueType {};
template<>
struct IsIntegral<unsigned char> : TrueType {};
template<>
struct IsIntegral<char8_t> : TrueType {};
template<>
struct IsIntegral<char16_t> : TrueType {};
template<>
struct IsIntegral<char32_t> : TrueType {};
template<>
struct IsIntegral<wchar_t> : TrueType {};
template<>
struct IsIntegral<short> : TrueType {};
template<>
struct IsIntegral<unsigned short> : TrueType {};
template<>
struct IsIntegral<int> : TrueType {};
template<>
struct IsIntegral<unsigned int> : TrueType {};
template<>
struct IsIntegral<long> : TrueType {};
template<>
struct IsIntegral<unsigned long> : TrueType {};
template<>
struct IsIntegral<long long> : TrueType {};
template<>
struct IsIntegral<unsigned long long> : TrueType {};
} // namespace detail

template<typename T>
struct is_pointer : detail::IsPointer<remove_cv_t<T>> {};
template<typename T>
inline constexpr bool is_pointer_v = is_pointer<T>::value;

template<typename T>
struct is_integral : detail::IsIntegral<remove_cv_t<T>> {};
template<typename T>
inline constexpr bool is_integral_v = is_integral<T>::value;

template<typename T>
struct is_signed : IntegralConstant<bool, is_integral_v<T> && (T(-1) < T(0))> {};
template<typename T>
inline constexpr bool is_signed_v = is_signed<T>::value;

template<typename T>
struct is_unsigned : IntegralConstant<bool, is_integral_v<T> && !(T(-1) < T(0))> {};
template<typename T>
inline constexpr bool is_unsigned_v = is_unsigned<T>::value;

template<typename T>
struct is_enum : IntegralConstant<bool, __is_enum(T)> {};
template<typename T>
inline constexpr bool is_enum_v = is_enum<T>::value;

template<typename T>
inline constexpr bool is_trivially_copyable_v = __is_trivially_copyable(T);
template<typename T>
inline constexpr bool is_trivially_destructible_v = __has_trivial_destructor(T);

template<typename T>
struct is_array : FalseType {};
template<typename T>
struct is_array<T[]> : TrueType {};
template<typename T, size_t N>
struct is_array<T[N]> : TrueType {};

template<typename T>
struct remove_extent {
    using type = T;
};
template<typename T>
struct remove_extent<T[]> {
    using type = T;
};
template<typename T, size_t N>
struct remove_extent<T[N]> {
    using type = T;
};

template<typename T>
struct is_const : FalseType {};
template<typename T>
struct is_const<const T> : TrueType {};
template<typename T>
inline constexpr bool is_const_v = is_const<T>::value;

// Only function types and references ignore an added const, which is portable to every
// compiler without relying on a builtin.
template<typename T>
struct is_function : IntegralConstant<bool, !is_const_v<const T> && !is_reference_v<T>> {};

// Mirrors std::decay: arrays become pointers, functions become function pointers and
// cv-qualifiers and references are dropped, as for a by-value parameter.
template<typename T>
struct decay {
private:
    using U = remove_reference_t<T>;

public:
    using type = conditional_t<is_array<U>::value, typename remove_extent<U>::type*,
                               conditional_t<is_function<U>::value, U*, remove_cv_t<U>>>;
};
template<typename T>
using decay_t = typename decay<T>::type;

template<typename T>
struct make_unsigned;
template<>
struct make_unsigned<char> {
    using type = unsigned char;
};
template<>
struct make_unsigned<signed char> {
    using type = unsigned char;
};
template<>
struct make_unsigned<unsigned char> {
    using type = unsigned char;
};
template<>
struct make_unsigned<short> {
    using type = unsigned short;
};
template<>
struct make_unsigned<unsigned short> {
    using type = unsigned short;
};
template<>
struct make_unsigned<int> {
    using type = unsigned int;
};
template<>
struct make_unsigned<unsigned int> {
    using type = unsigned int;
};
template<>
struct make_unsigned<long> {
    using type = unsigned long;
};
template<>
struct make_unsigned<unsigned long> {
    using type = unsigned long;
};
template<>
struct make_unsigned<long long> {
    using type = unsigned long long;
};
template<>
struct make_unsigned<unsigned long long> {
    using type = unsigned long long;
};
template<typename T>
using make_unsigned_t = typename make_unsigned<T>::type;

template<typename T>
T&& declval() noexcept;

namespace detail {
template<typename T>
void accept_implicitly(T) noexcept;

template<typename From, typename To>
concept ImplicitlyConvertible = requires {
    accept_implicitly<To>(declval<From>());
};
} // namespace detail

// True when a From can be passed where a To is expected without a cast.
template<typename From, typename To>
inline constexpr bool is_convertible_v = detail::ImplicitlyConvertible<From, To>;

template<typename T, typename... Args>
inline constexpr bool is_constructible_v = __is_constructible(T, Args...);

// ---- Moves and swaps ----------------------------------------------------------------

template<typename T>
constexpr remove_reference_t<T>&& move(T&& value) noexcept {
    return static_cast<remove_reference_t<T>&&>(value);
}

template<typename T>
constexpr T&& forward(remove_reference_t<T>& value) noexcept {
    return static_cast<T&&>(value);
}

template<typename T>
constexpr T&& forward(remove_reference_t<T>&& value) noexcept {
    static_assert(!is_lvalue_reference_v<T>, "cannot forward an rvalue as an lvalue");
    return static_cast<T&&>(value);
}

template<typename T>
constexpr void swap(T& a, T& b) noexcept {
    T tmp = move(a);
    a = move(b);
    b = move(tmp);
}

template<typename T, typename U = T>
constexpr T exchange(T& slot, U&& new_value) noexcept {
    T old = move(slot);
    slot = forward<U>(new_value);
    return old;
}

// ---- Arithmetic ---------------------------------------------------------------------

template<typename T>
constexpr const T& min(const T& a, const T& b) {
    return b < a ? b : a;
}

template<typename T>
constexpr const T& max(const T& a, const T& b) {
    return a < b ? b : a;
}

template<typename T>
constexpr const T& clamp(const T& value, const T& lo, const T& hi) {
    return value < lo ? lo : (hi < value ? hi : value);
}

constexpr bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// The alignment helpers take a power-of-two alignment; callers that accept alignment
// from outside must check it with is_power_of_two first.
constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
constexpr bool is_aligned(uint64_t v, uint64_t a) { return (v & (a - 1)) == 0; }

constexpr uint64_t KiB(uint64_t n) { return n << 10; }
constexpr uint64_t MiB(uint64_t n) { return n << 20; }
constexpr uint64_t GiB(uint64_t n) { return n << 30; }

template<typename T, size_t N>
constexpr size_t array_size(const T (&)[N]) {
    return N;
}

// ---- Memory and C strings -----------------------------------------------------------

inline void* memcpy(void* dst, const void* src, size_t n) { return __builtin_memcpy(dst, src, n); }
inline void* memmove(void* dst, const void* src, size_t n) {
    return __builtin_memmove(dst, src, n);
}
inline void* memset(void* dst, int value, size_t n) { return __builtin_memset(dst, value, n); }
inline int memcmp(const void* a, const void* b, size_t n) { return __builtin_memcmp(a, b, n); }
inline size_t strlen(const char* s) { return __builtin_strlen(s); }

} // namespace base

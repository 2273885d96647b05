#pragma once

// base::Optional<T>: a T or nothing, stored inline. Works with move-only and
// non-default-constructible T. Accessing an empty Optional is a bug and asserts.

#include <base/assert.h>
#include <base/utility.h>

namespace base {

struct NullOpt {
    explicit constexpr NullOpt(int) {}
};
inline constexpr NullOpt nullopt{0};

namespace detail {

// Optional's storage, split on whether T needs a destructor: when it does not, the
// Optional is trivially destructible too, so a global Optional needs no exit-time
// destructor registration, which the kernel has no runtime for.
template<typename T, bool = is_trivially_destructible_v<T>>
struct OptionalStorage {
    union Storage {
        constexpr Storage() : empty() {}
        ~Storage() {}
        char empty;
        T value;
    } m_storage;
    bool m_has_value{false};

    constexpr OptionalStorage() {}
    ~OptionalStorage() {
        if (m_has_value)
            m_storage.value.~T();
    }
};

template<typename T>
struct OptionalStorage<T, true> {
    union Storage {
        constexpr Storage() : empty() {}
        char empty;
        T value;
    } m_storage;
    bool m_has_value{false};
};

} // namespace detail

template<typename T>
class Optional : private detail::OptionalStorage<T> {
    using detail::OptionalStorage<T>::m_storage;
    using detail::OptionalStorage<T>::m_has_value;

    static_assert(!is_reference_v<T>, "Optional of a reference: use Optional<T*>");

public:
    using ValueType = T;

    constexpr Optional() {}
    constexpr Optional(NullOpt) {}

    Optional(const T& value) requires __is_constructible(T, const T&) {
        new (&m_storage.value) T(value);
        m_has_value = true;
    }

    Optional(T&& value) {
        new (&m_storage.value) T(move(value));
        m_has_value = true;
    }

    // Lets Optional<uint64_t> be built from an int or Optional<Base*> from a Derived*.
    template<typename U>
    requires(
        !is_same_v<
            remove_cvref_t<U>,
            T> && !is_same_v<remove_cvref_t<U>, Optional> && !is_same_v<remove_cvref_t<U>, NullOpt> && is_convertible_v<U&&, T>)
        Optional(U&& value) {
        new (&m_storage.value) T(forward<U>(value));
        m_has_value = true;
    }

    Optional(const Optional& other) requires __is_constructible(T, const T&) {
        if (other.m_has_value) {
            new (&m_storage.value) T(other.m_storage.value);
            m_has_value = true;
        }
    }

    Optional(Optional&& other) {
        if (other.m_has_value) {
            new (&m_storage.value) T(move(other.m_storage.value));
            m_has_value = true;
        }
    }

    Optional& operator=(const Optional& other) requires __is_constructible(T, const T&) {
        if (this != &other) {
            reset();
            if (other.m_has_value) {
                new (&m_storage.value) T(other.m_storage.value);
                m_has_value = true;
            }
        }
        return *this;
    }

    Optional& operator=(Optional&& other) {
        if (this != &other) {
            reset();
            if (other.m_has_value) {
                new (&m_storage.value) T(move(other.m_storage.value));
                m_has_value = true;
            }
        }
        return *this;
    }

    Optional& operator=(NullOpt) {
        reset();
        return *this;
    }

    [[nodiscard]] constexpr bool has_value() const { return m_has_value; }
    explicit constexpr operator bool() const { return m_has_value; }

    [[nodiscard]] T& value() & {
        TERN_ASSERT(m_has_value);
        return m_storage.value;
    }
    [[nodiscard]] const T& value() const& {
        TERN_ASSERT(m_has_value);
        return m_storage.value;
    }
    [[nodiscard]] T&& value() && {
        TERN_ASSERT(m_has_value);
        return move(m_storage.value);
    }

    // Moves the value out and leaves the Optional empty.
    [[nodiscard]] T release_value() {
        TERN_ASSERT(m_has_value);
        T released = move(m_storage.value);
        reset();
        return released;
    }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    [[nodiscard]] T value_or(const T& fallback) const& requires __is_constructible(T, const T&) {
        return m_has_value ? m_storage.value : fallback;
    }
    [[nodiscard]] T value_or(T fallback) && {
        return m_has_value ? move(m_storage.value) : move(fallback);
    }

    void reset() {
        if (m_has_value) {
            m_storage.value.~T();
            m_has_value = false;
        }
    }

    template<typename... Args>
    T& emplace(Args&&... args) {
        reset();
        new (&m_storage.value) T(forward<Args>(args)...);
        m_has_value = true;
        return m_storage.value;
    }

    friend bool operator==(const Optional& a, const Optional& b) {
        if (a.m_has_value != b.m_has_value)
            return false;
        return !a.m_has_value || a.m_storage.value == b.m_storage.value;
    }
    friend bool operator==(const Optional& a, NullOpt) { return !a.m_has_value; }
    friend bool operator==(const Optional& a, const T& b) {
        return a.m_has_value && a.m_storage.value == b;
    }
};

} // namespace base

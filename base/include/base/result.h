#pragma once

// base::Result<T>: either a T or a base::Error. Fallible functions return it and callers
// propagate failures with TRY:
//
//     Result<Frame*> allocate_table() {
//         Frame* frame = TRY(allocate_frame());
//         TRY(zero_frame(frame));        // works for Result<void> too
//         return frame;
//     }
//
// There is deliberately no operator bool: `if (result)` would read as "succeeded" to
// some and "has an error" to others. Ask with ok() or is_error().

#include <base/assert.h>
#include <base/error.h>
#include <base/utility.h>

namespace base {

// Success value for Result<void>: `return base::ok();`.
struct OkTag {};
constexpr OkTag ok() { return {}; }

template<typename T>
class [[nodiscard]] Result {
    static_assert(!is_reference_v<T>, "Result of a reference: use Result<T*>");

public:
    using ValueType = T;

    Result(const T& value) requires __is_constructible(T, const T&) : m_error(Error::OK) {
        new (&m_storage.value) T(value);
    }

    Result(T&& value) : m_error(Error::OK) { new (&m_storage.value) T(move(value)); }

    // Lets Result<uint64_t> be returned from an int or Result<Base*> from a Derived*.
    template<typename U>
    requires(
        !is_same_v<
            remove_cvref_t<U>,
            T> && !is_same_v<remove_cvref_t<U>, Result> && !is_same_v<remove_cvref_t<U>, Error> && is_convertible_v<U&&, T>)
        Result(U&& value)
        : m_error(Error::OK) {
        new (&m_storage.value) T(forward<U>(value));
    }

    // A Result<T> built from an error holds no value, so Error::OK would leave nothing to
    // return: that is a programming error, not a runtime condition.
    Result(Error error) : m_error(error) { TERN_ASSERT(error != Error::OK); }

    Result(const Result& other) requires __is_constructible(T, const T&) : m_error(other.m_error) {
        if (m_error == Error::OK)
            new (&m_storage.value) T(other.m_storage.value);
    }

    Result(Result&& other) : m_error(other.m_error) {
        if (m_error == Error::OK)
            new (&m_storage.value) T(move(other.m_storage.value));
    }

    Result& operator=(const Result& other) requires __is_constructible(T, const T&) {
        if (this != &other) {
            destroy();
            m_error = other.m_error;
            if (m_error == Error::OK)
                new (&m_storage.value) T(other.m_storage.value);
        }
        return *this;
    }

    Result& operator=(Result&& other) {
        if (this != &other) {
            destroy();
            m_error = other.m_error;
            if (m_error == Error::OK)
                new (&m_storage.value) T(move(other.m_storage.value));
        }
        return *this;
    }

    ~Result() { destroy(); }

    [[nodiscard]] bool ok() const { return m_error == Error::OK; }
    [[nodiscard]] bool is_error() const { return m_error != Error::OK; }

    [[nodiscard]] Error error() const {
        TERN_ASSERT(is_error());
        return m_error;
    }

    [[nodiscard]] T& value() {
        TERN_ASSERT(ok());
        return m_storage.value;
    }
    [[nodiscard]] const T& value() const {
        TERN_ASSERT(ok());
        return m_storage.value;
    }

    // Moves the value out; the Result still counts as ok but holds a moved-from T.
    [[nodiscard]] T release_value() {
        TERN_ASSERT(ok());
        return move(m_storage.value);
    }

    [[nodiscard]] T value_or(T fallback) const& requires __is_constructible(T, const T&) {
        return ok() ? m_storage.value : move(fallback);
    }
    [[nodiscard]] T value_or(T fallback) && {
        return ok() ? move(m_storage.value) : move(fallback);
    }

private:
    void destroy() {
        if (m_error == Error::OK)
            m_storage.value.~T();
    }

    // A union keeps T unconstructed when the Result holds an error.
    union Storage {
        Storage() : empty() {}
        ~Storage() {}
        char empty;
        T value;
    } m_storage;
    Error m_error;
};

template<>
class [[nodiscard]] Result<void> {
public:
    using ValueType = void;

    constexpr Result() : m_error(Error::OK) {}
    constexpr Result(OkTag) : m_error(Error::OK) {}
    // Error::OK means success here, so an ABI status can be wrapped directly.
    constexpr Result(Error error) : m_error(error) {}

    [[nodiscard]] constexpr bool ok() const { return m_error == Error::OK; }
    [[nodiscard]] constexpr bool is_error() const { return m_error != Error::OK; }

    [[nodiscard]] Error error() const {
        TERN_ASSERT(is_error());
        return m_error;
    }

    // Exists so TRY and MUST treat every Result alike.
    constexpr void release_value() const {}
    constexpr void value() const {}

private:
    Error m_error;
};

} // namespace base

// Evaluates a Result expression; on error returns the error from the enclosing function
// (which must return a Result or an Error), otherwise yields the value.
#define TRY(expr)                                                                                  \
    ({                                                                                             \
        auto _tern_try = (expr);                                                                   \
        if (_tern_try.is_error()) [[unlikely]]                                                     \
            return _tern_try.error();                                                              \
        _tern_try.release_value();                                                                 \
    })

// Evaluates a Result expression that cannot fail unless Tern itself is broken.
#define MUST(expr)                                                                                 \
    ({                                                                                             \
        auto _tern_must = (expr);                                                                  \
        TERN_VERIFY(!_tern_must.is_error());                                                       \
        _tern_must.release_value();                                                                \
    })

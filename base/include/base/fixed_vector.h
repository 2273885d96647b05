#pragma once

// base::FixedVector<T, N>: a vector with inline storage for at most N elements. It never
// touches a heap, so it suits boot-time tables and per-object arrays whose bound is part
// of the design. Running out of room is an ordinary outcome (Error::NO_SPACE), because
// the element count often comes from outside (boot modules, memory map entries).

#include <base/assert.h>
#include <base/result.h>
#include <base/span.h>
#include <base/utility.h>
#include <stddef.h>

namespace base {

namespace detail {

// Storage split on whether T needs a destructor, so a FixedVector of plain data is itself
// trivially destructible and can be a global without an exit-time destructor.
template<typename T, size_t N, bool = is_trivially_destructible_v<T>>
struct FixedVectorStorage {
    union Storage {
        constexpr Storage() : empty() {}
        ~Storage() {}
        char empty;
        T values[N];
    } m_storage;
    size_t m_size{0};

    constexpr FixedVectorStorage() {}
    ~FixedVectorStorage() {
        for (size_t i = 0; i < m_size; ++i)
            m_storage.values[i].~T();
    }
};

template<typename T, size_t N>
struct FixedVectorStorage<T, N, true> {
    union Storage {
        constexpr Storage() : empty() {}
        char empty;
        T values[N];
    } m_storage;
    size_t m_size{0};
};

} // namespace detail

template<typename T, size_t N>
class FixedVector : private detail::FixedVectorStorage<T, N> {
    static_assert(N > 0, "a FixedVector needs room for at least one element");
    using detail::FixedVectorStorage<T, N>::m_storage;
    using detail::FixedVectorStorage<T, N>::m_size;

public:
    using ValueType = T;

    constexpr FixedVector() {}

    FixedVector(const FixedVector& other) requires is_constructible_v<T, const T&> {
        for (size_t i = 0; i < other.m_size; ++i)
            new (&m_storage.values[i]) T(other.m_storage.values[i]);
        m_size = other.m_size;
    }

    FixedVector(FixedVector&& other) {
        for (size_t i = 0; i < other.m_size; ++i)
            new (&m_storage.values[i]) T(move(other.m_storage.values[i]));
        m_size = other.m_size;
        other.clear();
    }

    FixedVector& operator=(const FixedVector& other) requires is_constructible_v<T, const T&> {
        if (this != &other) {
            clear();
            for (size_t i = 0; i < other.m_size; ++i)
                new (&m_storage.values[i]) T(other.m_storage.values[i]);
            m_size = other.m_size;
        }
        return *this;
    }

    FixedVector& operator=(FixedVector&& other) {
        if (this != &other) {
            clear();
            for (size_t i = 0; i < other.m_size; ++i)
                new (&m_storage.values[i]) T(move(other.m_storage.values[i]));
            m_size = other.m_size;
            other.clear();
        }
        return *this;
    }

    [[nodiscard]] constexpr size_t size() const { return m_size; }
    [[nodiscard]] static constexpr size_t capacity() { return N; }
    [[nodiscard]] constexpr bool is_empty() const { return m_size == 0; }
    [[nodiscard]] constexpr bool empty() const { return m_size == 0; }
    [[nodiscard]] constexpr bool is_full() const { return m_size == N; }

    [[nodiscard]] Result<void> push_back(const T& value) requires is_constructible_v<T, const T&> {
        if (m_size == N)
            return Error::NO_SPACE;
        new (&m_storage.values[m_size]) T(value);
        ++m_size;
        return {};
    }

    [[nodiscard]] Result<void> push_back(T&& value) {
        if (m_size == N)
            return Error::NO_SPACE;
        new (&m_storage.values[m_size]) T(move(value));
        ++m_size;
        return {};
    }

    // Constructs the new last element in place; it is then reachable as back().
    template<typename... Args>
    [[nodiscard]] Result<void> emplace_back(Args&&... args) {
        if (m_size == N)
            return Error::NO_SPACE;
        new (&m_storage.values[m_size]) T(forward<Args>(args)...);
        ++m_size;
        return {};
    }

    // Removes the last element and returns it; the vector must not be empty.
    T pop_back() {
        TERN_ASSERT(m_size > 0);
        --m_size;
        T value = move(m_storage.values[m_size]);
        m_storage.values[m_size].~T();
        return value;
    }

    // Removes the element at index and shifts the rest down, keeping their order.
    void erase(size_t index) {
        TERN_ASSERT(index < m_size);
        for (size_t i = index; i + 1 < m_size; ++i)
            m_storage.values[i] = move(m_storage.values[i + 1]);
        --m_size;
        m_storage.values[m_size].~T();
    }

    // Removes the element at index by moving the last one into its place: O(1), but the
    // order of the remaining elements changes.
    void swap_erase(size_t index) {
        TERN_ASSERT(index < m_size);
        if (index != m_size - 1)
            m_storage.values[index] = move(m_storage.values[m_size - 1]);
        --m_size;
        m_storage.values[m_size].~T();
    }

    void clear() {
        while (m_size > 0) {
            --m_size;
            m_storage.values[m_size].~T();
        }
    }

    T& operator[](size_t index) {
        TERN_ASSERT(index < m_size);
        return m_storage.values[index];
    }
    const T& operator[](size_t index) const {
        TERN_ASSERT(index < m_size);
        return m_storage.values[index];
    }

    T& front() { return (*this)[0]; }
    const T& front() const { return (*this)[0]; }
    T& back() {
        TERN_ASSERT(m_size > 0);
        return m_storage.values[m_size - 1];
    }
    const T& back() const {
        TERN_ASSERT(m_size > 0);
        return m_storage.values[m_size - 1];
    }

    T* data() { return m_storage.values; }
    const T* data() const { return m_storage.values; }

    T* begin() { return m_storage.values; }
    T* end() { return m_storage.values + m_size; }
    const T* begin() const { return m_storage.values; }
    const T* end() const { return m_storage.values + m_size; }

    Span<T> span() { return Span<T>(m_storage.values, m_size); }
    Span<const T> span() const { return Span<const T>(m_storage.values, m_size); }
};

} // namespace base

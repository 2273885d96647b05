#pragma once

// base::Span<T>: a non-owning view of contiguous objects. Indexing and slicing out of
// range are bugs and assert; code that slices by untrusted sizes must check first.

#include <base/assert.h>
#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>

namespace base {

template<typename T>
class Span {
public:
    using ValueType = T;

    constexpr Span() = default;
    constexpr Span(T* data, size_t size) : m_data(data), m_size(size) {}

    template<size_t N>
    constexpr Span(T (&array)[N]) : m_data(array), m_size(N) {}

    // Span<T> converts to Span<const T>, never the other way.
    template<typename U>
    requires(is_same_v<const U, T> && !is_same_v<U, T>) constexpr Span(Span<U> other)
        : m_data(other.data()), m_size(other.size()) {}

    [[nodiscard]] constexpr T* data() const { return m_data; }
    [[nodiscard]] constexpr size_t size() const { return m_size; }
    [[nodiscard]] constexpr size_t size_bytes() const { return m_size * sizeof(T); }
    [[nodiscard]] constexpr bool empty() const { return m_size == 0; }
    [[nodiscard]] constexpr bool is_empty() const { return m_size == 0; }

    constexpr T& operator[](size_t index) const {
        TERN_ASSERT(index < m_size);
        return m_data[index];
    }

    constexpr T* begin() const { return m_data; }
    constexpr T* end() const { return m_data + m_size; }

    constexpr T& front() const { return (*this)[0]; }
    constexpr T& back() const {
        TERN_ASSERT(m_size > 0);
        return m_data[m_size - 1];
    }

    // The n elements starting at offset; n defaults to "everything after offset".
    [[nodiscard]] constexpr Span subspan(size_t offset, size_t n = SIZE_MAX) const {
        TERN_ASSERT(offset <= m_size);
        size_t available = m_size - offset;
        if (n == SIZE_MAX)
            n = available;
        TERN_ASSERT(n <= available);
        return Span(m_data + offset, n);
    }

    [[nodiscard]] constexpr Span first(size_t n) const {
        TERN_ASSERT(n <= m_size);
        return Span(m_data, n);
    }

    [[nodiscard]] constexpr Span last(size_t n) const {
        TERN_ASSERT(n <= m_size);
        return Span(m_data + (m_size - n), n);
    }

private:
    T* m_data{nullptr};
    size_t m_size{0};
};

template<typename T, size_t N>
Span(T (&)[N]) -> Span<T>;

// Byte views of any span, for checksums, copying into messages and the like.
template<typename T>
Span<const uint8_t> as_bytes(Span<T> span) {
    return Span<const uint8_t>(reinterpret_cast<const uint8_t*>(span.data()), span.size_bytes());
}

template<typename T>
requires(!is_same_v<const T, T>) Span<uint8_t> as_writable_bytes(Span<T> span) {
    return Span<uint8_t>(reinterpret_cast<uint8_t*>(span.data()), span.size_bytes());
}

} // namespace base

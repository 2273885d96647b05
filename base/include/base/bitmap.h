#pragma once

// base::Bitmap: a bit array over words the caller owns, so the physical memory manager
// can place its bitmap in memory it found at boot and the same code runs in host tests
// over a stack array. Indices past the end are bugs and assert; searches that find
// nothing return nullopt.

#include <base/assert.h>
#include <base/optional.h>
#include <stddef.h>
#include <stdint.h>

namespace base {

class Bitmap {
public:
    static constexpr size_t kBitsPerWord = 64;

    // How many uint64_t words hold bit_count bits.
    static constexpr size_t words_needed(size_t bit_count) {
        return (bit_count + kBitsPerWord - 1) / kBitsPerWord;
    }

    constexpr Bitmap() = default;

    // The words must hold at least words_needed(bit_count) entries and outlive the
    // Bitmap. Their contents are used as they are; call clear_all() for a fresh map.
    constexpr Bitmap(uint64_t* words, size_t bit_count) : m_words(words), m_size(bit_count) {}

    [[nodiscard]] constexpr size_t size() const { return m_size; }
    [[nodiscard]] constexpr uint64_t* words() const { return m_words; }
    [[nodiscard]] constexpr size_t word_count() const { return words_needed(m_size); }

    [[nodiscard]] bool test(size_t index) const {
        TERN_ASSERT(index < m_size);
        return (m_words[index / kBitsPerWord] >> (index % kBitsPerWord)) & 1;
    }

    void set(size_t index) {
        TERN_ASSERT(index < m_size);
        m_words[index / kBitsPerWord] |= uint64_t(1) << (index % kBitsPerWord);
    }

    void clear(size_t index) {
        TERN_ASSERT(index < m_size);
        m_words[index / kBitsPerWord] &= ~(uint64_t(1) << (index % kBitsPerWord));
    }

    void assign(size_t index, bool value) { value ? set(index) : clear(index); }

    // Ranges are [start, start + count) and must lie inside the bitmap.
    void set_range(size_t start, size_t count) { fill_range(start, count, true); }
    void clear_range(size_t start, size_t count) { fill_range(start, count, false); }

    void set_all() { fill_range(0, m_size, true); }
    void clear_all() { fill_range(0, m_size, false); }

    // True when every bit in [start, start + count) is clear (or set).
    [[nodiscard]] bool is_range_clear(size_t start, size_t count) const;
    [[nodiscard]] bool is_range_set(size_t start, size_t count) const;

    [[nodiscard]] Optional<size_t> find_first_set(size_t from = 0) const {
        return find_next(from, m_size, true);
    }
    [[nodiscard]] Optional<size_t> find_first_clear(size_t from = 0) const {
        return find_next(from, m_size, false);
    }

    // The lowest index >= from that is a multiple of align and starts n consecutive clear
    // bits, e.g. a naturally aligned block of free frames. n == 0 finds nothing; align 0
    // is treated as 1 and need not be a power of two.
    [[nodiscard]] Optional<size_t> find_clear_run(size_t n, size_t align = 1,
                                                  size_t from = 0) const;

    [[nodiscard]] size_t count_set() const { return count_set(0, m_size); }
    [[nodiscard]] size_t count_set(size_t start, size_t count) const;
    [[nodiscard]] size_t count_clear() const { return m_size - count_set(); }

private:
    void fill_range(size_t start, size_t count, bool value);

    // The first index in [from, limit) whose bit equals value.
    Optional<size_t> find_next(size_t from, size_t limit, bool value) const;

    uint64_t* m_words{nullptr};
    size_t m_size{0};
};

} // namespace base

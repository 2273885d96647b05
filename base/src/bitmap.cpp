// Word-at-a-time bitmap operations. Bit i lives in word i / 64 at bit position i % 64.

#include <base/bitmap.h>

namespace base {

namespace {

constexpr size_t kBits = Bitmap::kBitsPerWord;

// The bits [lo, hi) of one word, with 0 <= lo < hi <= 64.
constexpr uint64_t word_mask(size_t lo, size_t hi) {
    uint64_t upper = hi == kBits ? ~uint64_t(0) : (uint64_t(1) << hi) - 1;
    uint64_t lower = (uint64_t(1) << lo) - 1;
    return upper & ~lower;
}

// Calls fn(word_index, mask) for each word the range [start, start + count) touches.
template<typename Fn>
void for_each_word(size_t start, size_t count, Fn fn) {
    size_t end = start + count;
    size_t index = start;
    while (index < end) {
        size_t word = index / kBits;
        size_t lo = index % kBits;
        size_t hi = end - word * kBits;
        if (hi > kBits)
            hi = kBits;
        if (!fn(word, word_mask(lo, hi)))
            return;
        index = (word + 1) * kBits;
    }
}

} // namespace

void Bitmap::fill_range(size_t start, size_t count, bool value) {
    TERN_ASSERT(start <= m_size && count <= m_size - start);
    for_each_word(start, count, [&](size_t word, uint64_t mask) {
        if (value)
            m_words[word] |= mask;
        else
            m_words[word] &= ~mask;
        return true;
    });
}

bool Bitmap::is_range_clear(size_t start, size_t count) const {
    TERN_ASSERT(start <= m_size && count <= m_size - start);
    bool clear = true;
    for_each_word(start, count, [&](size_t word, uint64_t mask) {
        clear = (m_words[word] & mask) == 0;
        return clear;
    });
    return clear;
}

bool Bitmap::is_range_set(size_t start, size_t count) const {
    TERN_ASSERT(start <= m_size && count <= m_size - start);
    bool set = true;
    for_each_word(start, count, [&](size_t word, uint64_t mask) {
        set = (m_words[word] & mask) == mask;
        return set;
    });
    return set;
}

size_t Bitmap::count_set(size_t start, size_t count) const {
    TERN_ASSERT(start <= m_size && count <= m_size - start);
    size_t total = 0;
    for_each_word(start, count, [&](size_t word, uint64_t mask) {
        total += static_cast<size_t>(__builtin_popcountll(m_words[word] & mask));
        return true;
    });
    return total;
}

Optional<size_t> Bitmap::find_next(size_t from, size_t limit, bool value) const {
    if (from >= limit)
        return nullopt;
    size_t word = from / kBits;
    size_t last_word = (limit - 1) / kBits;
    // Inverting the word turns a search for a clear bit into a search for a set bit.
    uint64_t invert = value ? 0 : ~uint64_t(0);
    uint64_t bits = (m_words[word] ^ invert) & word_mask(from % kBits, kBits);
    for (;;) {
        if (bits != 0) {
            size_t index = word * kBits + static_cast<size_t>(__builtin_ctzll(bits));
            if (index >= limit)
                return nullopt;
            return index;
        }
        if (word == last_word)
            return nullopt;
        ++word;
        bits = m_words[word] ^ invert;
    }
}

Optional<size_t> Bitmap::find_clear_run(size_t n, size_t align, size_t from) const {
    if (n == 0 || n > m_size)
        return nullopt;
    if (align == 0)
        align = 1;

    // Each step either returns or moves the candidate past a set bit, so the search is
    // linear in the size of the bitmap.
    size_t candidate = from;
    for (;;) {
        Optional<size_t> clear = find_next(candidate, m_size, false);
        if (!clear.has_value())
            return nullopt;
        candidate = *clear;
        size_t remainder = candidate % align;
        if (remainder != 0) {
            // candidate < m_size here, so the subtraction cannot wrap.
            if (align - remainder > m_size - candidate)
                return nullopt;
            candidate += align - remainder;
        }
        if (candidate > m_size - n)
            return nullopt;
        Optional<size_t> blocker = find_next(candidate, candidate + n, true);
        if (!blocker.has_value())
            return candidate;
        candidate = *blocker + 1;
    }
}

} // namespace base

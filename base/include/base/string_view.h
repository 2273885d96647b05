#pragma once

// base::StringView: a non-owning, not necessarily NUL-terminated run of chars, plus
// strict number parsers for command lines, config files and protocol text.

#include <base/assert.h>
#include <base/optional.h>
#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>

namespace base {

// Whether split() reports empty fields ("a,,b" yields "a", "", "b") or skips them.
enum class KeepEmpty : bool {
    kNo,
    kYes
};

struct StringViewCut;
struct StringViewSplit;

class StringView {
public:
    constexpr StringView() = default;
    constexpr StringView(const char* s) : m_data(s), m_length(s ? __builtin_strlen(s) : 0) {}
    constexpr StringView(const char* s, size_t length) : m_data(s), m_length(length) {}

    [[nodiscard]] constexpr const char* data() const { return m_data; }
    [[nodiscard]] constexpr size_t length() const { return m_length; }
    [[nodiscard]] constexpr size_t size() const { return m_length; }
    [[nodiscard]] constexpr bool is_empty() const { return m_length == 0; }
    [[nodiscard]] constexpr bool empty() const { return m_length == 0; }

    constexpr char operator[](size_t index) const {
        TERN_ASSERT(index < m_length);
        return m_data[index];
    }

    constexpr const char* begin() const { return m_data; }
    constexpr const char* end() const { return m_data + m_length; }

    friend constexpr bool operator==(StringView a, StringView b) {
        if (a.m_length != b.m_length)
            return false;
        for (size_t i = 0; i < a.m_length; ++i) {
            if (a.m_data[i] != b.m_data[i])
                return false;
        }
        return true;
    }

    [[nodiscard]] constexpr bool starts_with(StringView prefix) const {
        return prefix.m_length <= m_length && substr(0, prefix.m_length) == prefix;
    }
    [[nodiscard]] constexpr bool starts_with(char c) const {
        return m_length > 0 && m_data[0] == c;
    }

    [[nodiscard]] constexpr bool ends_with(StringView suffix) const {
        return suffix.m_length <= m_length && substr(m_length - suffix.m_length) == suffix;
    }
    [[nodiscard]] constexpr bool ends_with(char c) const {
        return m_length > 0 && m_data[m_length - 1] == c;
    }

    // Clamps like std::string_view::substr minus the exception: an offset past the end
    // yields an empty view, a count past the end stops at the end.
    [[nodiscard]] constexpr StringView substr(size_t offset, size_t count = SIZE_MAX) const {
        if (offset > m_length)
            return StringView(m_data + m_length, 0);
        size_t available = m_length - offset;
        return StringView(m_data + offset, count < available ? count : available);
    }

    [[nodiscard]] Optional<size_t> find(char c, size_t from = 0) const {
        for (size_t i = from; i < m_length; ++i) {
            if (m_data[i] == c)
                return i;
        }
        return nullopt;
    }

    [[nodiscard]] Optional<size_t> find(StringView needle, size_t from = 0) const {
        if (needle.m_length > m_length)
            return nullopt;
        for (size_t i = from; i + needle.m_length <= m_length; ++i) {
            if (substr(i, needle.m_length) == needle)
                return i;
        }
        return nullopt;
    }

    [[nodiscard]] Optional<size_t> find_last(char c) const {
        for (size_t i = m_length; i > 0; --i) {
            if (m_data[i - 1] == c)
                return i - 1;
        }
        return nullopt;
    }

    [[nodiscard]] bool contains(char c) const { return find(c).has_value(); }
    [[nodiscard]] bool contains(StringView needle) const { return find(needle).has_value(); }

    static constexpr bool is_whitespace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    }

    [[nodiscard]] constexpr StringView trim_left() const {
        size_t start = 0;
        while (start < m_length && is_whitespace(m_data[start]))
            ++start;
        return substr(start);
    }

    [[nodiscard]] constexpr StringView trim_right() const {
        size_t end = m_length;
        while (end > 0 && is_whitespace(m_data[end - 1]))
            --end;
        return substr(0, end);
    }

    [[nodiscard]] constexpr StringView trim() const { return trim_left().trim_right(); }

    // Drops every leading and trailing occurrence of c, e.g. '/' around a path.
    [[nodiscard]] constexpr StringView trim(char c) const {
        size_t start = 0;
        size_t end = m_length;
        while (start < end && m_data[start] == c)
            ++start;
        while (end > start && m_data[end - 1] == c)
            --end;
        return substr(start, end - start);
    }

    // Cuts at the first separator: "key=value" gives head "key" and tail "value". With no
    // separator the whole view is the head and the tail is empty.
    [[nodiscard]] StringViewCut cut(char sep) const;

    // Iterates the fields between separators: `for (StringView part : path.split('/'))`.
    // Empty fields are skipped unless keep is KeepEmpty::kYes; with KeepEmpty::kYes an empty
    // view yields one empty field, as "a" yields one field "a".
    [[nodiscard]] StringViewSplit split(char sep, KeepEmpty keep = KeepEmpty::kNo) const;

private:
    const char* m_data{""};
    size_t m_length{0};
};

struct StringViewCut {
    StringView head;
    StringView tail;
    bool found;
};

inline StringViewCut StringView::cut(char sep) const {
    Optional<size_t> at = find(sep);
    if (!at.has_value())
        return {*this, StringView(m_data + m_length, 0), false};
    return {substr(0, *at), substr(*at + 1), true};
}

class StringViewSplitIterator {
public:
    StringViewSplitIterator(StringView rest, char sep, KeepEmpty keep, bool done)
        : m_rest(rest), m_sep(sep), m_keep(keep), m_done(done) {
        if (!m_done)
            advance();
    }

    StringView operator*() const { return m_current; }
    StringViewSplitIterator& operator++() {
        advance();
        return *this;
    }
    // Only the end state matters: the loop runs until this iterator reaches the end.
    bool operator==(const StringViewSplitIterator& other) const { return m_done == other.m_done; }

private:
    void advance() {
        for (;;) {
            if (m_exhausted) {
                m_done = true;
                return;
            }
            StringViewCut c = m_rest.cut(m_sep);
            m_current = c.head;
            m_rest = c.tail;
            if (!c.found)
                m_exhausted = true;
            if (m_keep == KeepEmpty::kYes || !m_current.is_empty())
                return;
        }
    }

    StringView m_rest;
    StringView m_current;
    char m_sep;
    KeepEmpty m_keep;
    bool m_done;
    bool m_exhausted{false};
};

struct StringViewSplit {
    StringView text;
    char sep;
    KeepEmpty keep;
    StringViewSplitIterator begin() const {
        return StringViewSplitIterator(text, sep, keep, false);
    }
    StringViewSplitIterator end() const { return StringViewSplitIterator({}, sep, keep, true); }
};

inline StringViewSplit StringView::split(char sep, KeepEmpty keep) const {
    return {*this, sep, keep};
}

// Parses an unsigned number that must fill the whole view. Base 2..36; base 16 also
// accepts a "0x" prefix; base 0 picks 16 for "0x", 2 for "0b", 8 for "0o", else 10.
// Empty input, signs, stray characters and values above UINT64_MAX are rejected.
[[nodiscard]] Optional<uint64_t> parse_u64(StringView text, int base = 10);

// As parse_u64 with an optional leading '+' or '-'; accepts INT64_MIN exactly.
[[nodiscard]] Optional<int64_t> parse_i64(StringView text, int base = 10);

} // namespace base

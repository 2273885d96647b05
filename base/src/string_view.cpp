// Number parsing for StringView. These parsers see command lines, boot module names and
// protocol text, so every malformed input is a returned nullopt, never an assertion.

#include <base/string_view.h>

namespace base {

namespace {

int digit_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

bool has_prefix_ci(StringView text, char letter) {
    return text.length() > 2 && text[0] == '0' && (text[1] == letter || text[1] == letter - 32);
}

} // namespace

Optional<uint64_t> parse_u64(StringView text, int base) {
    if (base == 0) {
        if (has_prefix_ci(text, 'x')) {
            base = 16;
            text = text.substr(2);
        } else if (has_prefix_ci(text, 'b')) {
            base = 2;
            text = text.substr(2);
        } else if (has_prefix_ci(text, 'o')) {
            base = 8;
            text = text.substr(2);
        } else {
            base = 10;
        }
    } else if (base == 16 && has_prefix_ci(text, 'x')) {
        text = text.substr(2);
    }
    if (base < 2 || base > 36 || text.is_empty())
        return nullopt;

    uint64_t value = 0;
    for (char c : text) {
        int digit = digit_value(c);
        if (digit < 0 || digit >= base)
            return nullopt;
        if (__builtin_mul_overflow(value, static_cast<uint64_t>(base), &value))
            return nullopt;
        if (__builtin_add_overflow(value, static_cast<uint64_t>(digit), &value))
            return nullopt;
    }
    return value;
}

Optional<int64_t> parse_i64(StringView text, int base) {
    bool negative = false;
    if (text.starts_with('-') || text.starts_with('+')) {
        negative = text[0] == '-';
        text = text.substr(1);
    }
    // A second sign would otherwise be rejected by parse_u64 anyway; checking here keeps
    // the intent obvious.
    if (text.starts_with('-') || text.starts_with('+'))
        return nullopt;

    Optional<uint64_t> magnitude = parse_u64(text, base);
    if (!magnitude.has_value())
        return nullopt;

    constexpr uint64_t kMaxPositive = static_cast<uint64_t>(INT64_MAX);
    if (negative) {
        if (*magnitude > kMaxPositive + 1)
            return nullopt;
        // Negating in unsigned arithmetic reaches INT64_MIN without signed overflow.
        return static_cast<int64_t>(0 - *magnitude);
    }
    if (*magnitude > kMaxPositive)
        return nullopt;
    return static_cast<int64_t>(*magnitude);
}

} // namespace base

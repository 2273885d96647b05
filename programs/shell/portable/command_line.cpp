// The shell's command-line splitter (see command_line.h).
//
// The line is whatever the user typed, so every malformed line ends in an error with a
// message rather than in a half-filled argv, and no line can write past the fixed storage.

#include <base/utility.h>
#include <programs/shell/portable/command_line.h>

namespace shell {

namespace {

// The messages spell the limits out; keep them in step.
static_assert(kMaxArgs == 256 && kMaxArgBytes == 2048);
constexpr const char* kTooManyWords = "too many words (at most 256)";
constexpr const char* kTooLong = "words too long (at most 2048 bytes in all)";

// Writes value in decimal and returns the length; INT_MIN included.
size_t format_status(int value, char* digits) {
    int64_t wide = value;
    uint64_t magnitude = wide < 0 ? static_cast<uint64_t>(-wide) : static_cast<uint64_t>(wide);
    char reversed[20];
    size_t count = 0;
    do {
        reversed[count++] = static_cast<char>('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    size_t length = 0;
    if (wide < 0)
        digits[length++] = '-';
    while (count > 0)
        digits[length++] = reversed[--count];
    return length;
}

} // namespace

base::StringView ParsedCommand::arg(size_t index) const {
    TERN_ASSERT(index < m_argc);
    return base::StringView(m_argv[index], m_arg_lengths[index]);
}

void ParsedCommand::clear() {
    m_argc = 0;
    m_argv[0] = nullptr;
    m_text_length = 0;
    m_word_offset = 0;
    m_word_start = 0;
    m_error_message = "";
    m_error_offset = 0;
}

base::Result<void> ParsedCommand::fail(base::Error error, const char* message, size_t offset) {
    clear();
    m_error_message = message;
    m_error_offset = offset;
    return error;
}

base::Result<void> ParsedCommand::begin_word(size_t offset) {
    if (m_argc == kMaxArgs)
        return fail(base::Error::TOO_BIG, kTooManyWords, offset);
    m_word_offset = offset;
    m_word_start = m_text_length;
    return base::ok();
}

base::Result<void> ParsedCommand::append(char c) {
    if (m_text_length == kMaxArgBytes)
        return fail(base::Error::TOO_BIG, kTooLong, m_word_offset);
    m_text[m_text_length++] = c;
    return base::ok();
}

base::Result<void> ParsedCommand::end_word() {
    // The word's NUL is part of the budget.
    TRY(append('\0'));
    m_argv[m_argc] = m_text + m_word_start;
    m_arg_lengths[m_argc] = m_text_length - 1 - m_word_start;
    ++m_argc;
    m_argv[m_argc] = nullptr;
    return base::ok();
}

base::Result<void> parse_command_line(base::StringView line, ParsedCommand& out, int last_status) {
    out.clear();

    char status[12];
    size_t status_length = format_status(last_status, status);
    auto append_status = [&]() -> base::Result<void> {
        for (size_t k = 0; k < status_length; ++k)
            TRY(out.append(status[k]));
        return base::ok();
    };

    size_t length = line.length();
    bool in_word = false;
    size_t i = 0;
    while (i < length) {
        char c = line[i];
        if (c == '\0')
            return out.fail(base::Error::INVALID_ARGUMENT, "NUL byte in the command line", i);
        if (base::StringView::is_whitespace(c)) {
            if (in_word) {
                TRY(out.end_word());
                in_word = false;
            }
            ++i;
            continue;
        }
        if (!in_word) {
            // A # inside a word ("a#b") or quoted is an ordinary character.
            if (c == '#')
                break;
            TRY(out.begin_word(i));
            in_word = true;
        }

        if (c == '\'') {
            size_t j = i + 1;
            while (j < length && line[j] != '\'') {
                if (line[j] == '\0')
                    return out.fail(base::Error::INVALID_ARGUMENT, "NUL byte in the command line",
                                    j);
                TRY(out.append(line[j]));
                ++j;
            }
            if (j == length)
                return out.fail(base::Error::INVALID_ARGUMENT, "unterminated single quote", i);
            i = j + 1;
        } else if (c == '"') {
            size_t j = i + 1;
            for (;;) {
                if (j == length)
                    return out.fail(base::Error::INVALID_ARGUMENT, "unterminated double quote", i);
                char d = line[j];
                char next = j + 1 < length ? line[j + 1] : '\0';
                if (d == '"') {
                    ++j;
                    break;
                }
                if (d == '\0')
                    return out.fail(base::Error::INVALID_ARGUMENT, "NUL byte in the command line",
                                    j);
                if (d == '\\' && (next == '"' || next == '\\' || next == '$')) {
                    TRY(out.append(next));
                    j += 2;
                } else if (d == '$' && next == '?') {
                    TRY(append_status());
                    j += 2;
                } else {
                    // Inside double quotes any other backslash stays, as in POSIX.
                    TRY(out.append(d));
                    ++j;
                }
            }
            i = j;
        } else if (c == '\\') {
            if (i + 1 == length)
                return out.fail(base::Error::INVALID_ARGUMENT, "trailing backslash", i);
            if (line[i + 1] == '\0')
                return out.fail(base::Error::INVALID_ARGUMENT, "NUL byte in the command line",
                                i + 1);
            TRY(out.append(line[i + 1]));
            i += 2;
        } else if (c == '$' && i + 1 < length && line[i + 1] == '?') {
            TRY(append_status());
            i += 2;
        } else {
            TRY(out.append(c));
            ++i;
        }
    }
    if (in_word)
        TRY(out.end_word());
    return base::ok();
}

} // namespace shell

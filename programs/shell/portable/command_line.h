#pragma once

// shell::parse_command_line: splits one line typed at the shell into the words of a
// command, with a small, predictable subset of the POSIX shell's quoting:
//
//   words        separated by blanks (space, tab, and the other ASCII whitespace)
//   '...'        everything literal up to the next single quote
//   "..."        literal except \" \\ \$ (the backslash is dropped) and $?
//   \c           outside quotes: c literally, whatever it is
//   #            at the start of a word: the rest of the line is a comment
//   $?           the status of the last command, in decimal (not inside single quotes)
//
// Quoted and unquoted pieces join into one word ("a"'b'c is abc), and "" or '' is an empty
// word. Any other $ is literal; there are no variables, globs or redirections yet.
//
// The words live in fixed storage inside ParsedCommand, ready to hand to a spawn call.

#include <base/result.h>
#include <base/string_view.h>
#include <stddef.h>

namespace shell {

// The most words a command can have (proc takes as many arguments:
// lib/include/lib/spawn_data.h).
inline constexpr size_t kMaxArgs = 256;

// The most bytes of words a command can have, counting the NUL that ends each word, as
// ARG_MAX does.
inline constexpr size_t kMaxArgBytes = 2048;

class ParsedCommand;

// Fills out with the words of line. last_status is what $? expands to. On failure out holds
// no words, and out.error_message() says what is wrong:
//   INVALID_ARGUMENT  an unterminated quote, a backslash at the end of the line, or a NUL
//                     byte (a word with a NUL in it would be cut short in argv)
//   TOO_BIG           more than kMaxArgs words, or more than kMaxArgBytes of them
// A blank or comment-only line is not an error: it gives argc() == 0.
[[nodiscard]] base::Result<void> parse_command_line(base::StringView line, ParsedCommand& out,
                                                    int last_status);

class ParsedCommand {
public:
    ParsedCommand() { clear(); }
    // argv() points into the object itself, so a copy would point into the original.
    ParsedCommand(const ParsedCommand&) = delete;
    ParsedCommand& operator=(const ParsedCommand&) = delete;

    [[nodiscard]] size_t argc() const { return m_argc; }

    // argv()[0] to argv()[argc() - 1] are NUL-terminated words and argv()[argc()] is null.
    // They stay valid until the next parse into this object.
    [[nodiscard]] const char* const* argv() const { return m_argv; }

    // Word index (below argc()) without its NUL.
    [[nodiscard]] base::StringView arg(size_t index) const;

    // Removes the last word (the shell's final "&"); nothing when there are none.
    void drop_last() {
        if (m_argc == 0)
            return;
        --m_argc;
        m_argv[m_argc] = nullptr;
    }

    // Why the last parse failed, for the user; empty after a successful parse.
    [[nodiscard]] const char* error_message() const { return m_error_message; }
    // Where in the line the problem starts: the opening quote, the backslash, or the word
    // that did not fit.
    [[nodiscard]] size_t error_offset() const { return m_error_offset; }

private:
    friend base::Result<void> parse_command_line(base::StringView line, ParsedCommand& out,
                                                 int last_status);

    void clear();
    [[nodiscard]] base::Result<void> fail(base::Error error, const char* message, size_t offset);
    [[nodiscard]] base::Result<void> begin_word(size_t offset);
    [[nodiscard]] base::Result<void> append(char c);
    [[nodiscard]] base::Result<void> end_word();

    const char* m_argv[kMaxArgs + 1];
    size_t m_arg_lengths[kMaxArgs];
    size_t m_argc;
    char m_text[kMaxArgBytes];
    size_t m_text_length;
    // Where the word being built starts, in the line and in m_text.
    size_t m_word_offset;
    size_t m_word_start;
    const char* m_error_message;
    size_t m_error_offset;
};

} // namespace shell

// Host tests for the console's line editor: every key, the history, escape sequences, UTF-8,
// the echo off mode and the bounds, plus a long random run. Every echo is played on a small
// VT100 model of the terminal, which must then show exactly the editor's line with the
// cursor in the same place: that is what "the redraw is correct" means.

#include <catch2/catch.hpp>

#include <servers/console/portable/line_editor.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

using terminal::kHistoryDepth;
using terminal::kMaxEchoLength;
using terminal::kMaxLineLength;
using terminal::LineEditor;
using terminal::LineEditorOutput;
using terminal::LineEvent;

namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Whether text is well-formed UTF-8 (RFC 3629) without control characters (C0, DEL, C1):
// what a line of the editor must always be. Decodes each character in full, independently of the
// editor.
bool is_clean_utf8(const std::string& text) {
    for (size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F)
                return false;
            ++i;
            continue;
        }
        size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        if (length == 0 || i + length > text.size())
            return false;
        uint32_t code_point = c & (0xFF >> (length + 1));
        for (size_t k = 1; k < length; ++k) {
            unsigned char next = static_cast<unsigned char>(text[i + k]);
            if (!is_continuation(next))
                return false;
            code_point = (code_point << 6) | (next & 0x3F);
        }
        const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code_point < smallest[length] || code_point > 0x10FFFF
            || (code_point >= 0xD800 && code_point <= 0xDFFF) || code_point < 0xA0)
            return false;
        i += length;
    }
    return true;
}

// Characters (terminal columns) in text.
size_t count_characters(const std::string& text) {
    return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return !is_continuation(static_cast<unsigned char>(c));
    }));
}

// The part of a VT100 the editor may use: printable bytes, UTF-8 characters (one column
// each), BS, CR, LF, BEL, ESC [ n C, ESC [ n D and ESC [ K, on a terminal wide enough that
// nothing wraps. Any other byte from the editor fails the test, and so does a character
// whose bytes do not all come in the same echo.
class Screen {
public:
    void play(const std::string& bytes) {
        for (size_t i = 0; i < bytes.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(bytes[i]);
            if (c == 0x1B) {
                REQUIRE(i + 2 < bytes.size());
                REQUIRE(bytes[i + 1] == '[');
                size_t j = i + 2;
                size_t count = 0;
                bool has_count = false;
                while (j < bytes.size() && bytes[j] >= '0' && bytes[j] <= '9') {
                    count = count * 10 + (bytes[j] - '0');
                    has_count = true;
                    ++j;
                }
                REQUIRE(j < bytes.size());
                if (!has_count)
                    count = 1;
                char final_byte = bytes[j];
                if (final_byte == 'C') {
                    m_column += count;
                } else if (final_byte == 'D') {
                    REQUIRE(count <= m_column);
                    m_column -= count;
                } else {
                    REQUIRE(final_byte == 'K');
                    REQUIRE_FALSE(has_count);
                    if (row().size() > m_column)
                        row().resize(m_column);
                }
                i = j;
            } else if (c == '\b') {
                if (m_column > 0)
                    --m_column;
            } else if (c == '\r') {
                m_column = 0;
            } else if (c == '\n') {
                m_rows.emplace_back();
            } else if (c == 0x07) {
                ++m_bells;
            } else {
                REQUIRE(c >= 0x20);
                REQUIRE(c != 0x7F);
                size_t length = 1;
                while (c >= 0x80 && i + length < bytes.size()
                       && is_continuation(static_cast<unsigned char>(bytes[i + length])))
                    ++length;
                std::string character = bytes.substr(i, length);
                REQUIRE(is_clean_utf8(character));
                i += length - 1;
                if (row().size() < m_column)
                    row().resize(m_column, " ");
                if (row().size() == m_column)
                    row().push_back(character);
                else
                    row()[m_column] = character;
                ++m_column;
            }
        }
    }

    // A row as text, with no trailing padding: a cursor moved right of the text must not
    // have left blanks the line does not have.
    std::string row_text(size_t index) const {
        std::string text;
        for (const std::string& cell : m_rows[index])
            text += cell;
        return text;
    }
    // The row being edited.
    std::string current_row() const { return row_text(m_rows.size() - 1); }
    size_t row_count() const { return m_rows.size(); }
    size_t column() const { return m_column; }
    size_t bells() const { return m_bells; }
    void new_row() {
        m_rows.emplace_back();
        m_column = 0;
    }

private:
    // One string per column: a character of one or more bytes.
    using Row = std::vector<std::string>;
    Row& row() { return m_rows.back(); }

    std::vector<Row> m_rows{1};
    size_t m_column = 0;
    size_t m_bells = 0;
};

// Drives an editor byte by byte and keeps what came out. The editor is about 18 KiB, so it
// lives on the heap like the server's lives in static storage.
struct Harness {
    std::unique_ptr<LineEditor> editor = std::make_unique<LineEditor>();
    std::unique_ptr<LineEditorOutput> out = std::make_unique<LineEditorOutput>();
    std::string echo;      // everything echoed since the last take_echo()
    std::string last_echo; // the echo of the last byte
    std::vector<std::string> lines;
    size_t interrupts = 0;
    size_t quits = 0;
    size_t suspends = 0;
    size_t end_of_files = 0;
    size_t too_long = 0;
    size_t largest_echo = 0;
    Screen screen;
    bool check_screen = true;

    void feed(const std::string& bytes) {
        for (char c : bytes)
            feed_byte(static_cast<uint8_t>(c));
    }

    void feed_byte(uint8_t byte) {
        editor->feed(byte, *out);
        REQUIRE(out->echo_length <= kMaxEchoLength);
        largest_echo = std::max(largest_echo, out->echo_length);
        last_echo.assign(reinterpret_cast<const char*>(out->echo), out->echo_length);
        echo += last_echo;
        switch (out->event) {
        case LineEvent::kNone:
            CHECK(out->line.is_empty());
            break;
        case LineEvent::kLine:
            lines.emplace_back(out->line.data(), out->line.length());
            break;
        case LineEvent::kInterrupt:
            CHECK(out->line.is_empty());
            ++interrupts;
            break;
        case LineEvent::kQuit:
            CHECK(out->line.is_empty());
            ++quits;
            break;
        case LineEvent::kSuspend:
            CHECK(out->line.is_empty());
            ++suspends;
            break;
        case LineEvent::kEndOfFile:
            CHECK(out->line.is_empty());
            ++end_of_files;
            break;
        case LineEvent::kLineTooLong:
            CHECK(out->line.is_empty());
            ++too_long;
            break;
        }
        check_invariants();
        if (editor->echo_enabled() && check_screen) {
            screen.play(last_echo);
            REQUIRE(screen.current_row() == line());
            REQUIRE(screen.column() == cursor_column());
        }
    }

    void check_invariants() const {
        base::StringView current = editor->line();
        REQUIRE(current.length() <= kMaxLineLength);
        REQUIRE(editor->cursor() <= current.length());
        REQUIRE(is_clean_utf8(line()));
        // The cursor is on a character boundary.
        if (editor->cursor() < current.length())
            REQUIRE_FALSE(is_continuation(static_cast<unsigned char>(current[editor->cursor()])));
        // Only a line that lost a key to the limit can have overflowed.
        if (editor->overflowed())
            REQUIRE_FALSE(current.is_empty());
        REQUIRE(editor->history_size() <= kHistoryDepth);
        bool history_ok = true;
        for (size_t i = 0; i < editor->history_size(); ++i) {
            history_ok = history_ok && !editor->history_entry(i).is_empty();
            if (i > 0)
                history_ok =
                    history_ok && !(editor->history_entry(i) == editor->history_entry(i - 1));
        }
        REQUIRE(history_ok);
    }

    std::string line() const { return std::string(editor->line().data(), editor->line().length()); }
    size_t cursor() const { return editor->cursor(); }
    // The column the cursor is in: one per character before it.
    size_t cursor_column() const { return count_characters(line().substr(0, cursor())); }
    std::string take_echo() { return std::exchange(echo, std::string()); }
    std::string history(size_t i) const {
        base::StringView entry = editor->history_entry(i);
        return std::string(entry.data(), entry.length());
    }
};

const std::string kLeft = "\x1b[D";
const std::string kRight = "\x1b[C";
const std::string kUp = "\x1b[A";
const std::string kDown = "\x1b[B";
const std::string kHome = "\x1b[H";
const std::string kEnd = "\x1b[F";
const std::string kDeleteKey = "\x1b[3~";

} // namespace

TEST_CASE("line editor: typing and Enter", "[console]") {
    Harness h;
    h.feed("hello");
    CHECK(h.line() == "hello");
    CHECK(h.cursor() == 5);
    CHECK(h.lines.empty());
    CHECK(h.take_echo() == "hello");

    h.feed_byte('\r');
    CHECK(h.out->event == LineEvent::kLine);
    CHECK(h.out->line == base::StringView("hello"));
    CHECK(h.last_echo == "\r\n");
    REQUIRE(h.lines == std::vector<std::string>{"hello"});
    CHECK(h.line().empty());
    CHECK(h.cursor() == 0);
}

TEST_CASE("line editor: CR, LF and CRLF each end exactly one line", "[console]") {
    Harness h;
    h.feed("a\r\nb\nc\rd\r\r\ne\n\nf\r\n\r\n");
    CHECK(h.lines == std::vector<std::string>{"a", "b", "c", "d", "", "e", "", "f", ""});
    CHECK(h.take_echo() == "a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\nf\r\n\r\n");

    // The LF of a CRLF produces no output and no event of its own.
    h.feed("x\r");
    h.feed_byte('\n');
    CHECK(h.out->event == LineEvent::kNone);
    CHECK(h.last_echo.empty());

    // Only the byte right after the CR is swallowed.
    h.lines.clear();
    h.feed("\ry\n");
    CHECK(h.lines == std::vector<std::string>{"", "y"});
}

TEST_CASE("line editor: backspace and DEL erase left of the cursor", "[console]") {
    Harness h;
    h.feed("abcd");
    h.take_echo();
    h.feed("\x08");
    CHECK(h.line() == "abc");
    CHECK(h.take_echo() == "\b\x1b[K");
    h.feed("\x7f");
    CHECK(h.line() == "ab");
    CHECK(h.cursor() == 2);
    h.feed("\x7f\x7f");
    CHECK(h.line().empty());
    h.take_echo();
    h.feed("\x7f\x08");
    CHECK(h.line().empty());
    CHECK(h.take_echo().empty());

    // In the middle the tail moves left and the cursor stays before it.
    h.feed("abcd" + kLeft + kLeft + "\x7f");
    CHECK(h.line() == "acd");
    CHECK(h.cursor() == 1);
    CHECK(h.last_echo == "\bcd\x1b[K\x1b[2D");
}

TEST_CASE("line editor: insertion in the middle redraws the tail", "[console]") {
    Harness h;
    h.feed("ac" + kLeft);
    CHECK(h.cursor() == 1);
    h.take_echo();
    h.feed("b");
    CHECK(h.line() == "abc");
    CHECK(h.cursor() == 2);
    CHECK(h.take_echo() == "bc\b");

    h.feed(kHome + "xy");
    CHECK(h.line() == "xyabc");
    CHECK(h.cursor() == 2);
    CHECK(h.last_echo == "yabc\x1b[3D");

    // Backspace at position 0 does nothing at all.
    h.feed(kHome);
    h.take_echo();
    h.feed("\x7f\x08");
    CHECK(h.line() == "xyabc");
    CHECK(h.cursor() == 0);
    CHECK(h.take_echo().empty());

    h.feed("\r");
    CHECK(h.lines == std::vector<std::string>{"xyabc"});
}

TEST_CASE("line editor: cursor movement keys", "[console]") {
    Harness h;
    h.feed("hello");

    for (const std::string& home : {std::string("\x01"), kHome, std::string("\x1b[1~"),
                                    std::string("\x1b[7~"), std::string("\x1bOH")}) {
        h.feed(kEnd);
        h.feed(home);
        INFO(home.substr(1));
        CHECK(h.cursor() == 0);
    }
    for (const std::string& end : {std::string("\x05"), kEnd, std::string("\x1b[4~"),
                                   std::string("\x1b[8~"), std::string("\x1bOF")}) {
        h.feed(kHome);
        h.feed(end);
        INFO(end.substr(1));
        CHECK(h.cursor() == 5);
    }

    // Left and right stop at the ends without output.
    h.feed(kRight);
    CHECK(h.cursor() == 5);
    CHECK(h.last_echo.empty());
    h.feed(kLeft);
    CHECK(h.cursor() == 4);
    CHECK(h.last_echo == "\b");
    h.feed("\x1bOD\x02");
    CHECK(h.cursor() == 2);
    h.feed("\x1bOC\x06");
    CHECK(h.cursor() == 4);
    CHECK(h.last_echo == "\x1b[1C");
    h.feed(kHome);
    CHECK(h.last_echo == "\x1b[4D");
    h.feed(kLeft + "\x02");
    CHECK(h.cursor() == 0);
    CHECK(h.last_echo.empty());
    h.feed(kEnd);
    CHECK(h.last_echo == "\x1b[5C");

    // Modified arrows (Ctrl-Left is ESC [ 1 ; 5 D) move like the plain ones.
    h.feed("\x1b[1;5D");
    CHECK(h.cursor() == 4);
    h.feed("\x1b[1;2C");
    CHECK(h.cursor() == 5);
    CHECK(h.line() == "hello");
}

TEST_CASE("line editor: Ctrl-U, Ctrl-K, Ctrl-W and Delete", "[console]") {
    Harness h;
    h.feed("some text" + kLeft + kLeft + "\x15");
    CHECK(h.line().empty());
    CHECK(h.cursor() == 0);
    CHECK(h.last_echo == "\x1b[7D\x1b[K");
    h.feed("\x15");
    CHECK(h.last_echo.empty());

    h.feed("keep cut" + kLeft + kLeft + kLeft + "\x0b");
    CHECK(h.line() == "keep ");
    CHECK(h.cursor() == 5);
    h.feed("\x0b");
    CHECK(h.line() == "keep ");
    h.feed("\x15");

    h.feed("echo hello  world  ");
    h.feed("\x17");
    CHECK(h.line() == "echo hello  ");
    h.feed("\x17");
    CHECK(h.line() == "echo ");
    h.feed("\x17");
    CHECK(h.line().empty());
    h.feed("\x17");
    CHECK(h.line().empty());

    // In the middle of a line Ctrl-W keeps what is right of the cursor.
    h.feed("cp from to" + kLeft + kLeft + kLeft + "\x17");
    CHECK(h.line() == "cp  to");
    CHECK(h.cursor() == 3);
    // Inside a word it erases only the part left of the cursor.
    h.feed(kEnd + kLeft + "\x17");
    CHECK(h.line() == "cp  o");
    CHECK(h.cursor() == 4);

    h.feed("\x15"
           "abc"
           + kHome + kDeleteKey);
    CHECK(h.line() == "bc");
    CHECK(h.cursor() == 0);
    h.feed(kEnd + kDeleteKey);
    CHECK(h.line() == "bc");
    CHECK(h.last_echo.empty());
}

TEST_CASE("line editor: Ctrl-C discards the line", "[console]") {
    Harness h;
    h.feed("abc");
    h.feed_byte(0x03);
    CHECK(h.out->event == LineEvent::kInterrupt);
    CHECK(h.last_echo == "^C\r\n");
    CHECK(h.line().empty());
    CHECK(h.interrupts == 1);
    CHECK(h.lines.empty());
    CHECK(h.editor->history_size() == 0);

    // With the cursor inside the line, ^C goes after the text rather than over it.
    h.feed("abcd" + kHome + kRight + "\x03");
    CHECK(h.last_echo == "\x1b[3C^C\r\n");
    CHECK(h.screen.row_text(h.screen.row_count() - 2) == "abcd^C");

    h.feed("\x03");
    CHECK(h.interrupts == 3);
    CHECK(h.last_echo == "^C\r\n");
}

TEST_CASE("line editor: Ctrl-\\ and Ctrl-Z discard the line like Ctrl-C", "[console]") {
    Harness h;
    h.feed("abc");
    h.feed_byte(0x1c);
    CHECK(h.out->event == LineEvent::kQuit);
    CHECK(h.last_echo == "^\\\r\n");
    CHECK(h.line().empty());
    CHECK(h.quits == 1);
    h.feed("xyz" + kHome + "\x1a");
    CHECK(h.out->event == LineEvent::kSuspend);
    CHECK(h.last_echo == "\x1b[3C^Z\r\n");
    CHECK(h.line().empty());
    CHECK(h.suspends == 1);
    CHECK(h.interrupts == 0);
    CHECK(h.lines.empty());
    CHECK(h.editor->history_size() == 0);
}

TEST_CASE("line editor: Ctrl-D is end of input on an empty line only", "[console]") {
    Harness h;
    h.feed_byte(0x04);
    CHECK(h.out->event == LineEvent::kEndOfFile);
    CHECK(h.last_echo.empty());

    h.feed("ab");
    h.feed_byte(0x04);
    CHECK(h.out->event == LineEvent::kNone);
    CHECK(h.last_echo.empty());
    CHECK(h.line() == "ab");
    h.feed(kHome + "\x04");
    CHECK(h.line() == "ab");
    CHECK(h.end_of_files == 1);

    h.feed("\x15\x04");
    CHECK(h.end_of_files == 2);
}

TEST_CASE("line editor: other control bytes are ignored", "[console]") {
    Harness h;
    h.feed("ab");
    h.take_echo();
    std::string ignored;
    for (int c :
         {0x00, 0x07, 0x09, 0x0c, 0x0f, 0x11, 0x12, 0x13, 0x14, 0x16, 0x18, 0x19, 0x1d, 0x1e, 0x1f})
        ignored.push_back(static_cast<char>(c));
    h.feed(ignored);
    CHECK(h.line() == "ab");
    CHECK(h.cursor() == 2);
    CHECK(h.take_echo().empty());
    CHECK(h.lines.empty());
    CHECK(h.interrupts == 0);
    CHECK(h.end_of_files == 0);
    CHECK(h.editor->invalid_byte_count() == 0);
}

TEST_CASE("line editor: a UTF-8 character is inserted whole", "[console][utf8]") {
    Harness h;
    h.feed("caf");
    h.take_echo();
    // Nothing happens until the character is complete.
    h.feed_byte(0xC3);
    CHECK(h.line() == "caf");
    CHECK(h.last_echo.empty());
    h.feed_byte(0xA9);
    CHECK(h.line() == "caf\xC3\xA9");
    CHECK(h.cursor() == 5);
    CHECK(h.last_echo == "\xC3\xA9");
    CHECK(h.screen.column() == 4);

    // Three and four bytes (U+20AC, U+1D11E), and the smallest and largest of each length
    // (the smallest of two bytes that is no C1 control character).
    h.feed(" \xE2\x82\xAC\xF0\x9D\x84\x9E");
    CHECK(h.line() == "caf\xC3\xA9 \xE2\x82\xAC\xF0\x9D\x84\x9E");
    CHECK(h.cursor() == 13);
    CHECK(h.screen.column() == 7);
    h.feed("\x15\xC2\xA0\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
    CHECK(h.line() == "\xC2\xA0\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
    CHECK(h.screen.column() == 6);
    CHECK(h.screen.bells() == 0);
    CHECK(h.editor->invalid_byte_count() == 0);

    // C1 control characters (U+0080 to U+009F) are ignored like the other control
    // characters: a terminal may act on them.
    h.take_echo();
    h.feed("\xC2\x80\xC2\x9B\xC2\x9F");
    CHECK(h.take_echo().empty());
    CHECK(h.cursor() == 18);
    CHECK(h.editor->invalid_byte_count() == 0);

    // Inserted in the middle, the tail is redrawn and the cursor moves back by characters.
    h.feed("\x15"
           "a\xE2\x82\xAC"
           "b"
           + kLeft + kLeft);
    h.take_echo();
    h.feed("\xC3\xA9");
    CHECK(h.line()
          == "a\xC3\xA9\xE2\x82\xAC"
             "b");
    CHECK(h.cursor() == 3);
    CHECK(h.last_echo
          == "\xC3\xA9\xE2\x82\xAC"
             "b\x1b[2D");

    h.feed("\r");
    REQUIRE(h.lines.size() == 1);
    CHECK(h.lines[0]
          == "a\xC3\xA9\xE2\x82\xAC"
             "b");
    CHECK(h.history(0) == h.lines[0]);
}

TEST_CASE("line editor: Backspace and Delete erase whole characters", "[console][utf8]") {
    Harness h;
    // a, U+00E9 (2 bytes), U+20AC (3 bytes), U+1D11E (4 bytes).
    h.feed("a\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9E");
    h.take_echo();
    h.feed("\x7f");
    CHECK(h.line() == "a\xC3\xA9\xE2\x82\xAC");
    CHECK(h.last_echo == "\b\x1b[K");
    h.feed("\x08");
    CHECK(h.line() == "a\xC3\xA9");
    h.feed("\x7f");
    CHECK(h.line() == "a");
    CHECK(h.cursor() == 1);

    // In the middle the tail moves left by one column.
    h.feed("\xE2\x82\xAC"
           "bc"
           + kLeft + kLeft + "\x7f");
    CHECK(h.line() == "abc");
    CHECK(h.cursor() == 1);
    CHECK(h.last_echo == "\bbc\x1b[K\x1b[2D");

    // Delete under the cursor.
    h.feed("\x15\xC3\xA9\xF0\x9D\x84\x9Ex" + kHome + kDeleteKey);
    CHECK(h.line() == "\xF0\x9D\x84\x9Ex");
    CHECK(h.cursor() == 0);
    CHECK(h.last_echo == "\xF0\x9D\x84\x9Ex\x1b[K\x1b[2D");
    h.feed(kDeleteKey);
    CHECK(h.line() == "x");

    // Ctrl-W and Ctrl-K cut at character boundaries.
    h.feed("\x15na\xC3\xAFve caf\xC3\xA9\x17");
    CHECK(h.line() == "na\xC3\xAFve ");
    h.feed(kHome + kRight + kRight + "\x0b");
    CHECK(h.line() == "na");
}

TEST_CASE("line editor: cursor keys step over whole characters", "[console][utf8]") {
    Harness h;
    h.feed("a\xE2\x82\xAC\xF0\x9D\x84\x9E"
           "b");
    CHECK(h.cursor() == 9);
    h.feed(kLeft);
    CHECK(h.cursor() == 8);
    CHECK(h.last_echo == "\b");
    h.feed(kLeft);
    CHECK(h.cursor() == 4);
    h.feed("\x02");
    CHECK(h.cursor() == 1);
    h.feed(kLeft);
    CHECK(h.cursor() == 0);
    h.feed(kLeft);
    CHECK(h.cursor() == 0);
    CHECK(h.last_echo.empty());

    h.feed(kRight);
    CHECK(h.cursor() == 1);
    h.feed("\x06");
    CHECK(h.cursor() == 4);
    CHECK(h.last_echo == "\x1b[1C");
    // Home and End move by the number of characters, not bytes.
    h.feed(kEnd);
    CHECK(h.cursor() == 9);
    CHECK(h.last_echo == "\x1b[2C");
    h.feed(kHome);
    CHECK(h.last_echo == "\x1b[4D");

    // ^C goes after the last character.
    h.feed(kRight + "\x03");
    CHECK(h.last_echo == "\x1b[3C^C\r\n");
    CHECK(h.screen.row_text(h.screen.row_count() - 2)
          == "a\xE2\x82\xAC\xF0\x9D\x84\x9E"
             "b^C");

    // The history puts the cursor after the last character.
    h.feed("\xC3\xA9t\xC3\xA9\r" + kUp);
    CHECK(h.line() == "\xC3\xA9t\xC3\xA9");
    CHECK(h.cursor() == 5);
    h.feed(kLeft + kLeft + kUp + kDown);
    CHECK(h.line().empty());
}

TEST_CASE("line editor: bytes that are no UTF-8 ring the bell and are dropped", "[console][utf8]") {
    const std::vector<std::string> invalid = {
        "\x80",             // a continuation byte with no character
        "\xBF",             //
        "\xC0\xAF",         // overlong forms of '/'
        "\xC1\xBF",         //
        "\xE0\x80\xAF",     //
        "\xF0\x80\x80\xAF", //
        "\xED\xA0\x80",     // a surrogate
        "\xF4\x90\x80\x80", // above U+10FFFF
        "\xF5",             // never in UTF-8
        "\xFE",             //
        "\xFF",             //
    };
    for (const std::string& bytes : invalid) {
        INFO(bytes.size());
        Harness h;
        h.feed("ab");
        h.take_echo();
        h.feed(bytes);
        CHECK(h.line() == "ab");
        CHECK(h.cursor() == 2);
        CHECK(h.editor->invalid_byte_count() == bytes.size());
        CHECK(h.screen.bells() >= 1);
        CHECK(h.take_echo().find_first_not_of('\a') == std::string::npos);
        CHECK(h.lines.empty());
    }

    Harness h;
    // A character cut short by another byte: its bytes go, the other byte counts as usual.
    h.feed("\xC3x");
    CHECK(h.line() == "x");
    CHECK(h.take_echo() == "\ax");
    CHECK(h.editor->invalid_byte_count() == 1);
    h.feed("\xE2\x82\r");
    CHECK(h.lines == std::vector<std::string>{"x"});
    CHECK(h.take_echo() == "\a\r\n");
    CHECK(h.editor->invalid_byte_count() == 3);
    h.feed("ab\xF0\x9D\x84\x03");
    CHECK(h.interrupts == 1);
    CHECK(h.editor->invalid_byte_count() == 6);
    h.feed("ab\xC3" + kLeft);
    CHECK(h.cursor() == 1);
    h.feed("\xC3\xC3\xA9");
    CHECK(h.line()
          == "a\xC3\xA9"
             "b");
    CHECK(h.editor->invalid_byte_count() == 8);

    // A character after a half-typed escape sequence ends the sequence and is inserted.
    h.feed("\x1b[\xC3\xA9");
    CHECK(h.line()
          == "a\xC3\xA9\xC3\xA9"
             "b");

    // A half-received character does not survive a reset.
    h.feed("\xE2\x82");
    h.editor->reset();
    h.screen.new_row();
    h.feed("\xAC");
    CHECK(h.line().empty());
    CHECK(h.editor->invalid_byte_count() == 9);
}

TEST_CASE("line editor: the history", "[console]") {
    Harness h;
    // Nothing to recall yet.
    h.feed("x" + kUp + kDown);
    CHECK(h.line() == "x");
    CHECK(h.take_echo() == "x");
    h.feed("\x15");

    h.feed("one\rtwo\r\rtwo\rthree\r");
    // Empty lines and a repeat of the newest line are not remembered.
    REQUIRE(h.editor->history_size() == 3);
    CHECK(h.history(0) == "three");
    CHECK(h.history(1) == "two");
    CHECK(h.history(2) == "one");

    h.feed("draft");
    h.feed(kLeft + kLeft);
    h.take_echo();
    h.feed(kUp);
    CHECK(h.line() == "three");
    CHECK(h.cursor() == 5);
    CHECK(h.take_echo() == "\x1b[3Dthree\x1b[K");
    h.feed(kUp);
    CHECK(h.line() == "two");
    h.feed("\x10");
    CHECK(h.line() == "one");
    // The oldest line stays.
    h.take_echo();
    h.feed(kUp + kUp);
    CHECK(h.line() == "one");
    CHECK(h.take_echo().empty());

    h.feed(kDown);
    CHECK(h.line() == "two");
    h.feed("\x0e");
    CHECK(h.line() == "three");
    // Past the newest line the draft comes back, cursor at its end.
    h.feed(kDown);
    CHECK(h.line() == "draft");
    CHECK(h.cursor() == 5);
    h.take_echo();
    h.feed(kDown);
    CHECK(h.line() == "draft");
    CHECK(h.take_echo().empty());

    // Edits to a recalled line are dropped when walking on; the entry stays as it was.
    h.feed(kUp + kUp + "!!");
    CHECK(h.line() == "two!!");
    h.feed(kDown);
    CHECK(h.line() == "three");
    h.feed(kUp);
    CHECK(h.line() == "two");

    // A recalled line that is sent becomes the newest entry.
    h.feed("\r");
    CHECK(h.lines.back() == "two");
    REQUIRE(h.editor->history_size() == 4);
    CHECK(h.history(0) == "two");
    CHECK(h.history(1) == "three");

    // After a line is sent, walking starts again at the newest entry with an empty draft.
    h.feed(kUp);
    CHECK(h.line() == "two");
    h.feed(kDown);
    CHECK(h.line().empty());
    // Sending the newest line again does not repeat it.
    h.feed(kUp + "\r");
    CHECK(h.editor->history_size() == 4);
}

TEST_CASE("line editor: the history keeps the last 16 lines", "[console]") {
    Harness h;
    for (int i = 0; i < 40; ++i)
        h.feed("line " + std::to_string(i) + "\r");
    REQUIRE(h.editor->history_size() == kHistoryDepth);
    for (size_t i = 0; i < kHistoryDepth; ++i)
        CHECK(h.history(i) == "line " + std::to_string(39 - i));

    for (size_t i = 0; i < kHistoryDepth + 5; ++i)
        h.feed(kUp);
    CHECK(h.line() == "line 24");
    for (size_t i = 0; i < kHistoryDepth - 1; ++i)
        h.feed(kDown);
    CHECK(h.line() == "line 39");
    h.feed(kDown);
    CHECK(h.line().empty());

    // A line repeated after others is remembered again (only the newest is compared).
    h.feed("line 30\r");
    CHECK(h.history(0) == "line 30");
    CHECK(h.history(1) == "line 39");

    h.editor->clear_history();
    CHECK(h.editor->history_size() == 0);
    h.feed(kUp);
    CHECK(h.line().empty());
}

TEST_CASE("line editor: the line length limit", "[console]") {
    Harness h;
    std::string full(kMaxLineLength, 'a');
    h.feed(full);
    CHECK(h.line() == full);
    CHECK(h.screen.bells() == 0);
    CHECK_FALSE(h.editor->overflowed());
    h.take_echo();

    // Deleting at the start of a full line redraws all of it.
    h.feed(kHome + kDeleteKey);
    CHECK(h.line() == std::string(kMaxLineLength - 1, 'a'));
    CHECK(h.last_echo.size() == kMaxLineLength - 1 + 3 + 7);
    h.feed("z");
    CHECK(h.line() == "z" + std::string(kMaxLineLength - 1, 'a'));
    h.feed(kEnd + "\r");
    REQUIRE(h.lines.size() == 1);
    CHECK(h.lines[0].size() == kMaxLineLength);
    CHECK(h.history(0).size() == kMaxLineLength);

    // The largest echo: a full line recalled over another full line.
    h.feed(std::string(kMaxLineLength, 'q'));
    h.feed(kUp);
    CHECK(h.line()[0] == 'z');
    CHECK(h.last_echo.size() == 7 + kMaxLineLength + 3);
    h.feed(kDown);
    CHECK(h.line() == std::string(kMaxLineLength, 'q'));
    CHECK(h.largest_echo <= kMaxEchoLength);
}

TEST_CASE("line editor: a line that overflowed is discarded whole", "[console]") {
    const std::string message = std::string("\r\n") + terminal::kLineTooLongMessage + "\r\n";
    CHECK(std::string(terminal::kLineTooLongMessage)
          == "console: line too long (over 1023 bytes); discarded");
    Harness h;
    std::string full(kMaxLineLength, 'a');
    h.feed(full);
    h.take_echo();

    h.feed("b");
    CHECK(h.line() == full);
    CHECK(h.last_echo == "\a");
    CHECK(h.editor->overflowed());
    h.feed(kHome + "c");
    CHECK(h.line() == full);
    CHECK(h.cursor() == 0);
    CHECK(h.last_echo == "\a");
    CHECK(h.screen.bells() == 2);
    // Making room later does not bring the lost keys back: the line stays marked.
    h.feed(kDeleteKey + kEnd);
    CHECK(h.editor->overflowed());

    h.feed_byte('\r');
    CHECK(h.out->event == LineEvent::kLineTooLong);
    CHECK(h.out->line.is_empty());
    CHECK(h.last_echo == message);
    CHECK(h.lines.empty());
    CHECK(h.too_long == 1);
    CHECK(h.line().empty());
    CHECK_FALSE(h.editor->overflowed());
    CHECK(h.editor->history_size() == 0);
    CHECK(h.screen.row_text(h.screen.row_count() - 2) == terminal::kLineTooLongMessage);

    // The next line is a line of its own again.
    h.feed("ls\r");
    CHECK(h.lines == std::vector<std::string>{"ls"});

    // A character that does not fit whole overflows the line as well.
    h.feed(std::string(kMaxLineLength - 1, 'e') + "\xC3\xA9");
    CHECK(h.line() == std::string(kMaxLineLength - 1, 'e'));
    CHECK(h.editor->overflowed());
    h.feed("\n");
    CHECK(h.too_long == 2);
    CHECK(h.lines.size() == 1);

    // Erasing the whole line, Ctrl-C or a reset forget the overflow.
    for (const std::string& forget :
         {std::string("\x15"), std::string("\x03"), std::string(kMaxLineLength, '\x7f')}) {
        h.feed(full + "x");
        CHECK(h.editor->overflowed());
        h.feed(forget);
        CHECK_FALSE(h.editor->overflowed());
        h.feed("ok\r");
        CHECK(h.lines.back() == "ok");
        h.lines.clear();
    }
    h.feed(full + "x");
    h.editor->reset();
    CHECK_FALSE(h.editor->overflowed());
    h.screen.new_row();

    // A recalled history entry is whole; the user's own line is marked again when it comes
    // back.
    h.feed(full + "x" + kUp);
    CHECK(h.line() == "ok");
    CHECK_FALSE(h.editor->overflowed());
    h.feed(kDown);
    CHECK(h.line() == full);
    CHECK(h.editor->overflowed());
    h.feed(kUp + "\r");
    CHECK(h.lines == std::vector<std::string>{"ok"});
    h.feed(full + "x" + kUp + kDown + "\r");
    CHECK(h.lines.size() == 1);
    CHECK(h.too_long == 3);

    // With echo off the line is still discarded, and the user still told.
    h.editor->set_echo(false);
    h.take_echo();
    h.feed(full + "x\r");
    CHECK(h.take_echo() == "\a" + message);
    CHECK(h.too_long == 4);
    CHECK(h.lines.size() == 1);
}

TEST_CASE("line editor: escape sequences arrive a byte at a time", "[console]") {
    Harness h;
    h.feed("abc");
    h.feed_byte(0x1b);
    CHECK(h.last_echo.empty());
    CHECK(h.line() == "abc");
    h.feed_byte('[');
    CHECK(h.last_echo.empty());
    CHECK(h.cursor() == 3);
    h.feed_byte('D');
    CHECK(h.cursor() == 2);

    h.feed_byte(0x1b);
    h.feed_byte('[');
    h.feed_byte('1');
    h.feed_byte(';');
    h.feed_byte('5');
    CHECK(h.cursor() == 2);
    h.feed_byte('D');
    CHECK(h.cursor() == 1);
    h.feed_byte(0x1b);
    h.feed_byte('[');
    h.feed_byte('3');
    h.feed_byte('~');
    CHECK(h.line() == "ac");
}

TEST_CASE("line editor: unknown escape sequences are ignored whole", "[console]") {
    Harness h;
    h.feed("ab");
    h.take_echo();
    // Insert, Page Up/Down, F5, a private mode, bracketed paste markers, F1 (SS3), sequences
    // with intermediates or too many parameters, a huge parameter, Alt-x.
    h.feed("\x1b[2~\x1b[5~\x1b[6~\x1b[15~\x1b[?25h\x1b[200~\x1b[201~\x1bOP\x1b[ q\x1b[1;2;3A"
           "\x1b[1:2D\x1b[<5D\x1b[99999999999~\x1b[0~\x1b[;~\x1b[Z\x1bx\x1b\x1b[G");
    CHECK(h.line() == "ab");
    CHECK(h.cursor() == 2);
    CHECK(h.take_echo().empty());

    // A huge count is still one key press.
    h.feed("\x1b[99999999999D");
    CHECK(h.cursor() == 1);
    // ESC ESC [ D: the second ESC starts over.
    h.feed("\x1b\x1b[D");
    CHECK(h.cursor() == 0);
    // ESC [ ; D has an empty first parameter; still Left.
    h.feed(kEnd + "\x1b[;5D");
    CHECK(h.cursor() == 1);
}

TEST_CASE("line editor: a control byte ends a half-typed sequence", "[console]") {
    Harness h;
    // ESC [ then Ctrl-C: the interrupt happens and the D after it is text again.
    h.feed("abc\x1b[\x03");
    CHECK(h.interrupts == 1);
    h.feed("D");
    CHECK(h.line() == "D");

    // ESC then Enter sends the line.
    h.feed("\x1b\r");
    CHECK(h.lines == std::vector<std::string>{"D"});

    // ESC [ 1 then Backspace.
    h.feed("xy\x1b[1\x7f");
    CHECK(h.line() == "x");
    // CAN and SUB cancel a sequence without doing anything else.
    h.feed("\x1b[\x18"
           "A\x1b[1\x1a"
           "B");
    CHECK(h.line() == "xAB");
    // A byte above ASCII cancels too; this one is no UTF-8 and is dropped.
    h.feed("\x1b[\xff"
           "C");
    CHECK(h.line() == "xABC");
    CHECK(h.cursor() == 4);
}

TEST_CASE("line editor: echo off", "[console]") {
    Harness h;
    h.feed("visible\r");
    h.editor->set_echo(false);
    CHECK_FALSE(h.editor->echo_enabled());
    h.take_echo();

    h.feed("secret" + kLeft
           + "\x7f"
             "X"
           + kHome + kRight);
    CHECK(h.line() == "secrXt");
    CHECK(h.take_echo().empty());
    // The history is neither shown nor changed.
    h.feed(kUp);
    CHECK(h.line() == "secrXt");
    CHECK(h.take_echo().empty());
    h.feed("\r");
    CHECK(h.lines.back() == "secrXt");
    CHECK(h.take_echo() == "\r\n");
    CHECK(h.editor->history_size() == 1);
    CHECK(h.history(0) == "visible");

    h.feed("pass\x03");
    CHECK(h.take_echo() == "^C\r\n");
    h.feed(std::string(kMaxLineLength + 1, 'p'));
    CHECK(h.take_echo() == "\a");
    h.feed("\x15\x04");
    CHECK(h.end_of_files == 1);

    h.editor->set_echo(true);
    h.screen.new_row();
    h.feed("on");
    CHECK(h.take_echo() == "on");
}

TEST_CASE("line editor: reset", "[console]") {
    Harness h;
    h.feed("kept\r");
    h.editor->set_echo(false);
    h.feed("abc\x1b[");
    h.editor->reset();
    CHECK(h.line().empty());
    CHECK(h.cursor() == 0);
    CHECK_FALSE(h.editor->echo_enabled());
    h.editor->set_echo(true);
    h.screen.new_row();
    // The half-received sequence is gone: D is text.
    h.feed("D");
    CHECK(h.line() == "D");
    CHECK(h.editor->history_size() == 1);

    // A reset while walking the history starts the next walk at the newest entry.
    h.feed(kUp);
    h.editor->reset();
    h.screen.new_row();
    h.feed(kUp);
    CHECK(h.line() == "kept");

    // A reset right after a CR forgets it, so a following LF ends a line of its own.
    h.feed("\r");
    h.editor->reset();
    h.lines.clear();
    h.feed("\n");
    CHECK(h.lines == std::vector<std::string>{""});
}

TEST_CASE("line editor: random input keeps every invariant", "[console][random]") {
    Harness h;
    std::mt19937 random(0x7e42);

    // Bytes weighted towards what a terminal sends, with line ends rare enough that lines
    // regularly reach the length limit.
    const std::vector<std::string> pieces = {
        "a", "b", " ", "x", "Z", "0", "~", "[", ";", "\x7f", "\x08", "\x01", "\x02", "\x05", "\x06",
        "\x0b", "\x17", "\x10", "\x0e", "\x04", "\x1a", "\x09", "\x00", "\xff", "\x1b", "\x1b[",
        "\x1bO", "O", "A", "B", "C", "D", "H", "F", "1", "3", "4", "?", kLeft, kRight, kUp, kDown,
        kHome, kEnd, kDeleteKey,
        // UTF-8: characters of two, three and four bytes, a C1 control, and pieces of
        // characters that other bytes cut short.
        "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9D\x84\x9E", "\xC2\x9B", "\xC3", "\xE2\x82", "\x80",
        "\xED\xA0\x80",
        // Ctrl-D right after the line was erased.
        "\x15\x04"};
    // Printable ASCII and some UTF-8 characters, for plain typing.
    const std::vector<std::string> characters = {"\xC3\xA9", "\xCE\xBB", "\xE2\x82\xAC",
                                                 "\xF0\x9F\x99\x82"};
    std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
    std::uniform_int_distribution<int> percent(0, 9999);

    size_t bytes = 0;
    size_t longest_line = 0;
    while (bytes < 100000) {
        int roll = percent(random);
        // Every other stretch of 5000 bytes is mostly plain typing, so that lines grow to
        // the limit between the stretches full of erasing keys.
        bool typing = (bytes / 5000) % 2 == 1;
        bool typing_key = typing && roll >= 3 && roll < 9700;
        std::string piece;
        if (typing_key && h.line().size() == kMaxLineLength && !h.editor->overflowed()
            && roll % 2 == 0)
            // A line that just reached the limit is sometimes sent as it is, so that full
            // lines reach the history and get recalled; one that overflowed is sent sooner
            // or later too.
            piece = "\r";
        else if (typing_key && h.editor->overflowed() && roll % 64 == 0)
            piece = "\r";
        else if (typing_key && roll % 16 == 0)
            piece = characters[random() % characters.size()];
        else if (typing_key)
            piece = std::string(1, static_cast<char>(0x20 + random() % 0x5f));
        else if (roll < 15)
            piece = "\r";
        else if (roll < 25)
            piece = "\n";
        else if (roll < 30)
            piece = "\x15";
        else if (roll < 33)
            piece = "\x03";
        else if (roll < 2500)
            piece = std::string(1, static_cast<char>(0x20 + random() % 0x5f));
        else
            piece = pieces[pick(random)];
        for (char c : piece) {
            h.feed_byte(static_cast<uint8_t>(c));
            ++bytes;
            longest_line = std::max(longest_line, h.editor->line().length());
            if (h.out->event != LineEvent::kNone && h.editor->line().is_empty() && roll % 7 == 0)
                h.editor->set_echo(!h.editor->echo_enabled());
        }
        if (roll == 9999) {
            h.editor->reset();
            h.screen.new_row();
        }
        // Keep the model's memory small: only the current row matters.
        if (h.screen.row_count() > 64) {
            h.screen = Screen();
            if (h.editor->echo_enabled()) {
                h.screen.play(h.line()
                              + std::string(count_characters(h.line()) - h.cursor_column(), '\b'));
            }
        }
        h.echo.clear();
    }
    bool lines_ok = true;
    size_t lines_with_utf8 = 0;
    for (const std::string& line : h.lines) {
        lines_ok = lines_ok && line.size() <= kMaxLineLength && is_clean_utf8(line);
        lines_with_utf8 += count_characters(line) < line.size() ? 1 : 0;
    }
    CHECK(lines_ok);
    // The run must actually have reached the corners it is meant to test.
    CHECK(longest_line == kMaxLineLength);
    CHECK(lines_with_utf8 > 10);
    CHECK(h.too_long > 5);
    CHECK(h.editor->invalid_byte_count() > 100);
    CHECK(h.editor->history_size() == kHistoryDepth);
    CHECK(h.lines.size() > 50);
    CHECK(h.interrupts > 5);
    CHECK(h.end_of_files > 5);
    CHECK(h.largest_echo > kMaxLineLength);
    CHECK(h.largest_echo <= kMaxEchoLength);
}

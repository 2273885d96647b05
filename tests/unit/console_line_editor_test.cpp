// Host tests for the console's line editor: every key, the history, escape sequences, the
// echo off mode and the bounds, plus a long random run. Every echo is played on a small
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

using console::kHistoryDepth;
using console::kMaxEchoLength;
using console::kMaxLineLength;
using console::LineEditor;
using console::LineEditorOutput;
using console::LineEvent;

namespace {

// The part of a VT100 the editor may use: printable bytes, BS, CR, LF, BEL, ESC [ n C,
// ESC [ n D and ESC [ K, on a terminal wide enough that nothing wraps. Any other byte from
// the editor fails the test.
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
                REQUIRE(c < 0x7F);
                if (row().size() < m_column)
                    row().resize(m_column, ' ');
                if (row().size() == m_column)
                    row().push_back(static_cast<char>(c));
                else
                    row()[m_column] = static_cast<char>(c);
                ++m_column;
            }
        }
    }

    // The row being edited, with no trailing padding: a cursor moved right of the text
    // must not have left blanks the line does not have.
    const std::string& current_row() const { return m_rows.back(); }
    size_t column() const { return m_column; }
    size_t bells() const { return m_bells; }
    const std::vector<std::string>& rows() const { return m_rows; }
    void new_row() {
        m_rows.emplace_back();
        m_column = 0;
    }

private:
    std::string& row() { return m_rows.back(); }

    std::vector<std::string> m_rows{1};
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
    size_t end_of_files = 0;
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
        case LineEvent::kEndOfFile:
            CHECK(out->line.is_empty());
            ++end_of_files;
            break;
        }
        check_invariants();
        if (editor->echo_enabled() && check_screen) {
            screen.play(last_echo);
            REQUIRE(screen.current_row() == line());
            REQUIRE(screen.column() == editor->cursor());
        }
    }

    void check_invariants() const {
        base::StringView current = editor->line();
        REQUIRE(current.length() <= kMaxLineLength);
        REQUIRE(editor->cursor() <= current.length());
        // One assertion per check rather than per character keeps the random run fast.
        bool printable = true;
        for (char c : current)
            printable = printable && static_cast<unsigned char>(c) >= 0x20
                        && static_cast<unsigned char>(c) < 0x7F;
        REQUIRE(printable);
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
    CHECK(h.screen.rows()[h.screen.rows().size() - 2] == "abcd^C");

    h.feed("\x03");
    CHECK(h.interrupts == 3);
    CHECK(h.last_echo == "^C\r\n");
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

TEST_CASE("line editor: other control bytes and non-ASCII are ignored", "[console]") {
    Harness h;
    h.feed("ab");
    h.take_echo();
    std::string ignored;
    for (int c : {0x00, 0x07, 0x09, 0x0c, 0x0f, 0x11, 0x12, 0x13, 0x14, 0x16, 0x18,
                  0x19, 0x1a, 0x1c, 0x1d, 0x1e, 0x1f, 0x80, 0x9b, 0xc3, 0xa9, 0xff})
        ignored.push_back(static_cast<char>(c));
    h.feed(ignored);
    CHECK(h.line() == "ab");
    CHECK(h.cursor() == 2);
    CHECK(h.take_echo().empty());
    CHECK(h.lines.empty());
    CHECK(h.interrupts == 0);
    CHECK(h.end_of_files == 0);
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
    h.take_echo();

    h.feed("b");
    CHECK(h.line() == full);
    CHECK(h.last_echo == "\a");
    h.feed(kHome + "c");
    CHECK(h.line() == full);
    CHECK(h.cursor() == 0);
    CHECK(h.last_echo == "\a");
    CHECK(h.screen.bells() == 2);

    // Deleting at the start of a full line redraws all of it.
    h.feed(kDeleteKey);
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
    // A byte above ASCII cancels too and is itself dropped.
    h.feed("\x1b[\xc3"
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
        "a",    "b",    " ",    "x",    "Z",    "0",    "~",    "[",     ";",
        "\x7f", "\x08", "\x01", "\x02", "\x05", "\x06", "\x0b", "\x17",  "\x10",
        "\x0e", "\x04", "\x1a", "\x09", "\x00", "\xff", "\x1b", "\x1b[", "\x1bO",
        "O",    "A",    "B",    "C",    "D",    "H",    "F",    "1",     "3",
        "4",    "?",    kLeft,  kRight, kUp,    kDown,  kHome,  kEnd,    kDeleteKey};
    std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
    std::uniform_int_distribution<int> percent(0, 9999);

    size_t bytes = 0;
    size_t longest_line = 0;
    while (bytes < 100000) {
        int roll = percent(random);
        // Every other stretch of 5000 bytes is mostly plain typing, so that lines grow to
        // the limit between the stretches full of erasing keys.
        bool typing = (bytes / 5000) % 2 == 1;
        std::string piece;
        if (typing && roll >= 33 && roll < 9700)
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
        if (h.screen.rows().size() > 64) {
            h.screen = Screen();
            if (h.editor->echo_enabled()) {
                h.screen.play(std::string(h.line())
                              + std::string(h.line().size() - h.cursor(), '\b'));
            }
        }
        h.echo.clear();
    }
    for (const std::string& line : h.lines)
        CHECK(line.size() <= kMaxLineLength);
    // The run must actually have reached the corners it is meant to test.
    CHECK(longest_line == kMaxLineLength);
    CHECK(h.editor->history_size() == kHistoryDepth);
    CHECK(h.lines.size() > 50);
    CHECK(h.interrupts > 5);
    CHECK(h.end_of_files > 5);
    CHECK(h.largest_echo > kMaxLineLength);
    CHECK(h.largest_echo <= kMaxEchoLength);
}

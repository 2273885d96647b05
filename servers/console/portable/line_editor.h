#pragma once

// terminal::LineEditor: the line discipline of the serial console server. It turns the bytes
// that arrive from the UART, one at a time, into the bytes to echo back to the terminal and
// into events: a finished line, a line too long to hold, an interrupt (Ctrl-C) or the end
// of input (Ctrl-D).
//
// Keys understood (everything else, including unknown escape sequences, is ignored):
//
//   printable ASCII, UTF-8   insert at the cursor
//   Backspace (08), DEL (7F) erase left of the cursor
//   Delete (ESC [ 3 ~)       erase under the cursor
//   Ctrl-U                   erase the whole line
//   Ctrl-K                   erase from the cursor to the end of the line
//   Ctrl-W                   erase the word left of the cursor (and the blanks before it)
//   Ctrl-A, Home             go to the start (ESC [ H, ESC [ 1 ~, ESC [ 7 ~, ESC O H)
//   Ctrl-E, End              go to the end (ESC [ F, ESC [ 4 ~, ESC [ 8 ~, ESC O F)
//   Ctrl-B, Ctrl-F, arrows   move left or right (ESC [ D, ESC [ C, ESC O D, ESC O C)
//   Ctrl-P, Ctrl-N, arrows   walk the history (ESC [ A, ESC [ B, ESC O A, ESC O B)
//   CR, LF, CRLF             finish the line (a LF right after a CR is swallowed)
//   Ctrl-C                   discard the line, echo "^C\r\n", report kInterrupt
//   Ctrl-\, Ctrl-Z           likewise, echo "^\\\r\n" or "^Z\r\n", report kQuit or kSuspend
//   Ctrl-D                   on an empty line report kEndOfFile, otherwise ignored
//
// Text is UTF-8. A multi-byte character enters the line only once all of its bytes have
// arrived, and the cursor keys, Backspace and Delete step over whole characters, each of
// which is taken to fill one terminal column (double-width characters are not known). A
// byte that cannot belong to well-formed UTF-8 (a stray continuation byte, an overlong
// form, a surrogate, a code point above U+10FFFF, a character cut short by another byte)
// rings the bell and is dropped, with the bytes of the unfinished character before it;
// invalid_byte_count() counts them. The C1 control characters (U+0080 to U+009F) are
// ignored like the other control characters.
//
// The editor is pure logic (no hardware, no allocation), so host tests drive it directly.

#include <base/string_view.h>
#include <stddef.h>
#include <stdint.h>

namespace terminal {

// The longest line the editor holds, in bytes. A key that would make the line longer rings
// the bell (0x07) and is dropped, and the line is marked as overflowed: when it is finished
// it is discarded whole (kLineTooLong) rather than handed on without its end. Erasing the
// whole line, Ctrl-C and finishing the line clear the mark.
inline constexpr size_t kMaxLineLength = 1023;

// How many earlier lines the up arrow can recall.
inline constexpr size_t kHistoryDepth = 16;

// The longest cursor movement the editor writes: ESC [ 1023 D. The digit count below holds
// only while a line has at most four digits' worth of columns.
static_assert(kMaxLineLength <= 9999);
inline constexpr size_t kMaxCursorMoveLength = 7;

// The most echo bytes a single input byte can produce, so the server can send each
// keystroke's echo from a fixed buffer. The worst case is a redraw of the whole line (a
// history recall, a deletion or an insertion near the start): move the cursor back to
// where the change starts, rewrite everything after it, erase the rest of the terminal
// line (ESC [ K) and move the cursor back to where it belongs. The byte that does it may
// also cut short a UTF-8 character, whose bell comes first.
inline constexpr size_t kMaxEchoLength =
    1 + kMaxCursorMoveLength + kMaxLineLength + 3 + kMaxCursorMoveLength;

enum class LineEvent : uint8_t {
    kNone,
    // A line is finished; LineEditorOutput::line holds it without the terminator.
    kLine,
    // Ctrl-C: the line was discarded.
    kInterrupt,
    // Ctrl-\ and Ctrl-Z: the line was discarded, as for Ctrl-C.
    kQuit,
    kSuspend,
    // Ctrl-D on an empty line.
    kEndOfFile,
    // A line was finished after a key had been dropped for want of room: the whole line is
    // discarded and the echo tells the user so (kLineTooLongMessage).
    kLineTooLong,
};

// What the echo says, on a line of its own, when a line that overflowed is discarded.
inline constexpr char kLineTooLongMessage[] = "console: line too long (over 1023 bytes); discarded";
static_assert(kMaxLineLength == 1023, "kLineTooLongMessage names the limit");

// What one input byte produced. feed() overwrites all of it.
struct LineEditorOutput {
    // Bytes to send to the terminal, in order.
    uint8_t echo[kMaxEchoLength];
    size_t echo_length;
    // At most one event per input byte.
    LineEvent event;
    // The finished line for kLine, empty otherwise. It points into the editor and stays
    // valid until the next call to feed() or reset().
    base::StringView line;
};

class LineEditor {
public:
    using Output = LineEditorOutput;

    LineEditor() = default;
    // The finished line that an Output refers to lives inside the editor.
    LineEditor(const LineEditor&) = delete;
    LineEditor& operator=(const LineEditor&) = delete;

    // Processes one byte from the terminal; out receives the echo and the event, if any.
    void feed(uint8_t byte, Output& out);

    // Forgets the line being edited and any half-received escape sequence or character, for
    // example when a new session starts on the console. The history and the echo mode stay.
    void reset();

    void clear_history();

    // With echo off (for a password) the line is edited as usual but nothing of it is shown:
    // only the bell, the "\r\n" that ends a line and the "^C\r\n" of an interrupt are echoed,
    // so that later output still starts on a fresh terminal line. Lines finished with echo
    // off are not remembered in the history, and the history cannot be recalled. Change the
    // mode between lines: the editor does not redraw a line that is half typed.
    void set_echo(bool enabled) { m_echo = enabled; }
    [[nodiscard]] bool echo_enabled() const { return m_echo; }

    // The line as it is being edited; the cursor is a byte offset into it, always at the
    // start of a character.
    [[nodiscard]] base::StringView line() const { return base::StringView(m_buffer, m_length); }
    [[nodiscard]] size_t cursor() const { return m_cursor; }
    // True once a key was dropped from this line because it was full.
    [[nodiscard]] bool overflowed() const { return m_overflowed; }
    // Bytes dropped so far because they were not well-formed UTF-8.
    [[nodiscard]] uint64_t invalid_byte_count() const { return m_invalid_bytes; }

    [[nodiscard]] size_t history_size() const { return m_history_count; }
    // Entry 0 is the newest line; index must be below history_size().
    [[nodiscard]] base::StringView history_entry(size_t index) const;

private:
    enum class EscapeState : uint8_t {
        kGround,
        // After ESC.
        kEscape,
        // After ESC [: parameters until a final byte.
        kCsi,
        // After ESC O: one final byte (some terminals send parameters first).
        kSs3,
    };

    struct HistoryEntry {
        char text[kMaxLineLength];
        size_t length;
    };

    // A CSI sequence keeps at most this many numeric parameters; a longer one is ignored.
    static constexpr size_t kMaxCsiParams = 2;
    // Parameter values saturate here instead of overflowing.
    static constexpr uint16_t kMaxCsiParamValue = 9999;

    void handle_sequence_byte(uint8_t byte, Output& out);
    void start_sequence(EscapeState state);
    void dispatch_sequence(uint8_t final_byte, bool is_csi, Output& out);
    void handle_control(uint8_t byte, Output& out);

    void take_utf8_byte(uint8_t byte, Output& out);
    void drop_invalid(size_t count, Output& out);

    void insert(const char* bytes, size_t count, Output& out);
    void erase_range(size_t from, size_t to, Output& out);
    void move_cursor_to(size_t position, Output& out);
    void finish_line(Output& out);
    void interrupt(Output& out, char letter, LineEvent event);
    void history_up(Output& out);
    void history_down(Output& out);
    void replace_line(const char* text, size_t length, Output& out);
    void remember(base::StringView line);
    [[nodiscard]] const HistoryEntry& history_at(size_t index) const;

    // Positions in the line are byte offsets; these step over whole characters.
    [[nodiscard]] size_t previous_character(size_t position) const;
    [[nodiscard]] size_t next_character(size_t position) const;
    // The terminal columns that the bytes [from, to) of the line take.
    [[nodiscard]] size_t columns(size_t from, size_t to) const;

    // Terminal output. The show_* functions write only while echo is on.
    void emit(Output& out, const char* bytes, size_t length);
    void show(Output& out, const char* bytes, size_t length);
    void show_cursor_move(Output& out, size_t columns, char direction);
    void show_tail(Output& out, size_t from, size_t columns_back, bool erase_rest);

    char m_buffer[kMaxLineLength];
    size_t m_length = 0;
    size_t m_cursor = 0;
    bool m_overflowed = false;
    bool m_echo = true;
    // Set after a CR so that the LF of a CRLF does not finish a second, empty line.
    bool m_after_cr = false;

    EscapeState m_escape = EscapeState::kGround;
    uint16_t m_csi_params[kMaxCsiParams] = {};
    size_t m_csi_param_count = 0;
    // A private marker, an intermediate byte or too many parameters: no key of ours.
    bool m_csi_unknown = false;

    // The bytes of a UTF-8 character received so far, and how many it has in all.
    char m_utf8[4] = {};
    size_t m_utf8_length = 0;
    size_t m_utf8_expected = 0;
    uint64_t m_invalid_bytes = 0;

    HistoryEntry m_history[kHistoryDepth];
    size_t m_history_count = 0;
    // The slot the next remembered line goes into.
    size_t m_history_next = 0;
    // Which history entry is shown (0 is the newest), or kNotBrowsing while the user edits
    // a line of their own.
    static constexpr size_t kNotBrowsing = SIZE_MAX;
    size_t m_browse = kNotBrowsing;
    // The user's own line, kept while the history is shown in its place.
    char m_saved[kMaxLineLength];
    size_t m_saved_length = 0;
    bool m_saved_overflowed = false;
};

} // namespace terminal

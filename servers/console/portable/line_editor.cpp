// The console's line editor (see line_editor.h).
//
// The bytes come from whoever sits at the serial line, so any sequence of them must leave
// the editor consistent: the cursor within the line, the line within its buffer, and the
// echo of one byte within kMaxEchoLength, and the line well-formed UTF-8 with the cursor
// on a character boundary. The terminal is assumed to understand VT100 and UTF-8:
// backspace, ESC [ n C and ESC [ n D to move the cursor and ESC [ K to erase to the end of
// its line. Cursor movements count characters, one column each.
//
// FIXME: The redraws assume that the prompt and the line fit on one terminal row. The editor
// does not know the terminal's width, and a longer line wraps, after which moving the cursor
// left stops at the row's first column and the display goes wrong until the line ends.
//
// FIXME: A double-width character (most of CJK, many emoji) or a combining mark takes two
// or no columns rather than one, so the cursor goes wrong on a line that holds one.

#include <base/assert.h>
#include <base/utility.h>
#include <servers/console/portable/line_editor.h>

namespace terminal {

namespace {

constexpr uint8_t kCtrlA = 0x01;
constexpr uint8_t kCtrlB = 0x02;
constexpr uint8_t kCtrlC = 0x03;
constexpr uint8_t kCtrlD = 0x04;
constexpr uint8_t kCtrlE = 0x05;
constexpr uint8_t kCtrlF = 0x06;
constexpr uint8_t kBackspace = 0x08;
constexpr uint8_t kLineFeed = 0x0A;
constexpr uint8_t kCtrlK = 0x0B;
constexpr uint8_t kCarriageReturn = 0x0D;
constexpr uint8_t kCtrlN = 0x0E;
constexpr uint8_t kCtrlP = 0x10;
constexpr uint8_t kCtrlU = 0x15;
constexpr uint8_t kCtrlW = 0x17;
constexpr uint8_t kCancel = 0x18;
constexpr uint8_t kCtrlZ = 0x1A;
constexpr uint8_t kCtrlBackslash = 0x1C;
constexpr uint8_t kEscape = 0x1B;
constexpr uint8_t kDelete = 0x7F;

constexpr char kBell = 0x07;

bool is_printable(uint8_t byte) { return byte >= 0x20 && byte < 0x7F; }

bool is_continuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

// How many bytes a UTF-8 character that starts with lead has (RFC 3629), or 0 when no
// character starts with it: continuation bytes, the bytes C0 and C1 (which could only
// start overlong forms of ASCII) and F5 to FF (which could only start code points beyond
// U+10FFFF).
size_t character_length(uint8_t lead) {
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 0;
}

// Whether byte may follow the first `index` bytes of a character that starts with lead.
// The second byte also rules out the overlong forms (E0, F0), the surrogates (ED) and the
// code points above U+10FFFF (F4).
bool continues_character(uint8_t lead, size_t index, uint8_t byte) {
    if (!is_continuation(byte))
        return false;
    if (index != 1)
        return true;
    switch (lead) {
    case 0xE0:
        return byte >= 0xA0;
    case 0xED:
        return byte < 0xA0;
    case 0xF0:
        return byte >= 0x90;
    case 0xF4:
        return byte < 0x90;
    default:
        return true;
    }
}

// Writes value in decimal to digits and returns the digit count.
size_t format_decimal(size_t value, char* digits) {
    char reversed[20];
    size_t count = 0;
    do {
        reversed[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    for (size_t i = 0; i < count; ++i)
        digits[i] = reversed[count - 1 - i];
    return count;
}

} // namespace

void LineEditor::feed(uint8_t byte, Output& out) {
    out.echo_length = 0;
    out.event = LineEvent::kNone;
    out.line = base::StringView();

    bool after_cr = base::exchange(m_after_cr, false);
    if (byte == kLineFeed && after_cr)
        return;

    if (m_utf8_length > 0) {
        if (continues_character(static_cast<uint8_t>(m_utf8[0]), m_utf8_length, byte)) {
            m_utf8[m_utf8_length++] = static_cast<char>(byte);
            if (m_utf8_length == m_utf8_expected) {
                m_utf8_length = 0;
                // C1 control characters (U+0080 to U+009F) are ignored like the C0 ones: a
                // terminal may act on them when they are echoed.
                bool is_c1_control = static_cast<uint8_t>(m_utf8[0]) == 0xC2
                                     && static_cast<uint8_t>(m_utf8[1]) < 0xA0;
                if (!is_c1_control)
                    insert(m_utf8, m_utf8_expected, out);
            }
            return;
        }
        // The character was cut short: its bytes go, and this byte is taken on its own, so
        // that Enter or Ctrl-C after a stray lead byte still works.
        drop_invalid(base::exchange(m_utf8_length, size_t(0)), out);
    }

    if (m_escape != EscapeState::kGround) {
        if (is_printable(byte)) {
            handle_sequence_byte(byte, out);
            return;
        }
        // A terminal never puts a control byte (or a byte above ASCII) inside the sequence
        // of a key, so the sequence was typed by hand or cut short. Dropping it and taking
        // the byte as a key of its own keeps Enter, Ctrl-C and Backspace working after a
        // stray ESC. CAN and SUB (Ctrl-Z) only cancel it, as on a terminal.
        m_escape = EscapeState::kGround;
        if (byte == kCancel || byte == kCtrlZ)
            return;
    }

    if (byte >= 0x80)
        take_utf8_byte(byte, out);
    else if (is_printable(byte))
        insert(reinterpret_cast<const char*>(&byte), 1, out);
    else if (byte == kDelete)
        handle_control(kBackspace, out);
    else if (byte == kEscape)
        start_sequence(EscapeState::kEscape);
    else if (byte < 0x20)
        handle_control(byte, out);
}

void LineEditor::reset() {
    m_length = 0;
    m_cursor = 0;
    m_overflowed = false;
    m_after_cr = false;
    m_escape = EscapeState::kGround;
    m_utf8_length = 0;
    m_browse = kNotBrowsing;
    m_saved_length = 0;
    m_saved_overflowed = false;
}

void LineEditor::clear_history() {
    m_history_count = 0;
    m_history_next = 0;
    m_browse = kNotBrowsing;
}

base::StringView LineEditor::history_entry(size_t index) const {
    const HistoryEntry& entry = history_at(index);
    return base::StringView(entry.text, entry.length);
}

// ---- UTF-8 ------------------------------------------------------------------------------

// The first byte of a character above ASCII; feed() collects the rest.
void LineEditor::take_utf8_byte(uint8_t byte, Output& out) {
    size_t length = character_length(byte);
    if (length == 0) {
        drop_invalid(1, out);
        return;
    }
    m_utf8[0] = static_cast<char>(byte);
    m_utf8_length = 1;
    m_utf8_expected = length;
}

void LineEditor::drop_invalid(size_t count, Output& out) {
    m_invalid_bytes += count;
    char bell = kBell;
    emit(out, &bell, 1);
}

// ---- Escape sequences ------------------------------------------------------------------

void LineEditor::start_sequence(EscapeState state) {
    m_escape = state;
    m_csi_param_count = 0;
    m_csi_params[0] = 0;
    m_csi_unknown = false;
}

// Only printable bytes reach here. The parse follows ECMA-48 (parameter bytes 0x30-0x3F,
// intermediate bytes 0x20-0x2F, a final byte 0x40-0x7E) so that a sequence of a key the
// editor does not know is consumed whole instead of leaving its tail in the line. The
// state is a few numbers however long the sequence runs.
void LineEditor::handle_sequence_byte(uint8_t byte, Output& out) {
    if (m_escape == EscapeState::kEscape) {
        if (byte == '[') {
            start_sequence(EscapeState::kCsi);
        } else if (byte == 'O') {
            start_sequence(EscapeState::kSs3);
        } else {
            // FIXME: ESC followed by a printable byte is Alt+key (or a two-byte sequence); it
            // is dropped. Without a timeout a lone ESC also swallows the next key.
            m_escape = EscapeState::kGround;
        }
        return;
    }

    if (byte >= '0' && byte <= '9') {
        if (m_csi_param_count == 0) {
            m_csi_param_count = 1;
            m_csi_params[0] = 0;
        }
        uint16_t& param = m_csi_params[m_csi_param_count - 1];
        unsigned value = param * 10u + (byte - '0');
        param = static_cast<uint16_t>(base::min(value, static_cast<unsigned>(kMaxCsiParamValue)));
    } else if (byte == ';') {
        // An empty parameter before the separator counts as one with its default value.
        if (m_csi_param_count == 0) {
            m_csi_param_count = 1;
            m_csi_params[0] = 0;
        }
        if (m_csi_param_count == kMaxCsiParams) {
            m_csi_unknown = true;
        } else {
            m_csi_params[m_csi_param_count] = 0;
            ++m_csi_param_count;
        }
    } else if (byte < 0x40) {
        // Intermediate bytes, sub-parameters (':') and private markers ('<' to '?') belong
        // to sequences that no key of ours sends.
        m_csi_unknown = true;
    } else {
        EscapeState state = m_escape;
        m_escape = EscapeState::kGround;
        if (!m_csi_unknown)
            dispatch_sequence(byte, state == EscapeState::kCsi, out);
    }
}

// Parameters other than the first one of "~" are modifier keys (ESC [ 1 ; 5 D is
// Ctrl-Left); the key is taken without its modifiers.
void LineEditor::dispatch_sequence(uint8_t final_byte, bool is_csi, Output& out) {
    switch (final_byte) {
    case 'A':
        history_up(out);
        break;
    case 'B':
        history_down(out);
        break;
    case 'C':
        handle_control(kCtrlF, out);
        break;
    case 'D':
        handle_control(kCtrlB, out);
        break;
    case 'H':
        handle_control(kCtrlA, out);
        break;
    case 'F':
        handle_control(kCtrlE, out);
        break;
    case '~': {
        if (!is_csi)
            break;
        uint16_t key = m_csi_param_count > 0 ? m_csi_params[0] : 0;
        // The numbers are those of xterm (1, 4) and of rxvt (7, 8) for Home and End.
        if (key == 1 || key == 7)
            handle_control(kCtrlA, out);
        else if (key == 4 || key == 8)
            handle_control(kCtrlE, out);
        else if (key == 3 && m_cursor < m_length)
            erase_range(m_cursor, next_character(m_cursor), out);
        break;
    }
    default:
        break;
    }
}

// ---- Keys -------------------------------------------------------------------------------

void LineEditor::handle_control(uint8_t byte, Output& out) {
    switch (byte) {
    case kCtrlA:
        move_cursor_to(0, out);
        break;
    case kCtrlB:
        if (m_cursor > 0)
            move_cursor_to(previous_character(m_cursor), out);
        break;
    case kCtrlC:
        interrupt(out, 'C', LineEvent::kInterrupt);
        break;
    case kCtrlBackslash:
        interrupt(out, '\\', LineEvent::kQuit);
        break;
    case kCtrlZ:
        interrupt(out, 'Z', LineEvent::kSuspend);
        break;
    case kCtrlD:
        if (m_length == 0) {
            m_browse = kNotBrowsing;
            out.event = LineEvent::kEndOfFile;
        }
        break;
    case kCtrlE:
        move_cursor_to(m_length, out);
        break;
    case kCtrlF:
        if (m_cursor < m_length)
            move_cursor_to(next_character(m_cursor), out);
        break;
    case kBackspace:
        if (m_cursor > 0)
            erase_range(previous_character(m_cursor), m_cursor, out);
        break;
    case kLineFeed:
        finish_line(out);
        break;
    case kCtrlK:
        erase_range(m_cursor, m_length, out);
        break;
    case kCarriageReturn:
        finish_line(out);
        m_after_cr = true;
        break;
    case kCtrlN:
        history_down(out);
        break;
    case kCtrlP:
        history_up(out);
        break;
    case kCtrlU:
        erase_range(0, m_length, out);
        break;
    case kCtrlW: {
        size_t start = m_cursor;
        while (start > 0 && m_buffer[start - 1] == ' ')
            --start;
        while (start > 0 && m_buffer[start - 1] != ' ')
            --start;
        erase_range(start, m_cursor, out);
        break;
    }
    default:
        // Tab, Ctrl-Z and the other control bytes have no meaning here.
        break;
    }
}

// Inserts one character (count bytes) at the cursor.
void LineEditor::insert(const char* bytes, size_t count, Output& out) {
    if (m_length + count > kMaxLineLength) {
        m_overflowed = true;
        char bell = kBell;
        emit(out, &bell, 1);
        return;
    }
    size_t at = m_cursor;
    base::memmove(m_buffer + at + count, m_buffer + at, m_length - at);
    base::memcpy(m_buffer + at, bytes, count);
    m_length += count;
    m_cursor += count;
    show_tail(out, at, 0, false);
}

// Every caller erases at or left of the cursor, which is where the redraw starts from.
void LineEditor::erase_range(size_t from, size_t to, Output& out) {
    TERN_ASSERT(from <= to && to <= m_length && from <= m_cursor);
    if (from == to)
        return;
    size_t columns_back = columns(from, m_cursor);
    size_t count = to - from;
    base::memmove(m_buffer + from, m_buffer + to, m_length - to);
    m_length -= count;
    if (m_cursor >= to)
        m_cursor -= count;
    else
        m_cursor = from;
    // What was lost to the length limit went with the rest of the line.
    if (m_length == 0)
        m_overflowed = false;
    show_tail(out, from, columns_back, true);
}

void LineEditor::move_cursor_to(size_t position, Output& out) {
    TERN_ASSERT(position <= m_length);
    if (position < m_cursor)
        show_cursor_move(out, columns(position, m_cursor), 'D');
    else
        show_cursor_move(out, columns(m_cursor, position), 'C');
    m_cursor = position;
}

void LineEditor::finish_line(Output& out) {
    base::StringView line(m_buffer, m_length);
    bool overflowed = base::exchange(m_overflowed, false);
    m_length = 0;
    m_cursor = 0;
    m_browse = kNotBrowsing;
    emit(out, "\r\n", 2);
    if (overflowed) {
        // Handing on the part that fitted could run a command the user never typed.
        out.event = LineEvent::kLineTooLong;
        emit(out, kLineTooLongMessage, sizeof(kLineTooLongMessage) - 1);
        emit(out, "\r\n", 2);
        return;
    }
    if (m_echo && !line.is_empty())
        remember(line);
    // The bytes stay in m_buffer until the next feed(), which is as long as out.line is
    // promised to live.
    out.event = LineEvent::kLine;
    out.line = line;
}

void LineEditor::interrupt(Output& out, char letter, LineEvent event) {
    // "^C" goes after the last character rather than over the ones right of the cursor,
    // so the abandoned line stays readable on the screen.
    show_cursor_move(out, columns(m_cursor, m_length), 'C');
    m_length = 0;
    m_cursor = 0;
    m_overflowed = false;
    m_browse = kNotBrowsing;
    out.event = event;
    const char echo[4] = {'^', letter, '\r', '\n'};
    emit(out, echo, 4);
}

// ---- History ----------------------------------------------------------------------------

// Edits made to a recalled line are lost when the user walks on; only the line the user
// was typing before walking into the history is kept (in m_saved).
void LineEditor::history_up(Output& out) {
    // A password must not be replaced by, or shown as, an earlier line.
    if (!m_echo)
        return;
    if (m_browse == kNotBrowsing) {
        if (m_history_count == 0)
            return;
        base::memcpy(m_saved, m_buffer, m_length);
        m_saved_length = m_length;
        m_saved_overflowed = m_overflowed;
        m_browse = 0;
    } else if (m_browse + 1 < m_history_count) {
        ++m_browse;
    } else {
        return;
    }
    const HistoryEntry& entry = history_at(m_browse);
    replace_line(entry.text, entry.length, out);
    m_overflowed = false;
}

// A history entry is whole; the user's own line may have overflowed, and is again when it
// comes back.
void LineEditor::history_down(Output& out) {
    if (!m_echo || m_browse == kNotBrowsing)
        return;
    if (m_browse == 0) {
        m_browse = kNotBrowsing;
        replace_line(m_saved, m_saved_length, out);
        m_overflowed = m_saved_overflowed;
        return;
    }
    --m_browse;
    const HistoryEntry& entry = history_at(m_browse);
    replace_line(entry.text, entry.length, out);
    m_overflowed = false;
}

void LineEditor::replace_line(const char* text, size_t length, Output& out) {
    TERN_ASSERT(length <= kMaxLineLength);
    size_t columns_back = columns(0, m_cursor);
    base::memcpy(m_buffer, text, length);
    m_length = length;
    m_cursor = length;
    show_tail(out, 0, columns_back, true);
}

void LineEditor::remember(base::StringView line) {
    TERN_ASSERT(line.length() <= kMaxLineLength);
    if (m_history_count > 0 && history_entry(0) == line)
        return;
    HistoryEntry& entry = m_history[m_history_next];
    base::memcpy(entry.text, line.data(), line.length());
    entry.length = line.length();
    m_history_next = (m_history_next + 1) % kHistoryDepth;
    if (m_history_count < kHistoryDepth)
        ++m_history_count;
}

const LineEditor::HistoryEntry& LineEditor::history_at(size_t index) const {
    TERN_ASSERT(index < m_history_count);
    return m_history[(m_history_next + kHistoryDepth - 1 - index) % kHistoryDepth];
}

// ---- Characters -------------------------------------------------------------------------

size_t LineEditor::previous_character(size_t position) const {
    TERN_ASSERT(position > 0 && position <= m_length);
    do
        --position;
    while (position > 0 && is_continuation(static_cast<uint8_t>(m_buffer[position])));
    return position;
}

size_t LineEditor::next_character(size_t position) const {
    TERN_ASSERT(position < m_length);
    do
        ++position;
    while (position < m_length && is_continuation(static_cast<uint8_t>(m_buffer[position])));
    return position;
}

size_t LineEditor::columns(size_t from, size_t to) const {
    TERN_ASSERT(from <= to && to <= m_length);
    size_t count = 0;
    for (size_t i = from; i < to; ++i)
        count += is_continuation(static_cast<uint8_t>(m_buffer[i])) ? 0 : 1;
    return count;
}

// ---- Terminal output --------------------------------------------------------------------

void LineEditor::emit(Output& out, const char* bytes, size_t length) {
    // kMaxEchoLength is derived from the longest output any key produces (see
    // line_editor.h); running past it is a bug in the editor, not bad input.
    TERN_ASSERT(out.echo_length + length <= kMaxEchoLength);
    base::memcpy(out.echo + out.echo_length, bytes, length);
    out.echo_length += length;
}

void LineEditor::show(Output& out, const char* bytes, size_t length) {
    if (m_echo)
        emit(out, bytes, length);
}

// Moves the terminal's cursor `columns` to the left (direction 'D') or to the right ('C'):
// at most kMaxCursorMoveLength bytes.
void LineEditor::show_cursor_move(Output& out, size_t columns, char direction) {
    if (columns == 0)
        return;
    if (columns == 1 && direction == 'D') {
        show(out, "\b", 1);
        return;
    }
    TERN_ASSERT(columns <= kMaxLineLength);
    char sequence[kMaxCursorMoveLength];
    sequence[0] = static_cast<char>(kEscape);
    sequence[1] = '[';
    size_t length = 2 + format_decimal(columns, sequence + 2);
    sequence[length++] = direction;
    show(out, sequence, length);
}

// Brings the terminal up to date after the line changed from byte `from` on, while the
// terminal's cursor is columns_back columns right of where that byte is shown: rewrite the
// changed part, erase what is left of a longer old line if erase_rest, and put the cursor
// where m_cursor says. At most kMaxEchoLength bytes, which is where that bound comes from.
void LineEditor::show_tail(Output& out, size_t from, size_t columns_back, bool erase_rest) {
    TERN_ASSERT(from <= m_length);
    show_cursor_move(out, columns_back, 'D');
    show(out, m_buffer + from, m_length - from);
    if (erase_rest)
        show(out, "\x1b[K", 3);
    show_cursor_move(out, columns(m_cursor, m_length), 'D');
}

} // namespace terminal

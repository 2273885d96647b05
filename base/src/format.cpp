// The out-of-line half of <base/format.h>: format-string parsing and the printers for
// every FormatArg kind. Nothing here allocates or asserts on the format string, because
// a malformed log line must never take the kernel down.

#include <base/format.h>

namespace base {

namespace {

// A width beyond this is certainly a typo; clamping keeps one bad field from stalling a
// slow console with megabytes of padding.
constexpr uint32_t kMaxWidth = 4096;

void write_fill(FormatSink& sink, char fill, size_t count) {
    char chunk[32];
    base::memset(chunk, fill, sizeof(chunk));
    while (count > 0) {
        size_t n = count < sizeof(chunk) ? count : sizeof(chunk);
        sink.write(chunk, n);
        count -= n;
    }
}

struct Padding {
    size_t before;
    size_t after;
};

Padding compute_padding(const FormatSpec& spec, size_t length, FormatAlign default_align) {
    if (spec.width <= length)
        return {0, 0};
    size_t pad = spec.width - length;
    FormatAlign align = spec.align == FormatAlign::kDefault ? default_align : spec.align;
    switch (align) {
    case FormatAlign::kLeft:
        return {0, pad};
    case FormatAlign::kCenter:
        return {pad / 2, pad - pad / 2};
    case FormatAlign::kRight:
    case FormatAlign::kDefault:
        break;
    }
    return {pad, 0};
}

bool is_integer_type(char type) {
    return type == 'd' || type == 'x' || type == 'X' || type == 'b' || type == 'o';
}

// Renders a byte count; shared by ByteSize arguments and format_bytes().
size_t render_byte_size(char* out, size_t size, uint64_t bytes) {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned unit = 0;
    while (unit + 1 < array_size(kUnits) && (bytes >> (10 * (unit + 1))) != 0)
        ++unit;
    uint64_t whole = bytes >> (10 * unit);
    uint64_t remainder = bytes - (whole << (10 * unit));
    if (remainder == 0)
        return format(out, size, "{} {}", whole, kUnits[unit]);
    // remainder < 2^60, so multiplying by ten cannot overflow.
    uint64_t tenths = (remainder * 10) >> (10 * unit);
    return format(out, size, "{}.{} {}", whole, tenths, kUnits[unit]);
}

// Parses the text between '{' and '}'. Unknown characters are skipped rather than
// rejected so that any string formats to something.
void parse_field(StringView field, bool& has_index, size_t& index, FormatSpec& spec) {
    size_t i = 0;
    has_index = false;
    index = 0;
    while (i < field.length() && field[i] >= '0' && field[i] <= '9') {
        has_index = true;
        if (index < 1000)
            index = index * 10 + static_cast<size_t>(field[i] - '0');
        ++i;
    }
    if (i >= field.length() || field[i] != ':')
        return;
    ++i;

    auto align_of = [](char c, FormatAlign& align) {
        switch (c) {
        case '<':
            align = FormatAlign::kLeft;
            return true;
        case '>':
            align = FormatAlign::kRight;
            return true;
        case '^':
            align = FormatAlign::kCenter;
            return true;
        default:
            return false;
        }
    };

    if (i + 1 < field.length() && align_of(field[i + 1], spec.align)) {
        spec.fill = field[i];
        i += 2;
    } else if (i < field.length() && align_of(field[i], spec.align)) {
        ++i;
    }
    if (i < field.length() && field[i] == '+') {
        spec.plus_sign = true;
        ++i;
    }
    if (i < field.length() && field[i] == '#') {
        spec.alternate = true;
        ++i;
    }
    if (i < field.length() && field[i] == '0') {
        spec.zero_pad = true;
        ++i;
    }
    while (i < field.length() && field[i] >= '0' && field[i] <= '9') {
        spec.width = spec.width * 10 + static_cast<uint32_t>(field[i] - '0');
        if (spec.width > kMaxWidth)
            spec.width = kMaxWidth;
        ++i;
    }
    if (i < field.length() && field[i] == '.') {
        spec.has_precision = true;
        ++i;
        while (i < field.length() && field[i] >= '0' && field[i] <= '9') {
            spec.precision = spec.precision * 10 + static_cast<uint32_t>(field[i] - '0');
            if (spec.precision > kMaxWidth)
                spec.precision = kMaxWidth;
            ++i;
        }
    }
    if (i < field.length())
        spec.type = field[i];
}

} // namespace

BufferSink::BufferSink(char* buffer, size_t size) : m_buffer(buffer), m_size(buffer ? size : 0) {
    if (m_size > 0)
        m_buffer[0] = '\0';
}

void BufferSink::write(const char* s, size_t n) {
    m_length += n;
    if (m_size == 0)
        return;
    size_t room = m_size - 1 - m_written;
    size_t take = n < room ? n : room;
    base::memcpy(m_buffer + m_written, s, take);
    m_written += take;
    m_buffer[m_written] = '\0';
}

void BufferSink::reset() {
    m_written = 0;
    m_length = 0;
    if (m_size > 0)
        m_buffer[0] = '\0';
}

void write_padded(FormatSink& sink, const FormatSpec& spec, StringView text,
                  FormatAlign default_align) {
    if (spec.has_precision && spec.precision < text.length())
        text = text.substr(0, spec.precision);
    Padding padding = compute_padding(spec, text.length(), default_align);
    write_fill(sink, spec.fill, padding.before);
    sink.write_view(text);
    write_fill(sink, spec.fill, padding.after);
}

void write_integer(FormatSink& sink, const FormatSpec& spec, uint64_t magnitude, bool negative) {
    unsigned radix = 10;
    const char* digits_table = "0123456789abcdef";
    StringView prefix;
    switch (spec.type) {
    case 'x':
    case 'p':
        radix = 16;
        prefix = "0x";
        break;
    case 'X':
        radix = 16;
        digits_table = "0123456789ABCDEF";
        prefix = "0X";
        break;
    case 'b':
        radix = 2;
        prefix = "0b";
        break;
    case 'o':
        radix = 8;
        prefix = "0";
        break;
    default:
        break;
    }
    if (!spec.alternate || (radix == 8 && magnitude == 0))
        prefix = StringView();

    // 64 binary digits is the longest possible rendering.
    char digits[64];
    size_t count = 0;
    do {
        digits[sizeof(digits) - 1 - count] = digits_table[magnitude % radix];
        magnitude /= radix;
        ++count;
    } while (magnitude != 0);
    StringView digit_text(digits + sizeof(digits) - count, count);

    StringView sign;
    if (negative)
        sign = "-";
    else if (spec.plus_sign)
        sign = "+";

    size_t length = sign.length() + prefix.length() + digit_text.length();
    if (spec.zero_pad && spec.align == FormatAlign::kDefault) {
        // Zero padding goes between the sign or prefix and the digits: -0x00ff.
        sink.write_view(sign);
        sink.write_view(prefix);
        if (spec.width > length)
            write_fill(sink, '0', spec.width - length);
        sink.write_view(digit_text);
        return;
    }
    Padding padding = compute_padding(spec, length, FormatAlign::kRight);
    write_fill(sink, spec.fill, padding.before);
    sink.write_view(sign);
    sink.write_view(prefix);
    sink.write_view(digit_text);
    write_fill(sink, spec.fill, padding.after);
}

void FormatArg::format(FormatSink& sink, const FormatSpec& spec) const {
    switch (m_kind) {
    case Kind::kSigned: {
        if (spec.type == 'c') {
            char c = static_cast<char>(m_value.i);
            write_padded(sink, spec, StringView(&c, 1));
            return;
        }
        bool negative = m_value.i < 0;
        // Negating in unsigned arithmetic handles INT64_MIN without overflow.
        uint64_t magnitude = static_cast<uint64_t>(m_value.i);
        if (negative)
            magnitude = 0 - magnitude;
        write_integer(sink, spec, magnitude, negative);
        return;
    }
    case Kind::kUnsigned:
        if (spec.type == 'c') {
            char c = static_cast<char>(m_value.u);
            write_padded(sink, spec, StringView(&c, 1));
            return;
        }
        write_integer(sink, spec, m_value.u, false);
        return;
    case Kind::kBool:
        if (is_integer_type(spec.type)) {
            write_integer(sink, spec, m_value.b ? 1 : 0, false);
            return;
        }
        write_padded(sink, spec, m_value.b ? "true" : "false");
        return;
    case Kind::kChar:
        if (is_integer_type(spec.type)) {
            write_integer(sink, spec, static_cast<unsigned char>(m_value.c), false);
            return;
        }
        write_padded(sink, spec, StringView(&m_value.c, 1));
        return;
    case Kind::kCString:
        write_padded(sink, spec, m_value.s ? StringView(m_value.s) : StringView("(null)"));
        return;
    case Kind::kString:
        write_padded(sink, spec, StringView(m_value.view.data, m_value.view.length));
        return;
    case Kind::kPointer: {
        uint64_t address = reinterpret_cast<uintptr_t>(m_value.p);
        if (is_integer_type(spec.type)) {
            write_integer(sink, spec, address, false);
            return;
        }
        // Pointers print at full width so addresses line up in logs; width and fill
        // then apply to the whole "0x..." text.
        char text[19];
        BufferSink buffer(text, sizeof(text));
        FormatSpec digits_spec;
        digits_spec.type = 'x';
        digits_spec.alternate = true;
        digits_spec.zero_pad = true;
        digits_spec.width = 18;
        write_integer(buffer, digits_spec, address, false);
        write_padded(sink, spec, buffer.view(), FormatAlign::kRight);
        return;
    }
    case Kind::kError:
        if (is_integer_type(spec.type)) {
            FormatArg(static_cast<int32_t>(m_value.error)).format(sink, spec);
            return;
        }
        write_padded(sink, spec, error_name(m_value.error));
        return;
    case Kind::kByteSize: {
        if (is_integer_type(spec.type)) {
            write_integer(sink, spec, m_value.u, false);
            return;
        }
        char text[32];
        size_t length = render_byte_size(text, sizeof(text), m_value.u);
        StringView rendered(text, length < sizeof(text) ? length : sizeof(text) - 1);
        write_padded(sink, spec, rendered, FormatAlign::kRight);
        return;
    }
    case Kind::kCustom:
        m_value.custom.format(sink, spec, m_value.custom.object);
        return;
    }
}

void vformat(FormatSink& sink, StringView fmt, Span<const FormatArg> args) {
    size_t next_arg = 0;
    size_t i = 0;
    while (i < fmt.length()) {
        char c = fmt[i];
        if (c != '{' && c != '}') {
            // Copy the literal run up to the next brace in one write.
            size_t start = i;
            while (i < fmt.length() && fmt[i] != '{' && fmt[i] != '}')
                ++i;
            sink.write(fmt.data() + start, i - start);
            continue;
        }
        if (c == '}') {
            // "}}" is an escaped brace; a lone '}' is printed as it stands.
            sink.put('}');
            i += (i + 1 < fmt.length() && fmt[i + 1] == '}') ? 2 : 1;
            continue;
        }
        if (i + 1 < fmt.length() && fmt[i + 1] == '{') {
            sink.put('{');
            i += 2;
            continue;
        }
        Optional<size_t> close = fmt.find('}', i + 1);
        if (!close.has_value()) {
            // An unterminated field is printed literally.
            sink.write(fmt.data() + i, fmt.length() - i);
            return;
        }
        StringView field = fmt.substr(i + 1, *close - i - 1);
        i = *close + 1;

        bool has_index = false;
        size_t index = 0;
        FormatSpec spec;
        parse_field(field, has_index, index, spec);
        if (!has_index)
            index = next_arg++;
        if (index >= args.size()) {
            sink.write("{?}", 3);
            continue;
        }
        args[index].format(sink, spec);
    }
}

size_t format_bytes(char* buf, size_t size, uint64_t bytes) {
    return render_byte_size(buf, size, bytes);
}

} // namespace base

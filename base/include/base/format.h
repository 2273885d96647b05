#pragma once

// Type-safe "{}" formatting without a heap, for kernel logs, panic messages and user
// space alike. Arguments are type-erased into FormatArg at the call site, so one
// out-of-line vformat() serves every combination of types.
//
//     char line[80];
//     base::format(line, sizeof(line), "frame {:#x} order {} -> {}", addr, order, err);
//
// Replacement fields are "{}" or "{index}" followed by an optional ":spec":
//     [[fill]align][+][#][0][width][.precision][type]
// align is '<', '>' or '^'; type is x X b o d c s p. "{{" and "}}" print braces. A field
// without a matching argument prints "{?}" and unused arguments are ignored: a wrong
// format string yields a wrong line, never a crash.

#include <base/error.h>
#include <base/span.h>
#include <base/string_view.h>
#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>

namespace base {

// Where formatted text goes: a buffer, the serial port, an IPC message.
class FormatSink {
public:
    virtual void write(const char* s, size_t n) = 0;

    void put(char c) { write(&c, 1); }
    void write_view(StringView s) { write(s.data(), s.length()); }

protected:
    ~FormatSink() = default;
};

// Formats into a fixed char buffer. Output past the end is dropped, the buffer always
// ends with a NUL (when it has room for one), and length() reports how long the full
// output would have been so callers can detect truncation.
class BufferSink final : public FormatSink {
public:
    BufferSink(char* buffer, size_t size);

    void write(const char* s, size_t n) override;

    // The length the complete output would have had, excluding the NUL.
    [[nodiscard]] size_t length() const { return m_length; }
    // How many characters are actually in the buffer, excluding the NUL.
    [[nodiscard]] size_t written() const { return m_written; }
    [[nodiscard]] bool truncated() const { return m_length > m_written; }
    [[nodiscard]] StringView view() const {
        return m_size > 0 ? StringView(m_buffer, m_written) : StringView();
    }
    [[nodiscard]] const char* c_str() const { return m_size > 0 ? m_buffer : ""; }

    // Starts over at the beginning of the buffer.
    void reset();

private:
    char* m_buffer;
    size_t m_size;
    size_t m_written{0};
    size_t m_length{0};
};

enum class FormatAlign : uint8_t {
    kDefault,
    kLeft,
    kRight,
    kCenter
};

// The parsed ":spec" of one replacement field, also handed to custom formatters.
struct FormatSpec {
    char fill{' '};
    FormatAlign align{FormatAlign::kDefault};
    bool plus_sign{false};
    bool alternate{false};
    bool zero_pad{false};
    bool has_precision{false};
    uint32_t width{0};
    uint32_t precision{0};
    char type{0};
};

// A byte count printed in binary units: "512 B", "4 KiB", "1.5 MiB". Fractions are shown
// to one decimal, truncated, so "511 MiB" is only printed for exactly 511 MiB.
struct ByteSize {
    uint64_t bytes;
};

// Writes text padded to spec.width with spec.fill, honouring spec.align (or
// default_align when the spec names none). Custom formatters use this for strings.
void write_padded(FormatSink& sink, const FormatSpec& spec, StringView text,
                  FormatAlign default_align = FormatAlign::kLeft);

// Writes an integer given as magnitude and sign under spec (type, '#', '+', '0', width).
void write_integer(FormatSink& sink, const FormatSpec& spec, uint64_t magnitude, bool negative);

// A type opts into formatting by declaring, where argument-dependent lookup finds it:
//     void format_value(base::FormatSink&, const base::FormatSpec&, const MyType&);
template<typename T>
concept CustomFormattable = requires(FormatSink& sink, const FormatSpec& spec, const T& value) {
    format_value(sink, spec, value);
};

class FormatArg {
public:
    enum class Kind : uint8_t {
        kSigned,
        kUnsigned,
        kBool,
        kChar,
        kCString,
        kString,
        kPointer,
        kError,
        kByteSize,
        kCustom,
    };

    template<typename T>
    requires(is_integral_v<T>&& is_signed_v<T> && !is_same_v<T, char> && !is_same_v<T, bool>)
        FormatArg(T value)
        : m_kind(Kind::kSigned) {
        m_value.i = static_cast<int64_t>(value);
    }

    template<typename T>
    requires(is_integral_v<T> && !is_signed_v<T> && !is_same_v<T, char> && !is_same_v<T, bool>)
        FormatArg(T value)
        : m_kind(Kind::kUnsigned) {
        m_value.u = static_cast<uint64_t>(value);
    }

    // Enumerations other than Error print their numeric value.
    template<typename T>
    requires(is_enum_v<T> && !is_same_v<T, base::Error> && !CustomFormattable<T>) FormatArg(T value)
        : FormatArg(static_cast<__underlying_type(T)>(value)) {}

    // bool and char take exactly their own type, so that nothing else (a pointer, or a
    // floating-point value, which Tern code must not format) slips in by conversion.
    template<typename T>
    requires(is_same_v<T, bool>) FormatArg(T value) : m_kind(Kind::kBool) { m_value.b = value; }

    template<typename T>
    requires(is_same_v<T, char>) FormatArg(T value) : m_kind(Kind::kChar) { m_value.c = value; }
    FormatArg(const char* value) : m_kind(Kind::kCString) { m_value.s = value; }
    FormatArg(StringView value) : m_kind(Kind::kString) {
        m_value.view.data = value.data();
        m_value.view.length = value.length();
    }
    FormatArg(base::Error value) : m_kind(Kind::kError) { m_value.error = value; }
    FormatArg(base::ByteSize value) : m_kind(Kind::kByteSize) { m_value.u = value.bytes; }
    FormatArg(decltype(nullptr)) : m_kind(Kind::kPointer) { m_value.p = nullptr; }

    // Any pointer other than a C string prints as an address.
    template<typename T>
    requires(!is_same_v<remove_cv_t<T>, char>) FormatArg(T* value) : m_kind(Kind::kPointer) {
        m_value.p = reinterpret_cast<const volatile void*>(value);
    }

    // The FormatArg refers to value, which must outlive it; format_to guarantees that.
    template<typename T>
    requires(CustomFormattable<T>) FormatArg(const T& value) : m_kind(Kind::kCustom) {
        m_value.custom.object = &value;
        m_value.custom.format = [](FormatSink& sink, const FormatSpec& spec, const void* object) {
            format_value(sink, spec, *static_cast<const T*>(object));
        };
    }

    // Prints the argument under spec.
    void format(FormatSink& sink, const FormatSpec& spec) const;

    [[nodiscard]] Kind kind() const { return m_kind; }

private:
    Kind m_kind;
    union {
        int64_t i;
        uint64_t u;
        bool b;
        char c;
        const char* s;
        struct {
            const char* data;
            size_t length;
        } view;
        const volatile void* p;
        base::Error error;
        struct {
            const void* object;
            void (*format)(FormatSink&, const FormatSpec&, const void*);
        } custom;
    } m_value;
};

void vformat(FormatSink& sink, StringView fmt, Span<const FormatArg> args);

template<typename... Args>
void format_to(FormatSink& sink, StringView fmt, const Args&... args) {
    if constexpr (sizeof...(Args) == 0) {
        vformat(sink, fmt, {});
    } else {
        const FormatArg erased[] = {FormatArg(args)...};
        vformat(sink, fmt, Span<const FormatArg>(erased, sizeof...(Args)));
    }
}

// Formats into buf (always NUL-terminated when size > 0) and returns the length the full
// output would have had, excluding the NUL; a result >= size means it was truncated.
template<typename... Args>
size_t format(char* buf, size_t size, StringView fmt, const Args&... args) {
    BufferSink sink(buf, size);
    format_to(sink, fmt, args...);
    return sink.length();
}

// Writes a human-readable size such as "511 MiB" into buf; returns as format() does.
size_t format_bytes(char* buf, size_t size, uint64_t bytes);

} // namespace base

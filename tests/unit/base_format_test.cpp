// Host tests for base::format: every argument kind, every spec feature, truncation and
// malformed format strings.

#include <base/format.h>
#include <catch2/catch.hpp>
#include <limits.h>
#include <stdint.h>
#include <string>

using base::Error;

namespace {

// Formats into a generous buffer and returns the text, checking that the returned
// length agrees with what was written.
template<typename... Args>
std::string fmt(base::StringView f, const Args&... args) {
    char buf[512];
    size_t n = base::format(buf, sizeof(buf), f, args...);
    REQUIRE(n < sizeof(buf));
    REQUIRE(std::string(buf).size() == n);
    return std::string(buf, n);
}

enum class Color : uint8_t {
    kRed = 1,
    kBlue = 7
};

struct Point {
    int x;
    int y;
};

// Custom types format themselves through argument-dependent lookup.
void format_value(base::FormatSink& sink, const base::FormatSpec&, const Point& p) {
    base::format_to(sink, "({}, {})", p.x, p.y);
}

// A sink that records every write, to check chunking and that nothing is lost.
class StringSink final : public base::FormatSink {
public:
    void write(const char* s, size_t n) override { text.append(s, n); }
    std::string text;
};

} // namespace

TEST_CASE("format: plain text, escapes and default placeholders", "[base][format]") {
    REQUIRE(fmt("hello") == "hello");
    REQUIRE(fmt("") == "");
    REQUIRE(fmt("{} + {} = {}", 1, 2, 3) == "1 + 2 = 3");
    REQUIRE(fmt("{{}}") == "{}");
    REQUIRE(fmt("{{{}}}", 5) == "{5}");
    REQUIRE(fmt("a}}b{{c") == "a}b{c");
}

TEST_CASE("format: missing arguments, extra arguments, malformed fields", "[base][format]") {
    REQUIRE(fmt("{} {}", 1) == "1 {?}");
    REQUIRE(fmt("{}") == "{?}");
    REQUIRE(fmt("x", 1, 2, 3) == "x");
    REQUIRE(fmt("{", 1) == "{");
    REQUIRE(fmt("abc {:x", 1) == "abc {:x");
    REQUIRE(fmt("lone } brace") == "lone } brace");
    REQUIRE(fmt("{:q}", 42) == "42");
    REQUIRE(fmt("{9}", 1) == "{?}");
    REQUIRE(fmt("{99999999999999999999}", 1) == "{?}");
    REQUIRE(fmt("{1} {0} {1}", 'a', 'b') == "b a b");
}

TEST_CASE("format: integers of every width", "[base][format]") {
    REQUIRE(fmt("{}", int8_t(-128)) == "-128");
    REQUIRE(fmt("{}", uint8_t(255)) == "255");
    REQUIRE(fmt("{}", int16_t(-32768)) == "-32768");
    REQUIRE(fmt("{}", uint16_t(65535)) == "65535");
    REQUIRE(fmt("{}", INT32_MIN) == "-2147483648");
    REQUIRE(fmt("{}", UINT32_MAX) == "4294967295");
    REQUIRE(fmt("{}", INT64_MIN) == "-9223372036854775808");
    REQUIRE(fmt("{}", INT64_MAX) == "9223372036854775807");
    REQUIRE(fmt("{}", UINT64_MAX) == "18446744073709551615");
    REQUIRE(fmt("{}", 0) == "0");
    REQUIRE(fmt("{}", 0ul) == "0");
    REQUIRE(fmt("{}", static_cast<long long>(-1)) == "-1");
    REQUIRE(fmt("{}", static_cast<size_t>(4096)) == "4096");
}

TEST_CASE("format: radixes and the alternate form", "[base][format]") {
    REQUIRE(fmt("{:x}", 255) == "ff");
    REQUIRE(fmt("{:X}", 255) == "FF");
    REQUIRE(fmt("{:#x}", 255) == "0xff");
    REQUIRE(fmt("{:#X}", 255) == "0XFF");
    REQUIRE(fmt("{:b}", 5) == "101");
    REQUIRE(fmt("{:#b}", 5) == "0b101");
    REQUIRE(fmt("{:o}", 8) == "10");
    REQUIRE(fmt("{:#o}", 8) == "010");
    REQUIRE(fmt("{:#o}", 0) == "0");
    REQUIRE(fmt("{:d}", 12) == "12");
    REQUIRE(fmt("{:x}", UINT64_MAX) == "ffffffffffffffff");
    REQUIRE(fmt("{:b}", UINT64_MAX) == std::string(64, '1'));
    REQUIRE(fmt("{:x}", -255) == "-ff");
    REQUIRE(fmt("{:#x}", INT64_MIN) == "-0x8000000000000000");
    REQUIRE(fmt("{:#x}", 0) == "0x0");
}

TEST_CASE("format: width, fill and alignment", "[base][format]") {
    REQUIRE(fmt("[{:8}]", 42) == "[      42]");
    REQUIRE(fmt("[{:<8}]", 42) == "[42      ]");
    REQUIRE(fmt("[{:>8}]", 42) == "[      42]");
    REQUIRE(fmt("[{:^8}]", 42) == "[   42   ]");
    REQUIRE(fmt("[{:^7}]", 42) == "[  42   ]");
    REQUIRE(fmt("[{:08x}]", 0xbeef) == "[0000beef]");
    REQUIRE(fmt("[{:#010x}]", 0xbeef) == "[0x0000beef]");
    REQUIRE(fmt("[{:05}]", -42) == "[-0042]");
    REQUIRE(fmt("[{:*>6}]", 7) == "[*****7]");
    REQUIRE(fmt("[{:-<6}]", 7) == "[7-----]");
    REQUIRE(fmt("[{:2}]", 12345) == "[12345]");
    REQUIRE(fmt("[{:+}]", 5) == "[+5]");
    REQUIRE(fmt("[{:+}]", -5) == "[-5]");
    // Strings align left by default, numbers right.
    REQUIRE(fmt("[{:6}]", "ab") == "[ab    ]");
    REQUIRE(fmt("[{:>6}]", "ab") == "[    ab]");
    REQUIRE(fmt("[{:^6}]", "ab") == "[  ab  ]");
    REQUIRE(fmt("[{:.2}]", "abcdef") == "[ab]");
    REQUIRE(fmt("[{:5.2}]", "abcdef") == "[ab   ]");
}

TEST_CASE("format: absurd widths are clamped, not obeyed", "[base][format]") {
    StringSink sink;
    base::format_to(sink, "{:999999999}", 1);
    REQUIRE(sink.text.size() <= 4096);
    REQUIRE(sink.text.back() == '1');
}

TEST_CASE("format: bool, char, strings", "[base][format]") {
    REQUIRE(fmt("{} {}", true, false) == "true false");
    REQUIRE(fmt("{:d}", true) == "1");
    REQUIRE(fmt("{}", 'x') == "x");
    REQUIRE(fmt("{:d}", 'A') == "65");
    REQUIRE(fmt("{:x}", '\xff') == "ff");
    REQUIRE(fmt("{:c}", 66) == "B");
    REQUIRE(fmt("{}", "literal") == "literal");
    const char* null_string = nullptr;
    REQUIRE(fmt("{}", null_string) == "(null)");
    char mutable_text[] = "mutable";
    REQUIRE(fmt("{}", mutable_text) == "mutable");
    REQUIRE(fmt("{}", base::StringView("abcdef", 3)) == "abc");
    REQUIRE(fmt("[{}]", base::StringView()) == "[]");
}

TEST_CASE("format: pointers", "[base][format]") {
    REQUIRE(fmt("{}", reinterpret_cast<const void*>(0x1000)) == "0x0000000000001000");
    int value = 0;
    int* p = &value;
    char expected[32];
    snprintf(expected, sizeof(expected), "0x%016llx",
             static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(p)));
    REQUIRE(fmt("{}", p) == expected);
    REQUIRE(fmt("{}", nullptr) == "0x0000000000000000");
    REQUIRE(fmt("{:x}", reinterpret_cast<void*>(0xabc)) == "abc");
    REQUIRE(fmt("[{:>20}]", reinterpret_cast<void*>(0x1)) == "[  0x0000000000000001]");
}

TEST_CASE("format: errors, enums, byte sizes and custom types", "[base][format]") {
    REQUIRE(fmt("{}", Error::NO_MEMORY) == "NO_MEMORY");
    REQUIRE(fmt("{:d}", Error::NO_MEMORY) == "1");
    REQUIRE(fmt("[{:12}]", Error::BUSY) == "[BUSY        ]");
    REQUIRE(fmt("{}", static_cast<Error>(777)) == "UNKNOWN_ERROR");
    REQUIRE(fmt("{} {}", Color::kRed, Color::kBlue) == "1 7");
    REQUIRE(fmt("{}", base::ByteSize{0}) == "0 B");
    REQUIRE(fmt("{}", base::ByteSize{1023}) == "1023 B");
    REQUIRE(fmt("{}", base::ByteSize{4096}) == "4 KiB");
    REQUIRE(fmt("{}", base::ByteSize{base::MiB(511)}) == "511 MiB");
    REQUIRE(fmt("{}", base::ByteSize{base::MiB(1) + base::KiB(512)}) == "1.5 MiB");
    REQUIRE(fmt("{}", base::ByteSize{base::GiB(3)}) == "3 GiB");
    REQUIRE(fmt("{}", base::ByteSize{UINT64_MAX}) == "15.9 EiB");
    REQUIRE(fmt("{}", Point{3, -4}) == "(3, -4)");
}

TEST_CASE("format_bytes helper", "[base][format]") {
    char buf[16];
    REQUIRE(base::format_bytes(buf, sizeof(buf), base::MiB(511)) == 7);
    REQUIRE(std::string(buf) == "511 MiB");
    REQUIRE(base::format_bytes(buf, 4, base::MiB(511)) == 7);
    REQUIRE(std::string(buf) == "511");
}

TEST_CASE("format: truncation to a small buffer", "[base][format]") {
    char buf[8];
    base::memset(buf, 'Z', sizeof(buf));
    size_t n = base::format(buf, sizeof(buf), "value={}", 123456);
    REQUIRE(n == 12);
    REQUIRE(std::string(buf) == "value=1");
    REQUIRE(buf[7] == '\0');

    char one[1] = {'Z'};
    REQUIRE(base::format(one, sizeof(one), "{}", 99) == 2);
    REQUIRE(one[0] == '\0');

    // A zero-sized buffer is never touched, even when it is null.
    REQUIRE(base::format(nullptr, 0, "{} {}", "abc", 1) == 5);

    char exact[4];
    REQUIRE(base::format(exact, sizeof(exact), "abc") == 3);
    REQUIRE(std::string(exact) == "abc");
    REQUIRE(base::format(exact, sizeof(exact), "abcd") == 4);
    REQUIRE(std::string(exact) == "abc");
}

TEST_CASE("BufferSink tracks lengths and resets", "[base][format]") {
    char buf[6];
    base::BufferSink sink(buf, sizeof(buf));
    REQUIRE(std::string(sink.c_str()).empty());
    base::format_to(sink, "{}", "hello world");
    REQUIRE(sink.length() == 11);
    REQUIRE(sink.written() == 5);
    REQUIRE(sink.truncated());
    REQUIRE(sink.view() == "hello");
    sink.reset();
    base::format_to(sink, "{}", 12);
    REQUIRE_FALSE(sink.truncated());
    REQUIRE(sink.view() == "12");
    REQUIRE(std::string(sink.c_str()) == "12");

    base::BufferSink empty(nullptr, 0);
    base::format_to(empty, "abc");
    REQUIRE(empty.length() == 3);
    REQUIRE(empty.view().is_empty());
    REQUIRE(std::string(empty.c_str()).empty());
}

TEST_CASE("format_to writes to any sink, padding included", "[base][format]") {
    StringSink sink;
    base::format_to(sink, "{:>40}|{:-<3}", "x", 'y');
    REQUIRE(sink.text == std::string(39, ' ') + "x|y--");
}

TEST_CASE("vformat with an explicit argument span", "[base][format]") {
    const base::FormatArg args[] = {base::FormatArg(1), base::FormatArg("two")};
    StringSink sink;
    base::vformat(sink, "{} {} {}", base::Span<const base::FormatArg>(args));
    REQUIRE(sink.text == "1 two {?}");
}

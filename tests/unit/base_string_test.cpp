// Host tests for base::StringView and the number parsers.

#include <base/string_view.h>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

using base::StringView;

namespace {

std::vector<std::string> fields(StringView text, char sep,
                                base::KeepEmpty keep = base::KeepEmpty::kNo) {
    std::vector<std::string> out;
    for (StringView part : text.split(sep, keep))
        out.emplace_back(part.data(), part.length());
    return out;
}

} // namespace

TEST_CASE("StringView construction and comparison", "[base][string]") {
    StringView empty;
    REQUIRE(empty.is_empty());
    REQUIRE(empty.length() == 0);
    REQUIRE(empty.data() != nullptr);
    REQUIRE(StringView(nullptr).is_empty());

    StringView hello = "hello";
    REQUIRE(hello.length() == 5);
    REQUIRE(hello[1] == 'e');
    REQUIRE(hello == "hello");
    REQUIRE("hello" == hello);
    REQUIRE(hello != "hell");
    REQUIRE(StringView("hello world", 5) == hello);
    REQUIRE(empty == "");

    constexpr StringView compile_time = "abc";
    STATIC_REQUIRE(compile_time.length() == 3);
    STATIC_REQUIRE(compile_time == "abc");
    STATIC_REQUIRE(compile_time.starts_with("ab"));
}

TEST_CASE("StringView prefixes, suffixes and substrings", "[base][string]") {
    StringView path = "/boot/kernel.elf";
    REQUIRE(path.starts_with("/boot"));
    REQUIRE(path.starts_with('/'));
    REQUIRE(path.starts_with(""));
    REQUIRE_FALSE(path.starts_with("/boot/kernel.elf/"));
    REQUIRE(path.ends_with(".elf"));
    REQUIRE(path.ends_with('f'));
    REQUIRE_FALSE(path.ends_with(".bin"));
    REQUIRE_FALSE(StringView().ends_with('x'));
    REQUIRE(path.substr(6) == "kernel.elf");
    REQUIRE(path.substr(6, 6) == "kernel");
    REQUIRE(path.substr(6, 1000) == "kernel.elf");
    REQUIRE(path.substr(1000).is_empty());
    REQUIRE(path.substr(path.length()).is_empty());
}

TEST_CASE("StringView find", "[base][string]") {
    StringView s = "key=value=more";
    REQUIRE(s.find('=').value() == 3);
    REQUIRE(s.find('=', 4).value() == 9);
    REQUIRE_FALSE(s.find('#').has_value());
    REQUIRE(s.find_last('=').value() == 9);
    REQUIRE(s.find("value").value() == 4);
    REQUIRE(s.find("").value() == 0);
    REQUIRE_FALSE(s.find("values").has_value());
    REQUIRE_FALSE(StringView("ab").find("abc").has_value());
    REQUIRE(s.contains("more"));
    REQUIRE(s.contains('k'));
    REQUIRE_FALSE(s.contains('z'));

    auto cut = s.cut('=');
    REQUIRE(cut.found);
    REQUIRE(cut.head == "key");
    REQUIRE(cut.tail == "value=more");
    auto none = StringView("flag").cut('=');
    REQUIRE_FALSE(none.found);
    REQUIRE(none.head == "flag");
    REQUIRE(none.tail.is_empty());
}

TEST_CASE("StringView trimming", "[base][string]") {
    REQUIRE(StringView("  \t x y \r\n").trim() == "x y");
    REQUIRE(StringView("  x ").trim_left() == "x ");
    REQUIRE(StringView("  x ").trim_right() == "  x");
    REQUIRE(StringView("   ").trim().is_empty());
    REQUIRE(StringView("").trim().is_empty());
    REQUIRE(StringView("//a/b//").trim('/') == "a/b");
    REQUIRE(StringView("////").trim('/').is_empty());
}

TEST_CASE("StringView split", "[base][string]") {
    using V = std::vector<std::string>;
    REQUIRE(fields("a,b,c", ',') == V{"a", "b", "c"});
    REQUIRE(fields("/usr//bin/", '/') == V{"usr", "bin"});
    REQUIRE(fields("/usr//bin/", '/', base::KeepEmpty::kYes) == V{"", "usr", "", "bin", ""});
    REQUIRE(fields("", ',').empty());
    REQUIRE(fields("", ',', base::KeepEmpty::kYes) == V{""});
    REQUIRE(fields(",,,", ',').empty());
    REQUIRE(fields("single", ',') == V{"single"});
    REQUIRE(fields("console=serial loglevel=3", ' ') == V{"console=serial", "loglevel=3"});
}

TEST_CASE("parse_u64 decimal", "[base][string][parse]") {
    REQUIRE(base::parse_u64("0").value() == 0);
    REQUIRE(base::parse_u64("42").value() == 42);
    REQUIRE(base::parse_u64("0042").value() == 42);
    REQUIRE(base::parse_u64("18446744073709551615").value() == UINT64_MAX);
    REQUIRE_FALSE(base::parse_u64("18446744073709551616").has_value());
    REQUIRE_FALSE(base::parse_u64("99999999999999999999999").has_value());
    REQUIRE_FALSE(base::parse_u64("").has_value());
    REQUIRE_FALSE(base::parse_u64("12a").has_value());
    REQUIRE_FALSE(base::parse_u64(" 12").has_value());
    REQUIRE_FALSE(base::parse_u64("-1").has_value());
    REQUIRE_FALSE(base::parse_u64("+1").has_value());
    REQUIRE_FALSE(base::parse_u64("0x10").has_value());
}

TEST_CASE("parse_u64 other bases", "[base][string][parse]") {
    REQUIRE(base::parse_u64("ff", 16).value() == 255);
    REQUIRE(base::parse_u64("FF", 16).value() == 255);
    REQUIRE(base::parse_u64("0xff", 16).value() == 255);
    REQUIRE(base::parse_u64("0x10", 0).value() == 16);
    REQUIRE(base::parse_u64("0X10", 0).value() == 16);
    REQUIRE(base::parse_u64("0b101", 0).value() == 5);
    REQUIRE(base::parse_u64("0o17", 0).value() == 15);
    REQUIRE(base::parse_u64("017", 0).value() == 17);
    REQUIRE(base::parse_u64("0", 0).value() == 0);
    REQUIRE(base::parse_u64("101", 2).value() == 5);
    REQUIRE(base::parse_u64("z", 36).value() == 35);
    REQUIRE(base::parse_u64("ffffffffffffffff", 16).value() == UINT64_MAX);
    REQUIRE_FALSE(base::parse_u64("10000000000000000", 16).has_value());
    REQUIRE_FALSE(base::parse_u64("0x", 0).has_value());
    REQUIRE_FALSE(base::parse_u64("0x", 16).has_value());
    REQUIRE_FALSE(base::parse_u64("0xg", 0).has_value());
    REQUIRE_FALSE(base::parse_u64("12", 2).has_value());
    REQUIRE_FALSE(base::parse_u64("1", 1).has_value());
    REQUIRE_FALSE(base::parse_u64("1", 37).has_value());
    REQUIRE_FALSE(base::parse_u64("1", -5).has_value());
}

TEST_CASE("parse_i64", "[base][string][parse]") {
    REQUIRE(base::parse_i64("0").value() == 0);
    REQUIRE(base::parse_i64("-0").value() == 0);
    REQUIRE(base::parse_i64("+17").value() == 17);
    REQUIRE(base::parse_i64("-17").value() == -17);
    REQUIRE(base::parse_i64("9223372036854775807").value() == INT64_MAX);
    REQUIRE(base::parse_i64("-9223372036854775808").value() == INT64_MIN);
    REQUIRE_FALSE(base::parse_i64("9223372036854775808").has_value());
    REQUIRE_FALSE(base::parse_i64("-9223372036854775809").has_value());
    REQUIRE(base::parse_i64("-0x10", 0).value() == -16);
    REQUIRE_FALSE(base::parse_i64("").has_value());
    REQUIRE_FALSE(base::parse_i64("-").has_value());
    REQUIRE_FALSE(base::parse_i64("--1").has_value());
    REQUIRE_FALSE(base::parse_i64("+-1").has_value());
    REQUIRE_FALSE(base::parse_i64("1-").has_value());
}

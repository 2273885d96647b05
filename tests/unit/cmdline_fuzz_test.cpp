// Runs the kernel command-line parser over 100,000 seeded random lines under ASan and
// UBSan. The lines mix raw bytes with fragments of real syntax (option names, '=', '/',
// digits, dots) so that most of them reach the value parsers rather than stopping at
// "unknown option". Every result must still satisfy the documented invariants.

#include <catch2/catch.hpp>

#include <kernel/lib/cmdline.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>

namespace {

const char* const kFragments[] = {
    "node",        "mode",
    "log",         "selftest_filter",
    "ip",          "gw",
    "cluster_key", "fuzz_iterations",
    "serial_echo", "=",
    "=",           "=",
    " ",           " ",
    "\t",          "\n",
    "/",           ".",
    "0x",          "0",
    "1",           "255",
    "256",         "65535",
    "65536",       "-",
    "normal",      "selftest",
    "bench",       "fuzz",
    "debug",       "info",
    "on",          "off",
    "10.0.0.3",    "/24",
    "/33",         "0123456789abcdef",
    "ABCDEF",      "99999999999999999999999",
    "\x1b[31m",    "\x00",
    "\xff",        "\\",
    "'",
};

std::string random_line(std::mt19937_64& rng) {
    std::string line;
    // Mostly short lines, some up to and beyond 4 KiB.
    size_t target = (rng() % 16 == 0) ? 1 + rng() % 6000 : rng() % 200;
    int style = static_cast<int>(rng() % 4);
    size_t count = sizeof(kFragments) / sizeof(kFragments[0]);
    if (style == 3) {
        // Token-shaped: an option name, usually '=', one to three value fragments, a
        // space, with the odd byte flipped afterwards.
        while (line.size() < target) {
            line += kFragments[rng() % 9];
            if (rng() % 8 != 0)
                line += '=';
            for (size_t n = 1 + rng() % 3; n > 0; --n)
                line += kFragments[9 + rng() % (count - 9)];
            line += ' ';
        }
        if (!line.empty() && rng() % 4 == 0)
            line[rng() % line.size()] ^= static_cast<char>(1 << (rng() % 8));
        return line;
    }
    while (line.size() < target) {
        if (style == 0 || (style == 2 && rng() % 2 == 0)) {
            // Raw bytes, with all 256 values possible.
            line.push_back(static_cast<char>(rng() & 0xFF));
        } else {
            const char* fragment = kFragments[rng() % count];
            // "\x00" is one NUL byte, which strlen would drop.
            if (fragment[0] == '\0')
                line.push_back('\0');
            else
                line += fragment;
        }
    }
    return line;
}

bool printable(const char* text) {
    for (const char* p = text; *p; ++p) {
        if (*p < 0x20 || *p > 0x7E)
            return false;
    }
    return true;
}

} // namespace

TEST_CASE("cmdline fuzz: 100k random lines never break the invariants", "[cmdline][fuzz]") {
    std::mt19937_64 rng(0x7E54C0DE);
    auto result = std::make_unique<kernel::CmdlineResult>();
    size_t with_diagnostics = 0;
    size_t non_default_node = 0;
    for (int i = 0; i < 100000; ++i) {
        std::string line = random_line(rng);
        kernel::parse_cmdline(base::StringView(line.data(), line.size()), *result);

        const kernel::BootOptions& o = result->options;
        REQUIRE(o.node_id >= 1);
        REQUIRE(static_cast<int>(o.mode) <= static_cast<int>(kernel::BootMode::kFuzz));
        REQUIRE(static_cast<int>(o.log_level) <= static_cast<int>(kernel::LogLevel::kDebug));
        REQUIRE(o.selftest_filter_length <= kernel::kSelftestFilterMaxLength);
        REQUIRE(o.selftest_filter[o.selftest_filter_length] == '\0');
        REQUIRE(printable(o.selftest_filter));
        if (o.has_ip)
            REQUIRE((o.ip.length >= 1 && o.ip.length <= 32));
        if (o.has_cluster_key)
            REQUIRE(
                (o.cluster_key_length >= 8 && o.cluster_key_length <= kernel::kClusterKeyMaxBytes));
        else
            REQUIRE(o.cluster_key_length == 0);
        REQUIRE((o.fuzz_iterations >= 1 && o.fuzz_iterations <= 1000000000));

        REQUIRE(result->diagnostic_count <= kernel::kMaxCmdlineDiagnostics);
        for (size_t d = 0; d < result->diagnostic_count; ++d) {
            const char* message = result->diagnostics[d].message;
            size_t length = strnlen(message, kernel::kCmdlineMessageSize);
            REQUIRE(length < kernel::kCmdlineMessageSize);
            REQUIRE(std::string(message).rfind("cmdline: ", 0) == 0);
            REQUIRE(printable(message));
        }
        if (result->diagnostic_count > 0)
            ++with_diagnostics;
        if (o.node_id != 1)
            ++non_default_node;
    }
    // The generator really exercises both the error paths and successful parses.
    CHECK(with_diagnostics > 50000);
    CHECK(non_default_node > 100);
}

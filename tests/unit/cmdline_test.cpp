// Host tests for the kernel command-line parser: every option type, its boundaries, the
// diagnostics' exact text, and inputs a boot loader or a typo can produce.

#include <catch2/catch.hpp>

#include <kernel/lib/cmdline.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using kernel::BootMode;
using kernel::BootOptions;
using kernel::CmdlineProblem;
using kernel::CmdlineResult;
using kernel::Ipv4Address;
using kernel::Ipv4Prefix;
using kernel::LogLevel;

namespace {

// CmdlineResult is a few KiB: keep it off the test's stack frame like the kernel does.
struct Parsed {
    std::unique_ptr<CmdlineResult> result = std::make_unique<CmdlineResult>();
    const BootOptions& options() const { return result->options; }
    size_t count() const { return result->diagnostic_count; }
    std::string message(size_t i) const {
        REQUIRE(i < result->diagnostic_count);
        return result->diagnostics[i].message;
    }
    CmdlineProblem problem(size_t i) const {
        REQUIRE(i < result->diagnostic_count);
        return result->diagnostics[i].problem;
    }
};

Parsed parse(const std::string& line) {
    Parsed p;
    kernel::parse_cmdline(base::StringView(line.data(), line.size()), *p.result);
    return p;
}

void check_defaults(const BootOptions& o) {
    CHECK(o.node_id == 1);
    CHECK(o.mode == BootMode::kNormal);
    CHECK(o.log_level == LogLevel::kInfo);
    CHECK(o.selftest_filter_length == 0);
    CHECK(o.selftest_filter[0] == '\0');
    CHECK_FALSE(o.has_ip);
    CHECK_FALSE(o.has_gateway);
    CHECK_FALSE(o.has_cluster_key);
    CHECK(o.cluster_key_length == 0);
    CHECK(o.fuzz_iterations == 20000);
    CHECK_FALSE(o.serial_echo);
}

constexpr uint32_t ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return a << 24 | b << 16 | c << 8 | d;
}

} // namespace

TEST_CASE("cmdline: empty and blank lines give the defaults", "[cmdline]") {
    for (const char* line : {"", " ", "   \t \n\r  ", "\n"}) {
        auto p = parse(line);
        check_defaults(p.options());
        CHECK(p.count() == 0);
        CHECK(p.result->dropped_diagnostics == 0);
    }
}

TEST_CASE("cmdline: a full line", "[cmdline]") {
    auto p = parse("node=3 mode=selftest log=debug ip=10.0.0.3/24 gw=10.0.0.1 "
                   "cluster_key=0123456789abcdefFEDCBA9876543210 selftest_filter=mm. "
                   "fuzz_iterations=500 serial_echo");
    CHECK(p.count() == 0);
    const BootOptions& o = p.options();
    CHECK(o.node_id == 3);
    CHECK(o.mode == BootMode::kSelfTest);
    CHECK(o.log_level == LogLevel::kDebug);
    REQUIRE(o.has_ip);
    CHECK(o.ip.address.value == ip(10, 0, 0, 3));
    CHECK(o.ip.length == 24);
    REQUIRE(o.has_gateway);
    CHECK(o.gateway == Ipv4Address{ip(10, 0, 0, 1)});
    REQUIRE(o.has_cluster_key);
    REQUIRE(o.cluster_key_length == 16);
    const uint8_t expected[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
    CHECK(std::memcmp(o.cluster_key, expected, 16) == 0);
    CHECK(o.cluster_key_bytes().size() == 16);
    CHECK(std::string(o.selftest_filter) == "mm.");
    CHECK(o.selftest_filter_view() == base::StringView("mm."));
    CHECK(o.fuzz_iterations == 500);
    CHECK(o.serial_echo);
}

TEST_CASE("cmdline: tabs and newlines separate tokens too", "[cmdline]") {
    auto p = parse("\tnode=7\nmode=bench\r\nlog=warn  ");
    CHECK(p.count() == 0);
    CHECK(p.options().node_id == 7);
    CHECK(p.options().mode == BootMode::kBench);
    CHECK(p.options().log_level == LogLevel::kWarn);
}

TEST_CASE("cmdline: node boundaries and number syntax", "[cmdline]") {
    CHECK(parse("node=1").options().node_id == 1);
    CHECK(parse("node=65535").options().node_id == 65535);
    CHECK(parse("node=0x10").options().node_id == 16);
    CHECK(parse("node=0X10").options().node_id == 16);

    {
        auto p = parse("node=70000");
        CHECK(p.options().node_id == 1);
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kOutOfRange);
        CHECK(p.message(0) == "cmdline: node=70000 out of range 1..65535, using default 1");
        CHECK(p.result->diagnostics[0].option == kernel::find_cmdline_option("node"));
    }
    {
        auto p = parse("node=0");
        CHECK(p.options().node_id == 1);
        CHECK(p.message(0) == "cmdline: node=0 out of range 1..65535, using default 1");
    }
    {
        auto p = parse("node=65536");
        CHECK(p.options().node_id == 1);
        CHECK(p.problem(0) == CmdlineProblem::kOutOfRange);
    }
    {
        // Beyond 64 bits is still "out of range", not "not a number".
        auto p = parse("node=999999999999999999999999999");
        CHECK(p.problem(0) == CmdlineProblem::kOutOfRange);
        auto q = parse("node=0xFFFFFFFFFFFFFFFFFFFF");
        CHECK(q.problem(0) == CmdlineProblem::kOutOfRange);
    }
    for (const char* bad :
         {"node=abc", "node=-1", "node=+3", "node=3x", "node=0x", "node=1.5", "node=3=4"}) {
        auto p = parse(bad);
        INFO(bad);
        CHECK(p.options().node_id == 1);
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kMalformed);
    }
    CHECK(parse("node=abc").message(0) == "cmdline: node=abc is not a number, using default 1");

    // A space after '=' splits the token: "node=" lacks a value and "3" is no option.
    auto p = parse("node= 3");
    REQUIRE(p.count() == 2);
    CHECK(p.problem(0) == CmdlineProblem::kMissingValue);
    CHECK(p.problem(1) == CmdlineProblem::kUnknownOption);
}

TEST_CASE("cmdline: missing values", "[cmdline]") {
    {
        auto p = parse("node");
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kMissingValue);
        CHECK(p.message(0) == "cmdline: node needs a value <1..65535>, using default 1");
    }
    {
        auto p = parse("node=");
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kMissingValue);
    }
    {
        auto p = parse("mode");
        CHECK(p.message(0)
              == "cmdline: mode needs a value <normal|selftest|bench|fuzz>, using default normal");
    }
    {
        auto p = parse("ip=");
        CHECK(p.message(0) == "cmdline: ip needs a value <a.b.c.d/1..32>, ignored");
        CHECK_FALSE(p.options().has_ip);
    }
    {
        auto p = parse("serial_echo=");
        CHECK(p.problem(0) == CmdlineProblem::kMissingValue);
        CHECK_FALSE(p.options().serial_echo);
    }
}

TEST_CASE("cmdline: enums", "[cmdline]") {
    CHECK(parse("mode=normal").options().mode == BootMode::kNormal);
    CHECK(parse("mode=selftest").options().mode == BootMode::kSelfTest);
    CHECK(parse("mode=bench").options().mode == BootMode::kBench);
    CHECK(parse("mode=fuzz").options().mode == BootMode::kFuzz);
    CHECK(parse("log=error").options().log_level == LogLevel::kError);
    CHECK(parse("log=warn").options().log_level == LogLevel::kWarn);
    CHECK(parse("log=info").options().log_level == LogLevel::kInfo);
    CHECK(parse("log=debug").options().log_level == LogLevel::kDebug);

    auto p = parse("mode=turbo");
    CHECK(p.options().mode == BootMode::kNormal);
    CHECK(p.problem(0) == CmdlineProblem::kMalformed);
    CHECK(
        p.message(0)
        == "cmdline: mode=turbo is not one of <normal|selftest|bench|fuzz>, using default normal");

    // Words match exactly: no case folding, no prefixes.
    for (const char* bad : {"mode=Normal", "mode=self", "mode=selftestx", "log=DEBUG", "log=0"}) {
        INFO(bad);
        CHECK(parse(bad).problem(0) == CmdlineProblem::kMalformed);
    }

    CHECK(std::string(kernel::boot_mode_name(BootMode::kFuzz)) == "fuzz");
    CHECK(std::string(kernel::log_level_name(LogLevel::kWarn)) == "warn");
    CHECK(std::string(kernel::boot_mode_name(static_cast<BootMode>(99))) == "unknown");
}

TEST_CASE("cmdline: booleans", "[cmdline]") {
    CHECK(parse("serial_echo").options().serial_echo);
    for (const char* on :
         {"serial_echo=1", "serial_echo=yes", "serial_echo=on", "serial_echo=true"})
        CHECK(parse(on).options().serial_echo);
    for (const char* off :
         {"serial_echo=0", "serial_echo=no", "serial_echo=off", "serial_echo=false"}) {
        auto p = parse(std::string("serial_echo ") + off);
        CHECK_FALSE(p.options().serial_echo);
        CHECK(p.problem(0) == CmdlineProblem::kDuplicate);
    }
    auto p = parse("serial_echo=maybe");
    CHECK_FALSE(p.options().serial_echo);
    CHECK(p.problem(0) == CmdlineProblem::kMalformed);
    CHECK(p.message(0)
          == "cmdline: serial_echo=maybe is not one of on|off|yes|no|true|false|1|0, using default "
             "off");
}

TEST_CASE("cmdline: IPv4 addresses and prefixes", "[cmdline]") {
    {
        auto p = parse("ip=192.168.1.254/16 gw=255.255.255.255");
        CHECK(p.count() == 0);
        CHECK(p.options().ip == Ipv4Prefix{Ipv4Address{ip(192, 168, 1, 254)}, 16});
        CHECK(p.options().gateway.value == 0xFFFFFFFFu);
    }
    CHECK(parse("ip=0.0.0.0/32").options().ip.length == 32);
    CHECK(parse("ip=1.2.3.4/1").options().ip.length == 1);
    CHECK(parse("gw=0.0.0.0").options().has_gateway);

    for (const char* bad :
         {"gw=10.0.0", "gw=10.0.0.1.5", "gw=10.0.0.256", "gw=10.0.0.01", "gw=10..0.1",
          "gw=.10.0.0.1", "gw=10.0.0.1.", "gw=a.b.c.d", "gw=10.0.0.-1", "gw=1000.0.0.1",
          "gw=10.0.0.1/24", "gw=0x0a.0.0.1", "gw=10,0,0,1"}) {
        auto p = parse(bad);
        INFO(bad);
        CHECK_FALSE(p.options().has_gateway);
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kMalformed);
    }
    CHECK(parse("gw=10.0.0").message(0)
          == "cmdline: gw=10.0.0 is not an IPv4 address (a.b.c.d), ignored");

    for (const char* bad : {"ip=10.0.0.3", "ip=10.0.0.3/", "ip=10.0.0.3/x", "ip=10.0.0.3/24/5",
                            "ip=/24", "ip=10.0.0.3/024", "ip=10.0.0.3/+4", "ip=10.0.0/24"}) {
        auto p = parse(bad);
        INFO(bad);
        CHECK_FALSE(p.options().has_ip);
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kMalformed);
    }
    for (const char* bad : {"ip=10.0.0.3/0", "ip=10.0.0.3/33", "ip=10.0.0.3/99"}) {
        auto p = parse(bad);
        INFO(bad);
        CHECK_FALSE(p.options().has_ip);
        CHECK(p.problem(0) == CmdlineProblem::kOutOfRange);
    }
    CHECK(parse("ip=10.0.0.3/33").message(0)
          == "cmdline: ip=10.0.0.3/33 prefix length out of range 1..32, ignored");

    char text[32];
    base::format(text, sizeof(text), "{} via {}", Ipv4Prefix{Ipv4Address{ip(10, 0, 0, 3)}, 24},
                 Ipv4Address{ip(10, 0, 0, 1)});
    CHECK(std::string(text) == "10.0.0.3/24 via 10.0.0.1");
}

TEST_CASE("cmdline: cluster keys", "[cmdline]") {
    std::string sixteen = "00112233445566ff";
    std::string sixty_four(64, 'a');
    {
        auto p = parse("cluster_key=" + sixteen);
        CHECK(p.count() == 0);
        REQUIRE(p.options().cluster_key_length == 8);
        CHECK(p.options().cluster_key[7] == 0xff);
    }
    {
        auto p = parse("cluster_key=" + sixty_four);
        CHECK(p.count() == 0);
        REQUIRE(p.options().cluster_key_length == 32);
        CHECK(p.options().cluster_key[31] == 0xaa);
    }
    struct Case {
        std::string value;
        CmdlineProblem problem;
    };
    for (const Case& c : std::vector<Case>{
             {std::string(14, '1'), CmdlineProblem::kOutOfRange},
             {std::string(66, '1'), CmdlineProblem::kOutOfRange},
             {std::string(17, '1'), CmdlineProblem::kMalformed}, // odd
             {std::string(15, '1') + "g", CmdlineProblem::kMalformed},
             {"0x" + std::string(16, '1'), CmdlineProblem::kMalformed},
         }) {
        auto p = parse("cluster_key=" + c.value);
        INFO(c.value);
        CHECK_FALSE(p.options().has_cluster_key);
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == c.problem);
        // The secret never reaches the console, valid or not.
        CHECK(p.message(0).find("1111") == std::string::npos);
    }
    CHECK(parse("cluster_key=" + std::string(10, 'a')).message(0)
          == "cmdline: cluster_key=<10 chars hidden> has 10 hex digits, needs 16..64, ignored");

    // A second key replaces the first entirely (no stale bytes from the longer one).
    auto p = parse("cluster_key=" + sixty_four + " cluster_key=" + sixteen);
    REQUIRE(p.options().cluster_key_length == 8);
    CHECK(p.options().cluster_key[8] == 0);
    CHECK(p.problem(0) == CmdlineProblem::kDuplicate);
    CHECK(p.message(0).find(sixteen) == std::string::npos);
}

TEST_CASE("cmdline: selftest filter strings", "[cmdline]") {
    std::string max(63, 'x');
    {
        auto p = parse("selftest_filter=" + max);
        CHECK(p.count() == 0);
        CHECK(p.options().selftest_filter_length == 63);
        CHECK(std::string(p.options().selftest_filter) == max);
    }
    {
        auto p = parse("selftest_filter=" + max + "y");
        CHECK(p.options().selftest_filter_length == 0);
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kTooLong);
        CHECK(p.message(0).find("is longer than 63 characters, ignored") != std::string::npos);
    }
    {
        auto p = parse(std::string("selftest_filter=mm\x01x"));
        CHECK(p.options().selftest_filter_length == 0);
        CHECK(p.problem(0) == CmdlineProblem::kMalformed);
        CHECK(p.message(0)
              == "cmdline: selftest_filter=mm\\x01x contains unprintable characters, ignored");
    }
    // An earlier good value survives a later bad one.
    auto p = parse("selftest_filter=ipc. selftest_filter=" + std::string(100, 'z'));
    CHECK(std::string(p.options().selftest_filter) == "ipc.");
    CHECK(p.message(0).find("keeping the earlier value") != std::string::npos);
}

TEST_CASE("cmdline: fuzz seed", "[cmdline]") {
    CHECK(parse("").options().fuzz_seed == 0);
    CHECK(parse("fuzz_seed=1").options().fuzz_seed == 1);
    CHECK(parse("fuzz_seed=0x7fffffff").options().fuzz_seed == 0x7FFFFFFF);
    auto p = parse("fuzz_seed=0x80000000");
    CHECK(p.options().fuzz_seed == 0);
    CHECK(p.message(0)
          == "cmdline: fuzz_seed=0x80000000 out of range 0..2147483647, using default 0");
}

TEST_CASE("cmdline: fuzz iterations", "[cmdline]") {
    CHECK(parse("fuzz_iterations=1").options().fuzz_iterations == 1);
    CHECK(parse("fuzz_iterations=1000000000").options().fuzz_iterations == 1000000000);
    auto p = parse("fuzz_iterations=0");
    CHECK(p.options().fuzz_iterations == 20000);
    CHECK(p.message(0)
          == "cmdline: fuzz_iterations=0 out of range 1..1000000000, using default 20000");
}

TEST_CASE("cmdline: unknown options and odd tokens", "[cmdline]") {
    {
        auto p = parse("foo");
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kUnknownOption);
        CHECK(p.message(0) == "cmdline: unknown option 'foo' (ignored)");
        CHECK(p.result->diagnostics[0].option == nullptr);
    }
    CHECK(parse("foo=bar").message(0) == "cmdline: unknown option 'foo' (ignored)");
    CHECK(parse("Node=3").problem(0) == CmdlineProblem::kUnknownOption);
    CHECK(parse("nodes=3").problem(0) == CmdlineProblem::kUnknownOption);
    CHECK(parse("nod=3").problem(0) == CmdlineProblem::kUnknownOption);

    for (const char* odd : {"=", "==", "=3", "=node"}) {
        auto p = parse(odd);
        INFO(odd);
        check_defaults(p.options());
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kMalformed);
    }
    CHECK(parse("=3").message(0) == "cmdline: malformed token '=3' has no option name (ignored)");

    // Unknown options do not disturb known ones around them.
    auto p = parse("quiet node=4 splash");
    CHECK(p.options().node_id == 4);
    CHECK(p.count() == 2);
}

TEST_CASE("cmdline: duplicates, the last valid value wins", "[cmdline]") {
    {
        auto p = parse("node=3 node=5");
        CHECK(p.options().node_id == 5);
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kDuplicate);
        CHECK(p.message(0) == "cmdline: node given more than once, the last one (node=5) wins");
    }
    {
        auto p = parse("node=3 node=70000");
        CHECK(p.options().node_id == 3);
        REQUIRE(p.count() == 1);
        CHECK(p.message(0)
              == "cmdline: node=70000 out of range 1..65535, keeping the earlier value");
    }
    {
        // A bad value first does not count as "set".
        auto p = parse("node=abc node=9");
        CHECK(p.options().node_id == 9);
        REQUIRE(p.count() == 1);
        CHECK(p.problem(0) == CmdlineProblem::kMalformed);
    }
    {
        auto p = parse("serial_echo serial_echo");
        CHECK(p.message(0) == "cmdline: serial_echo given more than once, the last one wins");
    }
}

TEST_CASE("cmdline: a kernel path in front is skipped", "[cmdline]") {
    auto p = parse("/boot/tern.elf node=2");
    CHECK(p.count() == 0);
    CHECK(p.options().node_id == 2);
    // Only in front: elsewhere a path is an unknown option.
    CHECK(parse("node=2 /boot/tern.elf").problem(0) == CmdlineProblem::kUnknownOption);
}

TEST_CASE("cmdline: hostile text is escaped and shortened in messages", "[cmdline]") {
    {
        auto p = parse(std::string("fo\x1b[2Jo=1"));
        REQUIRE(p.count() == 1);
        CHECK(p.message(0) == "cmdline: unknown option 'fo\\x1b[2Jo' (ignored)");
    }
    {
        auto p = parse(std::string("x\\y\x7f\xff"));
        CHECK(p.message(0) == "cmdline: unknown option 'x\\x5cy\\x7f\\xff' (ignored)");
    }
    {
        std::string embedded("node=\0003", 7);
        auto p = parse(embedded);
        CHECK(p.options().node_id == 1);
        CHECK(p.message(0) == "cmdline: node=\\x003 is not a number, using default 1");
    }
    {
        std::string long_token(4096, 'k');
        auto p = parse(long_token);
        REQUIRE(p.count() == 1);
        std::string m = p.message(0);
        CHECK(m
              == "cmdline: unknown option '" + std::string(40, 'k') + "...(4096 chars)' (ignored)");
        CHECK(m.size() < kernel::kCmdlineMessageSize);
    }
    {
        std::string long_value = "mode=" + std::string(5000, '\x01');
        auto p = parse(long_value);
        REQUIRE(p.count() == 1);
        std::string m = p.message(0);
        CHECK(m.size() < kernel::kCmdlineMessageSize);
        for (char c : m)
            CHECK((c >= 0x20 && c < 0x7f));
    }
}

TEST_CASE("cmdline: diagnostics beyond capacity are counted", "[cmdline]") {
    std::string line;
    for (int i = 0; i < 40; ++i)
        line += "junk" + std::to_string(i) + " ";
    line += "node=12";
    auto p = parse(line);
    CHECK(p.count() == kernel::kMaxCmdlineDiagnostics);
    CHECK(p.result->dropped_diagnostics == 40 - kernel::kMaxCmdlineDiagnostics);
    CHECK(p.options().node_id == 12);
    CHECK(p.message(15) == "cmdline: unknown option 'junk15' (ignored)");
}

TEST_CASE("cmdline: parsing again resets the result", "[cmdline]") {
    auto p = parse("node=5 junk mode=fuzz");
    REQUIRE(p.count() == 1);
    kernel::parse_cmdline("log=error", *p.result);
    CHECK(p.count() == 0);
    CHECK(p.options().node_id == 1);
    CHECK(p.options().mode == BootMode::kNormal);
    CHECK(p.options().log_level == LogLevel::kError);
}

TEST_CASE("cmdline: the option table and help text", "[cmdline]") {
    auto options = kernel::cmdline_options();
    CHECK(options.size() == 11);
    std::vector<std::string> names;
    for (const auto& option : options) {
        names.push_back(option.name);
        CHECK(kernel::find_cmdline_option(option.name) == &option);
        CHECK(option.help != nullptr);
        CHECK(option.store != nullptr);
        char line[200];
        size_t length = kernel::format_cmdline_option_help(option, line, sizeof(line));
        CHECK(length < sizeof(line));
        CHECK(std::string(line).rfind(option.name, 0) == 0);
    }
    for (const char* name : {"node", "mode", "log", "selftest_filter", "ip", "gw", "cluster_key",
                             "fuzz_iterations", "fuzz_seed", "serial_echo", "bus_down_ms"})
        CHECK(std::find(names.begin(), names.end(), name) != names.end());
    CHECK(kernel::find_cmdline_option("nope") == nullptr);
    CHECK(kernel::find_cmdline_option("") == nullptr);

    char line[200];
    kernel::format_cmdline_option_help(*kernel::find_cmdline_option("node"), line, sizeof(line));
    CHECK(std::string(line) == "node=<1..65535>: this node's id in the cluster (default 1)");
    kernel::format_cmdline_option_help(*kernel::find_cmdline_option("serial_echo"), line,
                                       sizeof(line));
    CHECK(std::string(line).rfind("serial_echo[=<on|off>]: ", 0) == 0);

    // A tiny buffer truncates but reports the full length.
    char tiny[8];
    size_t full = kernel::format_cmdline_option_help(*kernel::find_cmdline_option("node"), tiny,
                                                     sizeof(tiny));
    CHECK(full > sizeof(tiny));
    CHECK(std::strlen(tiny) == sizeof(tiny) - 1);
}

TEST_CASE("cmdline: option values as the boot_option call gives them", "[cmdline]") {
    auto result = std::make_unique<CmdlineResult>();
    kernel::parse_cmdline("node=3 ip=10.0.0.3/24 mode=selftest cluster_key=00112233445566778899",
                          *result);
    const BootOptions& options = result->options;
    char buffer[32];
    auto v = kernel::format_cmdline_option_value("ip", options, buffer, sizeof(buffer));
    CHECK(v.status == kernel::CmdlineValueStatus::kOk);
    CHECK(std::string(buffer, v.length) == "10.0.0.3/24");
    v = kernel::format_cmdline_option_value("node", options, buffer, sizeof(buffer));
    CHECK(std::string(buffer, v.length) == "3");
    v = kernel::format_cmdline_option_value("mode", options, buffer, sizeof(buffer));
    CHECK(std::string(buffer, v.length) == "selftest");
    // Defaults count as set; options without one do not.
    v = kernel::format_cmdline_option_value("log", options, buffer, sizeof(buffer));
    CHECK(std::string(buffer, v.length) == "info");
    CHECK(kernel::format_cmdline_option_value("gw", options, buffer, sizeof(buffer)).status
          == kernel::CmdlineValueStatus::kUnset);
    CHECK(kernel::format_cmdline_option_value("bogus", options, buffer, sizeof(buffer)).status
          == kernel::CmdlineValueStatus::kUnknown);
    // The cluster key never leaves the kernel.
    CHECK(kernel::format_cmdline_option_value("cluster_key", options, buffer, sizeof(buffer)).status
          == kernel::CmdlineValueStatus::kSecret);
    // With the right to secrets: the key as lowercase hex, as the command line gave it.
    char key[80];
    v = kernel::format_cmdline_option_value("cluster_key", options, key, sizeof(key), true);
    CHECK(v.status == kernel::CmdlineValueStatus::kOk);
    CHECK(std::string(key, v.length) == "00112233445566778899");
    v = kernel::format_cmdline_option_value("bus_down_ms", options, buffer, sizeof(buffer));
    CHECK(std::string(buffer, v.length) == "3000");
    // A short buffer: the full length comes back.
    char tiny[4];
    v = kernel::format_cmdline_option_value("ip", options, tiny, sizeof(tiny));
    CHECK(v.status == kernel::CmdlineValueStatus::kOk);
    CHECK(v.length == 11);
}

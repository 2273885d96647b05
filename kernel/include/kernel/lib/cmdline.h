#pragma once

// The kernel command line: how one boot of one node is configured.
//
// The line is a list of tokens separated by whitespace, each either `key=value` or a bare
// `flag`, for example
//
//     node=3 mode=selftest log=debug ip=10.0.0.3/24 gw=10.0.0.1 cluster_key=0123abcd...
//
// There is no quoting, so values never contain spaces. Every option is described once in
// a table (cmdline_options()), which drives parsing, range checks, the text of every
// diagnostic and the help listing. Parsing never fails and never asserts: whatever the
// boot loader hands over, the result is a complete BootOptions (defaults where the line
// says nothing usable) plus a list of diagnostics for the kernel to print. When a key
// appears twice, the last valid value wins, so an option appended at the boot prompt
// overrides one baked into the boot configuration.

#include <base/format.h>
#include <base/span.h>
#include <base/string_view.h>
#include <kernel/core/boot.h>
#include <kernel/core/log.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel {

// An IPv4 address as a number in host order: 10.0.0.3 is 0x0A000003.
struct Ipv4Address {
    uint32_t value{0};
    friend constexpr bool operator==(Ipv4Address, Ipv4Address) = default;
};

// An interface address with its subnet, as in 10.0.0.3/24.
struct Ipv4Prefix {
    Ipv4Address address;
    uint8_t length{0};
    friend constexpr bool operator==(Ipv4Prefix, Ipv4Prefix) = default;
};

// Prints "10.0.0.3" and "10.0.0.3/24" through base::format.
void format_value(base::FormatSink& sink, const base::FormatSpec& spec, const Ipv4Address& address);
void format_value(base::FormatSink& sink, const base::FormatSpec& spec, const Ipv4Prefix& prefix);

inline constexpr uint16_t kDefaultNodeId = 1;
inline constexpr uint64_t kDefaultFuzzIterations = 20000;
inline constexpr size_t kSelftestFilterMaxLength = 63;
inline constexpr size_t kClusterKeyMinHexDigits = 16;
inline constexpr size_t kClusterKeyMaxHexDigits = 64;
inline constexpr size_t kClusterKeyMaxBytes = kClusterKeyMaxHexDigits / 2;

// Everything the command line configures. The member initialisers are the defaults.
inline constexpr uint64_t kDefaultBusDownMs = 3000;

struct BootOptions {
    // node: this node's id in the cluster, the prefix of every global id it creates.
    uint16_t node_id{kDefaultNodeId};
    BootMode mode{BootMode::kNormal};
    LogLevel log_level{LogLevel::kInfo};
    // selftest_filter: run only the self-tests whose name starts with this; empty runs all.
    char selftest_filter[kSelftestFilterMaxLength + 1]{};
    size_t selftest_filter_length{0};
    // ip and gw: the node's address on the cluster network. Absent means "not configured",
    // which the net server may fill from elsewhere.
    bool has_ip{false};
    Ipv4Prefix ip{};
    bool has_gateway{false};
    Ipv4Address gateway{};
    // cluster_key: the secret that authenticates frames between nodes, as bytes.
    bool has_cluster_key{false};
    uint8_t cluster_key[kClusterKeyMaxBytes]{};
    size_t cluster_key_length{0};
    uint64_t fuzz_iterations{kDefaultFuzzIterations};
    // fuzz_seed: the fuzzers' seed (0: their fixed default), printed by every run.
    uint64_t fuzz_seed{0};
    // bus_down_ms: how long a silent node may stay quiet before the bus declares it down.
    uint64_t bus_down_ms{kDefaultBusDownMs};
    // serial_echo: echo characters typed on the serial console.
    bool serial_echo{false};

    [[nodiscard]] base::StringView selftest_filter_view() const {
        return base::StringView(selftest_filter, selftest_filter_length);
    }
    [[nodiscard]] base::Span<const uint8_t> cluster_key_bytes() const {
        return base::Span<const uint8_t>(cluster_key, cluster_key_length);
    }
};

// ---- The option table -----------------------------------------------------------------

enum class CmdlineOptionType : uint8_t {
    // A number in decimal or 0x-hex within [min, max].
    kU64,
    // A bare flag means true; also accepts 1/0, yes/no, on/off, true/false.
    kBool,
    // One word from choices; the value stored is its index.
    kEnum,
    // a.b.c.d in decimal, no leading zeros.
    kIpv4,
    // a.b.c.d/n with n in [min, max].
    kIpv4Prefix,
    // An even number of hex digits, between min and max digits.
    kHexKey,
    // Printable characters, at most max of them.
    kString,
};

// A value that passed its option's checks, handed to the option's store function.
struct CmdlineValue {
    uint64_t number{0};    // U64, Bool (0 or 1), Enum (index into choices)
    Ipv4Address address{}; // Ipv4
    Ipv4Prefix prefix{};   // Ipv4Prefix
    base::StringView text; // String as given; HexKey as its hex digits
};

struct CmdlineOption {
    const char* name;
    CmdlineOptionType type;
    // U64: the allowed range. Ipv4Prefix: the allowed prefix lengths. HexKey: the allowed
    // number of digits. String: max is the longest allowed value. Others: unused.
    uint64_t min;
    uint64_t max;
    // Enum: the accepted words, in the order of the enum's values.
    const char* const* choices;
    size_t choice_count;
    // How the default reads in messages ("1", "normal"); null when unset by default.
    const char* default_text;
    const char* help;
    void (*store)(BootOptions& options, const CmdlineValue& value);
};

// Every option the kernel understands, in the order the help lists them.
[[nodiscard]] base::Span<const CmdlineOption> cmdline_options();

// The option named name, or null.
[[nodiscard]] const CmdlineOption* find_cmdline_option(base::StringView name);

// One help line, e.g. "node=<1..65535>: this node's id in the cluster (default 1)".
// Returns the length the full line would have (as base::format does).
size_t format_cmdline_option_help(const CmdlineOption& option, char* buffer, size_t size);

// The value in force for one option, as the command line spells it ("10.0.0.3/24",
// "selftest", "1"), for the boot_option syscall.
enum class CmdlineValueStatus : uint8_t {
    kOk,      // `length` characters (and a NUL, when they fit) went to the buffer
    kUnknown, // no option of that name
    kUnset,   // an option without a default that the command line did not set
    kSecret,  // a secret (cluster_key) and the caller may not read secrets
};
struct CmdlineValueText {
    CmdlineValueStatus status;
    size_t length; // with Ok: the full length, which may be >= size (then truncated)
};
// `secrets`: the caller may read secret options (the config resource's CONTROL right).
[[nodiscard]] CmdlineValueText format_cmdline_option_value(base::StringView name,
                                                           const BootOptions& options, char* buffer,
                                                           size_t size, bool secrets = false);

[[nodiscard]] const char* boot_mode_name(BootMode mode);
[[nodiscard]] const char* log_level_name(LogLevel level);

// ---- Parsing --------------------------------------------------------------------------

enum class CmdlineProblem : uint8_t {
    kUnknownOption, // the key is not in the table; the token is ignored
    kMissingValue,  // `key` or `key=` for an option that needs a value
    kMalformed,     // the value does not have the option's syntax
    kOutOfRange,    // a number, prefix length or key length outside its bounds
    kTooLong,       // a string value longer than the option allows
    kDuplicate,     // a valid value for a key already set; the new one wins
};

inline constexpr size_t kMaxCmdlineDiagnostics = 16;
inline constexpr size_t kCmdlineMessageSize = 160;

struct CmdlineDiagnostic {
    CmdlineProblem problem;
    // The option concerned, or null for an unknown one.
    const CmdlineOption* option;
    // A complete line for the console, such as
    //   cmdline: node=70000 out of range 1..65535, using default 1
    // Text from the command line is quoted, shortened and has control characters escaped.
    char message[kCmdlineMessageSize];
};

struct CmdlineResult {
    BootOptions options;
    CmdlineDiagnostic diagnostics[kMaxCmdlineDiagnostics];
    size_t diagnostic_count{0};
    // Problems beyond the capacity of diagnostics[], only counted.
    size_t dropped_diagnostics{0};

    [[nodiscard]] base::Span<const CmdlineDiagnostic> diagnostic_list() const {
        return base::Span<const CmdlineDiagnostic>(diagnostics, diagnostic_count);
    }
};

// Parses a command line into result (which is reset first). A first token starting with
// '/' is the kernel's own path, which some boot loaders put in front, and is skipped.
// The result is large (a few KiB), so the kernel keeps it in static storage rather than
// on an early-boot stack.
void parse_cmdline(base::StringView cmdline, CmdlineResult& result);

} // namespace kernel

// The kernel command-line parser (see cmdline.h).
//
// The command line is outside input: whatever a boot loader, an operator at the boot
// prompt or a corrupted boot configuration hands over must yield a usable configuration.
// Every check therefore returns a problem that becomes a diagnostic line, and no input
// can make the parser assert, overflow a buffer or print raw control characters.

#include <base/format.h>
#include <base/string_view.h>
#include <base/utility.h>
#include <kernel/lib/cmdline.h>

namespace kernel {

namespace {

using base::StringView;

constexpr const char* kBootModeNames[] = {"normal", "selftest", "bench", "fuzz"};
constexpr const char* kLogLevelNames[] = {"error", "warn", "info", "debug"};

static_assert(static_cast<size_t>(BootMode::kNormal) == 0
                  && static_cast<size_t>(BootMode::kSelfTest) == 1
                  && static_cast<size_t>(BootMode::kBench) == 2
                  && static_cast<size_t>(BootMode::kFuzz) == 3,
              "kBootModeNames must follow BootMode's values");
static_assert(static_cast<size_t>(LogLevel::kError) == 0
                  && static_cast<size_t>(LogLevel::kWarn) == 1
                  && static_cast<size_t>(LogLevel::kInfo) == 2
                  && static_cast<size_t>(LogLevel::kDebug) == 3,
              "kLogLevelNames must follow LogLevel's values");

void store_node(BootOptions& options, const CmdlineValue& value) {
    options.node_id = static_cast<uint16_t>(value.number);
}

void store_mode(BootOptions& options, const CmdlineValue& value) {
    options.mode = static_cast<BootMode>(value.number);
}

void store_log(BootOptions& options, const CmdlineValue& value) {
    options.log_level = static_cast<LogLevel>(value.number);
}

void store_selftest_filter(BootOptions& options, const CmdlineValue& value) {
    size_t length = base::min(value.text.length(), kSelftestFilterMaxLength);
    base::memcpy(options.selftest_filter, value.text.data(), length);
    options.selftest_filter[length] = '\0';
    options.selftest_filter_length = length;
}

void store_ip(BootOptions& options, const CmdlineValue& value) {
    options.ip = value.prefix;
    options.has_ip = true;
}

void store_gateway(BootOptions& options, const CmdlineValue& value) {
    options.gateway = value.address;
    options.has_gateway = true;
}

int hex_digit_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void store_cluster_key(BootOptions& options, const CmdlineValue& value) {
    // The parser has checked the digits and their count; the clamp only keeps this
    // function safe on its own.
    size_t bytes = base::min(value.text.length() / 2, kClusterKeyMaxBytes);
    for (size_t i = 0; i < bytes; ++i) {
        int high = hex_digit_value(value.text[2 * i]);
        int low = hex_digit_value(value.text[2 * i + 1]);
        options.cluster_key[i] = static_cast<uint8_t>((high << 4) | low);
    }
    for (size_t i = bytes; i < kClusterKeyMaxBytes; ++i)
        options.cluster_key[i] = 0;
    options.cluster_key_length = bytes;
    options.has_cluster_key = true;
}

void store_fuzz_iterations(BootOptions& options, const CmdlineValue& value) {
    options.fuzz_iterations = value.number;
}

void store_fuzz_seed(BootOptions& options, const CmdlineValue& value) {
    options.fuzz_seed = value.number;
}

void store_bus_down_ms(BootOptions& options, const CmdlineValue& value) {
    options.bus_down_ms = value.number;
}

void store_serial_echo(BootOptions& options, const CmdlineValue& value) {
    options.serial_echo = value.number != 0;
}

// The one table. Ranges and defaults here are the only place they are written down; the
// messages and the help text are built from them.
constexpr CmdlineOption kOptions[] = {
    {"node", CmdlineOptionType::kU64, 1, 65535, nullptr, 0, "1", "this node's id in the cluster",
     store_node},
    {"mode", CmdlineOptionType::kEnum, 0, 0, kBootModeNames, base::array_size(kBootModeNames),
     "normal", "what this boot does: run normally, run the self-tests, benchmarks or fuzzers",
     store_mode},
    {"log", CmdlineOptionType::kEnum, 0, 0, kLogLevelNames, base::array_size(kLogLevelNames),
     "info", "the least severe log level printed", store_log},
    {"selftest_filter", CmdlineOptionType::kString, 0, kSelftestFilterMaxLength, nullptr, 0,
     nullptr, "run only the self-tests whose name starts with this", store_selftest_filter},
    {"ip", CmdlineOptionType::kIpv4Prefix, 1, 32, nullptr, 0, nullptr,
     "this node's address and subnet on the cluster network", store_ip},
    {"gw", CmdlineOptionType::kIpv4, 0, 0, nullptr, 0, nullptr,
     "the default gateway of the cluster network", store_gateway},
    {"cluster_key", CmdlineOptionType::kHexKey, kClusterKeyMinHexDigits, kClusterKeyMaxHexDigits,
     nullptr, 0, nullptr, "the secret that authenticates frames between nodes (never printed)",
     store_cluster_key},
    {"fuzz_iterations", CmdlineOptionType::kU64, 1, 1000000000, nullptr, 0, "20000",
     "how many inputs each fuzzer tries in mode=fuzz", store_fuzz_iterations},
    {"fuzz_seed", CmdlineOptionType::kU64, 0, 0x7FFFFFFF, nullptr, 0, "0",
     "the fuzzers' random seed in mode=fuzz (0: their fixed default)", store_fuzz_seed},
    {"serial_echo", CmdlineOptionType::kBool, 0, 1, nullptr, 0, "off",
     "echo characters typed on the serial console", store_serial_echo},
    {"bus_down_ms", CmdlineOptionType::kU64, 500, 600000, nullptr, 0, "3000",
     "milliseconds of silence after which the bus declares a node down", store_bus_down_ms},
};

constexpr size_t kOptionCount = base::array_size(kOptions);
// Duplicates are tracked in one 64-bit mask.
static_assert(kOptionCount <= 64);

// ---- Showing untrusted text -----------------------------------------------------------

// The longest piece of command-line text quoted in a diagnostic; a 4 KiB token must not
// flood the console.
constexpr size_t kMaxShownChars = 40;

// Command-line text as it appears in a message: shortened, with every byte that is not
// printable ASCII written as \xNN so a stray escape sequence cannot disturb the console.
struct Shown {
    StringView text;
};

void format_value(base::FormatSink& sink, const base::FormatSpec&, const Shown& shown) {
    static constexpr char kHex[] = "0123456789abcdef";
    size_t count = base::min(shown.text.length(), kMaxShownChars);
    for (size_t i = 0; i < count; ++i) {
        unsigned char c = static_cast<unsigned char>(shown.text[i]);
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            sink.put(static_cast<char>(c));
        } else {
            char escaped[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xF]};
            sink.write(escaped, sizeof(escaped));
        }
    }
    if (shown.text.length() > kMaxShownChars)
        base::format_to(sink, "...({} chars)", shown.text.length());
}

// The value part of "key=value" in a message; secrets are described, not shown.
struct ShownValue {
    const CmdlineOption* option;
    StringView text;
};

void format_value(base::FormatSink& sink, const base::FormatSpec& spec, const ShownValue& shown) {
    if (shown.option->type == CmdlineOptionType::kHexKey) {
        base::format_to(sink, "<{} chars hidden>", shown.text.length());
        return;
    }
    format_value(sink, spec, Shown{shown.text});
}

// "<1..65535>", "<normal|selftest|bench|fuzz>" and so on: what a value must look like.
struct Syntax {
    const CmdlineOption* option;
};

void format_value(base::FormatSink& sink, const base::FormatSpec&, const Syntax& syntax) {
    const CmdlineOption& option = *syntax.option;
    switch (option.type) {
    case CmdlineOptionType::kU64:
        base::format_to(sink, "<{}..{}>", option.min, option.max);
        return;
    case CmdlineOptionType::kBool:
        sink.write_view("<on|off>");
        return;
    case CmdlineOptionType::kEnum:
        sink.put('<');
        for (size_t i = 0; i < option.choice_count; ++i) {
            if (i > 0)
                sink.put('|');
            sink.write_view(option.choices[i]);
        }
        sink.put('>');
        return;
    case CmdlineOptionType::kIpv4:
        sink.write_view("<a.b.c.d>");
        return;
    case CmdlineOptionType::kIpv4Prefix:
        base::format_to(sink, "<a.b.c.d/{}..{}>", option.min, option.max);
        return;
    case CmdlineOptionType::kHexKey:
        base::format_to(sink, "<{}..{} hex digits>", option.min, option.max);
        return;
    case CmdlineOptionType::kString:
        base::format_to(sink, "<up to {} characters>", option.max);
        return;
    }
}

// ---- Value parsers --------------------------------------------------------------------

struct ValueCheck {
    CmdlineProblem problem;
    bool ok;
    // The message part after "key=value ": why the value was refused.
    char detail[64];
};

ValueCheck accepted() {
    ValueCheck check{};
    check.ok = true;
    return check;
}

template<typename... Args>
ValueCheck refused(CmdlineProblem problem, base::StringView fmt, const Args&... args) {
    ValueCheck check{};
    check.ok = false;
    check.problem = problem;
    base::format(check.detail, sizeof(check.detail), fmt, args...);
    return check;
}

bool is_decimal_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(StringView text, bool hex) {
    if (text.is_empty())
        return false;
    for (char c : text) {
        if (hex ? hex_digit_value(c) < 0 : !is_decimal_digit(c))
            return false;
    }
    return true;
}

// A decimal number of at most max_digits digits without leading zeros ("0" itself is
// fine). Leading zeros are refused because some parsers read them as octal.
base::Optional<uint64_t> parse_plain_decimal(StringView text, size_t max_digits) {
    if (text.is_empty() || text.length() > max_digits || !all_digits(text, false))
        return base::nullopt;
    if (text.length() > 1 && text[0] == '0')
        return base::nullopt;
    return base::parse_u64(text, 10);
}

base::Optional<Ipv4Address> parse_ipv4(StringView text) {
    uint32_t value = 0;
    StringView rest = text;
    for (int part = 0; part < 4; ++part) {
        base::StringViewCut cut = rest.cut('.');
        // Three dots exactly: the last part has none after it, the others do.
        if (cut.found != (part < 3))
            return base::nullopt;
        base::Optional<uint64_t> octet = parse_plain_decimal(cut.head, 3);
        if (!octet.has_value() || *octet > 255)
            return base::nullopt;
        value = (value << 8) | static_cast<uint32_t>(*octet);
        rest = cut.tail;
    }
    return Ipv4Address{value};
}

ValueCheck check_u64(const CmdlineOption& option, StringView text, CmdlineValue& value) {
    base::Optional<uint64_t> number = base::parse_u64(text, 0);
    if (!number.has_value()) {
        // All digits but no value means it overflowed 64 bits: too large, not malformed.
        bool hex = text.length() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
        if (all_digits(hex ? text.substr(2) : text, hex))
            return refused(CmdlineProblem::kOutOfRange, "out of range {}..{}", option.min,
                           option.max);
        return refused(CmdlineProblem::kMalformed, "is not a number");
    }
    if (*number < option.min || *number > option.max)
        return refused(CmdlineProblem::kOutOfRange, "out of range {}..{}", option.min, option.max);
    value.number = *number;
    return accepted();
}

ValueCheck check_bool(StringView text, CmdlineValue& value) {
    static constexpr const char* kTrue[] = {"1", "yes", "on", "true"};
    static constexpr const char* kFalse[] = {"0", "no", "off", "false"};
    for (const char* word : kTrue) {
        if (text == StringView(word)) {
            value.number = 1;
            return accepted();
        }
    }
    for (const char* word : kFalse) {
        if (text == StringView(word)) {
            value.number = 0;
            return accepted();
        }
    }
    return refused(CmdlineProblem::kMalformed, "is not one of on|off|yes|no|true|false|1|0");
}

ValueCheck check_enum(const CmdlineOption& option, StringView text, CmdlineValue& value) {
    for (size_t i = 0; i < option.choice_count; ++i) {
        if (text == StringView(option.choices[i])) {
            value.number = i;
            return accepted();
        }
    }
    return refused(CmdlineProblem::kMalformed, "is not one of {}", Syntax{&option});
}

ValueCheck check_ipv4(StringView text, CmdlineValue& value) {
    base::Optional<Ipv4Address> address = parse_ipv4(text);
    if (!address.has_value())
        return refused(CmdlineProblem::kMalformed, "is not an IPv4 address (a.b.c.d)");
    value.address = *address;
    return accepted();
}

ValueCheck check_ipv4_prefix(const CmdlineOption& option, StringView text, CmdlineValue& value) {
    base::StringViewCut cut = text.cut('/');
    base::Optional<Ipv4Address> address = parse_ipv4(cut.head);
    if (!address.has_value() || !cut.found)
        return refused(CmdlineProblem::kMalformed,
                       "is not an IPv4 address with prefix length (a.b.c.d/n)");
    base::Optional<uint64_t> length = parse_plain_decimal(cut.tail, 2);
    if (!length.has_value())
        return refused(CmdlineProblem::kMalformed, "has no valid prefix length (a.b.c.d/n)");
    if (*length < option.min || *length > option.max)
        return refused(CmdlineProblem::kOutOfRange, "prefix length out of range {}..{}", option.min,
                       option.max);
    value.prefix = Ipv4Prefix{*address, static_cast<uint8_t>(*length)};
    return accepted();
}

ValueCheck check_hex_key(const CmdlineOption& option, StringView text, CmdlineValue& value) {
    if (!all_digits(text, true))
        return refused(CmdlineProblem::kMalformed, "is not all hex digits");
    if (text.length() < option.min || text.length() > option.max)
        return refused(CmdlineProblem::kOutOfRange, "has {} hex digits, needs {}..{}",
                       text.length(), option.min, option.max);
    if (text.length() % 2 != 0)
        return refused(CmdlineProblem::kMalformed, "has an odd number of hex digits");
    value.text = text;
    return accepted();
}

ValueCheck check_string(const CmdlineOption& option, StringView text, CmdlineValue& value) {
    if (text.length() > option.max)
        return refused(CmdlineProblem::kTooLong, "is longer than {} characters", option.max);
    for (char c : text) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7E)
            return refused(CmdlineProblem::kMalformed, "contains unprintable characters");
    }
    value.text = text;
    return accepted();
}

ValueCheck check_value(const CmdlineOption& option, StringView text, CmdlineValue& value) {
    switch (option.type) {
    case CmdlineOptionType::kU64:
        return check_u64(option, text, value);
    case CmdlineOptionType::kBool:
        return check_bool(text, value);
    case CmdlineOptionType::kEnum:
        return check_enum(option, text, value);
    case CmdlineOptionType::kIpv4:
        return check_ipv4(text, value);
    case CmdlineOptionType::kIpv4Prefix:
        return check_ipv4_prefix(option, text, value);
    case CmdlineOptionType::kHexKey:
        return check_hex_key(option, text, value);
    case CmdlineOptionType::kString:
        return check_string(option, text, value);
    }
    return refused(CmdlineProblem::kMalformed, "has an unknown type");
}

// ---- The parser -----------------------------------------------------------------------

class Parser {
public:
    explicit Parser(CmdlineResult& result) : m_result(result) {}

    void parse_token(StringView token) {
        base::StringViewCut cut = token.cut('=');
        StringView key = cut.head;
        if (key.is_empty()) {
            report(CmdlineProblem::kMalformed, nullptr,
                   "cmdline: malformed token '{}' has no option name (ignored)", Shown{token});
            return;
        }
        const CmdlineOption* option = find_cmdline_option(key);
        if (!option) {
            report(CmdlineProblem::kUnknownOption, nullptr,
                   "cmdline: unknown option '{}' (ignored)", Shown{key});
            return;
        }

        CmdlineValue value;
        if (!cut.found && option->type == CmdlineOptionType::kBool) {
            // A bare flag switches the option on.
            value.number = 1;
        } else if (cut.tail.is_empty()) {
            report(CmdlineProblem::kMissingValue, option, "cmdline: {} needs a value {}, {}",
                   option->name, Syntax{option}, Fallback{this, option});
            return;
        } else {
            ValueCheck check = check_value(*option, cut.tail, value);
            if (!check.ok) {
                report(check.problem, option, "cmdline: {}={} {}, {}", option->name,
                       ShownValue{option, cut.tail}, static_cast<const char*>(check.detail),
                       Fallback{this, option});
                return;
            }
        }

        uint64_t bit = 1ull << index_of(option);
        if (m_seen & bit) {
            if (cut.found)
                report(CmdlineProblem::kDuplicate, option,
                       "cmdline: {} given more than once, the last one ({}={}) wins", option->name,
                       option->name, ShownValue{option, cut.tail});
            else
                report(CmdlineProblem::kDuplicate, option,
                       "cmdline: {} given more than once, the last one wins", option->name);
        }
        m_seen |= bit;
        option->store(m_result.options, value);
    }

private:
    // What happens instead of a refused value: the default, or an earlier valid value.
    struct Fallback {
        const Parser* parser;
        const CmdlineOption* option;
    };

    friend void format_value(base::FormatSink& sink, const base::FormatSpec&,
                             const Fallback& fallback) {
        if (fallback.parser->m_seen & (1ull << index_of(fallback.option)))
            sink.write_view("keeping the earlier value");
        else if (fallback.option->default_text)
            base::format_to(sink, "using default {}", fallback.option->default_text);
        else
            sink.write_view("ignored");
    }

    static size_t index_of(const CmdlineOption* option) {
        return static_cast<size_t>(option - kOptions);
    }

    template<typename... Args>
    void report(CmdlineProblem problem, const CmdlineOption* option, base::StringView fmt,
                const Args&... args) {
        if (m_result.diagnostic_count >= kMaxCmdlineDiagnostics) {
            ++m_result.dropped_diagnostics;
            return;
        }
        CmdlineDiagnostic& diagnostic = m_result.diagnostics[m_result.diagnostic_count++];
        diagnostic.problem = problem;
        diagnostic.option = option;
        base::format(diagnostic.message, sizeof(diagnostic.message), fmt, args...);
    }

    CmdlineResult& m_result;
    uint64_t m_seen{0};
};

} // namespace

// ---- Public functions -----------------------------------------------------------------

void format_value(base::FormatSink& sink, const base::FormatSpec&, const Ipv4Address& address) {
    uint32_t v = address.value;
    base::format_to(sink, "{}.{}.{}.{}", v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF);
}

void format_value(base::FormatSink& sink, const base::FormatSpec& spec, const Ipv4Prefix& prefix) {
    format_value(sink, spec, prefix.address);
    base::format_to(sink, "/{}", prefix.length);
}

base::Span<const CmdlineOption> cmdline_options() {
    return base::Span<const CmdlineOption>(kOptions, kOptionCount);
}

const CmdlineOption* find_cmdline_option(base::StringView name) {
    for (const CmdlineOption& option : kOptions) {
        if (name == StringView(option.name))
            return &option;
    }
    return nullptr;
}

size_t format_cmdline_option_help(const CmdlineOption& option, char* buffer, size_t size) {
    base::BufferSink sink(buffer, size);
    if (option.type == CmdlineOptionType::kBool)
        base::format_to(sink, "{}[={}]: {}", option.name, Syntax{&option}, option.help);
    else
        base::format_to(sink, "{}={}: {}", option.name, Syntax{&option}, option.help);
    if (option.default_text)
        base::format_to(sink, " (default {})", option.default_text);
    return sink.length();
}

CmdlineValueText format_cmdline_option_value(base::StringView name, const BootOptions& options,
                                             char* buffer, size_t size, bool secrets) {
    const CmdlineOption* option = find_cmdline_option(name);
    if (!option)
        return {CmdlineValueStatus::kUnknown, 0};
    base::BufferSink sink(buffer, size);
    StringView key(option->name);
    if (key == StringView("node")) {
        base::format_to(sink, "{}", options.node_id);
    } else if (key == StringView("mode")) {
        base::format_to(sink, "{}", boot_mode_name(options.mode));
    } else if (key == StringView("log")) {
        base::format_to(sink, "{}", log_level_name(options.log_level));
    } else if (key == StringView("selftest_filter")) {
        if (options.selftest_filter_length == 0)
            return {CmdlineValueStatus::kUnset, 0};
        base::format_to(sink, "{}", options.selftest_filter_view());
    } else if (key == StringView("ip")) {
        if (!options.has_ip)
            return {CmdlineValueStatus::kUnset, 0};
        base::format_to(sink, "{}", options.ip);
    } else if (key == StringView("gw")) {
        if (!options.has_gateway)
            return {CmdlineValueStatus::kUnset, 0};
        base::format_to(sink, "{}", options.gateway);
    } else if (key == StringView("fuzz_iterations")) {
        base::format_to(sink, "{}", options.fuzz_iterations);
    } else if (key == StringView("fuzz_seed")) {
        base::format_to(sink, "{}", options.fuzz_seed);
    } else if (key == StringView("serial_echo")) {
        base::format_to(sink, "{}", options.serial_echo ? "on" : "off");
    } else if (key == StringView("bus_down_ms")) {
        base::format_to(sink, "{}", options.bus_down_ms);
    } else if (key == StringView("cluster_key") && secrets) {
        if (!options.has_cluster_key)
            return {CmdlineValueStatus::kUnset, 0};
        static constexpr char kHex[] = "0123456789abcdef";
        for (size_t i = 0; i < options.cluster_key_length; ++i) {
            sink.put(kHex[options.cluster_key[i] >> 4]);
            sink.put(kHex[options.cluster_key[i] & 15]);
        }
    } else {
        // cluster_key without the right to secrets, and any option added later until it
        // is listed above: whether it is even set is not told.
        return {CmdlineValueStatus::kSecret, 0};
    }
    return {CmdlineValueStatus::kOk, sink.length()};
}

const char* boot_mode_name(BootMode mode) {
    size_t index = static_cast<size_t>(mode);
    return index < base::array_size(kBootModeNames) ? kBootModeNames[index] : "unknown";
}

const char* log_level_name(LogLevel level) {
    size_t index = static_cast<size_t>(level);
    return index < base::array_size(kLogLevelNames) ? kLogLevelNames[index] : "unknown";
}

void parse_cmdline(base::StringView cmdline, CmdlineResult& result) {
    result.options = BootOptions{};
    result.diagnostic_count = 0;
    result.dropped_diagnostics = 0;

    Parser parser(result);
    bool first = true;
    size_t i = 0;
    size_t length = cmdline.length();
    while (i < length) {
        while (i < length && StringView::is_whitespace(cmdline.data()[i]))
            ++i;
        size_t start = i;
        while (i < length && !StringView::is_whitespace(cmdline.data()[i]))
            ++i;
        if (i == start)
            break;
        StringView token(cmdline.data() + start, i - start);
        bool skip = first && token.starts_with('/');
        first = false;
        if (!skip)
            parser.parse_token(token);
    }
}

} // namespace kernel

#pragma once
// /etc/drivers.conf: which driver init starts for a PCI function, one rule per line:
//
//   <vendor>:<device> <program>      e.g. 8086:100e /bin/e1000
//   class:<class><subclass> <program>  e.g. class:0200 /bin/somenic (any Ethernet card)
//
// ids in hexadecimal (1-4 digits each; class and subclass 2 digits each), the program an
// absolute path. Blank lines and lines starting with '#' are skipped. A line that does
// not parse, is too long, or comes after kMaxRules rules is reported with its line
// number and ignored; the rest of the file still counts. The first rule that matches a
// function wins, and vendor:device rules are tried before class rules, so an exact rule
// overrides a class rule wherever it appears.
#include <base/string_view.h>
#include <stddef.h>
#include <stdint.h>

namespace initconf {

inline constexpr size_t kMaxRules = 16;
inline constexpr size_t kMaxProgram = 63;

struct DriverRule {
    bool by_class = false;
    uint16_t vendor = 0; // by_class: the class code
    uint16_t device = 0; // by_class: the subclass
    char program[kMaxProgram + 1] = {};
};

struct DriverTable {
    DriverRule rules[kMaxRules];
    size_t count = 0;

    // The rule for a function, or nullptr.
    const DriverRule* match(uint16_t vendor, uint16_t device, uint8_t class_code,
                            uint8_t subclass) const;
};

// Parses the whole file into `out`; report(line_number, message) hears of each line that
// is ignored.
template<typename Report>
void parse_driver_table(base::StringView text, DriverTable& out, Report&& report);

enum class RuleResult : uint8_t {
    kRule,
    kSkip,
    kTooLong,
    kBadIds,     // not vvvv:dddd or class:ccss
    kBadProgram, // missing, not absolute, too long, or words after it
};
const char* rule_result_message(RuleResult result);
RuleResult parse_rule(base::StringView line, DriverRule& out);

template<typename Report>
void parse_driver_table(base::StringView text, DriverTable& out, Report&& report) {
    out.count = 0;
    size_t line_number = 0;
    while (!text.empty()) {
        auto end = text.find('\n');
        base::StringView line = end.has_value() ? text.substr(0, *end) : text;
        text = end.has_value() ? text.substr(*end + 1) : base::StringView();
        ++line_number;
        DriverRule rule;
        RuleResult r = parse_rule(line, rule);
        if (r == RuleResult::kSkip)
            continue;
        if (r != RuleResult::kRule) {
            report(line_number, rule_result_message(r));
            continue;
        }
        if (out.count == kMaxRules) {
            report(line_number, "more than 16 rules; ignored");
            continue;
        }
        out.rules[out.count++] = rule;
    }
}

} // namespace initconf

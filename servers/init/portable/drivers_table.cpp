// Parsing /etc/drivers.conf (drivers_table.h has the format).
#include "drivers_table.h"

namespace initconf {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// 1..max_digits hexadecimal digits, nothing else.
bool parse_hex(base::StringView text, size_t max_digits, uint16_t& out) {
    if (text.empty() || text.size() > max_digits)
        return false;
    uint32_t value = 0;
    for (char c : text) {
        uint32_t digit;
        if (c >= '0' && c <= '9')
            digit = uint32_t(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = uint32_t(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = uint32_t(c - 'A' + 10);
        else
            return false;
        value = value * 16 + digit;
    }
    out = uint16_t(value);
    return true;
}

// The next word of `rest` (advancing it); empty at the end.
base::StringView next_word(base::StringView& rest) {
    size_t i = 0;
    while (i < rest.size() && is_space(rest[i]))
        ++i;
    size_t start = i;
    while (i < rest.size() && !is_space(rest[i]))
        ++i;
    base::StringView word = rest.substr(start, i - start);
    rest = rest.substr(i);
    return word;
}

} // namespace

const char* rule_result_message(RuleResult result) {
    switch (result) {
    case RuleResult::kRule:
    case RuleResult::kSkip:
        return "ok";
    case RuleResult::kTooLong:
        return "line too long; ignored";
    case RuleResult::kBadIds:
        return "expected '<vendor>:<device>' or 'class:<class><subclass>' in hexadecimal; "
               "ignored";
    case RuleResult::kBadProgram:
        return "expected one absolute program path (at most 63 bytes) after the ids; ignored";
    }
    return "ignored";
}

RuleResult parse_rule(base::StringView line, DriverRule& out) {
    out = DriverRule{};
    base::StringView rest = line;
    base::StringView ids = next_word(rest);
    if (ids.empty() || ids[0] == '#')
        return RuleResult::kSkip;
    if (line.size() > 256)
        return RuleResult::kTooLong;
    for (char c : line)
        if (c == '\0')
            return RuleResult::kBadIds;
    auto colon = ids.find(':');
    if (!colon.has_value())
        return RuleResult::kBadIds;
    base::StringView left = ids.substr(0, *colon), right = ids.substr(*colon + 1);
    if (left == "class") {
        uint16_t both = 0;
        if (right.size() != 4 || !parse_hex(right, 4, both))
            return RuleResult::kBadIds;
        out.by_class = true;
        out.vendor = uint16_t(both >> 8);
        out.device = uint16_t(both & 0xFF);
    } else if (!parse_hex(left, 4, out.vendor) || !parse_hex(right, 4, out.device)) {
        return RuleResult::kBadIds;
    }
    base::StringView program = next_word(rest);
    if (program.empty() || program[0] != '/' || program.size() > kMaxProgram
        || !next_word(rest).empty())
        return RuleResult::kBadProgram;
    for (size_t i = 0; i < program.size(); ++i)
        out.program[i] = program[i];
    out.program[program.size()] = '\0';
    return RuleResult::kRule;
}

const DriverRule* DriverTable::match(uint16_t vendor, uint16_t device, uint8_t class_code,
                                     uint8_t subclass) const {
    for (size_t i = 0; i < count; ++i)
        if (!rules[i].by_class && rules[i].vendor == vendor && rules[i].device == device)
            return &rules[i];
    for (size_t i = 0; i < count; ++i)
        if (rules[i].by_class && rules[i].vendor == class_code && rules[i].device == subclass)
            return &rules[i];
    return nullptr;
}

} // namespace initconf

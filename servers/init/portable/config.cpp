// Parsing /etc/init.conf (config.h has the format).
#include "config.h"

namespace initconf {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
           || c == '-' || c == '_';
}

// Splits a line in place into words; returns how many, or max + 1 when there are more.
size_t split(char* line, const char** words, size_t max) {
    size_t n = 0;
    char* p = line;
    while (*p) {
        while (is_space(*p))
            *p++ = '\0';
        if (!*p)
            break;
        if (n == max)
            return max + 1;
        words[n++] = p;
        while (*p && !is_space(*p))
            ++p;
    }
    return n;
}

} // namespace

const char* line_result_message(LineResult result) {
    switch (result) {
    case LineResult::kService:
    case LineResult::kSkip:
        return "ok";
    case LineResult::kTooLong:
        return "line too long; ignored";
    case LineResult::kBadSyntax:
        return "expected '<name> restart|once|driver <program> [+serial] [+pci] [+config] [+key] "
               "[+rtc] [+bus] "
               "[arguments]'; "
               "ignored";
    case LineResult::kBadName:
        return "a name is 1-31 letters, digits, '.', '-' or '_'; ignored";
    }
    return "ignored";
}

LineResult parse_line(base::StringView line, ServiceSpec& out) {
    out = ServiceSpec{};
    size_t first = 0;
    while (first < line.size() && is_space(line[first]))
        ++first;
    if (first == line.size() || line[first] == '#')
        return LineResult::kSkip;
    if (line.size() >= kMaxLine)
        return LineResult::kTooLong;
    for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\0')
            return LineResult::kBadSyntax; // a NUL would cut the line short unseen
        out.line[i] = line[i];
    }
    out.line[line.size()] = '\0';
    const char* words[kMaxArgs + 4];
    size_t n = split(out.line, words, kMaxArgs + 2);
    base::StringView policy = n > 1 ? base::StringView(words[1]) : base::StringView();
    if (n < 3 || n > kMaxArgs + 2
        || (policy != "restart" && policy != "once" && policy != "driver"))
        return LineResult::kBadSyntax;
    base::StringView name(words[0]);
    if (name.size() > kMaxName)
        return LineResult::kBadName;
    for (char c : name)
        if (!is_name_char(c))
            return LineResult::kBadName;
    out.name = words[0];
    out.restart = policy == "restart";
    out.driver = policy == "driver";
    out.program = words[2];
    size_t argc = 0;
    out.argv[argc++] = out.name;
    for (size_t i = 3; i < n; ++i) {
        if (base::StringView(words[i]) == "+serial")
            out.serial = true;
        else if (base::StringView(words[i]) == "+pci")
            out.pci = true;
        else if (base::StringView(words[i]) == "+config")
            out.config = true;
        else if (base::StringView(words[i]) == "+key")
            out.config = out.key = true;
        else if (base::StringView(words[i]) == "+rtc")
            out.rtc = true;
        else if (base::StringView(words[i]) == "+bus")
            out.bus = true;
        else
            out.argv[argc++] = words[i];
    }
    out.argv[argc] = nullptr;
    return LineResult::kService;
}

} // namespace initconf

#pragma once
// /etc/init.conf: the drivers and services init starts, one per line:
//
//   <name> restart|once|driver <program> [+serial] [+pci] [+config] [+rtc] [+bus] [arguments...]
//
// Blank lines and lines starting with '#' are skipped. A line that is too long, has too
// few or too many words, an unknown policy, a name with other characters than letters,
// digits, '.', '-' and '_', or a name an earlier line already took, is reported with its
// line number and skipped; the rest of the file still counts. Parsing never fails as a
// whole: a node with a broken file still starts what the good lines name.
#include <base/string_view.h>
#include <stddef.h>

namespace initconf {

inline constexpr size_t kMaxServices = 16;
inline constexpr size_t kMaxArgs = 16;
inline constexpr size_t kMaxLine = 256;
inline constexpr size_t kMaxName = 31;

struct ServiceSpec {
    char line[kMaxLine]; // the line, split in place; the pointers point here
    const char* name = nullptr;
    const char* program = nullptr;
    const char* argv[kMaxArgs + 2] = {}; // the name, the arguments, the null
    bool restart = false;
    bool driver = false; // policy `driver`: started by init itself, before the services
    bool serial = false; // `+serial`: gets the COM1 ports and interrupt line
    bool pci = false;    // `+pci`: gets the device resources (the PCI bus server)
    bool config = false; // `+config`: may read the boot options (the node's address)
    bool key = false;    // `+key`: may read the secret boot options too (the cluster key)
    bool rtc = false;    // `+rtc`: gets the CMOS clock's two I/O ports (0x70, 0x71)
    bool bus = false;    // `+bus`: gets proc's port for the bus (the network server)
};

enum class LineResult : uint8_t {
    kService,   // out holds a service
    kSkip,      // blank or comment
    kTooLong,   // kMaxLine bytes or more
    kBadSyntax, // too few or too many words, or an unknown policy
    kBadName,   // empty, too long, or characters outside [A-Za-z0-9._-]
};
const char* line_result_message(LineResult result);

// Parses one line (without its newline) into out.
LineResult parse_line(base::StringView line, ServiceSpec& out);

// Parses a whole file: slot(i) gives the ServiceSpec for the i-th accepted service, and
// report(line_number, message) is told about each line that is skipped, including lines
// beyond kMaxServices and duplicate names. Returns the number of services accepted.
template<typename Slot, typename Report>
size_t parse_config(base::StringView text, Slot&& slot, Report&& report) {
    size_t count = 0;
    size_t line_number = 0;
    while (!text.empty()) {
        auto end = text.find('\n');
        base::StringView line = end.has_value() ? text.substr(0, *end) : text;
        text = end.has_value() ? text.substr(*end + 1) : base::StringView();
        ++line_number;
        if (count == kMaxServices) {
            ServiceSpec scratch;
            if (parse_line(line, scratch) != LineResult::kSkip)
                report(line_number, "more than 16 services; ignored");
            continue;
        }
        ServiceSpec& spec = slot(count);
        LineResult r = parse_line(line, spec);
        if (r == LineResult::kSkip)
            continue;
        if (r != LineResult::kService) {
            report(line_number, line_result_message(r));
            continue;
        }
        bool duplicate = false;
        for (size_t i = 0; i < count && !duplicate; ++i)
            duplicate = base::StringView(slot(i).name) == base::StringView(spec.name);
        if (duplicate) {
            report(line_number, "a service of that name is already defined; ignored");
            continue;
        }
        ++count;
    }
    return count;
}

} // namespace initconf

// Parsing the node's IPv4 settings (address.h).
#include "address.h"

namespace netsrv {
namespace {

// A decimal number of 1-3 digits at most `max`; advances `at`.
bool number(base::StringView text, size_t& at, uint32_t max, uint32_t& out) {
    size_t start = at;
    uint32_t value = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && at - start < 3)
        value = value * 10 + uint32_t(text[at++] - '0');
    if (at == start || value > max || (at < text.size() && text[at] >= '0' && text[at] <= '9'))
        return false;
    out = value;
    return true;
}

bool address_at(base::StringView text, size_t& at, uint32_t& out) {
    uint32_t value = 0;
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (at >= text.size() || text[at] != '.')
                return false;
            ++at;
        }
        uint32_t byte;
        if (!number(text, at, 255, byte))
            return false;
        value = (value << 8) | byte;
    }
    out = value;
    return true;
}

} // namespace

bool parse_ipv4(base::StringView text, uint32_t& out) {
    size_t at = 0;
    uint32_t value;
    if (!address_at(text, at, value) || at != text.size())
        return false;
    out = value;
    return true;
}

bool parse_ipv4_prefix(base::StringView text, uint32_t& address, uint32_t& netmask) {
    size_t at = 0;
    uint32_t value, length;
    if (!address_at(text, at, value) || at >= text.size() || text[at] != '/')
        return false;
    ++at;
    if (!number(text, at, 32, length) || length == 0 || at != text.size())
        return false;
    address = value;
    netmask = length == 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> length);
    return true;
}

} // namespace netsrv

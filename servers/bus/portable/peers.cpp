#include "peers.h"

#include <servers/net/portable/address.h>

namespace tern::bus {

namespace {

// The next whitespace-separated word of line from at, or an empty view at its end.
base::StringView next_word(base::StringView line, size_t& at) {
    while (at < line.size() && base::StringView::is_whitespace(line[at]))
        ++at;
    size_t start = at;
    while (at < line.size() && !base::StringView::is_whitespace(line[at]))
        ++at;
    return line.substr(start, at - start);
}

} // namespace

uint16_t node_of_name(base::StringView name) {
    if (!name.starts_with("node") || name.size() < 5 || name.size() > 9)
        return 0;
    base::StringView digits = name.substr(4);
    if (digits[0] == '0')
        return 0;
    uint32_t value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9')
            return 0;
        value = value * 10 + uint32_t(c - '0');
    }
    return value <= 65535 ? uint16_t(value) : 0;
}

PeersParse parse_peers(base::StringView hosts, uint16_t self, PeerAddress* out, size_t capacity) {
    PeersParse result;
    size_t line_start = 0;
    while (line_start < hosts.size()) {
        size_t line_end = line_start;
        while (line_end < hosts.size() && hosts[line_end] != '\n')
            ++line_end;
        base::StringView line = hosts.substr(line_start, line_end - line_start);
        line_start = line_end + 1;
        for (size_t i = 0; i < line.size(); ++i) {
            if (line[i] == '#') {
                line = line.substr(0, i);
                break;
            }
        }
        size_t at = 0;
        base::StringView address = next_word(line, at);
        if (address.empty())
            continue;
        uint16_t node = 0;
        bool named_node = false;
        for (base::StringView name = next_word(line, at); !name.empty();
             name = next_word(line, at)) {
            if (name.starts_with("node")) {
                named_node = true;
                node = node_of_name(name);
                break;
            }
        }
        if (!named_node)
            continue;
        uint32_t ip = 0;
        if (node == 0 || !netsrv::parse_ipv4(address, ip)) {
            ++result.malformed;
            continue;
        }
        if (node == self)
            continue;
        bool seen = false;
        for (size_t i = 0; i < result.count; ++i)
            seen = seen || out[i].node == node;
        if (seen)
            continue;
        if (result.count == capacity) {
            ++result.dropped;
            continue;
        }
        out[result.count++] = {node, ip};
    }
    return result;
}

} // namespace tern::bus

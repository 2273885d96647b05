#pragma once
// The bus's peers: the nodes named node<N> in /etc/hosts, with their addresses.
//
// Every node boots the same image, so one hosts file names the whole cluster: a line
// "10.0.0.3 node3" makes node 3 a peer at 10.0.0.3. Lines are "<a.b.c.d> <name>
// [aliases...]" with '#' comments; the first name of the form node<N> (N in 1..65535,
// decimal, no leading zero) on a line counts, other names are ignored. A node listed twice
// keeps its first address; this node itself is not a peer.
#include <base/string_view.h>
#include <stddef.h>
#include <stdint.h>

namespace tern::bus {

struct PeerAddress {
    uint16_t node = 0;
    uint32_t ip = 0; // host byte order
};

struct PeersParse {
    size_t count = 0;     // peers written
    size_t malformed = 0; // lines with a node<N> name whose address or number is bad
    size_t dropped = 0;   // peers beyond the output's room
};

// Parses a hosts file into out (at most capacity entries), leaving out self.
PeersParse parse_peers(base::StringView hosts, uint16_t self, PeerAddress* out, size_t capacity);

// node<N> -> N; 0 for any other name.
uint16_t node_of_name(base::StringView name);

} // namespace tern::bus

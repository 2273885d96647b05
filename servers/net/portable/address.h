#pragma once
// The node's IPv4 settings as the kernel command line gives them (ip=a.b.c.d/len,
// gw=a.b.c.d; see docs/build-and-boot.md): parsed here, strictly, since they come from a
// file on a disk anyone may have written. Addresses are in host byte order.
#include <base/string_view.h>
#include <stdint.h>

namespace netsrv {

// "a.b.c.d": four decimal numbers 0-255, no leading '+', no spaces. False otherwise.
bool parse_ipv4(base::StringView text, uint32_t& out);
// "a.b.c.d/len" with len 1-32; `netmask` gets the mask. False otherwise.
bool parse_ipv4_prefix(base::StringView text, uint32_t& address, uint32_t& netmask);

} // namespace netsrv

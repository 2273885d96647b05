// Host tests for the network server's parser of the node's IPv4 settings
// (servers/net/portable/address.h): good values, and every malformed one refused.
#include <catch2/catch.hpp>
#include <servers/net/portable/address.h>

#include <string>

using netsrv::parse_ipv4;
using netsrv::parse_ipv4_prefix;

namespace {
base::StringView view(const std::string& s) { return base::StringView(s.data(), s.size()); }
} // namespace

TEST_CASE("ip=a.b.c.d/len and gw=a.b.c.d parse") {
    uint32_t ip = 0, mask = 0;
    REQUIRE(parse_ipv4_prefix(view("10.0.0.3/24"), ip, mask));
    CHECK(ip == 0x0A000003u);
    CHECK(mask == 0xFFFFFF00u);
    REQUIRE(parse_ipv4_prefix(view("192.168.255.1/32"), ip, mask));
    CHECK(mask == 0xFFFFFFFFu);
    REQUIRE(parse_ipv4_prefix(view("1.2.3.4/1"), ip, mask));
    CHECK(mask == 0x80000000u);
    uint32_t gw = 0;
    REQUIRE(parse_ipv4(view("10.0.0.254"), gw));
    CHECK(gw == 0x0A0000FEu);
    REQUIRE(parse_ipv4(view("0.0.0.0"), gw));
    CHECK(gw == 0);
}

TEST_CASE("malformed settings are refused") {
    uint32_t ip = 0, mask = 0;
    for (const char* bad : {"", "10.0.0.3", "10.0.0.3/", "10.0.0.3/0", "10.0.0.3/33", "10.0.0/24",
                            "10.0.0.3.4/24", "256.0.0.1/24", "10.0.0.3/24x", "10.0.0.3 /24",
                            "1000.0.0.1/8", "10..0.3/24", "-1.0.0.3/24", "10.0.0.3/024x"}) {
        INFO(bad);
        CHECK_FALSE(parse_ipv4_prefix(view(bad), ip, mask));
    }
    for (const char* bad : {"", "1.2.3", "1.2.3.4.", "1.2.3.4/8", "a.b.c.d", "01234.1.1.1"}) {
        INFO(bad);
        CHECK_FALSE(parse_ipv4(view(bad), ip));
    }
}

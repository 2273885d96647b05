// Host tests for init's /etc/drivers.conf parser (servers/init/portable/drivers_table.h):
// vendor:device and class rules, which one wins, and every kind of bad line, each reported
// with its number while the rest still count.
#include <catch2/catch.hpp>
#include <servers/init/portable/drivers_table.h>

#include <string>
#include <utility>
#include <vector>

using namespace initconf;

namespace {

struct Parsed {
    DriverTable table;
    std::vector<std::pair<size_t, std::string>> reports;
};

Parsed parse(const std::string& text) {
    Parsed p;
    parse_driver_table(base::StringView(text.data(), text.size()), p.table,
                       [&](size_t line, const char* what) { p.reports.emplace_back(line, what); });
    return p;
}

} // namespace

TEST_CASE("drivers.conf: vendor:device and class rules; exact ids win over a class") {
    Parsed p = parse("# comment\n\n  \nclass:0200 /bin/anynic\n8086:100e /bin/e1000\r\n"
                     "1AF4:1041\t/bin/virtio_net  \n");
    CHECK(p.reports.empty());
    REQUIRE(p.table.count == 3);
    CHECK(p.table.rules[0].by_class);
    CHECK(p.table.rules[0].vendor == 0x02);
    CHECK(p.table.rules[0].device == 0x00);
    const DriverRule* e1000 = p.table.match(0x8086, 0x100e, 0x02, 0x00);
    REQUIRE(e1000);
    CHECK(std::string(e1000->program) == "/bin/e1000");
    const DriverRule* virtio = p.table.match(0x1af4, 0x1041, 0x02, 0x00);
    REQUIRE(virtio);
    CHECK(std::string(virtio->program) == "/bin/virtio_net");
    const DriverRule* other = p.table.match(0x10ec, 0x8139, 0x02, 0x00);
    REQUIRE(other);
    CHECK(std::string(other->program) == "/bin/anynic");
    CHECK(p.table.match(0x8086, 0x29c0, 0x06, 0x00) == nullptr);
}

TEST_CASE("drivers.conf: bad lines are reported by number and ignored") {
    std::string long_line = "8086:100e /" + std::string(300, 'x');
    Parsed p = parse("8086 /bin/a\n"            // 1: no colon
                     "8086:100e\n"              // 2: no program
                     "8086:100e bin/e1000\n"    // 3: not absolute
                     "8086:100e /bin/a extra\n" // 4: a word too many
                     "80861:100e /bin/a\n"      // 5: five digits
                     "80g6:100e /bin/a\n"       // 6: not hexadecimal
                     ":100e /bin/a\n"           // 7: empty vendor
                     "class:02 /bin/a\n"        // 8: class without subclass
                     "klass:0200 /bin/a\n"      // 9: not a word it knows
                     + long_line + "\n"         // 10: too long
                     + std::string("8086:") + '\0'
                     + "100e /bin/a\n"            // 11: a NUL
                       "8086:100e /bin/e1000\n"); // 12: good
    REQUIRE(p.table.count == 1);
    CHECK(std::string(p.table.rules[0].program) == "/bin/e1000");
    REQUIRE(p.reports.size() == 11);
    for (size_t i = 0; i < p.reports.size(); ++i)
        CHECK(p.reports[i].first == i + 1);
    CHECK(p.reports[1].second.find("program") != std::string::npos);
    CHECK(p.reports[9].second.find("too long") != std::string::npos);
}

TEST_CASE("drivers.conf: rules beyond the table are reported, the first ones kept") {
    std::string text;
    for (int i = 0; i < 20; ++i)
        text += "8086:" + std::to_string(1000 + i) + " /bin/d" + std::to_string(i) + "\n";
    Parsed p = parse(text);
    CHECK(p.table.count == kMaxRules);
    REQUIRE(p.reports.size() == 4);
    CHECK(p.reports[0].first == 17);
    CHECK(std::string(p.table.rules[15].program) == "/bin/d15");
}

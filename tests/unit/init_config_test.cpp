// Host tests for init's /etc/init.conf parser (servers/init/portable/config.h): good lines,
// and every kind of bad line, each reported with its number while the rest still count.
#include <catch2/catch.hpp>
#include <servers/init/portable/config.h>

#include <string>
#include <utility>
#include <vector>

using namespace initconf;

namespace {

struct Parsed {
    std::vector<ServiceSpec> specs = std::vector<ServiceSpec>(kMaxServices);
    std::vector<std::pair<size_t, std::string>> reports;
    size_t count = 0;
};

Parsed parse(const std::string& text) {
    Parsed p;
    p.count = parse_config(
        base::StringView(text.data(), text.size()),
        [&](size_t i) -> ServiceSpec& { return p.specs.at(i); },
        [&](size_t line, const char* what) { p.reports.emplace_back(line, what); });
    return p;
}

} // namespace

TEST_CASE("init.conf: services, policies, arguments and +serial") {
    Parsed p = parse("# comment\n\n   \nuart driver /bin/uart +serial\n"
                     "console\trestart /bin/console\nshell once /bin/shell -x  y\n");
    REQUIRE(p.count == 3);
    CHECK(p.reports.empty());
    CHECK(std::string(p.specs[0].name) == "uart");
    CHECK(p.specs[0].driver);
    CHECK(p.specs[0].serial);
    CHECK(std::string(p.specs[0].argv[0]) == "uart");
    CHECK(p.specs[0].argv[1] == nullptr);
    CHECK(p.specs[1].restart);
    CHECK(std::string(p.specs[1].program) == "/bin/console");
    CHECK_FALSE(p.specs[2].restart);
    CHECK_FALSE(p.specs[2].driver);
    CHECK(std::string(p.specs[2].argv[1]) == "-x");
    CHECK(std::string(p.specs[2].argv[2]) == "y");
    CHECK(p.specs[2].argv[3] == nullptr);
}

TEST_CASE("init.conf: +pci and +config are flags, not arguments") {
    Parsed p = parse("pci driver /bin/pci +pci\nnet restart /bin/net +config -v\n");
    REQUIRE(p.count == 2);
    CHECK(p.specs[0].pci);
    CHECK_FALSE(p.specs[0].config);
    CHECK(p.specs[0].argv[1] == nullptr);
    CHECK(p.specs[1].config);
    CHECK_FALSE(p.specs[1].pci);
    CHECK(std::string(p.specs[1].argv[1]) == "-v");
    CHECK(p.specs[1].argv[2] == nullptr);
    CHECK_FALSE(p.specs[1].rtc);

    Parsed q = parse("net restart /bin/net +config +rtc\n");
    REQUIRE(q.count == 1);
    CHECK(q.specs[0].rtc);
    CHECK(q.specs[0].config);
    CHECK_FALSE(q.specs[0].key);
    CHECK_FALSE(q.specs[0].bus);
    CHECK(q.specs[0].argv[1] == nullptr);

    // +bus: proc's port for the bus, a flag like the others.
    Parsed b = parse("net restart /bin/net +bus +rtc -x\n");
    REQUIRE(b.count == 1);
    CHECK(b.specs[0].bus);
    CHECK(b.specs[0].rtc);
    CHECK(std::string(b.specs[0].argv[1]) == "-x");
    CHECK(b.specs[0].argv[2] == nullptr);

    // +key is +config with the secret options.
    Parsed k = parse("net restart /bin/net +key\n");
    REQUIRE(k.count == 1);
    CHECK(k.specs[0].key);
    CHECK(k.specs[0].config);
    CHECK(k.specs[0].argv[1] == nullptr);
}

TEST_CASE("init.conf: bad lines are reported by number and skipped") {
    std::string long_line = "a restart /bin/a " + std::string(300, 'x') + "\n";
    std::string many_args = "b restart /bin/b";
    for (int i = 0; i < 20; ++i)
        many_args += " arg";
    Parsed p = parse("good restart /bin/good\n"  // 1
                     "nopolicy /bin/x\n"         // 2: too few words
                     "x sometimes /bin/x\n"      // 3: unknown policy
                     + long_line +               // 4: too long
                     many_args + "\n" +          // 5: too many words
                     "bad/name restart /bin/x\n" // 6: bad name
                     + std::string(40, 'n')
                     + " once /bin/x\n"         // 7: name too long
                       "good once /bin/other\n" // 8: duplicate name
                       "last once /bin/last");  // 9: no newline at the end: still read
    REQUIRE(p.count == 2);
    CHECK(std::string(p.specs[0].name) == "good");
    CHECK(std::string(p.specs[1].name) == "last");
    std::vector<size_t> lines;
    for (auto& r : p.reports)
        lines.push_back(r.first);
    CHECK(lines == std::vector<size_t>{2, 3, 4, 5, 6, 7, 8});
    CHECK(p.reports[6].second.find("already defined") != std::string::npos);
}

TEST_CASE("init.conf: more services than the table holds, and a NUL inside a line") {
    std::string text;
    for (int i = 0; i < 20; ++i)
        text += "s" + std::to_string(i) + " once /bin/true\n";
    Parsed p = parse(text);
    CHECK(p.count == kMaxServices);
    CHECK(p.reports.size() == 4);
    std::string with_nul = std::string("a once /bin/a") + '\0' + " hidden\nb once /bin/b\n";
    Parsed q = parse(with_nul);
    REQUIRE(q.count == 1);
    CHECK(std::string(q.specs[0].name) == "b");
    CHECK(q.reports.size() == 1);
}

TEST_CASE("init.conf: random bytes never crash the parser") {
    uint64_t seed = 88172645463325252ull;
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        size_t n = seed % 600;
        for (size_t i = 0; i < n; ++i) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            const char alphabet[] = "ab /#\n\t\r+serial restart once driver\0\xff";
            text += alphabet[seed % (sizeof(alphabet) - 1)];
        }
        Parsed p = parse(text);
        CHECK(p.count <= kMaxServices);
        for (size_t i = 0; i < p.count; ++i)
            CHECK(p.specs[i].name != nullptr);
    }
}

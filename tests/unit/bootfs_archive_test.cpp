// The boot file system archive reader: the accepted layouts, lookups and listings, and one
// failing image per rule in archive.h.
//
// Archives are assembled in memory by a small ustar writer, so every field can be damaged
// on its own. Offsets, magic strings and the checksum rule are written out here from the
// POSIX ustar layout rather than taken from archive.cpp, so a wrong constant in the reader
// cannot hide behind the same wrong constant in the test. The writer lays headers out the
// way Python's tarfile (and so tools/mkbootfs.py) does: octal fields of width-1 digits and
// a NUL, the checksum as six digits, a NUL and a space.

#include <catch2/catch.hpp>

#include <lib/ustar.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using base::Error;
using ustar::Archive;
using ustar::Entry;

namespace {

const std::string kPosixMagic("ustar\0"
                              "00",
                              8);
const std::string kGnuMagic("ustar  \0", 8);

struct Member {
    std::string name;
    char type = '0';
    std::string data;
    std::string prefix;
    std::string linkname; // a hard link's ('1') target
    uint32_t mode = 0444;
    std::string magic = kPosixMagic;
    // When set, written as they are instead of being derived from the fields above.
    std::optional<std::string> size_field;
    std::optional<std::string> mode_field;
    std::optional<std::string> checksum_field;
    bool signed_checksum = false; // the checksum old tars computed over signed chars
};

Member file(std::string name, std::string data = "") {
    Member m;
    m.name = std::move(name);
    m.data = std::move(data);
    return m;
}

Member dir(const std::string& name) {
    Member m;
    m.name = name + "/";
    m.type = '5';
    m.mode = 0555;
    return m;
}

std::string octal(uint64_t value, size_t width) {
    char text[32];
    snprintf(text, sizeof(text), "%0*llo", int(width - 1), static_cast<unsigned long long>(value));
    return std::string(text) + '\0';
}

// Writes at most `width` bytes of `text`; the rest of the field stays NUL.
void put(std::vector<uint8_t>& block, size_t offset, size_t width, const std::string& text) {
    memcpy(block.data() + offset, text.data(), std::min(width, text.size()));
}

std::vector<uint8_t> header(const Member& m) {
    std::vector<uint8_t> block(512, 0);
    put(block, 0, 100, m.name);
    put(block, 100, 8, m.mode_field.value_or(octal(m.mode, 8)));
    put(block, 108, 8, octal(0, 8)); // uid
    put(block, 116, 8, octal(0, 8)); // gid
    put(block, 124, 12, m.size_field.value_or(octal(m.data.size(), 12)));
    put(block, 136, 12, octal(0, 12)); // mtime
    block[156] = uint8_t(m.type);
    put(block, 157, 100, m.linkname);
    put(block, 257, 8, m.magic);
    put(block, 329, 8, octal(0, 8)); // devmajor
    put(block, 337, 8, octal(0, 8)); // devminor
    put(block, 345, 155, m.prefix);

    put(block, 148, 8, "        ");
    int64_t sum = 0;
    for (uint8_t byte : block)
        sum += m.signed_checksum ? int64_t(int8_t(byte)) : int64_t(byte);
    put(block, 148, 8, m.checksum_field.value_or(octal(uint64_t(sum), 7) + " "));
    return block;
}

void append(std::vector<uint8_t>& image, const std::vector<uint8_t>& bytes) {
    image.insert(image.end(), bytes.begin(), bytes.end());
}

std::vector<uint8_t> build(const std::vector<Member>& members, size_t end_blocks = 2) {
    std::vector<uint8_t> image;
    for (const Member& m : members) {
        append(image, header(m));
        append(image, std::vector<uint8_t>(m.data.begin(), m.data.end()));
        image.resize((image.size() + 511) / 512 * 512, 0);
    }
    image.resize(image.size() + end_blocks * 512, 0);
    return image;
}

// An archive opened over an exact-size heap copy of the image, so ASan reports any read
// past its end; the copy lives as long as the archive, whose entries point into it.
struct Opened {
    std::unique_ptr<uint8_t[]> bytes;
    size_t size = 0;
    std::unique_ptr<Archive> archive = std::make_unique<Archive>();
    base::Result<void> result;

    base::Span<const uint8_t> image() const { return {bytes.get(), size}; }
};

Opened load(const std::vector<uint8_t>& image) {
    Opened o;
    o.size = image.size();
    o.bytes.reset(new uint8_t[image.empty() ? 1 : image.size()]);
    if (!image.empty())
        memcpy(o.bytes.get(), image.data(), image.size());
    o.result = o.archive->open(o.image());
    return o;
}

// Error::OK for an accepted image, so one CHECK compares any verdict.
Error verdict(const std::vector<uint8_t>& image) {
    Opened o = load(image);
    if (o.result.ok()) {
        return Error::OK;
    }
    CHECK(o.archive->count() == 0);
    return o.result.error();
}

Error verdict(const std::vector<Member>& members) { return verdict(build(members)); }

base::StringView sv(const std::string& s) { return {s.data(), s.size()}; }

std::string text(base::StringView view) { return std::string(view.data(), view.length()); }
std::string text(base::Span<const uint8_t> span) {
    return std::string(reinterpret_cast<const char*>(span.data()), span.size());
}

std::vector<std::string> children(const Archive& archive, base::StringView dir,
                                  Error expected = Error::OK) {
    std::vector<std::string> names;
    auto result = archive.list(dir, [&](const Entry& e) { names.push_back(text(e.path)); });
    if (expected == Error::OK) {
        REQUIRE(result.ok());
        CHECK(result.value() == names.size());
    } else {
        REQUIRE(result.is_error());
        CHECK(result.error() == expected);
    }
    return names;
}

std::vector<Member> sample() {
    return {
        dir("bin"),
        file("bin/init", "\x7f"
                         "ELF init"),
        file("bin/sh", std::string(700, 's')), // data over more than one block
        dir("etc"),
        file("etc/motd", "welcome\n"),
        dir("etc/rc"),
        file("etc/rc/boot.cfg", "start bin/init\n"),
        dir("empty"),
        file("README", ""),
    };
}

} // namespace

TEST_CASE("bootfs: a typical archive opens and every member is recorded") {
    auto members = sample();
    members[1].mode = 0555;
    Opened o = load(build(members));
    REQUIRE(o.result.ok());
    const Archive& a = *o.archive;
    REQUIRE(a.count() == members.size());

    // at() keeps archive order, with the trailing "/" of directories dropped.
    const char* order[] = {"bin",    "bin/init",        "bin/sh", "etc",   "etc/motd",
                           "etc/rc", "etc/rc/boot.cfg", "empty",  "README"};
    for (size_t i = 0; i < a.count(); ++i)
        CHECK(text(a.at(i).path) == order[i]);

    const Entry& init = a.at(1);
    CHECK_FALSE(init.is_directory);
    CHECK(init.mode == 0555);
    CHECK(init.size == 9);
    CHECK(text(init.data)
          == "\x7f"
             "ELF init");
    // The data is a view of the image itself, right after the header.
    CHECK(init.data.data() == o.bytes.get() + size_t(2 * 512));

    const Entry& sh = a.at(2);
    CHECK(sh.size == 700);
    CHECK(text(sh.data) == std::string(700, 's'));
    CHECK(sh.data.data() == o.bytes.get() + size_t(4 * 512));
    CHECK(sh.mode == 0444);

    const Entry& bin = a.at(0);
    CHECK(bin.is_directory);
    CHECK(bin.mode == 0555);
    CHECK(bin.size == 0);
    CHECK(bin.data.size() == 0);

    const Entry& readme = a.at(8);
    CHECK(readme.size == 0);
    CHECK(readme.data.size() == 0);
}

TEST_CASE("bootfs: find with and without the leading slash") {
    Opened o = load(build(sample()));
    REQUIRE(o.result.ok());
    const Archive& a = *o.archive;

    for (const char* path : {"etc/rc/boot.cfg", "/etc/rc/boot.cfg"}) {
        const Entry* e = a.find(path);
        REQUIRE(e != nullptr);
        CHECK(text(e->path) == "etc/rc/boot.cfg");
        CHECK(text(e->data) == "start bin/init\n");
    }
    for (const char* path : {"etc/rc", "/etc/rc", "bin", "/bin", "README", "/README"}) {
        INFO(path);
        CHECK(a.find(path) != nullptr);
    }
    CHECK(a.find("etc")->is_directory);
    CHECK_FALSE(a.find("/etc/motd")->is_directory);

    // Only exact, normalized paths match.
    for (const char* path : {"", "/", "etc/", "//etc", "etc//motd", "etc/motd/", "ETC/MOTD", "bi",
                             "bin/init2", "nothing", "etc/rc/boot"}) {
        INFO(path);
        CHECK(a.find(path) == nullptr);
    }
}

TEST_CASE("bootfs: list gives the direct children of a directory in path order") {
    Opened o = load(build(sample()));
    REQUIRE(o.result.ok());
    const Archive& a = *o.archive;

    using Names = std::vector<std::string>;
    CHECK(children(a, "") == Names{"README", "bin", "empty", "etc"});
    CHECK(children(a, "/") == Names{"README", "bin", "empty", "etc"});
    CHECK(children(a, "bin") == Names{"bin/init", "bin/sh"});
    CHECK(children(a, "/bin") == Names{"bin/init", "bin/sh"});
    // Grandchildren (etc/rc/boot.cfg) are not listed.
    CHECK(children(a, "etc") == Names{"etc/motd", "etc/rc"});
    CHECK(children(a, "etc/rc") == Names{"etc/rc/boot.cfg"});
    CHECK(children(a, "empty").empty());

    children(a, "nothing", Error::NOT_FOUND);
    children(a, "et", Error::NOT_FOUND);
    children(a, "etc/", Error::NOT_FOUND);
    children(a, "README", Error::WRONG_TYPE);
    children(a, "/etc/motd", Error::WRONG_TYPE);
}

TEST_CASE("bootfs: a directory named like a sibling's prefix lists only its own children") {
    // "a" < "a-b" < "a/c" in byte order, so a listing must not stop at the first
    // non-child after the directory.
    Opened o =
        load(build({dir("a"), dir("a-b"), file("a-b/x"), file("a/c"), file("a/d"), file("ab")}));
    REQUIRE(o.result.ok());
    using Names = std::vector<std::string>;
    CHECK(children(*o.archive, "a") == Names{"a/c", "a/d"});
    CHECK(children(*o.archive, "a-b") == Names{"a-b/x"});
    CHECK(children(*o.archive, "") == Names{"a", "a-b", "ab"});
}

TEST_CASE("bootfs: the ustar prefix is joined to the name") {
    Member nested = file("doc/readme", "joined");
    nested.prefix = "usr/share";
    // Both fields full, neither NUL-terminated: the longest path ustar can store.
    std::string long_prefix(155, 'p');
    std::string long_name(100, 'n');
    Member longest = file(long_name, "longest");
    longest.prefix = long_prefix;
    // How tarfile stores a directory whose name with "/" is over 100 bytes: all in the
    // prefix, with an empty name.
    Member long_dir = dir("");
    long_dir.name = "";
    long_dir.prefix = long_prefix;

    Opened o = load(
        build({dir("usr"), dir("usr/share"), dir("usr/share/doc"), nested, long_dir, longest}));
    REQUIRE(o.result.ok());
    const Archive& a = *o.archive;

    const Entry* e = a.find("/usr/share/doc/readme");
    REQUIRE(e != nullptr);
    CHECK(text(e->data) == "joined");

    CHECK(text(a.at(4).path) == long_prefix);
    CHECK(a.at(4).is_directory);
    std::string full = long_prefix + "/" + long_name;
    REQUIRE(full.size() == ustar::kMaxPathLength);
    e = a.find(sv(full));
    REQUIRE(e != nullptr);
    CHECK(text(e->path) == full);
    CHECK(text(e->data) == "longest");
    CHECK(children(*o.archive, sv(long_prefix)) == std::vector<std::string>{full});
}

TEST_CASE("bootfs: a name that fills its whole field is accepted") {
    std::string name(100, 'x');
    Opened o = load(build({file(name, "full")}));
    REQUIRE(o.result.ok());
    REQUIRE(o.archive->find(sv(name)) != nullptr);
    CHECK(o.archive->find(sv(name))->path.length() == 100);
}

TEST_CASE("bootfs: the end of the archive") {
    auto one_file = [] { return build({file("a", "x")}, 0); }; // 1024 bytes, no end blocks

    SECTION("an empty image is an empty archive") {
        Opened o = load({});
        CHECK(o.result.ok());
        CHECK(o.archive->count() == 0);
    }
    SECTION("two zero blocks alone") {
        Opened o = load(std::vector<uint8_t>(1024, 0));
        CHECK(o.result.ok());
        CHECK(o.archive->count() == 0);
    }
    SECTION("a full tar record of zeros") {
        CHECK(verdict(std::vector<uint8_t>(10240, 0)) == Error::OK);
    }
    SECTION("two zero blocks") { CHECK(verdict(build({file("a", "x")}, 2)) == Error::OK); }
    SECTION("one zero block at the end of the image") {
        CHECK(verdict(build({file("a", "x")}, 1)) == Error::OK);
    }
    SECTION("no zero block: the image ends after the last member") {
        Opened o = load(one_file());
        CHECK(o.result.ok());
        CHECK(o.archive->count() == 1);
    }
    SECTION("anything after two zero blocks is ignored") {
        auto image = build({file("a", "x")}, 2);
        append(image, header(file("hidden")));
        image.push_back(0xFF);
        Opened o = load(image);
        CHECK(o.result.ok());
        CHECK(o.archive->count() == 1);
        CHECK(o.archive->find("hidden") == nullptr);
    }
    SECTION("a zero block and a short zero tail") {
        auto image = build({file("a", "x")}, 1);
        image.resize(image.size() + 100, 0);
        CHECK(verdict(image) == Error::OK);
    }
    SECTION("a short zero tail without an end block") {
        auto image = one_file();
        image.resize(image.size() + 300, 0);
        CHECK(verdict(image) == Error::OK);
    }
    SECTION("a lone zero block followed by another header") {
        auto image = build({file("a", "x")}, 1);
        append(image, header(file("hidden")));
        CHECK(verdict(image) == Error::CORRUPT);
    }
    SECTION("a zero block followed by a short non-zero tail") {
        auto image = build({file("a", "x")}, 1);
        image.resize(image.size() + 100, 0);
        image.back() = 1;
        CHECK(verdict(image) == Error::CORRUPT);
    }
    SECTION("a truncated header") {
        auto image = one_file();
        auto next = header(file("b"));
        image.insert(image.end(), next.begin(), next.begin() + 511);
        CHECK(verdict(image) == Error::CORRUPT);
    }
    SECTION("a short non-zero tail") {
        auto image = one_file();
        image.push_back(7);
        CHECK(verdict(image) == Error::CORRUPT);
    }
}

TEST_CASE("bootfs: header formats") {
    SECTION("typeflag NUL is an old-style regular file") {
        Member m = file("old", "data");
        m.type = '\0';
        Opened o = load(build({m}));
        REQUIRE(o.result.ok());
        CHECK_FALSE(o.archive->at(0).is_directory);
        CHECK(text(o.archive->at(0).data) == "data");
    }
    SECTION("GNU magic, whose prefix field holds other data and is ignored") {
        Member m = file("gnu", "data");
        m.magic = kGnuMagic;
        m.prefix = "14567034450"; // what GNU tar keeps there: an atime, say
        Member d = dir("gdir");
        d.magic = kGnuMagic;
        Opened o = load(build({m, d}));
        REQUIRE(o.result.ok());
        CHECK(o.archive->find("gnu") != nullptr);
        CHECK(o.archive->find("gdir") != nullptr);
    }
    SECTION("a checksum over signed bytes, as old tars wrote it") {
        Member m = file("caf\xc3\xa9", "x"); // bytes above 0x7F make the two sums differ
        m.signed_checksum = true;
        Opened o = load(build({m}));
        REQUIRE(o.result.ok());
        CHECK(o.archive->find("caf\xc3\xa9") != nullptr);
    }
    SECTION("the unsigned checksum of the same header") {
        CHECK(verdict({file("caf\xc3\xa9", "x")}) == Error::OK);
    }
    SECTION("octal fields with leading spaces, space terminators or no terminator") {
        Member a = file("a", "12345");
        a.size_field = std::string("          5 ", 12);
        a.mode_field = std::string("   644  ", 8);
        a.checksum_field.reset();
        Member b = file("b", "12345");
        b.size_field = std::string("000000000005", 12); // all twelve bytes digits
        b.mode_field = std::string("00000644", 8);
        Member c = file("c", "12345");
        c.size_field = std::string("5\0\0\0\0\0\0\0\0\0\0\0", 12);
        c.mode_field = std::string("644 \0 \0 ", 8);
        Opened o = load(build({a, b, c}));
        REQUIRE(o.result.ok());
        for (size_t i = 0; i < 3; ++i) {
            CHECK(o.archive->at(i).size == 5);
            CHECK(o.archive->at(i).mode == 0644);
        }
    }
    SECTION("mode bits above 07777 are dropped") {
        Member m = file("m");
        m.mode = 0100755;
        Opened o = load(build({m}));
        REQUIRE(o.result.ok());
        CHECK(o.archive->at(0).mode == 0755);
    }
    SECTION("set-id and sticky bits are kept") {
        Member m = dir("t");
        m.mode = 01777;
        Opened o = load(build({m}));
        REQUIRE(o.result.ok());
        CHECK(o.archive->at(0).mode == 01777);
    }
    SECTION("a directory name without the trailing slash") {
        Member m = dir("plain");
        m.name = "plain";
        Opened o = load(build({m, file("plain/x")}));
        REQUIRE(o.result.ok());
        CHECK(o.archive->find("plain")->is_directory);
    }
    SECTION("a child may come before its parent directory") {
        CHECK(verdict({file("late/x"), dir("late")}) == Error::OK);
    }
}

TEST_CASE("bootfs: a bad checksum is CORRUPT") {
    Member m = file("a", "x");
    SECTION("off by one") {
        auto image = build({m});
        image[0] = 'b'; // the stored sum is now one short
        CHECK(verdict(image) == Error::CORRUPT);
    }
    SECTION("malformed") {
        m.checksum_field = std::string("12x456\0 ", 8);
        CHECK(verdict({m}) == Error::CORRUPT);
    }
    SECTION("empty") {
        m.checksum_field = std::string(8, '\0');
        CHECK(verdict({m}) == Error::CORRUPT);
    }
    SECTION("a bit flip in the unused tail of the header") {
        auto image = build({m});
        image[511] ^= 1;
        CHECK(verdict(image) == Error::CORRUPT);
    }
}

TEST_CASE("bootfs: a magic other than ustar is CORRUPT") {
    for (const std::string& magic :
         {std::string("ustar\0"
                      "01",
                      8),
          std::string("ustar 00", 8), std::string("ustar\0  ", 8), std::string("ustar  x", 8),
          std::string("USTAR\0"
                      "00",
                      8),
          std::string(8, '\0')}) {
        Member m = file("a", "x");
        m.magic = magic;
        INFO("magic: " << magic);
        CHECK(verdict({m}) == Error::CORRUPT);
    }
}

// A hard link named path to target.
Member hard_link(std::string path, std::string target) {
    Member m = file(std::move(path));
    m.type = '1';
    m.linkname = std::move(target);
    m.mode = 0555;
    return m;
}

TEST_CASE("bootfs: a hard link is its target's data under another name") {
    Opened o = load(build({dir("bin"), file("bin/busybox", std::string(700, 'b')),
                           hard_link("bin/ls", "bin/busybox"), hard_link("bin/[", "bin/busybox"),
                           file("bin/true", "t")}));
    REQUIRE(o.result.ok());
    const Entry* busybox = o.archive->find("bin/busybox");
    const Entry* ls = o.archive->find("/bin/ls");
    const Entry* bracket = o.archive->find("bin/[");
    REQUIRE(busybox != nullptr);
    REQUIRE(ls != nullptr);
    REQUIRE(bracket != nullptr);
    CHECK_FALSE(ls->is_directory);
    CHECK(ls->size == 700);
    CHECK(ls->data.data() == busybox->data.data());
    CHECK(bracket->data.data() == busybox->data.data());
    CHECK(ls->mode == 0555);
    // The header after a link follows it at once: a link has no data blocks.
    const Entry* t = o.archive->find("bin/true");
    REQUIRE(t != nullptr);
    CHECK(t->size == 1);
    CHECK(t->data[0] == 't');
    CHECK(children(*o.archive, "bin")
          == std::vector<std::string>{"bin/[", "bin/busybox", "bin/ls", "bin/true"});
}

TEST_CASE("bootfs: a hard link to nothing, a directory, a later entry or with data is refused") {
    CHECK(verdict(build({dir("bin"), hard_link("bin/ls", "bin/busybox")})) == Error::CORRUPT);
    CHECK(verdict(build({dir("bin"), hard_link("bin/ls", "")})) == Error::CORRUPT);
    CHECK(verdict(build({dir("bin"), hard_link("bin/ls", "bin")})) == Error::CORRUPT);
    CHECK(verdict(build({dir("bin"), hard_link("bin/ls", "bin/x"), file("bin/x", "x")}))
          == Error::CORRUPT);
    Member sized = hard_link("bin/ls", "bin/x");
    sized.size_field = octal(1, 12);
    CHECK(verdict(build({dir("bin"), file("bin/x", "x"), sized})) == Error::CORRUPT);
    CHECK(verdict(build({dir("bin"), file("bin/x", "x"), hard_link("bin/x", "bin/x")}))
          == Error::ALREADY_EXISTS);
    CHECK(verdict(build({file("x", "x"), hard_link("y/ls", "x")})) == Error::CORRUPT);
}

TEST_CASE("bootfs: only regular files, hard links and directories are supported") {
    for (char type : {'2', '3', '4', '6', '7', 'g', 'L', 'K', 'A', 'D', 'S', 'V'}) {
        Member m = file("special");
        m.type = type;
        INFO("typeflag " << type);
        CHECK(verdict({m}) == Error::NOT_SUPPORTED);
    }
    // The type decides before the size, whose meaning depends on it.
    Member global = file("pax");
    global.type = 'g';
    global.size_field = std::string("garbage", 7);
    CHECK(verdict({global}) == Error::NOT_SUPPORTED);
}

// A pax extended header holding the given records, as mkbootfs writes for padding.
Member pax(const std::string& records) {
    Member m = file("././@PaxHeader", records);
    m.type = 'x';
    return m;
}

// A "comment" record of exactly length bytes (length >= 12).
std::string comment(size_t length) {
    std::string head = std::to_string(length) + " comment=";
    return head + std::string(length - head.size() - 1, 'p') + "\n";
}

TEST_CASE("bootfs: pax comment headers are padding, not entries") {
    REQUIRE(comment(12).size() == 12);
    REQUIRE(comment(2560).size() == 2560);
    // Padding that puts the file's data on a page boundary, as mkbootfs does: the
    // directory's header, the padding's header and 2,560 bytes, then the file's header.
    std::vector<uint8_t> image = build(
        {dir("bin"), pax(comment(2560)), file("bin/a", "ELF"), pax(""), file("bin/b", "data")});
    Opened o = load(image);
    REQUIRE(o.result.ok());
    CHECK(o.archive->count() == 3);
    CHECK(children(*o.archive, "/bin").size() == 2);
    const Entry* a = o.archive->find(sv("bin/a"));
    REQUIRE(a != nullptr);
    CHECK(text(a->data) == "ELF");
    CHECK(size_t(a->data.data() - o.bytes.get()) == 4096);
    const Entry* b = o.archive->find(sv("bin/b"));
    REQUIRE(b != nullptr);
    CHECK(text(b->data) == "data");
    // Several records, all comments.
    CHECK(verdict({pax(comment(12) + comment(40)), file("a")}) == Error::OK);
}

TEST_CASE("bootfs: a pax header with another keyword or broken records is refused") {
    // Keywords that would change the next entry (its path, its size) are not applied.
    CHECK(verdict({pax("15 path=/etc/x\n"), file("a")}) == Error::NOT_SUPPORTED);
    CHECK(verdict({pax(comment(12) + "12 size=999\n"), file("a")}) == Error::NOT_SUPPORTED);
    CHECK(verdict({pax("12 commentX\n"), file("a")}) == Error::NOT_SUPPORTED);
    // Records that do not tile the data.
    for (const char* records : {"x", "11 comment=\n", "13 comment=a\n\n", "13 comment=ab", "3 a\n",
                                " 12 comment\n", "12comment=x\n", "99999999999 comment=\n"}) {
        INFO("records: " << records);
        CHECK(verdict({pax(records), file("a")}) == Error::CORRUPT);
    }
    // Its size is checked as any entry's.
    Member broken = pax("");
    broken.size_field = std::string("garbage", 7);
    CHECK(verdict({broken}) == Error::CORRUPT);
}

TEST_CASE("bootfs: a malformed size or one past the image is CORRUPT") {
    auto with_size = [](const std::string& field) {
        Member m = file("a", "x");
        m.size_field = field;
        return verdict({m});
    };
    CHECK(with_size(std::string("0000000001a\0", 12)) == Error::CORRUPT);
    CHECK(with_size(std::string("00000000008\0", 12)) == Error::CORRUPT);
    CHECK(with_size(std::string("0000000000-1", 12)) == Error::CORRUPT);
    CHECK(with_size(std::string(12, '\0')) == Error::CORRUPT);
    CHECK(with_size(std::string(12, ' ')) == Error::CORRUPT);
    CHECK(with_size(std::string("1 1\0\0\0\0\0\0\0\0\0", 12)) == Error::CORRUPT);
    CHECK(with_size(std::string("\x80\0\0\0\0\0\0\0\0\0\0\x01", 12)) == Error::CORRUPT);
    // The largest size the field can hold, far past the image.
    CHECK(with_size(std::string("777777777777", 12)) == Error::CORRUPT);
    CHECK(with_size(std::string("77777777777\0", 12)) == Error::CORRUPT);

    SECTION("data running past the image") {
        auto image = build({file("a", std::string(600, 'd'))}, 0);
        image.resize(512 + 599);
        CHECK(verdict(image) == Error::CORRUPT);
    }
    SECTION("data inside the image but its padding cut off") {
        auto image = build({file("a", std::string(600, 'd'))}, 0);
        image.resize(512 + 600);
        CHECK(verdict(image) == Error::CORRUPT);
    }
    SECTION("data ending exactly at a block boundary needs no padding") {
        auto image = build({file("a", std::string(1024, 'd'))}, 0);
        REQUIRE(image.size() == 512 + 1024);
        CHECK(verdict(image) == Error::OK);
    }
    SECTION("a size that points into the end marker") {
        Member m = file("a", "x");
        m.size_field = octal(1025, 12); // two blocks of data, one block left
        CHECK(verdict(build({m}, 1)) == Error::CORRUPT);
    }
    SECTION("a directory with a size") {
        Member d = dir("d");
        d.data = "x";
        CHECK(verdict({d}) == Error::CORRUPT);
    }
}

TEST_CASE("bootfs: a malformed mode is CORRUPT") {
    for (const std::string& field : {std::string("0000x44\0", 8), std::string(8, '\0'),
                                     std::string("0009644\0", 8), std::string("644\0 7\0\0", 8)}) {
        Member m = file("a");
        m.mode_field = field;
        CHECK(verdict({m}) == Error::CORRUPT);
    }
}

TEST_CASE("bootfs: names that are empty, absolute or escape the root are CORRUPT") {
    for (const char* name : {"", "/", "/etc", "/etc/motd", "a//b", "./a", "a/.", "a/./b", "..",
                             "../a", "a/..", "a/../b", ".", "file/"}) {
        INFO("file name '" << name << "'");
        CHECK(verdict({dir("a"), file(name)}) == Error::CORRUPT);
    }
    for (const char* name : {"", "/", "/abs", "..", "a/..", ".", "a//", "a//b"}) {
        INFO("directory name '" << name << "/'");
        CHECK(verdict({dir("a"), dir(name)}) == Error::CORRUPT);
    }
    SECTION("through the prefix") {
        for (const char* prefix : {"/a", "a/", "..", "a/..", "."}) {
            Member m = file("b");
            m.prefix = prefix;
            INFO("prefix '" << prefix << "'");
            CHECK(verdict({dir("a"), m}) == Error::CORRUPT);
        }
    }
    SECTION("a file with an empty name under a prefix") {
        Member m = file("");
        m.prefix = "a";
        CHECK(verdict({dir("a"), m}) == Error::CORRUPT);
    }
}

TEST_CASE("bootfs: every parent must be a directory in the archive") {
    CHECK(verdict({file("a/b")}) == Error::CORRUPT);
    CHECK(verdict({dir("a"), file("a/b/c")}) == Error::CORRUPT);
    CHECK(verdict({file("a"), file("a/b")}) == Error::CORRUPT);
    CHECK(verdict({file("a/b"), file("a")}) == Error::CORRUPT);
    Member joined = file("c");
    joined.prefix = "a/b";
    CHECK(verdict({dir("a"), joined}) == Error::CORRUPT);
    CHECK(verdict({dir("a"), dir("a/b"), joined}) == Error::OK);
}

TEST_CASE("bootfs: duplicate names are ALREADY_EXISTS") {
    CHECK(verdict({file("a", "1"), file("a", "2")}) == Error::ALREADY_EXISTS);
    CHECK(verdict({dir("a"), dir("a")}) == Error::ALREADY_EXISTS);
    Member plain = dir("a");
    plain.name = "a";
    CHECK(verdict({dir("a"), plain}) == Error::ALREADY_EXISTS); // "a/" and "a" are one name
    CHECK(verdict({dir("a"), file("a")}) == Error::ALREADY_EXISTS);
    // The same path spelled once with the prefix and once without.
    Member joined = file("c");
    joined.prefix = "a/b";
    CHECK(verdict({dir("a"), dir("a/b"), file("a/b/c"), joined}) == Error::ALREADY_EXISTS);
    // Not duplicates: names that only share a prefix.
    CHECK(verdict({file("a"), file("ab"), file("a-"), dir("b"), file("b/a")}) == Error::OK);
}

TEST_CASE("bootfs: at most kMaxEntries entries") {
    REQUIRE(ustar::kMaxEntries == 256);
    std::vector<Member> members;
    // Long names sharing a long prefix make each comparison as slow as it can be.
    std::string stem(90, 's');
    for (size_t i = 0; i < 256; ++i) {
        char suffix[16];
        snprintf(suffix, sizeof(suffix), "%03zu", (i * 97) % 256); // out of order
        members.push_back(file(stem + suffix, suffix));
    }
    Opened o = load(build(members));
    REQUIRE(o.result.ok());
    CHECK(o.archive->count() == 256);
    CHECK(children(*o.archive, "/").size() == 256);
    for (size_t i = 0; i < 256; ++i) {
        char suffix[16];
        snprintf(suffix, sizeof(suffix), "%03zu", i);
        const Entry* e = o.archive->find(sv(stem + suffix));
        REQUIRE(e != nullptr);
        CHECK(text(e->data) == suffix);
    }

    members.push_back(file("one-more"));
    CHECK(verdict(members) == Error::TOO_BIG);
    // The bound counts headers, so it is reached before the 257th header is even read.
    members.back().checksum_field = std::string("garbage", 7);
    CHECK(verdict(members) == Error::TOO_BIG);
}

TEST_CASE("bootfs: open() starts over and an error leaves the archive empty") {
    auto archive = std::make_unique<Archive>();
    auto good = build(sample());
    auto bad = build({file("a"), file("a")});
    REQUIRE(archive->open({good.data(), good.size()}).ok());
    REQUIRE(archive->count() == sample().size());

    auto result = archive->open({bad.data(), bad.size()});
    REQUIRE(result.is_error());
    CHECK(result.error() == Error::ALREADY_EXISTS);
    CHECK(archive->count() == 0);
    CHECK(archive->find("a") == nullptr);
    CHECK(archive->find("bin") == nullptr);
    CHECK(archive->list("", [](const Entry&) {}).value() == 0);

    auto small = build({file("x", "1")});
    REQUIRE(archive->open({small.data(), small.size()}).ok());
    CHECK(archive->count() == 1);
    CHECK(archive->find("bin") == nullptr);
    CHECK(text(archive->find("x")->data) == "1");
}

// Runs the boot archive reader over 200,000 seeded mutations of valid archives under ASan
// and UBSan. Most mutations rewrite one header field (size, mode, checksum, typeflag,
// magic, name, prefix) with a value from the edges the reader has to get right, and then
// usually repair the header's checksum, since otherwise nearly every mutant would stop at
// the checksum and the rules behind it would go untested. The rest are bit flips,
// truncations, appended junk, zeroed blocks, copied headers and inserted members.
//
// Every open() must come back; every failure must be a documented error with the archive
// left empty; every success is re-checked here, independently of the reader, against the
// image it came from: each entry's data lies inside the image, right after a header whose
// checksum is valid, and the paths form a consistent tree.

#include <catch2/catch.hpp>

#include <lib/ustar.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using base::Error;
using ustar::Archive;
using ustar::Entry;

namespace {

constexpr size_t kIterations = 200000;
constexpr size_t kBlock = 512;

std::string octal(uint64_t value, size_t width) {
    char text[32];
    snprintf(text, sizeof(text), "%0*llo", int(width - 1), static_cast<unsigned long long>(value));
    return std::string(text) + '\0';
}

void put(std::vector<uint8_t>& image, size_t offset, size_t width, const std::string& text) {
    if (offset >= image.size())
        return;
    size_t n = std::min({width, text.size(), image.size() - offset});
    memcpy(image.data() + offset, text.data(), n);
    // The rest of the field is cleared, as a tar writer pads it.
    for (size_t i = n; i < width && offset + i < image.size(); ++i)
        image[offset + i] = 0;
}

bool checksum_valid(const uint8_t* header) {
    uint64_t unsigned_sum = 0;
    int64_t signed_sum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
        uint8_t byte = (i >= 148 && i < 156) ? uint8_t(' ') : header[i];
        unsigned_sum += byte;
        signed_sum += int8_t(byte);
    }
    // The stored value, read as liberally as any reader could: the octal digits.
    uint64_t stored = 0;
    for (size_t i = 148; i < 156; ++i) {
        if (header[i] >= '0' && header[i] <= '7')
            stored = stored * 8 + uint64_t(header[i] - '0');
    }
    return stored == unsigned_sum || (signed_sum >= 0 && stored == uint64_t(signed_sum));
}

void fix_checksum(std::vector<uint8_t>& image, size_t offset, bool use_signed) {
    if (offset + kBlock > image.size())
        return;
    put(image, offset + 148, 8, "        ");
    int64_t sum = 0;
    for (size_t i = 0; i < kBlock; ++i)
        sum += use_signed ? int64_t(int8_t(image[offset + i])) : int64_t(image[offset + i]);
    put(image, offset + 148, 8, octal(uint64_t(sum), 7) + " ");
}

std::vector<uint8_t> header(const std::string& name, char type, size_t size,
                            const std::string& prefix = "", bool gnu = false) {
    std::vector<uint8_t> block(kBlock, 0);
    put(block, 0, 100, name);
    put(block, 100, 8, octal(type == '5' ? 0555 : 0444, 8));
    put(block, 108, 8, octal(0, 8));
    put(block, 116, 8, octal(0, 8));
    put(block, 124, 12, octal(size, 12));
    put(block, 136, 12, octal(0, 12));
    block[156] = uint8_t(type);
    put(block, 257, 8,
        gnu ? std::string("ustar  \0", 8)
            : std::string("ustar\0"
                          "00",
                          8));
    put(block, 345, 155, prefix);
    fix_checksum(block, 0, false);
    return block;
}

struct Seed {
    std::vector<uint8_t> image;
    std::vector<size_t> headers; // offsets of the member headers
};

struct Builder {
    Seed seed;

    void add(const std::string& name, char type, const std::string& data = "",
             const std::string& prefix = "", bool gnu = false) {
        seed.headers.push_back(seed.image.size());
        auto h = header(name, type, data.size(), prefix, gnu);
        seed.image.insert(seed.image.end(), h.begin(), h.end());
        seed.image.insert(seed.image.end(), data.begin(), data.end());
        seed.image.resize((seed.image.size() + kBlock - 1) / kBlock * kBlock, 0);
    }

    Seed finish(size_t end_blocks = 2) {
        seed.image.resize(seed.image.size() + end_blocks * kBlock, 0);
        return seed;
    }
};

std::vector<Seed> seeds() {
    std::vector<Seed> out;
    {
        // A typical boot archive: nested directories, files of odd sizes, a prefix.
        Builder b;
        b.add("bin/", '5');
        b.add("bin/init", '0', std::string(700, 'i'));
        b.add("bin/sh", '0',
              "\x7f"
              "ELF");
        b.add("etc/", '5');
        b.add("etc/motd", '0', "welcome\n");
        b.add("etc/empty", '0');
        b.add("etc/rc/", '5');
        b.add("boot.cfg", '\0', "start\n", "etc/rc");
        b.add(std::string(100, 'n'), '0', "long", "etc");
        out.push_back(b.finish());
    }
    {
        // GNU headers and a single end block.
        Builder b;
        b.add("g/", '5', "", "", true);
        b.add("g/file", '0', std::string(1024, 'g'), "", true);
        b.add("top", '0', "t");
        out.push_back(b.finish(1));
    }
    {
        // Exactly kMaxEntries members, so one more header is TOO_BIG.
        Builder b;
        b.add("d/", '5');
        for (int i = 1; i < 256; ++i) {
            char name[32];
            snprintf(name, sizeof(name), "d/%03d", (i * 37) % 256);
            b.add(name, '0');
        }
        out.push_back(b.finish(0));
    }
    return out;
}

std::string random_octal_field(std::mt19937_64& rng, uint64_t image_size, size_t width) {
    const uint64_t values[] = {0,
                               1,
                               2,
                               511,
                               512,
                               513,
                               1023,
                               1024,
                               image_size,
                               image_size - 1,
                               image_size + 1,
                               image_size - 512,
                               image_size - 1024,
                               077777777777ull,
                               0777777777777ull,
                               07777,
                               0100755};
    uint64_t v = values[rng() % (sizeof(values) / sizeof(values[0]))];
    switch (rng() % 8) {
    case 0:
        return std::string(width, char('0' + rng() % 8)); // digits to the last byte
    case 1:
        return " " + std::to_string(v); // decimal digits, possibly 8 and 9
    case 2:
        return std::string(1, char(0x80)) + std::string(width - 2, '\0') + char(rng());
    case 3:
        return octal(v, width).substr(0, width - 1) + " ";
    case 4: {
        std::string s = octal(v, width);
        s[rng() % s.size()] = char("0 \0x8-"[rng() % 6]);
        return s;
    }
    default:
        return octal(v, width);
    }
}

std::string random_name(std::mt19937_64& rng) {
    static const std::string names[] = {
        "",          "/",        "..",    ".",       "a/../b",    "x//y",
        "/etc/motd", "etc/motd", "etc/",  "etc",     "bin/init",  "bin",
        "bin/",      "d/001",    "d/",    "d",       "g/file",    "g",
        "top",       "top/",     "new",   "new/x",   "etc/rc",    "./a",
        "boot.cfg",  "etc/rc/x", "d/256", "d/001/x", "bin/init/", std::string("a\0b/c", 5),
    };
    switch (rng() % 6) {
    case 0:
        return std::string(100, char('a' + rng() % 3)); // no NUL in the field
    case 1: {
        std::string s(1 + rng() % 8, 'a');
        for (char& c : s)
            c = "ab/.\0"[rng() % 5];
        return s;
    }
    default:
        return names[rng() % (sizeof(names) / sizeof(names[0]))];
    }
}

// Mutates one header field or the image's structure; returns the offset of a header
// whose checksum the caller may repair, or SIZE_MAX.
size_t mutate(std::vector<uint8_t>& image, const std::vector<size_t>& headers,
              std::mt19937_64& rng) {
    size_t h = headers[rng() % headers.size()];
    switch (rng() % 14) {
    case 0: { // flip a few bits anywhere
        if (image.empty())
            return SIZE_MAX;
        size_t at = rng() % image.size();
        for (int n = 1 + int(rng() % 4); n > 0; --n)
            image[at] ^= uint8_t(1u << (rng() % 8));
        return at / kBlock * kBlock;
    }
    case 1: { // a random byte inside a header
        if (h + kBlock <= image.size())
            image[h + rng() % kBlock] = uint8_t(rng());
        return h;
    }
    case 2: { // truncate, usually near a block boundary
        if (image.empty())
            return SIZE_MAX;
        size_t at = rng() % (image.size() + 1);
        if (rng() % 2)
            at = std::min(image.size(), at / kBlock * kBlock + (rng() % 3) - 1);
        image.resize(at);
        return SIZE_MAX;
    }
    case 3: { // append junk or zeros
        size_t n = rng() % 3 == 0 ? kBlock : rng() % 700;
        bool zeros = rng() % 2;
        for (size_t i = 0; i < n; ++i)
            image.push_back(zeros ? 0 : uint8_t(rng()));
        return SIZE_MAX;
    }
    case 4: // size
        put(image, h + 124, 12, random_octal_field(rng, image.size(), 12));
        return h;
    case 5: // mode
        put(image, h + 100, 8, random_octal_field(rng, image.size(), 8));
        return h;
    case 6: // checksum, left as written
        put(image, h + 148, 8, random_octal_field(rng, image.size(), 8));
        return SIZE_MAX;
    case 7: { // typeflag
        const char types[] = {'0', '\0', '5', '1', '2', '3', '6', '7', 'x', 'g', 'L', 'K', 'A'};
        if (h + kBlock <= image.size())
            image[h + 156] = uint8_t(types[rng() % sizeof(types)]);
        return h;
    }
    case 8: { // magic
        const std::string magics[] = {std::string("ustar\0"
                                                  "00",
                                                  8),
                                      std::string("ustar  \0", 8), std::string("ustar 00", 8),
                                      std::string(8, '\0')};
        put(image, h + 257, 8, magics[rng() % 4]);
        return h;
    }
    case 9: // prefix
        put(image, h + 345, 155, rng() % 3 ? random_name(rng) : std::string(155, 'p'));
        return h;
    case 10: // zero a whole block, often a header: an early end marker
    {
        size_t at = rng() % 2 ? h : (image.empty() ? 0 : rng() % image.size()) / kBlock * kBlock;
        for (size_t i = 0; i < kBlock && at + i < image.size(); ++i)
            image[at + i] = 0;
        return SIZE_MAX;
    }
    case 11: { // copy one header over another: duplicates and contradictions
        size_t from = headers[rng() % headers.size()];
        if (from + kBlock <= image.size() && h + kBlock <= image.size())
            memmove(image.data() + h, image.data() + from, kBlock);
        return SIZE_MAX;
    }
    case 12: { // insert a fresh, valid member before a header
        auto block = header(rng() % 2 ? "new" : "d/new", rng() % 4 ? '0' : '5', 0);
        if (h <= image.size())
            image.insert(image.begin() + long(h), block.begin(), block.end());
        return SIZE_MAX;
    }
    default: // name
        put(image, h, 100, random_name(rng));
        return h;
    }
}

bool documented(Error e) {
    return e == Error::CORRUPT || e == Error::NOT_SUPPORTED || e == Error::TOO_BIG
           || e == Error::ALREADY_EXISTS;
}

bool valid_path(const std::string& path) {
    if (path.empty() || path.size() > ustar::kMaxPathLength)
        return false;
    size_t start = 0;
    for (;;) {
        size_t end = path.find('/', start);
        std::string component = path.substr(start, end == std::string::npos ? end : end - start);
        if (component.empty() || component == "." || component == ".."
            || component.find('\0') != std::string::npos)
            return false;
        if (end == std::string::npos)
            return true;
        start = end + 1;
    }
}

// The reader's promises (archive.h), checked from first principles. Returns a description
// of the first broken one, or nullptr.
const char* check_invariants(const uint8_t* image, size_t size, const Archive& archive) {
    if (archive.count() > ustar::kMaxEntries)
        return "more than kMaxEntries entries";
    std::map<std::string, const Entry*> by_path;
    for (size_t i = 0; i < archive.count(); ++i) {
        const Entry& e = archive.at(i);
        std::string path(e.path.data(), e.path.length());
        if (!valid_path(path))
            return "an invalid path was accepted";
        if (!by_path.emplace(path, &e).second)
            return "a duplicate path was accepted";
        if (e.mode > 07777)
            return "mode above 07777";
        if (e.data.size() != e.size)
            return "data size differs from size";
        if (e.is_directory && e.size != 0)
            return "a directory with data";
        if (e.is_directory)
            continue;
        // Compare addresses as integers, so a span outside the image cannot pass the check
        // by wrapping around.
        auto base_address = reinterpret_cast<uintptr_t>(image);
        auto data_address = reinterpret_cast<uintptr_t>(e.data.data());
        if (data_address < base_address + kBlock || data_address - base_address > size
            || size - (data_address - base_address) < e.size)
            return "data outside the image";
        size_t header_offset = data_address - base_address - kBlock;
        if (header_offset % kBlock != 0)
            return "data not block-aligned";
        if (!checksum_valid(image + header_offset))
            return "data behind a header with a bad checksum";
    }

    size_t listed = 0;
    auto count_children = [&](base::StringView dir) -> const char* {
        auto result = archive.list(dir, [&](const Entry&) { ++listed; });
        return result.ok() ? nullptr : "listing a directory failed";
    };
    if (const char* broken = count_children("/"))
        return broken;
    for (const auto& [path, entry] : by_path) {
        if (archive.find(base::StringView(path.data(), path.size())) != entry)
            return "find() does not return the entry";
        std::string rooted = "/" + path;
        if (archive.find(base::StringView(rooted.data(), rooted.size())) != entry)
            return "find() with a leading slash does not return the entry";
        size_t slash = path.rfind('/');
        if (slash != std::string::npos) {
            auto parent = by_path.find(path.substr(0, slash));
            if (parent == by_path.end() || !parent->second->is_directory)
                return "an entry without a parent directory";
        }
        if (entry->is_directory) {
            if (const char* broken = count_children(entry->path))
                return broken;
        }
    }
    // Every entry is the child of exactly one directory (or of the root).
    if (listed != archive.count())
        return "listings do not cover every entry exactly once";
    return nullptr;
}

} // namespace

TEST_CASE("bootfs fuzz: seeded mutations never crash and every success keeps the invariants") {
    const auto all = seeds();
    auto archive = std::make_unique<Archive>();
    // The seeds themselves must be valid, or the fuzzer would only ever test rejection.
    for (const auto& seed : all) {
        REQUIRE(archive->open({seed.image.data(), seed.image.size()}).ok());
        REQUIRE(check_invariants(seed.image.data(), seed.image.size(), *archive) == nullptr);
        REQUIRE(archive->count() == seed.headers.size());
    }

    std::mt19937_64 rng(0xB007F5A7C41Eull);
    std::map<int, size_t> outcomes;
    for (size_t iteration = 0; iteration < kIterations; ++iteration) {
        // The 256-member seed is large; it is drawn rarely, enough to reach TOO_BIG.
        size_t which = rng() % 50 == 0 ? 2 : rng() % 2;
        const Seed& seed = all[which];
        std::vector<uint8_t> image = seed.image;
        for (int n = 1 + int(rng() % 3); n > 0; --n) {
            size_t repaired = mutate(image, seed.headers, rng);
            if (repaired != SIZE_MAX && rng() % 10 != 0)
                fix_checksum(image, repaired, rng() % 8 == 0);
        }

        // Exact-size heap storage, so ASan flags any read past the end of the image.
        std::unique_ptr<uint8_t[]> exact(new uint8_t[image.empty() ? 1 : image.size()]);
        if (!image.empty())
            memcpy(exact.get(), image.data(), image.size());
        auto result = archive->open({exact.get(), image.size()});

        if (result.ok()) {
            ++outcomes[0];
            const char* broken = check_invariants(exact.get(), image.size(), *archive);
            if (broken != nullptr) {
                INFO("iteration " << iteration << " seed " << which << ": " << broken);
                FAIL();
            }
        } else {
            Error e = result.error();
            ++outcomes[int(e)];
            if (!documented(e) || archive->count() != 0) {
                INFO("iteration " << iteration << " seed " << which << ": error "
                                  << base::error_name(e));
                FAIL();
            }
        }
    }

    std::ostringstream summary;
    for (auto [code, count] : outcomes)
        summary << (code == 0 ? "success" : base::error_name(Error(code))) << ": " << count << "\n";
    INFO(summary.str());
    // The mutations should reach every verdict, or they are not exploring the rules.
    CHECK(outcomes[0] > kIterations / 20);
    CHECK(outcomes[int(Error::CORRUPT)] > 0);
    CHECK(outcomes[int(Error::NOT_SUPPORTED)] > 0);
    CHECK(outcomes[int(Error::ALREADY_EXISTS)] > 0);
    CHECK(outcomes[int(Error::TOO_BIG)] > 0);
}

// Multiboot2 information parser: well-formed blocks and every kind of damage.
#include <catch2/catch.hpp>
#include <kernel/lib/multiboot2.h>
#include <string.h>
#include <vector>

using namespace kernel::mb2;

namespace {

// Builds an information block tag by tag, padded as the specification requires.
struct Builder {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(8, 0);
    void u32(uint32_t v) {
        uint8_t b[4];
        memcpy(b, &v, 4);
        bytes.insert(bytes.end(), b, b + 4);
    }
    void u64(uint64_t v) {
        u32(uint32_t(v));
        u32(uint32_t(v >> 32));
    }
    void pad() {
        while (bytes.size() % 8)
            bytes.push_back(0);
    }
    void string_tag(uint32_t type, const char* s) {
        u32(type);
        u32(uint32_t(8 + strlen(s) + 1));
        bytes.insert(bytes.end(), s, s + strlen(s) + 1);
        pad();
    }
    void module(uint32_t start, uint32_t end, const char* name) {
        u32(3);
        u32(uint32_t(16 + strlen(name) + 1));
        u32(start);
        u32(end);
        bytes.insert(bytes.end(), name, name + strlen(name) + 1);
        pad();
    }
    void mmap(std::vector<MemoryEntry> entries, uint32_t entry_size = 24) {
        u32(6);
        u32(uint32_t(16 + entries.size() * entry_size));
        u32(entry_size);
        u32(0);
        for (auto& e : entries) {
            u64(e.base);
            u64(e.length);
            u32(e.type);
            for (uint32_t i = 20; i < entry_size; ++i)
                bytes.push_back(0);
        }
        pad();
    }
    void end() {
        u32(0);
        u32(8);
    }
    // Copies into 8-aligned storage and fixes the total size.
    std::vector<uint64_t> finish() {
        uint32_t total = uint32_t(bytes.size());
        memcpy(bytes.data(), &total, 4);
        std::vector<uint64_t> out((bytes.size() + 7) / 8);
        memcpy(out.data(), bytes.data(), bytes.size());
        return out;
    }
};

const uint8_t* p(const std::vector<uint64_t>& v) {
    return reinterpret_cast<const uint8_t*>(v.data());
}

} // namespace

TEST_CASE("mb2: well-formed block with command line, modules and memory map") {
    Builder b;
    b.string_tag(1, "node=3 mode=selftest");
    b.string_tag(2, "GRUB 2.06");
    b.module(0x200000, 0x201000, "symbols");
    b.mmap({{0, 0x9fc00, 1}, {0x100000, 0x7ee0000, 1}, {0xfffc0000, 0x40000, 2}});
    b.end();
    auto block = b.finish();
    BootInfo info;
    REQUIRE(parse(p(block), block.size() * 8, info).ok());
    CHECK(info.cmdline == base::StringView("node=3 mode=selftest"));
    CHECK(info.loader_name == base::StringView("GRUB 2.06"));
    REQUIRE(info.module_count == 1);
    CHECK(info.modules[0].start == 0x200000);
    CHECK(info.modules[0].name == base::StringView("symbols"));
    REQUIRE(info.memory_count == 3);
    CHECK(info.memory[1].base == 0x100000);
    CHECK(info.memory[2].type == 2);
    CHECK(info.has_memory_map);
    CHECK(info.malformed_tags == 0);
}

TEST_CASE("mb2: rejects null, tiny, oversized and misaligned blocks") {
    BootInfo info;
    CHECK(parse(nullptr, 100, info).is_error());
    std::vector<uint64_t> small(1, 4); // total size 4 < 8
    CHECK(parse(p(small), 8, info).error() == base::Error::CORRUPT);
    std::vector<uint64_t> big(2, 0);
    uint32_t total = 1000;
    memcpy(big.data(), &total, 4);
    CHECK(parse(p(big), 16, info).error() == base::Error::CORRUPT); // larger than available
    std::vector<uint64_t> aligned(4, 0);
    CHECK(parse(p(aligned) + 4, 24, info).error() == base::Error::CORRUPT);
}

TEST_CASE("mb2: tag whose size overruns the block stops parsing and is counted") {
    Builder b;
    b.string_tag(1, "ok");
    b.u32(6);
    b.u32(4096); // claims far more than the block holds
    b.u32(24);
    b.u32(0);
    auto block = b.finish();
    BootInfo info;
    REQUIRE(parse(p(block), block.size() * 8, info).ok());
    CHECK(info.cmdline == base::StringView("ok"));
    CHECK(info.malformed_tags >= 1);
    CHECK(info.memory_count == 0);
    CHECK(!info.has_memory_map);
}

TEST_CASE("mb2: missing end tag is reported") {
    Builder b;
    b.string_tag(1, "x");
    auto block = b.finish();
    BootInfo info;
    REQUIRE(parse(p(block), block.size() * 8, info).ok());
    CHECK(info.malformed_tags == 1);
}

TEST_CASE("mb2: unterminated string is bounded by its tag") {
    Builder b;
    b.u32(1);
    b.u32(8 + 5);
    for (char c : {'a', 'b', 'c', 'd', 'e'})
        b.bytes.push_back(uint8_t(c));
    b.pad();
    b.end();
    auto block = b.finish();
    BootInfo info;
    REQUIRE(parse(p(block), block.size() * 8, info).ok());
    CHECK(info.cmdline == base::StringView("abcde"));
}

TEST_CASE("mb2: memory map with bad entry size is rejected, larger entries accepted") {
    {
        Builder b;
        b.mmap({{0, 0x1000, 1}}, 20); // below the version-0 size
        b.end();
        auto block = b.finish();
        BootInfo info;
        REQUIRE(parse(p(block), block.size() * 8, info).ok());
        CHECK(info.memory_count == 0);
        CHECK(info.malformed_tags == 1);
    }
    {
        Builder b;
        b.mmap({{0x100000, 0x1000, 1}, {0x200000, 0x2000, 3}}, 32);
        b.end();
        auto block = b.finish();
        BootInfo info;
        REQUIRE(parse(p(block), block.size() * 8, info).ok());
        REQUIRE(info.memory_count == 2);
        CHECK(info.memory[1].base == 0x200000);
        CHECK(info.memory[1].type == 3);
    }
}

TEST_CASE("mb2: too many memory entries and modules are dropped and counted") {
    Builder b;
    std::vector<MemoryEntry> many;
    for (uint64_t i = 0; i < kMaxMemoryEntries + 10; ++i)
        many.push_back({i << 20, 1 << 20, 1});
    b.mmap(many);
    for (size_t i = 0; i < kMaxModules + 3; ++i)
        b.module(uint32_t(0x1000000 + i * 0x1000), uint32_t(0x1000000 + i * 0x1000 + 0x800), "m");
    b.module(0x5000, 0x4000, "backwards");
    b.end();
    auto block = b.finish();
    BootInfo info;
    REQUIRE(parse(p(block), block.size() * 8, info).ok());
    CHECK(info.memory_count == kMaxMemoryEntries);
    CHECK(info.dropped_memory == 10);
    CHECK(info.module_count == kMaxModules);
    CHECK(info.dropped_modules == 4);
}

TEST_CASE("mb2: random damage never crashes the parser") {
    Builder b;
    b.string_tag(1, "node=1");
    b.module(0x200000, 0x300000, "symbols");
    b.mmap({{0, 0x9fc00, 1}, {0x100000, 0x7ee0000, 1}});
    b.end();
    auto good = b.finish();
    uint64_t seed = 12345;
    for (int round = 0; round < 20000; ++round) {
        auto block = good;
        auto* bytes = reinterpret_cast<uint8_t*>(block.data());
        size_t n = block.size() * 8;
        for (int k = 0; k < 4; ++k) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = size_t(seed >> 33) % n;
            if (at < 4)
                continue; // keep the total size honest so the bound is meaningful
            bytes[at] = uint8_t(seed >> 21);
        }
        BootInfo info;
        (void)parse(bytes, n, info);
        CHECK(info.memory_count <= kMaxMemoryEntries);
    }
}

TEST_CASE("mb2: ACPI RSDP tags: the 2.0 copy wins whatever the order") {
    Builder b;
    const char v2[] = "RSD PTR v2-copy-36-bytes-long-......";
    const char v1[] = "RSD PTR v1-copy-20by";
    b.string_tag(15, v2);
    b.string_tag(14, v1);
    b.end();
    auto block = b.finish();
    BootInfo info;
    REQUIRE(parse(p(block), block.size() * 8, info).ok());
    REQUIRE(info.rsdp != nullptr);
    CHECK(info.rsdp_new);
    CHECK(info.rsdp_size == sizeof(v2));
    CHECK(memcmp(info.rsdp, v2, sizeof(v2)) == 0);

    Builder old_only;
    old_only.string_tag(14, v1);
    old_only.end();
    auto block2 = old_only.finish();
    REQUIRE(parse(p(block2), block2.size() * 8, info).ok());
    CHECK_FALSE(info.rsdp_new);
    CHECK(info.rsdp_size == sizeof(v1));
}

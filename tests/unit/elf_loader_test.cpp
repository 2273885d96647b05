// The ELF64 validator: the happy path and one failing image per rule in elf.h.
//
// Images are assembled in memory by a small builder so the tests do not depend on what
// the host toolchain emits. The field offsets and ELF constants below are written out as
// numbers from the System V ABI rather than taken from elf.h, so a wrong constant in the
// parser cannot hide behind the same wrong constant in the test.

#include <catch2/catch.hpp>

#include <lib/elf.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

using base::Error;
using elf::LoadLimits;
using elf::LoadPlan;
using elf::parse;

namespace {

constexpr uint32_t PT_NULL = 0;
constexpr uint32_t PT_LOAD = 1;
constexpr uint32_t PT_DYNAMIC = 2;
constexpr uint32_t PT_INTERP = 3;
constexpr uint32_t PT_NOTE = 4;
constexpr uint32_t PT_PHDR = 6;
constexpr uint32_t PT_TLS = 7;
constexpr uint32_t PT_GNU_STACK = 0x6474E551;
constexpr uint32_t PT_GNU_RELRO = 0x6474E552;
constexpr uint32_t PT_GNU_PROPERTY = 0x6474E553;
constexpr uint32_t PF_X = 1;
constexpr uint32_t PF_W = 2;
constexpr uint32_t PF_R = 4;

struct Phdr {
    uint32_t type = PT_NULL;
    uint32_t flags = 0;
    uint64_t offset = 0;
    uint64_t vaddr = 0;
    uint64_t filesz = 0;
    uint64_t memsz = 0;
    uint64_t align = 0x1000;
};

// Every field of the ELF header is a member so a test can damage exactly one of them.
struct ElfBuilder {
    uint8_t magic[4] = {0x7F, 'E', 'L', 'F'};
    uint8_t ei_class = 2;   // ELFCLASS64
    uint8_t ei_data = 1;    // ELFDATA2LSB
    uint8_t ei_version = 1; // EV_CURRENT
    uint8_t ei_osabi = 0;   // System V
    uint16_t type = 2;      // ET_EXEC
    uint16_t machine = 62;  // EM_X86_64
    uint32_t version = 1;
    uint64_t entry = 0;
    uint64_t phoff = 64;
    uint16_t ehsize = 64;
    uint16_t phentsize = 56;
    int phnum_override = -1; // when >= 0, written instead of phdrs.size()
    std::vector<Phdr> phdrs;
    size_t image_size = 0; // grown to hold the header table when smaller

    template<typename T>
    static void put(std::vector<uint8_t>& image, size_t offset, T value) {
        if (offset + sizeof(T) > image.size())
            image.resize(offset + sizeof(T));
        memcpy(image.data() + offset, &value, sizeof(T));
    }

    std::vector<uint8_t> build() const {
        std::vector<uint8_t> image(image_size, 0);
        // Recognisable filler, so a loader reading the wrong bytes would show in a dump.
        for (size_t i = 64; i < image.size(); ++i)
            image[i] = uint8_t(i * 7);
        if (image.size() < 64)
            image.resize(64);
        memcpy(image.data(), magic, 4);
        image[4] = ei_class;
        image[5] = ei_data;
        image[6] = ei_version;
        image[7] = ei_osabi;
        for (size_t i = 8; i < 16; ++i)
            image[i] = 0;
        put(image, 16, type);
        put(image, 18, machine);
        put(image, 20, version);
        put(image, 24, entry);
        put(image, 32, phoff);
        put<uint64_t>(image, 40, 0); // no section headers
        put<uint32_t>(image, 48, 0);
        put(image, 52, ehsize);
        put(image, 54, phentsize);
        put<uint16_t>(image, 56,
                      phnum_override >= 0 ? uint16_t(phnum_override) : uint16_t(phdrs.size()));
        put<uint16_t>(image, 58, 64);
        put<uint16_t>(image, 60, 0);
        put<uint16_t>(image, 62, 0);
        for (size_t i = 0; i < phdrs.size(); ++i) {
            size_t at = size_t(phoff) + i * 56;
            const Phdr& p = phdrs[i];
            put(image, at + 0, p.type);
            put(image, at + 4, p.flags);
            put(image, at + 8, p.offset);
            put(image, at + 16, p.vaddr);
            put(image, at + 24, p.vaddr); // p_paddr mirrors p_vaddr, as linkers write it
            put(image, at + 32, p.filesz);
            put(image, at + 40, p.memsz);
            put(image, at + 48, p.align);
        }
        return image;
    }
};

// A typical static executable: text (RX), rodata (R), data (RW) with bss, a TLS template
// inside data, and the notes a real linker adds around them.
constexpr uint64_t kTextVaddr = 0x401000;
constexpr uint64_t kRodataVaddr = 0x403000;
constexpr uint64_t kDataVaddr = 0x405100;
constexpr uint64_t kEntry = 0x401010;

ElfBuilder valid_builder() {
    ElfBuilder b;
    b.entry = kEntry;
    b.image_size = 0x4300;
    b.phdrs = {
        {PT_PHDR, PF_R, 64, 0x400040, 8 * 56, 8 * 56, 8},
        {PT_LOAD, PF_R | PF_X, 0x1000, kTextVaddr, 0x1800, 0x1800, 0x1000},
        {PT_LOAD, PF_R, 0x3000, kRodataVaddr, 0x500, 0x500, 0x1000},
        {PT_LOAD, PF_R | PF_W, 0x4100, kDataVaddr, 0x200, 0x3000, 0x1000},
        {PT_TLS, PF_R, 0x4100, kDataVaddr, 0x10, 0x40, 8},
        {PT_NOTE, PF_R, 0x300, 0x400300, 0x20, 0x20, 4},
        {PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16},
        {PT_GNU_PROPERTY, PF_R, 0x300, 0x400300, 0x20, 0x20, 8},
    };
    return b;
}

// Indices of the PT_LOAD entries in valid_builder().phdrs.
constexpr size_t kText = 1;
constexpr size_t kRodata = 2;
constexpr size_t kData = 3;
constexpr size_t kTls = 4;

struct Outcome {
    base::Result<void> result;
    LoadPlan plan;
};

Outcome run(const std::vector<uint8_t>& image, const LoadLimits& limits = LoadLimits{}) {
    Outcome o{base::ok(), {}};
    // Garbage in the output first, to prove parse() resets it.
    memset(&o.plan, 0xA5, sizeof(o.plan));
    o.result = parse(base::Span<const uint8_t>(image.data(), image.size()), limits, o.plan);
    return o;
}

Error error_of(const std::vector<uint8_t>& image, const LoadLimits& limits = LoadLimits{}) {
    Outcome o = run(image, limits);
    if (o.result.ok())
        return Error::OK;
    // A failed parse leaves an empty plan, whatever the error.
    CHECK(o.plan.segment_count == 0);
    CHECK_FALSE(o.plan.has_tls);
    return o.result.error();
}

Error error_of(const ElfBuilder& b, const LoadLimits& limits = LoadLimits{}) {
    return error_of(b.build(), limits);
}

} // namespace

TEST_CASE("elf: a static executable with text, rodata, data+bss and TLS yields its plan") {
    Outcome o = run(valid_builder().build());
    REQUIRE(o.result.ok());
    const LoadPlan& p = o.plan;
    CHECK(p.entry == kEntry);
    REQUIRE(p.segment_count == 3);

    CHECK(p.segments[0].vaddr == kTextVaddr);
    CHECK(p.segments[0].memsz == 0x1800);
    CHECK(p.segments[0].file_offset == 0x1000);
    CHECK(p.segments[0].filesz == 0x1800);
    CHECK(p.segments[0].prot == (TERN_PROT_READ | TERN_PROT_EXEC));

    CHECK(p.segments[1].vaddr == kRodataVaddr);
    CHECK(p.segments[1].memsz == 0x500);
    CHECK(p.segments[1].file_offset == 0x3000);
    CHECK(p.segments[1].filesz == 0x500);
    CHECK(p.segments[1].prot == TERN_PROT_READ);

    CHECK(p.segments[2].vaddr == kDataVaddr);
    CHECK(p.segments[2].memsz == 0x3000);
    CHECK(p.segments[2].file_offset == 0x4100);
    CHECK(p.segments[2].filesz == 0x200);
    CHECK(p.segments[2].prot == (TERN_PROT_READ | TERN_PROT_WRITE));

    CHECK(p.lowest_vaddr == 0x401000);
    CHECK(p.highest_vaddr_end == 0x409000); // 0x405100 + 0x3000 rounded up

    REQUIRE(p.has_tls);
    CHECK(p.tls.vaddr == kDataVaddr);
    CHECK(p.tls.filesz == 0x10);
    CHECK(p.tls.memsz == 0x40);
    CHECK(p.tls.align == 8);
}

TEST_CASE("elf: the image may start at any byte address") {
    std::vector<uint8_t> image = valid_builder().build();
    std::vector<uint8_t> storage(image.size() + 1);
    memcpy(storage.data() + 1, image.data(), image.size());
    LoadPlan plan{};
    auto r = parse(base::Span<const uint8_t>(storage.data() + 1, image.size()), LoadLimits{}, plan);
    REQUIRE(r.ok());
    CHECK(plan.segment_count == 3);
}

TEST_CASE("elf: images shorter than the ELF header are corrupt") {
    CHECK(error_of(std::vector<uint8_t>{}) == Error::CORRUPT);
    std::vector<uint8_t> image = valid_builder().build();
    for (size_t n : {size_t(1), size_t(4), size_t(16), size_t(63)}) {
        std::vector<uint8_t> head(image.begin(), image.begin() + n);
        CHECK(error_of(head) == Error::CORRUPT);
    }
    LoadPlan plan{};
    CHECK(parse(base::Span<const uint8_t>(), LoadLimits{}, plan).error() == Error::CORRUPT);
}

TEST_CASE("elf: identification bytes") {
    SECTION("wrong magic is corrupt") {
        for (int i = 0; i < 4; ++i) {
            ElfBuilder b = valid_builder();
            b.magic[i] ^= 0x20;
            CHECK(error_of(b) == Error::CORRUPT);
        }
    }
    SECTION("32-bit is unsupported, an undefined class is corrupt") {
        ElfBuilder b = valid_builder();
        b.ei_class = 1;
        CHECK(error_of(b) == Error::NOT_SUPPORTED);
        b.ei_class = 0;
        CHECK(error_of(b) == Error::CORRUPT);
        b.ei_class = 3;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("big-endian is unsupported, an undefined encoding is corrupt") {
        ElfBuilder b = valid_builder();
        b.ei_data = 2;
        CHECK(error_of(b) == Error::NOT_SUPPORTED);
        b.ei_data = 0;
        CHECK(error_of(b) == Error::CORRUPT);
        b.ei_data = 0xFF;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("EI_VERSION must be EV_CURRENT") {
        ElfBuilder b = valid_builder();
        b.ei_version = 0;
        CHECK(error_of(b) == Error::CORRUPT);
        b.ei_version = 2;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("System V and GNU OS ABIs load, others are unsupported") {
        ElfBuilder b = valid_builder();
        b.ei_osabi = 3; // GNU
        CHECK(error_of(b) == Error::OK);
        b.ei_osabi = 9; // FreeBSD
        CHECK(error_of(b) == Error::NOT_SUPPORTED);
        b.ei_osabi = 0xFF; // standalone
        CHECK(error_of(b) == Error::NOT_SUPPORTED);
    }
}

TEST_CASE("elf: e_type") {
    ElfBuilder b = valid_builder();
    b.type = 3; // ET_DYN: PIE or shared object
    CHECK(error_of(b) == Error::NOT_SUPPORTED);
    b.type = 1; // ET_REL
    CHECK(error_of(b) == Error::NOT_SUPPORTED);
    b.type = 4; // ET_CORE
    CHECK(error_of(b) == Error::NOT_SUPPORTED);
    b.type = 0xFE00; // first OS-specific value
    CHECK(error_of(b) == Error::NOT_SUPPORTED);
    b.type = 0xFFFF; // last processor-specific value
    CHECK(error_of(b) == Error::NOT_SUPPORTED);
    b.type = 0; // ET_NONE
    CHECK(error_of(b) == Error::CORRUPT);
    b.type = 5;
    CHECK(error_of(b) == Error::CORRUPT);
    b.type = 0xFDFF;
    CHECK(error_of(b) == Error::CORRUPT);
}

TEST_CASE("elf: other machines are unsupported") {
    for (uint16_t machine :
         {uint16_t(0), uint16_t(3), uint16_t(40), uint16_t(183), uint16_t(243)}) {
        ElfBuilder b = valid_builder();
        b.machine = machine;
        CHECK(error_of(b) == Error::NOT_SUPPORTED);
    }
}

TEST_CASE("elf: e_version and e_ehsize") {
    ElfBuilder b = valid_builder();
    b.version = 0;
    CHECK(error_of(b) == Error::CORRUPT);
    b.version = 2;
    CHECK(error_of(b) == Error::CORRUPT);
    b = valid_builder();
    b.ehsize = 52; // the ELF32 header size
    CHECK(error_of(b) == Error::CORRUPT);
    b.ehsize = 0;
    CHECK(error_of(b) == Error::CORRUPT);
}

TEST_CASE("elf: e_phentsize must be 56") {
    for (uint16_t size : {uint16_t(0), uint16_t(32), uint16_t(55), uint16_t(57), uint16_t(64)}) {
        ElfBuilder b = valid_builder();
        b.phentsize = size;
        CHECK(error_of(b) == Error::CORRUPT);
    }
}

TEST_CASE("elf: e_phnum") {
    SECTION("zero is corrupt") {
        ElfBuilder b = valid_builder();
        b.phnum_override = 0;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("extended numbering is unsupported") {
        ElfBuilder b = valid_builder();
        b.phnum_override = 0xFFFF;
        CHECK(error_of(b) == Error::NOT_SUPPORTED);
    }
    SECTION("64 headers are accepted, 65 are too many") {
        ElfBuilder b = valid_builder();
        while (b.phdrs.size() < 64)
            b.phdrs.push_back(Phdr{PT_NOTE, PF_R, 0x300, 0x400300, 0x20, 0x20, 4});
        b.image_size = 0x4300; // 64 * 56 + 64 still ends before the text at 0x1000
        CHECK(error_of(b) == Error::OK);
        b.phdrs.push_back(Phdr{PT_NOTE, PF_R, 0x300, 0x400300, 0x20, 0x20, 4});
        CHECK(error_of(b) == Error::TOO_BIG);
    }
    SECTION("a count larger than the table in the file runs off the image") {
        ElfBuilder b = valid_builder();
        b.phoff = b.image_size - 8 * 56; // the table ends exactly at the end of the image
        CHECK(error_of(b) == Error::OK);
        b.phnum_override = 9; // one more entry than fits
        CHECK(error_of(b) == Error::CORRUPT);
    }
}

TEST_CASE("elf: the program header table must lie inside the image") {
    ElfBuilder b = valid_builder();
    std::vector<uint8_t> image = b.build();
    auto with_phoff = [&](uint64_t phoff) {
        std::vector<uint8_t> copy = image;
        memcpy(copy.data() + 32, &phoff, 8);
        return copy;
    };
    CHECK(error_of(with_phoff(image.size())) == Error::CORRUPT);
    CHECK(error_of(with_phoff(image.size() - 8 * 56 + 1)) == Error::CORRUPT); // one byte short
    CHECK(error_of(with_phoff(UINT64_MAX)) == Error::CORRUPT);
    CHECK(error_of(with_phoff(UINT64_MAX - 8 * 56 + 2)) == Error::CORRUPT); // sum wraps to 1
    CHECK(error_of(with_phoff(uint64_t(1) << 63)) == Error::CORRUPT);

    // A table ending exactly at the end of the image, at an odd offset, is fine.
    b.image_size = 0x4301;
    b.phoff = b.image_size - 8 * 56;
    image = b.build();
    REQUIRE(image.size() == b.image_size);
    CHECK(error_of(image) == Error::OK);
}

TEST_CASE("elf: PT_LOAD sizes and file ranges") {
    SECTION("filesz > memsz is corrupt") {
        ElfBuilder b = valid_builder();
        b.phdrs[kRodata].filesz = b.phdrs[kRodata].memsz + 1;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("the file range must end inside the image") {
        ElfBuilder b = valid_builder();
        b.phdrs[kData].filesz = b.image_size - b.phdrs[kData].offset; // exactly to the end
        CHECK(error_of(b) == Error::OK);
        b.phdrs[kData].filesz += 1;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("an offset beyond the image is corrupt") {
        ElfBuilder b = valid_builder();
        b.phdrs[kRodata].offset = 0x10000 + 0x3000 % 0x1000;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("offset + filesz may not wrap") {
        ElfBuilder b = valid_builder();
        b.phdrs[kRodata].offset = 0xFFFFFFFFFFFFF000ull; // congruent with the vaddr
        b.phdrs[kRodata].filesz = 0x1000;
        b.phdrs[kRodata].memsz = 0x1000;
        CHECK(error_of(b) == Error::CORRUPT);
        b.phdrs[kRodata].offset = 0x3000;
        b.phdrs[kRodata].filesz = UINT64_MAX;
        b.phdrs[kRodata].memsz = UINT64_MAX;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("a segment without file bytes may name any offset with the right page offset") {
        ElfBuilder b = valid_builder();
        b.phdrs[kData].filesz = 0;
        b.phdrs[kData].offset = 0x100100; // beyond the image, same page offset as 0x405100
        b.phdrs.erase(b.phdrs.begin() + kTls);
        Outcome o = run(b.build());
        REQUIRE(o.result.ok());
        CHECK(o.plan.segments[2].filesz == 0);
    }
}

TEST_CASE("elf: PT_LOAD addresses must stay inside the user range") {
    SECTION("vaddr + memsz may not wrap") {
        ElfBuilder b = valid_builder();
        b.phdrs[kData].memsz = UINT64_MAX - kDataVaddr + 1;
        CHECK(error_of(b) == Error::OUT_OF_RANGE);
        b.phdrs[kData].memsz = UINT64_MAX;
        CHECK(error_of(b) == Error::OUT_OF_RANGE);
    }
    SECTION("below user_start") {
        ElfBuilder b = valid_builder();
        // Move the text to page 0: vaddr 0 with offset 0 is congruent but not allowed.
        b.phdrs[kText].vaddr = 0;
        b.phdrs[kText].offset = 0;
        b.entry = 0x10;
        CHECK(error_of(b) == Error::OUT_OF_RANGE);
    }
    SECTION("ending at user_end is allowed, one byte more is not") {
        LoadLimits limits;
        limits.user_end = 0x40A000;
        ElfBuilder b = valid_builder();
        b.phdrs[kData].memsz = 0x40A000 - kDataVaddr;
        CHECK(error_of(b, limits) == Error::OK);
        b.phdrs[kData].memsz += 1;
        CHECK(error_of(b, limits) == Error::OUT_OF_RANGE);
    }
    SECTION("starting at user_start is allowed, one page lower is not") {
        LoadLimits limits;
        limits.user_start = 0x401000;
        CHECK(error_of(valid_builder(), limits) == Error::OK);
        limits.user_start = 0x402000;
        CHECK(error_of(valid_builder(), limits) == Error::OUT_OF_RANGE);
    }
    SECTION("kernel-half addresses") {
        ElfBuilder b = valid_builder();
        b.phdrs[kData].vaddr = 0xFFFFFFFF80005100ull;
        CHECK(error_of(b) == Error::OUT_OF_RANGE);
        b = valid_builder();
        b.phdrs[kData].vaddr = 0x00007FFFFFFFF100ull; // the top user page, outside the default
        CHECK(error_of(b) == Error::OUT_OF_RANGE);
    }
}

TEST_CASE("elf: PT_LOAD alignment and congruence") {
    SECTION("0 and 1 mean page alignment") {
        ElfBuilder b = valid_builder();
        b.phdrs[kText].align = 0;
        b.phdrs[kRodata].align = 1;
        CHECK(error_of(b) == Error::OK);
    }
    SECTION("large powers of two are fine when congruent") {
        ElfBuilder b = valid_builder();
        b.phdrs[kText].align = 0x200000;
        b.phdrs[kText].vaddr = 0x601000;
        b.phdrs[kText].offset = 0x1000;
        b.entry = 0x601010;
        b.phdrs[kRodata].vaddr = 0x603000;
        b.phdrs[kData].vaddr = 0x605100;
        b.phdrs[kTls].vaddr = 0x605100;
        CHECK(error_of(b) == Error::OK);
    }
    SECTION("not a power of two is corrupt") {
        for (uint64_t align : {uint64_t(3), uint64_t(0x1800), uint64_t(0x3000), UINT64_MAX}) {
            ElfBuilder b = valid_builder();
            b.phdrs[kRodata].align = align;
            CHECK(error_of(b) == Error::CORRUPT);
        }
    }
    SECTION("a power of two below the page size is unsupported") {
        for (uint64_t align : {uint64_t(2), uint64_t(16), uint64_t(0x800)}) {
            ElfBuilder b = valid_builder();
            b.phdrs[kRodata].align = align;
            CHECK(error_of(b) == Error::NOT_SUPPORTED);
        }
    }
    SECTION("vaddr and offset must agree modulo the page size") {
        ElfBuilder b = valid_builder();
        b.phdrs[kRodata].offset = 0x3008;
        b.phdrs[kRodata].filesz = 0x400;
        CHECK(error_of(b) == Error::CORRUPT);
        b.phdrs[kRodata].align = 0; // no alignment stated: the page rule still holds
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("vaddr and offset must agree modulo p_align") {
        ElfBuilder b = valid_builder();
        b.phdrs[kData].align = 0x200000; // 0x405100 and 0x4100 differ modulo 2 MiB
        CHECK(error_of(b) == Error::CORRUPT);
    }
}

TEST_CASE("elf: PT_LOAD order and page sharing") {
    SECTION("out of order is corrupt") {
        ElfBuilder b = valid_builder();
        std::swap(b.phdrs[kText], b.phdrs[kRodata]);
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("the same start address twice is corrupt") {
        ElfBuilder b = valid_builder();
        b.phdrs[kRodata].vaddr = kTextVaddr;
        b.phdrs[kRodata].offset = 0x1000;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("a segment starting in the page where the previous one ends is corrupt") {
        ElfBuilder b = valid_builder();
        // Text ends at 0x402800; rodata at 0x402900 would share page 0x402000.
        b.phdrs[kRodata].vaddr = 0x402900;
        b.phdrs[kRodata].offset = 0x2900;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("bss reaching into the next segment's page is corrupt") {
        ElfBuilder b = valid_builder();
        b.phdrs[kText].memsz = 0x2001; // now ends at 0x403001, inside rodata's first page
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("segments in adjacent pages are fine") {
        ElfBuilder b = valid_builder();
        b.phdrs[kText].memsz = 0x2000; // ends at exactly 0x403000
        b.phdrs[kText].filesz = 0x2000;
        CHECK(error_of(b) == Error::OK);
    }
}

TEST_CASE("elf: writable and executable together is refused") {
    ElfBuilder b = valid_builder();
    b.phdrs[kText].flags = PF_R | PF_W | PF_X;
    CHECK(error_of(b) == Error::INVALID_ARGUMENT);
    b = valid_builder();
    b.phdrs[kData].flags = PF_W | PF_X;
    CHECK(error_of(b) == Error::INVALID_ARGUMENT);
}

TEST_CASE("elf: protection comes from the R/W/X flags only") {
    ElfBuilder b = valid_builder();
    b.phdrs[kRodata].flags = 0;                      // reserved, inaccessible
    b.phdrs[kData].flags = PF_R | PF_W | 0xF0F00000; // OS and processor bits are ignored
    Outcome o = run(b.build());
    REQUIRE(o.result.ok());
    CHECK(o.plan.segments[1].prot == 0);
    CHECK(o.plan.segments[2].prot == (TERN_PROT_READ | TERN_PROT_WRITE));
}

TEST_CASE("elf: the entry point must be in an executable segment") {
    ElfBuilder b = valid_builder();
    b.entry = kTextVaddr;
    CHECK(error_of(b) == Error::OK);
    b.entry = kTextVaddr + 0x1800 - 1; // last byte of the text
    CHECK(error_of(b) == Error::OK);
    b.entry = kTextVaddr + 0x1800; // one past the end, still inside the page
    CHECK(error_of(b) == Error::OUT_OF_RANGE);
    b.entry = kTextVaddr - 1;
    CHECK(error_of(b) == Error::OUT_OF_RANGE);
    b.entry = kRodataVaddr; // readable but not executable
    CHECK(error_of(b) == Error::OUT_OF_RANGE);
    b.entry = kDataVaddr + 0x1000; // in the bss
    CHECK(error_of(b) == Error::OUT_OF_RANGE);
    b.entry = 0;
    CHECK(error_of(b) == Error::OUT_OF_RANGE);
    b.entry = UINT64_MAX;
    CHECK(error_of(b) == Error::OUT_OF_RANGE);
}

TEST_CASE("elf: at least one PT_LOAD with memory") {
    ElfBuilder b = valid_builder();
    b.phdrs = {{PT_NOTE, PF_R, 0x300, 0x400300, 0x20, 0x20, 4}};
    CHECK(error_of(b) == Error::CORRUPT);
    b.phdrs = {{PT_LOAD, PF_R | PF_X, 0x1000, kTextVaddr, 0, 0, 0x1000}};
    CHECK(error_of(b) == Error::CORRUPT);
}

TEST_CASE("elf: an empty PT_LOAD is skipped whatever it says") {
    ElfBuilder b = valid_builder();
    // Out of order, W+X, out of range: none of it matters for a segment that maps nothing.
    b.phdrs.push_back(Phdr{PT_LOAD, PF_R | PF_W | PF_X, 0, 0, 0, 0, 0});
    Outcome o = run(b.build());
    REQUIRE(o.result.ok());
    CHECK(o.plan.segment_count == 3);
}

TEST_CASE("elf: dynamic linking is unsupported") {
    ElfBuilder b = valid_builder();
    b.phdrs.insert(b.phdrs.begin() + 1, Phdr{PT_INTERP, PF_R, 0x300, 0x400300, 0x1C, 0x1C, 1});
    CHECK(error_of(b) == Error::NOT_SUPPORTED);
    b = valid_builder();
    b.phdrs.push_back(Phdr{PT_DYNAMIC, PF_R | PF_W, 0x4100, kDataVaddr, 0x100, 0x100, 8});
    CHECK(error_of(b) == Error::NOT_SUPPORTED);
}

TEST_CASE("elf: other program header types are ignored") {
    ElfBuilder b = valid_builder();
    b.phdrs.push_back(Phdr{PT_NULL, 0, UINT64_MAX, UINT64_MAX, UINT64_MAX, 0, 3});
    b.phdrs.push_back(Phdr{PT_GNU_RELRO, PF_R, 0x4100, kDataVaddr, 0x100, 0x100, 1});
    b.phdrs.push_back(Phdr{0x12345678, PF_R | PF_W | PF_X, UINT64_MAX, 0, UINT64_MAX, 1, 3});
    b.phdrs.push_back(Phdr{PT_NOTE, PF_R, UINT64_MAX, 0, 0x20, 0x20, 4});
    Outcome o = run(b.build());
    REQUIRE(o.result.ok());
    CHECK(o.plan.segment_count == 3);
}

TEST_CASE("elf: PT_TLS") {
    SECTION("absent TLS is reported as absent") {
        ElfBuilder b = valid_builder();
        b.phdrs.erase(b.phdrs.begin() + kTls);
        Outcome o = run(b.build());
        REQUIRE(o.result.ok());
        CHECK_FALSE(o.plan.has_tls);
    }
    SECTION("two TLS headers are corrupt") {
        ElfBuilder b = valid_builder();
        b.phdrs.push_back(b.phdrs[kTls]);
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("filesz > memsz is corrupt") {
        ElfBuilder b = valid_builder();
        b.phdrs[kTls].filesz = 0x41;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("the file range must be inside the image") {
        ElfBuilder b = valid_builder();
        b.phdrs[kTls].offset = UINT64_MAX - 4;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("vaddr + memsz may not wrap") {
        ElfBuilder b = valid_builder();
        b.phdrs[kTls].filesz = 0;
        b.phdrs[kTls].memsz = UINT64_MAX;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("alignment") {
        ElfBuilder b = valid_builder();
        b.phdrs[kTls].align = 0;
        Outcome o = run(b.build());
        REQUIRE(o.result.ok());
        CHECK(o.plan.tls.align == 1);
        b.phdrs[kTls].align = 4096;
        CHECK(error_of(b) == Error::OK);
        b.phdrs[kTls].align = 24;
        CHECK(error_of(b) == Error::CORRUPT);
        b.phdrs[kTls].align = 8192;
        CHECK(error_of(b) == Error::NOT_SUPPORTED);
    }
    SECTION("the template must be in the file-backed part of a segment") {
        ElfBuilder b = valid_builder();
        b.phdrs[kTls].vaddr = kDataVaddr + 0x1F8; // runs 8 bytes past the data's file part
        b.phdrs[kTls].offset = 0x4100 + 0x1F8;
        CHECK(error_of(b) == Error::CORRUPT);
        b.phdrs[kTls].vaddr = kDataVaddr + 0x1F0; // ends exactly at it
        b.phdrs[kTls].offset = 0x4100 + 0x1F0;
        CHECK(error_of(b) == Error::OK);
        b.phdrs[kTls].vaddr = 0x404000; // between rodata and data
        b.phdrs[kTls].offset = 0x4000;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("the template's file offset must match the segment's") {
        ElfBuilder b = valid_builder();
        b.phdrs[kTls].offset = 0x4108;
        CHECK(error_of(b) == Error::CORRUPT);
    }
    SECTION("a TLS block with no template may lie anywhere") {
        ElfBuilder b = valid_builder();
        b.phdrs[kTls].filesz = 0;
        b.phdrs[kTls].vaddr = 0x900000;
        CHECK(error_of(b) == Error::OK);
    }
    SECTION("an enormous TLS block is too big") {
        ElfBuilder b = valid_builder();
        b.phdrs[kTls].memsz = (uint64_t(1) << 30) + 1;
        CHECK(error_of(b) == Error::TOO_BIG);
    }
}

TEST_CASE("elf: at most 16 loadable segments") {
    auto with_segments = [](size_t n) {
        ElfBuilder b;
        b.entry = 0x401000;
        b.image_size = 0x1000 * (n + 1);
        for (size_t i = 0; i < n; ++i) {
            uint32_t flags = i == 0 ? (PF_R | PF_X) : PF_R;
            b.phdrs.push_back(Phdr{PT_LOAD, flags, 0x1000 * (i + 1), 0x401000 + 0x1000 * i, 0x100,
                                   0x100, 0x1000});
        }
        return b;
    };
    Outcome o = run(with_segments(16).build());
    REQUIRE(o.result.ok());
    CHECK(o.plan.segment_count == 16);
    CHECK(o.plan.highest_vaddr_end == 0x411000);
    CHECK(error_of(with_segments(17)) == Error::TOO_BIG);
}

TEST_CASE("elf: total memory is bounded") {
    // The plan needs 0x2000 + 0x1000 + 0x4000 = 7 pages once rounded.
    LoadLimits limits;
    limits.max_total_memsz = 7 * 0x1000;
    CHECK(error_of(valid_builder(), limits) == Error::OK);
    limits.max_total_memsz = 7 * 0x1000 - 1;
    CHECK(error_of(valid_builder(), limits) == Error::TOO_BIG);

    // The default bound of 1 GiB, with a bss just over it.
    ElfBuilder b = valid_builder();
    b.phdrs.erase(b.phdrs.begin() + kTls);
    b.phdrs[kData].memsz = uint64_t(1) << 30;
    CHECK(error_of(b) == Error::TOO_BIG);
    b.phdrs[kData].memsz = (uint64_t(1) << 30) - 7 * 0x1000;
    CHECK(error_of(b) == Error::OK);
}

TEST_CASE("elf: limits spanning almost the whole address space") {
    LoadLimits limits;
    limits.user_end = 0xFFFFFFFFFFFFF000ull;
    limits.max_total_memsz = UINT64_MAX;
    ElfBuilder b;
    b.entry = 0x401000;
    b.image_size = 0x3000;
    b.phdrs = {
        {PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x100, 0x100, 0x1000},
        {PT_LOAD, PF_R | PF_W, 0x2000, 0x402000, 0, 0xFFFF000000000000ull, 0x1000},
        {PT_LOAD, PF_R, 0x2000, 0xFFFF000000402000ull + 0x1000, 0, 0xFFFFFFFFF000ull - 0x404000, 0},
    };
    Outcome o = run(b.build(), limits);
    REQUIRE(o.result.ok());
    CHECK(o.plan.highest_vaddr_end == 0xFFFFFFFFFFFFF000ull - 0x1000);
    limits.max_total_memsz = 0xFFFF000000000000ull;
    CHECK(error_of(b, limits) == Error::TOO_BIG);
}

TEST_CASE("elf: a failed parse leaves an empty plan") {
    ElfBuilder b = valid_builder();
    b.entry = kRodataVaddr; // fails only after every segment was recorded
    Outcome o = run(b.build());
    REQUIRE(o.result.is_error());
    CHECK(o.plan.segment_count == 0);
    CHECK(o.plan.entry == 0);
    CHECK(o.plan.lowest_vaddr == 0);
    CHECK(o.plan.highest_vaddr_end == 0);
    CHECK_FALSE(o.plan.has_tls);
}

TEST_CASE("elf: the test binary itself parses to success or a documented error") {
    std::ifstream file("/proc/self/exe", std::ios::binary);
    REQUIRE(file.good());
    std::vector<uint8_t> image((std::istreambuf_iterator<char>(file)),
                               std::istreambuf_iterator<char>());
    REQUIRE(image.size() >= 64);
    uint16_t type;
    memcpy(&type, image.data() + 16, 2);

    Outcome o = run(image);
    if (type == 3) {
        // The host builds position-independent executables (ET_DYN).
        REQUIRE(o.result.is_error());
        CHECK(o.result.error() == Error::NOT_SUPPORTED);
    } else if (o.result.is_error()) {
        // A non-PIE host binary is dynamically linked (PT_INTERP) or otherwise outside
        // what Tern loads, but the answer is still one of the documented errors.
        Error e = o.result.error();
        CHECK((e == Error::NOT_SUPPORTED || e == Error::CORRUPT || e == Error::OUT_OF_RANGE
               || e == Error::INVALID_ARGUMENT || e == Error::TOO_BIG));
        CHECK(o.plan.segment_count == 0);
    } else {
        CHECK(o.plan.segment_count >= 1);
    }
}

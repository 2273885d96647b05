// Runs the ELF validator over 200,000 seeded mutations of valid executables under ASan
// and UBSan. Mutations are bit flips, truncations, random bytes, appended junk and, most
// often, overwrites of the header and program-header fields with boundary values (0, 1,
// all ones, the image size and its neighbours, page and user-range edges), since those are
// where overflow and off-by-one bugs live.
//
// Every parse must come back; every failure must be a documented error with an empty
// plan; every success is re-checked here, independently of the parser, against the image
// it came from.

#include <catch2/catch.hpp>

#include <lib/elf.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <vector>

using base::Error;
using elf::LoadLimits;
using elf::LoadPlan;
using elf::Segment;

namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kIterations = 200000;

template<typename T>
void put(std::vector<uint8_t>& image, size_t offset, T value) {
    memcpy(image.data() + offset, &value, sizeof(T));
}

template<typename T>
T get(const std::vector<uint8_t>& image, size_t offset) {
    T value;
    memcpy(&value, image.data() + offset, sizeof(T));
    return value;
}

struct Phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
};

// A minimal valid static executable: the header, the program header table and the given
// segments, with file contents packed tightly so one iteration stays cheap.
std::vector<uint8_t> make_image(uint64_t entry, const std::vector<Phdr>& phdrs, size_t size) {
    std::vector<uint8_t> image(size, 0);
    for (size_t i = 0; i < size; ++i)
        image[i] = uint8_t(i * 13 + 1);
    const uint8_t ident[16] = {0x7F, 'E', 'L', 'F', 2, 1, 1, 0};
    memcpy(image.data(), ident, 16);
    put<uint16_t>(image, 16, 2);  // ET_EXEC
    put<uint16_t>(image, 18, 62); // EM_X86_64
    put<uint32_t>(image, 20, 1);
    put<uint64_t>(image, 24, entry);
    put<uint64_t>(image, 32, 64);
    put<uint64_t>(image, 40, 0);
    put<uint32_t>(image, 48, 0);
    put<uint16_t>(image, 52, 64);
    put<uint16_t>(image, 54, 56);
    put<uint16_t>(image, 56, uint16_t(phdrs.size()));
    put<uint16_t>(image, 58, 64);
    put<uint16_t>(image, 60, 0);
    put<uint16_t>(image, 62, 0);
    for (size_t i = 0; i < phdrs.size(); ++i) {
        size_t at = 64 + i * 56;
        put(image, at + 0, phdrs[i].type);
        put(image, at + 4, phdrs[i].flags);
        put(image, at + 8, phdrs[i].offset);
        put(image, at + 16, phdrs[i].vaddr);
        put(image, at + 24, phdrs[i].vaddr);
        put(image, at + 32, phdrs[i].filesz);
        put(image, at + 40, phdrs[i].memsz);
        put(image, at + 48, phdrs[i].align);
    }
    return image;
}

std::vector<std::vector<uint8_t>> seeds() {
    std::vector<std::vector<uint8_t>> out;
    // Text, rodata, data+bss, TLS and a stack marker; 0x300 bytes in all.
    out.push_back(make_image(0x401210,
                             {
                                 {1, 5, 0x200, 0x401200, 0x80, 0x80, 0x1000},
                                 {1, 4, 0x280, 0x402280, 0x40, 0x40, 0x1000},
                                 {1, 6, 0x2C0, 0x4032C0, 0x40, 0x2000, 0x1000},
                                 {7, 4, 0x2C0, 0x4032C0, 0x10, 0x30, 8},
                                 {0x6474E551, 6, 0, 0, 0, 0, 16},
                             },
                             0x300));
    // One executable segment near the top of the user range.
    out.push_back(make_image(0x7FFFFFFFE000ull,
                             {
                                 {1, 5, 0x100, 0x7FFFFFFFD100ull, 0x80, 0x1F00, 0},
                             },
                             0x180));
    // Many small segments, one page each.
    std::vector<Phdr> many;
    for (uint64_t i = 0; i < 8; ++i)
        many.push_back({1, i == 0 ? 5u : (i % 2 ? 4u : 6u), 0x240 + i * 0x20,
                        0x10000 + i * 0x1000 + 0x240 + i * 0x20, 0x20, 0x20, 1});
    out.push_back(make_image(0x10250, many, 0x340));
    return out;
}

// Values that sit on the edges the validator has to get right.
std::vector<uint64_t> boundary_values(uint64_t image_size) {
    return {0,
            1,
            2,
            8,
            55,
            56,
            57,
            63,
            64,
            0x7F,
            0xFF,
            0x800,
            0xFFF,
            0x1000,
            0x1001,
            0x200000,
            0xFFFF,
            0x10000,
            0x7FFFFFFF,
            0x80000000,
            0xFFFFFFFF,
            0x100000000ull,
            0x40000000,
            0x40001000,
            0x00007FFFFFFFF000ull,
            0x00007FFFFFFFEFFFull,
            0x00007FFFFFFFFFFFull,
            0x0000800000000000ull,
            0x8000000000000000ull,
            0xFFFFFFFF80000000ull,
            0xFFFFFFFFFFFFF000ull,
            0xFFFFFFFFFFFFFFFEull,
            0xFFFFFFFFFFFFFFFFull,
            image_size,
            image_size - 1,
            image_size + 1,
            image_size - 56,
            image_size - 64};
}

// (offset, width) of every field worth overwriting, given the table location in the
// unmutated image.
std::vector<std::pair<size_t, size_t>> fields(size_t phnum) {
    std::vector<std::pair<size_t, size_t>> f = {
        {4, 1},  {5, 1},  {6, 1},  {7, 1},  {16, 2}, {18, 2},
        {20, 4}, {24, 8}, {32, 8}, {52, 2}, {54, 2}, {56, 2},
    };
    for (size_t i = 0; i < phnum; ++i) {
        size_t at = 64 + i * 56;
        for (auto field : std::vector<std::pair<size_t, size_t>>{
                 {0, 4}, {4, 4}, {8, 8}, {16, 8}, {32, 8}, {40, 8}, {48, 8}})
            f.push_back({at + field.first, field.second});
    }
    return f;
}

void write_field(std::vector<uint8_t>& image, size_t offset, size_t width, uint64_t value) {
    if (offset + width > image.size())
        return;
    memcpy(image.data() + offset, &value, width); // little-endian host: the low bytes
}

uint64_t read_field(const std::vector<uint8_t>& image, size_t offset, size_t width) {
    uint64_t value = 0;
    if (offset + width <= image.size())
        memcpy(&value, image.data() + offset, width);
    return value;
}

void mutate(std::vector<uint8_t>& image, size_t phnum, std::mt19937_64& rng) {
    auto f = fields(phnum);
    switch (rng() % 10) {
    case 0: { // flip a few bits anywhere
        if (image.empty())
            return;
        for (int n = 1 + int(rng() % 4); n > 0; --n)
            image[rng() % image.size()] ^= uint8_t(1u << (rng() % 8));
        break;
    }
    case 1: // truncate
        image.resize(rng() % (image.size() + 1));
        break;
    case 2: { // random byte
        if (!image.empty())
            image[rng() % image.size()] = uint8_t(rng());
        break;
    }
    case 3: // append junk
        for (int n = int(rng() % 64); n > 0; --n)
            image.push_back(uint8_t(rng()));
        break;
    case 4: { // nudge a field by a small amount, the off-by-one generator
        auto [offset, width] = f[rng() % f.size()];
        uint64_t delta = rng() % 3 == 0 ? kPage : 1 + rng() % 8;
        uint64_t v = read_field(image, offset, width);
        write_field(image, offset, width, rng() % 2 ? v + delta : v - delta);
        break;
    }
    case 5: { // copy one program header over another, making duplicates and disorder
        if (phnum < 2)
            return;
        size_t from = 64 + (rng() % phnum) * 56;
        size_t to = 64 + (rng() % phnum) * 56;
        if (from + 56 <= image.size() && to + 56 <= image.size())
            memmove(image.data() + to, image.data() + from, 56);
        break;
    }
    default: { // a field gets a boundary value
        auto [offset, width] = f[rng() % f.size()];
        auto values = boundary_values(image.size());
        write_field(image, offset, width, values[rng() % values.size()]);
        break;
    }
    }
}

bool documented(Error e) {
    return e == Error::CORRUPT || e == Error::NOT_SUPPORTED || e == Error::OUT_OF_RANGE
           || e == Error::INVALID_ARGUMENT || e == Error::TOO_BIG;
}

uint64_t round_down(uint64_t v) { return v & ~(kPage - 1); }
uint64_t round_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

// The plan's promises (elf.h), checked from first principles against the image. Returns
// a description of the first broken one, or nullptr.
const char* check_invariants(const std::vector<uint8_t>& image, const LoadLimits& limits,
                             const LoadPlan& plan) {
    if (image.size() < 64)
        return "success on an image shorter than the header";
    if (image[0] != 0x7F || image[1] != 'E' || image[2] != 'L' || image[3] != 'F')
        return "bad magic accepted";
    if (image[4] != 2 || image[5] != 1 || image[6] != 1 || (image[7] != 0 && image[7] != 3))
        return "bad identification accepted";
    if (get<uint16_t>(image, 16) != 2 || get<uint16_t>(image, 18) != 62
        || get<uint32_t>(image, 20) != 1 || get<uint16_t>(image, 52) != 64
        || get<uint16_t>(image, 54) != 56)
        return "bad header field accepted";
    if (plan.entry != get<uint64_t>(image, 24))
        return "entry differs from e_entry";

    uint64_t phoff = get<uint64_t>(image, 32);
    uint16_t phnum = get<uint16_t>(image, 56);
    if (phnum == 0 || phnum > 64)
        return "bad e_phnum accepted";
    if (phoff > image.size() || image.size() - phoff < uint64_t(phnum) * 56)
        return "program header table outside the image accepted";

    // Every non-empty PT_LOAD in the file, in file order, must be exactly the plan.
    size_t load_index = 0;
    int tls_count = 0;
    uint64_t tls_offset = 0;
    for (uint16_t i = 0; i < phnum; ++i) {
        size_t at = size_t(phoff) + size_t(i) * 56;
        uint32_t type = get<uint32_t>(image, at);
        if (type == 2 || type == 3)
            return "PT_INTERP or PT_DYNAMIC accepted";
        if (type == 7) {
            ++tls_count;
            tls_offset = get<uint64_t>(image, at + 8);
            if (plan.has_tls
                && (plan.tls.vaddr != get<uint64_t>(image, at + 16)
                    || plan.tls.filesz != get<uint64_t>(image, at + 32)
                    || plan.tls.memsz != get<uint64_t>(image, at + 40)))
                return "TLS differs from its program header";
        }
        if (type != 1 || get<uint64_t>(image, at + 40) == 0)
            continue;
        if (load_index >= plan.segment_count)
            return "a PT_LOAD is missing from the plan";
        const Segment& s = plan.segments[load_index++];
        if (s.file_offset != get<uint64_t>(image, at + 8)
            || s.vaddr != get<uint64_t>(image, at + 16) || s.filesz != get<uint64_t>(image, at + 32)
            || s.memsz != get<uint64_t>(image, at + 40))
            return "a segment differs from its program header";
        uint32_t flags = get<uint32_t>(image, at + 4);
        uint32_t prot = ((flags & 4) ? TERN_PROT_READ : 0) | ((flags & 2) ? TERN_PROT_WRITE : 0)
                        | ((flags & 1) ? TERN_PROT_EXEC : 0);
        if (s.prot != prot)
            return "prot differs from p_flags";
        uint64_t align = get<uint64_t>(image, at + 48);
        if (align > 1
            && ((align & (align - 1)) != 0 || align < kPage
                || s.vaddr % align != s.file_offset % align))
            return "bad p_align accepted";
    }
    if (load_index != plan.segment_count)
        return "the plan has segments the file does not";
    if (tls_count != (plan.has_tls ? 1 : 0))
        return "TLS presence does not match the file";

    if (plan.segment_count == 0 || plan.segment_count > elf::kMaxSegments)
        return "segment count out of bounds";
    uint64_t total = 0;
    bool entry_ok = false;
    for (size_t i = 0; i < plan.segment_count; ++i) {
        const Segment& s = plan.segments[i];
        if (s.memsz == 0 || s.filesz > s.memsz)
            return "bad sizes";
        if (s.filesz > 0
            && (s.file_offset > image.size() || image.size() - s.file_offset < s.filesz))
            return "file range outside the image";
        if (s.vaddr % kPage != s.file_offset % kPage)
            return "vaddr and offset not congruent";
        if (s.vaddr < limits.user_start || s.vaddr > limits.user_end
            || limits.user_end - s.vaddr < s.memsz)
            return "segment outside the user range";
        if ((s.prot & TERN_PROT_WRITE) && (s.prot & TERN_PROT_EXEC))
            return "W+X segment";
        if (s.prot & ~(TERN_PROT_READ | TERN_PROT_WRITE | TERN_PROT_EXEC))
            return "unknown prot bits";
        if (i > 0) {
            const Segment& p = plan.segments[i - 1];
            if (round_down(s.vaddr) < round_up(p.vaddr + p.memsz))
                return "segments share a page or are out of order";
        }
        total += round_up(s.vaddr + s.memsz) - round_down(s.vaddr);
        if ((s.prot & TERN_PROT_EXEC) && plan.entry >= s.vaddr && plan.entry - s.vaddr < s.memsz)
            entry_ok = true;
    }
    if (total > limits.max_total_memsz)
        return "total memory over the bound";
    if (!entry_ok)
        return "entry not in an executable segment";
    const Segment& first = plan.segments[0];
    const Segment& last = plan.segments[plan.segment_count - 1];
    if (plan.lowest_vaddr != round_down(first.vaddr)
        || plan.highest_vaddr_end != round_up(last.vaddr + last.memsz))
        return "wrong bounds";

    if (plan.has_tls) {
        const auto& t = plan.tls;
        if (t.filesz > t.memsz || t.memsz > UINT64_MAX - t.vaddr
            || t.memsz > limits.max_total_memsz)
            return "bad TLS sizes";
        if (t.align == 0 || (t.align & (t.align - 1)) != 0 || t.align > kPage)
            return "bad TLS alignment";
        if (t.filesz > 0) {
            bool inside = false;
            for (size_t i = 0; i < plan.segment_count; ++i) {
                const Segment& s = plan.segments[i];
                // The template's bytes in the file must be the ones this segment loads.
                if (t.vaddr >= s.vaddr && t.vaddr - s.vaddr <= s.filesz
                    && t.filesz <= s.filesz - (t.vaddr - s.vaddr)
                    && tls_offset == s.file_offset + (t.vaddr - s.vaddr))
                    inside = true;
            }
            if (!inside)
                return "TLS template outside the loaded file bytes";
        }
    }
    return nullptr;
}

} // namespace

TEST_CASE("elf fuzz: seeded mutations never crash and every success keeps the invariants") {
    const auto images = seeds();
    const LoadLimits defaults;
    // The seeds themselves must be valid, or the fuzzer would only ever test rejection.
    for (const auto& image : images) {
        LoadPlan plan{};
        REQUIRE(
            elf::parse(base::Span<const uint8_t>(image.data(), image.size()), defaults, plan).ok());
        REQUIRE(check_invariants(image, defaults, plan) == nullptr);
    }

    std::mt19937_64 rng(0x7E54E1F5EEDull);
    std::map<int, size_t> outcomes;
    LoadPlan plan;
    for (size_t iteration = 0; iteration < kIterations; ++iteration) {
        size_t which = rng() % images.size();
        std::vector<uint8_t> image = images[which];
        size_t phnum = get<uint16_t>(image, 56);
        for (int n = 1 + int(rng() % 3); n > 0; --n)
            mutate(image, phnum, rng);

        LoadLimits limits = defaults;
        switch (rng() % 8) {
        case 0:
            limits.max_total_memsz = kPage * (1 + rng() % 8);
            break;
        case 1:
            limits.user_start = 0x402000;
            break;
        case 2:
            limits.user_end = 0x404000;
            break;
        default:
            break;
        }

        // Exact-size heap storage, so ASan flags any read past the end of the image.
        std::unique_ptr<uint8_t[]> exact(new uint8_t[image.size() ? image.size() : 1]);
        if (!image.empty())
            memcpy(exact.get(), image.data(), image.size());
        memset(&plan, 0x5A, sizeof(plan));
        auto result =
            elf::parse(base::Span<const uint8_t>(exact.get(), image.size()), limits, plan);

        if (result.ok()) {
            ++outcomes[0];
            const char* broken = check_invariants(image, limits, plan);
            if (broken != nullptr) {
                INFO("iteration " << iteration << " seed " << which << ": " << broken);
                FAIL();
            }
        } else {
            Error e = result.error();
            ++outcomes[int(e)];
            if (!documented(e) || plan.segment_count != 0 || plan.has_tls) {
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
    CHECK(outcomes[0] > kIterations / 50);
    CHECK(outcomes[int(Error::CORRUPT)] > 0);
    CHECK(outcomes[int(Error::NOT_SUPPORTED)] > 0);
    CHECK(outcomes[int(Error::OUT_OF_RANGE)] > 0);
    CHECK(outcomes[int(Error::INVALID_ARGUMENT)] > 0);
    CHECK(outcomes[int(Error::TOO_BIG)] > 0);
}

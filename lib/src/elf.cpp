// The ELF64 validator (see elf.h for the rules and the error each one yields).
//
// Every field is read with __builtin_memcpy because a boot module may sit at any byte
// address, and every sum of two file-controlled numbers is checked for overflow before it
// is compared, so that no image can make a range check wrap around and pass.

#include <base/utility.h>
#include <lib/elf.h>

namespace elf {

namespace {

using base::Error;
using base::Result;

// e_ident indices and values.
constexpr size_t kEiClass = 4;
constexpr size_t kEiData = 5;
constexpr size_t kEiVersion = 6;
constexpr size_t kEiOsAbi = 7;
constexpr uint8_t kClass32 = 1;
constexpr uint8_t kClass64 = 2;
constexpr uint8_t kData2Lsb = 1;
constexpr uint8_t kData2Msb = 2;
constexpr uint8_t kVersionCurrent = 1;
constexpr uint8_t kOsAbiSystemV = 0;
constexpr uint8_t kOsAbiGnu = 3;

// e_type values other than the ones elf.h exports. ET_NONE (0) and the values between
// ET_CORE and the OS-specific range are undefined and count as damage.
constexpr uint16_t kTypeRel = 1;
constexpr uint16_t kTypeCore = 4;
constexpr uint16_t kTypeLowOs = 0xFE00;

// e_phnum's escape to extended numbering: the real count lives in section header 0.
constexpr uint16_t kPhnumExtended = 0xFFFF;

struct Header {
    uint64_t entry;
    uint64_t phoff;
    uint16_t phnum;
};

struct ProgramHeader {
    uint32_t type;
    uint32_t flags;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

uint16_t read16(const uint8_t* p) {
    uint16_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

uint32_t read32(const uint8_t* p) {
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

uint64_t read64(const uint8_t* p) {
    uint64_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

// True when [offset, offset + length) lies inside [0, limit), without computing a sum
// that could wrap.
bool range_inside(uint64_t offset, uint64_t length, uint64_t limit) {
    return offset <= limit && length <= limit - offset;
}

uint32_t prot_from_flags(uint32_t flags) {
    uint32_t prot = 0;
    if (flags & kPfRead)
        prot |= TERN_PROT_READ;
    if (flags & kPfWrite)
        prot |= TERN_PROT_WRITE;
    if (flags & kPfExec)
        prot |= TERN_PROT_EXEC;
    return prot;
}

Result<void> check_header(base::Span<const uint8_t> image, Header& header) {
    if (image.size() < kElfHeaderSize)
        return Error::CORRUPT;
    const uint8_t* h = image.data();
    if (h[0] != 0x7F || h[1] != 'E' || h[2] != 'L' || h[3] != 'F')
        return Error::CORRUPT;

    if (h[kEiClass] == kClass32)
        return Error::NOT_SUPPORTED;
    if (h[kEiClass] != kClass64)
        return Error::CORRUPT;
    if (h[kEiData] == kData2Msb)
        return Error::NOT_SUPPORTED;
    if (h[kEiData] != kData2Lsb)
        return Error::CORRUPT;
    if (h[kEiVersion] != kVersionCurrent)
        return Error::CORRUPT;
    // Static GNU toolchains mark images that use IFUNC relocations as GNU; the ABI is
    // otherwise the same. Any other OS ABI promises semantics Tern does not provide.
    if (h[kEiOsAbi] != kOsAbiSystemV && h[kEiOsAbi] != kOsAbiGnu)
        return Error::NOT_SUPPORTED;

    uint16_t type = read16(h + 16);
    if (type == kTypeDyn || type == kTypeRel || type == kTypeCore || type >= kTypeLowOs)
        return Error::NOT_SUPPORTED;
    if (type != kTypeExec)
        return Error::CORRUPT;

    if (read16(h + 18) != kMachineX86_64)
        return Error::NOT_SUPPORTED;
    if (read32(h + 20) != kVersionCurrent)
        return Error::CORRUPT;
    if (read16(h + 52) != kElfHeaderSize)
        return Error::CORRUPT;
    if (read16(h + 54) != kProgramHeaderSize)
        return Error::CORRUPT;

    header.entry = read64(h + 24);
    header.phoff = read64(h + 32);
    header.phnum = read16(h + 56);
    if (header.phnum == kPhnumExtended)
        return Error::NOT_SUPPORTED;
    if (header.phnum == 0)
        return Error::CORRUPT;
    if (header.phnum > kMaxProgramHeaders)
        return Error::TOO_BIG;
    // phnum <= 64, so the table's length cannot overflow; its offset is file-controlled.
    if (!range_inside(header.phoff, uint64_t(header.phnum) * kProgramHeaderSize, image.size()))
        return Error::CORRUPT;
    return {};
}

ProgramHeader read_program_header(const uint8_t* p) {
    return ProgramHeader{
        .type = read32(p + 0),
        .flags = read32(p + 4),
        .offset = read64(p + 8),
        .vaddr = read64(p + 16),
        .filesz = read64(p + 32),
        .memsz = read64(p + 40),
        .align = read64(p + 48),
    };
}

// Validates one PT_LOAD on its own and against the segment before it, then appends it.
// `total` accumulates the page-rounded sizes already accepted.
Result<void> add_load(const ProgramHeader& ph, uint64_t image_size, const LoadLimits& limits,
                      LoadPlan& plan, uint64_t& total) {
    if (ph.filesz > ph.memsz)
        return Error::CORRUPT;
    if (ph.memsz == 0)
        return {}; // Maps nothing; nothing to check or to load.
    // A segment without file bytes reads nothing, so its offset only matters for the
    // congruence check below.
    if (ph.filesz != 0 && !range_inside(ph.offset, ph.filesz, image_size))
        return Error::CORRUPT;

    // 0 and 1 mean "no alignment requirement"; the page congruence still applies below.
    if (ph.align > 1) {
        if (!base::is_power_of_two(ph.align))
            return Error::CORRUPT;
        if (ph.align < kPageSize)
            return Error::NOT_SUPPORTED;
        if (ph.vaddr % ph.align != ph.offset % ph.align)
            return Error::CORRUPT;
    }
    // The loader copies the file page by page to the same page offsets, so the file and
    // memory layouts must agree within a page.
    if (ph.vaddr % kPageSize != ph.offset % kPageSize)
        return Error::CORRUPT;

    if ((ph.flags & kPfWrite) && (ph.flags & kPfExec))
        return Error::INVALID_ARGUMENT;

    if (ph.vaddr < limits.user_start || !range_inside(ph.vaddr, ph.memsz, limits.user_end))
        return Error::OUT_OF_RANGE;
    // Both ends are now inside page-aligned limits below 2^64, so rounding cannot wrap.
    uint64_t page_start = base::align_down(ph.vaddr, kPageSize);
    uint64_t page_end = base::align_up(ph.vaddr + ph.memsz, kPageSize);

    // Requiring each segment to begin in a page after the previous segment's last page
    // rules out both a shared page and an unsorted table (no accepted segment is empty).
    if (plan.segment_count > 0) {
        const Segment& prev = plan.segments[plan.segment_count - 1];
        // prev passed the same range check, so its end cannot wrap either.
        if (page_start < base::align_up(prev.vaddr + prev.memsz, kPageSize))
            return Error::CORRUPT;
    }
    if (plan.segment_count == kMaxSegments)
        return Error::TOO_BIG;

    // total never exceeds the bound, so comparing against the room left cannot wrap even
    // when the limits span nearly the whole address space.
    if (page_end - page_start > limits.max_total_memsz - total)
        return Error::TOO_BIG;
    total += page_end - page_start;

    plan.segments[plan.segment_count++] = Segment{
        .vaddr = ph.vaddr,
        .memsz = ph.memsz,
        .file_offset = ph.offset,
        .filesz = ph.filesz,
        .prot = prot_from_flags(ph.flags),
    };
    if (plan.segment_count == 1)
        plan.lowest_vaddr = page_start;
    plan.highest_vaddr_end = page_end;
    return {};
}

// Checks what PT_TLS says about itself; where its template lies is checked once every
// PT_LOAD is known (tls_template_loaded).
Result<void> record_tls(const ProgramHeader& ph, uint64_t image_size, const LoadLimits& limits,
                        LoadPlan& plan, uint64_t& tls_offset) {
    if (plan.has_tls)
        return Error::CORRUPT;
    if (ph.filesz > ph.memsz)
        return Error::CORRUPT;
    if (ph.filesz != 0 && !range_inside(ph.offset, ph.filesz, image_size))
        return Error::CORRUPT;
    if (ph.memsz > UINT64_MAX - ph.vaddr)
        return Error::CORRUPT;
    uint64_t align = ph.align <= 1 ? 1 : ph.align;
    if (!base::is_power_of_two(align))
        return Error::CORRUPT;
    if (align > kPageSize)
        return Error::NOT_SUPPORTED;
    if (ph.memsz > limits.max_total_memsz)
        return Error::TOO_BIG;
    plan.has_tls = true;
    plan.tls = TlsInfo{.vaddr = ph.vaddr, .filesz = ph.filesz, .memsz = ph.memsz, .align = align};
    tls_offset = ph.offset;
    return {};
}

// True when the TLS initialisation image lies in the file-backed part of one segment and
// PT_TLS's file offset names the same bytes that segment loads there.
bool tls_template_loaded(const LoadPlan& plan, uint64_t tls_offset) {
    if (plan.tls.filesz == 0)
        return true;
    for (size_t i = 0; i < plan.segment_count; ++i) {
        const Segment& s = plan.segments[i];
        if (plan.tls.vaddr < s.vaddr)
            continue;
        uint64_t delta = plan.tls.vaddr - s.vaddr;
        if (!range_inside(delta, plan.tls.filesz, s.filesz))
            continue;
        // s.file_offset + s.filesz fits in the image, so this sum cannot wrap.
        return tls_offset == s.file_offset + delta;
    }
    return false;
}

bool entry_executable(const LoadPlan& plan) {
    for (size_t i = 0; i < plan.segment_count; ++i) {
        const Segment& s = plan.segments[i];
        if ((s.prot & TERN_PROT_EXEC) && plan.entry >= s.vaddr && plan.entry - s.vaddr < s.memsz)
            return true;
    }
    return false;
}

Result<void> parse_image(base::Span<const uint8_t> image, const LoadLimits& limits,
                         LoadPlan& plan) {
    Header header{};
    TRY(check_header(image, header));
    plan.entry = header.entry;

    uint64_t total = 0;
    uint64_t tls_offset = 0;
    for (uint16_t i = 0; i < header.phnum; ++i) {
        const uint8_t* p = image.data() + header.phoff + uint64_t(i) * kProgramHeaderSize;
        ProgramHeader ph = read_program_header(p);
        switch (ph.type) {
        case kPtLoad:
            TRY(add_load(ph, image.size(), limits, plan, total));
            break;
        case kPtInterp:
        case kPtDynamic:
            return Error::NOT_SUPPORTED;
        case kPtTls:
            TRY(record_tls(ph, image.size(), limits, plan, tls_offset));
            break;
        default:
            // Notes, the stack marker, RELRO, properties and the like describe the image
            // but ask the loader for nothing Tern does.
            break;
        }
    }

    if (plan.segment_count == 0)
        return Error::CORRUPT;
    if (plan.has_tls && !tls_template_loaded(plan, tls_offset))
        return Error::CORRUPT;
    if (!entry_executable(plan))
        return Error::OUT_OF_RANGE;
    return {};
}

} // namespace

Result<void> parse(base::Span<const uint8_t> image, const LoadLimits& limits, LoadPlan& out) {
    TERN_ASSERT(limits.user_start < limits.user_end);
    TERN_ASSERT(base::is_aligned(limits.user_start, kPageSize));
    TERN_ASSERT(base::is_aligned(limits.user_end, kPageSize));

    out = LoadPlan{};
    Result<void> result = parse_image(image, limits, out);
    if (result.is_error())
        out = LoadPlan{};
    return result;
}

} // namespace elf

#pragma once
// ELF64 validator for user programs.
//
// Programs reach the kernel as boot modules (and later from the file server), so an image
// is outside input: a truncated download, a corrupted module or a deliberately hostile
// file must all yield an error, never an out-of-bounds read, an overflowed address or a
// mapping the kernel would regret. parse() therefore maps nothing itself. It checks the
// whole image and produces a LoadPlan in which every number has been validated, and the
// loader executes that plan without re-checking the file.
//
// Only what Tern can run today is accepted: static x86-64 executables (ET_EXEC),
// little-endian, with page-aligned, page-disjoint, W^X PT_LOAD segments.
//
// Errors, by the rule that fails (the first failing rule wins):
//   CORRUPT — structural damage or a contradiction inside the file:
//     * image shorter than the 64-byte ELF header, or wrong magic;
//     * EI_CLASS / EI_DATA holding no defined value (not 32/64-bit, not LSB/MSB);
//     * EI_VERSION or e_version not EV_CURRENT (1); e_ehsize not 64;
//     * e_type ET_NONE or a value ELF does not define;
//     * e_phentsize not 56, e_phnum 0, or the program header table not inside the image
//       (offset + count * size computed without overflow);
//     * PT_LOAD: p_filesz > p_memsz; [p_offset, p_offset + p_filesz) not inside the image;
//       p_align neither 0, 1 nor a power of two; p_vaddr and p_offset not congruent modulo
//       the page size (4096) or modulo p_align;
//     * PT_LOAD segments not sorted by p_vaddr, or two of them sharing a page (W^X is
//       enforced per page, so a shared page could not get both protections);
//     * PT_TLS: more than one, p_filesz > p_memsz, p_align neither 0, 1 nor a power of
//       two, its file range outside the image, p_vaddr + p_memsz overflowing, or its
//       initialisation image [p_vaddr, p_vaddr + p_filesz) not inside the file-backed part
//       of one PT_LOAD at the matching file offset (the template the loader copies must
//       be the bytes the file says it is).
//   NOT_SUPPORTED — a valid ELF file Tern cannot run (yet):
//     * ELFCLASS32, ELFDATA2MSB, an EI_OSABI other than System V (0) or GNU (3);
//     * e_machine not EM_X86_64 (62);
//     * e_type ET_DYN (position-independent executables and shared objects), ET_REL or
//       ET_CORE, or an OS- or processor-specific type;
//     * e_phnum == 0xFFFF (extended numbering through section 0);
//     * a PT_INTERP or PT_DYNAMIC header (the program wants a dynamic linker);
//     * a PT_LOAD p_align that is a power of two below the page size, or a PT_TLS
//       p_align above it.
//   OUT_OF_RANGE — an address outside what the limits allow:
//     * a PT_LOAD whose p_vaddr + p_memsz overflows, or whose range is not inside
//       [limits.user_start, limits.user_end);
//     * e_entry not inside an executable PT_LOAD segment.
//   INVALID_ARGUMENT — a PT_LOAD that is both writable and executable (W^X).
//   TOO_BIG — a documented bound is exceeded:
//     * e_phnum > kMaxProgramHeaders;
//     * more than kMaxSegments PT_LOAD segments with a non-zero p_memsz;
//     * the page-rounded sizes of all segments add up to more than
//       limits.max_total_memsz, or PT_TLS p_memsz alone exceeds it (every thread gets a
//       copy).
//   CORRUPT also covers an image with no PT_LOAD of non-zero size: there is nothing to run.
//
// Ignored: section headers, e_flags, EI_ABIVERSION, the flag bits other than R/W/X, and
// program headers of any other type (PT_NULL, PT_NOTE, PT_PHDR, PT_GNU_STACK,
// PT_GNU_RELRO, PT_GNU_PROPERTY, ...). A PT_LOAD with p_memsz 0 maps nothing and is
// skipped after its size check.

#include <base/result.h>
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/syscalls.h>

namespace elf {

// The granule of W^X and of every placement check. Tern maps user memory in 4 KiB pages.
inline constexpr uint64_t kPageSize = 4096;
// Bounds that keep parse() and the plan small and its run time linear in a tiny number.
inline constexpr size_t kMaxProgramHeaders = 64;
inline constexpr size_t kMaxSegments = 16;

// The ELF constants parse() checks, from the System V ABI and its x86-64 supplement.
inline constexpr size_t kElfHeaderSize = 64;
inline constexpr size_t kProgramHeaderSize = 56;
inline constexpr uint16_t kMachineX86_64 = 62;
inline constexpr uint16_t kTypeExec = 2;
inline constexpr uint16_t kTypeDyn = 3;
inline constexpr uint32_t kPtLoad = 1;
inline constexpr uint32_t kPtDynamic = 2;
inline constexpr uint32_t kPtInterp = 3;
inline constexpr uint32_t kPtTls = 7;
inline constexpr uint32_t kPfExec = 1;
inline constexpr uint32_t kPfWrite = 2;
inline constexpr uint32_t kPfRead = 4;

// Where user programs may live. The defaults leave page 0 unmapped (null dereferences
// fault) and stop one page below the end of the canonical lower half. user_start and
// user_end must be page-aligned with user_start < user_end: they come from the kernel,
// not from the image, so a violation is a kernel bug and asserts.
struct LoadLimits {
    uint64_t user_start = 0x1000;
    uint64_t user_end = 0x00007FFFFFFFF000ull;
    uint64_t max_total_memsz = uint64_t(1) << 30;
};

// One PT_LOAD segment, exactly as the file states it (not page-rounded). The loader maps
// [align_down(vaddr), align_up(vaddr + memsz)) with prot, copies filesz bytes from
// file_offset to vaddr and zeroes the rest. parse() guarantees: filesz <= memsz; memsz > 0;
// file_offset + filesz <= image size when filesz > 0; vaddr % kPageSize == file_offset %
// kPageSize; the page-rounded range lies inside the limits; prot never has both
// TERN_PROT_WRITE and TERN_PROT_EXEC. prot may be 0 (a reserved, inaccessible range).
struct Segment {
    uint64_t vaddr;
    uint64_t memsz;
    uint64_t file_offset;
    uint64_t filesz;
    uint32_t prot; // TERN_PROT_READ | TERN_PROT_WRITE | TERN_PROT_EXEC
};

// The thread-local storage template (PT_TLS), for the code that builds a thread's TLS
// block. The initialisation image [vaddr, vaddr + filesz) lies inside the file-backed part
// of one segment; the remaining memsz - filesz bytes are zero. align is a power of two
// (0 and 1 in the file become 1).
struct TlsInfo {
    uint64_t vaddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

// A validated plan. segments[0..segment_count) are sorted by vaddr and no two share a
// page. lowest_vaddr and highest_vaddr_end bound all of them, page-aligned
// (align_down(segments[0].vaddr) and align_up of the last segment's end). entry lies in
// a segment whose prot includes TERN_PROT_EXEC.
struct LoadPlan {
    uint64_t entry;
    Segment segments[kMaxSegments];
    size_t segment_count;
    uint64_t lowest_vaddr;
    uint64_t highest_vaddr_end;
    bool has_tls;
    TlsInfo tls; // meaningful only when has_tls
};

// Validates `image` against the rules above and, on success, fills `out`. On error `out`
// is reset to an empty plan (segment_count 0), so a caller that ignores the error still
// maps nothing. Reads the image only; never writes it and never keeps a pointer into it.
[[nodiscard]] base::Result<void> parse(base::Span<const uint8_t> image, const LoadLimits& limits,
                                       LoadPlan& out);

} // namespace elf

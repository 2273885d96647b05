#include <kernel/lib/multiboot2.h>

namespace kernel::mb2 {

namespace {

enum TagType : uint32_t {
    kTagEnd = 0,
    kTagCmdline = 1,
    kTagLoaderName = 2,
    kTagModule = 3,
    kTagBasicMemInfo = 4,
    kTagMemoryMap = 6,
    kTagAcpiOldRsdp = 14,
    kTagAcpiNewRsdp = 15,
};

uint32_t read32(const uint8_t* p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
uint64_t read64(const uint8_t* p) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}

// A string inside a tag: bounded by the tag, terminated by NUL if one is present.
base::StringView tag_string(const uint8_t* p, size_t max) {
    size_t n = 0;
    while (n < max && p[n] != 0)
        ++n;
    return base::StringView(reinterpret_cast<const char*>(p), n);
}

void parse_memory_map(const uint8_t* tag, uint32_t size, BootInfo& out) {
    if (size < 16) {
        ++out.malformed_tags;
        return;
    }
    uint32_t entry_size = read32(tag + 8);
    // Version 0 entries are 24 bytes; later versions may only grow.
    if (entry_size < 24 || entry_size % 8 != 0) {
        ++out.malformed_tags;
        return;
    }
    out.has_memory_map = true;
    for (uint32_t off = 16; off + entry_size <= size; off += entry_size) {
        if (out.memory_count == kMaxMemoryEntries) {
            ++out.dropped_memory;
            continue;
        }
        const uint8_t* e = tag + off;
        out.memory[out.memory_count++] = MemoryEntry{read64(e), read64(e + 8), read32(e + 16)};
    }
    if ((size - 16) % entry_size != 0)
        ++out.malformed_tags;
}

} // namespace

base::Result<void> parse(const uint8_t* info, size_t available, BootInfo& out) {
    out = BootInfo{};
    if (info == nullptr || available < 8 || (reinterpret_cast<uintptr_t>(info) & 7) != 0)
        return base::Error::CORRUPT;
    uint32_t total = read32(info);
    if (total < 8 || total > available || total > kMaxInfoSize)
        return base::Error::CORRUPT;
    out.total_size = total;

    uint32_t off = 8;
    bool saw_end = false;
    while (off + 8 <= total) {
        const uint8_t* tag = info + off;
        uint32_t type = read32(tag);
        uint32_t size = read32(tag + 4);
        if (size < 8 || size > total - off) {
            ++out.malformed_tags;
            break;
        }
        switch (type) {
        case kTagEnd:
            saw_end = true;
            break;
        case kTagCmdline:
            out.cmdline = tag_string(tag + 8, size - 8);
            break;
        case kTagLoaderName:
            out.loader_name = tag_string(tag + 8, size - 8);
            break;
        case kTagModule:
            if (size < 16) {
                ++out.malformed_tags;
                break;
            }
            {
                uint32_t start = read32(tag + 8), end = read32(tag + 12);
                if (end < start || out.module_count == kMaxModules) {
                    ++out.dropped_modules;
                    break;
                }
                out.modules[out.module_count++] =
                    Module{start, end, tag_string(tag + 16, size - 16)};
            }
            break;
        case kTagBasicMemInfo:
            if (size < 16) {
                ++out.malformed_tags;
                break;
            }
            out.basic_mem_lower_kib = read32(tag + 8);
            out.basic_mem_upper_kib = read32(tag + 12);
            break;
        case kTagMemoryMap:
            parse_memory_map(tag, size, out);
            break;
        case kTagAcpiOldRsdp:
        case kTagAcpiNewRsdp:
            // A copy of the RSDP; the ACPI parser checks it. The 2.0 one wins.
            if (type == kTagAcpiNewRsdp || !out.rsdp) {
                out.rsdp = tag + 8;
                out.rsdp_size = size - 8;
                out.rsdp_new = type == kTagAcpiNewRsdp;
            }
            break;
        default:
            ++out.skipped_tags;
            break;
        }
        if (saw_end)
            break;
        // Tags are padded to 8 bytes.
        uint32_t next = off + ((size + 7) & ~7u);
        if (next <= off)
            break;
        off = next;
    }
    if (!saw_end)
        ++out.malformed_tags;
    return {};
}

} // namespace kernel::mb2

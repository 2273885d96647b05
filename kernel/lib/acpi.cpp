#include <kernel/lib/acpi.h>

namespace kernel::acpi {

namespace {

constexpr size_t kRsdpV1Length = 20;
constexpr size_t kRsdpV2Length = 36;
constexpr uint32_t kMadtEntriesOffset = 44;
constexpr uint32_t kMcfgEntriesOffset = 44;
constexpr uint32_t kMcfgEntryLength = 16;
// The RSDT/XSDT of a real machine lists a few dozen tables; more is a corrupt length.
constexpr size_t kMaxRootEntries = 256;

enum MadtEntry : uint8_t {
    kLocalApic = 0,
    kIoApicEntry = 1,
    kSourceOverride = 2,
    kLocalApicAddressOverride = 5,
    kLocalX2Apic = 9,
};

uint16_t read16(const uint8_t* p) {
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return v;
}
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

bool checksum_ok(const uint8_t* p, size_t length) {
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i)
        sum = uint8_t(sum + p[i]);
    return sum == 0;
}

bool same_signature(const uint8_t* p, const char* signature, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (p[i] != uint8_t(signature[i]))
            return false;
    return true;
}

// The name the boot log uses: the MADT's signature is "APIC".
const char* display_name(const char* signature) {
    return same_signature(reinterpret_cast<const uint8_t*>(signature), "APIC", 4) ? "MADT"
                                                                                  : signature;
}

// Reads and checks the table at `phys`: first its header, then all of it.
base::Result<const uint8_t*> read_table(uint64_t phys, const char (&signature)[5],
                                        ReadPhysical read, void* context, Problems& problems,
                                        uint32_t& length) {
    const uint8_t* header = read(context, phys, kHeaderLength);
    if (!header) {
        problems.add("table header unreadable at", phys);
        return base::Error::CORRUPT;
    }
    // A length out of bounds is read no further than the header, where check_table
    // reports it.
    uint32_t claimed = read32(header + 4);
    size_t readable =
        claimed >= kHeaderLength && claimed <= kMaxTableLength ? claimed : kHeaderLength;
    const uint8_t* table = read(context, phys, readable);
    if (!table) {
        problems.add("unreadable for the length its header claims, at", phys,
                     display_name(signature));
        return base::Error::CORRUPT;
    }
    length = TRY(check_table(table, readable, signature, problems));
    return table;
}

} // namespace

void Problems::add(const char* what, uint64_t value, const char* table) {
    if (count == kMaxProblems) {
        ++dropped;
        return;
    }
    Problem& p = list[count++];
    p.what = what;
    p.value = value;
    for (size_t i = 0; i < 4; ++i)
        p.table[i] = table[i] ? table[i] : ' ';
    p.table[4] = '\0';
}

base::Result<Rsdp> parse_rsdp(const uint8_t* bytes, size_t size, Problems& problems) {
    if (!bytes || size < kRsdpV1Length) {
        problems.add("too short, bytes", size, "RSDP");
        return base::Error::CORRUPT;
    }
    if (!same_signature(bytes, "RSD PTR ", 8)) {
        problems.add("has a bad signature, first word", read64(bytes), "RSDP");
        return base::Error::CORRUPT;
    }
    if (!checksum_ok(bytes, kRsdpV1Length)) {
        problems.add("checksum wrong, stored byte", bytes[8], "RSDP");
        return base::Error::CORRUPT;
    }
    Rsdp rsdp;
    rsdp.revision = bytes[15];
    rsdp.rsdt = read32(bytes + 16);
    if (rsdp.revision >= 2) {
        // The XSDT is optional to use: a broken extended part leaves the RSDT.
        uint32_t length = size >= kRsdpV2Length ? read32(bytes + 20) : 0;
        if (size < kRsdpV2Length || length < kRsdpV2Length || length > size)
            problems.add("2.0 part truncated, length", length, "RSDP");
        else if (!checksum_ok(bytes, length))
            problems.add("extended checksum wrong, stored byte", bytes[32], "RSDP");
        else
            rsdp.xsdt = read64(bytes + 24);
    }
    if (rsdp.rsdt == 0 && rsdp.xsdt == 0) {
        problems.add("names no RSDT or XSDT, revision", rsdp.revision, "RSDP");
        return base::Error::CORRUPT;
    }
    return rsdp;
}

base::Result<uint32_t> check_table(const uint8_t* table, size_t available,
                                   const char (&signature)[5], Problems& problems) {
    if (!table || available < kHeaderLength) {
        problems.add("table shorter than its header, bytes", available);
        return base::Error::CORRUPT;
    }
    if (!same_signature(table, signature, 4))
        return base::Error::NOT_FOUND;
    uint32_t length = read32(table + 4);
    if (length < kHeaderLength || length > kMaxTableLength || length > available) {
        problems.add("length out of bounds", length, display_name(signature));
        return base::Error::CORRUPT;
    }
    if (!checksum_ok(table, length)) {
        problems.add("checksum wrong, stored byte", table[9], display_name(signature));
        return base::Error::CORRUPT;
    }
    return length;
}

base::Result<void> parse_madt(const uint8_t* table, uint32_t length, Madt& out,
                              Problems& problems) {
    out = Madt{};
    if (length < kMadtEntriesOffset) {
        problems.add("shorter than its fixed part, length", length, "MADT");
        return base::Error::CORRUPT;
    }
    Madt madt;
    madt.lapic_address = read32(table + 36);
    madt.flags = read32(table + 40);
    uint32_t off = kMadtEntriesOffset;
    while (off < length) {
        if (length - off < 2) {
            problems.add("entry header past the table end, offset", off, "MADT");
            return base::Error::CORRUPT;
        }
        const uint8_t* e = table + off;
        uint8_t type = e[0], size = e[1];
        if (size < 2 || size > length - off) {
            problems.add("entry length bad (zero or past the end), offset", off, "MADT");
            return base::Error::CORRUPT;
        }
        uint8_t needed = type == kLocalApic                  ? 8
                         : type == kIoApicEntry              ? 12
                         : type == kSourceOverride           ? 10
                         : type == kLocalApicAddressOverride ? 12
                         : type == kLocalX2Apic              ? 16
                                                             : 2;
        if (size < needed) {
            problems.add("entry shorter than its type needs, type", type, "MADT");
            return base::Error::CORRUPT;
        }
        switch (type) {
        case kLocalApic:
            // Enabled, or online-capable (may be brought up later).
            if (read32(e + 4) & 3) {
                if (madt.cpu_count < kMaxCpus)
                    madt.cpu_apic_ids[madt.cpu_count++] = e[3];
                else
                    ++madt.dropped_entries;
            }
            break;
        case kLocalX2Apic:
            if (read32(e + 8) & 3) {
                // An x2APIC id above 255 has no xAPIC equivalent; count the CPU only.
                if (madt.cpu_count < kMaxCpus)
                    madt.cpu_apic_ids[madt.cpu_count++] = uint8_t(read32(e + 4));
                else
                    ++madt.dropped_entries;
            }
            break;
        case kIoApicEntry: {
            IoApic io{e[2], read32(e + 4), read32(e + 8)};
            if (io.address == 0 || io.address % 1024 != 0) {
                problems.add("I/O APIC address bad", io.address, "MADT");
                return base::Error::CORRUPT;
            }
            if (madt.ioapic_count < kMaxIoApics)
                madt.ioapics[madt.ioapic_count++] = io;
            else
                ++madt.dropped_entries;
            break;
        }
        case kSourceOverride: {
            Override o{e[2], e[3], read32(e + 4), read16(e + 8)};
            // Polarity and trigger value 2 are reserved.
            if ((o.flags & kPolarityMask) == 2 || (o.flags & kTriggerMask) == 8) {
                problems.add("override has reserved flags, flags", o.flags, "MADT");
                return base::Error::CORRUPT;
            }
            if (o.bus != 0 || o.source > 15) {
                problems.add("override for a non-ISA source, source", o.source, "MADT");
                break;
            }
            if (madt.override_count < kMaxOverrides)
                madt.overrides[madt.override_count++] = o;
            else
                ++madt.dropped_entries;
            break;
        }
        case kLocalApicAddressOverride:
            // The xAPIC window stays below 4 GiB on every x86-64 machine Tern runs on; the
            // kernel takes the local APIC's address from its MSR anyway.
            break;
        default:
            break;
        }
        off += size;
    }
    if (madt.dropped_entries)
        problems.add("entries beyond the kernel's tables, count", madt.dropped_entries, "MADT");
    out = madt;
    return {};
}

base::Result<void> parse_mcfg(const uint8_t* table, uint32_t length, Mcfg& out,
                              Problems& problems) {
    out = Mcfg{};
    if (length < kMcfgEntriesOffset || (length - kMcfgEntriesOffset) % kMcfgEntryLength != 0) {
        problems.add("length is not a whole number of entries, length", length, "MCFG");
        return base::Error::CORRUPT;
    }
    Mcfg mcfg;
    for (uint32_t off = kMcfgEntriesOffset; off < length; off += kMcfgEntryLength) {
        const uint8_t* e = table + off;
        EcamWindow w{read64(e), read16(e + 8), e[10], e[11]};
        // Each bus takes 1 MiB of the window, which starts where bus 0 would.
        if (w.base == 0 || w.base % (1u << 20) != 0 || w.start_bus > w.end_bus) {
            problems.add("entry bad (base, alignment or bus range), base", w.base, "MCFG");
            return base::Error::CORRUPT;
        }
        if (mcfg.count < kMaxEcamWindows)
            mcfg.windows[mcfg.count++] = w;
        else
            ++mcfg.dropped;
    }
    if (mcfg.count == 0) {
        problems.add("lists no ECAM window, length", length, "MCFG");
        return base::Error::CORRUPT;
    }
    out = mcfg;
    return {};
}

void discover(const uint8_t* rsdp_bytes, size_t rsdp_size, ReadPhysical read, void* context,
              Tables& out) {
    out = Tables{};
    auto rsdp = parse_rsdp(rsdp_bytes, rsdp_size, out.problems);
    if (rsdp.is_error())
        return;
    out.has_rsdp = true;
    out.rsdp = rsdp.value();

    // The root table: the XSDT (64-bit entries) when there is a usable one, else the RSDT.
    const uint8_t* root = nullptr;
    uint32_t root_length = 0;
    size_t width = 8;
    if (out.rsdp.xsdt) {
        auto t = read_table(out.rsdp.xsdt, "XSDT", read, context, out.problems, root_length);
        if (t.ok())
            root = t.value();
    }
    if (!root && out.rsdp.rsdt) {
        width = 4;
        auto t = read_table(out.rsdp.rsdt, "RSDT", read, context, out.problems, root_length);
        if (t.ok())
            root = t.value();
    }
    if (!root) {
        out.problems.add("no usable RSDT or XSDT; RSDP revision", out.rsdp.revision);
        return;
    }
    size_t entries = (root_length - kHeaderLength) / width;
    if ((root_length - kHeaderLength) % width)
        out.problems.add("root table has a partial entry, length", root_length);
    if (entries > kMaxRootEntries) {
        out.problems.add("root table lists too many tables, count", entries);
        entries = kMaxRootEntries;
    }
    for (size_t i = 0; i < entries; ++i) {
        const uint8_t* p = root + kHeaderLength + i * width;
        uint64_t phys = width == 8 ? read64(p) : read32(p);
        const uint8_t* sig = read(context, phys, 4);
        if (!sig) {
            out.problems.add("listed table unreadable at", phys);
            continue;
        }
        uint32_t length = 0;
        if (!out.has_madt && same_signature(sig, "APIC", 4)) {
            auto t = read_table(phys, "APIC", read, context, out.problems, length);
            if (t.ok() && parse_madt(t.value(), length, out.madt, out.problems).ok())
                out.has_madt = true;
        } else if (!out.has_mcfg && same_signature(sig, "MCFG", 4)) {
            auto t = read_table(phys, "MCFG", read, context, out.problems, length);
            if (t.ok() && parse_mcfg(t.value(), length, out.mcfg, out.problems).ok())
                out.has_mcfg = true;
        }
    }
}

} // namespace kernel::acpi

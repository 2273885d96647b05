// ACPI table parser: the tables QEMU's pc and q35 machines give, and every kind of damage
// (checksums, lengths, entries past the end, unreadable memory). A bad table is refused
// with an error and a problem line; the parser never reads outside what it was given.
#include <catch2/catch.hpp>
#include <kernel/lib/acpi.h>
#include <map>
#include <random>
#include <string.h>
#include <string>
#include <vector>

using namespace kernel::acpi;

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t off, uint16_t v) { memcpy(b.data() + off, &v, 2); }
void put32(Bytes& b, size_t off, uint32_t v) { memcpy(b.data() + off, &v, 4); }
void put64(Bytes& b, size_t off, uint64_t v) { memcpy(b.data() + off, &v, 8); }
void push16(Bytes& b, uint16_t v) {
    b.resize(b.size() + 2);
    put16(b, b.size() - 2, v);
}
void push32(Bytes& b, uint32_t v) {
    b.resize(b.size() + 4);
    put32(b, b.size() - 4, v);
}
void push64(Bytes& b, uint64_t v) {
    b.resize(b.size() + 8);
    put64(b, b.size() - 8, v);
}

// Sets byte `at` so the bytes [0, length) sum to zero.
void fix_checksum(Bytes& b, size_t at, size_t length) {
    b[at] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i)
        sum = uint8_t(sum + b[i]);
    b[at] = uint8_t(-sum);
}

Bytes header(const char* signature) {
    Bytes b(36, 0);
    memcpy(b.data(), signature, 4);
    b[8] = 1;
    memcpy(b.data() + 10, "TERNOS", 6);
    return b;
}

// Fixes a table's length field and checksum.
Bytes finish(Bytes b) {
    put32(b, 4, uint32_t(b.size()));
    fix_checksum(b, 9, b.size());
    return b;
}

Bytes rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt) {
    Bytes b(revision >= 2 ? 36 : 20, 0);
    memcpy(b.data(), "RSD PTR ", 8);
    memcpy(b.data() + 9, "TERNOS", 6);
    b[15] = revision;
    put32(b, 16, rsdt);
    fix_checksum(b, 8, 20);
    if (revision >= 2) {
        put32(b, 20, 36);
        put64(b, 24, xsdt);
        fix_checksum(b, 32, 36);
    }
    return b;
}

// The MADT QEMU builds for one CPU: a local APIC, the I/O APIC at its default address,
// and overrides for the timer (IRQ 0 -> GSI 2) and the PCI link lines (level, high).
Bytes qemu_madt() {
    Bytes b = header("APIC");
    push32(b, 0xFEE00000);
    push32(b, 1);
    b.insert(b.end(), {0, 8, 0, 0});
    push32(b, 1);
    b.insert(b.end(), {1, 12, 0, 0});
    push32(b, 0xFEC00000);
    push32(b, 0);
    auto iso = [&](uint8_t source, uint32_t gsi, uint16_t flags) {
        b.insert(b.end(), {2, 10, 0, source});
        push32(b, gsi);
        push16(b, flags);
    };
    iso(0, 2, 0);
    iso(5, 5, 0xD);
    iso(9, 9, 0xD);
    iso(10, 10, 0xD);
    iso(11, 11, 0xD);
    b.insert(b.end(), {4, 6, 0xFF, 0, 0, 1}); // local APIC NMI: skipped
    return finish(b);
}

Bytes qemu_mcfg() {
    Bytes b = header("MCFG");
    push64(b, 0);
    push64(b, 0xB0000000);
    push16(b, 0);
    b.push_back(0);
    b.push_back(255);
    push32(b, 0);
    return finish(b);
}

// Physical memory made of tables at chosen addresses.
struct Memory {
    std::map<uint64_t, Bytes> regions;
    static const uint8_t* read(void* context, uint64_t phys, size_t length) {
        auto* self = static_cast<Memory*>(context);
        for (auto& [base, bytes] : self->regions)
            if (phys >= base && phys - base <= bytes.size()
                && length <= bytes.size() - (phys - base))
                return bytes.data() + (phys - base);
        return nullptr;
    }
};

Bytes root_table(const char* signature, const std::vector<uint64_t>& tables) {
    Bytes b = header(signature);
    for (uint64_t t : tables) {
        if (signature[0] == 'X')
            push64(b, t);
        else
            push32(b, uint32_t(t));
    }
    return finish(b);
}

// A machine like QEMU's q35: RSDP 2.0, XSDT and RSDT, MADT and MCFG.
Memory q35_memory() {
    Memory m;
    m.regions[0x7FE0000] = root_table("XSDT", {0x7FE1000, 0x7FE2000});
    m.regions[0x7FE0800] = root_table("RSDT", {0x7FE1000, 0x7FE2000});
    m.regions[0x7FE1000] = qemu_madt();
    m.regions[0x7FE2000] = qemu_mcfg();
    return m;
}

bool has_problem(const Problems& problems, const char* table, const char* words) {
    for (size_t i = 0; i < problems.count; ++i)
        if (strcmp(problems.list[i].table, table) == 0
            && std::string(problems.list[i].what).find(words) != std::string::npos)
            return true;
    return false;
}

} // namespace

TEST_CASE("acpi: q35-like tables through the XSDT give the MADT and MCFG") {
    Memory m = q35_memory();
    Bytes r = rsdp(2, 0x7FE0800, 0x7FE0000);
    Tables t;
    discover(r.data(), r.size(), Memory::read, &m, t);
    CHECK(t.problems.count == 0);
    REQUIRE(t.has_rsdp);
    CHECK(t.rsdp.xsdt == 0x7FE0000);
    REQUIRE(t.has_madt);
    CHECK(t.madt.lapic_address == 0xFEE00000);
    CHECK(t.madt.flags == 1);
    REQUIRE(t.madt.cpu_count == 1);
    CHECK(t.madt.cpu_apic_ids[0] == 0);
    REQUIRE(t.madt.ioapic_count == 1);
    CHECK(t.madt.ioapics[0].address == 0xFEC00000);
    CHECK(t.madt.ioapics[0].gsi_base == 0);
    REQUIRE(t.madt.override_count == 5);
    CHECK(t.madt.overrides[0].source == 0);
    CHECK(t.madt.overrides[0].gsi == 2);
    CHECK(t.madt.overrides[1].source == 5);
    CHECK((t.madt.overrides[1].flags & kTriggerMask) == kTriggerLevel);
    CHECK((t.madt.overrides[1].flags & kPolarityMask) == kPolarityActiveHigh);
    REQUIRE(t.has_mcfg);
    REQUIRE(t.mcfg.count == 1);
    CHECK(t.mcfg.windows[0].base == 0xB0000000);
    CHECK(t.mcfg.windows[0].segment == 0);
    CHECK(t.mcfg.windows[0].start_bus == 0);
    CHECK(t.mcfg.windows[0].end_bus == 255);
}

TEST_CASE("acpi: pc-like tables through an RSDP 1.0 and RSDT, no MCFG") {
    Memory m;
    m.regions[0x7FE0800] = root_table("RSDT", {0x7FE1000});
    m.regions[0x7FE1000] = qemu_madt();
    Bytes r = rsdp(0, 0x7FE0800, 0);
    Tables t;
    discover(r.data(), r.size(), Memory::read, &m, t);
    CHECK(t.problems.count == 0);
    CHECK(t.has_madt);
    CHECK_FALSE(t.has_mcfg);
    CHECK(t.rsdp.xsdt == 0);
}

TEST_CASE("acpi: RSDP damage is refused") {
    Problems problems;
    Bytes r = rsdp(2, 0x1000, 0x2000);
    CHECK(parse_rsdp(r.data(), r.size(), problems).ok());
    CHECK(parse_rsdp(nullptr, 36, problems).is_error());
    CHECK(parse_rsdp(r.data(), 19, problems).is_error());
    CHECK(has_problem(problems, "RSDP", "too short"));

    Bytes bad_sig = r;
    bad_sig[3] = 'X';
    CHECK(parse_rsdp(bad_sig.data(), bad_sig.size(), problems).is_error());
    CHECK(has_problem(problems, "RSDP", "signature"));

    Bytes bad_sum = r;
    bad_sum[16] ^= 0x40; // the RSDT address changes, the checksum does not
    CHECK(parse_rsdp(bad_sum.data(), bad_sum.size(), problems).is_error());
    CHECK(has_problem(problems, "RSDP", "checksum wrong"));

    // A broken 2.0 part keeps the RSDT and drops the XSDT.
    Problems p2;
    Bytes bad_ext = r;
    bad_ext[24] ^= 1;
    auto kept = parse_rsdp(bad_ext.data(), bad_ext.size(), p2);
    REQUIRE(kept.ok());
    CHECK(kept.value().xsdt == 0);
    CHECK(kept.value().rsdt == 0x1000);
    CHECK(has_problem(p2, "RSDP", "extended checksum"));

    // Revision 2 claims 36 bytes, but only the 20-byte copy is there.
    Problems p3;
    auto short_v2 = parse_rsdp(r.data(), 20, p3);
    REQUIRE(short_v2.ok());
    CHECK(short_v2.value().xsdt == 0);
    CHECK(has_problem(p3, "RSDP", "truncated"));

    Problems p4;
    Bytes none = rsdp(0, 0, 0);
    CHECK(parse_rsdp(none.data(), none.size(), p4).is_error());
    CHECK(has_problem(p4, "RSDP", "no RSDT"));
}

TEST_CASE("acpi: a broken XSDT falls back to the RSDT") {
    Memory m = q35_memory();
    m.regions[0x7FE0000][40] ^= 0xFF; // an XSDT entry byte: checksum now wrong
    Bytes r = rsdp(2, 0x7FE0800, 0x7FE0000);
    Tables t;
    discover(r.data(), r.size(), Memory::read, &m, t);
    CHECK(has_problem(t.problems, "XSDT", "checksum wrong"));
    CHECK(t.has_madt);
    CHECK(t.has_mcfg);
}

TEST_CASE("acpi: no usable root table leaves everything absent") {
    Memory m;
    Bytes r = rsdp(2, 0x7FE0800, 0x7FE0000); // nothing mapped there
    Tables t;
    discover(r.data(), r.size(), Memory::read, &m, t);
    CHECK(t.has_rsdp);
    CHECK_FALSE(t.has_madt);
    CHECK_FALSE(t.has_mcfg);
    CHECK(has_problem(t.problems, "ACPI", "unreadable"));
    CHECK(has_problem(t.problems, "ACPI", "no usable RSDT or XSDT"));
}

TEST_CASE("acpi: table headers: lengths and checksums") {
    Problems problems;
    Bytes madt = qemu_madt();
    auto ok = check_table(madt.data(), madt.size(), "APIC", problems);
    REQUIRE(ok.ok());
    CHECK(ok.value() == madt.size());
    CHECK(check_table(madt.data(), madt.size(), "MCFG", problems).error()
          == base::Error::NOT_FOUND);
    CHECK(check_table(madt.data(), 35, "APIC", problems).is_error());
    // The length claims more than can be read.
    CHECK(check_table(madt.data(), madt.size() - 1, "APIC", problems).is_error());
    CHECK(has_problem(problems, "MADT", "length out of bounds"));
    // A length below the header.
    Bytes tiny = madt;
    put32(tiny, 4, 20);
    CHECK(check_table(tiny.data(), tiny.size(), "APIC", problems).is_error());
    // One flipped bit anywhere.
    Bytes flipped = madt;
    flipped[50] ^= 4;
    Problems p2;
    CHECK(check_table(flipped.data(), flipped.size(), "APIC", p2).is_error());
    CHECK(has_problem(p2, "MADT", "checksum wrong"));
}

TEST_CASE("acpi: a table whose length runs past readable memory is refused") {
    Memory m = q35_memory();
    Bytes& mcfg = m.regions[0x7FE2000];
    put32(mcfg, 4, uint32_t(mcfg.size() + 16));
    fix_checksum(mcfg, 9, mcfg.size());
    Bytes r = rsdp(2, 0x7FE0800, 0x7FE0000);
    Tables t;
    discover(r.data(), r.size(), Memory::read, &m, t);
    CHECK(t.has_madt);
    CHECK_FALSE(t.has_mcfg);
    CHECK(has_problem(t.problems, "MCFG", "unreadable for the length"));
}

TEST_CASE("acpi: MADT entries past the end, zero-length and short entries are refused") {
    Bytes good = qemu_madt();
    Madt madt;
    Problems problems;
    REQUIRE(parse_madt(good.data(), uint32_t(good.size()), madt, problems).ok());

    // An I/O APIC entry that claims 12 bytes with only 6 left in the table.
    Bytes past = header("APIC");
    push32(past, 0xFEE00000);
    push32(past, 0);
    past.insert(past.end(), {1, 12, 0, 0, 0, 0});
    past = finish(past);
    CHECK(parse_madt(past.data(), uint32_t(past.size()), madt, problems).is_error());
    CHECK(has_problem(problems, "MADT", "past the end"));
    CHECK(madt.ioapic_count == 0);

    // A zero-length entry would loop forever.
    Bytes zero = header("APIC");
    push32(zero, 0xFEE00000);
    push32(zero, 0);
    zero.insert(zero.end(), {0, 0, 0, 0});
    zero = finish(zero);
    CHECK(parse_madt(zero.data(), uint32_t(zero.size()), madt, problems).is_error());

    // A lone byte where an entry header should be.
    Bytes half = header("APIC");
    push32(half, 0xFEE00000);
    push32(half, 0);
    half.push_back(0);
    half = finish(half);
    CHECK(parse_madt(half.data(), uint32_t(half.size()), madt, problems).is_error());
    CHECK(has_problem(problems, "MADT", "entry header past"));

    // An override entry of 6 bytes (it needs 10).
    Bytes short_iso = header("APIC");
    push32(short_iso, 0xFEE00000);
    push32(short_iso, 0);
    short_iso.insert(short_iso.end(), {2, 6, 0, 0, 2, 0});
    short_iso = finish(short_iso);
    Problems p2;
    CHECK(parse_madt(short_iso.data(), uint32_t(short_iso.size()), madt, p2).is_error());
    CHECK(has_problem(p2, "MADT", "shorter than its type"));

    // Shorter than the fixed part.
    Bytes fixed = header("APIC");
    push32(fixed, 0xFEE00000);
    fixed = finish(fixed);
    CHECK(parse_madt(fixed.data(), uint32_t(fixed.size()), madt, problems).is_error());
}

TEST_CASE("acpi: MADT values that cannot be right are refused") {
    Problems problems;
    Madt madt;
    Bytes bad_addr = header("APIC");
    push32(bad_addr, 0xFEE00000);
    push32(bad_addr, 0);
    bad_addr.insert(bad_addr.end(), {1, 12, 0, 0});
    push32(bad_addr, 0xFEC00010); // not aligned
    push32(bad_addr, 0);
    bad_addr = finish(bad_addr);
    CHECK(parse_madt(bad_addr.data(), uint32_t(bad_addr.size()), madt, problems).is_error());
    CHECK(has_problem(problems, "MADT", "I/O APIC address"));

    Bytes reserved = header("APIC");
    push32(reserved, 0xFEE00000);
    push32(reserved, 0);
    reserved.insert(reserved.end(), {2, 10, 0, 9});
    push32(reserved, 9);
    push16(reserved, 0x2); // polarity 2 is reserved
    reserved = finish(reserved);
    CHECK(parse_madt(reserved.data(), uint32_t(reserved.size()), madt, problems).is_error());
    CHECK(has_problem(problems, "MADT", "reserved flags"));
}

TEST_CASE("acpi: several I/O APICs, x2APIC CPUs and disabled CPUs") {
    Bytes b = header("APIC");
    push32(b, 0xFEE00000);
    push32(b, 0);
    b.insert(b.end(), {0, 8, 0, 0});
    push32(b, 1);
    b.insert(b.end(), {0, 8, 1, 1});
    push32(b, 0); // disabled, not online-capable: not counted
    b.insert(b.end(), {9, 16, 0, 0});
    push32(b, 2);
    push32(b, 1);
    push32(b, 2);
    b.insert(b.end(), {1, 12, 0, 0});
    push32(b, 0xFEC00000);
    push32(b, 0);
    b.insert(b.end(), {1, 12, 1, 0});
    push32(b, 0xFEC01000);
    push32(b, 24);
    b = finish(b);
    Madt madt;
    Problems problems;
    REQUIRE(parse_madt(b.data(), uint32_t(b.size()), madt, problems).ok());
    CHECK(madt.cpu_count == 2);
    CHECK(madt.cpu_apic_ids[1] == 2);
    REQUIRE(madt.ioapic_count == 2);
    CHECK(madt.ioapics[1].id == 1);
    CHECK(madt.ioapics[1].address == 0xFEC01000);
    CHECK(madt.ioapics[1].gsi_base == 24);
    CHECK(problems.count == 0);
}

TEST_CASE("acpi: MCFG damage is refused") {
    Problems problems;
    Mcfg mcfg;
    Bytes good = qemu_mcfg();
    REQUIRE(parse_mcfg(good.data(), uint32_t(good.size()), mcfg, problems).ok());

    Bytes partial = good;
    partial.resize(partial.size() - 4);
    partial = finish(partial);
    CHECK(parse_mcfg(partial.data(), uint32_t(partial.size()), mcfg, problems).is_error());
    CHECK(has_problem(problems, "MCFG", "whole number"));
    CHECK(mcfg.count == 0);

    Bytes empty = header("MCFG");
    push64(empty, 0);
    empty = finish(empty);
    CHECK(parse_mcfg(empty.data(), uint32_t(empty.size()), mcfg, problems).is_error());

    Bytes backwards = good;
    backwards[54] = 10; // start bus 10 > end bus... then end bus 5
    backwards[55] = 5;
    backwards = finish(backwards);
    CHECK(parse_mcfg(backwards.data(), uint32_t(backwards.size()), mcfg, problems).is_error());

    Bytes unaligned = good;
    put64(unaligned, 44, 0xB0001000);
    unaligned = finish(unaligned);
    CHECK(parse_mcfg(unaligned.data(), uint32_t(unaligned.size()), mcfg, problems).is_error());
    CHECK(has_problem(problems, "MCFG", "entry bad"));
}

TEST_CASE("acpi: problems beyond the list are counted") {
    Problems problems;
    for (size_t i = 0; i < kMaxProblems + 3; ++i)
        problems.add("x", i);
    CHECK(problems.count == kMaxProblems);
    CHECK(problems.dropped == 3);
}

TEST_CASE("acpi: random damage to every table never crashes the walk") {
    std::mt19937 rng(12345);
    const Memory clean = q35_memory();
    const Bytes clean_rsdp = rsdp(2, 0x7FE0800, 0x7FE0000);
    size_t madt_found = 0;
    for (int round = 0; round < 3000; ++round) {
        Memory m = clean;
        Bytes r = clean_rsdp;
        int flips = 1 + int(rng() % 4);
        for (int i = 0; i < flips; ++i) {
            size_t which = rng() % 5;
            Bytes& target = which == 4 ? r : std::next(m.regions.begin(), long(which))->second;
            target[rng() % target.size()] = uint8_t(rng());
        }
        // Occasionally truncate a table as well.
        if (rng() % 4 == 0) {
            Bytes& target = std::next(m.regions.begin(), long(rng() % 4))->second;
            target.resize(rng() % target.size());
        }
        Tables t;
        discover(r.data(), r.size(), Memory::read, &m, t);
        madt_found += t.has_madt;
        if (t.has_madt)
            CHECK(t.madt.ioapic_count <= kMaxIoApics);
        if (t.has_mcfg)
            CHECK(t.mcfg.count >= 1);
    }
    // Damage that misses the MADT (and the other path to it) leaves it found.
    CHECK(madt_found > 0);
}

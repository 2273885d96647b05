// Firmware tables at boot: the RSDP from the boot loader (or the BIOS area), then the
// ACPI walk, with every problem on the boot log.
#include <kernel/arch/x86_64/ioapic.h>
#include <kernel/core/firmware.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/lib/multiboot2.h>
#include <tern/abi/firmware.h>

namespace kernel {

namespace {

acpi::Tables g_tables;

// The boot page tables map [0, 4 GiB) at the direct-map base; tables above are unreadable
// this early (no PC firmware puts them there).
const uint8_t* read_boot_physical(void*, uint64_t phys, size_t length) {
    constexpr uint64_t kLimit = 1ull << 32;
    if (phys >= kLimit || length > kLimit - phys)
        return nullptr;
    return reinterpret_cast<const uint8_t*>(kDirectMapBase + phys);
}

// Without a boot-loader copy: the RSDP lies on a 16-byte boundary in the BIOS area.
const uint8_t* scan_bios_area() {
    for (uint64_t phys = 0xE0000; phys < 0x100000; phys += 16) {
        const uint8_t* p = read_boot_physical(nullptr, phys, 36);
        if (__builtin_memcmp(p, "RSD PTR ", 8) != 0)
            continue;
        uint8_t sum = 0;
        for (size_t i = 0; i < 20; ++i)
            sum = uint8_t(sum + p[i]);
        if (sum == 0)
            return p;
    }
    return nullptr;
}

uint32_t irq_flags_of(uint16_t mps_flags) {
    uint32_t flags = 0;
    if ((mps_flags & acpi::kTriggerMask) == acpi::kTriggerLevel)
        flags |= TERN_IRQ_LEVEL;
    if ((mps_flags & acpi::kPolarityMask) == acpi::kPolarityActiveLow)
        flags |= TERN_IRQ_ACTIVE_LOW;
    return flags;
}

} // namespace

void firmware_init(const mb2::BootInfo& info) {
    const uint8_t* rsdp = info.rsdp;
    size_t size = info.rsdp_size;
    if (!rsdp) {
        rsdp = scan_bios_area();
        size = 36;
        if (!rsdp) {
            log::warn("acpi: no RSDP from the boot loader or in the BIOS area");
            return;
        }
        log::info("acpi: RSDP found in the BIOS area at {:#x}", virt_to_phys_direct(rsdp));
    }
    acpi::discover(rsdp, size, read_boot_physical, nullptr, g_tables);
    for (size_t i = 0; i < g_tables.problems.count; ++i) {
        const acpi::Problem& p = g_tables.problems.list[i];
        log::warn("acpi: {} {} {:#x}", base::StringView(p.table), base::StringView(p.what),
                  p.value);
    }
    if (g_tables.problems.dropped)
        log::warn("acpi: {} further problems not shown", g_tables.problems.dropped);
}

const acpi::Tables& firmware_tables() { return g_tables; }

void firmware_report() {
    LogLine line(LogLevel::kInfo);
    base::FormatSink& out = line.sink();
    if (g_tables.has_madt) {
        size_t cpus = g_tables.madt.cpu_count;
        base::format_to(out, "acpi: MADT {} cpu{}", cpus, cpus == 1 ? "" : "s");
    } else {
        base::format_to(out, "acpi: no MADT");
    }
    for (size_t i = 0; i < x86_64::ioapic_count(); ++i) {
        const x86_64::IoApicUnit& u = x86_64::ioapic_unit(i);
        base::format_to(out, ", ioapic {} at {:#x} gsi {}-{}", u.id, u.phys, u.gsi_base,
                        u.gsi_base + u.gsi_count - 1);
    }
    if (g_tables.has_madt)
        base::format_to(out, ", {} overrides", g_tables.madt.override_count);
    else
        base::format_to(out, " (fallback, ISA identity)");
    if (g_tables.has_mcfg) {
        for (size_t i = 0; i < g_tables.mcfg.count; ++i) {
            const acpi::EcamWindow& w = g_tables.mcfg.windows[i];
            base::format_to(out, "{} ecam {:#x} bus {}-{}", i == 0 ? "; MCFG" : ",", w.base,
                            w.start_bus, w.end_bus);
            if (w.segment)
                base::format_to(out, " segment {}", w.segment);
        }
    } else {
        base::format_to(out, "; no MCFG, PCI through ports 0xcf8");
    }
}

void firmware_fill_info(tern_firmware_info& out) {
    out = tern_firmware_info{};
    const acpi::Tables& t = g_tables;
    out.flags = (t.has_rsdp ? TERN_FIRMWARE_ACPI : 0) | (t.has_madt ? TERN_FIRMWARE_MADT : 0)
                | (t.has_mcfg ? TERN_FIRMWARE_MCFG : 0)
                | (!t.has_madt || (t.madt.flags & 1) ? TERN_FIRMWARE_PCAT : 0);
    out.cpu_count = t.has_madt ? uint32_t(t.madt.cpu_count) : 1;
    out.ioapic_count = uint32_t(x86_64::ioapic_count());
    for (size_t i = 0; i < x86_64::ioapic_count() && i < TERN_FIRMWARE_MAX_IOAPICS; ++i) {
        const x86_64::IoApicUnit& u = x86_64::ioapic_unit(i);
        out.ioapics[i] = tern_firmware_ioapic{u.id, u.gsi_base, u.gsi_count, 0, u.phys};
    }
    if (t.has_madt) {
        for (size_t i = 0; i < t.madt.override_count && i < TERN_FIRMWARE_MAX_OVERRIDES; ++i) {
            const acpi::Override& o = t.madt.overrides[i];
            out.overrides[out.override_count++] =
                tern_firmware_override{o.source, o.gsi, irq_flags_of(o.flags), 0};
        }
    }
    if (t.has_mcfg) {
        for (size_t i = 0; i < t.mcfg.count && i < TERN_FIRMWARE_MAX_ECAM; ++i) {
            const acpi::EcamWindow& w = t.mcfg.windows[i];
            out.ecam[out.ecam_count++] =
                tern_firmware_ecam{w.base, w.segment, w.start_bus, w.end_bus, 0};
        }
    }
    out.gsi_count = x86_64::ioapic_gsi_count();
    out.msi_vector_base = x86_64::kMsiVectorBase;
    out.msi_vector_count = x86_64::kMsiVectorCount;
}

} // namespace kernel

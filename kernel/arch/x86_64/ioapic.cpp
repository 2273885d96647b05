// The I/O APICs, found through the MADT (see ioapic.h).
#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/ioapic.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/lib/acpi.h>

namespace kernel::x86_64 {

namespace {

constexpr uint32_t kRegVersion = 0x01;
constexpr uint32_t kRedirectionBase = 0x10;
constexpr uint32_t kMasked = 1u << 16;
constexpr uint32_t kLevel = 1u << 15;
constexpr uint32_t kActiveLow = 1u << 13;

struct Unit {
    IoApicUnit info;
    volatile uint32_t* regs;
};

Unit g_units[acpi::kMaxIoApics];
size_t g_unit_count = 0;
bool g_from_madt = false;
IsaRoute g_isa[kIsaIrqs];
// The low word of each GSI's redirection entry as last written (the mask bit included).
uint32_t g_entries[kMaxGsis];

uint32_t read_reg(const Unit& u, uint32_t reg) {
    u.regs[0] = reg;
    return u.regs[4];
}

void write_reg(const Unit& u, uint32_t reg, uint32_t value) {
    u.regs[0] = reg;
    u.regs[4] = value;
}

Unit* unit_for(uint32_t gsi) {
    for (size_t i = 0; i < g_unit_count; ++i) {
        Unit& u = g_units[i];
        if (gsi >= u.info.gsi_base && gsi - u.info.gsi_base < u.info.gsi_count)
            return &u;
    }
    return nullptr;
}

void write_entry(uint32_t gsi, uint32_t low) {
    Unit* u = unit_for(gsi);
    if (!u || gsi >= kMaxGsis)
        return;
    uint32_t pin = gsi - u->info.gsi_base;
    g_entries[gsi] = low;
    // Masked while the destination changes, so a half-written entry never delivers.
    write_reg(*u, kRedirectionBase + 2 * pin, low | kMasked);
    write_reg(*u, kRedirectionBase + 2 * pin + 1, lapic_id() << 24);
    write_reg(*u, kRedirectionBase + 2 * pin, low);
}

// Maps one I/O APIC and learns its size from the version register; false when nothing
// that answers like an I/O APIC is there.
bool add_unit(uint8_t id, uint64_t phys, uint32_t gsi_base) {
    if (g_unit_count == acpi::kMaxIoApics)
        return false;
    Unit u;
    u.regs = reinterpret_cast<volatile uint32_t*>(map_mmio(phys, 4096));
    uint32_t version = read_reg(u, kRegVersion);
    // Versions 0x1x (82489DX-compatible) and 0x2x are I/O APICs; all-ones is no device.
    if ((version & 0xFF) < 0x10 || (version & 0xFF) > 0x2F) {
        log::warn("ioapic: nothing answers at {:#x} (version register {:#x}); ignored", phys,
                  version);
        return false;
    }
    u.info = IoApicUnit{id, phys, gsi_base, ((version >> 16) & 0xFF) + 1};
    for (uint32_t pin = 0; pin < u.info.gsi_count; ++pin)
        write_reg(u, kRedirectionBase + 2 * pin, kMasked);
    g_units[g_unit_count++] = u;
    return true;
}

} // namespace

void ioapic_init(const acpi::Tables& tables) {
    for (uint32_t irq = 0; irq < kIsaIrqs; ++irq)
        g_isa[irq] = IsaRoute{irq, false, false};
    if (tables.has_madt) {
        for (size_t i = 0; i < tables.madt.ioapic_count; ++i) {
            const acpi::IoApic& io = tables.madt.ioapics[i];
            (void)add_unit(io.id, io.address, io.gsi_base);
        }
        for (size_t i = 0; i < tables.madt.override_count; ++i) {
            const acpi::Override& o = tables.madt.overrides[i];
            // ISA defaults (edge, active high) where the override says "as the bus".
            g_isa[o.source] = IsaRoute{o.gsi, (o.flags & acpi::kTriggerMask) == acpi::kTriggerLevel,
                                       (o.flags & acpi::kPolarityMask) == acpi::kPolarityActiveLow};
        }
        g_from_madt = g_unit_count > 0;
    }
    if (!g_from_madt) {
        for (uint32_t irq = 0; irq < kIsaIrqs; ++irq)
            g_isa[irq] = IsaRoute{irq, false, false};
        log::warn("ioapic: {}; assuming one I/O APIC at {:#x} with ISA IRQs on the same inputs",
                  tables.has_madt ? "the MADT names no usable I/O APIC" : "no usable MADT",
                  kDefaultIoApicPhys);
        (void)add_unit(0, kDefaultIoApicPhys, 0);
    }
    for (uint32_t gsi = 0; gsi < kMaxGsis; ++gsi)
        g_entries[gsi] = kMasked;
}

bool ioapic_from_madt() { return g_from_madt; }
size_t ioapic_count() { return g_unit_count; }
const IoApicUnit& ioapic_unit(size_t index) { return g_units[index].info; }

uint32_t ioapic_gsi_count() {
    uint32_t end = 0;
    for (size_t i = 0; i < g_unit_count; ++i) {
        const IoApicUnit& u = g_units[i].info;
        if (u.gsi_base + u.gsi_count > end)
            end = u.gsi_base + u.gsi_count;
    }
    return end < kMaxGsis ? end : kMaxGsis;
}

IsaRoute ioapic_isa_route(uint32_t isa_irq) {
    return isa_irq < kIsaIrqs ? g_isa[isa_irq] : IsaRoute{isa_irq, false, false};
}

bool ioapic_configure(uint32_t gsi, bool level, bool active_low) {
    if (gsi >= ioapic_gsi_count() || !unit_for(gsi))
        return false;
    write_entry(gsi, (kGsiVectorBase + gsi) | (level ? kLevel : 0) | (active_low ? kActiveLow : 0)
                         | kMasked);
    return true;
}

void ioapic_set_masked(uint32_t gsi, bool masked) {
    if (gsi >= kMaxGsis || !unit_for(gsi))
        return;
    uint32_t low = masked ? (g_entries[gsi] | kMasked) : (g_entries[gsi] & ~kMasked);
    Unit* u = unit_for(gsi);
    g_entries[gsi] = low;
    write_reg(*u, kRedirectionBase + 2 * (gsi - u->info.gsi_base), low);
}

uint32_t ioapic_read_entry(uint32_t gsi) {
    Unit* u = unit_for(gsi);
    return u ? read_reg(*u, kRedirectionBase + 2 * (gsi - u->info.gsi_base)) : 0;
}

} // namespace kernel::x86_64

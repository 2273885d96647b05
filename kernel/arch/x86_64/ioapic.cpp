// The I/O APIC at its architectural default address. ISA lines map to the same GSI here
// (QEMU's one override, IRQ 0 -> GSI 2, concerns the PIT, which drivers never claim).
#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/ioapic.h>
#include <kernel/arch/x86_64/trap.h>
#include <kernel/core/memory.h>

namespace kernel::x86_64 {

namespace {

constexpr uint64_t kIoApicPhys = 0xFEC00000;
constexpr uint8_t kIrqVectorBase = 64;
volatile uint32_t* g_ioapic = nullptr;
void (*g_on_line)(uint32_t line) = nullptr;

void ioapic_write(uint32_t reg, uint32_t value) {
    g_ioapic[0] = reg;
    g_ioapic[4] = value;
}

void on_device_interrupt(TrapFrame& frame) {
    uint32_t line = uint32_t(frame.vector - kIrqVectorBase);
    if (line < kIoApicLines && g_on_line)
        g_on_line(line);
    lapic_eoi();
}

} // namespace

void ioapic_set_masked(uint32_t line, bool masked) {
    if (!g_ioapic || line >= kIoApicLines)
        return;
    uint32_t low = (kIrqVectorBase + line) | (masked ? (1u << 16) : 0);
    ioapic_write(0x10 + 2 * line, low); // edge-triggered, active high, fixed
    ioapic_write(0x10 + 2 * line + 1, lapic_id() << 24);
}

void ioapic_init(void (*on_line)(uint32_t line)) {
    g_on_line = on_line;
    g_ioapic = reinterpret_cast<volatile uint32_t*>(map_mmio(kIoApicPhys, 4096));
    for (uint32_t line = 0; line < kIoApicLines; ++line) {
        ioapic_set_masked(line, true);
        set_trap_handler(uint8_t(kIrqVectorBase + line), on_device_interrupt);
    }
}

} // namespace kernel::x86_64

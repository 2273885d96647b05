/*
 * Tern ABI: what the firmware told the kernel about the machine's interrupt routing and
 * PCI configuration space, as firmware_info reports it, and the flags of irq_create.
 *
 * The PCI server reads it to choose between ECAM (an MCFG window, mapped through
 * memory_create_physical) and the configuration ports 0xCF8/0xCFC, and to turn a
 * device's INTx pin into a GSI for irq_create: on a PIIX machine (no MCFG) the ISA IRQ in
 * the device's Interrupt Line register, passed with TERN_IRQ_ISA, goes through the
 * overrides below; on a machine whose PCI links reach I/O APIC inputs 16 and up (ICH9),
 * the GSI is 16 + the link and is level-triggered, active low.
 */
#ifndef TERN_ABI_FIRMWARE_H
#define TERN_ABI_FIRMWARE_H

#include <stdint.h>

/* irq_create flags. TERN_IRQ_ISA: `line` is an ISA IRQ (0-15) and the kernel applies the
 * firmware's interrupt source override (its GSI, trigger and polarity; edge and active
 * high without one). TERN_IRQ_GSI: `line` is a global system interrupt, configured as
 * TERN_IRQ_LEVEL and TERN_IRQ_ACTIVE_LOW say (neither: edge, active high). */
#define TERN_IRQ_ISA 0u
#define TERN_IRQ_GSI 1u
#define TERN_IRQ_LEVEL 2u
#define TERN_IRQ_ACTIVE_LOW 4u
#define TERN_IRQ_FLAGS_ALL 7u

/* What irq_create_msi writes: the driver puts `address` in the MSI (or MSI-X table
 * entry's) Message Address and `data` in Message Data; `vector` is for diagnostics. */
struct tern_msi_message {
    uint64_t address;
    uint32_t data;
    uint32_t vector;
};

#define TERN_FIRMWARE_MAX_IOAPICS 8
#define TERN_FIRMWARE_MAX_OVERRIDES 16
#define TERN_FIRMWARE_MAX_ECAM 4

/* tern_firmware_info.flags */
#define TERN_FIRMWARE_ACPI 1u /* an RSDP was found and checked */
#define TERN_FIRMWARE_MADT 2u /* the MADT was usable; otherwise the fallback below */
#define TERN_FIRMWARE_MCFG 4u /* at least one ECAM window */
#define TERN_FIRMWARE_PCAT 8u /* the machine also has 8259 PICs (masked by Tern) */

struct tern_firmware_ioapic {
    uint32_t id;
    uint32_t gsi_base;
    uint32_t gsi_count; /* inputs, from the I/O APIC's version register */
    uint32_t reserved;
    uint64_t address;
};

/* An ISA IRQ that arrives on another GSI, or with other trigger/polarity. */
struct tern_firmware_override {
    uint32_t isa_irq;
    uint32_t gsi;
    uint32_t irq_flags; /* TERN_IRQ_LEVEL | TERN_IRQ_ACTIVE_LOW as the kernel applies them */
    uint32_t reserved;
};

struct tern_firmware_ecam {
    uint64_t base; /* physical address of bus 0's configuration space in this segment */
    uint32_t segment;
    uint32_t start_bus;
    uint32_t end_bus;
    uint32_t reserved;
};

struct tern_firmware_info {
    uint32_t flags; /* TERN_FIRMWARE_* */
    uint32_t cpu_count;
    uint32_t ioapic_count;
    uint32_t override_count;
    uint32_t ecam_count;
    /* The GSIs irq_create accepts ([0, gsi_count); the root IRQ resource covers them)
     * and the MSI vectors irq_create_msi hands out (the root MSI resource covers
     * [msi_vector_base, msi_vector_base + msi_vector_count)). */
    uint32_t gsi_count;
    uint32_t msi_vector_base;
    uint32_t msi_vector_count;
    struct tern_firmware_ioapic ioapics[TERN_FIRMWARE_MAX_IOAPICS];
    struct tern_firmware_override overrides[TERN_FIRMWARE_MAX_OVERRIDES];
    struct tern_firmware_ecam ecam[TERN_FIRMWARE_MAX_ECAM];
};

#endif /* TERN_ABI_FIRMWARE_H */

// Device calls: irq_create, irq_create_msi, irq_bind, irq_ack, ioport_enable,
// memory_create_physical, resource_split, firmware_info and boot_option.
//
// The kernel runs this program twice (self-tests user.abi_device and
// user.abi_device_granted): with argument 0 as an ordinary program, which holds no device
// resource, so only refusals are checked (bad and wrongly typed handles, the missing
// resource, ranges refused before the resource is looked at); with argument 1 holding the
// root resources a system task gets, which checks what they allow and what they still
// refuse: bad GSIs, flags, missing rights, vector exhaustion, double acks, a real edge
// interrupt from COM1, MSI messages, narrowed resources and boot options.
//
// Part of the kernel-ABI tests (harness.h).
#include "harness.h"
#include <tern/abi/firmware.h>

using namespace abi;

namespace {

void test_device_refusals() {
    // The well-known resource handle values are free slots in a test program's table;
    // they are checked before any handle is made, since a new handle may take the slot.
    expect_err(tern_sys_irq_create(TERN_HANDLE_IRQ_RESOURCE, 1, TERN_IRQ_ISA), TERN_BAD_HANDLE,
               "device.no_irq_resource_for_tests");
    tern_msi_message msi{};
    expect_err(tern_sys_irq_create_msi(TERN_HANDLE_MSI_RESOURCE, ptr(&msi)), TERN_BAD_HANDLE,
               "device.no_msi_resource_for_tests");
    char value[16];
    expect_err(tern_sys_boot_option(TERN_HANDLE_CONFIG, ptr("ip"), 2, ptr(value), sizeof(value)),
               TERN_BAD_HANDLE, "device.no_config_for_tests");
    expect_err(tern_sys_ioport_enable(TERN_HANDLE_IOPORT_RESOURCE, 0xF4, 1), TERN_BAD_HANDLE,
               "device.no_ioport_resource_for_tests");
    expect_err(tern_sys_memory_create_physical(TERN_HANDLE_MMIO_RESOURCE, 0xFEE00000, kPage),
               TERN_BAD_HANDLE, "device.no_mmio_resource_for_tests");
    int64_t port = port_create(1);
    if (!expect_ok(port, "device.port"))
        return;
    expect_err(tern_sys_irq_create(0x3FFF, 1, TERN_IRQ_ISA), TERN_BAD_HANDLE,
               "device.irq_create_bad_handle");
    expect_err(tern_sys_irq_create(port, 1, TERN_IRQ_ISA), TERN_WRONG_TYPE,
               "device.irq_create_with_port");
    expect_err(tern_sys_irq_create_msi(port, ptr(&msi)), TERN_WRONG_TYPE,
               "device.irq_create_msi_with_port");
    expect_err(tern_sys_resource_split(port, 0, 1), TERN_WRONG_TYPE, "device.split_port");
    expect_err(tern_sys_resource_split(0x3FFF, 0, 1), TERN_BAD_HANDLE, "device.split_bad_handle");
    expect_err(tern_sys_irq_bind(0x3FFF, port, 1), TERN_BAD_HANDLE, "device.irq_bind_bad_handle");
    expect_err(tern_sys_irq_bind(port, port, 1), TERN_WRONG_TYPE, "device.irq_bind_port");
    expect_err(tern_sys_irq_ack(0x3FFF), TERN_BAD_HANDLE, "device.irq_ack_bad_handle");
    expect_err(tern_sys_irq_ack(port), TERN_WRONG_TYPE, "device.irq_ack_port");
    expect_err(tern_sys_ioport_enable(0x3FFF, 0xF4, 1), TERN_BAD_HANDLE,
               "device.ioport_enable_bad_handle");
    expect_err(tern_sys_ioport_enable(port, 0xF4, 1), TERN_WRONG_TYPE, "device.ioport_enable_port");
    expect_err(tern_sys_ioport_enable(port, 0xFFFF, 2), TERN_INVALID_ARGUMENT,
               "device.ioport_range_past_64K");
    expect_err(tern_sys_ioport_enable(port, 0x60, 0), TERN_INVALID_ARGUMENT,
               "device.ioport_count_0");
    expect_err(tern_sys_memory_create_physical(0x3FFF, 0xFEE00000, kPage), TERN_BAD_HANDLE,
               "device.mmio_bad_handle");
    expect_err(tern_sys_memory_create_physical(port, 0xFEE00000, kPage), TERN_WRONG_TYPE,
               "device.mmio_with_port");
    expect_err(tern_sys_memory_create_physical(port, 0xFEE00001, kPage), TERN_MISALIGNED,
               "device.mmio_misaligned");
    expect_err(tern_sys_memory_create_physical(port, 0xFEE00000, 0), TERN_INVALID_ARGUMENT,
               "device.mmio_size_0");
    close(port);
}

// firmware_info needs no handle: it only describes the machine.
void test_firmware_info(tern_firmware_info& info) {
    expect_ok(tern_sys_firmware_info(ptr(&info)), "device.firmware_info");
    expect_true(info.ioapic_count >= 1, info.ioapic_count, "device.firmware_has_ioapic");
    expect_true(info.gsi_count >= 16 && info.gsi_count <= 64, info.gsi_count,
                "device.firmware_gsis_cover_isa");
    expect_true(info.msi_vector_count >= 2, info.msi_vector_count, "device.firmware_msi_vectors");
    // With a MADT (QEMU's pc and q35; system.acpi_* check that they have one) the I/O
    // APICs come from it; without one (-machine pc,acpi=off) the kernel reports exactly
    // its fallback: one I/O APIC at 0xFEC00000, ISA IRQs on the same inputs (no
    // overrides), and the 8259 PICs assumed present.
    if (!(info.flags & TERN_FIRMWARE_MADT)) {
        expect_true(info.ioapic_count == 1 && info.ioapics[0].address == 0xFEC00000
                        && info.override_count == 0 && (info.flags & TERN_FIRMWARE_PCAT),
                    info.flags, "device.firmware_fallback");
    }
    expect_eq(info.ioapics[0].gsi_base, 0, "device.firmware_ioapic_gsi_base");
    expect_true(info.ecam_count == ((info.flags & TERN_FIRMWARE_MCFG) ? 1u : 0u), info.ecam_count,
                "device.firmware_ecam_matches_flag");
    expect_err(tern_sys_firmware_info(0x10), TERN_BAD_ADDRESS, "device.firmware_info_bad_ptr");
}

void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }

void test_gsi_irqs(const tern_firmware_info& info) {
    const uint64_t irqs = TERN_HANDLE_IRQ_RESOURCE;
    const uint32_t level_low = TERN_IRQ_GSI | TERN_IRQ_LEVEL | TERN_IRQ_ACTIVE_LOW;
    expect_err(tern_sys_irq_create(irqs, 4, 8), TERN_INVALID_ARGUMENT, "device.irq_unknown_flag");
    expect_err(tern_sys_irq_create(irqs, 4, TERN_IRQ_LEVEL), TERN_INVALID_ARGUMENT,
               "device.irq_isa_with_level");
    expect_err(tern_sys_irq_create(irqs, 16, TERN_IRQ_ISA), TERN_OUT_OF_RANGE, "device.irq_isa_16");
    expect_err(tern_sys_irq_create(irqs, info.gsi_count, level_low), TERN_OUT_OF_RANGE,
               "device.irq_gsi_past_ioapics");
    expect_err(tern_sys_irq_create(irqs, 0xFFFFFFFF, TERN_IRQ_GSI), TERN_OUT_OF_RANGE,
               "device.irq_gsi_huge");
    // A level-triggered, active-low line, as PCI INTx uses: created masked, so nothing is
    // pending to acknowledge.
    uint32_t gsi = info.gsi_count - 1;
    int64_t level = tern_sys_irq_create(irqs, gsi, level_low);
    if (expect_ok(level, "device.irq_level_create")) {
        expect_err(tern_sys_irq_create(irqs, gsi, level_low), TERN_BUSY, "device.irq_level_busy");
        expect_err(tern_sys_irq_ack(level), TERN_BAD_STATE, "device.irq_ack_before_interrupt");
        close(level);
        int64_t again = tern_sys_irq_create(irqs, gsi, TERN_IRQ_GSI);
        expect_ok(again, "device.irq_gsi_free_after_close");
        close(again);
    }
    // Missing rights and the wrong kind of resource.
    int64_t no_read = dup(irqs, TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER);
    if (expect_ok(no_read, "device.irq_resource_dup")) {
        expect_err(tern_sys_irq_create(no_read, 4, TERN_IRQ_ISA), TERN_ACCESS_DENIED,
                   "device.irq_create_without_read");
        close(no_read);
    }
    expect_err(tern_sys_irq_create(TERN_HANDLE_MSI_RESOURCE, 4, TERN_IRQ_ISA), TERN_ACCESS_DENIED,
               "device.irq_create_from_msi_resource");
    int64_t narrow = tern_sys_resource_split(irqs, 5, 1);
    if (expect_ok(narrow, "device.irq_resource_split")) {
        expect_err(tern_sys_irq_create(narrow, gsi, level_low), TERN_ACCESS_DENIED,
                   "device.irq_outside_split");
        close(narrow);
    }

    // A real edge interrupt: COM1's transmitter-empty interrupt on ISA IRQ 4, signalled,
    // then held until the ack; a second ack is refused.
    int64_t com1 = tern_sys_irq_create(irqs, 4, TERN_IRQ_ISA);
    int64_t port = port_create(2);
    int64_t io = tern_sys_ioport_enable(TERN_HANDLE_IOPORT_RESOURCE, 0x3F9, 1);
    if (expect_ok(com1, "device.irq_com1") && expect_ok(port, "device.irq_port")
        && expect_ok(io, "device.irq_com1_ports")) {
        expect_ok(tern_sys_irq_bind(com1, port, 0x40), "device.irq_bind");
        outb(0x3F9, 0x02);
        tern_msg m{};
        int64_t got = receive(port, m, 500 * kMs);
        outb(0x3F9, 0x00);
        if (expect_ok(got, "device.irq_com1_signalled")) {
            expect_eq(m.hdr.label, TERN_LABEL_SIGNAL, "device.irq_signal_label");
            expect_eq(m.words[0], 0x40, "device.irq_signal_bits");
        }
        expect_ok(tern_sys_irq_ack(com1), "device.irq_ack");
        expect_err(tern_sys_irq_ack(com1), TERN_BAD_STATE, "device.irq_double_ack");
        expect_ok(tern_sys_irq_bind(com1, 0, 0), "device.irq_unbind");
    }
    if (com1 >= 0)
        close(com1);
    if (port >= 0)
        close(port);
}

void test_msi(const tern_firmware_info& info) {
    const uint64_t msis = TERN_HANDLE_MSI_RESOURCE;
    tern_msi_message msi{};
    int64_t first = tern_sys_irq_create_msi(msis, ptr(&msi));
    if (expect_ok(first, "device.msi_create")) {
        expect_eq(msi.address & 0xFFF00000ull, 0xFEE00000ll, "device.msi_address");
        expect_eq(msi.data & 0xFF, msi.vector, "device.msi_data_is_vector");
        expect_true(msi.vector >= info.msi_vector_base
                        && msi.vector < info.msi_vector_base + info.msi_vector_count,
                    msi.vector, "device.msi_vector_in_range");
        expect_err(tern_sys_irq_ack(first), TERN_BAD_STATE, "device.msi_ack_before_interrupt");
        int64_t port = port_create(1);
        expect_ok(tern_sys_irq_bind(first, port, 1), "device.msi_bind");
        close(port);
        close(first);
    }
    expect_err(tern_sys_irq_create_msi(msis, 0x10), TERN_BAD_ADDRESS, "device.msi_bad_out");
    expect_err(tern_sys_irq_create_msi(TERN_HANDLE_IRQ_RESOURCE, ptr(&msi)), TERN_ACCESS_DENIED,
               "device.msi_from_irq_resource");
    int64_t no_read = dup(msis, TERN_RIGHT_DUPLICATE);
    if (expect_ok(no_read, "device.msi_resource_dup")) {
        expect_err(tern_sys_irq_create_msi(no_read, ptr(&msi)), TERN_ACCESS_DENIED,
                   "device.msi_without_read");
        expect_err(tern_sys_resource_split(no_read, info.msi_vector_base, 1), TERN_ACCESS_DENIED,
                   "device.split_without_read");
        close(no_read);
    }
    // A driver's share of two vectors runs out at the third; a closed one comes back.
    uint64_t last_two = info.msi_vector_base + info.msi_vector_count - 2;
    int64_t share = tern_sys_resource_split(msis, last_two, 2);
    if (!expect_ok(share, "device.msi_split"))
        return;
    tern_msi_message a{}, b{}, c{};
    int64_t ha = tern_sys_irq_create_msi(share, ptr(&a));
    int64_t hb = tern_sys_irq_create_msi(share, ptr(&b));
    expect_ok(ha, "device.msi_share_first");
    expect_ok(hb, "device.msi_share_second");
    expect_true(a.vector != b.vector && a.vector >= last_two && b.vector >= last_two, b.vector,
                "device.msi_share_distinct_vectors");
    expect_err(tern_sys_irq_create_msi(share, ptr(&c)), TERN_NO_SPACE, "device.msi_exhausted");
    if (ha >= 0)
        close(ha);
    int64_t hc = tern_sys_irq_create_msi(share, ptr(&c));
    expect_ok(hc, "device.msi_reused_after_close");
    expect_eq(c.vector, a.vector, "device.msi_reused_vector");
    if (hb >= 0)
        close(hb);
    if (hc >= 0)
        close(hc);
    close(share);
}

void test_resource_split() {
    const uint64_t ports = TERN_HANDLE_IOPORT_RESOURCE;
    expect_err(tern_sys_resource_split(ports, 0x3F8, 0), TERN_INVALID_ARGUMENT,
               "device.split_count_0");
    expect_err(tern_sys_resource_split(ports, ~0ull, 2), TERN_INVALID_ARGUMENT,
               "device.split_overflow");
    expect_err(tern_sys_resource_split(ports, 0xFFFF, 2), TERN_ACCESS_DENIED,
               "device.split_outside");
    expect_err(tern_sys_resource_split(TERN_HANDLE_CONFIG, 0, 1), TERN_INVALID_ARGUMENT,
               "device.split_config");
    int64_t com = tern_sys_resource_split(ports, 0x3F8, 8);
    if (!expect_ok(com, "device.split_ports"))
        return;
    expect_err(tern_sys_ioport_enable(com, 0x60, 1), TERN_ACCESS_DENIED,
               "device.split_refuses_other_ports");
    expect_ok(tern_sys_ioport_enable(com, 0x3FA, 2), "device.split_allows_its_ports");
    // Narrower again, never wider.
    expect_err(tern_sys_resource_split(com, 0x3F0, 16), TERN_ACCESS_DENIED,
               "device.split_cannot_widen");
    int64_t one = tern_sys_resource_split(com, 0x3FC, 1);
    expect_ok(one, "device.split_of_split");
    tern_handle_info handles[64];
    int64_t n = tern_sys_task_handles(TERN_HANDLE_SELF, ptr(handles), 64);
    bool found = false;
    for (int64_t i = 0; i < n && i < 64; ++i)
        if (handles[i].handle == uint32_t(one))
            found = handles[i].type == TERN_OBJ_RESOURCE
                    && handles[i].rights
                           == (TERN_RIGHT_READ | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER);
    expect_true(found, one, "device.split_rights");
    close(one);
    close(com);
}

void test_boot_option() {
    const uint64_t config = TERN_HANDLE_CONFIG;
    char value[80];
    auto get = [&](const char* key, uint64_t handle, char* buf, size_t cap) {
        return tern_sys_boot_option(handle, ptr(key), __builtin_strlen(key), ptr(buf), cap);
    };
    int64_t n = get("mode", config, value, sizeof(value));
    if (expect_eq(n, 8, "device.boot_option_mode"))
        expect_true(__builtin_memcmp(value, "selftest", 8) == 0, n, "device.boot_option_mode_text");
    // The node id as node_id reports it, in decimal.
    char want[8];
    int64_t node = tern_sys_node_id();
    size_t want_len = base::format(want, sizeof(want), "{}", node);
    n = get("node", config, value, sizeof(value));
    expect_true(n == int64_t(want_len) && __builtin_memcmp(value, want, want_len) == 0, n,
                "device.boot_option_node");
    expect_err(get("mode", config, value, 7), TERN_NO_SPACE, "device.boot_option_small_buffer");
    expect_err(get("bogus", config, value, sizeof(value)), TERN_INVALID_ARGUMENT,
               "device.boot_option_unknown");
    expect_err(get("gw", config, value, sizeof(value)), TERN_NOT_FOUND, "device.boot_option_unset");
    // The kernel's config handle has CONTROL, so it may read the secret; the self-test's
    // command line sets no key. Without CONTROL the answer does not tell that.
    expect_err(get("cluster_key", config, value, sizeof(value)), TERN_NOT_FOUND,
               "device.boot_option_secret_unset");
    int64_t no_control = dup(config, TERN_RIGHT_READ);
    if (expect_ok(no_control, "device.config_dup_read")) {
        expect_err(get("cluster_key", no_control, value, sizeof(value)), TERN_ACCESS_DENIED,
                   "device.boot_option_secret");
        expect_true(get("mode", no_control, value, sizeof(value)) == 8, 0,
                    "device.boot_option_read_only");
        close(no_control);
    }
    expect_err(get("mode", TERN_HANDLE_IRQ_RESOURCE, value, sizeof(value)), TERN_ACCESS_DENIED,
               "device.boot_option_wrong_resource");
    expect_err(get("mode", config, reinterpret_cast<char*>(0x10), 16), TERN_BAD_ADDRESS,
               "device.boot_option_bad_buffer");
    expect_err(tern_sys_boot_option(config, ptr("mode"), 0, ptr(value), 16), TERN_INVALID_ARGUMENT,
               "device.boot_option_empty_name");
    expect_err(tern_sys_boot_option(config, 0x10, 4, ptr(value), 16), TERN_BAD_ADDRESS,
               "device.boot_option_bad_name");
    int64_t no_read = dup(config, TERN_RIGHT_TRANSFER);
    if (expect_ok(no_read, "device.config_dup")) {
        expect_err(get("mode", no_read, value, sizeof(value)), TERN_ACCESS_DENIED,
                   "device.boot_option_without_read");
        close(no_read);
    }
}

} // namespace

extern "C" int main(uint64_t arg) {
    begin(arg ? "abi_device_granted" : "abi_device");
    tern_firmware_info info{};
    test_firmware_info(info);
    if (arg == 0) {
        test_device_refusals();
    } else {
        test_gsi_irqs(info);
        test_msi(info);
        test_resource_split();
        test_boot_option();
    }
    return finish();
}

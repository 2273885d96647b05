// Device calls: irq_create, irq_bind, irq_ack, ioport_enable and
// memory_create_physical. They need a device resource, which test programs do not get, so
// only their refusals are checked: bad and wrongly typed handles, the missing resource,
// and ranges the kernel must reject before it looks at the resource.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_device from its self-test user.abi_device.
#include "harness.h"

using namespace abi;

namespace {

void test_device_refusals() {
    // The well-known resource handle values are free slots in a test program's table;
    // they are checked before any handle is made, since a new handle may take the slot.
    expect_err(tern_sys_irq_create(TERN_HANDLE_IRQ_RESOURCE, 1), TERN_BAD_HANDLE,
               "device.no_irq_resource_for_tests");
    expect_err(tern_sys_ioport_enable(TERN_HANDLE_IOPORT_RESOURCE, 0xF4, 1), TERN_BAD_HANDLE,
               "device.no_ioport_resource_for_tests");
    expect_err(tern_sys_memory_create_physical(TERN_HANDLE_MMIO_RESOURCE, 0xFEE00000, kPage),
               TERN_BAD_HANDLE, "device.no_mmio_resource_for_tests");
    int64_t port = port_create(1);
    if (!expect_ok(port, "device.port"))
        return;
    expect_err(tern_sys_irq_create(0x3FFF, 1), TERN_BAD_HANDLE, "device.irq_create_bad_handle");
    expect_err(tern_sys_irq_create(port, 1), TERN_WRONG_TYPE, "device.irq_create_with_port");
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

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_device");
    test_device_refusals();
    return finish();
}

#pragma once
// What the firmware's ACPI tables say about the machine (see kernel/lib/acpi.h), found once
// at boot and kept for the interrupt code and the firmware_info syscall.
#include <kernel/lib/acpi.h>

struct tern_firmware_info;

namespace kernel {

namespace mb2 {
struct BootInfo;
}

// Finds and parses the tables. Runs before memory_init, while the boot page tables map
// the first 4 GiB (where firmware keeps them) at the direct-map base; every problem is
// logged.
void firmware_init(const mb2::BootInfo& info);
const acpi::Tables& firmware_tables();
// Logs the one-line summary (after the I/O APICs are set up).
void firmware_report();
// Fills the ABI record firmware_info returns.
void firmware_fill_info(tern_firmware_info& out);

} // namespace kernel

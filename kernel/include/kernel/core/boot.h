#pragma once
// How this boot was asked to behave (from the kernel command line), and what the boot
// loader handed over. Both are filled in by kernel_main before anything else runs.
namespace kernel {

namespace mb2 {
struct BootInfo;
}
struct BootOptions;

enum class BootMode {
    kNormal,
    kSelfTest,
    kBench,
    kFuzz
};
BootMode boot_mode();
void set_boot_mode(BootMode);

// The options parsed from the kernel command line.
const BootOptions& boot_options();
// The Multiboot2 information (memory map, modules, command line), parsed and checked.
const mb2::BootInfo& boot_info();

} // namespace kernel

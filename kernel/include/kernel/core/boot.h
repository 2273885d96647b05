#pragma once
// How this boot was asked to behave (from the kernel command line).
namespace kernel {

enum class BootMode {
    Normal,
    SelfTest,
    Bench,
    Fuzz
};
BootMode boot_mode();
void set_boot_mode(BootMode);

} // namespace kernel

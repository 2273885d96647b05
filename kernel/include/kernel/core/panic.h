#pragma once
// The panic path: print why, the registers when there is a frame, a symbolized backtrace,
// then stop. In self-test, bench and fuzz modes it exits QEMU with the failure status so a
// harness sees it at once.
#include <kernel/core/log.h>

namespace kernel {

namespace x86_64 {
struct TrapFrame;
}

[[noreturn]] void panic_finish(const x86_64::TrapFrame* frame);
void panic_begin();

template<typename... Args>
[[noreturn]] void panic(base::StringView fmt, const Args&... args) {
    panic_begin();
    print("\nKERNEL PANIC: ");
    base::format_to(console_sink(), fmt, args...);
    print("\n");
    panic_finish(nullptr);
}

template<typename... Args>
[[noreturn]] void panic_with_frame(const x86_64::TrapFrame& frame, base::StringView fmt,
                                   const Args&... args) {
    panic_begin();
    print("\nKERNEL PANIC: ");
    base::format_to(console_sink(), fmt, args...);
    print("\n");
    panic_finish(&frame);
}

// Prints "  #n 0x... symbol+off" lines walking the frame-pointer chain from `rbp`.
void print_backtrace(uint64_t rip, uint64_t rbp);

// Exits QEMU through isa-debug-exit when the boot mode asks for it, else halts.
[[noreturn]] void machine_stop(bool success);

} // namespace kernel

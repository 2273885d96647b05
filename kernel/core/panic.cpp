#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/trap.h>
#include <kernel/core/boot.h>
#include <kernel/core/panic.h>
#include <kernel/core/symbols.h>

namespace kernel {

namespace {
bool g_in_panic = false;
} // namespace

void panic_begin() {
    x86_64::cli();
    if (g_in_panic) {
        // A panic inside the panic path: stop without printing more.
        print("\nKERNEL PANIC (nested)\n");
        machine_stop(false);
    }
    g_in_panic = true;
}

void print_backtrace(uint64_t rip, uint64_t rbp) {
    print("  backtrace:\n");
    SymbolHit hit;
    for (int depth = 0; depth < 32; ++depth) {
        if (symbolize(rip, hit))
            print("    #{:<2} {:016x} {}+{:#x}\n", depth, rip, hit.name, hit.offset);
        else
            print("    #{:<2} {:016x} ?\n", depth, rip);
        // Walk only kernel-half, aligned frames: a corrupt chain must not fault here.
        if (rbp < 0xFFFF800000000000ull || (rbp & 7) != 0)
            break;
        uint64_t next_rbp = reinterpret_cast<uint64_t*>(rbp)[0];
        rip = reinterpret_cast<uint64_t*>(rbp)[1];
        if (rip == 0 || next_rbp <= rbp)
            break;
        rbp = next_rbp;
    }
}

[[noreturn]] void panic_finish(const x86_64::TrapFrame* frame) {
    if (frame) {
        x86_64::dump_frame(*frame);
        print_backtrace(frame->rip, frame->rbp);
    } else {
        // Start at panic_finish's caller: its return address and its caller's frame.
        uint64_t rbp;
        asm volatile("movq %%rbp, %0" : "=r"(rbp));
        print_backtrace(reinterpret_cast<uint64_t*>(rbp)[1], reinterpret_cast<uint64_t*>(rbp)[0]);
    }
    print("System halted.\n");
    machine_stop(false);
}

[[noreturn]] void machine_stop(bool success) {
    if (boot_mode() != BootMode::kNormal)
        x86_64::outb(x86_64::kDebugExitPort,
                     success ? x86_64::kDebugExitPass : x86_64::kDebugExitFail);
    x86_64::halt_forever();
}

} // namespace kernel

namespace base {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line) {
    kernel::panic("assertion failed: {} at {}:{}", expr, file, line);
}
} // namespace base

// Stack protector: the guard is randomized from the TSC early in boot.
extern "C" {
uintptr_t __stack_chk_guard = 0x595e9fbd94fda766ull;
[[noreturn]] void __stack_chk_fail() { kernel::panic("stack smashing detected"); }
}

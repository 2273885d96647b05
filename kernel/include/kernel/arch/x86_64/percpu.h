#pragma once
// Per-CPU state, all in one place so SMP only has to allocate more of these. The running
// CPU's PerCpu is reached through the GS base (kernel GS while in the kernel).
#include <stddef.h>
#include <stdint.h>

namespace kernel::x86_64 {

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

// A point to resume at when a kernel-mode exception hits code run under kernel_try_call.
struct RecoveryPoint {
    uint64_t rip;
    uint64_t rsp;
};

struct PerCpu {
    // Fixed offsets used by assembly: keep these first and in this order.
    PerCpu* self;        // gs:0
    uint64_t kernel_rsp; // gs:8  stack for SYSCALL entry
    uint64_t user_rsp;   // gs:16 user RSP saved by SYSCALL entry
    void* current;       // gs:24 the running thread

    uint32_t index;
    RecoveryPoint recovery;
    uint64_t gdt[7];
    Tss tss;
    // The I/O permission bitmap follows the TSS directly (the CPU finds it at
    // tss.iomap_base); one bit per port, 1 = denied, plus the terminating 0xFF byte. It
    // holds the permissions of io_owner, the last driver task that ran. While any other
    // task runs, tss.iomap_base points past the TSS limit (kNoIoBitmap), which denies
    // every port without touching the 8 KiB: switching to and from a driver costs a copy
    // only when a different driver ran in between.
    uint8_t io_bitmap[8192 + 1];
    const void* io_owner;
};

// A tss.iomap_base beyond the TSS limit: no bitmap, so user code may use no I/O port.
inline constexpr uint16_t kNoIoBitmap = 0xFFFF;

inline constexpr uint16_t kKernelCs = 0x08;
inline constexpr uint16_t kKernelDs = 0x10;
inline constexpr uint16_t kUserDs = 0x18 | 3;
inline constexpr uint16_t kUserCs = 0x20 | 3;
inline constexpr uint16_t kTssSelector = 0x28;

// Sets up the boot CPU's GDT, TSS (with IST stacks) and GS base.
void percpu_init_boot_cpu();
// The running CPU's PerCpu: one GS-relative load, inlined everywhere (the scheduler and
// the IPC paths ask for it dozens of times per message).
inline PerCpu& this_cpu() {
    PerCpu* p;
    asm volatile("movq %%gs:0, %0" : "=r"(p));
    return *p;
}

extern "C" uint64_t kernel_try_call(void (*fn)(void*), void* arg, RecoveryPoint* rp);

// Runs fn(arg); returns the vector of the exception it raised, or -1 when it returned
// normally. Only for code that is known to fault on purpose (self-tests, probes).
int64_t try_call(void (*fn)(void*), void* arg);

} // namespace kernel::x86_64

#pragma once
// Interrupt and exception entry: the register frame every vector saves, the IDT, and the
// handler registry.
#include <stdint.h>

namespace kernel::x86_64 {

// Layout must match interrupts.S.
struct TrapFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;

    bool from_user() const { return (cs & 3) == 3; }
};
static_assert(sizeof(TrapFrame) == 22 * 8);

enum Vector : uint8_t {
    kVecDivide = 0,
    kVecDebug = 1,
    kVecNmi = 2,
    kVecBreakpoint = 3,
    kVecInvalidOpcode = 6,
    kVecDoubleFault = 8,
    kVecGeneralProtection = 13,
    kVecPageFault = 14,
    kVecFirstIrq = 32,
    kVecTimer = 48,
    kVecSpurious = 0xFF,
};

// IST slots in the TSS (1-based as the hardware counts them).
inline constexpr uint8_t kIstDoubleFault = 1;
inline constexpr uint8_t kIstNmi = 2;
inline constexpr uint8_t kIstMachineCheck = 3;

using TrapHandler = void (*)(TrapFrame&);

void idt_init();
void idt_load();
// Installs a handler for a vector; returns false when one is already installed.
bool set_trap_handler(uint8_t vector, TrapHandler handler);

// Exception-recovery points for code that deliberately faults (self-tests, safe user
// copies): a fault at an address inside [start, end) resumes at `fixup` with RAX = the
// vector number.
struct FaultFixup {
    uint64_t start, end, fixup;
};

const char* exception_name(uint64_t vector);
void dump_frame(const TrapFrame& frame);

} // namespace kernel::x86_64

#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/arch/x86_64/trap.h>
#include <kernel/core/log.h>
#include <kernel/core/panic.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <tern/abi/task.h>

extern "C" char trap_stubs[];

namespace kernel::x86_64 {

namespace {

struct [[gnu::packed]] IdtGate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

alignas(16) IdtGate g_idt[256];
TrapHandler g_handlers[256];
uint64_t g_unhandled_irq_count[256];

constexpr const char* kExceptionNames[32] = {"divide error",
                                             "debug",
                                             "NMI",
                                             "breakpoint",
                                             "overflow",
                                             "bound range exceeded",
                                             "invalid opcode",
                                             "device not available",
                                             "double fault",
                                             "coprocessor segment overrun",
                                             "invalid TSS",
                                             "segment not present",
                                             "stack-segment fault",
                                             "general protection fault",
                                             "page fault",
                                             "reserved (15)",
                                             "x87 floating-point error",
                                             "alignment check",
                                             "machine check",
                                             "SIMD floating-point error",
                                             "virtualization exception",
                                             "control protection exception",
                                             "reserved (22)",
                                             "reserved (23)",
                                             "reserved (24)",
                                             "reserved (25)",
                                             "reserved (26)",
                                             "reserved (27)",
                                             "hypervisor injection",
                                             "VMM communication",
                                             "security exception",
                                             "reserved (31)"};

void set_gate(uint8_t vector, uint64_t handler, uint8_t ist, uint8_t dpl) {
    IdtGate& g = g_idt[vector];
    g.offset_low = handler & 0xFFFF;
    g.selector = kKernelCs;
    g.ist = ist;
    g.type_attr = uint8_t(0x8E | (dpl << 5)); // present, 64-bit interrupt gate
    g.offset_mid = (handler >> 16) & 0xFFFF;
    g.offset_high = uint32_t(handler >> 32);
    g.reserved = 0;
}

} // namespace

const char* exception_name(uint64_t vector) {
    return vector < 32 ? kExceptionNames[vector] : "interrupt";
}

void idt_init() {
    for (int v = 0; v < 256; ++v) {
        uint8_t ist = 0;
        if (v == kVecDoubleFault)
            ist = kIstDoubleFault;
        else if (v == kVecNmi)
            ist = kIstNmi;
        else if (v == 18)
            ist = kIstMachineCheck;
        // int3 and into are meant for user code (debuggers): their gates allow ring 3.
        uint8_t dpl = (v == kVecBreakpoint || v == 4) ? 3 : 0;
        set_gate(uint8_t(v), reinterpret_cast<uint64_t>(trap_stubs) + uint64_t(v) * 16, ist, dpl);
    }
    idt_load();
}

void idt_load() {
    struct [[gnu::packed]] {
        uint16_t limit;
        uint64_t base;
    } idtr{sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(g_idt)};
    asm volatile("lidt %0" ::"m"(idtr));
}

bool set_trap_handler(uint8_t vector, TrapHandler handler) {
    if (g_handlers[vector] && handler)
        return false;
    g_handlers[vector] = handler;
    return true;
}

void dump_frame(const TrapFrame& f) {
    print("  vector {} ({}) error {:#x} from {}\n", f.vector, exception_name(f.vector),
          f.error_code, f.from_user() ? "user" : "kernel");
    print("  rip {:016x} cs  {:04x} rflags {:016x}\n", f.rip, f.cs, f.rflags);
    print("  rsp {:016x} ss  {:04x} cr2    {:016x} cr3 {:016x}\n", f.rsp, f.ss, read_cr2(),
          read_cr3());
    print("  rax {:016x} rbx {:016x} rcx {:016x} rdx {:016x}\n", f.rax, f.rbx, f.rcx, f.rdx);
    print("  rsi {:016x} rdi {:016x} rbp {:016x} r8  {:016x}\n", f.rsi, f.rdi, f.rbp, f.r8);
    print("  r9  {:016x} r10 {:016x} r11 {:016x} r12 {:016x}\n", f.r9, f.r10, f.r11, f.r12);
    print("  r13 {:016x} r14 {:016x} r15 {:016x}\n", f.r13, f.r14, f.r15);
}

} // namespace kernel::x86_64

using namespace kernel;
using namespace kernel::x86_64;

namespace {

// A user page fault, or a kernel fault on a user address inside a guarded user copy, may
// be a demand-zero page the task is entitled to, or a page its pager must supply.
bool resolve_user_page_fault(TrapFrame& frame, uint64_t address) {
    Thread* t = current_thread();
    if (!t || !t->task() || !is_user_address(address))
        return false;
    if (!frame.from_user() && this_cpu().recovery.rip == 0)
        return false;
    switch (t->task()->handle_page_fault(address, frame.error_code)) {
    case FaultResult::kResolved:
        return true;
    case FaultResult::kFatal:
        return false;
    case FaultResult::kNeedPager: {
        // The recovery point belongs to this thread's user copy; keep it across the wait.
        RecoveryPoint saved = this_cpu().recovery;
        base::Error e;
        do {
            e = t->task()->wait_for_pager(address, frame.error_code);
            // A stop (migration, a debugger) interrupts the wait: from user mode, return
            // and retry the access after the stop; inside a kernel copy, keep waiting.
        } while (e == base::Error::INTERRUPTED && !frame.from_user() && !t->m_exit_requested);
        this_cpu().recovery = saved;
        return e == base::Error::OK || (e == base::Error::INTERRUPTED && frame.from_user());
    }
    }
    return false;
}

[[noreturn]] void kill_faulting_task(TrapFrame& frame, uint64_t fault_address) {
    Thread* t = current_thread();
    Task* task = t->task();
    log::warn("task {} '{}': {} at rip {:#x} (address {:#x}, error {:#x}); killing the task",
              task->id(), task->name(), exception_name(frame.vector), frame.rip,
              frame.vector == kVecPageFault ? fault_address : 0, frame.error_code);
    task->kill(int64_t(TERN_EXIT_FAULT_BASE + frame.vector), exception_name(frame.vector));
    thread_exit_current();
}

// Hands a user exception to the task's exception port; the thread stays stopped until a
// handler resumes it. Returns false when there is no port or it cannot take the message.
bool report_exception(TrapFrame& frame, uint64_t fault_address) {
    Thread* t = current_thread();
    Task* task = t->task();
    if (!task->exception_port())
        return false;
    obj::Message m;
    m.header.label = TERN_LABEL_EXCEPTION;
    m.header.sender_badge = task->id();
    m.words[0] = frame.vector;
    m.words[1] = frame.error_code;
    m.words[2] = frame.rip;
    m.words[3] = frame.vector == kVecPageFault ? fault_address : 0;
    m.words[4] = t->id();
    t->add_ref();
    if (m.add_handle(obj::Ref<obj::KObject>::adopt(t), TERN_RIGHT_CONTROL | TERN_RIGHT_READ)
            .is_error())
        return false;
    if (task->exception_port()->send(base::move(m), 0, false).is_error())
        return false;
    t->m_force_iret = true;
    stop_current();
    return true;
}

} // namespace

extern "C" void trap_dispatch(TrapFrame* frame) {
    uint64_t vector = frame->vector;
    // CR2 is read once: a pager wait below may take other page faults.
    uint64_t fault_address = vector == kVecPageFault ? read_cr2() : 0;
    if (vector == kVecPageFault && resolve_user_page_fault(*frame, fault_address)) {
        // Resolved: retry the access.
    } else if (TrapHandler h = g_handlers[vector & 0xFF]) {
        h(*frame);
    } else if (vector < 32) {
        if (frame->from_user() && (vector == kVecPageFault || vector == kVecGeneralProtection)) {
            // A checked copy in user space (fault_resume): it reports the bad address.
            if (uint64_t resume = current_thread()->task()->fault_resume_for(frame->rip)) {
                frame->rip = resume;
                frame->rax = vector;
                on_return_to_user();
                return;
            }
        }
        if (frame->from_user() && !report_exception(*frame, fault_address))
            kill_faulting_task(*frame, fault_address);
        if (frame->from_user()) {
            on_return_to_user();
            return;
        }
        PerCpu& cpu = this_cpu();
        if (cpu.recovery.rip != 0) {
            // A deliberate fault under try_call, or a user copy that hit a bad address:
            // resume at its recovery point.
            frame->rip = cpu.recovery.rip;
            frame->rsp = cpu.recovery.rsp;
            frame->rax = vector;
            cpu.recovery.rip = 0;
            return;
        }
        panic_with_frame(*frame, "unhandled {} (vector {}) in {} mode at {:#x}",
                         exception_name(vector), vector, frame->from_user() ? "user" : "kernel",
                         frame->rip);
    } else if (vector != kVecSpurious) {
        // An interrupt nobody claimed: count it, log the first one, and acknowledge it so
        // the controller does not stall.
        if (g_unhandled_irq_count[vector]++ == 0)
            log::warn("trap: unhandled interrupt vector {}", vector);
        lapic_eoi();
    }
    // Preemption and deferred exits happen on the way out of the kernel.
    if (vector >= 32 && need_resched() && (frame->rflags & (1u << 9)))
        yield();
    if (frame->from_user())
        on_return_to_user();
}

// ---- Self-tests -----------------------------------------------------------------------
#include <kernel/core/symbols.h>
#include <kernel/test/ktest.h>

namespace {

void do_breakpoint(void*) { asm volatile("int3"); }
void do_invalid_opcode(void*) { asm volatile("ud2"); }
void do_divide_error(void*) {
    asm volatile("xorl %%ecx, %%ecx; divl %%ecx" ::: "eax", "ecx", "edx");
}
void do_non_canonical(void*) { (void)*reinterpret_cast<volatile uint64_t*>(0x0000800000000000ull); }
void do_privileged_in_kernel(void*) { asm volatile("" ::: "memory"); }

KTEST(trap, breakpoint_recovered) {
    KEXPECT_EQ(try_call(do_breakpoint, nullptr), int64_t(kVecBreakpoint));
}
KTEST(trap, invalid_opcode_recovered) {
    KEXPECT_EQ(try_call(do_invalid_opcode, nullptr), int64_t(kVecInvalidOpcode));
}
KTEST(trap, divide_error_recovered) {
    KEXPECT_EQ(try_call(do_divide_error, nullptr), int64_t(kVecDivide));
}
KTEST(trap, non_canonical_is_general_protection) {
    KEXPECT_EQ(try_call(do_non_canonical, nullptr), int64_t(kVecGeneralProtection));
}
KTEST(trap, normal_call_returns_minus_one) {
    KEXPECT_EQ(try_call(do_privileged_in_kernel, nullptr), int64_t(-1));
    KEXPECT_EQ(this_cpu().recovery.rip, uint64_t(0));
}
KTEST(trap, exception_names) {
    KEXPECT(base::StringView(exception_name(kVecPageFault)) == base::StringView("page fault"));
    KEXPECT(base::StringView(exception_name(200)) == base::StringView("interrupt"));
}
KTEST(trap, symbolize_kernel_function) {
    KEXPECT(kernel::symbols_loaded());
    kernel::SymbolHit hit;
    KEXPECT(kernel::symbolize(reinterpret_cast<uint64_t>(&idt_init) + 1, hit));
    KEXPECT(hit.name.find(base::StringView("idt_init")).has_value());
    KEXPECT_EQ(hit.offset, uint64_t(1));
}

} // namespace

// ---- Deliberate crashes (run only with selftest_filter=crash.<name>) -------------------
namespace {

[[gnu::noinline]] void crash_write_unmapped() {
    *reinterpret_cast<volatile uint64_t*>(0xFFFFFFFFFFFFF000ull - 0x100000) = 1;
}

KTEST(crash, kernel_page_fault) { crash_write_unmapped(); }

// Recurses until the boot stack's guard page stops it (the bound is never reached).
[[gnu::noinline]] uint64_t recurse(uint64_t depth) {
    volatile uint8_t pad[512];
    pad[0] = uint8_t(depth);
    if (depth > (1ull << 40))
        return pad[0];
    return recurse(depth + 1) + pad[0];
}

KTEST(crash, stack_overflow_hits_guard) { (void)recurse(0); }

KTEST(crash, assertion) { TERN_VERIFY(ktest_ctx.failed()); }

} // namespace

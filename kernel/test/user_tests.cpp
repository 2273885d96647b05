// Self-tests that run user programs: the system call contract checked from ring 3, one
// program per syscall family (tests/kernel-abi/<family>.cpp, boot module abi_<family>),
// and attacks the kernel must survive (tests/hostile/hostile.cpp).
//
// Each hostile attack runs in a task of its own and must end with the status the attack
// is documented to produce. Afterwards the kernel has to be as it was: the pages the task
// used are back in the page allocator (within a small slack for heap slabs the kernel
// keeps), and a fresh program still starts and exits cleanly.
#include <kernel/core/clock.h>
#include <kernel/core/loader.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/object/futex.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/test/ktest.h>
#include <tern/abi/errors.h>
#include <tests/hostile/hostile_attacks.h>

namespace kernel {
namespace {

constexpr uint64_t kMs = 1000000ull;
constexpr uint64_t kSecond = 1000 * kMs;
// Pages the kernel may keep after a task is gone: slabs of its heap that stay cached.
// The first task that makes thousands of kernel objects also grows the heap's own
// bookkeeping (about 25 pages for a thousand ports), which stays; attacks of that kind run
// twice and only the second run is measured.
constexpr size_t kPageSlack = 8;

// Runs a boot module with `arg` to its exit. Returns false (and fails the test) when the
// module is missing, cannot start, or outlives the timeout (it is killed).
bool run_module(KTestContext& ktest_ctx, const char* module, uint64_t arg, uint64_t timeout_ns,
                int64_t& status) {
    auto result = run_module_to_exit(module, arg, timeout_ns);
    if (result.is_error()) {
        ktest_ctx.fail(__FILE__, __LINE__, "running '{}' (arg {}, {} ms): {}", module, arg,
                       timeout_ns / kMs, result.error());
        return false;
    }
    status = result.value();
    return true;
}

// Lets the scheduler reap the exited threads, whose stacks and last references go back
// only after a context switch.
void settle() {
    sleep_ns(5 * kMs);
    yield();
}

// The kernel after an attack: no pages lost, and a well-behaved program still runs.
void expect_kernel_healthy(KTestContext& ktest_ctx, size_t pages_before) {
    settle();
    size_t pages_after = page_allocator().free_page_count();
    if (pages_after + kPageSlack < pages_before) {
        ktest_ctx.fail(__FILE__, __LINE__, "{} pages not returned after the task exited",
                       pages_before - pages_after);
        return;
    }
    int64_t status = -1;
    if (!run_module(ktest_ctx, "hello_native", 7, 10 * kSecond, status))
        return;
    KEXPECT_EQ(status, int64_t(0));
}

// Runs the kernel-ABI test program of one syscall family, which exits 0 iff every check
// passed. A family that makes thousands of kernel objects (the handle quota) runs once
// before the measured run to warm the kernel heap's bookkeeping (see kPageSlack).
void run_abi_family(KTestContext& ktest_ctx, const char* module, bool warm_up = false) {
    int64_t status = -1;
    if (warm_up) {
        if (!run_module(ktest_ctx, module, 0, 30 * kSecond, status))
            return;
        KEXPECT_EQ(status, int64_t(0));
        settle();
    }
    size_t pages_before = page_allocator().free_page_count();
    if (!run_module(ktest_ctx, module, 0, 30 * kSecond, status))
        return;
    KEXPECT_EQ(status, int64_t(0));
    expect_kernel_healthy(ktest_ctx, pages_before);
}

KTEST(user, abi_handle) { run_abi_family(ktest_ctx, "abi_handle", true); }
KTEST(user, abi_basic) { run_abi_family(ktest_ctx, "abi_basic"); }
KTEST(user, abi_port) { run_abi_family(ktest_ctx, "abi_port"); }
KTEST(user, abi_call) { run_abi_family(ktest_ctx, "abi_call"); }
KTEST(user, abi_fastpath) { run_abi_family(ktest_ctx, "abi_fastpath"); }
// A thousand asynchronous calls at once: warmed up like abi_handle.
KTEST(user, abi_async) { run_abi_family(ktest_ctx, "abi_async", true); }
KTEST(user, abi_vm) { run_abi_family(ktest_ctx, "abi_vm"); }
KTEST(user, abi_memory) { run_abi_family(ktest_ctx, "abi_memory"); }
KTEST(user, abi_thread) { run_abi_family(ktest_ctx, "abi_thread"); }
// The program ends with a thread still waiting on a futex: killing it must take its
// record (on its kernel stack) off the node's futex table.
KTEST(user, abi_futex) {
    run_abi_family(ktest_ctx, "abi_futex");
    KEXPECT_EQ(futex_waiters(), size_t(0));
}
KTEST(user, abi_task) { run_abi_family(ktest_ctx, "abi_task"); }
KTEST(user, abi_task_control) { run_abi_family(ktest_ctx, "abi_task_control"); }
// Copy-on-write clones: warmed up so that the share table and the heap have their size.
KTEST(user, abi_clone) { run_abi_family(ktest_ctx, "abi_clone", true); }
KTEST(user, abi_pager) { run_abi_family(ktest_ctx, "abi_pager"); }
KTEST(user, abi_device) { run_abi_family(ktest_ctx, "abi_device"); }
// The same program holding the root device resources a system task gets (argument 1).
KTEST(user, abi_device_granted) {
    size_t pages_before = page_allocator().free_page_count();
    auto status = run_module_to_exit("abi_device", 1, 30 * kSecond, true);
    KEXPECT_OK(status);
    if (status.ok())
        KEXPECT_EQ(status.value(), int64_t(0));
    expect_kernel_healthy(ktest_ctx, pages_before);
}

// ---- Hostile programs -------------------------------------------------------------------

using namespace tern_test;

// The statuses hostile.cpp documents.
constexpr int64_t kQuotaReached = 0x51;
constexpr int64_t kSurvivedBadRsp = 0x52;

constexpr int64_t fault(uint64_t vector) { return int64_t(TERN_EXIT_FAULT_BASE + vector); }
constexpr int64_t kDivide = fault(0);
constexpr int64_t kDebug = fault(1);
constexpr int64_t kBreakpoint = fault(3);
constexpr int64_t kInvalidOpcode = fault(6);
constexpr int64_t kStackSegment = fault(12);
constexpr int64_t kGeneralProtection = fault(13);
constexpr int64_t kPageFault = fault(14);

struct AttackSpec {
    Attack attack;
    int64_t expected;
    // A second acceptable status (equal to expected when there is none).
    int64_t alternative;
    uint64_t timeout_ns = 20 * kSecond;
    // Run the attack once before measuring (see kPageSlack).
    bool warm_up = false;
};

void run_attack(KTestContext& ktest_ctx, const AttackSpec& spec) {
    for (int round = spec.warm_up ? 0 : 1; round < 2; ++round) {
        size_t pages_before = page_allocator().free_page_count();
        int64_t status = -1;
        if (!run_module(ktest_ctx, "hostile", spec.attack, spec.timeout_ns, status))
            return;
        if (status != spec.expected && status != spec.alternative) {
            ktest_ctx.fail(__FILE__, __LINE__, "attack {} ended with status {:#x}, expected {:#x}",
                           uint64_t(spec.attack), status, spec.expected);
            return;
        }
        if (round == 1)
            expect_kernel_healthy(ktest_ctx, pages_before);
        else
            settle();
    }
}

void run_attack(KTestContext& ktest_ctx, Attack attack, int64_t expected) {
    run_attack(ktest_ctx, AttackSpec{attack, expected, expected});
}

KTEST(user, hostile_wild_write) { run_attack(ktest_ctx, kWildWrite, kPageFault); }
KTEST(user, hostile_null_read) { run_attack(ktest_ctx, kNullRead, kPageFault); }
KTEST(user, hostile_write_own_text) { run_attack(ktest_ctx, kWriteText, kPageFault); }
KTEST(user, hostile_execute_stack) { run_attack(ktest_ctx, kExecStack, kPageFault); }
KTEST(user, hostile_execute_heap) { run_attack(ktest_ctx, kExecHeap, kPageFault); }
KTEST(user, hostile_read_kernel) { run_attack(ktest_ctx, kReadKernel, kPageFault); }
KTEST(user, hostile_cli) { run_attack(ktest_ctx, kCli, kGeneralProtection); }
KTEST(user, hostile_hlt) { run_attack(ktest_ctx, kHlt, kGeneralProtection); }
KTEST(user, hostile_port_in) { run_attack(ktest_ctx, kPortIn, kGeneralProtection); }
KTEST(user, hostile_port_out) { run_attack(ktest_ctx, kPortOut, kGeneralProtection); }
KTEST(user, hostile_mov_cr3) { run_attack(ktest_ctx, kMovCr3, kGeneralProtection); }
KTEST(user, hostile_wrmsr) { run_attack(ktest_ctx, kWrmsr, kGeneralProtection); }
KTEST(user, hostile_lgdt) { run_attack(ktest_ctx, kLgdt, kGeneralProtection); }
// Every IDT gate has DPL 0, so a software interrupt from ring 3 is a general protection
// fault; a kernel that opens the breakpoint gate to user space would report vector 3.
KTEST(user, hostile_int80) { run_attack(ktest_ctx, kInt80, kGeneralProtection); }
KTEST(user, hostile_int3) {
    run_attack(ktest_ctx, AttackSpec{kInt3, kGeneralProtection, kBreakpoint});
}
KTEST(user, hostile_stack_overflow) { run_attack(ktest_ctx, kStackOverflow, kPageFault); }
// Physical memory (256 MiB in the test machine) may run out before the 256 MiB quota: the
// page fault that cannot be served then ends the task instead. It makes no kernel objects
// beyond page tables, so one run is measured directly. (Under QEMU's TCG a task that
// touches all of memory right after the thread or handle bomb runs some 25 times slower,
// about 20 s instead of 0.3 s, while kernel-side allocation stays as fast as ever; it
// runs before them to keep the suite quick.)
KTEST(user, hostile_memory_bomb) {
    run_attack(ktest_ctx, AttackSpec{kMemoryBomb, kQuotaReached, kPageFault, 60 * kSecond});
}
KTEST(user, hostile_thread_bomb) {
    run_attack(ktest_ctx,
               AttackSpec{kThreadBomb, kQuotaReached, kQuotaReached, 20 * kSecond, true});
}
KTEST(user, hostile_handle_bomb) {
    run_attack(ktest_ctx,
               AttackSpec{kHandleBomb, kQuotaReached, kQuotaReached, 20 * kSecond, true});
}
KTEST(user, hostile_bad_pointers) { run_attack(ktest_ctx, kBadPointers, 0); }
KTEST(user, hostile_jump_non_canonical) {
    run_attack(ktest_ctx, kJumpNonCanonical, kGeneralProtection);
}
KTEST(user, hostile_jump_kernel) { run_attack(ktest_ctx, kJumpKernel, kPageFault); }
KTEST(user, hostile_syscall_fuzz) {
    run_attack(ktest_ctx, AttackSpec{kSyscallFuzz, 0, 0, 60 * kSecond, true});
}
KTEST(user, hostile_ud2) { run_attack(ktest_ctx, kUd2, kInvalidOpcode); }
KTEST(user, hostile_divide_error) { run_attack(ktest_ctx, kDivideError, kDivide); }
KTEST(user, hostile_trap_flag) { run_attack(ktest_ctx, kTrapFlag, kDebug); }
// CR4.FSGSBASE is off, so the instruction does not exist for user code.
KTEST(user, hostile_wrgsbase) { run_attack(ktest_ctx, kWrgsbase, kInvalidOpcode); }
// The CPU refuses the frame with a general protection fault. QEMU's TCG reads the frame
// with supervisor accesses, which SMAP turns into a page fault instead: either ends the task.
KTEST(user, hostile_iret_to_ring0) {
    run_attack(ktest_ctx, AttackSpec{kIretToRing0, kGeneralProtection, kPageFault});
}
KTEST(user, hostile_bad_rsp_syscall) { run_attack(ktest_ctx, kBadRspSyscall, kSurvivedBadRsp); }
// The SDM says a non-canonical stack access is a stack-segment fault; QEMU's TCG raises a
// general protection fault. Either ends the task.
KTEST(user, hostile_non_canonical_rsp_push) {
    run_attack(ktest_ctx, AttackSpec{kNonCanonicalRspPush, kStackSegment, kGeneralProtection});
}
KTEST(user, hostile_swapgs) { run_attack(ktest_ctx, kSwapgs, kGeneralProtection); }

// A user thread may ask for priority 31, above every kernel thread's default: while it
// spins (300 ms), threads of normal priority get no CPU at all. The test checks that the
// kernel survives and prints how long this thread was held off.
KTEST(user, hostile_priority_hog) {
    size_t pages_before = page_allocator().free_page_count();
    auto image = find_boot_module(base::StringView("hostile"));
    KEXPECT(!image.empty());
    auto task = spawn_program(image, "hostile", kPriorityHog);
    KEXPECT_OK(task);
    uint64_t start = monotonic_ns();
    sleep_ns(10 * kMs);
    uint64_t held_off = monotonic_ns() - start;
    auto status = task.value()->wait_exit(monotonic_ns() + 10 * kSecond);
    if (status.is_error()) {
        task.value()->kill(-1, "test timeout");
        (void)task.value()->wait_exit(0);
    }
    task.value()->release_ref();
    KEXPECT_OK(status);
    KEXPECT_EQ(status.value(), kQuotaReached);
    print("  note: a 10 ms sleep of a priority-{} kernel thread took {} ms while a priority-31 "
          "user thread spun\n",
          Thread::kDefaultPriority, held_off / kMs);
    expect_kernel_healthy(ktest_ctx, pages_before);
}

// ---- Leak regressions -------------------------------------------------------------------
// These attacks end normally and must give back everything they held. Each runs twice and
// the second round is measured (the first also warms the kernel heap).
void run_leak_check(KTestContext& ktest_ctx, Attack attack) {
    int64_t leaked = 0;
    for (int round = 0; round < 2; ++round) {
        size_t pages_before = page_allocator().free_page_count();
        int64_t status = -1;
        if (!run_module(ktest_ctx, "hostile", attack, 20 * kSecond, status))
            return;
        KEXPECT_EQ(status, int64_t(0));
        settle();
        leaked = int64_t(pages_before) - int64_t(page_allocator().free_page_count());
    }
    KEXPECT(leaked <= int64_t(kPageSlack));
    int64_t status = -1;
    if (!run_module(ktest_ctx, "hello_native", 7, 10 * kSecond, status))
        return;
    KEXPECT_EQ(status, int64_t(0));
}

// A task created with task_create whose only thread was created stopped and never started
// must not outlive the last handle to it (unshared threads are ended or resumed).
KTEST(user, hostile_orphan_stopped_task) { run_leak_check(ktest_ctx, kOrphanStoppedTask); }

// A task that exits while its threads are blocked in syscalls: they unwind with
// INTERRUPTED, so the references their kernel frames hold are dropped.
KTEST(user, hostile_exit_with_blocked_threads) {
    run_leak_check(ktest_ctx, kExitWithBlockedThreads);
}

} // namespace
} // namespace kernel

// ---- Kernel heap ------------------------------------------------------------------------
// Queued message data once had no per-task bound (1023 ports x 64 messages x 64 KiB), so
// one task could take all of memory into the kernel heap. Every kernel object and every
// data part a task makes is now charged to its account (kernel/object/quota.h): the
// attack must meet QUOTA_EXCEEDED, and the kernel must give everything back.
namespace kernel {
namespace {

KTEST(user, hostile_kernel_heap_exhaustion) {
    run_attack(ktest_ctx,
               AttackSpec{kKernelHeapExhaustion, kQuotaReached, kQuotaReached, 60 * kSecond, true});
}

} // namespace
} // namespace kernel

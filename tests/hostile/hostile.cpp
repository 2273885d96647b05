// Attacks on the kernel from ring 3, one per run: the start argument picks the attack.
//
// The kernel must survive every one of them. An attack that the CPU stops with an
// exception ends the task with TERN_EXIT_FAULT_BASE + the vector; an attack on a quota
// ends with kQuotaReached once the kernel has said no; an attack that probes the syscall
// layer ends with 0 when every call was refused and with the number of calls that were
// wrongly accepted otherwise. kUnexpected means the forbidden operation simply worked.
// The launcher, kernel/test/user_tests.cpp, runs each attack in a task of its own and
// checks the status and that the kernel gives back every page afterwards; it mirrors the
// attack numbers below, so the two lists must change together.
//
// The program prints only "hostile: ..." lines (never at the start of a line "PASS " or
// "FAIL ", which belong to the kernel's self-test harness).

#include "hostile_attacks.h"
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/errors.h>
#include <tern/abi/message.h>
#include <tern/abi/rights.h>
#include <tern/abi/syscalls.h>
#include <tern/abi/task.h>
#include <tern/ipc_regs.h>
#include <tern/print.h>
#include <tern/runtime.h>
#include <tern/syscall.h>

namespace {

using namespace tern_test;

// The quota attack reached the limit and the kernel refused with an error.
constexpr int kQuotaReached = 0x51;
// kBadRspSyscall survived its syscall with a wild stack pointer.
constexpr int kSurvivedBadRsp = 0x52;
// The forbidden operation did not fault.
constexpr int kUnexpected = 0x5E;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMs = 1000000;

uint64_t ptr(const void* p) { return reinterpret_cast<uint64_t>(p); }
uint64_t now_ns() { return static_cast<uint64_t>(tern_sys_clock_monotonic()); }

// Keeps the compiler from proving the attacks pointless and deleting them.
volatile uint64_t g_sink;

// ---- Memory attacks ---------------------------------------------------------------------

[[gnu::noinline]] uint64_t recurse(uint64_t depth) {
    volatile uint8_t frame[256];
    frame[0] = static_cast<uint8_t>(depth);
    // The bound is never reached: the 64 KiB stack ends long before.
    if (depth > (1ull << 40))
        return frame[0];
    return recurse(depth + 1) + frame[0];
}

int exec_bytes(uint8_t* code) {
    code[0] = 0xC3; // ret
    reinterpret_cast<void (*)()>(code)();
    return kUnexpected;
}

// ---- Quota attacks ----------------------------------------------------------------------

volatile int g_spinning = 0;

extern "C" [[noreturn]] void hostile_spin_thread(uint64_t) {
    __atomic_fetch_add(&g_spinning, 1, __ATOMIC_RELAXED);
    for (;;)
        g_sink = g_sink + 1;
}

// A thread starts with RSP 16-byte aligned and no return address; enter C++ through a
// call so the callee sees the alignment the ABI promises.
extern "C" void hostile_thread_start();
asm(R"(
    .text
    .globl hostile_thread_start
    .type hostile_thread_start, @function
hostile_thread_start:
    xorl %ebp, %ebp
    call hostile_spin_thread
    ud2
    .size hostile_thread_start, . - hostile_thread_start
)");

int thread_bomb() {
    constexpr uint64_t kSlice = 8 * 1024;
    int64_t stacks = tern_sys_vm_allocate(80 * kSlice, TERN_PROT_READ | TERN_PROT_WRITE);
    if (stacks < 0)
        return kUnexpected;
    int created = 0;
    int64_t r = 0;
    for (; created < 80; ++created) {
        r = tern_sys_thread_create(ptr(reinterpret_cast<void*>(&hostile_thread_start)),
                                   static_cast<uint64_t>(stacks) + (created + 1) * kSlice, 0, 10);
        if (r < 0)
            break;
    }
    tern::println("hostile: thread bomb created {} threads, then {}", created, r);
    // Every thread spins; this one keeps running too, more slowly, until they all did.
    uint64_t deadline = now_ns() + 2000 * kMs;
    while (__atomic_load_n(&g_spinning, __ATOMIC_RELAXED) < created && now_ns() < deadline)
        g_sink = g_sink + 1;
    bool all_ran = __atomic_load_n(&g_spinning, __ATOMIC_RELAXED) == created;
    tern::println("hostile: {} spinning threads ran", g_spinning);
    return r == -TERN_QUOTA_EXCEEDED && created == 63 && all_ran ? kQuotaReached : kUnexpected;
}

int handle_bomb() {
    int ports = 0;
    int64_t r = 0;
    for (; ports < 5000; ++ports) {
        r = tern_sys_port_create(64);
        if (r < 0)
            break;
    }
    tern::println("hostile: handle bomb created {} ports, then {}", ports, r);
    // Exit with every port still open: task death must release them.
    return r == -TERN_QUOTA_EXCEEDED ? kQuotaReached : kUnexpected;
}

int memory_bomb() {
    constexpr uint64_t kChunk = 4ull << 20;
    uint64_t total = 0;
    int64_t r = 0;
    for (int i = 0; i < 1000; ++i) {
        r = tern_sys_vm_allocate(kChunk, TERN_PROT_READ | TERN_PROT_WRITE);
        if (r < 0)
            break;
        // Touch every page: physical memory may run out before the quota does, and then
        // the page fault that cannot be served ends the task.
        for (uint64_t off = 0; off < kChunk; off += kPage)
            *reinterpret_cast<volatile uint64_t*>(r + off) = off;
        total += kChunk;
    }
    tern::println("hostile: memory bomb touched {} MiB, then {}", total >> 20, r);
    return r == -TERN_QUOTA_EXCEEDED || r == -TERN_NO_MEMORY ? kQuotaReached : kUnexpected;
}

// Fills the kernel heap with queued message data (which the sender's quotas do not
// bound), then asks for kernel objects while the heap is empty.
int kernel_heap_exhaustion() {
    static uint8_t data[TERN_MSG_MAX_DATA];
    tern_msg m{};
    m.hdr.data_size = TERN_MSG_MAX_DATA;
    m.data = ptr(data);
    int64_t r = 0;
    uint64_t queued = 0;
    int ports = 0;
    while (r >= 0 && ports < 1000) {
        int64_t port = tern_sys_port_create(64);
        if (port < 0) {
            r = port;
            break;
        }
        ++ports;
        for (int i = 0; i < 64; ++i) {
            r = tern_sys_port_send(static_cast<uint64_t>(port), ptr(&m), 0);
            if (r < 0)
                break;
            queued += TERN_MSG_MAX_DATA;
        }
    }
    tern::println("hostile: queued {} MiB of message data in {} ports, then {}", queued >> 20,
                  ports, r);
    // Now the kernel has little memory left: every request must fail cleanly.
    int refused = 0;
    for (int i = 0; i < 16; ++i) {
        int64_t p = tern_sys_port_create(64);
        int64_t t = tern_sys_task_create(ptr("x"), 1);
        refused += p < 0 ? 1 : 0;
        refused += t < 0 ? 1 : 0;
    }
    tern::println("hostile: {} kernel object requests refused after exhaustion", refused);
    return r == -TERN_NO_MEMORY || r == -TERN_QUOTA_EXCEEDED ? kQuotaReached : kUnexpected;
}

// ---- Scheduling --------------------------------------------------------------------------

volatile uint64_t g_hog_until = 0;

extern "C" [[noreturn]] void hostile_hog_thread(uint64_t) {
    while (now_ns() < g_hog_until)
        g_sink = g_sink + 1;
    tern_sys_task_exit(kQuotaReached);
    __builtin_trap();
}

extern "C" void hostile_hog_start();
asm(R"(
    .text
    .globl hostile_hog_start
    .type hostile_hog_start, @function
hostile_hog_start:
    xorl %ebp, %ebp
    call hostile_hog_thread
    ud2
    .size hostile_hog_start, . - hostile_hog_start
)");

// A thread at the highest priority user space may ask for spins for 300 ms; the launcher
// measures how long the kernel's own threads had to wait meanwhile.
int priority_hog() {
    int64_t stack = tern_sys_vm_allocate(16 * 1024, TERN_PROT_READ | TERN_PROT_WRITE);
    if (stack < 0)
        return kUnexpected;
    g_hog_until = now_ns() + 300 * kMs;
    int64_t t = tern_sys_thread_create(ptr(reinterpret_cast<void*>(&hostile_hog_start)),
                                       static_cast<uint64_t>(stack) + 16 * 1024, 0, 31);
    if (t < 0)
        return kUnexpected;
    for (;;)
        tern_sys_thread_sleep(1000 * kMs);
}

// ---- Syscalls with hostile arguments ------------------------------------------------------

constexpr uint64_t kHostilePointers[] = {
    0xFFFF800000000000ull, // the kernel's direct map
    0xFFFFFFFF80000000ull, // the kernel image
    0xFFFFFE0000000000ull, // kernel stacks
    0x0000800000000000ull, // first non-canonical address
    0x8000000000000000ull, // non-canonical
    0xFFFFFFFFFFFFF000ull, // the last page
    0x00007FFFFFFFFFF8ull, // the last user word, past the end of user space
    0x0000000000000008ull, // the null page
};

int g_accepted = 0;

void expect_refused(int64_t r, const char* what, uint64_t pointer) {
    if (r >= 0) {
        ++g_accepted;
        tern::println("hostile: {} accepted pointer {:#x} (returned {})", what, pointer, r);
    }
}

volatile int g_caller_ready = 0;

extern "C" [[noreturn]] void hostile_caller_thread(uint64_t port) {
    tern_msg m{};
    g_caller_ready = 1;
    (void)tern_sys_port_call(port, ptr(&m), TERN_TIMEOUT_INFINITE);
    tern_sys_thread_exit(0);
    __builtin_trap();
}

extern "C" void hostile_caller_start();
asm(R"(
    .text
    .globl hostile_caller_start
    .type hostile_caller_start, @function
hostile_caller_start:
    xorl %ebp, %ebp
    call hostile_caller_thread
    ud2
    .size hostile_caller_start, . - hostile_caller_start
)");

// Every pointer argument of every syscall, with valid handles, gets every hostile pointer.
int bad_pointers() {
    constexpr uint32_t kRw = TERN_PROT_READ | TERN_PROT_WRITE;
    int64_t port = tern_sys_port_create(64);
    int64_t task = tern_sys_task_create(ptr("victim"), 6);
    if (port < 0 || task < 0)
        return kUnexpected;
    int64_t region = tern_sys_task_vm_allocate(task, 0, 4 * kPage, kRw);
    int64_t pager_region = tern_sys_vm_map_pager(task, 0, kPage, TERN_PROT_READ, port);
    int64_t thread = tern_sys_task_thread_create(task, region, region + kPage, 0);
    // One handle in the victim, so task_handles has an entry to write.
    if (tern_sys_task_give_handle(task, port, TERN_RIGHT_SEND) < 0)
        return kUnexpected;
    int64_t stack = tern_sys_vm_allocate(16 * 1024, kRw);
    if (region < 0 || pager_region < 0 || thread < 0 || stack < 0)
        return kUnexpected;
    // A reply handle, from a call made by a helper thread.
    if (tern_sys_thread_create(ptr(reinterpret_cast<void*>(&hostile_caller_start)),
                               static_cast<uint64_t>(stack) + 16 * 1024, port, 10)
        < 0)
        return kUnexpected;
    tern_msg call{};
    if (tern_sys_port_receive(port, ptr(&call), 1000 * kMs) < 0 || call.reply_handle == 0)
        return kUnexpected;
    uint64_t reply = call.reply_handle;

    static uint8_t buffer[kPage];
    uint64_t u_region = static_cast<uint64_t>(region);
    for (uint64_t b : kHostilePointers) {
        tern_msg plain{};
        expect_refused(tern_sys_debug_write(b, 16), "debug_write", b);
        expect_refused(tern_sys_port_send(port, b, 0), "port_send", b);
        (void)tern_sys_port_send(port, ptr(&plain), 0);
        expect_refused(tern_sys_port_receive(port, b, 0), "port_receive", b);
        expect_refused(tern_sys_port_call(port, b, 0), "port_call", b);
        expect_refused(tern_sys_port_reply(reply, b), "port_reply", b);
        tern_msg with_data{};
        with_data.hdr.data_size = 64;
        with_data.data = b;
        expect_refused(tern_sys_port_send(port, ptr(&with_data), 0), "port_send data", b);
        expect_refused(tern_sys_port_call(port, ptr(&with_data), 0), "port_call data", b);
        expect_refused(tern_sys_port_reply(reply, ptr(&with_data)), "port_reply data", b);
        tern_msg data_in{};
        data_in.hdr.data_size = 64;
        data_in.data = ptr(buffer);
        (void)tern_sys_port_send(port, ptr(&data_in), 0);
        tern_msg receive_into{};
        receive_into.data = b;
        receive_into.data_capacity = 64;
        // Drain whatever is queued, refusing the bad buffer for the data message.
        for (int i = 0; i < 4; ++i) {
            int64_t r = tern_sys_port_receive(port, ptr(&receive_into), 0);
            if (r >= 0 && receive_into.hdr.data_size != 0)
                expect_refused(r, "port_receive data", b);
            receive_into = tern_msg{};
            receive_into.data = b;
            receive_into.data_capacity = 64;
        }
        expect_refused(tern_sys_task_create(b, 5), "task_create", b);
        expect_refused(tern_sys_task_vm_write(task, u_region, b, 16), "task_vm_write buf", b);
        expect_refused(tern_sys_task_vm_read(task, u_region, b, 16), "task_vm_read buf", b);
        expect_refused(tern_sys_task_vm_write(task, b, ptr(buffer), 16), "task_vm_write addr", b);
        expect_refused(tern_sys_task_vm_read(task, b, ptr(buffer), 16), "task_vm_read addr", b);
        expect_refused(tern_sys_task_vm_allocate(task, b, kPage, kRw), "task_vm_allocate", b);
        expect_refused(tern_sys_thread_get_regs(thread, b), "thread_get_regs", b);
        expect_refused(tern_sys_thread_set_regs(thread, b), "thread_set_regs", b);
        expect_refused(tern_sys_thread_get_fpu(thread, b), "thread_get_fpu", b);
        expect_refused(tern_sys_thread_set_fpu(thread, b), "thread_set_fpu", b);
        expect_refused(tern_sys_task_mappings(task, b, 4), "task_mappings", b);
        expect_refused(tern_sys_task_handles(task, b, 4), "task_handles", b);
        expect_refused(tern_sys_vm_supply(task, b, ptr(buffer)), "vm_supply addr", b);
        expect_refused(tern_sys_vm_supply(task, pager_region, b), "vm_supply page", b);
        expect_refused(tern_sys_vm_refuse(task, b), "vm_refuse", b);
        expect_refused(tern_sys_vm_map_pager(task, b, kPage, TERN_PROT_READ, port), "vm_map_pager",
                       b);
        (void)tern_sys_port_send(port, ptr(&plain), 0);
        expect_refused(tern_sys_port_capture(port, b, 64), "port_capture", b);
        expect_refused(tern_sys_port_restore(port, b, 1), "port_restore", b);
        expect_refused(tern_sys_vm_free(b, kPage), "vm_free", b);
        expect_refused(tern_sys_vm_protect(b, kPage, TERN_PROT_READ), "vm_protect", b);
        expect_refused(tern_sys_thread_create(b, static_cast<uint64_t>(stack) + kPage, 0, 10),
                       "thread_create entry", b);
        expect_refused(tern_sys_thread_create(ptr(reinterpret_cast<void*>(&hostile_caller_start)),
                                              b, port, 10),
                       "thread_create stack", b);
        expect_refused(tern_sys_task_thread_create(task, b, region + kPage, 0),
                       "task_thread_create entry", b);
        expect_refused(tern_sys_task_thread_create(task, u_region, b, 0),
                       "task_thread_create stack", b);
        tern_regs regs{};
        if (tern_sys_thread_get_regs(thread, ptr(&regs)) == 0) {
            regs.rip = b;
            expect_refused(tern_sys_thread_set_regs(thread, ptr(&regs)), "set_regs rip", b);
            regs.rip = u_region;
            regs.fs_base = b;
            if (b != 0x0000000000000008ull) // a null-page FS base is a legal value
                expect_refused(tern_sys_thread_set_regs(thread, ptr(&regs)), "set_regs fs", b);
        }
        // Drain the queue so the next round starts empty (capture refused; restore too).
        tern_msg drain{};
        drain.data = ptr(buffer);
        drain.data_capacity = sizeof(buffer);
        while (tern_sys_port_receive(port, ptr(&drain), 0) == 0) {
            drain = tern_msg{};
            drain.data = ptr(buffer);
            drain.data_capacity = sizeof(buffer);
        }
    }
    tern::println("hostile: {} syscalls accepted a hostile pointer", g_accepted);
    // Leave nothing behind that would outlive this task for reasons of its own: the
    // victim's stopped thread (see kOrphanStoppedTask) and the helper blocked in its call
    // (see kExitWithBlockedThreads).
    (void)tern_sys_task_kill(task, 0);
    tern_msg answer{};
    (void)tern_sys_port_reply(reply, ptr(&answer));
    (void)tern_sys_thread_sleep(10 * kMs);
    return g_accepted;
}

// Random arguments, biased towards values that mean something to the kernel, for every
// syscall that can neither end nor block this task for long.
int syscall_fuzz() {
    static uint8_t buffer[16 * kPage];
    // Task control on itself (task_kill, task_vm_write over its own text, a thread at a
    // random address) is a legitimate way for a task to end itself; the fuzzer gives up
    // its self handle so that only kernel bugs can stop it.
    if (tern_sys_handle_close(TERN_HANDLE_SELF) != 0)
        return kUnexpected;
    int64_t own_port = tern_sys_port_create(8);
    uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&]() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    auto value = [&]() -> uint64_t {
        uint64_t r = next();
        switch (r % 12) {
        case 0:
            return 0;
        case 1:
            return (r >> 8) % 80;
        case 2:
            return static_cast<uint64_t>(own_port);
        case 3:
            return (1u << 14) | ((r >> 8) % 32); // a plausible handle: generation 1
        case 4:
            return ptr(buffer) + ((r >> 8) % (sizeof(buffer) - 256));
        case 5:
            return kHostilePointers[(r >> 8) % (sizeof(kHostilePointers) / 8)];
        case 6:
            return TERN_RIGHTS_ALL;
        case 7:
            return TERN_RIGHTS_SAME;
        case 8:
            return kPage * ((r >> 8) % 64);
        case 9:
            return ~0ull;
        case 10:
            return 1ull << ((r >> 8) % 64);
        default:
            return next();
        }
    };
    uint64_t calls = 0;
    for (int i = 0; i < 50000; ++i) {
        uint64_t n = next() % TERN_SYSCALL_COUNT;
        uint64_t a[6];
        for (uint64_t& x : a)
            x = value();
        // Calls that would end or stall the task, print arbitrary bytes, or start code at
        // an arbitrary address in this task are left out; memory calls get no valid
        // address of this task, so the fuzzer cannot unmap itself.
        switch (n) {
        case TERN_SYS_thread_exit:
        case TERN_SYS_task_exit:
        case TERN_SYS_thread_sleep:
        case TERN_SYS_debug_write:
        case TERN_SYS_thread_create:
        case TERN_SYS_thread_spawn:
            continue;
        case TERN_SYS_vm_free:
        case TERN_SYS_vm_protect:
            a[0] = kHostilePointers[next() % (sizeof(kHostilePointers) / 8)];
            break;
        case TERN_SYS_port_send:
        case TERN_SYS_port_receive:
        case TERN_SYS_port_call:
            a[2] = next() % 2 ? 0 : 100000; // at most 0.1 ms of waiting
            break;
        case TERN_SYS_thread_stop:
        case TERN_SYS_task_wait:
            a[1] = next() % 2 ? 0 : 100000;
            break;
        case TERN_SYS_futex_wait:
            a[2] = next() % 2 ? 0 : 100000;
            break;
        case TERN_SYS_port_call_regs:
        case TERN_SYS_port_reply_receive_regs: {
            // Through the runtime's wrapper: their answers come back in registers the
            // compiler keeps its own values in, and RBP names the overflow buffer.
            tern_reg_msg m{};
            m.label = a[1];
            for (uint64_t& w : m.words)
                w = value();
            (void)tern_ipc_regs(n, a[0], next() % 2 ? 0 : 100000, &m,
                                next() % 2 ? nullptr : reinterpret_cast<tern_msg*>(a[3]));
            ++calls;
            continue;
        }
        default:
            break;
        }
        (void)tern_syscall_6(n, a[0], a[1], a[2], a[3], a[4], a[5]);
        ++calls;
    }
    tern::println("hostile: fuzzer made {} syscalls and is still alive", calls);
    return 0;
}

// ---- Resources that must die with the task ---------------------------------------------

// A task made with task_create that has one thread, created stopped and never started;
// this task then exits holding the only handles to both.
int orphan_stopped_task() {
    int64_t task = tern_sys_task_create(ptr("orphan"), 6);
    if (task < 0)
        return kUnexpected;
    int64_t region =
        tern_sys_task_vm_allocate(task, 0, 64 * kPage, TERN_PROT_READ | TERN_PROT_WRITE);
    if (region < 0)
        return kUnexpected;
    static uint8_t junk[64 * kPage];
    if (tern_sys_task_vm_write(task, static_cast<uint64_t>(region), ptr(junk), sizeof(junk)) < 0)
        return kUnexpected;
    if (tern_sys_task_thread_create(task, static_cast<uint64_t>(region),
                                    static_cast<uint64_t>(region) + kPage, 0)
        < 0)
        return kUnexpected;
    return 0;
}

volatile uint64_t g_blocked = 0;

enum BlockKind : uint64_t {
    kBlockReceive = 0, // on an empty port
    kBlockSend = 1,    // on a full port
    kBlockTaskWait = 2 // on a task that never exits
};

// arg = (kind << 32) | handle.
extern "C" [[noreturn]] void hostile_blocked_thread(uint64_t arg) {
    uint64_t handle = arg & 0xFFFFFFFFu;
    __atomic_fetch_add(&g_blocked, 1, __ATOMIC_RELAXED);
    tern_msg m{};
    switch (arg >> 32) {
    case kBlockReceive:
        (void)tern_sys_port_receive(handle, ptr(&m), TERN_TIMEOUT_INFINITE);
        break;
    case kBlockSend:
        (void)tern_sys_port_send(handle, ptr(&m), TERN_TIMEOUT_INFINITE);
        break;
    default:
        (void)tern_sys_task_wait(handle, TERN_TIMEOUT_INFINITE);
        break;
    }
    tern_sys_thread_exit(0);
    __builtin_trap();
}

extern "C" void hostile_blocked_start();
asm(R"(
    .text
    .globl hostile_blocked_start
    .type hostile_blocked_start, @function
hostile_blocked_start:
    xorl %ebp, %ebp
    call hostile_blocked_thread
    ud2
    .size hostile_blocked_start, . - hostile_blocked_start
)");

// Exits while nine threads are blocked in the kernel: four receiving from empty ports,
// four sending to full ones (every port large: 64 queue slots, several pages each), and
// one waiting for a task that never exits (it has no threads) but holds 64 pages.
int exit_with_blocked_threads() {
    constexpr uint64_t kStack = 16 * 1024;
    constexpr int kThreads = 9;
    int64_t stacks = tern_sys_vm_allocate(kThreads * kStack, TERN_PROT_READ | TERN_PROT_WRITE);
    int64_t idle = tern_sys_task_create(ptr("idle"), 4);
    if (stacks < 0 || idle < 0)
        return kUnexpected;
    int64_t memory =
        tern_sys_task_vm_allocate(idle, 0, 64 * kPage, TERN_PROT_READ | TERN_PROT_WRITE);
    static uint8_t junk[64 * kPage];
    if (memory < 0
        || tern_sys_task_vm_write(idle, static_cast<uint64_t>(memory), ptr(junk), sizeof(junk)) < 0)
        return kUnexpected;
    uint64_t entry = ptr(reinterpret_cast<void*>(&hostile_blocked_start));
    for (int i = 0; i < kThreads; ++i) {
        uint64_t arg;
        if (i < 8) {
            int64_t port = tern_sys_port_create(64);
            if (port < 0)
                return kUnexpected;
            BlockKind kind = i < 4 ? kBlockReceive : kBlockSend;
            tern_msg m{};
            while (kind == kBlockSend && tern_sys_port_send(port, ptr(&m), 0) == 0) {
            }
            arg = (static_cast<uint64_t>(kind) << 32) | static_cast<uint64_t>(port);
        } else {
            arg = (static_cast<uint64_t>(kBlockTaskWait) << 32) | static_cast<uint64_t>(idle);
        }
        if (tern_sys_thread_create(entry, static_cast<uint64_t>(stacks) + (i + 1) * kStack, arg, 10)
            < 0)
            return kUnexpected;
    }
    while (__atomic_load_n(&g_blocked, __ATOMIC_RELAXED) < kThreads)
        (void)tern_sys_thread_sleep(kMs);
    (void)tern_sys_thread_sleep(10 * kMs);
    return 0;
}

} // namespace

extern "C" int main(uint64_t attack) {
    tern::println("hostile: attack {}", attack);
    switch (attack) {
    case kWildWrite:
        *reinterpret_cast<volatile uint64_t*>(0x00005A5A5A5A5000ull) = 1;
        return kUnexpected;
    case kNullRead: {
        uint64_t v;
        asm volatile("movq 0, %0" : "=r"(v)::"memory");
        g_sink = v;
        return kUnexpected;
    }
    case kWriteText:
        *reinterpret_cast<volatile uint8_t*>(reinterpret_cast<uintptr_t>(&main)) = 0xCC;
        return kUnexpected;
    case kExecStack: {
        uint8_t code[16];
        return exec_bytes(code);
    }
    case kExecHeap: {
        int64_t page = tern_sys_vm_allocate(kPage, TERN_PROT_READ | TERN_PROT_WRITE);
        if (page < 0)
            return kUnexpected + 1;
        return exec_bytes(reinterpret_cast<uint8_t*>(page));
    }
    case kReadKernel:
        g_sink = *reinterpret_cast<volatile uint64_t*>(0xFFFFFFFF80100000ull);
        return kUnexpected;
    case kCli:
        asm volatile("cli");
        return kUnexpected;
    case kHlt:
        asm volatile("hlt");
        return kUnexpected;
    case kPortIn: {
        uint8_t v;
        asm volatile("inb $0x64, %0" : "=a"(v));
        g_sink = v;
        return kUnexpected;
    }
    case kPortOut:
        // Port 0xf4 is QEMU's isa-debug-exit: if this worked, the machine would stop.
        asm volatile("outb %0, $0xf4" ::"a"(static_cast<uint8_t>(0x10)));
        return kUnexpected;
    case kMovCr3: {
        uint64_t cr3;
        asm volatile("mov %%cr3, %0" : "=r"(cr3));
        asm volatile("mov %0, %%cr3" ::"r"(cr3));
        return kUnexpected;
    }
    case kWrmsr:
        // IA32_LSTAR: the syscall entry point.
        asm volatile("wrmsr" ::"c"(0xC0000082u), "a"(0u), "d"(0u));
        return kUnexpected;
    case kLgdt: {
        struct [[gnu::packed]] {
            uint16_t limit;
            uint64_t base;
        } gdtr{0, 0};
        asm volatile("lgdt %0" ::"m"(gdtr));
        return kUnexpected;
    }
    case kInt80:
        asm volatile("int $0x80");
        return kUnexpected;
    case kInt3:
        asm volatile("int3");
        return kUnexpected;
    case kStackOverflow:
        g_sink = recurse(0);
        return kUnexpected;
    case kThreadBomb:
        return thread_bomb();
    case kHandleBomb:
        return handle_bomb();
    case kMemoryBomb:
        return memory_bomb();
    case kBadPointers:
        return bad_pointers();
    case kJumpNonCanonical:
        asm volatile("jmp *%0" ::"r"(0x0000800000000000ull));
        return kUnexpected;
    case kJumpKernel:
        asm volatile("jmp *%0" ::"r"(0xFFFFFFFF80100000ull));
        return kUnexpected;
    case kSyscallFuzz:
        return syscall_fuzz();
    case kUd2:
        asm volatile("ud2");
        return kUnexpected;
    case kDivideError:
        asm volatile("xorl %%ecx, %%ecx; movl $1, %%eax; xorl %%edx, %%edx; divl %%ecx" ::
                         : "rax", "rcx", "rdx");
        return kUnexpected;
    case kTrapFlag:
        // Single-stepping is allowed to user code; the resulting debug exception has no
        // handler, so it ends the task.
        asm volatile("pushfq; orq $0x100, (%%rsp); popfq; nop; nop" ::: "memory", "cc");
        return kUnexpected;
    case kWrgsbase:
        asm volatile("wrgsbase %0" ::"r"(0xFFFF800000000000ull));
        return kUnexpected;
    case kIretToRing0:
        // A hand-made interrupt frame that asks for the kernel's code segment.
        asm volatile("movq %%rsp, %%rax\n"
                     "pushq $0x10\n" // ss: kernel data
                     "pushq %%rax\n"
                     "pushfq\n"
                     "pushq $0x08\n" // cs: kernel code
                     "leaq 1f(%%rip), %%rax\n"
                     "pushq %%rax\n"
                     "iretq\n"
                     "1:\n" ::
                         : "rax", "memory");
        return kUnexpected;
    case kBadRspSyscall:
        // The kernel must not use the user stack pointer for anything: a syscall with a
        // non-canonical RSP returns, and the task can still exit (without a stack).
        asm volatile("movq %%rsp, %%r12\n"
                     "movabsq $0x0000800000000000, %%rsp\n"
                     "xorl %%eax, %%eax\n" // null
                     "syscall\n"
                     "movl $3, %%eax\n" // task_exit
                     "movl %0, %%edi\n"
                     "syscall\n"
                     "movq %%r12, %%rsp\n" ::"i"(kSurvivedBadRsp)
                     : "rax", "rcx", "rdx", "rdi", "rsi", "r8", "r9", "r10", "r11", "r12",
                       "memory");
        return kUnexpected;
    case kNonCanonicalRspPush:
        asm volatile("movq %%rsp, %%r12\n"
                     "movabsq $0x0000800000000010, %%rsp\n"
                     "pushq $0\n"
                     "movq %%r12, %%rsp\n" ::
                         : "r12", "memory");
        return kUnexpected;
    case kSwapgs:
        asm volatile("swapgs");
        return kUnexpected;
    case kPriorityHog:
        return priority_hog();
    case kKernelHeapExhaustion:
        return kernel_heap_exhaustion();
    case kOrphanStoppedTask:
        return orphan_stopped_task();
    case kExitWithBlockedThreads:
        return exit_with_blocked_threads();
    default:
        tern::println("hostile: no attack {}", attack);
        return kUnexpected + 2;
    }
}

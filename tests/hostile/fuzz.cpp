// The syscall fuzzer: random system calls with hostile arguments from an unprivileged
// task. The kernel runs it in fuzz mode (kernel/test/bench.cpp) with the iteration count
// as its start argument; the kernel passes when it survives and the fuzzer exits 0.
//
// Each iteration picks a syscall number (mostly valid ones, some just past the table,
// some huge) and arguments drawn from a mix: zero, small integers, all-ones, powers of
// two, stale and live handles, pointers into the fuzzer's own scratch memory, into a
// read-only region, into unmapped, kernel and non-canonical space, page-aligned and
// misaligned values. Arguments are shaped by what each syscall expects half of the time,
// so calls get past the first check often enough to reach the deeper paths: the fuzzer
// builds plausible messages, creates ports, child tasks and threads (which then run
// garbage and die, or are killed), maps pager regions in children and answers or refuses
// their faults at random.
//
// The fuzzer only steers away from calls that would end itself, because those would
// stop the run without telling anything about the kernel:
//   - thread_exit and task_exit are never chosen;
//   - the kernel gives the task one handle to itself (TERN_HANDLE_SELF); that handle is
//     used like any other, except that task_kill and vm_map_pager on it are skipped (a
//     pager region in the fuzzer's own space would block its only pager thread), its
//     task_vm_write never touches the image, the stack or the read-only region, a
//     thread task_thread_create makes in it starts in a stub and is resumed at once, and
//     it never leaves the table (no duplicate, no task_give_handle of it, no message
//     carries it), so no other task and no unknown handle value can ever act on the
//     fuzzer;
//   - vm_free and vm_protect never touch its image, its stack or its scratch memory;
//   - a thread it starts in its own task begins at one of two stubs that touch no
//     memory, or at an address the kernel must refuse;
//   - pointers the kernel may write through (directly, or as the data pointer of a
//     receive buffer) never reach its image or stack, and messages the kernel reads
//     lie in memory the fuzzer has checked;
//   - console writes from valid memory are cut to one NUL byte, so random bytes do not
//     garble the console the harness reads;
//   - every timeout is TERN_TIMEOUT_NONE or at most 1 ms, so nothing blocks for long.
// Everything else goes to the kernel as generated.
//
// Output: progress every 10%, then `fuzz.calls: N calls`, one `fuzz.result.<ERROR>: N
// calls` line per error seen, `fuzz.ok: N calls`, and `fuzz.ok.<syscall>: N calls` for
// each syscall, which shows how deep the run got. The start argument's low 32 bits are
// the iteration count; bits 32..62, when not zero, replace the fixed PRNG seed (the
// kernel's fuzz_seed option; `./tern fuzz --seed S --calls N`), and bit 63 prints every
// call before it is made (to find the call that hurt the kernel).
//
// The oracle: every result is an error code, or a value of the kind the call returns (a
// handle of the right type that is in the table, a page-aligned user address, 0, a
// length, an id); anything else is printed with the call and makes the exit status 3.
// After the fuzzer and every task it made have died, the kernel checks that no kernel
// object and no page is left (kernel/test/bench.cpp).

#include <base/error.h>
#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/errors.h>
#include <tern/abi/message.h>
#include <tern/abi/rights.h>
#include <tern/abi/syscalls.h>
#include <tern/abi/task.h>
#include <tern/ipc_regs.h>
#include <tern/print.h>
#include <tern/syscall.h>

extern "C" char __user_image_start[];
extern "C" char __user_image_end[];

// Thread entry stubs for threads the fuzzer starts in its own task. They use no stack
// and no memory, so any stack pointer the fuzzer made up is harmless.
extern "C" void fuzz_thread_exit_stub();
extern "C" void fuzz_thread_nap_stub();
__asm__(R"(
    .section .text.fuzz_thread_stubs, "ax", @progbits
    .globl fuzz_thread_exit_stub
    .type fuzz_thread_exit_stub, @function
fuzz_thread_exit_stub:
    movl $2, %eax          /* thread_exit(0) */
    xorl %edi, %edi
    syscall
    ud2
    .size fuzz_thread_exit_stub, . - fuzz_thread_exit_stub
    .globl fuzz_thread_nap_stub
    .type fuzz_thread_nap_stub, @function
fuzz_thread_nap_stub:
    movl $6, %eax          /* thread_sleep(200 us) */
    movl $200000, %edi
    syscall
    movl $4, %eax          /* thread_yield() */
    syscall
    movl $2, %eax          /* thread_exit(0) */
    xorl %edi, %edi
    syscall
    ud2
    .size fuzz_thread_nap_stub, . - fuzz_thread_nap_stub
    .text
)");

namespace {

constexpr uint64_t kPageSize = 4096;
// The kernel's user space, from the ABI's point of view: the first page is never mapped
// and the last usable page ends here.
constexpr uint64_t kUserStart = 0x1000;
constexpr uint64_t kUserEnd = 0x00007FFFFFFFF000ull;
// Where the kernel puts the first thread's stack (kernel/core/loader.h).
constexpr uint64_t kMainStackTop = 0x00007FFFFFFF0000ull;
constexpr uint64_t kMainStackSize = 64 * 1024;

// The scratch region holds the buffers the fuzzer passes; pointers into it stay in its
// first half, so no write the kernel makes through one (at most 1 MiB for task_vm_read,
// a message data part, a capture of 64 messages) runs past its end.
constexpr uint64_t kRegionSize = 2ull << 20;
constexpr uint64_t kPointerSpan = 1ull << 20;
// Larger than any single write the kernel makes through a user pointer.
constexpr uint64_t kMaxWriteExtent = (1ull << 20) + (128ull << 10);

constexpr uint64_t kMaxMessageCapacity = 64;

constexpr int kMaxHandles = 192;
constexpr int kMaxAllocations = 64;
constexpr uint64_t kCleanupEvery = 250;

uint64_t addr(const void* p) { return uint64_t(uintptr_t(p)); }

// ---- Random numbers -----------------------------------------------------------------

// xorshift64*: small, fast and good enough to pick arguments; the same seed gives the
// same sequence of choices.
class Rng {
public:
    explicit Rng(uint64_t seed) : m_state(seed ? seed : 0x9E3779B97F4A7C15ull) {}
    uint64_t next() {
        m_state ^= m_state >> 12;
        m_state ^= m_state << 25;
        m_state ^= m_state >> 27;
        return m_state * 0x2545F4914F6CDD1Dull;
    }
    // Uniform enough in [0, n) for n > 0.
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    bool percent(uint64_t p) { return below(100) < p; }

private:
    uint64_t m_state;
};

// ---- What the fuzzer owns -----------------------------------------------------------

struct Range {
    uint64_t start;
    uint64_t end; // exclusive
};

bool overlaps(uint64_t a_start, uint64_t a_end, const Range& r) {
    return a_start < r.end && r.start < a_end;
}

struct State {
    Rng rng{0};
    bool trace = false;

    // The handle to this task the kernel provides (0 when there is none).
    uint64_t self = 0;

    uint64_t scratch = 0;   // kRegionSize bytes, read-write
    uint64_t read_only = 0; // kRegionSize bytes, read-only after setup

    // Memory the kernel must never write through a fuzzed pointer: the image and the
    // main stack. vm_free and vm_protect additionally keep off the two regions above.
    Range image{};
    Range stack{};

    // Handles the fuzzer holds (as far as it knows) with their object type, TERN_OBJ_ANY
    // when it cannot tell.
    tern_handle_t handles[kMaxHandles] = {};
    uint32_t handle_types[kMaxHandles] = {};
    int handle_count = 0;

    struct Allocation {
        uint64_t start;
        uint64_t size;
        bool own; // in this task (vm_allocate) rather than a child
    };
    Allocation allocations[kMaxAllocations] = {};
    int allocation_count = 0;

    // A fuzzed debug_write put bytes on the console since the fuzzer's last line.
    bool console_dirty = false;

    uint64_t calls = 0;
    uint64_t ok = 0;
    uint64_t errors[base::kErrorCount] = {};
    uint64_t unknown_errors = 0;
    // Results that are no error code and not a value of the kind the call returns.
    uint64_t bad_results = 0;
    // Successful calls per syscall number: the coverage the run reached.
    uint64_t ok_by_syscall[TERN_SYSCALL_COUNT] = {};
};

const char* const kSyscallNames[TERN_SYSCALL_COUNT] = {
#define TERN_X_SYSCALL_NAME(num, name, argc) #name,
    TERN_ENUMERATE_SYSCALLS(TERN_X_SYSCALL_NAME)
#undef TERN_X_SYSCALL_NAME
};

State g;

bool is_self(uint64_t h) { return g.self != 0 && h == g.self; }

bool in_region(uint64_t v, uint64_t base) { return base && v >= base && v < base + kRegionSize; }

// True when a write of up to kMaxWriteExtent bytes starting at v could reach the image
// or the main stack.
bool endangers_self(uint64_t v) {
    uint64_t end = v > ~0ull - kMaxWriteExtent ? ~0ull : v + kMaxWriteExtent;
    return overlaps(v, end, g.image) || overlaps(v, end, g.stack);
}

// True when [v, v + size) touches memory vm_free or vm_protect must leave alone.
bool protected_range(uint64_t v, uint64_t size) {
    uint64_t end = size > ~0ull - v ? ~0ull : v + size;
    if (size == 0)
        end = v + 1;
    Range scratch{g.scratch, g.scratch + kRegionSize};
    Range read_only{g.read_only, g.read_only + kRegionSize};
    return overlaps(v, end, g.image) || overlaps(v, end, g.stack) || overlaps(v, end, scratch)
           || overlaps(v, end, read_only);
}

// Starts the fuzzer's own output on a fresh line, so the bytes a fuzzed debug_write
// printed never prefix a line the harness matches.
void end_console_line() {
    if (g.console_dirty)
        tern::print("\n");
    g.console_dirty = false;
}

void track_handle(int64_t h, uint32_t type) {
    if (h <= 0 || h > 0xFFFFFFFFll || g.handle_count >= kMaxHandles)
        return;
    g.handles[g.handle_count] = tern_handle_t(h);
    g.handle_types[g.handle_count] = type;
    ++g.handle_count;
}

uint32_t tracked_type(uint64_t h) {
    for (int i = 0; i < g.handle_count; ++i)
        if (g.handles[i] == h)
            return g.handle_types[i];
    return TERN_OBJ_ANY;
}

void track_allocation(uint64_t start, uint64_t size, bool own) {
    if (g.allocation_count < kMaxAllocations) {
        g.allocations[g.allocation_count++] = {start, size, own};
        return;
    }
    // Memory of its own the fuzzer cannot keep track of could later be passed as a
    // message it has not checked; give it back instead.
    uint64_t rounded = (size + kPageSize - 1) & ~(kPageSize - 1);
    if (own && !protected_range(start, rounded))
        (void)tern_sys_vm_free(start, rounded);
}

bool in_own_allocation(uint64_t v) {
    for (int i = 0; i < g.allocation_count; ++i) {
        const auto& a = g.allocations[i];
        if (a.own && v >= a.start && v - a.start < a.size)
            return true;
    }
    return false;
}

// ---- Argument generators ------------------------------------------------------------

uint64_t live_handle() {
    if (g.handle_count == 0)
        return 0;
    return g.handles[g.rng.below(uint64_t(g.handle_count))];
}

uint64_t scratch_pointer() {
    uint64_t offset = g.rng.below(kPointerSpan);
    switch (g.rng.below(4)) {
    case 0:
        return g.scratch + (offset & ~(kPageSize - 1)); // page-aligned
    case 1:
        return g.scratch + offset; // any alignment
    default:
        return g.scratch + (offset & ~7ull);
    }
}

uint64_t read_only_pointer() { return g.read_only + (g.rng.below(kPointerSpan) & ~7ull); }

uint64_t unmapped_user_address() {
    switch (g.rng.below(6)) {
    case 0:
        return kUserStart;
    case 1:
        return kUserStart - 1;
    case 2:
        return kUserEnd - kPageSize;
    case 3:
        return kUserEnd;
    case 4:
        return 0x00007FFFFFFFFFFFull;
    default:
        return (g.rng.below(1ull << 35) + 1) << 12;
    }
}

uint64_t kernel_address() {
    switch (g.rng.below(4)) {
    case 0:
        return 0xFFFF800000000000ull + (g.rng.below(1ull << 28) << 3); // direct map
    case 1:
        return 0xFFFFFFFF80000000ull + g.rng.below(1ull << 24); // kernel image
    case 2:
        return ~0ull - g.rng.below(4096);
    default:
        return 0xFFFF800000000000ull;
    }
}

uint64_t non_canonical_address() {
    switch (g.rng.below(3)) {
    case 0:
        return 0x0000800000000000ull;
    case 1:
        return 0x8000000000000000ull;
    default:
        return 0x0000800000000000ull | (g.rng.next() & 0x7FFF7FFFFFFFFFFFull);
    }
}

uint64_t any_value() {
    Rng& r = g.rng;
    switch (r.below(18)) {
    case 0:
        return 0;
    case 1:
        return 1 + r.below(64);
    case 2:
        return r.next();
    case 3:
        return ~0ull;
    case 4:
        return 0xFFFFFFFFull;
    case 5:
        return 1ull << r.below(64);
    case 6:
        return (1ull << r.below(64)) - 1;
    case 7:
        // Shaped like a handle (generation above bit 14, slot below) but most likely
        // stale or never issued.
        return ((1 + r.below(8)) << 14) | r.below(64);
    case 8:
        return live_handle();
    case 9:
        return scratch_pointer();
    case 10:
        return read_only_pointer();
    case 11:
        return unmapped_user_address();
    case 12:
        return kernel_address();
    case 13:
        return non_canonical_address();
    case 14:
        return r.below(1ull << 20) << 12; // page-aligned
    case 15:
        return (r.below(1ull << 20) << 12) + 1 + r.below(kPageSize - 1); // misaligned
    case 16:
        if (g.allocation_count) {
            const auto& a = g.allocations[r.below(uint64_t(g.allocation_count))];
            return a.start + (r.percent(50) ? 0 : r.below(a.size));
        }
        return 0;
    default:
        return uint64_t(-int64_t(1 + r.below(16))); // small negative numbers
    }
}

// A handle of the type the call expects most of the time (if the fuzzer holds one), any
// handle it holds, or any value at all.
uint64_t handle_arg(uint32_t type = TERN_OBJ_ANY) {
    uint64_t p = g.rng.below(100);
    if (type == TERN_OBJ_TASK && g.self && g.rng.percent(20))
        return g.self;
    if (p < 60 && type != TERN_OBJ_ANY && g.handle_count) {
        int start = int(g.rng.below(uint64_t(g.handle_count)));
        for (int k = 0; k < g.handle_count; ++k) {
            int i = (start + k) % g.handle_count;
            if (g.handle_types[i] == type)
                return g.handles[i];
        }
    }
    return p < 80 ? live_handle() : any_value();
}

uint64_t pointer_arg() {
    uint64_t p = g.rng.below(100);
    if (p < 55)
        return scratch_pointer();
    if (p < 65)
        return read_only_pointer();
    return any_value();
}

uint64_t size_arg() {
    Rng& r = g.rng;
    switch (r.below(12)) {
    case 0:
        return 0;
    case 1:
        return 1 + r.below(64);
    case 2:
        return (1 + r.below(16)) * kPageSize;
    case 3:
        return (1 + r.below(256)) * kPageSize;
    case 4:
        return kPageSize + 1;
    case 5:
        return 1ull << 20;
    case 6:
        return (1ull << 20) + 1;
    case 7:
        return 65536 + r.below(2);
    case 8:
        return r.below(4097);
    case 9:
        return 1ull << r.below(64);
    default:
        return any_value();
    }
}

uint64_t timeout_arg() {
    // TERN_TIMEOUT_NONE or up to 1 ms: never long, never forever.
    return g.rng.percent(50) ? TERN_TIMEOUT_NONE : 1 + g.rng.below(1000000);
}

uint64_t prot_arg() { return g.rng.percent(85) ? g.rng.below(8) : any_value(); }

uint64_t rights_arg() {
    uint64_t p = g.rng.below(100);
    if (p < 20)
        return TERN_RIGHTS_SAME;
    if (p < 80)
        return g.rng.next() & TERN_RIGHTS_ALL;
    return any_value();
}

// A user address for a child task's memory: a region it has, a page somewhere, or junk.
uint64_t address_arg() {
    uint64_t p = g.rng.below(100);
    if (p < 35 && g.allocation_count) {
        const auto& a = g.allocations[g.rng.below(uint64_t(g.allocation_count))];
        return a.start + (g.rng.percent(60) ? 0 : g.rng.below(a.size));
    }
    if (p < 70)
        return (g.rng.below((kUserEnd >> 12) - 1) + 1) << 12;
    return any_value();
}

// An address and size in this task's own memory for vm_free and vm_protect: one of its
// allocations (whole or part), or any address.
void own_range_args(uint64_t& address, uint64_t& size) {
    for (int k = 0; k < g.allocation_count && g.rng.percent(70); ++k) {
        const auto& a = g.allocations[g.rng.below(uint64_t(g.allocation_count))];
        if (!a.own)
            continue;
        uint64_t pages = (a.size + kPageSize - 1) / kPageSize;
        uint64_t first = g.rng.percent(50) ? 0 : g.rng.below(pages);
        address = a.start + first * kPageSize;
        size = g.rng.percent(50) ? (pages - first) * kPageSize : size_arg();
        return;
    }
    address = address_arg();
    size = size_arg();
}

// Register state for thread_set_regs, written to scratch: plausible (user RIP and RSP)
// most of the time, so the call gets past its checks and the thread runs somewhere odd.
uint64_t regs_arg() {
    if (g.rng.percent(30))
        return pointer_arg();
    uint64_t at = g.scratch + (g.rng.below(kPointerSpan - sizeof(tern_regs)) & ~7ull);
    auto* r = reinterpret_cast<tern_regs*>(uintptr_t(at));
    uint64_t* words = &r->rax;
    for (int i = 0; i < 16; ++i)
        words[i] = any_value();
    r->rip = g.rng.percent(80) ? address_arg() : any_value();
    r->rsp = g.rng.percent(80) ? address_arg() : any_value();
    r->rflags = g.rng.percent(50) ? 0x202 : g.rng.next();
    r->fs_base = g.rng.percent(70) ? 0 : any_value();
    r->reserved = 0;
    return at;
}

uint64_t small_count_arg() {
    return g.rng.percent(80) ? g.rng.below(kMaxMessageCapacity + 2) : any_value();
}

// A data pointer the kernel may write a message's data part through.
uint64_t safe_data_pointer(uint64_t v) { return endangers_self(v) ? scratch_pointer() : v; }

// Writes a plausible message at a scratch address and returns that address: mostly
// well-formed (so sends get through), sometimes with one field bent out of shape.
uint64_t message_arg() {
    if (g.rng.percent(25))
        return pointer_arg();
    Rng& r = g.rng;
    uint64_t at = g.scratch + (r.below(kPointerSpan - sizeof(tern_msg)) & ~7ull);
    auto* m = reinterpret_cast<tern_msg*>(uintptr_t(at));
    *m = tern_msg{};
    m->hdr.label = uint32_t(r.next());
    m->hdr.data_size = r.percent(60) ? 0 : uint32_t(r.percent(80) ? r.below(4097) : size_arg());
    m->data = r.percent(80) ? scratch_pointer() : any_value();
    m->data_capacity = r.percent(70) ? 4096 : uint32_t(r.percent(50) ? 65536 : r.next());
    if (r.percent(35)) {
        m->hdr.handle_count = uint32_t(1 + r.below(3));
        if (r.percent(5))
            m->hdr.handle_count = uint32_t(r.percent(50) ? TERN_MSG_MAX_HANDLES + 1 : r.next());
        for (uint32_t i = 0; i < TERN_MSG_MAX_HANDLES; ++i)
            m->handles[i] = tern_handle_t(handle_arg());
    }
    if (r.percent(5))
        m->hdr.flags = uint32_t(r.next());
    if (r.percent(5))
        m->reserved = uint32_t(r.next());
    if (r.percent(20))
        m->reply_handle = tern_handle_t(handle_arg());
    for (auto& w : m->words)
        w = r.percent(50) ? any_value() : 0;
    return at;
}

// An array of up to `count` messages for port_restore or port_capture.
uint64_t message_array_arg(uint64_t count) {
    if (g.rng.percent(20))
        return pointer_arg();
    uint64_t n = base::min<uint64_t>(count, kMaxMessageCapacity);
    uint64_t at = g.scratch + (g.rng.below(kPointerSpan - (n + 1) * sizeof(tern_msg)) & ~7ull);
    for (uint64_t i = 0; i < n; ++i) {
        uint64_t one = message_arg();
        if (one >= g.scratch && one < g.scratch + kPointerSpan)
            __builtin_memmove(reinterpret_cast<void*>(uintptr_t(at + i * sizeof(tern_msg))),
                              reinterpret_cast<const void*>(uintptr_t(one)), sizeof(tern_msg));
    }
    return at;
}

// Makes the messages at `at` safe: every data pointer safe to write through, and no
// self handle among the handles to move. Messages outside the scratch region are left
// alone: read-only memory was filled with safe values, own allocations are never passed
// as messages (see make_survivable), and anything else is not readable memory.
void sanitize_messages(uint64_t at, uint64_t count) {
    uint64_t n = base::min<uint64_t>(count, kMaxMessageCapacity);
    for (uint64_t i = 0; i < n; ++i) {
        uint64_t m = at + i * sizeof(tern_msg);
        if (m < at || !in_region(m, g.scratch) || !in_region(m + sizeof(tern_msg) - 1, g.scratch))
            continue;
        auto* msg = reinterpret_cast<tern_msg*>(uintptr_t(m));
        msg->data = safe_data_pointer(msg->data);
        // The self handle never travels: a message is the one way it could end up under
        // a value the fuzzer does not know, or in another task.
        for (auto& h : msg->handles)
            if (is_self(h))
                h = TERN_INVALID_HANDLE;
        if (is_self(msg->reply_handle))
            msg->reply_handle = TERN_INVALID_HANDLE;
    }
}

// Records the handles a successful receive, call or capture put into messages at `at`.
void harvest_handles(uint64_t at, uint64_t count) {
    uint64_t n = base::min<uint64_t>(count, kMaxMessageCapacity);
    for (uint64_t i = 0; i < n; ++i) {
        uint64_t m = at + i * sizeof(tern_msg);
        if (!in_region(m, g.scratch) || !in_region(m + sizeof(tern_msg) - 1, g.scratch))
            continue;
        const auto* msg = reinterpret_cast<const tern_msg*>(uintptr_t(m));
        uint32_t hc = base::min<uint32_t>(msg->hdr.handle_count, TERN_MSG_MAX_HANDLES);
        // The kernel's own messages say what they carry; a page fault also names the
        // page a later vm_supply or vm_refuse should aim at.
        uint32_t first_type = TERN_OBJ_ANY;
        if (msg->hdr.label == TERN_LABEL_PAGE_FAULT) {
            first_type = TERN_OBJ_TASK;
            track_allocation(msg->words[0] & ~(kPageSize - 1), kPageSize, false);
        } else if (msg->hdr.label == TERN_LABEL_EXCEPTION) {
            first_type = TERN_OBJ_THREAD;
        }
        for (uint32_t j = 0; j < hc; ++j)
            track_handle(msg->handles[j], j == 0 ? first_type : TERN_OBJ_ANY);
        track_handle(msg->reply_handle, TERN_OBJ_REPLY);
    }
}

// ---- One fuzzed call ----------------------------------------------------------------

struct Call {
    uint64_t number;
    uint64_t a[6];
};

uint64_t pick_number() {
    uint64_t p = g.rng.below(100);
    uint64_t n;
    if (p < 88) {
        do {
            n = g.rng.below(TERN_SYSCALL_COUNT);
        } while (n == TERN_SYS_thread_exit || n == TERN_SYS_task_exit);
        return n;
    }
    if (p < 95)
        return TERN_SYSCALL_COUNT + g.rng.below(64);
    switch (g.rng.below(5)) {
    case 0:
        return ~0ull;
    case 1:
        return 1ull << 63;
    case 2:
        // Valid numbers in the low 32 bits: a kernel that truncated the number would
        // run them (and 0x1'0000'0002 would end the fuzzer with thread_exit).
        return (1ull << 32) | g.rng.below(TERN_SYSCALL_COUNT);
    case 3:
        return uint64_t(-int64_t(1 + g.rng.below(64)));
    default:
        return g.rng.next();
    }
}

// Fills the arguments the syscall expects with values of the right kind half of the time
// and with anything at all otherwise; unused argument registers get junk too.
void make_arguments(Call& c) {
    for (auto& v : c.a)
        v = any_value();
    if (g.rng.percent(15))
        return; // entirely untyped
    uint64_t* a = c.a;
    switch (c.number) {
    case TERN_SYS_debug_write:
        a[0] = pointer_arg(), a[1] = size_arg();
        break;
    case TERN_SYS_thread_sleep:
        break; // the timeout is set below for every call that has one
    case TERN_SYS_vm_allocate:
        a[0] = size_arg(), a[1] = prot_arg();
        break;
    case TERN_SYS_vm_free:
        own_range_args(a[0], a[1]);
        break;
    case TERN_SYS_vm_protect:
        own_range_args(a[0], a[1]);
        a[2] = prot_arg();
        break;
    case TERN_SYS_thread_create:
        a[1] = g.rng.percent(50) ? scratch_pointer() & ~15ull : address_arg();
        a[3] = g.rng.percent(80) ? g.rng.below(34) : any_value();
        break;
    case TERN_SYS_thread_spawn:
        a[1] = g.rng.percent(50) ? scratch_pointer() & ~15ull : address_arg();
        a[3] = g.rng.percent(50) ? 0 : address_arg();
        a[4] = g.rng.percent(50) ? scratch_pointer() & ~3ull : pointer_arg();
        break;
    case TERN_SYS_thread_set_clear_tid:
        a[0] = g.rng.percent(50) ? scratch_pointer() & ~3ull : pointer_arg();
        break;
    case TERN_SYS_futex_wait:
    case TERN_SYS_futex_wake:
    case TERN_SYS_futex_requeue:
        a[0] = g.rng.percent(60) ? scratch_pointer() & ~3ull : pointer_arg();
        a[1] = g.rng.percent(50) ? g.rng.below(4) : any_value();
        a[2] = g.rng.percent(60) ? scratch_pointer() & ~3ull : pointer_arg();
        a[3] = g.rng.percent(80) ? g.rng.below(4) : any_value();
        a[4] = g.rng.below(4);
        a[5] = g.rng.percent(80) ? g.rng.below(4) : any_value();
        if (c.number == TERN_SYS_futex_wake)
            a[2] = g.rng.percent(80) ? g.rng.below(4) : any_value();
        break;
    case TERN_SYS_handle_close:
        a[0] = handle_arg();
        break;
    case TERN_SYS_handle_duplicate:
        a[0] = handle_arg(), a[1] = rights_arg();
        break;
    case TERN_SYS_port_create:
        a[0] = small_count_arg();
        break;
    case TERN_SYS_port_send:
    case TERN_SYS_port_receive:
    case TERN_SYS_port_call:
        a[0] = handle_arg(TERN_OBJ_PORT), a[1] = message_arg();
        break;
    case TERN_SYS_port_reply:
        a[0] = handle_arg(TERN_OBJ_REPLY), a[1] = message_arg();
        break;
    case TERN_SYS_port_call_async:
        a[0] = handle_arg(TERN_OBJ_PORT), a[1] = message_arg(), a[2] = handle_arg(TERN_OBJ_PORT);
        break;
    case TERN_SYS_port_reply_receive:
        a[0] = handle_arg(TERN_OBJ_REPLY), a[1] = message_arg();
        a[2] = handle_arg(TERN_OBJ_PORT), a[3] = message_arg();
        break;
    case TERN_SYS_port_call_regs:
    case TERN_SYS_port_reply_receive_regs:
        a[0] = handle_arg(TERN_OBJ_PORT), a[1] = g.rng.percent(80) ? g.rng.below(64) : any_value();
        break;
    case TERN_SYS_task_create:
        a[0] = pointer_arg(), a[1] = g.rng.percent(80) ? g.rng.below(34) : size_arg();
        break;
    case TERN_SYS_task_vm_allocate:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = g.rng.percent(40) ? 0 : address_arg(),
        a[2] = size_arg(), a[3] = prot_arg();
        break;
    case TERN_SYS_task_vm_write:
    case TERN_SYS_task_vm_read:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = address_arg(), a[2] = pointer_arg(),
        a[3] = size_arg();
        break;
    case TERN_SYS_task_thread_create:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = address_arg(), a[2] = address_arg() & ~15ull;
        break;
    case TERN_SYS_thread_stop:
    case TERN_SYS_thread_resume:
        a[0] = handle_arg(TERN_OBJ_THREAD);
        break;
    case TERN_SYS_thread_set_regs:
        a[0] = handle_arg(TERN_OBJ_THREAD), a[1] = regs_arg();
        break;
    case TERN_SYS_thread_get_regs:
    case TERN_SYS_thread_get_fpu:
    case TERN_SYS_thread_set_fpu:
        a[0] = handle_arg(TERN_OBJ_THREAD), a[1] = pointer_arg();
        break;
    case TERN_SYS_task_kill:
    case TERN_SYS_task_wait:
        a[0] = handle_arg(TERN_OBJ_TASK);
        break;
    case TERN_SYS_task_mappings:
    case TERN_SYS_task_handles:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = pointer_arg(), a[2] = small_count_arg();
        break;
    case TERN_SYS_task_set_exception_port:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = g.rng.percent(20) ? 0 : handle_arg(TERN_OBJ_PORT);
        break;
    case TERN_SYS_vm_map_pager:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = g.rng.percent(50) ? 0 : address_arg(),
        a[2] = size_arg(), a[3] = prot_arg(), a[4] = handle_arg(TERN_OBJ_PORT);
        break;
    case TERN_SYS_vm_supply:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = address_arg(), a[2] = pointer_arg();
        break;
    case TERN_SYS_vm_refuse:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = address_arg();
        break;
    case TERN_SYS_port_capture:
        a[0] = handle_arg(TERN_OBJ_PORT), a[2] = small_count_arg(), a[1] = message_array_arg(a[2]);
        break;
    case TERN_SYS_port_restore:
        a[0] = handle_arg(TERN_OBJ_PORT),
        a[2] = g.rng.percent(80) ? g.rng.below(5) : small_count_arg(),
        a[1] = message_array_arg(a[2]);
        break;
    case TERN_SYS_task_give_handle:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = handle_arg(), a[2] = rights_arg();
        break;
    case TERN_SYS_port_signal:
        a[0] = handle_arg(TERN_OBJ_PORT), a[1] = g.rng.percent(20) ? 0 : g.rng.next();
        break;
    case TERN_SYS_memory_create:
        a[0] = size_arg(), a[1] = g.rng.percent(70) ? 0 : g.rng.percent(70) ? 1 : any_value();
        break;
    case TERN_SYS_vm_map_memory:
        a[0] = handle_arg(TERN_OBJ_TASK), a[1] = handle_arg(TERN_OBJ_MEMORY),
        a[2] = g.rng.percent(50) ? 0 : address_arg(), a[3] = g.rng.percent(50) ? 0 : size_arg(),
        a[4] = size_arg(), a[5] = prot_arg();
        break;
    case TERN_SYS_memory_physical:
        a[0] = handle_arg(TERN_OBJ_MEMORY), a[1] = size_arg();
        break;
    case TERN_SYS_irq_create:
        a[0] = handle_arg(TERN_OBJ_RESOURCE),
        a[1] = g.rng.percent(80) ? g.rng.below(70) : any_value(),
        a[2] = g.rng.percent(80) ? g.rng.below(8) : any_value();
        break;
    case TERN_SYS_irq_create_msi:
        a[0] = handle_arg(TERN_OBJ_RESOURCE);
        break;
    case TERN_SYS_resource_split:
        a[0] = handle_arg(TERN_OBJ_RESOURCE), a[1] = g.rng.below(0x10000), a[2] = size_arg();
        break;
    case TERN_SYS_boot_option:
        a[0] = handle_arg(TERN_OBJ_RESOURCE), a[2] = g.rng.below(40), a[4] = size_arg();
        break;
    case TERN_SYS_irq_bind:
        a[0] = handle_arg(TERN_OBJ_IRQ), a[1] = g.rng.percent(20) ? 0 : handle_arg(TERN_OBJ_PORT);
        break;
    case TERN_SYS_irq_ack:
        a[0] = handle_arg(TERN_OBJ_IRQ);
        break;
    case TERN_SYS_ioport_enable:
        a[0] = handle_arg(TERN_OBJ_RESOURCE), a[1] = g.rng.below(0x10000), a[2] = size_arg();
        break;
    case TERN_SYS_port_set_add:
        a[0] = handle_arg(TERN_OBJ_PORT), a[1] = handle_arg(TERN_OBJ_PORT),
        a[2] = g.rng.percent(80) ? g.rng.below(40) : any_value();
        break;
    case TERN_SYS_port_set_remove:
        a[0] = handle_arg(TERN_OBJ_PORT), a[1] = handle_arg(TERN_OBJ_PORT);
        break;
    case TERN_SYS_memory_create_physical:
        a[0] = handle_arg(TERN_OBJ_RESOURCE), a[1] = address_arg(), a[2] = size_arg();
        break;
    default:
        break;
    }
}

// The index of the argument the kernel writes through for this syscall, or -1.
int written_argument(uint64_t number) {
    switch (number) {
    case TERN_SYS_port_receive:
    case TERN_SYS_port_call:
    case TERN_SYS_thread_get_regs:
    case TERN_SYS_thread_get_fpu:
    case TERN_SYS_task_mappings:
    case TERN_SYS_task_handles:
    case TERN_SYS_port_capture:
    case TERN_SYS_irq_create_msi:
        return 1;
    case TERN_SYS_task_vm_read:
        return 2;
    case TERN_SYS_firmware_info:
        return 0;
    case TERN_SYS_boot_option:
        return 3;
    case TERN_SYS_thread_spawn:
        return 4; // the clear-tid word, written when the thread ends
    case TERN_SYS_thread_set_clear_tid:
        return 0;
    default:
        return -1;
    }
}

// Bends the arguments just enough that the call cannot end the fuzzer (see the file
// comment); returns false when the call must be skipped entirely.
bool make_survivable(Call& c) {
    uint64_t* a = c.a;
    // A pointer the kernel writes through must keep clear of the image and the main
    // stack. Only those arguments are bent, so handles and sizes that merely look like
    // such addresses still reach the kernel.
    if (int i = written_argument(c.number); i >= 0 && endangers_self(a[i]))
        a[i] = scratch_pointer();
    switch (c.number) {
    case TERN_SYS_debug_write:
        // Readable bytes would reach the console; point them at a single NUL instead,
        // keeping the copy path but not the noise. Invalid pointers go through as they are.
        if (a[1] <= 4096
            && (in_region(a[0], g.scratch) || in_region(a[0], g.read_only)
                || in_own_allocation(a[0]))) {
            static const char kNul[1] = {0};
            a[0] = addr(kNul);
            a[1] = a[1] ? 1 : 0;
        }
        break;
    case TERN_SYS_thread_sleep:
        a[0] = timeout_arg();
        break;
    case TERN_SYS_futex_wait:
        a[2] = timeout_arg(); // a wait nobody ends: bounded like every other
        break;
    case TERN_SYS_thread_spawn:
        // As thread_create: a thread of this task starts in a stub or not at all.
        if (a[0] >= kUserStart && a[0] < kUserEnd)
            a[0] = g.rng.percent(50) ? addr(reinterpret_cast<const void*>(&fuzz_thread_exit_stub))
                                     : addr(reinterpret_cast<const void*>(&fuzz_thread_nap_stub));
        break;
    case TERN_SYS_vm_free:
    case TERN_SYS_vm_protect:
        if (protected_range(a[0], a[1]))
            return false;
        break;
    case TERN_SYS_thread_create:
        // A thread in this task that starts in random memory would fault and take the
        // fuzzer with it; start it in a stub, unless the entry is one the kernel must
        // refuse (outside user space).
        if (a[0] >= kUserStart && a[0] < kUserEnd)
            a[0] = g.rng.percent(50) ? addr(reinterpret_cast<const void*>(&fuzz_thread_exit_stub))
                                     : addr(reinterpret_cast<const void*>(&fuzz_thread_nap_stub));
        break;
    case TERN_SYS_port_send:
    case TERN_SYS_port_receive:
    case TERN_SYS_port_call:
        if (in_own_allocation(a[1]))
            a[1] = message_arg();
        sanitize_messages(a[1], 1);
        a[2] = timeout_arg();
        break;
    case TERN_SYS_port_reply:
    case TERN_SYS_port_call_async:
        if (in_own_allocation(a[1]))
            a[1] = message_arg();
        sanitize_messages(a[1], 1);
        break;
    case TERN_SYS_port_call_regs:
    case TERN_SYS_port_reply_receive_regs:
        a[2] = timeout_arg();
        break;
    case TERN_SYS_port_reply_receive:
        // Both halves' messages, and a bounded wait for the receive half.
        for (int i = 1; i <= 3; i += 2) {
            if (in_own_allocation(a[i]))
                a[i] = message_arg();
            sanitize_messages(a[i], 1);
        }
        a[4] = timeout_arg();
        break;
    case TERN_SYS_port_capture:
    case TERN_SYS_port_restore:
        if (in_own_allocation(a[1]))
            a[1] = message_array_arg(a[2]);
        sanitize_messages(a[1], a[2]);
        break;
    case TERN_SYS_handle_duplicate:
        if (is_self(a[0]))
            return false;
        break;
    case TERN_SYS_task_give_handle:
        if (is_self(a[1]))
            return false;
        break;
    case TERN_SYS_task_kill:
    case TERN_SYS_vm_map_pager:
        if (is_self(a[0]))
            return false;
        break;
    case TERN_SYS_task_thread_create:
        // Like thread_create: a thread of this task starts in a stub or not at all.
        if (is_self(a[0]) && a[1] >= kUserStart && a[1] < kUserEnd)
            a[1] = addr(reinterpret_cast<const void*>(&fuzz_thread_exit_stub));
        break;
    case TERN_SYS_task_vm_write:
        if (is_self(a[0])) {
            uint64_t len = base::min<uint64_t>(a[3], 1ull << 20);
            Range read_only{g.read_only, g.read_only + kRegionSize};
            uint64_t end = a[1] > ~0ull - len ? ~0ull : a[1] + len;
            if (len == 0)
                end = a[1] + 1;
            if (overlaps(a[1], end, g.image) || overlaps(a[1], end, g.stack)
                || overlaps(a[1], end, read_only))
                return false;
        }
        break;
    case TERN_SYS_thread_stop:
    case TERN_SYS_task_wait:
        a[1] = timeout_arg();
        break;
    default:
        break;
    }
    return true;
}

int64_t raw_syscall(const Call& c) {
    if (c.number == TERN_SYS_port_call_regs || c.number == TERN_SYS_port_reply_receive_regs) {
        // Their answers come back in registers the compiler keeps its own values in, and
        // RBP names an overflow buffer: through the runtime's wrapper, without one.
        tern_reg_msg m{};
        m.label = c.a[1];
        for (int i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
            m.words[i] = c.a[(3 + i) % 6];
        return tern_ipc_regs(c.number, c.a[0], c.a[2], &m, nullptr);
    }
    return tern_syscall_6(c.number, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4], c.a[5]);
}

// Learns from a call's result: new handles and mappings join the pools the generators
// draw from.
void observe(const Call& c, int64_t result) {
    if (result < 0)
        return;
    switch (c.number) {
    case TERN_SYS_debug_write:
        g.console_dirty = g.console_dirty || result > 0;
        break;
    case TERN_SYS_thread_create:
        track_handle(result, TERN_OBJ_THREAD);
        break;
    case TERN_SYS_task_thread_create:
        // A stopped thread of this task would only wait for someone to point it at
        // random memory: start it in its stub now.
        if (is_self(c.a[0]))
            (void)tern_sys_thread_resume(uint64_t(result));
        track_handle(result, TERN_OBJ_THREAD);
        break;
    case TERN_SYS_task_give_handle:
        // Given to this task: a new handle to the same object in its own table.
        if (is_self(c.a[0]))
            track_handle(result, tracked_type(c.a[1]));
        break;
    case TERN_SYS_memory_create:
        track_handle(result, TERN_OBJ_MEMORY);
        break;
    case TERN_SYS_vm_map_memory:
        track_allocation(uint64_t(result), c.a[4], is_self(c.a[0]));
        break;
    case TERN_SYS_handle_duplicate:
        track_handle(result, tracked_type(c.a[0]));
        break;
    case TERN_SYS_port_create:
        track_handle(result, TERN_OBJ_PORT);
        break;
    case TERN_SYS_task_create:
        track_handle(result, TERN_OBJ_TASK);
        break;
    case TERN_SYS_vm_allocate:
        track_allocation(uint64_t(result), c.a[0], true);
        break;
    case TERN_SYS_task_vm_allocate:
        track_allocation(uint64_t(result), c.a[2], is_self(c.a[0]));
        break;
    case TERN_SYS_vm_map_pager:
        track_allocation(uint64_t(result), c.a[2], false);
        break;
    case TERN_SYS_handle_close:
        if (is_self(c.a[0]))
            g.self = 0;
        break;
    case TERN_SYS_port_receive:
    case TERN_SYS_port_call:
        harvest_handles(c.a[1], 1);
        break;
    case TERN_SYS_port_capture:
        harvest_handles(c.a[1], uint64_t(result));
        break;
    default:
        break;
    }
}

void trace(const Call& c);

// The type of handle h in this task's table (TERN_OBJ_ANY when it cannot be listed: the
// fuzzer has closed its handle to itself), or TERN_OBJ_TYPE_COUNT when h is not in it.
tern_handle_info g_handle_infos[1200];
uint32_t handle_type_in_table(uint64_t h) {
    if (!g.self)
        return TERN_OBJ_ANY;
    int64_t n =
        tern_sys_task_handles(g.self, addr(g_handle_infos), base::array_size(g_handle_infos));
    if (n < 0 || uint64_t(n) > base::array_size(g_handle_infos))
        return TERN_OBJ_ANY;
    for (int64_t i = 0; i < n; ++i)
        if (g_handle_infos[i].handle == h)
            return g_handle_infos[i].type;
    return TERN_OBJ_TYPE_COUNT;
}

// A new handle in this task: a valid handle value, in the table, of the expected type
// (TERN_OBJ_ANY: any type). Returns what is wrong, or nullptr.
const char* check_new_handle(int64_t result, uint32_t expected) {
    if (result <= 0 || result > 0xFFFFFFFFll)
        return "not a handle value";
    uint32_t type = handle_type_in_table(uint64_t(result));
    if (type == TERN_OBJ_TYPE_COUNT)
        return "a handle that is not in the table";
    if (expected != TERN_OBJ_ANY && type != TERN_OBJ_ANY && type != expected)
        return "a handle of the wrong type";
    return nullptr;
}

const char* check_address(int64_t result, uint64_t size) {
    uint64_t a = uint64_t(result);
    if (a % kPageSize != 0 || a < kUserStart || a >= kUserEnd || size > kUserEnd - a)
        return "not a page-aligned user address with room for the size";
    return nullptr;
}

// The oracle for a call that did not fail: its result must be a value of the kind the
// call documents (<tern/abi/syscalls.h>). Returns what is wrong, or nullptr.
const char* check_success(const Call& c, int64_t result) {
    switch (c.number) {
    case TERN_SYS_null:
    case TERN_SYS_thread_yield:
    case TERN_SYS_thread_sleep:
    case TERN_SYS_handle_close:
    case TERN_SYS_vm_free:
    case TERN_SYS_vm_protect:
    case TERN_SYS_thread_resume:
    case TERN_SYS_port_signal:
    case TERN_SYS_port_set_add:
    case TERN_SYS_port_set_remove:
    case TERN_SYS_thread_set_fs_base:
    case TERN_SYS_port_call_async:
    case TERN_SYS_futex_wait:
    case TERN_SYS_thread_set_clear_tid:
        return result == 0 ? nullptr : "not 0";
    case TERN_SYS_futex_wake:
        return uint64_t(result) <= uint32_t(c.a[1]) ? nullptr : "woke more than asked for";
    case TERN_SYS_futex_requeue:
        return uint64_t(result) <= uint64_t(uint32_t(c.a[1])) + uint32_t(c.a[3])
                   ? nullptr
                   : "woke and moved more than asked for";
    case TERN_SYS_thread_spawn:
        return result > 0 ? nullptr : "not a positive id";
    case TERN_SYS_debug_write:
        return uint64_t(result) == c.a[1] ? nullptr : "not the length written";
    case TERN_SYS_clock_monotonic:
    case TERN_SYS_task_id:
    case TERN_SYS_thread_id:
    case TERN_SYS_task_id_of:
        return result > 0 ? nullptr : "not a positive id or time";
    case TERN_SYS_node_id:
        return result >= 1 && result <= 65535 ? nullptr : "not a node id";
    case TERN_SYS_thread_create:
    case TERN_SYS_task_thread_create:
        return check_new_handle(result, TERN_OBJ_THREAD);
    case TERN_SYS_port_create:
        return check_new_handle(result, TERN_OBJ_PORT);
    case TERN_SYS_task_create:
        return check_new_handle(result, TERN_OBJ_TASK);
    case TERN_SYS_memory_create:
    case TERN_SYS_memory_create_physical:
        return check_new_handle(result, TERN_OBJ_MEMORY);
    case TERN_SYS_handle_duplicate: {
        uint32_t source = handle_type_in_table(c.a[0]);
        return check_new_handle(result, source == TERN_OBJ_TYPE_COUNT ? TERN_OBJ_ANY : source);
    }
    case TERN_SYS_task_give_handle:
        if (is_self(c.a[0]))
            return check_new_handle(result, tracked_type(c.a[1]));
        return result > 0 && result <= 0xFFFFFFFFll ? nullptr : "not a handle value";
    case TERN_SYS_vm_allocate:
        return check_address(result, c.a[0]);
    case TERN_SYS_task_vm_allocate:
    case TERN_SYS_vm_map_pager:
        return check_address(result, c.a[2]);
    case TERN_SYS_vm_map_memory:
        return check_address(result, c.a[4]);
    case TERN_SYS_port_capture:
        return uint64_t(result) <= c.a[2] ? nullptr : "more messages than asked for";
    default:
        return nullptr;
    }
}

void count(const Call& c, int64_t result) {
    ++g.calls;
    if (result >= 0) {
        ++g.ok;
        if (c.number < TERN_SYSCALL_COUNT)
            ++g.ok_by_syscall[c.number];
        if (const char* wrong = check_success(c, result)) {
            ++g.bad_results;
            end_console_line();
            trace(c);
            tern::println("fuzz: the call above returned {} ({:#x}): {}", result, uint64_t(result),
                          wrong);
        }
        return;
    }
    int64_t code = -result;
    if (base::is_known_error(code))
        ++g.errors[code];
    else {
        // No syscall documents a negative result that is not an error code.
        ++g.unknown_errors;
        end_console_line();
        trace(c);
        tern::println("fuzz: the call above returned {}, which is no error code", result);
    }
}

// ---- Setup and cleanup --------------------------------------------------------------

// Fills a region with values the generators would produce, so that structures the
// kernel reads from it (messages in particular) hold nothing dangerous.
void fill_region(uint64_t base) {
    auto* words = reinterpret_cast<uint64_t*>(uintptr_t(base));
    for (uint64_t i = 0; i < kRegionSize / 8; ++i) {
        uint64_t v = g.rng.percent(50) ? g.rng.next() : 0;
        if (endangers_self(v) || is_self(v & 0xFFFFFFFFull) || is_self(v >> 32))
            v = 0;
        words[i] = v;
    }
}

// A few objects to aim at, so calls that need a port, a task or a thread find one:
// two ports, and a child task with some memory, a pager region served by one of the
// ports and a stopped thread.
void make_targets() {
    for (int i = 0; i < 2; ++i)
        track_handle(tern_sys_port_create(1 + g.rng.below(kMaxMessageCapacity)), TERN_OBJ_PORT);
    static const char kName[] = "fuzz-child";
    int64_t task = tern_sys_task_create(addr(kName), sizeof(kName) - 1);
    if (task < 0)
        return;
    track_handle(task, TERN_OBJ_TASK);
    int64_t mem = tern_sys_task_vm_allocate(uint64_t(task), 0, 16 * kPageSize,
                                            TERN_PROT_READ | TERN_PROT_WRITE);
    if (mem > 0)
        track_allocation(uint64_t(mem), 16 * kPageSize, false);
    if (g.handle_count > 0) {
        int64_t pager = tern_sys_vm_map_pager(uint64_t(task), 0, 16 * kPageSize,
                                              TERN_PROT_READ | TERN_PROT_EXEC, g.handles[0]);
        if (pager > 0)
            track_allocation(uint64_t(pager), 16 * kPageSize, false);
    }
    if (mem > 0)
        track_handle(tern_sys_task_thread_create(uint64_t(task), uint64_t(mem),
                                                 uint64_t(mem) + 16 * kPageSize, 0),
                     TERN_OBJ_THREAD);
}

// Kills the children, closes every handle and unmaps what the fuzzer mapped, so the
// run keeps exercising the kernel rather than its quotas.
void cleanup() {
    for (int i = 0; i < g.handle_count; ++i)
        (void)tern_sys_task_kill(g.handles[i], 0); // only tasks accept it; others refuse
    for (int i = 0; i < g.handle_count; ++i)
        (void)tern_sys_handle_close(g.handles[i]);
    g.handle_count = 0;
    for (int i = 0; i < g.allocation_count; ++i) {
        const auto& a = g.allocations[i];
        uint64_t size = (a.size + kPageSize - 1) & ~(kPageSize - 1);
        if (a.own && !protected_range(a.start, size))
            (void)tern_sys_vm_free(a.start, size);
    }
    g.allocation_count = 0;
    make_targets();
}

void trace(const Call& c) {
    end_console_line();
    tern::println("fuzz: call {:#x}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})", c.number, c.a[0],
                  c.a[1], c.a[2], c.a[3], c.a[4], c.a[5]);
}

bool setup(uint64_t seed) {
    g.rng = Rng(seed);
    // The kernel names the handle to this task in the ABI; check that it is one.
    tern_handle_info info[8];
    int64_t held = tern_sys_task_handles(TERN_HANDLE_SELF, addr(info), 8);
    if (held > 0) {
        for (int64_t i = 0; i < held && i < 8; ++i)
            if (info[i].handle == TERN_HANDLE_SELF && info[i].type == TERN_OBJ_TASK)
                g.self = TERN_HANDLE_SELF;
    }
    tern::println("fuzz: {} handle(s) at start, self handle {}", held < 0 ? 0 : held,
                  g.self ? "present" : "absent");
    g.image = {addr(__user_image_start), addr(__user_image_end)};
    g.stack = {kMainStackTop - kMainStackSize, kMainStackTop};
    int64_t scratch = tern_sys_vm_allocate(kRegionSize, TERN_PROT_READ | TERN_PROT_WRITE);
    int64_t read_only = tern_sys_vm_allocate(kRegionSize, TERN_PROT_READ | TERN_PROT_WRITE);
    if (scratch <= 0 || read_only <= 0) {
        tern::println("fuzz: cannot map scratch memory: {} {}", scratch, read_only);
        return false;
    }
    g.scratch = uint64_t(scratch);
    g.read_only = uint64_t(read_only);
    fill_region(g.scratch);
    fill_region(g.read_only);
    if (tern_sys_vm_protect(g.read_only, kRegionSize, TERN_PROT_READ) < 0) {
        tern::println("fuzz: cannot make the read-only region read-only");
        return false;
    }
    make_targets();
    return true;
}

} // namespace

extern "C" int main(uint64_t arg) {
    uint64_t iterations = arg & 0xFFFFFFFFull;
    uint64_t seed = (arg >> 32) & 0x7FFFFFFFull;
    g.trace = (arg >> 63) != 0;
    if (iterations == 0)
        iterations = 1000;
    if (seed == 0)
        seed = 0x7E2A5EEDull;
    tern::println("fuzz: seed {:#x}, {} iterations", seed, iterations);
    if (!setup(seed))
        return 1;

    uint64_t next_report = 1;
    for (uint64_t i = 0; i < iterations; ++i) {
        if (i > 0 && i % kCleanupEvery == 0) {
            cleanup();
            // Fresh scratch contents now and then, so structures the kernel wrote
            // there do not dominate what the next calls read.
            if (i % (kCleanupEvery * 8) == 0)
                fill_region(g.scratch);
        }
        Call c;
        do {
            c = Call{};
            c.number = pick_number();
            make_arguments(c);
        } while (!make_survivable(c));
        if (g.trace)
            trace(c);
        int64_t result = raw_syscall(c);
        count(c, result);
        observe(c, result);
        while (next_report <= 10 && (i + 1) * 10 >= next_report * iterations) {
            end_console_line();
            tern::println("fuzz: {}%", next_report * 10);
            ++next_report;
        }
    }
    cleanup();

    end_console_line();
    tern::println("fuzz.calls: {} calls", g.calls);
    for (int32_t code = 1; code < base::kErrorCount; ++code)
        if (g.errors[code])
            tern::println("fuzz.result.{}: {} calls", base::error_name(base::Error(code)),
                          g.errors[code]);
    if (g.unknown_errors)
        tern::println("fuzz.result.UNKNOWN_ERROR: {} calls", g.unknown_errors);
    if (g.bad_results)
        tern::println("fuzz.result.BAD_VALUE: {} calls", g.bad_results);
    tern::println("fuzz.ok: {} calls", g.ok);
    for (uint32_t n = 0; n < TERN_SYSCALL_COUNT; ++n)
        if (n != TERN_SYS_thread_exit && n != TERN_SYS_task_exit)
            tern::println("fuzz.ok.{}: {} calls", kSyscallNames[n], g.ok_by_syscall[n]);
    // The oracle: every result was an error code or a value of the right kind.
    if (g.unknown_errors || g.bad_results) {
        tern::println("fuzz: FAILED: {} results were no error code, {} were not a value of "
                      "the kind the call returns (seed {:#x})",
                      g.unknown_errors, g.bad_results, seed);
        return 3;
    }
    return 0;
}

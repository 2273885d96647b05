// The kernel's system call contract, checked from ring 3.
//
// Every syscall in <tern/abi/syscalls.h> is called here on its success path and on each
// error path its comment documents: bad, stale and wrongly typed handles, missing
// rights, bad user pointers of every kind for every pointer argument, oversize
// arguments, full and empty queues with and without timeouts, closed and dead peers,
// calls and replies between threads and between tasks, handle transfer, data parts,
// queue capture and restore, memory protection, pagers, exception ports, task control,
// signals, port sets, memory objects and the per-task quotas. The device calls (IRQs,
// I/O ports, MMIO) need a device resource, which test programs do not get, so only their
// refusals are checked here.
//
// The checks are grouped in sections (kSections at the end). The start argument selects
// sections by bit, bit i running kSections[i]; 0 runs them all.
//
// Behaviour that needs a task to die (a write to a read-only page, a refused pager page)
// is checked in child tasks, never in this one. A child is a clone of this program made
// with task control alone: task_create, task_vm_allocate and task_vm_write of this
// image at the same addresses, then task_thread_create at one of the child entry points
// below. The child receives its start argument as (mode << 32) | handle, and a second
// parameter through g_child_param, which the parent writes into the clone before
// starting it. Children never use the heap, since the parent's heap mappings are not
// copied.
//
// Output: one "ktest: ok <check>" or "ktest: FAILED <check>: <detail>" line per check,
// and a summary. A check that exposes a kernel bug which is reported but not yet fixed
// is marked with a known-bug tag: it prints "ktest: KNOWN BUG <check>: ..." instead of
// FAILED and does not change the exit status, so the suite stays a regression test for
// everything else; when the bug is fixed the check prints "ok" plus a note to drop the
// tag. The exit status is 0 iff no other check failed.

#include <base/error.h>
#include <base/format.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/errors.h>
#include <tern/abi/message.h>
#include <tern/abi/rights.h>
#include <tern/abi/syscalls.h>
#include <tern/abi/task.h>
#include <tern/print.h>
#include <tern/runtime.h>
#include <tern/syscall.h>

// Bounds of this program's image, defined by libc/native/user.ld. The clone copies the
// text, read-only data and read-write data segments from here.
extern "C" char __user_image_start[];
extern "C" char __text_end[];
extern "C" char __rodata_end[];
extern "C" char __user_image_end[];

extern "C" {
// Entry points written in assembly below. A thread starts with RSP 16-byte aligned and
// no return address pushed, so C++ code is entered through a `call` that restores the
// alignment the System V ABI promises at a function's first instruction.
void ktest_child_start();
void ktest_thread_start();
// Executes ud2 (2 bytes), then exits with status 0 once a handler skips it.
void ktest_child_ud2();
void ktest_child_ud2_resume();
// Clears RBX and XMM0 and spins until a controller makes RBX nonzero; then exits with
// RBX ^ (low 64 bits of XMM0), so both the register and the FPU image a controller
// wrote show up in the exit status.
void ktest_child_spin();
void ktest_child_spin_loop();
void ktest_child_spin_end();
[[noreturn]] void ktest_child_main(uint64_t arg);
[[noreturn]] void ktest_thread_main(uint64_t arg);
}

static_assert(TERN_SYS_task_exit == 3, "the assembly entry points below exit with syscall 3");

asm(R"(
    .text
    .globl ktest_child_start
    .type ktest_child_start, @function
ktest_child_start:
    xorl %ebp, %ebp
    call ktest_child_main
    ud2
    .size ktest_child_start, . - ktest_child_start

    .globl ktest_thread_start
    .type ktest_thread_start, @function
ktest_thread_start:
    xorl %ebp, %ebp
    call ktest_thread_main
    ud2
    .size ktest_thread_start, . - ktest_thread_start

    .globl ktest_child_ud2
    .globl ktest_child_ud2_resume
    .type ktest_child_ud2, @function
ktest_child_ud2:
    ud2
ktest_child_ud2_resume:
    xorl %edi, %edi
    movl $3, %eax
    syscall
    ud2
    .size ktest_child_ud2, . - ktest_child_ud2

    .globl ktest_child_spin
    .globl ktest_child_spin_loop
    .globl ktest_child_spin_end
    .type ktest_child_spin, @function
ktest_child_spin:
    xorl %ebx, %ebx
    pxor %xmm0, %xmm0
ktest_child_spin_loop:
    pause
    testq %rbx, %rbx
    jz ktest_child_spin_loop
ktest_child_spin_end:
    movq %xmm0, %rdi
    xorq %rbx, %rdi
    movl $3, %eax
    syscall
    ud2
    .size ktest_child_spin, . - ktest_child_spin
)");

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMs = 1000000;
constexpr uint64_t kSecond = 1000 * kMs;
// The bound on every wait that should end quickly, so a kernel bug fails a check instead
// of hanging the suite.
constexpr uint64_t kLong = 5 * kSecond;
constexpr int64_t kPageFaultExit = TERN_EXIT_FAULT_BASE + 14;
// task_vm_write and task_vm_read move at most this much per call.
constexpr uint64_t kMaxTransfer = 1ull << 20;

// ---- Reporting ------------------------------------------------------------------------

int g_checks = 0;
int g_failures = 0;
int g_known = 0;
// Set while checks that expose a reported, still unfixed kernel bug run.
const char* g_known_bug = nullptr;

class KnownBug {
public:
    explicit KnownBug(const char* tag) : m_saved(g_known_bug) { g_known_bug = tag; }
    ~KnownBug() { g_known_bug = m_saved; }
    KnownBug(const KnownBug&) = delete;
    KnownBug& operator=(const KnownBug&) = delete;

private:
    const char* m_saved;
};

void report(bool ok, const char* name, const char* detail) {
    ++g_checks;
    if (ok) {
        if (g_known_bug)
            tern::println("ktest: ok {} (known bug '{}' no longer reproduces: drop the tag)", name,
                          g_known_bug);
        else
            tern::println("ktest: ok {}", name);
        return;
    }
    if (g_known_bug) {
        ++g_known;
        tern::println("ktest: KNOWN BUG {}: {} [{}]", name, detail, g_known_bug);
        return;
    }
    ++g_failures;
    tern::println("ktest: FAILED {}: {}", name, detail);
}

// "-3 (BAD_HANDLE)" for an error, "42 (0x2a)" for a value.
void describe(char* out, size_t size, int64_t value) {
    if (value < 0 && base::is_known_error(-value))
        base::format(out, size, "{} ({})", value,
                     base::error_name(static_cast<base::Error>(static_cast<int32_t>(-value))));
    else
        base::format(out, size, "{} ({:#x})", value, static_cast<uint64_t>(value));
}

template<typename... Args>
bool expect_eq(int64_t got, int64_t want, base::StringView fmt, const Args&... args) {
    char name[96];
    base::format(name, sizeof(name), fmt, args...);
    char g[64], w[64], detail[160];
    describe(g, sizeof(g), got);
    describe(w, sizeof(w), want);
    base::format(detail, sizeof(detail), "got {}, want {}", g, w);
    report(got == want, name, detail);
    return got == want;
}

template<typename... Args>
bool expect_err(int64_t got, int error, base::StringView fmt, const Args&... args) {
    return expect_eq(got, -static_cast<int64_t>(error), fmt, args...);
}

template<typename... Args>
bool expect_ok(int64_t got, base::StringView fmt, const Args&... args) {
    char name[96];
    base::format(name, sizeof(name), fmt, args...);
    char g[64], detail[96];
    describe(g, sizeof(g), got);
    base::format(detail, sizeof(detail), "got {}", g);
    report(got >= 0, name, detail);
    return got >= 0;
}

template<typename... Args>
bool expect_true(bool ok, int64_t value, base::StringView fmt, const Args&... args) {
    char name[96];
    base::format(name, sizeof(name), fmt, args...);
    char v[64], detail[96];
    describe(v, sizeof(v), value);
    base::format(detail, sizeof(detail), "condition false (value {})", v);
    report(ok, name, detail);
    return ok;
}

// ---- Small wrappers -------------------------------------------------------------------

uint64_t ptr(const void* p) { return reinterpret_cast<uint64_t>(p); }
uint64_t now_ns() { return static_cast<uint64_t>(tern_sys_clock_monotonic()); }
void sleep_ms(uint64_t ms) { (void)tern_sys_thread_sleep(ms * kMs); }
uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

tern_msg make_msg(uint32_t label, uint64_t w0 = 0, uint64_t w1 = 0) {
    tern_msg m{};
    m.hdr.label = label;
    m.words[0] = w0;
    m.words[1] = w1;
    return m;
}

int64_t send(uint64_t port, const tern_msg& m, uint64_t timeout = TERN_TIMEOUT_NONE) {
    return tern_sys_port_send(port, ptr(&m), timeout);
}

int64_t send_label(uint64_t port, uint32_t label, uint64_t w0 = 0,
                   uint64_t timeout = TERN_TIMEOUT_NONE) {
    tern_msg m = make_msg(label, w0);
    return send(port, m, timeout);
}

int64_t receive(uint64_t port, tern_msg& m, uint64_t timeout = TERN_TIMEOUT_NONE,
                void* buffer = nullptr, uint32_t capacity = 0) {
    m = tern_msg{};
    m.data = ptr(buffer);
    m.data_capacity = capacity;
    return tern_sys_port_receive(port, ptr(&m), timeout);
}

int64_t call(uint64_t port, tern_msg& m, uint64_t timeout = kLong) {
    return tern_sys_port_call(port, ptr(&m), timeout);
}

int64_t reply_word(uint64_t reply, uint64_t w0) {
    tern_msg m = make_msg(0, w0);
    return tern_sys_port_reply(reply, ptr(&m));
}

int64_t port_create(uint64_t capacity = 4) { return tern_sys_port_create(capacity); }
int64_t dup(uint64_t h, uint64_t rights) { return tern_sys_handle_duplicate(h, rights); }
void close(int64_t h) {
    if (h > 0)
        (void)tern_sys_handle_close(static_cast<uint64_t>(h));
}

int64_t vm_allocate(uint64_t size, uint32_t prot = TERN_PROT_READ | TERN_PROT_WRITE) {
    return tern_sys_vm_allocate(size, prot);
}
void vm_free(int64_t address, uint64_t size) {
    if (address > 0)
        (void)tern_sys_vm_free(static_cast<uint64_t>(address), size);
}

// Addresses no syscall may dereference: unmapped, kernel, non-canonical, or reaching past
// the end of user space.
struct BadPointer {
    const char* name;
    uint64_t address;
};
constexpr BadPointer kBadPointers[] = {
    {"null", 0},
    {"low_unmapped", 0x1000},
    {"unmapped", 0x200000},
    {"kernel_half", 0xFFFF800000000000ull},
    {"kernel_image", 0xFFFFFFFF80000000ull},
    {"non_canonical", 0x0000800000000000ull},
    {"non_canonical_high", 0x8000000000000000ull},
    {"top_of_space", 0xFFFFFFFFFFFFFFF0ull},
    {"straddles_user_end", 0x00007FFFFFFFF000ull - 16},
};

// An output pointer in read-only data: a syscall must refuse to write there, and this
// must still hold afterwards.
const uint64_t kReadOnlyWords[64] = {0x5EA1ED, 0x5EA1ED, 0x5EA1ED};

// Reads through a volatile pointer, so the compiler cannot fold a read of a const object
// into its initializer and hide a write the kernel should never have made.
uint64_t read_word(const uint64_t* p) { return *static_cast<const volatile uint64_t*>(p); }

// ---- Threads of this task -------------------------------------------------------------

struct Job {
    int64_t (*fn)(Job&) = nullptr;
    uint64_t a = 0, b = 0, c = 0;
    volatile uint64_t counter = 0;
    volatile int stop = 0;
    volatile int started = 0;
    int done = 0;
    volatile int64_t result = 0;
    int64_t stack = 0;
    int64_t thread = 0;
};

constexpr uint64_t kJobStack = 64 * 1024;

// Starts fn on a new thread of this task with its own 64 KiB stack, or on the stack
// whose top is given. Returns the thread handle or an error.
int64_t start_job(Job& j, int64_t (*fn)(Job&), uint64_t stack_top = 0, uint64_t priority = 10) {
    j.fn = fn;
    j.counter = 0;
    j.stop = 0;
    j.started = 0;
    j.done = 0;
    j.result = 0;
    j.stack = 0;
    if (stack_top == 0) {
        j.stack = vm_allocate(kJobStack);
        if (j.stack < 0)
            return j.stack;
        stack_top = static_cast<uint64_t>(j.stack) + kJobStack;
    }
    j.thread = tern_sys_thread_create(ptr(reinterpret_cast<void*>(&ktest_thread_start)), stack_top,
                                      ptr(&j), priority);
    if (j.thread < 0) {
        vm_free(j.stack, kJobStack);
        j.stack = 0;
    }
    return j.thread;
}

bool job_done(const Job& j) { return __atomic_load_n(&j.done, __ATOMIC_ACQUIRE) != 0; }

// Waits for the job's thread to finish, then frees its stack and handle.
bool join_job(Job& j, uint64_t timeout = kLong) {
    if (j.thread <= 0)
        return false;
    uint64_t deadline = now_ns() + timeout;
    while (!job_done(j)) {
        if (now_ns() > deadline)
            return false;
        sleep_ms(1);
    }
    // The thread stores `done` and then makes the thread_exit syscall without touching
    // its stack; the sleep lets it get that far before the stack goes away.
    sleep_ms(1);
    vm_free(j.stack, kJobStack);
    j.stack = 0;
    close(j.thread);
    j.thread = 0;
    return true;
}

} // namespace

extern "C" void ktest_thread_main(uint64_t arg) {
    Job& j = *reinterpret_cast<Job*>(arg);
    j.started = 1;
    int64_t r = j.fn(j);
    j.result = r;
    __atomic_store_n(&j.done, 1, __ATOMIC_RELEASE);
    (void)tern_sys_thread_exit(0);
    __builtin_trap();
}

// ---- Child tasks ----------------------------------------------------------------------

namespace {

// Written by the parent into a clone before it starts (see the file comment). It lives
// in .data so that it is part of the copied image.
volatile uint64_t g_child_param = 1;

enum ChildMode : uint32_t {
    kChildExitParam = 1,    // exit with g_child_param
    kChildCall = 2,         // port_call(handle, words[0] = param); exit with the reply
    kChildCallTwice = 3,    // a call that must be INTERRUPTED, then a second call
    kChildServe = 4,        // answer calls on handle with 2x+1 until label 0 arrives
    kChildReadParam = 5,    // exit with the low 31 bits of the word at address param
    kChildProtectWrite = 6, // write a page, make it read-only, write again
    kChildFreeTouch = 7,    // write a page, free it, read it again
    kChildHold = 8,         // receive one message on handle, then sleep forever
    kChildSleep = 9,        // sleep forever
};

int64_t child_run(uint32_t mode, uint64_t h, uint64_t param) {
    switch (mode) {
    case kChildExitParam:
        return static_cast<int64_t>(param);
    case kChildCall: {
        tern_msg m = make_msg(1, param);
        int64_t r = tern_sys_port_call(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        return r < 0 ? 0x300 - r : static_cast<int64_t>(m.words[0]);
    }
    case kChildCallTwice: {
        tern_msg m = make_msg(1, 1);
        int64_t r = tern_sys_port_call(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        if (r != -TERN_INTERRUPTED)
            return 0x400 + (r < 0 ? -r : 0x80);
        m = make_msg(2, 2);
        r = tern_sys_port_call(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        return r < 0 ? 0x500 - r : static_cast<int64_t>(m.words[0]);
    }
    case kChildServe: {
        int64_t served = 0;
        for (;;) {
            tern_msg m{};
            int64_t r = tern_sys_port_receive(h, ptr(&m), TERN_TIMEOUT_INFINITE);
            if (r < 0)
                return 0x600 - r;
            if (m.hdr.label == 0)
                return served;
            if (m.reply_handle) {
                tern_msg answer = make_msg(m.hdr.label, m.words[0] * 2 + 1);
                if (tern_sys_port_reply(m.reply_handle, ptr(&answer)) < 0)
                    return 0x680;
                ++served;
            }
        }
    }
    case kChildReadParam:
        return static_cast<int64_t>(*reinterpret_cast<volatile uint64_t*>(param) & 0x7FFFFFFF);
    case kChildProtectWrite: {
        int64_t p = tern_sys_vm_allocate(kPage, TERN_PROT_READ | TERN_PROT_WRITE);
        if (p < 0)
            return 0x700;
        *reinterpret_cast<volatile uint64_t*>(p) = 1;
        if (tern_sys_vm_protect(static_cast<uint64_t>(p), kPage, TERN_PROT_READ) < 0)
            return 0x701;
        if (*reinterpret_cast<volatile uint64_t*>(p) != 1)
            return 0x702;
        *reinterpret_cast<volatile uint64_t*>(p) = 2; // must fault
        return 0x703;
    }
    case kChildFreeTouch: {
        int64_t p = tern_sys_vm_allocate(kPage, TERN_PROT_READ | TERN_PROT_WRITE);
        if (p < 0)
            return 0x710;
        *reinterpret_cast<volatile uint64_t*>(p) = 1;
        if (tern_sys_vm_free(static_cast<uint64_t>(p), kPage) < 0)
            return 0x711;
        return static_cast<int64_t>(0x712 + *reinterpret_cast<volatile uint64_t*>(p)); // faults
    }
    case kChildHold: {
        tern_msg m{};
        (void)tern_sys_port_receive(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        for (;;)
            (void)tern_sys_thread_sleep(kSecond);
    }
    case kChildSleep:
        for (;;)
            (void)tern_sys_thread_sleep(kSecond);
    }
    return 0x7FF;
}

} // namespace

extern "C" void ktest_child_main(uint64_t arg) {
    int64_t status = child_run(static_cast<uint32_t>(arg >> 32), arg & 0xFFFFFFFFu, g_child_param);
    (void)tern_sys_task_exit(static_cast<uint64_t>(status));
    __builtin_trap();
}

namespace {

struct Child {
    int64_t task = 0;
    int64_t thread = 0;
    uint64_t stack_top = 0;
    uint64_t arg = 0;
    int64_t given = 0; // the handle value task_give_handle returned in the child
};

struct CloneOptions {
    uint64_t entry = 0; // default: ktest_child_start
    uint32_t mode = 0;
    uint64_t param = 0;
    uint64_t give = 0; // a handle of ours to give the child (0: none)
    uint64_t give_rights = TERN_RIGHTS_SAME;
    uint64_t exception_port = 0;
    bool start = true;
};

int64_t copy_segment(uint64_t task, uint64_t start, uint64_t end, uint32_t prot) {
    if (end <= start)
        return 0;
    int64_t r = tern_sys_task_vm_allocate(task, start, end - start, prot);
    if (r < 0)
        return r;
    if (static_cast<uint64_t>(r) != start)
        return -TERN_CORRUPT;
    for (uint64_t at = start; at < end; at += kMaxTransfer) {
        uint64_t n = end - at < kMaxTransfer ? end - at : kMaxTransfer;
        r = tern_sys_task_vm_write(task, at, at, n);
        if (r < 0)
            return r;
    }
    return 0;
}

// Builds a clone of this program (see the file comment). Reports one check; on failure
// everything made so far is released.
bool clone_child(Child& c, const char* what, const CloneOptions& o) {
    c = Child{};
    int64_t r = 0;
    const char* step = "task_create";
    uint64_t text = ptr(__user_image_start);
    uint64_t rodata = page_up(ptr(__text_end));
    uint64_t data = page_up(ptr(__rodata_end));
    uint64_t end = page_up(ptr(__user_image_end));
    uint64_t param = o.param;
    do {
        c.task = tern_sys_task_create(ptr("kchild"), 6);
        if ((r = c.task) < 0)
            break;
        step = "copy text";
        if ((r = copy_segment(c.task, text, rodata, TERN_PROT_READ | TERN_PROT_EXEC)) < 0)
            break;
        step = "copy rodata";
        if ((r = copy_segment(c.task, rodata, data, TERN_PROT_READ)) < 0)
            break;
        step = "copy data";
        if ((r = copy_segment(c.task, data, end, TERN_PROT_READ | TERN_PROT_WRITE)) < 0)
            break;
        step = "stack";
        r = tern_sys_task_vm_allocate(c.task, 0, 64 * 1024, TERN_PROT_READ | TERN_PROT_WRITE);
        if (r < 0)
            break;
        c.stack_top = static_cast<uint64_t>(r) + 64 * 1024;
        step = "param";
        if ((r = tern_sys_task_vm_write(c.task, ptr(const_cast<uint64_t*>(&g_child_param)),
                                        ptr(&param), sizeof(param)))
            < 0)
            break;
        uint64_t handle = 0;
        if (o.give) {
            step = "give_handle";
            c.given = tern_sys_task_give_handle(c.task, o.give, o.give_rights);
            if ((r = c.given) < 0)
                break;
            handle = static_cast<uint64_t>(c.given);
        }
        if (o.exception_port) {
            step = "exception_port";
            if ((r = tern_sys_task_set_exception_port(c.task, o.exception_port)) < 0)
                break;
        }
        step = "task_thread_create";
        uint64_t entry = o.entry ? o.entry : ptr(reinterpret_cast<void*>(&ktest_child_start));
        c.arg = (static_cast<uint64_t>(o.mode) << 32) | handle;
        c.thread = tern_sys_task_thread_create(c.task, entry, c.stack_top, c.arg);
        if ((r = c.thread) < 0)
            break;
        if (o.start) {
            step = "thread_resume";
            if ((r = tern_sys_thread_resume(c.thread)) < 0)
                break;
        }
        r = 0;
    } while (false);
    char name[96];
    base::format(name, sizeof(name), "clone.{}", what);
    char detail[96], v[48];
    describe(v, sizeof(v), r);
    base::format(detail, sizeof(detail), "{} failed: {}", step, v);
    report(r >= 0, name, detail);
    if (r < 0) {
        if (c.task > 0) {
            (void)tern_sys_task_kill(c.task, TERN_EXIT_KILLED);
            close(c.task);
        }
        close(c.thread);
        c = Child{};
        return false;
    }
    return true;
}

int64_t wait_child(const Child& c, uint64_t timeout = kLong) {
    return tern_sys_task_wait(c.task, timeout);
}

// Kills the child if it still runs and drops our handles to it.
void release_child(Child& c) {
    if (c.task > 0) {
        (void)tern_sys_task_kill(c.task, TERN_EXIT_KILLED);
        (void)tern_sys_task_wait(c.task, kLong);
    }
    close(c.thread);
    close(c.task);
    c = Child{};
}

// ---- 1. Basic calls ---------------------------------------------------------------------

void test_basics() {
    expect_eq(tern_sys_null(), 0, "basic.null");
    int64_t t0 = tern_sys_clock_monotonic();
    int64_t t1 = tern_sys_clock_monotonic();
    expect_true(t0 > 0 && t1 >= t0, t1 - t0, "basic.clock_monotonic_increases");
    expect_eq(tern_sys_thread_yield(), 0, "basic.thread_yield");

    static const char kLine[] = "ktest: (debug_write test line)\n";
    expect_eq(tern_sys_debug_write(ptr(kLine), sizeof(kLine) - 1), sizeof(kLine) - 1,
              "basic.debug_write_returns_length");
    expect_eq(tern_sys_debug_write(0, 0), 0, "basic.debug_write_zero_length");
    expect_err(tern_sys_debug_write(ptr(kLine), 4097), TERN_TOO_BIG, "basic.debug_write_too_big");
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_debug_write(b.address, 16), TERN_BAD_ADDRESS, "basic.debug_write_{}",
                   b.name);

    // Sleep accuracy: at least the request, and not more than a few timer ticks over.
    static constexpr uint64_t kSleeps[] = {1, 20, 50};
    for (uint64_t ms : kSleeps) {
        uint64_t start = now_ns();
        int64_t r = tern_sys_thread_sleep(ms * kMs);
        uint64_t elapsed = now_ns() - start;
        expect_eq(r, 0, "basic.thread_sleep_{}ms_returns_0", ms);
        expect_true(elapsed >= ms * kMs && elapsed < ms * kMs + 40 * kMs,
                    static_cast<int64_t>(elapsed), "basic.thread_sleep_{}ms_accuracy", ms);
    }
    uint64_t start = now_ns();
    expect_eq(tern_sys_thread_sleep(0), 0, "basic.thread_sleep_0");
    expect_true(now_ns() - start < 40 * kMs, static_cast<int64_t>(now_ns() - start),
                "basic.thread_sleep_0_is_short");

    expect_err(tern_syscall_0(999), TERN_NOT_SUPPORTED, "basic.unknown_syscall");
    expect_err(tern_syscall_0(TERN_SYSCALL_COUNT), TERN_NOT_SUPPORTED,
               "basic.syscall_count_is_unknown");
}

// ---- 2. Handles -----------------------------------------------------------------------

int64_t job_spin(Job& j) {
    while (!j.stop)
        j.counter = j.counter + 1;
    return 0;
}

int64_t job_block_on_port(Job& j) {
    tern_msg m{};
    return tern_sys_port_receive(j.a, ptr(&m), TERN_TIMEOUT_INFINITE);
}

void test_handles() {
    expect_err(port_create(0), TERN_INVALID_ARGUMENT, "handle.port_create_capacity_0");
    expect_err(port_create(65), TERN_INVALID_ARGUMENT, "handle.port_create_capacity_65");
    expect_err(port_create(1ull << 32), TERN_INVALID_ARGUMENT, "handle.port_create_capacity_2^32");
    int64_t big = port_create(64);
    expect_ok(big, "handle.port_create_capacity_64");
    close(big);

    int64_t p = port_create(4);
    if (!expect_ok(p, "handle.port_create"))
        return;
    expect_true(p != TERN_INVALID_HANDLE, p, "handle.port_handle_is_not_invalid");

    // Bad handles: zero, never issued, beyond 32 bits.
    static constexpr uint64_t kBadHandles[] = {0, 0xFFFFFFFF, 0x3FFF, 1ull << 32, ~0ull};
    for (uint64_t bad : kBadHandles) {
        expect_err(tern_sys_handle_close(bad), TERN_BAD_HANDLE, "handle.close_bad_{:#x}", bad);
        expect_err(tern_sys_handle_duplicate(bad, TERN_RIGHTS_SAME), TERN_BAD_HANDLE,
                   "handle.duplicate_bad_{:#x}", bad);
        expect_err(send_label(bad, 1), TERN_BAD_HANDLE, "handle.send_bad_{:#x}", bad);
        tern_msg m{};
        expect_err(receive(bad, m), TERN_BAD_HANDLE, "handle.receive_bad_{:#x}", bad);
        expect_err(tern_sys_task_wait(bad, 0), TERN_BAD_HANDLE, "handle.task_wait_bad_{:#x}", bad);
        expect_err(tern_sys_thread_resume(bad), TERN_BAD_HANDLE, "handle.thread_resume_bad_{:#x}",
                   bad);
    }

    // Duplicates and rights.
    // RIGHTS_SAME would include RECEIVE, which is never duplicated.
    int64_t same = dup(p, TERN_RIGHTS_SAME);
    expect_err(same, TERN_ACCESS_DENIED, "handle.duplicate_same_of_receiver_is_denied");
    close(same);
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER);
    expect_ok(s, "handle.duplicate_send");
    expect_true(s != p, s, "handle.duplicate_is_new_value");
    expect_err(dup(p, TERN_RIGHT_RECEIVE), TERN_ACCESS_DENIED, "handle.duplicate_receive_denied");
    expect_err(dup(s, TERN_RIGHT_SEND | TERN_RIGHT_MAP), TERN_ACCESS_DENIED,
               "handle.duplicate_more_rights_denied");
    expect_err(dup(s, 1u << 20), TERN_ACCESS_DENIED, "handle.duplicate_unknown_right_denied");
    expect_err(dup(s, 1ull << 32), TERN_INVALID_ARGUMENT, "handle.duplicate_rights_over_32_bits");
    int64_t bare = dup(s, TERN_RIGHT_SEND);
    expect_ok(bare, "handle.duplicate_narrow");
    expect_err(dup(bare, TERN_RIGHT_SEND), TERN_ACCESS_DENIED,
               "handle.duplicate_without_duplicate_right");
    int64_t none = dup(s, TERN_RIGHT_NONE);
    expect_ok(none, "handle.duplicate_no_rights");

    // Missing rights: receive without RECEIVE, send without SEND.
    tern_msg m{};
    expect_err(receive(s, m), TERN_ACCESS_DENIED, "handle.receive_without_receive_right");
    expect_err(send_label(none, 1), TERN_ACCESS_DENIED, "handle.send_without_send_right");
    expect_eq(send_label(bare, 5, 55), 0, "handle.send_through_duplicate");
    expect_eq(receive(p, m), 0, "handle.receive_from_original");
    expect_true(m.hdr.label == 5 && m.words[0] == 55, m.hdr.label, "handle.duplicate_same_port");
    close(none);

    // Stale handles: a closed value stays invalid, even after its slot is reused.
    int64_t q = port_create(2);
    expect_ok(q, "handle.second_port");
    expect_eq(tern_sys_handle_close(q), 0, "handle.close");
    expect_err(tern_sys_handle_close(q), TERN_BAD_HANDLE, "handle.close_twice");
    expect_err(send_label(q, 1), TERN_BAD_HANDLE, "handle.send_on_closed_handle");
    int64_t reuse[8];
    bool any_same = false;
    for (int64_t& h : reuse) {
        h = port_create(1);
        any_same = any_same || h == q;
    }
    expect_true(!any_same, q, "handle.closed_value_not_reissued");
    expect_err(send_label(q, 1), TERN_BAD_HANDLE, "handle.stale_generation_after_reuse");
    for (int64_t h : reuse)
        close(h);

    // Wrong types: a thread handle where a port is needed and the other way round.
    Job j;
    j.a = static_cast<uint64_t>(p);
    int64_t th = start_job(j, job_block_on_port);
    if (expect_ok(th, "handle.thread_create_for_type_checks")) {
        expect_err(send_label(th, 1), TERN_WRONG_TYPE, "handle.send_on_thread_handle");
        expect_err(receive(th, m), TERN_WRONG_TYPE, "handle.receive_on_thread_handle");
        expect_err(tern_sys_thread_resume(p), TERN_WRONG_TYPE, "handle.thread_resume_on_port");
        expect_err(tern_sys_task_wait(p, 0), TERN_WRONG_TYPE, "handle.task_wait_on_port");
        expect_err(tern_sys_task_kill(th, 1), TERN_WRONG_TYPE, "handle.task_kill_on_thread");
        expect_err(tern_sys_port_reply(p, ptr(&m)), TERN_WRONG_TYPE, "handle.reply_on_port");
        expect_err(tern_sys_vm_supply(p, 0x400000, ptr(&m)), TERN_WRONG_TYPE,
                   "handle.vm_supply_on_port");
        // The thread's own task: thread_stop refuses threads of the caller's task.
        expect_err(tern_sys_thread_stop(th, kSecond), TERN_BAD_STATE,
                   "handle.thread_stop_own_task");
        expect_err(tern_sys_thread_resume(th), TERN_BAD_STATE, "handle.thread_resume_not_stopped");
        tern_regs regs{};
        expect_err(tern_sys_thread_get_regs(th, ptr(&regs)), TERN_BAD_STATE,
                   "handle.thread_get_regs_not_stopped");
        expect_err(tern_sys_thread_set_regs(th, ptr(&regs)), TERN_BAD_STATE,
                   "handle.thread_set_regs_not_stopped");
        expect_eq(send_label(s, 9), 0, "handle.wake_blocked_thread");
        expect_true(join_job(j), 0, "handle.blocked_thread_exits");
        expect_eq(j.result, 0, "handle.blocked_thread_received");
    }
    close(bare);
    close(s);
    close(p);
}

// ---- 3. Ports: send, receive, timeouts, peers, data, handles -------------------------

void test_port_basics() {
    int64_t p = port_create(2);
    if (!expect_ok(p, "port.create"))
        return;
    tern_msg m = make_msg(0x1234, 1, 2);
    for (int i = 2; i < TERN_MSG_INLINE_WORDS; ++i)
        m.words[i] = 0x100 + static_cast<uint64_t>(i);
    m.hdr.sender_badge = 0xBAD6E; // the kernel must overwrite it
    expect_eq(send(p, m), 0, "port.send");
    tern_msg r{};
    expect_eq(receive(p, r), 0, "port.receive");
    bool words_ok = r.hdr.label == 0x1234 && r.words[0] == 1 && r.words[1] == 2;
    for (int i = 2; i < TERN_MSG_INLINE_WORDS; ++i)
        words_ok = words_ok && r.words[i] == 0x100 + static_cast<uint64_t>(i);
    expect_true(words_ok, r.hdr.label, "port.inline_words_round_trip");
    expect_true(r.hdr.sender_badge != 0xBAD6E && r.hdr.sender_badge != 0,
                static_cast<int64_t>(r.hdr.sender_badge), "port.sender_badge_set_by_kernel");
    uint64_t my_badge = r.hdr.sender_badge;
    expect_true(r.hdr.data_size == 0 && r.hdr.handle_count == 0 && r.reply_handle == 0,
                r.hdr.handle_count, "port.plain_message_has_no_parts");

    // Fields that must be zero.
    tern_msg bad = make_msg(1);
    bad.hdr.flags = TERN_MSG_FLAG_CALL;
    expect_err(send(p, bad), TERN_INVALID_ARGUMENT, "port.send_flags_nonzero");
    bad = make_msg(1);
    bad.reserved = 1;
    expect_err(send(p, bad), TERN_INVALID_ARGUMENT, "port.send_reserved_nonzero");

    // Queue full: WOULD_BLOCK without a timeout, TIMED_OUT after one.
    expect_eq(send_label(p, 1), 0, "port.fill_1");
    expect_eq(send_label(p, 2), 0, "port.fill_2");
    expect_err(send_label(p, 3), TERN_WOULD_BLOCK, "port.send_full_would_block");
    uint64_t start = now_ns();
    expect_err(send_label(p, 3, 0, 25 * kMs), TERN_TIMED_OUT, "port.send_full_timed_out");
    uint64_t elapsed = now_ns() - start;
    expect_true(elapsed >= 25 * kMs && elapsed < 100 * kMs, static_cast<int64_t>(elapsed),
                "port.send_timeout_duration");
    expect_eq(receive(p, r), 0, "port.drain_1");
    expect_eq(r.hdr.label, 1, "port.fifo_order_1");
    expect_eq(receive(p, r), 0, "port.drain_2");
    expect_eq(r.hdr.label, 2, "port.fifo_order_2");
    expect_true(r.hdr.sender_badge == my_badge, static_cast<int64_t>(r.hdr.sender_badge),
                "port.sender_badge_stable");

    // Empty queue: WOULD_BLOCK, then TIMED_OUT after the timeout.
    expect_err(receive(p, r), TERN_WOULD_BLOCK, "port.receive_empty_would_block");
    static constexpr uint64_t kTimeouts[] = {10, 30};
    for (uint64_t ms : kTimeouts) {
        start = now_ns();
        expect_err(receive(p, r, ms * kMs), TERN_TIMED_OUT, "port.receive_timeout_{}ms", ms);
        elapsed = now_ns() - start;
        expect_true(elapsed >= ms * kMs && elapsed < ms * kMs + 60 * kMs,
                    static_cast<int64_t>(elapsed), "port.receive_timeout_{}ms_duration", ms);
    }

    // Bad pointers for the message itself, on send and receive.
    for (const BadPointer& b : kBadPointers) {
        expect_err(tern_sys_port_send(p, b.address, 0), TERN_BAD_ADDRESS, "port.send_msg_{}",
                   b.name);
        expect_eq(send_label(p, 7), 0, "port.queue_for_receive_{}", b.name);
        expect_err(tern_sys_port_receive(p, b.address, 0), TERN_BAD_ADDRESS, "port.receive_msg_{}",
                   b.name);
        expect_eq(receive(p, r), 0, "port.message_kept_after_receive_{}", b.name);
    }
    // A message buffer in read-only memory can be read but not written.
    expect_eq(send_label(p, 8), 0, "port.queue_for_readonly_receive");
    expect_err(tern_sys_port_receive(p, ptr(kReadOnlyWords), 0), TERN_BAD_ADDRESS,
               "port.receive_into_readonly_memory");
    expect_true(read_word(&kReadOnlyWords[0]) == 0x5EA1ED && read_word(&kReadOnlyWords[3]) == 0,
                static_cast<int64_t>(read_word(&kReadOnlyWords[0])),
                "port.readonly_memory_unchanged");
    expect_eq(receive(p, r), 0, "port.message_kept_after_readonly_receive");
    expect_eq(send_label(p, 8), 0, "port.queue_for_text_receive");
    expect_err(tern_sys_port_receive(p, ptr(reinterpret_cast<void*>(&ktest_child_ud2)), 0),
               TERN_BAD_ADDRESS, "port.receive_into_text");
    expect_eq(receive(p, r), 0, "port.message_kept_after_text_receive");

    // Closing the receive right: senders get PEER_CLOSED.
    int64_t s = dup(p, TERN_RIGHT_SEND);
    expect_ok(s, "port.send_handle_for_close");
    expect_eq(send_label(s, 9), 0, "port.pending_message_before_close");
    expect_eq(tern_sys_handle_close(p), 0, "port.close_receive_right");
    expect_err(send_label(s, 10), TERN_PEER_CLOSED, "port.send_after_receiver_closed");
    expect_err(send_label(s, 10, 0, 10 * kMs), TERN_PEER_CLOSED,
               "port.send_with_timeout_after_receiver_closed");
    close(s);
}

// A blocked sender must learn that the receiver went away.
int64_t job_send_blocking(Job& j) { return send_label(j.a, 77, 0, j.b); }

void test_port_dead_receiver() {
    int64_t p = port_create(1);
    if (!expect_ok(p, "port_dead.create"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND);
    // The child gets the receive right (it moves: ours is closed) and takes one message.
    Child c;
    CloneOptions o;
    o.mode = kChildHold;
    o.give = static_cast<uint64_t>(p);
    if (!clone_child(c, "dead_receiver", o)) {
        close(s);
        close(p);
        return;
    }
    expect_err(tern_sys_handle_close(p), TERN_BAD_HANDLE, "port_dead.receive_right_moved");
    expect_eq(send_label(s, 1), 0, "port_dead.first_message");
    sleep_ms(20); // the child takes it and sleeps
    expect_eq(send_label(s, 2), 0, "port_dead.second_message_fills_queue");
    expect_err(send_label(s, 3), TERN_WOULD_BLOCK, "port_dead.queue_full");
    Job j;
    j.a = static_cast<uint64_t>(s);
    j.b = TERN_TIMEOUT_INFINITE;
    if (expect_ok(start_job(j, job_send_blocking), "port_dead.blocked_sender_thread")) {
        sleep_ms(20);
        expect_true(!job_done(j), 0, "port_dead.sender_is_blocked");
        expect_eq(tern_sys_task_kill(c.task, 0x1234), 0, "port_dead.kill_receiver_task");
        expect_eq(wait_child(c), 0x1234, "port_dead.killed_status");
        expect_true(join_job(j), 0, "port_dead.blocked_sender_woken");
        expect_err(j.result, TERN_PEER_CLOSED, "port_dead.blocked_sender_gets_peer_closed");
    }
    expect_err(send_label(s, 4), TERN_PEER_CLOSED, "port_dead.send_after_receiver_died");
    release_child(c);
    close(s);
}

void test_port_data() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "data.create"))
        return;
    int64_t out = vm_allocate(2 * 65536 + kPage);
    if (!expect_ok(out, "data.buffers")) {
        close(p);
        return;
    }
    auto* src = reinterpret_cast<uint8_t*>(out);
    auto* dst = reinterpret_cast<uint8_t*>(out + 65536 + kPage);
    static constexpr uint32_t kSizes[] = {0, 1, 64, 4096, 4097, 65536};
    for (uint32_t size : kSizes) {
        for (uint32_t i = 0; i < size; ++i)
            src[i] = static_cast<uint8_t>(i * 7 + size);
        for (uint32_t i = 0; i < 65536; ++i)
            dst[i] = 0xEE;
        tern_msg m = make_msg(size);
        m.hdr.data_size = size;
        m.data = ptr(src);
        expect_eq(send(p, m), 0, "data.send_{}", size);
        tern_msg r{};
        expect_eq(receive(p, r, 0, dst, 65536), 0, "data.receive_{}", size);
        bool same = r.hdr.data_size == size && r.hdr.label == size;
        for (uint32_t i = 0; same && i < size; ++i)
            same = dst[i] == static_cast<uint8_t>(i * 7 + size);
        same = same && (size == 65536 || dst[size] == 0xEE); // nothing written past the data
        expect_true(same, r.hdr.data_size, "data.contents_{}", size);
    }
    tern_msg m = make_msg(1);
    m.hdr.data_size = 65537;
    m.data = ptr(src);
    expect_err(send(p, m), TERN_TOO_BIG, "data.send_65537_too_big");
    m.hdr.data_size = 0xFFFFFFFF;
    expect_err(send(p, m), TERN_TOO_BIG, "data.send_4G_too_big");

    // Bad data pointers on the send side.
    for (const BadPointer& b : kBadPointers) {
        m = make_msg(2);
        m.hdr.data_size = 64;
        m.data = b.address;
        expect_err(send(p, m), TERN_BAD_ADDRESS, "data.send_data_{}", b.name);
    }
    // A data part that runs off the end of a mapping into the unmapped page after it.
    m = make_msg(2);
    m.hdr.data_size = 64;
    m.data = ptr(src) + 2 * 65536 + kPage - 32;
    expect_err(send(p, m), TERN_BAD_ADDRESS, "data.send_data_straddles_mapping_end");

    // A receive buffer that is too small leaves the message queued.
    m = make_msg(3);
    m.hdr.data_size = 4096;
    m.data = ptr(src);
    expect_eq(send(p, m), 0, "data.send_for_no_space");
    tern_msg r{};
    expect_err(receive(p, r, 0, dst, 4095), TERN_NO_SPACE, "data.receive_buffer_too_small");
    expect_err(receive(p, r, 0, nullptr, 0), TERN_NO_SPACE, "data.receive_without_buffer");
    expect_eq(receive(p, r, 0, dst, 4096), 0, "data.receive_after_no_space");
    expect_true(r.hdr.label == 3 && r.hdr.data_size == 4096, r.hdr.label,
                "data.message_kept_after_no_space");

    // Bad receive buffers: refused with BAD_ADDRESS, and the message stays queued.
    for (const BadPointer& b : kBadPointers) {
        m = make_msg(4);
        m.hdr.data_size = 64;
        m.data = ptr(src);
        (void)send(p, m);
        expect_err(receive(p, r, 0, reinterpret_cast<void*>(b.address), 64), TERN_BAD_ADDRESS,
                   "data.receive_buffer_{}", b.name);
        expect_eq(receive(p, r, 0, dst, 65536), 0, "data.message_kept_after_bad_buffer_{}", b.name);
    }
    expect_err(receive(p, r, 0, const_cast<uint64_t*>(kReadOnlyWords), 512), TERN_WOULD_BLOCK,
               "data.queue_empty_after_bad_buffers");
    m = make_msg(5);
    m.hdr.data_size = 64;
    m.data = ptr(src);
    (void)send(p, m);
    expect_err(receive(p, r, 0, const_cast<uint64_t*>(kReadOnlyWords), 512), TERN_BAD_ADDRESS,
               "data.receive_buffer_readonly");
    expect_true(read_word(&kReadOnlyWords[1]) == 0x5EA1ED,
                static_cast<int64_t>(read_word(&kReadOnlyWords[1])),
                "data.readonly_buffer_unchanged");
    expect_eq(receive(p, r, 0, dst, 65536), 0, "data.message_kept_after_readonly_buffer");
    vm_free(out, 2 * 65536 + kPage);
    close(p);
}

void test_port_handles() {
    int64_t p = port_create(4);
    int64_t q = port_create(4);
    if (!expect_ok(p, "xfer.port_p") || !expect_ok(q, "xfer.port_q"))
        return;
    int64_t hq = dup(q, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE);
    expect_ok(hq, "xfer.send_handle");
    tern_msg m = make_msg(20);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(hq);
    expect_eq(send(p, m), 0, "xfer.send_with_handle");
    expect_err(tern_sys_handle_close(hq), TERN_BAD_HANDLE, "xfer.sender_lost_handle");
    tern_msg r{};
    expect_eq(receive(p, r), 0, "xfer.receive_with_handle");
    expect_true(r.hdr.handle_count == 1 && r.handles[0] != 0 && r.handles[1] == 0,
                r.hdr.handle_count, "xfer.receiver_got_handle");
    int64_t got = r.handles[0];
    expect_eq(send_label(got, 21, 2121), 0, "xfer.received_handle_works");
    expect_eq(receive(q, r), 0, "xfer.message_through_received_handle");
    expect_true(r.hdr.label == 21 && r.words[0] == 2121, r.hdr.label,
                "xfer.message_arrived_on_target");
    expect_err(receive(got, r), TERN_ACCESS_DENIED, "xfer.received_handle_rights_kept");

    // Refusals, each leaving the sender's handles in place.
    int64_t plain = dup(q, TERN_RIGHT_SEND); // no TRANSFER
    m = make_msg(22);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(plain);
    expect_err(send(p, m), TERN_ACCESS_DENIED, "xfer.without_transfer_right");
    m.handles[0] = static_cast<tern_handle_t>(q);
    expect_err(send(p, m), TERN_ACCESS_DENIED, "xfer.receive_right_cannot_move");
    int64_t self = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    m.handles[0] = static_cast<tern_handle_t>(self);
    expect_err(send(p, m), TERN_ACCESS_DENIED, "xfer.port_cannot_carry_itself");
    m.handles[0] = 0x3FFF;
    expect_err(send(p, m), TERN_BAD_HANDLE, "xfer.bad_handle_in_message");
    m.hdr.handle_count = 2;
    m.handles[0] = static_cast<tern_handle_t>(got);
    m.handles[1] = static_cast<tern_handle_t>(got);
    expect_err(send(p, m), TERN_INVALID_ARGUMENT, "xfer.same_handle_twice");
    int64_t dups[TERN_MSG_MAX_HANDLES + 1];
    for (int64_t& d : dups)
        d = dup(got, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    m.hdr.handle_count = TERN_MSG_MAX_HANDLES + 1;
    for (uint32_t i = 0; i < TERN_MSG_MAX_HANDLES; ++i)
        m.handles[i] = static_cast<tern_handle_t>(dups[i]);
    expect_err(send(p, m), TERN_TOO_BIG, "xfer.nine_handles_too_big");
    m.hdr.handle_count = TERN_MSG_MAX_HANDLES;
    m.handles[7] = 0x3FFF;
    expect_err(send(p, m), TERN_BAD_HANDLE, "xfer.failed_send_with_bad_last_handle");
    // The duplicates lack DUPLICATE: a live one answers ACCESS_DENIED, a lost one
    // BAD_HANDLE.
    bool kept = true;
    for (uint32_t i = 0; i < 7; ++i)
        kept = kept && dup(dups[i], TERN_RIGHT_SEND) == -TERN_ACCESS_DENIED;
    expect_true(kept, 0, "xfer.failed_send_keeps_handles");
    m.handles[7] = static_cast<tern_handle_t>(dups[7]);
    expect_eq(send(p, m), 0, "xfer.eight_handles");
    expect_eq(receive(p, r), 0, "xfer.receive_eight_handles");
    bool eight = r.hdr.handle_count == 8;
    for (uint32_t i = 0; eight && i < 8; ++i)
        eight = r.handles[i] != 0 && send_label(r.handles[i], 30 + i) == 0 && receive(q, m) == 0
                && m.hdr.label == 30 + i;
    expect_true(eight, r.hdr.handle_count, "xfer.eight_handles_work");
    for (uint32_t i = 0; i < 8; ++i)
        close(r.handles[i]);
    close(dups[8]);
    // Handles close in their own way: the moved ones are gone.
    expect_err(tern_sys_handle_close(dups[0]), TERN_BAD_HANDLE, "xfer.moved_handles_gone");
    // Closing a port drops the handles still queued in it; nothing to observe but that
    // it does not crash.
    int64_t carried = dup(got, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    m = make_msg(40);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(carried);
    expect_eq(send(p, m), 0, "xfer.queue_handle_then_close");
    expect_eq(tern_sys_handle_close(p), 0, "xfer.close_port_with_queued_handle");
    expect_eq(send_label(got, 41), 0, "xfer.target_alive_after_close");
    expect_eq(receive(q, r), 0, "xfer.target_receives_after_close");
    close(plain);
    close(self);
    close(got);
    close(q);
}

// ---- 4. Calls and replies ---------------------------------------------------------------

// Answers `count` calls on port a: reply = 3 * word + 1; with b == 1 it drops the reply
// handle of each call unanswered instead.
int64_t job_server(Job& j) {
    for (uint64_t i = 0; i < j.c; ++i) {
        tern_msg m{};
        int64_t r = tern_sys_port_receive(j.a, ptr(&m), kLong);
        if (r < 0)
            return r;
        if (!(m.hdr.flags & TERN_MSG_FLAG_CALL) || m.reply_handle == 0)
            return -TERN_CORRUPT;
        if (j.b == 1) {
            (void)tern_sys_handle_close(m.reply_handle);
            continue;
        }
        tern_msg answer = make_msg(m.hdr.label + 1, m.words[0] * 3 + 1);
        r = tern_sys_port_reply(m.reply_handle, ptr(&answer));
        if (r < 0)
            return r;
        j.counter = j.counter + 1;
    }
    return 0;
}

int64_t job_caller(Job& j) {
    tern_msg m = make_msg(50, j.a);
    int64_t r = tern_sys_port_call(j.b, ptr(&m), kLong);
    if (r < 0)
        return r;
    for (uint32_t i = 0; i < m.hdr.handle_count; ++i)
        (void)tern_sys_handle_close(m.handles[i]);
    return static_cast<int64_t>(m.words[0]);
}

void test_calls_in_task() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "call.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    Job server;
    server.a = static_cast<uint64_t>(p);
    server.c = 3;
    if (expect_ok(start_job(server, job_server), "call.server_thread")) {
        for (uint64_t i = 0; i < 3; ++i) {
            tern_msg m = make_msg(60, 10 + i);
            expect_eq(call(s, m), 0, "call.between_threads_{}", i);
            expect_true(m.words[0] == (10 + i) * 3 + 1 && m.hdr.label == 61, m.words[0],
                        "call.reply_contents_{}", i);
            expect_true(m.reply_handle == 0 && m.hdr.handle_count == 0, m.reply_handle,
                        "call.reply_has_no_reply_handle_{}", i);
        }
        expect_true(join_job(server), 0, "call.server_done");
        expect_eq(server.result, 0, "call.server_result");
    }

    // The server drops the reply right without answering: the caller gets PEER_CLOSED.
    server.b = 1;
    server.c = 1;
    if (expect_ok(start_job(server, job_server), "call.dropping_server_thread")) {
        tern_msg m = make_msg(62, 1);
        expect_err(call(s, m), TERN_PEER_CLOSED, "call.reply_right_dropped");
        expect_true(join_job(server), 0, "call.dropping_server_done");
    }

    // Nobody answers within the timeout: TIMED_OUT; a late reply then gets PEER_CLOSED.
    tern_msg m = make_msg(63, 5);
    uint64_t start = now_ns();
    expect_err(call(s, m, 20 * kMs), TERN_TIMED_OUT, "call.timeout");
    expect_true(now_ns() - start >= 20 * kMs, static_cast<int64_t>(now_ns() - start),
                "call.timeout_duration");
    tern_msg r{};
    expect_eq(receive(p, r), 0, "call.receive_abandoned_call");
    expect_true((r.hdr.flags & TERN_MSG_FLAG_CALL) && r.reply_handle != 0 && r.words[0] == 5,
                r.hdr.flags, "call.abandoned_call_is_a_call");
    expect_err(reply_word(r.reply_handle, 6), TERN_PEER_CLOSED, "call.late_reply_peer_closed");
    expect_err(reply_word(r.reply_handle, 6), TERN_BAD_HANDLE, "call.reply_handle_consumed");

    // Errors of port_call itself.
    m = make_msg(64);
    m.hdr.handle_count = TERN_MSG_MAX_HANDLES; // one slot is the reply right's
    expect_err(call(s, m), TERN_TOO_BIG, "call.eight_handles_too_big");
    m = make_msg(64);
    m.hdr.data_size = 65537;
    expect_err(call(s, m), TERN_TOO_BIG, "call.data_too_big");
    for (const BadPointer& b : kBadPointers) {
        expect_err(tern_sys_port_call(s, b.address, kLong), TERN_BAD_ADDRESS, "call.msg_{}",
                   b.name);
        m = make_msg(64);
        m.hdr.data_size = 64;
        m.data = b.address;
        expect_err(call(s, m), TERN_BAD_ADDRESS, "call.data_{}", b.name);
    }
    int64_t no_send = dup(p, TERN_RIGHT_TRANSFER);
    m = make_msg(64);
    expect_err(call(no_send, m), TERN_ACCESS_DENIED, "call.without_send_right");
    close(no_send);
    expect_err(receive(p, r), TERN_WOULD_BLOCK, "call.failed_calls_queued_nothing");

    // Errors of port_reply: take a real reply handle and misuse it first.
    Job caller;
    caller.a = 70;
    caller.b = static_cast<uint64_t>(s);
    if (expect_ok(start_job(caller, job_caller), "call.caller_thread")) {
        expect_eq(receive(p, r, kLong), 0, "call.receive_call");
        uint64_t reply = r.reply_handle;
        expect_true(reply != 0 && (r.hdr.flags & TERN_MSG_FLAG_CALL), r.hdr.flags,
                    "call.received_reply_handle");
        expect_err(send_label(reply, 1), TERN_WRONG_TYPE, "call.send_on_reply_handle");
        expect_err(dup(reply, TERN_RIGHTS_SAME), TERN_ACCESS_DENIED, "call.reply_not_duplicable");
        for (const BadPointer& b : kBadPointers) {
            expect_err(tern_sys_port_reply(reply, b.address), TERN_BAD_ADDRESS, "reply.msg_{}",
                       b.name);
            tern_msg with_data = make_msg(1);
            with_data.hdr.data_size = 64;
            with_data.data = b.address;
            expect_err(tern_sys_port_reply(reply, ptr(&with_data)), TERN_BAD_ADDRESS,
                       "reply.data_{}", b.name);
        }
        tern_msg big = make_msg(1);
        big.hdr.data_size = 65537;
        expect_err(tern_sys_port_reply(reply, ptr(&big)), TERN_TOO_BIG, "reply.data_too_big");
        big = make_msg(1);
        big.hdr.handle_count = TERN_MSG_MAX_HANDLES + 1;
        expect_err(tern_sys_port_reply(reply, ptr(&big)), TERN_TOO_BIG, "reply.handles_too_big");
        expect_err(reply_word(0x3FFF, 1), TERN_BAD_HANDLE, "reply.bad_handle");
        expect_eq(reply_word(reply, 71), 0, "reply.after_errors_still_works");
        expect_true(join_job(caller), 0, "call.caller_done");
        expect_eq(caller.result, 71, "call.caller_got_reply");
    }

    // A reply can carry handles and data back to the caller.
    caller.a = 80;
    if (expect_ok(start_job(caller, job_caller), "call.caller_thread_2")) {
        expect_eq(receive(p, r, kLong), 0, "call.receive_call_2");
        int64_t gift = port_create(1);
        tern_msg answer = make_msg(1, 81);
        int64_t gift_send = dup(gift, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
        answer.hdr.handle_count = 1;
        answer.handles[0] = static_cast<tern_handle_t>(gift_send);
        expect_eq(tern_sys_port_reply(r.reply_handle, ptr(&answer)), 0, "reply.with_handle");
        expect_err(tern_sys_handle_close(gift_send), TERN_BAD_HANDLE, "reply.handle_moved");
        expect_true(join_job(caller), 0, "call.caller_2_done");
        expect_eq(caller.result, 81, "call.caller_2_got_reply");
        close(gift);
    }

    // port_reply_receive: the answer to one call and the next call in one syscall.
    Job first, second;
    first.a = 90;
    first.b = second.b = static_cast<uint64_t>(s);
    second.a = 92;
    if (expect_ok(start_job(first, job_caller), "replyrecv.first_caller")
        && expect_ok(start_job(second, job_caller), "replyrecv.second_caller")) {
        expect_eq(receive(p, r, kLong), 0, "replyrecv.receive_first");
        tern_msg answer = make_msg(1, r.words[0] + 1);
        tern_msg next{};
        expect_eq(tern_sys_port_reply_receive(r.reply_handle, ptr(&answer),
                                              static_cast<uint64_t>(p), ptr(&next), kLong),
                  0, "replyrecv.answer_and_receive");
        expect_true((next.hdr.flags & TERN_MSG_FLAG_CALL) && next.reply_handle != 0
                        && next.words[0] != r.words[0],
                    next.words[0], "replyrecv.received_the_other_call");
        expect_err(tern_sys_handle_close(r.reply_handle), TERN_BAD_HANDLE,
                   "replyrecv.reply_right_consumed");
        expect_eq(reply_word(next.reply_handle, next.words[0] + 1), 0, "replyrecv.plain_reply");
        expect_true(join_job(first) && join_job(second), 0, "replyrecv.callers_done");
        expect_eq(first.result, 91, "replyrecv.first_got_its_answer");
        expect_eq(second.result, 93, "replyrecv.second_got_its_answer");
    }

    // A refused reply (too big) still ends the call, with PEER_CLOSED for the caller, and
    // the receive half goes ahead.
    caller.a = 94;
    if (expect_ok(start_job(caller, job_caller), "replyrecv.caller_for_refusal")) {
        expect_eq(receive(p, r, kLong), 0, "replyrecv.receive_for_refusal");
        tern_msg big = make_msg(1);
        big.hdr.data_size = 65537;
        tern_msg next{};
        expect_err(tern_sys_port_reply_receive(r.reply_handle, ptr(&big), static_cast<uint64_t>(p),
                                               ptr(&next), TERN_TIMEOUT_NONE),
                   TERN_WOULD_BLOCK, "replyrecv.refused_reply_then_empty_queue");
        expect_true(join_job(caller), 0, "replyrecv.refused_caller_done");
        expect_eq(caller.result, -TERN_PEER_CLOSED, "replyrecv.caller_got_peer_closed");
        expect_err(tern_sys_handle_close(r.reply_handle), TERN_BAD_HANDLE,
                   "replyrecv.refused_reply_right_dropped");
    }

    // The caller gave up: the handles the reply carried are closed, not left behind.
    m = make_msg(95, 7);
    expect_err(call(s, m, 10 * kMs), TERN_TIMED_OUT, "replyrecv.abandoned_call");
    expect_eq(receive(p, r), 0, "replyrecv.receive_abandoned_call");
    {
        int64_t gift = port_create(1);
        int64_t gift_send = dup(gift, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
        tern_msg answer = make_msg(1, 8);
        answer.hdr.handle_count = 1;
        answer.handles[0] = static_cast<tern_handle_t>(gift_send);
        tern_msg next{};
        expect_err(tern_sys_port_reply_receive(r.reply_handle, ptr(&answer),
                                               static_cast<uint64_t>(p), ptr(&next),
                                               TERN_TIMEOUT_NONE),
                   TERN_WOULD_BLOCK, "replyrecv.reply_to_gone_caller");
        expect_err(tern_sys_handle_close(gift_send), TERN_BAD_HANDLE,
                   "replyrecv.gone_callers_handles_closed");
        close(gift);
    }

    // A bad port for the receive half: the reply has gone all the same.
    caller.a = 96;
    if (expect_ok(start_job(caller, job_caller), "replyrecv.caller_for_bad_port")) {
        expect_eq(receive(p, r, kLong), 0, "replyrecv.receive_for_bad_port");
        tern_msg answer = make_msg(1, 97);
        tern_msg next{};
        expect_err(
            tern_sys_port_reply_receive(r.reply_handle, ptr(&answer), 0x3FFF, ptr(&next), kLong),
            TERN_BAD_HANDLE, "replyrecv.bad_port");
        expect_true(join_job(caller), 0, "replyrecv.bad_port_caller_done");
        expect_eq(caller.result, 97, "replyrecv.reply_went_before_bad_port");
    }
    close(s);
    close(p);
}

void test_calls_between_tasks() {
    // The child calls us.
    int64_t p = port_create(4);
    if (!expect_ok(p, "xcall.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    Child c;
    CloneOptions o;
    o.mode = kChildCall;
    o.param = 41;
    o.give = static_cast<uint64_t>(s);
    o.give_rights = TERN_RIGHT_SEND;
    if (clone_child(c, "caller", o)) {
        tern_msg r{};
        expect_eq(receive(p, r, kLong), 0, "xcall.receive_from_child");
        expect_true((r.hdr.flags & TERN_MSG_FLAG_CALL) && r.reply_handle && r.words[0] == 41,
                    static_cast<int64_t>(r.words[0]), "xcall.child_call_contents");
        expect_eq(reply_word(r.reply_handle, 42), 0, "xcall.reply_to_child");
        expect_eq(wait_child(c), 42, "xcall.child_got_reply");
        release_child(c);
    }

    // We call the child: it holds the receive right.
    int64_t q = port_create(4);
    int64_t sq = dup(q, TERN_RIGHT_SEND);
    o = CloneOptions{};
    o.mode = kChildServe;
    o.give = static_cast<uint64_t>(q);
    if (clone_child(c, "server", o)) {
        tern_msg m = make_msg(5, 20);
        expect_eq(call(sq, m), 0, "xcall.call_child");
        expect_eq(static_cast<int64_t>(m.words[0]), 41, "xcall.child_reply");
        m = make_msg(5, 7);
        expect_eq(call(sq, m), 0, "xcall.call_child_again");
        expect_eq(static_cast<int64_t>(m.words[0]), 15, "xcall.child_reply_again");
        expect_eq(send_label(sq, 0), 0, "xcall.stop_server");
        expect_eq(wait_child(c), 2, "xcall.server_served_two");
        // The server is gone: its port is closed.
        m = make_msg(5, 1);
        expect_err(call(sq, m), TERN_PEER_CLOSED, "xcall.call_after_server_exit");
        release_child(c);
    }
    close(sq);

    // A call interrupted by thread_stop must not receive the stale reply to that call
    // later, in place of the reply to its next call.
    o = CloneOptions{};
    o.mode = kChildCallTwice;
    o.give = static_cast<uint64_t>(s);
    o.give_rights = TERN_RIGHT_SEND;
    if (clone_child(c, "interrupted_caller", o)) {
        tern_msg first{}, second{};
        expect_eq(receive(p, first, kLong), 0, "xcall.first_call");
        expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "xcall.stop_blocked_caller");
        expect_eq(tern_sys_thread_resume(c.thread), 0, "xcall.resume_caller");
        expect_eq(receive(p, second, kLong), 0, "xcall.second_call");
        expect_eq(static_cast<int64_t>(second.words[0]), 2, "xcall.second_call_contents");
        expect_eq(reply_word(second.reply_handle, 200), 0, "xcall.answer_second_call");
        {
            expect_err(reply_word(first.reply_handle, 100), TERN_PEER_CLOSED,
                       "xcall.answer_to_interrupted_call_refused");
            expect_eq(wait_child(c), 200, "xcall.caller_got_its_own_reply");
        }
        close(first.reply_handle);
        release_child(c);
    }
    close(s);
    close(p);
}

// ---- 5. Queue capture and restore --------------------------------------------------------

void test_capture_restore() {
    int64_t a = port_create(8);
    int64_t b = port_create(8);
    int64_t target = port_create(2);
    if (!expect_ok(a, "capture.port_a") || !expect_ok(b, "capture.port_b")
        || !expect_ok(target, "capture.port_target"))
        return;
    int64_t sa = dup(a, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    static uint8_t payload[32];
    for (uint32_t i = 0; i < sizeof(payload); ++i)
        payload[i] = static_cast<uint8_t>(0xA0 + i);
    tern_msg m = make_msg(10, 100);
    m.hdr.data_size = sizeof(payload);
    m.data = ptr(payload);
    expect_eq(send(sa, m), 0, "capture.queue_data_message");
    m = make_msg(11, 101);
    int64_t carried = dup(target, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(carried);
    expect_eq(send(sa, m), 0, "capture.queue_handle_message");
    Job caller;
    caller.a = 7;
    caller.b = static_cast<uint64_t>(sa);
    if (!expect_ok(start_job(caller, job_caller), "capture.caller_thread"))
        return;
    sleep_ms(10); // the caller's message is queued third

    static tern_msg out[8];
    static uint8_t bufs[8][64];
    auto prepare = [&](uint32_t capacity) {
        for (uint32_t i = 0; i < 8; ++i) {
            out[i] = tern_msg{};
            out[i].data = ptr(bufs[i]);
            out[i].data_capacity = capacity;
        }
    };
    prepare(64);
    expect_err(tern_sys_port_capture(a, ptr(out), 2), TERN_NO_SPACE, "capture.max_too_small");
    prepare(16);
    expect_err(tern_sys_port_capture(a, ptr(out), 8), TERN_NO_SPACE, "capture.data_does_not_fit");
    prepare(64);
    expect_err(tern_sys_port_capture(sa, ptr(out), 8), TERN_ACCESS_DENIED,
               "capture.without_receive_right");
    for (const BadPointer& bp : kBadPointers)
        expect_err(tern_sys_port_capture(a, bp.address, 8), TERN_BAD_ADDRESS, "capture.out_{}",
                   bp.name);
    int64_t n = tern_sys_port_capture(a, ptr(out), 8);
    expect_eq(n, 3, "capture.three_messages");
    tern_msg r{};
    expect_err(receive(a, r), TERN_WOULD_BLOCK, "capture.queue_drained");
    bool data_ok =
        out[0].hdr.label == 10 && out[0].words[0] == 100 && out[0].hdr.data_size == sizeof(payload);
    for (uint32_t i = 0; data_ok && i < sizeof(payload); ++i)
        data_ok = bufs[0][i] == payload[i];
    expect_true(data_ok, out[0].hdr.label, "capture.first_message_with_data");
    expect_true(out[1].hdr.label == 11 && out[1].hdr.handle_count == 1 && out[1].handles[0] != 0,
                out[1].hdr.label, "capture.second_message_with_handle");
    expect_true(out[2].hdr.label == 50 && out[2].words[0] == 7
                    && (out[2].hdr.flags & TERN_MSG_FLAG_CALL) && out[2].reply_handle != 0,
                out[2].hdr.label, "capture.third_message_is_call");
    uint64_t badge = out[0].hdr.sender_badge;

    // Restoring needs SEND and RECEIVE, all messages must fit, and bad arrays fail.
    int64_t sb = dup(b, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    expect_err(tern_sys_port_restore(sb, ptr(out), 3), TERN_ACCESS_DENIED,
               "restore.without_receive_right");
    expect_err(tern_sys_port_restore(b, ptr(out), 9), TERN_WOULD_BLOCK, "restore.more_than_fit");
    expect_err(tern_sys_port_restore(b, ptr(out), 65), TERN_WOULD_BLOCK,
               "restore.more_than_any_queue");
    for (const BadPointer& bp : kBadPointers)
        expect_err(tern_sys_port_restore(b, bp.address, 1), TERN_BAD_ADDRESS, "restore.msgs_{}",
                   bp.name);
    expect_err(receive(b, r), TERN_WOULD_BLOCK, "restore.failures_queued_nothing");
    int64_t handle1 = out[1].handles[0];
    int64_t reply = out[2].reply_handle;
    expect_eq(tern_sys_port_restore(b, ptr(out), 3), 3, "restore.three_messages");
    expect_err(tern_sys_handle_close(handle1), TERN_BAD_HANDLE, "restore.carried_handle_moved");
    expect_err(tern_sys_handle_close(reply), TERN_BAD_HANDLE, "restore.reply_handle_moved");

    static uint8_t data[64];
    expect_eq(receive(b, r, 0, data, 64), 0, "restore.receive_first");
    data_ok = r.hdr.label == 10 && r.words[0] == 100 && r.hdr.data_size == sizeof(payload)
              && r.hdr.sender_badge == badge;
    for (uint32_t i = 0; data_ok && i < sizeof(payload); ++i)
        data_ok = data[i] == payload[i];
    expect_true(data_ok, r.hdr.label, "restore.first_kept_order_data_badge");
    expect_eq(receive(b, r), 0, "restore.receive_second");
    expect_true(r.hdr.label == 11 && r.hdr.handle_count == 1 && r.handles[0] != 0, r.hdr.label,
                "restore.second_kept_handle");
    expect_eq(send_label(r.handles[0], 12), 0, "restore.carried_handle_works");
    tern_msg t{};
    expect_eq(receive(target, t), 0, "restore.carried_handle_reaches_target");
    close(r.handles[0]);
    expect_eq(receive(b, r), 0, "restore.receive_third");
    expect_true(r.hdr.label == 50 && (r.hdr.flags & TERN_MSG_FLAG_CALL) && r.reply_handle != 0,
                r.hdr.label, "restore.third_still_a_call");
    expect_eq(reply_word(r.reply_handle, 8), 0, "restore.reply_through_carried_reply_right");
    expect_true(join_job(caller), 0, "restore.caller_done");
    expect_eq(caller.result, 8, "restore.caller_got_reply");

    // A capture must not lose messages when a data buffer is bad: it reports the error
    // and leaves the queue as it was, the way a too-small buffer does.
    m = make_msg(13);
    m.hdr.data_size = sizeof(payload);
    m.data = ptr(payload);
    expect_eq(send(sa, m), 0, "capture.queue_for_bad_buffer");
    prepare(64);
    out[0].data = 0x200000;
    {
        expect_err(tern_sys_port_capture(a, ptr(out), 8), TERN_BAD_ADDRESS,
                   "capture.bad_data_buffer_refused");
        expect_eq(receive(a, r, 0, data, 64), 0, "capture.message_kept_after_bad_buffer");
    }
    (void)receive(a, r, 0, data, 64);

    // Restore must not turn one handle into two: listing a handle without DUPLICATE in
    // two restored messages would copy it.
    int64_t once = dup(target, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    prepare(0);
    for (int i = 0; i < 2; ++i) {
        out[i].hdr.label = 90 + static_cast<uint32_t>(i);
        out[i].hdr.handle_count = 1;
        out[i].handles[0] = static_cast<tern_handle_t>(once);
        out[i].data = 0;
    }
    {
        int64_t restored = tern_sys_port_restore(b, ptr(out), 2);
        expect_true(restored < 0, restored, "restore.same_handle_in_two_messages_refused");
    }
    while (receive(b, r) == 0)
        for (uint32_t i = 0; i < r.hdr.handle_count; ++i)
            close(r.handles[i]);
    close(once);
    close(sb);
    close(sa);
    close(target);
    close(b);
    close(a);
}

// ---- 6. Memory -----------------------------------------------------------------------------

void test_memory() {
    constexpr uint32_t kRw = TERN_PROT_READ | TERN_PROT_WRITE;
    expect_err(vm_allocate(0), TERN_INVALID_ARGUMENT, "vm.allocate_size_0");
    expect_err(vm_allocate(100), TERN_INVALID_ARGUMENT, "vm.allocate_unaligned_size");
    expect_err(vm_allocate(kPage, 8), TERN_INVALID_ARGUMENT, "vm.allocate_unknown_prot");
    expect_err(vm_allocate(kPage, kRw | TERN_PROT_EXEC), TERN_INVALID_ARGUMENT,
               "vm.allocate_write_execute_refused");
    expect_err(vm_allocate(kPage, TERN_PROT_WRITE | TERN_PROT_EXEC), TERN_INVALID_ARGUMENT,
               "vm.allocate_wx_refused");
    expect_err(tern_sys_vm_allocate(kPage, (1ull << 32) | TERN_PROT_READ), TERN_INVALID_ARGUMENT,
               "vm.allocate_prot_over_32_bits");
    expect_err(vm_allocate(1ull << 47), TERN_INVALID_ARGUMENT, "vm.allocate_larger_than_space");
    expect_err(vm_allocate(~0ull & ~(kPage - 1)), TERN_INVALID_ARGUMENT, "vm.allocate_huge");
    expect_err(vm_allocate(512ull << 20), TERN_QUOTA_EXCEEDED, "vm.allocate_over_quota");

    int64_t a = vm_allocate(3 * kPage);
    if (!expect_ok(a, "vm.allocate_three_pages"))
        return;
    auto* words = reinterpret_cast<volatile uint64_t*>(a);
    bool zero = true;
    for (uint64_t i = 0; i < 3 * kPage / 8; ++i)
        zero = zero && words[i] == 0;
    expect_true(zero, 0, "vm.allocate_is_zeroed");
    words[0] = 0x1111;
    words[512] = 0x2222;
    words[1024] = 0x3333;
    expect_true(words[0] == 0x1111 && words[512] == 0x2222 && words[1024] == 0x3333, 0,
                "vm.allocate_is_writable");
    int64_t ro_exec = vm_allocate(kPage, TERN_PROT_READ | TERN_PROT_EXEC);
    expect_ok(ro_exec, "vm.allocate_read_execute");
    vm_free(ro_exec, kPage);
    int64_t none = vm_allocate(kPage, 0);
    expect_ok(none, "vm.allocate_no_access");
    int64_t p = port_create(4);
    if (none > 0) {
        // A region without access exists but no syscall may read it.
        expect_err(tern_sys_port_send(p, static_cast<uint64_t>(none), 0), TERN_BAD_ADDRESS,
                   "vm.no_access_region_unreadable");
        vm_free(none, kPage);
    }

    // vm_protect: errors, then the effect seen through the kernel's user copies.
    expect_err(tern_sys_vm_protect(a, kPage, kRw | TERN_PROT_EXEC), TERN_INVALID_ARGUMENT,
               "vm.protect_wx_refused");
    expect_err(tern_sys_vm_protect(a, kPage, 8), TERN_INVALID_ARGUMENT, "vm.protect_unknown_prot");
    expect_err(tern_sys_vm_protect(a + 1, kPage, TERN_PROT_READ), TERN_MISALIGNED,
               "vm.protect_misaligned_address");
    expect_err(tern_sys_vm_protect(a, 100, TERN_PROT_READ), TERN_MISALIGNED,
               "vm.protect_misaligned_size");
    expect_err(tern_sys_vm_protect(a, 0, TERN_PROT_READ), TERN_INVALID_ARGUMENT,
               "vm.protect_size_0");
    expect_err(tern_sys_vm_protect(0xFFFF800000000000ull, kPage, TERN_PROT_READ),
               TERN_INVALID_ARGUMENT, "vm.protect_kernel_address");
    expect_err(tern_sys_vm_protect(0x200000, kPage, TERN_PROT_READ), TERN_NOT_FOUND,
               "vm.protect_unmapped");
    expect_err(tern_sys_vm_protect(a, 4 * kPage, TERN_PROT_READ), TERN_NOT_FOUND,
               "vm.protect_past_region_end");
    expect_err(tern_sys_vm_protect(ptr(__user_image_start), kPage, kRw | TERN_PROT_EXEC),
               TERN_INVALID_ARGUMENT, "vm.protect_text_wx_refused");
    expect_eq(tern_sys_vm_protect(a + kPage, kPage, TERN_PROT_READ), 0, "vm.protect_read_only");
    tern_msg* second = reinterpret_cast<tern_msg*>(a + kPage);
    tern_msg r{};
    expect_eq(send_label(p, 1), 0, "vm.queue_for_readonly");
    expect_err(tern_sys_port_receive(p, ptr(second), 0), TERN_BAD_ADDRESS,
               "vm.readonly_page_not_writable");
    expect_true(words[512] == 0x2222, static_cast<int64_t>(words[512]),
                "vm.readonly_page_keeps_contents");
    expect_eq(receive(p, r), 0, "vm.message_kept_after_readonly_receive");
    expect_eq(tern_sys_vm_protect(a + kPage, kPage, kRw), 0, "vm.protect_back_to_rw");
    words[512] = 0;
    expect_eq(send_label(p, 1), 0, "vm.queue_for_rw");
    expect_eq(tern_sys_port_receive(p, ptr(second), 0), 0, "vm.rw_page_writable_again");
    expect_eq(second->hdr.label, 1, "vm.received_into_reprotected_page");

    // vm_free: errors, a hole in the middle, then the rest.
    expect_err(tern_sys_vm_free(a + 1, kPage), TERN_MISALIGNED, "vm.free_misaligned_address");
    expect_err(tern_sys_vm_free(a, 100), TERN_MISALIGNED, "vm.free_misaligned_size");
    expect_err(tern_sys_vm_free(a, 0), TERN_INVALID_ARGUMENT, "vm.free_size_0");
    expect_err(tern_sys_vm_free(0xFFFF800000000000ull, kPage), TERN_INVALID_ARGUMENT,
               "vm.free_kernel_address");
    expect_err(tern_sys_vm_free(0x200000, kPage), TERN_NOT_FOUND, "vm.free_unmapped");
    expect_eq(tern_sys_vm_free(a + kPage, kPage), 0, "vm.free_middle_page");
    expect_err(tern_sys_vm_free(a + kPage, kPage), TERN_NOT_FOUND, "vm.free_twice");
    expect_eq(send_label(p, 2), 0, "vm.queue_for_freed");
    expect_err(tern_sys_port_receive(p, ptr(second), 0), TERN_BAD_ADDRESS,
               "vm.freed_page_unmapped");
    expect_true(words[0] == 0x1111 && words[1024] == 0x3333, 0, "vm.neighbours_of_hole_intact");
    expect_eq(tern_sys_vm_free(a, 3 * kPage), 0, "vm.free_across_hole");
    expect_err(tern_sys_vm_free(a, 3 * kPage), TERN_NOT_FOUND, "vm.free_all_twice");
    expect_eq(receive(p, r), 0, "vm.message_kept_after_unmapped_receive");

    // Accounting: freed memory, whole or partial, returns to the quota.
    int64_t big = vm_allocate(200ull << 20);
    expect_ok(big, "vm.allocate_200MiB_untouched");
    expect_err(vm_allocate(100ull << 20), TERN_QUOTA_EXCEEDED, "vm.second_100MiB_over_quota");
    expect_eq(tern_sys_vm_free(big + (50ull << 20), 100ull << 20), 0, "vm.free_middle_100MiB");
    int64_t again = vm_allocate(100ull << 20);
    expect_ok(again, "vm.quota_returned_after_partial_free");
    vm_free(again, 100ull << 20);
    expect_eq(tern_sys_vm_free(big, 200ull << 20), 0, "vm.free_rest");
    big = vm_allocate(240ull << 20);
    expect_ok(big, "vm.quota_returned_after_free");
    vm_free(big, 240ull << 20);

    // The region table is bounded; running out is an error, not a crash. Neighbouring
    // anonymous pieces of the same protection share a region, so alternate protections.
    static int64_t regions[300];
    int n = 0;
    int64_t last = 0;
    for (; n < 300; ++n) {
        last = vm_allocate(kPage, (n & 1) ? TERN_PROT_READ : TERN_PROT_READ | TERN_PROT_WRITE);
        if (last < 0)
            break;
        regions[n] = last;
    }
    expect_true(n < 300 && (last == -TERN_QUOTA_EXCEEDED || last == -TERN_NO_SPACE), last,
                "vm.region_table_full_is_an_error");
    for (int i = 0; i < n; ++i)
        vm_free(regions[i], kPage);
    int64_t after = vm_allocate(kPage);
    expect_ok(after, "vm.allocate_after_region_table_drained");
    vm_free(after, kPage);
    close(p);
}

// ---- 7. Threads --------------------------------------------------------------------------

void test_threads() {
    uint64_t entry = ptr(reinterpret_cast<void*>(&ktest_thread_start));
    int64_t stack = vm_allocate(kJobStack);
    if (!expect_ok(stack, "thread.stack"))
        return;
    uint64_t top = static_cast<uint64_t>(stack) + kJobStack;
    static Job dummy;
    expect_err(tern_sys_thread_create(0, top, ptr(&dummy), 10), TERN_INVALID_ARGUMENT,
               "thread.create_entry_null");
    expect_err(tern_sys_thread_create(0xFFFFFFFF80000000ull, top, ptr(&dummy), 10),
               TERN_INVALID_ARGUMENT, "thread.create_entry_kernel");
    expect_err(tern_sys_thread_create(0x0000800000000000ull, top, ptr(&dummy), 10),
               TERN_INVALID_ARGUMENT, "thread.create_entry_non_canonical");
    expect_err(tern_sys_thread_create(entry, top - 8, ptr(&dummy), 10), TERN_INVALID_ARGUMENT,
               "thread.create_stack_misaligned");
    expect_err(tern_sys_thread_create(entry, 0xFFFF800000001000ull, ptr(&dummy), 10),
               TERN_INVALID_ARGUMENT, "thread.create_stack_kernel");
    expect_err(tern_sys_thread_create(entry, 0, ptr(&dummy), 10), TERN_INVALID_ARGUMENT,
               "thread.create_stack_null");
    expect_err(tern_sys_thread_create(entry, top, ptr(&dummy), 32), TERN_INVALID_ARGUMENT,
               "thread.create_priority_32");
    expect_err(tern_sys_thread_create(entry, top, ptr(&dummy), 1ull << 32), TERN_INVALID_ARGUMENT,
               "thread.create_priority_over_32_bits");
    vm_free(stack, kJobStack);

    // Preemption: two busy threads both make progress while this one sleeps.
    static Job a, b;
    bool started = expect_ok(start_job(a, job_spin), "thread.spinner_a")
                   && expect_ok(start_job(b, job_spin), "thread.spinner_b");
    sleep_ms(200);
    uint64_t ca = a.counter, cb = b.counter;
    a.stop = 1;
    b.stop = 1;
    if (started) {
        expect_true(join_job(a) && join_job(b), 0, "thread.spinners_exit");
        expect_true(ca > 0 && cb > 0, static_cast<int64_t>(ca < cb ? ca : cb),
                    "thread.both_spinners_progress_within_200ms");
        uint64_t lo = ca < cb ? ca : cb, hi = ca < cb ? cb : ca;
        expect_true(hi < 4 * lo, static_cast<int64_t>(hi / (lo ? lo : 1)),
                    "thread.spinners_share_fairly");
    } else {
        join_job(a);
        join_job(b);
    }

    // The thread quota (64 per task, this thread included). The threads block on a port
    // and leave when its receive right is closed.
    int64_t p = port_create(1);
    constexpr uint64_t kSlice = 16 * 1024;
    int64_t stacks = vm_allocate(64 * kSlice);
    if (!expect_ok(p, "thread.quota_port") || !expect_ok(stacks, "thread.quota_stacks"))
        return;
    static Job jobs[64];
    int created = 0;
    int64_t last = 0;
    for (; created < 64; ++created) {
        jobs[created].a = static_cast<uint64_t>(p);
        last = start_job(jobs[created], job_block_on_port,
                         static_cast<uint64_t>(stacks) + (created + 1) * kSlice);
        if (last < 0)
            break;
    }
    expect_eq(last, -TERN_QUOTA_EXCEEDED, "thread.quota_exceeded");
    expect_eq(created, 63, "thread.quota_is_64_with_main");
    sleep_ms(20); // all of them reach their receive
    expect_eq(tern_sys_handle_close(p), 0, "thread.quota_release_port");
    bool all = true;
    for (int i = 0; i < created; ++i) {
        all = all && join_job(jobs[i]);
        all = all && jobs[i].result == -TERN_PEER_CLOSED;
    }
    expect_true(all, created, "thread.quota_threads_woken_with_peer_closed");
    vm_free(stacks, 64 * kSlice);
    static Job after;
    expect_ok(start_job(after, job_spin), "thread.create_after_quota_released");
    after.stop = 1;
    join_job(after);
}

// ---- 8. Handle quota -------------------------------------------------------------------

void test_handle_quota() {
    // A message with a handle waits in r; once the table is full it cannot be received.
    int64_t r = port_create(2);
    int64_t other = port_create(1);
    int64_t carried = dup(other, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    tern_msg m = make_msg(1);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(carried);
    expect_eq(send(r, m), 0, "quota.queue_message_with_handle");

    static int64_t handles[1100];
    int n = 0;
    int64_t last = 0;
    for (; n < 1100; ++n) {
        last = port_create(1);
        if (last < 0)
            break;
        handles[n] = last;
    }
    expect_eq(last, -TERN_QUOTA_EXCEEDED, "quota.port_create_until_quota_exceeded");
    expect_true(n > 1000 && n < 1024, n, "quota.handle_quota_is_1024");
    expect_err(dup(other, TERN_RIGHT_SEND), TERN_QUOTA_EXCEEDED, "quota.duplicate_when_full");
    tern_msg got{};
    expect_err(receive(r, got), TERN_QUOTA_EXCEEDED, "quota.receive_handle_when_full");
    expect_err(tern_sys_task_create(ptr("x"), 1), TERN_QUOTA_EXCEEDED,
               "quota.task_create_when_full");
    bool closed = true;
    for (int i = 0; i < n; ++i)
        closed = closed && tern_sys_handle_close(handles[i]) == 0;
    expect_true(closed, n, "quota.close_them_all");
    expect_eq(receive(r, got), 0, "quota.message_kept_until_room");
    expect_true(got.hdr.handle_count == 1 && got.handles[0] != 0, got.hdr.handle_count,
                "quota.message_delivered_with_handle");
    close(got.handles[0]);
    int64_t again = port_create(1);
    expect_ok(again, "quota.port_create_after_release");
    close(again);
    close(other);
    close(r);
}

// ---- 9. Tasks --------------------------------------------------------------------------

void test_tasks() {
    expect_err(tern_sys_task_create(ptr("0123456789012345678901234567890123"), 32), TERN_TOO_BIG,
               "task.create_name_32_too_big");
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_task_create(b.address, 5), TERN_BAD_ADDRESS, "task.create_name_{}",
                   b.name);
    int64_t t = tern_sys_task_create(0, 0);
    expect_ok(t, "task.create_empty_name");
    int64_t t31 = tern_sys_task_create(ptr("0123456789012345678901234567890"), 31);
    expect_ok(t31, "task.create_name_31");
    close(t31);
    if (t < 0)
        return;

    // A task with no threads: waiting would block; killing it finishes it at once.
    expect_err(tern_sys_task_wait(t, 0), TERN_WOULD_BLOCK, "task.wait_empty_task_would_block");
    uint64_t start = now_ns();
    expect_err(tern_sys_task_wait(t, 20 * kMs), TERN_TIMED_OUT, "task.wait_timed_out");
    expect_true(now_ns() - start >= 20 * kMs, static_cast<int64_t>(now_ns() - start),
                "task.wait_timeout_duration");

    // Memory in another task.
    constexpr uint32_t kRw = TERN_PROT_READ | TERN_PROT_WRITE;
    constexpr uint64_t kAt = 0x10000000;
    expect_eq(tern_sys_task_vm_allocate(t, kAt, 2 * kPage, kRw), kAt, "task.vm_allocate_fixed");
    expect_err(tern_sys_task_vm_allocate(t, kAt + kPage, kPage, kRw), TERN_ALREADY_EXISTS,
               "task.vm_allocate_overlap");
    expect_err(tern_sys_task_vm_allocate(t, kAt + 1, kPage, kRw), TERN_MISALIGNED,
               "task.vm_allocate_misaligned");
    expect_err(tern_sys_task_vm_allocate(t, 0xFFFF800000000000ull, kPage, kRw),
               TERN_INVALID_ARGUMENT, "task.vm_allocate_kernel_address");
    expect_err(tern_sys_task_vm_allocate(t, 0x00007FFFFFFFF000ull, kPage, kRw),
               TERN_INVALID_ARGUMENT, "task.vm_allocate_past_user_end");
    expect_err(tern_sys_task_vm_allocate(t, 0, kPage, kRw | TERN_PROT_EXEC), TERN_INVALID_ARGUMENT,
               "task.vm_allocate_wx");
    expect_err(tern_sys_task_vm_allocate(t, 0, 0, kRw), TERN_INVALID_ARGUMENT,
               "task.vm_allocate_size_0");
    expect_err(tern_sys_task_vm_allocate(t, 0, kPage, kRw | (1ull << 32)), TERN_INVALID_ARGUMENT,
               "task.vm_allocate_prot_over_32_bits");
    int64_t anywhere = tern_sys_task_vm_allocate(t, 0, kPage, TERN_PROT_READ);
    expect_ok(anywhere, "task.vm_allocate_anywhere");

    static uint8_t pattern[300], back[300];
    for (uint32_t i = 0; i < sizeof(pattern); ++i)
        pattern[i] = static_cast<uint8_t>(i * 13);
    expect_eq(tern_sys_task_vm_write(t, kAt + kPage - 100, ptr(pattern), sizeof(pattern)),
              sizeof(pattern), "task.vm_write_across_pages");
    expect_eq(tern_sys_task_vm_read(t, kAt + kPage - 100, ptr(back), sizeof(back)), sizeof(back),
              "task.vm_read_across_pages");
    bool same = true;
    for (uint32_t i = 0; i < sizeof(pattern); ++i)
        same = same && back[i] == pattern[i];
    expect_true(same, 0, "task.vm_read_matches_write");
    if (anywhere > 0) {
        // Task control writes into read-only memory of the target (the loader's case).
        expect_eq(tern_sys_task_vm_write(t, anywhere, ptr(pattern), 8), 8,
                  "task.vm_write_into_readonly_region");
    }
    expect_eq(tern_sys_task_vm_read(t, kAt + kPage + 500, ptr(back), 8), 8,
              "task.vm_read_untouched_page");
    expect_true(back[0] == 0 && back[7] == 0, back[0], "task.untouched_page_reads_zero");
    expect_err(tern_sys_task_vm_write(t, 0x20000000, ptr(pattern), 8), TERN_BAD_ADDRESS,
               "task.vm_write_unmapped_target");
    expect_err(tern_sys_task_vm_read(t, 0x20000000, ptr(back), 8), TERN_BAD_ADDRESS,
               "task.vm_read_unmapped_target");
    expect_err(tern_sys_task_vm_write(t, kAt + 2 * kPage - 4, ptr(pattern), 8), TERN_BAD_ADDRESS,
               "task.vm_write_runs_off_region");
    expect_err(tern_sys_task_vm_write(t, 0xFFFF800000000000ull, ptr(pattern), 8), TERN_BAD_ADDRESS,
               "task.vm_write_kernel_target");
    expect_err(tern_sys_task_vm_write(t, kAt, ptr(pattern), kMaxTransfer + 1), TERN_TOO_BIG,
               "task.vm_write_too_big");
    expect_err(tern_sys_task_vm_read(t, kAt, ptr(back), kMaxTransfer + 1), TERN_TOO_BIG,
               "task.vm_read_too_big");
    for (const BadPointer& b : kBadPointers) {
        expect_err(tern_sys_task_vm_write(t, kAt, b.address, 8), TERN_BAD_ADDRESS,
                   "task.vm_write_buf_{}", b.name);
        expect_err(tern_sys_task_vm_read(t, kAt, b.address, 8), TERN_BAD_ADDRESS,
                   "task.vm_read_buf_{}", b.name);
    }
    expect_err(tern_sys_task_vm_read(t, kAt, ptr(kReadOnlyWords), 8), TERN_BAD_ADDRESS,
               "task.vm_read_into_readonly_buffer");

    // Listings.
    static tern_mapping maps[8];
    int64_t count = tern_sys_task_mappings(t, ptr(maps), 8);
    expect_eq(count, 2, "task.mappings_count");
    expect_true(maps[0].start == kAt && maps[0].end == kAt + 2 * kPage && maps[0].prot == kRw
                    && maps[0].kind == TERN_MAPPING_ANONYMOUS && maps[0].resident_pages == 2,
                static_cast<int64_t>(maps[0].resident_pages), "task.mappings_entry");
    expect_eq(tern_sys_task_mappings(t, 0, 0), 2, "task.mappings_count_only");
    maps[1] = tern_mapping{};
    expect_eq(tern_sys_task_mappings(t, ptr(maps), 1), 2, "task.mappings_truncated");
    expect_true(maps[1].start == 0, static_cast<int64_t>(maps[1].start),
                "task.mappings_writes_only_max");
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_task_mappings(t, b.address, 8), TERN_BAD_ADDRESS,
                   "task.mappings_out_{}", b.name);
    expect_eq(tern_sys_task_handles(t, 0, 0), 0, "task.handles_none");

    // Giving handles.
    int64_t p = port_create(2);
    int64_t ps = dup(p, TERN_RIGHT_SEND);
    expect_err(tern_sys_task_give_handle(t, ps, TERN_RIGHTS_SAME), TERN_ACCESS_DENIED,
               "task.give_without_transfer");
    int64_t pt = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    expect_err(tern_sys_task_give_handle(t, pt, TERN_RIGHT_SEND | TERN_RIGHT_RECEIVE),
               TERN_ACCESS_DENIED, "task.give_more_rights");
    expect_err(tern_sys_task_give_handle(t, 0x3FFF, TERN_RIGHTS_SAME), TERN_BAD_HANDLE,
               "task.give_bad_handle");
    expect_err(tern_sys_task_give_handle(t, pt, 1ull << 32), TERN_INVALID_ARGUMENT,
               "task.give_rights_over_32_bits");
    int64_t given = tern_sys_task_give_handle(t, pt, TERN_RIGHT_SEND);
    expect_ok(given, "task.give_send");
    expect_ok(send_label(pt, 1), "task.given_handle_still_ours");
    static tern_handle_info infos[4];
    expect_eq(tern_sys_task_handles(t, ptr(infos), 4), 1, "task.handles_count");
    expect_true(infos[0].handle == static_cast<tern_handle_t>(given)
                    && infos[0].type == TERN_OBJ_PORT && infos[0].rights == TERN_RIGHT_SEND,
                infos[0].rights, "task.handles_entry");
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_task_handles(t, b.address, 4), TERN_BAD_ADDRESS, "task.handles_out_{}",
                   b.name);
    int64_t moved = tern_sys_task_give_handle(t, p, TERN_RIGHTS_SAME);
    expect_ok(moved, "task.give_receive_right");
    expect_err(tern_sys_handle_close(p), TERN_BAD_HANDLE, "task.receive_right_moved");
    expect_eq(tern_sys_task_handles(t, ptr(infos), 4), 2, "task.handles_after_move");

    // Rights on the task handle itself.
    int64_t no_map = dup(t, TERN_RIGHTS_ALL & ~TERN_RIGHT_MAP & ~TERN_RIGHT_RECEIVE);
    int64_t no_control = dup(t, TERN_RIGHT_READ | TERN_RIGHT_MAP);
    int64_t no_read = dup(t, TERN_RIGHT_CONTROL | TERN_RIGHT_MAP);
    expect_true(no_map > 0 && no_control > 0 && no_read > 0, no_map, "task.duplicates");
    expect_err(tern_sys_task_vm_allocate(no_map, 0, kPage, kRw), TERN_ACCESS_DENIED,
               "task.vm_allocate_needs_map");
    expect_err(tern_sys_task_vm_write(no_control, kAt, ptr(pattern), 8), TERN_ACCESS_DENIED,
               "task.vm_write_needs_control");
    expect_err(tern_sys_task_vm_read(no_control, kAt, ptr(back), 8), TERN_ACCESS_DENIED,
               "task.vm_read_needs_control");
    expect_err(tern_sys_task_kill(no_control, 1), TERN_ACCESS_DENIED, "task.kill_needs_control");
    expect_err(tern_sys_task_thread_create(no_control, kAt, kAt + kPage, 0), TERN_ACCESS_DENIED,
               "task.thread_create_needs_control");
    expect_err(tern_sys_task_give_handle(no_control, ps, TERN_RIGHTS_SAME), TERN_ACCESS_DENIED,
               "task.give_needs_control");
    expect_err(tern_sys_task_wait(no_read, 0), TERN_ACCESS_DENIED, "task.wait_needs_read");
    expect_err(tern_sys_task_mappings(no_read, ptr(maps), 8), TERN_ACCESS_DENIED,
               "task.mappings_needs_read");
    expect_err(tern_sys_task_handles(no_read, ptr(infos), 4), TERN_ACCESS_DENIED,
               "task.handles_needs_read");
    expect_err(tern_sys_task_set_exception_port(no_control, pt), TERN_ACCESS_DENIED,
               "task.exception_port_needs_control");
    expect_err(tern_sys_vm_map_pager(no_map, 0, kPage, TERN_PROT_READ, pt), TERN_ACCESS_DENIED,
               "task.map_pager_needs_map");

    // task_thread_create: argument checks, and a new thread is stopped with the state given.
    expect_err(tern_sys_task_thread_create(t, 0xFFFFFFFF80000000ull, kAt + kPage, 0),
               TERN_INVALID_ARGUMENT, "task.thread_create_entry_kernel");
    expect_err(tern_sys_task_thread_create(t, kAt, kAt + kPage + 8, 0), TERN_INVALID_ARGUMENT,
               "task.thread_create_stack_misaligned");
    int64_t th = tern_sys_task_thread_create(t, kAt, kAt + kPage, 0xABCD);
    if (expect_ok(th, "task.thread_create")) {
        tern_regs regs{};
        expect_eq(tern_sys_thread_get_regs(th, ptr(&regs)), 0, "task.new_thread_is_stopped");
        expect_true(regs.rip == kAt && regs.rsp == kAt + kPage && regs.rdi == 0xABCD
                        && (regs.rflags & 0x200),
                    static_cast<int64_t>(regs.rip), "task.new_thread_registers");
        // It would run at kAt, where only data lives: it dies on the first fetch.
    }
    expect_eq(tern_sys_task_kill(t, 0x55), 0, "task.kill");
    expect_eq(tern_sys_task_wait(t, 0), 0x55, "task.wait_after_kill");
    expect_eq(tern_sys_task_wait(t, kLong), 0x55, "task.wait_again");
    expect_eq(tern_sys_task_kill(t, 0x66), 0, "task.kill_dead_task");
    expect_eq(tern_sys_task_wait(t, 0), 0x55, "task.status_kept_after_second_kill");
    if (th > 0) {
        tern_regs regs{};
        expect_err(tern_sys_thread_get_regs(th, ptr(&regs)), TERN_BAD_STATE,
                   "task.dead_thread_get_regs");
        expect_err(tern_sys_thread_resume(th), TERN_BAD_STATE, "task.dead_thread_resume");
        expect_err(tern_sys_thread_stop(th, 0), TERN_BAD_STATE, "task.dead_thread_stop");
    }
    // Not documented either way: a dead task still accepts new memory from its controller.
    int64_t late = tern_sys_task_vm_allocate(t, 0, kPage, kRw);
    if (late >= 0)
        tern::println("ktest: note: task_vm_allocate into an exited task succeeded");
    close(th);
    close(no_map);
    close(no_control);
    close(no_read);
    close(ps);
    close(pt);
    close(t);

    // Real children: exit status, faults, and waiting.
    Child c;
    CloneOptions o;
    o.mode = kChildExitParam;
    o.param = 0x2A;
    if (clone_child(c, "exit_status", o)) {
        expect_eq(wait_child(c), 0x2A, "task.child_exit_status");
        release_child(c);
    }
    o.mode = kChildProtectWrite;
    if (clone_child(c, "protect_write", o)) {
        expect_eq(wait_child(c), kPageFaultExit, "task.child_write_to_readonly_page_faults");
        release_child(c);
    }
    o.mode = kChildFreeTouch;
    if (clone_child(c, "free_touch", o)) {
        expect_eq(wait_child(c), kPageFaultExit, "task.child_touch_freed_page_faults");
        release_child(c);
    }
    o.mode = kChildSleep;
    if (clone_child(c, "sleeper", o)) {
        expect_err(wait_child(c, 0), TERN_WOULD_BLOCK, "task.wait_running_would_block");
        expect_err(wait_child(c, 20 * kMs), TERN_TIMED_OUT, "task.wait_running_timed_out");
        expect_eq(tern_sys_task_kill(c.task, TERN_EXIT_KILLED), 0, "task.kill_sleeper");
        expect_eq(wait_child(c), TERN_EXIT_KILLED, "task.killed_status");
        release_child(c);
    }
}

// ---- 10. Thread control: stop, registers, FPU ------------------------------------------

void test_thread_control() {
    Child c;
    CloneOptions o;
    o.entry = ptr(reinterpret_cast<void*>(&ktest_child_spin));
    if (!clone_child(c, "spinner", o))
        return;
    tern_regs regs{};
    sleep_ms(5); // it is spinning now
    expect_err(tern_sys_thread_get_regs(c.thread, ptr(&regs)), TERN_BAD_STATE,
               "control.get_regs_while_running");
    expect_err(tern_sys_thread_resume(c.thread), TERN_BAD_STATE, "control.resume_while_running");
    static uint8_t fpu_raw[512 + 16];
    auto* fpu = reinterpret_cast<tern_fpu_state*>((ptr(fpu_raw) + 15) & ~15ull);
    expect_err(tern_sys_thread_get_fpu(c.thread, ptr(fpu)), TERN_BAD_STATE,
               "control.get_fpu_while_running");
    int64_t read_only = dup(c.thread, TERN_RIGHT_READ);
    expect_err(tern_sys_thread_stop(read_only, kLong), TERN_ACCESS_DENIED,
               "control.stop_needs_control");
    close(read_only);

    expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "control.stop");
    expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "control.stop_stopped_thread");
    expect_eq(tern_sys_thread_get_regs(c.thread, ptr(&regs)), 0, "control.get_regs");
    uint64_t loop = ptr(reinterpret_cast<void*>(&ktest_child_spin_loop));
    uint64_t loop_end = ptr(reinterpret_cast<void*>(&ktest_child_spin_end));
    expect_true(regs.rip >= loop && regs.rip < loop_end, static_cast<int64_t>(regs.rip),
                "control.rip_inside_spin_loop");
    expect_true(regs.rbx == 0 && regs.rsp == c.stack_top, static_cast<int64_t>(regs.rsp),
                "control.registers_as_started");
    for (const BadPointer& b : kBadPointers) {
        expect_err(tern_sys_thread_get_regs(c.thread, b.address), TERN_BAD_ADDRESS,
                   "control.get_regs_out_{}", b.name);
        expect_err(tern_sys_thread_set_regs(c.thread, b.address), TERN_BAD_ADDRESS,
                   "control.set_regs_in_{}", b.name);
        expect_err(tern_sys_thread_get_fpu(c.thread, b.address), TERN_BAD_ADDRESS,
                   "control.get_fpu_out_{}", b.name);
        expect_err(tern_sys_thread_set_fpu(c.thread, b.address), TERN_BAD_ADDRESS,
                   "control.set_fpu_in_{}", b.name);
    }
    expect_err(tern_sys_thread_get_regs(c.thread, ptr(kReadOnlyWords)), TERN_BAD_ADDRESS,
               "control.get_regs_into_readonly");

    tern_regs bad = regs;
    bad.rip = 0xFFFFFFFF80000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_rip_kernel");
    bad.rip = 0x0000800000000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_rip_non_canonical");
    bad.rip = 0;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_rip_null");
    bad = regs;
    bad.rsp = 0xFFFF800000000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_rsp_kernel");
    bad = regs;
    bad.fs_base = 0xFFFF800000000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_fs_base_kernel");
    bad.fs_base = 0x0000800000000000ull;
    expect_err(tern_sys_thread_set_regs(c.thread, ptr(&bad)), TERN_INVALID_ARGUMENT,
               "control.set_fs_base_non_canonical");

    // RFLAGS: only the user bits stick (no IOPL, no TF here since it would trap), IF on.
    tern_regs flags = regs;
    flags.rflags = 0xFFFFFFFFFFFFFEFFull & ~0x200ull;
    expect_eq(tern_sys_thread_set_regs(c.thread, ptr(&flags)), 0, "control.set_rflags_all_bits");
    expect_eq(tern_sys_thread_get_regs(c.thread, ptr(&flags)), 0, "control.get_rflags_back");
    expect_eq(static_cast<int64_t>(flags.rflags),
              static_cast<int64_t>((0xFFFFFFFFFFFFFEFFull & TERN_RFLAGS_USER_MASK) | 0x202),
              "control.rflags_masked_and_if_forced");

    // The FPU image: MXCSR with reserved bits is refused, XMM0 is written.
    expect_eq(tern_sys_thread_get_fpu(c.thread, ptr(fpu)), 0, "control.get_fpu");
    uint32_t mxcsr = 0;
    __builtin_memcpy(&mxcsr, fpu->fxsave + 24, 4);
    expect_eq(mxcsr, 0x1F80, "control.default_mxcsr");
    uint64_t xmm0 = 1;
    __builtin_memcpy(&xmm0, fpu->fxsave + 160, 8);
    expect_eq(static_cast<int64_t>(xmm0), 0, "control.xmm0_cleared_by_child");
    static uint8_t bad_raw[512 + 16];
    auto* bad_fpu = reinterpret_cast<tern_fpu_state*>((ptr(bad_raw) + 15) & ~15ull);
    static constexpr uint32_t kReserved[] = {0x10000, 0x80000000, 0xFFFF0000};
    for (uint32_t reserved : kReserved) {
        *bad_fpu = *fpu;
        uint32_t value = 0x1F80 | reserved;
        __builtin_memcpy(bad_fpu->fxsave + 24, &value, 4);
        expect_err(tern_sys_thread_set_fpu(c.thread, ptr(bad_fpu)), TERN_INVALID_ARGUMENT,
                   "control.set_mxcsr_reserved_{:#x}", reserved);
    }
    xmm0 = 0x5000;
    __builtin_memcpy(fpu->fxsave + 160, &xmm0, 8);
    expect_eq(tern_sys_thread_set_fpu(c.thread, ptr(fpu)), 0, "control.set_fpu_xmm0");
    *bad_fpu = tern_fpu_state{};
    expect_eq(tern_sys_thread_get_fpu(c.thread, ptr(bad_fpu)), 0, "control.get_fpu_again");
    __builtin_memcpy(&xmm0, bad_fpu->fxsave + 160, 8);
    expect_eq(static_cast<int64_t>(xmm0), 0x5000, "control.xmm0_reads_back");

    // Make the child leave its loop: RBX = 0x34, so it exits with 0x34 ^ 0x5000.
    regs.rbx = 0x34;
    expect_eq(tern_sys_thread_set_regs(c.thread, ptr(&regs)), 0, "control.set_rbx");
    expect_eq(tern_sys_thread_resume(c.thread), 0, "control.resume");
    expect_err(tern_sys_thread_resume(c.thread), TERN_BAD_STATE, "control.resume_twice");
    expect_eq(wait_child(c), 0x5034, "control.child_exit_shows_registers_and_fpu");
    expect_err(tern_sys_thread_stop(c.thread, 0), TERN_BAD_STATE, "control.stop_dead_thread");
    release_child(c);

    // Stopping a thread blocked in a sleep: it stops, and it runs on after resume.
    o = CloneOptions{};
    o.mode = kChildSleep;
    if (clone_child(c, "sleeping", o)) {
        sleep_ms(5);
        expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "control.stop_sleeping_thread");
        expect_eq(tern_sys_thread_get_regs(c.thread, ptr(&regs)), 0,
                  "control.get_regs_of_sleeping_thread");
        expect_eq(tern_sys_thread_resume(c.thread), 0, "control.resume_sleeping_thread");
        sleep_ms(5);
        expect_err(wait_child(c, 0), TERN_WOULD_BLOCK, "control.sleeper_still_alive");
        release_child(c);
    }
}

// ---- 11. Exception ports ---------------------------------------------------------------

void test_exceptions() {
    int64_t ep = port_create(4);
    if (!expect_ok(ep, "exception.port"))
        return;
    int64_t ep_send = dup(ep, TERN_RIGHT_SEND);
    int64_t ep_none = dup(ep, TERN_RIGHT_TRANSFER);
    Child c;
    CloneOptions o;
    o.entry = ptr(reinterpret_cast<void*>(&ktest_child_ud2));
    o.start = false;
    if (!clone_child(c, "ud2", o))
        return;
    expect_err(tern_sys_task_set_exception_port(c.task, ep_none), TERN_ACCESS_DENIED,
               "exception.port_needs_send");
    expect_err(tern_sys_task_set_exception_port(c.task, c.thread), TERN_WRONG_TYPE,
               "exception.port_wrong_type");
    expect_err(tern_sys_task_set_exception_port(c.task, 0x3FFF), TERN_BAD_HANDLE,
               "exception.port_bad_handle");
    expect_eq(tern_sys_task_set_exception_port(c.task, 0), 0, "exception.port_remove_none");
    expect_eq(tern_sys_task_set_exception_port(c.task, ep_send), 0, "exception.port_set");
    expect_eq(tern_sys_thread_resume(c.thread), 0, "exception.start_child");
    tern_msg m{};
    expect_eq(receive(ep, m, kLong), 0, "exception.message_arrives");
    uint64_t ud2 = ptr(reinterpret_cast<void*>(&ktest_child_ud2));
    expect_true(m.hdr.label == TERN_LABEL_EXCEPTION && m.words[0] == 6 && m.words[2] == ud2
                    && m.words[4] != 0 && m.hdr.handle_count == 1 && m.handles[0] != 0,
                static_cast<int64_t>(m.words[0]), "exception.message_contents");
    int64_t th = m.handles[0];
    tern_regs regs{};
    expect_eq(tern_sys_thread_get_regs(th, ptr(&regs)), 0, "exception.thread_is_stopped");
    expect_eq(static_cast<int64_t>(regs.rip), static_cast<int64_t>(ud2), "exception.rip_at_ud2");
    expect_err(wait_child(c, 0), TERN_WOULD_BLOCK, "exception.child_still_alive");
    regs.rip += 2;
    expect_eq(static_cast<int64_t>(regs.rip),
              static_cast<int64_t>(ptr(reinterpret_cast<void*>(&ktest_child_ud2_resume))),
              "exception.skip_lands_on_resume_label");
    expect_eq(tern_sys_thread_set_regs(th, ptr(&regs)), 0, "exception.skip_instruction");
    expect_eq(tern_sys_thread_resume(th), 0, "exception.resume");
    expect_eq(wait_child(c), 0, "exception.child_exits_0_after_fix");
    close(th);
    release_child(c);

    // A thread stopped at an exception dies with its task when the task is killed.
    o.start = true;
    o.exception_port = static_cast<uint64_t>(ep_send);
    if (clone_child(c, "ud2_killed_while_stopped", o)) {
        expect_eq(receive(ep, m, kLong), 0, "exception.second_message");
        expect_eq(tern_sys_task_kill(c.task, 0x77), 0, "exception.kill_stopped_child");
        expect_eq(wait_child(c), 0x77, "exception.killed_while_stopped");
        for (uint32_t i = 0; i < m.hdr.handle_count; ++i)
            close(m.handles[i]);
        release_child(c);
    }
    o.exception_port = 0;
    if (clone_child(c, "ud2_no_port", o)) {
        expect_eq(wait_child(c), TERN_EXIT_FAULT_BASE + 6, "exception.no_port_kills_task");
        release_child(c);
    }
    close(ep_none);
    close(ep_send);
    close(ep);
}

// ---- 12. Pagers ----------------------------------------------------------------------------

alignas(4096) uint8_t g_page[4096];

struct PagerChild {
    Child child;
    int64_t region = 0;
};

// A stopped child whose g_child_param points 8 bytes into a two-page pager region.
bool make_pager_child(PagerChild& pc, const char* what, uint64_t pager, uint64_t ep = 0) {
    CloneOptions o;
    o.mode = kChildReadParam;
    o.start = false;
    o.exception_port = ep;
    if (!clone_child(pc.child, what, o))
        return false;
    pc.region = tern_sys_vm_map_pager(pc.child.task, 0, 2 * kPage, TERN_PROT_READ, pager);
    if (!expect_ok(pc.region, "pager.map_{}", what)) {
        release_child(pc.child);
        return false;
    }
    uint64_t param = static_cast<uint64_t>(pc.region) + 8;
    if (tern_sys_task_vm_write(pc.child.task, ptr(const_cast<uint64_t*>(&g_child_param)),
                               ptr(&param), 8)
        != 8) {
        release_child(pc.child);
        return false;
    }
    return true;
}

void test_pager() {
    int64_t pp = port_create(4);
    if (!expect_ok(pp, "pager.port"))
        return;
    int64_t pp_send = dup(pp, TERN_RIGHT_SEND);
    int64_t pp_none = dup(pp, TERN_RIGHT_TRANSFER);
    constexpr uint64_t kPattern = 0x1234ABCD;
    for (uint64_t& w : reinterpret_cast<uint64_t(&)[512]>(g_page))
        w = 0;
    __builtin_memcpy(g_page + 8, &kPattern, 8);

    PagerChild pc;
    if (make_pager_child(pc, "supply", static_cast<uint64_t>(pp_send))) {
        int64_t t = pc.child.task;
        expect_err(tern_sys_vm_map_pager(t, 0, kPage, TERN_PROT_READ, pp_none), TERN_ACCESS_DENIED,
                   "pager.map_needs_send");
        expect_err(tern_sys_vm_map_pager(t, 0, kPage, TERN_PROT_READ, pc.child.thread),
                   TERN_WRONG_TYPE, "pager.map_wrong_type");
        expect_err(tern_sys_vm_map_pager(t, 0, kPage, TERN_PROT_WRITE | TERN_PROT_EXEC, pp_send),
                   TERN_INVALID_ARGUMENT, "pager.map_wx");
        expect_err(tern_sys_vm_map_pager(t, 0, 0, TERN_PROT_READ, pp_send), TERN_INVALID_ARGUMENT,
                   "pager.map_size_0");
        expect_err(tern_sys_vm_map_pager(t, pc.region, kPage, TERN_PROT_READ, pp_send),
                   TERN_ALREADY_EXISTS, "pager.map_overlap");
        static tern_mapping maps[8];
        int64_t n = tern_sys_task_mappings(t, ptr(maps), 8);
        bool listed = false;
        for (int64_t i = 0; i < n && i < 8; ++i)
            listed = listed
                     || (maps[i].start == static_cast<uint64_t>(pc.region)
                         && maps[i].kind == TERN_MAPPING_PAGER && maps[i].resident_pages == 0);
        expect_true(listed, n, "pager.region_listed");

        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_child");
        tern_msg m{};
        expect_eq(receive(pp, m, kLong), 0, "pager.fault_message_arrives");
        expect_true(m.hdr.label == TERN_LABEL_PAGE_FAULT
                        && m.words[0] == static_cast<uint64_t>(pc.region) + 8
                        && m.words[1] == TERN_PROT_READ && m.words[2] == m.hdr.sender_badge
                        && m.words[3] != 0 && m.hdr.handle_count == 1 && m.handles[0] != 0,
                    static_cast<int64_t>(m.words[0]), "pager.fault_message_contents");
        int64_t ht = m.handles[0];
        expect_err(wait_child(pc.child, 0), TERN_WOULD_BLOCK, "pager.child_waits_for_page");
        for (const BadPointer& b : kBadPointers)
            expect_err(tern_sys_vm_supply(ht, pc.region, b.address), TERN_BAD_ADDRESS,
                       "pager.supply_page_{}", b.name);
        expect_err(tern_sys_vm_supply(ht, pc.child.stack_top - kPage, ptr(g_page)), TERN_NOT_FOUND,
                   "pager.supply_outside_pager_region");
        expect_err(tern_sys_vm_supply(ht, 0xFFFF800000000000ull, ptr(g_page)),
                   TERN_INVALID_ARGUMENT, "pager.supply_kernel_address");
        expect_err(tern_sys_vm_refuse(ht, pc.child.stack_top - kPage), TERN_NOT_FOUND,
                   "pager.refuse_outside_pager_region");
        expect_eq(tern_sys_vm_supply(ht, pc.region + kPage, ptr(g_page)), 0,
                  "pager.supply_other_page_first");
        expect_err(wait_child(pc.child, 0), TERN_WOULD_BLOCK, "pager.other_page_does_not_wake");
        // The second page again: the child waits for the first one, so nothing it does
        // can race with this (once woken it may exit at any moment).
        expect_err(tern_sys_vm_supply(ht, pc.region + kPage, ptr(g_page)), TERN_ALREADY_EXISTS,
                   "pager.supply_twice");
        expect_eq(tern_sys_vm_supply(ht, pc.region, ptr(g_page)), 0, "pager.supply");
        expect_eq(wait_child(pc.child), static_cast<int64_t>(kPattern),
                  "pager.child_saw_supplied_page");
        expect_err(tern_sys_vm_supply(ht, pc.region, ptr(g_page)), TERN_BAD_STATE,
                   "pager.supply_after_exit");
        close(ht);
        release_child(pc.child);
    }

    // Refusal without an exception port: the child dies of a page fault.
    if (make_pager_child(pc, "refuse", static_cast<uint64_t>(pp_send))) {
        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_refused_child");
        tern_msg m{};
        expect_eq(receive(pp, m, kLong), 0, "pager.fault_before_refusal");
        expect_eq(tern_sys_vm_refuse(m.handles[0], pc.region), 0, "pager.refuse");
        expect_eq(wait_child(pc.child), kPageFaultExit, "pager.refused_child_killed");
        close(m.handles[0]);
        release_child(pc.child);
    }

    // Refusal with an exception port: the fault becomes an exception message.
    int64_t ep = port_create(2);
    int64_t ep_send = dup(ep, TERN_RIGHT_SEND);
    if (make_pager_child(pc, "refuse_exception", static_cast<uint64_t>(pp_send),
                         static_cast<uint64_t>(ep_send))) {
        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_refused_child_2");
        tern_msg m{};
        expect_eq(receive(pp, m, kLong), 0, "pager.fault_before_refusal_2");
        // A page fault of our own while the child waits overwrites CR2; the exception
        // must still report the child's fault address.
        int64_t fresh = vm_allocate(kPage);
        if (fresh > 0)
            *reinterpret_cast<volatile uint64_t*>(fresh + 0x80) = 1;
        expect_eq(tern_sys_vm_refuse(m.handles[0], pc.region), 0, "pager.refuse_2");
        close(m.handles[0]);
        tern_msg e{};
        expect_eq(receive(ep, e, kLong), 0, "pager.refusal_exception_arrives");
        expect_true(e.hdr.label == TERN_LABEL_EXCEPTION && e.words[0] == 14
                        && e.hdr.handle_count == 1,
                    static_cast<int64_t>(e.words[0]), "pager.refusal_exception_contents");
        {
            expect_eq(static_cast<int64_t>(e.words[3]), pc.region + 8,
                      "pager.refusal_exception_fault_address");
        }
        vm_free(fresh, kPage);
        expect_eq(tern_sys_task_kill(pc.child.task, 0x99), 0, "pager.kill_after_exception");
        expect_eq(wait_child(pc.child), 0x99, "pager.killed_status");
        for (uint32_t i = 0; i < e.hdr.handle_count; ++i)
            close(e.handles[i]);
        release_child(pc.child);
    }

    // A pager that never answers: the thread waits until it is killed. Closing the pager's
    // port does not end the wait (not documented either way; printed as a note).
    int64_t lonely = port_create(2);
    int64_t lonely_send = dup(lonely, TERN_RIGHT_SEND);
    if (make_pager_child(pc, "pager_gone", static_cast<uint64_t>(lonely_send))) {
        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_orphan_child");
        tern_msg m{};
        expect_eq(receive(lonely, m, kLong), 0, "pager.orphan_fault_arrives");
        close(m.handles[0]);
        expect_err(wait_child(pc.child, 20 * kMs), TERN_TIMED_OUT, "pager.unanswered_blocks");
        close(lonely_send);
        close(lonely);
        lonely = lonely_send = 0;
        int64_t after_close = wait_child(pc.child, 100 * kMs);
        if (after_close == -TERN_TIMED_OUT) {
            tern::println("ktest: note: a thread waiting for a page keeps waiting after its "
                          "pager's port is closed");
            expect_eq(tern_sys_task_kill(pc.child.task, 0x98), 0, "pager.kill_waiting_child");
            expect_eq(wait_child(pc.child), 0x98, "pager.waiting_child_killed");
        } else {
            tern::println("ktest: note: closing the pager's port ended the waiting child with "
                          "status {:#x}",
                          after_close);
        }
        release_child(pc.child);
    }
    close(lonely_send);
    close(lonely);

    // Stopping a thread that waits for its pager (what a migration does to every thread)
    // must not turn the wait into a fatal fault.
    if (make_pager_child(pc, "stop_while_waiting", static_cast<uint64_t>(pp_send))) {
        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_child_to_stop");
        tern_msg m{};
        expect_eq(receive(pp, m, kLong), 0, "pager.fault_before_stop");
        {
            expect_eq(tern_sys_thread_stop(pc.child.thread, kLong), 0,
                      "pager.stop_thread_waiting_for_page");
            expect_err(wait_child(pc.child, 0), TERN_WOULD_BLOCK,
                       "pager.stopped_waiter_still_alive");
        }
        (void)tern_sys_vm_supply(m.handles[0], pc.region, ptr(g_page));
        (void)tern_sys_thread_resume(pc.child.thread);
        {
            expect_eq(wait_child(pc.child), static_cast<int64_t>(kPattern),
                      "pager.stopped_waiter_sees_page_after_resume");
        }
        // A second fault message may follow when the access is retried; drain it.
        tern_msg extra{};
        while (receive(pp, extra) == 0)
            for (uint32_t i = 0; i < extra.hdr.handle_count; ++i)
                close(extra.handles[i]);
        close(m.handles[0]);
        release_child(pc.child);
    }
    close(ep_send);
    close(ep);
    close(pp_none);
    close(pp_send);
    close(pp);
}

// ---- 13. Signals, port sets, memory objects, devices, the self handle -------------------

int64_t job_receive_key(Job& j) {
    tern_msg m{};
    int64_t r = tern_sys_port_receive(j.a, ptr(&m), kLong);
    j.b = m.hdr.label;
    j.c = m.words[0];
    return r;
}

void test_signals_and_sets() {
    int64_t p = port_create(2);
    if (!expect_ok(p, "signal.port"))
        return;
    expect_err(tern_sys_port_signal(p, 0), TERN_INVALID_ARGUMENT, "signal.zero_bits");
    expect_err(tern_sys_port_signal(0x3FFF, 1), TERN_BAD_HANDLE, "signal.bad_handle");
    int64_t send_only = dup(p, TERN_RIGHT_SEND);
    expect_err(tern_sys_port_signal(send_only, 1), TERN_ACCESS_DENIED, "signal.needs_signal_right");
    expect_eq(send_label(p, 70), 0, "signal.queue_message");
    expect_eq(send_label(p, 71), 0, "signal.fill_queue");
    expect_eq(tern_sys_port_signal(p, 0x5), 0, "signal.on_full_queue");
    expect_eq(tern_sys_port_signal(p, 0x10), 0, "signal.accumulate");
    tern_msg r{};
    expect_eq(receive(p, r), 0, "signal.receive_first");
    expect_true(r.hdr.label == TERN_LABEL_SIGNAL && r.words[0] == 0x15,
                static_cast<int64_t>(r.words[0]), "signal.signals_come_first_accumulated");
    expect_eq(receive(p, r), 0, "signal.then_messages");
    expect_eq(r.hdr.label, 70, "signal.message_order_kept");
    expect_eq(receive(p, r), 0, "signal.second_message");
    expect_err(receive(p, r), TERN_WOULD_BLOCK, "signal.bits_cleared_by_receive");
    Job j;
    j.a = static_cast<uint64_t>(p);
    if (expect_ok(start_job(j, job_receive_key), "signal.blocked_receiver")) {
        sleep_ms(5);
        expect_eq(tern_sys_port_signal(p, 0x100), 0, "signal.wakes_receiver");
        expect_true(join_job(j), 0, "signal.receiver_done");
        expect_true(j.result == 0 && j.b == TERN_LABEL_SIGNAL && j.c == 0x100, j.result,
                    "signal.receiver_got_bits");
    }
    int64_t sig = dup(p, TERN_RIGHT_SIGNAL);
    close(p);
    expect_err(tern_sys_port_signal(sig, 1), TERN_PEER_CLOSED, "signal.after_receiver_closed");
    close(sig);
    close(send_only);

    // Port sets.
    int64_t set = port_create(4);
    int64_t m1 = port_create(4);
    int64_t m2 = port_create(4);
    int64_t other = port_create(4);
    expect_err(tern_sys_port_set_add(set, m1, 0), TERN_INVALID_ARGUMENT, "set.key_0");
    expect_err(tern_sys_port_set_add(set, set, 1), TERN_INVALID_ARGUMENT, "set.add_itself");
    expect_err(tern_sys_port_set_add(set, m1, 1ull << 32), TERN_INVALID_ARGUMENT,
               "set.key_over_32_bits");
    int64_t set_send = dup(set, TERN_RIGHT_SEND);
    int64_t m1_send = dup(m1, TERN_RIGHT_SEND);
    expect_err(tern_sys_port_set_add(set_send, m1, 1), TERN_ACCESS_DENIED,
               "set.add_needs_receive_on_set");
    expect_err(tern_sys_port_set_add(set, m1_send, 1), TERN_ACCESS_DENIED,
               "set.add_needs_receive_on_member");
    expect_eq(tern_sys_port_set_add(set, m1, 1), 0, "set.add_first");
    expect_err(tern_sys_port_set_add(other, m1, 1), TERN_BUSY, "set.member_of_two_sets");
    expect_err(tern_sys_port_set_add(m1, other, 1), TERN_INVALID_ARGUMENT,
               "set.member_cannot_be_a_set");
    expect_eq(tern_sys_port_set_add(set, m2, 2), 0, "set.add_second");
    expect_err(tern_sys_port_set_add(other, set, 3), TERN_INVALID_ARGUMENT,
               "set.set_cannot_be_a_member");
    expect_eq(send_label(m2, 22), 0, "set.message_to_second");
    expect_eq(send_label(m1, 11), 0, "set.message_to_first");
    expect_eq(send_label(set, 99), 0, "set.message_to_set_itself");
    expect_eq(receive(set, r), 0, "set.own_queue_first_key_0");
    expect_eq(r.hdr.label, 99, "set.own_queue_message");
    int64_t k1 = receive(set, r);
    uint32_t l1 = r.hdr.label;
    int64_t k2 = receive(set, r);
    uint32_t l2 = r.hdr.label;
    expect_true((k1 == 1 && l1 == 11 && k2 == 2 && l2 == 22)
                    || (k1 == 2 && l1 == 22 && k2 == 1 && l2 == 11),
                k1, "set.members_report_their_keys");
    expect_err(receive(set, r), TERN_WOULD_BLOCK, "set.empty");
    expect_err(receive(m1, r), TERN_WOULD_BLOCK, "set.member_drained_through_set");
    expect_eq(tern_sys_port_signal(m2, 0x40), 0, "set.signal_member");
    expect_eq(receive(set, r), 2, "set.member_signal_key");
    expect_true(r.hdr.label == TERN_LABEL_SIGNAL && r.words[0] == 0x40, r.hdr.label,
                "set.member_signal_message");
    j.a = static_cast<uint64_t>(set);
    if (expect_ok(start_job(j, job_receive_key), "set.blocked_receiver")) {
        sleep_ms(5);
        expect_eq(send_label(m1_send, 12), 0, "set.member_message_wakes_set_receiver");
        expect_true(join_job(j), 0, "set.receiver_done");
        expect_true(j.result == 1 && j.b == 12, j.result, "set.woken_receiver_got_member_message");
    }
    expect_eq(tern_sys_port_set_remove(set, m1), 0, "set.remove");
    expect_err(tern_sys_port_set_remove(set, m1), TERN_NOT_FOUND, "set.remove_twice");
    expect_err(tern_sys_port_set_remove(set, other), TERN_NOT_FOUND, "set.remove_non_member");
    expect_eq(send_label(m1, 13), 0, "set.message_to_removed_member");
    expect_err(receive(set, r), TERN_WOULD_BLOCK, "set.removed_member_not_seen");
    expect_eq(receive(m1, r), 0, "set.removed_member_receives_itself");
    expect_eq(tern_sys_port_set_add(other, m1, 5), 0, "set.removed_member_joins_another");
    // Thirty-two members at most.
    static int64_t extra[40];
    int added = 1; // m2
    int64_t last = 0;
    int made = 0;
    for (; made < 40; ++made) {
        extra[made] = port_create(1);
        last = tern_sys_port_set_add(set, extra[made], 100 + static_cast<uint64_t>(made));
        if (last < 0)
            break;
        ++added;
    }
    expect_err(last, TERN_NO_SPACE, "set.member_limit");
    expect_eq(added, 32, "set.member_limit_is_32");
    for (int i = 0; i <= made && i < 40; ++i)
        close(extra[i]);
    // Closing the set's receive right frees its members for another set.
    close(set);
    expect_eq(tern_sys_port_set_add(other, m2, 6), 0, "set.members_freed_when_set_closes");
    close(set_send);
    close(m1_send);
    close(m1);
    close(m2);
    close(other);
}

void test_memory_objects() {
    constexpr uint32_t kRw = TERN_PROT_READ | TERN_PROT_WRITE;
    expect_err(tern_sys_memory_create(0, 0), TERN_INVALID_ARGUMENT, "memobj.create_size_0");
    expect_err(tern_sys_memory_create(100, 0), TERN_INVALID_ARGUMENT, "memobj.create_unaligned");
    expect_err(tern_sys_memory_create(kPage, 2), TERN_INVALID_ARGUMENT, "memobj.create_bad_flags");
    expect_err(tern_sys_memory_create(512ull << 20, 0), TERN_QUOTA_EXCEEDED,
               "memobj.create_over_quota");
    int64_t mem = tern_sys_memory_create(2 * kPage, 0);
    if (!expect_ok(mem, "memobj.create"))
        return;
    int64_t a = tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 0, 2 * kPage, kRw);
    int64_t b = tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, kPage, kPage, TERN_PROT_READ);
    if (expect_ok(a, "memobj.map_rw") && expect_ok(b, "memobj.map_second_page_read_only")) {
        auto* wa = reinterpret_cast<volatile uint64_t*>(a);
        auto* wb = reinterpret_cast<volatile uint64_t*>(b);
        expect_true(wa[0] == 0 && wa[600] == 0, 0, "memobj.zeroed");
        wa[512 + 3] = 0xC0FFEE;
        expect_eq(static_cast<int64_t>(wb[3]), 0xC0FFEE, "memobj.mappings_share_pages");
        tern_msg* in_ro = reinterpret_cast<tern_msg*>(b);
        int64_t p = port_create(1);
        (void)send_label(p, 1);
        expect_err(tern_sys_port_receive(p, ptr(in_ro), 0), TERN_BAD_ADDRESS,
                   "memobj.read_only_mapping_not_writable");
        close(p);
    }
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 3 * kPage, kPage, kRw),
               TERN_OUT_OF_RANGE, "memobj.map_offset_past_end");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 0, 3 * kPage, kRw),
               TERN_OUT_OF_RANGE, "memobj.map_size_past_end");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 100, kPage, kRw), TERN_OUT_OF_RANGE,
               "memobj.map_unaligned_offset");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 0, 0, kRw), TERN_OUT_OF_RANGE,
               "memobj.map_size_0");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 0, kPage, kRw | TERN_PROT_EXEC),
               TERN_INVALID_ARGUMENT, "memobj.map_wx");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, 0x3FFF, 0, 0, kPage, kRw), TERN_BAD_HANDLE,
               "memobj.map_bad_handle");
    int64_t port = port_create(1);
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, port, 0, 0, kPage, kRw), TERN_WRONG_TYPE,
               "memobj.map_port");
    expect_err(tern_sys_vm_map_memory(port, mem, 0, 0, kPage, kRw), TERN_WRONG_TYPE,
               "memobj.map_into_port");
    int64_t read_only = dup(mem, TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_TRANSFER);
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, read_only, 0, 0, kPage, kRw),
               TERN_ACCESS_DENIED, "memobj.map_writable_needs_write");
    int64_t ro_map =
        tern_sys_vm_map_memory(TERN_HANDLE_SELF, read_only, 0, 0, kPage, TERN_PROT_READ);
    expect_ok(ro_map, "memobj.map_read_only_with_read_only_handle");
    int64_t phys = tern_sys_memory_physical(mem, 8);
    expect_true(phys > 0 && (phys & 0xFFF) == 8, phys, "memobj.physical_address");
    expect_err(tern_sys_memory_physical(mem, 2 * kPage), TERN_OUT_OF_RANGE,
               "memobj.physical_past_end");
    expect_err(tern_sys_memory_physical(read_only, 0), TERN_ACCESS_DENIED,
               "memobj.physical_needs_control");

    // Shared with a child task: it reads what we wrote.
    Child c;
    CloneOptions o;
    o.mode = kChildReadParam;
    o.start = false;
    if (a > 0 && clone_child(c, "memory_object_reader", o)) {
        int64_t there = tern_sys_vm_map_memory(c.task, mem, 0, kPage, kPage, TERN_PROT_READ);
        if (expect_ok(there, "memobj.map_into_child")) {
            uint64_t param = static_cast<uint64_t>(there) + 24;
            (void)tern_sys_task_vm_write(c.task, ptr(const_cast<uint64_t*>(&g_child_param)),
                                         ptr(&param), 8);
            expect_eq(tern_sys_thread_resume(c.thread), 0, "memobj.start_child");
            expect_eq(wait_child(c), 0xC0FFEE, "memobj.child_reads_shared_page");
        }
        release_child(c);
    }
    // The object outlives our handles while mapped.
    close(mem);
    close(read_only);
    if (a > 0) {
        reinterpret_cast<volatile uint64_t*>(a)[0] = 7;
        expect_eq(static_cast<int64_t>(reinterpret_cast<volatile uint64_t*>(a)[0]), 7,
                  "memobj.mapping_survives_handle_close");
        expect_eq(tern_sys_vm_free(a, 2 * kPage), 0, "memobj.unmap");
    }
    vm_free(b, kPage);
    vm_free(ro_map, kPage);

    // Memory objects count against the memory quota: 64 MiB in an object plus 230 MiB of
    // anonymous memory is more than the 256 MiB a task may have.
    int64_t big = tern_sys_memory_create(64ull << 20, 0);
    if (expect_ok(big, "memobj.create_64MiB")) {
        int64_t anon = vm_allocate(230ull << 20);
        expect_err(anon, TERN_QUOTA_EXCEEDED, "memobj.object_counts_against_quota");
        vm_free(anon, 230ull << 20);
        close(big);
    }

    // Device calls without a device resource.
    expect_err(tern_sys_irq_create(0x3FFF, 1), TERN_BAD_HANDLE, "device.irq_create_bad_handle");
    expect_err(tern_sys_irq_create(port, 1), TERN_WRONG_TYPE, "device.irq_create_with_port");
    expect_err(tern_sys_irq_create(TERN_HANDLE_IRQ_RESOURCE, 1), TERN_BAD_HANDLE,
               "device.no_irq_resource_for_tests");
    expect_err(tern_sys_irq_bind(0x3FFF, port, 1), TERN_BAD_HANDLE, "device.irq_bind_bad_handle");
    expect_err(tern_sys_irq_bind(port, port, 1), TERN_WRONG_TYPE, "device.irq_bind_port");
    expect_err(tern_sys_irq_ack(0x3FFF), TERN_BAD_HANDLE, "device.irq_ack_bad_handle");
    expect_err(tern_sys_irq_ack(port), TERN_WRONG_TYPE, "device.irq_ack_port");
    expect_err(tern_sys_ioport_enable(0x3FFF, 0xF4, 1), TERN_BAD_HANDLE,
               "device.ioport_enable_bad_handle");
    expect_err(tern_sys_ioport_enable(TERN_HANDLE_IOPORT_RESOURCE, 0xF4, 1), TERN_BAD_HANDLE,
               "device.no_ioport_resource_for_tests");
    expect_err(tern_sys_ioport_enable(port, 0xF4, 1), TERN_WRONG_TYPE, "device.ioport_enable_port");
    expect_err(tern_sys_ioport_enable(port, 0xFFFF, 2), TERN_INVALID_ARGUMENT,
               "device.ioport_range_past_64K");
    expect_err(tern_sys_ioport_enable(port, 0x60, 0), TERN_INVALID_ARGUMENT,
               "device.ioport_count_0");
    expect_err(tern_sys_memory_create_physical(0x3FFF, 0xFEE00000, kPage), TERN_BAD_HANDLE,
               "device.mmio_bad_handle");
    expect_err(tern_sys_memory_create_physical(port, 0xFEE00000, kPage), TERN_WRONG_TYPE,
               "device.mmio_with_port");
    expect_err(tern_sys_memory_create_physical(port, 0xFEE00001, kPage), TERN_MISALIGNED,
               "device.mmio_misaligned");
    expect_err(tern_sys_memory_create_physical(port, 0xFEE00000, 0), TERN_INVALID_ARGUMENT,
               "device.mmio_size_0");
    close(port);
}

void test_self_handle() {
    static tern_handle_info infos[64];
    int64_t n = tern_sys_task_handles(TERN_HANDLE_SELF, ptr(infos), 64);
    bool found = false;
    for (int64_t i = 0; i < n && i < 64; ++i)
        found = found
                || (infos[i].handle == TERN_HANDLE_SELF && infos[i].type == TERN_OBJ_TASK
                    && infos[i].rights == (TERN_RIGHTS_ALL & ~TERN_RIGHT_RECEIVE));
    expect_true(found, n, "self.handle_listed_with_rights");
    static tern_mapping maps[64];
    n = tern_sys_task_mappings(TERN_HANDLE_SELF, ptr(maps), 64);
    bool text = false, stack = false;
    for (int64_t i = 0; i < n && i < 64; ++i) {
        text = text
               || (maps[i].start == ptr(__user_image_start) && maps[i].kind == TERN_MAPPING_IMAGE
                   && maps[i].prot == (TERN_PROT_READ | TERN_PROT_EXEC));
        stack = stack || maps[i].kind == TERN_MAPPING_STACK;
    }
    expect_true(text && stack, n, "self.mappings_show_image_and_stack");
    expect_err(tern_sys_task_wait(TERN_HANDLE_SELF, 0), TERN_WOULD_BLOCK, "self.wait_would_block");
    static uint64_t word = 0x51;
    uint64_t back = 0;
    expect_eq(tern_sys_task_vm_read(TERN_HANDLE_SELF, ptr(&word), ptr(&back), 8), 8,
              "self.vm_read");
    expect_eq(static_cast<int64_t>(back), 0x51, "self.vm_read_value");
    expect_err(dup(TERN_HANDLE_SELF, TERN_RIGHTS_SAME | TERN_RIGHT_RECEIVE), TERN_ACCESS_DENIED,
               "self.no_receive_right");
    int64_t copy = dup(TERN_HANDLE_SELF, TERN_RIGHT_READ);
    expect_ok(copy, "self.duplicate");
    expect_err(tern_sys_task_kill(copy, 1), TERN_ACCESS_DENIED, "self.read_only_copy_cannot_kill");
    close(copy);
}

// The sections, in the order they run. The start argument selects some of them by bit
// (bit i runs kSections[i]); 0 runs them all.
struct Section {
    const char* name;
    void (*run)();
};
// ---- Death notices: object_watch and object_unwatch ------------------------------------

void test_watches() {
    int64_t notices = port_create(4);
    int64_t watched = port_create(1);
    if (!expect_ok(notices, "watch.notice_port") || !expect_ok(watched, "watch.watched_port"))
        return;
    int64_t watched_send = dup(watched, TERN_RIGHT_SEND);
    expect_eq(tern_sys_object_watch(watched_send, notices, 11), 0, "watch.port");
    expect_eq(tern_sys_object_watch(watched_send, notices, 12), 0, "watch.port_second_cookie");
    expect_eq(tern_sys_object_unwatch(watched_send, notices, 11), 0, "unwatch.port");
    expect_err(tern_sys_object_unwatch(watched_send, notices, 11), TERN_NOT_FOUND, "unwatch.twice");
    expect_err(tern_sys_object_unwatch(watched_send, notices, 99), TERN_NOT_FOUND,
               "unwatch.unknown_cookie");
    int64_t notices_send = dup(notices, TERN_RIGHT_SEND);
    expect_err(tern_sys_object_unwatch(watched_send, notices_send, 12), TERN_ACCESS_DENIED,
               "unwatch.needs_receive_on_notice_port");
    expect_err(tern_sys_object_unwatch(0x3FFF, notices, 12), TERN_BAD_HANDLE, "unwatch.bad_handle");
    int64_t memory = tern_sys_memory_create(kPage, 0);
    if (expect_ok(memory, "unwatch.memory_object")) {
        expect_err(tern_sys_object_unwatch(memory, notices, 12), TERN_WRONG_TYPE,
                   "unwatch.wrong_type");
        close(memory);
    }
    close(watched);
    tern_msg r{};
    expect_eq(receive(notices, r), 0, "watch.notice_arrives");
    expect_true(r.hdr.label == TERN_LABEL_OBJECT_GONE && r.words[0] == 12, r.words[0],
                "watch.only_the_remaining_watch_fired");
    expect_err(receive(notices, r), TERN_WOULD_BLOCK, "unwatch.cancelled_watch_is_silent");

    // A task's watches likewise: the one left reports the exit status.
    const char name[] = "watched";
    int64_t task = tern_sys_task_create(ptr(name), sizeof(name) - 1);
    if (expect_ok(task, "watch.task_create")) {
        expect_eq(tern_sys_object_watch(task, notices, 31), 0, "watch.task");
        expect_eq(tern_sys_object_watch(task, notices, 32), 0, "watch.task_second_cookie");
        expect_eq(tern_sys_object_unwatch(task, notices, 31), 0, "unwatch.task");
        expect_eq(tern_sys_task_kill(task, 5), 0, "watch.kill_task");
        expect_eq(receive(notices, r, kLong), 0, "watch.task_notice_arrives");
        expect_true(r.words[0] == 32 && r.words[1] == 5 && r.words[2] == TERN_OBJ_TASK, r.words[0],
                    "watch.task_notice_has_cookie_and_status");
        expect_err(receive(notices, r), TERN_WOULD_BLOCK, "unwatch.task_watch_is_silent");
        close(task);
    }
    close(watched_send);
    close(notices_send);
    close(notices);
}

constexpr Section kSections[] = {
    {"basics", test_basics},
    {"handles", test_handles},
    {"port_basics", test_port_basics},
    {"port_dead_receiver", test_port_dead_receiver},
    {"port_data", test_port_data},
    {"port_handles", test_port_handles},
    {"calls_in_task", test_calls_in_task},
    {"calls_between_tasks", test_calls_between_tasks},
    {"capture_restore", test_capture_restore},
    {"memory", test_memory},
    {"threads", test_threads},
    {"handle_quota", test_handle_quota},
    {"tasks", test_tasks},
    {"thread_control", test_thread_control},
    {"exceptions", test_exceptions},
    {"pager", test_pager},
    {"signals_and_sets", test_signals_and_sets},
    {"memory_objects", test_memory_objects},
    {"self_handle", test_self_handle},
    {"watches", test_watches},
};

} // namespace

extern "C" int main(uint64_t arg) {
    tern::println("ktest: start (arg {:#x})", arg);
    for (size_t i = 0; i < sizeof(kSections) / sizeof(kSections[0]); ++i) {
        if (arg == 0 || (arg & (1ull << i)))
            kSections[i].run();
    }
    tern::println("ktest: {} of {} checks passed, {} failed, {} known kernel bugs",
                  g_checks - g_failures - g_known, g_checks, g_failures, g_known);
    return g_failures == 0 ? 0 : 1;
}

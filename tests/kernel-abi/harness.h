#pragma once
// The harness every kernel-ABI test program shares: checks, reporting and the exit
// status; small syscall wrappers; threads of the test task (jobs); and child tasks that
// are clones of the test program.
//
// A test program is one syscall family (tests/kernel-abi/<family>.cpp, boot module
// abi_<family>). Its main() runs its checks and returns abi::finish():
//
//     extern "C" int main(uint64_t) {
//         abi::begin("abi_port");
//         test_port_basics();
//         return abi::finish();
//     }
//
// Output: one "<program>: ok <check>" or "<program>: FAILED <check>: <detail>" line per
// check, a "<program>: skipped <check>: <why>" line for a check the machine cannot run,
// and a summary. The exit status is 0 iff no check failed and at least one ran.
//
// Behaviour that needs a task to die (a write to a read-only page, a refused pager page)
// is checked in child tasks, never in the test task itself. A child is a clone of the
// test program made with task control alone: task_create, task_vm_allocate and
// task_vm_write of the program's image at the same addresses, then task_thread_create at
// one of the child entry points. The child receives its start argument as
// (mode << 32) | handle, and a second parameter through g_child_param, which the parent
// writes into the clone before starting it. Children never use the heap, since the
// parent's heap mappings are not copied.

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

extern "C" {
// Bounds of this program's image, defined by libc/native/user.ld. A clone copies the
// text, read-only data and read-write data segments from here.
extern char __user_image_start[];
extern char __text_end[];
extern char __rodata_end[];
extern char __user_image_end[];
// Entry points written in assembly (harness.cpp). A thread starts with RSP 16-byte
// aligned and no return address pushed, so C++ code is entered through a `call` that
// restores the alignment the System V ABI promises at a function's first instruction.
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
}

namespace abi {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMs = 1000000;
constexpr uint64_t kSecond = 1000 * kMs;
// The bound on every wait that should end quickly, so a kernel bug fails a check instead
// of hanging the program.
constexpr uint64_t kLong = 5 * kSecond;
constexpr int64_t kPageFaultExit = TERN_EXIT_FAULT_BASE + 14;
// task_vm_write and task_vm_read move at most this much per call.
constexpr uint64_t kMaxTransfer = 1ull << 20;

// ---- Reporting ------------------------------------------------------------------------

// Names the program in every output line and resets the counts.
void begin(const char* program);
// Prints the summary; the exit status for main(): 0 iff no check failed and some ran.
int finish();
void report(bool ok, const char* name, const char* detail);
// A check this machine cannot run (a CPU feature it lacks): counted apart, never passed.
void skip(const char* name, const char* why);

// "-3 (BAD_HANDLE)" for an error, "42 (0x2a)" for a value.
void describe(char* out, size_t size, int64_t value);

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

inline uint64_t ptr(const void* p) { return reinterpret_cast<uint64_t>(p); }
inline uint64_t now_ns() { return static_cast<uint64_t>(tern_sys_clock_monotonic()); }
inline void sleep_ms(uint64_t ms) { (void)tern_sys_thread_sleep(ms * kMs); }
inline uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

inline tern_msg make_msg(uint32_t label, uint64_t w0 = 0, uint64_t w1 = 0) {
    tern_msg m{};
    m.hdr.label = label;
    m.words[0] = w0;
    m.words[1] = w1;
    return m;
}

inline int64_t send(uint64_t port, const tern_msg& m, uint64_t timeout = TERN_TIMEOUT_NONE) {
    return tern_sys_port_send(port, ptr(&m), timeout);
}

inline int64_t send_label(uint64_t port, uint32_t label, uint64_t w0 = 0,
                          uint64_t timeout = TERN_TIMEOUT_NONE) {
    tern_msg m = make_msg(label, w0);
    return send(port, m, timeout);
}

inline int64_t receive(uint64_t port, tern_msg& m, uint64_t timeout = TERN_TIMEOUT_NONE,
                       void* buffer = nullptr, uint32_t capacity = 0) {
    m = tern_msg{};
    m.data = ptr(buffer);
    m.data_capacity = capacity;
    return tern_sys_port_receive(port, ptr(&m), timeout);
}

inline int64_t call(uint64_t port, tern_msg& m, uint64_t timeout = kLong) {
    return tern_sys_port_call(port, ptr(&m), timeout);
}

inline int64_t reply_word(uint64_t reply, uint64_t w0) {
    tern_msg m = make_msg(0, w0);
    return tern_sys_port_reply(reply, ptr(&m));
}

inline int64_t port_create(uint64_t capacity = 4) { return tern_sys_port_create(capacity); }
inline int64_t dup(uint64_t h, uint64_t rights) { return tern_sys_handle_duplicate(h, rights); }
inline void close(int64_t h) {
    if (h > 0)
        (void)tern_sys_handle_close(static_cast<uint64_t>(h));
}

inline int64_t vm_allocate(uint64_t size, uint32_t prot = TERN_PROT_READ | TERN_PROT_WRITE) {
    return tern_sys_vm_allocate(size, prot);
}
inline void vm_free(int64_t address, uint64_t size) {
    if (address > 0)
        (void)tern_sys_vm_free(static_cast<uint64_t>(address), size);
}

// Addresses no syscall may dereference: unmapped, kernel, non-canonical, or reaching past
// the end of user space.
struct BadPointer {
    const char* name;
    uint64_t address;
};
inline constexpr BadPointer kBadPointers[] = {
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
extern const uint64_t kReadOnlyWords[64];

// Reads through a volatile pointer, so the compiler cannot fold a read of a const object
// into its initializer and hide a write the kernel should never have made.
inline uint64_t read_word(const uint64_t* p) { return *static_cast<const volatile uint64_t*>(p); }

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
int64_t start_job(Job& j, int64_t (*fn)(Job&), uint64_t stack_top = 0, uint64_t priority = 10);
bool job_done(const Job& j);
// Waits for the job's thread to finish, then frees its stack and handle.
bool join_job(Job& j, uint64_t timeout = kLong);

// Jobs more than one family uses: spin until stop is set, counting; block in a receive on
// port a.
int64_t job_spin(Job& j);
int64_t job_block_on_port(Job& j);
// Answers `c` calls on port a: reply = 3 * word + 1 with label + 1; with b == 1 it drops
// the reply handle of each call unanswered instead.
int64_t job_server(Job& j);
// Calls port b with label 50 and word a; returns the reply's first word.
int64_t job_caller(Job& j);

// ---- Child tasks ----------------------------------------------------------------------

// Written by the parent into a clone before it starts (see the file comment). It lives
// in .data so that it is part of the copied image.
extern volatile uint64_t g_child_param;

enum ChildMode : uint32_t {
    kChildExitParam = 1,      // exit with g_child_param
    kChildCall = 2,           // port_call(handle, words[0] = param); exit with the reply
    kChildCallTwice = 3,      // a call that must be INTERRUPTED, then a second call
    kChildServe = 4,          // answer calls on handle with 2x+1 until label 0 arrives
    kChildReadParam = 5,      // exit with the low 31 bits of the word at address param
    kChildProtectWrite = 6,   // write a page, make it read-only, write again
    kChildFreeTouch = 7,      // write a page, free it, read it again
    kChildHold = 8,           // receive one message on handle, then sleep forever
    kChildSleep = 9,          // sleep forever
    kChildServeReverse = 10,  // take param calls on handle, then answer them last first
                              // (label + 1, 3x+1); exit with the number answered
    kChildCallSleepCall = 11, // call handle (words[0] = 1), sleep param ms, call again
                              // (words[0] = 2); exit with the second reply
    kChildCallRegsTwice = 12, // kChildCallTwice with port_call_regs
};

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

// Maps [start, end) of this program into `task` at the same addresses and copies it.
int64_t copy_segment(uint64_t task, uint64_t start, uint64_t end, uint32_t prot);
// Builds a clone of this program (see the file comment). Reports one check; on failure
// everything made so far is released.
bool clone_child(Child& c, const char* what, const CloneOptions& o);
inline int64_t wait_child(const Child& c, uint64_t timeout = kLong) {
    return tern_sys_task_wait(c.task, timeout);
}
// Kills the child if it still runs and drops our handles to it.
void release_child(Child& c);

} // namespace abi

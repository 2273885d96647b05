// The native user-space runtime: program start and exit, and the handful of symbols the
// compiler and the base library expect an environment to provide (stack-protector guard,
// pure-virtual trap, assertion handler, exit-time destructors).

#include <base/assert.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/print.h>
#include <tern/runtime.h>
#include <tern/startup.h>
#include <tern/syscall.h>

// Bounds of the constructor table, defined by libc/native/user.ld.
extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();

extern "C" {

// The stack-protector canary (-mstack-protector-guard=global reads this symbol). The
// initial value only guards the few frames that run before tern_start reseeds it; it is
// deliberately not zero so a string overflow that writes a NUL is still caught.
uintptr_t __stack_chk_guard = 0x2f8b6e13c47a95d1ull;

[[noreturn]] void __stack_chk_fail() { tern::abort("stack smashing detected"); }

[[noreturn]] void __cxa_pure_virtual() { tern::abort("pure virtual function called"); }

// Identifies this module to __cxa_atexit. A static program is one module, so only its
// address matters.
void* __dso_handle = &__dso_handle;

} // extern "C"

namespace {

// Global objects with destructors register them here while .init_array runs. The table
// is fixed so exit never depends on the heap; a program that needs more gets an error
// from __cxa_atexit (and its destructor simply does not run), not a crash.
constexpr size_t kMaxExitHandlers = 64;

struct ExitHandler {
    void (*function)(void*);
    void* argument;
};

ExitHandler g_exit_handlers[kMaxExitHandlers];
size_t g_exit_handler_count = 0;

void run_exit_handlers() {
    // Newest first, and each entry is removed before it runs, so a handler that calls
    // tern::exit itself does not run the same destructors twice.
    while (g_exit_handler_count > 0) {
        ExitHandler handler = g_exit_handlers[--g_exit_handler_count];
        handler.function(handler.argument);
    }
}

uint64_t mix64(uint64_t x) {
    // The splitmix64 finaliser: every input bit affects every output bit.
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

// Replaces the link-time canary with one an attacker cannot read from the ELF file.
// FIXME: the boot time and stack address are guessable; take a seed from the kernel once
// it hands programs one.
[[gnu::noinline]] void seed_stack_guard(uint64_t arg) {
    uint64_t seed = static_cast<uint64_t>(tern_sys_clock_monotonic());
    seed ^= reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) * 0x9e3779b97f4a7c15ull;
    seed ^= arg << 17;
    uintptr_t guard = mix64(seed ^ __stack_chk_guard);
    // Keep the low byte zero so a C-string overflow cannot reproduce the whole canary.
    __stack_chk_guard = guard & ~uintptr_t(0xff);
}

} // namespace

extern "C" int __cxa_atexit(void (*function)(void*), void* argument, void* dso) {
    (void)dso;
    if (g_exit_handler_count == kMaxExitHandlers)
        return -1;
    g_exit_handlers[g_exit_handler_count++] = ExitHandler{function, argument};
    return 0;
}

// The canary changes inside this function, so it must not carry a canary check of its
// own; it never returns, so it has nothing to protect.
extern "C" [[noreturn, clang::no_stack_protector]] void tern_start(uint64_t arg) {
    seed_stack_guard(arg);
    tern::startup_init(arg);
    for (auto* constructor = __init_array_start; constructor < __init_array_end; ++constructor)
        (*constructor)();
    tern::exit(main(arg));
}

namespace tern {

void exit(int64_t status) {
    run_exit_handlers();
    tern_sys_task_exit(static_cast<uint64_t>(status));
    // task_exit does not return; trap rather than run on if the kernel ever did.
    __builtin_trap();
}

void abort(const char* reason) {
    println("tern: abort: {}", reason);
    tern_sys_task_exit(static_cast<uint64_t>(kAbortStatus));
    // task_exit does not return; trap rather than run on if the kernel ever did.
    __builtin_trap();
}

} // namespace tern

namespace base {

void assert_failed(const char* expr, const char* file, int line) {
    tern::println("ASSERTION FAILED: {} at {}:{}", expr, file, line);
    tern_sys_task_exit(static_cast<uint64_t>(tern::kAbortStatus));
    // task_exit does not return; trap rather than run on if the kernel ever did.
    __builtin_trap();
}

} // namespace base

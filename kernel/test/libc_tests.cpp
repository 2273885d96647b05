// Self-tests that run C programs built on musl (tests/libc/, docs/libc.md): the C library
// and its Tern backend checked end to end from ring 3.
#include <kernel/core/clock.h>
#include <kernel/core/loader.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/test/ktest.h>

namespace kernel {
namespace {

constexpr uint64_t kSecond = 1000000000ull;

int64_t run_to_exit(KTestContext& ktest_ctx, const char* module, uint64_t timeout_ns) {
    auto status = run_module_to_exit(module, 0, timeout_ns);
    if (status.is_error()) {
        ktest_ctx.fail(__FILE__, __LINE__, "running '{}': {}", module, status.error());
        return -1;
    }
    return status.value();
}

// printf, strtod, malloc (small blocks and a 10 MiB mmap), qsort, strings, the clock,
// errno and thread-local storage; the program prints one line per check.
KTEST(user, libc_smoke) {
    KEXPECT_EQ(run_to_exit(ktest_ctx, "libc_smoke", 20 * kSecond), int64_t(0));
}

// A signal a program sends itself takes its default action: abort() ends the program with
// 128 + SIGABRT.
KTEST(user, libc_signal) {
    KEXPECT_EQ(run_to_exit(ktest_ctx, "libc_signal", 20 * kSecond), int64_t(128 + 6));
}

// The C library benchmark runs to the end (its figure means instructions only under
// -icount, in bench mode).
KTEST(user, libc_bench_runs) {
    KEXPECT_EQ(run_to_exit(ktest_ctx, "libc_bench", 20 * kSecond), int64_t(0));
}

} // namespace
} // namespace kernel

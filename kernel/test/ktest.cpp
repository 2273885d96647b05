#include <kernel/core/clock.h>
#include <kernel/core/log.h>
#include <kernel/test/ktest.h>

extern "C" const kernel::KTest __ktests_start[];
extern "C" const kernel::KTest __ktests_end[];

namespace kernel {

int ktest_run_all(base::StringView filter) {
    int passed = 0, failed = 0;
    uint64_t start = monotonic_ns();
    for (const KTest* t = __ktests_start; t < __ktests_end; ++t) {
        base::StringView name(t->name);
        if (!name.starts_with(filter))
            continue;
        // crash.* tests end the boot on purpose (they check the panic path); they run
        // only when asked for by name.
        if (name.starts_with(base::StringView("crash."))
            && !filter.starts_with(base::StringView("crash.")))
            continue;
        KTestContext ctx;
        t->fn(ctx);
        if (ctx.failed()) {
            print("FAIL {}: {}\n", name, ctx.reason());
            ++failed;
        } else {
            print("PASS {}\n", name);
            ++passed;
        }
    }
    uint64_t ms = (monotonic_ns() - start) / 1000000;
    print("SELFTEST SUMMARY: {} passed, {} failed, {} ms\n", passed, failed, ms);
    return failed;
}

} // namespace kernel

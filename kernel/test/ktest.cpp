#include <kernel/core/clock.h>
#include <kernel/core/log.h>
#include <kernel/test/ktest.h>

extern "C" const kernel::KTest __ktests_start[];
extern "C" const kernel::KTest __ktests_end[];

namespace kernel {

namespace {

bool selected(base::StringView name, base::StringView filter) {
    if (!name.starts_with(filter))
        return false;
    // crash.* tests end the boot on purpose (they check the panic path); they run only
    // when asked for by name.
    return !name.starts_with(base::StringView("crash."))
           || filter.starts_with(base::StringView("crash."));
}

} // namespace

int ktest_run_all(base::StringView filter) {
    int planned = 0, passed = 0, failed = 0, skipped = 0;
    for (const KTest* t = __ktests_start; t < __ktests_end; ++t)
        planned += selected(base::StringView(t->name), filter) ? 1 : 0;
    // The runner outside (tools/qemu_run.py) holds the run to this count, so a test that
    // never reports (a hang, a lost line) fails the run.
    print("SELFTEST PLAN: {} tests\n", planned);
    uint64_t start = monotonic_ns();
    for (const KTest* t = __ktests_start; t < __ktests_end; ++t) {
        base::StringView name(t->name);
        if (!selected(name, filter))
            continue;
        KTestContext ctx;
        t->fn(ctx);
        if (ctx.failed()) {
            print("FAIL {}: {}\n", name, ctx.reason());
            ++failed;
        } else if (ctx.skipped()) {
            print("SKIP {}: {}\n", name, ctx.reason());
            ++skipped;
        } else {
            print("PASS {}\n", name);
            ++passed;
        }
    }
    uint64_t ms = (monotonic_ns() - start) / 1000000;
    print("SELFTEST SUMMARY: {} passed, {} failed, {} skipped, {} ms\n", passed, failed, skipped,
          ms);
    return failed;
}

} // namespace kernel

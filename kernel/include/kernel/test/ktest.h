#pragma once
// In-kernel tests, declared next to the code they test:
//
//   KTEST(mm, alloc_and_free) {
//       auto page = page_allocator().alloc_page();
//       KEXPECT(page.ok());
//   }
//
// The self-test boot mode (`mode=selftest` on the kernel command line) runs every test
// (or those whose name starts with `selftest_filter=`): it prints how many it will run
// (`SELFTEST PLAN: N tests`), then `PASS name`, `FAIL name: reason` or `SKIP name: reason`
// (KSKIP: the machine lacks what the test needs) per test and a summary line, and exits
// QEMU with a status.
#include <base/format.h>
#include <base/string_view.h>

namespace kernel {

class KTestContext {
public:
    bool failed() const { return m_failed; }
    bool skipped() const { return m_skipped; }
    const char* reason() const { return m_reason; }
    void skip(base::StringView why) {
        m_skipped = true;
        base::format(m_reason, sizeof(m_reason), "{}", why);
    }
    template<typename... Args>
    void fail(const char* file, int line, base::StringView fmt, const Args&... args) {
        if (m_failed)
            return;
        m_failed = true;
        size_t n = base::format(m_reason, sizeof(m_reason), "{}:{}: ", file, line);
        if (n < sizeof(m_reason))
            base::format(m_reason + n, sizeof(m_reason) - n, fmt, args...);
    }

private:
    bool m_failed = false;
    bool m_skipped = false;
    char m_reason[256] = {};
};

struct KTest {
    const char* name;
    void (*fn)(KTestContext&);
};

// Runs the registered tests whose names start with `filter`; returns the failure count.
int ktest_run_all(base::StringView filter);

} // namespace kernel

#define KTEST(group, name)                                                                         \
    static void ktest_fn_##group##_##name([[maybe_unused]] ::kernel::KTestContext& ktest_ctx);     \
    [[gnu::used,                                                                                   \
      gnu::section(".ktests")]] static const ::kernel::KTest ktest_reg_##group##_##name = {        \
        #group "." #name, ktest_fn_##group##_##name};                                              \
    static void ktest_fn_##group##_##name([[maybe_unused]] ::kernel::KTestContext& ktest_ctx)

// Ends the test as skipped: it cannot run on this machine (the reason says why). The
// self-test runner counts skips apart; the system tests allow none.
#define KSKIP(why)                                                                                 \
    do {                                                                                           \
        ktest_ctx.skip(why);                                                                       \
        return;                                                                                    \
    } while (0)

#define KEXPECT(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ktest_ctx.fail(__FILE__, __LINE__, "expected {}", #cond);                              \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define KEXPECT_EQ(a, b)                                                                           \
    do {                                                                                           \
        auto ktest_a = (a);                                                                        \
        auto ktest_b = (b);                                                                        \
        if (!(ktest_a == ktest_b)) {                                                               \
            ktest_ctx.fail(__FILE__, __LINE__, "expected {} == {} ({} vs {})", #a, #b, ktest_a,    \
                           ktest_b);                                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define KEXPECT_OK(expr)                                                                           \
    do {                                                                                           \
        auto&& ktest_r = (expr);                                                                   \
        if (ktest_r.is_error()) {                                                                  \
            ktest_ctx.fail(__FILE__, __LINE__, "{} failed: {}", #expr, ktest_r.error());           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

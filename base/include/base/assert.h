#pragma once

// Invariant checks. A failed check means Tern itself is broken, never that a caller
// passed bad input: input errors are returned as base::Error instead.
//
// The handler is declared here and defined by each environment: the kernel panics,
// user space aborts the task, and host tests print and trap (base/src/host_assert.cpp).

namespace base {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line);
} // namespace base

// TERN_VERIFY is always checked; TERN_ASSERT is checked unless TERN_NO_ASSERTS is
// defined, so release builds can drop the cost of hot-path assertions deliberately.
#define TERN_VERIFY(expr)                                                                          \
    (__builtin_expect(static_cast<bool>(expr), 1)                                                  \
         ? static_cast<void>(0)                                                                    \
         : ::base::assert_failed(#expr, __FILE__, __LINE__))

#ifdef TERN_NO_ASSERTS
#define TERN_ASSERT(expr) static_cast<void>(sizeof(static_cast<bool>(expr)))
#else
#define TERN_ASSERT(expr) TERN_VERIFY(expr)
#endif

#define TERN_ASSERT_NOT_REACHED() ::base::assert_failed("not reached", __FILE__, __LINE__)

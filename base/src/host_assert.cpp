// The host-test definition of the assertion handler. The kernel and user space provide
// their own; this one only exists in the host build, where a failed assertion should
// name the broken invariant and stop under the debugger or sanitizer.

#include <base/assert.h>

#if TERN_HOST_TEST
#include <stdio.h>
#include <stdlib.h>

namespace base {

void assert_failed(const char* expr, const char* file, int line) {
    fprintf(stderr, "ASSERTION FAILED: %s at %s:%d\n", expr, file, line);
    fflush(stderr);
    abort();
}

} // namespace base
#endif

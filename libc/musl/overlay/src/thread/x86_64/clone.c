/*
 * Tern's replacement for musl's src/thread/x86_64/clone.s: thread creation goes to the
 * backend (libc/musl/backend_threads.c), which makes a kernel thread of the task on the
 * stack and thread pointer given and clears *ctid when it ends.
 */
#include "pthread_impl.h"
#include <stdarg.h>

long __tern_clone(int (*func)(void*), void* stack, int flags, void* arg, int* ptid, void* tls,
                  int* ctid);

int __clone(int (*func)(void*), void* stack, int flags, void* arg, ...) {
    va_list ap;
    va_start(ap, arg);
    int* ptid = va_arg(ap, int*);
    void* tls = va_arg(ap, void*);
    int* ctid = va_arg(ap, int*);
    va_end(ap);
    return __tern_clone(func, stack, flags, arg, ptid, tls, ctid);
}

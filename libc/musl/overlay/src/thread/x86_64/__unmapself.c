/*
 * Tern's replacement for musl's src/thread/x86_64/__unmapself.s: a detached thread's last
 * act, unmapping its own stack and ending, is the backend's (libc/musl/backend_threads.c),
 * two system calls in a row that touch no stack in between.
 */
#include "pthread_impl.h"

_Noreturn void __tern_unmapself(void* base, size_t size);

void __unmapself(void* base, size_t size) { __tern_unmapself(base, size); }

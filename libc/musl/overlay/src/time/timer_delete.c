/*
 * Tern's timer_delete (an overlay of musl's src/time/timer_delete.c, written for Tern):
 * the system call, with -1 and errno for an unknown timer as POSIX and glibc answer (musl
 * returns the negated errno itself). Every timer id is the backend's, SIGEV_THREAD ones
 * too (timer_create.c), so there is no notification thread to stop here.
 */
#include "syscall.h"
#include <stdint.h>
#include <time.h>

int timer_delete(timer_t t) { return syscall(SYS_timer_delete, (int)(intptr_t)t); }

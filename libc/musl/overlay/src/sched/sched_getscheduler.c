/* Tern: the system call, served per process (sched_setscheduler.c says why). */
#include "syscall.h"
#include <sched.h>

int sched_getscheduler(pid_t pid) { return syscall(SYS_sched_getscheduler, pid); }

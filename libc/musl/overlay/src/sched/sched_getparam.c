/* Tern: the system call, served per process (sched_setscheduler.c says why). */
#include "syscall.h"
#include <sched.h>

int sched_getparam(pid_t pid, struct sched_param* param) {
    return syscall(SYS_sched_getparam, pid, param);
}

/* Tern: the system call, served per process (sched_setscheduler.c says why). */
#include "syscall.h"
#include <sched.h>

int sched_setparam(pid_t pid, const struct sched_param* param) {
    return syscall(SYS_sched_setparam, pid, param);
}

/*
 * Tern: the system call, which the backend serves per process (libc/musl/backend_sched.c).
 * musl answers ENOSYS here because Linux's call acts on one thread, not on the process
 * POSIX means; on Tern it acts on the process.
 */
#include "syscall.h"
#include <sched.h>

int sched_setscheduler(pid_t pid, int policy, const struct sched_param* param) {
    return syscall(SYS_sched_setscheduler, pid, policy, param);
}

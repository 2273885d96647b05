/*
 * Tern's musl port: the pure rules of processes (backend_process.c): how an exit status
 * from the proc server reads as a Linux wait status, which signal a CPU fault stands for,
 * what a signal sent to another process does, and how a 32-bit pid names a global one.
 *
 * Exit statuses on Tern (proc's WaitResponse.status):
 *   0..255        the program exited with it (exit(), _exit(), return from main) -- except
 *   129..159      128 + N: ended by signal N (1..31). The C library's default action for a
 *                 terminating signal exits so (abort() is 134), proc's Kill of a process
 *                 with a signal is given so, and the shell reports 130 for Ctrl-C the same
 *                 way. A program that itself exits with such a status reads as signalled.
 *   256 + vector  killed by a CPU exception: SIGFPE (0, 16, 19), SIGTRAP (1, 3), SIGILL
 *                 (6), SIGBUS (17), SIGSEGV (the rest: 13, 14, ...)
 *   anything else (a kill with a status of the kernel's): SIGKILL
 *
 * Valid C and C++: the backend is C, the host unit tests (libc_process_test.cpp) are C++.
 */
#ifndef TERN_LIBC_MUSL_PROCESS_H
#define TERN_LIBC_MUSL_PROCESS_H

#include <stdint.h>

#define TERN_LIBC_FIRST_SIGNAL_STATUS 129 /* 128 + 1 */
#define TERN_LIBC_LAST_SIGNAL_STATUS 159  /* 128 + 31 */

#ifdef __cplusplus
extern "C" {
#endif

/* The signal a CPU exception vector stands for (Linux numbers). */
int tern_libc_signal_of_vector(uint64_t vector);

/* The Linux wait status (WIFEXITED/WEXITSTATUS, WIFSIGNALED/WTERMSIG) of an exit status. */
int tern_libc_wait_status(int64_t status);

/* What kill(other, signal) does to another process (Linux numbers):
 * TERN_LIBC_KILL_END (ends it with 128 + signal), TERN_LIBC_KILL_NOTHING (the default
 * action ignores it: SIGCHLD, SIGCONT, SIGURG, SIGWINCH; and signal 0, which only checks
 * that the process exists), TERN_LIBC_KILL_STOP (stop signals: not supported, logged),
 * TERN_LIBC_KILL_INVALID (not a signal: EINVAL). Real-time signals (32-64) end it like
 * SIGKILL does, since their status would not fit the signal range above. */
enum tern_libc_kill_action {
    TERN_LIBC_KILL_END = 0,
    TERN_LIBC_KILL_NOTHING = 1,
    TERN_LIBC_KILL_STOP = 2,
    TERN_LIBC_KILL_INVALID = 3,
};
int tern_libc_kill_action(long signal);
/* The exit status kill gives the process for signal (with TERN_LIBC_KILL_END). */
int64_t tern_libc_kill_status(long signal);

/* The global pid (home node << 32 | serial) a pid_t names, from the caller's own global
 * pid: serials are the low 32 bits, and children of a forking process are on its node.
 * 0 for a pid that cannot be a process (<= 0). */
uint64_t tern_libc_global_pid(uint64_t self, long pid);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_PROCESS_H */

/*
 * Tern's musl port: resource limits (getrlimit, setrlimit, prlimit64).
 *
 * A process's limits are its own memory, like its descriptors: a fork copies them and
 * exec carries them across (portable/exec_state.h). Nothing in the system enforces a
 * limit a process sets; what the limits report is what Tern gives every process:
 *   RLIMIT_NOFILE  64 / 64: the descriptor table (portable/files.h)
 *   RLIMIT_STACK   the first thread's stack (256 KiB for a program proc starts, the
 *                  kernel's 64 KiB for a boot module), soft and hard
 *   RLIMIT_AS, RLIMIT_DATA  256 MiB: the kernel's memory quota per task
 *   RLIMIT_NPROC   256: proc's process table
 *   RLIMIT_CORE    0 / unlimited (no core dumps are written)
 *   RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE  Linux's defaults (8 MiB, 819200)
 *   RLIMIT_SIGPENDING 64, RLIMIT_NICE 0, RLIMIT_RTPRIO 0
 *   the rest unlimited.
 * The rules are Linux's for a process without CAP_SYS_RESOURCE: a soft limit above its
 * hard limit is EINVAL, raising a hard limit EPERM, a resource outside 0..15 EINVAL.
 * Host-tested in tests/unit/libc_exec_state_test.cpp. Valid C and C++; freestanding.
 */
#ifndef TERN_LIBC_MUSL_RLIMITS_H
#define TERN_LIBC_MUSL_RLIMITS_H

#include <stdint.h>

#define TERN_LIBC_RLIMIT_COUNT 16
#define TERN_LIBC_RLIM_INFINITY (~(uint64_t)0)

/* Linux's resource numbers (x86-64). */
#define TERN_LINUX_RLIMIT_CPU 0
#define TERN_LINUX_RLIMIT_FSIZE 1
#define TERN_LINUX_RLIMIT_DATA 2
#define TERN_LINUX_RLIMIT_STACK 3
#define TERN_LINUX_RLIMIT_CORE 4
#define TERN_LINUX_RLIMIT_RSS 5
#define TERN_LINUX_RLIMIT_NPROC 6
#define TERN_LINUX_RLIMIT_NOFILE 7
#define TERN_LINUX_RLIMIT_MEMLOCK 8
#define TERN_LINUX_RLIMIT_AS 9
#define TERN_LINUX_RLIMIT_LOCKS 10
#define TERN_LINUX_RLIMIT_SIGPENDING 11
#define TERN_LINUX_RLIMIT_MSGQUEUE 12
#define TERN_LINUX_RLIMIT_NICE 13
#define TERN_LINUX_RLIMIT_RTPRIO 14
#define TERN_LINUX_RLIMIT_RTTIME 15

/* struct rlimit as Linux lays it out. */
struct tern_libc_rlimit {
    uint64_t current;
    uint64_t maximum;
};

#ifdef __cplusplus
extern "C" {
#endif

/* Tern's limits for a process whose first stack is stack_bytes. */
void tern_libc_rlimits_init(struct tern_libc_rlimit limits[TERN_LIBC_RLIMIT_COUNT],
                            uint64_t stack_bytes);

/* prlimit64 on the process itself: *old gets the limit (when old is not 0), then the new
 * one is set (when new_limit is not 0). 0, -EINVAL (resource, soft above hard), -EPERM
 * (a hard limit raised). Nothing changes on an error. */
int tern_libc_rlimit_exchange(struct tern_libc_rlimit limits[TERN_LIBC_RLIMIT_COUNT],
                              int64_t resource, const struct tern_libc_rlimit* new_limit,
                              struct tern_libc_rlimit* old);

/* Whether every limit in limits is well formed (soft <= hard): exec's check on a block. */
int tern_libc_rlimits_valid(const struct tern_libc_rlimit limits[TERN_LIBC_RLIMIT_COUNT]);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_RLIMITS_H */

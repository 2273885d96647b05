/*
 * Tern's musl port: the proc server's signal, group and session calls
 * (tern/protocols/proc.h, "Signals") for backend_signal.c, made by signal_client.cpp on
 * the native runtime. Every function returns 0 or a negated Tern status (TERN_*);
 * -TERN_NOT_SUPPORTED when the program has no proc server (the kernel started it).
 */
#ifndef TERN_LIBC_MUSL_SIGNAL_CLIENT_H
#define TERN_LIBC_MUSL_SIGNAL_CLIENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* proc::Signal's flags. */
#define TERN_LIBC_SIGNAL_GROUP 1u
#define TERN_LIBC_SIGNAL_ALL 2u
#define TERN_LIBC_SIGNAL_INCLUDE_CALLER 8u
/* Alone: stop the calling process for a stop signal (its default action). */
#define TERN_LIBC_SIGNAL_STOP_CALLER 16u
/* Beside the others: sigqueue's SI_QUEUE with a value (tern_libc_proc_sigqueue). */
#define TERN_LIBC_SIGNAL_QUEUE 32u
/* The job word's SA_NOCLDSTOP bit (the word after the ignored mask, SignalEntry). */
#define TERN_LIBC_JOB_NO_CHILD_STOP (1ull << 63)
/* The job word's bit for a SIGCHLD that is ignored or has SA_NOCLDWAIT: no zombies. */
#define TERN_LIBC_JOB_NO_CHILD_WAIT (1ull << 62)

/* proc::Wait's flags and events (tern/protocols/proc.h). */
#define TERN_LIBC_WAIT_NOHANG 1u
#define TERN_LIBC_WAIT_GROUP 2u
#define TERN_LIBC_WAIT_STOPPED 4u
#define TERN_LIBC_WAIT_CONTINUED 8u
#define TERN_LIBC_WAIT_NOREAP 16u
#define TERN_LIBC_WAIT_NOEXITS 32u
#define TERN_LIBC_WAIT_EVENT_EXITED 0u
#define TERN_LIBC_WAIT_EVENT_STOPPED 1u
#define TERN_LIBC_WAIT_EVENT_CONTINUED 2u

/* SignalEntry: signals to this process go to entry (0: proc's defaults again); proc drops
 * the ones set in the mask at `ignored` without interrupting the process, and reads the
 * job word after it. */
int64_t tern_libc_proc_signal_entry(uint64_t entry, uint64_t ignored);
/* Signal: target a global pid, or a pgid with TERN_LIBC_SIGNAL_GROUP (0: own group);
 * *caller_too is set when this process is among the targets and was left to raise it. */
int64_t tern_libc_proc_signal(uint64_t target, uint32_t signo, uint32_t flags, int* caller_too);
/* The same with a value: sigqueue (flags gets TERN_LIBC_SIGNAL_QUEUE). */
int64_t tern_libc_proc_sigqueue(uint64_t target, uint32_t signo, uint32_t flags, uint64_t value,
                                int* caller_too);
/* SignalThread: signo (0: none, only an interruption) to the thread `thread` (a handle
 * proc takes; TERN_INVALID_HANDLE: the thread proc holds, the main one), with si_code
 * `code` and si_value `value`; TERN_LIBC_SIGNAL_THREAD_ONLY makes it the thread's own. */
#define TERN_LIBC_SIGNAL_THREAD_ONLY 1u
#define TERN_LIBC_SIGNAL_FRAME_THREAD (1ull << 32)
int64_t tern_libc_proc_signal_thread(uint32_t thread, uint32_t signo, uint32_t flags, int64_t code,
                                     uint64_t value);
/* Wait with proc::Wait's flags: *which and *status of the child, *event what happened to
 * it (a TERN_LIBC_WAIT_EVENT_*), times_ns its user and system time with its reaped
 * children's (an exit). A wait proc made room with (TIMED_OUT) is asked again. */
int64_t tern_libc_proc_wait_job(uint64_t pid, uint32_t flags, uint64_t* which, int64_t* status,
                                uint32_t* event, uint64_t times_ns[2]);
/* SetPgid, GetPgid (pid 0: the caller), SetSid. */
int64_t tern_libc_proc_setpgid(uint64_t pid, uint64_t pgid);
int64_t tern_libc_proc_getpgid(uint64_t pid, uint64_t* pgid, uint64_t* sid);
int64_t tern_libc_proc_setsid(uint64_t* sid);
/* The console's foreground (tern/protocols/console.h): tcsetpgrp and tcgetpgrp. */
int64_t tern_libc_console_set_foreground_group(uint64_t pgid);
int64_t tern_libc_console_foreground(uint64_t* pgid);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_SIGNAL_CLIENT_H */

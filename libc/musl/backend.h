/*
 * Tern's musl port: what backend.c and backend_sockets.c share. backend.c owns the
 * descriptor table and the signal state; backend_sockets.c serves the socket calls and
 * poll/select over every kind of descriptor.
 */
#ifndef TERN_LIBC_MUSL_BACKEND_H
#define TERN_LIBC_MUSL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <libc/musl/portable/files.h>
#include <tern/abi/task.h>

/* The process's descriptor table: files, directories, sockets, pipes and the console. */
struct tern_libc_fd_table* tern_libc_fds(void);

/* Sends a signal to the program itself (its default action, or nothing when ignored). */
long tern_libc_raise(long signal);

/* 1 for a descriptor open on the console. */
int tern_libc_is_console_fd(long fd);

/* The socket system calls, poll and select: *handled is 0 when n is not one of them. */
long tern_libc_socket_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6,
                              int* handled);

/* read, write and close of a socket descriptor. */
long tern_libc_socket_read(struct tern_libc_file* file, void* data, size_t length);
long tern_libc_socket_write(struct tern_libc_file* file, const void* data, size_t length);
void tern_libc_socket_close(struct tern_libc_file* file);

/* Pipes (backend_pipes.c): pipe and pipe2 (*handled is 0 for other calls); read and
 * write of a pipe end (EBADF for the other end); closing an end whose last descriptor was
 * closed; and waiting up to timeout_ns for any pipe of the process to change (1 when
 * one did or might have, 0 on timeout or without pipes). */
long tern_libc_pipe_syscall(long n, long a1, long a2, int* handled);
long tern_libc_pipe_read(struct tern_libc_file* file, void* data, size_t length);
long tern_libc_pipe_write(struct tern_libc_file* file, const void* data, size_t length);
void tern_libc_pipe_close(struct tern_libc_file* file);
int tern_libc_pipe_wait(uint64_t timeout_ns);
/* A pipe end's status flags (O_APPEND, O_NONBLOCK), which live in the ring that every
 * process holding the pipe maps (F_GETFL, and whether a call may wait), and F_SETFL's
 * change of them; both bring file->flags up to date. */
uint32_t tern_libc_pipe_status(struct tern_libc_file* file);
void tern_libc_pipe_set_status(struct tern_libc_file* file, long flags);

/* Around fork (backend_pipes.c): prepare counts the child's copies of the process's pipe
 * ends in their rings (undo takes them back when the fork fails) and makes the right
 * to this process's wait port that the child inherits; fork_child, in the child, makes its
 * own port and tells the processes it shares pipes with. */
void tern_libc_pipe_fork_prepare(void);
void tern_libc_pipe_fork_undo(void);
void tern_libc_pipe_fork_child(void);
/* In the parent once the clone exists (or failed): drops the right made for it. */
void tern_libc_pipe_fork_done(void);
/* The parent records (delta 1) the ends a child got at fork under the child's pid in each
 * ring's holder table, or takes the record back (-1) when the child never ran. */
void tern_libc_pipe_hold_for_child(uint64_t child, int delta);
/* pid has ended and been reaped: what it still held of this process's pipes (it was
 * killed, or its ends were never closed) stops counting. */
void tern_libc_pipe_forget_process(uint64_t pid);

/* Files and directories held by more than one process (backend.c; portable/shared_file.h).
 * file_share moves a description's offset and status flags into a page of their own (a
 * memory object in shared_memory, mapped at shared) that another process can map: 0, or
 * a negated errno (it stays private). file_hold counts a process more (1) or less (-1)
 * holding a shared one. Around fork, prepare shares every file and directory and counts
 * the child (undo takes the count back when the fork failed); an exec's new image maps
 * the page again (shared_map: -ENOMEM, and the description is private, when it cannot). */
long tern_libc_file_share(struct tern_libc_file* file);
void tern_libc_file_hold(struct tern_libc_file* file, int delta);
void tern_libc_files_fork_prepare(void);
void tern_libc_files_fork_undo(void);
long tern_libc_file_shared_map(struct tern_libc_file* file);
/* A description's status flags (O_APPEND, O_NONBLOCK) as every process holding it sees
 * them now, for a call that only reads them (no lock): file->flags brought up to date. */
uint32_t tern_libc_file_status(struct tern_libc_file* file);

/* Sockets across fork and exec (backend_sockets.c). fork_share, in the parent before the
 * child runs, makes the child's task (a handle) hold each of the process's sockets at the
 * network server too, and returns the mask of the descriptions it shared (bit i for
 * files[i]), which the parent writes into the child's tern_libc_socket_fork_shared. In
 * the child, fork_child marks the copies that were not shared, so that closing them (or
 * the child's exit) does not close the parent's sockets and their calls fail. exec_share
 * makes the new task of an execve or posix_spawn hold a kept socket: 0, or a negated
 * errno. */
extern uint64_t tern_libc_socket_fork_shared;
uint64_t tern_libc_socket_fork_share(uint32_t child_task);
void tern_libc_socket_fork_child(void);
long tern_libc_socket_exec_share(struct tern_libc_file* file, uint32_t task);

/* Signals (backend_signal.c): the signal, group and session calls (*handled is 0 for
 * other calls). A forked child starts without its parent's pending signals (prepare
 * notes them before the clone). */
long tern_libc_signal_syscall(long n, long a1, long a2, long a3, long a4, int* handled);
void tern_libc_signals_fork_prepare(void);
void tern_libc_signals_fork_child(void);
/* Registers the signal entry with proc now (a timer about to send a signal needs it). */
void tern_libc_signal_register(void);
/* True when proc drops the signal without delivering it (ignored and not blocked). */
int tern_libc_signal_dropped_by_proc(long signal);
/* TIOCSPGRP and TIOCGPGRP on a console descriptor (tcsetpgrp, tcgetpgrp). */
long tern_libc_signal_ioctl(long request, long argument);
/* A blocking call takes a mark before it waits; when its wait was cut short,
 * interrupts(mark, restartable) says whether to end with EINTR: restartable calls (read,
 * write, wait4) when a handler without SA_RESTART ran since, the others (nanosleep,
 * sigsuspend) when any handler ran. Otherwise the call goes on waiting. */
uint64_t tern_libc_signal_mark(void);
int tern_libc_signal_interrupts(uint64_t mark, int restartable);
/* A default action that ends the program: a line, every descriptor closed, 128 + N. */
__attribute__((noreturn)) void tern_libc_exit_by_signal(long signal);

/* POSIX timers, alarm and setitimer (backend_timer.c; *handled is 0 for other calls). A
 * forked child has none. backend_signal.c reports a timer's signal: arrived (from proc,
 * sent by this process: 1 and *timer when a timer of that signal was waiting for it),
 * dropped (never pending: ignored, or one of its kind already pending) and taken (its
 * overrun count and sigev_value for the siginfo). */
long tern_libc_timer_syscall(long n, long a1, long a2, long a3, long a4, int* handled);
void tern_libc_timers_fork_child(void);
int tern_libc_timer_arrived(long signal, int* timer);
void tern_libc_timer_dropped(int timer);
void tern_libc_timer_taken(int timer, int* overrun, uint64_t* value);

/* Scheduling parameters and priorities, CPU affinity, clock_settime and settimeofday,
 * mlock and its family (backend_sched.c; *handled is 0 for other calls). */
long tern_libc_sched_syscall(long n, long a1, long a2, long a3, long a4, int* handled);

/* A forked child becomes a System V IPC client of its own, its attaches counted
 * (backend_sysv.c). */
void tern_libc_sysv_fork_child(void);

/* What exec carries (backend_exec.c, which reads and sets them through these): the
 * working directory and umask (backend.c), the signal mask and ignored signals (backend.c;
 * handled signals go back to their default), a bootfs file or directory mapped (listed)
 * again by its path in the new image (backend.c), and the pipes' peers (backend_pipes.c:
 * the wait ports of the processes this one shares pipes with, *shared whether a fork
 * shared them; exec_start makes the new image's own port and tells them). */
struct tern_libc_fd_table* tern_libc_fds_unset(void);
char* tern_libc_cwd(void);
unsigned* tern_libc_umask(void);
void tern_libc_signals_exec_save(uint64_t* mask, uint64_t* ignored);
void tern_libc_signals_exec_restore(uint64_t mask, uint64_t ignored);
long tern_libc_bootfs_reopen(struct tern_libc_file* file);
uint32_t tern_libc_pipe_exec_peers(uint32_t* out, uint32_t max, uint32_t* shared);
void tern_libc_pipe_exec_start(const uint32_t* peers, uint32_t count, int shared);

/* execve and execveat (backend_exec.c; *handled is 0 for other calls), and the new
 * image's start from the state exec carried (called by start.c before main). */
long tern_libc_exec_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled);
void tern_libc_exec_restore(void);

/* posix_spawn without a fork (backend_exec.c; musl's overlay posix_spawn.c declares the
 * same, as musl is built without Tern's headers): the program at path is loaded into a
 * new task here, made this process's child by proc, given the state an execve would carry
 * with the close and dup2 actions applied (and the signal mask *mask when not null, the
 * signals in defaults no longer ignored), and started. 0 with *pid, a negated errno for
 * posix_spawn to return, or TERN_LIBC_SPAWN_FORK when the case needs a fork and exec in
 * the child (no proc, a script, a pipe the child would keep). */
#define TERN_LIBC_SPAWN_FORK 1
#define TERN_LIBC_SPAWN_CLOSE 1
#define TERN_LIBC_SPAWN_DUP2 2
struct tern_libc_spawn_op {
    int cmd; /* TERN_LIBC_SPAWN_CLOSE or _DUP2 */
    int fd;
    int source; /* dup2's */
};
long tern_libc_spawn(const char* path, char* const* argv, char* const* envp,
                     const struct tern_libc_spawn_op* ops, int op_count, const uint64_t* mask,
                     uint64_t defaults, long* pid);

/* Resource limits, sched_getaffinity, times, getrusage, gettimeofday, sysinfo and the uid
 * family (backend_limits.c; *handled is 0 for other calls); the process's limits, which
 * fork copies and exec carries (portable/rlimits.h, TERN_LIBC_RLIMIT_COUNT of them). */
struct tern_libc_rlimit;
long tern_libc_limits_syscall(long n, long a1, long a2, long a3, long a4, int* handled);
struct tern_libc_rlimit* tern_libc_rlimits(void);

/* Writes "libc: unsupported syscall N (name): detail" once per call number (backend.c). */
void tern_libc_log_unsupported(long n, const char* detail);

/* Processes (backend_process.c): fork, vfork, wait4, waitid (*handled is 0 for other
 * calls); kill of another process; getppid. */
long tern_libc_process_syscall(long n, long a1, long a2, long a3, long a4, int* handled);
long tern_libc_getppid(void);
/* uname and getrandom (backend_system.c; *handled is 0 for other calls). */
long tern_libc_system_syscall(long n, long a1, long a2, long a3, int* handled);

/* backend_misc.c: chown and its family, sync and syncfs (*handled is 0 for other calls);
 * the CPU-time clocks (clock_gettime, or clock_getres when resolution is 1; EINVAL for
 * other clocks). */
/* Finds (dirfd, path) as the path calls do (the final link followed when follow): 0 with
 * the server holding it, its node there (file servers) and whether it is read-only, or a
 * negated errno (backend.c). */
/* linkat: a new name on the same file server for the file at (old_dirfd, old_path),
 * following a final symbolic link when follow. */
long tern_libc_link(long old_dirfd, const char* old_path, long new_dirfd, const char* new_path,
                    int follow);
long tern_libc_find_node(long dirfd, const char* path, int follow, uint32_t* server,
                         uint64_t* inode, int* read_only);
long tern_libc_misc_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled);
struct timespec;
long tern_libc_cpu_clock(long clock, struct timespec* ts, int resolution);
/* Processor times (backend_limits.c): the process's task, or the calling thread (thread
 * != 0), from the kernel's cpu_times; the reaped children's total grows by each child
 * wait4/waitid reaps; an rusage holding two times (other fields 0) copied to out. */
struct tern_cpu_times tern_libc_cpu_times(int thread);
void tern_libc_children_times_add(uint64_t user_ns, uint64_t system_ns);
/* The process's own and its reaped children's time (user, system, children's user,
 * children's system, in ns) as execve carries them into the new image, and taken back
 * there (backend_limits.c). */
void tern_libc_times_exec_save(uint64_t times_ns[4]);
void tern_libc_times_exec_restore(const uint64_t times_ns[4]);
struct rusage;
long tern_libc_rusage_out(struct rusage* out, uint64_t user_ns, uint64_t system_ns);

/* System V IPC (backend_sysv.c): shm*, sem*, msg*, and the POSIX mq_* calls it passes to
 * backend_mq.c (*handled is 0 for other calls). */
long tern_libc_sysv_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled);

/* POSIX message queues (backend_mq.c): the mq_* calls (*handled is 0 for others); a queue
 * description's last close; around fork, each open queue lent to the child (prepare,
 * undo when the fork failed) and taken by it (fork_child, from tern_libc_sysv_fork_child);
 * a queue an exec kept, shown to the server by the new image (0 or a negated errno). */
long tern_libc_mq_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled);
void tern_libc_mq_release(struct tern_libc_file* file);
void tern_libc_mq_fork_prepare(void);
void tern_libc_mq_fork_undo(void);
void tern_libc_mq_fork_child(void);
long tern_libc_mq_reopen(struct tern_libc_file* file);

/* Every call but a thread's own (backend.c): what __tern_syscall (backend_threads.c)
 * passes on, under the backend lock once there are threads. */
long tern_libc_dispatch(long n, long a1, long a2, long a3, long a4, long a5, long a6);
/* The process id programs see (the main thread's id too). */
long tern_libc_pid(void);

/* Threads (backend_threads.c). The backend lock: tern_libc_lock returns 1 when it took it
 * (0 while the process has one thread), to pass to tern_libc_unlock. A call that waits
 * (for a pipe) lets it go with tern_libc_lock_release, which returns what
 * tern_libc_lock_reacquire takes back (0 when the caller did not hold it). */
int tern_libc_lock(void);
void tern_libc_unlock(int locked);
unsigned tern_libc_lock_release(void);
void tern_libc_lock_reacquire(unsigned depth);
/* 1 when tid names a thread of this process other than the main one. */
int tern_libc_thread_is_ours(long tid);
/* Per-thread signal state (backend_signal.c) is indexed by thread: 0 the main thread (and
 * any thread while the process has one), 1..64 the others. The calling thread's index
 * (no system call); the id of the thread at an index (0: none); the index of a thread id
 * of this process (-1: none); a new handle to the thread at an index, for proc (the caller
 * sends or closes it; TERN_INVALID_HANDLE for the main thread, which proc holds, or none). */
#define TERN_LIBC_THREAD_INDEXES 65
int tern_libc_thread_index(void);
int tern_libc_threads_started(void);
/* What tern_libc_threads_started returns, for a caller that must not pay a call. */
extern volatile int tern_libc_threads_made;
/* Bit i set: a thread at index i (1..64) lives (the main thread, 0, is not in it). */
uint64_t tern_libc_thread_indexes(void);
long tern_libc_thread_tid(int index);
int tern_libc_thread_index_of(long tid);
tern_handle_t tern_libc_thread_handle(int index);
/* backend_signal.c: a thread at `index` is about to start (its creator calls) / the
 * thread at `index` is ending (itself). */
void tern_libc_signals_thread_start(int index);
void tern_libc_signals_thread_end(int index);
/* A forked child has one thread, its main one. */
void tern_libc_threads_fork_child(void);

#endif /* TERN_LIBC_MUSL_BACKEND_H */

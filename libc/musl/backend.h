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

/* A forked child's copies of its parent's sockets are marked so that closing them (or
 * the child's exit) does not close the parent's sockets (backend_sockets.c). */
void tern_libc_socket_fork_child(void);

/* A forked child starts with no pending signals (backend.c). */
void tern_libc_signals_fork_child(void);

/* A forked child becomes a System V IPC client of its own, its attaches counted
 * (backend_sysv.c). */
void tern_libc_sysv_fork_child(void);

/* Writes "libc: unsupported syscall N (name): detail" once per call number (backend.c). */
void tern_libc_log_unsupported(long n, const char* detail);

/* Processes (backend_process.c): fork, vfork, wait4, waitid (*handled is 0 for other
 * calls); kill of another process; getppid. */
long tern_libc_process_syscall(long n, long a1, long a2, long a3, long a4, int* handled);
long tern_libc_kill_other(long pid, long signal);
long tern_libc_getppid(void);
/* uname and getrandom (backend_system.c; *handled is 0 for other calls). */
long tern_libc_system_syscall(long n, long a1, long a2, long a3, int* handled);

/* backend_misc.c: chown and its family, sync and syncfs (*handled is 0 for other calls);
 * the CPU-time clocks (clock_gettime, or clock_getres when resolution is 1; EINVAL for
 * other clocks); and the start time those clocks count from, noted by start.c. */
/* Finds (dirfd, path) as the path calls do (the final link followed when follow): 0 with
 * the server holding it, its node there (file servers) and whether it is read-only, or a
 * negated errno (backend.c). */
long tern_libc_find_node(long dirfd, const char* path, int follow, uint32_t* server,
                         uint64_t* inode, int* read_only);
long tern_libc_misc_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled);
struct timespec;
long tern_libc_cpu_clock(long clock, struct timespec* ts, int resolution);
void tern_libc_note_start(void);

/* System V IPC (backend_sysv.c): shm*, sem*, msg* (*handled is 0 for other calls). */
long tern_libc_sysv_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled);

#endif /* TERN_LIBC_MUSL_BACKEND_H */

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

/* System V IPC (backend_sysv.c): shm*, sem*, msg* (*handled is 0 for other calls). */
long tern_libc_sysv_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled);

#endif /* TERN_LIBC_MUSL_BACKEND_H */

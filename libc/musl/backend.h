/*
 * Tern's musl port: what backend.c and backend_sockets.c share. backend.c owns the
 * descriptor table and the signal state; backend_sockets.c serves the socket calls and
 * poll/select over every kind of descriptor.
 */
#ifndef TERN_LIBC_MUSL_BACKEND_H
#define TERN_LIBC_MUSL_BACKEND_H

#include <stddef.h>

#include <libc/musl/portable/files.h>

/* The process's descriptor table: files, directories and sockets (fds 0-2 are the
 * console's and not in it). */
struct tern_libc_fd_table* tern_libc_fds(void);

/* Sends a signal to the program itself (its default action, or nothing when ignored). */
long tern_libc_raise(long signal);

/* 1 for the console's descriptors 0-2. */
int tern_libc_is_console_fd(long fd);

/* The socket system calls, poll and select: *handled is 0 when n is not one of them. */
long tern_libc_socket_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6,
                              int* handled);

/* read, write and close of a socket descriptor. */
long tern_libc_socket_read(struct tern_libc_file* file, void* data, size_t length);
long tern_libc_socket_write(struct tern_libc_file* file, const void* data, size_t length);
void tern_libc_socket_close(struct tern_libc_file* file);

#endif /* TERN_LIBC_MUSL_BACKEND_H */

/*
 * Tern's musl port: the ring behind a pipe.
 *
 * A pipe is a ring of bytes in a memory object: the header below, then capacity bytes.
 * Both ends map the same object, so a write is a copy into the ring and a read a copy out
 * of it, with no server between them; a memory object can be handed to another task with
 * its handle, which is how a pipe will reach a child. The counters are totals since the
 * pipe was made (written - read bytes are in the ring), and readers/writers count the open
 * descriptions of each end: no writers is end of file for a reader, no readers is EPIPE
 * for a writer.
 *
 * The rules (how much a write may put now under the PIPE_BUF atomicity rule, what a read
 * gets, poll's events) are here, where the host tests (tests/unit/libc_pipe_test.cpp)
 * check them; libc/musl/backend_pipes.c makes the calls. Valid C and C++, freestanding.
 */
#ifndef TERN_LIBC_MUSL_PIPE_H
#define TERN_LIBC_MUSL_PIPE_H

#include <stdint.h>

/* POSIX PIPE_BUF on Linux: writes of at most this many bytes are atomic. */
#define TERN_LINUX_PIPE_BUF 4096
/* The bytes a pipe holds (Linux's default pipe size), and the header before them. */
#define TERN_LIBC_PIPE_CAPACITY 65536u
#define TERN_LIBC_PIPE_HEADER 64u
/* The memory object of one pipe: the header and the ring, in whole pages. */
#define TERN_LIBC_PIPE_OBJECT_SIZE (TERN_LIBC_PIPE_CAPACITY + 4096u)

struct tern_libc_pipe_ring {
    uint64_t written;   /* bytes ever written */
    uint64_t read;      /* bytes ever read */
    uint32_t readers;   /* open read-end descriptions */
    uint32_t writers;   /* open write-end descriptions */
    uint32_t capacity;  /* ring bytes after the header: a power of two */
    uint32_t waiters;   /* threads (of any process) blocked until the ring changes */
    uint32_t polled;    /* set for good once a poll or select waited on the pipe */
    uint32_t announced; /* wait ports announced by processes holding the pipe (a count) */
    /* The status flags (O_APPEND, O_NONBLOCK) of the read end's and the write end's open
     * file description: a pipe has one description of each end, which every descriptor
     * and every process holding that end shares, so F_SETFL in one process is seen by all
     * of them (and the flags cross execve with the ring). */
    uint32_t status[2];
    uint64_t padding[2];
};

#ifdef __cplusplus
extern "C" {
#endif

/* A new pipe with one reader and one writer, empty; capacity must be a power of two. */
void tern_libc_pipe_init(struct tern_libc_pipe_ring* ring, uint32_t capacity);

/* Bytes waiting to be read; room for more. */
uint64_t tern_libc_pipe_available(const struct tern_libc_pipe_ring* ring);
uint64_t tern_libc_pipe_space(const struct tern_libc_pipe_ring* ring);

/* How many of length (> 0) bytes a write may put in the ring now: -EPIPE without readers;
 * an atomic write (the whole write was at most PIPE_BUF bytes) all or, without room for
 * all, -EAGAIN; any other as many as fit, -EAGAIN when the ring is full. */
int64_t tern_libc_pipe_write_count(const struct tern_libc_pipe_ring* ring, uint64_t length,
                                   int atomic);

/* What a read of length (> 0) bytes gets now: the bytes available up to length; 0 (end
 * of file) when the ring is empty and no writer is left; -EAGAIN when it is empty and a
 * writer could still write. */
int64_t tern_libc_pipe_read_count(const struct tern_libc_pipe_ring* ring, uint64_t length);

/* The ring's bytes as two pieces: a read of count bytes takes [first, first + first_size)
 * then [second, second + count - first_size); a write of count puts them likewise. */
struct tern_libc_pipe_span {
    uint8_t* first;
    uint64_t first_size;
    uint8_t* second;
};
struct tern_libc_pipe_span tern_libc_pipe_read_span(struct tern_libc_pipe_ring* ring);
struct tern_libc_pipe_span tern_libc_pipe_write_span(struct tern_libc_pipe_ring* ring);

/* Marks count bytes written (after copying them to the write span) or read. */
void tern_libc_pipe_commit_write(struct tern_libc_pipe_ring* ring, uint64_t count);
void tern_libc_pipe_commit_read(struct tern_libc_pipe_ring* ring, uint64_t count);

/* poll's events (TERN_LINUX_POLL*) for one end given the events asked: the read end is
 * POLLIN/POLLRDNORM with bytes waiting and POLLHUP without writers; the write end is
 * POLLOUT/POLLWRNORM with room for PIPE_BUF bytes and POLLERR without readers. POLLHUP
 * and POLLERR are reported whether asked or not, as Linux does. */
uint32_t tern_libc_pipe_poll(const struct tern_libc_pipe_ring* ring, int write_end, uint32_t asked);

/* Which processes hold a pipe's ends, for fork: one entry per process (its global pid)
 * with the open descriptions of each end it holds. The table lies after the ring, in the
 * rest of the memory object's last page (tern_libc_pipe_holders), so every process that
 * maps the pipe sees it. Each process changes its own entry; a parent writes its child's
 * before the child runs and takes it back when it has reaped the child: a child that was
 * killed could not close its ends, and without this the other end would never see end of
 * file or EPIPE. An entry is claimed atomically (pid 0 marks a free one). */
struct tern_libc_pipe_holder {
    uint64_t pid;
    uint32_t readers;
    uint32_t writers;
};
#define TERN_LIBC_PIPE_HOLDERS ((4096u - TERN_LIBC_PIPE_HEADER) / 16u)

/* The holder table of a ring of the standard layout (TERN_LIBC_PIPE_OBJECT_SIZE). */
struct tern_libc_pipe_holder* tern_libc_pipe_holders(struct tern_libc_pipe_ring* ring);

/* Adds readers and writers (either may be negative) to pid's entry, claiming a free one
 * first; an entry back at 0 and 0 is freed. -1 when a new entry finds the table full (the
 * pipe works on; only a killed holder is then never taken back), else 0. pid 0 is ignored
 * (a program the kernel started has no pid and never forks). */
int tern_libc_pipe_hold(struct tern_libc_pipe_holder* table, uint32_t count, uint64_t pid,
                        int32_t readers, int32_t writers);

/* Takes pid's ends out of the ring's counts and frees its entry: pid has ended. Returns
 * how many descriptions it still held. */
uint32_t tern_libc_pipe_forget(struct tern_libc_pipe_ring* ring,
                               struct tern_libc_pipe_holder* table, uint32_t count, uint64_t pid);

/* pipe2's flags: 0 or -EINVAL for anything but O_CLOEXEC and O_NONBLOCK (O_DIRECT's
 * packet mode is not provided). */
int tern_libc_pipe_check_flags(int64_t flags);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_PIPE_H */

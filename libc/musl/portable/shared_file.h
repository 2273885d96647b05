/*
 * Tern's musl port: an open file description shared by several processes.
 *
 * POSIX shares an open file description (its offset and its status flags) between a
 * parent and the child fork made, and across execve and posix_spawn. A description held
 * by one process keeps its offset and flags in its process's descriptor table
 * (portable/files.h), at no cost. When a fork (or posix_spawn) gives a file or directory
 * description to a second process, the C library moves them into a page of their own, a
 * memory object that every holder maps (as a pipe's ring, portable/pipe.h): the clone
 * keeps the mapping and an execve hands the object to the new image. Every call that reads
 * or moves the offset, or reads or sets the flags, takes the page's lock (a futex the
 * kernel matches across tasks by memory object and offset), loads the offset and flags,
 * does its work (a server call included, so that two processes writing one description
 * append after each other rather than over each other) and stores them back.
 *
 * The lock: 0 free, 1 held, 2 held with others waiting (who sleep on the futex); owner is
 * the holder's pid (0 for a moment after it was taken and before it is dropped). A holder
 * that finds its own pid there is a signal handler inside a call of its own process: it
 * goes on without the lock (depth counts it). A holder that died while holding it (killed
 * during a server call) is found by a waiter that asks proc after a while and takes it
 * over. holders counts the processes holding the description: an unlinked file's hidden
 * name goes with the last.
 *
 * The rules are here, where the host tests (tests/unit/libc_shared_file_test.cpp) check
 * them; libc/musl/backend.c makes the calls. Valid C and C++, freestanding.
 */
#ifndef TERN_LIBC_MUSL_SHARED_FILE_H
#define TERN_LIBC_MUSL_SHARED_FILE_H

#include <stdint.h>

/* The memory object of one shared description: a page. */
#define TERN_LIBC_SHARED_FILE_SIZE 4096u

/* The status flags a shared description keeps (O_APPEND, O_NONBLOCK): the rest of a
 * description's flags (the access mode) never change and stay in each table. */
#define TERN_LIBC_SHARED_STATUS_FLAGS (02000u | 04000u)

struct tern_libc_shared_file {
    uint32_t lock;  /* 0 free, 1 held, 2 held and waited for: a futex */
    uint32_t depth; /* calls nested inside the holder's (signal handlers) */
    uint64_t owner; /* the holder's pid, 0 while free */
    uint64_t position;
    uint32_t status;  /* TERN_LIBC_SHARED_STATUS_FLAGS bits */
    uint32_t holders; /* processes holding the description */
};

enum tern_libc_shared_lock_result {
    TERN_LIBC_SHARED_BUSY = 0,   /* another process holds it */
    TERN_LIBC_SHARED_TAKEN = 1,  /* the caller holds it now */
    TERN_LIBC_SHARED_NESTED = 2, /* the caller's process held it already (a handler) */
};

#ifdef __cplusplus
extern "C" {
#endif

/* A new shared description with position and the status bits of flags, free, held by
 * holders processes. */
void tern_libc_shared_file_init(struct tern_libc_shared_file* shared, uint64_t position,
                                uint32_t flags, uint32_t holders);

/* One attempt to take the lock for process pid (non-zero): TAKEN, NESTED or BUSY. With
 * contended, a BUSY attempt marks the lock waited for (2), and an attempt that finds it
 * free takes it as waited for too (the caller slept on it: others may sleep as well). */
int tern_libc_shared_file_try_lock(struct tern_libc_shared_file* shared, uint64_t pid,
                                   int contended);

/* Gives the lock back after TAKEN or NESTED (result): 1 when a waiter must be woken. */
int tern_libc_shared_file_unlock(struct tern_libc_shared_file* shared, int result);

/* Takes over the lock of a holder that has ended (owner, as read before asking proc):
 * 1 when the caller holds it now, 0 when it changed hands meanwhile. */
int tern_libc_shared_file_take_over(struct tern_libc_shared_file* shared, uint64_t owner,
                                    uint64_t pid);

/* A description's flags with the shared status bits in place of its own. */
uint32_t tern_libc_shared_file_flags(const struct tern_libc_shared_file* shared, uint32_t flags);

/* Stores a description's offset and status bits (under the lock). */
void tern_libc_shared_file_store(struct tern_libc_shared_file* shared, uint64_t position,
                                 uint32_t flags);

/* Counts a process more (delta 1) or less (-1) holding it; the count after. */
uint32_t tern_libc_shared_file_hold(struct tern_libc_shared_file* shared, int delta);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_SHARED_FILE_H */

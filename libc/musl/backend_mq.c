/*
 * Tern's musl backend: POSIX message queues (mq_open, mq_unlink, mq_timedsend,
 * mq_timedreceive, mq_notify, mq_getsetattr; mq_close is close), served by the node's ipc
 * server (servers/ipc/portable/mq.h, tern/protocols/ipc.h) through sysv_client.cpp.
 *
 * An mqd_t is a descriptor, as on Linux: a TERN_LIBC_FD_MQUEUE description in the
 * process's table holding the server's handle of the open queue description, opened
 * close-on-exec (Linux's mq_open always sets it). Closing its last descriptor closes it
 * at the server; exit closes every descriptor. A fork lends each open queue to the child
 * before the clone (so the parent's close cannot end it first) and the child takes the
 * loan as it starts; an image that kept one across exec (FD_CLOEXEC cleared) shows the
 * server its handle again. O_NONBLOCK lives at the server with the description, so a
 * forked child's mq_setattr changes its parent's too, as the shared description does on
 * Linux.
 *
 * This file checks what Linux checks before the queue is looked at (priorities, the
 * timeout, pointers: EFAULT through the kernel's copies) in Linux's order. A wait cut
 * short by a signal ends with EINTR when a handler without SA_RESTART ran, and otherwise
 * starts again with the same deadline (signal(7) lists the mq calls as restartable).
 *
 * mq_notify's SIGEV_SIGNAL registration is served: when it fires the ipc server asks proc
 * to send the signal, which arrives with si_code SI_USER from the server, without
 * SI_MESGQ and sigev_value (proc's Signal carries the number alone). musl's SIGEV_THREAD
 * starts a thread that waits on a netlink socket Linux's kernel writes to; Tern has no
 * netlink sockets, so musl's socket call fails first and mq_notify fails with its errno;
 * a raw mq_notify call with SIGEV_THREAD is ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/files.h>
#include <libc/musl/services.h>
#include <libc/musl/sysv_client.h>

_Static_assert(sizeof(struct mq_attr) == 2 * sizeof(struct tern_libc_mq_attr)
                   && offsetof(struct mq_attr, mq_curmsgs) == 24,
               "struct mq_attr is not the protocol's MqAttr and four reserved longs");
_Static_assert(O_CREAT == 0100 && O_EXCL == 0200 && O_NONBLOCK == 04000 && O_RDWR == 2
                   && O_WRONLY == 1,
               "open flags differ from the ipc protocol's");
_Static_assert(SIGEV_SIGNAL == 0 && SIGEV_NONE == 1 && SIGEV_THREAD == 2,
               "SIGEV_* differ from the ipc protocol's");

enum {
    kPrioMax = 32768,
    kAccMode = 03, /* O_RDONLY, O_WRONLY, O_RDWR (musl's O_ACCMODE has O_PATH too) */
    kSignals = 64,
};

static char g_name[TERN_LIBC_MQ_NAME_MAX + 1];
static unsigned char g_text[TERN_LIBC_MQ_MSGSIZE_MAX];

/* The name (musl has taken its leading '/'): its length, or -EFAULT, or -ENAMETOOLONG for
 * one longer than PATH_MAX or (from the server, as Linux's lookup) NAME_MAX. */
static long copy_name(const char* user) {
    long length = 0;
    for (;;) {
        char c = 0;
        long r = tern_libc_copy_in(&c, user + length, 1);
        if (r < 0)
            return r;
        if (c == 0)
            return length;
        if (length < TERN_LIBC_MQ_NAME_MAX + 1)
            g_name[length] = c;
        if (++length >= TERN_LINUX_PATH_MAX)
            return -ENAMETOOLONG;
    }
}

/* A name longer than NAME_MAX goes to the server as NAME_MAX + 1 bytes: it says
 * ENAMETOOLONG after the checks that come first on Linux. */
static uint32_t sent_length(long length) {
    return length > TERN_LIBC_MQ_NAME_MAX ? TERN_LIBC_MQ_NAME_MAX + 1 : (uint32_t)length;
}

/* The queue description fd names, or 0 (EBADF). */
static struct tern_libc_file* queue_of(long fd) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    return file && file->kind == TERN_LIBC_FD_MQUEUE ? file : 0;
}

/* An absolute CLOCK_REALTIME timeout in ns (TERN_LIBC_IPC_FOREVER for none): 0, -EFAULT
 * or -EINVAL. */
static long deadline_of(const struct timespec* user, uint64_t* deadline) {
    *deadline = TERN_LIBC_IPC_FOREVER;
    if (!user)
        return 0;
    struct timespec t;
    long r = tern_libc_copy_in(&t, user, sizeof(t));
    if (r < 0)
        return r;
    if (t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000L)
        return -EINVAL;
    uint64_t seconds = (uint64_t)t.tv_sec;
    *deadline = seconds >= 18000000000ull ? TERN_LIBC_IPC_FOREVER - 1
                                          : seconds * 1000000000ull + (uint64_t)t.tv_nsec;
    return 0;
}

static long sys_mq_open(const char* user_name, long oflag, long mode,
                        const struct mq_attr* user_attr) {
    struct tern_libc_mq_attr attr;
    if (user_attr) {
        long r = tern_libc_copy_in(&attr, user_attr, sizeof(attr));
        if (r < 0)
            return r;
    }
    long length = copy_name(user_name);
    if (length < 0)
        return length;
    struct tern_libc_fd_table* table = tern_libc_fds();
    int fd = tern_libc_fd_allocate(table, TERN_LIBC_FD_MQUEUE);
    if (fd < 0)
        return fd;
    uint32_t flags = (uint32_t)oflag & (kAccMode | O_CREAT | O_EXCL | O_NONBLOCK);
    uint32_t bits = (uint32_t)mode & ~*tern_libc_umask() & 0777;
    uint64_t description = 0, secret = 0;
    long r = tern_libc_mq_open(g_name, sent_length(length), flags, bits,
                               user_attr && (oflag & O_CREAT) ? &attr : 0, &description, &secret);
    struct tern_libc_file* file = tern_libc_fd_lookup(table, fd);
    if (r < 0) {
        struct tern_libc_file* last = tern_libc_fd_release(table, fd);
        if (last)
            tern_libc_file_free(last);
        return r;
    }
    file->flags = flags & (kAccMode | O_NONBLOCK);
    file->mqueue.description = description;
    file->mqueue.secret = secret;
    (void)tern_libc_fd_set_flags(table, fd, TERN_LINUX_FD_CLOEXEC);
    return fd;
}

static long sys_mq_unlink(const char* user_name) {
    long length = copy_name(user_name);
    if (length < 0)
        return length;
    return tern_libc_mq_unlink(g_name, sent_length(length));
}

/* Waits for the server's answer again after a signal that restarts the call. */
#define RESTARTING(call)                                                                           \
    do {                                                                                           \
        uint64_t mark = tern_libc_signal_mark();                                                   \
        for (;;) {                                                                                 \
            r = (call);                                                                            \
            if (r != -EINTR || tern_libc_signal_interrupts(mark, 1))                               \
                break;                                                                             \
        }                                                                                          \
    } while (0)

/* A send's or receive's queue and deadline: NULL with *error when either is bad. */
static struct tern_libc_file* queue_until(long fd, const struct timespec* timeout,
                                          uint64_t* deadline, long* error) {
    *error = deadline_of(timeout, deadline);
    if (*error < 0)
        return NULL;
    struct tern_libc_file* q = queue_of(fd);
    if (!q)
        *error = -EBADF;
    return q;
}

static long sys_mq_timedsend(long fd, const void* user_text, size_t length, unsigned priority,
                             const struct timespec* timeout) {
    if (priority >= kPrioMax)
        return -EINVAL;
    uint64_t deadline = 0;
    long r = 0;
    struct tern_libc_file* q = queue_until(fd, timeout, &deadline, &r);
    if (!q)
        return r;
    if ((q->flags & kAccMode) == O_RDONLY)
        return -EBADF;
    if (length > TERN_LIBC_MQ_MSGSIZE_MAX) /* longer than any queue's mq_msgsize */
        return -EMSGSIZE;
    if (length > 0 && (r = tern_libc_copy_in(g_text, user_text, length)) < 0)
        return r;
    uint64_t description = q->mqueue.description, secret = q->mqueue.secret;
    RESTARTING(
        tern_libc_mq_send(description, secret, g_text, (uint32_t)length, priority, deadline));
    return r;
}

static long sys_mq_timedreceive(long fd, void* user_text, size_t length, unsigned* user_priority,
                                const struct timespec* timeout) {
    uint64_t deadline = 0;
    long r = 0;
    struct tern_libc_file* q = queue_until(fd, timeout, &deadline, &r);
    if (!q)
        return r;
    uint64_t description = q->mqueue.description, secret = q->mqueue.secret;
    uint32_t priority = 0;
    RESTARTING(
        tern_libc_mq_receive(description, secret, g_text, (uint64_t)length, deadline, &priority));
    if (r < 0)
        return r;
    long size = r;
    if ((r = tern_libc_copy_out(user_text, g_text, (uint64_t)size)) < 0)
        return r;
    if (user_priority && (r = tern_libc_copy_out(user_priority, &priority, sizeof(priority))) < 0)
        return r;
    return size;
}

static long sys_mq_notify(long fd, const struct sigevent* user_event) {
    struct sigevent event;
    if (user_event) {
        long r = tern_libc_copy_in(&event, user_event, sizeof(event));
        if (r < 0)
            return r;
        if (event.sigev_notify != SIGEV_NONE && event.sigev_notify != SIGEV_SIGNAL
            && event.sigev_notify != SIGEV_THREAD)
            return -EINVAL;
        if (event.sigev_notify == SIGEV_SIGNAL
            && (event.sigev_signo < 0 || event.sigev_signo > kSignals))
            return -EINVAL;
    }
    struct tern_libc_file* q = queue_of(fd);
    if (!q)
        return -EBADF;
    if (user_event && event.sigev_notify == SIGEV_THREAD)
        return -ENOSYS; /* Linux's netlink cookie: see the top of this file */
    if (!user_event)
        return tern_libc_mq_notify(q->mqueue.description, q->mqueue.secret, 1, 0, 0, 0, 0);
    return tern_libc_mq_notify(q->mqueue.description, q->mqueue.secret, 0, event.sigev_notify,
                               event.sigev_signo, (int64_t)(intptr_t)event.sigev_value.sival_ptr,
                               tern_libc_startup_pid());
}

static long sys_mq_getsetattr(long fd, const struct mq_attr* user_new, struct mq_attr* user_old) {
    struct tern_libc_mq_attr set;
    if (user_new) {
        long r = tern_libc_copy_in(&set, user_new, sizeof(set));
        if (r < 0)
            return r;
        if (set.flags & ~(int64_t)O_NONBLOCK)
            return -EINVAL;
    }
    struct tern_libc_file* q = queue_of(fd);
    if (!q)
        return -EBADF;
    struct tern_libc_mq_attr old;
    long r = tern_libc_mq_attr(q->mqueue.description, q->mqueue.secret, user_new != 0,
                               user_new ? set.flags : 0, &old);
    if (r < 0)
        return r;
    if (user_new)
        q->flags = (q->flags & ~(uint32_t)O_NONBLOCK) | (uint32_t)(set.flags & O_NONBLOCK);
    if (user_old) {
        /* All of struct mq_attr, its reserved longs zero, as Linux writes it. */
        struct tern_libc_mq_attr whole[2] = {old, {0, 0, 0, 0}};
        return tern_libc_copy_out(user_old, whole, sizeof(whole));
    }
    return 0;
}

long tern_libc_mq_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_mq_open:
        return sys_mq_open((const char*)a1, a2, a3, (const struct mq_attr*)a4);
    case SYS_mq_unlink:
        return sys_mq_unlink((const char*)a1);
    case SYS_mq_timedsend:
        return sys_mq_timedsend(a1, (const void*)a2, (size_t)a3, (unsigned)a4,
                                (const struct timespec*)a5);
    case SYS_mq_timedreceive:
        return sys_mq_timedreceive(a1, (void*)a2, (size_t)a3, (unsigned*)a4,
                                   (const struct timespec*)a5);
    case SYS_mq_notify:
        return sys_mq_notify(a1, (const struct sigevent*)a2);
    case SYS_mq_getsetattr:
        return sys_mq_getsetattr(a1, (const struct mq_attr*)a2, (struct mq_attr*)a3);
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

void tern_libc_mq_release(struct tern_libc_file* file) {
    (void)tern_libc_mq_close(file->mqueue.description, file->mqueue.secret);
}

/* Each open queue description of the process, once. */
static void for_each_queue(void (*f)(struct tern_libc_file* file, int32_t delta), int32_t delta) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i)
        if (table->files[i].references && table->files[i].kind == TERN_LIBC_FD_MQUEUE)
            f(&table->files[i], delta);
}

static void share(struct tern_libc_file* file, int32_t delta) {
    (void)tern_libc_mq_share(file->mqueue.description, file->mqueue.secret, delta);
}

void tern_libc_mq_fork_prepare(void) { for_each_queue(share, 1); }

void tern_libc_mq_fork_undo(void) { for_each_queue(share, -1); }

void tern_libc_mq_fork_child(void) { for_each_queue(share, 0); }

long tern_libc_mq_reopen(struct tern_libc_file* file) {
    return tern_libc_mq_share(file->mqueue.description, file->mqueue.secret, 0);
}

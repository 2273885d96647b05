/*
 * Tern's posix_spawn (an overlay of musl's src/process/posix_spawn.c, written for Tern).
 *
 * musl makes the child with clone(CLONE_VM | CLONE_VFORK), which Tern does not have (no
 * task shares another's address space). The common case needs no child code at all: the
 * parent loads the program into a new task, has proc make it its child (proc Fork), and
 * hands it the state an execve would carry, with the close and dup2 actions and the
 * signal attributes applied (tern_libc_spawn, libc/musl/backend_exec.c): one proc call
 * and the child's start, no copy of this process. Everything else (posix_spawnp's search,
 * open, chdir and fchdir actions, a pipe the child would keep, a script, the session and
 * group attributes) goes the general way: a fork, where the child applies the attributes
 * and the file actions in POSIX's order and execs (execve, or execvpe for posix_spawnp,
 * which passes it in the attributes as musl does). A failure before the exec is sent to
 * the parent as its errno through a close-on-exec pipe, and the child exits 127 and is
 * reaped here; a successful exec closes the pipe, so the parent's read sees end of file
 * and posix_spawn returns 0 with the pid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdop.h"

typedef int (*exec_function)(const char*, char* const*, char* const*);

/* The oldest file action: the list's head is the newest, linked to older ones by next. */
static const struct fdop* oldest(const posix_spawn_file_actions_t* fa) {
    const struct fdop* op = fa ? fa->__actions : 0;
    while (op && op->next)
        op = op->next;
    return op;
}

/* Moves the error pipe's write end out of the way of every descriptor the actions name. */
static int move_pipe(int report, const posix_spawn_file_actions_t* fa) {
    int highest = report;
    for (const struct fdop* op = oldest(fa); op; op = op->prev)
        if (op->fd > highest)
            highest = op->fd;
    if (highest == report)
        return report;
    int moved = fcntl(report, F_DUPFD_CLOEXEC, highest + 1);
    if (moved < 0)
        return -1;
    close(report);
    return moved;
}

static int apply_file_actions(const posix_spawn_file_actions_t* fa) {
    for (const struct fdop* op = oldest(fa); op; op = op->prev) {
        switch (op->cmd) {
        case FDOP_CLOSE:
            close(op->fd); /* closing what is not open is no error here, as on Linux */
            break;
        case FDOP_DUP2:
            if (op->srcfd == op->fd) {
                /* dup2 onto itself clears close-on-exec (POSIX 2017). */
                int flags = fcntl(op->fd, F_GETFD);
                if (flags < 0 || fcntl(op->fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
                    return errno;
            } else if (dup2(op->srcfd, op->fd) < 0) {
                return errno;
            }
            break;
        case FDOP_OPEN: {
            int fd = open(op->path, op->oflag, op->mode);
            if (fd < 0)
                return errno;
            if (fd != op->fd) {
                if (dup2(fd, op->fd) < 0)
                    return errno;
                close(fd);
            }
            break;
        }
        case FDOP_CHDIR:
            if (chdir(op->path) < 0)
                return errno;
            break;
        case FDOP_FCHDIR:
            if (fchdir(op->fd) < 0)
                return errno;
            break;
        default:
            return EINVAL;
        }
    }
    return 0;
}

/* The child's work before the exec; returns the errno of what failed. */
static int prepare_child(const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* attr) {
    short flags = attr ? (short)attr->__flags : 0;
    if ((flags & POSIX_SPAWN_SETSID) && setsid() < 0)
        return errno;
    if ((flags & POSIX_SPAWN_SETPGROUP) && setpgid(0, attr->__pgrp) < 0)
        return errno;
    if ((flags & POSIX_SPAWN_RESETIDS) && (setgid(getgid()) < 0 || setuid(getuid()) < 0))
        return errno;
    if (flags & POSIX_SPAWN_SETSIGDEF) {
        struct sigaction action = {0};
        action.sa_handler = SIG_DFL;
        for (int signal = 1; signal < _NSIG; ++signal)
            if (sigismember(&attr->__def, signal) == 1 && signal != SIGKILL && signal != SIGSTOP)
                (void)sigaction(signal, &action, 0);
    }
    int e = apply_file_actions(fa);
    if (e != 0)
        return e;
    if ((flags & POSIX_SPAWN_SETSIGMASK) && sigprocmask(SIG_SETMASK, &attr->__mask, 0) < 0)
        return errno;
    return 0;
}

/* Tern's C library backend (libc/musl/backend.h, declared there the same way). */
#define TERN_LIBC_SPAWN_FORK 1
#define TERN_LIBC_SPAWN_CLOSE 1
#define TERN_LIBC_SPAWN_DUP2 2
struct tern_libc_spawn_op {
    int cmd;
    int fd;
    int source;
};
long tern_libc_spawn(const char* path, char* const* argv, char* const* envp,
                     const struct tern_libc_spawn_op* ops, int op_count, const uint64_t* mask,
                     uint64_t defaults, long* pid);

/* The first 64 signals of a set, bit N-1 for signal N. */
static uint64_t low_signals(const sigset_t* set) {
    uint64_t bits = 0;
    for (int signal = 1; signal <= 64 && signal < _NSIG; ++signal)
        if (sigismember(set, signal) == 1)
            bits |= (uint64_t)1 << (signal - 1);
    return bits;
}

/* Without a fork, when nothing needs the child's own calls: the path is the program's
 * (not a posix_spawnp search), the attributes ask for no session or group, and the
 * actions only close and dup2 (an open, chdir or fchdir runs in a forked child).
 * TERN_LIBC_SPAWN_FORK when the case is not one of those. */
static long spawn_direct(pid_t* res, const char* path, const posix_spawn_file_actions_t* fa,
                         const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
    enum {
        kMaxOps = 64
    };
    short flags = attr ? (short)attr->__flags : 0;
    if ((attr && attr->__fn) || (flags & (POSIX_SPAWN_SETSID | POSIX_SPAWN_SETPGROUP)))
        return TERN_LIBC_SPAWN_FORK;
    struct tern_libc_spawn_op ops[kMaxOps];
    int count = 0;
    for (const struct fdop* op = oldest(fa); op; op = op->prev) {
        if (count == kMaxOps || (op->cmd != FDOP_CLOSE && op->cmd != FDOP_DUP2))
            return TERN_LIBC_SPAWN_FORK;
        ops[count].cmd = op->cmd == FDOP_CLOSE ? TERN_LIBC_SPAWN_CLOSE : TERN_LIBC_SPAWN_DUP2;
        ops[count].fd = op->fd;
        ops[count].source = op->srcfd;
        ++count;
    }
    uint64_t mask = 0;
    if (flags & POSIX_SPAWN_SETSIGMASK)
        mask = low_signals(&attr->__mask);
    uint64_t defaults = (flags & POSIX_SPAWN_SETSIGDEF) ? low_signals(&attr->__def) : 0;
    long pid = 0;
    long r = tern_libc_spawn(path, argv, envp, ops, count,
                             (flags & POSIX_SPAWN_SETSIGMASK) ? &mask : 0, defaults, &pid);
    if (r == 0 && res)
        *res = (pid_t)pid;
    return r;
}

int posix_spawn(pid_t* restrict res, const char* restrict path,
                const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* restrict attr,
                char* const argv[restrict], char* const envp[restrict]) {
    long direct = spawn_direct(res, path, fa, attr, argv, envp);
    if (direct != TERN_LIBC_SPAWN_FORK)
        return (int)-direct;
    exec_function exec = attr && attr->__fn ? (exec_function)attr->__fn : execve;
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0)
        return errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(report[0]);
        close(report[1]);
        return e;
    }
    if (pid == 0) {
        close(report[0]);
        int to_parent = move_pipe(report[1], fa);
        int e = to_parent < 0 ? errno : prepare_child(fa, attr);
        if (e == 0) {
            exec(path, argv, envp);
            e = errno;
        }
        if (to_parent >= 0)
            while (write(to_parent, &e, sizeof(e)) < 0 && errno == EINTR) {
            }
        _exit(127);
    }
    close(report[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(report[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof(e)) {
        int status;
        (void)waitpid(pid, &status, 0);
        return e;
    }
    if (res)
        *res = pid;
    return 0;
}

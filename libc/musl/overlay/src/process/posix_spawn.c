/*
 * Tern's posix_spawn (an overlay of musl's src/process/posix_spawn.c, written for Tern).
 *
 * musl makes the child with clone(CLONE_VM | CLONE_VFORK), which Tern does not have (no
 * task shares another's address space), so the child here is a fork: a copy-on-write
 * clone, cheap on Tern (docs/libc.md, "Processes"). In the child the attributes and the
 * file actions are applied in POSIX's order, then the program is exec'd (execve, or
 * execvpe for posix_spawnp, which passes it in the attributes as musl does). A failure
 * before the exec is sent to the parent as its errno through a close-on-exec pipe, and
 * the child exits 127 and is reaped here; a successful exec closes the pipe, so the
 * parent's read sees end of file and posix_spawn returns 0 with the pid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
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

int posix_spawn(pid_t* restrict res, const char* restrict path,
                const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* restrict attr,
                char* const argv[restrict], char* const envp[restrict]) {
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

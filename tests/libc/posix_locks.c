/*
 * posix_locks: fcntl's record locks (F_GETLK, F_SETLK, F_SETLKW) between processes,
 * through the C library, on a file of /tmp (the tmpfs server on Tern).
 *
 * Checks: a write lock held by the parent makes a child's overlapping F_SETLK fail with
 * EAGAIN while a range beside it is free; F_GETLK names the holder's pid and range; a
 * process's own locks never conflict (it upgrades, downgrades and splits them); F_SETLKW
 * waits until the holder unlocks; a holder killed with SIGKILL releases its lock to a
 * parked waiter; closing another descriptor of the file, or replacing it with dup2,
 * releases the process's locks; a signal ends an F_SETLKW wait with EINTR and the lock it
 * waited for is never granted to it; a two-process cycle is EDEADLK; flock(2)'s locks
 * belong to the open file description (shared by fork and dup, released by its last
 * close) and never meet fcntl's; bad input: EBADF, EINVAL.
 *
 * The same source runs on the host's Linux (unit.libc_posix_locks_on_host), so the
 * expectations are Linux's. Every wait is bounded (alarm, poll timeouts). Prints
 * "posix_locks: ok ..." per check, "posix_locks: FAILED ..." for a failure and
 * "posix_locks: N checks, M failures"; exits 0 only when nothing failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK_NAME "posix_locks"
#include "check.h"

static char g_path[64];

static int lock(int fd, int command, short type, off_t start, off_t len) {
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    return fcntl(fd, command, &fl);
}

/* A child's F_SETLK of the range on its own descriptor of the file: 0 or its errno. */
static int child_try(short type, off_t start, off_t len) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(g_path, O_RDWR);
        if (fd < 0)
            _exit(100);
        _exit(lock(fd, F_SETLK, type, start, len) == 0 ? 0 : errno);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* One byte from fd within ms milliseconds: the byte, or -1. */
static int read_byte(int fd, int ms) {
    struct pollfd p = {fd, POLLIN, 0};
    char c = 0;
    if (poll(&p, 1, ms) != 1 || read(fd, &c, 1) != 1)
        return -1;
    return c;
}

static void on_alarm(int signo) { (void)signo; }

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, 0);
}

int main(void) {
    alarm(60); /* the whole program is bounded */
    snprintf(g_path, sizeof(g_path), "/tmp/posix_locks.%d", (int)getpid());
    int fd = open(g_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    check(fd >= 0, "the test file opens");
    char bytes[100];
    memset(bytes, 'x', sizeof(bytes));
    check(write(fd, bytes, sizeof(bytes)) == (ssize_t)sizeof(bytes), "100 bytes written");

    /* Conflicts between two processes, F_GETLK. */
    check(lock(fd, F_SETLK, F_WRLCK, 0, 10) == 0, "the parent write-locks bytes 0-9");
    check(child_try(F_WRLCK, 5, 1) == EAGAIN, "a child's write lock of byte 5 is EAGAIN");
    check(child_try(F_RDLCK, 9, 5) == EAGAIN, "a child's read lock of bytes 9-13 is EAGAIN");
    check(child_try(F_WRLCK, 10, 0) == 0, "a child's write lock from byte 10 to EOF is granted");
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int own = open(g_path, O_RDONLY);
        struct flock q = {0};
        q.l_type = F_RDLCK;
        q.l_whence = SEEK_SET;
        q.l_start = 3;
        q.l_len = 50;
        int ok = own >= 0 && fcntl(own, F_GETLK, &q) == 0 && q.l_type == F_WRLCK
                 && q.l_pid == parent && q.l_start == 0 && q.l_len == 10 && q.l_whence == SEEK_SET;
        q.l_type = F_WRLCK;
        q.l_start = 20;
        q.l_len = 0;
        ok = ok && fcntl(own, F_GETLK, &q) == 0 && q.l_type == F_UNLCK;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
          "a child's F_GETLK names the parent, bytes 0-9, and F_UNLCK for free bytes");

    /* A process's own locks never conflict. */
    check(lock(fd, F_SETLK, F_RDLCK, 0, 100) == 0, "the parent read-locks its write-locked bytes");
    check(lock(fd, F_SETLK, F_WRLCK, 40, 10) == 0, "and write-locks bytes 40-49 inside");
    check(child_try(F_RDLCK, 0, 40) == 0, "a child may read-lock bytes 0-39 now");
    check(child_try(F_RDLCK, 45, 1) == EAGAIN, "but not byte 45");
    check(lock(fd, F_SETLK, F_UNLCK, 0, 0) == 0, "the parent unlocks the whole file");
    check(child_try(F_WRLCK, 0, 0) == 0, "a child may write-lock the whole file now");

    /* F_SETLKW waits until the holder unlocks. */
    int ready[2], done[2];
    check(pipe(ready) == 0 && pipe(done) == 0, "pipes for the children");
    check(lock(fd, F_SETLK, F_WRLCK, 0, 10) == 0, "the parent write-locks bytes 0-9 again");
    pid = fork();
    if (pid == 0) {
        int own = open(g_path, O_RDWR);
        (void)write(ready[1], "r", 1);
        int r = own >= 0 ? lock(own, F_SETLKW, F_WRLCK, 5, 1) : -1;
        (void)write(done[1], r == 0 ? "g" : "e", 1);
        _exit(0);
    }
    check(read_byte(ready[0], 5000) == 'r', "the waiting child started");
    sleep_ms(300);
    check(read_byte(done[0], 0) == -1, "its F_SETLKW waits while the parent holds the lock");
    check(lock(fd, F_SETLK, F_UNLCK, 0, 10) == 0, "the parent unlocks");
    check(read_byte(done[0], 5000) == 'g', "the child's F_SETLKW is granted");
    check(waitpid(pid, &status, 0) == pid, "the child ended");
    /* The child ended: its lock went with it. */
    check(lock(fd, F_SETLK, F_WRLCK, 0, 10) == 0, "its lock went when it ended");
    check(lock(fd, F_SETLK, F_UNLCK, 0, 10) == 0, "the parent unlocks");

    /* A holder killed with SIGKILL releases its lock to a waiter. */
    pid = fork();
    if (pid == 0) {
        int own = open(g_path, O_RDWR);
        int r = own >= 0 ? lock(own, F_SETLK, F_WRLCK, 0, 10) : -1;
        (void)write(ready[1], r == 0 ? "h" : "e", 1);
        for (;;)
            pause();
    }
    check(read_byte(ready[0], 5000) == 'h', "a child holds bytes 0-9");
    check(lock(fd, F_SETLK, F_WRLCK, 0, 10) == -1 && errno == EAGAIN,
          "the parent's F_SETLK is EAGAIN");
    pid_t waiter = fork();
    if (waiter == 0) {
        int own = open(g_path, O_RDWR);
        alarm(10);
        int r = own >= 0 ? lock(own, F_SETLKW, F_RDLCK, 2, 2) : -1;
        (void)write(done[1], r == 0 ? "g" : "e", 1);
        _exit(0);
    }
    sleep_ms(300);
    check(read_byte(done[0], 0) == -1, "a second child waits in F_SETLKW");
    check(kill(pid, SIGKILL) == 0, "the holder is killed with SIGKILL");
    check(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status), "the holder ended by SIGKILL");
    check(read_byte(done[0], 5000) == 'g', "the waiter got the lock of the killed holder");
    check(waitpid(waiter, &status, 0) == waiter, "the waiter ended");

    /* Closing any descriptor of the file releases the process's locks on it. */
    check(lock(fd, F_SETLK, F_WRLCK, 0, 10) == 0, "the parent write-locks bytes 0-9");
    int other = open(g_path, O_RDONLY);
    check(other >= 0, "a second descriptor of the file opens");
    check(child_try(F_WRLCK, 0, 1) == EAGAIN, "the lock holds");
    check(close(other) == 0, "the second descriptor is closed");
    check(child_try(F_WRLCK, 0, 1) == 0, "closing it released the parent's lock");
    check(lock(fd, F_SETLK, F_WRLCK, 0, 10) == 0, "the parent write-locks bytes 0-9 again");
    other = open(g_path, O_RDONLY);
    int spare = open("/dev/null", O_RDONLY);
    check(other >= 0 && spare >= 0 && dup2(spare, other) == other,
          "dup2 replaces a second descriptor of the file");
    check(child_try(F_WRLCK, 0, 1) == 0, "replacing it released the parent's lock");
    close(other);
    close(spare);

    /* A signal ends an F_SETLKW wait with EINTR; the lock is never granted to it. */
    check(lock(fd, F_SETLK, F_WRLCK, 0, 10) == 0, "the parent write-locks bytes 0-9");
    pid = fork();
    if (pid == 0) {
        int own = open(g_path, O_RDWR);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, 0);
        alarm(1);
        int r = own >= 0 ? lock(own, F_SETLKW, F_WRLCK, 0, 1) : 0;
        int e = errno;
        alarm(0);
        (void)write(done[1], r == -1 && e == EINTR ? "i" : "e", 1);
        (void)read_byte(ready[0], 10000); /* stays alive until the parent has looked */
        _exit(0);
    }
    check(read_byte(done[0], 5000) == 'i', "a signal ends a child's F_SETLKW with EINTR");
    check(lock(fd, F_SETLK, F_UNLCK, 0, 10) == 0, "the parent unlocks");
    sleep_ms(200);
    check(child_try(F_WRLCK, 0, 1) == 0,
          "the interrupted child was not given the lock it no longer waits for");
    (void)write(ready[1], "x", 1);
    check(waitpid(pid, &status, 0) == pid, "the interrupted child ended");

    /* A two-process cycle: EDEADLK for the second waiter. */
    check(lock(fd, F_SETLK, F_WRLCK, 0, 1) == 0, "the parent write-locks byte 0");
    pid = fork();
    if (pid == 0) {
        int own = open(g_path, O_RDWR);
        alarm(10);
        int r = own >= 0 ? lock(own, F_SETLK, F_WRLCK, 1, 1) : -1;
        (void)write(ready[1], r == 0 ? "h" : "e", 1);
        r = r == 0 ? lock(own, F_SETLKW, F_WRLCK, 0, 1) : -1;
        (void)write(done[1], r == 0 ? "g" : "e", 1);
        _exit(0);
    }
    check(read_byte(ready[0], 5000) == 'h', "a child write-locks byte 1");
    sleep_ms(300);
    check(read_byte(done[0], 0) == -1, "and waits in F_SETLKW for byte 0");
    alarm(10);
    check(lock(fd, F_SETLKW, F_WRLCK, 1, 1) == -1 && errno == EDEADLK,
          "the parent's F_SETLKW for byte 1 is EDEADLK");
    alarm(60);
    check(lock(fd, F_SETLK, F_UNLCK, 0, 1) == 0, "the parent unlocks byte 0");
    check(read_byte(done[0], 5000) == 'g', "the child gets byte 0");
    check(waitpid(pid, &status, 0) == pid, "the child ended");

    /* flock: whole-file locks owned by the open file description. */
    int whole = open(g_path, O_RDWR);
    check(whole >= 0 && flock(whole, LOCK_EX) == 0, "flock LOCK_EX on a new description");
    pid = fork();
    if (pid == 0) {
        int own = open(g_path, O_RDWR);
        int ok = own >= 0 && flock(own, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK;
        ok = ok && flock(own, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
        ok = ok && lock(own, F_SETLK, F_WRLCK, 0, 0) == 0; /* fcntl's locks are apart */
        ok = ok && flock(whole, LOCK_EX | LOCK_NB) == 0;   /* the inherited description's */
        _exit(ok ? 0 : 1);
    }
    check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
          "a child's flock of its own description is EWOULDBLOCK, of the inherited one ok");
    int copy = dup(whole);
    check(copy >= 0 && close(copy) == 0, "a duplicate of the description is closed");
    pid = fork();
    if (pid == 0) {
        close(whole); /* the parent's close below is then the description's last */
        int own = open(g_path, O_RDWR);
        alarm(10);
        (void)write(ready[1], "r", 1);
        int r = own >= 0 ? flock(own, LOCK_SH) : -1;
        (void)write(done[1], r == 0 ? "g" : "e", 1);
        _exit(0);
    }
    check(read_byte(ready[0], 5000) == 'r', "a child waits in flock LOCK_SH");
    sleep_ms(300);
    check(read_byte(done[0], 0) == -1, "it waits while the description holds LOCK_EX");
    check(close(whole) == 0, "the description's last descriptor is closed");
    check(read_byte(done[0], 5000) == 'g', "the waiting child gets its shared lock");
    check(waitpid(pid, &status, 0) == pid, "the child ended");
    whole = open(g_path, O_RDWR);
    check(whole >= 0 && flock(whole, LOCK_SH | LOCK_NB) == 0 && flock(whole, LOCK_UN) == 0,
          "flock LOCK_SH then LOCK_UN");
    check(flock(whole, LOCK_SH | LOCK_EX) == -1 && errno == EINVAL,
          "flock of LOCK_SH | LOCK_EX: EINVAL");
    check(flock(99, LOCK_SH) == -1 && errno == EBADF, "flock of a closed descriptor: EBADF");
    close(whole);

    /* Bad input. */
    errno = 0;
    check(lock(fd, 12345, F_WRLCK, 0, 1) == -1 && errno == EINVAL, "an unknown command: EINVAL");
    check(lock(99, F_SETLK, F_WRLCK, 0, 1) == -1 && errno == EBADF, "a closed descriptor: EBADF");
    check(lock(fd, F_SETLK, 7, 0, 1) == -1 && errno == EINVAL, "l_type 7: EINVAL");
    check(lock(fd, F_GETLK, F_UNLCK, 0, 1) == -1 && errno == EINVAL, "F_GETLK of F_UNLCK: EINVAL");
    check(lock(fd, F_SETLK, F_WRLCK, -1, 1) == -1 && errno == EINVAL, "a negative start: EINVAL");
    check(lock(fd, F_SETLK, F_WRLCK, 5, -6) == -1 && errno == EINVAL,
          "a negative length before byte 0: EINVAL");
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = 9;
    check(fcntl(fd, F_SETLK, &fl) == -1 && errno == EINVAL, "l_whence 9: EINVAL");
    int reader = open(g_path, O_RDONLY);
    int writer = open(g_path, O_WRONLY);
    check(lock(reader, F_SETLK, F_WRLCK, 0, 1) == -1 && errno == EBADF,
          "a write lock on a read-only descriptor: EBADF");
    check(lock(writer, F_SETLK, F_RDLCK, 0, 1) == -1 && errno == EBADF,
          "a read lock on a write-only descriptor: EBADF");
    check(lock(writer, F_SETLK, F_WRLCK, 0, 1) == 0, "a write lock on a write-only descriptor");
    close(reader);
    close(writer);
    close(fd);
    unlink(g_path);
    return check_summary();
}

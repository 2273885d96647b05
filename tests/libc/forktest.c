/*
 * forktest: fork, _exit, waitpid/wait/wait4/waitid with WNOHANG, getppid, kill of a child
 * and pipes between parent and child, through the C library.
 *
 * The child changes a global and a heap buffer and exits 7; the parent sees its own values
 * unchanged and waitpid reports WEXITSTATUS 7; WNOHANG before the child ends returns 0;
 * getppid in the child equals the parent's pid; 100 fork+wait in a loop; a child killed
 * with SIGKILL reports WIFSIGNALED; 256 KiB through a pipe from a child, with end of file
 * once it is gone; a forked child's reads and writes with bad pointers EFAULT; a socket the child
 * closes stays open for the parent; waits for no child are ECHILD; 500 forks while SIGCHLD and a 1
 * ms SIGALRM timer come to handlers without SA_RESTART, none failing with EINTR.
 *
 * The same source builds and runs on the host's Linux (unit.libc_forktest_on_host), so
 * every expectation is what Linux does. Prints "forktest: ok ..." per check,
 * "forktest: FAILED ..." for a failure and "forktest: N checks, M failures"; exits 0 only
 * when nothing failed. Children report through their exit status and pipes; every wait
 * for a child is for one that is known to end.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int g_checks, g_failures;
static volatile int g_global = 1;

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("forktest: ok %s\n", what);
    } else {
        ++g_failures;
        printf("forktest: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("forktest: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("forktest: FAILED %s: got %ld errno %d, expected %d\n", what, r, r == -1 ? errno : 0,
               want);
    }
}

/* A forked child's reads and writes with bad pointers fail with EFAULT and lose nothing,
 * as its parent's do. */
static void child_bad_pointers(void) {
    int fds[2];
    if (pipe(fds) != 0) {
        check(0, "a pipe for the bad pointers");
        return;
    }
    static void* volatile bad = (void*)8;
    char buffer[4] = {0};
    /* Once in the parent first, so that the child starts from the parent's state. */
    check(write(fds[1], bad, 3) == -1 && errno == EFAULT, "a write from a bad pointer: EFAULT");
    pid_t pid = fork();
    if (pid == 0) {
        int ok = write(fds[1], bad, 3) == -1 && errno == EFAULT;
        ok = ok && write(fds[1], "xyz", 3) == 3;
        ok = ok && read(fds[0], bad, 3) == -1 && errno == EFAULT;
        ok = ok && read(fds[0], buffer, 3) == 3 && memcmp(buffer, "xyz", 3) == 0;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
          "a forked child's reads and writes with bad pointers: EFAULT, nothing lost");
    close(fds[0]);
    close(fds[1]);
}

static int read_all(int fd, void* buffer, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, (char*)buffer + done, size - done);
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* The child changes its memory, reports getppid and getpid, waits for the parent's go
 * and exits 7. */
static void child_and_parent_memory(void) {
    char* heap = malloc(4096);
    memset(heap, 'p', 4096);
    g_global = 1;
    int to_child[2], to_parent[2];
    if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
        check(0, "pipes for the first child");
        return;
    }
    pid_t parent = getpid();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        g_global = 2;
        memset(heap, 'c', 4096);
        long ids[2] = {(long)getppid(), (long)getpid()};
        int good = g_global == 2 && heap[4095] == 'c';
        (void)!write(to_parent[1], ids, sizeof(ids));
        char go = 0;
        if (read(to_child[0], &go, 1) != 1 || go != 'g')
            _exit(20);
        printf("forktest: the child writes to the console too\n");
        fflush(stdout);
        _exit(good ? 7 : 21);
    }
    check(pid > 0, "fork returns the child's pid to the parent");
    if (pid < 0)
        return;
    close(to_child[0]);
    close(to_parent[1]);
    check(pid != parent, "the child's pid is not the parent's");
    long ids[2] = {0, 0};
    check(read_all(to_parent[0], ids, sizeof(ids)) == 0, "the child reports through a pipe");
    check(ids[0] == (long)parent, "getppid in the child is the parent's pid");
    check(ids[1] == (long)pid, "getpid in the child is the pid fork returned");
    int status = -1;
    check(waitpid(pid, &status, WNOHANG) == 0, "waitpid WNOHANG before the child ends is 0");
    check(write(to_child[1], "g", 1) == 1, "the parent lets the child go");
    check(waitpid(pid, &status, 0) == pid, "waitpid returns the child");
    check(WIFEXITED(status) && WEXITSTATUS(status) == 7, "WEXITSTATUS is 7");
    check(g_global == 1, "the parent's global is its own");
    check(heap[0] == 'p' && heap[4095] == 'p', "the parent's heap buffer is its own");
    check_errno(waitpid(pid, &status, 0), ECHILD, "a child is waited for once");
    close(to_child[1]);
    close(to_parent[0]);
    free(heap);
}

/* A grandchild whose parent has ended sees getppid change (to init's pid). */
static void orphan(void) {
    int report[2];
    if (pipe(report) != 0) {
        check(0, "a pipe for the orphan");
        return;
    }
    pid_t child = fork();
    if (child == 0) {
        pid_t me = getpid();
        int ready[2];
        if (pipe(ready) != 0)
            _exit(2);
        pid_t grandchild = fork();
        if (grandchild == 0) {
            close(report[0]);
            close(ready[0]);
            int seen_parent = getppid() == me;
            /* Only now may the parent end. */
            (void)!write(ready[1], "r", 1);
            close(ready[1]);
            int changed = 0;
            for (int i = 0; i < 2000 && !changed; ++i) {
                changed = getppid() != me;
                if (!changed) {
                    struct timespec ms = {0, 1000000};
                    nanosleep(&ms, NULL);
                }
            }
            char result = seen_parent && changed ? 'y' : 'n';
            (void)!write(report[1], &result, 1);
            _exit(0);
        }
        close(ready[1]);
        char r = 0;
        _exit(grandchild > 0 && read(ready[0], &r, 1) == 1 ? 0 : 1);
    }
    close(report[1]);
    int status = -1;
    check(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "a child forks a grandchild and ends");
    char result = 0;
    struct pollfd p = {report[0], POLLIN, 0};
    check(poll(&p, 1, 5000) == 1 && read(report[0], &result, 1) == 1 && result == 'y',
          "an orphan's getppid changes once its parent has ended");
    close(report[0]);
}

static void many_children(void) {
    int good = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < 100; ++i) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(i & 0x7f);
        int status = -1;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
            && WEXITSTATUS(status) == (i & 0x7f))
            ++good;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    check(good == 100, "100 fork and waitpid in a loop");
    long ns = (long)((end.tv_sec - start.tv_sec) * 1000000000L + (end.tv_nsec - start.tv_nsec));
    /* Under -icount shift=0 a nanosecond is one instruction (the time is printed, not
     * checked). */
    printf("forktest: fork, _exit and waitpid: %ld ns each\n", ns / 100);
}

static void killed_child(void) {
    int hold[2], out[2];
    if (pipe(hold) != 0 || pipe(out) != 0) {
        check(0, "pipes for the killed child");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(hold[1]);
        close(out[0]); /* keeps the write end of out until it dies */
        char c;
        /* Blocks: the parent keeps the write end open and never writes. */
        (void)!read(hold[0], &c, 1);
        _exit(30);
    }
    close(hold[0]);
    close(out[1]);
    int status = -1;
    check(waitpid(pid, &status, WNOHANG) == 0, "the child to kill is running");
    check(kill(pid, SIGKILL) == 0, "kill(child, SIGKILL)");
    check(waitpid(pid, &status, 0) == pid, "waitpid returns the killed child");
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "a killed child reports WIFSIGNALED with SIGKILL");
    check(kill(pid, 0) == -1 && errno == ESRCH, "a reaped child is gone (ESRCH)");
    /* The killed child's write end no longer counts: end of file. */
    struct pollfd p = {out[0], POLLIN, 0};
    char c;
    check(poll(&p, 1, 2000) == 1 && (p.revents & POLLHUP) && read(out[0], &c, 1) == 0,
          "a pipe whose writer was killed reads end of file");
    close(out[0]);
    close(hold[1]);
}

/* A child that ends by a signal's default action (abort) reports WIFSIGNALED with it, and
 * the pipe it wrote to ends at once, before anyone waits for it. */
static void aborted_child(void) {
    int fds[2];
    if (pipe(fds) != 0) {
        check(0, "a pipe for the aborting child");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        (void)!write(fds[1], "a", 1);
        abort();
    }
    close(fds[1]);
    char buffer[2];
    struct pollfd p = {fds[0], POLLIN, 0};
    int got = poll(&p, 1, 2000) == 1 ? (int)read(fds[0], buffer, sizeof(buffer)) : -1;
    int eof = got == 1 && poll(&p, 1, 2000) == 1 && read(fds[0], buffer, 1) == 0;
    check(got == 1 && eof, "an aborted child's pipe gives its byte, then end of file");
    int status = -1;
    check(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
          "an aborted child reports WIFSIGNALED with SIGABRT");
    close(fds[0]);
}

/* 256 KiB from a child through a pipe, with a checksum, then end of file. */
static void pipe_from_child(void) {
    int fds[2];
    if (pipe(fds) != 0) {
        check(0, "a pipe for the writer");
        return;
    }
    enum {
        kBytes = 256 * 1024
    };
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        static unsigned char chunk[1000];
        uint32_t sum = 0;
        for (size_t done = 0; done < kBytes;) {
            size_t n = kBytes - done < sizeof(chunk) ? kBytes - done : sizeof(chunk);
            for (size_t i = 0; i < n; ++i) {
                chunk[i] = (unsigned char)((done + i) * 7);
                sum += chunk[i];
            }
            if (write(fds[1], chunk, n) != (ssize_t)n)
                _exit(40);
            done += n;
        }
        _exit((int)(sum & 0x3f));
    }
    close(fds[1]);
    static unsigned char buffer[4096];
    uint32_t sum = 0;
    size_t total = 0;
    int ordered = 1;
    for (;;) {
        ssize_t n = read(fds[0], buffer, sizeof(buffer));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; ++i) {
            ordered &= buffer[i] == (unsigned char)((total + (size_t)i) * 7);
            sum += buffer[i];
        }
        total += (size_t)n;
    }
    check(total == kBytes && ordered, "256 KiB from a child through a pipe, in order");
    check(read(fds[0], buffer, 1) == 0, "end of file once the child is gone");
    int status = -1;
    check(waitpid(pid, &status, 0) == pid && WIFEXITED(status)
              && WEXITSTATUS(status) == (int)(sum & 0x3f),
          "the child's checksum matches");
    close(fds[0]);
}

/* Bytes back and forth between parent and child: each side waits for the other's write,
 * which must wake it (the time is printed, not checked). */
static void ping_pong(void) {
    int to_child[2], to_parent[2];
    if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
        check(0, "pipes for ping-pong");
        return;
    }
    enum {
        kRounds = 500
    };
    pid_t pid = fork();
    if (pid == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        unsigned char c;
        for (int i = 0; i < kRounds; ++i) {
            if (read(to_child[0], &c, 1) != 1)
                _exit(50);
            c = (unsigned char)(c + 1);
            if (write(to_parent[1], &c, 1) != 1)
                _exit(51);
        }
        _exit(0);
    }
    close(to_child[0]);
    close(to_parent[1]);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int good = 0;
    for (int i = 0; i < kRounds; ++i) {
        unsigned char c = (unsigned char)i, back = 0;
        if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &back, 1) != 1)
            break;
        good += back == (unsigned char)(i + 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    int status = -1;
    check(good == kRounds && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
          "500 round trips through pipes between parent and child");
    long us = (long)((end.tv_sec - start.tv_sec) * 1000000 + (end.tv_nsec - start.tv_nsec) / 1000);
    printf("forktest: %d pipe round trips between processes in %ld us\n", kRounds, us);
    close(to_child[1]);
    close(to_parent[0]);
}

/* A child that closes its copy of a socket (and exits) leaves the parent's open. */
static void socket_survives_child(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in address;
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (s < 0 || bind(s, (struct sockaddr*)&address, sizeof(address)) != 0
        || getsockname(s, (struct sockaddr*)&address, &length) != 0) {
        check(0, "a UDP socket for the child to close");
        if (s >= 0)
            close(s);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(s);
        _exit(0);
    }
    int status = -1;
    check(waitpid(pid, &status, 0) == pid, "the child closed its copy of the socket");
    check(sendto(s, "ping", 4, 0, (struct sockaddr*)&address, sizeof(address)) == 4,
          "the parent's socket still sends");
    struct pollfd p = {s, POLLIN, 0};
    char buffer[8];
    check(poll(&p, 1, 2000) == 1 && recv(s, buffer, sizeof(buffer), 0) == 4
              && memcmp(buffer, "ping", 4) == 0,
          "the parent's socket still receives");
    close(s);
}

static void other_waits(void) {
    pid_t pid = fork();
    if (pid == 0)
        _exit(3);
    int status = -1;
    check(wait(&status) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 3,
          "wait takes any child");
    pid = fork();
    if (pid == 0)
        _exit(4);
    struct rusage usage;
    check(wait4(pid, &status, 0, &usage) == pid && WEXITSTATUS(status) == 4, "wait4");
    pid = fork();
    if (pid == 0)
        _exit(5);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    check(waitid(P_PID, (id_t)pid, &info, WEXITED) == 0 && info.si_pid == pid
              && info.si_code == CLD_EXITED && info.si_status == 5,
          "waitid");
    check_errno(wait(&status), ECHILD, "wait without children");
    check_errno(waitpid(-1, &status, WNOHANG), ECHILD, "waitpid WNOHANG without children");
    check_errno(waitpid(1, &status, 0), ECHILD, "waitpid of a process that is not a child");
}

/* A System V segment attached before fork: the child has it too, counted as an attach of
 * its own (shm_nattch 2 once the child runs; on Tern the child registers its inherited
 * attaches before fork returns in it), writes through it, detaches; the parent sees the
 * write. */
static void shared_segment(void) {
    int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    check(id >= 0, "shmget before fork");
    if (id < 0)
        return;
    volatile char* seg = shmat(id, NULL, 0);
    check(seg != (void*)-1, "shmat before fork");
    int go[2], ready[2];
    if (seg == (void*)-1 || pipe(go) != 0 || pipe(ready) != 0) {
        shmctl(id, IPC_RMID, NULL);
        return;
    }
    seg[0] = 'p';
    pid_t pid = fork();
    if (pid == 0) {
        char c = 0;
        close(go[1]);
        close(ready[0]);
        if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        seg[0] = 'c';
        seg[8191] = 'c';
        _exit(shmdt((const void*)seg) == 0 ? 0 : 3);
    }
    check(pid > 0, "fork with a segment attached");
    close(go[0]);
    close(ready[1]);
    char c = 0;
    check(read(ready[0], &c, 1) == 1 && c == 'r', "the child with the segment runs");
    struct shmid_ds ds;
    check(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 2,
          "the child's inherited attach counts (shm_nattch 2)");
    check(write(go[1], "g", 1) == 1, "the parent lets the child write");
    int status = 0;
    check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the child wrote through the segment and detached it");
    check(seg[0] == 'c' && seg[8191] == 'c', "the parent sees the child's writes");
    check(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1,
          "after the child's shmdt only the parent's attach is left");
    close(go[1]);
    close(ready[0]);
    shmdt((const void*)seg);
    shmctl(id, IPC_RMID, NULL);
}

static volatile sig_atomic_t g_chld, g_alrm;
static void on_chld(int sig) {
    (void)sig;
    ++g_chld;
}
static void on_alrm(int sig) {
    (void)sig;
    ++g_alrm;
}

/* Reaps a child: blocking or not; a wait a handler cut short (EINTR: no SA_RESTART) is
 * asked again. Returns the pid, 0 or -1. */
static pid_t reap(int options) {
    for (;;) {
        pid_t p = waitpid(-1, NULL, options);
        if (p >= 0 || errno != EINTR)
            return p;
    }
}

/* Forks while signals arrive at a high rate: the children's SIGCHLD (they exit at once,
 * while the parent forks the next) and a 1 ms interval timer, both to handlers without
 * SA_RESTART. A fork never fails with EINTR: Linux restarts it. */
static void forks_under_signals(void) {
    struct sigaction sa, old_chld, old_alrm;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, &old_chld);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, &old_alrm);
    struct itimerval every_ms = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
    check(setitimer(ITIMER_REAL, &every_ms, NULL) == 0, "a 1 ms interval timer");
    int forked = 0, interrupted = 0, other = 0, running = 0;
    for (int i = 0; i < 500; ++i) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0) {
            if (errno == EINTR)
                ++interrupted;
            else
                ++other;
            continue;
        }
        ++forked;
        ++running;
        while (running > 0 && reap(WNOHANG) > 0)
            --running;
        if (running >= 8 && reap(0) > 0)
            --running;
    }
    while (running > 0 && reap(0) > 0)
        --running;
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    sigaction(SIGALRM, &old_alrm, NULL);
    printf("forktest: %d forks, %d EINTR, %d other failures, %d SIGCHLD and %d SIGALRM taken\n",
           forked, interrupted, other, (int)g_chld, (int)g_alrm);
    check(forked == 500 && interrupted == 0 && other == 0,
          "500 forks under SIGCHLD and SIGALRM: none fails with EINTR");
    check(g_chld > 0 && g_alrm > 0, "the handlers ran while the forks went on");
    check(running == 0 && reap(WNOHANG) == -1 && errno == ECHILD, "every child reaped");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    child_and_parent_memory();
    orphan();
    many_children();
    killed_child();
    aborted_child();
    pipe_from_child();
    child_bad_pointers();
    ping_pong();
    socket_survives_child();
    other_waits();
    shared_segment();
    forks_under_signals();
    printf("forktest: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

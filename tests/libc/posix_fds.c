/*
 * posix_fds: descriptors and pipes through the C library, in one process: dup, dup2,
 * dup3, fcntl (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD/F_SETFD, F_GETFL/F_SETFL with
 * O_NONBLOCK and O_APPEND), the lowest-free-descriptor rule, pipe and pipe2 (O_CLOEXEC,
 * O_NONBLOCK), the PIPE_BUF atomicity rule, end of file when the writers close, EPIPE and
 * a pending SIGPIPE when the readers close, EAGAIN, 1 MiB through a pipe with a checksum,
 * and poll and select over pipes, a UDP socket and the console together; each refusal
 * with the errno Linux gives.
 *
 * The same source builds and runs on the host's Linux (unit.libc_posix_fds_on_host), so
 * every expectation here is what Linux does. Prints "posix_fds: ok ..." per check,
 * "posix_fds: FAILED ..." for a failure, and "posix_fds: N checks, M failures"; exits 0
 * only when nothing failed. Every wait is bounded (poll timeouts; blocking calls only
 * where data or room is known to be there).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int g_checks, g_failures;

/* An address nothing is mapped at, hidden from the compiler's bounds warnings. */
static void* volatile g_bad = (void*)8;

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("posix_fds: ok %s\n", what);
    } else {
        ++g_failures;
        printf("posix_fds: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

/* A call that must fail with errno `want`. */
static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("posix_fds: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("posix_fds: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
}

static int is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- dup, dup2, dup3, fcntl ---- */

static void test_dup(void) {
    int fd = open("/etc/hosts", O_RDONLY);
    check(fd >= 3, "open /etc/hosts");
    char buffer[4];
    check(read(fd, buffer, 4) == 4, "read 4 bytes");
    int copy = dup(fd);
    check(copy > fd, "dup gives the lowest free descriptor above");
    check(lseek(copy, 0, SEEK_CUR) == 4, "dup shares the offset");
    check(fcntl(copy, F_GETFD) == 0, "dup clears close-on-exec");
    check(read(copy, buffer, 2) == 2 && lseek(fd, 0, SEEK_CUR) == 6,
          "a read through the copy moves the original's offset");

    int high = fcntl(fd, F_DUPFD, 20);
    check(high == 20, "F_DUPFD gives the lowest free descriptor from its argument");
    int high2 = fcntl(fd, F_DUPFD_CLOEXEC, 20);
    check(high2 == 21, "F_DUPFD_CLOEXEC skips the one in use");
    check(fcntl(high2, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC sets close-on-exec");
    check(fcntl(high2, F_SETFD, 0) == 0 && fcntl(high2, F_GETFD) == 0, "F_SETFD clears it");
    check(fcntl(high2, F_SETFD, FD_CLOEXEC) == 0 && fcntl(high2, F_GETFD) == FD_CLOEXEC,
          "F_SETFD sets it");
    check(fcntl(fd, F_GETFD) == 0, "the flag is the descriptor's, not the description's");

    check(dup2(fd, 30) == 30 && lseek(30, 0, SEEK_CUR) == 6, "dup2 onto a free descriptor");
    check(dup2(copy, 30) == 30 && is_open(30), "dup2 onto an open one replaces it");
    check(dup2(fd, fd) == fd, "dup2 onto itself returns it");
    check(dup3(fd, 31, O_CLOEXEC) == 31 && fcntl(31, F_GETFD) == FD_CLOEXEC, "dup3 with O_CLOEXEC");
    check_errno(dup3(fd, fd, 0), EINVAL, "dup3 onto itself");
    /* The system call itself: musl's dup3() quietly drops flags other than O_CLOEXEC. */
    check_errno(syscall(SYS_dup3, fd, 32, O_NONBLOCK), EINVAL,
                "dup3 with a flag other than O_CLOEXEC");
    check_errno(dup(-1), EBADF, "dup(-1)");
    check_errno(dup(40), EBADF, "dup of a descriptor not open");
    check_errno(dup2(40, 41), EBADF, "dup2 of a descriptor not open");
    check_errno(dup2(40, 40), EBADF, "dup2 of a descriptor not open onto itself");
    check_errno(dup2(fd, -1), EBADF, "dup2 onto -1");
    check_errno(dup2(fd, INT_MAX), EBADF, "dup2 onto INT_MAX");
    check_errno(fcntl(fd, F_DUPFD, -1), EINVAL, "F_DUPFD from -1");
    check_errno(fcntl(fd, F_DUPFD, INT_MAX), EINVAL, "F_DUPFD from INT_MAX");
    check_errno(fcntl(40, F_GETFD), EBADF, "F_GETFD of a descriptor not open");
    check_errno(fcntl(40, F_SETFL, O_NONBLOCK), EBADF, "F_SETFL of a descriptor not open");
    check_errno(close(40), EBADF, "close of a descriptor not open");

    int flags = fcntl(fd, F_GETFL);
    check((flags & O_ACCMODE) == O_RDONLY, "F_GETFL: O_RDONLY");
    check(fcntl(fd, F_SETFL, flags | O_APPEND | O_NONBLOCK) == 0, "F_SETFL O_APPEND|O_NONBLOCK");
    check((fcntl(copy, F_GETFL) & (O_APPEND | O_NONBLOCK)) == (O_APPEND | O_NONBLOCK),
          "status flags are shared by duplicates");
    check(fcntl(fd, F_SETFL, O_WRONLY) == 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY,
          "F_SETFL leaves the access mode alone");
    check((fcntl(fd, F_GETFL) & (O_APPEND | O_NONBLOCK)) == 0, "F_SETFL clears them");

    check(close(fd) == 0 && close(30) == 0 && close(20) == 0 && close(21) == 0 && close(31) == 0,
          "close the copies");
    check(read(copy, buffer, 1) == 1, "the last copy still reads");
    check(close(copy) == 0, "close the last");
    check_errno(read(copy, buffer, 1), EBADF, "read after close");

    /* The console's descriptors are ordinary: duplicate stdout, write through it. */
    int out = dup(1);
    check(out >= 3 && write(out, "posix_fds: through a copy of stdout\n", 37) == 37,
          "write through a duplicate of stdout");
    check(close(out) == 0, "close it");
}

/* ---- pipes ---- */

static void test_pipe_basics(void) {
    int p[2];
    check(pipe(p) == 0, "pipe");
    check(p[0] >= 3 && p[1] == p[0] + 1, "the two lowest free descriptors");
    check((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY, "read end O_RDONLY");
    check((fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY, "write end O_WRONLY");
    check(fcntl(p[0], F_GETFD) == 0, "pipe: no close-on-exec");
    struct stat st;
    check(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "fstat: S_IFIFO");
    check_errno(lseek(p[0], 0, SEEK_CUR), ESPIPE, "lseek on a pipe");
    check(write(p[1], "hello", 5) == 5, "write 5 bytes");
    char buffer[16] = {0};
    check(read(p[0], buffer, sizeof(buffer)) == 5 && memcmp(buffer, "hello", 5) == 0,
          "read them back");
    check_errno(read(p[1], buffer, 1), EBADF, "read from the write end");
    check_errno(write(p[0], "x", 1), EBADF, "write to the read end");
    check(write(p[1], "", 0) == 0, "a write of 0 bytes");
    check_errno(write(p[1], (const void*)g_bad, 10), EFAULT, "write from a bad pointer");
    check(write(p[1], "abc", 3) == 3, "write 3");
    check_errno(read(p[0], g_bad, 3), EFAULT, "read into a bad pointer");
    check_errno(pipe((int*)g_bad), EFAULT, "pipe into a bad pointer");
    /* A read into memory that is there but read-only, or into a non-canonical address,
     * fails the same way and leaves the bytes in the pipe. */
    char* read_only = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(read_only != MAP_FAILED, "mmap of a read-only page");
    if (read_only != MAP_FAILED) {
        check_errno(read(p[0], read_only, 3), EFAULT, "read into a read-only page");
        munmap(read_only, 4096);
    }
    check_errno(read(p[0], (void*)(uintptr_t)0x0000800000000000ull, 3), EFAULT,
                "read into a non-canonical address");
    memset(buffer, 0, sizeof(buffer));
    check(read(p[0], buffer, sizeof(buffer)) == 3 && memcmp(buffer, "abc", 3) == 0,
          "the bytes a bad read left are read");
    check(write(p[1], "abc", 3) == 3, "write 3 again");
    check_errno(pipe2(p, O_APPEND), EINVAL, "pipe2 with O_APPEND");
    check_errno(pipe2(p, -1), EINVAL, "pipe2 with every flag");

    /* End of file once every write end is closed, not before. */
    int w2 = dup(p[1]);
    check(close(p[1]) == 0, "close one write end");
    struct pollfd pf = {p[0], POLLIN, 0};
    check(poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "data still there: POLLIN");
    check(read(p[0], buffer, 3) == 3, "read the rest");
    pf.revents = 0;
    check(poll(&pf, 1, 0) == 0, "empty with a writer: not ready");
    check(close(w2) == 0, "close the other write end");
    check(poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP), "no writers: POLLHUP");
    check(read(p[0], buffer, 3) == 0, "no writers: end of file");
    check(close(p[0]) == 0, "close the read end");

    /* pipe2's flags; O_NONBLOCK is the description's. */
    check(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2(O_CLOEXEC | O_NONBLOCK)");
    check(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC,
          "both ends close-on-exec");
    check((fcntl(p[0], F_GETFL) & O_NONBLOCK) && (fcntl(p[1], F_GETFL) & O_NONBLOCK),
          "both ends non-blocking");
    check_errno(read(p[0], buffer, 1), EAGAIN, "non-blocking read of an empty pipe");
    check(fcntl(p[0], F_SETFL, 0) == 0 && write(p[1], "z", 1) == 1 && read(p[0], buffer, 1) == 1
              && buffer[0] == 'z',
          "blocking again after F_SETFL, with data there");
    check(close(p[0]) == 0 && close(p[1]) == 0, "close both");

    /* Descriptor numbers: close(0), then a pipe's read end is 0. */
    int saved = dup(0);
    check(close(0) == 0 && pipe(p) == 0 && p[0] == 0, "the lowest free descriptor is 0");
    check(dup2(saved, 0) == 0 && close(saved) == 0 && close(p[1]) == 0, "restore fd 0");
}

static void test_pipe_atomicity(void) {
    int p[2];
    check(pipe2(p, O_NONBLOCK) == 0, "pipe2(O_NONBLOCK)");
    static char block[PIPE_BUF * 2];
    memset(block, 'a', sizeof(block));
    long total = 0;
    int writes = 0;
    for (;;) {
        long n = write(p[1], block, PIPE_BUF);
        if (n < 0)
            break;
        total += n;
        if (n != PIPE_BUF || ++writes > 1000)
            break;
    }
    check(errno == EAGAIN && total == 65536, "a pipe holds 64 KiB, then EAGAIN");
    check_errno(write(p[1], block, 1), EAGAIN, "full: a 1-byte write is EAGAIN");
    static char sink[PIPE_BUF * 2];
    check(read(p[0], sink, 100) == 100, "read 100");
    check_errno(write(p[1], block, PIPE_BUF), EAGAIN,
                "PIPE_BUF bytes do not fit: EAGAIN, not a short write");
    check(read(p[0], sink, PIPE_BUF - 100) == PIPE_BUF - 100, "read the rest of a block");
    check(write(p[1], block, PIPE_BUF) == PIPE_BUF, "now PIPE_BUF bytes go in whole");
    check_errno(write(p[1], block, sizeof(block)), EAGAIN, "a large write to a full pipe");
    check(read(p[0], sink, PIPE_BUF) == PIPE_BUF, "read a block");
    check(write(p[1], block, sizeof(block)) == PIPE_BUF,
          "a write larger than PIPE_BUF goes in part");
    check(close(p[0]) == 0 && close(p[1]) == 0, "close");
}

static void test_pipe_broken(void) {
    int p[2];
    check(pipe(p) == 0, "pipe");
    sigset_t block, pending, old;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    check(sigprocmask(SIG_BLOCK, &block, &old) == 0, "block SIGPIPE");
    check(close(p[0]) == 0, "close the read end");
    struct pollfd pf = {p[1], POLLOUT, 0};
    check(poll(&pf, 1, 0) == 1 && (pf.revents & POLLERR), "no readers: POLLERR");
    check_errno(write(p[1], "x", 1), EPIPE, "write without readers");
    check(sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE),
          "SIGPIPE is pending while blocked");
    signal(SIGPIPE, SIG_IGN);
    check(sigprocmask(SIG_SETMASK, &old, 0) == 0, "unblock it: ignored now, nothing happens");
    check_errno(write(p[1], "x", 1), EPIPE, "ignored SIGPIPE: EPIPE alone");
    check(close(p[1]) == 0, "close the write end");
    signal(SIGPIPE, SIG_DFL);
}

/* 1 MiB through a pipe in pieces of every size around PIPE_BUF, reading as it goes. */
static void test_pipe_transfer(void) {
    int p[2];
    check(pipe2(p, O_NONBLOCK) == 0, "pipe2 for the transfer");
    static uint8_t out[9000], in[9000];
    uint64_t sent = 0, received = 0, hash_out = 0xcbf29ce484222325ull,
             hash_in = 0xcbf29ce484222325ull;
    const uint64_t total = 1u << 20;
    uint32_t step = 0;
    int stuck = 0;
    while (received < total && stuck < 1000) {
        uint64_t want = (step * 977u) % 9000u + 1;
        if (want > total - sent)
            want = total - sent;
        ++step;
        for (uint64_t i = 0; i < want; ++i)
            out[i] = (uint8_t)((sent + i) * 131u >> 3);
        long n = want ? write(p[1], out, want) : 0;
        if (n > 0) {
            for (long i = 0; i < n; ++i)
                hash_out = (hash_out ^ out[i]) * 0x100000001b3ull;
            sent += (uint64_t)n;
        }
        long r = read(p[0], in, (step * 613u) % 9000u + 1);
        if (r > 0) {
            for (long i = 0; i < r; ++i)
                hash_in = (hash_in ^ in[i]) * 0x100000001b3ull;
            received += (uint64_t)r;
            stuck = 0;
        } else {
            ++stuck;
        }
    }
    check(received == total && sent == total, "1 MiB went through");
    check(hash_in == hash_out, "the bytes came out in order");
    printf("posix_fds: pipe checksum 0x%016llx over %llu bytes\n", (unsigned long long)hash_in,
           (unsigned long long)received);
    check(close(p[0]) == 0 && close(p[1]) == 0, "close");
}

/* ---- poll and select over pipes, a socket and the console ---- */

static void test_readiness(void) {
    int p[2];
    check(pipe(p) == 0, "pipe");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    check(s >= 0, "a UDP socket");
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    check(bind(s, (struct sockaddr*)&a, sizeof(a)) == 0
              && getsockname(s, (struct sockaddr*)&a, &len) == 0,
          "bound to 127.0.0.1");

    struct pollfd fds[4] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {s, POLLIN, 0}, {1, POLLOUT, 0}};
    check(poll(fds, 4, 0) == 2 && fds[0].revents == 0 && fds[1].revents == POLLOUT
              && fds[2].revents == 0 && fds[3].revents == POLLOUT,
          "poll: the write end and stdout are ready, nothing to read");
    uint64_t start = now_ms();
    check(poll(fds, 1, 50) == 0, "poll of an empty pipe times out");
    check(now_ms() - start >= 40, "after its timeout");

    check(sendto(s, "ping", 4, 0, (struct sockaddr*)&a, sizeof(a)) == 4, "a datagram to itself");
    check(write(p[1], "data", 4) == 4, "data into the pipe");
    fds[0].revents = fds[1].revents = fds[2].revents = fds[3].revents = 0;
    fds[1].events = 0;
    check(poll(fds, 4, 2000) == 3 && fds[0].revents == POLLIN && fds[2].revents == POLLIN
              && fds[3].revents == POLLOUT,
          "poll: pipe, socket and stdout ready together");

    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(s, &rd);
    FD_SET(p[1], &wr);
    int nfds = (s > p[1] ? s : p[1]) + 1;
    struct timeval tv = {2, 0};
    check(select(nfds, &rd, &wr, 0, &tv) == 3 && FD_ISSET(p[0], &rd) && FD_ISSET(s, &rd)
              && FD_ISSET(p[1], &wr),
          "select: pipe and socket readable, write end writable");
    char buffer[8];
    check(read(p[0], buffer, sizeof(buffer)) == 4, "drain the pipe");
    check(recv(s, buffer, sizeof(buffer), 0) == 4, "drain the socket");
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv.tv_sec = 0;
    tv.tv_usec = 20000;
    check(select(p[0] + 1, &rd, 0, 0, &tv) == 0 && !FD_ISSET(p[0], &rd),
          "select of an empty pipe times out");
    check(close(p[1]) == 0, "close the write end");
    FD_SET(p[0], &rd);
    tv.tv_usec = 0;
    check(select(p[0] + 1, &rd, 0, 0, &tv) == 1 && FD_ISSET(p[0], &rd),
          "select: a pipe without writers is readable (end of file)");
    FD_ZERO(&rd);
    FD_SET(40, &rd);
    check_errno(select(41, &rd, 0, 0, &tv), EBADF, "select of a descriptor not open");
    struct pollfd bad = {40, POLLIN, 0};
    check(poll(&bad, 1, 0) == 1 && bad.revents == POLLNVAL, "poll of one not open: POLLNVAL");
    check_errno(poll((struct pollfd*)g_bad, 1, 0), EFAULT, "poll of a bad pointer");
    check(close(p[0]) == 0 && close(s) == 0, "close");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_dup();
    test_pipe_basics();
    test_pipe_atomicity();
    test_pipe_broken();
    test_pipe_transfer();
    test_readiness();
    printf("posix_fds: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

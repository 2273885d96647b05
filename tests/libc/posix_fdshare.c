/*
 * posix_fdshare: open file descriptions shared between processes, through the C library.
 *
 * After fork, execve and posix_spawn the processes holding a file or directory share its
 * open file description: one offset and one set of status flags. Checks: a parent's, a
 * child's and again the parent's writes land one after the other; a child's lseek moves
 * the parent's offset; O_APPEND set with F_SETFL in the child is the parent's too; a
 * child that execs this program (role "writer FD TEXT") and writes to the kept
 * descriptor moves the parent's offset, as does a child made by posix_spawn; two
 * processes writing 1000 lines each at once to one description lose none and overwrite
 * none; a child closing its descriptor leaves the parent's working; a child reading a
 * directory with getdents64 moves the parent's entry offset; a child's read of a program
 * file (a boot file on Tern) moves the parent's offset; dup in the child shares with the
 * parent too; a pipe end's O_NONBLOCK set or cleared by a child (forked, or exec'd: role
 * "nonblock FD") is the parent's; a UDP socket used by a forked child and by an exec'd
 * one (role "udpsend FD PORT") stays the parent's, O_NONBLOCK set on it by a child is
 * the parent's, and a TCP connection an exec'd child writes to stays open for the parent.
 *
 * The same source runs on the host's Linux (unit.libc_posix_fdshare_on_host), so the
 * expectations are Linux's. Prints "posix_fdshare: ok ..." per check, "posix_fdshare:
 * FAILED ..." for a failure and "posix_fdshare: N checks, M failures"; exits 0 only when
 * nothing failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#if __has_include(<tern/libc.h>)
#define ON_TERN 1
#else
#define ON_TERN 0
#endif

extern char** environ;

#define CHECK_NAME "posix_fdshare"
#include "check.h"
static char g_self[PATH_MAX];
static char g_dir[128];

/* The exit status of a child that is known to end, or -1. */
static int wait_status(pid_t pid) {
    int status = 0;
    pid_t r;
    do
        r = waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status)
                             : 1000 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static int write_all(int fd, const char* text) {
    size_t length = strlen(text);
    return write(fd, text, length) == (ssize_t)length;
}

/* The whole file at path into buffer (NUL-terminated): its length, or -1. */
static long slurp(const char* path, char* buffer, size_t capacity) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t done = 0;
    for (;;) {
        ssize_t n = read(fd, buffer + done, capacity - 1 - done);
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        done += (size_t)n;
        if (done == capacity - 1)
            break;
    }
    buffer[done] = 0;
    close(fd);
    return (long)done;
}

static void path_in_dir(char* out, size_t size, const char* name) {
    snprintf(out, size, "%s/%s", g_dir, name);
}

static int open_new(const char* name, int flags) {
    char path[256];
    path_in_dir(path, sizeof(path), name);
    return open(path, O_RDWR | O_CREAT | O_TRUNC | flags, 0644);
}

/* Parent, child, parent: the three writes follow each other; then the parent's offset. */
static void test_interleaved_writes(void) {
    int fd = open_new("order", 0);
    check(fd >= 0, "open a file in /tmp");
    if (fd < 0)
        return;
    check(write_all(fd, "parent one\n"), "the parent writes first");
    pid_t pid = fork();
    if (pid == 0)
        _exit(write_all(fd, "child\n") ? 0 : 1);
    check(wait_status(pid) == 0, "the child writes to the inherited descriptor");
    check(write_all(fd, "parent two\n"), "the parent writes again");
    check(lseek(fd, 0, SEEK_CUR) == 28, "the parent's offset counts the child's write (28)");
    char path[256], buffer[256];
    path_in_dir(path, sizeof(path), "order");
    long n = slurp(path, buffer, sizeof(buffer));
    check(n == 28 && strcmp(buffer, "parent one\nchild\nparent two\n") == 0,
          "the file holds all three writes in order");
    close(fd);
}

/* The child's lseek moves the parent's offset; the parent's read then starts there. */
static void test_child_seek(void) {
    int fd = open_new("seek", 0);
    if (fd < 0 || !write_all(fd, "0123456789abcdef")) {
        check(0, "make a file to seek in");
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        _exit(lseek(fd, 10, SEEK_SET) == 10 ? 0 : 1);
    check(wait_status(pid) == 0, "the child seeks to 10");
    check(lseek(fd, 0, SEEK_CUR) == 10, "the parent's offset is 10 after the child's seek");
    char c = 0;
    check(read(fd, &c, 1) == 1 && c == 'a', "the parent reads from there ('a')");
    /* And the other way: the parent's seek is the child's. */
    pid = fork();
    if (pid == 0) {
        char d = 0;
        _exit(read(fd, &d, 1) == 1 && d == 'b' ? 0 : 1);
    }
    check(wait_status(pid) == 0, "the child reads on from the parent's offset ('b')");
    check(lseek(fd, 0, SEEK_CUR) == 12, "the child's read moved the parent's offset to 12");
    close(fd);
}

/* O_APPEND set in the child is the parent's: its write goes to the end. */
static void test_child_setfl(void) {
    int fd = open_new("append", 0);
    if (fd < 0 || !write_all(fd, "abcdef")) {
        check(0, "make a file for F_SETFL");
        return;
    }
    check(lseek(fd, 0, SEEK_SET) == 0, "the parent seeks back to 0");
    pid_t pid = fork();
    if (pid == 0) {
        int flags = fcntl(fd, F_GETFL);
        _exit(flags >= 0 && fcntl(fd, F_SETFL, flags | O_APPEND) == 0 ? 0 : 1);
    }
    check(wait_status(pid) == 0, "the child sets O_APPEND with F_SETFL");
    check((fcntl(fd, F_GETFL) & O_APPEND) != 0, "the parent's F_GETFL shows O_APPEND");
    check(write_all(fd, "XY"), "the parent writes");
    char path[256], buffer[64];
    path_in_dir(path, sizeof(path), "append");
    check(slurp(path, buffer, sizeof(buffer)) == 8 && strcmp(buffer, "abcdefXY") == 0,
          "the parent's write went to the end (O_APPEND)");
    pid = fork();
    if (pid == 0) {
        int flags = fcntl(fd, F_GETFL);
        _exit(flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_APPEND) == 0 ? 0 : 1);
    }
    check(wait_status(pid) == 0 && (fcntl(fd, F_GETFL) & O_APPEND) == 0,
          "the child clears O_APPEND and the parent sees it clear");
    close(fd);
}

/* A child that execs this program and writes to the kept descriptor; then posix_spawn. */
static void test_exec_child(void) {
    int fd = open_new("exec", 0);
    if (fd < 0 || !write_all(fd, "before\n")) {
        check(0, "make a file for exec");
        return;
    }
    char number[16];
    snprintf(number, sizeof(number), "%d", fd);
    pid_t pid = fork();
    if (pid == 0) {
        char* args[] = {"posix_fdshare", "writer", number, "exec'd child\n", 0};
        execv(g_self, args);
        _exit(127);
    }
    check(wait_status(pid) == 0, "an exec'd child writes to the kept descriptor");
    check(lseek(fd, 0, SEEK_CUR) == 20, "its write moved the parent's offset (20)");
    char* args[] = {"posix_fdshare", "writer", number, "spawned child\n", 0};
    int r = posix_spawn(&pid, g_self, 0, 0, args, environ);
    check(r == 0 && wait_status(pid) == 0, "a posix_spawn child writes to the kept descriptor");
    check(lseek(fd, 0, SEEK_CUR) == 34, "its write moved the parent's offset (34)");
    check(write_all(fd, "after\n"), "the parent writes after them");
    char path[256], buffer[128];
    path_in_dir(path, sizeof(path), "exec");
    check(slurp(path, buffer, sizeof(buffer)) == 40
              && strcmp(buffer, "before\nexec'd child\nspawned child\nafter\n") == 0,
          "the file holds the four writes in order");
    close(fd);
}

/* A pipe's status flags belong to its description too: a child's F_SETFL O_NONBLOCK is
 * its parent's (a read of the empty pipe says EAGAIN), an exec'd child sees the flag its
 * parent set, and a child's clearing of it is seen by the parent. */
static void test_pipe_nonblock(void) {
    int fds[2];
    if (pipe(fds) != 0) {
        check(0, "make a pipe for O_NONBLOCK");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int flags = fcntl(fds[0], F_GETFL);
        _exit(flags >= 0 && fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) == 0 ? 0 : 1);
    }
    check(wait_status(pid) == 0, "a child sets O_NONBLOCK on the pipe's read end");
    int shared = (fcntl(fds[0], F_GETFL) & O_NONBLOCK) != 0;
    check(shared, "the parent's F_GETFL of the read end shows O_NONBLOCK");
    if (shared) { /* without the flag the read would wait for ever */
        char c;
        errno = 0;
        check(read(fds[0], &c, 1) == -1 && errno == EAGAIN,
              "the parent's read of the empty pipe says EAGAIN");
    }
    check(fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0, "the parent sets O_NONBLOCK on the write end");
    char number[16];
    snprintf(number, sizeof(number), "%d", fds[1]);
    pid = fork();
    if (pid == 0) {
        char* args[] = {"posix_fdshare", "nonblock", number, 0};
        execv(g_self, args);
        _exit(127);
    }
    check(wait_status(pid) == 0, "an exec'd child sees O_NONBLOCK on the write end and clears it");
    check((fcntl(fds[1], F_GETFL) & O_NONBLOCK) == 0,
          "the parent's F_GETFL of the write end shows O_NONBLOCK clear");
    close(fds[0]);
    close(fds[1]);
}

/* The role an exec'd child plays for test_pipe_nonblock: FD must be non-blocking; clears
 * it. */
static int role_nonblock(int argc, char** argv) {
    if (argc != 3)
        return 2;
    int fd = atoi(argv[2]);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || !(flags & O_NONBLOCK))
        return 1;
    return fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 ? 0 : 1;
}

/* ---- Sockets ---- */

/* A UDP socket bound to an ephemeral port of 127.0.0.1 that gives up a receive after 5 s;
 * its port in *port. */
static int udp_socket(uint16_t* port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval limit = {5, 0};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof(a)) != 0
        || getsockname(fd, (struct sockaddr*)&a, &len) != 0
        || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Sends text from socket fd to 127.0.0.1:port: 1 when it went. */
static int send_to(int fd, uint16_t port, const char* text) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size_t n = strlen(text);
    return sendto(fd, text, n, 0, (struct sockaddr*)&a, sizeof(a)) == (ssize_t)n;
}

/* Receives one datagram on fd: 1 when it is text and came from port. */
static int received(int fd, const char* text, uint16_t from) {
    char buffer[64];
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    ssize_t n = recvfrom(fd, buffer, sizeof(buffer) - 1, 0, (struct sockaddr*)&a, &len);
    if (n < 0)
        return 0;
    buffer[n] = 0;
    return strcmp(buffer, text) == 0 && ntohs(a.sin_port) == from;
}

/* A socket's description is shared as a file's: a forked child and an exec'd one use the
 * parent's socket (the peer sees the parent's address), the socket stays open for the
 * parent after the child closed it or ended, and O_NONBLOCK set by a child is the
 * parent's. Then a connected TCP socket handed to an exec'd child, as a server hands a
 * connection to the program it runs. */
static void test_socket_share(void) {
    uint16_t inbox_port = 0, outbox_port = 0;
    int inbox = udp_socket(&inbox_port);
    int outbox = udp_socket(&outbox_port);
    if (inbox < 0 || outbox < 0) {
        check(0, "make two UDP sockets on 127.0.0.1");
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        _exit(send_to(outbox, inbox_port, "forked child") && close(outbox) == 0 ? 0 : 1);
    check(wait_status(pid) == 0, "a forked child sends on its parent's UDP socket and closes it");
    check(received(inbox, "forked child", outbox_port),
          "the datagram comes from the parent's socket's port");
    check(send_to(outbox, inbox_port, "parent") && received(inbox, "parent", outbox_port),
          "the parent's socket still works after the child closed its descriptor");

    char number[16], port[16];
    snprintf(number, sizeof(number), "%d", outbox);
    snprintf(port, sizeof(port), "%u", (unsigned)inbox_port);
    pid = fork();
    if (pid == 0) {
        char* args[] = {"posix_fdshare", "udpsend", number, port, 0};
        execv(g_self, args);
        _exit(127);
    }
    check(wait_status(pid) == 0, "an exec'd child sends on the UDP socket it kept");
    check(received(inbox, "exec'd child", outbox_port),
          "the exec'd child's datagram comes from the parent's socket's port");
    check(send_to(outbox, inbox_port, "parent again")
              && received(inbox, "parent again", outbox_port),
          "the parent's socket still works after the exec'd child ended");

    pid = fork();
    if (pid == 0) {
        int flags = fcntl(inbox, F_GETFL);
        _exit(flags >= 0 && fcntl(inbox, F_SETFL, flags | O_NONBLOCK) == 0 ? 0 : 1);
    }
    check(wait_status(pid) == 0 && (fcntl(inbox, F_GETFL) & O_NONBLOCK) != 0,
          "a child's F_SETFL O_NONBLOCK on a socket is the parent's");
    if (fcntl(inbox, F_GETFL) & O_NONBLOCK) {
        char c;
        errno = 0;
        check(recv(inbox, &c, 1, 0) == -1 && (errno == EAGAIN || errno == EWOULDBLOCK),
              "the parent's recv on the empty socket says EAGAIN");
    }
    close(inbox);
    close(outbox);

    /* TCP: a connection accepted by the parent, written by an exec'd child. */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    int client = -1, server = -1;
    struct timeval limit = {5, 0};
    if (listener >= 0 && bind(listener, (struct sockaddr*)&a, sizeof(a)) == 0
        && listen(listener, 4) == 0 && getsockname(listener, (struct sockaddr*)&a, &len) == 0) {
        client = socket(AF_INET, SOCK_STREAM, 0);
        if (client >= 0 && connect(client, (struct sockaddr*)&a, sizeof(a)) == 0)
            server = accept(listener, NULL, NULL);
    }
    if (server < 0 || setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)) != 0) {
        check(0, "make a TCP connection on 127.0.0.1");
    } else {
        snprintf(number, sizeof(number), "%d", server);
        pid = fork();
        if (pid == 0) {
            char* args[] = {"posix_fdshare", "writer", number, "over TCP\n", 0};
            execv(g_self, args);
            _exit(127);
        }
        check(wait_status(pid) == 0, "an exec'd child writes to the TCP connection it kept");
        char buffer[32];
        size_t got = 0;
        while (got < 9) {
            ssize_t n = read(client, buffer + got, sizeof(buffer) - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        buffer[got] = 0;
        check(got == 9 && strcmp(buffer, "over TCP\n") == 0, "the peer reads what it wrote");
        ssize_t n = write(server, "parent", 6);
        check(n == 6 && read(client, buffer, sizeof(buffer)) == 6,
              "the connection stays open for the parent after the child ended");
    }
    if (client >= 0)
        close(client);
    if (server >= 0)
        close(server);
    if (listener >= 0)
        close(listener);
}

/* The role an exec'd child plays for test_socket_share: sends "exec'd child" from socket
 * FD to 127.0.0.1:PORT. */
static int role_udpsend(int argc, char** argv) {
    if (argc != 4)
        return 2;
    return send_to(atoi(argv[2]), (uint16_t)atoi(argv[3]), "exec'd child") ? 0 : 1;
}

/* The role an exec'd child plays: writes TEXT to descriptor FD. */
static int role_writer(int argc, char** argv) {
    if (argc != 4)
        return 2;
    int fd = atoi(argv[2]);
    return write_all(fd, argv[3]) ? 0 : 1;
}

enum {
    kLines = 1000,
    kLineBytes = 16
};

/* Writes kLines lines "<who> <index>" padded to kLineBytes, one write each. */
static int write_lines(int fd, char who) {
    char line[kLineBytes + 1];
    for (int i = 0; i < kLines; ++i) {
        snprintf(line, sizeof(line), "%c %013d\n", who, i);
        if (write(fd, line, kLineBytes) != kLineBytes)
            return 0;
    }
    return 1;
}

/* Two processes writing 1000 lines each at once lose none, and each one's are in order. */
static void test_concurrent_writers(void) {
    int fd = open_new("lines", 0);
    if (fd < 0) {
        check(0, "make a file for two writers");
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        _exit(write_lines(fd, 'c') ? 0 : 1);
    int ok = write_lines(fd, 'p');
    check(wait_status(pid) == 0 && ok, "parent and child write 1000 lines each at once");
    check(lseek(fd, 0, SEEK_CUR) == 2 * kLines * kLineBytes,
          "the shared offset is at the end of all 2000 lines");
    close(fd);
    static char buffer[2 * kLines * kLineBytes + 64];
    char path[256];
    path_in_dir(path, sizeof(path), "lines");
    long n = slurp(path, buffer, sizeof(buffer));
    check(n == 2 * kLines * kLineBytes, "the file has 2000 lines' bytes");
    int next[2] = {0, 0};
    int good = n == 2 * kLines * kLineBytes;
    for (long at = 0; good && at < n; at += kLineBytes) {
        char who = buffer[at];
        int index = atoi(buffer + at + 2);
        int w = who == 'p' ? 0 : who == 'c' ? 1 : -1;
        if (w < 0 || buffer[at + 1] != ' ' || buffer[at + kLineBytes - 1] != '\n'
            || index != next[w])
            good = 0;
        else
            ++next[w];
    }
    check(good && next[0] == kLines && next[1] == kLines,
          "every line is whole, none lost, each writer's in order");
}

/* A child closing its descriptor leaves the parent's working, and the other way round. */
static void test_close_in_one(void) {
    int fd = open_new("close", 0);
    if (fd < 0 || !write_all(fd, "one\n")) {
        check(0, "make a file for close");
        return;
    }
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0) {
        check(0, "pipes for close");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* Writes, closes, and tells the parent; writes through a duplicate made before. */
        int copy = dup(fd);
        int ok = write_all(fd, "two\n") && close(fd) == 0;
        ok = ok && write(ready[1], "x", 1) == 1;
        char c;
        ok = ok && read(go[0], &c, 1) == 1; /* the parent closed its own */
        ok = ok && write_all(copy, "four\n") && close(copy) == 0;
        _exit(ok ? 0 : 1);
    }
    char c;
    check(read(ready[0], &c, 1) == 1, "the child wrote and closed its descriptor");
    check(lseek(fd, 0, SEEK_CUR) == 8, "the parent's offset counts the child's write (8)");
    check(write_all(fd, "three\n"), "the parent writes after the child's close");
    check(close(fd) == 0, "the parent closes its descriptor");
    check(write(go[1], "x", 1) == 1, "the parent lets the child go on");
    check(wait_status(pid) == 0, "the child writes through its duplicate after the parent's close");
    char path[256], buffer[64];
    path_in_dir(path, sizeof(path), "close");
    check(slurp(path, buffer, sizeof(buffer)) == 19
              && strcmp(buffer, "one\ntwo\nthree\nfour\n") == 0,
          "the file holds the four writes in order");
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
}

/* A child's getdents64 moves the parent's directory offset: the parent gets no more. */
static void test_directory_offset(void) {
    int dir = open(g_dir, O_RDONLY | O_DIRECTORY);
    check(dir >= 0, "open the test directory");
    if (dir < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        static char entries[16384];
        long total = 0, n;
        while ((n = syscall(SYS_getdents64, dir, entries, sizeof(entries))) > 0)
            total += n;
        _exit(n == 0 && total > 0 ? 0 : 1);
    }
    check(wait_status(pid) == 0, "the child reads every entry of the directory");
    static char entries[16384];
    check(syscall(SYS_getdents64, dir, entries, sizeof(entries)) == 0,
          "the parent's getdents64 is at the end too");
    check(lseek(dir, 0, SEEK_SET) == 0
              && syscall(SYS_getdents64, dir, entries, sizeof(entries)) > 0,
          "after a rewind the parent reads entries again");
    close(dir);
}

/* A program file (a boot file on Tern): the child's read moves the parent's offset, and a
 * duplicate the child makes shares it too. */
static void test_program_file(void) {
    int fd = open(g_self, O_RDONLY);
    check(fd >= 0, "open this program's file");
    if (fd < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        char data[100];
        int copy = dup(fd);
        int ok =
            read(fd, data, sizeof(data)) == 100 && copy >= 0 && lseek(copy, 50, SEEK_CUR) == 150;
        _exit(ok ? 0 : 1);
    }
    check(wait_status(pid) == 0, "the child reads 100 bytes and seeks 50 on through a dup");
    check(lseek(fd, 0, SEEK_CUR) == 150, "the parent's offset in the program file is 150");
    char magic[4];
    check(lseek(fd, 0, SEEK_SET) == 0 && read(fd, magic, 4) == 4
              && memcmp(magic, "\177ELF", 4) == 0,
          "the parent reads the file from its start");
    close(fd);
}

static void remove_dir(void) {
    static const char* names[] = {"order", "seek", "append", "exec", "lines", "close"};
    char path[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        path_in_dir(path, sizeof(path), names[i]);
        (void)unlink(path);
    }
    (void)rmdir(g_dir);
}

int main(int argc, char** argv) {
    if (ON_TERN) {
        snprintf(g_self, sizeof(g_self), "/bin/posix_fdshare");
    } else {
        ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
        if (n <= 0)
            return 2;
        g_self[n] = 0;
    }
    if (argc >= 2)
        return strcmp(argv[1], "writer") == 0     ? role_writer(argc, argv)
               : strcmp(argv[1], "nonblock") == 0 ? role_nonblock(argc, argv)
               : strcmp(argv[1], "udpsend") == 0  ? role_udpsend(argc, argv)
                                                  : 2;
    snprintf(g_dir, sizeof(g_dir), "/tmp/posix_fdshare.%ld", (long)getpid());
    if (mkdir(g_dir, 0755) != 0) {
        printf("posix_fdshare: FAILED cannot make %s\n", g_dir);
        return 1;
    }
    test_interleaved_writes();
    test_child_seek();
    test_child_setfl();
    test_exec_child();
    test_pipe_nonblock();
    test_socket_share();
    test_concurrent_writers();
    test_close_in_one();
    test_directory_offset();
    test_program_file();
    remove_dir();
    return check_summary();
}

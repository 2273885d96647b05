/*
 * posix_exec: execve, posix_spawn, vfork, wait details, resource limits and the rest of
 * the calls a shell meets, through the C library.
 *
 * The program execs itself in a few roles (argv[1]): "chain N PID PARENT" execs itself N
 * more times and exits 42 when its pid and parent stayed PID and PARENT throughout;
 * "writer FD CLOSED" checks that the close-on-exec descriptor CLOSED is gone and writes
 * 256 KiB with a known pattern to the kept pipe FD; "state DIR MASK" checks the working
 * directory and umask; "limits N" checks RLIMIT_NOFILE's soft limit; "spawned" checks the
 * posix_spawn attributes and file actions; "script PATH X" is what a "#!" script runs as;
 * "exit N" exits N. Checks in the parent: exec chains (pid and parent unchanged, the
 * status seen by the original parent), a pipe across exec with a checksum while a
 * close-on-exec pipe's reader sees end of file, cwd and umask, ENOENT, ENOTDIR, EACCES
 * (no execute bit, a directory), ENOEXEC (garbage in /tmp), ENAMETOOLONG, EFAULT, E2BIG,
 * a failed exec losing nothing, a program copied into /tmp, a "#!" script, posix_spawn and
 * posix_spawnp with file actions and attributes, vfork, wait4's rusage, waitid, limits,
 * sysconf, times, getrusage, gettimeofday, the uid family and sysinfo.
 *
 * "posix_exec bench" prints posix.fork_exec_wait, posix.spawn_wait, the pipe round trips
 * and posix.sh_c_true (`sh -c true` spawned and waited): nanoseconds per round by
 * CLOCK_MONOTONIC, which under QEMU's -icount shift=0 are guest instructions.
 *
 * The same source runs on the host's Linux (unit.libc_posix_exec_on_host), so the
 * expectations are Linux's. Prints "posix_exec: ok ..." per check, "posix_exec: FAILED
 * ..." for a failure and "posix_exec: N checks, M failures"; exits 0 only when nothing
 * failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<tern/libc.h>)
#define ON_TERN 1
#else
#define ON_TERN 0
#endif

extern char** environ;

#define CHECK_NAME "posix_exec"
#include "check.h"
static char g_self[PATH_MAX];
static char g_dir[128];

static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("posix_exec: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("posix_exec: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
    fflush(stdout);
}

static uint64_t fnv(uint64_t hash, const uint8_t* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        hash ^= data[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

enum {
    kPipeBytes = 256 * 1024
};

static uint8_t pattern_byte(size_t i) { return (uint8_t)(i * 131 + (i >> 9)); }

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

/* fork, then exec this program with args (argv[0] is "posix_exec"); the child's pid. */
static pid_t run_self(const char* const* args) {
    char* argv[8];
    int n = 0;
    argv[n++] = "posix_exec";
    for (; args[n - 1] && n < 7; ++n)
        argv[n] = (char*)args[n - 1];
    argv[n] = 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execv(g_self, argv);
        _exit(99);
    }
    return pid;
}

/* ---- The roles ---- */

static int role_chain(int argc, char** argv) {
    if (argc != 5)
        return 2;
    long n = atol(argv[2]);
    if (atol(argv[3]) != (long)getpid() || atol(argv[4]) != (long)getppid())
        return 3;
    if (n == 0)
        return 42;
    char next[24];
    snprintf(next, sizeof(next), "%ld", n - 1);
    char* args[] = {"posix_exec", "chain", next, argv[3], argv[4], 0};
    execv(g_self, args);
    return 4;
}

static int role_writer(int argc, char** argv) {
    if (argc != 4)
        return 2;
    int fd = atoi(argv[2]), closed = atoi(argv[3]);
    if (fcntl(closed, F_GETFD) != -1 || errno != EBADF)
        return 3;
    if (fcntl(fd, F_GETFD) != 0)
        return 4;
    static uint8_t buffer[kPipeBytes];
    for (size_t i = 0; i < kPipeBytes; ++i)
        buffer[i] = pattern_byte(i);
    for (size_t done = 0; done < kPipeBytes;) {
        ssize_t w = write(fd, buffer + done, 7777 < kPipeBytes - done ? 7777 : kPipeBytes - done);
        if (w <= 0)
            return 5;
        done += (size_t)w;
    }
    return 0;
}

static int role_state(int argc, char** argv) {
    if (argc != 4)
        return 2;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, argv[2]) != 0)
        return 3;
    mode_t mask = umask(0);
    umask(mask);
    if ((long)mask != strtol(argv[3], 0, 8))
        return 4;
    /* A relative open goes to the directory it inherited. */
    int fd = open("state-file", O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return 5;
    close(fd);
    return 0;
}

static int role_limits(int argc, char** argv) {
    struct rlimit r;
    if (argc != 3 || getrlimit(RLIMIT_NOFILE, &r) != 0)
        return 2;
    return (long)r.rlim_cur == atol(argv[2]) ? 0 : 3;
}

static int role_spawned(void) {
    /* stdout is the file the parent named; fd 5 a dup of its pipe; fd 7 closed. */
    if (fcntl(7, F_GETFD) != -1 || errno != EBADF)
        return 3;
    if (write(5, "token", 5) != 5)
        return 4;
    sigset_t mask;
    if (sigprocmask(SIG_SETMASK, 0, &mask) != 0 || sigismember(&mask, SIGUSR1) != 1
        || sigismember(&mask, SIGUSR2) != 0)
        return 5;
    struct sigaction action;
    if (sigaction(SIGUSR2, 0, &action) != 0 || action.sa_handler != SIG_DFL)
        return 6; /* setsigdef */
    if (sigaction(SIGHUP, 0, &action) != 0 || action.sa_handler != SIG_IGN)
        return 7; /* ignored stays ignored over exec */
    printf("hello from spawned\n");
    fflush(stdout);
    return 44;
}

static int role_direct(int argc, char** argv) {
    /* stdout is a dup2 of the parent's file; fd 7 closed; its parent the pid in argv[2]. */
    if (argc != 3 || fcntl(7, F_GETFD) != -1 || errno != EBADF)
        return 3;
    if (getppid() != (pid_t)atol(argv[2]))
        return 4;
    sigset_t mask;
    if (sigprocmask(SIG_SETMASK, 0, &mask) != 0 || sigismember(&mask, SIGUSR1) != 1)
        return 5;
    struct sigaction action;
    if (sigaction(SIGUSR2, 0, &action) != 0 || action.sa_handler != SIG_DFL)
        return 6;
    printf("pid %ld\n", (long)getpid());
    fflush(stdout);
    return 46;
}

static int role_script(int argc, char** argv) {
    /* [interpreter, "script", script path, "x"] */
    if (argc != 4 || strstr(argv[2], "script.sh") == 0 || strcmp(argv[3], "x") != 0)
        return 2;
    return 43;
}

/* ---- The checks ---- */

static void test_chain(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char self[16], parent[16];
        snprintf(self, sizeof(self), "%ld", (long)getpid());
        snprintf(parent, sizeof(parent), "%ld", (long)getppid());
        char* args[] = {"posix_exec", "chain", "8", self, parent, 0};
        execv(g_self, args);
        _exit(99);
    }
    check(pid > 0 && wait_status(pid) == 42,
          "a process execs itself 8 times: pid and parent unchanged, status 42 seen here");
}

static void test_pipe_across_exec(void) {
    int data[2], cloexec[2];
    if (pipe(data) != 0 || pipe2(cloexec, O_CLOEXEC) != 0) {
        check(0, "pipes for the writer");
        return;
    }
    char fd_text[16], closed_text[16];
    snprintf(fd_text, sizeof(fd_text), "%d", data[1]);
    snprintf(closed_text, sizeof(closed_text), "%d", cloexec[1]);
    const char* args[] = {"writer", fd_text, closed_text, 0};
    pid_t pid = run_self(args);
    close(data[1]);
    close(cloexec[1]);
    /* The child's close-on-exec copy went at its exec: end of file here. */
    char byte;
    check(read(cloexec[0], &byte, 1) == 0, "a close-on-exec pipe's reader sees end of file");
    static uint8_t buffer[kPipeBytes + 1];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(data[0], buffer + got, sizeof(buffer) - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    uint64_t expected = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < kPipeBytes; ++i) {
        uint8_t b = pattern_byte(i);
        expected = fnv(expected, &b, 1);
    }
    uint64_t sum = fnv(0xcbf29ce484222325ull, buffer, got);
    check(got == kPipeBytes && sum == expected, "256 KiB through a pipe kept across exec");
    printf("posix_exec: pipe checksum %#llx\n", (unsigned long long)sum);
    check(wait_status(pid) == 0, "the writer found its kept descriptor open and the other closed");
    close(data[0]);
    close(cloexec[0]);
}

static void test_cwd_umask(void) {
    char dir[160];
    snprintf(dir, sizeof(dir), "%s/cwd", g_dir);
    check(mkdir(dir, 0755) == 0, "a directory to exec in");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(90);
        umask(027);
        char* args[] = {"posix_exec", "state", dir, "027", 0};
        execv(g_self, args);
        _exit(99);
    }
    check(wait_status(pid) == 0, "the working directory and umask are kept over exec");
    char file[192];
    snprintf(file, sizeof(file), "%s/state-file", dir);
    struct stat st;
    check(stat(file, &st) == 0 && (st.st_mode & 0777) == 0640,
          "the new image's relative open made its file there, with the umask");
    unlink(file);
    rmdir(dir);
}

static int write_file(const char* path, const void* data, size_t size, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, size) == (ssize_t)size;
    close(fd);
    return ok && chmod(path, mode) == 0 ? 0 : -1;
}

static int copy_self(const char* to) {
    int in = open(g_self, O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0)
        return -1;
    static char buffer[65536];
    ssize_t n;
    int ok = 1;
    while ((n = read(in, buffer, sizeof(buffer))) > 0)
        ok &= write(out, buffer, (size_t)n) == n;
    close(in);
    close(out);
    return ok && n == 0 ? 0 : -1;
}

static void test_errors(void) {
    char* args[] = {"posix_exec", "exit", "0", 0};
    check_errno(execv("/bin/no-such-program", args), ENOENT, "exec of a missing path");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/plain", g_dir);
    check(write_file(path, "\177ELF plain", 10, 0644) == 0, "a file without an execute bit");
    check_errno(execv(path, args), EACCES, "exec of a file without an execute bit");
    snprintf(path, sizeof(path), "%s/plain/sub", g_dir);
    check_errno(execv(path, args), ENOTDIR, "exec of a path through a file");
    check_errno(execv(g_dir, args), EACCES, "exec of a directory");
    snprintf(path, sizeof(path), "%s/garbage", g_dir);
    static char garbage[3000];
    for (size_t i = 0; i < sizeof(garbage); ++i)
        garbage[i] = (char)(i * 7 + 1);
    check(write_file(path, garbage, sizeof(garbage), 0755) == 0, "a garbage file in /tmp");
    check_errno(execv(path, args), ENOEXEC, "exec of garbage");
    unlink(path);
    snprintf(path, sizeof(path), "%s/empty", g_dir);
    check(write_file(path, "", 0, 0755) == 0, "an empty executable file");
    check_errno(execv(path, args), ENOEXEC, "exec of an empty file");
    unlink(path);
    static char long_path[PATH_MAX + 100];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = 0;
    check_errno(execv(long_path, args), ENAMETOOLONG, "exec of a path longer than PATH_MAX");
    check_errno(execve((const char*)8, args, environ), EFAULT, "exec of a bad path pointer");
    char** volatile bad_argv = (char**)8;
    check_errno(execve(g_self, bad_argv, environ), EFAULT, "exec with a bad argv pointer");
    char* bad_item[] = {"posix_exec", (char*)8, 0};
    check_errno(execve(g_self, bad_item, environ), EFAULT, "exec with a bad argv string");
    static char huge[200 * 1024];
    memset(huge, 'x', sizeof(huge) - 1);
    char* big[] = {"posix_exec", huge, 0};
    check_errno(execv(g_self, big), E2BIG, "exec with a 200 KiB argument");
    /* Nothing was lost: descriptors, the directory and memory are as before. */
    int p[2];
    char byte = 0;
    check(pipe(p) == 0 && write(p[1], "z", 1) == 1 && read(p[0], &byte, 1) == 1 && byte == 'z',
          "after failed execs the process goes on with its descriptors");
    close(p[0]);
    close(p[1]);
    snprintf(path, sizeof(path), "%s/plain", g_dir);
    unlink(path);
}

static void test_copy_in_tmp(void) {
    char copy[160];
    snprintf(copy, sizeof(copy), "%s/copy", g_dir);
    check(copy_self(copy) == 0, "this program copied into /tmp");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char self[16], parent[16];
        snprintf(self, sizeof(self), "%ld", (long)getpid());
        snprintf(parent, sizeof(parent), "%ld", (long)getppid());
        char* args[] = {"copy", "chain", "1", self, parent, 0};
        execv(copy, args);
        _exit(99);
    }
    check(wait_status(pid) == 42, "exec of the copy in /tmp runs it");
    char script[160], text[300];
    snprintf(script, sizeof(script), "%s/script.sh", g_dir);
    snprintf(text, sizeof(text), "#!%s script\nexit 1\n", copy);
    check(write_file(script, text, strlen(text), 0755) == 0, "a #! script");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char* args[] = {"script.sh", "x", 0};
        execv(script, args);
        _exit(99);
    }
    check(wait_status(pid) == 43, "a #! script runs its interpreter with the script's path");
    unlink(script);
    unlink(copy);
}

static void test_spawn(void) {
    char out[160];
    snprintf(out, sizeof(out), "%s/spawn-out", g_dir);
    int p[2], extra = -1;
    if (pipe(p) != 0) {
        check(0, "a pipe for the spawned program");
        return;
    }
    extra = dup2(p[0], 7);
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    check(posix_spawn_file_actions_init(&actions) == 0 && posix_spawnattr_init(&attr) == 0,
          "file actions and attributes");
    posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, p[1], 5);
    posix_spawn_file_actions_addclose(&actions, 7);
    sigset_t mask, def;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigemptyset(&def);
    sigaddset(&def, SIGUSR2);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    posix_spawnattr_setsigmask(&attr, &mask);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char* args[] = {"posix_exec", "spawned", 0};
    pid_t pid = -1;
    fflush(stdout);
    int r = posix_spawn(&pid, g_self, &actions, &attr, args, environ);
    check(r == 0 && pid > 0, "posix_spawn with open, dup2 and close actions, sigmask, sigdef");
    close(p[1]);
    close(extra);
    char token[8] = {0};
    check(read(p[0], token, sizeof(token)) == 5 && memcmp(token, "token", 5) == 0,
          "the spawned program wrote to its dup2'd descriptor");
    close(p[0]);
    struct rusage usage;
    memset(&usage, 0xff, sizeof(usage));
    int status = 0;
    pid_t waited = wait4(pid, &status, 0, &usage);
    check(waited == pid && WIFEXITED(status) && WEXITSTATUS(status) == 44,
          "wait4 for the spawned program: status 44 (its checks passed)");
    check(usage.ru_utime.tv_sec >= 0 && usage.ru_utime.tv_usec >= 0
              && usage.ru_utime.tv_usec < 1000000 && usage.ru_stime.tv_sec >= 0,
          "wait4 fills the rusage");
    char text[64] = {0};
    int fd = open(out, O_RDONLY);
    check(fd >= 0 && read(fd, text, sizeof(text) - 1) > 0
              && strcmp(text, "hello from spawned\n") == 0,
          "its stdout went to the file the open action named");
    if (fd >= 0)
        close(fd);
    unlink(out);
    signal(SIGUSR2, SIG_DFL);
    signal(SIGHUP, SIG_DFL);

    pid = -1;
    r = posix_spawn(&pid, "/no/such/program", 0, 0, args, environ);
    check(r == ENOENT, "posix_spawn of a missing program returns ENOENT");
    posix_spawn_file_actions_t bad;
    posix_spawn_file_actions_init(&bad);
    posix_spawn_file_actions_addopen(&bad, 3, "/no/such/dir/file", O_RDONLY, 0);
    r = posix_spawn(&pid, g_self, &bad, 0, args, environ);
    check(r == ENOENT, "a failing open action makes posix_spawn return its errno");
    posix_spawn_file_actions_destroy(&bad);

    /* posix_spawnp finds the program on PATH. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", g_self);
    char* slash = strrchr(dir, '/');
    const char* name = slash ? slash + 1 : g_self;
    if (slash)
        *slash = 0;
    char* old_path = getenv("PATH") ? strdup(getenv("PATH")) : 0;
    setenv("PATH", dir, 1);
    char* exit_args[] = {"posix_exec", "exit", "45", 0};
    r = posix_spawnp(&pid, name, 0, 0, exit_args, environ);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    check(r == 0 && waitid(P_PID, (id_t)pid, &info, WEXITED) == 0 && info.si_pid == pid
              && info.si_code == CLD_EXITED && info.si_status == 45,
          "posix_spawnp on PATH, waitid reports CLD_EXITED 45");
    if (old_path) {
        setenv("PATH", old_path, 1);
        free(old_path);
    } else {
        unsetenv("PATH");
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
}

/* Only dup2 and close actions and the signal attributes (on Tern the spawn that makes no
 * fork): the child sees them, knows its pid and its parent, and reports its pid. */
static void test_spawn_direct(void) {
    char out[160], parent[24], expect[32];
    snprintf(out, sizeof(out), "%s/direct-out", g_dir);
    snprintf(parent, sizeof(parent), "%ld", (long)getpid());
    int file = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int seven = file >= 0 ? dup2(file, 7) : -1;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&actions, file, 1);
    posix_spawn_file_actions_addclose(&actions, 7);
    sigset_t mask, def;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigemptyset(&def);
    sigaddset(&def, SIGUSR2);
    signal(SIGUSR2, SIG_IGN);
    posix_spawnattr_setsigmask(&attr, &mask);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char* args[] = {"posix_exec", "direct", parent, 0};
    pid_t pid = -1;
    int r = posix_spawn(&pid, g_self, &actions, &attr, args, environ);
    signal(SIGUSR2, SIG_DFL);
    close(seven);
    close(file);
    check(file >= 0 && seven == 7 && r == 0 && pid > 0, "posix_spawn with dup2 and close only");
    check(wait_status(pid) == 46, "the child saw its actions, signals and parent: status 46");
    char text[32] = {0};
    int fd = open(out, O_RDONLY);
    snprintf(expect, sizeof(expect), "pid %ld\n", (long)pid);
    check(fd >= 0 && read(fd, text, sizeof(text) - 1) > 0 && strcmp(text, expect) == 0,
          "its getpid() is the pid posix_spawn returned");
    if (fd >= 0)
        close(fd);
    unlink(out);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, 40, 1);
    r = posix_spawn(&pid, g_self, &actions, 0, args, environ);
    check(r == EBADF, "a dup2 action of a closed descriptor makes posix_spawn return EBADF");
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
}

static void test_many_spawns(void) {
    /* Each posix_spawn makes and closes a pipe: 100 of them in a row. */
    char* args[] = {"posix_exec", "exit", "0", 0};
    int ok = 1;
    for (int i = 0; i < 100 && ok; ++i) {
        pid_t pid;
        ok = posix_spawn(&pid, g_self, 0, 0, args, environ) == 0 && wait_status(pid) == 0;
    }
    check(ok, "100 posix_spawn and waitpid in a row");
}

static void test_vfork(void) {
    fflush(stdout);
    char* args[] = {"posix_exec", "exit", "46", 0};
    pid_t pid = vfork();
    if (pid == 0) {
        execv(g_self, args);
        _exit(99);
    }
    check(pid > 0 && wait_status(pid) == 46, "vfork then exec");
}

static void test_limits(void) {
    struct rlimit r;
    check(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur <= r.rlim_max,
          "getrlimit(RLIMIT_NOFILE)");
    if (ON_TERN) {
        check(r.rlim_cur == 64 && r.rlim_max == 64, "RLIMIT_NOFILE is the 64-descriptor table");
        struct rlimit stack;
        check(getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur == 256 * 1024,
              "RLIMIT_STACK is the 256 KiB stack");
    }
    struct rlimit saved = r;
    struct rlimit lower = {32, r.rlim_max};
    check(setrlimit(RLIMIT_NOFILE, &lower) == 0 && getrlimit(RLIMIT_NOFILE, &r) == 0
              && r.rlim_cur == 32,
          "setrlimit lowers the soft limit");
    const char* args[] = {"limits", "32", 0};
    pid_t pid = run_self(args);
    check(wait_status(pid) == 0, "the limit is inherited over fork and exec");
    struct rlimit inverted = {r.rlim_max, r.rlim_max - 1};
    check_errno(setrlimit(RLIMIT_NOFILE, &inverted), EINVAL, "a soft limit above the hard one");
    check_errno(getrlimit(RLIMIT_NLIMITS + 3, &r), EINVAL, "getrlimit of no resource");
    check_errno(prlimit(0, RLIMIT_NOFILE, 0, (struct rlimit*)8), EFAULT,
                "prlimit into a bad pointer");
    if (ON_TERN || geteuid() != 0) {
        struct rlimit higher = {saved.rlim_cur, saved.rlim_max + 1};
        if (saved.rlim_max != RLIM_INFINITY)
            check_errno(setrlimit(RLIMIT_NOFILE, &higher), EPERM, "raising a hard limit");
    }
    check(setrlimit(RLIMIT_NOFILE, &saved) == 0, "the soft limit raised back to the hard one");
    struct rlimit core;
    check(prlimit(0, RLIMIT_CORE, 0, &core) == 0 && core.rlim_cur <= core.rlim_max,
          "prlimit reads");
}

static void test_system(void) {
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    check(sysconf(_SC_OPEN_MAX) == (long)r.rlim_cur, "sysconf(_SC_OPEN_MAX) is RLIMIT_NOFILE");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    check(cpus >= 1 && (!ON_TERN || cpus == 1), "sysconf(_SC_NPROCESSORS_ONLN)");
    check(sysconf(_SC_CLK_TCK) == 100 && sysconf(_SC_PAGESIZE) == 4096,
          "sysconf clock ticks, page size");
    check(sysconf(_SC_ARG_MAX) > 0 && sysconf(_SC_CHILD_MAX) > 0, "sysconf ARG_MAX, CHILD_MAX");
    cpu_set_t set;
    CPU_ZERO(&set);
    check(sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 1
              && (!ON_TERN || CPU_COUNT(&set) == 1),
          "sched_getaffinity");
    struct tms t;
    clock_t now = times(&t);
    check(now != (clock_t)-1, "times");
    struct rusage usage;
    check(getrusage(RUSAGE_SELF, &usage) == 0 && getrusage(RUSAGE_CHILDREN, &usage) == 0,
          "getrusage");
    check_errno(getrusage(7, &usage), EINVAL, "getrusage of nobody");
    struct timeval tv;
    check(gettimeofday(&tv, 0) == 0 && tv.tv_sec > 1704067200 && tv.tv_usec < 1000000,
          "gettimeofday tells a date after 2024");
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    check(getresuid(&ruid, &euid, &suid) == 0 && ruid == getuid() && euid == geteuid(),
          "getresuid");
    check(getresgid(&rgid, &egid, &sgid) == 0 && rgid == getgid() && egid == getegid(),
          "getresgid");
    check(getgroups(0, 0) >= 0, "getgroups");
    check(setuid(getuid()) == 0 && setgid(getgid()) == 0, "setuid and setgid to the ids one has");
    if (ON_TERN)
        check(getuid() == 0 && getgid() == 0, "every process is root");
    struct sysinfo info;
    check(sysinfo(&info) == 0 && info.totalram > 0 && info.mem_unit > 0, "sysinfo");
    struct utsname name;
    check(uname(&name) == 0, "uname");
    mode_t old = umask(022);
    check(umask(old) == 022, "umask");
}

/* ---- Figures ---- */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Printed around the runs of "posix_exec profile" (tools/profile.py's window) when set. */
static int g_profile_marks;

static void profile_mark(const char* what) {
    if (g_profile_marks) {
        printf("posix_exec: profile %s\n", what);
        fflush(stdout);
    }
}

/* One byte (or 4096) there and back between this process and a child on two pipes,
 * runs times; the best per round trip of rounds. */
static uint64_t pipe_round_trip(size_t size, int rounds, int runs) {
    static char buffer[4096];
    int there[2], back[2];
    if (pipe(there) != 0 || pipe(back) != 0)
        return 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < rounds * runs; ++i) {
            for (size_t got = 0; got < size;) {
                ssize_t n = read(there[0], buffer + got, size - got);
                if (n <= 0)
                    _exit(1);
                got += (size_t)n;
            }
            if (write(back[1], buffer, size) != (ssize_t)size)
                _exit(1);
        }
        _exit(0);
    }
    uint64_t best = UINT64_MAX;
    for (int round = 0; round < rounds; ++round) {
        profile_mark("begins");
        uint64_t start = now_ns();
        for (int i = 0; i < runs; ++i) {
            if (write(there[1], buffer, size) != (ssize_t)size)
                return 0;
            for (size_t got = 0; got < size;) {
                ssize_t n = read(back[0], buffer + got, size - got);
                if (n <= 0)
                    return 0;
                got += (size_t)n;
            }
        }
        uint64_t t = (now_ns() - start) / (uint64_t)runs;
        profile_mark("ends");
        best = t < best ? t : best;
    }
    close(there[0]);
    close(there[1]);
    close(back[0]);
    close(back[1]);
    return wait_status(pid) == 0 ? best : 0;
}

/* The figures of docs/libc.md: fork + execve of a small static C program that exits
 * (/bin/exit on Tern, this program on Linux) + waitpid; posix_spawn + waitpid of the same;
 * pipe round trips. Each the best of 5 rounds. */
/* posix_spawn with POSIX_SPAWN_SETPGROUP (group 0: the child's own) and
 * POSIX_SPAWN_SETSID: the child checks what it leads and exits 0. */
static void test_spawn_groups(void) {
    static const struct {
        short flag;
        const char* role;
        const char* what;
    } cases[] = {
        {POSIX_SPAWN_SETPGROUP, "group", "posix_spawn with SETPGROUP 0: the child leads a group"},
        {POSIX_SPAWN_SETSID, "session", "posix_spawn with SETSID: the child leads a session"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, cases[i].flag);
        posix_spawnattr_setpgroup(&attr, 0);
        char* args[] = {"posix_exec", (char*)cases[i].role, 0};
        pid_t pid = -1;
        fflush(stdout);
        int r = posix_spawn(&pid, g_self, 0, &attr, args, environ);
        int status = -1;
        check(r == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
                  && WEXITSTATUS(status) == 0,
              cases[i].what);
        posix_spawnattr_destroy(&attr);
    }
}

/* "posix_exec profile WHAT": one round of a figure of bench() between two lines for
 * tools/profile.py (docs/libc.md, "Figures"): fork (fork + execve + waitpid, 10 runs),
 * pipe1 or pipe4096 (100 round trips). */
static int profile(const char* what) {
    g_profile_marks = 1;
    if (strcmp(what, "pipe1") == 0 || strcmp(what, "pipe4096") == 0)
        return pipe_round_trip(strcmp(what, "pipe1") == 0 ? 1 : 4096, 1, 100) != 0 ? 0 : 1;
    if (strcmp(what, "fork") != 0)
        return 2;
    char* args[] = {"exit", "0", 0};
    char* self_args[] = {"posix_exec", "exit", "0", 0};
    profile_mark("begins");
    for (int i = 0; i < 10; ++i) {
        pid_t pid = fork();
        if (pid == 0) {
            execv(ON_TERN ? "/bin/exit" : g_self, ON_TERN ? args : self_args);
            _exit(99);
        }
        if (wait_status(pid) != 0)
            return 1;
    }
    profile_mark("ends");
    return 0;
}

static int bench(void) {
    enum {
        kRounds = 5,
        kRuns = 10
    };
    const char* child = ON_TERN ? "/bin/exit" : g_self;
    char* args[] = {"exit", "0", 0};
    char* self_args[] = {"posix_exec", "exit", "0", 0};
    char** argv = ON_TERN ? args : self_args;
    uint64_t best_fork = UINT64_MAX, best_spawn = UINT64_MAX;
    for (int round = 0; round < kRounds; ++round) {
        fflush(stdout);
        uint64_t start = now_ns();
        for (int i = 0; i < kRuns; ++i) {
            pid_t pid = fork();
            if (pid == 0) {
                execv(child, argv);
                _exit(99);
            }
            int status = wait_status(pid);
            if (status != 0) {
                printf("posix_exec: FAILED fork and exec of %s: status %d\n", child, status);
                return 1;
            }
        }
        uint64_t t = (now_ns() - start) / kRuns;
        best_fork = t < best_fork ? t : best_fork;
        start = now_ns();
        for (int i = 0; i < kRuns; ++i) {
            pid_t pid;
            int r = posix_spawn(&pid, child, 0, 0, argv, environ);
            if (r != 0 || wait_status(pid) != 0) {
                printf("posix_exec: FAILED posix_spawn of %s: %d\n", child, r);
                return 1;
            }
        }
        t = (now_ns() - start) / kRuns;
        best_spawn = t < best_spawn ? t : best_spawn;
    }
    /* sh -c true: BusyBox's ash (/bin/busybox run as sh on Tern; the system's sh on
     * Linux), spawned and waited. */
    const char* shell = ON_TERN ? "/bin/busybox" : "/bin/sh";
    char* sh_args[] = {"sh", "-c", "true", 0};
    uint64_t best_sh = UINT64_MAX;
    for (int round = 0; round < kRounds; ++round) {
        fflush(stdout);
        uint64_t start = now_ns();
        for (int i = 0; i < kRuns; ++i) {
            pid_t pid;
            int r = posix_spawn(&pid, shell, 0, 0, sh_args, environ);
            if (r != 0 || wait_status(pid) != 0) {
                printf("posix_exec: FAILED sh -c true through %s: %d\n", shell, r);
                return 1;
            }
        }
        uint64_t t = (now_ns() - start) / kRuns;
        best_sh = t < best_sh ? t : best_sh;
    }
    uint64_t rt1 = pipe_round_trip(1, kRounds, 100);
    uint64_t rt4096 = pipe_round_trip(4096, kRounds, 100);
    if (rt1 == 0 || rt4096 == 0) {
        printf("posix_exec: FAILED pipe round trips\n");
        return 1;
    }
    printf("posix.fork_exec_wait: %llu instructions\n", (unsigned long long)best_fork);
    printf("posix.spawn_wait: %llu instructions\n", (unsigned long long)best_spawn);
    printf("posix.pipe_rt_1: %llu instructions\n", (unsigned long long)rt1);
    printf("posix.pipe_rt_4096: %llu instructions\n", (unsigned long long)rt4096);
    printf("posix.sh_c_true: %llu instructions\n", (unsigned long long)best_sh);
    return 0;
}

int main(int argc, char** argv) {
    if (ON_TERN) {
        snprintf(g_self, sizeof(g_self), "/bin/posix_exec");
    } else {
        ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
        if (n <= 0)
            return 2;
        g_self[n] = 0;
    }
    if (argc >= 2) {
        if (strcmp(argv[1], "chain") == 0)
            return role_chain(argc, argv);
        if (strcmp(argv[1], "writer") == 0)
            return role_writer(argc, argv);
        if (strcmp(argv[1], "state") == 0)
            return role_state(argc, argv);
        if (strcmp(argv[1], "limits") == 0)
            return role_limits(argc, argv);
        if (strcmp(argv[1], "direct") == 0)
            return role_direct(argc, argv);
        if (strcmp(argv[1], "spawned") == 0)
            return role_spawned();
        if (strcmp(argv[1], "script") == 0)
            return role_script(argc, argv);
        if (strcmp(argv[1], "exit") == 0 && argc == 3)
            return atoi(argv[2]);
        /* posix_spawn's SETPGROUP and SETSID: 0 when this process leads a group / a
         * session of its own. */
        if (strcmp(argv[1], "group") == 0)
            return getpgid(0) == getpid() && getsid(0) != getpid() ? 0 : 3;
        if (strcmp(argv[1], "session") == 0)
            return getsid(0) == getpid() && getpgid(0) == getpid() ? 0 : 3;
        if (strcmp(argv[1], "bench") == 0)
            return bench();
        if (strcmp(argv[1], "profile") == 0 && argc == 3)
            return profile(argv[2]);
        return 2;
    }
    snprintf(g_dir, sizeof(g_dir), "/tmp/posix_exec.%ld", (long)getpid());
    if (mkdir(g_dir, 0755) != 0) {
        printf("posix_exec: FAILED cannot make %s\n", g_dir);
        return 1;
    }
    test_chain();
    test_pipe_across_exec();
    test_cwd_umask();
    test_errors();
    test_copy_in_tmp();
    test_spawn();
    test_spawn_groups();
    test_spawn_direct();
    test_many_spawns();
    test_vfork();
    test_limits();
    test_system();
    rmdir(g_dir);
    return check_summary();
}

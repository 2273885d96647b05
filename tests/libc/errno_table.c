/*
 * errno_table: bad input to system calls, one row per call, and the errno each gets.
 *
 * Each row is a call with one bad argument (a descriptor, a pointer, flags, a path or a
 * signal number) and the errno Linux documents for it. The calls are made with syscall()
 * where the C library would check the argument itself, so that the answer is the
 * system's (on Tern, the C library's backend; on Linux, the kernel). Every row runs in a
 * child process of its own, so a row that crashed is reported as such and the others
 * still run. Prints, per row,
 *
 *   errno_table: row NAME got ERRNO expected ERRNO
 *
 * (ERRNO a name such as EBADF, "OK" when the call succeeded, "SIGNAL-N" when the child
 * was killed by signal N) and "errno_table: done N rows". It judges nothing itself:
 * tools/errno_table.py runs it on the host's Linux and on Tern in one test
 * (system.errno_table) and compares the two, and the host's answers with the expected
 * column. Every call returns at once: nothing here waits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const struct {
    int value;
    const char* name;
} kErrnos[] = {
    {EPERM, "EPERM"},
    {ENOENT, "ENOENT"},
    {ESRCH, "ESRCH"},
    {EINTR, "EINTR"},
    {EIO, "EIO"},
    {ENOEXEC, "ENOEXEC"},
    {EBADF, "EBADF"},
    {ECHILD, "ECHILD"},
    {EAGAIN, "EAGAIN"},
    {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"},
    {EFAULT, "EFAULT"},
    {EBUSY, "EBUSY"},
    {EEXIST, "EEXIST"},
    {EXDEV, "EXDEV"},
    {ENOTDIR, "ENOTDIR"},
    {EISDIR, "EISDIR"},
    {EINVAL, "EINVAL"},
    {EMFILE, "EMFILE"},
    {ENOTTY, "ENOTTY"},
    {ESPIPE, "ESPIPE"},
    {EROFS, "EROFS"},
    {EPIPE, "EPIPE"},
    {ERANGE, "ERANGE"},
    {ENAMETOOLONG, "ENAMETOOLONG"},
    {ENOSYS, "ENOSYS"},
    {ENOTEMPTY, "ENOTEMPTY"},
    {ELOOP, "ELOOP"},
    {ENOTSOCK, "ENOTSOCK"},
    {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
    {EOPNOTSUPP, "EOPNOTSUPP"},
    {EAFNOSUPPORT, "EAFNOSUPPORT"},
    {ENOTCONN, "ENOTCONN"},
};

static const char* errno_name(int value) {
    static char other[24];
    for (size_t i = 0; i < sizeof(kErrnos) / sizeof(kErrnos[0]); ++i)
        if (kErrnos[i].value == value)
            return kErrnos[i].name;
    snprintf(other, sizeof(other), "errno-%d", value);
    return other;
}

/* The fixtures every row may use, made before the rows run. */
static char g_dir[128], g_file[192], g_full[192], g_long[5000];
static int g_file_fd = -1, g_wronly_fd = -1, g_pipe[2] = {-1, -1};
#define BAD_POINTER ((void*)(unsigned long)16)

/* Runs one row in a child: exit status 0 for success, the errno otherwise (all below 129,
 * which Tern's statuses keep for signals). */
static void row(const char* name, int expected, long (*call)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        errno = 0;
        long r = call();
        _exit(r >= 0 ? 0 : (errno > 0 && errno < 128 ? errno : 127));
    }
    int status = 0;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    char got[32];
    if (pid < 0 || w != pid)
        snprintf(got, sizeof(got), "NOCHILD");
    else if (WIFSIGNALED(status))
        snprintf(got, sizeof(got), "SIGNAL-%d", WTERMSIG(status));
    else if (WEXITSTATUS(status) == 0)
        snprintf(got, sizeof(got), "OK");
    else
        snprintf(got, sizeof(got), "%s", errno_name(WEXITSTATUS(status)));
    printf("errno_table: row %s got %s expected %s\n", name, got, errno_name(expected));
    fflush(stdout);
}

static char g_buffer[64];
static long sigset_words[2];

/* ---- The rows ---- */

/* Descriptors */
static long close_negative(void) { return syscall(SYS_close, -1L); }
static long close_unopened(void) { return syscall(SYS_close, 60); }
static long read_negative(void) { return syscall(SYS_read, -1L, g_buffer, 1L); }
static long write_unopened(void) { return syscall(SYS_write, 60, "x", 1); }
static long read_write_only(void) { return syscall(SYS_read, g_wronly_fd, g_buffer, 1); }
static long write_read_only(void) { return syscall(SYS_write, g_file_fd, "x", 1); }
static long dup_unopened(void) { return syscall(SYS_dup, 60); }
static long dup2_negative(void) { return syscall(SYS_dup2, -1L, 5L); }
static long dup2_target_negative(void) { return syscall(SYS_dup2, 0L, -1L); }
static long dup3_same(void) { return syscall(SYS_dup3, 1, 1, 0); }
static long dup3_flags(void) { return syscall(SYS_dup3, 1, 5, 1); }
static long fcntl_unopened(void) { return syscall(SYS_fcntl, 60, F_GETFL); }
static long fcntl_command(void) { return syscall(SYS_fcntl, 1, 9999); }
static long fcntl_dupfd_negative(void) { return syscall(SYS_fcntl, 1L, (long)F_DUPFD, -1L); }
static long lseek_unopened(void) { return syscall(SYS_lseek, 60, 0, SEEK_SET); }
static long lseek_whence(void) { return syscall(SYS_lseek, g_file_fd, 0, 99); }
static long lseek_before_start(void) {
    return syscall(SYS_lseek, (long)g_file_fd, -1L, (long)SEEK_SET);
}
static long lseek_pipe(void) { return syscall(SYS_lseek, g_pipe[0], 0, SEEK_SET); }
static long fstat_unopened(void) {
    struct stat st;
    return syscall(SYS_fstat, 60, &st);
}
static long ioctl_unopened(void) {
    struct termios t;
    return syscall(SYS_ioctl, 60, TCGETS, &t);
}
static long ioctl_file(void) {
    struct termios t;
    return syscall(SYS_ioctl, g_file_fd, TCGETS, &t);
}
static long fchdir_file(void) { return syscall(SYS_fchdir, g_file_fd); }
static long getdents_file(void) { return syscall(SYS_getdents64, g_file_fd, g_buffer, 64); }

/* Pointers */
static long read_bad_buffer(void) {
    int fd = open(g_file, O_RDONLY); /* its own offset: 0, before 16 bytes */
    return syscall(SYS_read, (long)fd, BAD_POINTER, 8L);
}
static long write_bad_buffer(void) { return syscall(SYS_write, g_pipe[1], BAD_POINTER, 8); }
static long open_bad_path(void) { return syscall(SYS_open, BAD_POINTER, O_RDONLY); }
static long stat_bad_buffer(void) { return syscall(SYS_stat, g_file, BAD_POINTER); }
static long pipe_bad_array(void) { return syscall(SYS_pipe, BAD_POINTER); }
static long poll_bad_array(void) { return syscall(SYS_poll, BAD_POINTER, 1, 0); }
static long sigaction_bad_action(void) {
    return syscall(SYS_rt_sigaction, SIGUSR1, BAD_POINTER, 0, 8);
}
static long nanosleep_bad_time(void) { return syscall(SYS_nanosleep, BAD_POINTER, 0); }
static long getcwd_small(void) { return syscall(SYS_getcwd, g_buffer, 1); }

/* Flags */
static long open_tmpfile_read_only(void) {
    return syscall(SYS_open, g_dir, (long)(O_TMPFILE | O_RDONLY), 0600L);
}
static long pipe2_flags(void) {
    int fds[2];
    return syscall(SYS_pipe2, fds, 1);
}
static long access_mode(void) { return syscall(SYS_access, g_file, 0x99); }
static long waitpid_options(void) {
    int status;
    return syscall(SYS_wait4, -1L, &status, 0x12345L, 0L);
}
static long mmap_no_type(void) {
    return syscall(SYS_mmap, 0L, 4096L, (long)PROT_READ, (long)MAP_ANONYMOUS, -1L, 0L);
}
static long mmap_length_zero(void) {
    return syscall(SYS_mmap, 0L, 0L, (long)PROT_READ, (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L);
}
static long munmap_unaligned(void) { return syscall(SYS_munmap, 1, 4096); }
static long socket_type(void) { return syscall(SYS_socket, AF_INET, 99, 0); }
static long socket_family(void) { return syscall(SYS_socket, 12345, SOCK_STREAM, 0); }
static long clock_unknown(void) {
    struct timespec ts;
    return syscall(SYS_clock_gettime, 9999, &ts);
}
static long nanosleep_nsec(void) {
    struct timespec ts = {0, 2000000000L};
    return syscall(SYS_nanosleep, &ts, 0);
}
static long getrlimit_resource(void) {
    struct rlimit rl;
    return syscall(SYS_getrlimit, 99, &rl);
}

/* Paths */
static long open_empty(void) { return syscall(SYS_open, "", O_RDONLY); }
static long open_missing(void) { return syscall(SYS_open, "/errno_table_missing/x", O_RDONLY); }
static long open_directory_for_writing(void) { return syscall(SYS_open, g_dir, O_WRONLY); }
static long open_through_file(void) {
    char path[256];
    snprintf(path, sizeof(path), "%s/x", g_file);
    return syscall(SYS_open, path, O_RDONLY);
}
static long open_file_as_directory(void) {
    return syscall(SYS_open, g_file, O_RDONLY | O_DIRECTORY);
}
static long open_too_long(void) { return syscall(SYS_open, g_long, O_RDONLY); }
static long open_exclusive(void) {
    return syscall(SYS_open, g_file, O_WRONLY | O_CREAT | O_EXCL, 0644);
}
static long chdir_missing(void) { return syscall(SYS_chdir, "/errno_table_missing"); }
static long chdir_file(void) { return syscall(SYS_chdir, g_file); }
static long mkdir_existing(void) { return syscall(SYS_mkdir, g_dir, 0755); }
static long rmdir_not_empty(void) { return syscall(SYS_rmdir, g_full); }
static long rmdir_file(void) { return syscall(SYS_rmdir, g_file); }
static long unlink_directory(void) { return syscall(SYS_unlink, g_full); }
static long rename_missing(void) {
    char path[256];
    snprintf(path, sizeof(path), "%s/renamed", g_dir);
    return syscall(SYS_rename, "/errno_table_missing", path);
}
static long readlink_file(void) { return syscall(SYS_readlink, g_file, g_buffer, 64); }
static long execve_missing(void) {
    char* argv[] = {"missing", 0};
    char* envp[] = {0};
    return syscall(SYS_execve, "/errno_table_missing", argv, envp);
}
static long execve_not_executable(void) {
    char* argv[] = {"file", 0};
    char* envp[] = {0};
    return syscall(SYS_execve, g_file, argv, envp);
}

/* Signals and processes */
static long kill_signal_too_big(void) { return syscall(SYS_kill, getpid(), 99); }
static long kill_signal_negative(void) { return syscall(SYS_kill, (long)getpid(), -1L); }
static long kill_no_process(void) { return syscall(SYS_kill, 999999, 0); }
static long sigaction_too_big(void) { return syscall(SYS_rt_sigaction, 99, 0, 0, 8); }
static long sigaction_zero(void) { return syscall(SYS_rt_sigaction, 0, 0, 0, 8); }
static long sigaction_kill(void) {
    struct {
        void* handler;
        unsigned long flags;
        void* restorer;
        unsigned long mask;
    } action = {(void*)SIG_IGN, 0, 0, 0};
    return syscall(SYS_rt_sigaction, SIGKILL, &action, 0, 8);
}
static long sigprocmask_how(void) { return syscall(SYS_rt_sigprocmask, 99, sigset_words, 0, 8); }
static long sigprocmask_size(void) {
    return syscall(SYS_rt_sigprocmask, SIG_BLOCK, sigset_words, 0, 3);
}
static long wait_no_children(void) {
    int status;
    return syscall(SYS_wait4, -1L, &status, 0L, 0L);
}
static long setpgid_negative(void) { return syscall(SYS_setpgid, -1L, 0L); }

static void make_fixtures(void) {
    snprintf(g_dir, sizeof(g_dir), "/tmp/errno_table.%ld", (long)getpid());
    snprintf(g_file, sizeof(g_file), "%s/file", g_dir);
    snprintf(g_full, sizeof(g_full), "%s/full", g_dir);
    (void)mkdir(g_dir, 0755);
    (void)mkdir(g_full, 0755);
    char inner[256];
    snprintf(inner, sizeof(inner), "%s/inner", g_full);
    int fd = open(inner, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0)
        close(fd);
    fd = open(g_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)write(fd, "0123456789abcdef", 16);
        close(fd);
    }
    g_file_fd = open(g_file, O_RDONLY);
    g_wronly_fd = open(g_file, O_WRONLY);
    if (pipe(g_pipe) != 0)
        g_pipe[0] = g_pipe[1] = -1;
    memset(g_long, 'a', sizeof(g_long) - 1);
    g_long[0] = '/';
    g_long[sizeof(g_long) - 1] = 0;
}

static void remove_fixtures(void) {
    char inner[256];
    snprintf(inner, sizeof(inner), "%s/inner", g_full);
    (void)unlink(inner);
    (void)rmdir(g_full);
    (void)unlink(g_file);
    (void)rmdir(g_dir);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    make_fixtures();
    if (g_file_fd < 0 || g_wronly_fd < 0 || g_pipe[0] < 0) {
        printf("errno_table: cannot make the fixtures in %s (errno %d)\n", g_dir, errno);
        return 1;
    }
    int rows = 0;
#define ROW(name, expected)                                                                        \
    do {                                                                                           \
        row(#name, expected, name);                                                                \
        ++rows;                                                                                    \
    } while (0)
    /* Descriptors */
    ROW(close_negative, EBADF);
    ROW(close_unopened, EBADF);
    ROW(read_negative, EBADF);
    ROW(write_unopened, EBADF);
    ROW(read_write_only, EBADF);
    ROW(write_read_only, EBADF);
    ROW(dup_unopened, EBADF);
    ROW(dup2_negative, EBADF);
    ROW(dup2_target_negative, EBADF);
    ROW(dup3_same, EINVAL);
    ROW(dup3_flags, EINVAL);
    ROW(fcntl_unopened, EBADF);
    ROW(fcntl_command, EINVAL);
    ROW(fcntl_dupfd_negative, EINVAL);
    ROW(lseek_unopened, EBADF);
    ROW(lseek_whence, EINVAL);
    ROW(lseek_before_start, EINVAL);
    ROW(lseek_pipe, ESPIPE);
    ROW(fstat_unopened, EBADF);
    ROW(ioctl_unopened, EBADF);
    ROW(ioctl_file, ENOTTY);
    ROW(fchdir_file, ENOTDIR);
    ROW(getdents_file, ENOTDIR);
    /* Pointers */
    ROW(read_bad_buffer, EFAULT);
    ROW(write_bad_buffer, EFAULT);
    ROW(open_bad_path, EFAULT);
    ROW(stat_bad_buffer, EFAULT);
    ROW(pipe_bad_array, EFAULT);
    ROW(poll_bad_array, EFAULT);
    ROW(sigaction_bad_action, EFAULT);
    ROW(nanosleep_bad_time, EFAULT);
    ROW(getcwd_small, ERANGE);
    /* Flags */
    ROW(open_tmpfile_read_only, EINVAL);
    ROW(pipe2_flags, EINVAL);
    ROW(access_mode, EINVAL);
    ROW(waitpid_options, EINVAL);
    ROW(mmap_no_type, EINVAL);
    ROW(mmap_length_zero, EINVAL);
    ROW(munmap_unaligned, EINVAL);
    ROW(socket_type, EINVAL);
    ROW(socket_family, EAFNOSUPPORT);
    ROW(clock_unknown, EINVAL);
    ROW(nanosleep_nsec, EINVAL);
    ROW(getrlimit_resource, EINVAL);
    /* Paths */
    ROW(open_empty, ENOENT);
    ROW(open_missing, ENOENT);
    ROW(open_directory_for_writing, EISDIR);
    ROW(open_through_file, ENOTDIR);
    ROW(open_file_as_directory, ENOTDIR);
    ROW(open_too_long, ENAMETOOLONG);
    ROW(open_exclusive, EEXIST);
    ROW(chdir_missing, ENOENT);
    ROW(chdir_file, ENOTDIR);
    ROW(mkdir_existing, EEXIST);
    ROW(rmdir_not_empty, ENOTEMPTY);
    ROW(rmdir_file, ENOTDIR);
    ROW(unlink_directory, EISDIR);
    ROW(rename_missing, ENOENT);
    ROW(readlink_file, EINVAL);
    ROW(execve_missing, ENOENT);
    ROW(execve_not_executable, EACCES);
    /* Signals and processes */
    ROW(kill_signal_too_big, EINVAL);
    ROW(kill_signal_negative, EINVAL);
    ROW(kill_no_process, ESRCH);
    ROW(sigaction_too_big, EINVAL);
    ROW(sigaction_zero, EINVAL);
    ROW(sigaction_kill, EINVAL);
    ROW(sigprocmask_how, EINVAL);
    ROW(sigprocmask_size, EINVAL);
    ROW(wait_no_children, ECHILD);
    ROW(setpgid_negative, EINVAL);
#undef ROW
    close(g_file_fd);
    close(g_wronly_fd);
    close(g_pipe[0]);
    close(g_pipe[1]);
    remove_fixtures();
    printf("errno_table: done %d rows\n", rows);
    return 0;
}

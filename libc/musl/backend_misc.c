/*
 * Tern's musl backend: the calls ported programs (Lua, BusyBox) meet that need no server
 * of their own.
 *
 * - The CPU-time clocks (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, so clock(),
 *   and the ids clock_getcpuclockid and pthread_getcpuclockid give for the caller):
 *   the processor time the kernel's timer charged to the process's task or the calling
 *   thread (cpu_times: user and system, sampled 100 times a second, so the resolution
 *   is 10 ms).
 * - chown, fchown, lchown, fchownat: there are no users yet and everything belongs to
 *   root, so an owner and group of 0 (or -1, "unchanged") succeed once the file is found
 *   (EROFS on the boot file system, as for chmod); any other id is EPERM.
 * - utimensat (so futimens, utimes, utime): tmpfs's SetTimes, with UTIME_NOW and
 *   UTIME_OMIT; EROFS on the boot file system.
 * - link, linkat: tmpfs has no hard links, so once the source is found and the new name
 *   is free (ENOENT, EEXIST as Linux checks them) the answer is EPERM, as Linux gives for
 *   a file system without hard links; EROFS on the boot file system.
 * - sync, syncfs: nothing to do, as for fsync (a file server holds each write once it
 *   answers).
 * - prctl's PR_SET_NAME and PR_GET_NAME (BusyBox names its process after the applet):
 *   the name is kept here, in the process's memory, and read back; it is not shown to
 *   other processes. Other options are EINVAL.
 *
 * The file checks go through the backend's own stat and access (__tern_syscall), so the
 * path rules are backend.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/mounts.h>
#include <libc/musl/services.h>
#include <tern/abi/task.h>
#include <tern/syscall.h>

long __tern_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6);

/* A clock id clock_getcpuclockid or pthread_getcpuclockid made (Linux's encoding: ~id << 3,
 * bit 2 for a thread, the low bits 0 PROF, 1 VIRT, 2 SCHED): CLOCK_PROCESS_CPUTIME_ID for
 * the calling process's own (its pid, or 0), CLOCK_THREAD_CPUTIME_ID for the calling
 * thread's (its id, or 0), *user_only for VIRT; -1 for any other (another process's or
 * thread's time is not read here: EINVAL). */
static int own_cpu_clock(int clock, int* user_only) {
    int id = ~(clock >> 3);
    int type = clock & 3;
    int thread = (clock & 4) != 0;
    if (type == 3)
        return -1;
    *user_only = type == 1;
    if (thread)
        return id == 0 || id == (int)__tern_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0)
                   ? CLOCK_THREAD_CPUTIME_ID
                   : -1;
    return id == 0 || id == (int)__tern_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0)
               ? CLOCK_PROCESS_CPUTIME_ID
               : -1;
}

long tern_libc_cpu_clock(long clock, struct timespec* ts, int resolution) {
    int user_only = 0;
    if ((int)clock < 0)
        clock = own_cpu_clock((int)clock, &user_only);
    if (clock != CLOCK_PROCESS_CPUTIME_ID && clock != CLOCK_THREAD_CPUTIME_ID)
        return -EINVAL;
    uint64_t ns = TERN_CPU_TICK_NS;
    if (!resolution) {
        struct tern_cpu_times t = tern_libc_cpu_times(clock == CLOCK_THREAD_CPUTIME_ID);
        ns = t.user_ns + (user_only ? 0 : t.system_ns);
    } else if (!ts) {
        return 0;
    }
    ts->tv_sec = (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
    return 0;
}

/* Only root's ids (or -1, which keeps the current one) can be given. */
static int root_ids(long uid, long gid) {
    return ((uid_t)uid == 0 || (uid_t)uid == (uid_t)-1)
           && ((gid_t)gid == 0 || (gid_t)gid == (gid_t)-1);
}

static long sys_fchownat(long dirfd, const char* path, long uid, long gid, long flags) {
    if (flags & ~(long)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct stat st;
    long r = __tern_syscall(SYS_newfstatat, dirfd, (long)path, (long)&st, flags, 0, 0);
    if (r != 0)
        return r;
    if (!root_ids(uid, gid))
        return -EPERM;
    if (S_ISLNK(st.st_mode))
        return 0; /* a link on tmpfs: it has no owner of its own to change */
    if (path[0] == '\0')
        return 0; /* AT_EMPTY_PATH: dirfd itself, which fstat found */
    r = __tern_syscall(SYS_faccessat, dirfd, (long)path, W_OK, 0, 0, 0);
    return r == -EROFS ? r : 0;
}

static long sys_fchown(long fd, long uid, long gid) {
    struct stat st;
    long r = __tern_syscall(SYS_fstat, fd, (long)&st, 0, 0, 0, 0);
    if (r != 0)
        return r;
    return root_ids(uid, gid) ? 0 : -EPERM;
}

/* One of utimensat's times as the file protocol's: UTIME_NOW, UTIME_OMIT, or a time whose
 * nanoseconds lie in 0-999,999,999 (EINVAL otherwise); seconds beyond what 64 bits of
 * nanoseconds hold are clamped, as Linux clamps to a file system's range. */
static long protocol_time(const struct timespec* t, int64_t* out) {
    if (t->tv_nsec == UTIME_NOW) {
        *out = TERN_LIBC_TIME_NOW;
        return 0;
    }
    if (t->tv_nsec == UTIME_OMIT) {
        *out = TERN_LIBC_TIME_OMIT;
        return 0;
    }
    if (t->tv_nsec < 0 || t->tv_nsec >= 1000000000)
        return -EINVAL;
    const int64_t limit = INT64_MAX / 1000000000 - 1;
    if (t->tv_sec > limit)
        *out = INT64_MAX;
    else if (t->tv_sec < -limit)
        *out = TERN_LIBC_TIME_OMIT + 1;
    else
        *out = (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
    return 0;
}

/* path 0 is futimens: dirfd is the file. */
static long sys_utimensat(long dirfd, const char* path, const struct timespec* times, long flags) {
    if (flags & ~(long)AT_SYMLINK_NOFOLLOW)
        return -EINVAL;
    int64_t atime = TERN_LIBC_TIME_NOW, mtime = TERN_LIBC_TIME_NOW;
    if (times) {
        long r = protocol_time(&times[0], &atime);
        if (r == 0)
            r = protocol_time(&times[1], &mtime);
        if (r != 0)
            return r;
    }
    uint32_t server = 0;
    uint64_t inode = 0;
    int read_only = 0;
    if (!path) {
        if (flags)
            return -EINVAL;
        struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), dirfd);
        if (!file)
            return tern_libc_is_console_fd(dirfd) ? -EROFS : -EBADF;
        /* The console, pipes and sockets keep no times. */
        if (file->kind != TERN_LIBC_FD_FILE && file->kind != TERN_LIBC_FD_DIRECTORY)
            return -EROFS;
        server = file->server;
        inode = file->inode;
        read_only = server == TERN_LIBC_SERVER_BOOTFS;
    } else {
        long r = tern_libc_find_node(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), &server, &inode,
                                     &read_only);
        if (r != 0)
            return r;
    }
    if (read_only)
        return -EROFS;
    if (atime == TERN_LIBC_TIME_OMIT && mtime == TERN_LIBC_TIME_OMIT)
        return 0;
    return tern_libc_fs_set_times(server, inode, atime, mtime);
}

static long sys_linkat(long old_dirfd, const char* old_path, long new_dirfd, const char* new_path,
                       long flags) {
    if (flags & ~(long)(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    return tern_libc_link(old_dirfd, old_path, new_dirfd, new_path,
                          (flags & AT_SYMLINK_FOLLOW) != 0);
}

/* The thread's name (Linux's comm: 15 bytes and a NUL). */
static char g_name[16];

static long sys_prctl(long option, long arg) {
    switch (option) {
    case PR_SET_NAME: {
        const char* name = (const char*)arg;
        size_t n = 0;
        while (n + 1 < sizeof(g_name) && name[n] != '\0')
            ++n;
        for (size_t i = 0; i < sizeof(g_name); ++i)
            g_name[i] = i < n ? name[i] : '\0';
        return 0;
    }
    case PR_GET_NAME:
        return tern_libc_copy_out((void*)arg, g_name, sizeof(g_name));
    default:
        return -EINVAL;
    }
}

long tern_libc_misc_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_chown:
        return sys_fchownat(AT_FDCWD, (const char*)a1, a2, a3, 0);
    case SYS_lchown:
        return sys_fchownat(AT_FDCWD, (const char*)a1, a2, a3, AT_SYMLINK_NOFOLLOW);
    case SYS_fchownat:
        return sys_fchownat(a1, (const char*)a2, a3, a4, a5);
    case SYS_fchown:
        return sys_fchown(a1, a2, a3);
    case SYS_utimensat:
        return sys_utimensat(a1, (const char*)a2, (const struct timespec*)a3, a4);
    case SYS_prctl:
        return sys_prctl(a1, a2);
    case SYS_link:
        return sys_linkat(AT_FDCWD, (const char*)a1, AT_FDCWD, (const char*)a2, 0);
    case SYS_linkat:
        return sys_linkat(a1, (const char*)a2, a3, (const char*)a4, a5);
    case SYS_sync:
        return 0;
    case SYS_syncfs: {
        struct stat st;
        return __tern_syscall(SYS_fstat, a1, (long)&st, 0, 0, 0, 0);
    }
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

/*
 * Tern's musl backend: the Linux system calls musl issues, answered with Tern's kernel
 * calls.
 *
 * musl's syscall_arch.h is replaced (libc/musl/overlay/) so that every system call musl
 * makes arrives here as __tern_syscall(number, args...) with the Linux x86-64 number and
 * Linux argument meanings, and must return what Linux would: a result >= 0 or a negated
 * Linux errno. The rules of the translation (errno table, protection bits, mmap checks)
 * are in portable/translate.cpp, where the host unit tests check them; this file performs
 * the calls. The console, the boot file system and tmpfs are servers, which services.cpp
 * reaches through the native runtime (services.h is the interface); the rules for files
 * (the descriptor table, lseek, paths, struct stat) are in portable/files.cpp, the mount
 * table's in portable/mounts.cpp. docs/libc.md lists what is supported and what is not.
 *
 * Everything that is not supported fails with ENOSYS, and the first failure of each
 * syscall number writes one line to the console ("libc: unsupported syscall N (name)"), so
 * every gap a program runs into is visible without flooding the log.
 *
 * The backend runs before musl has set up thread-local storage (musl's start-up calls mmap
 * and set_thread_area through it), so it must not touch errno or any other thread-local
 * object. It writes results through user pointers with plain stores: a bad pointer makes
 * the program fault instead of returning EFAULT.
 *
 * With more than one thread, every call served here runs under the backend lock
 * (backend_threads.c, which receives the calls first and serves the threads' own).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/files.h>
#include <libc/musl/portable/mounts.h>
#include <libc/musl/portable/shared_file.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <tern/abi/errors.h>
#include <tern/abi/syscalls.h>
#include <tern/abi/task.h>
#include <tern/syscall.h>

/* Generated from musl's <bits/syscall.h> (libc/musl/syscall_names.cmake). */
#include "syscall_names.h"

/* The translation rules spell the Linux ABI out by value; musl's headers are the other
 * statement of it, and the two must agree. */
#define TERN_X_CHECK_ERRNO(name, value)                                                            \
    _Static_assert(TERN_LINUX_##name == name, "Linux " #name " differs from musl's");
TERN_ENUMERATE_LINUX_ERRNOS(TERN_X_CHECK_ERRNO)
#undef TERN_X_CHECK_ERRNO
_Static_assert(TERN_LINUX_PROT_READ == PROT_READ && TERN_LINUX_PROT_WRITE == PROT_WRITE
                   && TERN_LINUX_PROT_EXEC == PROT_EXEC
                   && TERN_LINUX_PROT_GROWSDOWN == PROT_GROWSDOWN
                   && TERN_LINUX_PROT_GROWSUP == PROT_GROWSUP,
               "PROT_* differ from musl's");
_Static_assert(TERN_LINUX_MAP_SHARED == MAP_SHARED && TERN_LINUX_MAP_PRIVATE == MAP_PRIVATE
                   && TERN_LINUX_MAP_SHARED_VALIDATE == MAP_SHARED_VALIDATE
                   && TERN_LINUX_MAP_TYPE == MAP_TYPE && TERN_LINUX_MAP_FIXED == MAP_FIXED
                   && TERN_LINUX_MAP_ANONYMOUS == MAP_ANONYMOUS && TERN_LINUX_MAP_32BIT == MAP_32BIT
                   && TERN_LINUX_MAP_GROWSDOWN == MAP_GROWSDOWN
                   && TERN_LINUX_MAP_HUGETLB == MAP_HUGETLB && TERN_LINUX_MAP_SYNC == MAP_SYNC
                   && TERN_LINUX_MAP_FIXED_NOREPLACE == MAP_FIXED_NOREPLACE,
               "MAP_* differ from musl's");
_Static_assert(TERN_LINUX_CLOCK_REALTIME == CLOCK_REALTIME
                   && TERN_LINUX_CLOCK_MONOTONIC == CLOCK_MONOTONIC
                   && TERN_LINUX_CLOCK_PROCESS_CPUTIME_ID == CLOCK_PROCESS_CPUTIME_ID
                   && TERN_LINUX_CLOCK_THREAD_CPUTIME_ID == CLOCK_THREAD_CPUTIME_ID
                   && TERN_LINUX_CLOCK_MONOTONIC_RAW == CLOCK_MONOTONIC_RAW
                   && TERN_LINUX_CLOCK_REALTIME_COARSE == CLOCK_REALTIME_COARSE
                   && TERN_LINUX_CLOCK_MONOTONIC_COARSE == CLOCK_MONOTONIC_COARSE
                   && TERN_LINUX_CLOCK_BOOTTIME == CLOCK_BOOTTIME,
               "CLOCK_* differ from musl's");
_Static_assert(TERN_LINUX_O_ACCMODE == (O_WRONLY | O_RDWR) && TERN_LINUX_O_RDONLY == O_RDONLY
                   && TERN_LINUX_O_CREAT == O_CREAT && TERN_LINUX_O_TRUNC == O_TRUNC
                   && TERN_LINUX_O_APPEND == O_APPEND && TERN_LINUX_O_DIRECTORY == O_DIRECTORY
                   && TERN_LINUX_O_CLOEXEC == O_CLOEXEC
                   && (TERN_LINUX_O_TMPFILE_ONLY | O_DIRECTORY) == O_TMPFILE
                   && TERN_LINUX_AT_FDCWD == AT_FDCWD,
               "O_* differ from musl's");
_Static_assert(TERN_LINUX_SEEK_SET == SEEK_SET && TERN_LINUX_SEEK_CUR == SEEK_CUR
                   && TERN_LINUX_SEEK_END == SEEK_END && TERN_LINUX_R_OK == R_OK
                   && TERN_LINUX_W_OK == W_OK && TERN_LINUX_X_OK == X_OK
                   && TERN_LINUX_DT_DIR == DT_DIR && TERN_LINUX_DT_REG == DT_REG,
               "SEEK_*, *_OK or DT_* differ from musl's");
_Static_assert(TERN_LINUX_S_IFCHR == S_IFCHR && TERN_LINUX_S_IFDIR == S_IFDIR
                   && TERN_LINUX_S_IFREG == S_IFREG,
               "S_IF* differ from musl's");
/* fstat fills the kernel's struct stat, which musl's x86-64 struct stat mirrors, and
 * portable/files.h spells out. */
_Static_assert(sizeof(struct stat) == 144 && sizeof(struct stat) == sizeof(struct tern_linux_stat),
               "struct stat is not the x86-64 kernel layout");
_Static_assert(
    offsetof(struct stat, st_ino) == offsetof(struct tern_linux_stat, st_ino)
        && offsetof(struct stat, st_nlink) == offsetof(struct tern_linux_stat, st_nlink)
        && offsetof(struct stat, st_mode) == offsetof(struct tern_linux_stat, st_mode)
        && offsetof(struct stat, st_size) == offsetof(struct tern_linux_stat, st_size)
        && offsetof(struct stat, st_blksize) == offsetof(struct tern_linux_stat, st_blksize)
        && offsetof(struct stat, st_blocks) == offsetof(struct tern_linux_stat, st_blocks)
        && offsetof(struct stat, st_mtim) == offsetof(struct tern_linux_stat, st_mtime_sec),
    "struct stat fields differ from portable/files.h");

/* arch_prctl codes (Linux asm/prctl.h; musl installs no asm headers). */
enum {
    kArchSetFs = 0x1002,
};

enum {
    /* The largest write debug_write accepts. */
    kConsoleChunk = 4096,
    /* POSIX IOV_MAX on Linux. */
    kIovMax = 1024,
    /* Exit status of a program ended by a signal, as shells report it: 128 + signal. */
    kSignalExitBase = 128,
};

/* ---- The console: file descriptors 0, 1 and 2 ---------------------------------------- */

static int is_console_fd(long fd);

int tern_libc_is_console_fd(long fd) { return is_console_fd(fd); }

/* Writes to the kernel's debug console in chunks debug_write accepts. Returns the bytes
 * written, or a negated errno when nothing could be written. */
static long debug_write(const char* data, size_t length) {
    size_t done = 0;
    while (done < length) {
        size_t chunk = length - done < kConsoleChunk ? length - done : kConsoleChunk;
        int64_t r = tern_sys_debug_write((uint64_t)(uintptr_t)(data + done), chunk);
        if (r < 0)
            return done > 0 ? (long)done : (long)tern_libc_linux_result(r);
        done += chunk;
    }
    return (long)done;
}

/* What a program writes to fds 0-2: the console server's Write when the program has one
 * (started by the proc server), else the kernel's debug console, as for programs the
 * kernel starts. */
static long console_write(const char* data, size_t length) {
    if (length == 0)
        return 0;
    int64_t r = tern_libc_console_write(data, length);
    if (r != TERN_LIBC_NO_SERVER)
        return (long)r;
    return debug_write(data, length);
}

/* ---- Logging each gap once ------------------------------------------------------------ */

/* One bit per Linux syscall number; numbers beyond the table share the last bit. */
static uint64_t g_logged[(TERN_LINUX_SYSCALL_LIMIT + 64) / 64];

/* Appends the decimal form of value to buffer at *at (the buffer is large enough). */
static void append_decimal(char* buffer, size_t* at, unsigned long value) {
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n > 0)
        buffer[(*at)++] = digits[--n];
}

static void append_text(char* buffer, size_t capacity, size_t* at, const char* text) {
    while (*text && *at + 1 < capacity)
        buffer[(*at)++] = *text++;
}

/* Logs "libc: unsupported syscall N (name)[: detail]" the first time syscall n is not
 * served. The line is built in one buffer so it reaches the console in one write. */
static void log_unsupported(long n, const char* detail) {
    unsigned long index =
        n >= 0 && n < TERN_LINUX_SYSCALL_LIMIT ? (unsigned long)n : TERN_LINUX_SYSCALL_LIMIT;
    uint64_t bit = (uint64_t)1 << (index % 64);
    if (__atomic_fetch_or(&g_logged[index / 64], bit, __ATOMIC_RELAXED) & bit)
        return;
    char line[160];
    size_t at = 0;
    append_text(line, sizeof(line), &at, "libc: unsupported syscall ");
    if (n < 0) {
        line[at++] = '-';
        append_decimal(line, &at, (unsigned long)-n);
    } else {
        append_decimal(line, &at, (unsigned long)n);
    }
    const char* name = index < TERN_LINUX_SYSCALL_LIMIT ? tern_linux_syscall_names[index] : 0;
    append_text(line, sizeof(line), &at, " (");
    append_text(line, sizeof(line), &at, name ? name : "unknown");
    append_text(line, sizeof(line), &at, ")");
    if (detail) {
        append_text(line, sizeof(line), &at, ": ");
        append_text(line, sizeof(line), &at, detail);
    }
    line[at++] = '\n';
    (void)debug_write(line, at);
}

void tern_libc_log_unsupported(long n, const char* detail) { log_unsupported(n, detail); }

static long unsupported(long n, const char* detail) {
    log_unsupported(n, detail);
    return -ENOSYS;
}

/* ---- Files: the mount table, the working directory and the file servers --------------- *
 * Every path is resolved against the working directory (or the directory an *at()
 * descriptor names) into a normalised absolute path, which the mount table
 * (portable/mounts.h) sends to a server: "/" to bootfs (read-only: open maps a file
 * through bootfs Map and reads are served from the mapping; an open directory holds
 * bootfs's listing), "/tmp" and "/home" to tmpfs (the file protocol: reads and writes go
 * to the server by node number, in pieces). Symbolic links are followed here, since a
 * link may lead to another server. The table, the working directory and the umask are the
 * process's own, like the descriptor table.
 */

/* The process's one descriptor table (portable/files.h): files, directories, sockets,
 * pipes and the console. It is set up on first use, with 0-2 on the console. */
static struct tern_libc_fd_table g_files;

struct tern_libc_fd_table* tern_libc_fds(void) {
    if (!g_files.initialised)
        tern_libc_fd_table_init(&g_files);
    return &g_files;
}

/* The table as it is, set up or not: what a new image's start fills from exec's block
 * (clearing it first would touch all its pages for nothing). */
struct tern_libc_fd_table* tern_libc_fds_unset(void) {
    return &g_files;
}

static struct tern_libc_mount_table g_mounts;
static int g_mounts_ready;
static char g_cwd[TERN_LIBC_PATH_BUFFER] = "/";
static unsigned g_umask = 022;

static struct tern_libc_mount_table* mounts(void) {
    if (!g_mounts_ready) {
        tern_libc_mounts_init(&g_mounts);
        g_mounts_ready = 1;
    }
    return &g_mounts;
}

/* What exec carries (backend_exec.c): the working directory and the umask. */
char* tern_libc_cwd(void) { return g_cwd; }
unsigned* tern_libc_umask(void) { return &g_umask; }

/* 1 when fd is open on the console. */
static int is_console_fd(long fd) {
    struct tern_libc_file* file = tern_libc_fd_lookup(tern_libc_fds(), fd);
    return file && file->kind == TERN_LIBC_FD_CONSOLE;
}

enum {
    /* Bytes a bootfs directory's listing may take: bootfs List's response bound. */
    kListingBytes = 16384,
    /* Symbolic links followed in one lookup before ELOOP (Linux's MAXSYMLINKS). */
    kMaxLinks = 40,
};

/* The character devices the C library serves itself (no server holds them), by index
 * (kept in a descriptor's inode): null reads end of file, zero reads zeros, full reads
 * zeros and writes ENOSPC, random and urandom read getrandom's bytes; every write but
 * full's is swallowed. rdev is Linux's device number (major 1). */
enum {
    kDevNull,
    kDevZero,
    kDevFull,
    kDevRandom,
    kDevUrandom,
    kDevCount
};
static const struct {
    const char* path;
    uint32_t minor;
} kDevices[kDevCount] = {
    {"/dev/null", 3}, {"/dev/zero", 5}, {"/dev/full", 7}, {"/dev/random", 8}, {"/dev/urandom", 9},
};

/* The device at a normalised path + 1, or 0 for none. */
static int device_at(const char* path) {
    for (int i = 0; i < kDevCount; ++i)
        if (strcmp(path, kDevices[i].path) == 0)
            return i + 1;
    return 0;
}

/* 1 when the path goes on below a device ("/dev/zero/x"): ENOTDIR. */
static int below_device(const char* path) {
    for (int i = 0; i < kDevCount; ++i) {
        size_t n = strlen(kDevices[i].path);
        if (strncmp(path, kDevices[i].path, n) == 0 && path[n] == '/')
            return 1;
    }
    return 0;
}

/* Fills a device's stat: a character device, Linux's numbers. */
static long device_stat(struct stat* st, uint64_t device) {
    if (device >= kDevCount)
        device = kDevNull;
    tern_libc_fill_stat((struct tern_linux_stat*)st, TERN_LIBC_NODE_CONSOLE, 0666, 0,
                        tern_libc_path_inode(kDevices[device].path));
    st->st_rdev = (1u << 8) | kDevices[device].minor;
    return 0;
}

/* A path resolved to a server: where it is and what is there. */
struct place {
    char given[TERN_LIBC_PATH_BUFFER];       /* the caller's path, copied in */
    char path[TERN_LIBC_PATH_BUFFER];        /* normalised absolute */
    char server_path[TERN_LIBC_PATH_BUFFER]; /* the server's path */
    int mount;
    uint32_t server; /* TERN_LIBC_SERVER_* */
    int read_only;
    int must_be_directory;             /* named with a trailing "/" */
    int error;                         /* what the lookup found: 0, -ENOENT, -ENOTDIR, ... */
    int null_device;                   /* a C library device + 1 (error is then 0): kDevices */
    uint32_t mode;                     /* S_IFMT and permission bits, when error is 0 */
    struct tern_libc_file_attr attr;   /* a file server's node */
    struct tern_libc_bootfs_node node; /* bootfs's */
};

/* Two places at most are in use at once (rename); the backend is single-threaded. */
static struct place g_place_a, g_place_b;
static char g_link_target[TERN_LIBC_PATH_BUFFER];
static char g_link_path[TERN_LIBC_PATH_BUFFER];

static int is_directory_mode(uint32_t mode) { return (mode & S_IFMT) == S_IFDIR; }
static int is_link_mode(uint32_t mode) { return (mode & S_IFMT) == S_IFLNK; }

/* 1 when the place is the directory a mount is made on ("/tmp" itself). */
static int is_mount_point(const struct place* p) {
    return strcmp(mounts()->mounts[p->mount].prefix, p->path) == 0;
}

/* Replaces the link that ends at server_path[link_end] (a "/" follows) by its target:
 * p->path becomes the target, resolved from the link's directory, followed by the rest. */
static long follow_inner_link(struct place* p, uint32_t link_end) {
    p->server_path[link_end] = '\0'; /* the link's path, for a moment */
    int64_t n =
        tern_libc_fs_readlink(p->server, p->server_path, g_link_target, sizeof(g_link_target));
    /* The link's own path in this process (p->path is rebuilt below, so it holds it). */
    long r = n < 0 ? (long)n
                   : tern_libc_mount_global_path(mounts(), p->mount, p->server_path, p->path,
                                                 sizeof(p->path));
    p->server_path[link_end] = '/';
    if (r != 0)
        return r;
    int must_be_directory = 0;
    r = tern_libc_link_target_path(p->path, g_link_target, (uint64_t)n, g_link_path,
                                   sizeof(g_link_path), &must_be_directory);
    if (r != 0)
        return r;
    /* The rest after the link's name (never empty: the server's path is normalised),
     * relative to where the target leads; a trailing "/" of the original path stays in
     * p->must_be_directory. */
    const char* rest = p->server_path + link_end + 1;
    int ignored = 0;
    return tern_libc_normalize_path(g_link_path, rest, p->path, sizeof(p->path), &ignored);
}

/* Finds p->path's server and looks it up there, following a final symbolic link when
 * follow is set (or the path ends in "/"). Returns 0 with p->error saying whether
 * something is there, or an error of the resolution itself (ELOOP, ENAMETOOLONG). */
static long place_lookup(struct place* p, int follow) {
    for (int links = 0;; ++links) {
        int m = tern_libc_mount_find(mounts(), p->path);
        if (m < 0)
            return m;
        p->mount = m;
        p->server = mounts()->mounts[m].server;
        p->read_only = (int)mounts()->mounts[m].read_only;
        long r = tern_libc_mount_server_path(mounts(), m, p->path, p->server_path,
                                             sizeof(p->server_path));
        if (r != 0)
            return r;
        if (p->server == TERN_LIBC_SERVER_BOOTFS) {
            p->error = tern_libc_bootfs_stat(p->server_path, &p->node);
            if (p->error == 0)
                p->mode = (p->node.is_directory ? S_IFDIR : S_IFREG) | (p->node.mode & 07777);
        } else {
            uint32_t link_end = 0;
            p->error = tern_libc_fs_lookup(p->server, p->server_path, &p->attr, &link_end);
            if (p->error == TERN_LIBC_FS_LINK_IN_PATH) {
                /* A link before the last component: its target takes its place. */
                if (links >= kMaxLinks)
                    return -ELOOP;
                r = follow_inner_link(p, link_end);
                if (r != 0)
                    return r;
                continue;
            }
            if (p->error == -ENODEV)
                p->error = -ENOENT; /* no such server: nothing is there */
            if (p->error == 0)
                p->mode = p->attr.mode;
        }
        if (p->error != 0 || !is_link_mode(p->mode) || !(follow || p->must_be_directory))
            break;
        if (links >= kMaxLinks)
            return -ELOOP;
        int64_t n =
            tern_libc_fs_readlink(p->server, p->server_path, g_link_target, sizeof(g_link_target));
        if (n < 0)
            return (long)n;
        int must_be_directory = 0;
        r = tern_libc_link_target_path(p->path, g_link_target, (uint64_t)n, g_link_path,
                                       sizeof(g_link_path), &must_be_directory);
        if (r != 0)
            return r;
        memcpy(p->path, g_link_path, strlen(g_link_path) + 1);
        p->must_be_directory |= must_be_directory;
    }
    if (p->error == 0 && p->must_be_directory && !is_directory_mode(p->mode)
        && !(is_link_mode(p->mode) && !follow))
        p->error = -ENOTDIR;
    return 0;
}

/* Resolves (dirfd, path) against the working directory or dirfd's directory into p and
 * looks it up (place_lookup). */
/* Copies the caller's path into out (capacity bytes with the NUL) with the checked copy, so
 * that a bad pointer is EFAULT rather than a fault: 256 bytes at a time and never across
 * a page boundary (the NUL may end the string just before an unmapped page). 0, -EFAULT,
 * or -ENAMETOOLONG when no NUL comes within capacity bytes. */
static long path_in(const char* user, char* out, size_t capacity) {
    size_t done = 0;
    while (done < capacity) {
        uintptr_t at = (uintptr_t)user + done;
        size_t piece = 4096 - (at & 4095);
        if (piece > 256)
            piece = 256;
        if (piece > capacity - done)
            piece = capacity - done;
        if (tern_libc_copy_in(out + done, (const void*)at, piece) != 0)
            return -EFAULT;
        if (memchr(out + done, '\0', piece))
            return 0;
        done += piece;
    }
    return -ENAMETOOLONG;
}

static long resolve(long dirfd, const char* user_path, int follow, struct place* p) {
    long copied = path_in(user_path, p->given, sizeof(p->given));
    if (copied != 0)
        return copied;
    const char* path = p->given;
    const char* directory = g_cwd;
    if (path[0] != '/' && dirfd != AT_FDCWD) {
        struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), dirfd);
        if (!file)
            return is_console_fd(dirfd) ? -ENOTDIR : -EBADF;
        if (file->kind != TERN_LIBC_FD_DIRECTORY)
            return -ENOTDIR;
        directory = file->path;
    }
    p->must_be_directory = 0;
    p->error = -ENOENT;
    p->mode = 0;
    long r =
        tern_libc_normalize_path(directory, path, p->path, sizeof(p->path), &p->must_be_directory);
    if (r != 0)
        return r;
    r = place_lookup(p, follow);
    /* The devices are the C library's own: no server holds them. */
    p->null_device = r == 0 && p->server == TERN_LIBC_SERVER_BOOTFS && !p->must_be_directory
                         ? device_at(p->path)
                         : 0;
    if (p->null_device) {
        p->error = 0;
        p->mode = S_IFCHR | 0666;
    } else if (r == 0 && p->server == TERN_LIBC_SERVER_BOOTFS && below_device(p->path)) {
        p->error = -ENOTDIR;
    }
    return r;
}

/* resolve, and then what the server said of the path (0 when it exists). */
static long resolve_found(long dirfd, const char* path, int follow, struct place* p) {
    long r = resolve(dirfd, path, follow, p);
    return r != 0 ? r : p->error;
}

long tern_libc_find_node(long dirfd, const char* path, int follow, uint32_t* server,
                         uint64_t* inode, int* read_only) {
    struct place* p = &g_place_a;
    long r = resolve_found(dirfd, path, follow, p);
    if (r != 0)
        return r;
    *server = p->server;
    *inode = p->attr.inode;
    *read_only = p->read_only;
    return 0;
}

static void copy_path(char* to, const char* from) {
    size_t i = 0;
    for (; from[i] != '\0' && i + 1 < TERN_LIBC_PATH_BUFFER; ++i)
        to[i] = from[i];
    to[i] = '\0';
}

/* Maps (lists) a bootfs file (directory) at path into file: at open, and again in a new
 * image after exec (the mapping does not cross). */
static long fill_bootfs(struct tern_libc_file* file, const char* path, const char* server_path,
                        int is_directory) {
    if (is_directory) {
        int64_t buffer = tern_sys_vm_allocate(kListingBytes, TERN_PROT_READ | TERN_PROT_WRITE);
        if (buffer < 0)
            return (long)tern_libc_vm_result(TERN_LIBC_VM_ALLOCATE, buffer);
        int64_t size = tern_libc_bootfs_list(server_path, (char*)(uintptr_t)buffer, kListingBytes);
        if (size < 0) {
            (void)tern_sys_vm_free((uint64_t)buffer, kListingBytes);
            return (long)size;
        }
        file->data = (const char*)(uintptr_t)buffer;
        /* "/" lists "tmp" and "home", which are other servers' and not in bootfs. */
        file->size = tern_libc_add_mount_points(mounts(), path, (char*)(uintptr_t)buffer,
                                                (uint64_t)size, kListingBytes);
        file->map_address = (uint64_t)buffer;
        file->map_size = kListingBytes;
        return 0;
    }
    struct tern_libc_bootfs_mapping mapping;
    long r = tern_libc_bootfs_map(server_path, &mapping);
    if (r != 0)
        return r;
    file->data = mapping.data;
    file->size = mapping.size;
    file->map_address = mapping.map_address;
    file->map_size = mapping.map_size;
    file->map_offset = mapping.map_offset;
    file->memory = mapping.memory;
    file->mode = mapping.mode;
    return 0;
}

long tern_libc_bootfs_reopen(struct tern_libc_file* file) {
    static char server_path[TERN_LIBC_PATH_BUFFER];
    int mount = tern_libc_mount_find(mounts(), file->path);
    if (mount < 0)
        return mount;
    long r =
        tern_libc_mount_server_path(mounts(), mount, file->path, server_path, sizeof(server_path));
    if (r != 0)
        return r;
    return fill_bootfs(file, file->path, server_path, file->kind == TERN_LIBC_FD_DIRECTORY);
}

/* Opens a bootfs file or directory that p found. */
static long open_bootfs(struct place* p, long flags) {
    long r = tern_libc_open_check_flags(flags);
    if (r != 0)
        return r;
    if (p->error != 0)
        return p->error;
    r = tern_libc_open_check_type(flags, (int)p->node.is_directory, p->must_be_directory);
    if (r != 0)
        return r;
    int fd = tern_libc_fd_allocate(tern_libc_fds(), p->node.is_directory ? TERN_LIBC_FD_DIRECTORY
                                                                         : TERN_LIBC_FD_FILE);
    if (fd < 0)
        return fd;
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    r = fill_bootfs(file, p->path, p->server_path, (int)p->node.is_directory);
    if (r != 0) {
        tern_libc_fd_release(tern_libc_fds(), fd);
        return r;
    }
    if (p->node.is_directory)
        file->mode = p->node.mode;
    return fd;
}

/* Opens a device (index): it exists, so O_CREAT | O_EXCL is EEXIST and O_DIRECTORY
 * ENOTDIR. */
static long open_null(long flags, int device) {
    if ((flags & O_CREAT) && (flags & O_EXCL))
        return -EEXIST;
    long r = tern_libc_open_check_type(flags, 0, 0);
    if (r != 0)
        return r;
    long fd = tern_libc_fd_allocate(tern_libc_fds(), TERN_LIBC_FD_NULL);
    if (fd >= 0)
        tern_libc_fd_get(tern_libc_fds(), fd)->inode = (uint64_t)device;
    return fd;
}

/* Opens (or makes) a file server's file or directory. */
static long open_node(struct place* p, long flags, long mode) {
    long access = flags & O_ACCMODE;
    /* O_TMPFILE needs write access (EINVAL, as Linux checks first); tmpfs has no unnamed
     * files. */
    if ((flags & TERN_LINUX_O_TMPFILE_ONLY) && access == O_RDONLY)
        return -EINVAL;
    if (flags & TERN_LINUX_O_TMPFILE_ONLY)
        return -EOPNOTSUPP;
    if (p->error == 0 && is_link_mode(p->mode)) /* not followed: O_NOFOLLOW or O_EXCL */
        return (flags & O_CREAT) && (flags & O_EXCL) ? -EEXIST : -ELOOP;
    if (p->error == 0) {
        if ((flags & O_CREAT) && (flags & O_EXCL))
            return -EEXIST;
        if (is_directory_mode(p->mode)) {
            if (access != O_RDONLY || (flags & (O_TRUNC | O_CREAT)))
                return -EISDIR;
        } else if ((flags & O_DIRECTORY) || p->must_be_directory) {
            return -ENOTDIR;
        }
        if ((flags & O_TRUNC) && !is_directory_mode(p->mode) && p->attr.size > 0) {
            long r = tern_libc_fs_truncate(p->server, p->attr.inode, 0);
            if (r != 0)
                return r;
        }
    } else {
        if (p->error != -ENOENT || !(flags & O_CREAT))
            return p->error;
        if (p->must_be_directory)
            return -EISDIR;
        if (flags & O_DIRECTORY)
            return -EINVAL;
        uint32_t permissions = (uint32_t)mode & 07777 & ~g_umask;
        long r = tern_libc_fs_open(p->server, p->server_path, TERN_LIBC_FS_CREATE, permissions,
                                   &p->attr);
        if (r != 0)
            return r;
        p->mode = p->attr.mode;
    }
    int fd = tern_libc_fd_allocate(
        tern_libc_fds(), is_directory_mode(p->mode) ? TERN_LIBC_FD_DIRECTORY : TERN_LIBC_FD_FILE);
    if (fd < 0)
        return fd;
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    file->inode = p->attr.inode;
    file->mode = p->mode & 07777;
    return fd;
}

static long sys_openat(long dirfd, const char* path, long flags, long mode) {
    if ((flags & O_ACCMODE) == O_ACCMODE)
        return -EINVAL;
    struct place* p = &g_place_a;
    /* A final link is followed unless O_NOFOLLOW, or O_CREAT | O_EXCL (which must make
     * the name itself). */
    int follow = !(flags & O_NOFOLLOW) && !((flags & O_CREAT) && (flags & O_EXCL));
    long r = resolve(dirfd, path, follow, p);
    if (r != 0)
        return r;
    long fd = p->null_device                         ? open_null(flags, p->null_device - 1)
              : p->server == TERN_LIBC_SERVER_BOOTFS ? open_bootfs(p, flags)
                                                     : open_node(p, flags, mode);
    if (fd < 0)
        return fd;
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    file->flags = (uint32_t)flags & ~(uint32_t)(O_CLOEXEC | O_CREAT | O_EXCL | O_TRUNC);
    file->server = p->server;
    file->device = (uint32_t)p->mount + 1;
    if (flags & O_CLOEXEC)
        (void)tern_libc_fd_set_flags(tern_libc_fds(), fd, FD_CLOEXEC);
    copy_path(file->path, p->path);
    return fd;
}

static int on_file_server(const struct tern_libc_file* file) {
    return file->server != TERN_LIBC_SERVER_BOOTFS;
}

static int node_open_here(uint32_t server, uint64_t inode, const struct tern_libc_file* except);

/* ---- Descriptions shared with other processes (portable/shared_file.h) ---- */

/* How long a wait for another process's hold on a shared description sleeps before it
 * asks proc whether that process still exists. */
static const uint64_t kSharedFileWaitNs = 50000000;

static int shareable(const struct tern_libc_file* file) {
    return file->kind == TERN_LIBC_FD_FILE || file->kind == TERN_LIBC_FD_DIRECTORY
           || file->kind == TERN_LIBC_FD_SOCKET;
}

uint32_t tern_libc_file_status(struct tern_libc_file* file) {
    if (file->shared)
        file->flags = tern_libc_shared_file_flags(file->shared, file->flags);
    return file->flags;
}

/* Before a call reads or moves a description's offset or reads or sets its status
 * flags: when another process holds the description too, takes its lock and brings the
 * offset and flags into file. What it returns goes to file_leave. */
static int file_enter(struct tern_libc_file* file) {
    struct tern_libc_shared_file* shared = file->shared;
    if (!shared)
        return TERN_LIBC_SHARED_BUSY;
    uint64_t self = tern_libc_startup_pid();
    int r = tern_libc_shared_file_try_lock(shared, self, 0);
    while (r == TERN_LIBC_SHARED_BUSY) {
        r = tern_libc_shared_file_try_lock(shared, self, 1);
        if (r != TERN_LIBC_SHARED_BUSY)
            break;
        int64_t w = tern_sys_futex_wait((uint64_t)(uintptr_t)&shared->lock, 2, kSharedFileWaitNs,
                                        TERN_FUTEX_SHARED);
        if (w != -TERN_TIMED_OUT)
            continue;
        /* A holder killed in the middle of a call never lets go: once proc says it has
         * ended (a zombie its parent has not reaped, which may be this very process,
         * counts), its hold is taken over. */
        uint64_t owner = __atomic_load_n(&shared->owner, __ATOMIC_ACQUIRE);
        if (owner != 0 && owner != self && tern_libc_proc_ended(owner)
            && tern_libc_shared_file_take_over(shared, owner, self)) {
            static const char line[] =
                "libc: took over a shared file offset an ended process held\n";
            (void)tern_sys_debug_write((uint64_t)(uintptr_t)line, sizeof(line) - 1);
            r = TERN_LIBC_SHARED_TAKEN;
        }
    }
    file->position = shared->position;
    file->flags = tern_libc_shared_file_flags(shared, file->flags);
    return r;
}

/* After such a call: stores the offset and flags back and lets the lock go. */
static void file_leave(struct tern_libc_file* file, int token) {
    struct tern_libc_shared_file* shared = file->shared;
    if (!shared || token == TERN_LIBC_SHARED_BUSY)
        return;
    tern_libc_shared_file_store(shared, file->position, file->flags);
    if (tern_libc_shared_file_unlock(shared, token))
        (void)tern_sys_futex_wake((uint64_t)(uintptr_t)&shared->lock, 1, TERN_FUTEX_SHARED);
}

/* Moves a file's or directory's offset and status flags into a page of their own that
 * another process can map (once; 0 when done or not a file). */
long tern_libc_file_share(struct tern_libc_file* file) {
    if (file->shared || !shareable(file))
        return 0;
    struct tern_libc_shared_memory memory;
    long r = tern_libc_memory_share(TERN_LIBC_SHARED_FILE_SIZE, &memory);
    if (r != 0)
        return r;
    file->shared = (struct tern_libc_shared_file*)(uintptr_t)memory.address;
    file->shared_memory = memory.handle;
    tern_libc_shared_file_init(file->shared, file->position, file->flags, 1);
    return 0;
}

/* Counts one more (delta 1) or one fewer (-1) process holding file, shared. */
void tern_libc_file_hold(struct tern_libc_file* file, int delta) {
    if (file->shared)
        (void)tern_libc_shared_file_hold(file->shared, delta);
}

void tern_libc_files_fork_prepare(void) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        struct tern_libc_file* file = &table->files[i];
        if (!(used >> i & 1) || file->references == 0 || !shareable(file))
            continue;
        /* Without a page the child's copy goes its own way, as before sharing. */
        if (tern_libc_file_share(file) != 0) {
            static const char line[] =
                "libc: a file offset stays unshared after fork (no memory)\n";
            (void)tern_sys_debug_write((uint64_t)(uintptr_t)line, sizeof(line) - 1);
            continue;
        }
        tern_libc_file_hold(file, 1);
    }
}

void tern_libc_files_fork_undo(void) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i)
        if ((used >> i & 1) && table->files[i].references != 0)
            tern_libc_file_hold(&table->files[i], -1);
}

long tern_libc_file_shared_map(struct tern_libc_file* file) {
    if (file->shared_memory == 0)
        return 0;
    int64_t at =
        tern_sys_vm_map_memory(tern_libc_self_task(), file->shared_memory, 0, 0,
                               TERN_LIBC_SHARED_FILE_SIZE, TERN_PROT_READ | TERN_PROT_WRITE);
    if (at < 0) {
        (void)tern_sys_handle_close(file->shared_memory);
        file->shared_memory = 0;
        return -ENOMEM;
    }
    file->shared = (struct tern_libc_shared_file*)(uintptr_t)at;
    /* The offset the old image last saw; the page has the one every holder sees. */
    file->position = file->shared->position;
    file->flags = tern_libc_shared_file_flags(file->shared, file->flags);
    return 0;
}

/* The process lets go of a shared description: 1 when it was the last holding it. */
static int file_unshare(struct tern_libc_file* file) {
    if (!file->shared)
        return 1;
    int last = tern_libc_shared_file_hold(file->shared, -1) == 0;
    struct tern_libc_shared_memory memory = {(uint64_t)(uintptr_t)file->shared,
                                             TERN_LIBC_SHARED_FILE_SIZE, file->shared_memory};
    tern_libc_memory_unshare(&memory);
    file->shared = 0;
    file->shared_memory = 0;
    return last;
}

/* Releases what a description holds once its last descriptor is closed. */
static void release_description(struct tern_libc_file* file) {
    int last_holder = file_unshare(file);
    if (file->lock_owner != 0 && last_holder
        && (file->kind == TERN_LIBC_FD_FILE || file->kind == TERN_LIBC_FD_DIRECTORY)
        && on_file_server(file))
        (void)tern_libc_fs_release_locks(file->server, file->inode, 0, file->lock_owner);
    switch (file->kind) {
    case TERN_LIBC_FD_SOCKET:
        tern_libc_socket_close(file);
        break;
    case TERN_LIBC_FD_DIRECTORY:
        if (!on_file_server(file))
            (void)tern_sys_vm_free(file->map_address, file->map_size);
        break;
    case TERN_LIBC_FD_FILE:
        /* A file server's file holds nothing: the server keeps no state per client. One
         * unlinked while open goes with its last description. */
        if (!on_file_server(file))
            tern_libc_bootfs_unmap(file->map_address, file->map_size, file->memory);
        else if (file->unlinked && last_holder && !node_open_here(file->server, file->inode, file))
            (void)tern_libc_fs_unlink(file->server, file->path);
        break;
    case TERN_LIBC_FD_PIPE_READ:
    case TERN_LIBC_FD_PIPE_WRITE:
        tern_libc_pipe_close(file);
        break;
    case TERN_LIBC_FD_MQUEUE:
        tern_libc_mq_release(file);
        break;
    default:
        break; /* the console holds nothing of its own */
    }
    tern_libc_file_free(file);
}

/* Set once this process has set a lock: each close of a file server's file then tells the
 * server to drop the process's locks on it (POSIX: closing any descriptor of the file). */
static int g_holds_locks;

/* A descriptor of the file is being closed: the process's record locks on it go. */
static void drop_locks(const struct tern_libc_file* file) {
    if (g_holds_locks && (file->kind == TERN_LIBC_FD_FILE || file->kind == TERN_LIBC_FD_DIRECTORY)
        && on_file_server(file))
        (void)tern_libc_fs_release_locks(file->server, file->inode, (uint32_t)tern_libc_pid(), 0);
}

static long sys_close(long fd) {
    struct tern_libc_file* file = tern_libc_fd_lookup(tern_libc_fds(), fd);
    if (!file)
        return -EBADF;
    drop_locks(file);
    struct tern_libc_file* last = tern_libc_fd_release(tern_libc_fds(), fd);
    if (last)
        release_description(last);
    return 0;
}

/* At exit every descriptor is closed, as Linux does: above all, a pipe end held by this
 * process stops counting, so the process at the other end sees end of file or EPIPE. */
static void close_all(void) {
    if (!g_files.initialised)
        return;
    for (long fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd)
        if (tern_libc_fd_lookup(tern_libc_fds(), fd))
            (void)sys_close(fd);
}

static long sys_dup(long fd) { return tern_libc_fd_dup_from(tern_libc_fds(), fd, 0, 0); }

static long sys_dup3(long fd, long target, long flags) {
    /* The descriptor dup2 replaces is closed, and with it go the process's locks on its
     * file, as on Linux. */
    struct tern_libc_file* replaced = fd != target && tern_libc_fd_lookup(tern_libc_fds(), fd)
                                          ? tern_libc_fd_lookup(tern_libc_fds(), target)
                                          : 0;
    if (replaced)
        drop_locks(replaced);
    struct tern_libc_file* displaced = 0;
    long r = tern_libc_fd_dup_to(tern_libc_fds(), fd, target, flags, &displaced);
    if (displaced)
        release_description(displaced);
    return r;
}

/* Copies what a read of length bytes at position gets from a file into data: from the
 * mapping of a bootfs file, from the server for the others. */
static long file_copy(const struct tern_libc_file* file, uint64_t position, void* data,
                      size_t length) {
    if (on_file_server(file)) {
        if (length == 0)
            return 0;
        return (long)tern_libc_fs_read(file->server, file->inode, position, data, length);
    }
    uint64_t n = tern_libc_read_count(position, file->size, length);
    if (n > 0 && tern_libc_copy_out(data, file->data + position, n) != 0)
        return -EFAULT;
    return (long)n;
}

static int is_pipe(const struct tern_libc_file* file) {
    return file->kind == TERN_LIBC_FD_PIPE_READ || file->kind == TERN_LIBC_FD_PIPE_WRITE;
}

/* The file fd names for reading: EBADF for none or one open only for writing, EISDIR for
 * a directory. */
static long readable_file(long fd, struct tern_libc_file** out) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return -EBADF;
    if (file->kind == TERN_LIBC_FD_DIRECTORY)
        return -EISDIR;
    if (file->kind == TERN_LIBC_FD_SOCKET || is_pipe(file))
        return -ESPIPE; /* pread and preadv; read and readv take these first */
    if ((file->flags & O_ACCMODE) == O_WRONLY)
        return -EBADF;
    *out = file;
    return 0;
}

/* The file fd names for writing: EBADF for none or one not open for writing. */
static long writable_file(long fd, struct tern_libc_file** out) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file || file->kind != TERN_LIBC_FD_FILE || (file->flags & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    *out = file;
    return 0;
}

/* Writes to a file server's file at its position (or its end with O_APPEND). */
static long file_write(struct tern_libc_file* file, const void* data, size_t length) {
    if (length == 0)
        return 0;
    uint64_t end = 0;
    int64_t n = tern_libc_fs_write(file->server, file->inode, file->position, data, length,
                                   (file->flags & O_APPEND) != 0, &end);
    if (n > 0)
        file->position = end;
    return (long)n;
}

/* The end lseek counts from: a directory's entry count, a file's size. */
static long seek_end(struct tern_libc_file* file, uint64_t* end) {
    if (!on_file_server(file)) {
        *end = file->kind == TERN_LIBC_FD_DIRECTORY
                   ? tern_libc_listing_entries(file->data, file->size)
                   : file->size;
        return 0;
    }
    struct tern_libc_file_attr attr;
    long r = tern_libc_fs_getattr(file->server, file->inode, &attr);
    if (r != 0)
        return r;
    *end = file->kind == TERN_LIBC_FD_DIRECTORY ? attr.size + 2 : attr.size;
    return 0;
}

static long sys_lseek(long fd, long offset, long whence) {
    if (is_console_fd(fd))
        return -ESPIPE;
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return -EBADF;
    if (file->kind == TERN_LIBC_FD_SOCKET || is_pipe(file))
        return -ESPIPE;
    if (file->kind == TERN_LIBC_FD_NULL)
        return 0; /* as Linux: every seek of /dev/null lands at 0 */
    /* A directory's offsets count entries (seekdir and rewinddir use them). */
    uint64_t end = 0;
    if (whence == SEEK_END) {
        long r = seek_end(file, &end);
        if (r != 0)
            return r;
    }
    uint64_t position = 0;
    int token = file_enter(file);
    long r = tern_libc_lseek(file->position, end, offset, whence, &position);
    if (r == 0)
        file->position = position;
    file_leave(file, token);
    return r != 0 ? r : (long)position;
}

/* Entries of a file server's directory: "." and "..", then the server's List from index
 * position - 2. */
static long node_dirents(struct tern_libc_file* file, void* buffer, size_t size) {
    static uint64_t listing[TERN_LIBC_FS_LIST_BYTES / 8];
    uint64_t used = 0;
    while (file->position < 2) {
        const char* name = file->position == 0 ? "." : "..";
        uint64_t inode = file->inode; /* ".." of a mount's root is shown as itself */
        if (!tern_libc_put_dirent(buffer, size, &used, inode, file->position + 1, S_IFDIR, name,
                                  (uint32_t)strlen(name)))
            return used > 0 ? (long)used : -EINVAL;
        ++file->position;
    }
    for (;;) {
        uint64_t next = 0;
        int done = 0;
        int64_t n =
            tern_libc_fs_list(file->server, file->inode, file->position - 2, listing, &next, &done);
        if (n < 0)
            return used > 0 ? (long)used : (long)n;
        uint64_t at = 0;
        uint64_t inode = 0;
        uint32_t mode = 0, name_length = 0;
        const char* name = 0;
        int got = 0;
        while ((got = tern_libc_list_entry(listing, (uint64_t)n, &at, &inode, &mode, &name,
                                           &name_length))
               == 1) {
            if (!tern_libc_put_dirent(buffer, size, &used, inode, file->position + 1, mode, name,
                                      name_length))
                return used > 0 ? (long)used : -EINVAL;
            ++file->position;
        }
        if (got < 0)
            return used > 0 ? (long)used : got;
        if (done || n == 0)
            return (long)used;
    }
}

static long sys_getdents64(long fd, void* buffer, size_t size) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return is_console_fd(fd) ? -ENOTDIR : -EBADF;
    if (file->kind != TERN_LIBC_FD_DIRECTORY)
        return -ENOTDIR;
    int token = file_enter(file);
    long r = on_file_server(file) ? node_dirents(file, buffer, size)
                                  : (long)tern_libc_fill_dirents(file->data, file->size, file->path,
                                                                 &file->position, buffer, size);
    file_leave(file, token);
    return r;
}

static long fill_stat(struct stat* st, enum tern_libc_node_type type, uint32_t mode, uint64_t size,
                      const char* path) {
    tern_libc_fill_stat((struct tern_linux_stat*)st, type, mode, size,
                        path ? tern_libc_path_inode(path) : 0);
    return 0;
}

static long fill_stat_attr(struct stat* st, uint32_t device,
                           const struct tern_libc_file_attr* attr) {
    tern_libc_fill_stat_node((struct tern_linux_stat*)st, device, attr->inode, attr->mode,
                             attr->size, attr->nlink, attr->uid, attr->gid, attr->atime_ns,
                             attr->mtime_ns, attr->ctime_ns);
    return 0;
}

static long fstat_into(long fd, struct stat* st) {
    /* The console is a character device; isatty() asks ioctl, not this. */
    if (is_console_fd(fd))
        return fill_stat(st, TERN_LIBC_NODE_CONSOLE, 0620, 0, 0);
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return -EBADF;
    if (file->kind == TERN_LIBC_FD_SOCKET)
        return fill_stat(st, TERN_LIBC_NODE_SOCKET, 0777, 0, 0);
    if (is_pipe(file))
        return fill_stat(st, TERN_LIBC_NODE_PIPE, 0600, 0, 0);
    if (file->kind == TERN_LIBC_FD_NULL)
        return device_stat(st, file->inode);
    if (on_file_server(file)) {
        struct tern_libc_file_attr attr;
        long r = tern_libc_fs_getattr(file->server, file->inode, &attr);
        if (r != 0)
            return r;
        return fill_stat_attr(st, file->device, &attr);
    }
    if (file->kind == TERN_LIBC_FD_DIRECTORY)
        return fill_stat(st, TERN_LIBC_NODE_DIRECTORY, file->mode, 0, file->path);
    return fill_stat(st, TERN_LIBC_NODE_FILE, file->mode, file->size, file->path);
}

/* fstat: filled here, then copied out (a bad buffer is EFAULT). */
static long sys_fstat(long fd, struct stat* user_st) {
    struct stat st;
    long r = fstat_into(fd, &st);
    if (r == 0 && tern_libc_copy_out(user_st, &st, sizeof(st)) != 0)
        return -EFAULT;
    return r;
}

static long fstatat_into(long dirfd, const char* path, struct stat* st, long flags);

static long sys_fstatat(long dirfd, const char* path, struct stat* user_st, long flags) {
    struct stat st;
    long r = fstatat_into(dirfd, path, &st, flags);
    if (r == 0 && tern_libc_copy_out(user_st, &st, sizeof(st)) != 0)
        return -EFAULT;
    return r;
}

static long fstatat_into(long dirfd, const char* path, struct stat* st, long flags) {
    /* fstat(fd) arrives as fstatat(fd, "", st, AT_EMPTY_PATH) when SYS_fstat failed. */
    char first = 0;
    if ((flags & AT_EMPTY_PATH) && tern_libc_copy_in(&first, path, 1) != 0)
        return -EFAULT;
    if ((flags & AT_EMPTY_PATH) && first == '\0')
        return fstat_into(dirfd, st);
    struct place* p = &g_place_a;
    long r = resolve_found(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), p);
    if (r != 0)
        return r;
    if (p->null_device)
        return device_stat(st, (uint64_t)p->null_device - 1);
    if (p->server != TERN_LIBC_SERVER_BOOTFS)
        return fill_stat_attr(st, (uint32_t)p->mount + 1, &p->attr);
    return fill_stat(st, p->node.is_directory ? TERN_LIBC_NODE_DIRECTORY : TERN_LIBC_NODE_FILE,
                     p->node.mode, p->node.is_directory ? 0 : p->node.size, p->path);
}

static long sys_faccessat(long dirfd, const char* path, long amode) {
    if (amode & ~(long)(R_OK | W_OK | X_OK))
        return -EINVAL;
    struct place* p = &g_place_a;
    long r = resolve_found(dirfd, path, 1, p);
    if (r != 0)
        return r;
    if (p->null_device)
        return tern_libc_access_check(0666, 0, amode & ~W_OK); /* writable: W_OK holds */
    if (p->read_only)
        return tern_libc_access_check(p->node.mode, (int)p->node.is_directory, amode);
    /* Writable: the program runs as root, so W_OK holds; R_OK and X_OK as on bootfs. */
    return tern_libc_access_check(p->mode & 07777, is_directory_mode(p->mode), amode & ~W_OK);
}

static long sys_getcwd(char* buffer, size_t size) {
    size_t length = strlen(g_cwd) + 1;
    if (size < length)
        return -ERANGE;
    memcpy(buffer, g_cwd, length);
    return (long)length; /* Linux returns the length with the NUL */
}

static long sys_chdir(const char* path) {
    struct place* p = &g_place_a;
    long r = resolve_found(AT_FDCWD, path, 1, p);
    if (r != 0)
        return r;
    if (!is_directory_mode(p->mode))
        return -ENOTDIR;
    copy_path(g_cwd, p->path);
    return 0;
}

static long sys_fchdir(long fd) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return is_console_fd(fd) ? -ENOTDIR : -EBADF;
    if (file->kind != TERN_LIBC_FD_DIRECTORY)
        return -ENOTDIR;
    copy_path(g_cwd, file->path);
    return 0;
}

static long sys_umask(long mask) {
    long old = (long)g_umask;
    g_umask = (unsigned)mask & 0777;
    return old;
}

/* The error a change to a read-only file system gets: what the lookup found wrong, or
 * EROFS. */
static long read_only_error(const struct place* p, int must_exist) {
    if (must_exist && p->error != 0)
        return p->error;
    return -EROFS;
}

static long sys_mkdirat(long dirfd, const char* path, long mode) {
    struct place* p = &g_place_a;
    long r = resolve(dirfd, path, 0, p);
    if (r != 0)
        return r;
    if (p->error == 0)
        return -EEXIST;
    if (p->error != -ENOENT && p->error != -ENOTDIR)
        return p->error;
    if (p->read_only)
        return p->error == -ENOENT ? -EROFS : p->error;
    return tern_libc_fs_mkdir(p->server, p->server_path, (uint32_t)mode & 07777 & ~g_umask);
}

static long sys_rmdir_at(long dirfd, const char* path) {
    struct place* p = &g_place_a;
    long r = resolve(dirfd, path, 0, p);
    if (r != 0)
        return r;
    if (p->read_only)
        return read_only_error(p, 1);
    if (p->error != 0)
        return p->error;
    if (!is_directory_mode(p->mode))
        return -ENOTDIR;
    if (is_mount_point(p))
        return -EBUSY;
    return tern_libc_fs_rmdir(p->server, p->server_path);
}

/* The descriptions of this process open on a file server's node. */
static int node_open_here(uint32_t server, uint64_t inode, const struct tern_libc_file* except) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        const struct tern_libc_file* f = &table->files[i];
        if (f != except && f->kind == TERN_LIBC_FD_FILE && f->server == server && f->inode == inode)
            return 1;
    }
    return 0;
}

/* Unlinking a file this process has open: the server keeps nothing per client, so
 * instead of removing it the library renames it to a hidden name in the same directory,
 * ".tern-unlinked-<node>", and removes that when the last description on it closes (as
 * NFS clients do). Its descriptors go on working; the name shows in readdir until then. */
static long unlink_open_file(struct place* p) {
    char* hidden = g_link_path;
    size_t length = strlen(p->server_path);
    while (length > 0 && p->server_path[length - 1] != '/')
        --length;
    if (length + 40 > sizeof(g_link_path))
        return -ENAMETOOLONG;
    memcpy(hidden, p->server_path, length);
    size_t at = length;
    const char* stem = ".tern-unlinked-";
    memcpy(hidden + at, stem, strlen(stem));
    at += strlen(stem);
    char digits[24];
    size_t n = 0;
    uint64_t inode = p->attr.inode;
    do {
        digits[n++] = (char)('0' + inode % 10);
        inode /= 10;
    } while (inode != 0);
    while (n > 0)
        hidden[at++] = digits[--n];
    hidden[at] = '\0';
    long r = tern_libc_fs_rename(p->server, p->server_path, hidden);
    if (r != 0)
        return r;
    struct tern_libc_fd_table* table = tern_libc_fds();
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        struct tern_libc_file* f = &table->files[i];
        if (f->kind == TERN_LIBC_FD_FILE && f->server == p->server && f->inode == p->attr.inode) {
            f->unlinked = 1;
            copy_path(f->path, hidden);
        }
    }
    return 0;
}

static long sys_unlinkat(long dirfd, const char* path, long flags) {
    if (flags & ~(long)AT_REMOVEDIR)
        return -EINVAL;
    if (flags & AT_REMOVEDIR)
        return sys_rmdir_at(dirfd, path);
    struct place* p = &g_place_a;
    long r = resolve(dirfd, path, 0, p);
    if (r != 0)
        return r;
    if (p->error == 0 && is_directory_mode(p->mode))
        return -EISDIR;
    if (p->read_only)
        return read_only_error(p, 1);
    if (p->error != 0)
        return p->error;
    if (!is_link_mode(p->mode) && node_open_here(p->server, p->attr.inode, 0))
        return unlink_open_file(p);
    return tern_libc_fs_unlink(p->server, p->server_path);
}

static long sys_renameat2(long old_dirfd, const char* old_path, long new_dirfd,
                          const char* new_path, long flags) {
    if (flags != 0)
        return -EINVAL; /* RENAME_NOREPLACE, RENAME_EXCHANGE: not yet */
    struct place* from = &g_place_a;
    struct place* to = &g_place_b;
    long r = resolve(old_dirfd, old_path, 0, from);
    if (r != 0)
        return r;
    r = resolve(new_dirfd, new_path, 0, to);
    if (r != 0)
        return r;
    if (from->error != 0)
        return from->error;
    if (from->mount != to->mount)
        return -EXDEV;
    if (from->read_only)
        return -EROFS;
    if (is_mount_point(from) || is_mount_point(to))
        return -EBUSY;
    return tern_libc_fs_rename(from->server, from->server_path, to->server_path);
}

long tern_libc_link(long old_dirfd, const char* old_path, long new_dirfd, const char* new_path,
                    int follow) {
    struct place* from = &g_place_a;
    struct place* to = &g_place_b;
    long r = resolve(old_dirfd, old_path, follow, from);
    if (r != 0)
        return r;
    if (from->error != 0)
        return from->error;
    r = resolve(new_dirfd, new_path, 0, to);
    if (r != 0)
        return r;
    if (to->error == 0)
        return -EEXIST;
    if (to->error != -ENOENT)
        return to->error;
    if (from->mount != to->mount)
        return -EXDEV;
    if (from->read_only)
        return -EROFS;
    return tern_libc_fs_link(from->server, from->server_path, to->server_path);
}

static long sys_symlinkat(const char* target, long dirfd, const char* path) {
    size_t length = strnlen(target, TERN_LINUX_PATH_MAX);
    if (length == 0)
        return -ENOENT;
    if (length >= TERN_LINUX_PATH_MAX)
        return -ENAMETOOLONG;
    struct place* p = &g_place_a;
    long r = resolve(dirfd, path, 0, p);
    if (r != 0)
        return r;
    if (p->error == 0)
        return -EEXIST;
    if (p->read_only)
        return p->error == -ENOENT ? -EROFS : p->error;
    if (p->error != -ENOENT)
        return p->error;
    return tern_libc_fs_symlink(p->server, target, p->server_path);
}

static long sys_readlinkat(long dirfd, const char* path, char* buffer, long size) {
    if (size <= 0)
        return -EINVAL;
    struct place* p = &g_place_a;
    long r = resolve_found(dirfd, path, 0, p);
    if (r != 0)
        return r;
    if (!is_link_mode(p->mode))
        return -EINVAL;
    return (long)tern_libc_fs_readlink(p->server, p->server_path, buffer, (uint64_t)size);
}

static long sys_truncate(const char* path, long length) {
    if (length < 0)
        return -EINVAL;
    struct place* p = &g_place_a;
    long r = resolve_found(AT_FDCWD, path, 1, p);
    if (r != 0)
        return r;
    if (is_directory_mode(p->mode))
        return -EISDIR;
    if (p->read_only)
        return -EROFS;
    return tern_libc_fs_truncate(p->server, p->attr.inode, (uint64_t)length);
}

static long sys_ftruncate(long fd, long length) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return is_console_fd(fd) ? -EINVAL : -EBADF;
    if (length < 0 || file->kind != TERN_LIBC_FD_FILE || (file->flags & O_ACCMODE) == O_RDONLY)
        return -EINVAL;
    return tern_libc_fs_truncate(file->server, file->inode, (uint64_t)length);
}

static long sys_fsync(long fd) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return is_console_fd(fd) ? -EINVAL : -EBADF;
    /* A file server holds every write the moment it answers: there is nothing to flush. */
    if (file->kind == TERN_LIBC_FD_FILE || file->kind == TERN_LIBC_FD_DIRECTORY)
        return 0;
    return -EINVAL;
}

static long sys_fchmodat(long dirfd, const char* path, long mode, long flags) {
    if (flags & ~(long)AT_SYMLINK_NOFOLLOW)
        return -EINVAL;
    if (flags & AT_SYMLINK_NOFOLLOW)
        return -EOPNOTSUPP; /* as Linux: a link's own mode cannot change */
    struct place* p = &g_place_a;
    long r = resolve_found(dirfd, path, 1, p);
    if (r != 0)
        return r;
    if (p->read_only)
        return -EROFS;
    return tern_libc_fs_chmod(p->server, p->attr.inode, (uint32_t)mode & 07777);
}

static long sys_fchmod(long fd, long mode) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return is_console_fd(fd) ? -EPERM : -EBADF;
    if (file->kind != TERN_LIBC_FD_FILE && file->kind != TERN_LIBC_FD_DIRECTORY)
        return -EINVAL;
    if (!on_file_server(file))
        return -EROFS;
    return tern_libc_fs_chmod(file->server, file->inode, (uint32_t)mode & 07777);
}

/* Linux's magic numbers (f_type) for the two kinds of file system. */
enum {
    kTmpfsMagic = 0x01021994,
    kRamfsMagic = (int)0x858458f6,
};

static long fill_statfs(struct statfs* out, uint32_t server, uint32_t device) {
    memset(out, 0, sizeof(*out));
    out->f_namelen = TERN_LINUX_NAME_MAX;
    out->f_fsid.__val[0] = (int)device;
    if (server == TERN_LIBC_SERVER_BOOTFS) {
        /* The archive: read-only and full. */
        out->f_type = kRamfsMagic;
        out->f_bsize = TERN_LIBC_BLOCK_SIZE;
        out->f_frsize = TERN_LIBC_BLOCK_SIZE;
        out->f_flags = ST_RDONLY;
        return 0;
    }
    struct tern_libc_file_statfs fs;
    long r = tern_libc_fs_statfs(server, &fs);
    if (r != 0)
        return r;
    uint64_t block = fs.block_size ? fs.block_size : TERN_LIBC_BLOCK_SIZE;
    out->f_type = kTmpfsMagic;
    out->f_bsize = (long)block;
    out->f_frsize = (long)block;
    out->f_blocks = fs.total_bytes / block;
    out->f_bfree = fs.free_bytes / block;
    out->f_bavail = fs.free_bytes / block;
    out->f_files = fs.total_nodes;
    out->f_ffree = fs.free_nodes;
    out->f_namelen = (long)fs.name_max;
    return 0;
}

static long sys_statfs(const char* path, struct statfs* out) {
    struct place* p = &g_place_a;
    long r = resolve_found(AT_FDCWD, path, 1, p);
    if (r != 0)
        return r;
    return fill_statfs(out, p->server, (uint32_t)p->mount + 1);
}

static long sys_fstatfs(long fd, struct statfs* out) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file)
        return is_console_fd(fd) ? -ENOSYS : -EBADF;
    if (file->kind != TERN_LIBC_FD_FILE && file->kind != TERN_LIBC_FD_DIRECTORY)
        return -ENOSYS;
    return fill_statfs(out, file->server, file->device);
}

/* ---- Reading and writing --------------------------------------------------------------- */

/* A read (write 0) or write of length bytes at data on a device (kDevices): EBADF where
 * the descriptor's access mode does not allow the direction. */
static long null_io(const struct tern_libc_file* file, int write, void* data, size_t length) {
    static const char zeros[16384];
    long access = file->flags & O_ACCMODE;
    if (write ? access == O_RDONLY : access == O_WRONLY)
        return -EBADF;
    uint64_t device = file->inode;
    if (write)
        return device == kDevFull && length > 0 ? -ENOSPC : (long)length;
    if (device == kDevRandom || device == kDevUrandom) {
        int handled = 0;
        return tern_libc_system_syscall(SYS_getrandom, (long)data, (long)length, 0, &handled);
    }
    if (device != kDevZero && device != kDevFull)
        return 0;
    /* Linux reads at most INT_MAX bytes at once. */
    size_t total = length > 0x7ffff000u ? 0x7ffff000u : length;
    size_t done = 0;
    while (done < total) {
        size_t n = total - done < sizeof(zeros) ? total - done : sizeof(zeros);
        if (tern_libc_copy_out((char*)data + done, zeros, n) != 0)
            return done > 0 ? (long)done : -EFAULT;
        done += n;
    }
    return (long)done;
}

/* 1 when fd is open on /dev/null. */
static int is_null_fd(long fd) {
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    return file && file->kind == TERN_LIBC_FD_NULL;
}

static long sys_read(long fd, void* data, size_t length) {
    /* Like a terminal opened for reading and writing, all three descriptors read. */
    if (is_console_fd(fd)) {
        /* A read cut short by a signal (or by Ctrl-C) starts again unless a handler
         * without SA_RESTART ran. */
        uint64_t mark = tern_libc_signal_mark();
        for (;;) {
            long r = (long)tern_libc_console_read(data, length, 1);
            if (r != -EINTR || tern_libc_signal_interrupts(mark, 1))
                return r;
        }
    }
    struct tern_libc_file* socket = tern_libc_fd_get(tern_libc_fds(), fd);
    if (socket && socket->kind == TERN_LIBC_FD_SOCKET)
        return tern_libc_socket_read(socket, data, length);
    if (socket && is_pipe(socket))
        return tern_libc_pipe_read(socket, data, length);
    if (socket && socket->kind == TERN_LIBC_FD_NULL)
        return null_io(socket, 0, data, length);
    struct tern_libc_file* file = 0;
    long r = readable_file(fd, &file);
    if (r != 0)
        return r;
    int token = file_enter(file);
    long n = file_copy(file, file->position, data, length);
    if (n > 0)
        file->position += (uint64_t)n;
    file_leave(file, token);
    return n;
}

static long sys_pread64(long fd, void* data, size_t length, long offset) {
    if (is_console_fd(fd))
        return -ESPIPE;
    if (is_null_fd(fd))
        return offset < 0 ? -EINVAL
                          : null_io(tern_libc_fd_get(tern_libc_fds(), fd), 0, data, length);
    struct tern_libc_file* file = 0;
    long r = readable_file(fd, &file);
    if (r != 0)
        return r;
    if (offset < 0)
        return -EINVAL;
    return file_copy(file, (uint64_t)offset, data, length);
}

static long sys_pwrite64(long fd, const void* data, size_t length, long offset) {
    if (is_console_fd(fd))
        return -ESPIPE;
    struct tern_libc_file* any = tern_libc_fd_get(tern_libc_fds(), fd);
    if (any && (any->kind == TERN_LIBC_FD_SOCKET || is_pipe(any)))
        return -ESPIPE;
    if (any && any->kind == TERN_LIBC_FD_NULL)
        return offset < 0 ? -EINVAL : null_io(any, 1, (void*)data, length);
    struct tern_libc_file* file = 0;
    long r = writable_file(fd, &file);
    if (r != 0)
        return r;
    if (offset < 0)
        return -EINVAL;
    if (length == 0)
        return 0;
    uint64_t end = 0;
    return (long)tern_libc_fs_write(file->server, file->inode, (uint64_t)offset, data, length, 0,
                                    &end);
}

/* The total length of an I/O vector, or -EINVAL as Linux checks it. */
static long iovec_total(const struct iovec* iov, long count) {
    if (count < 0 || count > kIovMax)
        return -EINVAL;
    size_t total = 0;
    for (long i = 0; i < count; ++i) {
        if (iov[i].iov_len > (size_t)INT64_MAX - total)
            return -EINVAL;
        total += iov[i].iov_len;
    }
    return (long)total;
}

static long sys_readv(long fd, const struct iovec* iov, long count) {
    long total = iovec_total(iov, count);
    if (total < 0)
        return total;
    if (is_console_fd(fd)) {
        /* One line at most: the first buffer waits for it, the rest take what is left. */
        size_t done = 0;
        int wait = 1;
        for (long i = 0; i < count; ++i) {
            if (iov[i].iov_len == 0)
                continue;
            int64_t r = tern_libc_console_read(iov[i].iov_base, iov[i].iov_len, wait);
            if (r < 0)
                return done > 0 ? (long)done : (long)r;
            wait = 0;
            done += (size_t)r;
            if ((size_t)r < iov[i].iov_len)
                break;
        }
        return (long)done;
    }
    struct tern_libc_file* socket = tern_libc_fd_get(tern_libc_fds(), fd);
    if (socket && (socket->kind == TERN_LIBC_FD_SOCKET || is_pipe(socket))) {
        /* One receive into the first buffer with room (recvmsg scatters). */
        for (long i = 0; i < count; ++i)
            if (iov[i].iov_len > 0)
                return is_pipe(socket)
                           ? tern_libc_pipe_read(socket, iov[i].iov_base, iov[i].iov_len)
                           : tern_libc_socket_read(socket, iov[i].iov_base, iov[i].iov_len);
        return 0;
    }
    if (socket && socket->kind == TERN_LIBC_FD_NULL) {
        size_t done = 0;
        for (long i = 0; i < count; ++i) {
            long n = null_io(socket, 0, iov[i].iov_base, iov[i].iov_len);
            if (n < 0)
                return done > 0 ? (long)done : n;
            done += (size_t)n;
            if ((size_t)n < iov[i].iov_len)
                break;
        }
        return (long)done;
    }
    struct tern_libc_file* file = 0;
    long r = readable_file(fd, &file);
    if (r != 0)
        return r;
    size_t done = 0;
    long failed = 0;
    int token = file_enter(file);
    for (long i = 0; i < count; ++i) {
        long n = file_copy(file, file->position, iov[i].iov_base, iov[i].iov_len);
        if (n < 0) {
            failed = n;
            break;
        }
        file->position += (uint64_t)n;
        done += (size_t)n;
        if ((size_t)n < iov[i].iov_len)
            break;
    }
    file_leave(file, token);
    return done == 0 && failed < 0 ? failed : (long)done;
}

static long sys_write(long fd, const char* data, size_t length) {
    /* Like a terminal opened for reading and writing, all three descriptors write. */
    if (is_console_fd(fd))
        return console_write(data, length);
    struct tern_libc_file* socket = tern_libc_fd_get(tern_libc_fds(), fd);
    if (socket && socket->kind == TERN_LIBC_FD_SOCKET)
        return tern_libc_socket_write(socket, data, length);
    if (socket && is_pipe(socket))
        return tern_libc_pipe_write(socket, data, length);
    if (socket && socket->kind == TERN_LIBC_FD_NULL)
        return null_io(socket, 1, (void*)data, length);
    /* A descriptor not open for writing is EBADF, as is none (bootfs files never are). */
    struct tern_libc_file* file = 0;
    long r = writable_file(fd, &file);
    if (r != 0)
        return r;
    int token = file_enter(file);
    r = file_write(file, data, length);
    file_leave(file, token);
    return r;
}

static long sys_writev(long fd, const struct iovec* iov, long count) {
    struct tern_libc_file* socket = tern_libc_fd_get(tern_libc_fds(), fd);
    int is_socket = socket && socket->kind == TERN_LIBC_FD_SOCKET;
    int pipe_end = socket && is_pipe(socket);
    if (socket && socket->kind == TERN_LIBC_FD_NULL) {
        long total = iovec_total(iov, count);
        return total < 0 ? total : null_io(socket, 1, 0, (size_t)total);
    }
    struct tern_libc_file* file = 0;
    if (!is_console_fd(fd) && !is_socket && !pipe_end && writable_file(fd, &file) != 0)
        return -EBADF;
    long total = iovec_total(iov, count);
    if (total < 0)
        return total;
    size_t done = 0;
    long failed = 0;
    /* A file's writes go in one after the other under one hold of a shared offset. */
    int token = file ? file_enter(file) : TERN_LIBC_SHARED_BUSY;
    for (long i = 0; i < count; ++i) {
        if (iov[i].iov_len == 0)
            continue;
        long r = is_socket  ? tern_libc_socket_write(socket, iov[i].iov_base, iov[i].iov_len)
                 : pipe_end ? tern_libc_pipe_write(socket, iov[i].iov_base, iov[i].iov_len)
                 : file     ? file_write(file, iov[i].iov_base, iov[i].iov_len)
                            : console_write(iov[i].iov_base, iov[i].iov_len);
        if (r < 0) {
            failed = r;
            break;
        }
        done += (size_t)r;
        if ((size_t)r < iov[i].iov_len)
            break;
    }
    if (file)
        file_leave(file, token);
    return done == 0 && failed < 0 ? failed : (long)done;
}

/* ---- Record locks (fcntl F_GETLK, F_SETLK, F_SETLKW) ----
 * Served by the file's server (the file protocol's Lock), owned by this process's pid.
 * Files of the boot file system and descriptors that are not files have no lock service:
 * ENOLCK. */

static long file_lock(struct tern_libc_file* file, long command, void* user) {
    struct flock fl;
    if (!user || tern_libc_copy_in(&fl, user, sizeof(fl)) != 0)
        return -EFAULT;
    if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK)
        return -EINVAL;
    if (command == F_GETLK && fl.l_type == F_UNLCK)
        return -EINVAL;
    if (command != F_GETLK) {
        uint32_t access = file->flags & TERN_LINUX_O_ACCMODE;
        if ((fl.l_type == F_RDLCK && access == O_WRONLY)
            || (fl.l_type == F_WRLCK && access == O_RDONLY))
            return -EBADF;
    }
    if ((file->kind != TERN_LIBC_FD_FILE && file->kind != TERN_LIBC_FD_DIRECTORY)
        || !on_file_server(file))
        return -ENOLCK;
    int64_t base = 0;
    switch (fl.l_whence) {
    case SEEK_SET:
        break;
    case SEEK_CUR: {
        int token = file_enter(file);
        base = (int64_t)file->position;
        file_leave(file, token);
        break;
    }
    case SEEK_END: {
        uint64_t end = 0;
        long r = seek_end(file, &end);
        if (r != 0)
            return r;
        base = (int64_t)end;
        break;
    }
    default:
        return -EINVAL;
    }
    /* As Linux: [start, start + len), or [start + len, start) for a negative len. */
    int64_t start = 0;
    if (__builtin_add_overflow(base, (int64_t)fl.l_start, &start))
        return -EOVERFLOW;
    int64_t len = (int64_t)fl.l_len;
    struct tern_libc_lock lock = {(uint32_t)fl.l_type, (uint32_t)tern_libc_pid(), 0, 0, 0};
    if (len > 0) {
        int64_t last = 0;
        if (start < 0)
            return -EINVAL;
        if (__builtin_add_overflow(start, len - 1, &last))
            return -EOVERFLOW;
        lock.start = (uint64_t)start;
        lock.end = (uint64_t)last + 1;
    } else if (len == 0) {
        if (start < 0)
            return -EINVAL;
        lock.start = (uint64_t)start;
        lock.end = TERN_LIBC_LOCK_TO_END;
    } else {
        if (start + len < 0)
            return -EINVAL;
        lock.start = (uint64_t)(start + len);
        lock.end = (uint64_t)start;
        if (lock.start == lock.end)
            return -EINVAL;
    }
    uint32_t how = command == F_GETLK   ? TERN_LIBC_LOCK_GET
                   : command == F_SETLK ? TERN_LIBC_LOCK_SET
                                        : TERN_LIBC_LOCK_WAIT;
    if (how != TERN_LIBC_LOCK_GET && fl.l_type != F_UNLCK)
        g_holds_locks = 1;
    long r = tern_libc_fs_lock(file->server, file->inode, how, &lock);
    if (r != 0 || how != TERN_LIBC_LOCK_GET)
        return r;
    fl.l_type = (short)lock.type;
    if (lock.type != F_UNLCK) {
        fl.l_whence = SEEK_SET;
        fl.l_start = (off_t)lock.start;
        fl.l_len = lock.end == TERN_LIBC_LOCK_TO_END ? 0 : (off_t)(lock.end - lock.start);
        fl.l_pid = (pid_t)lock.pid;
    }
    return tern_libc_copy_out(user, &fl, sizeof(fl)) != 0 ? -EFAULT : 0;
}

/* flock(2): a whole-file lock owned by the open file description (shared after dup and
 * fork), released when its last descriptor closes or the process that set it ends. */
static long sys_flock(long fd, long operation) {
    struct tern_libc_file* file = tern_libc_fd_lookup(tern_libc_fds(), fd);
    if (!file)
        return -EBADF;
    long how = operation & ~LOCK_NB;
    if (how != LOCK_SH && how != LOCK_EX && how != LOCK_UN)
        return -EINVAL;
    if ((file->kind != TERN_LIBC_FD_FILE && file->kind != TERN_LIBC_FD_DIRECTORY)
        || !on_file_server(file))
        return -ENOLCK;
    if (file->lock_owner == 0) {
        if (how == LOCK_UN)
            return 0;
        /* Unique on the node: the task id (never reused) and a count in the process. */
        static uint32_t counter;
        file->lock_owner =
            (((uint64_t)tern_sys_task_id() << 20) | (++counter & 0xfffff)) & ~((uint64_t)1 << 63);
    }
    struct tern_libc_lock lock = {how == LOCK_SH   ? F_RDLCK
                                  : how == LOCK_EX ? F_WRLCK
                                                   : F_UNLCK,
                                  (uint32_t)tern_libc_pid(), 0, TERN_LIBC_LOCK_TO_END,
                                  file->lock_owner};
    return tern_libc_fs_lock(file->server, file->inode,
                             (operation & LOCK_NB) ? TERN_LIBC_LOCK_SET : TERN_LIBC_LOCK_WAIT,
                             &lock);
}

static long sys_fcntl(long fd, long command, long argument) {
    struct tern_libc_file* file = tern_libc_fd_lookup(tern_libc_fds(), fd);
    if (!file)
        return -EBADF;
    switch (command) {
    case F_DUPFD:
        return tern_libc_fd_dup_from(tern_libc_fds(), fd, argument, 0);
    case F_DUPFD_CLOEXEC:
        return tern_libc_fd_dup_from(tern_libc_fds(), fd, argument, 1);
    case F_GETFD:
        return tern_libc_fd_get_flags(tern_libc_fds(), fd);
    case F_SETFD:
        /* Kept for exec, which closes the descriptors that have it. */
        return tern_libc_fd_set_flags(tern_libc_fds(), fd, argument);
    case F_GETFL: {
        if (is_pipe(file))
            (void)tern_libc_pipe_status(file);
        int token = file_enter(file);
        long flags = (long)(file->flags & (TERN_LINUX_O_ACCMODE | O_APPEND | O_NONBLOCK));
        file_leave(file, token);
        return flags;
    }
    case F_SETFL: {
        /* O_NONBLOCK makes a socket's or a pipe's calls return EAGAIN instead of waiting
         * (the console's reads wait for a line regardless); O_APPEND is kept. Both belong
         * to the description, so every duplicate sees them, and so does every process
         * holding a shared one (a pipe's are in its ring). */
        if (is_pipe(file)) {
            tern_libc_pipe_set_status(file, argument);
            return 0;
        }
        int token = file_enter(file);
        file->flags = tern_libc_status_flags_set(file->flags, argument);
        file_leave(file, token);
        return 0;
    }
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
        return file_lock(file, command, (void*)argument);
    default:
        return -EINVAL;
    }
}

/* The kernel's struct termios, which TCGETS and TCSETS carry (musl's is longer: the same
 * fields, then more room in c_cc and the speeds, which the kernel leaves alone). */
enum {
    kKernelTermiosSize = 36
};

static long sys_ioctl(long fd, long request, long argument) {
    if (!is_console_fd(fd))
        return tern_libc_fd_get(tern_libc_fds(), fd) ? -ENOTTY : -EBADF;
    /* With a console server the console is a terminal: isatty() (which asks TIOCGWINSZ)
     * is true and stdout line buffered. Without one it is the kernel's debug output and
     * not a terminal, so stdout is fully buffered (stderr is unbuffered, as always). */
    if (!tern_libc_console_present())
        return -ENOTTY;
    void* user = (void*)argument;
    switch (request) {
    case TIOCSPGRP:
    case TIOCGPGRP:
        return tern_libc_signal_ioctl(request, argument);
    case TCGETS:
    case TIOCGWINSZ: {
        unsigned char termios[kKernelTermiosSize];
        struct winsize window;
        long r = (long)tern_libc_console_get_attr(termios, &window);
        if (r != 0)
            return r;
        if (request == TCGETS)
            return tern_libc_copy_out(user, termios, sizeof(termios)) != 0 ? -EFAULT : 0;
        return tern_libc_copy_out(user, &window, sizeof(window)) != 0 ? -EFAULT : 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
        unsigned char termios[kKernelTermiosSize];
        if (tern_libc_copy_in(termios, user, sizeof(termios)) != 0)
            return -EFAULT;
        return (long)tern_libc_console_set_attr(termios, (uint32_t)(request - TCSETS));
    }
    case TIOCSWINSZ: {
        struct winsize window;
        if (tern_libc_copy_in(&window, user, sizeof(window)) != 0)
            return -EFAULT;
        return (long)tern_libc_console_set_window(&window);
    }
    case TCFLSH:
        if (argument < TCIFLUSH || argument > TCIOFLUSH)
            return -EINVAL;
        return (long)tern_libc_console_flush((uint32_t)argument);
    case TCXONC:
        /* Output is never stopped (IXON is kept, not acted on): accepted as Linux does. */
        if (argument < TCOOFF || argument > TCION)
            return -EINVAL;
        return 0;
    case FIONREAD: {
        int64_t n = tern_libc_console_pending();
        int count = n > INT32_MAX ? INT32_MAX : (int)n;
        return tern_libc_copy_out(user, &count, sizeof(count)) != 0 ? -EFAULT : 0;
    }
    default:
        return -ENOTTY;
    }
}

/* ---- Memory ---------------------------------------------------------------------------- */

/* The end of the loaded image (libc/musl/musl.ld). */
extern char __user_image_end[];

/* Places anonymous zeroed memory as the plan says (prot: TERN_PROT_*). */
static long map_anonymous(const struct tern_libc_mmap_plan* plan, uint32_t prot) {
    if (plan->fixed == TERN_LIBC_MAP_ANYWHERE)
        return (long)tern_libc_vm_result(TERN_LIBC_VM_ALLOCATE,
                                         tern_sys_vm_allocate(plan->size, prot));
    if (plan->fixed == TERN_LIBC_MAP_REPLACE)
        (void)tern_sys_vm_free(plan->address, plan->size);
    int64_t at = tern_sys_task_vm_allocate(TERN_HANDLE_SELF, plan->address, plan->size, prot);
    if (at == -(int64_t)TERN_ALREADY_EXISTS)
        return -EEXIST;
    if (at == -(int64_t)TERN_INVALID_ARGUMENT)
        return -ENOMEM; /* outside user space, as Linux for an address past TASK_SIZE */
    return (long)tern_libc_vm_result(TERN_LIBC_VM_ALLOCATE, at);
}

/* Maps [offset, offset + size) of a memory object as the plan says; the handle stays the
 * caller's (the mapping holds the object). */
static long map_object(const struct tern_libc_mmap_plan* plan, uint32_t memory, uint64_t offset) {
    if (plan->fixed == TERN_LIBC_MAP_REPLACE)
        (void)tern_sys_vm_free(plan->address, plan->size);
    int64_t at = tern_sys_vm_map_memory(TERN_HANDLE_SELF, memory, plan->address, offset, plan->size,
                                        plan->prot);
    if (at == -(int64_t)TERN_ALREADY_EXISTS)
        return -EEXIST;
    if (at == -(int64_t)TERN_INVALID_ARGUMENT && plan->fixed != TERN_LIBC_MAP_ANYWHERE)
        return -ENOMEM;
    return (long)tern_libc_vm_result(TERN_LIBC_VM_ALLOCATE, at);
}

/* A private mapping of a file (or a shared one of a file nobody can change): the bytes
 * at the offset read into new private memory, zeros past the end of the file. */
static long map_copy(const struct tern_libc_mmap_plan* plan, const struct tern_libc_file* file) {
    long at = map_anonymous(plan, TERN_PROT_READ | TERN_PROT_WRITE);
    if (at < 0)
        return at;
    long n = file_copy(file, plan->offset, (void*)at, plan->size);
    if (n < 0) {
        (void)tern_sys_vm_free((uint64_t)at, plan->size);
        return n;
    }
    if (plan->prot != (TERN_PROT_READ | TERN_PROT_WRITE)) {
        int64_t r = tern_sys_vm_protect((uint64_t)at, plan->size, plan->prot);
        if (r < 0) {
            (void)tern_sys_vm_free((uint64_t)at, plan->size);
            return (long)tern_libc_vm_result(TERN_LIBC_VM_PROTECT, r);
        }
    }
    return at;
}

/* mmap: anonymous memory (private, or a memory object of its own when shared, which fork
 * keeps shared), a file's bytes copied (private mappings), or a file server's memory
 * object for the file (shared mappings of tmpfs files: every process mapping the file and
 * every read and write see the same pages). Nothing is kept per mapping: the kernel's
 * regions are the record, so munmap, fork and exec need nothing more. */
static long sys_mmap(long n, long addr, long length, long prot, long flags, long fd, long offset) {
    struct tern_libc_mmap_plan plan;
    int r = tern_libc_plan_mmap((uint64_t)addr, (uint64_t)length, (uint64_t)prot, (uint64_t)flags,
                                fd, (uint64_t)offset, &plan);
    if (r != 0) {
        if (flags & (MAP_GROWSDOWN | MAP_HUGETLB | MAP_32BIT | MAP_SYNC))
            log_unsupported(n, "MAP_GROWSDOWN, MAP_HUGETLB, MAP_32BIT or MAP_SYNC");
        return r;
    }
    /* /dev/zero maps as anonymous memory does, as on Linux. */
    const struct tern_libc_file* device = plan.file ? tern_libc_fd_lookup(tern_libc_fds(), fd) : 0;
    int zero = device && device->kind == TERN_LIBC_FD_NULL && device->inode == kDevZero;
    if ((!plan.file || zero) && !plan.shared)
        return map_anonymous(&plan, plan.prot);
    if (!plan.file || zero) {
        int64_t memory = tern_sys_memory_create(plan.size, 0);
        if (memory < 0)
            return (long)tern_libc_vm_result(TERN_LIBC_VM_ALLOCATE, memory);
        long at = map_object(&plan, (uint32_t)memory, 0);
        (void)tern_sys_handle_close((uint32_t)memory);
        return at;
    }
    struct tern_libc_file* file = tern_libc_fd_lookup(tern_libc_fds(), fd);
    if (!file)
        return -EBADF;
    uint32_t how = 0;
    r = tern_libc_mmap_source(file->kind, file->kind == TERN_LIBC_FD_FILE && on_file_server(file),
                              file->flags, (int)plan.shared, (uint64_t)prot, &how);
    if (r != 0)
        return r;
    if (how == TERN_LIBC_MAP_COPY)
        return map_copy(&plan, file);
    uint32_t memory = 0;
    uint64_t size = 0;
    r = tern_libc_fs_map(file->server, file->inode, plan.offset + plan.size,
                         (prot & PROT_WRITE) != 0, &memory, &size);
    if (r != 0)
        return r == -ENOSPC ? -ENOMEM : r;
    long at = map_object(&plan, memory, plan.offset);
    (void)tern_sys_handle_close(memory);
    return at;
}

static long sys_munmap(long addr, long length) {
    uint64_t size = 0;
    int r = tern_libc_page_range((uint64_t)addr, (uint64_t)length, &size);
    if (r != 0)
        return r;
    return (long)tern_libc_vm_result(TERN_LIBC_VM_FREE, tern_sys_vm_free((uint64_t)addr, size));
}

/* msync: a shared mapping is the file's own pages (the server reads and writes them), and
 * nothing is ever written back anywhere, so every flag is served by doing nothing once the
 * range is known to be mapped (ENOMEM otherwise, as Linux). */
static long sys_msync(long addr, long length, long flags) {
    int r = tern_libc_msync_check((uint64_t)addr, (uint64_t)flags);
    if (r != 0)
        return r;
    if (length == 0)
        return 0;
    uint64_t size = 0;
    r = tern_libc_page_range((uint64_t)addr, (uint64_t)length, &size);
    if (r != 0)
        return r;
    /* Every page of the range in a region: vm_protect's rule, asked of the region list. */
    static struct tern_mapping regions[256];
    int64_t count = tern_sys_task_mappings(TERN_HANDLE_SELF, (uint64_t)regions, 256);
    if (count < 0 || count > 256)
        return 0; /* too many regions to check: the flags are served all the same */
    uint64_t at = (uint64_t)addr, end = (uint64_t)addr + size;
    while (at < end) {
        int64_t i = 0;
        while (i < count && !(regions[i].start <= at && at < regions[i].end))
            ++i;
        if (i == count)
            return -ENOMEM;
        at = regions[i].end;
    }
    return 0;
}

static long sys_mprotect(long addr, long length, long prot) {
    uint64_t size = 0;
    int r = tern_libc_page_range((uint64_t)addr, (uint64_t)length, &size);
    if (r != 0)
        return r;
    uint32_t tern_prot = 0;
    r = tern_libc_prot_from_linux((uint64_t)prot, &tern_prot);
    if (r != 0)
        return r;
    return (long)tern_libc_vm_result(TERN_LIBC_VM_PROTECT,
                                     tern_sys_vm_protect((uint64_t)addr, size, tern_prot));
}

static long sys_madvise(long addr, long length, long advice) {
    (void)length;
    if (addr & (TERN_LIBC_PAGE_SIZE - 1))
        return -EINVAL;
    switch (advice) {
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
    case MADV_WILLNEED:
    case MADV_FREE:
        /* Hints: keeping the pages is always a correct answer to them. */
        return 0;
    default:
        /* MADV_DONTNEED and the rest change what the pages hold; not done yet. */
        return -EINVAL;
    }
}

/* ---- Time ------------------------------------------------------------------------------ */

static long sys_clock_gettime(long clock, struct timespec* ts) {
    if (!tern_libc_clock_supported(clock))
        return tern_libc_cpu_clock(clock, ts, 0);
    /* The wall clock is the kernel's (the CMOS clock read at boot); the others count
     * from boot. */
    uint64_t now = clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE
                       ? (uint64_t)tern_sys_clock_realtime()
                       : (uint64_t)tern_sys_clock_monotonic();
    ts->tv_sec = (time_t)(now / 1000000000u);
    ts->tv_nsec = (long)(now % 1000000000u);
    return 0;
}

static long sys_clock_getres(long clock, struct timespec* res) {
    if (!tern_libc_clock_supported(clock))
        return tern_libc_cpu_clock(clock, res, 1);
    if (res) {
        res->tv_sec = 0;
        res->tv_nsec = 1;
    }
    return 0;
}

static long sys_clock_nanosleep(long clock, long flags, const struct timespec* request,
                                struct timespec* remaining) {
    if (!tern_libc_clock_supported(clock))
        return -EINVAL;
    struct timespec wanted;
    if (tern_libc_copy_in(&wanted, request, sizeof(wanted)) != 0)
        return -EFAULT;
    uint64_t ns = 0;
    int r = tern_libc_timespec_to_ns(wanted.tv_sec, wanted.tv_nsec, &ns);
    if (r != 0)
        return r;
    if (flags & TIMER_ABSTIME) {
        uint64_t now = clock == CLOCK_REALTIME ? (uint64_t)tern_sys_clock_realtime()
                                               : (uint64_t)tern_sys_clock_monotonic();
        if (ns <= now)
            return 0;
        ns -= now;
    }
    /* A signal cuts the sleep short (the kernel ends it when proc stops the thread, and
     * thread_sleep still returns 0): once a handler has run it ends with EINTR and, for a
     * relative sleep, the time left; otherwise (an ignored or blocked signal) it sleeps on
     * to the end. */
    uint64_t mark = tern_libc_signal_mark();
    uint64_t end = (uint64_t)tern_sys_clock_monotonic() + ns;
    for (;;) {
        int64_t r = tern_sys_thread_sleep(ns);
        if (r < 0 && r != -TERN_INTERRUPTED)
            return (long)tern_libc_linux_result(r);
        uint64_t now = (uint64_t)tern_sys_clock_monotonic();
        ns = now < end ? end - now : 0;
        if (ns == 0)
            return 0;
        if (tern_libc_signal_interrupts(mark, 0)) {
            if (remaining && !(flags & TIMER_ABSTIME)) {
                struct timespec left = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
                if (tern_libc_copy_out(remaining, &left, sizeof(left)) != 0)
                    return -EFAULT;
            }
            return -EINTR;
        }
    }
}

/* ---- Threads and thread-local storage -------------------------------------------------- */

static long set_fs_base(long base) {
    return (long)tern_libc_linux_result(tern_sys_thread_set_fs_base((uint64_t)base));
}

static long sys_arch_prctl(long code, long address) {
    if (code == kArchSetFs)
        return set_fs_base(address);
    return -EINVAL;
}

/* ---- Signals --------------------------------------------------------------------------- *
 * backend_signal.c serves the signal calls; a signal's default action that ends the
 * program comes here, to end it as exit does.
 */

void tern_libc_exit_by_signal(long signal) {
    char line[48];
    size_t at = 0;
    append_text(line, sizeof(line), &at, "libc: terminated by signal ");
    append_decimal(line, &at, (unsigned long)signal);
    line[at++] = '\n';
    (void)debug_write(line, at);
    close_all(); /* as exit does: the other ends of its pipes see it gone */
    /* 128 + N reads as signalled (portable/process.h); real-time signals as SIGKILL. */
    tern_sys_task_exit(kSignalExitBase + (signal <= 31 ? signal : SIGKILL));
    __builtin_unreachable();
}

/* ---- The entry point ------------------------------------------------------------------- */

/* The process id programs see. A program the proc server started has a global id,
 * home node << 32 | serial; pid_t has 32 bits, so getpid() reports the serial (the whole
 * id is tern_global_pid() in <tern/libc.h>). A program the kernel started has none and
 * reports its kernel task id, as before. */
long tern_libc_pid(void) {
    uint64_t pid = tern_libc_startup_pid();
    int32_t serial = (int32_t)(uint32_t)pid;
    if (pid != 0 && serial > 0)
        return serial;
    return (long)tern_sys_task_id();
}

long tern_libc_dispatch(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    switch (n) {
    /* The console (fds 0-2) and read-only files on the boot file system. */
    case SYS_read:
        return sys_read(a1, (void*)a2, (size_t)a3);
    case SYS_readv:
        return sys_readv(a1, (const struct iovec*)a2, a3);
    case SYS_pread64:
        return sys_pread64(a1, (void*)a2, (size_t)a3, a4);
    case SYS_write:
        return sys_write(a1, (const char*)a2, (size_t)a3);
    case SYS_writev:
        return sys_writev(a1, (const struct iovec*)a2, a3);
    case SYS_open:
        return sys_openat(AT_FDCWD, (const char*)a1, a2, a3);
    case SYS_openat:
        return sys_openat(a1, (const char*)a2, a3, a4);
    case SYS_creat:
        return sys_openat(AT_FDCWD, (const char*)a1, O_CREAT | O_WRONLY | O_TRUNC, a2);
    case SYS_pwrite64:
        return sys_pwrite64(a1, (const void*)a2, (size_t)a3, a4);
    case SYS_close:
        return sys_close(a1);
    case SYS_dup:
        return sys_dup(a1);
    case SYS_dup2:
        return sys_dup3(a1, a2, -1);
    case SYS_dup3:
        return sys_dup3(a1, a2, a3);
    case SYS_lseek:
        return sys_lseek(a1, a2, a3);
    case SYS_getdents64:
        return sys_getdents64(a1, (void*)a2, (size_t)a3);
    case SYS_stat:
        return sys_fstatat(AT_FDCWD, (const char*)a1, (struct stat*)a2, 0);
    case SYS_lstat:
        return sys_fstatat(AT_FDCWD, (const char*)a1, (struct stat*)a2, AT_SYMLINK_NOFOLLOW);
    case SYS_newfstatat:
        return sys_fstatat(a1, (const char*)a2, (struct stat*)a3, a4);
    case SYS_fstat:
        return sys_fstat(a1, (struct stat*)a2);
    case SYS_access:
        return sys_faccessat(AT_FDCWD, (const char*)a1, a2);
    case SYS_faccessat:
        return sys_faccessat(a1, (const char*)a2, a3);
    case SYS_getcwd:
        return sys_getcwd((char*)a1, (size_t)a2);
    case SYS_chdir:
        return sys_chdir((const char*)a1);
    case SYS_fchdir:
        return sys_fchdir(a1);
    case SYS_umask:
        return sys_umask(a1);
    case SYS_mkdir:
        return sys_mkdirat(AT_FDCWD, (const char*)a1, a2);
    case SYS_mkdirat:
        return sys_mkdirat(a1, (const char*)a2, a3);
    case SYS_rmdir:
        return sys_rmdir_at(AT_FDCWD, (const char*)a1);
    case SYS_unlink:
        return sys_unlinkat(AT_FDCWD, (const char*)a1, 0);
    case SYS_unlinkat:
        return sys_unlinkat(a1, (const char*)a2, a3);
    case SYS_rename:
        return sys_renameat2(AT_FDCWD, (const char*)a1, AT_FDCWD, (const char*)a2, 0);
    case SYS_renameat:
        return sys_renameat2(a1, (const char*)a2, a3, (const char*)a4, 0);
    case SYS_renameat2:
        return sys_renameat2(a1, (const char*)a2, a3, (const char*)a4, a5);
    case SYS_symlink:
        return sys_symlinkat((const char*)a1, AT_FDCWD, (const char*)a2);
    case SYS_symlinkat:
        return sys_symlinkat((const char*)a1, a2, (const char*)a3);
    case SYS_readlink:
        return sys_readlinkat(AT_FDCWD, (const char*)a1, (char*)a2, a3);
    case SYS_readlinkat:
        return sys_readlinkat(a1, (const char*)a2, (char*)a3, a4);
    case SYS_truncate:
        return sys_truncate((const char*)a1, a2);
    case SYS_ftruncate:
        return sys_ftruncate(a1, a2);
    case SYS_fsync:
    case SYS_fdatasync:
        return sys_fsync(a1);
    case SYS_chmod:
        return sys_fchmodat(AT_FDCWD, (const char*)a1, a2, 0);
    case SYS_fchmodat:
        return sys_fchmodat(a1, (const char*)a2, a3, 0);
    case SYS_fchmod:
        return sys_fchmod(a1, a2);
    case SYS_statfs:
        return sys_statfs((const char*)a1, (struct statfs*)a2);
    case SYS_fstatfs:
        return sys_fstatfs(a1, (struct statfs*)a2);
    case SYS_fcntl:
        return sys_fcntl(a1, a2, a3);
    case SYS_flock:
        return sys_flock(a1, a2);
    case SYS_ioctl:
        return sys_ioctl(a1, a2, a3);

    /* Process and thread lifetime. There is one thread per program until pthreads come,
     * so ending the thread ends the program. Linux keeps the low 8 bits of the status. */
    case SYS_exit:
    case SYS_exit_group:
        close_all();
        tern_sys_task_exit((uint64_t)(a1 & 0xff));
        return -ENOSYS; /* not reached */
    /* The process id is the proc server's global id (self_id); the one thread shares it,
     * as a Linux main thread does. The parent is the one fork or proc knows
     * (backend_process.c). */
    case SYS_getpid:
    case SYS_gettid:
    case SYS_set_tid_address:
        return tern_libc_pid();
    case SYS_getppid:
        return tern_libc_getppid();
    case SYS_getuid:
    case SYS_geteuid:
    case SYS_getgid:
    case SYS_getegid:
        /* There are no users yet; everything runs as root would. */
        return 0;
    case SYS_sched_yield:
        return (long)tern_libc_linux_result(tern_sys_thread_yield());

    /* Memory. */
    case SYS_mmap:
        return sys_mmap(n, a1, a2, a3, a4, a5, a6);
    case SYS_munmap:
        return sys_munmap(a1, a2);
    case SYS_msync:
        return sys_msync(a1, a2, a3);
    case SYS_mprotect:
        return sys_mprotect(a1, a2, a3);
    case SYS_madvise:
        return sys_madvise(a1, a2, a3);
    case SYS_brk:
        /* The break never moves: musl's allocator then takes all its memory from mmap. */
        return (long)(uintptr_t)__user_image_end;

    /* Time. */
    case SYS_clock_gettime:
        return sys_clock_gettime(a1, (struct timespec*)a2);
    case SYS_clock_getres:
        return sys_clock_getres(a1, (struct timespec*)a2);
    case SYS_nanosleep:
        return sys_clock_nanosleep(CLOCK_REALTIME, 0, (const struct timespec*)a1,
                                   (struct timespec*)a2);
    case SYS_clock_nanosleep:
        return sys_clock_nanosleep(a1, a2, (const struct timespec*)a3, (struct timespec*)a4);

    /* Thread-local storage: musl's generic __set_thread_area passes the thread pointer
     * through set_thread_area; arch_prctl(ARCH_SET_FS) is the x86-64 Linux way. */
    case SYS_set_thread_area:
        return set_fs_base(a1);
    case SYS_arch_prctl:
        return sys_arch_prctl(a1, a2);

    default: {
        /* Pipes (backend_pipes.c); sockets, poll and select (backend_sockets.c). */
        int handled = 0;
        long r = tern_libc_pipe_syscall(n, a1, a2, &handled);
        if (handled)
            return r;
        r = tern_libc_process_syscall(n, a1, a2, a3, a4, &handled);
        if (handled)
            return r;
        /* Signals, groups and sessions (backend_signal.c). */
        r = tern_libc_signal_syscall(n, a1, a2, a3, a4, &handled);
        if (handled)
            return r;
        /* POSIX timers, alarm and setitimer (backend_timer.c). */
        r = tern_libc_timer_syscall(n, a1, a2, a3, a4, &handled);
        if (handled)
            return r;
        /* Scheduling parameters, clock_settime, mlock (backend_sched.c). */
        r = tern_libc_sched_syscall(n, a1, a2, a3, a4, &handled);
        if (handled)
            return r;
        r = tern_libc_socket_syscall(n, a1, a2, a3, a4, a5, a6, &handled);
        if (handled)
            return r;
        /* System V IPC (backend_sysv.c). */
        r = tern_libc_sysv_syscall(n, a1, a2, a3, a4, a5, &handled);
        if (handled)
            return r;
        /* uname, getrandom (backend_system.c). */
        r = tern_libc_system_syscall(n, a1, a2, a3, &handled);
        if (handled)
            return r;
        /* Limits, ids, times (backend_limits.c). */
        r = tern_libc_limits_syscall(n, a1, a2, a3, a4, &handled);
        if (handled)
            return r;
        /* execve, execveat (backend_exec.c). */
        r = tern_libc_exec_syscall(n, a1, a2, a3, a4, a5, &handled);
        if (handled)
            return r;
        /* chown and its family, sync (backend_misc.c). */
        r = tern_libc_misc_syscall(n, a1, a2, a3, a4, a5, &handled);
        return handled ? r : unsupported(n, 0);
    }
    }
}

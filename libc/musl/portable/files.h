/*
 * Tern's musl port: the pure rules behind files and the console.
 *
 * C programs read files from the boot file system (tern/protocols/bootfs.h): open maps
 * the file through bootfs Map and reads are served from that mapping, so everything but
 * the server calls is arithmetic on offsets, sizes and paths. That arithmetic is here,
 * where the host unit tests (tests/unit/libc_files_test.cpp) check it: the descriptor
 * table, lseek, path normalisation, struct stat, access(), the open flags, the bounds of
 * a Map reply, getdents64 records and the console's line buffer. libc/musl/backend.c
 * performs the calls.
 *
 * Valid C and C++; freestanding (it is compiled into the kernel with the other portable
 * sources as well). The Linux values are the x86-64 ABI's; backend.c checks each against
 * musl's headers and the unit tests against the host's.
 */
#ifndef TERN_LIBC_MUSL_FILES_H
#define TERN_LIBC_MUSL_FILES_H

#include <stdint.h>

#include <libc/musl/portable/sockets.h>

/* open() flags (x86-64 Linux values, octal as in the kernel's headers). */
#define TERN_LINUX_O_ACCMODE 03
#define TERN_LINUX_O_RDONLY 00
#define TERN_LINUX_O_WRONLY 01
#define TERN_LINUX_O_RDWR 02
#define TERN_LINUX_O_EXCL 0200
#define TERN_LINUX_O_NOFOLLOW 0400000
#define TERN_LINUX_O_CREAT 0100
#define TERN_LINUX_O_TRUNC 01000
#define TERN_LINUX_O_APPEND 02000
#define TERN_LINUX_O_DIRECTORY 0200000
#define TERN_LINUX_O_CLOEXEC 02000000
#define TERN_LINUX_O_TMPFILE_ONLY 020000000 /* O_TMPFILE without its O_DIRECTORY bit */

#define TERN_LINUX_SEEK_SET 0
#define TERN_LINUX_SEEK_CUR 1
#define TERN_LINUX_SEEK_END 2

#define TERN_LINUX_S_IFCHR 0020000u
#define TERN_LINUX_S_IFSOCK 0140000u
#define TERN_LINUX_S_IFIFO 0010000u
#define TERN_LINUX_S_IFDIR 0040000u
#define TERN_LINUX_S_IFREG 0100000u
#define TERN_LINUX_S_IFLNK 0120000u
#define TERN_LINUX_S_IFMT 0170000u

#define TERN_LINUX_R_OK 4
#define TERN_LINUX_W_OK 2
#define TERN_LINUX_X_OK 1

#define TERN_LINUX_DT_DIR 4
#define TERN_LINUX_DT_REG 8
#define TERN_LINUX_DT_LNK 10

#define TERN_LINUX_AT_FDCWD (-100)

/* The longest path Linux accepts, with its NUL (PATH_MAX), and the longest component. */
#define TERN_LINUX_PATH_MAX 4096
#define TERN_LINUX_NAME_MAX 255

/* A normalised path with its NUL: at most PATH_MAX bytes in all. */
#define TERN_LIBC_PATH_BUFFER 4096u

/* File descriptors: 0-63. A new table has 0, 1 and 2 open on the console (one open file
 * description, as a terminal opened once for reading and writing and duplicated); every
 * descriptor can be closed, duplicated or replaced like any other. */
#define TERN_LIBC_MAX_FDS 64

/* The descriptor flag fcntl(F_GETFD) reports (Linux FD_CLOEXEC) and the fcntl commands. */
#define TERN_LINUX_FD_CLOEXEC 1
#define TERN_LINUX_F_DUPFD 0
#define TERN_LINUX_F_GETFD 1
#define TERN_LINUX_F_SETFD 2
#define TERN_LINUX_F_GETFL 3
#define TERN_LINUX_F_SETFL 4
#define TERN_LINUX_F_DUPFD_CLOEXEC 1030

/* The block size stat reports (a page: reads are served from a mapping). */
#define TERN_LIBC_BLOCK_SIZE 4096

/* The x86-64 Linux struct stat, as fstat writes it (144 bytes). */
struct tern_linux_stat {
    uint64_t st_dev;
    uint64_t st_ino;
    uint64_t st_nlink;
    uint32_t st_mode;
    uint32_t st_uid;
    uint32_t st_gid;
    uint32_t pad0;
    uint64_t st_rdev;
    int64_t st_size;
    int64_t st_blksize;
    int64_t st_blocks;
    int64_t st_atime_sec;
    int64_t st_atime_nsec;
    int64_t st_mtime_sec;
    int64_t st_mtime_nsec;
    int64_t st_ctime_sec;
    int64_t st_ctime_nsec;
    int64_t reserved[3];
};

/* What stat reports about an object. */
enum tern_libc_node_type {
    TERN_LIBC_NODE_FILE,
    TERN_LIBC_NODE_DIRECTORY,
    TERN_LIBC_NODE_CONSOLE,
    TERN_LIBC_NODE_SOCKET,
    TERN_LIBC_NODE_PIPE,
};

enum tern_libc_fd_kind {
    TERN_LIBC_FD_FREE = 0,
    TERN_LIBC_FD_FILE,
    TERN_LIBC_FD_DIRECTORY,
    TERN_LIBC_FD_SOCKET,     /* a network server's socket: `socket` holds its state */
    TERN_LIBC_FD_CONSOLE,    /* the console server (or the kernel's debug console) */
    TERN_LIBC_FD_PIPE_READ,  /* the read end of a pipe: `pipe` */
    TERN_LIBC_FD_PIPE_WRITE, /* the write end of a pipe: `pipe` */
    TERN_LIBC_FD_MQUEUE,     /* a POSIX message queue of the ipc server: `mqueue` */
    TERN_LIBC_FD_NULL,       /* /dev/null: reads end of file, writes vanish */
};

/* An open message queue description: the ipc server's handle of it (tern/protocols/ipc.h
 * MqHandle). */
struct tern_libc_mqueue {
    uint64_t description;
    uint64_t secret;
};

struct tern_libc_pipe_ring;   /* portable/pipe.h */
struct tern_libc_shared_file; /* portable/shared_file.h */

/* A pipe end: the ring (portable/pipe.h) in a memory object mapped at ring, and the
 * memory object's handle; announced is the ring's count of announced wait ports when
 * this process last took in the ports sent to it. */
struct tern_libc_pipe_end {
    struct tern_libc_pipe_ring* ring;
    uint64_t map_size;
    uint32_t memory;
    uint32_t announced;
};

/* One open file description: what open, socket or pipe made, shared by every descriptor
 * dup, dup2, dup3 and F_DUPFD made from it (the offset and the status flags are shared;
 * close-on-exec is the descriptor's). A file's bytes are data[0, size) inside a read-only mapping
 * of the bootfs archive (map_address, map_size) held through memory; position is the
 * file offset (exec maps a program's read-only segments from memory at map_offset +
 * (data - map_address)). A directory holds bootfs's listing in data[0, size) (an anonymous buffer
 * at map_address), and position is the index of the next entry ("." and ".." are 0 and 1).
 * Once another process holds a file or directory description too, its offset and status
 * flags are in shared (below). */
struct tern_libc_file {
    uint32_t kind;       /* enum tern_libc_fd_kind */
    uint32_t mode;       /* permission bits */
    uint32_t flags;      /* the open flags, for F_GETFL (never O_CLOEXEC: see fd_slot) */
    uint32_t memory;     /* the memory object's handle, 0 for none */
    uint32_t references; /* descriptors naming this description */
    uint32_t unlinked;   /* unlinked while open: path is its hidden name on the server */
    uint64_t size;
    uint64_t position;
    const char* data;
    uint64_t map_address;
    uint64_t map_size;
    uint64_t map_offset;              /* a bootfs file: where map_address is in memory */
    uint32_t server;                  /* where it lives (mounts.h TERN_LIBC_SERVER_*) */
    uint32_t device;                  /* its mount's index + 1: st_dev */
    uint64_t inode;                   /* a file server's node (not bootfs's) */
    uint64_t lock_owner;              /* its flock(2) owner id, 0 before its first flock */
    char path[TERN_LIBC_PATH_BUFFER]; /* normalised, for openat, fchdir and inode numbers */
    struct tern_libc_socket socket;   /* TERN_LIBC_FD_SOCKET */
    struct tern_libc_pipe_end pipe;   /* TERN_LIBC_FD_PIPE_READ, TERN_LIBC_FD_PIPE_WRITE */
    struct tern_libc_mqueue mqueue;   /* TERN_LIBC_FD_MQUEUE */
    /* A file or directory another process holds too (fork, posix_spawn): its offset and
     * status flags live in this mapping of the memory object shared_memory
     * (portable/shared_file.h), position and flags being copies taken under its lock. */
    struct tern_libc_shared_file* shared;
    uint32_t shared_memory;
};

/* A descriptor: which description it names (index + 1; 0 for a free descriptor) and its
 * own flags (TERN_LINUX_FD_CLOEXEC). */
struct tern_libc_fd_slot {
    uint16_t file;
    uint16_t flags;
};

/* A process's descriptors, all of them: the one place that holds every open file, pipe,
 * socket and the console, so that fork, exec and migration have one thing to copy. Every
 * description has at least one descriptor, so there are never more descriptions than
 * descriptors and allocation cannot run out of descriptions. A zeroed table is not yet set
 * up (initialised 0); tern_libc_fd_table_init opens 0-2 on the console. */
struct tern_libc_fd_table {
    uint32_t initialised;
    uint32_t reserved;
    struct tern_libc_fd_slot fds[TERN_LIBC_MAX_FDS];
    struct tern_libc_file files[TERN_LIBC_MAX_FDS];
};

/* The console's pending input: what is left of the last line read when the reader asked
 * for fewer bytes (console Read answers with a whole line, at most 1024 bytes and "\n"). */
#define TERN_LIBC_LINE_BUFFER 1025u
struct tern_libc_line_buffer {
    uint32_t start;
    uint32_t end;
    char data[TERN_LIBC_LINE_BUFFER];
};

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Descriptors ---- */

/* Empties table and opens descriptors 0, 1 and 2 on one console description (O_RDWR). */
void tern_libc_fd_table_init(struct tern_libc_fd_table* table);

/* The lowest free descriptor, naming a new description of kind (its other fields zeroed,
 * one reference), without close-on-exec; -EMFILE when every descriptor is open. */
int tern_libc_fd_allocate(struct tern_libc_fd_table* table, uint32_t kind);

/* The descriptions some descriptor names (those with references), as a mask: bit i for
 * files[i]. A loop over the descriptions in use visits these alone: each description
 * lies on a page of its own, and reading one a process never used costs a page fault
 * that maps a zero page (and a fork shares it, and an exit unmaps it). */
uint64_t tern_libc_fd_descriptions(const struct tern_libc_fd_table* table);

/* The description fd names, of any kind, or 0 when fd is not open (EBADF). */
struct tern_libc_file* tern_libc_fd_lookup(struct tern_libc_fd_table* table, int64_t fd);

/* The description fd names unless it is the console's: the calls on files, directories,
 * sockets and pipes use it, and treat the console first. 0 when fd is not open or names
 * the console. */
struct tern_libc_file* tern_libc_fd_get(struct tern_libc_fd_table* table, int64_t fd);

/* Closes descriptor fd. Returns its description when this was the description's last
 * descriptor (the caller releases what it holds, then tern_libc_file_free), else 0; also 0
 * for a descriptor that is not open. */
struct tern_libc_file* tern_libc_fd_release(struct tern_libc_fd_table* table, int64_t fd);

/* Marks a description the caller has released free for reuse. */
void tern_libc_file_free(struct tern_libc_file* file);

/* fcntl(F_DUPFD) and F_DUPFD_CLOEXEC: the lowest free descriptor >= minimum naming fd's
 * description. -EBADF (fd not open), -EINVAL (minimum negative or >= TERN_LIBC_MAX_FDS,
 * as Linux for >= RLIMIT_NOFILE), -EMFILE (none free). */
int tern_libc_fd_dup_from(struct tern_libc_fd_table* table, int64_t fd, int64_t minimum,
                          int cloexec);

/* dup2 (flags -1) and dup3 (flags 0 or TERN_LINUX_O_CLOEXEC): makes target name fd's
 * description, closing what target named first; *displaced gets that description when
 * target was its last descriptor (the caller releases it), else 0. Returns target, or
 * -EBADF (fd not open, target outside 0..TERN_LIBC_MAX_FDS-1), -EINVAL (dup3 with
 * fd == target or other flags). dup2 of an open fd onto itself returns it unchanged. */
int tern_libc_fd_dup_to(struct tern_libc_fd_table* table, int64_t fd, int64_t target, int64_t flags,
                        struct tern_libc_file** displaced);

/* F_GETFD: the descriptor's flags (TERN_LINUX_FD_CLOEXEC), or -EBADF. */
int tern_libc_fd_get_flags(struct tern_libc_fd_table* table, int64_t fd);

/* F_SETFD: keeps only TERN_LINUX_FD_CLOEXEC of flags, as Linux does. 0 or -EBADF. */
int tern_libc_fd_set_flags(struct tern_libc_fd_table* table, int64_t fd, int64_t flags);

/* F_SETFL's rule: the status flags a description keeps after setting flags (only
 * O_APPEND and O_NONBLOCK change; the access mode and creation flags are ignored). */
uint32_t tern_libc_status_flags_set(uint32_t current, int64_t flags);

/* The descriptors exec would close (close-on-exec set): fills fds[] and returns how many. */
int tern_libc_fd_cloexec_list(const struct tern_libc_fd_table* table, int fds[TERN_LIBC_MAX_FDS]);

/* ---- Offsets ---- */

/* lseek's arithmetic: the new offset in *result, from position, the end (size) and
 * offset. -EINVAL for an unknown whence or a negative result; -EOVERFLOW for a result
 * beyond INT64_MAX. Offsets past the end are allowed, as on Linux (reads there give 0). */
int tern_libc_lseek(uint64_t position, uint64_t size, int64_t offset, int64_t whence,
                    uint64_t* result);

/* How many bytes a read of want bytes at position gets from a file of size bytes. */
uint64_t tern_libc_read_count(uint64_t position, uint64_t size, uint64_t want);

/* ---- Paths ---- */

/* Resolves path against directory (a normalised absolute path; relative paths of the
 * process resolve against "/", its only working directory) into out, a normalised
 * absolute path: one "/" between components, no "." or "..", ".." at the root stays at
 * the root, no trailing "/" except for the root itself. *must_be_directory is 1 when path
 * ends in "/", "/." or "/.." (Linux then refuses a regular file with ENOTDIR).
 * Errors: -ENOENT for an empty path; -ENAMETOOLONG when path has TERN_LINUX_PATH_MAX bytes
 * or more, a component is longer than TERN_LINUX_NAME_MAX, or the result does not fit out
 * (capacity bytes with the NUL). */
int tern_libc_normalize_path(const char* directory, const char* path, char* out, uint64_t capacity,
                             int* must_be_directory);

/* A stable inode number for a normalised path (never 0). */
uint64_t tern_libc_path_inode(const char* path);

/* ---- stat, access, open ---- */

/* Fills *st for an object: S_IFREG, S_IFDIR or S_IFCHR with the permission bits of
 * mode, size, st_blksize TERN_LIBC_BLOCK_SIZE, st_blocks in 512-byte units, one link (two
 * for a directory), owner root, times 0. */
void tern_libc_fill_stat(struct tern_linux_stat* st, enum tern_libc_node_type type, uint32_t mode,
                         uint64_t size, uint64_t inode);

/* What a file protocol server says of a node, as struct stat: its type and permission
 * bits (mode), size, links, owner and times (nanoseconds since 1970); st_dev is device,
 * st_blocks the size in 512-byte units rounded up. */
void tern_libc_fill_stat_node(struct tern_linux_stat* st, uint64_t device, uint64_t inode,
                              uint32_t mode, uint64_t size, uint32_t nlink, uint32_t uid,
                              uint32_t gid, int64_t atime_ns, int64_t mtime_ns, int64_t ctime_ns);

/* access()'s rule on the read-only boot file system: -EINVAL for bits other than R_OK,
 * W_OK and X_OK; -EROFS for W_OK; -EACCES for R_OK or X_OK the mode does not grant to
 * anybody (the program runs as root, so any class's bit will do, as for root on Linux:
 * X_OK needs at least one execute bit; a directory is always searchable); else 0. */
int tern_libc_access_check(uint32_t mode, int is_directory, int64_t amode);

/* The open flags a read-only file system refuses before looking the path up: -EROFS for
 * O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or O_TMPFILE, -EINVAL for an access mode of 3. */
int tern_libc_open_check_flags(int64_t flags);

/* The rule once the path is known to exist: -ENOTDIR for a regular file opened with
 * O_DIRECTORY or named with a trailing "/"; else 0. */
int tern_libc_open_check_type(int64_t flags, int is_directory, int must_be_directory);

/* Checks a bootfs Map reply before the client maps it: map_offset and map_size whole
 * pages, data_offset + size inside map_size without overflow. 0 or -EBADMSG. */
int tern_libc_check_map_reply(uint64_t size, uint64_t map_offset, uint64_t map_size,
                              uint64_t data_offset);

/* ---- Directories ---- */

/* The entries of a bootfs List reply (one per line, a directory's name ending in "/"),
 * plus "." and "..": what lseek(SEEK_END) counts from. Malformed lines (empty, a "/"
 * inside the name, longer than NAME_MAX, a NUL) are skipped here and below. */
uint64_t tern_libc_listing_entries(const char* listing, uint64_t size);

/* Writes struct linux_dirent64 records (d_ino, d_off = the next index, d_reclen, d_type,
 * d_name) for the entries of listing from *index on into out[0, capacity), 8-byte
 * aligned, and advances *index. Entry 0 is ".", 1 is "..", then the listing's in its
 * order. Returns the bytes written, 0 at the end, or -EINVAL when not even the next
 * record fits. directory (normalised) gives the inode numbers. */
int64_t tern_libc_fill_dirents(const char* listing, uint64_t size, const char* directory,
                               uint64_t* index, void* out, uint64_t capacity);

/* ---- The console's input ---- */

/* Copies up to capacity pending bytes to out and returns how many. */
uint64_t tern_libc_line_take(struct tern_libc_line_buffer* buffer, void* out, uint64_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_FILES_H */

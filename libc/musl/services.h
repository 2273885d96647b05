/*
 * Tern's musl port: what the backend (backend.c, C) asks of the native runtime
 * (services.cpp, C++): the startup block, and the console, the boot file system and the
 * writable file servers (tmpfs), reached through the name server with the typed protocol layer
 * (libc/native/include/tern/protocol.h).
 *
 * Every function returns a Linux result: >= 0, or a negated Linux errno, translated from
 * Tern's statuses by the one table in portable/translate.cpp. None touches errno or any
 * other thread-local object (the start calls them before musl sets up thread-local
 * storage), none allocates, and none prints.
 *
 * The cached server handles and the console's pending line are shared by the process's
 * threads: the backend calls these functions under its lock (backend_threads.c,
 * tern_libc_lock), never from a thread's own calls that run without it.
 */
#ifndef TERN_LIBC_MUSL_SERVICES_H
#define TERN_LIBC_MUSL_SERVICES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The startup block (abi/include/tern/abi/startup.h) ---- */

struct tern_libc_startup_info {
    uint64_t pid; /* the global process id */
    const char* const* argv;
    const char* const* envp;
    uint32_t argc;
    uint32_t envc;
};

/* Accepts arg (the first thread's RDI) as the startup block when it is one, checked
 * thoroughly (tern::startup_init), and describes it in *info. Returns 1 for a block, 0
 * for a program the kernel started with a plain start argument (*info is then zeroed). */
int tern_libc_startup_init(uint64_t arg, struct tern_libc_startup_info* info);

/* The global process id from the startup block; 0 for a program the kernel started. */
uint64_t tern_libc_startup_pid(void);

/* ---- The process server ("proc", tern/protocols/proc.h; fork in backend_process.c) ----
 * Each returns 0 or a Tern status negated (-TERN_*); -TERN_NOT_FOUND (or NOT_SUPPORTED for
 * fork) when the program has no proc server (the kernel started it). */

/* A forked child's own global pid and its parent's: 0 in a process that was not forked
 * (the startup block's pid holds then). The parent writes them into the child's memory
 * with task_vm_write before the child runs. */
extern volatile uint64_t tern_libc_fork_pid;
extern volatile uint64_t tern_libc_fork_parent;

/* This task's handle to itself (tern::self()). */
uint32_t tern_libc_self_task(void);

/* proc Fork: makes task (a clone of this process; the handle goes to proc) a child
 * process; *pid its global pid. thread (0: none), the clone's thread, goes to proc too:
 * its signals are delivered on it. */
int64_t tern_libc_proc_fork(uint32_t task, uint32_t thread, uint64_t* pid);
/* proc Wait for the child pid (global; 0: any child), or with group for any child in the
 * process group pid (0: the caller's); kWaitNoHang with nohang (-TERN_WOULD_BLOCK while
 * it runs). -TERN_INTERRUPTED when a signal cut the wait short. */
int64_t tern_libc_proc_wait(uint64_t pid, int group, int nohang, uint64_t* which, int64_t* status);
/* proc Kill: pid ends with status (1..255). */
int64_t tern_libc_proc_kill(uint64_t pid, int64_t status);
/* proc Parent: *parent = the pid's parent; *parent_task (when not null) its kernel task
 * id, 0 when the parent has ended (or is not of this node). */
int64_t tern_libc_proc_parent(uint64_t pid, uint64_t* parent, uint64_t* parent_task);
/* 1 when the process has ended (a zombie, reaped, or never known), 0 while it runs or
 * when proc cannot be asked. */
int tern_libc_proc_ended(uint64_t pid);

/* ---- The console server ("console", tern/protocols/console.h) ---- */

/* What the console calls return when the program has no console server: it has no name
 * server, or "console" was not registered within a few seconds, or it went away and a
 * second lookup failed. The caller then falls back (kernel debug output; end of input). */
#define TERN_LIBC_NO_SERVER (-19) /* -ENODEV */

/* 1 when the program has a console server (looking it up the first time), else 0. */
int tern_libc_console_present(void);
/* The console server's port (found on first use), or TERN_INVALID_HANDLE. */
uint32_t tern_libc_console_port(void);

/* Writes size bytes through console Write, in calls of at most 4096 bytes. Returns the
 * bytes written (fewer when the server takes fewer: a short write), a negated errno when
 * nothing was written, or TERN_LIBC_NO_SERVER. */
int64_t tern_libc_console_write(const void* data, uint64_t size);

/* Reads at most size bytes of console input: first what is left of the last line, else,
 * when wait is 1, the next line (console Read; the reply is the line with its "\n").
 * Returns the bytes read; 0 at end of input (Ctrl-D), without a console server, when
 * wait is 0 and nothing is pending, or when a raw-mode read's VMIN/VTIME let it end with
 * nothing; -EINTR when Ctrl-C interrupted the read. */
int64_t tern_libc_console_read(void* out, uint64_t size, int wait);

/* Bytes a read of the console would find now (FIONREAD). */
int64_t tern_libc_console_pending(void);
/* The terminal's settings (console GetAttr): Linux's kernel struct termios (36 bytes) to
 * termios and struct winsize to window, either may be null. 0 or a negated errno
 * (-ENOTTY without a console server). */
int64_t tern_libc_console_get_attr(void* termios, void* window);
/* tcsetattr: when is 0 (TCSETS), 1 (TCSETSW) or 2 (TCSETSF, typed input dropped first). */
int64_t tern_libc_console_set_attr(const void* termios, uint32_t when);
/* tcflush: queue is TCIFLUSH, TCOFLUSH or TCIOFLUSH. */
int64_t tern_libc_console_flush(uint32_t queue);
/* TIOCSWINSZ: the console keeps the size (a change sends SIGWINCH to the foreground). */
int64_t tern_libc_console_set_window(const void* window);

/* ---- The boot file system ("bootfs", tern/protocols/bootfs.h) ----
 * Paths are normalised absolute paths (portable/files.h). Without a bootfs server every
 * path is -ENOENT: there is no file system. */

struct tern_libc_bootfs_node {
    uint64_t size;
    uint32_t mode; /* permission bits */
    uint32_t is_directory;
};

/* bootfs Stat. The root "/" is a directory of its own (mode 0555) without a call. */
int tern_libc_bootfs_stat(const char* path, struct tern_libc_bootfs_node* node);

struct tern_libc_bootfs_mapping {
    uint64_t map_address; /* 0 when nothing was mapped (an empty file) */
    uint64_t map_size;
    uint64_t map_offset; /* where map_address's first byte is in memory */
    const char* data;    /* the file's bytes, inside the mapping */
    uint64_t size;
    uint32_t memory; /* the memory object's handle */
    uint32_t mode;
};

/* bootfs Map, then maps the reply's memory object read-only into this task (through
 * tern::self(): the startup block's TERN_STARTUP_SELF, or TERN_HANDLE_SELF) after checking
 * the reply's bounds (-EBADMSG). */
int tern_libc_bootfs_map(const char* path, struct tern_libc_bootfs_mapping* mapping);

/* Undoes tern_libc_bootfs_map: unmaps and closes the memory handle. */
void tern_libc_bootfs_unmap(uint64_t map_address, uint64_t map_size, uint32_t memory);

/* bootfs List of a directory into buffer (16384 bytes hold any reply); returns the
 * listing's size. */
int64_t tern_libc_bootfs_list(const char* path, char* buffer, uint64_t capacity);

/* ---- Writable file servers (tern/protocols/file.h): tmpfs, later the distributed file
 * system client ----
 * server names one (TERN_LIBC_SERVER_*, from the mount table, portable/mounts.h); paths
 * are the server's (absolute). Each call returns 0 (or a count) or a negated errno: the
 * server's answer, a status translated by portable/translate.cpp, or -ENODEV when the
 * program has no such server. Calls that move data split it into the protocol's pieces. */

struct tern_libc_file_attr {
    uint64_t inode;
    uint64_t size;
    int64_t atime_ns;
    int64_t mtime_ns;
    int64_t ctime_ns;
    uint32_t mode; /* S_IFMT type bits and permission bits */
    uint32_t nlink;
    uint32_t uid;
    uint32_t gid;
};

struct tern_libc_file_statfs {
    uint64_t block_size;
    uint64_t total_bytes;
    uint64_t free_bytes;
    uint64_t total_nodes;
    uint64_t free_nodes;
    uint64_t name_max;
};

/* The file protocol's open flags (Open). */
#define TERN_LIBC_FS_CREATE 1u
#define TERN_LIBC_FS_EXCLUSIVE 2u
#define TERN_LIBC_FS_TRUNCATE 4u
#define TERN_LIBC_FS_DIRECTORY 8u

/* Lookup. Returns TERN_LIBC_FS_LINK_IN_PATH when a symbolic link stands before the last
 * component: *link_end is the length of path up to the end of the link's name (the
 * caller reads it and looks again). */
#define TERN_LIBC_FS_LINK_IN_PATH 1
int tern_libc_fs_lookup(uint32_t server, const char* path, struct tern_libc_file_attr* attr,
                        uint32_t* link_end);
int tern_libc_fs_open(uint32_t server, const char* path, uint32_t flags, uint32_t mode,
                      struct tern_libc_file_attr* attr);
int tern_libc_fs_getattr(uint32_t server, uint64_t inode, struct tern_libc_file_attr* attr);
/* Reads up to size bytes at offset (in pieces); the bytes read, fewer at the end. */
int64_t tern_libc_fs_read(uint32_t server, uint64_t inode, uint64_t offset, void* data,
                          uint64_t size);
/* Writes size bytes at offset, or at the end with append; *end gets the offset after the
 * last byte written. The bytes written (fewer when a later piece failed). */
int64_t tern_libc_fs_write(uint32_t server, uint64_t inode, uint64_t offset, const void* data,
                           uint64_t size, int append, uint64_t* end);
int tern_libc_fs_truncate(uint32_t server, uint64_t inode, uint64_t size);
int tern_libc_fs_chmod(uint32_t server, uint64_t inode, uint32_t mode);
/* Sets a node's access and modification times in nanoseconds since 1970, or
 * TERN_LIBC_TIME_NOW / TERN_LIBC_TIME_OMIT (the file protocol's kTimeNow, kTimeOmit). */
#define TERN_LIBC_TIME_NOW INT64_MIN
#define TERN_LIBC_TIME_OMIT (INT64_MIN + 1)
int tern_libc_fs_set_times(uint32_t server, uint64_t inode, int64_t atime_ns, int64_t mtime_ns);
/* fcntl's record locks (the file protocol's Lock): command TERN_LIBC_LOCK_GET, _SET or
 * _WAIT; *lock is the request (type F_RDLCK/F_WRLCK/F_UNLCK, [start, end), end
 * TERN_LIBC_LOCK_TO_END for l_len 0, pid the owner) and, for GET, the answer (type F_UNLCK
 * when nothing conflicts). 0 or a negated errno. */
#define TERN_LIBC_LOCK_GET 0
#define TERN_LIBC_LOCK_SET 1
#define TERN_LIBC_LOCK_WAIT 2
#define TERN_LIBC_LOCK_TO_END UINT64_MAX
struct tern_libc_lock {
    uint32_t type;
    uint32_t pid;
    uint64_t start;
    uint64_t end;
    uint64_t flock_owner; /* flock(2): the description's id (0 for fcntl's locks) */
};
int tern_libc_fs_lock(uint32_t server, uint64_t inode, uint32_t command,
                      struct tern_libc_lock* lock);
/* All of pid's record locks on the node go (a descriptor of the file was closed), or with
 * a nonzero flock_owner that description's flock lock. */
int tern_libc_fs_release_locks(uint32_t server, uint64_t inode, uint32_t pid, uint64_t flock_owner);
int tern_libc_fs_rename(uint32_t server, const char* from, const char* to);
int tern_libc_fs_unlink(uint32_t server, const char* path);
int tern_libc_fs_mkdir(uint32_t server, const char* path, uint32_t mode);
int tern_libc_fs_rmdir(uint32_t server, const char* path);
int tern_libc_fs_symlink(uint32_t server, const char* target, const char* path);
/* A new name (path) for the regular file at existing (link()). */
int tern_libc_fs_link(uint32_t server, const char* existing, const char* path);
/* The link's target into buffer (not NUL-terminated); its length. */
int64_t tern_libc_fs_readlink(uint32_t server, const char* path, char* buffer, uint64_t capacity);
/* List of a directory's entries from index start into buffer (TERN_LIBC_FS_LIST_BYTES
 * bytes of tern::file::ListEntry records); the bytes filled, *next the index after the
 * last, *done 1 when none follows. */
#define TERN_LIBC_FS_LIST_BYTES 16384
int64_t tern_libc_fs_list(uint32_t server, uint64_t inode, uint64_t start, void* buffer,
                          uint64_t* next, int* done);
int tern_libc_fs_statfs(uint32_t server, struct tern_libc_file_statfs* out);
/* Map: a handle to the memory object holding a file's bytes in *memory (with WRITE only
 * when write), covering at least [0, end); *size its size. The caller maps it and closes
 * the handle. */
int tern_libc_fs_map(uint32_t server, uint64_t inode, uint64_t end, int write, uint32_t* memory,
                     uint64_t* size);

/* ---- The network server ("net", tern/protocols/net.h; net_client.cpp) ----
 * Each call returns >= 0 on success or a Tern status negated (-TERN_*, not an errno: the
 * same status means different errnos to different socket calls, which portable/sockets.cpp
 * decides). TERN_LIBC_NET_NO_SERVER when the program has no network server. Calls that
 * wait (accept, connect, send, recv without nonblocking) wait as long as the server does. */
#define TERN_LIBC_NET_NO_SERVER (-1000)

struct tern_libc_net_address {
    uint32_t ip; /* host order */
    uint16_t port;
    uint16_t reserved;
};

struct tern_libc_net_received {
    uint32_t size;
    uint32_t end_of_stream;
    uint32_t truncated;
    struct tern_libc_net_address from;
};

/* One socket of a Poll: socket and events (TERN_NET_POLL_*) in, events, error (a Tern
 * status) and the server's state out. The layout of net::PollResult. */
struct tern_libc_net_poll {
    uint32_t socket;
    uint32_t events;
    int32_t error;
    uint32_t state;
};
#define TERN_LIBC_NET_MAX_POLL 64
#define TERN_LIBC_NET_MAX_DATA 32768
#define TERN_LIBC_NET_MAX_DATAGRAM 8192
#define TERN_LIBC_NET_FOREVER (~(uint64_t)0)

int64_t tern_libc_net_socket(int stream);
int tern_libc_net_bind(uint32_t id, uint32_t ip, uint16_t port,
                       struct tern_libc_net_address* bound);
int tern_libc_net_listen(uint32_t id, uint32_t backlog);
int tern_libc_net_accept(uint32_t id, int nonblocking, uint32_t* accepted,
                         struct tern_libc_net_address* peer);
int tern_libc_net_connect(uint32_t id, int nonblocking, uint32_t ip, uint16_t port);
/* to may be 0 (the connected peer). size <= TERN_LIBC_NET_MAX_DATA, and
 * <= TERN_LIBC_NET_MAX_DATAGRAM for a datagram. A blocking send waits
 * for room no longer than wait_ns (0: without limit), then fails with TERN_WOULD_BLOCK. */
int64_t tern_libc_net_send(uint32_t id, int nonblocking, uint64_t wait_ns,
                           const struct tern_libc_net_address* to, const void* data, uint32_t size);
/* buffer: room for TERN_LIBC_NET_MAX_DATA bytes; max 1..TERN_LIBC_NET_MAX_DATA. A blocking
 * receive waits no longer than wait_ns (0: without limit), then fails with
 * TERN_WOULD_BLOCK. */
int tern_libc_net_recv(uint32_t id, int nonblocking, uint64_t wait_ns, void* buffer, uint32_t max,
                       struct tern_libc_net_received* out);
int tern_libc_net_close(uint32_t id);
/* Makes task (a handle to another task; the caller keeps it) hold socket id as well: a
 * forked child, the new image of an execve (net Share). */
int tern_libc_net_share(uint32_t id, uint32_t task);
int tern_libc_net_shutdown(uint32_t id, uint32_t how);
int tern_libc_net_name(uint32_t id, int peer, struct tern_libc_net_address* out);
int tern_libc_net_set_option(uint32_t id, uint32_t option, uint32_t value);
/* Waits until one of entries is ready or timeout_ns passes (0: at once;
 * TERN_LIBC_NET_FOREVER: no limit); fills every entry's results and returns how many are
 * ready. */
int64_t tern_libc_net_poll(struct tern_libc_net_poll* entries, uint32_t count, uint64_t timeout_ns);

/* Console input for poll: 1 when a read of fd 0 would not wait (a line is pending, end of
 * input, or no console server), after waiting up to timeout_ns for a line; else 0. */
int tern_libc_console_wait(uint64_t timeout_ns);

/* A memory object of size bytes (whole pages) mapped read-write into this task: what a
 * pipe's ring lives in. 0, or -ENOMEM / -EDQUOT as memory_create and vm_map_memory fail. */
struct tern_libc_shared_memory {
    uint64_t address;
    uint64_t size;
    uint32_t handle;
};
int tern_libc_memory_share(uint64_t size, struct tern_libc_shared_memory* out);

/* Unmaps and closes what tern_libc_memory_share made. */
void tern_libc_memory_unshare(const struct tern_libc_shared_memory* memory);

/* Copies between this task's memory and a pointer a program passed, so that a bad pointer
 * is an error (-EFAULT) instead of a fault: in user space, by a copy whose faults the
 * kernel resumes at a return of the error (fault_resume), or through the kernel
 * (task_vm_read/task_vm_write of the task itself) when the kernel refused the range. */
int tern_libc_copy_in(void* to, const void* user, uint64_t size);
int tern_libc_copy_out(void* user, const void* from, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_SERVICES_H */

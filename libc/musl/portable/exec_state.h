/*
 * Tern's musl port: the process state that crosses execve.
 *
 * exec replaces a process's image but keeps its pid, its descriptors without
 * close-on-exec, its working directory, umask, resource limits, ignored signals and signal
 * mask. All of that lives in the old image's memory, so the old image packs it into one
 * block (this file's layout), hands the block to the new image in a memory object (startup
 * handle TERN_STARTUP_EXEC_STATE, abi/include/tern/abi/startup.h) and the new image
 * unpacks it before main runs. backend_exec.c does the calls; the packing and the checks
 * on a block are here, where the host tests (tests/unit/libc_exec_state_test.cpp) check
 * them.
 *
 * What crosses, per open file description that some descriptor without close-on-exec
 * still names: its kind, flags, mode, offset, size, server, device, node number and path,
 * for a pipe end the handle of the ring's memory object in the new task, and for a file or
 * directory shared with other processes the handle of its shared page (shared_file.h)
 * there (0 for one this process alone holds). A socket crosses with its state (the id
 * the network server knows it by, which the old image has the server share with the new
 * task first) and, once shared, its page as a file's. The console needs nothing (the new task gets
 * the console's handle). bootfs files and directories are mapped (listed) again by path in the new
 * image.
 *
 * The block: a header, then the working directory's bytes, then one record per
 * description (each followed by its path bytes, rounded up to 8). Everything is checked on
 * the way in: a block that is short, has the wrong magic or version, a record that runs
 * past the end, an unknown kind, a descriptor that names no record, a path without room
 * for its NUL, is refused whole (-EINVAL) and the new image starts with the console on
 * 0-2 as if it had no block.
 *
 * Valid C and C++; freestanding.
 */
#ifndef TERN_LIBC_MUSL_EXEC_STATE_H
#define TERN_LIBC_MUSL_EXEC_STATE_H

#include <stdint.h>

#include <libc/musl/portable/files.h>
#include <libc/musl/portable/rlimits.h>

#define TERN_LIBC_EXEC_MAGIC 0x3163657845726554ull /* "TerExec1" */
#define TERN_LIBC_EXEC_VERSION 4u
/* Processes this one shares pipes with (backend_pipes.c's peers) whose wait ports cross. */
#define TERN_LIBC_EXEC_MAX_PEERS 32u
/* The processor time that crosses: the process's own (every image before the new one)
 * and its reaped children's, user and system, in ns: TERN_LIBC_EXEC_TIME_*. */
#define TERN_LIBC_EXEC_TIMES 4u
#define TERN_LIBC_EXEC_TIME_USER 0u
#define TERN_LIBC_EXEC_TIME_SYSTEM 1u
#define TERN_LIBC_EXEC_TIME_CHILDREN_USER 2u
#define TERN_LIBC_EXEC_TIME_CHILDREN_SYSTEM 3u
/* Words kept for the signal state beyond the mask and the ignored set (handled signals
 * are reset to their default at exec, so only these cross). */
#define TERN_LIBC_EXEC_SIGNAL_WORDS 8u
/* The largest block: the header, the working directory, and 64 records with their paths. */
#define TERN_LIBC_EXEC_MAX_SIZE (64u * 1024u + 64u * (4096u + 128u) + 4096u)

/* The state besides descriptors. */
struct tern_libc_exec_process {
    uint32_t umask;
    uint32_t pipes_shared; /* a fork shared this process's pipes (backend_pipes.c) */
    /* A new process (posix_spawn): its pid and its parent's, which its startup block does
     * not carry; 0 after an execve (the pid stays the startup block's). */
    uint64_t pid;
    uint64_t parent;
    uint64_t signal_mask;    /* blocked signals: bit N-1 for signal N */
    uint64_t signal_ignored; /* signals set to SIG_IGN */
    /* For the signal state that crosses besides (pending signals, process group hooks):
     * zero unless the signal code fills it; the new image gets it back unchanged. */
    uint64_t signal_words[TERN_LIBC_EXEC_SIGNAL_WORDS];
    uint64_t times_ns[TERN_LIBC_EXEC_TIMES]; /* 0 for a new process */
    struct tern_libc_rlimit rlimits[TERN_LIBC_RLIMIT_COUNT];
    uint32_t peer_count;
    uint32_t peers[TERN_LIBC_EXEC_MAX_PEERS]; /* handles in the new task */
    char cwd[TERN_LIBC_PATH_BUFFER];
};

struct tern_libc_exec_header {
    uint64_t magic;
    uint32_t version;
    uint32_t size; /* bytes of the whole block */
    uint32_t umask;
    uint32_t pipes_shared;
    uint64_t pid;
    uint64_t parent;
    uint64_t signal_mask;
    uint64_t signal_ignored;
    uint64_t signal_words[TERN_LIBC_EXEC_SIGNAL_WORDS];
    uint64_t times_ns[TERN_LIBC_EXEC_TIMES];
    struct tern_libc_rlimit rlimits[TERN_LIBC_RLIMIT_COUNT];
    uint32_t peer_count;
    uint32_t peers[TERN_LIBC_EXEC_MAX_PEERS];
    uint32_t record_count;
    uint32_t cwd_length; /* without the NUL; the bytes follow the header, rounded up to 8 */
    uint32_t reserved;
    /* Descriptor d names record fds[d] - 1 (0: closed). */
    uint8_t fds[TERN_LIBC_MAX_FDS];
};

struct tern_libc_exec_record {
    uint32_t kind; /* enum tern_libc_fd_kind: FILE, DIRECTORY, CONSOLE, PIPE_READ, PIPE_WRITE */
    uint32_t mode;
    uint32_t flags;
    uint32_t unlinked;
    uint32_t server;
    uint32_t device;
    uint32_t handle;      /* a pipe end's memory object, a shared file's page, in the new task */
    uint32_t path_length; /* without the NUL; the bytes follow, rounded up to 8 */
    uint64_t size;
    uint64_t position;
    uint64_t inode;
    uint64_t map_size;              /* a pipe end's mapping, a shared file's page */
    struct tern_libc_socket socket; /* a socket's state (files.h), zero for other kinds */
};

#ifdef __cplusplus
extern "C" {
#endif

/* Whether exec keeps descriptor fd (open, no close-on-exec, a kind that crosses). */
int tern_libc_exec_keeps(const struct tern_libc_fd_table* table, int fd);

/* Whether exec keeps the description file (some kept descriptor names it). */
int tern_libc_exec_keeps_file(const struct tern_libc_fd_table* table,
                              const struct tern_libc_file* file);

/* Packs what exec keeps of table and process into out[0, capacity). handles[i] is the
 * handle of table->files[i]'s pipe memory in the new task (read for pipe ends only).
 * Returns the block's size, or -E2BIG when it does not fit. */
int64_t tern_libc_exec_pack(const struct tern_libc_fd_table* table,
                            const struct tern_libc_exec_process* process,
                            const uint32_t handles[TERN_LIBC_MAX_FDS], void* out,
                            uint64_t capacity);

/* Checks and unpacks a block into table (one never set up, initialised 0, must be all zero,
 * as a new image's is, and is not read; a set-up one in any state: what it held is
 * replaced without being released; descriptions at the indexes of the records, the references
 * counted, pipe rings not yet mapped: pipe.ring 0 and pipe.memory the handle; bootfs files not yet
 * mapped) and process. 0, or -EINVAL for a bad block (table and process are then untouched). */
int tern_libc_exec_unpack(const void* block, uint64_t size, struct tern_libc_fd_table* table,
                          struct tern_libc_exec_process* process);

/* The interpreter line of a "#!" script: data[0, size) starts with "#!"; the first line
 * (cut at 256 bytes with the "#!", as Linux reads it) names the interpreter and at most one
 * argument (the rest of the line, trimmed). Copies them NUL-terminated into interpreter
 * and argument (each at least 256 bytes; argument "" when none) and returns 1 when there
 * is an argument, 0 when not; -ENOEXEC when data is no script, the line names no
 * interpreter, or the cut falls inside the interpreter's name. */
int tern_libc_exec_script(const char* data, uint64_t size, char* interpreter, char* argument);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_EXEC_STATE_H */

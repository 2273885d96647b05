/*
 * Tern's musl backend: execve and execveat, and the new image's start from what the old
 * one carried over (docs/libc.md, "Processes"; docs/design.md section 11).
 *
 * The old image does all the work while it can still fail with nothing lost: it copies
 * the arguments and environment (EFAULT, E2BIG), opens the file through its own mount
 * table (so any path works: bootfs, tmpfs), checks it (EACCES without an execute bit or
 * for a directory, a "#!" line names an interpreter, ENOEXEC for anything Tern cannot
 * load), loads it into a new stopped task with a startup block carrying this process's
 * pid (exec_client.cpp, on the native runtime's spawn_image), gives that task the handles
 * the kept descriptors need (pipe rings' memory objects, the pipe peers' wait ports,
 * shared descriptions' pages), has the network server share the kept sockets with it, and
 * packs the state that crosses into a memory object the new image finds in its startup
 * block (portable/exec_state.h). Then proc's Exec moves the process record onto the new
 * task; only now does the old image close its close-on-exec descriptors (so their other
 * ends see them gone), start the new task's thread and end, without flushing stdio; its
 * end reports no exit (and its hold of the kept sockets goes with it).
 *
 * The new image's start (tern_libc_exec_restore, from start.c) unpacks the block before
 * main: descriptors, pipe rings mapped again, bootfs files mapped again by path, working
 * directory, umask, limits (backend_limits.c), the signal mask and ignored signals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <libc/musl/backend.h>
#include <libc/musl/exec_client.h>
#include <libc/musl/portable/exec_state.h>
#include <libc/musl/portable/mounts.h>
#include <libc/musl/portable/rlimits.h>
#include <libc/musl/portable/shared_file.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <tern/abi/rights.h>
#include <tern/abi/startup.h>
#include <tern/syscall.h>

_Static_assert(ENOEXEC == TERN_LINUX_ENOEXEC, "ENOEXEC differs from musl's");

/* ---- Copying the caller's arguments ---- */

enum {
    kMaxStrings = 8192,
    kStringBytes = TERN_STARTUP_MAX_SIZE,
    kMaxScriptDepth = 4, /* interpreters of interpreters, as Linux's limit */
};

static char g_strings[kStringBytes];
static const char* g_vector[kMaxStrings + 2];

/* Copies the caller's NUL-terminated string into to[0, capacity): its length, -EFAULT,
 * or -E2BIG when it does not fit. Reads never cross a page the string does not reach. */
static long copy_string(const char* user, char* to, size_t capacity) {
    size_t done = 0;
    for (;;) {
        size_t page_left = 4096 - (((uintptr_t)user + done) & 4095);
        size_t n = page_left < capacity - done ? page_left : capacity - done;
        if (n == 0)
            return -E2BIG;
        if (tern_libc_copy_in(to + done, user + done, n) != 0)
            return -EFAULT;
        for (size_t i = 0; i < n; ++i)
            if (to[done + i] == '\0')
                return (long)(done + i);
        done += n;
    }
}

struct strings {
    size_t used;  /* bytes of g_strings */
    size_t count; /* pointers in g_vector */
};

static long add_string(struct strings* s, const char* user) {
    if (s->count >= kMaxStrings)
        return -E2BIG;
    long n = copy_string(user, g_strings + s->used, kStringBytes - s->used);
    if (n < 0)
        return n;
    g_vector[s->count++] = g_strings + s->used;
    s->used += (size_t)n + 1;
    return 0;
}

/* Copies a NULL-terminated vector of the caller's strings (NULL: none). */
static long add_vector(struct strings* s, char* const* user) {
    if (!user)
        return 0;
    for (size_t i = 0;; ++i) {
        const char* item = 0;
        if (tern_libc_copy_in(&item, user + i, sizeof(item)) != 0)
            return -EFAULT;
        if (!item)
            return 0;
        long r = add_string(s, item);
        if (r != 0)
            return r;
    }
}

/* ---- Loading the file ---- */

struct image {
    const uint8_t* data;
    uint64_t size;
    uint64_t buffer; /* an anonymous copy (tmpfs) to free, or 0 (a bootfs mapping) */
    uint64_t buffer_size;
    uint32_t memory;        /* a bootfs file: the archive's memory object, else 0 */
    uint64_t memory_offset; /* where data[0] is in it */
};

/* What exec_client.h's loader takes. */
static struct tern_libc_exec_image exec_image(const struct image* image) {
    struct tern_libc_exec_image out = {image->data, image->size, image->memory, 0,
                                       image->memory_offset};
    return out;
}

static void image_free(struct image* image) {
    if (image->buffer)
        (void)tern_sys_vm_free(image->buffer, image->buffer_size);
    image->buffer = 0;
}

static const char kShellPath[] = "/bin/sh";
static const char kShellBinary[] = "/bin/busybox";

/* Opens path as exec would and reads its bytes: EACCES for a directory or a file without
 * an execute bit; the open's own errors (ENOENT, ENOTDIR, ENAMETOOLONG, ELOOP). */
static long load_file(long dirfd, const char* path, long flags, struct image* image, int* fd_out) {
    long fd;
    if ((flags & AT_EMPTY_PATH) && path[0] == '\0') {
        fd = dirfd;
        if (!tern_libc_fd_lookup(tern_libc_fds(), fd))
            return -EBADF;
        *fd_out = -1; /* the caller's own descriptor: not closed here */
    } else {
        long mode = O_RDONLY | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0);
        fd = __tern_syscall(SYS_openat, dirfd, (long)path, mode, 0, 0, 0);
        /* The POSIX shell's usual path, named by "#!/bin/sh" scripts, system() and
         * popen(): the boot archive holds no links, so it is BusyBox's binary, which runs
         * as ash under the name sh (argv[0] stays "/bin/sh"). */
        if (fd == -ENOENT && strcmp(path, kShellPath) == 0)
            fd = __tern_syscall(SYS_openat, dirfd, (long)kShellBinary, mode, 0, 0, 0);
        if (fd < 0)
            return fd;
        *fd_out = (int)fd;
    }
    struct stat st;
    long r = __tern_syscall(SYS_fstat, fd, (long)&st, 0, 0, 0, 0);
    if (r != 0)
        return r;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
        return -EACCES;
    struct tern_libc_file* file = tern_libc_fd_get(tern_libc_fds(), fd);
    if (!file || file->kind != TERN_LIBC_FD_FILE)
        return -EACCES;
    image->size = (uint64_t)st.st_size;
    if (file->data && file->size == image->size) { /* bootfs: the mapping is there */
        image->data = (const uint8_t*)file->data;
        if (file->server == TERN_LIBC_SERVER_BOOTFS && file->memory != 0
            && file->map_address != 0) {
            image->memory = file->memory;
            image->memory_offset =
                file->map_offset + ((uint64_t)(uintptr_t)file->data - file->map_address);
        }
        return 0;
    }
    if (image->size == 0) {
        image->data = (const uint8_t*)"";
        return 0;
    }
    image->buffer_size = (image->size + 4095) & ~(uint64_t)4095;
    int64_t buffer = tern_sys_vm_allocate(image->buffer_size, TERN_PROT_READ | TERN_PROT_WRITE);
    if (buffer < 0)
        return -ENOMEM;
    image->buffer = (uint64_t)buffer;
    for (uint64_t done = 0; done < image->size;) {
        long n = __tern_syscall(SYS_pread64, fd, (long)(image->buffer + done),
                                (long)(image->size - done), (long)done, 0, 0);
        if (n < 0)
            return n;
        if (n == 0) {
            image->size = done; /* it shrank meanwhile */
            break;
        }
        done += (uint64_t)n;
    }
    image->data = (const uint8_t*)(uintptr_t)image->buffer;
    return 0;
}

static const char* base_name(const char* path) {
    const char* name = path;
    for (const char* p = path; *p; ++p)
        if (*p == '/' && p[1] != '\0')
            name = p + 1;
    return name;
}

/* ---- The state that crosses ---- */

/* Gives the new task what the kept descriptors need and packs the state into its block. */
static long hand_over(struct tern_libc_exec_child* child) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    uint32_t handles[TERN_LIBC_MAX_FDS];
    memset(handles, 0, sizeof(handles));
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        if (!(used >> i & 1))
            continue;
        struct tern_libc_file* file = &table->files[i];
        if (file->references == 0 || !tern_libc_exec_keeps_file(table, file))
            continue;
        /* A socket: the new task holds it at the network server as this one does. */
        long shared = tern_libc_socket_exec_share(file, child->task);
        if (shared != 0)
            return shared;
        if (file->shared_memory != 0) {
            /* A description shared with other processes: the new image maps its page. */
            int64_t h = tern_libc_exec_give(child, file->shared_memory, TERN_RIGHTS_SAME);
            if (h < 0)
                return h;
            handles[i] = (uint32_t)h;
            continue;
        }
        if (file->kind != TERN_LIBC_FD_PIPE_READ && file->kind != TERN_LIBC_FD_PIPE_WRITE)
            continue;
        /* Both ends of one pipe share one memory object and one mapping, as before. */
        for (int j = 0; j < i && handles[i] == 0; ++j)
            if (handles[j] != 0 && table->files[j].pipe.memory == file->pipe.memory)
                handles[i] = handles[j];
        if (handles[i] != 0)
            continue;
        int64_t h = tern_libc_exec_give(child, file->pipe.memory, TERN_RIGHTS_SAME);
        if (h < 0)
            return h;
        handles[i] = (uint32_t)h;
    }
    static struct tern_libc_exec_process process;
    memset(&process, 0, sizeof(process));
    process.umask = *tern_libc_umask();
    memcpy(process.cwd, tern_libc_cwd(), sizeof(process.cwd));
    process.cwd[sizeof(process.cwd) - 1] = '\0';
    memcpy(process.rlimits, tern_libc_rlimits(), sizeof(process.rlimits));
    tern_libc_signals_exec_save(&process.signal_mask, &process.signal_ignored);
    tern_libc_times_exec_save(process.times_ns);
    uint32_t peers[TERN_LIBC_EXEC_MAX_PEERS];
    uint32_t count =
        tern_libc_pipe_exec_peers(peers, TERN_LIBC_EXEC_MAX_PEERS, &process.pipes_shared);
    for (uint32_t i = 0; i < count; ++i) {
        /* A peer whose right cannot be given falls back to looking again every few ms. */
        int64_t h = tern_libc_exec_give(child, peers[i], TERN_RIGHTS_SAME);
        if (h > 0)
            process.peers[process.peer_count++] = (uint32_t)h;
    }
    int64_t size = tern_libc_exec_pack(table, &process, handles,
                                       (void*)(uintptr_t)child->state_address, child->state_size);
    return size < 0 ? size : 0;
}

/* The bytes the state block may need: the header, the working directory and each kept
 * description with its path. */
static uint64_t state_bound(void) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    uint64_t bytes = sizeof(struct tern_libc_exec_header) + TERN_LIBC_PATH_BUFFER + 16;
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i)
        if ((used >> i & 1) && table->files[i].references != 0
            && tern_libc_exec_keeps_file(table, &table->files[i]))
            bytes += sizeof(struct tern_libc_exec_record) + strlen(table->files[i].path) + 16;
    return bytes;
}

/* After proc took the new image: the old one closes what does not cross, starts the new
 * one and ends. The closes come first, so that whatever the new image does (it may end at
 * once and be reaped) comes after them: a waiting parent takes what a reaped child still
 * held off its pipes' counts, and a close after that would count twice. */
static _Noreturn void leave(const struct tern_libc_exec_child* child) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    for (int fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd)
        if (tern_libc_fd_lookup(table, fd) && !tern_libc_exec_keeps(table, fd))
            (void)__tern_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    /* A thread that cannot start would leave the process stuck: it ends, as if killed. */
    if (tern_sys_thread_resume(child->thread) < 0)
        (void)tern_sys_task_kill(child->task, 128 + SIGKILL);
    /* The status goes nowhere: proc no longer watches this task. */
    tern_sys_task_exit(0);
    __builtin_trap();
}

/* Execs the program at path with the vector g_vector[0, argc) + [argc + 1, argc + 1 + envc). */
static long exec_path(long dirfd, const char* path, long flags, size_t argc, size_t envc,
                      struct strings* s, int depth) {
    struct image image;
    memset(&image, 0, sizeof(image));
    int fd = -1;
    long r = load_file(dirfd, path, flags, &image, &fd);
    if (r == 0 && image.size >= 2 && image.data[0] == '#' && image.data[1] == '!') {
        /* A script: run its interpreter with [interpreter, argument?, path, argv[1..]]. */
        static char interpreter[TERN_LIBC_PATH_BUFFER], argument[TERN_LIBC_PATH_BUFFER];
        int has_argument =
            tern_libc_exec_script((const char*)image.data, image.size, interpreter, argument);
        image_free(&image);
        if (fd >= 0)
            (void)__tern_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
        if (has_argument < 0)
            return has_argument;
        if (depth >= kMaxScriptDepth)
            return -ELOOP;
        size_t extra = has_argument ? 2 : 1;
        if (s->count + extra > kMaxStrings)
            return -E2BIG;
        /* The script's path as given, the interpreter and its argument go into the string
         * area; argv[0] is replaced. */
        size_t need = strlen(interpreter) + strlen(argument) + strlen(path) + 3;
        if (s->used + need > kStringBytes)
            return -E2BIG;
        char* at = g_strings + s->used;
        const char* new_items[3];
        size_t n = 0;
        const char* items[3] = {interpreter, argument, path};
        for (size_t i = 0; i < 3; ++i) {
            if (i == 1 && !has_argument)
                continue;
            size_t len = strlen(items[i]) + 1;
            memcpy(at, items[i], len);
            new_items[n++] = at;
            at += len;
        }
        s->used += (size_t)(at - (g_strings + s->used));
        /* g_vector: [argv0, argv1.., NULL, env.., NULL] -> [new.., argv1.., NULL, env.., NULL] */
        size_t old_args = argc > 0 ? argc - 1 : 0;
        memmove(&g_vector[n], &g_vector[argc > 0 ? 1 : 0],
                (old_args + 1 + envc + 1) * sizeof(char*));
        for (size_t i = 0; i < n; ++i)
            g_vector[i] = new_items[i];
        s->count = n + old_args + 1 + envc + 1;
        return exec_path(AT_FDCWD, new_items[0], 0, n + old_args, envc, s, depth + 1);
    }
    if (r == 0 && (image.size < 4 || memcmp(image.data, "\177ELF", 4) != 0))
        r = -ENOEXEC;
    if (r == 0)
        r = tern_libc_exec_check_image(image.data, image.size);
    struct tern_libc_exec_child child;
    memset(&child, 0, sizeof(child));
    if (r == 0) {
        struct tern_libc_exec_image loaded = exec_image(&image);
        r = tern_libc_exec_build(&loaded, base_name(path), g_vector, g_vector + argc + 1,
                                 tern_libc_startup_pid(), state_bound(), &child);
    }
    image_free(&image);
    if (fd >= 0)
        (void)__tern_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    if (r != 0)
        return r;
    r = hand_over(&child);
    if (r == 0)
        r = tern_libc_exec_commit(&child, base_name(path));
    if (r != 0) {
        tern_libc_exec_discard(&child);
        return r;
    }
    leave(&child);
}

static long sys_execveat(long dirfd, const char* user_path, char* const* argv, char* const* envp,
                         long flags) {
    if (flags & ~(long)(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return -EINVAL;
    static char path[TERN_LIBC_PATH_BUFFER];
    long n = copy_string(user_path, path, sizeof(path));
    if (n == -E2BIG)
        return -ENAMETOOLONG;
    if (n < 0)
        return n;
    if (n == 0 && !(flags & AT_EMPTY_PATH))
        return -ENOENT;
    struct strings s = {0, 0};
    long r = add_vector(&s, argv);
    if (r != 0)
        return r;
    size_t argc = s.count;
    g_vector[s.count++] = 0;
    r = add_vector(&s, envp);
    if (r != 0)
        return r;
    size_t envc = s.count - argc - 1;
    g_vector[s.count++] = 0;
    return exec_path(dirfd, path, flags, argc, envc, &s, 0);
}

/* ---- posix_spawn without a fork ---- */

/* Copies the caller's path, arguments and environment into g_strings and g_vector; the
 * counts of arguments and environment strings. */
static long copy_call(const char* user_path, char* const* argv, char* const* envp, char* path,
                      size_t path_size, struct strings* s, size_t* argc, size_t* envc) {
    long n = copy_string(user_path, path, path_size);
    if (n == -E2BIG)
        return -ENAMETOOLONG;
    if (n < 0)
        return n;
    if (n == 0)
        return -ENOENT;
    long r = add_vector(s, argv);
    if (r != 0)
        return r;
    *argc = s->count;
    g_vector[s->count++] = 0;
    r = add_vector(s, envp);
    if (r != 0)
        return r;
    *envc = s->count - *argc - 1;
    g_vector[s->count++] = 0;
    return 0;
}

/* Applies close and dup2 actions to the descriptor slots alone (nothing is released or
 * counted: the slots are put back once the state is packed). -EBADF for a dup2 of a
 * descriptor that is not open, or a target outside the table. */
static long apply_slot_ops(struct tern_libc_fd_table* table, const struct tern_libc_spawn_op* ops,
                           int count) {
    for (int i = 0; i < count; ++i) {
        int fd = ops[i].fd;
        if (fd < 0 || fd >= TERN_LIBC_MAX_FDS)
            return -EBADF;
        if (ops[i].cmd == TERN_LIBC_SPAWN_CLOSE) {
            table->fds[fd].file = 0; /* closing what is not open is no error, as on Linux */
            table->fds[fd].flags = 0;
            continue;
        }
        int from = ops[i].source;
        if (from < 0 || from >= TERN_LIBC_MAX_FDS || table->fds[from].file == 0)
            return -EBADF;
        table->fds[fd].file = table->fds[from].file;
        table->fds[fd].flags = 0; /* dup2, also onto itself, clears close-on-exec */
    }
    return 0;
}

long tern_libc_spawn(const char* user_path, char* const* argv, char* const* envp,
                     const struct tern_libc_spawn_op* ops, int op_count, const uint64_t* mask,
                     uint64_t defaults, long* pid_out) {
    uint64_t self = tern_libc_startup_pid();
    if (self == 0)
        return TERN_LIBC_SPAWN_FORK; /* fork's ENOSYS, as before */
    static char path[TERN_LIBC_PATH_BUFFER];
    struct strings s = {0, 0};
    size_t argc = 0, envc = 0;
    long r = copy_call(user_path, argv, envp, path, sizeof(path), &s, &argc, &envc);
    if (r != 0)
        return r;
    struct image image;
    memset(&image, 0, sizeof(image));
    int fd = -1;
    r = load_file(AT_FDCWD, path, 0, &image, &fd);
    if (r == 0 && image.size >= 2 && image.data[0] == '#' && image.data[1] == '!')
        r = TERN_LIBC_SPAWN_FORK; /* a script: exec finds its interpreter */
    else if (r == 0 && (image.size < 4 || memcmp(image.data, "\177ELF", 4) != 0))
        r = -ENOEXEC;
    if (r == 0)
        r = tern_libc_exec_check_image(image.data, image.size);
    /* From here to the start the descriptor slots show the child's view; nothing between
     * opens or closes a descriptor. */
    struct tern_libc_fd_table* table = tern_libc_fds();
    static struct tern_libc_fd_slot saved[TERN_LIBC_MAX_FDS];
    memcpy(saved, table->fds, sizeof(saved));
    if (fd >= 0) { /* the program's file, opened here: not the caller's to name */
        table->fds[fd].file = 0;
        table->fds[fd].flags = 0;
    }
    if (r == 0)
        r = apply_slot_ops(table, ops, op_count);
    for (int i = 0; r == 0 && i < TERN_LIBC_MAX_FDS; ++i) {
        if (!tern_libc_exec_keeps(table, i))
            continue;
        uint32_t kind = table->files[table->fds[i].file - 1].kind;
        if (kind == TERN_LIBC_FD_PIPE_READ || kind == TERN_LIBC_FD_PIPE_WRITE)
            r = TERN_LIBC_SPAWN_FORK; /* a kept pipe is counted by fork's path */
    }
    struct tern_libc_exec_child child;
    memset(&child, 0, sizeof(child));
    if (r == 0) {
        struct tern_libc_exec_image loaded = exec_image(&image);
        r = tern_libc_exec_build(&loaded, base_name(path), g_vector, g_vector + argc + 1, 0,
                                 state_bound(), &child);
    }
    uint64_t pid = 0;
    if (r == 0) {
        r = tern_libc_exec_adopt(&child, base_name(path), &pid);
        if (r != 0)
            tern_libc_exec_discard(&child);
    }
    if (r == 0) {
        static struct tern_libc_exec_process process;
        memset(&process, 0, sizeof(process));
        process.umask = *tern_libc_umask();
        memcpy(process.cwd, tern_libc_cwd(), sizeof(process.cwd));
        process.cwd[sizeof(process.cwd) - 1] = '\0';
        memcpy(process.rlimits, tern_libc_rlimits(), sizeof(process.rlimits));
        tern_libc_signals_exec_save(&process.signal_mask, &process.signal_ignored);
        if (mask)
            process.signal_mask = *mask;
        process.signal_ignored &= ~defaults;
        process.pid = pid;
        process.parent = self;
        /* No pipe crosses; the files and directories kept become shared with the new
         * process, which maps their pages. */
        static uint32_t handles[TERN_LIBC_MAX_FDS];
        memset(handles, 0, sizeof(handles));
        uint64_t held = 0;
        uint64_t used = tern_libc_fd_descriptions(table);
        for (int i = 0; r == 0 && i < TERN_LIBC_MAX_FDS; ++i) {
            struct tern_libc_file* file = &table->files[i];
            if (!(used >> i & 1) || file->references == 0
                || !tern_libc_exec_keeps_file(table, file))
                continue;
            if ((r = tern_libc_socket_exec_share(file, child.task)) != 0)
                break;
            if (tern_libc_file_share(file) != 0 || file->shared_memory == 0)
                continue;
            int64_t h = tern_libc_exec_give(&child, file->shared_memory, TERN_RIGHTS_SAME);
            if (h < 0) {
                r = h;
                break;
            }
            handles[i] = (uint32_t)h;
            tern_libc_file_hold(file, 1);
            held |= 1ull << i;
        }
        int64_t size =
            r != 0 ? r
                   : tern_libc_exec_pack(table, &process, handles,
                                         (void*)(uintptr_t)child.state_address, child.state_size);
        r = size < 0 ? size : tern_libc_exec_start(&child);
        if (r != 0) {
            for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i)
                if (held >> i & 1)
                    tern_libc_file_hold(&table->files[i], -1);
            /* Never ran: end it and reap it (proc took it). */
            (void)tern_sys_task_kill(child.task, 128 + SIGKILL);
            tern_libc_exec_discard(&child);
            uint64_t which = 0;
            int64_t status = 0;
            (void)tern_libc_proc_wait(pid, 0, 0, &which, &status);
        }
    }
    memcpy(table->fds, saved, sizeof(saved));
    image_free(&image);
    if (fd >= 0)
        (void)__tern_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    if (r == 0)
        *pid_out = (long)(int32_t)(uint32_t)pid;
    return r;
}

/* ---- The new image's start ---- */

void tern_libc_exec_restore(void) {
    uint32_t memory = tern_libc_exec_state_handle();
    if (memory == 0)
        return;
    uint32_t self = tern_libc_self_task();
    int64_t first = tern_sys_vm_map_memory(self, memory, 0, 0, 4096, TERN_PROT_READ);
    uint64_t size = 0;
    if (first >= 0) {
        size = ((const struct tern_libc_exec_header*)(uintptr_t)first)->size;
        (void)tern_sys_vm_free((uint64_t)first, 4096);
    }
    uint64_t map_size = (size + 4095) & ~(uint64_t)4095;
    int64_t at = first < 0 || size == 0 || size > TERN_LIBC_EXEC_MAX_SIZE
                     ? -1
                     : tern_sys_vm_map_memory(self, memory, 0, 0, map_size, TERN_PROT_READ);
    static struct tern_libc_exec_process process;
    struct tern_libc_fd_table* table = tern_libc_fds_unset();
    if (at < 0 || tern_libc_exec_unpack((const void*)(uintptr_t)at, size, table, &process) != 0) {
        static const char line[] = "libc: the state exec carried is unreadable; starting afresh\n";
        (void)tern_sys_debug_write((uint64_t)(uintptr_t)line, sizeof(line) - 1);
        if (at >= 0)
            (void)tern_sys_vm_free((uint64_t)at, map_size);
        (void)tern_sys_handle_close(memory);
        return;
    }
    (void)tern_sys_vm_free((uint64_t)at, map_size);
    (void)tern_sys_handle_close(memory);
    if (process.pid != 0) { /* a new process (posix_spawn): who it is and its parent */
        tern_libc_fork_pid = process.pid;
        tern_libc_fork_parent = process.parent;
    }

    int pipes = 0;
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        if (!(used >> i & 1))
            continue;
        struct tern_libc_file* file = &table->files[i];
        if (file->references == 0)
            continue;
        long r = 0;
        if (file->kind == TERN_LIBC_FD_PIPE_READ || file->kind == TERN_LIBC_FD_PIPE_WRITE) {
            ++pipes;
            for (int j = 0; j < i && !file->pipe.ring; ++j)
                if ((used >> j & 1) && table->files[j].references && table->files[j].pipe.ring
                    && table->files[j].pipe.memory == file->pipe.memory)
                    file->pipe.ring = table->files[j].pipe.ring;
            if (!file->pipe.ring) {
                int64_t ring =
                    tern_sys_vm_map_memory(self, file->pipe.memory, 0, 0, file->pipe.map_size,
                                           TERN_PROT_READ | TERN_PROT_WRITE);
                if (ring < 0)
                    r = -ENOMEM;
                else
                    file->pipe.ring = (struct tern_libc_pipe_ring*)(uintptr_t)ring;
            }
        } else if ((file->kind == TERN_LIBC_FD_FILE || file->kind == TERN_LIBC_FD_DIRECTORY)
                   && file->server == 0 /* TERN_LIBC_SERVER_BOOTFS */) {
            (void)tern_libc_file_shared_map(file); /* private when it cannot be mapped */
            r = tern_libc_bootfs_reopen(file);
        } else if (file->kind == TERN_LIBC_FD_FILE || file->kind == TERN_LIBC_FD_DIRECTORY
                   || file->kind == TERN_LIBC_FD_SOCKET) {
            (void)tern_libc_file_shared_map(file);
        } else if (file->kind == TERN_LIBC_FD_MQUEUE) {
            r = tern_libc_mq_reopen(file);
        }
        if (r != 0) {
            /* What cannot be had again is closed: its descriptors are free, and a shared
             * description counts this process no more. */
            if (file->shared) {
                tern_libc_file_hold(file, -1);
                struct tern_libc_shared_memory page = {(uint64_t)(uintptr_t)file->shared,
                                                       TERN_LIBC_SHARED_FILE_SIZE,
                                                       file->shared_memory};
                tern_libc_memory_unshare(&page);
            }
            for (int fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd)
                if (table->fds[fd].file == (uint16_t)(i + 1))
                    table->fds[fd].file = 0;
            memset(file, 0, sizeof(*file));
        }
    }
    memcpy(tern_libc_cwd(), process.cwd, sizeof(process.cwd));
    *tern_libc_umask() = process.umask;
    memcpy(tern_libc_rlimits(), process.rlimits, sizeof(process.rlimits));
    tern_libc_signals_exec_restore(process.signal_mask, process.signal_ignored);
    tern_libc_times_exec_restore(process.times_ns);
    if (pipes > 0 || process.peer_count > 0)
        tern_libc_pipe_exec_start(process.peers, process.peer_count, (int)process.pipes_shared);
}

long tern_libc_exec_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_execve:
        return sys_execveat(AT_FDCWD, (const char*)a1, (char* const*)a2, (char* const*)a3, 0);
    case SYS_execveat:
        return sys_execveat(a1, (const char*)a2, (char* const*)a3, (char* const*)a4, a5);
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

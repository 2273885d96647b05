/*
 * Tern's musl backend: pipes.
 *
 * A pipe is a ring in a memory object (portable/pipe.h) mapped into the process; both
 * ends are descriptions in the process's one descriptor table (portable/files.h), kinds
 * TERN_LIBC_FD_PIPE_READ and TERN_LIBC_FD_PIPE_WRITE, and point at the same mapping. A
 * write copies the program's bytes into the ring and a read copies them out, through the
 * kernel (tern_libc_copy_in/out), so a bad buffer is EFAULT; no server is involved. The
 * memory object is what a pipe end will be handed to another task as.
 *
 * A call that must wait (a blocking read of an empty pipe, a blocking write to a full one)
 * waits on the process's pipe port, which every change to one of its pipes signals, and
 * looks again. poll and select (backend_sockets.c) ask tern_libc_pipe_poll and wait on the
 * same port.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/pipe.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <tern/abi/message.h>
#include <tern/abi/rights.h>
#include <tern/syscall.h>

_Static_assert(TERN_LINUX_PIPE_BUF == PIPE_BUF, "PIPE_BUF differs from musl's");
_Static_assert((TERN_LIBC_PIPE_CAPACITY & (TERN_LIBC_PIPE_CAPACITY - 1)) == 0,
               "the ring's capacity is a power of two");

/* The port the process's pipe waits sleep on: created with the first pipe, or, in a forked
 * child that holds pipes, at the fork. */
static uint32_t g_wake_port;

/* Pipes across processes. Set once a fork shared this process's pipes with another
 * process. The processes holding a pipe wake each other through their wait ports: each
 * keeps send and signal rights to the others' ports (g_peers) and signals them all
 * whenever one of its pipes changes. A child inherits its parent's peers (the clone copies
 * handles without RECEIVE) plus such a right to the parent's own port, made before the
 * clone; it then makes its own port and sends such a right to it to every peer
 * (TERN_LIBC_PIPE_PEER_LABEL), which each takes in when it next looks at its port. Until
 * then, and should a peer's queue be full, waits on a shared pipe also look again every
 * kSharedPollNs. */
static int g_shared;
static const uint64_t kSharedPollNs = 5000000;
#define TERN_LIBC_PIPE_PEER_LABEL 0x50495045u /* "PIPE" */
#define MAX_PEERS 32
static uint32_t g_peers[MAX_PEERS];
static uint32_t g_peer_count;
/* The send and signal right to this process's port the child being forked inherits. */
static uint32_t g_port_for_child;

static void add_peer(uint32_t handle) {
    for (uint32_t i = 0; i < g_peer_count; ++i)
        if (g_peers[i] == handle)
            return;
    if (g_peer_count == MAX_PEERS) {
        (void)tern_sys_handle_close(handle); /* waits fall back to looking again */
        return;
    }
    g_peers[g_peer_count++] = handle;
}

/* Takes in what peers sent (their ports) and returns 1 when a signal was among them. */
static int take_message(const struct tern_msg* message) {
    if (message->hdr.label == TERN_LABEL_SIGNAL)
        return 1;
    for (uint32_t i = 0; i < message->hdr.handle_count && i < TERN_MSG_MAX_HANDLES; ++i) {
        if (message->hdr.label == TERN_LIBC_PIPE_PEER_LABEL)
            add_peer(message->handles[i]);
        else
            (void)tern_sys_handle_close(message->handles[i]);
    }
    return 0;
}

/* Threads of this process waiting in tern_libc_pipe_wait. A thread counts itself before it
 * lets go of the backend's lock, after it found its pipe not ready under that lock, so a
 * change made under the lock either came before that look or sees the count. */
static uint32_t g_waiting;

/* Wakes whoever waits for any pipe of this process, here and in its peers. The process's
 * own port is signalled only when one of its threads waits: a signal nobody waits for
 * stays pending and would only make the next wait return at once, for nothing. take_ports
 * 0 leaves the ports peers sent in the queue (none was announced since the last look). */
static void wake_peers(int take_ports) {
    int signalled = 0;
    if (g_shared && g_wake_port != 0 && take_ports) {
        /* New peers first, so that they are woken too. A signal taken with them (a peer's
         * wake) is sent again below, for whoever waits next. */
        struct tern_msg message;
        for (;;) {
            memset(&message, 0, sizeof(message));
            if (tern_sys_port_receive(g_wake_port, (uint64_t)(uintptr_t)&message, 0) < 0)
                break;
            signalled |= take_message(&message);
        }
    }
    if (g_wake_port != 0 && (signalled || __atomic_load_n(&g_waiting, __ATOMIC_SEQ_CST) != 0))
        (void)tern_sys_port_signal(g_wake_port, 1);
    if (!g_shared)
        return;
    for (uint32_t i = 0; i < g_peer_count;) {
        if (tern_sys_port_signal(g_peers[i], 1) == -TERN_PEER_CLOSED) {
            /* That process has ended. */
            (void)tern_sys_handle_close(g_peers[i]);
            g_peers[i] = g_peers[--g_peer_count];
            continue;
        }
        ++i;
    }
}

static void wake(void) { wake_peers(1); }

/* Wakes whoever waits for the ring of file after this process changed it: nobody when no
 * thread waits for it (the ring's waiters, counted in every process that maps it) and no
 * poll ever did. A waiter counts itself before it looks at the ring for the last time and
 * this looks at the count after the change, both with full barriers: either the waiter
 * sees the change or this sees the waiter. The ports peers sent are taken in first only
 * when one was announced on this ring since this process last looked. */
static void wake_ring(struct tern_libc_file* file) {
    struct tern_libc_pipe_ring* ring = file->pipe.ring;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ring->waiters, __ATOMIC_RELAXED) == 0
        && __atomic_load_n(&ring->polled, __ATOMIC_RELAXED) == 0)
        return;
    uint32_t announced = __atomic_load_n(&ring->announced, __ATOMIC_ACQUIRE);
    int take_ports = announced != file->pipe.announced;
    file->pipe.announced = announced;
    wake_peers(take_ports);
}

int tern_libc_pipe_wait(uint64_t timeout_ns) {
    if (g_shared && timeout_ns > kSharedPollNs)
        timeout_ns = kSharedPollNs;
    if (g_wake_port == 0) {
        /* Only a forked child whose port could not be made: nothing signals it. */
        if (g_shared && timeout_ns > 0)
            (void)tern_sys_thread_sleep(timeout_ns);
        return g_shared;
    }
    struct tern_msg message;
    memset(&message, 0, sizeof(message));
    /* Other threads may use the backend (and change the pipe) meanwhile. */
    __atomic_add_fetch(&g_waiting, 1, __ATOMIC_SEQ_CST);
    unsigned depth = tern_libc_lock_release();
    int64_t r = tern_sys_port_receive(g_wake_port, (uint64_t)(uintptr_t)&message, timeout_ns);
    __atomic_sub_fetch(&g_waiting, 1, __ATOMIC_SEQ_CST);
    tern_libc_lock_reacquire(depth);
    if (r >= 0)
        (void)take_message(&message);
    return r < 0 ? 0 : 1;
}

static long make_wake_port(void) {
    if (g_wake_port != 0)
        return 0;
    /* Room for the peers' ports beside the signal word. */
    int64_t port = tern_sys_port_create(16);
    if (port < 0)
        return port == -TERN_QUOTA_EXCEEDED ? -ENFILE : tern_libc_linux_result(port);
    g_wake_port = (uint32_t)port;
    return 0;
}

static long sys_pipe2(int* user_fds, long flags) {
    long r = tern_libc_pipe_check_flags(flags);
    if (r != 0)
        return r;
    r = make_wake_port();
    if (r != 0)
        return r;
    struct tern_libc_shared_memory memory;
    r = tern_libc_memory_share(TERN_LIBC_PIPE_OBJECT_SIZE, &memory);
    if (r != 0)
        return r;
    struct tern_libc_pipe_ring* ring = (struct tern_libc_pipe_ring*)(uintptr_t)memory.address;
    tern_libc_pipe_init(ring, TERN_LIBC_PIPE_CAPACITY);
    (void)tern_libc_pipe_hold(tern_libc_pipe_holders(ring), TERN_LIBC_PIPE_HOLDERS,
                              tern_libc_startup_pid(), 1, 1);
    struct tern_libc_fd_table* table = tern_libc_fds();
    int fds[2] = {-1, -1};
    static const uint32_t kinds[2] = {TERN_LIBC_FD_PIPE_READ, TERN_LIBC_FD_PIPE_WRITE};
    for (int end = 0; end < 2; ++end) {
        fds[end] = tern_libc_fd_allocate(table, kinds[end]);
        if (fds[end] < 0) {
            r = fds[end];
            break;
        }
        struct tern_libc_file* file = tern_libc_fd_get(table, fds[end]);
        file->flags = (end == 0 ? O_RDONLY : O_WRONLY) | (uint32_t)(flags & O_NONBLOCK);
        ring->status[end] = (uint32_t)(flags & O_NONBLOCK);
        file->pipe.ring = ring;
        file->pipe.map_size = memory.size;
        file->pipe.memory = memory.handle;
        if (flags & O_CLOEXEC)
            (void)tern_libc_fd_set_flags(table, fds[end], FD_CLOEXEC);
    }
    if (r == 0 && tern_libc_copy_out(user_fds, fds, sizeof(fds)) != 0)
        r = -EFAULT;
    if (r != 0) {
        for (int end = 0; end < 2; ++end)
            if (fds[end] >= 0)
                tern_libc_file_free(tern_libc_fd_release(table, fds[end]));
        tern_libc_memory_unshare(&memory);
        return r;
    }
    return 0;
}

/* Whether another of this process's descriptions names the ring (its other end, or an end
 * opened again after an exec): they share one mapping and one handle. */
static int ring_held_here(const struct tern_libc_pipe_ring* ring,
                          const struct tern_libc_file* except) {
    const struct tern_libc_fd_table* table = tern_libc_fds();
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        const struct tern_libc_file* other = &table->files[i];
        if (other != except && other->references != 0
            && (other->kind == TERN_LIBC_FD_PIPE_READ || other->kind == TERN_LIBC_FD_PIPE_WRITE)
            && other->pipe.ring == ring)
            return 1;
    }
    return 0;
}

void tern_libc_pipe_close(struct tern_libc_file* file) {
    struct tern_libc_pipe_ring* ring = file->pipe.ring;
    /* Atomic: after a fork, another process may change the counts at the same time. */
    int reader = file->kind == TERN_LIBC_FD_PIPE_READ;
    (void)tern_libc_pipe_hold(tern_libc_pipe_holders(ring), TERN_LIBC_PIPE_HOLDERS,
                              tern_libc_startup_pid(), reader ? -1 : 0, reader ? 0 : -1);
    if (reader)
        __atomic_fetch_sub(&ring->readers, 1, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_sub(&ring->writers, 1, __ATOMIC_SEQ_CST);
    wake();
    /* The ring's mapping and handle go once this process holds no end of it, whether or
     * not others still do (a shell that forks the two ends of a pipeline closes its own
     * first): the memory object lives while any process maps it. */
    if (!ring_held_here(ring, file)) {
        struct tern_libc_shared_memory memory = {(uint64_t)(uintptr_t)ring, file->pipe.map_size,
                                                 file->pipe.memory};
        tern_libc_memory_unshare(&memory);
    }
}

/* The status flags of a pipe end's description live in the ring, which every process
 * holding the pipe maps: the one description of that end is shared by all of them. */
uint32_t tern_libc_pipe_status(struct tern_libc_file* file) {
    uint32_t status = __atomic_load_n(
        &file->pipe.ring->status[file->kind == TERN_LIBC_FD_PIPE_WRITE], __ATOMIC_ACQUIRE);
    file->flags = tern_libc_status_flags_set(file->flags, status);
    return status;
}

void tern_libc_pipe_set_status(struct tern_libc_file* file, long flags) {
    file->flags = tern_libc_status_flags_set(file->flags, flags);
    __atomic_store_n(&file->pipe.ring->status[file->kind == TERN_LIBC_FD_PIPE_WRITE],
                     file->flags & (uint32_t)(O_APPEND | O_NONBLOCK), __ATOMIC_RELEASE);
}

long tern_libc_pipe_read(struct tern_libc_file* file, void* data, size_t length) {
    if (file->kind != TERN_LIBC_FD_PIPE_READ)
        return -EBADF;
    if (length == 0)
        return 0;
    struct tern_libc_pipe_ring* ring = file->pipe.ring;
    uint64_t mark = tern_libc_signal_mark();
    for (;;) {
        int64_t count = tern_libc_pipe_read_count(ring, length);
        if (count == -EAGAIN) {
            if (tern_libc_pipe_status(file) & O_NONBLOCK)
                return -EAGAIN;
            /* A handler without SA_RESTART ends the wait (EINTR); others go on. */
            if (tern_libc_signal_interrupts(mark, 1))
                return -EINTR;
            __atomic_add_fetch(&ring->waiters, 1, __ATOMIC_SEQ_CST);
            if (tern_libc_pipe_read_count(ring, length) == -EAGAIN)
                (void)tern_libc_pipe_wait(TERN_LIBC_NET_FOREVER);
            __atomic_sub_fetch(&ring->waiters, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        if (count <= 0)
            return (long)count;
        struct tern_libc_pipe_span span = tern_libc_pipe_read_span(ring);
        uint64_t first = (uint64_t)count < span.first_size ? (uint64_t)count : span.first_size;
        if (tern_libc_copy_out(data, span.first, first) != 0
            || tern_libc_copy_out((uint8_t*)data + first, span.second, (uint64_t)count - first)
                   != 0)
            return -EFAULT;
        tern_libc_pipe_commit_read(ring, (uint64_t)count);
        wake_ring(file);
        return (long)count;
    }
}

long tern_libc_pipe_write(struct tern_libc_file* file, const void* data, size_t length) {
    if (file->kind != TERN_LIBC_FD_PIPE_WRITE)
        return -EBADF;
    if (length == 0)
        return 0;
    struct tern_libc_pipe_ring* ring = file->pipe.ring;
    int atomic = length <= TERN_LINUX_PIPE_BUF;
    size_t done = 0;
    uint64_t mark = tern_libc_signal_mark();
    while (done < length) {
        int64_t count = tern_libc_pipe_write_count(ring, length - done, atomic);
        if (count == -EPIPE) {
            if (done > 0)
                return (long)done;
            (void)tern_libc_raise(SIGPIPE);
            return -EPIPE;
        }
        if (count == -EAGAIN) {
            if (tern_libc_pipe_status(file) & O_NONBLOCK)
                return done > 0 ? (long)done : -EAGAIN;
            if (tern_libc_signal_interrupts(mark, 1))
                return done > 0 ? (long)done : -EINTR;
            __atomic_add_fetch(&ring->waiters, 1, __ATOMIC_SEQ_CST);
            if (tern_libc_pipe_write_count(ring, length - done, atomic) == -EAGAIN)
                (void)tern_libc_pipe_wait(TERN_LIBC_NET_FOREVER);
            __atomic_sub_fetch(&ring->waiters, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        struct tern_libc_pipe_span span = tern_libc_pipe_write_span(ring);
        uint64_t first = (uint64_t)count < span.first_size ? (uint64_t)count : span.first_size;
        const uint8_t* from = (const uint8_t*)data + done;
        if (tern_libc_copy_in(span.first, from, first) != 0
            || tern_libc_copy_in(span.second, from + first, (uint64_t)count - first) != 0)
            return done > 0 ? (long)done : -EFAULT;
        tern_libc_pipe_commit_write(ring, (uint64_t)count);
        done += (size_t)count;
        wake_ring(file);
    }
    return (long)done;
}

long tern_libc_pipe_syscall(long n, long a1, long a2, int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_pipe:
        return sys_pipe2((int*)a1, 0);
    case SYS_pipe2:
        return sys_pipe2((int*)a1, a2);
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

/* Adds (delta 1) or takes back (-1) the child's copy of every pipe end in the table. */
static int count_pipe_ends(int delta) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    int ends = 0;
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        if (!(used >> i & 1))
            continue;
        struct tern_libc_file* file = &table->files[i];
        if (file->references == 0 || !file->pipe.ring)
            continue;
        if (file->kind == TERN_LIBC_FD_PIPE_READ)
            __atomic_fetch_add(&file->pipe.ring->readers, (uint32_t)delta, __ATOMIC_SEQ_CST);
        else if (file->kind == TERN_LIBC_FD_PIPE_WRITE)
            __atomic_fetch_add(&file->pipe.ring->writers, (uint32_t)delta, __ATOMIC_SEQ_CST);
        else
            continue;
        ++ends;
    }
    return ends;
}

void tern_libc_pipe_fork_prepare(void) {
    g_port_for_child = 0;
    if (count_pipe_ends(1) == 0)
        return;
    g_shared = 1;
    /* The child inherits a right to this process's port (and the peers' ones). */
    if (g_wake_port != 0) {
        /* TRANSFER: an exec in the child hands it on to its new image. */
        int64_t send = tern_sys_handle_duplicate(g_wake_port, TERN_RIGHT_SEND | TERN_RIGHT_SIGNAL
                                                                  | TERN_RIGHT_TRANSFER);
        if (send > 0)
            g_port_for_child = (uint32_t)send;
    }
}

void tern_libc_pipe_fork_undo(void) { (void)count_pipe_ends(-1); }

void tern_libc_pipe_fork_done(void) {
    if (g_port_for_child != 0)
        (void)tern_sys_handle_close(g_port_for_child);
    g_port_for_child = 0;
}

/* Makes this process's own wait port, sends a right to it to every peer, and counts the
 * announcement in every pipe this process holds (wake_ring). */
static void announce_port(void) {
    if (make_wake_port() != 0)
        return;
    /* Every peer learns this process's port. */
    for (uint32_t i = 0; i < g_peer_count; ++i) {
        int64_t send = tern_sys_handle_duplicate(g_wake_port, TERN_RIGHT_SEND | TERN_RIGHT_SIGNAL
                                                                  | TERN_RIGHT_TRANSFER);
        if (send < 0)
            break;
        struct tern_msg message;
        memset(&message, 0, sizeof(message));
        message.hdr.label = TERN_LIBC_PIPE_PEER_LABEL;
        message.hdr.handle_count = 1;
        message.handles[0] = (uint32_t)send;
        if (tern_sys_port_send(g_peers[i], (uint64_t)(uintptr_t)&message, 0) < 0)
            (void)tern_sys_handle_close((uint64_t)send);
    }
    struct tern_libc_fd_table* table = tern_libc_fds();
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        struct tern_libc_file* file = &table->files[i];
        if ((used >> i & 1) && file->references != 0 && file->pipe.ring
            && (file->kind == TERN_LIBC_FD_PIPE_READ || file->kind == TERN_LIBC_FD_PIPE_WRITE))
            __atomic_fetch_add(&file->pipe.ring->announced, 1, __ATOMIC_RELEASE);
    }
}

void tern_libc_pipe_fork_child(void) {
    /* The parent's receive right was not copied; its waiting threads were not either. */
    g_wake_port = 0;
    g_waiting = 0;
    if (!g_shared)
        return;
    if (g_port_for_child != 0)
        add_peer(g_port_for_child);
    g_port_for_child = 0;
    announce_port();
}

uint32_t tern_libc_pipe_exec_peers(uint32_t* out, uint32_t max, uint32_t* shared) {
    *shared = (uint32_t)g_shared;
    uint32_t n = g_peer_count < max ? g_peer_count : max;
    for (uint32_t i = 0; i < n; ++i)
        out[i] = g_peers[i];
    return n;
}

void tern_libc_pipe_exec_start(const uint32_t* peers, uint32_t count, int shared) {
    g_shared = shared;
    for (uint32_t i = 0; i < count; ++i)
        add_peer(peers[i]);
    if (g_shared)
        announce_port();
    else
        (void)make_wake_port();
}

void tern_libc_pipe_hold_for_child(uint64_t child, int delta) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        if (!(used >> i & 1))
            continue;
        struct tern_libc_file* file = &table->files[i];
        if (file->references == 0 || !file->pipe.ring)
            continue;
        int reader = file->kind == TERN_LIBC_FD_PIPE_READ;
        if (!reader && file->kind != TERN_LIBC_FD_PIPE_WRITE)
            continue;
        (void)tern_libc_pipe_hold(tern_libc_pipe_holders(file->pipe.ring), TERN_LIBC_PIPE_HOLDERS,
                                  child, reader ? delta : 0, reader ? 0 : delta);
    }
}

void tern_libc_pipe_forget_process(uint64_t pid) {
    struct tern_libc_fd_table* table = tern_libc_fds();
    uint32_t taken = 0;
    uint64_t used = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        if (!(used >> i & 1))
            continue;
        struct tern_libc_file* file = &table->files[i];
        if (file->references == 0 || !file->pipe.ring
            || (file->kind != TERN_LIBC_FD_PIPE_READ && file->kind != TERN_LIBC_FD_PIPE_WRITE))
            continue;
        /* A ring both of whose ends are here is found twice; the second finds no entry. */
        taken += tern_libc_pipe_forget(file->pipe.ring, tern_libc_pipe_holders(file->pipe.ring),
                                       TERN_LIBC_PIPE_HOLDERS, pid);
    }
    if (taken > 0)
        wake();
}

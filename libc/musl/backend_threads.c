/*
 * Tern's musl backend: threads, futexes, and the lock that makes the backend safe for
 * them.
 *
 * __tern_syscall (every system call musl makes) is here. The calls that belong to one
 * thread (clone, exit of a thread, futex, gettid, set_tid_address, the robust list,
 * sleeps, yield, the clocks) are served here without a lock; every other call goes to
 * tern_libc_dispatch (backend.c) under the backend lock once the process has a second
 * thread, so the descriptor table, the mount table, the pipe and signal bookkeeping, the
 * server handle caches and the static buffers of server calls are used by one thread at
 * a time. A single-threaded process never takes the lock.
 *
 * The lock is a futex word (0 free, 1 held, 2 held with waiters) and recursive: its
 * holder is named by its thread pointer (%fs:0, musl's struct pthread), which exists
 * whenever there is a second thread. A call that waits for a pipe lets it go while it
 * waits (tern_libc_lock_release).
 *
 * A thread is a kernel thread of the task (thread_spawn) on the stack and thread pointer
 * musl's pthread_create prepared; its id is its kernel thread id, the main thread's the
 * process id, as on Linux. The kernel clears the CLONE_CHILD_CLEARTID word and wakes its
 * futex when the thread has ended, so pthread_join may free the stack at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <tern/abi/task.h>
#include <tern/syscall.h>

/* Linux's futex operations (musl has no <linux/futex.h>). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu

/* A process's threads besides the main one (the kernel's quota is 64 per task). */
#define MAX_THREADS 64

/* musl's struct robust_list_head: head, futex offset, pending. */
#define ROBUST_LIST_HEAD_SIZE (3 * sizeof(long))

struct thread_slot {
    uint64_t id; /* the kernel thread id; 0 for a free slot */
    uint64_t robust_head;
    /* The thread pointer (musl's struct pthread), which names the calling thread without
     * a system call, and a handle to the thread, which proc needs to deliver a signal to
     * it (thread_spawn's handle_out; the thread closes it as it ends). */
    uintptr_t thread_pointer;
    tern_handle_t handle;
    int reserved; /* taken by clone until thread_spawn has answered */
    int ended;    /* the thread ended while the slot was still reserved */
};

static struct thread_slot g_slots[MAX_THREADS];
static uint64_t g_main_robust_head;
/* The robust lists as the kernel reads them when the process is killed or ends
 * (task_set_robust_lists): [0] the main thread's, [i + 1] slot i's thread's, each with
 * the id musl's lock words hold for that thread. Registered with the first list. */
static struct tern_robust_list g_robust[1 + MAX_THREADS];
static int g_robust_registered;
_Static_assert(1 + MAX_THREADS <= TERN_ROBUST_LISTS_MAX, "the kernel takes 65 records");
/* Threads alive in the process; 1 until the first clone. */
static volatile int g_thread_count = 1;
/* Guards g_slots. */
static volatile int g_slots_lock;
/* 1 once the process made a thread: until then every caller is the main thread (read by
 * backend_signal.c's fast path, backend.h). */
volatile int tern_libc_threads_made;
#define g_threads_started tern_libc_threads_made
/* Bit i: slot i holds a thread (from clone until it ends), so the signal code's walks
 * over threads cost one step per thread. */
static volatile uint64_t g_live_slots;

long __tern_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6);

/* ---- Futex words ---------------------------------------------------------------------- */

static void word_lock(volatile int* word) {
    int c = __sync_val_compare_and_swap(word, 0, 1);
    if (c == 0)
        return;
    if (c != 2)
        c = __atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        (void)tern_sys_futex_wait((uint64_t)(uintptr_t)word, 2, TERN_TIMEOUT_INFINITE, 0);
        c = __atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE);
    }
}

static void word_unlock(volatile int* word) {
    if (__atomic_exchange_n(word, 0, __ATOMIC_RELEASE) == 2)
        (void)tern_sys_futex_wake((uint64_t)(uintptr_t)word, 1, 0);
}

/* ---- The backend lock ------------------------------------------------------------------ */

static volatile int g_lock;
static uintptr_t g_lock_owner;
static unsigned g_lock_depth;

static uintptr_t thread_pointer(void) {
    uintptr_t self;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(self));
    return self;
}

int tern_libc_lock(void) {
    if (g_thread_count <= 1)
        return 0;
    uintptr_t self = thread_pointer();
    if (__atomic_load_n(&g_lock_owner, __ATOMIC_RELAXED) == self) {
        ++g_lock_depth;
        return 1;
    }
    word_lock(&g_lock);
    g_lock_owner = self;
    g_lock_depth = 1;
    return 1;
}

void tern_libc_unlock(int locked) {
    if (!locked)
        return;
    if (--g_lock_depth == 0) {
        __atomic_store_n(&g_lock_owner, 0, __ATOMIC_RELAXED);
        word_unlock(&g_lock);
    }
}

unsigned tern_libc_lock_release(void) {
    if (g_lock_depth == 0 || g_lock_owner != thread_pointer())
        return 0;
    unsigned depth = g_lock_depth;
    g_lock_depth = 0;
    __atomic_store_n(&g_lock_owner, 0, __ATOMIC_RELAXED);
    word_unlock(&g_lock);
    return depth;
}

void tern_libc_lock_reacquire(unsigned depth) {
    if (depth == 0)
        return;
    word_lock(&g_lock);
    g_lock_owner = thread_pointer();
    g_lock_depth = depth;
}

/* ---- Thread slots ---------------------------------------------------------------------- */

static struct thread_slot* slot_of(uint64_t id) {
    for (int i = 0; i < MAX_THREADS; ++i)
        if (g_slots[i].id == id)
            return &g_slots[i];
    return 0;
}

/* A thread's id as POSIX sees it (gettid, musl's tid, tgkill, the robust lock words):
 * the main thread's is the process id; another's is its kernel thread id in a range of
 * its own, 0x20000000 and up, so that it never equals the id of a process (proc's
 * serials start at 16 and grow by one a process) and stays within the 30 bits a robust
 * mutex's lock word holds. */
#define TID_BASE 0x20000000L
#define TID_KERNEL_BITS 0x1fffffffull

static long tid_of(uint64_t id) { return TID_BASE + (long)(id & TID_KERNEL_BITS); }

/* The slot of the thread whose POSIX id is `tid` (slot ids are kernel ids). */
static struct thread_slot* slot_of_tid(long tid) {
    if (tid < TID_BASE || tid > TID_BASE + (long)TID_KERNEL_BITS)
        return 0;
    for (int i = 0; i < MAX_THREADS; ++i) {
        uint64_t id = __atomic_load_n(&g_slots[i].id, __ATOMIC_RELAXED);
        if (id != 0 && tid_of(id) == tid)
            return &g_slots[i];
    }
    return 0;
}

int tern_libc_thread_is_ours(long tid) {
    if (tid <= 0)
        return 0;
    word_lock(&g_slots_lock);
    int found = slot_of_tid(tid) != 0;
    word_unlock(&g_slots_lock);
    return found;
}

int tern_libc_threads_started(void) { return g_threads_started; }

int tern_libc_thread_index(void) {
    if (!g_threads_started)
        return 0;
    uintptr_t self = thread_pointer();
    for (uint64_t live = g_live_slots; live != 0; live &= live - 1) {
        int i = __builtin_ctzll(live);
        if (g_slots[i].thread_pointer == self)
            return i + 1;
    }
    return 0;
}

uint64_t tern_libc_thread_indexes(void) { return g_live_slots << 1; }

long tern_libc_thread_tid(int index) {
    if (index <= 0 || index > MAX_THREADS)
        return index == 0 ? tern_libc_pid() : 0;
    uint64_t id = __atomic_load_n(&g_slots[index - 1].id, __ATOMIC_RELAXED);
    return id != 0 ? tid_of(id) : 0;
}

/* These two take no lock: the signal entry uses them, on a thread that may have been
 * interrupted holding g_slots_lock. A slot read as it changes names a thread that is
 * ending or starting, which a signal may miss as it would a moment later. */
int tern_libc_thread_index_of(long tid) {
    if (tid <= 0)
        return -1;
    struct thread_slot* slot = slot_of_tid(tid);
    if (slot)
        return (int)(slot - g_slots) + 1;
    return tid == tern_libc_pid() ? 0 : -1;
}

tern_handle_t tern_libc_thread_handle(int index) {
    if (index <= 0 || index > MAX_THREADS)
        return TERN_INVALID_HANDLE;
    struct thread_slot* slot = &g_slots[index - 1];
    tern_handle_t handle = __atomic_load_n(&slot->handle, __ATOMIC_RELAXED);
    if (__atomic_load_n(&slot->id, __ATOMIC_RELAXED) == 0 || handle == TERN_INVALID_HANDLE)
        return TERN_INVALID_HANDLE;
    int64_t copy = tern_sys_handle_duplicate(handle, TERN_RIGHTS_SAME);
    return copy >= 0 ? (tern_handle_t)copy : TERN_INVALID_HANDLE;
}

/* The caller's id as gettid() reports it. */
static long current_tid(void) {
    uint64_t id = (uint64_t)tern_sys_thread_id();
    word_lock(&g_slots_lock);
    int found = slot_of(id) != 0;
    word_unlock(&g_slots_lock);
    return found ? tid_of(id) : tern_libc_pid();
}

void tern_libc_threads_fork_child(void) {
    /* The forking thread is the child's only thread, its main one. */
    for (int i = 0; i < MAX_THREADS; ++i) {
        g_slots[i].id = 0;
        /* Thread handles are not copied to a clone. */
        g_slots[i].handle = TERN_INVALID_HANDLE;
        g_slots[i].thread_pointer = 0;
        g_slots[i].reserved = 0;
        g_slots[i].ended = 0;
        g_slots[i].robust_head = 0;
    }
    g_main_robust_head = 0;
    /* The child's task has no records: musl registers its list again at its next robust
     * lock, and the parent's lists are not the child's. */
    for (int i = 0; i < 1 + MAX_THREADS; ++i)
        g_robust[i] = (struct tern_robust_list){0, 0, 0};
    g_robust_registered = 0;
    g_slots_lock = 0;
    g_thread_count = 1;
    g_threads_started = 0;
    g_live_slots = 0;
}

/* Frees the slot of a thread that is ending (the thread itself). */
static void release_slot(uint64_t id) {
    word_lock(&g_slots_lock);
    struct thread_slot* slot = slot_of(id);
    if (slot) {
        tern_libc_signals_thread_end((int)(slot - g_slots) + 1);
        __atomic_and_fetch(&g_live_slots, ~((uint64_t)1 << (slot - g_slots)), __ATOMIC_SEQ_CST);
        slot->id = 0;
        slot->robust_head = 0;
        g_robust[1 + (slot - g_slots)] = (struct tern_robust_list){0, 0, 0};
        slot->thread_pointer = 0;
        if (slot->handle != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(slot->handle);
        slot->handle = TERN_INVALID_HANDLE;
        if (slot->reserved)
            slot->ended = 1; /* clone must not record the id after this */
    }
    word_unlock(&g_slots_lock);
}

/* ---- clone ----------------------------------------------------------------------------- */

/* What the new thread finds at the top of its stack. */
struct thread_start {
    int (*func)(void*);
    void* arg;
    int* ptid;
    long slot;
};

void __tern_thread_entry(void);
__attribute__((used, noreturn)) void tern_libc_thread_begin(struct thread_start* start) {
    struct thread_start s = *start;
    uint64_t id = (uint64_t)tern_sys_thread_id();
    /* The parent writes these too, but the thread may run first. */
    word_lock(&g_slots_lock);
    g_slots[s.slot].id = id;
    word_unlock(&g_slots_lock);
    if (s.ptid)
        __atomic_store_n(s.ptid, (int)tid_of(id), __ATOMIC_RELAXED);
    int status = s.func(s.arg);
    for (;;)
        (void)__tern_syscall(SYS_exit, status, 0, 0, 0, 0, 0);
}
/* The kernel starts a thread here with RSP at its struct thread_start (16-byte aligned). */
__asm__(".text\n"
        ".globl __tern_thread_entry\n"
        ".type __tern_thread_entry, @function\n"
        "__tern_thread_entry:\n"
        "    xor %ebp, %ebp\n"
        "    mov %rsp, %rdi\n"
        "    call tern_libc_thread_begin\n"
        "    ud2\n"
        ".size __tern_thread_entry, . - __tern_thread_entry\n");

#define THREAD_FLAGS                                                                               \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)
#define OPTIONAL_FLAGS (CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED)

long __tern_clone(int (*func)(void*), void* stack, int flags, void* arg, int* ptid, void* tls,
                  int* ctid) {
    /* Linux's own consistency rules first, then what Tern serves: a thread of this
     * process as pthread_create makes one. */
    if (((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
        || ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)))
        return -EINVAL;
    if ((flags & THREAD_FLAGS) != THREAD_FLAGS || (flags & ~(THREAD_FLAGS | OPTIONAL_FLAGS))) {
        tern_libc_log_unsupported(SYS_clone, "only threads as pthread_create makes them");
        return -ENOSYS;
    }
    if (!func || !stack)
        return -EINVAL;
    long slot = -1;
    word_lock(&g_slots_lock);
    for (int i = 0; i < MAX_THREADS && slot < 0; ++i)
        if (g_slots[i].id == 0 && !g_slots[i].reserved)
            slot = i;
    if (slot >= 0) {
        g_slots[slot].reserved = 1;
        g_slots[slot].ended = 0;
        g_slots[slot].robust_head = 0;
        g_robust[1 + slot] = (struct tern_robust_list){0, 0, 0};
        g_slots[slot].handle = TERN_INVALID_HANDLE;
        g_slots[slot].thread_pointer = 0;
    }
    word_unlock(&g_slots_lock);
    if (slot < 0)
        return -EAGAIN;
    uintptr_t top = ((uintptr_t)stack & ~(uintptr_t)15) - sizeof(struct thread_start);
    top &= ~(uintptr_t)15;
    struct thread_start* start = (struct thread_start*)top;
    start->func = func;
    start->arg = arg;
    start->ptid = (flags & CLONE_PARENT_SETTID) ? ptid : 0;
    start->slot = slot;
    uint64_t fs_base = (flags & CLONE_SETTLS) ? (uint64_t)(uintptr_t)tls : thread_pointer();
    uint64_t clear = (flags & CLONE_CHILD_CLEARTID) ? (uint64_t)(uintptr_t)ctid : 0;
    __atomic_add_fetch(&g_thread_count, 1, __ATOMIC_SEQ_CST);
    tern_libc_signals_thread_start((int)slot + 1);
    g_threads_started = 1;
    tern_handle_t handle = TERN_INVALID_HANDLE;
    /* The signal code names the thread by its pointer before the new thread has run. */
    g_slots[slot].thread_pointer = (uintptr_t)fs_base;
    __atomic_or_fetch(&g_live_slots, (uint64_t)1 << slot, __ATOMIC_SEQ_CST);
    int64_t id = tern_sys_thread_spawn((uint64_t)(uintptr_t)&__tern_thread_entry, top, 0, fs_base,
                                       clear, (uint64_t)(uintptr_t)&handle);
    word_lock(&g_slots_lock);
    g_slots[slot].reserved = 0;
    /* A thread that has already ended left its slot free (and its handle is of no use). */
    if (id > 0 && !g_slots[slot].ended) {
        g_slots[slot].id = (uint64_t)id;
        g_slots[slot].handle = handle;
    } else {
        if (handle != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(handle);
        g_slots[slot].thread_pointer = 0;
        __atomic_and_fetch(&g_live_slots, ~((uint64_t)1 << slot), __ATOMIC_SEQ_CST);
    }
    g_slots[slot].ended = 0;
    word_unlock(&g_slots_lock);
    if (id < 0) {
        __atomic_sub_fetch(&g_thread_count, 1, __ATOMIC_SEQ_CST);
        return id == -TERN_QUOTA_EXCEEDED || id == -TERN_NO_MEMORY ? -EAGAIN
                                                                   : tern_libc_linux_result(id);
    }
    if (flags & CLONE_PARENT_SETTID)
        __atomic_store_n(ptid, (int)tid_of((uint64_t)id), __ATOMIC_RELAXED);
    return tid_of((uint64_t)id);
}

/* Ends the calling thread; the last one ends the process as exit_group does. */
static long thread_exit(long status) {
    if (__atomic_sub_fetch(&g_thread_count, 1, __ATOMIC_SEQ_CST) == 0) {
        g_thread_count = 1;
        return tern_libc_dispatch(SYS_exit_group, status, 0, 0, 0, 0, 0);
    }
    uint64_t id = (uint64_t)tern_sys_thread_id();
    release_slot(id);
    for (;;)
        (void)tern_sys_thread_exit((uint64_t)(status & 0xff));
}

/* musl's last act of a detached thread: unmap its own stack and end, touching no stack
 * after the unmapping (two system calls in a row in one asm statement). The kernel then
 * clears the thread's CLONE_CHILD_CLEARTID word, which musl points at its thread list
 * lock (a global, not on the stack): that releases the lock pthread_exit took. */
_Noreturn void __tern_unmapself(void* base, size_t size) {
    uint64_t id = (uint64_t)tern_sys_thread_id();
    release_slot(id);
    /* A detached thread is never the last (musl's pthread_exit calls exit then). */
    __atomic_sub_fetch(&g_thread_count, 1, __ATOMIC_SEQ_CST);
    __asm__ volatile("mov %[free], %%eax\n"
                     "syscall\n"
                     "mov %[exit], %%eax\n"
                     "xor %%edi, %%edi\n"
                     "syscall\n"
                     "ud2\n"
                     :
                     : [free] "i"(TERN_SYS_vm_free), [exit] "i"(TERN_SYS_thread_exit), "D"(base),
                       "S"((size + 4095) & ~(size_t)4095)
                     : "rax", "rcx", "r11", "memory");
    __builtin_unreachable();
}

/* ---- futex ----------------------------------------------------------------------------- */

static long futex_result(int64_t r) { return r >= 0 ? (long)r : tern_libc_linux_result(r); }

/* A relative timeout as Tern's nanoseconds: TERN_TIMEOUT_INFINITE without one. */
static long relative_timeout(const struct timespec* ts, uint64_t* ns) {
    if (!ts) {
        *ns = TERN_TIMEOUT_INFINITE;
        return 0;
    }
    return tern_libc_timespec_to_ns(ts->tv_sec, ts->tv_nsec, ns);
}

/* An absolute timeout (FUTEX_WAIT_BITSET) against the monotonic or the wall clock. */
static long absolute_timeout(const struct timespec* ts, int realtime, uint64_t* ns) {
    if (!ts) {
        *ns = TERN_TIMEOUT_INFINITE;
        return 0;
    }
    uint64_t at = 0;
    long r = tern_libc_timespec_to_ns(ts->tv_sec, ts->tv_nsec, &at);
    if (r != 0)
        return r;
    uint64_t now =
        realtime ? (uint64_t)tern_sys_clock_realtime() : (uint64_t)tern_sys_clock_monotonic();
    *ns = at > now ? at - now : TERN_TIMEOUT_NONE;
    return 0;
}

static long sys_futex(uint32_t* addr, long op, long val, const struct timespec* timeout,
                      uint32_t* addr2, long val3) {
    uint32_t flags = (op & FUTEX_PRIVATE_FLAG) ? 0 : TERN_FUTEX_SHARED;
    int realtime = (op & FUTEX_CLOCK_REALTIME) != 0;
    uint64_t a = (uint64_t)(uintptr_t)addr;
    uint64_t ns = 0;
    long r = 0;
    switch (op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)) {
    case FUTEX_WAIT:
        if ((r = relative_timeout(timeout, &ns)) != 0)
            return r;
        return futex_result(tern_sys_futex_wait(a, (uint32_t)val, ns, flags));
    case FUTEX_WAKE:
        return futex_result(tern_sys_futex_wake(a, val < 0 ? 0 : (uint32_t)val, flags));
    case FUTEX_WAIT_BITSET:
    case FUTEX_WAKE_BITSET:
        /* A waiter's bitset and a waker's must share a bit; only the all-ones set (what
         * FUTEX_BITSET_MATCH_ANY users pass) is served. */
        if ((uint32_t)val3 == 0)
            return -EINVAL;
        if ((uint32_t)val3 != FUTEX_BITSET_MATCH_ANY) {
            tern_libc_log_unsupported(SYS_futex, "bitsets other than FUTEX_BITSET_MATCH_ANY");
            return -ENOSYS;
        }
        if ((op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)) == FUTEX_WAKE_BITSET)
            return futex_result(tern_sys_futex_wake(a, val < 0 ? 0 : (uint32_t)val, flags));
        if ((r = absolute_timeout(timeout, realtime, &ns)) != 0)
            return r;
        return futex_result(tern_sys_futex_wait(a, (uint32_t)val, ns, flags));
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
        /* The requeue count travels in the timeout argument. */
        long move = (long)(uintptr_t)timeout;
        if (val < 0 || move < 0)
            return -EINVAL;
        if ((op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)) == FUTEX_CMP_REQUEUE)
            flags |= TERN_FUTEX_COMPARE;
        uint32_t wake = val > 0x7fffffff ? 0x7fffffffu : (uint32_t)val;
        uint32_t moved = move > 0x7fffffff ? 0x7fffffffu : (uint32_t)move;
        return futex_result(tern_sys_futex_requeue(a, wake, (uint64_t)(uintptr_t)addr2, moved,
                                                   (uint32_t)val3, flags));
    }
    default:
        /* FUTEX_FD, WAKE_OP and the priority-inheritance operations (musl's
         * PTHREAD_PRIO_INHERIT mutexes then report ENOTSUP). */
        tern_libc_log_unsupported(SYS_futex, "only WAIT, WAKE, REQUEUE and CMP_REQUEUE");
        return -ENOSYS;
    }
}

/* ---- Robust lists ---------------------------------------------------------------------- */

/* The list itself is musl's: pthread_exit walks it and marks each mutex the thread held
 * FUTEX_OWNER_DIED (then wakes a waiter), so a thread that ends holding a robust mutex is
 * reported to the next locker as EOWNERDEAD. Threads that end with their process (killed,
 * exit_group) do not walk it: the kernel does, from the records in g_robust
 * (task_set_robust_lists), as Linux's does at every exit. The backend keeps the
 * registered head per thread for get_robust_list too. */
static long set_robust_list(uint64_t head, long length) {
    if (length != (long)ROBUST_LIST_HEAD_SIZE)
        return -EINVAL;
    uint64_t id = (uint64_t)tern_sys_thread_id();
    long tid = current_tid();
    word_lock(&g_slots_lock);
    struct thread_slot* slot = slot_of(id);
    if (slot)
        slot->robust_head = head;
    else
        g_main_robust_head = head;
    struct tern_robust_list* record = &g_robust[slot ? 1 + (slot - g_slots) : 0];
    record->head = head;
    record->owner = (uint32_t)tid;
    int registered = g_robust_registered;
    g_robust_registered = 1;
    word_unlock(&g_slots_lock);
    if (!registered)
        (void)tern_sys_task_set_robust_lists((uint64_t)(uintptr_t)g_robust, 1 + MAX_THREADS);
    return 0;
}

static long get_robust_list(long tid, uint64_t* head, size_t* length) {
    uint64_t value = 0;
    word_lock(&g_slots_lock);
    struct thread_slot* slot =
        tid == 0 ? slot_of((uint64_t)tern_sys_thread_id()) : slot_of_tid(tid);
    int known = slot != 0 || tid == 0 || tid == tern_libc_pid();
    if (slot)
        value = slot->robust_head;
    else if (known)
        value = g_main_robust_head;
    word_unlock(&g_slots_lock);
    if (!known)
        return -ESRCH;
    if (tern_libc_copy_out(head, &value, sizeof(value)) != 0)
        return -EFAULT;
    size_t size = ROBUST_LIST_HEAD_SIZE;
    if (tern_libc_copy_out(length, &size, sizeof(size)) != 0)
        return -EFAULT;
    return 0;
}

/* ---- The entry point ------------------------------------------------------------------- */

/* The calls of one thread, served without the backend lock; *handled is 0 for others. */
static long thread_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6,
                           int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_futex:
        return sys_futex((uint32_t*)a1, a2, a3, (const struct timespec*)a4, (uint32_t*)a5, a6);
    case SYS_exit:
        return thread_exit(a1);
    case SYS_exit_group:
        /* Not under the lock: another thread may hold it while it waits in a server. */
        return tern_libc_dispatch(n, a1, a2, a3, a4, a5, a6);
    case SYS_gettid:
        return current_tid();
    case SYS_set_tid_address: {
        int64_t r = tern_sys_thread_set_clear_tid((uint64_t)a1);
        return r < 0 ? tern_libc_linux_result(r) : current_tid();
    }
    case SYS_set_robust_list:
        return set_robust_list((uint64_t)a1, a2);
    case SYS_get_robust_list:
        return get_robust_list(a1, (uint64_t*)a2, (size_t*)a3);
    case SYS_membarrier:
        /* One CPU: another thread of the process never runs at the same time as the
         * caller, and each switch between threads is a full barrier. */
        if (a2 != 0)
            return -EINVAL;
        if (a1 == 0)       /* MEMBARRIER_CMD_QUERY */
            return 8 | 16; /* PRIVATE_EXPEDITED, REGISTER_PRIVATE_EXPEDITED */
        return a1 == 8 || a1 == 16 ? 0 : -EINVAL;
    case SYS_sched_yield:
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_clock_gettime:
    case SYS_getpid:
        /* Nothing shared: no lock, and a sleep does not hold up the other threads. */
        return tern_libc_dispatch(n, a1, a2, a3, a4, a5, a6);
    default:
        *handled = 0;
        return 0;
    }
}

long __tern_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    int handled = 0;
    long r = thread_syscall(n, a1, a2, a3, a4, a5, a6, &handled);
    if (handled)
        return r;
    int locked = tern_libc_lock();
    r = tern_libc_dispatch(n, a1, a2, a3, a4, a5, a6);
    tern_libc_unlock(locked);
    return r;
}

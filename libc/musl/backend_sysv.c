/*
 * Tern's musl backend: the System V IPC system calls (shmget, shmat, shmdt, shmctl,
 * semget, semop, semtimedop, semctl, msgget, msgsnd, msgrcv, msgctl), served by the node's
 * ipc server (servers/ipc, tern/protocols/ipc.h) through sysv_client.cpp. The server
 * answers with Linux's errnos; this file checks what Linux checks before its own call
 * (sizes, counts, pointers: EFAULT through the kernel's copies), converts the server's
 * records to struct shmid_ds, semid_ds and msqid_ds, and maps segments: shmat maps the
 * segment's memory object and keeps the mapping in a table of this process's attaches,
 * which shmdt looks the address up in.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <time.h>

#include <libc/musl/backend.h>
#include <libc/musl/services.h>
#include <libc/musl/sysv_client.h>
#include <tern/syscall.h>

_Static_assert(IPC_CREAT == 01000 && IPC_EXCL == 02000 && IPC_NOWAIT == 04000 && IPC_RMID == 0
                   && IPC_SET == 1 && IPC_STAT == 2 && IPC_INFO == 3 && SHM_RDONLY == 010000
                   && SHM_RND == 020000 && SHM_STAT == 13 && SHM_INFO == 14 && GETPID == 11
                   && GETVAL == 12 && GETALL == 13 && GETNCNT == 14 && GETZCNT == 15 && SETVAL == 16
                   && SETALL == 17 && SEM_STAT == 18 && SEM_INFO == 19 && SEM_UNDO == 0x1000
                   && MSG_STAT == 11 && MSG_INFO == 12 && MSG_NOERROR == 010000
                   && MSG_EXCEPT == 020000,
               "System V constants differ from the ipc protocol's");
_Static_assert(sizeof(struct sembuf) == 6, "struct sembuf is not the protocol's SemOp");

enum {
    kPage = 4096,
    /* Attaches one process keeps at once. */
    kMaxAttaches = 64,
    /* The commands' cmd argument may carry IPC_64 (0x100), which x86-64 ignores. */
    kIpc64 = 0x100,
    kShmLock = 11,
    kShmUnlock = 12,
    kShmStatAny = 15,
    kSemStatAny = 20,
    kMsgStatAny = 13,
    kShmExec = 0100000,
    kShmRemap = 040000,
    kSemVmx = 32767,
    kSemMsl = 250,
    kMsgMax = 8192,
    kMsgMnb = 16384,
    kMaxObjects = 128,
};

struct attach {
    uint64_t address; /* 0: a free entry */
    uint64_t length;
    uint32_t memory;
    int32_t id;
    uint32_t flags; /* shmat's, for a forked child's own attach */
};

/* Used under the backend's lock (backend_threads.c), like every table of the backend. */
static struct attach g_attaches[kMaxAttaches];

static void fill_perm(struct ipc_perm* p, const struct tern_libc_ipc_stat* s) {
    memset(p, 0, sizeof(*p));
    p->__ipc_perm_key = s->key;
    p->uid = s->uid;
    p->gid = s->gid;
    p->cuid = s->cuid;
    p->cgid = s->cgid;
    p->mode = s->mode;
    p->__ipc_perm_seq = (int)s->sequence;
}

/* A control call whose reply is an ObjectStat, copied out as the kind's struct. */
static long stat_call(uint32_t kind, int id, int command, void* buffer) {
    union {
        struct tern_libc_ipc_stat stat;
        unsigned char bytes[TERN_LIBC_IPC_CONTROL_DATA];
    } out;
    uint32_t size = 0;
    int64_t value = 0;
    long r = tern_libc_ipc_control(kind, id, command, 0, 0, 0, 0, &out, &size, &value);
    if (r < 0)
        return r;
    if (size != sizeof(out.stat))
        return -EBADMSG;
    const struct tern_libc_ipc_stat* s = &out.stat;
    if (kind == TERN_LIBC_IPC_SHM) {
        struct shmid_ds d;
        memset(&d, 0, sizeof(d));
        fill_perm(&d.shm_perm, s);
        d.shm_segsz = s->size;
        d.shm_atime = s->atime;
        d.shm_dtime = s->dtime;
        d.shm_ctime = s->ctime;
        d.shm_cpid = (pid_t)s->cpid;
        d.shm_lpid = (pid_t)s->lpid;
        d.shm_nattch = s->count;
        r = tern_libc_copy_out(buffer, &d, sizeof(d));
    } else if (kind == TERN_LIBC_IPC_SEM) {
        struct semid_ds d;
        memset(&d, 0, sizeof(d));
        fill_perm(&d.sem_perm, s);
        d.sem_otime = s->atime;
        d.sem_ctime = s->ctime;
        d.sem_nsems = (unsigned short)s->size;
        r = tern_libc_copy_out(buffer, &d, sizeof(d));
    } else {
        struct msqid_ds d;
        memset(&d, 0, sizeof(d));
        fill_perm(&d.msg_perm, s);
        d.msg_stime = s->atime;
        d.msg_rtime = s->dtime;
        d.msg_ctime = s->ctime;
        d.msg_cbytes = s->size;
        d.msg_qnum = s->count;
        d.msg_qbytes = s->qbytes;
        d.msg_lspid = (pid_t)s->cpid;
        d.msg_lrpid = (pid_t)s->lpid;
        r = tern_libc_copy_out(buffer, &d, sizeof(d));
    }
    if (r < 0)
        return r;
    return command == IPC_STAT ? 0 : (long)value;
}

/* IPC_SET: the caller's uid, gid and mode (and msg_qbytes). */
static long set_call(uint32_t kind, int id, const void* buffer) {
    struct tern_libc_ipc_set set;
    memset(&set, 0, sizeof(set));
    long r;
    if (kind == TERN_LIBC_IPC_SHM) {
        struct shmid_ds d;
        r = tern_libc_copy_in(&d, buffer, sizeof(d));
        set.uid = d.shm_perm.uid;
        set.gid = d.shm_perm.gid;
        set.mode = d.shm_perm.mode;
    } else if (kind == TERN_LIBC_IPC_SEM) {
        struct semid_ds d;
        r = tern_libc_copy_in(&d, buffer, sizeof(d));
        set.uid = d.sem_perm.uid;
        set.gid = d.sem_perm.gid;
        set.mode = d.sem_perm.mode;
    } else {
        struct msqid_ds d;
        r = tern_libc_copy_in(&d, buffer, sizeof(d));
        set.uid = d.msg_perm.uid;
        set.gid = d.msg_perm.gid;
        set.mode = d.msg_perm.mode;
        set.qbytes = d.msg_qbytes;
    }
    if (r < 0)
        return r;
    uint32_t size = 0;
    int64_t value = 0;
    unsigned char out[TERN_LIBC_IPC_CONTROL_DATA];
    return tern_libc_ipc_control(kind, id, IPC_SET, 0, 0, &set, sizeof(set), out, &size, &value);
}

/* IPC_INFO and *_INFO: the limits or the usage; the highest slot in use. */
static long info_call(uint32_t kind, int command, void* buffer) {
    union {
        struct tern_libc_ipc_usage usage;
        unsigned char bytes[TERN_LIBC_IPC_CONTROL_DATA];
    } out;
    uint32_t size = 0;
    int64_t highest = 0;
    long r = tern_libc_ipc_control(kind, 0, command, 0, 0, 0, 0, &out, &size, &highest);
    if (r < 0)
        return r;
    const struct tern_libc_ipc_usage* u = &out.usage;
    if (command == IPC_INFO && kind == TERN_LIBC_IPC_SHM) {
        struct shminfo i = {.shmmax = 16ul << 20,
                            .shmmin = 1,
                            .shmmni = kMaxObjects,
                            .shmseg = kMaxAttaches,
                            .shmall = 16384};
        r = tern_libc_copy_out(buffer, &i, sizeof(i));
    } else if (kind == TERN_LIBC_IPC_SHM) {
        struct shm_info i;
        memset(&i, 0, sizeof(i));
        i.__used_ids = (int)u->objects;
        i.shm_tot = u->total;
        i.shm_rss = u->total;
        r = tern_libc_copy_out(buffer, &i, sizeof(i));
    } else if (kind == TERN_LIBC_IPC_SEM) {
        struct seminfo i = {.semmap = kMaxObjects,
                            .semmni = kMaxObjects,
                            .semmns = 32000,
                            .semmnu = 256,
                            .semmsl = kSemMsl,
                            .semopm = TERN_LIBC_IPC_SEMOPM,
                            .semume = TERN_LIBC_IPC_SEMOPM,
                            .semusz = 16,
                            .semvmx = kSemVmx,
                            .semaem = kSemVmx};
        if (command == SEM_INFO) {
            i.semusz = (int)u->objects;
            i.semaem = (int)u->total;
        }
        r = tern_libc_copy_out(buffer, &i, sizeof(i));
    } else {
        struct msginfo i = {.msgpool = 2048,
                            .msgmap = 2048,
                            .msgmax = kMsgMax,
                            .msgmnb = kMsgMnb,
                            .msgmni = kMaxObjects,
                            .msgssz = 16,
                            .msgtql = 2048,
                            .msgseg = 2048};
        if (command == MSG_INFO) {
            i.msgpool = (int)u->objects;
            i.msgmap = (int)u->messages;
            i.msgtql = (int)u->total;
        }
        r = tern_libc_copy_out(buffer, &i, sizeof(i));
    }
    if (r < 0)
        return r;
    return highest < 0 ? 0 : (long)highest;
}

/* ---- Shared memory -------------------------------------------------------------------- */

static long sys_shmat(long id, uint64_t address, long flags) {
    if (id < 0)
        return -EINVAL;
    if (address != 0) {
        if (flags & SHM_RND)
            address &= ~(uint64_t)(kPage - 1);
        else if (address & (kPage - 1))
            return -EINVAL;
    } else if (flags & kShmRemap) {
        return -EINVAL;
    }
    struct attach* slot = 0;
    for (int i = 0; i < kMaxAttaches && !slot; ++i)
        if (g_attaches[i].address == 0)
            slot = &g_attaches[i];
    if (!slot)
        return -EMFILE;
    uint32_t memory = 0;
    uint64_t size = 0;
    long r = tern_libc_ipc_attach((int32_t)id, (uint32_t)flags, &memory, &size);
    if (r < 0)
        return r;
    uint64_t length = (size + kPage - 1) & ~(uint64_t)(kPage - 1);
    uint32_t prot = TERN_PROT_READ;
    if (!(flags & SHM_RDONLY))
        prot |= TERN_PROT_WRITE;
    if (flags & kShmExec)
        prot |= TERN_PROT_EXEC;
    int64_t mapped = tern_sys_vm_map_memory(TERN_HANDLE_SELF, memory, address, 0, length, prot);
    if (mapped < 0) {
        (void)tern_sys_handle_close(memory);
        (void)tern_libc_ipc_detach((int32_t)id);
        return address != 0 ? -EINVAL : -ENOMEM;
    }
    slot->address = (uint64_t)mapped;
    slot->length = length;
    slot->memory = memory;
    slot->id = (int32_t)id;
    slot->flags = (uint32_t)flags;
    return (long)mapped;
}

/* A forked child inherits its parent's attaches (the clone maps the same memory objects):
 * it greets the ipc server as a process of its own and attaches each segment once more,
 * so shm_nattch counts it and its shmdt and exit detach it, as on Linux. A segment removed
 * meanwhile stays mapped, uncounted. Undo records are not inherited (Linux clears semadj
 * in the child). Its POSIX queues, lent to it by the parent, become its own. */
void tern_libc_sysv_fork_child(void) {
    tern_libc_ipc_forget_server();
    tern_libc_mq_fork_child();
    for (int i = 0; i < kMaxAttaches; ++i) {
        struct attach* a = &g_attaches[i];
        if (a->address == 0)
            continue;
        uint32_t memory = 0;
        uint64_t size = 0;
        if (tern_libc_ipc_attach(a->id, a->flags, &memory, &size) == 0)
            (void)tern_sys_handle_close(memory); /* the inherited handle is mapped already */
    }
}

static long sys_shmdt(uint64_t address) {
    for (int i = 0; i < kMaxAttaches; ++i) {
        struct attach* a = &g_attaches[i];
        if (a->address == 0 || a->address != address)
            continue;
        (void)tern_sys_vm_free(a->address, a->length);
        (void)tern_sys_handle_close(a->memory);
        int32_t id = a->id;
        memset(a, 0, sizeof(*a));
        /* The mapping is gone whatever the server says (it may have restarted and lost
         * the segment). */
        (void)tern_libc_ipc_detach(id);
        return 0;
    }
    return -EINVAL;
}

static long sys_shmctl(long id, long command, void* buffer) {
    command &= ~(long)kIpc64;
    switch (command) {
    case IPC_STAT:
    case SHM_STAT:
    case kShmStatAny:
        return stat_call(TERN_LIBC_IPC_SHM, (int)id, (int)command, buffer);
    case IPC_SET:
        return set_call(TERN_LIBC_IPC_SHM, (int)id, buffer);
    case IPC_INFO:
    case SHM_INFO:
        return info_call(TERN_LIBC_IPC_SHM, (int)command, buffer);
    case IPC_RMID:
    case kShmLock:
    case kShmUnlock: {
        unsigned char out[TERN_LIBC_IPC_CONTROL_DATA];
        uint32_t size = 0;
        int64_t value = 0;
        return tern_libc_ipc_control(TERN_LIBC_IPC_SHM, (int32_t)id, (int32_t)command, 0, 0, 0, 0,
                                     out, &size, &value);
    }
    default:
        return -EINVAL;
    }
}

/* ---- Semaphores ----------------------------------------------------------------------- */

static long sys_semtimedop(long id, const void* user_ops, long count,
                           const struct timespec* user_timeout) {
    if (count < 1)
        return -EINVAL;
    if (count > TERN_LIBC_IPC_SEMOPM)
        return -E2BIG;
    if (id < 0)
        return -EINVAL;
    struct sembuf ops[TERN_LIBC_IPC_SEMOPM];
    long r = tern_libc_copy_in(ops, user_ops, (uint64_t)count * sizeof(struct sembuf));
    if (r < 0)
        return r;
    uint64_t timeout = TERN_LIBC_IPC_FOREVER;
    if (user_timeout) {
        struct timespec t;
        r = tern_libc_copy_in(&t, user_timeout, sizeof(t));
        if (r < 0)
            return r;
        if (t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000L)
            return -EINVAL;
        uint64_t seconds = (uint64_t)t.tv_sec;
        timeout = seconds > 1000000000ull ? TERN_LIBC_IPC_FOREVER - 1
                                          : seconds * 1000000000ull + (uint64_t)t.tv_nsec;
    }
    return tern_libc_ipc_semop((int32_t)id, ops, (uint32_t)count, timeout);
}

/* The number of semaphores in a set (for GETALL and SETALL's arrays). */
static long set_size(int id) {
    union {
        struct tern_libc_ipc_stat stat;
        unsigned char bytes[TERN_LIBC_IPC_CONTROL_DATA];
    } out;
    uint32_t size = 0;
    int64_t value = 0;
    long r =
        tern_libc_ipc_control(TERN_LIBC_IPC_SEM, id, IPC_STAT, 0, 0, 0, 0, &out, &size, &value);
    if (r < 0)
        return r;
    return size == sizeof(out.stat) ? (long)out.stat.size : -EBADMSG;
}

static long sys_semctl(long id, long semnum, long command, long argument) {
    command &= ~(long)kIpc64;
    unsigned char out[TERN_LIBC_IPC_CONTROL_DATA];
    uint32_t size = 0;
    int64_t value = 0;
    switch (command) {
    case IPC_STAT:
    case SEM_STAT:
    case kSemStatAny:
        return stat_call(TERN_LIBC_IPC_SEM, (int)id, (int)command, (void*)argument);
    case IPC_SET:
        return set_call(TERN_LIBC_IPC_SEM, (int)id, (const void*)argument);
    case IPC_INFO:
    case SEM_INFO:
        return info_call(TERN_LIBC_IPC_SEM, (int)command, (void*)argument);
    case GETALL: {
        long r = tern_libc_ipc_control(TERN_LIBC_IPC_SEM, (int32_t)id, GETALL, 0, 0, 0, 0, out,
                                       &size, &value);
        if (r < 0)
            return r;
        return tern_libc_copy_out((void*)argument, out, size);
    }
    case SETALL: {
        long n = set_size((int)id);
        if (n < 0)
            return n;
        unsigned short values[kSemMsl];
        long r = tern_libc_copy_in(values, (const void*)argument, (uint64_t)n * sizeof(values[0]));
        if (r < 0)
            return r;
        return tern_libc_ipc_control(TERN_LIBC_IPC_SEM, (int32_t)id, SETALL, 0, 0, values,
                                     (uint32_t)(n * (long)sizeof(values[0])), out, &size, &value);
    }
    case SETVAL:
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT:
    case IPC_RMID: {
        /* SETVAL's argument is the union's int. */
        int64_t v = command == SETVAL ? (int64_t)(int)argument : 0;
        long r = tern_libc_ipc_control(TERN_LIBC_IPC_SEM, (int32_t)id, (int32_t)command,
                                       (int32_t)semnum, v, 0, 0, out, &size, &value);
        return r < 0 ? r : (long)value;
    }
    default:
        return -EINVAL;
    }
}

/* ---- Message queues ------------------------------------------------------------------- */

static unsigned char g_text[TERN_LIBC_IPC_MSGMAX];

static long sys_msgsnd(long id, const void* user_message, long size, long flags) {
    if (size < 0 || size > kMsgMax || id < 0)
        return -EINVAL;
    long type = 0;
    long r = tern_libc_copy_in(&type, user_message, sizeof(type));
    if (r < 0)
        return r;
    if (type < 1)
        return -EINVAL;
    r = tern_libc_copy_in(g_text, (const char*)user_message + sizeof(long), (uint64_t)size);
    if (r < 0)
        return r;
    return tern_libc_ipc_msgsnd((int32_t)id, type, g_text, (uint32_t)size, (uint32_t)flags);
}

static long sys_msgrcv(long id, void* user_message, long max, long type, long flags) {
    if (max < 0 || id < 0)
        return -EINVAL;
    int64_t got_type = 0;
    long n =
        tern_libc_ipc_msgrcv((int32_t)id, type, (uint64_t)max, (uint32_t)flags, g_text, &got_type);
    if (n < 0)
        return n;
    long t = (long)got_type;
    long r = tern_libc_copy_out(user_message, &t, sizeof(t));
    if (r == 0)
        r = tern_libc_copy_out((char*)user_message + sizeof(long), g_text, (uint64_t)n);
    return r < 0 ? r : n;
}

static long sys_msgctl(long id, long command, void* buffer) {
    command &= ~(long)kIpc64;
    switch (command) {
    case IPC_STAT:
    case MSG_STAT:
    case kMsgStatAny:
        return stat_call(TERN_LIBC_IPC_MSG, (int)id, (int)command, buffer);
    case IPC_SET:
        return set_call(TERN_LIBC_IPC_MSG, (int)id, buffer);
    case IPC_INFO:
    case MSG_INFO:
        return info_call(TERN_LIBC_IPC_MSG, (int)command, buffer);
    case IPC_RMID: {
        unsigned char out[TERN_LIBC_IPC_CONTROL_DATA];
        uint32_t size = 0;
        int64_t value = 0;
        return tern_libc_ipc_control(TERN_LIBC_IPC_MSG, (int32_t)id, IPC_RMID, 0, 0, 0, 0, out,
                                     &size, &value);
    }
    default:
        return -EINVAL;
    }
}

long tern_libc_sysv_syscall(long n, long a1, long a2, long a3, long a4, long a5, int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_shmget:
        return tern_libc_ipc_get(TERN_LIBC_IPC_SHM, (int32_t)a1, (uint32_t)a3, (uint64_t)a2);
    case SYS_shmat:
        return sys_shmat(a1, (uint64_t)a2, a3);
    case SYS_shmdt:
        return sys_shmdt((uint64_t)a1);
    case SYS_shmctl:
        return sys_shmctl(a1, a2, (void*)a3);
    case SYS_semget:
        /* A negative count is EINVAL: it reaches the server as a huge one. */
        return tern_libc_ipc_get(TERN_LIBC_IPC_SEM, (int32_t)a1, (uint32_t)a3,
                                 (uint64_t)(int64_t)(int)a2);
    case SYS_semop:
        return sys_semtimedop(a1, (const void*)a2, a3, 0);
    case SYS_semtimedop:
        return sys_semtimedop(a1, (const void*)a2, a3, (const struct timespec*)a4);
    case SYS_semctl:
        return sys_semctl(a1, a2, a3, a4);
    case SYS_msgget:
        return tern_libc_ipc_get(TERN_LIBC_IPC_MSG, (int32_t)a1, (uint32_t)a2, 0);
    case SYS_msgsnd:
        return sys_msgsnd(a1, (const void*)a2, a3, a4);
    case SYS_msgrcv:
        return sys_msgrcv(a1, (void*)a2, a3, a4, a5);
    case SYS_msgctl:
        return sys_msgctl(a1, a2, (void*)a3);
    default:
        return tern_libc_mq_syscall(n, a1, a2, a3, a4, a5, handled);
    }
}

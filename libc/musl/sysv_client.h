/*
 * Tern's musl port: the ipc server's calls (tern/protocols/ipc.h) for backend_sysv.c,
 * made by sysv_client.cpp on the native runtime. Every function returns >= 0 or a negated
 * Linux errno (the server's answers are errnos already); -ENOSYS when the program has no
 * ipc server. The first call says Hello to the server with a handle to this task, so the
 * server notices when the program ends (SEM_UNDO, attaches).
 *
 * Pointers here are the backend's own buffers: it copies from and to the program's
 * memory itself (EFAULT).
 */
#ifndef TERN_LIBC_MUSL_SYSV_CLIENT_H
#define TERN_LIBC_MUSL_SYSV_CLIENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ipc::ObjectStat's layout (checked in sysv_client.cpp). */
struct tern_libc_ipc_stat {
    int32_t key;
    int32_t id;
    uint32_t uid, gid, cuid, cgid;
    uint32_t mode;
    uint32_t sequence;
    uint64_t size;
    uint64_t count;
    uint64_t qbytes;
    uint32_t cpid;
    uint32_t lpid;
    int64_t atime;
    int64_t dtime;
    int64_t ctime;
};

/* ipc::ObjectSet's layout. */
struct tern_libc_ipc_set {
    uint32_t uid, gid, mode;
    uint32_t reserved;
    uint64_t qbytes;
};

/* ipc::Usage's layout. */
struct tern_libc_ipc_usage {
    uint32_t objects;
    uint32_t waiters;
    uint64_t total;
    uint64_t messages;
};

#define TERN_LIBC_IPC_SHM 0
#define TERN_LIBC_IPC_SEM 1
#define TERN_LIBC_IPC_MSG 2
/* The largest reply data of a control call, and of a msgrcv. */
#define TERN_LIBC_IPC_CONTROL_DATA 500
#define TERN_LIBC_IPC_MSGMAX 8192
#define TERN_LIBC_IPC_SEMOPM 64
#define TERN_LIBC_IPC_FOREVER (~(uint64_t)0)

/* shmget, semget, msgget: the id. */
long tern_libc_ipc_get(uint32_t kind, int32_t key, uint32_t flags, uint64_t size);
/* shmat's call: *memory = the segment's memory object (the caller maps and owns it),
 * *size = its size in bytes. */
long tern_libc_ipc_attach(int32_t id, uint32_t flags, uint32_t* memory, uint64_t* size);
/* A forked child is a client of its own: the next call greets the server again. */
void tern_libc_ipc_forget_server(void);
long tern_libc_ipc_detach(int32_t id);
/* shmctl, semctl, msgctl: *result = the command's value; out (TERN_LIBC_IPC_CONTROL_DATA
 * bytes) gets the reply data, *out_size its size. */
long tern_libc_ipc_control(uint32_t kind, int32_t id, int32_t command, int32_t semnum,
                           int64_t value, const void* in, uint32_t in_size, void* out,
                           uint32_t* out_size, int64_t* result);
/* semop/semtimedop of count struct sembuf (6 bytes each). */
long tern_libc_ipc_semop(int32_t id, const void* ops, uint32_t count, uint64_t timeout_ns);
long tern_libc_ipc_msgsnd(int32_t id, int64_t type, const void* text, uint32_t size,
                          uint32_t flags);
/* msgrcv into text (TERN_LIBC_IPC_MSGMAX bytes): the size, *type the message's type. */
long tern_libc_ipc_msgrcv(int32_t id, int64_t type, uint64_t max, uint32_t flags, void* text,
                          int64_t* got_type);

/* POSIX message queues (backend_mq.c). A description is (description, secret), as
 * ipc::MqHandle. Deadlines are CLOCK_REALTIME ns, TERN_LIBC_IPC_FOREVER for none. */
struct tern_libc_mq_attr {
    int64_t flags, maxmsg, msgsize, curmsgs;
};
#define TERN_LIBC_MQ_NAME_MAX 255
#define TERN_LIBC_MQ_MSGSIZE_MAX 8192
long tern_libc_mq_open(const char* name, uint32_t length, uint32_t oflag, uint32_t mode,
                       const struct tern_libc_mq_attr* attr, uint64_t* description,
                       uint64_t* secret);
long tern_libc_mq_unlink(const char* name, uint32_t length);
long tern_libc_mq_close(uint64_t description, uint64_t secret);
/* delta 1: lend to a child about to be forked; -1: take the loan back; 0: take it (the
 * child). */
long tern_libc_mq_share(uint64_t description, uint64_t secret, int32_t delta);
long tern_libc_mq_attr(uint64_t description, uint64_t secret, int set, int64_t flags,
                       struct tern_libc_mq_attr* out);
long tern_libc_mq_send(uint64_t description, uint64_t secret, const void* text, uint32_t size,
                       uint32_t priority, uint64_t deadline);
/* Into text (TERN_LIBC_MQ_MSGSIZE_MAX bytes): the size, *priority the message's. */
long tern_libc_mq_receive(uint64_t description, uint64_t secret, void* text, uint64_t max,
                          uint64_t deadline, uint32_t* priority);
long tern_libc_mq_notify(uint64_t description, uint64_t secret, int remove, int32_t kind,
                         int32_t signo, int64_t value, uint64_t pid);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_SYSV_CLIENT_H */

/*
 * ipcs: the System V objects of this node (/bin/ipcs), as util-linux's ipcs prints them.
 *
 *     ipcs [-q] [-m] [-s] [-l]
 *
 * Without an option: message queues, shared memory segments and semaphore arrays, each
 * a table of key, id, owner, permissions and the kind's sizes. -q, -m and -s choose the
 * tables; -l prints the limits instead. The tables come from the C library alone
 * (msgctl MSG_INFO and MSG_STAT, shmctl SHM_INFO and SHM_STAT, semctl SEM_INFO and
 * SEM_STAT walk the slots), so ipcs needs no interface of its own. A bad option exits 2
 * with a usage message; a call that fails is reported on stderr and ipcs exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

union semun {
    int val;
    struct semid_ds* buf;
    unsigned short* array;
};

/* Users have no names yet: uid 0 is root, any other prints as its number. */
static const char* owner(unsigned uid, char* buffer, size_t size) {
    if (uid == 0)
        return "root";
    snprintf(buffer, size, "%u", uid);
    return buffer;
}

static int queues(void) {
    struct msginfo info;
    int highest = msgctl(0, MSG_INFO, (struct msqid_ds*)&info);
    if (highest < 0) {
        fprintf(stderr, "ipcs: msgctl MSG_INFO: %s\n", strerror(errno));
        return 1;
    }
    printf("\n------ Message Queues --------\n");
    printf("%-10s %-10s %-10s %-10s %-12s %-12s\n", "key", "msqid", "owner", "perms", "used-bytes",
           "messages");
    for (int i = 0; i <= highest; ++i) {
        struct msqid_ds d;
        int id = msgctl(i, MSG_STAT, &d);
        if (id < 0)
            continue;
        char name[16];
        printf("0x%08x %-10d %-10s %-10o %-12lu %-12lu\n", (unsigned)d.msg_perm.__key, id,
               owner(d.msg_perm.uid, name, sizeof(name)), d.msg_perm.mode & 0777,
               (unsigned long)d.msg_cbytes, (unsigned long)d.msg_qnum);
    }
    return 0;
}

static int segments(void) {
    struct shm_info info;
    int highest = shmctl(0, SHM_INFO, (struct shmid_ds*)&info);
    if (highest < 0) {
        fprintf(stderr, "ipcs: shmctl SHM_INFO: %s\n", strerror(errno));
        return 1;
    }
    printf("\n------ Shared Memory Segments --------\n");
    printf("%-10s %-10s %-10s %-10s %-10s %-10s %-12s\n", "key", "shmid", "owner", "perms", "bytes",
           "nattch", "status");
    for (int i = 0; i <= highest; ++i) {
        struct shmid_ds d;
        int id = shmctl(i, SHM_STAT, &d);
        if (id < 0)
            continue;
        char name[16];
        printf("0x%08x %-10d %-10s %-10o %-10lu %-10lu %-12s\n", (unsigned)d.shm_perm.__key, id,
               owner(d.shm_perm.uid, name, sizeof(name)), d.shm_perm.mode & 0777,
               (unsigned long)d.shm_segsz, (unsigned long)d.shm_nattch,
               (d.shm_perm.mode & SHM_DEST) ? "dest" : "");
    }
    return 0;
}

static int arrays(void) {
    struct seminfo info;
    union semun arg;
    arg.buf = (struct semid_ds*)&info;
    int highest = semctl(0, 0, SEM_INFO, arg);
    if (highest < 0) {
        fprintf(stderr, "ipcs: semctl SEM_INFO: %s\n", strerror(errno));
        return 1;
    }
    printf("\n------ Semaphore Arrays --------\n");
    printf("%-10s %-10s %-10s %-10s %-10s\n", "key", "semid", "owner", "perms", "nsems");
    for (int i = 0; i <= highest; ++i) {
        struct semid_ds d;
        arg.buf = &d;
        int id = semctl(i, 0, SEM_STAT, arg);
        if (id < 0)
            continue;
        char name[16];
        printf("0x%08x %-10d %-10s %-10o %-10lu\n", (unsigned)d.sem_perm.__key, id,
               owner(d.sem_perm.uid, name, sizeof(name)), d.sem_perm.mode & 0777,
               (unsigned long)d.sem_nsems);
    }
    return 0;
}

static int limits(int q, int m, int s) {
    if (q) {
        struct msginfo i;
        if (msgctl(0, IPC_INFO, (struct msqid_ds*)&i) < 0) {
            fprintf(stderr, "ipcs: msgctl IPC_INFO: %s\n", strerror(errno));
            return 1;
        }
        printf("\n------ Messages Limits --------\n");
        printf("max queues system wide = %d\n", i.msgmni);
        printf("max size of message (bytes) = %d\n", i.msgmax);
        printf("default max size of queue (bytes) = %d\n", i.msgmnb);
    }
    if (m) {
        struct shminfo i;
        if (shmctl(0, IPC_INFO, (struct shmid_ds*)&i) < 0) {
            fprintf(stderr, "ipcs: shmctl IPC_INFO: %s\n", strerror(errno));
            return 1;
        }
        printf("\n------ Shared Memory Limits --------\n");
        printf("max number of segments = %lu\n", (unsigned long)i.shmmni);
        printf("max seg size (kbytes) = %lu\n", (unsigned long)i.shmmax / 1024);
        printf("max total shared memory (kbytes) = %lu\n", (unsigned long)i.shmall * 4);
        printf("min seg size (bytes) = %lu\n", (unsigned long)i.shmmin);
    }
    if (s) {
        struct seminfo i;
        union semun arg;
        arg.buf = (struct semid_ds*)&i;
        if (semctl(0, 0, IPC_INFO, arg) < 0) {
            fprintf(stderr, "ipcs: semctl IPC_INFO: %s\n", strerror(errno));
            return 1;
        }
        printf("\n------ Semaphore Limits --------\n");
        printf("max number of arrays = %d\n", i.semmni);
        printf("max semaphores per array = %d\n", i.semmsl);
        printf("max semaphores system wide = %d\n", i.semmns);
        printf("max ops per semop call = %d\n", i.semopm);
        printf("semaphore max value = %d\n", i.semvmx);
    }
    return 0;
}

int main(int argc, char** argv) {
    int q = 0, m = 0, s = 0, l = 0;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (a[0] != '-' || a[1] == 0)
            goto usage;
        for (const char* c = a + 1; *c; ++c) {
            switch (*c) {
            case 'q':
                q = 1;
                break;
            case 'm':
                m = 1;
                break;
            case 's':
                s = 1;
                break;
            case 'l':
                l = 1;
                break;
            default:
                goto usage;
            }
        }
    }
    if (!q && !m && !s)
        q = m = s = 1;
    if (l)
        return limits(q, m, s);
    int status = 0;
    if (q)
        status |= queues();
    if (m)
        status |= segments();
    if (s)
        status |= arrays();
    return status;
usage:
    fprintf(stderr, "usage: ipcs [-q] [-m] [-s] [-l]\n");
    return 2;
}

/*
 * ipcrm: removes System V objects by id or key (/bin/ipcrm), as util-linux's ipcrm does.
 *
 *     ipcrm [-q id] [-m id] [-s id] [-Q key] [-M key] [-S key] [-a]
 *
 * -q, -m and -s remove the message queue, shared memory segment or semaphore array with
 * that id; -Q, -M and -S the one with that key (decimal, or hexadecimal with 0x); -a every
 * object. A segment still attached goes at its last detach. Each object that cannot be
 * removed is reported on stderr ("ipcrm: invalid id (5)", "ipcrm: invalid key (0x1234)",
 * "ipcrm: permission denied for id (5)") and ipcrm goes on and exits 1. A bad option or
 * argument exits 2 with a usage message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

static int remove_id(char kind, int id) {
    int r;
    if (kind == 'q')
        r = msgctl(id, IPC_RMID, NULL);
    else if (kind == 'm')
        r = shmctl(id, IPC_RMID, NULL);
    else
        r = semctl(id, 0, IPC_RMID);
    if (r == 0)
        return 0;
    if (errno == EPERM || errno == EACCES)
        fprintf(stderr, "ipcrm: permission denied for id (%d)\n", id);
    else
        fprintf(stderr, "ipcrm: invalid id (%d)\n", id);
    return 1;
}

static int remove_key(char kind, key_t key) {
    int id;
    if (key == IPC_PRIVATE) {
        fprintf(stderr, "ipcrm: invalid key (0x%x)\n", (unsigned)key);
        return 1;
    }
    if (kind == 'Q')
        id = msgget(key, 0);
    else if (kind == 'M')
        id = shmget(key, 0, 0);
    else
        id = semget(key, 0, 0);
    if (id < 0) {
        if (errno == EACCES)
            fprintf(stderr, "ipcrm: permission denied for key (0x%x)\n", (unsigned)key);
        else
            fprintf(stderr, "ipcrm: invalid key (0x%x)\n", (unsigned)key);
        return 1;
    }
    return remove_id((char)(kind - 'A' + 'a'), id);
}

/* Every object of every kind, walking the slots as ipcs does. */
static int remove_all(void) {
    int status = 0;
    struct msginfo mi;
    int highest = msgctl(0, MSG_INFO, (struct msqid_ds*)&mi);
    for (int i = 0; i <= highest; ++i) {
        struct msqid_ds d;
        int id = msgctl(i, MSG_STAT, &d);
        if (id >= 0)
            status |= remove_id('q', id);
    }
    struct shm_info si;
    highest = shmctl(0, SHM_INFO, (struct shmid_ds*)&si);
    for (int i = 0; i <= highest; ++i) {
        struct shmid_ds d;
        int id = shmctl(i, SHM_STAT, &d);
        if (id >= 0 && !(d.shm_perm.mode & SHM_DEST))
            status |= remove_id('m', id);
    }
    struct seminfo sem;
    highest = semctl(0, 0, SEM_INFO, &sem);
    for (int i = 0; i <= highest; ++i) {
        struct semid_ds d;
        int id = semctl(i, 0, SEM_STAT, &d);
        if (id >= 0)
            status |= remove_id('s', id);
    }
    return status;
}

static int number(const char* text, long* out) {
    char* end = NULL;
    errno = 0;
    long value = strtol(text, &end, 0);
    if (errno != 0 || end == text || *end != 0 || value < -2147483648L || value > 4294967295L)
        return 0;
    *out = value;
    return 1;
}

int main(int argc, char** argv) {
    if (argc < 2)
        goto usage;
    int status = 0;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (!strcmp(a, "-a")) {
            status |= remove_all();
            continue;
        }
        if (a[0] != '-' || a[1] == 0 || a[2] != 0 || !strchr("qmsQMS", a[1]) || i + 1 >= argc)
            goto usage;
        long value = 0;
        if (!number(argv[++i], &value))
            goto usage;
        if (a[1] >= 'a')
            status |= remove_id(a[1], (int)value);
        else
            status |= remove_key(a[1], (key_t)value);
    }
    return status;
usage:
    fprintf(stderr, "usage: ipcrm [-q id] [-m id] [-s id] [-Q key] [-M key] [-S key] [-a]\n");
    return 2;
}

/*
 * sysv: System V IPC through the C library, with the errno Linux gives for every refusal.
 *
 *   sysv                 every call in one process: ftok; shmget/shmat/shmdt/shmctl
 *                        (sharing through two attaches, SHM_RDONLY, IPC_RMID while
 *                        attached, IPC_STAT, IPC_SET, SHM_INFO/SHM_STAT); semget/semop/
 *                        semtimedop/semctl (every command, IPC_NOWAIT, the timeout,
 *                        all-or-nothing, limits); msgget/msgsnd/msgrcv/msgctl (types 0,
 *                        >0, <0, MSG_EXCEPT, MSG_NOERROR, E2BIG, ENOMSG, a full queue);
 *                        bad ids, keys, sizes, semaphore numbers, types and pointers
 *   sysv waiter          (in the background) waits on a semaphore until `sysv poster`
 *                        posts it, answers on another, then sends messages of types 3,1,2
 *   sysv poster          posts once the waiter waits (GETNCNT), takes the answer, and
 *                        receives the waiter's messages by type
 *   sysv waiter_gone     after a waiter was killed in semop (Ctrl-C): nobody waits any
 *                        more (GETNCNT 0), and the set still works
 *   sysv hold            takes a semaphore with SEM_UNDO and attaches a segment it then
 *                        removes, and waits to be killed (Ctrl-C)
 *   sysv after_kill      the semaphore is back and the segment is gone
 *   sysv leave           leaves one object of each kind under key 0x7e57 (for ipcs)
 *   sysv bench           the cost of a semop, a msgsnd + msgrcv pair and a shmat + shmdt
 *                        pair: the median of 201 rounds in time-stamp counter ticks (under
 *                        QEMU's -icount, guest instructions)
 *   sysv pingpong        two processes: sysv.semop_pingpong (they alternate on a set of
 *                        two semaphores, one round trip) and sysv.msg_pingpong_64 (a
 *                        64-byte message of type 1 there, one of type 2 back through one
 *                        queue); the minimum over 7 rounds of the mean of 200 round trips,
 *                        as bench/linux/microbench.c measures the Linux peers
 *
 * The one-process part builds and runs on the host's Linux too (unit.libc_sysv_on_host),
 * so every expectation is what Linux does. Prints "sysv: ok ..." per check, "sysv: FAILED
 * ..." for a failure and "sysv: N checks, M failures"; exits 0 only when nothing failed.
 * Every wait is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench/ipc_pingpong.h"

static int g_checks, g_failures;

/* An address nothing is mapped at, hidden from the compiler's bounds warnings. */
static void* volatile g_bad = (void*)8;

union semun {
    int val;
    struct semid_ds* buf;
    unsigned short* array;
};

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("sysv: ok %s\n", what);
    } else {
        ++g_failures;
        printf("sysv: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

/* A call that must fail with errno `want`. */
static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("sysv: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("sysv: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
}

/* An id of no object: another node's on Tern, another sequence of the slot on Linux. */
#define BAD_ID(id) ((id) + 50 * 32768)

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Removes what an earlier run may have left under key. */
static void clear_key(key_t key) {
    int id = shmget(key, 0, 0);
    if (id >= 0)
        shmctl(id, IPC_RMID, NULL);
    id = semget(key, 0, 0);
    if (id >= 0)
        semctl(id, 0, IPC_RMID);
    id = msgget(key, 0);
    if (id >= 0)
        msgctl(id, IPC_RMID, NULL);
}

struct message {
    long type;
    char text[64];
};

/* ---- One process ---------------------------------------------------------------------- */

static void test_ftok(void) {
    key_t a = ftok("/", 1);
    check(a != -1, "ftok of /");
    check(ftok("/", 1) == a, "ftok is repeatable");
    check(ftok("/", 2) != a, "ftok differs with the project id");
    check_errno(ftok("/no/such/file", 1), ENOENT, "ftok of a missing file");
}

static void test_shm(void) {
    const key_t key = 0x7e5701;
    clear_key(key);
    check_errno(shmget(key, 4096, 0600), ENOENT, "shmget of a missing key");
    check_errno(shmget(IPC_PRIVATE, 0, 0600), EINVAL, "shmget of size 0");
    check_errno(shmget(IPC_PRIVATE, (size_t)-1, 0600), EINVAL, "shmget above SHMMAX");
    int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
    check(id >= 0, "shmget IPC_CREAT|IPC_EXCL");
    check_errno(shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "shmget IPC_EXCL again");
    check(shmget(key, 0, 0) == id, "shmget finds the key");
    check_errno(shmget(key, 20000, 0), EINVAL, "shmget larger than the segment");

    char* p = shmat(id, NULL, 0);
    char* q = shmat(id, NULL, 0);
    check(p != (void*)-1 && q != (void*)-1 && p != q, "two attaches at two addresses");
    if (p == (void*)-1 || q == (void*)-1)
        return;
    check(p[0] == 0 && p[9999] == 0, "a new segment is zeroed");
    strcpy(p, "shared through the segment");
    p[9999] = 'z';
    check(strcmp(q, "shared through the segment") == 0 && q[9999] == 'z',
          "a write through one attach is seen through the other");
    const char* r = shmat(id, NULL, SHM_RDONLY);
    check(r != (void*)-1 && r[9999] == 'z', "shmat SHM_RDONLY reads");

    struct shmid_ds ds;
    check(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_segsz == 10000 && ds.shm_nattch == 3
              && (ds.shm_perm.mode & 0777) == 0600 && ds.shm_cpid == getpid()
              && ds.shm_lpid == getpid(),
          "shmctl IPC_STAT: size, attaches, mode, pids");
    ds.shm_perm.mode = 0640;
    check(shmctl(id, IPC_SET, &ds) == 0, "shmctl IPC_SET");
    check(shmctl(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & 0777) == 0640,
          "IPC_SET changed the mode");
    check_errno(shmctl(id, IPC_STAT, g_bad), EFAULT, "shmctl IPC_STAT to a bad pointer");
    check_errno(shmctl(id, 999, &ds), EINVAL, "shmctl of an unknown command");
    check_errno(shmctl(BAD_ID(id), IPC_STAT, &ds), EINVAL, "shmctl of a bad id");
    check_errno(shmctl(-1, IPC_STAT, &ds), EINVAL, "shmctl of a negative id");
    struct shm_info info;
    int highest = shmctl(0, SHM_INFO, (struct shmid_ds*)&info);
    check(highest >= 0 && info.used_ids >= 1, "shmctl SHM_INFO");
    int found = 0;
    for (int i = 0; i <= highest; ++i) {
        struct shmid_ds s;
        if (shmctl(i, SHM_STAT, &s) == id)
            found = 1;
    }
    check(found, "SHM_STAT walks to the segment");

    check_errno((long)(intptr_t)shmat(BAD_ID(id), NULL, 0), EINVAL, "shmat of a bad id");
    check_errno((long)(intptr_t)shmat(id, (void*)0x12345, 0), EINVAL,
                "shmat at an unaligned address");
    check_errno(shmdt((void*)0x12345000), EINVAL, "shmdt of an address not attached");

    /* IPC_RMID while attached: the key goes, the memory stays until the last detach. */
    check(shmctl(id, IPC_RMID, NULL) == 0, "shmctl IPC_RMID while attached");
    check_errno(shmget(key, 0, 0), ENOENT, "the removed segment's key is free");
    check(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 3 && (ds.shm_perm.mode & SHM_DEST)
              && ds.shm_perm.__key == IPC_PRIVATE,
          "a removed segment stays while attached (SHM_DEST)");
    check(strcmp(q, "shared through the segment") == 0, "its memory is still there");
    check(shmdt(p) == 0 && shmdt(q) == 0, "shmdt");
    check_errno(shmdt(p), EINVAL, "shmdt twice");
    check(shmdt(r) == 0, "the last shmdt");
    check_errno(shmctl(id, IPC_STAT, &ds), EINVAL, "the segment is gone after the last detach");

    int small = shmget(IPC_PRIVATE, 100, 0600);
    check(small >= 0 && shmctl(small, IPC_RMID, NULL) == 0, "IPC_RMID of an unattached segment");
    check_errno((long)(intptr_t)shmat(small, NULL, 0), EINVAL, "shmat of a removed segment");
}

static void test_sem(void) {
    const key_t key = 0x7e5702;
    clear_key(key);
    check_errno(semget(key, 1, 0600), ENOENT, "semget of a missing key");
    check_errno(semget(IPC_PRIVATE, 0, 0600), EINVAL, "semget of 0 semaphores");
    check_errno(semget(IPC_PRIVATE, -1, 0600), EINVAL, "semget of -1 semaphores");
    check_errno(semget(IPC_PRIVATE, 100000, 0600), EINVAL, "semget above SEMMSL");
    int id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
    check(id >= 0, "semget IPC_CREAT|IPC_EXCL");
    check_errno(semget(key, 3, IPC_CREAT | IPC_EXCL), EEXIST, "semget IPC_EXCL again");
    check(semget(key, 2, 0) == id, "semget finds the key with fewer semaphores");
    check_errno(semget(key, 4, 0), EINVAL, "semget with more semaphores than the set");

    check(semctl(id, 0, GETVAL) == 0, "a new semaphore is 0");
    union semun arg;
    arg.val = 5;
    check(semctl(id, 0, SETVAL, arg) == 0 && semctl(id, 0, GETVAL) == 5, "SETVAL, GETVAL");
    check(semctl(id, 0, GETPID) == getpid(), "GETPID after SETVAL");
    arg.val = 40000;
    check_errno(semctl(id, 0, SETVAL, arg), ERANGE, "SETVAL above SEMVMX");
    arg.val = -1;
    check_errno(semctl(id, 0, SETVAL, arg), ERANGE, "SETVAL below 0");
    check_errno(semctl(id, 3, GETVAL), EINVAL, "GETVAL of semaphore 3 of 3");
    check_errno(semctl(id, -1, GETVAL), EINVAL, "GETVAL of semaphore -1");
    check_errno(semctl(BAD_ID(id), 0, GETVAL), EINVAL, "GETVAL of a bad id");
    check_errno(semctl(id, 0, 999), EINVAL, "semctl of an unknown command");

    unsigned short values[3] = {1, 2, 3};
    arg.array = values;
    check(semctl(id, 0, SETALL, arg) == 0, "SETALL");
    unsigned short got[3] = {0, 0, 0};
    arg.array = got;
    check(semctl(id, 0, GETALL, arg) == 0 && got[0] == 1 && got[1] == 2 && got[2] == 3, "GETALL");
    arg.array = g_bad;
    check_errno(semctl(id, 0, GETALL, arg), EFAULT, "GETALL to a bad pointer");
    check_errno(semctl(id, 0, SETALL, arg), EFAULT, "SETALL from a bad pointer");
    unsigned short too_big[3] = {1, 40000, 1};
    arg.array = too_big;
    check_errno(semctl(id, 0, SETALL, arg), ERANGE, "SETALL above SEMVMX");

    struct sembuf ops[2] = {{0, -1, 0}, {1, -2, 0}};
    check(semop(id, ops, 2) == 0, "semop of two operations");
    check(semctl(id, 0, GETVAL) == 0 && semctl(id, 1, GETVAL) == 0, "both applied");
    /* All or nothing: the first could proceed, the second cannot. */
    struct sembuf half[2] = {{2, -1, 0}, {0, -1, IPC_NOWAIT}};
    check_errno(semop(id, half, 2), EAGAIN, "semop that would wait, with IPC_NOWAIT");
    check(semctl(id, 2, GETVAL) == 3, "nothing of it was applied");
    struct sembuf zero = {0, 0, 0};
    check(semop(id, &zero, 1) == 0, "wait-for-zero on a zero semaphore");
    struct sembuf zero_nowait = {2, 0, IPC_NOWAIT};
    check_errno(semop(id, &zero_nowait, 1), EAGAIN, "wait-for-zero on 3 with IPC_NOWAIT");
    struct sembuf take = {0, -1, 0};
    struct timespec timeout = {0, 200000000L};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    check_errno(semtimedop(id, &take, 1, &timeout), EAGAIN, "semtimedop times out");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    check(waited >= 150 && waited < 5000, "after about 200 ms");
    struct timespec bad_time = {0, 1000000000L};
    check_errno(semtimedop(id, &take, 1, &bad_time), EINVAL, "semtimedop with tv_nsec 1e9");
    check_errno(semtimedop(id, &take, 1, g_bad), EFAULT, "semtimedop with a bad timeout");
    struct sembuf bad_num = {3, 1, 0};
    check_errno(semop(id, &bad_num, 1), EFBIG, "semop of semaphore 3 of 3");
    check_errno(semop(id, ops, 0), EINVAL, "semop of 0 operations");
    struct sembuf many[1000];
    memset(many, 0, sizeof(many));
    check_errno(semop(id, many, 1000), E2BIG, "semop of 1000 operations");
    check_errno(semop(id, g_bad, 1), EFAULT, "semop from a bad pointer");
    struct sembuf overflow = {2, 32767, 0};
    check_errno(semop(id, &overflow, 1), ERANGE, "semop above SEMVMX");
    check_errno(semop(BAD_ID(id), &take, 1), EINVAL, "semop of a bad id");
    check(semctl(id, 0, GETNCNT) == 0 && semctl(id, 0, GETZCNT) == 0, "GETNCNT, GETZCNT");

    /* SEM_UNDO within one process: undone at exit, so give it back by hand here. */
    struct sembuf undo = {2, -1, SEM_UNDO};
    check(semop(id, &undo, 1) == 0 && semctl(id, 2, GETVAL) == 2, "semop with SEM_UNDO");
    struct sembuf redo = {2, 1, SEM_UNDO};
    check(semop(id, &redo, 1) == 0 && semctl(id, 2, GETVAL) == 3, "and back");

    struct semid_ds ds;
    arg.buf = &ds;
    check(semctl(id, 0, IPC_STAT, arg) == 0 && ds.sem_nsems == 3
              && (ds.sem_perm.mode & 0777) == 0600 && ds.sem_otime >= ds.sem_ctime,
          "semctl IPC_STAT");
    ds.sem_perm.mode = 0666;
    check(semctl(id, 0, IPC_SET, arg) == 0, "semctl IPC_SET");
    check(semctl(id, 0, IPC_STAT, arg) == 0 && (ds.sem_perm.mode & 0777) == 0666,
          "IPC_SET changed the mode");
    arg.buf = g_bad;
    check_errno(semctl(id, 0, IPC_STAT, arg), EFAULT, "semctl IPC_STAT to a bad pointer");
    struct seminfo info;
    arg.buf = (struct semid_ds*)&info;
    check(semctl(0, 0, IPC_INFO, arg) >= 0 && info.semmsl >= 250 && info.semvmx == 32767,
          "semctl IPC_INFO");
    check(semctl(id, 0, IPC_RMID) == 0, "semctl IPC_RMID");
    check_errno(semctl(id, 0, GETVAL), EINVAL, "GETVAL of a removed set");
    check_errno(semop(id, &take, 1), EINVAL, "semop of a removed set");
}

static void test_msg(void) {
    const key_t key = 0x7e5703;
    clear_key(key);
    check_errno(msgget(key, 0600), ENOENT, "msgget of a missing key");
    int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    check(id >= 0, "msgget IPC_CREAT|IPC_EXCL");
    check_errno(msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "msgget IPC_EXCL again");
    check(msgget(key, 0) == id, "msgget finds the key");
    int other = msgget(IPC_PRIVATE, 0600);
    check(other >= 0 && other != id, "msgget IPC_PRIVATE makes a new queue");

    struct message m;
    const long types[] = {3, 1, 2, 1};
    const char* texts[] = {"three", "one", "two", "one again"};
    for (int i = 0; i < 4; ++i) {
        m.type = types[i];
        strcpy(m.text, texts[i]);
        check(msgsnd(id, &m, strlen(texts[i]) + 1, 0) == 0, "msgsnd");
    }
    struct msqid_ds ds;
    check(msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 4 && ds.msg_lspid == getpid()
              && ds.msg_qbytes > 0,
          "msgctl IPC_STAT: 4 messages");
    memset(&m, 0, sizeof(m));
    check(msgrcv(id, &m, sizeof(m.text), 2, 0) == 4 && m.type == 2 && !strcmp(m.text, "two"),
          "msgrcv type 2");
    check(msgrcv(id, &m, sizeof(m.text), -3, 0) == 4 && m.type == 1 && !strcmp(m.text, "one"),
          "msgrcv type -3 takes the lowest type");
    check(msgrcv(id, &m, sizeof(m.text), 1, MSG_EXCEPT) == 6 && m.type == 3,
          "msgrcv type 1 with MSG_EXCEPT");
    check_errno(msgrcv(id, &m, 3, 0, 0), E2BIG, "msgrcv of a longer message");
    check(msgrcv(id, &m, 3, 0, MSG_NOERROR) == 3 && !memcmp(m.text, "one", 3),
          "msgrcv with MSG_NOERROR cuts it");
    check_errno(msgrcv(id, &m, sizeof(m.text), 0, IPC_NOWAIT), ENOMSG, "msgrcv of an empty queue");
    m.type = 0;
    check_errno(msgsnd(id, &m, 1, 0), EINVAL, "msgsnd of type 0");
    m.type = 1;
    check_errno(msgsnd(id, &m, 100000, 0), EINVAL, "msgsnd above MSGMAX");
    check_errno(msgsnd(id, &m, (size_t)-1, 0), EINVAL, "msgsnd of size -1");
    check_errno(msgsnd(id, g_bad, 1, 0), EFAULT, "msgsnd from a bad pointer");
    check_errno(msgsnd(BAD_ID(id), &m, 1, 0), EINVAL, "msgsnd to a bad id");
    check_errno(msgrcv(BAD_ID(id), &m, 1, 0, IPC_NOWAIT), EINVAL, "msgrcv from a bad id");
    check_errno(msgrcv(id, &m, (size_t)-1, 0, IPC_NOWAIT), EINVAL, "msgrcv of size -1");

    /* A full queue: msg_qbytes lowered to 100. */
    check(msgctl(id, IPC_STAT, &ds) == 0, "IPC_STAT");
    ds.msg_qbytes = 100;
    check(msgctl(id, IPC_SET, &ds) == 0, "msgctl IPC_SET msg_qbytes 100");
    static char big[sizeof(long) + 80];
    *(long*)big = 5;
    check(msgsnd(id, big, 80, 0) == 0, "80 bytes fit");
    check_errno(msgsnd(id, big, 80, IPC_NOWAIT), EAGAIN, "80 more do not (IPC_NOWAIT)");
    check(msgrcv(id, big, 80, 5, 0) == 80, "and the 80 come back");
    check_errno(msgctl(id, IPC_STAT, g_bad), EFAULT, "msgctl IPC_STAT to a bad pointer");
    check_errno(msgctl(id, 999, &ds), EINVAL, "msgctl of an unknown command");
    struct msginfo info;
    check(msgctl(0, IPC_INFO, (struct msqid_ds*)&info) >= 0 && info.msgmax >= 8192,
          "msgctl IPC_INFO");
    /* 4000 bytes (more than a small message: on Tern the call's data part, not the call
     * area) there and back, whole. */
    static char large[sizeof(long) + 4000];
    *(long*)large = 9;
    for (int i = 0; i < 4000; ++i)
        large[sizeof(long) + i] = (char)('a' + i % 26);
    check(msgsnd(other, large, 4000, 0) == 0, "msgsnd of 4000 bytes");
    memset(large, 0, sizeof(large));
    int whole = msgrcv(other, large, 4000, 9, 0) == 4000 && *(long*)large == 9;
    for (int i = 0; whole && i < 4000; ++i)
        whole = large[sizeof(long) + i] == (char)('a' + i % 26);
    check(whole, "msgrcv of the 4000 bytes");
    check(msgctl(id, IPC_RMID, NULL) == 0 && msgctl(other, IPC_RMID, NULL) == 0, "msgctl IPC_RMID");
    check_errno(msgsnd(id, &m, 1, 0), EINVAL, "msgsnd to a removed queue");
}

/* ---- Two processes -------------------------------------------------------------------- */

enum {
    kHandoffKey = 0x7e5710,
    kHoldKey = 0x7e5720
};

static int handoff_objects(int* sem, int* queue) {
    *sem = semget(kHandoffKey, 2, IPC_CREAT | 0600);
    *queue = msgget(kHandoffKey, IPC_CREAT | 0600);
    return *sem >= 0 && *queue >= 0;
}

static int waiter(void) {
    int sem, queue;
    check(handoff_objects(&sem, &queue), "waiter: the set and the queue");
    struct sembuf take = {0, -1, 0};
    check(semop(sem, &take, 1) == 0, "waiter: got the semaphore");
    struct sembuf answer = {1, 1, 0};
    check(semop(sem, &answer, 1) == 0, "waiter: answered");
    struct message m;
    const long types[] = {3, 1, 2};
    for (int i = 0; i < 3; ++i) {
        m.type = types[i];
        snprintf(m.text, sizeof(m.text), "from the waiter, type %ld", types[i]);
        check(msgsnd(queue, &m, strlen(m.text) + 1, 0) == 0, "waiter: msgsnd");
    }
    printf("sysv: waiter: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

static int poster(void) {
    int sem, queue;
    check(handoff_objects(&sem, &queue), "poster: the set and the queue");
    int waiting = 0;
    for (int i = 0; i < 100 && !waiting; ++i) {
        waiting = semctl(sem, 0, GETNCNT) == 1;
        if (!waiting)
            sleep_ms(50);
    }
    check(waiting, "poster: the waiter waits (GETNCNT 1)");
    struct sembuf post = {0, 1, 0};
    check(semop(sem, &post, 1) == 0, "poster: posted");
    struct sembuf take = {1, -1, 0};
    struct timespec timeout = {10, 0};
    check(semtimedop(sem, &take, 1, &timeout) == 0, "poster: got the waiter's answer");
    check(semctl(sem, 0, GETPID) != getpid(), "poster: the waiter's pid on semaphore 0");
    struct message m;
    memset(&m, 0, sizeof(m));
    check(msgrcv(queue, &m, sizeof(m.text), 2, 0) > 0 && m.type == 2
              && !strcmp(m.text, "from the waiter, type 2"),
          "poster: type 2 from the other process");
    check(msgrcv(queue, &m, sizeof(m.text), -3, 0) > 0 && m.type == 1, "poster: then type 1");
    check(msgrcv(queue, &m, sizeof(m.text), 0, 0) > 0 && m.type == 3, "poster: then type 3");
    check(semctl(sem, 0, IPC_RMID) == 0 && msgctl(queue, IPC_RMID, NULL) == 0,
          "poster: removed both");
    printf("sysv: handoff: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

static int waiter_gone(void) {
    int sem, queue;
    check(handoff_objects(&sem, &queue), "waiter_gone: the set and the queue");
    int n = -1;
    for (int i = 0; i < 100 && n != 0; ++i) {
        n = semctl(sem, 0, GETNCNT);
        if (n != 0)
            sleep_ms(50);
    }
    check(n == 0, "waiter_gone: the killed waiter no longer waits (GETNCNT 0)");
    struct sembuf post = {0, 1, 0}, take = {0, -1, IPC_NOWAIT};
    check(semop(sem, &post, 1) == 0 && semop(sem, &take, 1) == 0,
          "waiter_gone: its post stayed for this process");
    check(semctl(sem, 0, IPC_RMID) == 0 && msgctl(queue, IPC_RMID, NULL) == 0,
          "waiter_gone: removed both");
    printf("sysv: waiter_gone: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

static int hold(void) {
    clear_key(kHoldKey);
    int sem = semget(kHoldKey, 1, IPC_CREAT | 0600);
    int queue = msgget(kHoldKey, IPC_CREAT | 0600);
    union semun arg;
    arg.val = 1;
    check(sem >= 0 && queue >= 0 && semctl(sem, 0, SETVAL, arg) == 0, "hold: objects");
    struct sembuf take = {0, -1, SEM_UNDO};
    check(semop(sem, &take, 1) == 0 && semctl(sem, 0, GETVAL) == 0, "hold: took it, SEM_UNDO");
    int shm = shmget(IPC_PRIVATE, 8192, 0600);
    char* p = shmat(shm, NULL, 0);
    check(shm >= 0 && p != (void*)-1, "hold: attached a segment");
    check(shmctl(shm, IPC_RMID, NULL) == 0, "hold: removed it while attached");
    struct message m = {1, ""};
    snprintf(m.text, sizeof(m.text), "%d", shm);
    check(msgsnd(queue, &m, strlen(m.text) + 1, 0) == 0, "hold: told its segment");
    printf("sysv: holding (%d failures)\n", g_failures);
    fflush(stdout);
    sleep_ms(60000);
    printf("sysv: FAILED hold was not killed\n");
    return 1;
}

static int after_kill(void) {
    int sem = semget(kHoldKey, 1, 0);
    int queue = msgget(kHoldKey, 0);
    check(sem >= 0 && queue >= 0, "after_kill: the objects are there");
    int value = -1;
    for (int i = 0; i < 100 && value != 1; ++i) {
        value = semctl(sem, 0, GETVAL);
        if (value != 1)
            sleep_ms(50);
    }
    check(value == 1, "after_kill: SEM_UNDO gave the semaphore back");
    struct message m;
    memset(&m, 0, sizeof(m));
    check(msgrcv(queue, &m, sizeof(m.text), 1, IPC_NOWAIT) > 0, "after_kill: the segment's id");
    struct shmid_ds ds;
    check_errno(shmctl(atoi(m.text), IPC_STAT, &ds), EINVAL,
                "after_kill: the removed segment went with its last attacher");
    clear_key(kHoldKey);
    printf("sysv: after_kill: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

static int leave(void) {
    const key_t key = 0x7e57;
    clear_key(key);
    int shm = shmget(key, 5000, IPC_CREAT | 0640);
    int sem = semget(key, 4, IPC_CREAT | 0600);
    int queue = msgget(key, IPC_CREAT | 0666);
    struct message m = {1, "hello"};
    check(shm >= 0 && sem >= 0 && queue >= 0 && msgsnd(queue, &m, 6, 0) == 0,
          "leave: one of each under 0x7e57");
    printf("sysv: left shm %d sem %d msg %d\n", shm, sem, queue);
    return g_failures == 0 ? 0 : 1;
}

/* ---- Figures ------------------------------------------------------------------------- */

enum {
    kRounds = 201
};

static int compare_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t* samples) {
    qsort(samples, kRounds, sizeof(samples[0]), compare_u64);
    return samples[kRounds / 2];
}

static int bench(void) {
    static uint64_t samples[kRounds];
    int sem = semget(IPC_PRIVATE, 1, 0600);
    int queue = msgget(IPC_PRIVATE, 0600);
    int shm = shmget(IPC_PRIVATE, 4096, 0600);
    if (sem < 0 || queue < 0 || shm < 0) {
        printf("sysv: FAILED bench objects (errno %d)\n", errno);
        return 1;
    }
    struct sembuf up = {0, 1, 0};
    for (int i = 0; i < kRounds; ++i) {
        uint64_t t0 = __builtin_ia32_rdtsc();
        semop(sem, &up, 1);
        samples[i] = __builtin_ia32_rdtsc() - t0;
    }
    printf("sysv: bench sysv.semop %llu\n", (unsigned long long)median(samples));
    struct message m = {1, "sixty-four bytes of text, or close enough to sixty-four."};
    for (int i = 0; i < kRounds; ++i) {
        uint64_t t0 = __builtin_ia32_rdtsc();
        msgsnd(queue, &m, 64, 0);
        msgrcv(queue, &m, 64, 0, 0);
        samples[i] = __builtin_ia32_rdtsc() - t0;
    }
    printf("sysv: bench sysv.msgsnd_msgrcv_64 %llu\n", (unsigned long long)median(samples));
    for (int i = 0; i < kRounds; ++i) {
        uint64_t t0 = __builtin_ia32_rdtsc();
        volatile char* p = shmat(shm, NULL, 0);
        p[0] = 1;
        shmdt((void*)p);
        samples[i] = __builtin_ia32_rdtsc() - t0;
    }
    printf("sysv: bench sysv.shmat_touch_shmdt %llu\n", (unsigned long long)median(samples));
    semctl(sem, 0, IPC_RMID);
    msgctl(queue, IPC_RMID, NULL);
    shmctl(shm, IPC_RMID, NULL);
    return 0;
}

enum {
    kPingRounds = 7,
    kPingPongs = 200
};

static int pingpong(void) {
    printf("sysv: pingpong begins\n"); /* a mark for tools/profile.py --start */
    uint64_t sem = semop_pingpong(kPingRounds, kPingPongs);
    uint64_t msg = msg_pingpong(kPingRounds, kPingPongs);
    if (sem == 0 || msg == 0) {
        printf("sysv: FAILED pingpong (semop %llu, msg %llu)\n", (unsigned long long)sem,
               (unsigned long long)msg);
        return 1;
    }
    printf("sysv.semop_pingpong: %llu instructions\n", (unsigned long long)sem);
    printf("sysv.msg_pingpong_64: %llu instructions\n", (unsigned long long)msg);
    return 0;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1) {
        if (!strcmp(argv[1], "waiter"))
            return waiter();
        if (!strcmp(argv[1], "poster"))
            return poster();
        if (!strcmp(argv[1], "waiter_gone"))
            return waiter_gone();
        if (!strcmp(argv[1], "hold"))
            return hold();
        if (!strcmp(argv[1], "after_kill"))
            return after_kill();
        if (!strcmp(argv[1], "leave"))
            return leave();
        if (!strcmp(argv[1], "bench"))
            return bench();
        if (!strcmp(argv[1], "pingpong"))
            return pingpong();
        printf("usage: sysv [waiter|poster|waiter_gone|hold|after_kill|leave|bench|pingpong]\n");
        return 2;
    }
    test_ftok();
    test_shm();
    test_sem();
    test_msg();
    printf("sysv: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

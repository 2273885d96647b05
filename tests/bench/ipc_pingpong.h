/*
 * Round trips between two processes through System V semaphores, a System V queue and
 * POSIX queues: the minimum over `rounds` rounds of the mean of `pingpongs` round trips,
 * in time-stamp counter ticks (under QEMU's -icount, guest instructions); 0 when a call
 * fails.
 *
 *   sysv.semop_pingpong   the two alternate on a set of two semaphores: each posts the
 *                         other's and waits on its own
 *   sysv.msg_pingpong_64  64 bytes of type 1 there and of type 2 back, one queue
 *   posix.mq_pingpong_64  64 bytes there and back over two queues of one message each
 *
 * Included by Tern's programs (tests/libc/sysv.c `sysv pingpong`, tests/libc/posix_mq.c
 * `posix_mq bench`) and by the Linux peer (bench/linux/microbench.c, linux.*), so both
 * systems run the same code against their own C library and kernel.
 */
#ifndef TERN_TESTS_BENCH_IPC_PINGPONG_H
#define TERN_TESTS_BENCH_IPC_PINGPONG_H

#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

struct pingpong_message {
    long type;
    char text[64];
};

/* The child's end: 0 when it exited 0. A parent whose calls failed stops it first (it may
 * be waiting for a turn that will not come). */
static inline int pingpong_reap(pid_t child, int failed) {
    int status = 0;
    if (child <= 0)
        return -1;
    if (failed)
        kill(child, SIGKILL);
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

/* One side's half of a round trip over `state`: 0 when its calls went well. */
typedef int (*pingpong_turn)(void* state);

/* Forks a child that takes child_turn rounds * pingpongs times while the parent takes
 * parent_turn as often, timed. */
static inline uint64_t pingpong_run(int rounds, int pingpongs, pingpong_turn child_turn,
                                    pingpong_turn parent_turn, void* state) {
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < rounds * pingpongs; ++i)
            if (child_turn(state) != 0)
                _exit(1);
        _exit(0);
    }
    uint64_t best = ~0ull;
    int failed = child < 0;
    for (int r = 0; !failed && r < rounds; ++r) {
        uint64_t t0 = __builtin_ia32_rdtsc();
        for (int i = 0; !failed && i < pingpongs; ++i)
            failed = parent_turn(state) != 0;
        uint64_t mean = (__builtin_ia32_rdtsc() - t0) / (uint64_t)pingpongs;
        best = mean < best ? mean : best;
    }
    if (pingpong_reap(child, failed) != 0)
        failed = 1;
    return failed ? 0 : best;
}

/* Semaphore 0 is the child's turn, 1 the parent's: each waits for its own turn and posts
 * the other's. */
static inline int semop_child(void* set) {
    struct sembuf wait_child = {0, -1, 0}, post_parent = {1, 1, 0};
    return semop(*(int*)set, &wait_child, 1) != 0 || semop(*(int*)set, &post_parent, 1) != 0;
}
static inline int semop_parent(void* set) {
    struct sembuf post_child = {0, 1, 0}, wait_parent = {1, -1, 0};
    return semop(*(int*)set, &post_child, 1) != 0 || semop(*(int*)set, &wait_parent, 1) != 0;
}

static inline uint64_t semop_pingpong(int rounds, int pingpongs) {
    int set = semget(IPC_PRIVATE, 2, 0600);
    if (set < 0)
        return 0;
    uint64_t best = pingpong_run(rounds, pingpongs, semop_child, semop_parent, &set);
    semctl(set, 0, IPC_RMID);
    return best;
}

struct msg_pingpong_state {
    int queue;
    struct pingpong_message m;
};

/* Type 1 goes to the child, type 2 back. */
static inline int msg_child(void* p) {
    struct msg_pingpong_state* s = (struct msg_pingpong_state*)p;
    if (msgrcv(s->queue, &s->m, 64, 1, 0) != 64)
        return 1;
    s->m.type = 2;
    return msgsnd(s->queue, &s->m, 64, 0) != 0;
}
static inline int msg_parent(void* p) {
    struct msg_pingpong_state* s = (struct msg_pingpong_state*)p;
    s->m.type = 1;
    return msgsnd(s->queue, &s->m, 64, 0) != 0 || msgrcv(s->queue, &s->m, 64, 2, 0) != 64;
}

static inline uint64_t msg_pingpong(int rounds, int pingpongs) {
    struct msg_pingpong_state s;
    memset(&s, 0x5a, sizeof(s));
    s.queue = msgget(IPC_PRIVATE, 0600);
    if (s.queue < 0)
        return 0;
    uint64_t best = pingpong_run(rounds, pingpongs, msg_child, msg_parent, &s);
    msgctl(s.queue, IPC_RMID, NULL);
    return best;
}

struct mq_pingpong_state {
    mqd_t ping, pong;
    char text[64];
};

static inline int mq_child(void* p) {
    struct mq_pingpong_state* s = (struct mq_pingpong_state*)p;
    return mq_receive(s->ping, s->text, 64, NULL) != 64 || mq_send(s->pong, s->text, 64, 0) != 0;
}
static inline int mq_parent(void* p) {
    struct mq_pingpong_state* s = (struct mq_pingpong_state*)p;
    return mq_send(s->ping, s->text, 64, 0) != 0 || mq_receive(s->pong, s->text, 64, NULL) != 64;
}

static inline mqd_t pingpong_queue(const char* name) {
    struct mq_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.mq_maxmsg = 1;
    attr.mq_msgsize = 64;
    mq_unlink(name);
    return mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
}

/* Over queues named ping and pong (made here and removed after). */
static inline uint64_t mq_pingpong(const char* ping_name, const char* pong_name, int rounds,
                                   int pingpongs) {
    struct mq_pingpong_state s;
    memset(&s, 0x5a, sizeof(s));
    s.ping = pingpong_queue(ping_name);
    s.pong = pingpong_queue(pong_name);
    uint64_t best = 0;
    if (s.ping != (mqd_t)-1 && s.pong != (mqd_t)-1)
        best = pingpong_run(rounds, pingpongs, mq_child, mq_parent, &s);
    mq_close(s.ping);
    mq_close(s.pong);
    mq_unlink(ping_name);
    mq_unlink(pong_name);
    return best;
}

#endif

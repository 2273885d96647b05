/*
 * posix_mq: POSIX message queues through the C library, with the errno Linux gives for
 * every refusal.
 *
 *   posix_mq        mq_open's flags, attributes and errnos (ENOENT, EEXIST, EACCES,
 *                   ENAMETOOLONG, EINVAL, EMFILE); priority order; EMSGSIZE; O_NONBLOCK
 *                   and EAGAIN; mq_getattr and mq_setattr; timed send and receive
 *                   (ETIMEDOUT, EINVAL); EBADF; mq_unlink while open; close-on-exec;
 *                   mq_notify (a signal on the first message, EBUSY, EINVAL, removal);
 *                   EINTR from a signal without SA_RESTART; then three processes: two
 *                   children send with priorities and the parent receives them in order,
 *                   a child blocked in mq_receive is woken by the parent's send, and a
 *                   child keeps a queue its parent closed and unlinked after the fork
 *   posix_mq bench  posix.mq_pingpong_64: a 64-byte message there and back between two
 *                   processes over two queues, in time-stamp counter ticks per round trip
 *                   (under QEMU's -icount, guest instructions)
 *
 * The same program runs on the host's Linux (unit.libc_posix_mq_on_host), so every
 * expectation is what Linux does. Prints "posix_mq: ok ..." per check, "posix_mq: FAILED
 * ..." for a failure and "posix_mq: N checks, M failures"; exits 0 only when nothing
 * failed. Every wait is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench/ipc_pingpong.h"

static int g_checks, g_failures;

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("posix_mq: ok %s\n", what);
    } else {
        ++g_failures;
        printf("posix_mq: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

/* A call that must fail with errno `want`. */
static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("posix_mq: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("posix_mq: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* CLOCK_REALTIME ms from now, as the timed calls take it. */
static struct timespec after_ms(long ms) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_nsec -= 1000000000L;
        ++t.tv_sec;
    }
    return t;
}

static struct mq_attr attr_of(long flags, long maxmsg, long msgsize) {
    struct mq_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.mq_flags = flags;
    attr.mq_maxmsg = maxmsg;
    attr.mq_msgsize = msgsize;
    return attr;
}

static mqd_t make(const char* name, long maxmsg, long msgsize, int flags) {
    struct mq_attr attr = attr_of(0, maxmsg, msgsize);
    mq_unlink(name);
    return mq_open(name, O_CREAT | O_EXCL | flags, 0600, &attr);
}

/* Waits up to ms for a child and says whether it exited 0. */
static int child_ok(pid_t pid, long ms) {
    int status = 0;
    int64_t end = now_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (r < 0 || now_ms() > end) {
            if (r == 0) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
            }
            return 0;
        }
        sleep_ms(10);
    }
}

/* ---- One process ---------------------------------------------------------------------- */

static void test_open(void) {
    mq_unlink("/tmq_none");
    check_errno(mq_open("/tmq_none", O_RDWR), ENOENT, "mq_open of a missing queue");
    check_errno(mq_open("/tmq/sub", O_RDWR | O_CREAT, 0600, NULL), EACCES,
                "mq_open of a name with a second slash");
    char long_name[300];
    long_name[0] = '/';
    memset(long_name + 1, 'n', sizeof(long_name) - 2);
    long_name[sizeof(long_name) - 1] = 0;
    check_errno(mq_open(long_name, O_RDWR | O_CREAT, 0600, NULL), ENAMETOOLONG,
                "mq_open of a name longer than NAME_MAX");
    struct mq_attr bad = attr_of(0, 0, 64);
    check_errno(mq_open("/tmq_a", O_RDWR | O_CREAT, 0600, &bad), EINVAL, "mq_maxmsg 0");
    bad.mq_maxmsg = -1;
    check_errno(mq_open("/tmq_a", O_RDWR | O_CREAT, 0600, &bad), EINVAL, "mq_maxmsg -1");
    bad.mq_maxmsg = 4;
    bad.mq_msgsize = 0;
    check_errno(mq_open("/tmq_a", O_RDWR | O_CREAT, 0600, &bad), EINVAL, "mq_msgsize 0");
    bad.mq_msgsize = (16 << 20) + 1;
    check_errno(mq_open("/tmq_a", O_RDWR | O_CREAT, 0600, &bad), EINVAL,
                "mq_msgsize above every limit");

    mqd_t q = make("/tmq_a", 4, 64, O_RDWR);
    check(q != (mqd_t)-1, "mq_open O_CREAT|O_EXCL");
    check_errno(mq_open("/tmq_a", O_RDWR | O_CREAT | O_EXCL, 0600, NULL), EEXIST,
                "mq_open O_EXCL of an existing queue");
    check_errno(mq_open("/tmq_a", O_RDWR | O_WRONLY), EINVAL, "mq_open O_RDWR|O_WRONLY");
    int flags = fcntl(q, F_GETFD);
    check(flags >= 0 && (flags & FD_CLOEXEC), "a queue descriptor is close-on-exec");
    struct mq_attr attr;
    memset(&attr, 0xff, sizeof(attr));
    check(mq_getattr(q, &attr) == 0 && attr.mq_maxmsg == 4 && attr.mq_msgsize == 64
              && attr.mq_curmsgs == 0 && attr.mq_flags == 0,
          "mq_getattr: maxmsg 4, msgsize 64, empty, blocking");
    mqd_t again = mq_open("/tmq_a", O_RDONLY);
    check(again != (mqd_t)-1 && again != q, "mq_open of an existing queue: another descriptor");
    mq_close(again);

    /* The descriptor table full: EMFILE. */
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = 64;
    setrlimit(RLIMIT_NOFILE, &low);
    int fds[64];
    int n = 0;
    while (n < 64 && (fds[n] = dup(0)) >= 0)
        ++n;
    check_errno(mq_open("/tmq_a", O_RDWR), EMFILE, "mq_open with every descriptor open");
    while (n > 0)
        close(fds[--n]);
    setrlimit(RLIMIT_NOFILE, &old);
    mq_close(q);
    mq_unlink("/tmq_a");
}

static void test_order(void) {
    mqd_t q = make("/tmq_order", 8, 64, O_RDWR);
    check(q != (mqd_t)-1, "a queue of 8 messages of 64 bytes");
    const char* texts[] = {"low1", "high", "low2", "zero", "mid"};
    unsigned prios[] = {1, 30, 1, 0, 7};
    for (int i = 0; i < 5; ++i)
        check(mq_send(q, texts[i], strlen(texts[i]) + 1, prios[i]) == 0, "mq_send");
    check_errno(mq_send(q, "x", 2, 32768), EINVAL, "mq_send with priority MQ_PRIO_MAX");
    char big[65];
    memset(big, 'b', sizeof(big));
    check_errno(mq_send(q, big, sizeof(big), 1), EMSGSIZE, "mq_send longer than mq_msgsize");
    char text[64];
    unsigned prio = 0;
    check_errno(mq_receive(q, text, 63, &prio), EMSGSIZE, "mq_receive shorter than mq_msgsize");
    struct mq_attr attr;
    check(mq_getattr(q, &attr) == 0 && attr.mq_curmsgs == 5, "mq_curmsgs 5");
    const char* order[] = {"high", "mid", "low1", "low2", "zero"};
    unsigned order_prio[] = {30, 7, 1, 1, 0};
    int right = 1;
    for (int i = 0; i < 5; ++i) {
        ssize_t r = mq_receive(q, text, sizeof(text), &prio);
        if (r != (ssize_t)strlen(order[i]) + 1 || strcmp(text, order[i]) || prio != order_prio[i])
            right = 0;
    }
    check(right, "by priority, first in first out within one");
    mq_close(q);
    mq_unlink("/tmq_order");

    /* 4000 bytes (more than a small message: on Tern the call's data part, not the call
     * area) there and back, whole; and a small one into a buffer as large. */
    static char large[4096];
    q = make("/tmq_large", 2, 4096, O_RDWR);
    check(q != (mqd_t)-1, "a queue of 2 messages of 4096 bytes");
    for (int i = 0; i < 4000; ++i)
        large[i] = (char)('a' + i % 26);
    check(mq_send(q, large, 4000, 5) == 0 && mq_send(q, "small", 6, 1) == 0,
          "mq_send of 4000 bytes and of 6");
    memset(large, 0, sizeof(large));
    int whole = mq_receive(q, large, sizeof(large), &prio) == 4000 && prio == 5;
    for (int i = 0; whole && i < 4000; ++i)
        whole = large[i] == (char)('a' + i % 26);
    check(whole, "mq_receive of the 4000 bytes");
    check(mq_receive(q, large, sizeof(large), &prio) == 6 && !strcmp(large, "small") && prio == 1,
          "mq_receive of the 6 into a 4096-byte buffer");
    mq_close(q);
    mq_unlink("/tmq_large");
}

static void test_nonblock(void) {
    mqd_t q = make("/tmq_nb", 2, 16, O_RDWR | O_NONBLOCK);
    char text[16];
    struct mq_attr attr;
    check(mq_getattr(q, &attr) == 0 && attr.mq_flags == O_NONBLOCK, "O_NONBLOCK in mq_flags");
    check_errno(mq_receive(q, text, sizeof(text), NULL), EAGAIN, "mq_receive of an empty queue");
    check(mq_send(q, "1", 2, 0) == 0 && mq_send(q, "2", 2, 0) == 0, "two messages fill it");
    check_errno(mq_send(q, "3", 2, 0), EAGAIN, "mq_send to a full queue");
    /* Another description of the queue blocks; mq_setattr changes only its own. */
    mqd_t b = mq_open("/tmq_nb", O_RDWR);
    struct timespec soon = after_ms(50);
    check_errno(mq_timedsend(b, "3", 2, 0, &soon), ETIMEDOUT,
                "mq_timedsend to a full queue times out");
    struct mq_attr set = attr_of(O_NONBLOCK, 99, 99), old;
    set.mq_curmsgs = 99;
    check(mq_setattr(b, &set, &old) == 0 && old.mq_flags == 0 && old.mq_maxmsg == 2
              && old.mq_curmsgs == 2,
          "mq_setattr O_NONBLOCK: the old attributes");
    check(mq_getattr(b, &attr) == 0 && attr.mq_flags == O_NONBLOCK && attr.mq_maxmsg == 2,
          "mq_setattr changed only the flags");
    check_errno(mq_send(b, "3", 2, 0), EAGAIN, "mq_send after mq_setattr O_NONBLOCK");
    set.mq_flags = O_NONBLOCK | O_CREAT;
    check_errno(mq_setattr(b, &set, NULL), EINVAL, "mq_setattr with a flag but O_NONBLOCK");
    set.mq_flags = 0;
    check(mq_setattr(q, &set, NULL) == 0 && mq_getattr(q, &attr) == 0 && attr.mq_flags == 0,
          "mq_setattr clears O_NONBLOCK");
    mq_close(b);
    mq_close(q);
    mq_unlink("/tmq_nb");
}

static void test_timed(void) {
    mqd_t q = make("/tmq_timed", 2, 16, O_RDWR);
    char text[16];
    struct timespec t = after_ms(150);
    int64_t start = now_ms();
    check_errno(mq_timedreceive(q, text, sizeof(text), NULL, &t), ETIMEDOUT,
                "mq_timedreceive of an empty queue times out");
    int64_t took = now_ms() - start;
    check(took >= 100 && took < 3000, "after about 150 ms");
    struct timespec invalid = {0, 1000000000L};
    check_errno(mq_timedreceive(q, text, sizeof(text), NULL, &invalid), EINVAL,
                "mq_timedreceive with tv_nsec 1e9");
    struct timespec past = {1, 0};
    check(mq_send(q, "now", 4, 3) == 0, "mq_send");
    unsigned prio = 0;
    check(mq_timedreceive(q, text, sizeof(text), &prio, &past) == 4 && prio == 3
              && !strcmp(text, "now"),
          "mq_timedreceive with a past deadline takes a waiting message");
    check_errno(mq_timedreceive(q, text, sizeof(text), NULL, &past), ETIMEDOUT,
                "mq_timedreceive with a past deadline on an empty queue");
    mq_close(q);
    mq_unlink("/tmq_timed");
}

static void test_badf(void) {
    mqd_t q = make("/tmq_badf", 2, 16, O_RDWR);
    mqd_t r = mq_open("/tmq_badf", O_RDONLY);
    mqd_t w = mq_open("/tmq_badf", O_WRONLY);
    char text[16];
    check_errno(mq_send(r, "x", 2, 0), EBADF, "mq_send on a read-only descriptor");
    check_errno(mq_receive(w, text, sizeof(text), NULL), EBADF,
                "mq_receive on a write-only descriptor");
    check(mq_send(w, "w", 2, 0) == 0 && mq_receive(r, text, sizeof(text), NULL) == 2,
          "the write-only one sends, the read-only one receives");
    mq_close(r);
    mq_close(w);
    struct mq_attr attr;
    check_errno(mq_getattr(r, &attr), EBADF, "mq_getattr of a closed descriptor");
    check_errno(mq_send(r, "x", 2, 0), EBADF, "mq_send on a closed descriptor");
    check_errno(mq_close(r), EBADF, "mq_close of a closed descriptor");
    int fd = dup(1);
    check_errno(mq_getattr(fd, &attr), EBADF, "mq_getattr of a descriptor that is no queue");
    close(fd);
    mq_close(q);
    mq_unlink("/tmq_badf");
}

static void test_unlink(void) {
    check_errno(mq_unlink("/tmq_none"), ENOENT, "mq_unlink of a missing queue");
    mqd_t q = make("/tmq_unlink", 4, 16, O_RDWR);
    check(mq_send(q, "kept", 5, 2) == 0, "mq_send");
    check(mq_unlink("/tmq_unlink") == 0, "mq_unlink while open");
    check_errno(mq_open("/tmq_unlink", O_RDWR), ENOENT, "its name is gone");
    mqd_t fresh = make("/tmq_unlink", 4, 16, O_RDWR);
    struct mq_attr attr;
    check(fresh != (mqd_t)-1 && mq_getattr(fresh, &attr) == 0 && attr.mq_curmsgs == 0,
          "a new queue of the same name is empty");
    char text[16];
    unsigned prio = 0;
    check(mq_receive(q, text, sizeof(text), &prio) == 5 && !strcmp(text, "kept") && prio == 2,
          "the unlinked queue still works through its descriptor");
    mq_close(q);
    mq_close(fresh);
    mq_unlink("/tmq_unlink");
}

static volatile sig_atomic_t g_signals;
static volatile sig_atomic_t g_last_signo;

static void on_signal(int signo, siginfo_t* info, void* context) {
    (void)context;
    (void)info;
    g_last_signo = signo;
    ++g_signals;
}

static int wait_signals(int count, long ms) {
    int64_t end = now_ms() + ms;
    while (g_signals < count && now_ms() < end)
        sleep_ms(5);
    return g_signals >= count;
}

static void test_notify(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    mqd_t q = make("/tmq_notify", 4, 16, O_RDWR);
    check(mq_notify(q, NULL) == 0, "mq_notify NULL without a registration");
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = 99;
    check_errno(mq_notify(q, &ev), EINVAL, "mq_notify with an unknown sigev_notify");
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 100;
    check_errno(mq_notify(q, &ev), EINVAL, "mq_notify with a bad signal");
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 42;
    check(mq_notify(q, &ev) == 0, "mq_notify SIGEV_SIGNAL");
    check_errno(mq_notify(q, &ev), EBUSY, "mq_notify again");
    pid_t child = fork();
    if (child == 0) {
        int bad = mq_notify(q, &ev) == -1 && errno == EBUSY;
        _exit(bad ? 0 : 1);
    }
    check(child_ok(child, 5000), "another process's mq_notify is EBUSY");
    g_signals = 0;
    check(mq_send(q, "a", 2, 0) == 0, "a message on the empty queue");
    check(wait_signals(1, 3000) && g_last_signo == SIGUSR1, "SIGUSR1 came");
    check(mq_send(q, "b", 2, 0) == 0, "a second message");
    sleep_ms(100);
    check(g_signals == 1, "once: the registration went as it fired");
    check(mq_notify(q, &ev) == 0, "registered again");
    char text[16];
    mq_receive(q, text, sizeof(text), NULL);
    mq_receive(q, text, sizeof(text), NULL);
    check(mq_notify(q, NULL) == 0, "mq_notify NULL removes it");
    check(mq_send(q, "c", 2, 0) == 0, "a message on the empty queue");
    sleep_ms(100);
    check(g_signals == 1, "no signal without a registration");
    mq_receive(q, text, sizeof(text), NULL);
    ev.sigev_notify = SIGEV_NONE;
    check(mq_notify(q, &ev) == 0, "mq_notify SIGEV_NONE");
    check_errno(mq_notify(q, &ev), EBUSY, "mq_notify SIGEV_NONE again");
    check(mq_send(q, "d", 2, 0) == 0, "a message");
    check(mq_notify(q, &ev) == 0, "SIGEV_NONE went as it fired");
    check(mq_notify(q, NULL) == 0, "removed");
    mq_close(q);
    mq_unlink("/tmq_notify");
}

static void on_alarm(int signo) { (void)signo; }

static void test_eintr(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL); /* without SA_RESTART */
    mqd_t q = make("/tmq_eintr", 2, 16, O_RDWR);
    char text[16];
    alarm(1);
    check_errno(mq_receive(q, text, sizeof(text), NULL), EINTR,
                "mq_receive interrupted by a handler without SA_RESTART");
    check(mq_send(q, "after", 6, 1) == 0, "mq_send after");
    struct timespec t = after_ms(2000);
    check(mq_timedreceive(q, text, sizeof(text), NULL, &t) == 6 && !strcmp(text, "after"),
          "the interrupted receive took nothing");
    mq_close(q);
    mq_unlink("/tmq_eintr");
}

/* ---- Processes ------------------------------------------------------------------------ */

static void test_processes(void) {
    mqd_t q = make("/tmq_three", 8, 32, O_RDWR);
    pid_t a = fork();
    if (a == 0) {
        int ok = mq_send(q, "a-low", 6, 1) == 0 && mq_send(q, "a-high", 7, 20) == 0;
        _exit(ok ? 0 : 1);
    }
    pid_t b = fork();
    if (b == 0) {
        mqd_t own = mq_open("/tmq_three", O_WRONLY);
        int ok = own != (mqd_t)-1 && mq_send(own, "b-mid", 6, 10) == 0;
        _exit(ok ? 0 : 1);
    }
    check(child_ok(a, 5000), "child a sent priorities 1 and 20");
    check(child_ok(b, 5000), "child b sent priority 10 through its own descriptor");
    const char* order[] = {"a-high", "b-mid", "a-low"};
    int right = 1;
    char text[32];
    for (int i = 0; i < 3; ++i)
        if (mq_receive(q, text, sizeof(text), NULL) < 0 || strcmp(text, order[i]))
            right = 0;
    check(right, "three processes: received by priority");

    /* A child blocked in mq_receive is woken by the parent's send. */
    pid_t c = fork();
    if (c == 0) {
        unsigned prio = 0;
        struct timespec t = after_ms(5000);
        ssize_t r = mq_timedreceive(q, text, sizeof(text), &prio, &t);
        _exit(r == 5 && !strcmp(text, "wake") && prio == 4 ? 0 : 1);
    }
    sleep_ms(200);
    check(mq_send(q, "wake", 5, 4) == 0, "mq_send to a waiting child");
    check(child_ok(c, 5000), "the blocked child got it");
    mq_close(q);
    mq_unlink("/tmq_three");

    /* A child keeps the queue its parent closed and unlinked right after the fork. */
    mqd_t k = make("/tmq_kept", 2, 16, O_RDWR);
    pid_t d = fork();
    if (d == 0) {
        sleep_ms(200);
        char t[16];
        int ok = mq_send(k, "mine", 5, 0) == 0 && mq_receive(k, t, sizeof(t), NULL) == 5
                 && !strcmp(t, "mine");
        _exit(ok ? 0 : 1);
    }
    check(mq_close(k) == 0 && mq_unlink("/tmq_kept") == 0, "the parent closes and unlinks");
    check(child_ok(d, 5000), "the child still uses its inherited descriptor");
}

/* ---- Benchmark ------------------------------------------------------------------------- */

enum {
    kBenchRounds = 7,
    kPingPongs = 200
};

/* posix.mq_pingpong_64 (tests/bench/ipc_pingpong.h), as bench/linux/microbench.c
 * measures linux.mq_pingpong_64. */
static int bench(void) {
    uint64_t best = mq_pingpong("/tmq_ping", "/tmq_pong", kBenchRounds, kPingPongs);
    if (best == 0) {
        printf("posix_mq: FAILED bench (errno %d)\n", errno);
        return 1;
    }
    printf("posix.mq_pingpong_64: %llu instructions\n", (unsigned long long)best);
    return 0;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1) {
        if (!strcmp(argv[1], "bench"))
            return bench();
        printf("usage: posix_mq [bench]\n");
        return 2;
    }
    test_open();
    test_order();
    test_nonblock();
    test_timed();
    test_badf();
    test_unlink();
    test_notify();
    test_eintr();
    test_processes();
    printf("posix_mq: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

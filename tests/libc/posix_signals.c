/*
 * posix_signals: signals delivered to handlers between processes, process groups and
 * sessions, through the C library.
 *
 * A handler runs with the signal's number and siginfo (si_pid, si_code); a blocked signal
 * waits and is taken when unblocked; SA_RESETHAND, SA_NODEFER, SA_SIGINFO and sigaltstack
 * do what POSIX says; 200 round trips of a signal between parent and child (exact count);
 * SIGCHLD when a child ends; SIGINT to a process group (kill(-pgid)) ends its members and
 * no one else, and waitpid(-pgid) reaps them; a blocked pipe read and nanosleep end with
 * EINTR (and the time left), a pipe read with SA_RESTART goes on, select and poll end
 * with EINTR even with SA_RESTART; SA_NOCLDWAIT and an ignored SIGCHLD leave no zombies;
 * sigsuspend, pause with
 * alarm, sigtimedwait, sigpending; SIGPIPE's handler; bad signal numbers EINVAL, a missing
 * pid ESRCH; setpgid and setsid errors.
 *
 * The same source builds and runs on the host's Linux (unit.libc_posix_signals_on_host),
 * so every expectation is what Linux does. Prints "posix_signals: ok ..." per check,
 * "posix_signals: FAILED ..." for a failure and "posix_signals: N checks, M failures";
 * exits 0 only when nothing failed. Every wait for a child is for one that is known to
 * end, and a child that waits for a signal gets a way out (a byte, or a timeout).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int g_checks, g_failures;

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("posix_signals: ok %s\n", what);
    } else {
        ++g_failures;
        printf("posix_signals: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("posix_signals: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("posix_signals: FAILED %s: got %ld errno %d, expected %d\n", what, r,
               r == -1 ? errno : 0, want);
    }
}

static void pause_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static long elapsed_ms(const struct timespec* since) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static int set_handler(int signal, void (*handler)(int), int flags) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = handler;
    action.sa_flags = flags;
    sigemptyset(&action.sa_mask);
    return sigaction(signal, &action, NULL);
}

static int set_info_handler(int signal, void (*handler)(int, siginfo_t*, void*), int flags) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = handler;
    action.sa_flags = flags | SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    return sigaction(signal, &action, NULL);
}

static void block(int signal, int how) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    sigprocmask(how, &set, NULL);
}

/* Waits for a child known to end; its wait status. */
static int reap(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

static int exited_with(int status, int code) {
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

/* ---- Handlers ------------------------------------------------------------------------- */

/* glibc's SIGSTKSZ is not a constant. */
enum {
    kAltStackSize = 65536
};

static volatile sig_atomic_t g_count, g_signo, g_code, g_pid, g_status;
static volatile sig_atomic_t g_blocked_inside, g_on_altstack;
static char* volatile g_altstack_base;

static void count_handler(int signal) {
    ++g_count;
    g_signo = signal;
}

static void info_handler(int signal, siginfo_t* info, void* context) {
    (void)context;
    ++g_count;
    g_signo = signal;
    g_code = info->si_code;
    g_pid = info->si_pid;
    g_status = info->si_status;
}

static void mask_handler(int signal) {
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    g_blocked_inside = sigismember(&now, signal);
    ++g_count;
}

static void altstack_handler(int signal) {
    (void)signal;
    char here = 0;
    g_on_altstack = &here >= g_altstack_base && &here < g_altstack_base + kAltStackSize;
    ++g_count;
}

static void reset_counters(void) {
    g_count = 0;
    g_signo = 0;
    g_code = -1;
    g_pid = 0;
    g_status = -1;
}

/* ---- The checks ------------------------------------------------------------------------ */

/* A child sends SIGUSR1; the handler sees the child's pid and SI_USER. */
static void handler_with_siginfo(void) {
    reset_counters();
    set_info_handler(SIGUSR1, info_handler, 0);
    block(SIGUSR1, SIG_BLOCK);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        kill(parent, SIGUSR1);
        _exit(0);
    }
    int status = reap(child);
    /* Blocked: it waits, and sigpending shows it. */
    sigset_t pending;
    sigpending(&pending);
    check(g_count == 0 && sigismember(&pending, SIGUSR1),
          "a blocked signal from another process waits");
    block(SIGUSR1, SIG_UNBLOCK);
    check(exited_with(status, 0) && g_count == 1 && g_signo == SIGUSR1,
          "the handler runs once when the signal is unblocked");
    check(g_pid == child && g_code == SI_USER, "siginfo: si_pid is the sender, si_code SI_USER");
    signal(SIGUSR1, SIG_DFL);
}

/* raise with a handler; SA_RESETHAND; SA_NODEFER; the signal blocked inside its handler. */
static void handler_flags(void) {
    reset_counters();
    set_handler(SIGUSR2, mask_handler, 0);
    raise(SIGUSR2);
    check(g_count == 1 && g_blocked_inside == 1, "a handler runs with its own signal blocked");
    reset_counters();
    set_handler(SIGUSR2, mask_handler, SA_NODEFER);
    raise(SIGUSR2);
    check(g_count == 1 && g_blocked_inside == 0, "SA_NODEFER: not blocked inside the handler");
    reset_counters();
    set_handler(SIGUSR2, count_handler, SA_RESETHAND);
    raise(SIGUSR2);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    check(g_count == 1 && now.sa_handler == SIG_DFL, "SA_RESETHAND: the default action afterwards");
    sigset_t set;
    sigprocmask(SIG_SETMASK, NULL, &set);
    check(!sigismember(&set, SIGUSR2), "the mask is restored after a handler");
}

/* A handler on the alternate stack. */
static void alternate_stack(void) {
    static char stack_memory[kAltStackSize] __attribute__((aligned(16)));
    stack_t s = {.ss_sp = stack_memory, .ss_size = sizeof(stack_memory), .ss_flags = 0};
    g_altstack_base = stack_memory;
    g_on_altstack = 0;
    reset_counters();
    check(sigaltstack(&s, NULL) == 0, "sigaltstack");
    set_handler(SIGUSR2, altstack_handler, SA_ONSTACK);
    raise(SIGUSR2);
    check(g_count == 1 && g_on_altstack, "SA_ONSTACK: the handler runs on the alternate stack");
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    stack_t small = {.ss_sp = stack_memory, .ss_size = 64, .ss_flags = 0};
    check_errno(sigaltstack(&small, NULL), ENOMEM, "sigaltstack smaller than MINSIGSTKSZ");
    signal(SIGUSR2, SIG_DFL);
}

/* N round trips: the parent and the child each answer the other's SIGUSR1. */
static void ping_pong(void) {
    enum {
        kRounds = 200
    };
    set_handler(SIGUSR1, count_handler, 0);
    block(SIGUSR1, SIG_BLOCK);
    sigset_t wait_mask;
    sigprocmask(SIG_SETMASK, NULL, &wait_mask);
    sigdelset(&wait_mask, SIGUSR1);
    reset_counters();
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < kRounds; ++i) {
            while (g_count == i)
                sigsuspend(&wait_mask);
            kill(parent, SIGUSR1);
        }
        _exit(g_count == kRounds ? 0 : 1);
    }
    for (int i = 0; i < kRounds; ++i) {
        kill(child, SIGUSR1);
        while (g_count == i)
            sigsuspend(&wait_mask);
    }
    int status = reap(child);
    check(g_count == kRounds && exited_with(status, 0),
          "200 signal round trips between parent and child, none lost or doubled");
    block(SIGUSR1, SIG_UNBLOCK);
    signal(SIGUSR1, SIG_DFL);
}

/* SIGCHLD with the child's pid, CLD_EXITED and its status. */
static void sigchld(void) {
    reset_counters();
    set_info_handler(SIGCHLD, info_handler, SA_RESTART);
    pid_t child = fork();
    if (child == 0)
        _exit(42);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (g_count == 0 && elapsed_ms(&start) < 5000)
        pause_ms(10);
    int status = reap(child);
    check(g_count == 1 && g_signo == SIGCHLD && g_pid == child,
          "SIGCHLD when a child ends, with its pid");
    check(g_code == CLD_EXITED && g_status == 42 && exited_with(status, 42),
          "SIGCHLD: CLD_EXITED and the exit status");
    signal(SIGCHLD, SIG_DFL);
}

/* Children that end at once while the parent polls waitpid(WNOHANG): their SIGCHLD
 * (a handler without SA_RESTART) cuts some polls short, and no status may be lost to
 * one (the next poll finds the child). */
static void polled_children(void) {
    reset_counters();
    set_handler(SIGCHLD, count_handler, 0);
    int lost = 0, reaped = 0;
    for (int i = 0; i < 100; ++i) {
        pid_t child = fork();
        if (child == 0)
            _exit(7);
        if (child < 0)
            break;
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            int status = 0;
            pid_t r = waitpid(child, &status, WNOHANG);
            if (r == child) {
                reaped += exited_with(status, 7);
                break;
            }
            if ((r < 0 && errno != EINTR) || elapsed_ms(&start) > 5000) {
                ++lost;
                break;
            }
        }
    }
    check(reaped == 100 && lost == 0,
          "100 children polled with waitpid(WNOHANG) while SIGCHLD interrupts: none lost");
    signal(SIGCHLD, SIG_DFL);
}

/* Three children in a group of their own, one outside it; SIGINT to the group. */
static void group_signal(void) {
    pid_t members[3];
    for (int i = 0; i < 3; ++i) {
        members[i] = fork();
        if (members[i] == 0) {
            for (;;)
                pause();
        }
        /* The parent puts each in the group itself: no race with the kill below. */
        if (setpgid(members[i], members[0]) != 0)
            check(0, "setpgid of a child into a new group");
    }
    pid_t outsider = fork();
    if (outsider == 0) {
        for (;;)
            pause();
    }
    check(getpgid(members[2]) == members[0], "getpgid of a child in the group");
    check(kill(-members[0], SIGINT) == 0, "kill(-pgid, SIGINT)");
    int ended = 0;
    for (int i = 0; i < 3; ++i) {
        int status = 0;
        pid_t which = waitpid(-members[0], &status, 0);
        if (which > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
            ++ended;
    }
    check(ended == 3, "every member ended by SIGINT, reaped by waitpid(-pgid)");
    int status = 0;
    check(waitpid(outsider, &status, WNOHANG) == 0, "the process outside the group runs on");
    check_errno(waitpid(-members[0], &status, WNOHANG), ECHILD, "waitpid(-pgid) once it is empty");
    check_errno(kill(-members[0], SIGINT), ESRCH, "kill of a group that is gone");
    kill(outsider, SIGKILL);
    status = reap(outsider);
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "SIGKILL ends the outsider");
}

/* A child that signals after delay_ms, then writes a byte a second later (a way out). */
static pid_t signal_later(int fd, int signal, long delay_ms) {
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        pause_ms(delay_ms);
        kill(parent, signal);
        pause_ms(fd >= 0 ? 300 : 0);
        if (fd >= 0)
            (void)write(fd, "x", 1);
        _exit(0);
    }
    return child;
}

static void eintr_and_restart(void) {
    int fds[2];
    char byte = 0;
    /* Without SA_RESTART a blocked read ends with EINTR. */
    set_handler(SIGUSR1, count_handler, 0);
    reset_counters();
    if (pipe(fds) != 0) {
        check(0, "pipe");
        return;
    }
    pid_t child = signal_later(fds[1], SIGUSR1, 200);
    ssize_t n = read(fds[0], &byte, 1);
    check_errno(n, EINTR, "a blocked pipe read interrupted by a handler");
    check(g_count == 1, "the handler ran once");
    reap(child);
    close(fds[0]);
    close(fds[1]);
    /* With SA_RESTART it goes on and gets the byte. */
    set_handler(SIGUSR1, count_handler, SA_RESTART);
    reset_counters();
    if (pipe(fds) != 0) {
        check(0, "pipe");
        return;
    }
    child = signal_later(fds[1], SIGUSR1, 200);
    n = read(fds[0], &byte, 1);
    check(n == 1 && byte == 'x' && g_count == 1,
          "SA_RESTART: the pipe read goes on after the handler");
    reap(child);
    close(fds[0]);
    close(fds[1]);
    /* nanosleep ends with EINTR and the time left. */
    set_handler(SIGUSR1, count_handler, SA_RESTART);
    reset_counters();
    child = signal_later(-1, SIGUSR1, 200);
    struct timespec want = {5, 0}, left = {0, 0};
    int r = nanosleep(&want, &left);
    check_errno(r, EINTR, "nanosleep interrupted by a handler");
    check(left.tv_sec >= 3 && left.tv_sec <= 4, "nanosleep reports the time left");
    reap(child);
    /* select with no descriptors (a sleep) and poll of a pipe nobody writes are never
     * restarted: EINTR even with SA_RESTART. */
    reset_counters();
    child = signal_later(-1, SIGUSR1, 200);
    struct timeval tv = {5, 0};
    r = select(0, NULL, NULL, NULL, &tv);
    check_errno(r, EINTR, "select with no descriptors interrupted by a handler");
    check(g_count == 1, "the handler ran once during select");
    reap(child);
    if (pipe(fds) != 0) {
        check(0, "pipe");
        return;
    }
    reset_counters();
    child = signal_later(-1, SIGUSR1, 200);
    struct pollfd pfd = {fds[0], POLLIN, 0};
    r = poll(&pfd, 1, 5000);
    check_errno(r, EINTR, "poll of a silent pipe interrupted by a handler");
    reap(child);
    reset_counters();
    child = signal_later(-1, SIGUSR1, 200);
    r = poll(NULL, 0, 5000);
    check_errno(r, EINTR, "poll of nothing interrupted by a handler");
    reap(child);
    close(fds[0]);
    close(fds[1]);
    signal(SIGUSR1, SIG_DFL);
}

/* A parent that ignores SIGCHLD or sets SA_NOCLDWAIT leaves no zombies: wait finds no
 * child (ECHILD), whether it waits while the child ends or after. */
static void no_zombies(void) {
    struct sigaction act;
    memset(&act, 0, sizeof(act));
    act.sa_handler = count_handler;
    act.sa_flags = SA_NOCLDWAIT;
    sigemptyset(&act.sa_mask);
    check(sigaction(SIGCHLD, &act, NULL) == 0, "sigaction(SIGCHLD, SA_NOCLDWAIT)");
    pid_t child = fork();
    if (child == 0)
        _exit(3);
    int status = 0;
    pid_t got;
    while ((got = wait(&status)) < 0 && errno == EINTR) {
    }
    check(got == -1 && errno == ECHILD, "SA_NOCLDWAIT: wait finds no child (ECHILD)");
    signal(SIGCHLD, SIG_IGN);
    child = fork();
    if (child == 0)
        _exit(4);
    pause_ms(300);
    got = waitpid(child, &status, WNOHANG);
    check(got == -1 && errno == ECHILD, "SIGCHLD ignored: the ended child left no zombie");
    signal(SIGCHLD, SIG_DFL);
    child = fork();
    if (child == 0)
        _exit(5);
    got = waitpid(child, &status, 0);
    check(got == child && WIFEXITED(status) && WEXITSTATUS(status) == 5,
          "SIGCHLD back at its default: the child is waited for again");
}

/* sigsuspend with the signal blocked outside; pause with alarm; sigtimedwait. */
static void waiting(void) {
    set_handler(SIGUSR1, count_handler, 0);
    block(SIGUSR1, SIG_BLOCK);
    reset_counters();
    pid_t child = signal_later(-1, SIGUSR1, 100);
    sigset_t mask;
    sigemptyset(&mask);
    int r = sigsuspend(&mask);
    check(r == -1 && errno == EINTR && g_count == 1, "sigsuspend returns EINTR after the handler");
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    check(sigismember(&now, SIGUSR1), "sigsuspend restores the mask");
    reap(child);
    block(SIGUSR1, SIG_UNBLOCK);
    signal(SIGUSR1, SIG_DFL);

    set_handler(SIGALRM, count_handler, 0);
    reset_counters();
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    alarm(1);
    r = pause();
    long ms = elapsed_ms(&start);
    check(r == -1 && errno == EINTR && g_signo == SIGALRM && ms >= 900 && ms < 3000,
          "alarm(1) ends pause after a second with SIGALRM");
    alarm(5);
    check(alarm(0) == 5, "alarm(0) cancels and returns the seconds left");
    struct itimerval tick = {{0, 50000}, {0, 50000}}, off = {{0, 0}, {0, 0}};
    reset_counters();
    setitimer(ITIMER_REAL, &tick, NULL);
    while (g_count < 3 && elapsed_ms(&start) < 10000)
        pause();
    setitimer(ITIMER_REAL, &off, NULL);
    check(g_count >= 3, "setitimer(ITIMER_REAL) repeats");
    signal(SIGALRM, SIG_DFL);

    block(SIGUSR2, SIG_BLOCK);
    raise(SIGUSR2);
    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGUSR2);
    siginfo_t info;
    check(sigwaitinfo(&wanted, &info) == SIGUSR2 && info.si_signo == SIGUSR2,
          "sigwaitinfo takes a pending blocked signal");
    struct timespec brief = {0, 100000000};
    check_errno(sigtimedwait(&wanted, &info, &brief), EAGAIN, "sigtimedwait times out");
    block(SIGUSR2, SIG_UNBLOCK);
}

static void sigpipe(void) {
    int fds[2];
    set_handler(SIGPIPE, count_handler, 0);
    reset_counters();
    if (pipe(fds) != 0) {
        check(0, "pipe");
        return;
    }
    close(fds[0]);
    ssize_t n = write(fds[1], "x", 1);
    check(n == -1 && errno == EPIPE && g_count == 1 && g_signo == SIGPIPE,
          "a write without readers: SIGPIPE's handler, then EPIPE");
    close(fds[1]);
    signal(SIGPIPE, SIG_DFL);
}

static void bad_input(void) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = count_handler;
    check_errno(kill(getpid(), 65), EINVAL, "kill with signal 65");
    check_errno(kill(getpid(), -1), EINVAL, "kill with signal -1");
    check_errno(sigaction(0, &action, NULL), EINVAL, "sigaction of signal 0");
    check_errno(sigaction(65, &action, NULL), EINVAL, "sigaction of signal 65");
    check_errno(sigaction(SIGKILL, &action, NULL), EINVAL, "sigaction of SIGKILL");
    check_errno(sigaction(SIGSTOP, &action, NULL), EINVAL, "sigaction of SIGSTOP");
    sigset_t empty;
    sigemptyset(&empty);
    check_errno(sigprocmask(7, &empty, NULL) == 0 ? 0 : -1, EINVAL, "sigprocmask with a bad how");
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    reap(child);
    check_errno(kill(child, 0), ESRCH, "kill of a pid that has ended and been reaped");
    check_errno(kill(child, SIGTERM), ESRCH, "SIGTERM to it");
    check(kill(getpid(), 0) == 0, "kill(self, 0)");
}

static void groups_and_sessions(void) {
    check_errno(setpgid(0, -1), EINVAL, "setpgid with a negative group");
    check_errno(setpgid(1, 0), ESRCH, "setpgid of a process that is not a child");
    /* In a child: it leads no group yet, so setsid works there; then it leads one. */
    int fds[2];
    if (pipe(fds) != 0) {
        check(0, "pipe");
        return;
    }
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        char result[6] = {0};
        pid_t self = getpid();
        pid_t sid = setsid();
        result[0] = sid == self;
        result[1] = getsid(0) == self && getpgrp() == self;
        result[2] = setsid() == -1 && errno == EPERM;
        result[3] = setpgid(0, 0) == -1 && errno == EPERM; /* a session leader */
        pid_t grandchild = fork();
        if (grandchild == 0) {
            /* Into a group that does not exist: EPERM. */
            _exit(setpgid(0, 999999) == -1 && errno == EPERM ? 0 : 1);
        }
        int status = reap(grandchild);
        result[4] = exited_with(status, 0);
        result[5] = getsid(getppid()) != self;
        (void)write(fds[1], result, sizeof(result));
        _exit(0);
    }
    close(fds[1]);
    char result[6] = {0};
    ssize_t n = read(fds[0], result, sizeof(result));
    close(fds[0]);
    reap(child);
    check(n == 6 && result[0], "setsid in a child returns its pid");
    check(n == 6 && result[1], "getsid and getpgrp of a session leader");
    check(n == 6 && result[2], "setsid of a group leader: EPERM");
    check(n == 6 && result[3], "setpgid of a session leader: EPERM");
    check(n == 6 && result[4], "setpgid into a group that does not exist: EPERM");
    check(n == 6 && result[5], "the child's session is not its parent's");
    /* A child in another session cannot be moved by its parent. */
    if (pipe(fds) != 0)
        return;
    child = fork();
    if (child == 0) {
        close(fds[0]);
        setsid();
        (void)write(fds[1], "s", 1);
        pause_ms(2000);
        _exit(0);
    }
    close(fds[1]);
    char byte = 0;
    n = read(fds[0], &byte, 1);
    close(fds[0]);
    check_errno(setpgid(child, child), EPERM, "setpgid of a child in another session");
    kill(child, SIGKILL);
    reap(child);
}

/* `posix_signals sigint`: waits for the terminal's SIGINT (Ctrl-C) in a handler and
 * reports it; `posix_signals wait`: waits with no handler, so Ctrl-C ends it. */
static int interactive(const char* mode) {
    if (strcmp(mode, "sigint") == 0) {
        reset_counters();
        set_info_handler(SIGINT, info_handler, 0);
        printf("posix_signals: waiting for SIGINT\n");
        while (g_count == 0)
            pause();
        printf("posix_signals: caught SIGINT, si_code %d, si_pid %d\n", (int)g_code, (int)g_pid);
        return g_signo == SIGINT ? 0 : 1;
    }
    if (strcmp(mode, "wait") == 0) {
        printf("posix_signals: waiting without a handler\n");
        for (;;)
            pause();
    }
    printf("posix_signals: unknown mode %s\n", mode);
    return 2;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1)
        return interactive(argv[1]);
    handler_with_siginfo();
    handler_flags();
    alternate_stack();
    ping_pong();
    sigchld();
    polled_children();
    group_signal();
    eintr_and_restart();
    no_zombies();
    waiting();
    sigpipe();
    bad_input();
    groups_and_sessions();
    printf("posix_signals: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

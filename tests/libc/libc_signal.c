/*
 * libc_signal: the signal model of Tern's musl backend (docs/libc.md), which serves the
 * signals a program sends itself: dispositions and the mask read back as set, an ignored
 * signal does nothing, a blocked one waits, and abort() ends the program with 128 +
 * SIGABRT = 134, the status the kernel self-test user.libc_signal expects. Any other exit
 * status means a check failed (1) or abort() returned (2).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void never_called(int signal) { (void)signal; }

static int check(int condition, const char* what) {
    printf("libc_signal: %s %s\n", condition ? "ok" : "FAIL", what);
    return condition;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = never_called;
    struct sigaction old;
    if (!check(sigaction(SIGUSR2, &action, NULL) == 0 && sigaction(SIGUSR2, NULL, &old) == 0
                   && old.sa_handler == never_called,
               "sigaction reads back"))
        return 1;

    if (!check(signal(SIGUSR1, SIG_IGN) != SIG_ERR && raise(SIGUSR1) == 0, "ignored signal"))
        return 1;

    sigset_t block, previous;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    if (!check(sigprocmask(SIG_BLOCK, &block, &previous) == 0 && !sigismember(&previous, SIGTERM),
               "sigprocmask"))
        return 1;
    sigset_t now;
    if (!check(sigprocmask(SIG_SETMASK, NULL, &now) == 0 && sigismember(&now, SIGTERM),
               "mask reads back"))
        return 1;
    /* SIGTERM is blocked, so raising it must not end the program... */
    if (!check(raise(SIGTERM) == 0, "blocked signal waits"))
        return 1;
    /* ...and ignoring it while it waits discards it, so unblocking ends nothing. */
    signal(SIGTERM, SIG_IGN);
    if (!check(sigprocmask(SIG_SETMASK, &previous, NULL) == 0, "ignored pending signal dropped"))
        return 1;

    printf("libc_signal: aborting\n");
    abort();
    return 2;
}

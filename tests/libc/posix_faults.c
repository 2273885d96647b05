/*
 * posix_faults: CPU exceptions as signals, through the C library.
 *
 * A read of an unmapped page runs the SIGSEGV handler with SEGV_MAPERR and the address,
 * and siglongjmp leaves it; a write to a PROT_NONE page runs it with SEGV_ACCERR, the
 * handler makes the page writable and returns, and the write is retried and lands; an
 * integer division by zero is SIGFPE with FPE_INTDIV; an invalid opcode is SIGILL with
 * ILL_ILLOPN at the instruction, whose handler steps over it by changing the context's
 * RIP; a fault in a second thread runs the handler on that thread. A fault whose signal
 * is at its default, ignored or blocked ends the process with that signal (WTERMSIG),
 * from the main thread or another.
 *
 * The same source builds and runs on the host's Linux (unit.libc_posix_faults_on_host),
 * so every expectation is what Linux does. Prints "posix_faults: ok ..." per check,
 * "posix_faults: FAILED ..." for a failure and "posix_faults: N checks, M failures";
 * exits 0 only when nothing failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define CHECK_NAME "posix_faults"
#include "check.h"

static int set_action(int signal, void (*action)(int, siginfo_t*, void*), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = action;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(signal, &sa, NULL);
}

static void set_default(int signal, void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(signal, &sa, NULL);
}

/* What the last handler saw. */
static volatile int g_signo, g_code, g_count;
static void* volatile g_addr;
static sigjmp_buf g_jump;

static void record(int signal, siginfo_t* info) {
    g_signo = signal;
    g_code = info->si_code;
    g_addr = info->si_addr;
    ++g_count;
}

static void jump_out(int signal, siginfo_t* info, void* context) {
    (void)context;
    record(signal, info);
    siglongjmp(g_jump, 1);
}

static long g_page;
/* An address no process maps (the first page), through a variable the compiler cannot see
 * through. */
static int* volatile g_low = (int*)16;
static char* g_protected;

/* Makes the page writable and returns: the write is retried. */
static void unprotect(int signal, siginfo_t* info, void* context) {
    (void)context;
    record(signal, info);
    if (mprotect(g_protected, (size_t)g_page, PROT_READ | PROT_WRITE) != 0)
        _exit(90);
}

/* Steps over the 2-byte ud2 by changing where the context returns to. */
static void skip_ud2(int signal, siginfo_t* info, void* context) {
    record(signal, info);
    ucontext_t* uc = context;
    const unsigned char* at = (const unsigned char*)uc->uc_mcontext.gregs[REG_RIP];
    if (at == info->si_addr && at[0] == 0x0f && at[1] == 0x0b)
        uc->uc_mcontext.gregs[REG_RIP] += 2;
    else
        _exit(91);
}

/* The CPU's integer division by zero (in assembly: a sanitizer would stop a C one first). */
static void divide_by_zero(void) {
    unsigned quotient, remainder, zero = 0;
    __asm__ volatile("divl %2" : "=a"(quotient), "=d"(remainder) : "r"(zero), "a"(7u), "d"(0u));
    (void)quotient;
    (void)remainder;
}

static void reset(void) {
    g_signo = 0;
    g_code = -1;
    g_addr = 0;
    g_count = 0;
}

static void test_maperr(void) {
    char* p =
        mmap(NULL, (size_t)g_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(p != MAP_FAILED && munmap(p, (size_t)g_page) == 0, "an unmapped page to read");
    reset();
    set_action(SIGSEGV, jump_out, 0);
    volatile char value = 0;
    if (sigsetjmp(g_jump, 1) == 0) {
        value = *(volatile char*)p;
        check(0, "the read of an unmapped page faults");
    }
    (void)value;
    check(g_count == 1 && g_signo == SIGSEGV && g_code == SEGV_MAPERR && g_addr == p,
          "unmapped read: SIGSEGV, SEGV_MAPERR, si_addr the address; siglongjmp leaves");
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    check(!sigismember(&now, SIGSEGV), "siglongjmp restores the mask (SIGSEGV unblocked)");
}

static void test_accerr(void) {
    g_protected = mmap(NULL, (size_t)g_page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(g_protected != MAP_FAILED, "a PROT_NONE page");
    reset();
    set_action(SIGSEGV, unprotect, 0);
    volatile char* target = g_protected + 100;
    *target = 42;
    check(g_count == 1 && g_signo == SIGSEGV && g_code == SEGV_ACCERR
              && g_addr == g_protected + 100,
          "PROT_NONE write: SIGSEGV, SEGV_ACCERR, si_addr the address");
    check(g_protected[100] == 42, "the handler's mprotect, then the write is retried and lands");
    munmap(g_protected, (size_t)g_page);
}

static void test_fpe(void) {
    reset();
    set_action(SIGFPE, jump_out, 0);
    if (sigsetjmp(g_jump, 1) == 0) {
        divide_by_zero();
        check(0, "division by zero faults");
    }
    check(g_count == 1 && g_signo == SIGFPE && g_code == FPE_INTDIV,
          "integer division by zero: SIGFPE, FPE_INTDIV");
}

static void test_ill(void) {
    reset();
    set_action(SIGILL, skip_ud2, 0);
    __asm__ volatile("ud2" ::: "memory");
    check(g_count == 1 && g_signo == SIGILL && g_code == ILL_ILLOPN,
          "ud2: SIGILL, ILL_ILLOPN at the instruction; the handler's RIP + 2 goes on after it");
}

static void* fault_in_thread(void* arg) {
    (void)arg;
    if (sigsetjmp(g_jump, 1) == 0) {
        *(volatile int*)g_low = 1;
        return (void*)1;
    }
    return (void*)2;
}

static void test_thread(void) {
    reset();
    set_action(SIGSEGV, jump_out, 0);
    pthread_t t;
    void* result = 0;
    int ok = pthread_create(&t, NULL, fault_in_thread, NULL) == 0 && pthread_join(t, &result) == 0;
    check(ok && result == (void*)2 && g_count == 1 && g_signo == SIGSEGV && g_addr == (void*)g_low,
          "a fault in a second thread runs the handler on that thread");
}

/* The child faults as `how` says; its status must say the signal ended it. */
enum {
    kDefault,
    kIgnored,
    kBlocked,
    kDefaultInThread,
    kFpeBlocked
};

static void* segv_thread(void* arg) {
    (void)arg;
    *(volatile int*)g_low = 1;
    return NULL;
}

static void ignore_signal(int signal) { (void)signal; }

static void child_faults(int how) {
    sigset_t set;
    switch (how) {
    case kIgnored:
        set_default(SIGSEGV, SIG_IGN);
        break;
    case kBlocked:
    case kFpeBlocked:
        set_action(how == kBlocked ? SIGSEGV : SIGFPE, jump_out, 0);
        sigemptyset(&set);
        sigaddset(&set, how == kBlocked ? SIGSEGV : SIGFPE);
        sigprocmask(SIG_BLOCK, &set, NULL);
        break;
    default:
        set_default(SIGSEGV, SIG_DFL);
        /* A handler of another signal: the C library takes signals, SIGSEGV stays default. */
        set_default(SIGUSR1, ignore_signal);
        break;
    }
    if (how == kDefaultInThread) {
        pthread_t t;
        pthread_create(&t, NULL, segv_thread, NULL);
        pthread_join(t, NULL);
    } else if (how == kFpeBlocked) {
        divide_by_zero();
    } else {
        *(volatile int*)g_low = 1;
    }
    _exit(0);
}

static void test_ends(int how, int signal, const char* what) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        child_faults(how);
    int status = 0;
    pid_t r = waitpid(pid, &status, 0);
    if (!(r == pid && WIFSIGNALED(status) && WTERMSIG(status) == signal))
        printf("posix_faults: status %#x\n", status);
    check(pid > 0 && r == pid && WIFSIGNALED(status) && WTERMSIG(status) == signal, what);
}

int main(void) {
    g_page = sysconf(_SC_PAGESIZE);
    /* The children below die of faults on purpose: no core files of them. */
    struct rlimit no_core = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &no_core);
    test_maperr();
    test_accerr();
    test_fpe();
    test_ill();
    test_thread();
    test_ends(kDefault, SIGSEGV,
              "a fault with SIGSEGV at its default ends the process: WTERMSIG 11");
    test_ends(kIgnored, SIGSEGV, "a fault with SIGSEGV ignored ends the process: WTERMSIG 11");
    test_ends(kBlocked, SIGSEGV,
              "a fault with SIGSEGV blocked ends it despite a handler: WTERMSIG 11");
    test_ends(kDefaultInThread, SIGSEGV, "a fault in a second thread at the default: WTERMSIG 11");
    test_ends(kFpeBlocked, SIGFPE, "a division by zero with SIGFPE blocked: WTERMSIG 8");
    return check_summary();
}

/*
 * Tern's musl backend: signals, process groups and sessions (docs/libc.md, "Signals").
 *
 * Every piece of a process's signal state is here, in its own memory: the dispositions,
 * the mask, the pending set with each signal's siginfo, the alternate stack (the timers
 * are backend_timer.c's).
 * proc knows only the process's group and session and where its signals enter
 * (tern/protocols/proc.h, "Signals"): once the program sets a handler, ignores a signal or
 * blocks one, this file registers tern_signal_entry with proc (SignalEntry). From then on
 * proc delivers a signal from another process (kill), the terminal (Ctrl-C) or itself
 * (SIGCHLD) by stopping the thread and resuming it at the entry on a frame below the
 * stack's red zone that holds every general register; a call the thread was blocked in
 * returns INTERRUPTED. The entry saves the FPU state, marks the signal pending and takes
 * every pending signal that is not blocked (handler, ignore, or the default action), then
 * restores the FPU and every register from the frame itself (popfq, the registers, and
 * `ret $128` to the saved RIP, so nothing in the red zone is touched and a signal that
 * comes during the restore nests below it).
 *
 * A blocking call the signal cut short looks at two counters: handlers run, and handlers
 * run without SA_RESTART. read, write (pipes, the console) and wait4 restart unless a
 * handler without SA_RESTART ran since they began; nanosleep, sigsuspend, pause and
 * sigtimedwait end with EINTR once any handler ran; an ignored or blocked signal restarts
 * everything. Signals a process sends itself (raise, abort, kill of its own pid, SIGPIPE)
 * are taken at once, the same way, without proc.
 *
 * Stopping is proc's (job control): it reads the job word beside the ignored mask to
 * learn which stop signals are at their default and unblocked, and stops the process for
 * those without a frame. A stop signal that comes here (caught, or blocked until now)
 * takes its default action by asking proc to stop this process (Signal, kSignalStop);
 * the call returns, INTERRUPTED, once SIGCONT has continued it.
 *
 * alarm, setitimer(ITIMER_REAL) and POSIX timers (backend_timer.c) run a helper thread,
 * which asks proc to signal this process; a signal a timer sent is pending with the
 * timer's siginfo (SI_TIMER, its id, sigev_value and overrun count).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/process.h>
#include <libc/musl/portable/signals.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <libc/musl/signal_client.h>
#include <tern/abi/errors.h>
#include <tern/abi/message.h>
#include <tern/abi/syscalls.h>
#include <tern/syscall.h>

_Static_assert(SIGKILL == 9 && SIGCHLD == 17 && SIGSTOP == 19 && SIGALRM == 14 && SIGINT == 2,
               "portable/signals.cpp spells out Linux's signal numbers");
_Static_assert(SA_NODEFER == 0x40000000 && SA_RESETHAND == 0x80000000,
               "portable/signals.cpp spells out Linux's flags");
_Static_assert(SIG_BLOCK == 0 && SIG_UNBLOCK == 1 && SIG_SETMASK == 2,
               "portable/signals.cpp spells out sigprocmask's how");

enum {
    kSigsetSize = 8,
    kSiKernel = 0x80,
    kSiTkill = -6,
};

/* The kernel's struct k_sigaction, as rt_sigaction passes it. */
struct k_sigaction {
    uintptr_t handler;
    unsigned long flags;
    uintptr_t restorer;
    uint64_t mask;
};

struct signal_info {
    int code;
    uint64_t sender;
    int64_t status;
    uint64_t address; /* a fault's si_addr */
    int timer;        /* 1 + the id of the timer whose signal this is, until taken */
    int timer_id;     /* SI_TIMER: si_timerid, si_overrun, si_value */
    int overrun;
    uint64_t value;
};

static struct k_sigaction g_actions[TERN_LIBC_SIGNAL_COUNT + 1];
static struct signal_info g_info[TERN_LIBC_SIGNAL_COUNT + 1];
/* The signals pending for the process (kill, the terminal, timers), each with its
 * siginfo in g_info: whichever thread does not block one takes it. Changed atomically,
 * as every thread takes from it. */
static volatile uint64_t g_pending;

/* A thread's own signal state (backend.h, tern_libc_thread_index): its mask, the signals
 * sent to it alone (pthread_kill, tgkill: si_code SI_TKILL), and the handlers it ran, of
 * those without SA_RESTART, which an interrupted call of that thread looks at. */
struct thread_signals {
    uint64_t blocked;
    volatile uint64_t pending;
    volatile uint64_t handled;
    volatile uint64_t unrestarted;
    /* A port whose signal bit each delivery to the process or this thread sets:
     * sigsuspend, pause and sigtimedwait wait on it, so a signal that comes just before
     * they wait is not missed. */
    volatile uint32_t wake_port;
    /* The alternate stack SA_ONSTACK handlers of this thread run on (sigaltstack: one
     * per thread, as POSIX has it; a new thread has none, a forked child keeps its
     * forking thread's), and whether the thread runs on it now. */
    stack_t altstack;
    int on_altstack;
};
static struct thread_signals g_threads[TERN_LIBC_THREAD_INDEXES];

/* The calling thread's state; a process that never made a thread pays one load. */
static struct thread_signals* self_signals(void) {
    return tern_libc_threads_made ? &g_threads[tern_libc_thread_index()] : &g_threads[0];
}
/* What proc reads (SignalEntry): [0] the signals ignored and not blocked, which it drops
 * without interrupting the thread; [1] the job word, the stop signals whose action is to
 * stop (proc stops the process at once), SA_NOCLDSTOP, and a SIGCHLD ignored or with
 * SA_NOCLDWAIT (proc keeps no zombies of this process's children). */
static volatile uint64_t g_words[2] __attribute__((aligned(16)));
/* 1 once proc has the entry, -1 when it cannot (no proc server). */
static int g_registered;

void tern_signal_entry(void);
void tern_signal_call_on(uintptr_t stack_top, uintptr_t handler, long signal, void* info,
                         void* context);

/* The entry proc resumes a thread at, RSP and RDI at the frame (16-byte aligned below). */
__asm__(".text\n"
        ".globl tern_signal_entry\n"
        ".type tern_signal_entry, @function\n"
        "tern_signal_entry:\n"
        "    cld\n"
        "    movq %rsp, %r12\n"
        "    andq $-16, %rsp\n"
        "    subq $512, %rsp\n"
        "    fxsave64 (%rsp)\n"
        "    movq %r12, %rdi\n"
        "    call tern_signal_deliver\n"
        "    fxrstor64 (%rsp)\n"
        "    leaq 48(%r12), %rsp\n"
        "    popfq\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %r11\n"
        "    popq %r10\n"
        "    popq %r9\n"
        "    popq %r8\n"
        "    popq %rbp\n"
        "    popq %rdi\n"
        "    popq %rsi\n"
        "    popq %rdx\n"
        "    popq %rcx\n"
        "    popq %rbx\n"
        "    popq %rax\n"
        "    ret $128\n"
        ".size tern_signal_entry, . - tern_signal_entry\n"
        /* tern_signal_call_on(stack_top, handler, signal, info, context): the handler on
         * another stack (sigaltstack). */
        ".globl tern_signal_call_on\n"
        ".type tern_signal_call_on, @function\n"
        "tern_signal_call_on:\n"
        "    pushq %rbp\n"
        "    movq %rsp, %rbp\n"
        "    andq $-16, %rdi\n"
        "    movq %rdi, %rsp\n"
        "    movq %rsi, %rax\n"
        "    movq %rdx, %rdi\n"
        "    movq %rcx, %rsi\n"
        "    movq %r8, %rdx\n"
        "    call *%rax\n"
        "    movq %rbp, %rsp\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size tern_signal_call_on, . - tern_signal_call_on\n");

_Static_assert(TERN_LIBC_SIGNAL_FRAME_RESTORE == 48, "the entry pops from offset 48");

static long serial_of(uint64_t pid) { return (long)(int32_t)(uint32_t)pid; }

static uint64_t self_pid(void) { return tern_libc_startup_pid(); }

static long self_serial(void) {
    uint64_t pid = self_pid();
    return pid != 0 && serial_of(pid) > 0 ? serial_of(pid) : (long)tern_sys_task_id();
}

static int ignores(long signal) {
    uintptr_t handler = g_actions[signal].handler;
    return handler == (uintptr_t)SIG_IGN
           || (handler == (uintptr_t)SIG_DFL
               && tern_libc_signal_default(signal) == TERN_LIBC_SIGNAL_IGNORE);
}

/* The signals the dispositions ignore and those left at SIG_DFL, worked out again only
 * after a disposition changed (so a sigprocmask costs no walk of them). */
static uint64_t g_ignoring, g_defaults;
static int g_dispositions_changed = 1;

/* After a change of a disposition or the mask: what proc may drop, and which stop
 * signals it may carry out itself. */
static void update_ignored(void) {
    if (g_dispositions_changed) {
        uint64_t ignoring = 0, defaults = 0;
        for (long signal = 1; signal <= TERN_LIBC_SIGNAL_COUNT; ++signal) {
            uint64_t bit = (uint64_t)1 << (signal - 1);
            if (ignores(signal))
                ignoring |= bit;
            if (g_actions[signal].handler == (uintptr_t)SIG_DFL)
                defaults |= bit;
        }
        g_ignoring = ignoring;
        g_defaults = defaults;
        g_dispositions_changed = 0;
    }
    /* With threads: proc may drop what every thread ignores and none blocks, and stops
     * the process for a stop signal that some thread does not block. */
    uint64_t blocked_any = g_threads[0].blocked, blocked_all = g_threads[0].blocked;
    for (uint64_t live = tern_libc_thread_indexes(); live != 0; live &= live - 1) {
        int i = __builtin_ctzll(live);
        blocked_any |= g_threads[i].blocked;
        blocked_all &= g_threads[i].blocked;
    }
    int no_child_stop = (g_actions[SIGCHLD].flags & SA_NOCLDSTOP) != 0;
    /* Children leave no zombies when SIGCHLD is ignored or has SA_NOCLDWAIT (POSIX). */
    uint64_t no_child_wait = g_actions[SIGCHLD].handler == (uintptr_t)SIG_IGN
                                     || (g_actions[SIGCHLD].flags & SA_NOCLDWAIT) != 0
                                 ? TERN_LIBC_JOB_NO_CHILD_WAIT
                                 : 0;
    __atomic_store_n(&g_words[1],
                     tern_libc_signal_job_word(g_defaults, blocked_all, no_child_stop)
                         | no_child_wait,
                     __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_words[0], g_ignoring & ~blocked_any, __ATOMIC_SEQ_CST);
}

static void ensure_registered(void) {
    if (g_registered != 0)
        return;
    update_ignored();
    g_registered = tern_libc_proc_signal_entry((uint64_t)(uintptr_t)&tern_signal_entry,
                                               (uint64_t)(uintptr_t)&g_words[0])
                           == 0
                       ? 1
                       : -1;
}

static void wake_thread(const struct thread_signals* t) {
    uint32_t port = t->wake_port;
    if (port != 0)
        (void)tern_sys_port_signal(port, 1);
}

/* A signal for the process or a thread arrived: every thread waiting in sigsuspend,
 * pause or sigtimedwait looks again. */
static void wake_all(void) {
    wake_thread(&g_threads[0]);
    for (uint64_t live = tern_libc_thread_indexes(); live != 0; live &= live - 1)
        wake_thread(&g_threads[__builtin_ctzll(live)]);
}

/* Makes the wake port before a wait looks at the pending signals: made lazily between
 * that look and the wait, a delivery in between would signal no port and be missed. */
static void make_wake_port(struct thread_signals* me) {
    if (me->wake_port != 0)
        return;
    int64_t port = tern_sys_port_create(1);
    if (port >= 0)
        me->wake_port = (uint32_t)port;
}

/* Waits until a signal arrives (or timeout_ns passes), without the backend lock, which
 * the other threads need meanwhile (to send this one the signal, say). */
static void wait_for_signal(const struct thread_signals* me, uint64_t timeout_ns) {
    unsigned depth = tern_libc_lock_release();
    if (me->wake_port == 0) {
        /* No port could be made: poll. */
        (void)tern_sys_thread_sleep(timeout_ns < 10000000 ? timeout_ns : 10000000);
    } else {
        struct tern_msg message;
        memset(&message, 0, sizeof(message));
        (void)tern_sys_port_receive(me->wake_port, (uint64_t)(uintptr_t)&message, timeout_ns);
    }
    tern_libc_lock_reacquire(depth);
}

uint64_t tern_libc_signal_mark(void) {
    const struct thread_signals* me = self_signals();
    return (me->handled & 0xffffffffu) | (me->unrestarted << 32);
}

int tern_libc_signal_interrupts(uint64_t mark, int restartable) {
    const struct thread_signals* me = self_signals();
    if (restartable)
        return (me->unrestarted & 0xffffffffu) != (mark >> 32);
    return (me->handled & 0xffffffffu) != (mark & 0xffffffffu);
}

/* A timer's signal: its id, overrun count and sigev_value in the siginfo. */
static void timer_info(const struct signal_info* from, siginfo_t* info) {
    if (from->code != SI_TIMER)
        return;
    info->si_timerid = from->timer_id;
    info->si_overrun = from->overrun;
    info->si_value.sival_ptr = (void*)(uintptr_t)from->value;
}

/* The pending signal leaves the set: a timer's overrun count is read now. */
static void dequeue_timer(long signal) {
    int timer = g_info[signal].timer;
    if (timer == 0)
        return;
    g_info[signal].timer = 0;
    g_info[signal].timer_id = timer - 1;
    tern_libc_timer_taken(timer - 1, &g_info[signal].overrun, &g_info[signal].value);
}

/* A pending signal's timer that will not be taken (replaced, ignored, discarded). */
static void release_timer(long signal) {
    if (g_info[signal].timer != 0)
        tern_libc_timer_dropped(g_info[signal].timer - 1);
    g_info[signal].timer = 0;
}

/* A zeroed slot (a thread that never called sigaltstack) has no alternate stack: its
 * size is 0. */
static int altstack_enabled(const struct thread_signals* t) {
    return !(t->altstack.ss_flags & SS_DISABLE) && t->altstack.ss_size != 0;
}

/* Runs the handler of `signal` with siginfo from `from` (a fault's, or what its
 * delivery recorded in g_info). */
static void run_handler(long signal, struct k_sigaction* action, ucontext_t* context,
                        const struct signal_info* from, int fault) {
    struct thread_signals* me = self_signals();
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = (int)signal;
    info.si_code = from->code;
    if (fault) {
        info.si_addr = (void*)(uintptr_t)from->address;
    } else {
        info.si_pid = (pid_t)serial_of(from->sender);
        info.si_uid = 0;
        if (from->code == SI_QUEUE) /* sigqueue's value travels as the status */
            info.si_value.sival_ptr = (void*)(uintptr_t)from->status;
    }
    if (signal == SIGCHLD && from->code == CLD_EXITED) {
        /* From proc when a child ended: its status tells how. */
        int code = 0, status = 0;
        tern_libc_signal_child_info(from->status, &code, &status);
        info.si_code = code;
        info.si_status = status;
    } else if (signal == SIGCHLD && (from->code == CLD_STOPPED || from->code == CLD_CONTINUED)) {
        info.si_status = (int)from->status; /* the signal that stopped or continued it */
    }
    if (!fault)
        timer_info(from, &info);
    ucontext_t local;
    if (!context) {
        memset(&local, 0, sizeof(local));
        context = &local;
    }
    uint64_t old = me->blocked;
    memcpy(&context->uc_sigmask, &old, sizeof(old));
    uintptr_t handler = action->handler;
    unsigned long flags = action->flags;
    me->blocked = tern_libc_signal_handler_mask(old, action->mask, flags, signal);
    if (tern_libc_signal_resets(flags)) {
        action->handler = (uintptr_t)SIG_DFL;
        action->flags &= ~(unsigned long)(SA_SIGINFO | SA_RESETHAND);
        g_dispositions_changed = 1;
    }
    update_ignored();
    ++me->handled;
    if (!(flags & SA_RESTART))
        ++me->unrestarted;
    int on_alt = (flags & SA_ONSTACK) && altstack_enabled(me) && !me->on_altstack;
    if (on_alt) {
        me->on_altstack = 1;
        tern_signal_call_on((uintptr_t)me->altstack.ss_sp + me->altstack.ss_size, handler, signal,
                            &info, context);
        me->on_altstack = 0;
    } else if (flags & SA_SIGINFO) {
        ((void (*)(int, siginfo_t*, void*))handler)((int)signal, &info, context);
    } else {
        ((void (*)(int))handler)((int)signal);
    }
    uint64_t restored = 0;
    memcpy(&restored, &context->uc_sigmask, sizeof(restored));
    me->blocked = restored & ~tern_libc_signal_unblockable();
    update_ignored();
}

/* A stop signal's default action: proc stops this process (and it goes on here, from
 * where it was, when SIGCONT comes). Without proc (a boot module) it is logged. */
static void stop_self(long signal) {
    int caller_too = 0;
    int64_t r =
        tern_libc_proc_signal(0, (uint32_t)signal, TERN_LIBC_SIGNAL_STOP_CALLER, &caller_too);
    /* INTERRUPTED: the stop cut the wait for proc's answer short, as it should. */
    if (r == -TERN_NOT_SUPPORTED)
        tern_libc_log_unsupported(SYS_kill, "stopping a process without proc");
}

static void take(long signal, ucontext_t* context, const struct signal_info* info) {
    struct k_sigaction* action = &g_actions[signal];
    if (action->handler == (uintptr_t)SIG_IGN)
        return;
    if (action->handler != (uintptr_t)SIG_DFL) {
        run_handler(signal, action, context, info, 0);
        return;
    }
    switch (tern_libc_signal_default(signal)) {
    case TERN_LIBC_SIGNAL_IGNORE:
    case TERN_LIBC_SIGNAL_CONTINUE:
        return;
    case TERN_LIBC_SIGNAL_STOP:
        stop_self(signal);
        return;
    default:
        tern_libc_exit_by_signal(signal);
    }
}

/* Takes `bit` out of a pending set; false when another thread took it first. */
static int claim(volatile uint64_t* set, uint64_t bit) {
    return (__atomic_fetch_and(set, ~bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

static int take_shared(long signal, struct signal_info* info);

/* Takes every signal pending for the calling thread or the process that it does not
 * block, lowest first. */
static void take_pending_of(struct thread_signals* me, ucontext_t* context) {
    for (;;) {
        uint64_t blocked = me->blocked;
        long own = tern_libc_signal_next(me->pending, blocked);
        long shared = tern_libc_signal_next(g_pending, blocked);
        if (own != 0 && (shared == 0 || own <= shared)) {
            if (!claim(&me->pending, tern_libc_signal_bit(own)))
                continue;
            struct signal_info info = {kSiTkill, self_pid(), 0, 0, 0, 0, 0, 0};
            take(own, context, &info);
            continue;
        }
        if (shared == 0)
            return;
        struct signal_info info;
        if (!take_shared(shared, &info))
            continue;
        take(shared, context, &info);
    }
}

static void take_pending(ucontext_t* context) { take_pending_of(self_signals(), context); }

/* SIGCONT discards pending stop signals and a stop signal a pending SIGCONT, whatever
 * their dispositions: in the set `set`. */
static void discard_for(volatile uint64_t* set, long signal) {
    uint64_t bit = tern_libc_signal_bit(signal);
    uint64_t old = __atomic_load_n(set, __ATOMIC_SEQ_CST), next;
    do {
        next = (tern_libc_signal_pend(old, signal) & ~bit) | (old & bit);
    } while (
        next != old
        && !__atomic_compare_exchange_n(set, &old, next, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
}

static int is_stop_or_continue(long signal) {
    return signal == SIGCONT || signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN
           || signal == SIGTTOU;
}

static void discard(long signal) {
    if (!is_stop_or_continue(signal))
        return;
    discard_for(&g_pending, signal);
    for (int i = 0; i < TERN_LIBC_THREAD_INDEXES; ++i)
        if (g_threads[i].pending != 0)
            discard_for(&g_threads[i].pending, signal);
}

/* Real-time signals (32 and up) sent to the process are queued: each instance sent is
 * taken once, with its own siginfo, the oldest first (a standard signal is pending at
 * most once). A slot is claimed with a compare-and-swap, so a delivery that interrupts
 * a thread in the middle of the queue, or another thread, finds it consistent. */
enum {
    kQueueSize = 64,
    kFirstRealtime = 32,
    kSlotFree = 0,
    kSlotBusy = 1,
    kSlotQueued = 2
};
struct queued_signal {
    volatile int state;
    long signal;
    uint64_t order;
    struct signal_info info;
};
static struct queued_signal g_queue[kQueueSize];
static volatile uint64_t g_queue_order;

static int enqueue(long signal, const struct signal_info* info) {
    for (int i = 0; i < kQueueSize; ++i) {
        int expected = kSlotFree;
        if (!__atomic_compare_exchange_n(&g_queue[i].state, &expected, kSlotBusy, 0,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            continue;
        g_queue[i].signal = signal;
        g_queue[i].info = *info;
        g_queue[i].order = __atomic_fetch_add(&g_queue_order, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&g_queue[i].state, kSlotQueued, __ATOMIC_SEQ_CST);
        return 1;
    }
    return 0;
}

/* Takes the oldest queued instance of `signal` into *out; *more says whether others
 * are left. 0 when none is queued. */
static int dequeue(long signal, struct signal_info* out, int* more) {
    for (;;) {
        int oldest = -1, count = 0;
        for (int i = 0; i < kQueueSize; ++i) {
            if (g_queue[i].state != kSlotQueued || g_queue[i].signal != signal)
                continue;
            ++count;
            if (oldest < 0 || g_queue[i].order < g_queue[oldest].order)
                oldest = i;
        }
        *more = count > 1;
        if (oldest < 0)
            return 0;
        int expected = kSlotQueued;
        if (!__atomic_compare_exchange_n(&g_queue[oldest].state, &expected, kSlotBusy, 0,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            continue;
        *out = g_queue[oldest].info;
        __atomic_store_n(&g_queue[oldest].state, kSlotFree, __ATOMIC_SEQ_CST);
        return 1;
    }
}

/* Drops every queued instance of the signals in `set`. */
static void drop_queued(uint64_t set) {
    for (int i = 0; i < kQueueSize; ++i) {
        int expected = kSlotQueued;
        if ((tern_libc_signal_bit(g_queue[i].signal) & set)
            && __atomic_compare_exchange_n(&g_queue[i].state, &expected, kSlotBusy, 0,
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            __atomic_store_n(&g_queue[i].state, kSlotFree, __ATOMIC_SEQ_CST);
    }
}

/* Takes `signal` out of the process's pending set into *info: a queued real-time
 * instance, or the one standard signal. 0 when another thread took it first. */
static int take_shared(long signal, struct signal_info* info) {
    uint64_t bit = tern_libc_signal_bit(signal);
    if (!claim(&g_pending, bit))
        return 0;
    int more = 0;
    if (signal >= kFirstRealtime && dequeue(signal, info, &more)) {
        if (more)
            __atomic_fetch_or(&g_pending, bit, __ATOMIC_SEQ_CST);
        return 1;
    }
    dequeue_timer(signal);
    *info = g_info[signal];
    return 1;
}

/* -EAGAIN: a real-time signal of sigqueue with the queue full (nothing is made pending). */
static long make_pending(long signal, int code, uint64_t sender, int64_t status) {
    discard(signal);
    /* A signal that is ignored is dropped at once, even while blocked (POSIX). */
    if (ignores(signal))
        return 0;
    if (signal >= kFirstRealtime && code != SI_TIMER) {
        struct signal_info info = {code, sender, status, 0, 0, 0, 0, 0};
        if (enqueue(signal, &info)) {
            __atomic_fetch_or(&g_pending, tern_libc_signal_bit(signal), __ATOMIC_SEQ_CST);
            return 0;
        }
        if (code == SI_QUEUE)
            return -EAGAIN;
    }
    release_timer(signal);
    g_info[signal].code = code;
    g_info[signal].sender = sender;
    g_info[signal].status = status;
    g_info[signal].address = 0;
    __atomic_fetch_or(&g_pending, tern_libc_signal_bit(signal), __ATOMIC_SEQ_CST);
    return 0;
}

/* A signal for one thread (pthread_kill, tgkill). */
static void make_thread_pending(struct thread_signals* t, long signal) {
    discard(signal);
    if (ignores(signal))
        return;
    __atomic_fetch_or(&t->pending, tern_libc_signal_bit(signal), __ATOMIC_SEQ_CST);
}

/* Asks proc to interrupt the thread at `index` (0: the main one, which proc holds) with
 * `signal` for it alone (thread_only), or with none, to take what the process has
 * pending. */
static int64_t interrupt_thread(int index, long signal, int thread_only) {
    tern_handle_t handle = TERN_INVALID_HANDLE;
    if (index != 0) {
        handle = tern_libc_thread_handle(index);
        if (handle == TERN_INVALID_HANDLE)
            return -TERN_NOT_FOUND;
    }
    return tern_libc_proc_signal_thread(handle, (uint32_t)signal,
                                        thread_only ? TERN_LIBC_SIGNAL_THREAD_ONLY : 0,
                                        thread_only ? kSiTkill : SI_USER, 0);
}

/* What the process has pending and the calling thread blocks goes to a thread that does
 * not block it (POSIX: a process's signal is taken by any thread not blocking it); a
 * thread in sigwait or sigsuspend sees it through its wake port. */
static void route_pending(void) {
    wake_all();
    if (!tern_libc_threads_started() || g_registered != 1)
        return;
    int self = tern_libc_thread_index();
    uint64_t left = __atomic_load_n(&g_pending, __ATOMIC_SEQ_CST) & g_threads[self].blocked;
    for (int i = 0; i < TERN_LIBC_THREAD_INDEXES && left != 0; ++i) {
        if (i == self || (i != 0 && tern_libc_thread_tid(i) == 0))
            continue;
        uint64_t takes = left & ~g_threads[i].blocked;
        if (takes == 0)
            continue;
        if (interrupt_thread(i, 0, 0) == 0)
            left &= ~takes;
    }
}

static void context_from_frame(ucontext_t* uc, const struct tern_libc_signal_frame* f) {
    memset(uc, 0, sizeof(*uc));
    greg_t* g = uc->uc_mcontext.gregs;
    g[REG_R8] = (greg_t)f->r8;
    g[REG_R9] = (greg_t)f->r9;
    g[REG_R10] = (greg_t)f->r10;
    g[REG_R11] = (greg_t)f->r11;
    g[REG_R12] = (greg_t)f->r12;
    g[REG_R13] = (greg_t)f->r13;
    g[REG_R14] = (greg_t)f->r14;
    g[REG_R15] = (greg_t)f->r15;
    g[REG_RDI] = (greg_t)f->rdi;
    g[REG_RSI] = (greg_t)f->rsi;
    g[REG_RBP] = (greg_t)f->rbp;
    g[REG_RBX] = (greg_t)f->rbx;
    g[REG_RDX] = (greg_t)f->rdx;
    g[REG_RAX] = (greg_t)f->rax;
    g[REG_RCX] = (greg_t)f->rcx;
    g[REG_RSP] = (greg_t)f->rsp;
    g[REG_RIP] = (greg_t)f->rip;
    g[REG_EFL] = (greg_t)f->rflags;
}

/* A handler may change the registers it returns to (not RSP: the frame sits below it). */
static void context_to_frame(struct tern_libc_signal_frame* f, const ucontext_t* uc) {
    const greg_t* g = uc->uc_mcontext.gregs;
    f->r8 = (uint64_t)g[REG_R8];
    f->r9 = (uint64_t)g[REG_R9];
    f->r10 = (uint64_t)g[REG_R10];
    f->r11 = (uint64_t)g[REG_R11];
    f->r12 = (uint64_t)g[REG_R12];
    f->r13 = (uint64_t)g[REG_R13];
    f->r14 = (uint64_t)g[REG_R14];
    f->r15 = (uint64_t)g[REG_R15];
    f->rdi = (uint64_t)g[REG_RDI];
    f->rsi = (uint64_t)g[REG_RSI];
    f->rbp = (uint64_t)g[REG_RBP];
    f->rbx = (uint64_t)g[REG_RBX];
    f->rdx = (uint64_t)g[REG_RDX];
    f->rax = (uint64_t)g[REG_RAX];
    f->rcx = (uint64_t)g[REG_RCX];
    f->rip = (uint64_t)g[REG_RIP];
    f->rflags = (uint64_t)g[REG_EFL];
}

static void append_hex(char* line, size_t* at, uint64_t value) {
    line[(*at)++] = '0';
    line[(*at)++] = 'x';
    int shift = 60;
    while (shift > 0 && ((value >> shift) & 0xf) == 0)
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        line[(*at)++] = "0123456789abcdef"[(value >> shift) & 0xf];
}

static void append_dec(char* line, size_t* at, uint64_t value) {
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n > 0)
        line[(*at)++] = digits[--n];
}

static void append_str(char* line, size_t* at, const char* text) {
    while (*text)
        line[(*at)++] = *text++;
}

/* A fault nobody handles ends the process; one line says where it happened. */
static void log_fault(long signal, uint64_t vector, uint64_t rip, uint64_t address) {
    char line[128];
    size_t at = 0;
    append_str(line, &at, "libc: signal ");
    append_dec(line, &at, (uint64_t)signal);
    append_str(line, &at, " for CPU exception ");
    append_dec(line, &at, vector);
    append_str(line, &at, " at rip ");
    append_hex(line, &at, rip);
    append_str(line, &at, " (address ");
    append_hex(line, &at, address);
    append_str(line, &at, ")\n");
    (void)tern_sys_debug_write((uint64_t)(uintptr_t)line, at);
}

/* A CPU exception of this thread (proc's frame with `fault` set): the signal goes to its
 * handler at once, synchronously, with si_addr; returning retries the instruction (after
 * an mprotect, say), a siglongjmp leaves. As on Linux, the signal blocked, ignored or at
 * its default ends the process. */
static void take_fault(struct tern_libc_signal_frame* frame) {
    uint64_t vector = frame->fault - 1;
    struct signal_info info = {0, 0, 0, 0, 0, 0, 0, 0};
    long signal = tern_libc_signal_of_fault(vector, (uint64_t)frame->code, frame->sender,
                                            (uint64_t)frame->status, &info.code, &info.address);
    struct k_sigaction* action = &g_actions[signal];
    if ((self_signals()->blocked & tern_libc_signal_bit(signal))
        || action->handler == (uintptr_t)SIG_IGN || action->handler == (uintptr_t)SIG_DFL) {
        log_fault(signal, vector, (uint64_t)frame->status, frame->sender);
        tern_libc_exit_by_signal(signal);
    }
    ucontext_t context;
    context_from_frame(&context, frame);
    context.uc_mcontext.gregs[REG_TRAPNO] = (greg_t)vector;
    context.uc_mcontext.gregs[REG_ERR] = (greg_t)frame->code;
    context.uc_mcontext.gregs[REG_CR2] = (greg_t)frame->sender;
    run_handler(signal, action, &context, &info, 1);
    context_to_frame(frame, &context);
}

/* A signal proc brought, which one of this process's timers may have sent. A timer's
 * signal that finds one of its kind pending is dropped, as Linux drops a second
 * non-real-time signal (the timer counts an overrun when it next expires). */
static void make_pending_from_proc(long signal, const struct tern_libc_signal_frame* frame) {
    uint64_t bit = tern_libc_signal_bit(signal);
    int timer = -1;
    int code = (int)frame->code;
    if (frame->sender == self_pid() && code != SI_QUEUE && tern_libc_timer_arrived(signal, &timer))
        code = SI_TIMER;
    if (timer >= 0 && (g_pending & bit)) {
        tern_libc_timer_dropped(timer);
        return;
    }
    (void)make_pending(signal, code, frame->sender, frame->status);
    if (timer < 0)
        return;
    if (g_pending & bit)
        g_info[signal].timer = timer + 1;
    else
        tern_libc_timer_dropped(timer); /* ignored */
}

/* Called by tern_signal_entry with the frame proc wrote. */
__attribute__((used)) void tern_signal_deliver(struct tern_libc_signal_frame* frame) {
    if (frame->fault != 0) {
        take_fault(frame);
        return;
    }
    long signal = (long)(frame->signo & 0xffffffffu);
    if (signal >= 1 && signal <= TERN_LIBC_SIGNAL_COUNT) {
        if (frame->signo & TERN_LIBC_SIGNAL_FRAME_THREAD)
            make_thread_pending(self_signals(), signal);
        else
            make_pending_from_proc(signal, frame);
    }
    /* signo 0: another thread asks this one to look at the process's pending set. */
    ucontext_t context;
    context_from_frame(&context, frame);
    take_pending(&context);
    context_to_frame(frame, &context);
    route_pending();
}

/* ---- Sending --------------------------------------------------------------------------- */

static long errno_of_proc(int64_t r) {
    if (r == -TERN_NOT_FOUND || r == -TERN_NOT_OWNER)
        return -ESRCH;
    if (r == -TERN_ACCESS_DENIED)
        return -EPERM;
    if (r == -TERN_INVALID_ARGUMENT)
        return -EINVAL;
    return -(long)tern_libc_errno_from_status((int32_t)-r);
}

static long send_to_self(long signal, int code) {
    if (signal == 0)
        return 0;
    if (!tern_libc_signal_bit(signal))
        return -EINVAL;
    (void)make_pending(signal, code, self_pid(), 0);
    take_pending(0);
    route_pending();
    return 0;
}

long tern_libc_raise(long signal) { return send_to_self(signal, SI_USER); }

/* pthread_kill, tgkill, tkill: a signal for one thread of this process. SIGKILL and
 * SIGSTOP act on the process. */
static long send_to_thread(long tid, long signal) {
    int index = tern_libc_thread_index_of(tid);
    if (index < 0)
        return -ESRCH;
    if (signal == 0)
        return 0;
    if (!tern_libc_signal_bit(signal))
        return -EINVAL;
    if (signal == SIGKILL || signal == SIGSTOP)
        return send_to_self(signal, kSiTkill);
    if (ignores(signal))
        return 0;
    struct thread_signals* target = &g_threads[index];
    if (index == tern_libc_thread_index()) {
        make_thread_pending(target, signal);
        take_pending(0);
        return 0;
    }
    ensure_registered();
    if (g_registered == 1) {
        int64_t r = interrupt_thread(index, signal, 1);
        /* A signal to this thread cut the wait for proc's answer short: proc goes on. */
        if (r == 0 || r == -TERN_INTERRUPTED)
            return 0;
        if (r == -TERN_NOT_FOUND)
            return -ESRCH;
        if (r != -TERN_NOT_SUPPORTED)
            return errno_of_proc(r);
    }
    /* No proc (a boot module): the thread takes it when it next looks (a mask change, a
     * wait for signals). */
    make_thread_pending(target, signal);
    wake_thread(target);
    return 0;
}

static long sys_kill(long pid, long signal) {
    if (signal < 0 || signal > TERN_LIBC_SIGNAL_COUNT)
        return -EINVAL;
    uint64_t self = self_pid();
    if (pid == self_serial())
        return send_to_self(signal, SI_USER);
    if (self == 0)
        return pid == 0 ? send_to_self(signal, SI_USER) : -ESRCH;
    uint64_t target = 0;
    uint32_t flags = 0;
    if (pid == 0) {
        flags = TERN_LIBC_SIGNAL_GROUP;
    } else if (pid == -1) {
        flags = TERN_LIBC_SIGNAL_ALL;
    } else if (pid < -1) {
        if (pid == -2147483648L)
            return -ESRCH;
        flags = TERN_LIBC_SIGNAL_GROUP;
        target = tern_libc_global_pid(self, -pid);
    } else {
        target = tern_libc_global_pid(self, pid);
    }
    int caller_too = 0;
    int64_t r = tern_libc_proc_signal(target, (uint32_t)signal, flags, &caller_too);
    /* A signal to this process cut the wait for proc's answer short: the request stays
     * with proc, which carries it out (Linux's kill never fails with EINTR). */
    if (r == -TERN_INTERRUPTED)
        return 0;
    if (r == -TERN_NOT_SUPPORTED)
        return flags ? -ESRCH : -EPERM;
    if (r < 0)
        return errno_of_proc(r);
    if (caller_too)
        return send_to_self(signal, SI_USER);
    return 0;
}

/* sigqueue: a signal with a value (si_code SI_QUEUE) to this process or another. As on
 * Linux, a program may not pass off its signal as the kernel's or kill's (si_code >= 0)
 * or tkill's to another process. */
static long sys_rt_sigqueueinfo(long pid, long signal, const siginfo_t* user_info) {
    siginfo_t info;
    if (tern_libc_copy_in(&info, user_info, sizeof(info)) != 0)
        return -EFAULT;
    if (signal < 0 || signal > TERN_LIBC_SIGNAL_COUNT)
        return -EINVAL;
    if (pid <= 0)
        return -ESRCH;
    uint64_t value = (uint64_t)(uintptr_t)info.si_value.sival_ptr;
    if (pid == self_serial()) {
        if (signal == 0)
            return 0;
        long r = make_pending(signal, info.si_code, self_pid(), (int64_t)value);
        if (r != 0)
            return r;
        take_pending(0);
        route_pending();
        return 0;
    }
    if (info.si_code >= 0 || info.si_code == kSiTkill)
        return -EPERM;
    uint64_t self = self_pid();
    if (self == 0)
        return -ESRCH;
    int caller_too = 0;
    int64_t r = tern_libc_proc_sigqueue(tern_libc_global_pid(self, pid), (uint32_t)signal,
                                        TERN_LIBC_SIGNAL_QUEUE, value, &caller_too);
    if (r == -TERN_INTERRUPTED)
        return 0;
    if (r == -TERN_NOT_SUPPORTED)
        return -EPERM;
    return r < 0 ? errno_of_proc(r) : 0;
}

/* ---- Dispositions and the mask ---------------------------------------------------------- */

static long sys_rt_sigaction(long signal, const struct k_sigaction* action, struct k_sigaction* old,
                             long sigset_size) {
    if (sigset_size != kSigsetSize || !tern_libc_signal_bit(signal))
        return -EINVAL;
    if (action && (tern_libc_signal_bit(signal) & tern_libc_signal_unblockable()))
        return -EINVAL;
    struct k_sigaction previous = g_actions[signal];
    if (action) {
        struct k_sigaction next;
        if (tern_libc_copy_in(&next, action, sizeof(next)) != 0)
            return -EFAULT;
        next.mask &= ~tern_libc_signal_unblockable();
        g_actions[signal] = next;
        g_dispositions_changed = 1;
        if (next.handler != (uintptr_t)SIG_DFL
            || (signal == SIGCHLD && (next.flags & SA_NOCLDWAIT) != 0))
            ensure_registered();
        /* Setting SIG_IGN (or a default that ignores) discards a pending one. */
        if (ignores(signal) && claim(&g_pending, tern_libc_signal_bit(signal))) {
            release_timer(signal);
            drop_queued(tern_libc_signal_bit(signal));
        }
        if (ignores(signal))
            for (int i = 0; i < TERN_LIBC_THREAD_INDEXES; ++i)
                (void)claim(&g_threads[i].pending, tern_libc_signal_bit(signal));
        update_ignored();
    }
    if (old && tern_libc_copy_out(old, &previous, sizeof(previous)) != 0)
        return -EFAULT;
    return 0;
}

static long sys_rt_sigprocmask(long how, const uint64_t* set, uint64_t* old, long sigset_size) {
    if (sigset_size != kSigsetSize)
        return -EINVAL;
    struct thread_signals* me = self_signals();
    uint64_t previous = me->blocked;
    if (set) {
        uint64_t wanted = 0, next = 0;
        if (tern_libc_copy_in(&wanted, set, sizeof(wanted)) != 0)
            return -EFAULT;
        if (tern_libc_signal_mask((int)how, previous, wanted, &next) != 0)
            return -EINVAL;
        if (next != 0)
            ensure_registered();
        me->blocked = next;
        if (next != previous)
            update_ignored();
    }
    if (old && tern_libc_copy_out(old, &previous, sizeof(previous)) != 0)
        return -EFAULT;
    take_pending_of(me, 0);
    /* What this thread blocks now and another does not goes there. */
    if (set && (me->blocked & ~previous & g_pending) != 0)
        route_pending();
    return 0;
}

static long sys_rt_sigpending(uint64_t* set, long sigset_size) {
    if (sigset_size != kSigsetSize)
        return -EINVAL;
    const struct thread_signals* me = self_signals();
    uint64_t pending = (g_pending | me->pending) & me->blocked;
    return tern_libc_copy_out(set, &pending, sizeof(pending)) != 0 ? -EFAULT : 0;
}

/* ---- Waiting for signals ---------------------------------------------------------------- */

static long suspend(uint64_t mask) {
    ensure_registered();
    struct thread_signals* me = self_signals();
    make_wake_port(me);
    uint64_t old = me->blocked;
    uint64_t mark = tern_libc_signal_mark();
    me->blocked = mask & ~tern_libc_signal_unblockable();
    for (;;) {
        take_pending(0);
        if (tern_libc_signal_interrupts(mark, 0))
            break;
        wait_for_signal(me, TERN_TIMEOUT_INFINITE);
    }
    me->blocked = old;
    take_pending(0);
    return -EINTR;
}

static long sys_rt_sigsuspend(const uint64_t* set, long sigset_size) {
    if (sigset_size != kSigsetSize)
        return -EINVAL;
    uint64_t mask = 0;
    if (tern_libc_copy_in(&mask, set, sizeof(mask)) != 0)
        return -EFAULT;
    return suspend(mask);
}

static long sys_rt_sigtimedwait(const uint64_t* set, siginfo_t* user_info,
                                const struct timespec* timeout, long sigset_size) {
    if (sigset_size != kSigsetSize)
        return -EINVAL;
    uint64_t wanted = 0;
    if (tern_libc_copy_in(&wanted, set, sizeof(wanted)) != 0)
        return -EFAULT;
    wanted &= ~tern_libc_signal_unblockable();
    uint64_t deadline = TERN_TIMEOUT_INFINITE;
    if (timeout) {
        struct timespec t;
        uint64_t ns = 0;
        if (tern_libc_copy_in(&t, timeout, sizeof(t)) != 0)
            return -EFAULT;
        int r = tern_libc_timespec_to_ns(t.tv_sec, t.tv_nsec, &ns);
        if (r != 0)
            return r;
        deadline = (uint64_t)tern_sys_clock_monotonic() + ns;
    }
    ensure_registered();
    struct thread_signals* me = self_signals();
    make_wake_port(me);
    uint64_t mark = tern_libc_signal_mark();
    for (;;) {
        long own = tern_libc_signal_next(me->pending & wanted, 0);
        long signal = own != 0 ? own : tern_libc_signal_next(g_pending & wanted, 0);
        if (signal != 0) {
            struct signal_info from = {kSiTkill, self_pid(), 0, 0, 0, 0, 0, 0};
            if (own != 0 ? !claim(&me->pending, tern_libc_signal_bit(signal))
                         : !take_shared(signal, &from))
                continue;
            siginfo_t info;
            memset(&info, 0, sizeof(info));
            info.si_signo = (int)signal;
            info.si_code = from.code;
            info.si_pid = (pid_t)serial_of(from.sender);
            if (from.code == SI_QUEUE)
                info.si_value.sival_ptr = (void*)(uintptr_t)from.status;
            timer_info(&from, &info);
            if (user_info && tern_libc_copy_out(user_info, &info, sizeof(info)) != 0)
                return -EFAULT;
            return signal;
        }
        if (tern_libc_signal_interrupts(mark, 0))
            return -EINTR;
        uint64_t now = (uint64_t)tern_sys_clock_monotonic();
        if (deadline != TERN_TIMEOUT_INFINITE && now >= deadline)
            return -EAGAIN;
        wait_for_signal(me, deadline == TERN_TIMEOUT_INFINITE ? deadline : deadline - now);
    }
}

static long sys_sigaltstack(const stack_t* next, stack_t* old) {
    struct thread_signals* me = self_signals();
    stack_t previous = me->altstack;
    if (!altstack_enabled(me)) {
        previous.ss_flags = SS_DISABLE;
        previous.ss_sp = 0;
        previous.ss_size = 0;
    }
    if (me->on_altstack)
        previous.ss_flags |= SS_ONSTACK;
    if (next) {
        stack_t s;
        if (tern_libc_copy_in(&s, next, sizeof(s)) != 0)
            return -EFAULT;
        if (me->on_altstack)
            return -EPERM;
        if (s.ss_flags & ~SS_DISABLE)
            return -EINVAL;
        if (s.ss_flags & SS_DISABLE) {
            me->altstack.ss_flags = SS_DISABLE;
            me->altstack.ss_sp = 0;
            me->altstack.ss_size = 0;
        } else {
            if (s.ss_size < (size_t)MINSIGSTKSZ)
                return -ENOMEM;
            me->altstack = s;
        }
    }
    if (old && tern_libc_copy_out(old, &previous, sizeof(previous)) != 0)
        return -EFAULT;
    return 0;
}

/* ---- Groups and sessions ---------------------------------------------------------------- */

static long sys_setpgid(long pid, long pgid) {
    /* Linux: a group of 0 is the process's own id, and a negative group is EINVAL, so
     * setpgid(-1, 0) is EINVAL before the process is looked for. */
    if (pgid < 0 || (pgid == 0 && pid < 0))
        return -EINVAL;
    if (pid < 0)
        return -ESRCH;
    uint64_t self = self_pid();
    if (self == 0)
        return pid == 0 || pid == self_serial() ? -EPERM : -ESRCH;
    int64_t r = tern_libc_proc_setpgid(pid ? tern_libc_global_pid(self, pid) : 0,
                                       pgid ? tern_libc_global_pid(self, pgid) : 0);
    return r < 0 ? errno_of_proc(r) : 0;
}

static long get_ids(long pid, int session) {
    if (pid < 0)
        return -ESRCH;
    uint64_t self = self_pid();
    if (self == 0)
        return pid == 0 || pid == self_serial() ? self_serial() : -ESRCH;
    uint64_t pgid = 0, sid = 0;
    int64_t r = tern_libc_proc_getpgid(pid ? tern_libc_global_pid(self, pid) : 0, &pgid, &sid);
    if (r < 0)
        return errno_of_proc(r);
    return serial_of(session ? sid : pgid);
}

static long sys_setsid(void) {
    if (self_pid() == 0)
        return -EPERM;
    uint64_t sid = 0;
    int64_t r = tern_libc_proc_setsid(&sid);
    return r < 0 ? errno_of_proc(r) : serial_of(sid);
}

/* tcsetpgrp and tcgetpgrp on the console: its foreground group. With none set (a program
 * a native shell started, which is its foreground as a process), the caller's own group. */
long tern_libc_signal_ioctl(long request, long argument) {
    uint64_t self = self_pid();
    if (request == TIOCSPGRP) {
        int pgid = 0;
        if (tern_libc_copy_in(&pgid, (const void*)argument, sizeof(pgid)) != 0)
            return -EFAULT;
        if (pgid < 0)
            return -EINVAL;
        if (self == 0)
            return -ENOTTY;
        int64_t r = tern_libc_console_set_foreground_group(tern_libc_global_pid(self, pgid));
        return r == -TERN_NOT_SUPPORTED ? -ENOTTY : r < 0 ? -EPERM : 0;
    }
    uint64_t pgid = 0;
    if (self == 0 || tern_libc_console_foreground(&pgid) != 0)
        return -ENOTTY;
    int out = pgid ? (int)serial_of(pgid) : (int)get_ids(0, 0);
    return tern_libc_copy_out((void*)argument, &out, sizeof(out)) != 0 ? -EFAULT : 0;
}

/* ---- What the rest of the backend uses -------------------------------------------------- */

/* What was pending in the parent when it cloned itself: the child does not inherit it,
 * but it keeps what was sent to it since (proc may deliver to it before it first runs). */
static uint64_t g_pending_at_fork;
static int g_forking_thread;

void tern_libc_signals_fork_prepare(void) {
    g_pending_at_fork = g_pending;
    g_forking_thread = tern_libc_thread_index();
}

void tern_libc_signals_fork_child(void) {
    g_pending &= ~g_pending_at_fork;
    drop_queued(g_pending_at_fork);
    /* The thread that forked is the child's only one, its main one, with its mask; the
     * wake ports' receive rights did not come with the clone. */
    g_threads[0].blocked = g_threads[g_forking_thread].blocked;
    g_threads[0].pending = 0;
    g_threads[0].altstack = g_threads[g_forking_thread].altstack;
    g_threads[0].on_altstack = g_threads[g_forking_thread].on_altstack;
    for (int i = 0; i < TERN_LIBC_THREAD_INDEXES; ++i) {
        g_threads[i].wake_port = 0;
        if (i != 0)
            g_threads[i] = (struct thread_signals){0};
    }
    tern_libc_timers_fork_child();
}

void tern_libc_signals_thread_start(int index) {
    if (index <= 0 || index >= TERN_LIBC_THREAD_INDEXES)
        return;
    /* A new thread starts with its creator's mask (musl's pthread_create then sets the
     * one it wants) and nothing pending. */
    g_threads[index] = (struct thread_signals){.blocked = self_signals()->blocked};
}

void tern_libc_signals_thread_end(int index) {
    if (index <= 0 || index >= TERN_LIBC_THREAD_INDEXES)
        return;
    uint32_t port = g_threads[index].wake_port;
    g_threads[index].wake_port = 0;
    if (port != 0)
        (void)tern_sys_handle_close(port);
    /* Its own signals end with it; what the process has pending stays for the others. */
    g_threads[index].pending = 0;
}

void tern_libc_signal_register(void) { ensure_registered(); }

int tern_libc_signal_dropped_by_proc(long signal) {
    return (__atomic_load_n(&g_words[0], __ATOMIC_SEQ_CST) & tern_libc_signal_bit(signal)) != 0;
}

/* exec (backend_exec.c): the mask and the ignored signals cross; handled ones go back to
 * their default, as POSIX says, and pending ones are dropped (the new image starts
 * without). The hook for more signal state is portable/exec_state.h's signal_words. */
void tern_libc_signals_exec_save(uint64_t* mask, uint64_t* ignored) {
    *mask = self_signals()->blocked;
    *ignored = 0;
    for (long signal = 1; signal <= TERN_LIBC_SIGNAL_COUNT; ++signal)
        if (g_actions[signal].handler == (uintptr_t)SIG_IGN)
            *ignored |= tern_libc_signal_bit(signal);
}

void tern_libc_signals_exec_restore(uint64_t mask, uint64_t ignored) {
    g_threads[0].blocked = mask & ~tern_libc_signal_unblockable();
    for (long signal = 1; signal <= TERN_LIBC_SIGNAL_COUNT; ++signal)
        if ((ignored & tern_libc_signal_bit(signal))
            && !(tern_libc_signal_bit(signal) & tern_libc_signal_unblockable()))
            g_actions[signal].handler = (uintptr_t)SIG_IGN;
    g_dispositions_changed = 1;
    /* proc must know at once what this image ignores or blocks: without an entry it
     * applies default actions itself. */
    if (ignored != 0 || g_threads[0].blocked != 0)
        ensure_registered();
}

long tern_libc_signal_syscall(long n, long a1, long a2, long a3, long a4, int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_rt_sigaction:
        return sys_rt_sigaction(a1, (const struct k_sigaction*)a2, (struct k_sigaction*)a3, a4);
    case SYS_rt_sigprocmask:
        return sys_rt_sigprocmask(a1, (const uint64_t*)a2, (uint64_t*)a3, a4);
    case SYS_rt_sigpending:
        return sys_rt_sigpending((uint64_t*)a1, a2);
    case SYS_rt_sigsuspend:
        return sys_rt_sigsuspend((const uint64_t*)a1, a2);
    case SYS_pause:
        return suspend(self_signals()->blocked);
    case SYS_rt_sigtimedwait:
        return sys_rt_sigtimedwait((const uint64_t*)a1, (siginfo_t*)a2, (const struct timespec*)a3,
                                   a4);
    case SYS_sigaltstack:
        return sys_sigaltstack((const stack_t*)a1, (stack_t*)a2);
    /* A thread of the process (backend_threads.c) takes it, the main one as any other. */
    case SYS_tkill:
        if (a1 <= 0 || a2 < 0 || a2 > TERN_LIBC_SIGNAL_COUNT)
            return -EINVAL;
        return send_to_thread(a1, a2);
    case SYS_tgkill:
        if (a1 <= 0 || a2 <= 0 || a3 < 0 || a3 > TERN_LIBC_SIGNAL_COUNT)
            return -EINVAL;
        return a1 == self_serial() ? send_to_thread(a2, a3) : -ESRCH;
    case SYS_kill:
        return sys_kill(a1, a2);
    case SYS_rt_sigqueueinfo:
        return sys_rt_sigqueueinfo(a1, a2, (const siginfo_t*)a3);
    case SYS_setpgid:
        return sys_setpgid(a1, a2);
    case SYS_getpgid:
        return get_ids(a1, 0);
    case SYS_getpgrp:
        return get_ids(0, 0);
    case SYS_getsid:
        return get_ids(a1, 1);
    case SYS_setsid:
        return sys_setsid();
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

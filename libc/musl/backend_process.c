/*
 * Tern's musl backend: processes. fork (and vfork, which musl makes a fork), wait4,
 * waitid and getppid, on the kernel's copy-on-write task_clone
 * and the proc server (docs/libc.md, "Processes").
 *
 * fork: the calling thread saves its registers (setjmp) in a context on its stack and
 * clones its task (task_clone): the child gets a copy-on-write copy of all the memory,
 * this context included, and one stopped thread that starts on a small stack of its own
 * (in the copied .bss) and jumps into the saved context (longjmp), so that in the child
 * the same fork call returns, on the same stack, with 0. Before the child runs, the parent
 * asks proc to make it its child process (proc Fork, which gives the pid), writes the
 * child's pid and its own into the child's memory (task_vm_write) and then starts it. All
 * the per-process state is in the process's memory and so is the child's from the start:
 * the descriptor table, the signal state, the console's pending input, musl's own. The
 * offsets and status flags of open files and directories, which parent and child share,
 * move into pages of their own before the clone (backend.c, portable/shared_file.h), which
 * the clone maps as it maps a pipe's ring.
 *
 * The handles the clone keeps are the ones the kernel copies (ports without RECEIVE,
 * memory objects, tasks, resources): the servers' ports (console, bootfs, proc, net, the
 * name server) and the memory objects of open files and pipes. The receive rights are
 * not: the only one the C library holds, the pipe wait port, is made afresh in the child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/process.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <libc/musl/signal_client.h>
#include <tern/abi/errors.h>
#include <tern/abi/rights.h>
#include <tern/abi/syscalls.h>
#include <tern/syscall.h>

_Static_assert(SIGKILL == 9 && SIGSEGV == 11 && SIGCHLD == 17 && SIGSTOP == 19,
               "portable/process.cpp spells out Linux's signal numbers");

/* What the child resumes from: saved by the parent's fork before the clone. */
struct fork_context {
    jmp_buf registers;
};

/* The child's first thread starts here, on this stack (the child's own copy). */
static uint8_t g_child_stack[4096] __attribute__((aligned(16)));

void tern_fork_child_start(void);
__attribute__((used, noreturn)) void tern_fork_child_main(struct fork_context* context) {
    longjmp(context->registers, 1);
}

/* A thread starts with RSP 16-byte aligned and no return address; the call restores the
 * alignment a C function expects. */
__asm__(".text\n"
        ".globl tern_fork_child_start\n"
        ".type tern_fork_child_start, @function\n"
        "tern_fork_child_start:\n"
        "    xorl %ebp, %ebp\n"
        "    call tern_fork_child_main\n"
        "    ud2\n"
        ".size tern_fork_child_start, . - tern_fork_child_start\n");

static long errno_of(int64_t status) {
    return -(long)tern_libc_errno_from_status((int32_t)-status);
}

/* The serial of a global pid, as pid_t reports it. */
static long serial_of(uint64_t pid) { return (long)(int32_t)(uint32_t)pid; }

static long sys_fork(void) {
    uint64_t self = tern_libc_startup_pid();
    if (self == 0)
        return -ENOSYS; /* no proc server to make the child a process (a boot module) */
    struct fork_context context;
    tern_libc_pipe_fork_prepare();
    tern_libc_files_fork_prepare();
    tern_libc_mq_fork_prepare();
    tern_libc_signals_fork_prepare();
    if (setjmp(context.registers) != 0) {
        /* The child, in the clone, on the parent's stack as it was. */
        tern_libc_threads_fork_child();
        tern_libc_pipe_fork_child();
        tern_libc_socket_fork_child();
        tern_libc_signals_fork_child();
        tern_libc_sysv_fork_child();
        return 0;
    }
    uint64_t thread = 0;
    int64_t task =
        tern_sys_task_clone(tern_libc_self_task(), (uint64_t)(uintptr_t)&tern_fork_child_start,
                            (uint64_t)(uintptr_t)(g_child_stack + sizeof(g_child_stack)),
                            (uint64_t)(uintptr_t)&context, (uint64_t)(uintptr_t)&thread);
    tern_libc_pipe_fork_done();
    if (task < 0) {
        tern_libc_pipe_fork_undo();
        tern_libc_files_fork_undo();
        tern_libc_mq_fork_undo();
        /* Out of memory, tasks or handles: what Linux reports for a fork it cannot do. */
        return task == -TERN_NO_MEMORY ? -ENOMEM : -EAGAIN;
    }
    uint64_t pid = 0;
    int64_t r = 0;
    do {
        int64_t for_proc = tern_sys_handle_duplicate((uint64_t)task, TERN_RIGHTS_SAME);
        /* proc keeps the child's thread to deliver its signals (a child without it still
         * runs: proc then applies the default actions itself). */
        int64_t thread_for_proc = tern_sys_handle_duplicate(thread, TERN_RIGHTS_SAME);
        r = for_proc < 0
                ? for_proc
                : tern_libc_proc_fork((uint32_t)for_proc,
                                      thread_for_proc < 0 ? 0 : (uint32_t)thread_for_proc, &pid);
        /* A signal proc delivered while the call waited (SIGCHLD, a timer's) cut it
         * short; the message may still be in proc's queue. The child has not run, so the
         * call is made again, as Linux restarts a fork a signal meets: proc answers a
         * second Fork of a task it already made the caller's child with the same pid. The
         * handler has run in the parent, as it would after Linux's fork. */
    } while (r == -TERN_INTERRUPTED);
    if (r == 0) {
        tern_libc_pipe_hold_for_child(pid, 1);
        /* The child holds the sockets at the network server too, and learns which. */
        uint64_t sockets = tern_libc_socket_fork_share((uint32_t)task);
        /* The child learns who it is before it runs. */
        uint64_t ids[2] = {pid, self};
        /* (The child's copy of the word is this process's: written only when it differs.) */
        if ((sockets == tern_libc_socket_fork_shared
             || (r = tern_sys_task_vm_write((uint64_t)task,
                                            (uint64_t)(uintptr_t)&tern_libc_socket_fork_shared,
                                            (uint64_t)(uintptr_t)&sockets, sizeof(sockets)))
                    >= 0)
            && (r = tern_sys_task_vm_write((uint64_t)task, (uint64_t)(uintptr_t)&tern_libc_fork_pid,
                                           (uint64_t)(uintptr_t)&ids[0], sizeof(ids[0])))
                   >= 0
            && (r = tern_sys_task_vm_write((uint64_t)task,
                                           (uint64_t)(uintptr_t)&tern_libc_fork_parent,
                                           (uint64_t)(uintptr_t)&ids[1], sizeof(ids[1])))
                   >= 0)
            r = tern_sys_thread_resume(thread);
    }
    if (r < 0) {
        /* Never ran: end it (proc, if it took it, keeps it as a zombie for a wait). */
        (void)tern_sys_task_kill((uint64_t)task, 128 + SIGKILL);
        if (pid != 0)
            tern_libc_pipe_hold_for_child(pid, -1);
        tern_libc_pipe_fork_undo();
        tern_libc_files_fork_undo();
        tern_libc_mq_fork_undo();
    }
    (void)tern_sys_handle_close(thread);
    (void)tern_sys_handle_close((uint64_t)task);
    if (r < 0)
        return r == -TERN_NO_SPACE ? -EAGAIN : errno_of(r);
    return serial_of(pid);
}

/* Which children a wait covers: a global pid, or 0 for any; *group set when target is
 * a process group (0: the caller's). */
static long wait_target(uint64_t self, long pid, uint64_t* target, int* group) {
    *group = 0;
    if (pid == -1) {
        *target = 0;
        return 0;
    }
    if (pid == 0) {
        *target = 0;
        *group = 1;
        return 0;
    }
    if (pid < -1) {
        if (pid == -2147483648L)
            return -ECHILD;
        *target = tern_libc_global_pid(self, -pid);
        *group = 1;
        return 0;
    }
    *target = tern_libc_global_pid(self, pid);
    return 0;
}

/* One wait with proc::Wait's flags (TERN_LIBC_WAIT_*): 0 and *which, *status, *event for
 * a child that ended (or stopped or continued, when asked); 1 when nohang and none has;
 * else a negated errno. A wait a signal cut short goes on unless a handler without
 * SA_RESTART ran (EINTR). The wait uses nothing of the backend's but proc's handle from
 * the startup block: the other threads may use the backend meanwhile (backend_threads.c). */
/* A child's end that is reaped adds its times (times_ns: user, system) to the children's. */
static long wait_one(uint64_t target, uint32_t flags, uint64_t* which, int64_t* status,
                     uint32_t* event, uint64_t times_ns[2]) {
    uint64_t mark = tern_libc_signal_mark();
    int64_t r;
    for (;;) {
        unsigned depth = tern_libc_lock_release();
        r = tern_libc_proc_wait_job(target, flags, which, status, event, times_ns);
        tern_libc_lock_reacquire(depth);
        if (r != -TERN_INTERRUPTED)
            break;
        if (tern_libc_signal_interrupts(mark, 1))
            return -EINTR;
    }
    if (r == 0) {
        /* A child that was killed could not close its pipe ends: they stop counting now. */
        if (*event == TERN_LIBC_WAIT_EVENT_EXITED && !(flags & TERN_LIBC_WAIT_NOREAP)) {
            tern_libc_pipe_forget_process(*which);
            tern_libc_children_times_add(times_ns[0], times_ns[1]);
        }
        return 0;
    }
    if (r == -TERN_WOULD_BLOCK)
        return 1;
    if (r == -TERN_NOT_FOUND || r == -TERN_NOT_OWNER)
        return -ECHILD;
    return errno_of(r);
}

/* wait4's status word for what proc reported, as Linux encodes it. */
static int wait_status_word(uint32_t event, int64_t status) {
    if (event == TERN_LIBC_WAIT_EVENT_STOPPED)
        return (int)(((status & 0xff) << 8) | 0x7f);
    if (event == TERN_LIBC_WAIT_EVENT_CONTINUED)
        return 0xffff;
    return tern_libc_wait_status(status);
}

static long sys_wait4(long pid, int* user_status, long options, struct rusage* usage) {
    if (options & ~(long)(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD))
        return -EINVAL;
    uint64_t self = tern_libc_startup_pid();
    if (self == 0)
        return -ECHILD;
    uint64_t target = 0;
    int group = 0;
    long r = wait_target(self, pid, &target, &group);
    if (r != 0)
        return r;
    uint32_t flags = (options & WNOHANG ? TERN_LIBC_WAIT_NOHANG : 0)
                     | (group ? TERN_LIBC_WAIT_GROUP : 0)
                     | (options & WUNTRACED ? TERN_LIBC_WAIT_STOPPED : 0)
                     | (options & WCONTINUED ? TERN_LIBC_WAIT_CONTINUED : 0);
    uint64_t which = 0;
    int64_t status = 0;
    uint32_t event = 0;
    uint64_t times_ns[2] = {0, 0};
    r = wait_one(target, flags, &which, &status, &event, times_ns);
    if (r < 0)
        return r;
    if (r == 1)
        return 0;
    int linux_status = wait_status_word(event, status);
    if (user_status && tern_libc_copy_out(user_status, &linux_status, sizeof(linux_status)) != 0)
        return -EFAULT;
    /* Times are reported for an end only (a stopped child's are not final). */
    if (usage
        && tern_libc_rusage_out(usage, event == TERN_LIBC_WAIT_EVENT_EXITED ? times_ns[0] : 0,
                                event == TERN_LIBC_WAIT_EVENT_EXITED ? times_ns[1] : 0)
               != 0)
        return -EFAULT;
    return serial_of(which);
}

static long sys_waitid(long type, long id, siginfo_t* info, long options) {
    if (!(options & (WEXITED | WSTOPPED | WCONTINUED))
        || (options
            & ~(long)(WEXITED | WNOHANG | WSTOPPED | WCONTINUED | WNOWAIT | __WALL | __WCLONE
                      | __WNOTHREAD)))
        return -EINVAL;
    uint64_t self = tern_libc_startup_pid();
    if (self == 0)
        return -ECHILD;
    uint64_t target = 0;
    int group = 0;
    if (type == P_ALL) {
        target = 0;
    } else if (type == P_PGID && id >= 0) {
        target = id == 0 ? 0 : tern_libc_global_pid(self, id);
        group = 1;
    } else if (type == P_PID && id > 0) {
        target = tern_libc_global_pid(self, id);
    } else {
        return -EINVAL;
    }
    uint32_t flags = (options & WNOHANG ? TERN_LIBC_WAIT_NOHANG : 0)
                     | (group ? TERN_LIBC_WAIT_GROUP : 0)
                     | (options & WSTOPPED ? TERN_LIBC_WAIT_STOPPED : 0)
                     | (options & WCONTINUED ? TERN_LIBC_WAIT_CONTINUED : 0)
                     | (options & WNOWAIT ? TERN_LIBC_WAIT_NOREAP : 0)
                     | (options & WEXITED ? 0 : TERN_LIBC_WAIT_NOEXITS);
    uint64_t which = 0;
    int64_t status = 0;
    uint32_t event = 0;
    uint64_t times_ns[2] = {0, 0};
    long r = wait_one(target, flags, &which, &status, &event, times_ns);
    if (r < 0)
        return r;
    siginfo_t out;
    memset(&out, 0, sizeof(out));
    if (r == 0) {
        int linux_status = tern_libc_wait_status(status);
        out.si_signo = SIGCHLD;
        out.si_pid = (pid_t)serial_of(which);
        if (event == TERN_LIBC_WAIT_EVENT_STOPPED) {
            out.si_code = CLD_STOPPED;
            out.si_status = (int)status;
        } else if (event == TERN_LIBC_WAIT_EVENT_CONTINUED) {
            out.si_code = CLD_CONTINUED;
            out.si_status = (int)status;
        } else if (WIFEXITED(linux_status)) {
            out.si_code = CLD_EXITED;
            out.si_status = WEXITSTATUS(linux_status);
        } else {
            out.si_code = CLD_KILLED;
            out.si_status = WTERMSIG(linux_status);
        }
    }
    /* With WNOHANG and no child ended, Linux zeroes si_pid (the whole record here). */
    if (info && tern_libc_copy_out(info, &out, sizeof(out)) != 0)
        return -EFAULT;
    return 0;
}

/* The parent as proc knows it. Once it has ended, the process reads as init's (pid 1), as
 * on Linux, where an orphan is given to init; a parent on another node cannot be seen
 * from here and is reported as it is. */
long tern_libc_getppid(void) {
    uint64_t self = tern_libc_startup_pid();
    uint64_t parent = 0, parent_task = 0;
    if (self != 0 && tern_libc_proc_parent(self, &parent, &parent_task) == 0) {
        if (parent_task == 0 && parent >> 32 == self >> 32)
            return 1;
        return serial_of(parent);
    }
    return serial_of(tern_libc_fork_parent);
}

long tern_libc_process_syscall(long n, long a1, long a2, long a3, long a4, int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_fork:
    case SYS_vfork:
        return sys_fork();
    case SYS_wait4:
        return sys_wait4(a1, (int*)a2, a3, (struct rusage*)a4);
    case SYS_waitid:
        return sys_waitid(a1, a2, (siginfo_t*)a3, a4);
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

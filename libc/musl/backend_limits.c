/*
 * Tern's musl backend: what a shell asks about its process besides files: resource
 * limits (getrlimit, setrlimit, prlimit64; the rules in portable/rlimits.h), one CPU
 * for sysconf (sched_getaffinity), times, getrusage, gettimeofday, sysinfo, and the uid
 * family's answers for a system where every process is root.
 *
 * The limits are the process's own memory, so a fork copies them and an execve carries
 * them (tern_libc_rlimits, backend_exec.c).
 *
 * Processor times come from the kernel's cpu_times (sampled by its 100 Hz timer) for the
 * process's task and the calling thread; those of the children are what proc's Wait
 * reported for each child reaped (its own time and its reaped children's), added up here
 * in the process's memory. A forked child starts with none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>

#include <libc/musl/backend.h>
#include <libc/musl/portable/rlimits.h>
#include <libc/musl/services.h>
#include <tern/abi/startup.h>
#include <tern/abi/task.h>
#include <tern/syscall.h>

_Static_assert(RLIMIT_NOFILE == TERN_LINUX_RLIMIT_NOFILE && RLIMIT_STACK == TERN_LINUX_RLIMIT_STACK
                   && RLIMIT_AS == TERN_LINUX_RLIMIT_AS && RLIMIT_NLIMITS == TERN_LIBC_RLIMIT_COUNT,
               "portable/rlimits.h spells out Linux's resource numbers");

long __tern_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6);

/* ---- Resource limits ---- */

static struct tern_libc_rlimit g_rlimits[TERN_LIBC_RLIMIT_COUNT];
static int g_rlimits_ready;

struct tern_libc_rlimit* tern_libc_rlimits(void) {
    if (!g_rlimits_ready) {
        /* A program proc starts has the spawner's stack; a boot module the kernel's. */
        tern_libc_rlimits_init(g_rlimits,
                               tern_libc_startup_pid() != 0 ? TERN_STARTUP_STACK_SIZE : 64 * 1024);
        g_rlimits_ready = 1;
    }
    return g_rlimits;
}

/* prlimit64 on this process (pid 0 or its own); another process's limits are in its own
 * memory, out of reach: ESRCH. */
static long sys_prlimit64(long pid, long resource, const struct rlimit* new_limit,
                          struct rlimit* old) {
    if (pid != 0 && pid != __tern_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0))
        return -ESRCH;
    struct tern_libc_rlimit in, out;
    if (new_limit && tern_libc_copy_in(&in, new_limit, sizeof(in)) != 0)
        return -EFAULT;
    if (resource < 0 || resource >= TERN_LIBC_RLIMIT_COUNT)
        return -EINVAL;
    struct tern_libc_rlimit keep = tern_libc_rlimits()[resource];
    long r = tern_libc_rlimit_exchange(tern_libc_rlimits(), resource, new_limit ? &in : 0, &out);
    if (r != 0)
        return r;
    if (old && tern_libc_copy_out(old, &out, sizeof(out)) != 0) {
        tern_libc_rlimits()[resource] = keep;
        return -EFAULT;
    }
    return 0;
}

/* ---- The rest ---- */

static long sys_sched_getaffinity(long pid, long size, void* mask) {
    if (pid < 0)
        return -ESRCH;
    if (size < (long)sizeof(uint64_t) || (size & 7))
        return -EINVAL;
    uint64_t one = 1; /* one CPU */
    if (tern_libc_copy_out(mask, &one, sizeof(one)) != 0)
        return -EFAULT;
    return sizeof(one);
}

/* Clock ticks (sysconf(_SC_CLK_TCK), 100 a second) since the node started. */
static long ticks_now(void) { return (long)(tern_sys_clock_monotonic() / 10000000ull); }

/* The reaped children's time, and the process it belongs to (a forked child, whose pid
 * differs, starts from nothing). */
static struct tern_cpu_times g_children;
static uint64_t g_children_pid;

static struct tern_cpu_times* children_times(void) {
    uint64_t self = tern_libc_startup_pid();
    if (g_children_pid != self) {
        g_children_pid = self;
        memset(&g_children, 0, sizeof(g_children));
    }
    return &g_children;
}

void tern_libc_children_times_add(uint64_t user_ns, uint64_t system_ns) {
    struct tern_cpu_times* c = children_times();
    c->user_ns += user_ns;
    c->system_ns += system_ns;
}

/* The process's own time in the images before this one (execve makes a new task, whose
 * kernel times start at 0), and the process it belongs to (a forked child starts from
 * nothing). */
static struct tern_cpu_times g_earlier;
static uint64_t g_earlier_pid;

/* The calling thread's (thread != 0) or the whole process's processor time. */
struct tern_cpu_times tern_libc_cpu_times(int thread) {
    struct tern_cpu_times t = {0, 0};
    (void)tern_sys_cpu_times(thread ? TERN_INVALID_HANDLE : tern_libc_self_task(),
                             (uint64_t)(uintptr_t)&t);
    if (!thread && g_earlier_pid == tern_libc_startup_pid()) {
        t.user_ns += g_earlier.user_ns;
        t.system_ns += g_earlier.system_ns;
    }
    return t;
}

void tern_libc_times_exec_save(uint64_t times_ns[4]) {
    struct tern_cpu_times self = tern_libc_cpu_times(0);
    const struct tern_cpu_times* children = children_times();
    times_ns[0] = self.user_ns;
    times_ns[1] = self.system_ns;
    times_ns[2] = children->user_ns;
    times_ns[3] = children->system_ns;
}

void tern_libc_times_exec_restore(const uint64_t times_ns[4]) {
    g_earlier_pid = tern_libc_startup_pid();
    g_earlier.user_ns = times_ns[0];
    g_earlier.system_ns = times_ns[1];
    struct tern_cpu_times* children = children_times();
    children->user_ns = times_ns[2];
    children->system_ns = times_ns[3];
}

static clock_t ticks_of(uint64_t ns) { return (clock_t)(ns / 10000000ull); }

static struct timeval timeval_of(uint64_t ns) {
    struct timeval tv = {(time_t)(ns / 1000000000ull), (suseconds_t)(ns % 1000000000ull / 1000)};
    return tv;
}

static long sys_times(struct tms* out) {
    struct tern_cpu_times self = tern_libc_cpu_times(0);
    const struct tern_cpu_times* children = children_times();
    struct tms t = {ticks_of(self.user_ns), ticks_of(self.system_ns), ticks_of(children->user_ns),
                    ticks_of(children->system_ns)};
    if (out && tern_libc_copy_out(out, &t, sizeof(t)) != 0)
        return -EFAULT;
    return ticks_now();
}

/* An rusage with the two times given; Tern keeps no other figure (all 0). */
long tern_libc_rusage_out(struct rusage* out, uint64_t user_ns, uint64_t system_ns) {
    struct rusage usage;
    memset(&usage, 0, sizeof(usage));
    usage.ru_utime = timeval_of(user_ns);
    usage.ru_stime = timeval_of(system_ns);
    return tern_libc_copy_out(out, &usage, sizeof(usage)) != 0 ? -EFAULT : 0;
}

static long sys_getrusage(long who, struct rusage* out) {
    struct tern_cpu_times t;
    if (who == RUSAGE_SELF || who == RUSAGE_THREAD)
        t = tern_libc_cpu_times(who == RUSAGE_THREAD);
    else if (who == RUSAGE_CHILDREN)
        t = *children_times();
    else
        return -EINVAL;
    return tern_libc_rusage_out(out, t.user_ns, t.system_ns);
}

static long sys_sysinfo(struct sysinfo* out) {
    struct sysinfo info;
    memset(&info, 0, sizeof(info));
    info.uptime = (long)(tern_sys_clock_monotonic() / 1000000000ull);
    struct tern_memory_info memory;
    if (tern_sys_memory_info((uint64_t)(uintptr_t)&memory) == 0) {
        info.totalram = memory.managed_bytes;
        info.freeram = memory.free_bytes;
    }
    info.procs = 1;
    info.mem_unit = 1;
    return tern_libc_copy_out(out, &info, sizeof(info)) != 0 ? -EFAULT : 0;
}

static long three_zeros(unsigned* a, unsigned* b, unsigned* c) {
    unsigned zero = 0;
    if (tern_libc_copy_out(a, &zero, sizeof(zero)) != 0
        || tern_libc_copy_out(b, &zero, sizeof(zero)) != 0
        || tern_libc_copy_out(c, &zero, sizeof(zero)) != 0)
        return -EFAULT;
    return 0;
}

/* Every process is root and stays root: setting an id to 0 (or -1, unchanged) succeeds,
 * any other is EPERM (there are no other users to become). */
static long set_ids(long n, long a, long b, long c) {
    long ids[3] = {a, b, c};
    int count =
        n == SYS_setuid || n == SYS_setgid ? 1 : (n == SYS_setreuid || n == SYS_setregid ? 2 : 3);
    for (int i = 0; i < count; ++i) {
        if ((int)ids[i] != 0 && (int)ids[i] != -1) {
            tern_libc_log_unsupported(n, "a user other than root");
            return -EPERM;
        }
    }
    return 0;
}

long tern_libc_limits_syscall(long n, long a1, long a2, long a3, long a4, int* handled) {
    *handled = 1;
    switch (n) {
    case SYS_prlimit64:
        return sys_prlimit64(a1, a2, (const struct rlimit*)a3, (struct rlimit*)a4);
    case SYS_getrlimit:
        return sys_prlimit64(0, a1, 0, (struct rlimit*)a2);
    case SYS_setrlimit:
        return sys_prlimit64(0, a1, (const struct rlimit*)a2, 0);
    case SYS_sched_getaffinity:
        return sys_sched_getaffinity(a1, a2, (void*)a3);
    case SYS_times:
        return sys_times((struct tms*)a1);
    case SYS_getrusage:
        return sys_getrusage(a1, (struct rusage*)a2);
    case SYS_sysinfo:
        return sys_sysinfo((struct sysinfo*)a1);
    case SYS_getresuid:
    case SYS_getresgid:
        return three_zeros((unsigned*)a1, (unsigned*)a2, (unsigned*)a3);
    case SYS_getgroups:
        return a1 < 0 ? -EINVAL : 0; /* no supplementary groups */
    case SYS_setgroups:
        return a1 == 0 ? 0 : (a1 < 0 || a1 > 65536 ? -EINVAL : -EPERM);
    case SYS_setuid:
    case SYS_setgid:
    case SYS_setreuid:
    case SYS_setregid:
    case SYS_setresuid:
    case SYS_setresgid:
        return set_ids(n, a1, a2, a3);
    case SYS_gettimeofday: {
        struct timespec now;
        long r = __tern_syscall(SYS_clock_gettime, CLOCK_REALTIME, (long)&now, 0, 0, 0, 0);
        if (r != 0)
            return r;
        struct timeval tv = {now.tv_sec, now.tv_nsec / 1000};
        if (a1 && tern_libc_copy_out((void*)a1, &tv, sizeof(tv)) != 0)
            return -EFAULT;
        return 0;
    }
    default:
        *handled = 0;
        return -ENOSYS;
    }
}

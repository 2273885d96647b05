/*
 * posix_misc: the calls ported programs (Lua, BusyBox) need beside files and processes:
 * the CPU-time clocks and clock(); times, getrusage and wait4's rusage (the process's,
 * the thread's, a child's and a grandchild's processor time, and a process's own and its
 * reaped children's time kept across execve); utimensat, futimens, utimes and utime
 * with explicit times, UTIME_NOW and UTIME_OMIT, on files, directories and links; chown, fchown,
 * lchown and fchownat to root's ids; sync and syncfs; prctl's PR_SET_NAME and PR_GET_NAME;
 * hard links and link's refusals; the devices /dev/zero, /dev/full, /dev/random and
 * /dev/urandom (reads, writes, stat, a private mapping of /dev/zero); each refusal with
 * Linux's errno.
 *
 * It works in a new directory under /tmp (mkdtemp), so the same source builds and runs on
 * the host's Linux (unit.libc_posix_misc_on_host) and every expectation is Linux's; what
 * only Tern has (EROFS on the boot file system, EPERM for an id other than root's) is
 * checked only there. Prints "posix_misc: ok ..." per check, "posix_misc: FAILED ..." for
 * a failure and "posix_misc: N checks, M failures"; exits 0 only when nothing failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#if __has_include(<tern/libc.h>)
#define ON_TERN 1
#else
#define ON_TERN 0
#endif

static int g_checks, g_failures;
static char g_base[64];

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf("posix_misc: ok %s\n", what);
    } else {
        ++g_failures;
        printf("posix_misc: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

/* A call that must fail with errno `want`. */
static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("posix_misc: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("posix_misc: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
}

static const char* at(int slot, const char* name) {
    static char paths[4][512];
    snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", g_base, name);
    return paths[slot];
}

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return ns_of(t);
}

static void test_cpu_clocks(void) {
    struct timespec a, b, res;
    check(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a) == 0 && a.tv_sec >= 0 && a.tv_nsec >= 0,
          "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    clock_t c0 = clock();
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < 20000000; ++i)
        x += i % 7;
    check(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b) == 0 && ns_of(b) > ns_of(a),
          "the process CPU clock advances with work");
    clock_t c1 = clock();
    check(c0 != (clock_t)-1 && c1 != (clock_t)-1 && c1 > c0 && x > 0, "clock() advances with work");
    check(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a) == 0,
          "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    check(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0,
          "clock_getres(CLOCK_PROCESS_CPUTIME_ID)");
    check_errno(clock_gettime((clockid_t)99, &a), EINVAL, "clock_gettime of clock 99");
}

static int64_t us_of(struct timeval t) { return (int64_t)t.tv_sec * 1000000 + t.tv_usec; }

/* User work until the process has been charged ms more milliseconds of user time; 0 if
 * that took more than 20 s (Tern's kernel charges time in 10 ms samples). */
static int spin_cpu(int64_t ms) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    int64_t want = us_of(r.ru_utime) + ms * 1000;
    int64_t end = now_ns() + 20000000000ll;
    volatile uint64_t x = 0;
    while (getrusage(RUSAGE_SELF, &r) == 0 && us_of(r.ru_utime) < want) {
        if (now_ns() > end)
            return 0;
        for (uint32_t i = 0; i < 1000000; ++i)
            x += i % 7;
    }
    return 1;
}

/* A child that spins ms of user time; with grand_ms, it first forks a grandchild that
 * spins that long and reaps it. Exits 0 when all went as asked. */
static pid_t spinning_child(int64_t ms, int64_t grand_ms) {
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    struct rusage r;
    int fresh =
        getrusage(RUSAGE_CHILDREN, &r) == 0 && us_of(r.ru_utime) == 0 && us_of(r.ru_stime) == 0;
    int ok = fresh;
    if (grand_ms) {
        pid_t g = spinning_child(grand_ms, 0);
        int status = 0;
        ok = ok && g > 0 && waitpid(g, &status, 0) == g && WIFEXITED(status)
             && WEXITSTATUS(status) == 0;
    }
    ok = ok && spin_cpu(ms);
    _exit(ok ? 0 : 1);
}

static void test_process_times(void) {
    struct tms t0, t1;
    clock_t c0 = times(&t0);
    check(c0 != (clock_t)-1 && spin_cpu(100), "100 ms of user work");
    clock_t c1 = times(&t1);
    long hz = sysconf(_SC_CLK_TCK);
    check(c1 > c0 && t1.tms_utime - t0.tms_utime >= hz / 10 && t1.tms_stime >= t0.tms_stime,
          "times() counts the process's user time");
    struct rusage self, thread;
    check(getrusage(RUSAGE_SELF, &self) == 0 && getrusage(RUSAGE_THREAD, &thread) == 0
              && us_of(thread.ru_utime) >= 100000
              && us_of(self.ru_utime) + 10000 >= us_of(thread.ru_utime),
          "getrusage: the thread's user time, within the process's");
    struct timespec cpu;
    check(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0
              && ns_of(cpu) >= (us_of(self.ru_utime) + us_of(self.ru_stime)) * 1000,
          "the process CPU clock holds its user and system time");

    /* A child's time comes back with wait4 and in RUSAGE_CHILDREN; a grandchild's with
     * the child that reaped it. */
    struct rusage before, child, after;
    getrusage(RUSAGE_CHILDREN, &before);
    pid_t pid = spinning_child(100, 0);
    int status = -1;
    check(pid > 0 && wait4(pid, &status, 0, &child) == pid && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
          "a forked child starts with no children's time, spins and exits");
    check(us_of(child.ru_utime) >= 100000, "wait4's rusage holds the child's user time");
    getrusage(RUSAGE_CHILDREN, &after);
    check(us_of(after.ru_utime) - us_of(before.ru_utime) >= 100000,
          "RUSAGE_CHILDREN grows by the reaped child's time");
    pid = spinning_child(50, 100);
    check(pid > 0 && wait4(pid, &status, 0, &child) == pid && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
          "a child reaps a grandchild");
    check(us_of(child.ru_utime) >= 150000,
          "wait4's rusage holds the child's and its reaped grandchild's time");
    struct tms t2;
    times(&t2);
    check(t2.tms_cutime - t0.tms_cutime >= hz / 4, "times() counts the children's user time");
    check_errno(getrusage(99, &self), EINVAL, "getrusage of 99");
}

/* The image a child execs (argv[1] "exec-times"): its process spent 100 ms of user time
 * and reaped a child that spent 100 ms before the exec, and its times still hold both.
 * Exits 0 when they do. */
static int exec_times_image(void) {
    struct rusage self, children;
    struct tms t;
    struct timespec cpu;
    long hz = sysconf(_SC_CLK_TCK);
    check(getrusage(RUSAGE_SELF, &self) == 0 && us_of(self.ru_utime) >= 100000,
          "after execve, getrusage(RUSAGE_SELF) holds the 100 ms spent before it");
    check(getrusage(RUSAGE_CHILDREN, &children) == 0 && us_of(children.ru_utime) >= 100000,
          "after execve, getrusage(RUSAGE_CHILDREN) holds the child reaped before it");
    check(times(&t) != (clock_t)-1 && t.tms_utime >= hz / 10 && t.tms_cutime >= hz / 10,
          "after execve, times() holds the process's and the reaped child's time");
    check(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0 && ns_of(cpu) >= 100000000,
          "after execve, the process CPU clock holds the 100 ms spent before it");
    return g_failures == 0 ? 0 : 1;
}

static void test_exec_times(void) {
    pid_t pid = fork();
    if (pid == 0) {
        int status = -1;
        pid_t g = spinning_child(100, 0);
        if (g <= 0 || waitpid(g, &status, 0) != g || !spin_cpu(100))
            _exit(2);
        const char* self = ON_TERN ? "/bin/posix_misc" : "/proc/self/exe";
        execl(self, "posix_misc", "exec-times", (char*)NULL);
        _exit(3);
    }
    int status = -1;
    struct rusage child;
    check(pid > 0 && wait4(pid, &status, 0, &child) == pid && WIFEXITED(status)
              && WEXITSTATUS(status) == 0,
          "a child spins, reaps a spinning child, execs itself and finds both times kept");
    check(us_of(child.ru_utime) >= 200000,
          "wait4's rusage of an exec'd child holds its time from before the exec");
}

static void test_times(void) {
    const char* file = at(0, "f");
    int fd = open(file, O_CREAT | O_WRONLY, 0644);
    check(fd >= 0, "create a file");
    struct timespec set[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
    check(utimensat(AT_FDCWD, file, set, 0) == 0, "utimensat with two times");
    struct stat st;
    check(stat(file, &st) == 0 && ns_of(st.st_atim) == 1000000000123456789
              && ns_of(st.st_mtim) == 1200000000987654321,
          "stat reports the times set, to the nanosecond");
    int64_t before = now_ns();
    check(st.st_ctim.tv_sec >= before / 1000000000 - 5, "the change time is now");
    struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    check(utimensat(AT_FDCWD, file, omit_now, 0) == 0, "utimensat with UTIME_OMIT, UTIME_NOW");
    check(stat(file, &st) == 0 && ns_of(st.st_atim) == 1000000000123456789
              && st.st_mtim.tv_sec >= before / 1000000000 - 1,
          "UTIME_OMIT keeps the access time, UTIME_NOW sets the modification time");
    struct timespec old[2] = {{5, 0}, {6, 0}};
    check(futimens(fd, old) == 0, "futimens");
    check(fstat(fd, &st) == 0 && st.st_atim.tv_sec == 5 && st.st_mtim.tv_sec == 6,
          "fstat reports futimens's times");
    check(futimens(fd, NULL) == 0 && fstat(fd, &st) == 0
              && st.st_mtim.tv_sec >= before / 1000000000 - 1,
          "futimens(NULL) sets both to now");
    struct timeval tv[2] = {{7, 500000}, {8, 250000}};
    check(utimes(file, tv) == 0 && stat(file, &st) == 0 && ns_of(st.st_atim) == 7500000000
              && ns_of(st.st_mtim) == 8250000000,
          "utimes in microseconds");
    struct utimbuf ub = {9, 10};
    check(utime(file, &ub) == 0 && stat(file, &st) == 0 && st.st_atime == 9 && st.st_mtime == 10,
          "utime in seconds");
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    check_errno(utimensat(AT_FDCWD, file, bad, 0), EINVAL, "utimensat with 10^9 nanoseconds");
    bad[0].tv_nsec = -1;
    check_errno(utimensat(AT_FDCWD, file, bad, 0), EINVAL, "utimensat with -1 nanoseconds");
    check_errno(utimensat(AT_FDCWD, file, set, 0x8000), EINVAL, "utimensat with a bad flag");
    check_errno(utimensat(AT_FDCWD, at(1, "missing"), set, 0), ENOENT,
                "utimensat of a missing file");
    check_errno(futimens(999, set), EBADF, "futimens of a closed descriptor");
    close(fd);

    check(utimensat(AT_FDCWD, g_base, set, 0) == 0 && stat(g_base, &st) == 0
              && ns_of(st.st_mtim) == 1200000000987654321,
          "utimensat of a directory");
    const char* link = at(1, "l");
    check(symlink("f", link) == 0, "symlink to the file");
    struct timespec link_times[2] = {{11, 0}, {12, 0}};
    check(utimensat(AT_FDCWD, link, link_times, AT_SYMLINK_NOFOLLOW) == 0,
          "utimensat(AT_SYMLINK_NOFOLLOW) of a link");
    struct stat lst;
    check(lstat(link, &lst) == 0 && lst.st_mtim.tv_sec == 12 && stat(file, &st) == 0
              && st.st_mtim.tv_sec == 10,
          "the link's own times changed, not its target's");
    check(utimensat(AT_FDCWD, link, set, 0) == 0 && stat(file, &st) == 0
              && ns_of(st.st_mtim) == 1200000000987654321,
          "utimensat through a link sets the target's times");
    int dir = open(g_base, O_RDONLY | O_DIRECTORY);
    check(dir >= 0 && utimensat(dir, "f", old, 0) == 0 && stat(file, &st) == 0
              && st.st_mtim.tv_sec == 6,
          "utimensat relative to a directory descriptor");
    close(dir);
    unlink(link);
}

static void test_owners(void) {
    const char* file = at(0, "f");
    struct stat st;
    check(stat(file, &st) == 0, "stat the file");
    check(chown(file, (uid_t)-1, (gid_t)-1) == 0, "chown(-1, -1) changes nothing");
    if (geteuid() == 0) {
        check(chown(file, 0, 0) == 0, "chown to root");
        check(lchown(file, 0, (gid_t)-1) == 0, "lchown to root");
        check(fchownat(AT_FDCWD, file, 0, 0, AT_SYMLINK_NOFOLLOW) == 0, "fchownat to root");
    }
    int fd = open(file, O_RDONLY);
    check(fd >= 0 && fchown(fd, (uid_t)-1, (gid_t)-1) == 0, "fchown(-1, -1)");
    check(stat(file, &st) == 0 && st.st_uid == geteuid(), "the owner is unchanged");
    check_errno(chown(at(1, "missing"), 0, 0), ENOENT, "chown of a missing file");
    check_errno(fchown(999, 0, 0), EBADF, "fchown of a closed descriptor");
    check_errno(fchownat(AT_FDCWD, file, 0, 0, 0x8000), EINVAL, "fchownat with a bad flag");
    sync();
    check(syncfs(fd) == 0, "sync and syncfs");
    check_errno(syncfs(999), EBADF, "syncfs of a closed descriptor");
    close(fd);
}

static void test_links(void) {
    const char* file = at(0, "f");
    check_errno(link(at(1, "missing"), at(2, "new")), ENOENT, "link of a missing file");
    check_errno(link(file, file), EEXIST, "link onto an existing name");
    check_errno(linkat(AT_FDCWD, file, AT_FDCWD, at(1, "new"), 0x8000), EINVAL,
                "linkat with a bad flag");
    check_errno(link(g_base, at(1, "new")), EPERM, "link of a directory");
    check(link(file, at(1, "new")) == 0, "link: a second name for a file");
    struct stat first, second;
    check(stat(file, &first) == 0 && stat(at(1, "new"), &second) == 0
              && first.st_ino == second.st_ino && first.st_nlink == 2 && second.st_nlink == 2,
          "both names are one file with two links");
    check(unlink(file) == 0 && stat(at(1, "new"), &second) == 0 && second.st_nlink == 1
              && second.st_ino == first.st_ino,
          "the file outlives its first name");
    check(rename(at(1, "new"), file) == 0, "and takes it back by rename");
    if (ON_TERN)
        check_errno(link("/bin/true", "/bin/true2"), EROFS, "link on the boot file system");
}

static void test_process_name(void) {
    char name[16] = "x";
    check(prctl(PR_SET_NAME, "posix-misc-a-long-name", 0, 0, 0) == 0, "prctl(PR_SET_NAME)");
    check(prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && strcmp(name, "posix-misc-a-lo") == 0,
          "prctl(PR_GET_NAME) gives the name cut to 15 bytes");
    check_errno(prctl(9999, 0, 0, 0, 0), EINVAL, "prctl with an unknown option");
}

static int all_bytes(const unsigned char* b, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; ++i)
        if (b[i] != v)
            return 0;
    return 1;
}

static void test_devices(void) {
    static const struct {
        const char* path;
        unsigned minor;
    } devices[] = {{"/dev/null", 3},
                   {"/dev/zero", 5},
                   {"/dev/full", 7},
                   {"/dev/random", 8},
                   {"/dev/urandom", 9}};
    for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); ++i) {
        struct stat st;
        char what[96];
        snprintf(what, sizeof(what), "stat(%s) is the character device 1:%u", devices[i].path,
                 devices[i].minor);
        check(stat(devices[i].path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1
                  && minor(st.st_rdev) == devices[i].minor,
              what);
    }
    unsigned char buffer[20000];
    int zero = open("/dev/zero", O_RDWR);
    check(zero >= 0, "open(/dev/zero)");
    memset(buffer, 0x55, sizeof(buffer));
    check(read(zero, buffer, sizeof(buffer)) == (ssize_t)sizeof(buffer)
              && all_bytes(buffer, sizeof(buffer), 0),
          "a read of /dev/zero gives 20000 zeros");
    check(write(zero, buffer, 1000) == 1000, "a write to /dev/zero takes it all");
    struct stat st;
    check(fstat(zero, &st) == 0 && S_ISCHR(st.st_mode) && minor(st.st_rdev) == 5,
          "fstat of /dev/zero: the character device 1:5");
    void* volatile bad = (void*)8; /* hidden from the compiler's buffer checks */
    check_errno(read(zero, bad, 100), EFAULT, "a read of /dev/zero into a bad buffer");
    unsigned char* map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    check(map != MAP_FAILED && all_bytes(map, 8192, 0), "a private mapping of /dev/zero is zeros");
    if (map != MAP_FAILED) {
        memset(map, 7, 8192);
        unsigned char* again = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, zero, 0);
        check(again != MAP_FAILED && all_bytes(again, 8192, 0) && map[8191] == 7,
              "a second mapping of /dev/zero is zeros, the first keeps what was written");
        if (again != MAP_FAILED)
            munmap(again, 8192);
        munmap(map, 8192);
    }
    close(zero);
    int full = open("/dev/full", O_RDWR);
    check(full >= 0, "open(/dev/full)");
    check_errno(write(full, "x", 1), ENOSPC, "a write to /dev/full");
    memset(buffer, 0x55, 64);
    check(read(full, buffer, 64) == 64 && all_bytes(buffer, 64, 0), "a read of /dev/full: zeros");
    close(full);
    unsigned char a[64], b[64];
    int urandom = open("/dev/urandom", O_RDONLY);
    check(urandom >= 0 && read(urandom, a, sizeof(a)) == (ssize_t)sizeof(a)
              && read(urandom, b, sizeof(b)) == (ssize_t)sizeof(b) && memcmp(a, b, sizeof(a)) != 0
              && !all_bytes(a, sizeof(a), 0),
          "two reads of /dev/urandom give 64 different bytes");
    check_errno(write(urandom, "x", 1), EBADF, "a write to /dev/urandom opened for reading");
    close(urandom);
    int random = open("/dev/random", O_RDONLY);
    check(random >= 0 && read(random, a, 16) == 16, "a read of /dev/random");
    close(random);
    check_errno(open("/dev/zero/x", O_RDONLY), ENOTDIR, "a path under /dev/zero");
}

static void test_tern_only(void) {
    if (!ON_TERN)
        return;
    struct timespec set[2] = {{1, 0}, {2, 0}};
    check_errno(utimensat(AT_FDCWD, "/bin/true", set, 0), EROFS,
                "utimensat on the boot file system");
    check_errno(chown("/bin/true", 0, 0), EROFS, "chown on the boot file system");
    check_errno(chown(at(0, "f"), 1000, (gid_t)-1), EPERM, "chown to a user other than root");
    check_errno(fchown(0, 0, 5), EPERM, "fchown to a group other than root's");
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "exec-times") == 0)
        return exec_times_image();
    snprintf(g_base, sizeof(g_base), "/tmp/posix_misc.XXXXXX");
    if (!mkdtemp(g_base)) {
        printf("posix_misc: FAILED mkdtemp (errno %d: %s)\n", errno, strerror(errno));
        printf("posix_misc: 1 checks, 1 failures\n");
        return 1;
    }
    test_cpu_clocks();
    test_process_times();
    test_exec_times();
    test_times();
    test_owners();
    test_process_name();
    test_links();
    test_devices();
    test_tern_only();
    unlink(at(0, "f"));
    check(rmdir(g_base) == 0, "the test directory is empty at the end");
    printf("posix_misc: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

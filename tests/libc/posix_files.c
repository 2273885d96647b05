/*
 * posix_files: writable files through the C library, in one process: open with O_CREAT,
 * O_EXCL, O_TRUNC, O_APPEND, O_RDWR, O_WRONLY and the umask; read, write, pread, pwrite
 * and lseek; ftruncate and truncate; fsync; rename (replacing, EXDEV across mounts);
 * unlink, mkdir and rmdir; symlink, readlink and lstat; stat, fstat and fstatat with times
 * from the wall clock that move forward; chmod and fchmod; statfs and fstatfs; readdir
 * (getdents64); chdir, fchdir, getcwd and relative paths; 1 MiB through one file with a
 * checksum (many protocol messages); each refusal with Linux's errno.
 *
 * It works in a new directory under /tmp (mkdtemp), so the same source builds and runs on
 * the host's Linux (unit.libc_posix_files_on_host) and every expectation is Linux's; what
 * only Tern has (EROFS on the boot file system, /home on another mount, ENOSPC at the
 * RAM file system's limit) is checked only there. Prints "posix_files: ok ..." per check,
 * "posix_files: FAILED ..." for a failure and "posix_files: N checks, M failures"; exits
 * 0 only when nothing failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

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
        printf("posix_files: ok %s\n", what);
    } else {
        ++g_failures;
        printf("posix_files: FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
}

/* A call that must fail with errno `want`. */
static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("posix_files: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("posix_files: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
}

/* g_base + "/" + name, in a static buffer (one at a time per slot). */
static const char* at(int slot, const char* name) {
    static char paths[4][512];
    snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", g_base, name);
    return paths[slot];
}

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static void pause_ms(long ms) {
    struct timespec t = {0, ms * 1000000};
    nanosleep(&t, 0);
}

static void test_open_read_write(void) {
    umask(077);
    check(umask(022) == 077, "umask returns the previous mask");
    const char* path = at(0, "a.txt");
    int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0666);
    check(fd >= 0, "open O_CREAT|O_EXCL|O_RDWR");
    struct stat st;
    check(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644
              && st.st_size == 0 && st.st_nlink == 1,
          "fstat: a regular file, 0666 less the umask 022, empty, one link");
    check_errno(open(path, O_CREAT | O_EXCL | O_RDWR, 0666), EEXIST, "O_EXCL on an existing file");
    check(write(fd, "hello, world", 12) == 12, "write 12 bytes");
    check(lseek(fd, 0, SEEK_CUR) == 12, "the offset follows the write");
    check(lseek(fd, 7, SEEK_SET) == 7, "lseek SEEK_SET");
    char buffer[64] = {0};
    check(read(fd, buffer, sizeof(buffer)) == 5 && memcmp(buffer, "world", 5) == 0,
          "read the rest");
    check(read(fd, buffer, sizeof(buffer)) == 0, "read at the end gives 0");
    check(lseek(fd, -5, SEEK_END) == 7, "lseek SEEK_END");
    check(pwrite(fd, "W", 1, 7) == 1, "pwrite");
    check(lseek(fd, 0, SEEK_CUR) == 7, "pwrite leaves the offset");
    memset(buffer, 0, sizeof(buffer));
    check(pread(fd, buffer, 12, 0) == 12 && strcmp(buffer, "hello, World") == 0, "pread");
    /* Writing past the end leaves a hole of zeros. */
    check(pwrite(fd, "!", 1, 20) == 1, "pwrite past the end");
    check(fstat(fd, &st) == 0 && st.st_size == 21, "the size grows to the write's end");
    memset(buffer, 'x', sizeof(buffer));
    check(pread(fd, buffer, 64, 12) == 9 && buffer[0] == 0 && buffer[7] == 0 && buffer[8] == '!',
          "the hole reads as zeros");
    check(fsync(fd) == 0 && fdatasync(fd) == 0, "fsync and fdatasync");
    check(close(fd) == 0, "close");

    /* O_APPEND writes at the end whatever the offset. */
    fd = open(path, O_WRONLY | O_APPEND);
    check(fd >= 0, "open O_WRONLY|O_APPEND");
    check(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "+", 1) == 1, "an appending write");
    check(lseek(fd, 0, SEEK_CUR) == 22, "the offset is the new end");
    check_errno(read(fd, buffer, 1), EBADF, "read on O_WRONLY");
    close(fd);
    fd = open(path, O_RDONLY);
    check_errno(write(fd, "x", 1), EBADF, "write on O_RDONLY");
    check_errno(ftruncate(fd, 0), EINVAL, "ftruncate on O_RDONLY");
    close(fd);
    /* O_TRUNC empties it. */
    fd = open(path, O_RDWR | O_TRUNC);
    check(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "O_TRUNC empties the file");
    close(fd);
    /* creat() is O_CREAT|O_WRONLY|O_TRUNC. */
    fd = creat(at(1, "c.txt"), 0600);
    check(fd >= 0 && write(fd, "c", 1) == 1, "creat");
    close(fd);

    check_errno(open(at(1, "missing"), O_RDONLY), ENOENT, "open a missing file");
    check_errno(open(at(1, "missing/x"), O_RDONLY | O_CREAT, 0644), ENOENT,
                "create in a missing directory");
    check_errno(open(at(1, "a.txt/x"), O_RDONLY | O_CREAT, 0644), ENOTDIR, "create under a file");
    check_errno(open(path, O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file");
    check_errno(open(g_base, O_WRONLY), EISDIR, "a directory for writing");
    char name[300];
    memset(name, 'n', sizeof(name));
    snprintf(name, sizeof(name), "%s/", g_base);
    memset(name + strlen(name), 'n', 256);
    name[strlen(g_base) + 1 + 256] = '\0';
    check_errno(open(name, O_RDWR | O_CREAT, 0644), ENAMETOOLONG, "a name of 256 bytes");
}

/* A file unlinked while open stays readable and writable through its descriptors until
 * the last one closes (tmpfile() depends on it). */
static void test_unlink_open(void) {
    const char* path = at(0, "open-unlinked");
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    check(fd >= 0 && write(fd, "kept", 4) == 4, "a file to unlink while open");
    int copy = dup(fd);
    int second = open(path, O_RDONLY);
    check(unlink(path) == 0, "unlink it while open");
    struct stat st;
    check_errno(stat(path, &st), ENOENT, "its name is gone");
    char buffer[16] = {0};
    check(pread(fd, buffer, sizeof(buffer), 0) == 4 && memcmp(buffer, "kept", 4) == 0,
          "still readable");
    check(write(fd, "+more", 5) == 5 && fstat(fd, &st) == 0 && st.st_size == 9, "still writable");
    check(close(fd) == 0 && pread(copy, buffer, 9, 0) == 9, "a duplicate outlives the close");
    check(close(copy) == 0 && pread(second, buffer, 9, 0) == 9
              && memcmp(buffer, "kept+more", 9) == 0,
          "another open description outlives both");
    check(close(second) == 0, "the last close");
    FILE* f = tmpfile();
    char line[32] = {0};
    check(f && fputs("tmpfile line\n", f) >= 0 && fflush(f) == 0 && fseek(f, 0, SEEK_SET) == 0
              && fgets(line, sizeof(line), f) && strcmp(line, "tmpfile line\n") == 0,
          "tmpfile() writes and reads back");
    if (f)
        fclose(f);
    /* Nothing is left behind in the directory. */
    DIR* dir = opendir(g_base);
    int hidden = 0;
    struct dirent* e;
    while (dir && (e = readdir(dir)) != 0)
        hidden += strncmp(e->d_name, ".tern-unlinked-", 15) == 0;
    if (dir)
        closedir(dir);
    check(hidden == 0, "no hidden names are left after the last close");
}

static void test_truncate(void) {
    const char* path = at(0, "t.bin");
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    check(fd >= 0 && write(fd, "abcdef", 6) == 6, "a file to truncate");
    check(ftruncate(fd, 3) == 0, "ftruncate shrinks");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size == 3, "the size is 3");
    check(truncate(path, 10) == 0, "truncate grows");
    char buffer[16];
    check(pread(fd, buffer, sizeof(buffer), 0) == 10
              && memcmp(buffer, "abc\0\0\0\0\0\0\0", 10) == 0,
          "grown with zeros");
    check_errno(ftruncate(fd, -1), EINVAL, "ftruncate to a negative size");
    check_errno(truncate(g_base, 0), EISDIR, "truncate a directory");
    check_errno(truncate(at(1, "missing"), 0), ENOENT, "truncate a missing file");
    close(fd);
}

static void test_directories(void) {
    char d[512];
    snprintf(d, sizeof(d), "%s", at(0, "dir"));
    check(mkdir(d, 0750) == 0, "mkdir");
    struct stat st;
    check(stat(d, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0750,
          "stat a directory: its mode");
    check_errno(mkdir(d, 0755), EEXIST, "mkdir an existing name");
    check_errno(mkdir(at(1, "nodir/sub"), 0755), ENOENT, "mkdir in a missing directory");
    int fd = open(at(1, "dir/file"), O_CREAT | O_WRONLY, 0644);
    check(fd >= 0, "a file in it");
    close(fd);
    check(mkdir(at(1, "dir/sub"), 0755) == 0, "a subdirectory");
    check_errno(rmdir(d), ENOTEMPTY, "rmdir a directory that is not empty");
    check_errno(rmdir(at(1, "dir/file")), ENOTDIR, "rmdir a file");
    check_errno(unlink(at(1, "dir/sub")), EISDIR, "unlink a directory");
    check_errno(unlink(at(1, "dir/missing")), ENOENT, "unlink a missing file");

    /* readdir: ".", "..", the file and the subdirectory with their types. */
    DIR* dir = opendir(d);
    check(dir != 0, "opendir");
    int dot = 0, dotdot = 0, file = 0, sub = 0, other = 0;
    struct dirent* e;
    while (dir && (e = readdir(dir)) != 0) {
        if (strcmp(e->d_name, ".") == 0)
            dot++;
        else if (strcmp(e->d_name, "..") == 0)
            dotdot++;
        else if (strcmp(e->d_name, "file") == 0 && e->d_type == DT_REG && e->d_ino != 0)
            file++;
        else if (strcmp(e->d_name, "sub") == 0 && e->d_type == DT_DIR)
            sub++;
        else
            other++;
    }
    check(dot == 1 && dotdot == 1 && file == 1 && sub == 1 && other == 0,
          "readdir: ., .., file (DT_REG) and sub (DT_DIR)");
    if (dir)
        closedir(dir);

    /* Many entries: more than one List reply's worth. */
    char name[600];
    int made = 0;
    for (int i = 0; i < 300; ++i) {
        snprintf(name, sizeof(name), "%s/dir/sub/entry-with-a-longish-name-%03d", g_base, i);
        int f = open(name, O_CREAT | O_WRONLY, 0644);
        if (f >= 0) {
            ++made;
            close(f);
        }
    }
    check(made == 300, "300 files in one directory");
    dir = opendir(at(0, "dir/sub"));
    int seen = 0;
    while (dir && (e = readdir(dir)) != 0)
        if (strncmp(e->d_name, "entry-", 6) == 0)
            ++seen;
    check(seen == 300, "readdir sees all 300");
    if (dir) {
        rewinddir(dir);
        seen = 0;
        while ((e = readdir(dir)) != 0)
            ++seen;
        check(seen == 302, "rewinddir starts over (with . and ..)");
        closedir(dir);
    }
    for (int i = 0; i < 300; ++i) {
        snprintf(name, sizeof(name), "%s/dir/sub/entry-with-a-longish-name-%03d", g_base, i);
        unlink(name);
    }
    check(rmdir(at(0, "dir/sub")) == 0, "rmdir once empty");
    check(unlink(at(0, "dir/file")) == 0, "unlink");
    check_errno(stat(at(0, "dir/file"), &st), ENOENT, "stat after unlink");
    check(rmdir(d) == 0, "rmdir");
}

static void test_rename(void) {
    const char* a = at(0, "r1");
    const char* b = at(1, "r2");
    int fd = open(a, O_CREAT | O_WRONLY, 0644);
    check(fd >= 0 && write(fd, "one", 3) == 3, "a file to rename");
    close(fd);
    check(rename(a, b) == 0, "rename");
    struct stat st;
    check_errno(stat(a, &st), ENOENT, "the old name is gone");
    check(stat(b, &st) == 0 && st.st_size == 3, "the new name has the data");
    fd = open(a, O_CREAT | O_WRONLY, 0644);
    check(fd >= 0 && write(fd, "second", 6) == 6, "another file");
    close(fd);
    check(rename(a, b) == 0, "rename over an existing file");
    check(stat(b, &st) == 0 && st.st_size == 6, "it replaced the old one");
    check(mkdir(at(2, "rd"), 0755) == 0 && mkdir(at(3, "rd2"), 0755) == 0, "two directories");
    check_errno(rename(b, at(2, "rd")), EISDIR, "rename a file over a directory");
    check_errno(rename(at(2, "rd"), b), ENOTDIR, "rename a directory over a file");
    check_errno(rename(at(2, "rd"), at(3, "rd/inside")), EINVAL, "rename a directory into itself");
    fd = open(at(3, "rd2/x"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    check_errno(rename(at(2, "rd"), at(3, "rd2")), ENOTEMPTY, "rename over a full directory");
    check(rename(at(2, "rd2"), at(3, "rd3")) == 0, "rename a directory with contents");
    check(stat(at(2, "rd3/x"), &st) == 0, "its contents moved with it");
    check_errno(rename(at(2, "missing"), at(3, "x")), ENOENT, "rename a missing file");
    unlink(at(2, "rd3/x"));
    rmdir(at(2, "rd3"));
    rmdir(at(2, "rd"));

    /* Across mounts: EXDEV. On Tern /tmp and /home are separate mounts; on Linux, only
     * when the other directory is on another file system. */
    const char* other = ON_TERN ? "/home" : "/dev/shm";
    struct stat here, there;
    if (stat(g_base, &here) == 0 && stat(other, &there) == 0 && here.st_dev != there.st_dev) {
        char target[128];
        snprintf(target, sizeof(target), "%s/posix_files.%d", other, (int)getpid());
        check_errno(rename(b, target), EXDEV, "rename across mounts");
    } else {
        check(!ON_TERN, "a second mount to rename across");
    }
    unlink(b);
}

static void test_links(void) {
    const char* target = at(0, "target");
    const char* link = at(1, "link");
    int fd = open(target, O_CREAT | O_WRONLY, 0644);
    check(fd >= 0 && write(fd, "through", 7) == 7, "a link's target");
    close(fd);
    check(symlink("target", link) == 0, "symlink");
    char buffer[64] = {0};
    check(readlink(link, buffer, sizeof(buffer)) == 6 && memcmp(buffer, "target", 6) == 0,
          "readlink");
    check(readlink(link, buffer, 3) == 3, "readlink truncates to the buffer");
    struct stat st, lst;
    check(stat(link, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 7, "stat follows the link");
    check(lstat(link, &lst) == 0 && S_ISLNK(lst.st_mode) && lst.st_size == 6,
          "lstat sees the link");
    check(st.st_ino != lst.st_ino, "the link is a node of its own");
    fd = open(link, O_RDONLY);
    memset(buffer, 0, sizeof(buffer));
    check(fd >= 0 && read(fd, buffer, sizeof(buffer)) == 7 && strcmp(buffer, "through") == 0,
          "open follows the link");
    close(fd);
    check_errno(open(link, O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a link");
    check_errno(symlink("x", link), EEXIST, "symlink over an existing name");
    check_errno(readlink(target, buffer, sizeof(buffer)), EINVAL, "readlink of a file");
    check(symlink("nowhere", at(2, "dangling")) == 0, "a dangling link");
    check_errno(stat(at(2, "dangling"), &st), ENOENT, "stat of a dangling link");
    check(lstat(at(2, "dangling"), &st) == 0 && S_ISLNK(st.st_mode), "lstat of a dangling link");
    /* An absolute link to a directory, used as one. */
    check(symlink(g_base, at(2, "self")) == 0, "a link to the directory");
    check(stat(at(2, "self/target"), &st) == 0 && st.st_size == 7,
          "a path through a link to a directory");
    check(mkdir(at(2, "real"), 0755) == 0 && symlink("real", at(3, "rl")) == 0,
          "a relative link to a directory");
    fd = open(at(2, "rl/inner"), O_CREAT | O_WRONLY, 0644);
    check(fd >= 0 && write(fd, "in", 2) == 2, "create through the link");
    close(fd);
    check(stat(at(2, "real/inner"), &st) == 0 && st.st_size == 2, "the file is in the target");
    check(symlink("../real/", at(2, "real/up")) == 0
              && stat(at(3, "real/up/up/up/inner"), &st) == 0,
          "links through links");
    check(symlink("loop2", at(2, "loop1")) == 0 && symlink("loop1", at(3, "loop2")) == 0,
          "two links to each other");
    check_errno(stat(at(2, "loop1"), &st), ELOOP, "stat of a link loop");
    check_errno(stat(at(2, "loop1/x"), &st), ELOOP, "a path through a link loop");
    check(rename(at(2, "rl/inner"), at(3, "rl/inner2")) == 0
              && stat(at(2, "real/inner2"), &st) == 0,
          "rename through a link to a directory");
    check(unlink(at(2, "rl/inner2")) == 0 && unlink(at(2, "real/up")) == 0
              && rmdir(at(3, "real")) == 0 && unlink(at(2, "rl")) == 0
              && unlink(at(3, "loop1")) == 0 && unlink(at(2, "loop2")) == 0,
          "unlink through links, then the links");
    check(unlink(link) == 0 && unlink(at(2, "dangling")) == 0 && unlink(at(2, "self")) == 0,
          "unlink removes links, not targets");
    check(stat(target, &st) == 0, "the target is still there");
    unlink(target);
}

static void test_times_and_modes(void) {
    time_t now = time(0);
    check(now > 1704067200, "time() is after 2024 (a wall clock)");
    struct timespec real;
    check(clock_gettime(CLOCK_REALTIME, &real) == 0 && real.tv_sec >= now - 1,
          "CLOCK_REALTIME agrees with time()");
    const char* path = at(0, "times");
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    struct stat first, second;
    check(fd >= 0 && fstat(fd, &first) == 0, "a file to time");
    check(first.st_mtim.tv_sec > 1704067200 && first.st_ctim.tv_sec > 1704067200
              && first.st_atim.tv_sec > 1704067200,
          "its times are wall-clock times");
    check(first.st_mtim.tv_sec >= now - 5 && first.st_mtim.tv_sec <= now + 5, "its mtime is now");
    pause_ms(20);
    check(write(fd, "later", 5) == 5, "write after 20 ms");
    check(fstat(fd, &second) == 0 && ns_of(second.st_mtim) > ns_of(first.st_mtim),
          "the mtime moved forward");
    pause_ms(20);
    check(fchmod(fd, 0600) == 0, "fchmod");
    struct stat third;
    check(fstat(fd, &third) == 0 && (third.st_mode & 07777) == 0600 && S_ISREG(third.st_mode),
          "the mode is 0600");
    check(ns_of(third.st_ctim) > ns_of(second.st_ctim), "the ctime moved forward");
    check(chmod(path, 04755) == 0 && stat(path, &third) == 0 && (third.st_mode & 07777) == 04755,
          "chmod keeps the set-user-ID bit");
    check(fstatat(AT_FDCWD, path, &third, 0) == 0 && third.st_size == 5, "fstatat");
    check(access(path, R_OK | W_OK) == 0, "access R_OK|W_OK");
    check_errno(access(at(1, "missing"), R_OK), ENOENT, "access a missing file");
    check_errno(chmod(at(1, "missing"), 0644), ENOENT, "chmod a missing file");
    close(fd);
    unlink(path);
}

static void test_statfs(void) {
    struct statfs fs;
    check(statfs(g_base, &fs) == 0 && fs.f_bsize > 0 && fs.f_blocks > 0 && fs.f_bfree <= fs.f_blocks
              && fs.f_namelen == 255,
          "statfs");
    int fd = open(at(0, "fs"), O_CREAT | O_RDWR, 0644);
    struct statfs ffs;
    check(fd >= 0 && fstatfs(fd, &ffs) == 0 && ffs.f_blocks == fs.f_blocks
              && ffs.f_type == fs.f_type,
          "fstatfs agrees");
    close(fd);
    unlink(at(0, "fs"));
    check_errno(statfs(at(1, "missing"), &fs), ENOENT, "statfs of a missing path");
}

static void test_working_directory(void) {
    char cwd[PATH_MAX];
    check(getcwd(cwd, sizeof(cwd)) != 0, "getcwd");
    check(mkdir(at(0, "wd"), 0755) == 0, "a directory to work in");
    check(chdir(at(0, "wd")) == 0, "chdir");
    char now[PATH_MAX];
    check(getcwd(now, sizeof(now)) != 0 && strcmp(now, at(0, "wd")) == 0, "getcwd names it");
    int fd = open("rel", O_CREAT | O_WRONLY, 0644);
    check(fd >= 0 && write(fd, "rel", 3) == 3, "open a relative path");
    close(fd);
    struct stat st;
    check(stat(at(0, "wd/rel"), &st) == 0 && st.st_size == 3, "it is in the directory");
    check(mkdir("sub", 0755) == 0 && chdir("sub") == 0 && stat("../rel", &st) == 0,
          "relative chdir and ..");
    check(chdir("..") == 0, "chdir ..");
    char small[4];
    check_errno(getcwd(small, sizeof(small)) ? 0 : -1, ERANGE, "getcwd into a small buffer");
    int dirfd = open(at(0, "wd"), O_RDONLY | O_DIRECTORY);
    check(dirfd >= 0, "open the directory");
    check(chdir("/") == 0 && fchdir(dirfd) == 0 && stat("rel", &st) == 0, "fchdir");
    check(fstatat(dirfd, "rel", &st, 0) == 0 && st.st_size == 3, "fstatat from a directory fd");
    int f = openat(dirfd, "rel2", O_CREAT | O_WRONLY, 0644);
    check(f >= 0, "openat creates relative to the directory fd");
    close(f);
    check(unlinkat(dirfd, "rel2", 0) == 0 && unlinkat(dirfd, "sub", AT_REMOVEDIR) == 0,
          "unlinkat, with AT_REMOVEDIR");
    check(mkdirat(dirfd, "made", 0755) == 0 && renameat(dirfd, "made", dirfd, "moved") == 0,
          "mkdirat and renameat");
    check(fstatat(dirfd, "moved", &st, 0) == 0 && S_ISDIR(st.st_mode), "the directory moved");
    check(symlinkat("rel", dirfd, "l") == 0, "symlinkat");
    char buffer[8] = {0};
    check(readlinkat(dirfd, "l", buffer, sizeof(buffer)) == 3, "readlinkat");
    int file = open("rel", O_RDONLY);
    check_errno(fchdir(file), ENOTDIR, "fchdir to a file");
    check_errno(chdir("rel"), ENOTDIR, "chdir to a file");
    check_errno(chdir("missing"), ENOENT, "chdir to a missing directory");
    close(file);
    unlinkat(dirfd, "l", 0);
    unlinkat(dirfd, "moved", AT_REMOVEDIR);
    unlinkat(dirfd, "rel", 0);
    close(dirfd);
    check(chdir(cwd) == 0, "back to where it started");
    check(rmdir(at(0, "wd")) == 0, "rmdir the work directory");
}

/* FNV-1a over a buffer. */
static uint64_t fnv(uint64_t hash, const unsigned char* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
        hash ^= data[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

static void test_large_file(void) {
    enum {
        kSize = 1 << 20
    };
    unsigned char* data = malloc(kSize);
    unsigned char* back = malloc(kSize);
    if (!data || !back) {
        check(0, "memory for 1 MiB");
        return;
    }
    uint32_t x = 12345;
    for (int i = 0; i < kSize; ++i) {
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }
    uint64_t want = fnv(0xcbf29ce484222325ull, data, kSize);
    const char* path = at(0, "big");
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    check(fd >= 0, "open a file for 1 MiB");
    /* One write of all of it, then odd-sized reads. */
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    check(write(fd, data, kSize) == kSize, "write 1 MiB in one call");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size == kSize && st.st_blocks >= kSize / 512,
          "its size and blocks");
    check(lseek(fd, 0, SEEK_SET) == 0, "rewind");
    size_t done = 0;
    while (done < kSize) {
        size_t piece = 77777;
        if (piece > kSize - done)
            piece = kSize - done;
        ssize_t n = read(fd, back + done, piece);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    uint64_t got = fnv(0xcbf29ce484222325ull, back, done);
    check(done == kSize && got == want, "read it back in pieces of 77777 bytes");
    memset(back, 0, kSize);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    check(pread(fd, back, kSize, 0) == kSize, "pread of 1 MiB in one call");
    struct timespec t3;
    clock_gettime(CLOCK_MONOTONIC, &t3);
    check(memcmp(back, data, kSize) == 0, "pread gives the same bytes");
    printf("posix_files: 1 MiB write %lld us, pread %lld us\n",
           (long long)((ns_of(t1) - ns_of(t0)) / 1000),
           (long long)((ns_of(t3) - ns_of(t2)) / 1000));
    printf("posix_files: file checksum %#llx over %d bytes\n", (unsigned long long)got, kSize);
    close(fd);
    unlink(path);
    free(data);
    free(back);
}

/* What only Tern has: the read-only boot file system and the RAM file system's limit. */
static void test_tern_only(void) {
    if (!ON_TERN)
        return;
    check_errno(open("/etc/hosts", O_WRONLY), EROFS, "bootfs: open for writing");
    check_errno(open("/etc/new", O_CREAT | O_WRONLY, 0644), EROFS, "bootfs: create");
    check_errno(mkdir("/newdir", 0755), EROFS, "bootfs: mkdir");
    check_errno(mkdir("/etc", 0755), EEXIST, "bootfs: mkdir of an existing directory");
    check_errno(unlink("/etc/hosts"), EROFS, "bootfs: unlink");
    check_errno(rename("/etc/hosts", "/etc/h2"), EROFS, "bootfs: rename");
    check_errno(rename("/etc/hosts", at(0, "h")), EXDEV, "bootfs to tmpfs: rename");
    check_errno(chmod("/etc/hosts", 0600), EROFS, "bootfs: chmod");
    check_errno(symlink("x", "/etc/l"), EROFS, "bootfs: symlink");
    check_errno(rmdir("/tmp"), EBUSY, "rmdir of a mount point");
    DIR* root_dir = opendir("/");
    int tmp_seen = 0, home_seen = 0;
    struct dirent* e;
    while (root_dir && (e = readdir(root_dir)) != 0) {
        tmp_seen += strcmp(e->d_name, "tmp") == 0 && e->d_type == DT_DIR;
        home_seen += strcmp(e->d_name, "home") == 0 && e->d_type == DT_DIR;
    }
    if (root_dir)
        closedir(root_dir);
    check(tmp_seen == 1 && home_seen == 1, "readdir of / shows tmp and home once");
    struct statfs fs;
    check(statfs("/", &fs) == 0 && (fs.f_flags & ST_RDONLY), "statfs of / says read-only");
    struct stat root, tmp;
    check(stat("/", &root) == 0 && stat("/tmp", &tmp) == 0 && root.st_dev != tmp.st_dev,
          "/ and /tmp are different devices");
    /* Fill the RAM file system to its limit: ENOSPC, and the space comes back. */
    struct statfs before;
    check(statfs(g_base, &before) == 0, "statfs before filling");
    static char chunk[1 << 20];
    memset(chunk, 'f', sizeof(chunk));
    int fd = open(at(0, "fill"), O_CREAT | O_WRONLY, 0644);
    long written = 0;
    int error = 0;
    for (int i = 0; i < 256; ++i) {
        ssize_t n = write(fd, chunk, sizeof(chunk));
        if (n < 0) {
            error = errno;
            break;
        }
        written += n;
    }
    check(error == ENOSPC, "writing past the limit is ENOSPC");
    printf("posix_files: filled %ld bytes before ENOSPC\n", written);
    close(fd);
    check(unlink(at(0, "fill")) == 0, "unlink the full file");
    struct statfs after;
    check(statfs(g_base, &after) == 0 && after.f_bfree == before.f_bfree,
          "its space is free again");
}

/* /dev/null: opens for every access mode, reads end of file, takes every write, seeks to
 * 0, is a character device, refuses what a device refuses; a descriptor on it survives a
 * dup2 onto standard input (as a shell gives a background job) and its stat. */
static void test_dev_null(void) {
    int fd = open("/dev/null", O_RDWR);
    check(fd >= 0, "/dev/null opens read-write");
    if (fd < 0)
        return;
    char buffer[16] = {1};
    check(read(fd, buffer, sizeof(buffer)) == 0, "a read of /dev/null is end of file");
    check(write(fd, "discarded", 9) == 9, "a write to /dev/null takes every byte");
    struct iovec iov[2] = {{(void*)"ab", 2}, {(void*)"cde", 3}};
    check(writev(fd, iov, 2) == 5, "writev to /dev/null takes every byte");
    check(pwrite(fd, "x", 1, 100) == 1 && pread(fd, buffer, 4, 100) == 0,
          "pwrite/pread of /dev/null: taken, end of file");
    check(lseek(fd, 1000, SEEK_SET) == 0, "a seek of /dev/null lands at 0");
    struct stat st;
    check(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode), "fstat of /dev/null: a character device");
    check(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "stat of /dev/null: the same");
    check(access("/dev/null", R_OK | W_OK) == 0, "/dev/null is readable and writable");
    check_errno(ftruncate(fd, 0), EINVAL, "ftruncate of /dev/null");
    check_errno(open("/dev/null", O_RDONLY | O_DIRECTORY), ENOTDIR, "/dev/null is no directory");
    check_errno(open("/dev/null", O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST,
                "O_CREAT | O_EXCL of /dev/null");
    int wr = open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    check(wr >= 0, "/dev/null opens as a shell's > redirection does");
    check_errno(read(wr, buffer, 1), EBADF, "a read of /dev/null opened write-only");
    int rd = open("/dev/null", O_RDONLY);
    check_errno(write(rd, "x", 1), EBADF, "a write to /dev/null opened read-only");
    int saved = dup(0);
    check(saved >= 0 && dup2(rd, 0) == 0 && read(0, buffer, 1) == 0,
          "standard input on /dev/null reads end of file");
    if (saved >= 0) {
        dup2(saved, 0);
        close(saved);
    }
    close(rd);
    close(wr);
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(g_base, sizeof(g_base), "/tmp/posix_files.XXXXXX");
    if (!mkdtemp(g_base)) {
        printf("posix_files: FAILED mkdtemp (errno %d: %s)\n", errno, strerror(errno));
        printf("posix_files: 1 checks, 1 failures\n");
        return 1;
    }
    test_open_read_write();
    test_truncate();
    test_unlink_open();
    test_directories();
    test_rename();
    test_links();
    test_times_and_modes();
    test_statfs();
    test_working_directory();
    test_large_file();
    test_dev_null();
    test_tern_only();
    unlink(at(0, "a.txt"));
    unlink(at(0, "c.txt"));
    unlink(at(0, "t.bin"));
    check(rmdir(g_base) == 0, "the test directory is empty at the end");
    printf("posix_files: %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

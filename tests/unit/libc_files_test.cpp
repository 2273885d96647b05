// The rules behind files and the console in Tern's musl port (libc/musl/portable/files.h):
// lseek, paths, struct stat, access(), open flags, bootfs Map
// replies, getdents64 records and the console's line buffer.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstring>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libc/musl/portable/files.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

// The host is Linux on x86-64: its headers state the same ABI the rules spell out.
static_assert(TERN_LINUX_O_ACCMODE == O_ACCMODE && TERN_LINUX_O_RDONLY == O_RDONLY
              && TERN_LINUX_O_CREAT == O_CREAT && TERN_LINUX_O_TRUNC == O_TRUNC
              && TERN_LINUX_O_APPEND == O_APPEND && TERN_LINUX_O_DIRECTORY == O_DIRECTORY
              && TERN_LINUX_O_CLOEXEC == O_CLOEXEC
              && (TERN_LINUX_O_TMPFILE_ONLY | O_DIRECTORY) == O_TMPFILE
              && TERN_LINUX_AT_FDCWD == AT_FDCWD);
static_assert(TERN_LINUX_SEEK_SET == SEEK_SET && TERN_LINUX_SEEK_CUR == SEEK_CUR
              && TERN_LINUX_SEEK_END == SEEK_END);
static_assert(TERN_LINUX_S_IFREG == S_IFREG && TERN_LINUX_S_IFDIR == S_IFDIR
              && TERN_LINUX_S_IFCHR == S_IFCHR);
static_assert(TERN_LINUX_R_OK == R_OK && TERN_LINUX_W_OK == W_OK && TERN_LINUX_X_OK == X_OK);
static_assert(TERN_LINUX_DT_DIR == DT_DIR && TERN_LINUX_DT_REG == DT_REG);
// glibc's x86-64 struct stat is the kernel's layout too.
static_assert(sizeof(struct stat) == sizeof(tern_linux_stat));
static_assert(offsetof(struct stat, st_ino) == offsetof(tern_linux_stat, st_ino));
static_assert(offsetof(struct stat, st_nlink) == offsetof(tern_linux_stat, st_nlink));
static_assert(offsetof(struct stat, st_mode) == offsetof(tern_linux_stat, st_mode));
static_assert(offsetof(struct stat, st_size) == offsetof(tern_linux_stat, st_size));
static_assert(offsetof(struct stat, st_blksize) == offsetof(tern_linux_stat, st_blksize));
static_assert(offsetof(struct stat, st_blocks) == offsetof(tern_linux_stat, st_blocks));
static_assert(offsetof(struct stat, st_mtim) == offsetof(tern_linux_stat, st_mtime_sec));

namespace {

// Normalises path against directory; the result or "E<errno>".
std::string normalize(const char* directory, const char* path, int* must_be_directory = nullptr) {
    char out[TERN_LIBC_PATH_BUFFER];
    int dir = -1;
    int r = tern_libc_normalize_path(directory, path, out, sizeof(out), &dir);
    if (must_be_directory)
        *must_be_directory = dir;
    if (r != 0)
        return "E" + std::to_string(-r);
    return out;
}

struct Dirent {
    uint64_t ino;
    int64_t off;
    uint16_t reclen;
    uint8_t type;
    std::string name;
};

// Parses getdents64 output as musl's readdir does.
std::vector<Dirent> parse_dirents(const uint8_t* buffer, int64_t size) {
    std::vector<Dirent> entries;
    for (int64_t at = 0; at < size;) {
        Dirent d;
        std::memcpy(&d.ino, buffer + at, 8);
        std::memcpy(&d.off, buffer + at + 8, 8);
        std::memcpy(&d.reclen, buffer + at + 16, 2);
        d.type = buffer[at + 18];
        d.name = reinterpret_cast<const char*>(buffer + at + 19);
        entries.push_back(d);
        REQUIRE(d.reclen % 8 == 0);
        REQUIRE(d.reclen >= 19 + d.name.size() + 1);
        at += d.reclen;
    }
    return entries;
}

std::vector<std::string> read_all_names(const std::string& listing, const char* directory,
                                        uint64_t capacity) {
    std::vector<std::string> names;
    std::vector<uint8_t> buffer(capacity);
    uint64_t index = 0;
    for (int rounds = 0; rounds < 1000; ++rounds) {
        int64_t n = tern_libc_fill_dirents(listing.data(), listing.size(), directory, &index,
                                           buffer.data(), buffer.size());
        REQUIRE(n >= 0);
        if (n == 0)
            break;
        for (const Dirent& d : parse_dirents(buffer.data(), n))
            names.push_back(d.name + (d.type == DT_DIR ? "/" : ""));
    }
    return names;
}

} // namespace

TEST_CASE("lseek: SEEK_SET, SEEK_CUR and SEEK_END, past the end allowed") {
    uint64_t at = 12345;
    REQUIRE(tern_libc_lseek(10, 100, 0, SEEK_SET, &at) == 0);
    CHECK(at == 0);
    REQUIRE(tern_libc_lseek(10, 100, 50, SEEK_SET, &at) == 0);
    CHECK(at == 50);
    REQUIRE(tern_libc_lseek(10, 100, 5, SEEK_CUR, &at) == 0);
    CHECK(at == 15);
    REQUIRE(tern_libc_lseek(10, 100, -10, SEEK_CUR, &at) == 0);
    CHECK(at == 0);
    REQUIRE(tern_libc_lseek(10, 100, 0, SEEK_END, &at) == 0);
    CHECK(at == 100);
    REQUIRE(tern_libc_lseek(10, 100, -1, SEEK_END, &at) == 0);
    CHECK(at == 99);
    REQUIRE(tern_libc_lseek(10, 100, 1000, SEEK_END, &at) == 0);
    CHECK(at == 1100);
    REQUIRE(tern_libc_lseek(0, 0, INT64_MAX, SEEK_SET, &at) == 0);
    CHECK(at == uint64_t(INT64_MAX));
}

TEST_CASE("lseek: negative results are EINVAL, overflow EOVERFLOW, bad whence EINVAL") {
    uint64_t at = 777;
    CHECK(tern_libc_lseek(10, 100, -1, SEEK_SET, &at) == -EINVAL);
    CHECK(tern_libc_lseek(10, 100, -11, SEEK_CUR, &at) == -EINVAL);
    CHECK(tern_libc_lseek(10, 100, -101, SEEK_END, &at) == -EINVAL);
    CHECK(tern_libc_lseek(10, 100, INT64_MIN, SEEK_END, &at) == -EINVAL);
    CHECK(tern_libc_lseek(10, 100, INT64_MAX, SEEK_CUR, &at) == -EOVERFLOW);
    CHECK(tern_libc_lseek(10, 100, INT64_MAX, SEEK_END, &at) == -EOVERFLOW);
    CHECK(tern_libc_lseek(uint64_t(INT64_MAX), 0, 1, SEEK_CUR, &at) == -EOVERFLOW);
    // A position beyond INT64_MAX (never produced, but checked) cannot be reported.
    CHECK(tern_libc_lseek(UINT64_MAX, 0, 0, SEEK_CUR, &at) == -EOVERFLOW);
    CHECK(tern_libc_lseek(UINT64_MAX, 0, -1, SEEK_CUR, &at) == -EOVERFLOW);
    for (int64_t whence : {-1, 3, 4, 5, 1000}) // SEEK_DATA and SEEK_HOLE included
        CHECK(tern_libc_lseek(10, 100, 0, whence, &at) == -EINVAL);
    CHECK(at == 777); // untouched on failure
}

TEST_CASE("reads take what is left of the file") {
    CHECK(tern_libc_read_count(0, 100, 10) == 10);
    CHECK(tern_libc_read_count(95, 100, 10) == 5);
    CHECK(tern_libc_read_count(100, 100, 10) == 0);
    CHECK(tern_libc_read_count(5000, 100, 10) == 0);
    CHECK(tern_libc_read_count(0, 100, UINT64_MAX) == 100);
    CHECK(tern_libc_read_count(UINT64_MAX, UINT64_MAX, 10) == 0);
    CHECK(tern_libc_read_count(0, 0, 10) == 0);
}

TEST_CASE("paths: absolute ones are normalised") {
    CHECK(normalize("/", "/") == "/");
    CHECK(normalize("/", "/bin/hello") == "/bin/hello");
    CHECK(normalize("/", "//bin///hello") == "/bin/hello");
    CHECK(normalize("/", "/bin/./hello") == "/bin/hello");
    CHECK(normalize("/", "/bin/../etc/init.conf") == "/etc/init.conf");
    CHECK(normalize("/", "/..") == "/");
    CHECK(normalize("/", "/../../bin") == "/bin");
    CHECK(normalize("/", "/a/b/c/../../d") == "/a/d");
    CHECK(normalize("/", "/...") == "/...");
    CHECK(normalize("/", "/.hidden/..x") == "/.hidden/..x");
    // The directory does not matter for an absolute path.
    CHECK(normalize("/etc", "/bin") == "/bin");
}

TEST_CASE("paths: relative ones start at the directory (the working directory is /)") {
    CHECK(normalize("/", "bin/hello") == "/bin/hello");
    CHECK(normalize("/", "hello") == "/hello");
    CHECK(normalize("/", ".") == "/");
    CHECK(normalize("/", "..") == "/");
    CHECK(normalize("/", "./bin") == "/bin");
    CHECK(normalize("/bin", "hello") == "/bin/hello");
    CHECK(normalize("/bin", "../etc/x") == "/etc/x");
    CHECK(normalize("/a/b", "..") == "/a");
    CHECK(normalize("/a/b", "../..") == "/");
    CHECK(normalize("/a/b", "../../../..") == "/");
    CHECK(normalize("/a/b", ".") == "/a/b");
}

TEST_CASE("paths: a trailing slash, . or .. means the path must be a directory") {
    int dir = -1;
    CHECK(normalize("/", "/bin/", &dir) == "/bin");
    CHECK(dir == 1);
    CHECK(normalize("/", "/bin/hello", &dir) == "/bin/hello");
    CHECK(dir == 0);
    CHECK(normalize("/", "/bin/.", &dir) == "/bin");
    CHECK(dir == 1);
    CHECK(normalize("/", "/bin/x/..", &dir) == "/bin");
    CHECK(dir == 1);
    CHECK(normalize("/", "bin//", &dir) == "/bin");
    CHECK(dir == 1);
    CHECK(normalize("/", "/", &dir) == "/");
    CHECK(dir == 1);
}

TEST_CASE("paths: empty is ENOENT; too long is ENAMETOOLONG") {
    CHECK(normalize("/", "") == "E" + std::to_string(ENOENT));
    std::string component(TERN_LINUX_NAME_MAX, 'a');
    // The longest component is fine, one more byte is not.
    CHECK(normalize("/", ("/" + component).c_str()) == "/" + component);
    CHECK(normalize("/", ("/" + component + "b").c_str()) == "E" + std::to_string(ENAMETOOLONG));
    // A path of PATH_MAX bytes or more, even if it would shrink.
    std::string longest(TERN_LINUX_PATH_MAX - 1, '/');
    CHECK(normalize("/", longest.c_str()) == "/");
    std::string too_long(TERN_LINUX_PATH_MAX, '/');
    CHECK(normalize("/", too_long.c_str()) == "E" + std::to_string(ENAMETOOLONG));
    // Deep paths are fine up to PATH_MAX bytes with the NUL.
    std::string deep = "/" + component + "/x";
    CHECK(normalize("/", deep.c_str()) == deep);
    std::string exact;
    while (exact.size() + 2 <= TERN_LINUX_PATH_MAX - 1)
        exact += "/a";
    CHECK(normalize("/", exact.c_str()) == exact);
    // A relative path joined to a long directory: the result must fit.
    std::string directory = exact.substr(0, exact.size() - 4);
    CHECK(normalize(directory.c_str(), "ab") == directory + "/ab");
    CHECK(normalize(directory.c_str(), "abcdef") == "E" + std::to_string(ENAMETOOLONG));
    CHECK(normalize(directory.c_str(), "../abcdef")
          == directory.substr(0, directory.size() - 2) + "/abcdef");
}

TEST_CASE("paths: a tiny output buffer is refused, never overrun") {
    char out[4] = {'x', 'x', 'x', 'x'};
    int dir = 0;
    CHECK(tern_libc_normalize_path("/", "/abc", out, 1, &dir) == -ENAMETOOLONG);
    CHECK(tern_libc_normalize_path("/", "/abc", out, 4, &dir) == -ENAMETOOLONG);
    REQUIRE(tern_libc_normalize_path("/", "/ab", out, 4, &dir) == 0);
    CHECK(std::string(out) == "/ab");
    REQUIRE(tern_libc_normalize_path("/", "/", out, 2, &dir) == 0);
    CHECK(std::string(out) == "/");
}

TEST_CASE("inode numbers are stable, distinct and never 0") {
    CHECK(tern_libc_path_inode("/bin/hello") == tern_libc_path_inode("/bin/hello"));
    CHECK(tern_libc_path_inode("/bin/hello") != tern_libc_path_inode("/bin/wc"));
    CHECK(tern_libc_path_inode("/") != 0);
    CHECK(tern_libc_path_inode("") != 0);
}

TEST_CASE("stat: files, directories and the console") {
    tern_linux_stat st;
    std::memset(&st, 0xff, sizeof(st));
    tern_libc_fill_stat(&st, TERN_LIBC_NODE_FILE, 0555, 1000, 77);
    CHECK(st.st_mode == (S_IFREG | 0555));
    CHECK(st.st_size == 1000);
    CHECK(st.st_blksize == 4096);
    CHECK(st.st_blocks == 2);
    CHECK(st.st_nlink == 1);
    CHECK(st.st_ino == 77);
    CHECK(st.st_uid == 0);
    CHECK(st.st_gid == 0);
    CHECK(st.st_mtime_sec == 0);
    CHECK(st.reserved[2] == 0);

    tern_libc_fill_stat(&st, TERN_LIBC_NODE_FILE, 0444, 512, 1);
    CHECK(st.st_blocks == 1);
    tern_libc_fill_stat(&st, TERN_LIBC_NODE_FILE, 0444, 0, 1);
    CHECK(st.st_blocks == 0);
    tern_libc_fill_stat(&st, TERN_LIBC_NODE_FILE, 0444, UINT64_MAX, 1);
    CHECK(st.st_size == INT64_MAX);
    CHECK(st.st_blocks > 0);

    tern_libc_fill_stat(&st, TERN_LIBC_NODE_DIRECTORY, 0555, 0, 5);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 07777) == 0555);
    CHECK(st.st_nlink == 2);

    tern_libc_fill_stat(&st, TERN_LIBC_NODE_CONSOLE, 0620, 0, 0);
    CHECK(S_ISCHR(st.st_mode));
    // Only permission bits are taken from the mode.
    tern_libc_fill_stat(&st, TERN_LIBC_NODE_FILE, 0xffffffff, 0, 0);
    CHECK(st.st_mode == (S_IFREG | 07777));

    // The layout is the host's struct stat.
    struct stat host;
    tern_libc_fill_stat(reinterpret_cast<tern_linux_stat*>(&host), TERN_LIBC_NODE_FILE, 0444, 4097,
                        9);
    CHECK(S_ISREG(host.st_mode));
    CHECK(host.st_size == 4097);
    CHECK(host.st_blocks == 9);
    CHECK(host.st_ino == 9);
}

TEST_CASE("access: reading is allowed, writing is EROFS, executing needs an x bit") {
    CHECK(tern_libc_access_check(0444, 0, F_OK) == 0);
    CHECK(tern_libc_access_check(0444, 0, R_OK) == 0);
    CHECK(tern_libc_access_check(0444, 0, W_OK) == -EROFS);
    CHECK(tern_libc_access_check(0444, 0, R_OK | W_OK) == -EROFS);
    CHECK(tern_libc_access_check(0444, 0, X_OK) == -EACCES);
    CHECK(tern_libc_access_check(0555, 0, X_OK) == 0);
    CHECK(tern_libc_access_check(0100, 0, X_OK) == 0);
    CHECK(tern_libc_access_check(0, 0, R_OK) == -EACCES);
    // Directories are searchable.
    CHECK(tern_libc_access_check(0444, 1, X_OK) == 0);
    CHECK(tern_libc_access_check(0555, 1, W_OK) == -EROFS);
    CHECK(tern_libc_access_check(0555, 0, 8) == -EINVAL);
    CHECK(tern_libc_access_check(0555, 0, -1) == -EINVAL);
}

TEST_CASE("open: read-only opens pass; anything that writes is EROFS") {
    CHECK(tern_libc_open_check_flags(O_RDONLY) == 0);
    CHECK(tern_libc_open_check_flags(O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NONBLOCK) == 0);
    CHECK(tern_libc_open_check_flags(O_RDONLY | O_APPEND) == 0);
    CHECK(tern_libc_open_check_flags(O_RDONLY | O_PATH) == 0);
    CHECK(tern_libc_open_check_flags(O_WRONLY) == -EROFS);
    CHECK(tern_libc_open_check_flags(O_RDWR) == -EROFS);
    CHECK(tern_libc_open_check_flags(O_RDONLY | O_CREAT) == -EROFS);
    CHECK(tern_libc_open_check_flags(O_RDONLY | O_TRUNC) == -EROFS);
    CHECK(tern_libc_open_check_flags(O_WRONLY | O_CREAT | O_TRUNC) == -EROFS);
    CHECK(tern_libc_open_check_flags(O_RDWR | O_TMPFILE) == -EROFS);
    CHECK(tern_libc_open_check_flags(O_RDONLY | O_TMPFILE) == -EROFS);
    CHECK(tern_libc_open_check_flags(O_ACCMODE) == -EINVAL);
}

TEST_CASE("open: O_DIRECTORY and a trailing slash need a directory") {
    CHECK(tern_libc_open_check_type(O_RDONLY, 0, 0) == 0);
    CHECK(tern_libc_open_check_type(O_RDONLY, 1, 0) == 0);
    CHECK(tern_libc_open_check_type(O_RDONLY | O_DIRECTORY, 1, 0) == 0);
    CHECK(tern_libc_open_check_type(O_RDONLY | O_DIRECTORY, 0, 0) == -ENOTDIR);
    CHECK(tern_libc_open_check_type(O_RDONLY, 0, 1) == -ENOTDIR);
    CHECK(tern_libc_open_check_type(O_RDONLY, 1, 1) == 0);
}

TEST_CASE("bootfs Map replies: whole pages, the file inside the mapping") {
    CHECK(tern_libc_check_map_reply(100, 0, 4096, 0) == 0);
    CHECK(tern_libc_check_map_reply(100, 8192, 4096, 3996) == 0);
    CHECK(tern_libc_check_map_reply(0, 0, 0, 0) == 0);
    CHECK(tern_libc_check_map_reply(8192, 4096, 8192, 0) == 0);
    CHECK(tern_libc_check_map_reply(100, 1, 4096, 0) == -EBADMSG);
    CHECK(tern_libc_check_map_reply(100, 0, 4095, 0) == -EBADMSG);
    CHECK(tern_libc_check_map_reply(100, 0, 4096, 3997) == -EBADMSG);
    CHECK(tern_libc_check_map_reply(100, 0, 4096, 5000) == -EBADMSG);
    CHECK(tern_libc_check_map_reply(1, 0, 0, 0) == -EBADMSG);
    CHECK(tern_libc_check_map_reply(UINT64_MAX, 0, 4096, 1) == -EBADMSG);
    CHECK(tern_libc_check_map_reply(2, 0, 4096, UINT64_MAX) == -EBADMSG);
}

TEST_CASE("directories: . and .., then the listing, with types and offsets") {
    const std::string listing = "bin/\netc/\nREADME\n";
    CHECK(tern_libc_listing_entries(listing.data(), listing.size()) == 5);
    std::vector<uint8_t> buffer(4096);
    uint64_t index = 0;
    int64_t n = tern_libc_fill_dirents(listing.data(), listing.size(), "/", &index, buffer.data(),
                                       buffer.size());
    REQUIRE(n > 0);
    CHECK(n % 8 == 0);
    auto entries = parse_dirents(buffer.data(), n);
    REQUIRE(entries.size() == 5);
    CHECK(entries[0].name == ".");
    CHECK(entries[1].name == "..");
    CHECK(entries[2].name == "bin");
    CHECK(entries[3].name == "etc");
    CHECK(entries[4].name == "README");
    CHECK(entries[0].type == DT_DIR);
    CHECK(entries[2].type == DT_DIR);
    CHECK(entries[4].type == DT_REG);
    for (size_t i = 0; i < entries.size(); ++i) {
        CHECK(entries[i].off == int64_t(i + 1));
        CHECK(entries[i].ino != 0);
    }
    // The root is its own parent; inode numbers follow the paths.
    CHECK(entries[0].ino == entries[1].ino);
    CHECK(entries[0].ino == tern_libc_path_inode("/"));
    CHECK(entries[2].ino == tern_libc_path_inode("/bin"));
    CHECK(entries[4].ino == tern_libc_path_inode("/README"));
    CHECK(index == 5);
    // At the end: 0.
    CHECK(tern_libc_fill_dirents(listing.data(), listing.size(), "/", &index, buffer.data(),
                                 buffer.size())
          == 0);
}

TEST_CASE("directories: inode numbers of a subdirectory's entries") {
    const std::string listing = "hello\n";
    std::vector<uint8_t> buffer(4096);
    uint64_t index = 0;
    int64_t n = tern_libc_fill_dirents(listing.data(), listing.size(), "/usr/bin", &index,
                                       buffer.data(), buffer.size());
    auto entries = parse_dirents(buffer.data(), n);
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].ino == tern_libc_path_inode("/usr/bin"));
    CHECK(entries[1].ino == tern_libc_path_inode("/usr"));
    CHECK(entries[2].ino == tern_libc_path_inode("/usr/bin/hello"));
    n = tern_libc_fill_dirents(listing.data(), listing.size(), "/bin", &(index = 1), buffer.data(),
                               buffer.size());
    entries = parse_dirents(buffer.data(), n);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].ino == tern_libc_path_inode("/"));
}

TEST_CASE("directories: small buffers take a few records per call; too small is EINVAL") {
    const std::string listing = "alpha\nbeta/\ngamma\n";
    // 32 bytes hold one record: "." and ".." take 24 each, "alpha" 32 (19 + 6, aligned).
    CHECK(read_all_names(listing, "/", 32)
          == std::vector<std::string>{"./", "../", "alpha", "beta/", "gamma"});
    CHECK(read_all_names(listing, "/", 64)
          == std::vector<std::string>{"./", "../", "alpha", "beta/", "gamma"});
    std::vector<uint8_t> buffer(16);
    uint64_t index = 0;
    CHECK(tern_libc_fill_dirents(listing.data(), listing.size(), "/", &index, buffer.data(),
                                 buffer.size())
          == -EINVAL);
    CHECK(index == 0);
    CHECK(tern_libc_fill_dirents(listing.data(), listing.size(), "/", &index, buffer.data(), 0)
          == -EINVAL);
}

TEST_CASE("directories: a seek to an entry index resumes there (seekdir, rewinddir)") {
    const std::string listing = "a\nb\nc\n";
    std::vector<uint8_t> buffer(4096);
    uint64_t index = 3; // "b"
    int64_t n = tern_libc_fill_dirents(listing.data(), listing.size(), "/", &index, buffer.data(),
                                       buffer.size());
    auto entries = parse_dirents(buffer.data(), n);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].name == "b");
    CHECK(entries[1].name == "c");
    index = 1000;
    CHECK(tern_libc_fill_dirents(listing.data(), listing.size(), "/", &index, buffer.data(),
                                 buffer.size())
          == 0);
}

TEST_CASE("directories: malformed listing lines are skipped") {
    std::string listing = "\n/\n.\n..\n./\nok\na/b\n";
    listing += std::string("nul") + '\0' + "x\n";
    listing += std::string(256, 'n') + "\n";  // longer than NAME_MAX
    listing += std::string(255, 'm') + "/\n"; // the longest name
    listing += "last-without-newline";
    CHECK(tern_libc_listing_entries(listing.data(), listing.size()) == 5);
    auto names = read_all_names(listing, "/", 4096);
    REQUIRE(names.size() == 5);
    CHECK(names[2] == "ok");
    CHECK(names[3] == std::string(255, 'm') + "/");
    CHECK(names[4] == "last-without-newline");
    // An empty listing still has . and ..
    CHECK(tern_libc_listing_entries("", 0) == 2);
    CHECK(read_all_names("", "/", 4096) == std::vector<std::string>{"./", "../"});
}

TEST_CASE("the console's pending line is handed out in pieces") {
    static tern_libc_line_buffer line{};
    line = {};
    char out[16];
    CHECK(tern_libc_line_take(&line, out, sizeof(out)) == 0);
    std::memcpy(line.data, "hello world\n", 12);
    line.start = 0;
    line.end = 12;
    REQUIRE(tern_libc_line_take(&line, out, 5) == 5);
    CHECK(std::string(out, 5) == "hello");
    REQUIRE(tern_libc_line_take(&line, out, 0) == 0);
    REQUIRE(tern_libc_line_take(&line, out, sizeof(out)) == 7);
    CHECK(std::string(out, 7) == " world\n");
    CHECK(line.start == 0);
    CHECK(line.end == 0);
    CHECK(tern_libc_line_take(&line, out, sizeof(out)) == 0);
    // Inconsistent state is dropped, not read out of bounds.
    line.start = 5;
    line.end = 2;
    CHECK(tern_libc_line_take(&line, out, sizeof(out)) == 0);
    line.start = 0;
    line.end = TERN_LIBC_LINE_BUFFER + 1;
    CHECK(tern_libc_line_take(&line, out, sizeof(out)) == 0);
    CHECK(line.end == 0);
}

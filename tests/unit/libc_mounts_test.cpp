// Host tests for the C library's mount table and path rules (libc/musl/portable/mounts.h):
// which server a path goes to, the server's path, where a symbolic link leads, the file
// protocol's List records and the getdents64 records made from them.

#include <catch2/catch.hpp>

#include <libc/musl/portable/files.h>
#include <libc/musl/portable/mounts.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Table {
    tern_libc_mount_table table;
    Table() { tern_libc_mounts_init(&table); }
};

// The mount index and server path of a normalised path, as "index:path".
std::string route(const tern_libc_mount_table& table, const char* path) {
    int m = tern_libc_mount_find(&table, path);
    if (m < 0)
        return "E" + std::to_string(-m);
    char out[TERN_LIBC_PATH_BUFFER];
    int r = tern_libc_mount_server_path(&table, m, path, out, sizeof(out));
    if (r != 0)
        return "E" + std::to_string(-r);
    return std::to_string(m) + ":" + out;
}

std::string link_target(const char* link, const std::string& target) {
    char out[TERN_LIBC_PATH_BUFFER];
    int dir = 0;
    int r = tern_libc_link_target_path(link, target.data(), target.size(), out, sizeof(out), &dir);
    if (r != 0)
        return "E" + std::to_string(-r);
    return std::string(out) + (dir ? " (dir)" : "");
}

void append_entry(std::vector<uint8_t>& out, uint64_t inode, uint32_t mode,
                  const std::string& name) {
    size_t at = out.size();
    size_t record = (16 + name.size() + 7) & ~size_t(7);
    out.resize(at + record, 0);
    std::memcpy(&out[at], &inode, 8);
    std::memcpy(&out[at + 8], &mode, 4);
    uint16_t length = uint16_t(name.size());
    std::memcpy(&out[at + 12], &length, 2);
    std::memcpy(&out[at + 16], name.data(), name.size());
}

} // namespace

TEST_CASE("mounts: Tern's table sends /tmp, /home and /dev/shm to tmpfs, the rest to bootfs") {
    Table t;
    REQUIRE(t.table.count == 4);
    CHECK(t.table.mounts[0].server == TERN_LIBC_SERVER_BOOTFS);
    CHECK(t.table.mounts[0].read_only == 1);
    CHECK(t.table.mounts[1].server == TERN_LIBC_SERVER_TMPFS);
    CHECK(t.table.mounts[1].read_only == 0);
    CHECK(route(t.table, "/") == "0:/");
    CHECK(route(t.table, "/bin/hello") == "0:/bin/hello");
    CHECK(route(t.table, "/tmp") == "1:/tmp");
    CHECK(route(t.table, "/tmp/a/b") == "1:/tmp/a/b");
    CHECK(route(t.table, "/home/user") == "2:/home/user");
    CHECK(route(t.table, "/dev/shm/sem.x") == "3:/dev/shm/sem.x");
    CHECK(route(t.table, "/dev/shmx") == "0:/dev/shmx");
    // Whole components only.
    CHECK(route(t.table, "/tmpx") == "0:/tmpx");
    CHECK(route(t.table, "/hom") == "0:/hom");
}

TEST_CASE("mounts: the longest prefix wins and roots are joined") {
    tern_libc_mount_table table = {};
    REQUIRE(tern_libc_mount_add(&table, "/", "/", TERN_LIBC_SERVER_BOOTFS, 1) == 0);
    REQUIRE(tern_libc_mount_add(&table, "/net", "/", TERN_LIBC_SERVER_TMPFS, 0) == 0);
    REQUIRE(tern_libc_mount_add(&table, "/net/a/b", "/deep", TERN_LIBC_SERVER_TMPFS, 0) == 0);
    CHECK(route(table, "/net") == "1:/");
    CHECK(route(table, "/net/x") == "1:/x");
    CHECK(route(table, "/net/a") == "1:/a");
    CHECK(route(table, "/net/a/b") == "2:/deep");
    CHECK(route(table, "/net/a/b/c") == "2:/deep/c");
    CHECK(route(table, "/other") == "0:/other");
    CHECK(tern_libc_mount_add(&table, "/net", "/", TERN_LIBC_SERVER_TMPFS, 0) == -EEXIST);
    CHECK(tern_libc_mount_add(&table, "net", "/", TERN_LIBC_SERVER_TMPFS, 0) == -EINVAL);
    CHECK(tern_libc_mount_add(&table, "/a/../b", "/", TERN_LIBC_SERVER_TMPFS, 0) == -EINVAL);
    CHECK(tern_libc_mount_add(&table, "/a//b", "/", TERN_LIBC_SERVER_TMPFS, 0) == -EINVAL);
    std::string long_prefix = "/" + std::string(TERN_LIBC_MOUNT_PREFIX, 'p');
    CHECK(tern_libc_mount_add(&table, long_prefix.c_str(), "/", 1, 0) == -ENAMETOOLONG);
    for (int i = 0; table.count < TERN_LIBC_MAX_MOUNTS; ++i)
        REQUIRE(tern_libc_mount_add(&table, ("/m" + std::to_string(i)).c_str(), "/", 1, 0) == 0);
    CHECK(tern_libc_mount_add(&table, "/full", "/", 1, 0) == -ENOSPC);
    // A server path that does not fit.
    char out[8];
    CHECK(tern_libc_mount_server_path(&table, 2, "/net/a/b/cdef", out, sizeof(out))
          == -ENAMETOOLONG);
    tern_libc_mount_table empty = {};
    CHECK(tern_libc_mount_find(&empty, "/x") == -ENOENT);
}

TEST_CASE("mounts: server paths map back to the process's paths") {
    tern_libc_mount_table table = {};
    REQUIRE(tern_libc_mount_add(&table, "/", "/", TERN_LIBC_SERVER_BOOTFS, 1) == 0);
    REQUIRE(tern_libc_mount_add(&table, "/net", "/", TERN_LIBC_SERVER_TMPFS, 0) == 0);
    REQUIRE(tern_libc_mount_add(&table, "/tmp", "/tmp", TERN_LIBC_SERVER_TMPFS, 0) == 0);
    REQUIRE(tern_libc_mount_add(&table, "/deep/er", "/r", TERN_LIBC_SERVER_TMPFS, 0) == 0);
    auto back = [&](int index, const char* server_path) -> std::string {
        char out[TERN_LIBC_PATH_BUFFER];
        int r = tern_libc_mount_global_path(&table, index, server_path, out, sizeof(out));
        return r == 0 ? std::string(out) : "E" + std::to_string(-r);
    };
    CHECK(back(0, "/bin/x") == "/bin/x");
    CHECK(back(0, "/") == "/");
    CHECK(back(1, "/") == "/net");
    CHECK(back(1, "/a/b") == "/net/a/b");
    CHECK(back(2, "/tmp") == "/tmp");
    CHECK(back(2, "/tmp/l") == "/tmp/l");
    CHECK(back(3, "/r") == "/deep/er");
    CHECK(back(3, "/r/x") == "/deep/er/x");
    CHECK(back(3, "/rx") == "E" + std::to_string(EINVAL));
    CHECK(back(2, "/home/x") == "E" + std::to_string(EINVAL));
    CHECK(back(1, "relative") == "E" + std::to_string(EINVAL));
    // Every server path of a mount goes there and back unchanged.
    for (const char* path : {"/net", "/net/a", "/tmp", "/tmp/a/b", "/deep/er", "/deep/er/z"}) {
        int m = tern_libc_mount_find(&table, path);
        char server[TERN_LIBC_PATH_BUFFER];
        REQUIRE(tern_libc_mount_server_path(&table, m, path, server, sizeof(server)) == 0);
        CHECK(back(m, server) == path);
    }
}

TEST_CASE("mounts: readdir of a bootfs directory shows the mount points in it") {
    Table t;
    char listing[64] = "bin/\netc/\n";
    uint64_t size = tern_libc_add_mount_points(&t.table, "/", listing, 10, sizeof(listing));
    CHECK(std::string(listing, size) == "bin/\netc/\ntmp/\nhome/\n");
    // Not twice, not in other directories, not past the buffer.
    CHECK(tern_libc_add_mount_points(&t.table, "/", listing, size, sizeof(listing)) == size);
    CHECK(tern_libc_add_mount_points(&t.table, "/etc", listing, 10, sizeof(listing)) == 10);
    CHECK(tern_libc_add_mount_points(&t.table, "/", listing, 10, 15) == 15);
    CHECK(std::string(listing, 15) == "bin/\netc/\ntmp/\n");
    tern_libc_mount_table table = {};
    REQUIRE(tern_libc_mount_add(&table, "/", "/", TERN_LIBC_SERVER_BOOTFS, 1) == 0);
    REQUIRE(tern_libc_mount_add(&table, "/a/b", "/", TERN_LIBC_SERVER_TMPFS, 0) == 0);
    REQUIRE(tern_libc_mount_add(&table, "/a/b/c", "/", TERN_LIBC_SERVER_TMPFS, 0) == 0);
    size = tern_libc_add_mount_points(&table, "/a", listing, 0, sizeof(listing));
    CHECK(std::string(listing, size) == "b/\n");
    CHECK(tern_libc_add_mount_points(&table, "/", listing, 0, sizeof(listing)) == 0);
}

TEST_CASE("mounts: relative paths resolve from the working directory") {
    char out[TERN_LIBC_PATH_BUFFER];
    int dir = 0;
    REQUIRE(tern_libc_normalize_path("/tmp/work", "a/../b/./c", out, sizeof(out), &dir) == 0);
    CHECK(std::string(out) == "/tmp/work/b/c");
    REQUIRE(tern_libc_normalize_path("/tmp/work", "..", out, sizeof(out), &dir) == 0);
    CHECK(std::string(out) == "/tmp");
    CHECK(dir == 1);
    REQUIRE(tern_libc_normalize_path("/tmp/work", "/etc/hosts", out, sizeof(out), &dir) == 0);
    CHECK(std::string(out) == "/etc/hosts");
    // A working directory deep enough that the joined path passes PATH_MAX.
    std::string deep;
    while (deep.size() < TERN_LINUX_PATH_MAX - 10)
        deep += "/dddddddd";
    CHECK(tern_libc_normalize_path(deep.c_str(), "abcdefghijklmnop", out, sizeof(out), &dir)
          == -ENAMETOOLONG);
}

TEST_CASE("mounts: where a symbolic link leads") {
    CHECK(link_target("/tmp/d/link", "target") == "/tmp/d/target");
    CHECK(link_target("/tmp/d/link", "../x/y") == "/tmp/x/y");
    CHECK(link_target("/tmp/d/link", "/etc/hosts") == "/etc/hosts");
    CHECK(link_target("/link", "a") == "/a");
    CHECK(link_target("/tmp/link", "sub/") == "/tmp/sub (dir)");
    CHECK(link_target("/tmp/link", "") == "E" + std::to_string(ENOENT));
    CHECK(link_target("/tmp/link", std::string("a\0b", 3)) == "E" + std::to_string(ENOENT));
    CHECK(link_target("/tmp/link", std::string(TERN_LINUX_PATH_MAX, 'a'))
          == "E" + std::to_string(ENAMETOOLONG));
}

TEST_CASE("mounts: List records are parsed and checked") {
    std::vector<uint8_t> list;
    append_entry(list, 7, TERN_LINUX_S_IFREG, "file");
    append_entry(list, 8, TERN_LINUX_S_IFDIR, std::string(255, 'd'));
    append_entry(list, 9, TERN_LINUX_S_IFLNK, "l");
    uint64_t at = 0, inode = 0;
    uint32_t mode = 0, length = 0;
    const char* name = nullptr;
    REQUIRE(tern_libc_list_entry(list.data(), list.size(), &at, &inode, &mode, &name, &length)
            == 1);
    CHECK(inode == 7);
    CHECK(mode == TERN_LINUX_S_IFREG);
    CHECK(std::string(name, length) == "file");
    CHECK(at == 24);
    REQUIRE(tern_libc_list_entry(list.data(), list.size(), &at, &inode, &mode, &name, &length)
            == 1);
    CHECK(length == 255);
    REQUIRE(tern_libc_list_entry(list.data(), list.size(), &at, &inode, &mode, &name, &length)
            == 1);
    CHECK(std::string(name, length) == "l");
    CHECK(tern_libc_list_entry(list.data(), list.size(), &at, &inode, &mode, &name, &length) == 0);

    auto bad = [&](std::vector<uint8_t> records) {
        uint64_t offset = 0;
        return tern_libc_list_entry(records.data(), records.size(), &offset, &inode, &mode, &name,
                                    &length);
    };
    std::vector<uint8_t> one;
    append_entry(one, 1, 0, "ok");
    CHECK(bad(std::vector<uint8_t>(one.begin(), one.begin() + 17)) == -EBADMSG);
    CHECK(bad(std::vector<uint8_t>(one.begin(), one.begin() + 10)) == -EBADMSG);
    std::vector<uint8_t> records;
    append_entry(records, 1, 0, "a/b");
    CHECK(bad(records) == -EBADMSG);
    records.clear();
    append_entry(records, 1, 0, "..");
    CHECK(bad(records) == -EBADMSG);
    records.clear();
    append_entry(records, 1, 0, std::string("a\0", 2));
    CHECK(bad(records) == -EBADMSG);
    records = one;
    records[12] = 0; // a name of no bytes
    records[13] = 0;
    CHECK(bad(records) == -EBADMSG);
    records = one;
    records[12] = 0x00; // 256 bytes: over NAME_MAX
    records[13] = 0x01;
    CHECK(bad(records) == -EBADMSG);
}

TEST_CASE("mounts: getdents64 records from List entries") {
    alignas(8) uint8_t out[64];
    uint64_t used = 0;
    REQUIRE(tern_libc_put_dirent(out, sizeof(out), &used, 42, 3, TERN_LINUX_S_IFLNK, "link", 4)
            == 1);
    CHECK(used == 24);
    uint64_t inode = 0;
    int64_t next = 0;
    std::memcpy(&inode, out, 8);
    std::memcpy(&next, out + 8, 8);
    CHECK(inode == 42);
    CHECK(next == 3);
    CHECK((out[16] | out[17] << 8) == 24);
    CHECK(out[18] == TERN_LINUX_DT_LNK);
    CHECK(std::string(reinterpret_cast<char*>(out + 19)) == "link");
    REQUIRE(tern_libc_put_dirent(out, sizeof(out), &used, 43, 4, TERN_LINUX_S_IFDIR, "d", 1) == 1);
    CHECK(out[24 + 18] == TERN_LINUX_DT_DIR);
    // One that does not fit is not written.
    CHECK(tern_libc_put_dirent(out, sizeof(out), &used, 44, 5, TERN_LINUX_S_IFREG,
                               "a-long-name-that-does-not-fit", 29)
          == 0);
    CHECK(used == 48);
}

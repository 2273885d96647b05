// The process's descriptor table in Tern's musl port (libc/musl/portable/files.h): the
// console on 0-2, the lowest free descriptor, descriptions shared by dup, dup2, dup3 and
// F_DUPFD, close-on-exec per descriptor, the status flags F_SETFL changes, and the errnos
// Linux gives for each refusal.
#include <catch2/catch.hpp>

#include <errno.h>
#include <fcntl.h>
#include <libc/musl/portable/files.h>

static_assert(TERN_LINUX_FD_CLOEXEC == FD_CLOEXEC && TERN_LINUX_F_DUPFD == F_DUPFD
              && TERN_LINUX_F_GETFD == F_GETFD && TERN_LINUX_F_SETFD == F_SETFD
              && TERN_LINUX_F_GETFL == F_GETFL && TERN_LINUX_F_SETFL == F_SETFL
              && TERN_LINUX_F_DUPFD_CLOEXEC == F_DUPFD_CLOEXEC);

namespace {

tern_libc_fd_table& fresh_table() {
    static tern_libc_fd_table table;
    tern_libc_fd_table_init(&table);
    return table;
}

} // namespace

TEST_CASE("descriptors: a new table has 0-2 on one console description") {
    tern_libc_fd_table& table = fresh_table();
    CHECK(table.initialised == 1);
    tern_libc_file* console = tern_libc_fd_lookup(&table, 0);
    REQUIRE(console != nullptr);
    CHECK(console->kind == TERN_LIBC_FD_CONSOLE);
    CHECK(console->references == 3);
    CHECK(tern_libc_fd_lookup(&table, 1) == console);
    CHECK(tern_libc_fd_lookup(&table, 2) == console);
    // fd_get leaves the console to the caller.
    CHECK(tern_libc_fd_get(&table, 1) == nullptr);
    for (int64_t fd : {int64_t(-100), int64_t(-1), int64_t(3), int64_t(63), int64_t(64),
                       int64_t(1000), INT64_MAX, INT64_MIN})
        CHECK(tern_libc_fd_lookup(&table, fd) == nullptr);
}

TEST_CASE("descriptors: the lowest free one, EMFILE when full, reuse after release") {
    tern_libc_fd_table& table = fresh_table();
    CHECK(tern_libc_fd_allocate(&table, TERN_LIBC_FD_FILE) == 3);
    CHECK(tern_libc_fd_allocate(&table, TERN_LIBC_FD_DIRECTORY) == 4);
    CHECK(tern_libc_fd_allocate(&table, TERN_LIBC_FD_FILE) == 5);
    REQUIRE(tern_libc_fd_get(&table, 4) != nullptr);
    CHECK(tern_libc_fd_get(&table, 4)->kind == TERN_LIBC_FD_DIRECTORY);
    tern_libc_fd_get(&table, 4)->position = 99;
    tern_libc_file* last = tern_libc_fd_release(&table, 4);
    REQUIRE(last != nullptr);
    tern_libc_file_free(last);
    CHECK(tern_libc_fd_get(&table, 4) == nullptr);
    // The freed descriptor comes back with a cleared description.
    CHECK(tern_libc_fd_allocate(&table, TERN_LIBC_FD_FILE) == 4);
    CHECK(tern_libc_fd_get(&table, 4)->position == 0);
    CHECK(tern_libc_fd_get(&table, 4)->references == 1);

    // Closing the console's fd 1 frees the number for the next open (shell redirection).
    CHECK(tern_libc_fd_release(&table, 1) == nullptr); // 0 and 2 still name the console
    CHECK(tern_libc_fd_lookup(&table, 0)->references == 2);
    CHECK(tern_libc_fd_allocate(&table, TERN_LIBC_FD_FILE) == 1);

    int opened = 6;
    while (tern_libc_fd_allocate(&table, TERN_LIBC_FD_FILE) >= 0)
        ++opened;
    CHECK(opened == TERN_LIBC_MAX_FDS);
    CHECK(tern_libc_fd_allocate(&table, TERN_LIBC_FD_FILE) == -EMFILE);
    tern_libc_file_free(tern_libc_fd_release(&table, 40));
    CHECK(tern_libc_fd_allocate(&table, TERN_LIBC_FD_FILE) == 40);
    // Releasing what is not open is harmless.
    CHECK(tern_libc_fd_release(&table, -5) == nullptr);
    CHECK(tern_libc_fd_release(&table, 64) == nullptr);
}

TEST_CASE("descriptors: dup and F_DUPFD share the description, lowest from the minimum") {
    tern_libc_fd_table& table = fresh_table();
    int fd = tern_libc_fd_allocate(&table, TERN_LIBC_FD_FILE);
    REQUIRE(fd == 3);
    CHECK(tern_libc_fd_dup_from(&table, fd, 0, 0) == 4);
    CHECK(tern_libc_fd_dup_from(&table, fd, 10, 0) == 10);
    CHECK(tern_libc_fd_dup_from(&table, fd, 10, 1) == 11);
    CHECK(tern_libc_fd_get_flags(&table, 10) == 0);
    CHECK(tern_libc_fd_get_flags(&table, 11) == FD_CLOEXEC);
    tern_libc_file* file = tern_libc_fd_get(&table, 3);
    CHECK(file->references == 4);
    // One offset for every duplicate.
    file->position = 7;
    CHECK(tern_libc_fd_get(&table, 10)->position == 7);
    // Errors: EBADF for a descriptor not open, EINVAL for a minimum out of range.
    CHECK(tern_libc_fd_dup_from(&table, 20, 0, 0) == -EBADF);
    CHECK(tern_libc_fd_dup_from(&table, -1, 0, 0) == -EBADF);
    CHECK(tern_libc_fd_dup_from(&table, 3, -1, 0) == -EINVAL);
    CHECK(tern_libc_fd_dup_from(&table, 3, TERN_LIBC_MAX_FDS, 0) == -EINVAL);
    // Closing duplicates keeps the description until the last one.
    CHECK(tern_libc_fd_release(&table, 3) == nullptr);
    CHECK(tern_libc_fd_release(&table, 4) == nullptr);
    CHECK(tern_libc_fd_release(&table, 10) == nullptr);
    CHECK(tern_libc_fd_release(&table, 11) == file);
    // The console can be duplicated too.
    CHECK(tern_libc_fd_dup_from(&table, 2, 0, 0) == 3);
    CHECK(tern_libc_fd_lookup(&table, 3)->kind == TERN_LIBC_FD_CONSOLE);
}

TEST_CASE("descriptors: dup2 and dup3 replace the target, EINVAL and EBADF as Linux") {
    tern_libc_fd_table& table = fresh_table();
    int fd = tern_libc_fd_allocate(&table, TERN_LIBC_FD_PIPE_WRITE);
    REQUIRE(fd == 3);
    tern_libc_file* displaced = nullptr;
    // dup2(3, 1): stdout becomes the pipe; the console keeps 0 and 2.
    CHECK(tern_libc_fd_dup_to(&table, 3, 1, -1, &displaced) == 1);
    CHECK(displaced == nullptr);
    CHECK(tern_libc_fd_lookup(&table, 1)->kind == TERN_LIBC_FD_PIPE_WRITE);
    CHECK(tern_libc_fd_lookup(&table, 0)->references == 2);
    // Onto a descriptor that was the last of its description: the caller gets it back.
    int other = tern_libc_fd_allocate(&table, TERN_LIBC_FD_FILE);
    REQUIRE(other == 4);
    tern_libc_file* other_file = tern_libc_fd_get(&table, 4);
    CHECK(tern_libc_fd_dup_to(&table, 3, 4, TERN_LINUX_O_CLOEXEC, &displaced) == 4);
    CHECK(displaced == other_file);
    tern_libc_file_free(displaced);
    CHECK(tern_libc_fd_get_flags(&table, 4) == FD_CLOEXEC);
    CHECK(tern_libc_fd_get_flags(&table, 1) == 0);
    // Onto another descriptor of the same description: nothing is displaced.
    CHECK(tern_libc_fd_dup_to(&table, 3, 4, -1, &displaced) == 4);
    CHECK(displaced == nullptr);
    CHECK(tern_libc_fd_get(&table, 3)->references == 3);
    CHECK(tern_libc_fd_get_flags(&table, 4) == 0); // dup2 clears close-on-exec
    // dup2 onto itself returns it; dup3 onto itself is EINVAL.
    CHECK(tern_libc_fd_dup_to(&table, 3, 3, -1, &displaced) == 3);
    CHECK(tern_libc_fd_dup_to(&table, 3, 3, 0, &displaced) == -EINVAL);
    CHECK(tern_libc_fd_dup_to(&table, 9, 9, -1, &displaced) == -EBADF);
    // dup3 flags other than O_CLOEXEC, a source not open, a target out of range.
    CHECK(tern_libc_fd_dup_to(&table, 3, 5, O_NONBLOCK, &displaced) == -EINVAL);
    CHECK(tern_libc_fd_dup_to(&table, 9, 5, -1, &displaced) == -EBADF);
    CHECK(tern_libc_fd_dup_to(&table, 3, -1, -1, &displaced) == -EBADF);
    CHECK(tern_libc_fd_dup_to(&table, 3, TERN_LIBC_MAX_FDS, -1, &displaced) == -EBADF);
    CHECK(tern_libc_fd_get(&table, 3)->references == 3);
}

TEST_CASE("descriptors: F_GETFD/F_SETFD keep close-on-exec; exec's list") {
    tern_libc_fd_table& table = fresh_table();
    int fd = tern_libc_fd_allocate(&table, TERN_LIBC_FD_SOCKET);
    CHECK(tern_libc_fd_get_flags(&table, fd) == 0);
    CHECK(tern_libc_fd_set_flags(&table, fd, FD_CLOEXEC | 0x40) == 0);
    CHECK(tern_libc_fd_get_flags(&table, fd) == FD_CLOEXEC); // other bits dropped
    CHECK(tern_libc_fd_set_flags(&table, 2, FD_CLOEXEC) == 0);
    CHECK(tern_libc_fd_set_flags(&table, 30, 0) == -EBADF);
    CHECK(tern_libc_fd_get_flags(&table, 30) == -EBADF);
    int list[TERN_LIBC_MAX_FDS];
    REQUIRE(tern_libc_fd_cloexec_list(&table, list) == 2);
    CHECK(list[0] == 2);
    CHECK(list[1] == fd);
}

TEST_CASE("descriptors: F_SETFL changes only O_APPEND and O_NONBLOCK") {
    uint32_t flags = O_WRONLY | O_APPEND;
    flags = tern_libc_status_flags_set(flags, O_NONBLOCK | O_RDWR | O_CREAT | O_TRUNC);
    CHECK(flags == (O_WRONLY | O_NONBLOCK));
    flags = tern_libc_status_flags_set(flags, O_APPEND);
    CHECK(flags == (O_WRONLY | O_APPEND));
    CHECK(tern_libc_status_flags_set(O_RDONLY, 0) == O_RDONLY);
}

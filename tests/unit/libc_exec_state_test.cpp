// What crosses execve in Tern's musl port (libc/musl/portable/exec_state.h): the packed
// block's round trip, close-on-exec and sockets dropped, bad blocks refused; the "#!" line.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <libc/musl/portable/exec_state.h>
#include <libc/musl/portable/pipe.h>

namespace {

struct Fixture {
    std::unique_ptr<tern_libc_fd_table> table = std::make_unique<tern_libc_fd_table>();
    std::unique_ptr<tern_libc_exec_process> process = std::make_unique<tern_libc_exec_process>();
    uint32_t handles[TERN_LIBC_MAX_FDS] = {};

    Fixture() {
        tern_libc_fd_table_init(table.get());
        std::memset(process.get(), 0, sizeof(*process));
        process->umask = 027;
        process->pid = (uint64_t(3) << 32) | 17;
        process->parent = (uint64_t(3) << 32) | 5;
        std::strcpy(process->cwd, "/tmp/work");
        tern_libc_rlimits_init(process->rlimits, 256 * 1024);
        process->signal_mask = 0x4001;
        process->signal_ignored = 0x2;
        process->peer_count = 2;
        process->peers[0] = 41;
        process->peers[1] = 42;
        for (uint32_t i = 0; i < TERN_LIBC_EXEC_TIMES; ++i)
            process->times_ns[i] = 1000000007ull * (i + 1);
    }

    int open_file(uint32_t kind, const char* path, uint64_t position) {
        int fd = tern_libc_fd_allocate(table.get(), kind);
        tern_libc_file* file = tern_libc_fd_get(table.get(), fd);
        std::strcpy(file->path, path);
        file->position = position;
        file->server = 1;
        file->device = 2;
        file->inode = 77;
        file->mode = 0644;
        file->flags = 02002; // O_RDWR | O_APPEND
        return fd;
    }

    std::vector<uint8_t> pack() {
        std::vector<uint8_t> block(TERN_LIBC_EXEC_MAX_SIZE);
        int64_t size =
            tern_libc_exec_pack(table.get(), process.get(), handles, block.data(), block.size());
        REQUIRE(size > 0);
        block.resize(size_t(size));
        return block;
    }
};

} // namespace

TEST_CASE("the exec state round-trips descriptors, directory, umask, pid, limits, signals, "
          "times",
          "[exec]") {
    Fixture f;
    int file = f.open_file(TERN_LIBC_FD_FILE, "/tmp/work/data", 1234);
    int pipe_read = tern_libc_fd_allocate(f.table.get(), TERN_LIBC_FD_PIPE_READ);
    tern_libc_file* ring = tern_libc_fd_get(f.table.get(), pipe_read);
    ring->pipe.map_size = TERN_LIBC_PIPE_OBJECT_SIZE;
    f.handles[tern_libc_fd_get(f.table.get(), pipe_read) - f.table->files] = 9;
    // dup2 of the file onto 10: one description, two descriptors.
    tern_libc_file* displaced = nullptr;
    REQUIRE(tern_libc_fd_dup_to(f.table.get(), file, 10, -1, &displaced) == 10);

    std::vector<uint8_t> block = f.pack();
    auto table = std::make_unique<tern_libc_fd_table>();
    auto process = std::make_unique<tern_libc_exec_process>();
    REQUIRE(tern_libc_exec_unpack(block.data(), block.size(), table.get(), process.get()) == 0);

    CHECK(std::strcmp(process->cwd, "/tmp/work") == 0);
    CHECK(process->umask == 027);
    CHECK(process->pid == ((uint64_t(3) << 32) | 17));
    CHECK(process->parent == ((uint64_t(3) << 32) | 5));
    CHECK(process->signal_mask == 0x4001);
    CHECK(process->signal_ignored == 0x2);
    CHECK(process->peer_count == 2);
    CHECK(process->peers[1] == 42);
    CHECK(process->rlimits[TERN_LINUX_RLIMIT_NOFILE].maximum == 64);
    CHECK(process->rlimits[TERN_LINUX_RLIMIT_STACK].current == 256 * 1024);
    CHECK(process->times_ns[TERN_LIBC_EXEC_TIME_USER] == 1000000007ull);
    CHECK(process->times_ns[TERN_LIBC_EXEC_TIME_CHILDREN_SYSTEM] == 4000000028ull);

    // 0-2 still name the console, one description with three references.
    tern_libc_file* console = tern_libc_fd_lookup(table.get(), 0);
    REQUIRE(console);
    CHECK(console->kind == TERN_LIBC_FD_CONSOLE);
    CHECK(console->references == 3);
    CHECK(tern_libc_fd_lookup(table.get(), 2) == console);

    tern_libc_file* kept = tern_libc_fd_lookup(table.get(), file);
    REQUIRE(kept);
    CHECK(tern_libc_fd_lookup(table.get(), 10) == kept);
    CHECK(kept->references == 2);
    CHECK(kept->position == 1234);
    CHECK(kept->inode == 77);
    CHECK(kept->flags == 02002);
    CHECK(std::strcmp(kept->path, "/tmp/work/data") == 0);

    tern_libc_file* pipe = tern_libc_fd_lookup(table.get(), pipe_read);
    REQUIRE(pipe);
    CHECK(pipe->kind == TERN_LIBC_FD_PIPE_READ);
    CHECK(pipe->pipe.memory == 9);
    CHECK(pipe->pipe.ring == nullptr); // mapped again by the new image
    CHECK(pipe->pipe.map_size == TERN_LIBC_PIPE_OBJECT_SIZE);
    // Descriptors allocate as before: the lowest free one.
    CHECK(tern_libc_fd_allocate(table.get(), TERN_LIBC_FD_FILE) == 5);
}

TEST_CASE("close-on-exec descriptors do not cross; sockets do, with their state", "[exec]") {
    Fixture f;
    int a = f.open_file(TERN_LIBC_FD_FILE, "/tmp/a", 0);
    int b = f.open_file(TERN_LIBC_FD_FILE, "/tmp/b", 0);
    int socket = tern_libc_fd_allocate(f.table.get(), TERN_LIBC_FD_SOCKET);
    tern_libc_fd_lookup(f.table.get(), socket)->socket.id = 0x20005;
    tern_libc_fd_lookup(f.table.get(), socket)->socket.state = TERN_LIBC_SOCKET_CONNECTED;
    REQUIRE(tern_libc_fd_set_flags(f.table.get(), b, TERN_LINUX_FD_CLOEXEC) == 0);
    // A description with one close-on-exec descriptor and one without stays.
    int a_cloexec = tern_libc_fd_dup_from(f.table.get(), a, 20, 1);
    REQUIRE(a_cloexec == 20);
    CHECK(tern_libc_exec_keeps(f.table.get(), a));
    CHECK_FALSE(tern_libc_exec_keeps(f.table.get(), b));
    CHECK(tern_libc_exec_keeps(f.table.get(), socket));
    CHECK_FALSE(tern_libc_exec_keeps(f.table.get(), a_cloexec));
    CHECK_FALSE(tern_libc_exec_keeps(f.table.get(), 40));

    std::vector<uint8_t> block = f.pack();
    auto table = std::make_unique<tern_libc_fd_table>();
    auto process = std::make_unique<tern_libc_exec_process>();
    REQUIRE(tern_libc_exec_unpack(block.data(), block.size(), table.get(), process.get()) == 0);
    CHECK(tern_libc_fd_lookup(table.get(), a));
    CHECK(tern_libc_fd_lookup(table.get(), a)->references == 1);
    CHECK_FALSE(tern_libc_fd_lookup(table.get(), b));
    REQUIRE(tern_libc_fd_lookup(table.get(), socket));
    CHECK(tern_libc_fd_lookup(table.get(), socket)->kind == TERN_LIBC_FD_SOCKET);
    CHECK(tern_libc_fd_lookup(table.get(), socket)->socket.id == 0x20005);
    CHECK(tern_libc_fd_lookup(table.get(), socket)->socket.state == TERN_LIBC_SOCKET_CONNECTED);
    CHECK_FALSE(tern_libc_fd_lookup(table.get(), a_cloexec));
    // Nothing crossing carries close-on-exec.
    for (int fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd)
        CHECK(tern_libc_fd_get_flags(table.get(), fd) <= 0);
}

TEST_CASE("a bad exec state block is refused whole", "[exec]") {
    Fixture f;
    f.open_file(TERN_LIBC_FD_FILE, "/tmp/x", 0);
    std::vector<uint8_t> good = f.pack();
    auto table = std::make_unique<tern_libc_fd_table>();
    auto process = std::make_unique<tern_libc_exec_process>();
    tern_libc_fd_table_init(table.get());
    auto refused = [&](std::vector<uint8_t> block) {
        return tern_libc_exec_unpack(block.data(), block.size(), table.get(), process.get())
               == -EINVAL;
    };
    // Short blocks, at every length.
    for (size_t n = 0; n < good.size(); n += 7)
        CHECK(refused(std::vector<uint8_t>(good.begin(), good.begin() + long(n))));
    // Wrong magic, version.
    auto bad = good;
    bad[0] ^= 1;
    CHECK(refused(bad));
    bad = good;
    bad[8] = 99;
    CHECK(refused(bad));
    // A descriptor naming a record that is not there.
    bad = good;
    tern_libc_exec_header header;
    std::memcpy(&header, bad.data(), sizeof(header));
    header.fds[30] = 9;
    std::memcpy(bad.data(), &header, sizeof(header));
    CHECK(refused(bad));
    // A record nobody names.
    std::memcpy(&header, good.data(), sizeof(header));
    header.fds[3] = 0;
    bad = good;
    std::memcpy(bad.data(), &header, sizeof(header));
    CHECK(refused(bad));
    // A soft limit above its hard one.
    std::memcpy(&header, good.data(), sizeof(header));
    header.rlimits[TERN_LINUX_RLIMIT_NOFILE].current = 65;
    bad = good;
    std::memcpy(bad.data(), &header, sizeof(header));
    CHECK(refused(bad));
    // A record of a kind that never crosses (a message queue).
    bad = good;
    // After the header and "/tmp/work": the console's record (no path), then the file's.
    size_t record_at = ((sizeof(header) + 7) & ~size_t(7)) + 16;
    tern_libc_exec_record record;
    std::memcpy(&record, bad.data() + record_at, sizeof(record));
    REQUIRE(record.kind == TERN_LIBC_FD_CONSOLE);
    record_at += sizeof(record) + 8;
    std::memcpy(&record, bad.data() + record_at, sizeof(record));
    REQUIRE(record.kind == TERN_LIBC_FD_FILE);
    record.kind = TERN_LIBC_FD_MQUEUE;
    std::memcpy(bad.data() + record_at, &record, sizeof(record));
    CHECK(refused(bad));
    // A path with a NUL inside its length.
    bad = good;
    bad[record_at + sizeof(record) + 2] = 0;
    CHECK(refused(bad));
    // The table was left as it was: the console on 0-2 only.
    CHECK(tern_libc_fd_lookup(table.get(), 0)->kind == TERN_LIBC_FD_CONSOLE);
    CHECK_FALSE(tern_libc_fd_lookup(table.get(), 3));
    // The good block still unpacks.
    CHECK(tern_libc_exec_unpack(good.data(), good.size(), table.get(), process.get()) == 0);
}

TEST_CASE("a block that does not fit is E2BIG", "[exec]") {
    Fixture f;
    f.open_file(TERN_LIBC_FD_FILE, "/tmp/x", 0);
    std::vector<uint8_t> small(64);
    CHECK(tern_libc_exec_pack(f.table.get(), f.process.get(), f.handles, small.data(), small.size())
          == -E2BIG);
}

TEST_CASE("a #! line names the interpreter and one argument", "[exec]") {
    char interpreter[TERN_LIBC_PATH_BUFFER], argument[TERN_LIBC_PATH_BUFFER];
    auto script = [&](const char* text) {
        return tern_libc_exec_script(text, std::strlen(text), interpreter, argument);
    };
    CHECK(script("#!/bin/sh\necho hi\n") == 0);
    CHECK(std::string(interpreter) == "/bin/sh");
    CHECK(std::string(argument).empty());
    CHECK(script("#!  /bin/awk   -f  x \t\r\nBEGIN{}") == 1);
    CHECK(std::string(interpreter) == "/bin/awk");
    CHECK(std::string(argument) == "-f  x");
    CHECK(script("#!/bin/sh") == 0); // no newline at all
    CHECK(script("#!\n") == -ENOEXEC);
    CHECK(script("#!   \n") == -ENOEXEC);
    CHECK(script("\177ELF") == -ENOEXEC);
    std::string long_name = "#!/" + std::string(300, 'a') + "\n";
    CHECK(script(long_name.c_str()) == -ENOEXEC);
    std::string long_argument = "#!/bin/sh " + std::string(300, 'b') + "\n";
    CHECK(script(long_argument.c_str()) == 1);
    CHECK(std::strlen(argument) == 256 - 10);
}

// The ring behind a pipe in Tern's musl port (libc/musl/portable/pipe.h): the PIPE_BUF
// atomicity rule, end of file, EPIPE, EAGAIN, wrap-around and poll's events, checked
// against a model of the bytes that must come out.
#include <catch2/catch.hpp>

#include <cstring>
#include <errno.h>
#include <fcntl.h>
#include <libc/musl/portable/files.h>
#include <libc/musl/portable/pipe.h>
#include <limits.h>
#include <poll.h>
#include <vector>

static_assert(TERN_LINUX_PIPE_BUF == PIPE_BUF);

namespace {

// A ring of 64 bytes for the rules, small enough to fill and wrap in a test.
struct SmallPipe {
    alignas(8) uint8_t memory[TERN_LIBC_PIPE_HEADER + 64];
    tern_libc_pipe_ring* ring() { return reinterpret_cast<tern_libc_pipe_ring*>(memory); }
    SmallPipe() { tern_libc_pipe_init(ring(), 64); }
};

// A ring of the real capacity.
struct FullPipe {
    std::vector<uint64_t> memory =
        std::vector<uint64_t>((TERN_LIBC_PIPE_HEADER + TERN_LIBC_PIPE_CAPACITY) / 8);
    tern_libc_pipe_ring* ring() { return reinterpret_cast<tern_libc_pipe_ring*>(memory.data()); }
    FullPipe() { tern_libc_pipe_init(ring(), TERN_LIBC_PIPE_CAPACITY); }
};

void put(tern_libc_pipe_ring* ring, const uint8_t* data, uint64_t count) {
    tern_libc_pipe_span span = tern_libc_pipe_write_span(ring);
    uint64_t first = count < span.first_size ? count : span.first_size;
    std::memcpy(span.first, data, first);
    std::memcpy(span.second, data + first, count - first);
    tern_libc_pipe_commit_write(ring, count);
}

void take(tern_libc_pipe_ring* ring, uint8_t* out, uint64_t count) {
    tern_libc_pipe_span span = tern_libc_pipe_read_span(ring);
    uint64_t first = count < span.first_size ? count : span.first_size;
    std::memcpy(out, span.first, first);
    std::memcpy(out + first, span.second, count - first);
    tern_libc_pipe_commit_read(ring, count);
}

} // namespace

TEST_CASE("pipe: a new pipe is empty with one reader and one writer") {
    SmallPipe pipe;
    CHECK(pipe.ring()->readers == 1);
    CHECK(pipe.ring()->writers == 1);
    CHECK(tern_libc_pipe_available(pipe.ring()) == 0);
    CHECK(tern_libc_pipe_space(pipe.ring()) == 64);
    CHECK(tern_libc_pipe_read_count(pipe.ring(), 10) == -EAGAIN);
}

TEST_CASE("pipe: reads get what is there, then EAGAIN, then 0 once the writers are gone") {
    SmallPipe pipe;
    const uint8_t data[5] = {1, 2, 3, 4, 5};
    REQUIRE(tern_libc_pipe_write_count(pipe.ring(), 5, 1) == 5);
    put(pipe.ring(), data, 5);
    CHECK(tern_libc_pipe_read_count(pipe.ring(), 100) == 5);
    CHECK(tern_libc_pipe_read_count(pipe.ring(), 3) == 3);
    uint8_t out[5] = {};
    take(pipe.ring(), out, 3);
    CHECK(out[0] == 1);
    CHECK(out[2] == 3);
    pipe.ring()->writers = 0;
    // Bytes still in the pipe come before end of file.
    CHECK(tern_libc_pipe_read_count(pipe.ring(), 100) == 2);
    take(pipe.ring(), out, 2);
    CHECK(out[1] == 5);
    CHECK(tern_libc_pipe_read_count(pipe.ring(), 100) == 0);
}

TEST_CASE("pipe: writes of at most PIPE_BUF bytes go in whole or wait") {
    FullPipe pipe;
    std::vector<uint8_t> block(TERN_LIBC_PIPE_CAPACITY - 100, 7);
    REQUIRE(tern_libc_pipe_write_count(pipe.ring(), block.size(), 0) == int64_t(block.size()));
    put(pipe.ring(), block.data(), block.size());
    // 100 bytes of room: an atomic write of 101 must wait whole, of 100 goes in.
    CHECK(tern_libc_pipe_write_count(pipe.ring(), 101, 1) == -EAGAIN);
    CHECK(tern_libc_pipe_write_count(pipe.ring(), 100, 1) == 100);
    // A write larger than PIPE_BUF may go in part.
    CHECK(tern_libc_pipe_write_count(pipe.ring(), PIPE_BUF + 1, 0) == 100);
    uint8_t fill[100] = {};
    put(pipe.ring(), fill, 100);
    CHECK(tern_libc_pipe_write_count(pipe.ring(), PIPE_BUF + 1, 0) == -EAGAIN);
    CHECK(tern_libc_pipe_write_count(pipe.ring(), 1, 1) == -EAGAIN);
}

TEST_CASE("pipe: EPIPE once the readers are gone, even with room") {
    SmallPipe pipe;
    pipe.ring()->readers = 0;
    CHECK(tern_libc_pipe_write_count(pipe.ring(), 1, 1) == -EPIPE);
    CHECK(tern_libc_pipe_write_count(pipe.ring(), 5000, 0) == -EPIPE);
}

TEST_CASE("pipe: bytes come out in order across the wrap, many times round") {
    SmallPipe pipe;
    std::vector<uint8_t> written, read;
    uint8_t next = 0;
    // Odd sizes so the wrap point moves through every position of the ring.
    for (int round = 0; round < 500; ++round) {
        uint64_t want = uint64_t(round * 7 % 23 + 1);
        int64_t can = tern_libc_pipe_write_count(pipe.ring(), want, 0);
        if (can > 0) {
            std::vector<uint8_t> chunk(static_cast<size_t>(can));
            for (auto& b : chunk)
                b = next++;
            put(pipe.ring(), chunk.data(), chunk.size());
            written.insert(written.end(), chunk.begin(), chunk.end());
        }
        uint64_t ask = uint64_t(round * 5 % 19 + 1);
        int64_t got = tern_libc_pipe_read_count(pipe.ring(), ask);
        if (got > 0) {
            std::vector<uint8_t> chunk(static_cast<size_t>(got));
            take(pipe.ring(), chunk.data(), chunk.size());
            read.insert(read.end(), chunk.begin(), chunk.end());
        }
        REQUIRE(tern_libc_pipe_available(pipe.ring()) <= 64);
    }
    REQUIRE(read.size() <= written.size());
    CHECK(std::equal(read.begin(), read.end(), written.begin()));
    CHECK(written.size() - read.size() == tern_libc_pipe_available(pipe.ring()));
}

TEST_CASE("pipe: poll events of each end") {
    FullPipe pipe;
    const uint32_t both = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
    CHECK(tern_libc_pipe_poll(pipe.ring(), 0, both) == 0);
    CHECK(tern_libc_pipe_poll(pipe.ring(), 1, both) == (POLLOUT | POLLWRNORM));
    uint8_t byte = 1;
    put(pipe.ring(), &byte, 1);
    CHECK(tern_libc_pipe_poll(pipe.ring(), 0, POLLIN) == POLLIN);
    // Writable needs room for PIPE_BUF bytes.
    std::vector<uint8_t> block(TERN_LIBC_PIPE_CAPACITY - PIPE_BUF, 0);
    put(pipe.ring(), block.data(), block.size());
    CHECK(tern_libc_pipe_poll(pipe.ring(), 1, POLLOUT) == 0);
    uint8_t one;
    take(pipe.ring(), &one, 1);
    CHECK(tern_libc_pipe_poll(pipe.ring(), 1, POLLOUT) == POLLOUT);
    // No writers: POLLHUP for the reader, asked or not; no readers: POLLERR for the writer.
    pipe.ring()->writers = 0;
    CHECK(tern_libc_pipe_poll(pipe.ring(), 0, 0) == POLLHUP);
    CHECK(tern_libc_pipe_poll(pipe.ring(), 0, POLLIN) == (POLLIN | POLLHUP));
    pipe.ring()->readers = 0;
    CHECK(tern_libc_pipe_poll(pipe.ring(), 1, 0) == POLLERR);
}

TEST_CASE("pipe: pipe2 takes O_CLOEXEC and O_NONBLOCK only") {
    CHECK(tern_libc_pipe_check_flags(0) == 0);
    CHECK(tern_libc_pipe_check_flags(O_CLOEXEC | O_NONBLOCK) == 0);
    CHECK(tern_libc_pipe_check_flags(O_DIRECT) == -EINVAL);
    CHECK(tern_libc_pipe_check_flags(O_APPEND) == -EINVAL);
    CHECK(tern_libc_pipe_check_flags(-1) == -EINVAL);
}

TEST_CASE("the holder table records each process's ends and forgets a dead one", "[pipe]") {
    SmallPipe pipe;
    tern_libc_pipe_ring* ring = pipe.ring();
    tern_libc_pipe_holder table[4] = {};
    constexpr uint64_t kParent = (1ull << 32) | 20, kChild = (1ull << 32) | 21;
    REQUIRE(tern_libc_pipe_hold(table, 4, kParent, 1, 1) == 0);
    // A fork: the child gets copies of both ends.
    ring->readers += 1;
    ring->writers += 1;
    REQUIRE(tern_libc_pipe_hold(table, 4, kChild, 1, 1) == 0);
    // The child closes its read end, then is killed holding the write end.
    ring->readers -= 1;
    REQUIRE(tern_libc_pipe_hold(table, 4, kChild, -1, 0) == 0);
    CHECK(ring->writers == 2);
    // The parent closes its write end: a writer is still counted, so no end of file.
    ring->writers -= 1;
    REQUIRE(tern_libc_pipe_hold(table, 4, kParent, 0, -1) == 0);
    CHECK(tern_libc_pipe_read_count(ring, 1) == -EAGAIN);
    // The parent reaps the killed child: its write end goes.
    CHECK(tern_libc_pipe_forget(ring, table, 4, kChild) == 1);
    CHECK(ring->writers == 0);
    CHECK(ring->readers == 1);
    CHECK(tern_libc_pipe_read_count(ring, 1) == 0);
    // Forgotten once only; a process that closed everything has no entry left.
    CHECK(tern_libc_pipe_forget(ring, table, 4, kChild) == 0);
    REQUIRE(tern_libc_pipe_hold(table, 4, kParent, -1, 0) == 0);
    for (const auto& entry : table)
        CHECK(entry.pid == 0);
}

TEST_CASE("a full holder table refuses a new process, and pid 0 is not recorded", "[pipe]") {
    tern_libc_pipe_holder table[2] = {};
    CHECK(tern_libc_pipe_hold(table, 2, 1, 1, 0) == 0);
    CHECK(tern_libc_pipe_hold(table, 2, 2, 0, 1) == 0);
    CHECK(tern_libc_pipe_hold(table, 2, 3, 1, 0) == -1);
    CHECK(tern_libc_pipe_hold(table, 2, 1, 1, 0) == 0); // an existing entry still grows
    CHECK(table[0].readers == 2);
    CHECK(tern_libc_pipe_hold(table, 2, 0, 1, 1) == 0);
    CHECK(table[0].pid == 1);
    CHECK(table[1].pid == 2);
}

TEST_CASE("the holder table fits in the pipe object's last page", "[pipe]") {
    CHECK(TERN_LIBC_PIPE_HEADER + TERN_LIBC_PIPE_CAPACITY
              + TERN_LIBC_PIPE_HOLDERS * sizeof(tern_libc_pipe_holder)
          <= TERN_LIBC_PIPE_OBJECT_SIZE);
    CHECK(TERN_LIBC_PIPE_HOLDERS >= 200);
}

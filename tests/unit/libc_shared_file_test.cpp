// An open file description shared by several processes in Tern's musl port
// (libc/musl/portable/shared_file.h): the lock's states, a handler nesting in its own
// process's hold, the take-over of an ended holder's hold, the status flags kept, the
// holders' count, and two threads standing for two processes excluding each other.
#include <catch2/catch.hpp>

#include <atomic>
#include <fcntl.h>
#include <libc/musl/portable/shared_file.h>
#include <thread>

static_assert(TERN_LIBC_SHARED_STATUS_FLAGS == (O_APPEND | O_NONBLOCK));
static_assert(sizeof(tern_libc_shared_file) <= TERN_LIBC_SHARED_FILE_SIZE);

TEST_CASE("a new shared description keeps the offset and the status flags alone") {
    tern_libc_shared_file shared;
    tern_libc_shared_file_init(&shared, 42, O_RDWR | O_APPEND | O_NONBLOCK, 2);
    CHECK(shared.lock == 0);
    CHECK(shared.owner == 0);
    CHECK(shared.position == 42);
    CHECK(shared.status == unsigned(O_APPEND | O_NONBLOCK));
    CHECK(shared.holders == 2);
    // The access mode is each table's; the status bits come from the page.
    CHECK(tern_libc_shared_file_flags(&shared, O_WRONLY)
          == unsigned(O_WRONLY | O_APPEND | O_NONBLOCK));
    tern_libc_shared_file_store(&shared, 7, O_RDONLY | O_NONBLOCK);
    CHECK(shared.position == 7);
    CHECK(tern_libc_shared_file_flags(&shared, O_RDWR | O_APPEND) == unsigned(O_RDWR | O_NONBLOCK));
}

TEST_CASE("the lock: taken, busy for another process, nested for the holder's own") {
    tern_libc_shared_file shared;
    tern_libc_shared_file_init(&shared, 0, 0, 2);
    REQUIRE(tern_libc_shared_file_try_lock(&shared, 100, 0) == TERN_LIBC_SHARED_TAKEN);
    CHECK(shared.lock == 1);
    CHECK(shared.owner == 100);
    CHECK(tern_libc_shared_file_try_lock(&shared, 200, 0) == TERN_LIBC_SHARED_BUSY);
    CHECK(shared.lock == 1); // an attempt that will not sleep leaves no mark
    // A signal handler of the holder's process inside its call.
    CHECK(tern_libc_shared_file_try_lock(&shared, 100, 1) == TERN_LIBC_SHARED_NESTED);
    CHECK(shared.depth == 1);
    CHECK(tern_libc_shared_file_unlock(&shared, TERN_LIBC_SHARED_NESTED) == 0);
    CHECK(shared.lock == 1);
    CHECK(shared.depth == 0);
    // Another process about to sleep marks it waited for; the holder then wakes it.
    CHECK(tern_libc_shared_file_try_lock(&shared, 200, 1) == TERN_LIBC_SHARED_BUSY);
    CHECK(shared.lock == 2);
    CHECK(tern_libc_shared_file_unlock(&shared, TERN_LIBC_SHARED_TAKEN) == 1);
    CHECK(shared.lock == 0);
    CHECK(shared.owner == 0);
    // Woken, it takes it as waited for (others may sleep too), and its release says so.
    CHECK(tern_libc_shared_file_try_lock(&shared, 200, 1) == TERN_LIBC_SHARED_TAKEN);
    CHECK(shared.lock == 2);
    CHECK(shared.owner == 200);
    CHECK(tern_libc_shared_file_unlock(&shared, TERN_LIBC_SHARED_TAKEN) == 1);
    // Uncontended: no wake.
    CHECK(tern_libc_shared_file_try_lock(&shared, 100, 0) == TERN_LIBC_SHARED_TAKEN);
    CHECK(tern_libc_shared_file_unlock(&shared, TERN_LIBC_SHARED_TAKEN) == 0);
}

TEST_CASE("an ended holder's hold is taken over once, and never one's own or a changed one") {
    tern_libc_shared_file shared;
    tern_libc_shared_file_init(&shared, 0, 0, 2);
    REQUIRE(tern_libc_shared_file_try_lock(&shared, 100, 0) == TERN_LIBC_SHARED_TAKEN);
    CHECK(tern_libc_shared_file_take_over(&shared, 0, 200) == 0);
    CHECK(tern_libc_shared_file_take_over(&shared, 200, 200) == 0);
    CHECK(tern_libc_shared_file_take_over(&shared, 300, 200) == 0); // not the holder
    CHECK(tern_libc_shared_file_take_over(&shared, 100, 200) == 1);
    CHECK(shared.owner == 200);
    CHECK(shared.lock == 2);
    CHECK(tern_libc_shared_file_take_over(&shared, 100, 300) == 0); // it changed hands
    CHECK(tern_libc_shared_file_unlock(&shared, TERN_LIBC_SHARED_TAKEN) == 1);
    CHECK(shared.lock == 0);
}

TEST_CASE("holders are counted up and down") {
    tern_libc_shared_file shared;
    tern_libc_shared_file_init(&shared, 0, 0, 1);
    CHECK(tern_libc_shared_file_hold(&shared, 1) == 2);
    CHECK(tern_libc_shared_file_hold(&shared, 1) == 3);
    CHECK(tern_libc_shared_file_hold(&shared, -1) == 2);
    CHECK(tern_libc_shared_file_hold(&shared, -1) == 1);
    CHECK(tern_libc_shared_file_hold(&shared, -1) == 0);
}

TEST_CASE("two holders appending through the lock lose no update") {
    tern_libc_shared_file shared;
    tern_libc_shared_file_init(&shared, 0, 0, 2);
    constexpr int kRounds = 20000;
    std::atomic<int> inside{0};
    std::atomic<bool> overlap{false};
    auto writer = [&](uint64_t pid) {
        for (int i = 0; i < kRounds; ++i) {
            int r;
            while ((r = tern_libc_shared_file_try_lock(&shared, pid, 1)) == TERN_LIBC_SHARED_BUSY)
                std::this_thread::yield();
            REQUIRE(r == TERN_LIBC_SHARED_TAKEN);
            if (inside.fetch_add(1) != 0)
                overlap = true;
            // A read-modify-write of the offset, as a write call makes.
            uint64_t position = shared.position;
            std::this_thread::yield();
            tern_libc_shared_file_store(&shared, position + 3, 0);
            inside.fetch_sub(1);
            (void)tern_libc_shared_file_unlock(&shared, r);
        }
    };
    std::thread a(writer, 1), b(writer, 2);
    a.join();
    b.join();
    CHECK_FALSE(overlap);
    CHECK(shared.position == uint64_t(2) * kRounds * 3);
    CHECK(shared.lock == 0);
}

// Tests for FutexTable: FIFO wakes per key, requeue, removal of timed-out waiters, and a
// random run against a model.

#include <catch2/catch.hpp>
#include <kernel/containers/futex_table.h>

#include <deque>
#include <map>
#include <random>
#include <vector>

using kernel::obj::FutexKey;
using kernel::obj::FutexTable;
using kernel::obj::FutexWaiter;

namespace {

std::vector<int> wake_ids(FutexTable& table, const FutexKey& key, size_t count) {
    std::vector<int> ids;
    table.wake(key, count, [&](FutexWaiter& w) { ids.push_back(*static_cast<int*>(w.owner)); });
    return ids;
}

} // namespace

TEST_CASE("FutexTable wakes the oldest waiters of a key only") {
    FutexTable table;
    const FutexKey a{1, 0x1000}, b{1, 0x1004}, other_space{2, 0x1000};
    std::vector<FutexWaiter> waiters(6);
    std::vector<int> ids{0, 1, 2, 3, 4, 5};
    const FutexKey keys[] = {a, b, a, other_space, a, b};
    for (int i = 0; i < 6; ++i) {
        waiters[i].key = keys[i];
        waiters[i].owner = &ids[i];
        table.enqueue(waiters[i]);
    }
    CHECK(table.size() == 6);
    CHECK(table.count(a) == 3);
    CHECK(wake_ids(table, a, 2) == std::vector<int>{0, 2});
    CHECK(waiters[0].woken);
    CHECK(!waiters[4].woken);
    CHECK(wake_ids(table, a, 5) == std::vector<int>{4});
    CHECK(wake_ids(table, a, 5).empty());
    CHECK(wake_ids(table, other_space, 0).empty());
    CHECK(wake_ids(table, other_space, 1) == std::vector<int>{3});
    CHECK(table.size() == 2);
    // A waiter that timed out leaves; removing a woken one changes nothing.
    table.remove(waiters[1]);
    table.remove(waiters[0]);
    CHECK(table.size() == 1);
    CHECK(wake_ids(table, b, 9) == std::vector<int>{5});
    CHECK(table.size() == 0);
}

TEST_CASE("FutexTable requeue wakes some and moves the rest in order") {
    FutexTable table;
    const FutexKey from{7, 0x2000}, to{7, 0x3000};
    std::vector<FutexWaiter> waiters(5);
    std::vector<int> ids{0, 1, 2, 3, 4};
    for (int i = 0; i < 5; ++i) {
        waiters[i].key = from;
        waiters[i].owner = &ids[i];
        table.enqueue(waiters[i]);
    }
    FutexWaiter already;
    int already_id = 9;
    already.key = to;
    already.owner = &already_id;
    table.enqueue(already);
    std::vector<int> woken;
    auto note = [&](FutexWaiter& w) { woken.push_back(*static_cast<int*>(w.owner)); };
    CHECK(table.requeue(from, 1, to, 3, note) == 4);
    CHECK(woken == std::vector<int>{0});
    CHECK(table.count(from) == 1);
    CHECK(table.count(to) == 4);
    // The moved ones queue behind the waiter that was there, in their old order.
    CHECK(wake_ids(table, to, 9) == std::vector<int>{9, 1, 2, 3});
    CHECK(wake_ids(table, from, 9) == std::vector<int>{4});
    // Requeue onto the same key moves nothing but counts the waiters it would move.
    waiters[0].key = from;
    waiters[1].key = from;
    table.enqueue(waiters[0]);
    table.enqueue(waiters[1]);
    woken.clear();
    CHECK(table.requeue(from, 0, from, 5, note) == 2);
    CHECK(woken.empty());
    CHECK(table.size() == 2);
}

TEST_CASE("FutexTable matches a model over random operations") {
    std::mt19937 rng(1234);
    FutexTable table;
    constexpr int kWaiters = 400;
    std::vector<FutexWaiter> waiters(kWaiters);
    std::vector<int> ids(kWaiters);
    std::map<uint64_t, std::deque<int>> model; // address -> waiter ids, oldest first
    std::vector<bool> queued(kWaiters, false);
    auto key_of = [](uint64_t address) { return FutexKey{0xABC, address}; };
    for (int i = 0; i < kWaiters; ++i)
        ids[i] = i;
    for (int step = 0; step < 20000; ++step) {
        uint64_t address = 4 * (rng() % 12);
        switch (rng() % 4) {
        case 0: { // a waiter arrives
            int i = int(rng() % kWaiters);
            if (queued[i])
                break;
            waiters[i].key = key_of(address);
            waiters[i].owner = &ids[i];
            table.enqueue(waiters[i]);
            model[address].push_back(i);
            queued[i] = true;
            break;
        }
        case 1: { // a wait times out
            int i = int(rng() % kWaiters);
            if (!queued[i])
                break;
            table.remove(waiters[i]);
            auto& q = model[waiters[i].key.address];
            for (auto it = q.begin(); it != q.end(); ++it)
                if (*it == i) {
                    q.erase(it);
                    break;
                }
            queued[i] = false;
            break;
        }
        case 2: { // wake n
            size_t n = rng() % 4;
            std::vector<int> expected;
            auto& q = model[address];
            while (expected.size() < n && !q.empty()) {
                expected.push_back(q.front());
                q.pop_front();
            }
            std::vector<int> got = wake_ids(table, key_of(address), n);
            REQUIRE(got == expected);
            for (int i : got)
                queued[i] = false;
            break;
        }
        default: { // requeue to another address
            uint64_t target = 4 * (rng() % 12);
            size_t wake = rng() % 3, move = rng() % 4;
            auto& q = model[address];
            std::vector<int> expected_woken;
            while (expected_woken.size() < wake && !q.empty()) {
                expected_woken.push_back(q.front());
                q.pop_front();
            }
            size_t moved = 0;
            if (target == address) {
                moved = std::min(move, q.size());
            } else {
                auto& t = model[target];
                while (moved < move && !q.empty()) {
                    t.push_back(q.front());
                    q.pop_front();
                    ++moved;
                }
            }
            std::vector<int> got;
            size_t done =
                table.requeue(key_of(address), wake, key_of(target), move,
                              [&](FutexWaiter& w) { got.push_back(*static_cast<int*>(w.owner)); });
            REQUIRE(got == expected_woken);
            REQUIRE(done == expected_woken.size() + moved);
            for (int i : got)
                queued[i] = false;
            break;
        }
        }
        size_t total = 0;
        for (auto& [a, q] : model)
            total += q.size();
        REQUIRE(table.size() == total);
    }
}

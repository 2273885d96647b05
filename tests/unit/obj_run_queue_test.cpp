// Tests for the priority round-robin RunQueue.

#include <catch2/catch.hpp>
#include <kernel/containers/run_queue.h>

#include <deque>
#include <map>
#include <random>
#include <vector>

namespace {

struct FakeThread {
    base::ListNode run_link;
    uint8_t priority = 0;
    int id = 0;
    int runs = 0;
};

using ReadyQueue = kernel::obj::RunQueue<FakeThread, &FakeThread::run_link, &FakeThread::priority>;

std::vector<FakeThread> make_threads(int count, uint8_t priority) {
    std::vector<FakeThread> threads(count);
    for (int i = 0; i < count; ++i) {
        threads[i].id = i;
        threads[i].priority = priority;
    }
    return threads;
}

} // namespace

TEST_CASE("an empty run queue has nothing to run") {
    ReadyQueue queue;
    CHECK(queue.is_empty());
    CHECK(queue.size() == 0);
    CHECK(queue.pick_next() == nullptr);
    CHECK(queue.peek_next() == nullptr);
    CHECK_FALSE(queue.highest_priority().has_value());
    CHECK(queue.nonempty_mask() == 0);
    queue.rotate(); // harmless when empty
    queue.rotate(5);
}

TEST_CASE("the most urgent priority runs first, whatever the order of arrival") {
    ReadyQueue queue;
    FakeThread low, middle, high, top, bottom;
    low.priority = 3;
    middle.priority = 10;
    high.priority = 20;
    top.priority = 31;
    bottom.priority = 0;
    queue.enqueue(middle);
    queue.enqueue(bottom);
    queue.enqueue(top);
    queue.enqueue(low);
    queue.enqueue(high);
    CHECK(queue.size() == 5);
    CHECK(queue.highest_priority() == 31u);
    CHECK(queue.nonempty_mask() == ((1u << 0) | (1u << 3) | (1u << 10) | (1u << 20) | (1u << 31)));
    CHECK(queue.peek_next() == &top);
    CHECK(queue.pick_next() == &top);
    CHECK(queue.pick_next() == &high);
    CHECK(queue.pick_next() == &middle);
    CHECK(queue.pick_next() == &low);
    CHECK(queue.pick_next() == &bottom);
    CHECK(queue.pick_next() == nullptr);
    CHECK(queue.nonempty_mask() == 0);
    CHECK_FALSE(top.run_link.is_linked());
}

TEST_CASE("elements of one priority leave in arrival order") {
    ReadyQueue queue;
    auto threads = make_threads(6, 12);
    for (auto& thread : threads)
        queue.enqueue(thread);
    CHECK(queue.count_at(12) == 6);
    for (int i = 0; i < 6; ++i)
        CHECK(queue.pick_next()->id == i);
}

TEST_CASE("round robin gives equal turns to equal priorities") {
    ReadyQueue queue;
    auto threads = make_threads(7, 16);
    for (auto& thread : threads)
        queue.enqueue(thread);
    std::vector<int> order;
    // Each tick: run the next thread, then put it at the back as its slice expires.
    for (int tick = 0; tick < 7 * 100; ++tick) {
        FakeThread* current = queue.pick_next();
        REQUIRE(current != nullptr);
        ++current->runs;
        order.push_back(current->id);
        queue.enqueue(*current);
    }
    for (auto& thread : threads)
        CHECK(thread.runs == 100);
    // Strict rotation: the order repeats with period 7.
    for (size_t i = 7; i < order.size(); ++i)
        REQUIRE(order[i] == order[i - 7]);
}

TEST_CASE("a lower priority runs only when every higher level is empty") {
    ReadyQueue queue;
    auto busy = make_threads(3, 20);
    FakeThread background;
    background.priority = 5;
    queue.enqueue(background);
    for (auto& thread : busy)
        queue.enqueue(thread);
    for (int tick = 0; tick < 300; ++tick) {
        FakeThread* current = queue.pick_next();
        REQUIRE(current != &background);
        queue.enqueue(*current);
    }
    for (auto& thread : busy)
        queue.dequeue(thread); // they all block
    CHECK(queue.pick_next() == &background);
}

TEST_CASE("dequeue removes a chosen element and clears its level's bit when empty") {
    ReadyQueue queue;
    auto threads = make_threads(3, 8);
    FakeThread other;
    other.priority = 2;
    for (auto& thread : threads)
        queue.enqueue(thread);
    queue.enqueue(other);
    queue.dequeue(threads[1]);
    CHECK_FALSE(threads[1].run_link.is_linked());
    CHECK_FALSE(queue.contains(threads[1]));
    CHECK(queue.count_at(8) == 2);
    CHECK(queue.size() == 3);
    queue.dequeue(threads[0]);
    queue.dequeue(threads[2]);
    CHECK((queue.nonempty_mask() & (1u << 8)) == 0);
    CHECK(queue.highest_priority() == 2u);
    queue.dequeue(other);
    CHECK(queue.is_empty());
    CHECK(queue.nonempty_mask() == 0);
}

TEST_CASE("enqueue_front puts a preempted element ahead of its level") {
    ReadyQueue queue;
    auto threads = make_threads(3, 9);
    queue.enqueue(threads[0]);
    queue.enqueue(threads[1]);
    queue.enqueue_front(threads[2]);
    CHECK(queue.pick_next() == &threads[2]);
    CHECK(queue.pick_next() == &threads[0]);
}

TEST_CASE("rotate moves a level's front to its back") {
    ReadyQueue queue;
    auto threads = make_threads(3, 4);
    FakeThread single;
    single.priority = 30;
    for (auto& thread : threads)
        queue.enqueue(thread);
    queue.rotate(4);
    CHECK(queue.peek_next() == &threads[1]);
    queue.enqueue(single);
    queue.rotate(); // the highest level has one element: nothing moves
    CHECK(queue.peek_next() == &single);
    queue.dequeue(single);
    queue.rotate(); // now level 4 is the highest
    CHECK(queue.pick_next() == &threads[2]);
    CHECK(queue.pick_next() == &threads[0]);
    CHECK(queue.pick_next() == &threads[1]);
    queue.rotate(7); // an empty level
    CHECK(queue.is_empty());
}

TEST_CASE("change_priority moves an element to the back of its new level") {
    ReadyQueue queue;
    auto threads = make_threads(2, 6);
    FakeThread mover;
    mover.priority = 1;
    for (auto& thread : threads)
        queue.enqueue(thread);
    queue.enqueue(mover);
    queue.change_priority(mover, 6);
    CHECK(mover.priority == 6);
    CHECK(queue.count_at(1) == 0);
    CHECK(queue.count_at(6) == 3);
    CHECK(queue.size() == 3);
    CHECK(queue.pick_next() == &threads[0]);
    CHECK(queue.pick_next() == &threads[1]);
    CHECK(queue.pick_next() == &mover);
    queue.enqueue(mover);
    queue.change_priority(mover, 31);
    CHECK(queue.highest_priority() == 31u);
}

TEST_CASE("has_higher_than tells whether the running priority should be preempted") {
    ReadyQueue queue;
    FakeThread thread;
    thread.priority = 10;
    CHECK_FALSE(queue.has_higher_than(0));
    queue.enqueue(thread);
    CHECK(queue.has_higher_than(0));
    CHECK(queue.has_higher_than(9));
    CHECK_FALSE(queue.has_higher_than(10));
    CHECK_FALSE(queue.has_higher_than(31));
    FakeThread top;
    top.priority = 31;
    queue.enqueue(top);
    CHECK(queue.has_higher_than(30));
    CHECK_FALSE(queue.has_higher_than(31));
}

TEST_CASE("random operations match a model of per-level FIFOs") {
    constexpr int kThreads = 64;
    ReadyQueue queue;
    std::vector<FakeThread> threads(kThreads);
    std::vector<bool> queued(kThreads, false);
    std::deque<int> model[32];
    std::mt19937 rng(0x5eed);
    for (int i = 0; i < kThreads; ++i) {
        threads[i].id = i;
        threads[i].priority = uint8_t(rng() % 32);
    }
    auto model_remove = [&](int id) {
        auto& level = model[threads[id].priority];
        for (auto it = level.begin(); it != level.end(); ++it) {
            if (*it == id) {
                level.erase(it);
                return;
            }
        }
        FAIL("not in the model");
    };

    for (int step = 0; step < 50000; ++step) {
        int id = int(rng() % kThreads);
        FakeThread& thread = threads[id];
        switch (rng() % 6) {
        case 0:
        case 1:
            if (!queued[id]) {
                if (rng() % 4 == 0) {
                    queue.enqueue_front(thread);
                    model[thread.priority].push_front(id);
                } else {
                    queue.enqueue(thread);
                    model[thread.priority].push_back(id);
                }
                queued[id] = true;
            }
            break;
        case 2:
            if (queued[id]) {
                queue.dequeue(thread);
                model_remove(id);
                queued[id] = false;
            }
            break;
        case 3: {
            FakeThread* picked = queue.pick_next();
            int expected = -1;
            for (int level = 31; level >= 0; --level) {
                if (!model[level].empty()) {
                    expected = model[level].front();
                    model[level].pop_front();
                    break;
                }
            }
            if (expected < 0) {
                REQUIRE(picked == nullptr);
            } else {
                REQUIRE(picked == &threads[expected]);
                queued[expected] = false;
            }
            break;
        }
        case 4: {
            uint32_t level = rng() % 32;
            queue.rotate(level);
            if (model[level].size() >= 2) {
                model[level].push_back(model[level].front());
                model[level].pop_front();
            }
            break;
        }
        case 5:
            if (queued[id]) {
                uint8_t new_priority = uint8_t(rng() % 32);
                model_remove(id);
                queue.change_priority(thread, new_priority);
                model[new_priority].push_back(id);
            } else {
                thread.priority = uint8_t(rng() % 32);
            }
            break;
        }
        size_t total = 0;
        uint32_t mask = 0;
        for (uint32_t level = 0; level < 32; ++level) {
            total += model[level].size();
            if (!model[level].empty())
                mask |= 1u << level;
            REQUIRE(queue.count_at(level) == model[level].size());
        }
        REQUIRE(queue.size() == total);
        REQUIRE(queue.nonempty_mask() == mask);
    }
    while (queue.pick_next()) {
    }
}

// The tmpfs server's record lock table (servers/tmpfs/portable/locks.h): conflicts,
// splitting and merging of an owner's ranges, release by owner, task and node.
#include <catch2/catch.hpp>
#include <servers/tmpfs/portable/locks.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace tmpfs;

namespace {

LockRange range(uint64_t owner, uint32_t type, uint64_t start, uint64_t end, uint64_t inode = 7) {
    return {inode, owner, 100u + owner, type, start, end};
}

// The owner's locks on inode 7, as "type:start-end" in order of start.
std::string locks_of(const LockTable& t, uint64_t owner) {
    std::vector<const Lock*> found;
    for (size_t i = 0; i < LockTable::kMaxLocks; ++i)
        if (const Lock* l = t.at(i); l && l->owner == owner && l->inode == 7)
            found.push_back(l);
    std::sort(found.begin(), found.end(),
              [](const Lock* a, const Lock* b) { return a->start < b->start; });
    std::string s;
    for (const Lock* l : found) {
        s += l->type == kReadLock ? "r:" : "w:";
        s += std::to_string(l->start) + "-" + (l->end == kToEnd ? "end" : std::to_string(l->end));
        s += " ";
    }
    return s;
}

} // namespace

TEST_CASE("locks: readers share, a writer conflicts", "[tmpfs][locks]") {
    LockTable t;
    REQUIRE(t.set(range(1, kReadLock, 0, 10)) == 0);
    REQUIRE(t.set(range(2, kReadLock, 5, 15)) == 0);
    const Lock* blocker = nullptr;
    REQUIRE(t.set(range(3, kWriteLock, 9, 10), &blocker) == -LockTable::kEAGAIN);
    REQUIRE(blocker != nullptr);
    CHECK((blocker->owner == 1 || blocker->owner == 2));
    CHECK(t.conflict(range(3, kWriteLock, 15, 20)) == nullptr);
    CHECK(t.blocked_by(range(3, kWriteLock, 0, 1), 1));
    CHECK_FALSE(t.blocked_by(range(3, kWriteLock, 0, 1), 2));
    CHECK_FALSE(t.blocked_by(range(1, kWriteLock, 0, 1), 1));
    CHECK(t.conflict(range(3, kReadLock, 0, 20)) == nullptr);
    // Another node's ranges never conflict.
    CHECK(t.conflict(range(3, kWriteLock, 0, 20, 8)) == nullptr);
    // An unlock never conflicts.
    CHECK(t.conflict(range(3, kUnlock, 0, kToEnd)) == nullptr);
}

TEST_CASE("locks: to the end of the file", "[tmpfs][locks]") {
    LockTable t;
    REQUIRE(t.set(range(1, kWriteLock, 100, kToEnd)) == 0);
    CHECK(t.conflict(range(2, kReadLock, 0, 100)) == nullptr);
    const Lock* c = t.conflict(range(2, kReadLock, 1u << 30, (1u << 30) + 1));
    REQUIRE(c != nullptr);
    CHECK(c->owner == 1);
    CHECK(c->start == 100);
    CHECK(c->end == kToEnd);
}

TEST_CASE("locks: an owner's own locks never conflict; they split and merge", "[tmpfs][locks]") {
    LockTable t;
    REQUIRE(t.set(range(1, kReadLock, 0, 100)) == 0);
    REQUIRE(t.set(range(1, kWriteLock, 40, 60)) == 0);
    CHECK(locks_of(t, 1) == "r:0-40 w:40-60 r:60-100 ");
    REQUIRE(t.set(range(1, kUnlock, 10, 20)) == 0);
    CHECK(locks_of(t, 1) == "r:0-10 r:20-40 w:40-60 r:60-100 ");
    REQUIRE(t.set(range(1, kReadLock, 40, 60)) == 0);
    CHECK(locks_of(t, 1) == "r:0-10 r:20-100 ");
    REQUIRE(t.set(range(1, kReadLock, 10, 20)) == 0);
    CHECK(locks_of(t, 1) == "r:0-100 ");
    REQUIRE(t.set(range(1, kWriteLock, 50, kToEnd)) == 0);
    CHECK(locks_of(t, 1) == "r:0-50 w:50-end ");
    REQUIRE(t.set(range(1, kUnlock, 0, kToEnd)) == 0);
    CHECK(locks_of(t, 1).empty());
    CHECK(t.count() == 0);
}

TEST_CASE("locks: flock's and fcntl's locks never meet", "[tmpfs][locks]") {
    LockTable t;
    REQUIRE(t.set(range(1, kWriteLock, 0, kToEnd)) == 0);
    REQUIRE(t.set(range(kFlockOwner | 5, kWriteLock, 0, kToEnd)) == 0);
    CHECK(t.set(range(kFlockOwner | 6, kReadLock, 0, kToEnd)) == -LockTable::kEAGAIN);
    CHECK(t.set(range(2, kReadLock, 0, 1)) == -LockTable::kEAGAIN);
    const Lock* c = t.conflict(range(kFlockOwner | 6, kReadLock, 0, kToEnd));
    REQUIRE(c != nullptr);
    CHECK(c->owner == (kFlockOwner | 5));
    // Converted by another task (a child holding the description), it keeps the first.
    LockRange child = range(kFlockOwner | 5, kReadLock, 0, kToEnd);
    child.task = 999;
    REQUIRE(t.set(child) == 0);
    CHECK_FALSE(t.release_task(999));
    CHECK(t.release(7, kFlockOwner | 5));
    CHECK(t.set(range(kFlockOwner | 6, kReadLock, 0, kToEnd)) == 0);
}

TEST_CASE("locks: release by owner, task and node", "[tmpfs][locks]") {
    LockTable t;
    REQUIRE(t.set(range(1, kWriteLock, 0, 10)) == 0);
    REQUIRE(t.set(range(1, kWriteLock, 0, 10, 8)) == 0);
    REQUIRE(t.set(range(2, kReadLock, 20, 30)) == 0);
    CHECK(t.release(7, 1));
    CHECK_FALSE(t.release(7, 1));
    CHECK(t.count() == 2);
    CHECK(t.conflict(range(3, kWriteLock, 0, 10)) == nullptr);
    CHECK(t.conflict(range(3, kWriteLock, 0, 10, 8)) != nullptr);
    CHECK(t.release_task(101));
    CHECK(t.count() == 1);
    t.release_node(7);
    CHECK(t.count() == 0);
}

TEST_CASE("locks: a full table is ENOLCK and changes nothing", "[tmpfs][locks]") {
    LockTable t;
    for (uint64_t i = 0; i < LockTable::kMaxLocks; ++i)
        REQUIRE(t.set(range(1, kWriteLock, 2 * i, 2 * i + 1)) == 0);
    CHECK(t.set(range(2, kReadLock, 10000, 10001)) == -LockTable::kENOLCK);
    // Splitting one of them needs a slot too.
    CHECK(t.set(range(1, kUnlock, 0, 1)) == 0); // a whole lock goes: no slot needed
    CHECK(t.set(range(2, kReadLock, 10000, 10001)) == 0);
    CHECK(t.count() == LockTable::kMaxLocks);
    CHECK(t.set(range(1, kReadLock, 2, 3)) == 0); // replaces one in place
    CHECK(t.count() == LockTable::kMaxLocks);
}

#pragma once
// POSIX record locks (fcntl F_GETLK, F_SETLK, F_SETLKW) of a file server's files: byte
// ranges of a node, each held by one owner (a process's global pid) for reading (shared)
// or writing (exclusive). An owner's own locks never conflict with each other: a new
// lock replaces the owner's locks where it overlaps them (splitting them), and touching
// or overlapping ranges of the same type merge. Each lock also remembers the task that
// set it, so that all of a task's locks go when it ends.
//
// flock(2)'s whole-file locks share the table: their owners (open file descriptions) have
// kFlockOwner set, and they conflict only with each other, as on Linux; such a lock keeps
// the task that first set it when the description's other holders convert it.
//
// Ranges are [start, end) in bytes; kToEnd as end means "to the end of the file, however
// far it grows" (l_len 0). Portable: no system calls, tested on the host.
#include <stddef.h>
#include <stdint.h>

namespace tmpfs {

// struct flock's l_type values (Linux's).
inline constexpr uint32_t kReadLock = 0;
inline constexpr uint32_t kWriteLock = 1;
inline constexpr uint32_t kUnlock = 2;

inline constexpr uint64_t kToEnd = ~uint64_t(0);
inline constexpr int kEDEADLK = 35;
inline constexpr uint64_t kFlockOwner = uint64_t(1) << 63;

struct Lock {
    bool used = false;
    uint32_t type = kReadLock;
    uint64_t owner = 0;
    uint64_t task = 0;
    uint64_t inode = 0;
    uint64_t start = 0;
    uint64_t end = 0;
};

// A lock request: which node, who asks, what.
struct LockRange {
    uint64_t inode;
    uint64_t owner;
    uint64_t task;
    uint32_t type;
    uint64_t start;
    uint64_t end;
};

class LockTable {
public:
    static constexpr size_t kMaxLocks = 512;

    // The first lock of another owner on the node that conflicts with the request (two
    // overlapping locks conflict when either is a write lock); null when none does or the
    // request is an unlock.
    const Lock* conflict(const LockRange& r) const;

    // True when the request conflicts with a lock of `owner` (for deadlock detection).
    bool blocked_by(const LockRange& r, uint64_t owner) const;

    // Sets the request's type on its range for its owner (kUnlock removes the owner's locks
    // there). 0; -kEAGAIN on a conflict (*blocker, when given, is the conflicting lock);
    // -kENOLCK when the table has no room for the pieces.
    int set(const LockRange& r, const Lock** blocker = nullptr);

    // Removes all of the owner's locks on the node; true when there were some.
    bool release(uint64_t inode, uint64_t owner);
    // Removes all locks a task set; true when there were some.
    bool release_task(uint64_t task);
    // Removes all locks on a node (it was removed from the tree for good).
    void release_node(uint64_t inode);

    size_t count() const;
    const Lock* at(size_t i) const { return m_locks[i].used ? &m_locks[i] : nullptr; }

    static constexpr int kEAGAIN = 11;
    static constexpr int kENOLCK = 37;

private:
    Lock* free_slot();
    size_t free_count() const;
    Lock m_locks[kMaxLocks];
};

} // namespace tmpfs

#include <servers/tmpfs/portable/locks.h>

namespace tmpfs {

namespace {

bool overlaps(const Lock& l, uint64_t start, uint64_t end) {
    return l.start < end && start < l.end;
}

// fcntl's locks and flock's never meet.
bool same_kind(uint64_t a, uint64_t b) { return ((a ^ b) & kFlockOwner) == 0; }

} // namespace

const Lock* LockTable::conflict(const LockRange& r) const {
    if (r.type == kUnlock)
        return nullptr;
    for (const Lock& l : m_locks) {
        if (l.used && l.inode == r.inode && l.owner != r.owner && same_kind(l.owner, r.owner)
            && overlaps(l, r.start, r.end) && (l.type == kWriteLock || r.type == kWriteLock))
            return &l;
    }
    return nullptr;
}

bool LockTable::blocked_by(const LockRange& r, uint64_t owner) const {
    if (r.type == kUnlock || owner == r.owner)
        return false;
    for (const Lock& l : m_locks) {
        if (l.used && l.inode == r.inode && l.owner == owner && overlaps(l, r.start, r.end)
            && (l.type == kWriteLock || r.type == kWriteLock))
            return true;
    }
    return false;
}

Lock* LockTable::free_slot() {
    for (Lock& l : m_locks)
        if (!l.used)
            return &l;
    return nullptr;
}

size_t LockTable::free_count() const { return kMaxLocks - count(); }

size_t LockTable::count() const {
    size_t n = 0;
    for (const Lock& l : m_locks)
        n += l.used;
    return n;
}

int LockTable::set(const LockRange& r, const Lock** blocker) {
    if (const Lock* c = conflict(r)) {
        if (blocker)
            *blocker = c;
        return -kEAGAIN;
    }
    // Room first, so that a refused request changes nothing: the new lock, and a second
    // piece of the one lock of the owner that may hold the range strictly inside it.
    // Locks of the owner wholly inside the range free their slots.
    size_t needed = r.type != kUnlock;
    size_t freed = 0;
    for (const Lock& l : m_locks) {
        if (!l.used || l.inode != r.inode || l.owner != r.owner || !overlaps(l, r.start, r.end))
            continue;
        if (l.start < r.start && l.end > r.end)
            ++needed;
        else if (l.start >= r.start && l.end <= r.end)
            ++freed;
    }
    if (needed > free_count() + freed)
        return -kENOLCK;
    // A flock lock stays with the task that first set it: a child that flocks the
    // description it inherited does not take the lock away with it when it ends.
    uint64_t task = r.task;
    if (r.owner & kFlockOwner)
        for (const Lock& l : m_locks)
            if (l.used && l.inode == r.inode && l.owner == r.owner)
                task = l.task;
    // The owner's locks leave the range.
    for (Lock& l : m_locks) {
        if (!l.used || l.inode != r.inode || l.owner != r.owner || !overlaps(l, r.start, r.end))
            continue;
        if (l.start < r.start && l.end > r.end) {
            Lock* right = free_slot();
            *right = l;
            right->start = r.end;
            l.end = r.start;
        } else if (l.start < r.start) {
            l.end = r.start;
        } else if (l.end > r.end) {
            l.start = r.end;
        } else {
            l.used = false;
        }
    }
    if (r.type == kUnlock)
        return 0;
    // The new lock, merged with the owner's touching locks of its type.
    uint64_t start = r.start;
    uint64_t end = r.end;
    for (bool merged = true; merged;) {
        merged = false;
        for (Lock& l : m_locks) {
            if (l.used && l.inode == r.inode && l.owner == r.owner && l.type == r.type
                && (l.end == start || l.start == end)) {
                start = l.start < start ? l.start : start;
                end = l.end > end ? l.end : end;
                l.used = false;
                merged = true;
            }
        }
    }
    Lock* l = free_slot();
    *l = {true, r.type, r.owner, task, r.inode, start, end};
    return 0;
}

bool LockTable::release(uint64_t inode, uint64_t owner) {
    bool any = false;
    for (Lock& l : m_locks) {
        if (l.used && l.inode == inode && l.owner == owner) {
            l.used = false;
            any = true;
        }
    }
    return any;
}

bool LockTable::release_task(uint64_t task) {
    bool any = false;
    for (Lock& l : m_locks) {
        if (l.used && l.task == task) {
            l.used = false;
            any = true;
        }
    }
    return any;
}

void LockTable::release_node(uint64_t inode) {
    for (Lock& l : m_locks)
        if (l.used && l.inode == inode)
            l.used = false;
}

} // namespace tmpfs

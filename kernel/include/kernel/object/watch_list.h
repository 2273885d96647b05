#pragma once
// Death notices (object_watch): the watches kept on a task or a port, each with its
// notice allocated up front.
#include <base/intrusive_list.h>
#include <base/result.h>
#include <kernel/object/kobject.h>
#include <kernel/object/quota.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel {

class Port;

// A death notice (object_watch): made when an object is watched, kept on the watched
// object's WatchList, and moved onto the watching port's pending list when the object
// goes away. Allocating it up front is what makes delivery unable to fail.
struct Notice {
    base::ListNode link;
    obj::Ref<Port> port; // the port to notify; cleared once the notice is pending there
    uint64_t cookie = 0;
    int64_t status = 0;
    uint32_t type = 0;
    QuotaCharge charge; // to the account of the task that asked for the watch
};

// The watches on one task or port.
class WatchList {
public:
    static constexpr size_t kMaxWatches = 64;
    WatchList() = default;
    WatchList(const WatchList&) = delete;
    WatchList& operator=(const WatchList&) = delete;
    ~WatchList() { clear(); }
    // Charged to `account` (the watcher's) while the notice exists. NO_MEMORY,
    // QUOTA_EXCEEDED (this list's bound or the account's watch limit).
    base::Result<void> add(obj::Ref<Port> port, uint64_t cookie, uint32_t type,
                           KernelAccount* account = nullptr);
    // The object went away: every notice goes to its port with this status.
    void fire(int64_t status);
    // Drops every watch without notice.
    void clear();
    // Cancels the watch that would notify `port` with `cookie`. NOT_FOUND: none (it may
    // have fired already).
    base::Result<void> remove(Port& port, uint64_t cookie);

private:
    void drop_dead_watchers();

    base::IntrusiveList<Notice, &Notice::link> m_list;
    size_t m_count = 0;
};

} // namespace kernel

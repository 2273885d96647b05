// Death notices: the watches on an object and their delivery when it goes.
#include <kernel/core/memory.h>
#include <kernel/object/port.h>
#include <kernel/object/watch_list.h>

namespace kernel {

base::Result<void> WatchList::add(obj::Ref<Port> port, uint64_t cookie, uint32_t type,
                                  KernelAccount* account) {
    if (m_count >= kMaxWatches)
        drop_dead_watchers();
    if (m_count >= kMaxWatches)
        return base::Error::QUOTA_EXCEEDED;
    QuotaCharge charge = TRY(QuotaCharge::take(account, QuotaKind::kWatches));
    auto* notice = new (kNoThrow) Notice;
    if (!notice)
        return base::Error::NO_MEMORY;
    notice->charge = base::move(charge);
    notice->port = base::move(port);
    notice->cookie = cookie;
    notice->type = type;
    m_list.push_back(*notice);
    ++m_count;
    return {};
}

void WatchList::fire(int64_t status) {
    InterruptGuard guard;
    while (Notice* n = m_list.pop_front()) {
        --m_count;
        n->status = status;
        obj::Ref<Port> port = base::move(n->port);
        port->post_notice(*n);
    }
}

void WatchList::drop_dead_watchers() {
    // A watch whose notice port has lost its receiver can never be read: it would only
    // hold the port and a slot until the watched object goes.
    for (Notice* n = m_list.front(); n;) {
        Notice* next = m_list.next(*n);
        if (n->port->closed()) {
            m_list.remove(*n);
            --m_count;
            delete n;
        }
        n = next;
    }
}

base::Result<void> WatchList::remove(Port& port, uint64_t cookie) {
    for (Notice* n = m_list.front(); n; n = m_list.next(*n)) {
        if (n->port.get() == &port && n->cookie == cookie) {
            m_list.remove(*n);
            --m_count;
            delete n;
            return {};
        }
    }
    return base::Error::NOT_FOUND;
}

void WatchList::clear() {
    while (Notice* n = m_list.pop_front())
        delete n;
    m_count = 0;
}

} // namespace kernel

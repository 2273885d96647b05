#include "remote_ports.h"

#include <base/utility.h>

namespace tern::bus {

using base::Error;

base::Result<uint64_t> RemotePorts::set_root(uint64_t serial, uint64_t object, uint32_t handle) {
    if (serial != kRootNameSerial && serial != kRootProcSerial)
        return Error::INVALID_ARGUMENT;
    uint64_t id = global_port_id(m_self, serial);
    if (find_export(id))
        return Error::ALREADY_EXISTS;
    if (m_export_count == kMaxExports)
        return Error::NO_SPACE;
    m_exports[m_export_count++] = {id, object, handle, {}, 0};
    return id;
}

base::Result<uint64_t> RemotePorts::export_port(uint64_t object, uint32_t handle, bool& created) {
    created = false;
    for (size_t i = 0; i < m_export_count; ++i) {
        if (m_exports[i].object == object)
            return m_exports[i].id;
    }
    if (m_export_count == kMaxExports || m_next_serial > kSerialMask)
        return Error::NO_SPACE;
    uint64_t id = global_port_id(m_self, m_next_serial++);
    m_exports[m_export_count++] = {id, object, handle, {}, 0};
    created = true;
    return id;
}

const RemotePorts::Export* RemotePorts::find_export(uint64_t id) const {
    for (size_t i = 0; i < m_export_count; ++i) {
        if (m_exports[i].id == id)
            return &m_exports[i];
    }
    return nullptr;
}

base::Result<uint32_t> RemotePorts::adopt_export(uint64_t id, uint64_t object, uint32_t handle) {
    uint64_t serial = port_id_serial(id);
    if (!is_valid_port_id(id) || serial == kRootNameSerial || serial == kRootProcSerial)
        return Error::INVALID_ARGUMENT;
    for (size_t i = 0; i < m_export_count; ++i) {
        if (m_exports[i].id == id) {
            // Its holders stay: they hold proxies for the id wherever it lives.
            m_exports[i].object = object;
            return base::exchange(m_exports[i].handle, handle);
        }
    }
    if (m_export_count == kMaxExports)
        return Error::NO_SPACE;
    m_exports[m_export_count++] = {id, object, handle};
    return uint32_t(0);
}

uint32_t RemotePorts::replace_export_handle(uint64_t id, uint32_t handle) {
    for (size_t i = 0; i < m_export_count; ++i) {
        if (m_exports[i].id == id)
            return base::exchange(m_exports[i].handle, handle);
    }
    return 0;
}

uint32_t RemotePorts::remove_export(uint64_t id) {
    uint64_t serial = port_id_serial(id);
    if (port_id_node(id) == m_self && (serial == kRootNameSerial || serial == kRootProcSerial))
        return 0;
    for (size_t i = 0; i < m_export_count; ++i) {
        if (m_exports[i].id == id) {
            uint32_t handle = m_exports[i].handle;
            for (uint32_t h = 0; h < m_exports[i].holder_count; ++h)
                queue_notice(id, m_exports[i].holders[h]);
            m_exports[i] = m_exports[--m_export_count];
            m_exports[m_export_count] = {};
            return handle;
        }
    }
    return 0;
}

bool RemotePorts::add_holder(uint64_t id, uint16_t node) {
    if (node == 0 || node == m_self)
        return false;
    for (size_t i = 0; i < m_export_count; ++i) {
        Export& e = m_exports[i];
        if (e.id != id)
            continue;
        uint64_t serial = port_id_serial(id);
        if (serial == kRootNameSerial || serial == kRootProcSerial)
            return true;
        for (uint32_t h = 0; h < e.holder_count; ++h) {
            if (e.holders[h] == node)
                return true;
        }
        if (e.holder_count == kMaxHolders)
            return false;
        e.holders[e.holder_count++] = node;
        return true;
    }
    return false;
}

void RemotePorts::queue_notice(uint64_t id, uint16_t node) {
    if (m_notice_count == kMaxGoneNotices) {
        ++m_notices_dropped;
        return;
    }
    m_notices[(m_notice_head + m_notice_count++) % kMaxGoneNotices] = {id, node};
}

bool RemotePorts::next_notice(GoneNotice& out) const {
    if (m_notice_count == 0)
        return false;
    out = m_notices[m_notice_head];
    return true;
}

void RemotePorts::pop_notice() {
    if (m_notice_count == 0)
        return;
    m_notices[m_notice_head] = {};
    m_notice_head = (m_notice_head + 1) % kMaxGoneNotices;
    --m_notice_count;
}

size_t RemotePorts::forget_holder(uint16_t node) {
    for (size_t i = 0; i < m_export_count; ++i) {
        Export& e = m_exports[i];
        for (uint32_t h = 0; h < e.holder_count;) {
            if (e.holders[h] == node)
                e.holders[h] = e.holders[--e.holder_count];
            else
                ++h;
        }
    }
    // The queue is compacted in order, without node's notices.
    size_t kept = 0;
    size_t dropped = 0;
    for (size_t i = 0; i < m_notice_count; ++i) {
        GoneNotice n = m_notices[(m_notice_head + i) % kMaxGoneNotices];
        if (n.node == node)
            ++dropped;
        else
            m_notices[(m_notice_head + kept++) % kMaxGoneNotices] = n;
    }
    for (size_t i = kept; i < m_notice_count; ++i)
        m_notices[(m_notice_head + i) % kMaxGoneNotices] = {};
    m_notice_count = kept;
    return dropped;
}

const RemotePorts::Proxy* RemotePorts::find_proxy(uint64_t id) const {
    if (id == 0)
        return nullptr;
    for (const Proxy& p : m_proxies) {
        if (p.id == id)
            return &p;
    }
    return nullptr;
}

uint32_t RemotePorts::key_of(uint64_t id) const {
    const Proxy* p = find_proxy(id);
    return p ? uint32_t(kProxyKeyBase + size_t(p - m_proxies)) : 0;
}

const RemotePorts::Proxy* RemotePorts::proxy_at_key(uint32_t key) const {
    if (key < kProxyKeyBase || key - kProxyKeyBase >= kMaxProxies)
        return nullptr;
    const Proxy& p = m_proxies[key - kProxyKeyBase];
    return p.id ? &p : nullptr;
}

base::Result<uint32_t> RemotePorts::add_proxy(uint64_t id, uint32_t handle, uint16_t node) {
    if (node == 0)
        node = port_id_node(id);
    if (!is_valid_port_id(id) || node == m_self)
        return Error::INVALID_ARGUMENT;
    if (find_proxy(id))
        return Error::ALREADY_EXISTS;
    if (is_gone(id))
        return Error::PEER_CLOSED;
    for (size_t i = 0; i < kMaxProxies; ++i) {
        if (m_proxies[i].id == 0) {
            m_proxies[i] = {id, handle, node, kSendWindow};
            ++m_proxy_count;
            return uint32_t(kProxyKeyBase + i);
        }
    }
    return Error::NO_SPACE;
}

uint32_t RemotePorts::remove_proxy(uint64_t id) {
    for (Proxy& p : m_proxies) {
        if (id != 0 && p.id == id) {
            uint32_t handle = p.handle;
            p = {};
            --m_proxy_count;
            return handle;
        }
    }
    return 0;
}

bool RemotePorts::move_proxy(uint64_t id, uint16_t node) {
    Proxy* p = proxy_of(id);
    if (!p || node == 0 || node == m_self)
        return false;
    p->node = node;
    return true;
}

uint32_t RemotePorts::port_gone(uint64_t id) {
    // Our own id too: a port of ours that moved away and died where it went.
    if (!is_valid_port_id(id))
        return 0;
    if (!is_gone(id)) {
        m_gone[m_gone_next] = id;
        m_gone_next = (m_gone_next + 1) % kGoneMemory;
    }
    return remove_proxy(id);
}

bool RemotePorts::is_gone(uint64_t id) const {
    if (id == 0)
        return false;
    for (uint64_t g : m_gone) {
        if (g == id)
            return true;
    }
    return false;
}

size_t RemotePorts::remove_proxies_of(uint16_t node, base::Span<uint32_t> out) {
    // Its next life numbers its exports afresh: ids of this one are no longer known gone.
    for (uint64_t& g : m_gone) {
        if (g != 0 && port_id_node(g) == node)
            g = 0;
    }
    size_t n = 0;
    for (Proxy& p : m_proxies) {
        if (p.id != 0 && p.node == node && n < out.size()) {
            out[n++] = p.handle;
            p = {};
            --m_proxy_count;
        }
    }
    return n;
}

RemotePorts::Proxy* RemotePorts::proxy_of(uint64_t id) {
    for (Proxy& p : m_proxies) {
        if (id != 0 && p.id == id)
            return &p;
    }
    return nullptr;
}

base::Result<uint32_t> RemotePorts::take_send_credit(uint64_t id) {
    Proxy* p = proxy_of(id);
    if (!p)
        return Error::NOT_FOUND;
    if (p->credits == 0)
        return Error::WOULD_BLOCK;
    return --p->credits;
}

base::Result<uint32_t> RemotePorts::add_send_credit(uint64_t id, uint32_t count) {
    Proxy* p = proxy_of(id);
    if (!p)
        return Error::NOT_FOUND;
    if (count == 0 || count > kSendWindow - p->credits)
        return Error::INVALID_ARGUMENT;
    uint32_t before = p->credits;
    p->credits += count;
    return before;
}

base::Result<uint64_t> RemotePorts::add_forwarded(uint16_t node, uint32_t reply) {
    for (ForwardedCall& c : m_forwarded) {
        if (c.call_id == 0) {
            c = {m_next_call_id++, node, reply};
            ++m_forwarded_count;
            return c.call_id;
        }
    }
    return Error::NO_SPACE;
}

uint32_t RemotePorts::take_forwarded(uint16_t node, uint64_t call_id) {
    if (call_id == 0)
        return 0;
    for (ForwardedCall& c : m_forwarded) {
        if (c.call_id == call_id && c.node == node) {
            uint32_t reply = c.reply;
            c = {};
            --m_forwarded_count;
            return reply;
        }
    }
    return 0;
}

size_t RemotePorts::take_forwarded_of(uint16_t node, base::Span<uint32_t> out) {
    size_t n = 0;
    for (ForwardedCall& c : m_forwarded) {
        if (c.call_id != 0 && c.node == node && n < out.size()) {
            out[n++] = c.reply;
            c = {};
            --m_forwarded_count;
        }
    }
    return n;
}

base::Result<RemotePorts::Slot> RemotePorts::add_served(uint16_t node, uint64_t call_id) {
    for (size_t port = 0; port < kReplyPorts; ++port) {
        if (m_served_per_port[port] == kCallsPerReplyPort)
            continue;
        for (size_t i = port * kCallsPerReplyPort; i < (port + 1) * kCallsPerReplyPort; ++i) {
            if (!m_served[i].used) {
                m_served[i] = {true, node, call_id};
                ++m_served_per_port[port];
                ++m_served_count;
                return Slot{uint64_t(i), port};
            }
        }
    }
    return Error::NO_SPACE;
}

bool RemotePorts::take_served(uint64_t cookie, ServedCall& out) {
    if (cookie >= kMaxServedCalls || !m_served[cookie].used)
        return false;
    out = m_served[cookie];
    m_served[cookie] = {};
    --m_served_per_port[cookie / kCallsPerReplyPort];
    --m_served_count;
    return true;
}

size_t RemotePorts::orphan_served_of(uint16_t node) {
    size_t n = 0;
    for (ServedCall& c : m_served) {
        if (c.used && c.node == node && node != 0) {
            // Node 0 is no node: the answer is dropped when it comes.
            c.node = 0;
            ++n;
        }
    }
    return n;
}

} // namespace tern::bus

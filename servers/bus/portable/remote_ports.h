#pragma once
// The bus's tables for remote ports (docs/bus.md, "Remote ports"): a pure state machine
// over handle values and ids, like the transport, so the host tests run it as the
// network server does.
//
// - Exports: ports of this node that other nodes may address. Each holds a SEND right
//   the bus keeps (a handle value here) under a global id node << 48 | serial. The root
//   exports (serials 1 and 2: the name server and proc) are fixed; the bus numbers the
//   others from kFirstSerial. An export is found again by its id (a message for it) or
//   by the identity of its kernel object (a second export of the same port reuses the
//   id); the owner supplies that identity. Each export also remembers its holders: the
//   nodes it sent the id to (kMaxHolders of them). When its port dies and the export is
//   removed, a kPortGone notice is queued for each holder, for the owner to send at once,
//   so the holder closes its proxy without waiting for a message to find the port gone.
// - Proxies: a local port for each remote id this node learned. The bus keeps the
//   receive right in its port set under the key kProxyKeyBase + the proxy's index and
//   hands out SEND rights to it; a message received there goes to the exporting node.
//   When that node is declared down or the remote port dies, the proxy is closed. The
//   last kGoneMemory ids a node said were gone are remembered: a proxy for one of them
//   is refused, so no proxy outlives the notice that its port died.
// - Forwarded calls (this node called a proxy): the caller's reply right waits under a
//   call id until the exporting node answers, or fails when it goes down.
// - Served calls (another node called one of our exports): each takes a slot of one of
//   the reply ports port_call_async answers on (kCallsPerReplyPort each, the kernel's
//   reservation per 64-message queue); the cookie is the slot, which remembers the
//   calling node and its call id.
#include "remote.h"

#include <base/result.h>
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>

namespace tern::bus {

class RemotePorts {
public:
    static constexpr size_t kMaxExports = 256;
    // Each proxy is a receive right in the network server's handle table (1,024
    // handles: the exports, the proxies, the reply ports and the server's own).
    static constexpr size_t kMaxProxies = 512;
    static constexpr size_t kMaxForwardedCalls = 256;
    static constexpr size_t kReplyPorts = 3;
    static constexpr size_t kCallsPerReplyPort = 64;
    static constexpr size_t kMaxServedCalls = kReplyPorts * kCallsPerReplyPort;
    // Port set keys: 1..kReplyPorts are the reply ports, proxies follow.
    static constexpr uint32_t kProxyKeyBase = 1 + kReplyPorts;
    // Nodes remembered per export as holding a proxy for it. The bus makes a new export
    // for every right it is given, so an id normally goes to one node; a holder beyond
    // the limit learns that the port died only when it next addresses it.
    static constexpr size_t kMaxHolders = 4;
    // kPortGone notices waiting to be sent (the transport's queue to a node was full).
    static constexpr size_t kMaxGoneNotices = 1024;
    // Remote ids remembered as gone (kPortGone received), newest kGoneMemory.
    static constexpr size_t kGoneMemory = 64;

    struct Export {
        uint64_t id = 0;
        uint64_t object = 0;                // the kernel object's identity, as the owner gave it
        uint32_t handle = 0;                // the SEND right the bus keeps
        uint16_t holders[kMaxHolders] = {}; // nodes told the id (not kept for roots)
        uint32_t holder_count = 0;
    };
    // A node to tell that one of our exports died.
    struct GoneNotice {
        uint64_t id = 0;
        uint16_t node = 0;
    };
    struct Proxy {
        uint64_t id = 0;     // the remote port's global id; 0: a free slot
        uint32_t handle = 0; // the receive right, a member of the bus's port set
        uint16_t node = 0;   // where the port lives now: its id's node, until it moves
        // Sends the bus may still forward before the exporting node returns credits
        // (kSendWindow at first). At 0 the owner takes the proxy out of its port set, so
        // its queue fills and local senders wait as on a full local port.
        uint32_t credits = kSendWindow;
    };
    struct ForwardedCall {
        uint64_t call_id = 0; // 0: a free slot
        uint16_t node = 0;    // the node the call went to
        uint32_t reply = 0;   // the caller's reply right
    };
    struct ServedCall {
        bool used = false;
        uint16_t node = 0;    // the calling node
        uint64_t call_id = 0; // its call id
    };

    explicit RemotePorts(uint16_t self) : m_self(self) {}

    uint16_t self() const { return m_self; }

    // ---- Exports
    // A root export (serial kRootNameSerial or kRootProcSerial) of handle. INVALID_ARGUMENT
    // for another serial, ALREADY_EXISTS when set already.
    base::Result<uint64_t> set_root(uint64_t serial, uint64_t object, uint32_t handle);
    // The id of object's export, made with handle if it has none; created says which
    // (when false the owner closes its handle, the table kept the first). NO_SPACE: the
    // table is full.
    base::Result<uint64_t> export_port(uint64_t object, uint32_t handle, bool& created);
    const Export* find_export(uint64_t id) const;
    // Removes the export (its port died); returns its handle for the owner to close, or
    // 0 when there was none. Root exports stay. A kPortGone notice is queued for each of
    // its holders (next_notice).
    uint32_t remove_export(uint64_t id);
    size_t export_count() const { return m_export_count; }
    // A port that moved here from another node keeps its global id: exports it under id
    // (any node's, not a root) with handle. Returns the handle the id had here before, for
    // the owner to close (0: none). INVALID_ARGUMENT: a root or invalid id; NO_SPACE.
    base::Result<uint32_t> adopt_export(uint64_t id, uint64_t object, uint32_t handle);
    // Keeps handle for id's export instead of the one it had (a right with more rights
    // to the same port), which it returns for the owner to close; 0 (nothing changed)
    // when there is no such export.
    uint32_t replace_export_handle(uint64_t id, uint32_t handle);
    // Records that node was sent id (an export of this node). true when node is a
    // holder now (or id is a root export, which never dies); false for an unknown id,
    // node 0 or this node, or an export with kMaxHolders holders already.
    bool add_holder(uint64_t id, uint16_t node);
    // The oldest notice waiting to be sent; false when none waits.
    bool next_notice(GoneNotice& out) const;
    // Drops the notice next_notice gave (sent, or its node cannot be told).
    void pop_notice();
    size_t notice_count() const { return m_notice_count; }
    // Notices that found the queue full and were dropped (their holders learn lazily).
    uint64_t notices_dropped() const { return m_notices_dropped; }
    // Forgets node as a holder of every export and drops its waiting notices (node
    // lost: its proxies went with it, and its next life never held any). Returns how
    // many notices were dropped.
    size_t forget_holder(uint16_t node);

    // ---- Proxies
    // The proxy for a remote id, or nullptr.
    const Proxy* find_proxy(uint64_t id) const;
    // The port set key of id's proxy (0: none).
    uint32_t key_of(uint64_t id) const;
    // The proxy received on port set key, or nullptr.
    const Proxy* proxy_at_key(uint32_t key) const;
    // Records a new proxy whose receive right is handle, for a port that lives on node (0:
    // its id's node); returns its port set key. INVALID_ARGUMENT: no valid id, or a port
    // that lives here; ALREADY_EXISTS; NO_SPACE; PEER_CLOSED: a node said the port is gone
    // (port_gone).
    base::Result<uint32_t> add_proxy(uint64_t id, uint32_t handle, uint16_t node = 0);
    // id's port now lives on node (a move, or a hint from the node it lived on): later
    // messages go there. false: no proxy, or node is 0 or this one.
    bool move_proxy(uint64_t id, uint16_t node);
    // Removes the proxy for id; returns its receive right (for the owner to close, which
    // fails local senders with PEER_CLOSED and fires their object_watch), or 0.
    uint32_t remove_proxy(uint64_t id);
    // A node says id's port died (kPortGone): removes the proxy as remove_proxy does and
    // remembers id, so a proxy for it is never made again.
    uint32_t port_gone(uint64_t id);
    // Whether id is among the last kGoneMemory ids port_gone was given.
    bool is_gone(uint64_t id) const;
    // Removes every proxy of a port that lives on node (declared down); writes their
    // receive rights to out and returns how many. out must hold kMaxProxies. The ids of
    // node remembered as gone are forgotten: a node's next life numbers its exports from
    // kFirstSerial again.
    size_t remove_proxies_of(uint16_t node, base::Span<uint32_t> out);
    size_t proxy_count() const { return m_proxy_count; }
    // Takes one send credit of id's proxy and returns how many are left. NOT_FOUND: no
    // proxy; WOULD_BLOCK: none left (the owner should have stopped receiving on it).
    base::Result<uint32_t> take_send_credit(uint64_t id);
    // Returns count credits to id's proxy (a credit message from its node); the result
    // is the number it had before (0: the owner puts the proxy back in its port set).
    // NOT_FOUND: no proxy (closed meanwhile); INVALID_ARGUMENT: more than were taken,
    // which a node that keeps the protocol never sends.
    base::Result<uint32_t> add_send_credit(uint64_t id, uint32_t count);

    // ---- Calls this node forwarded
    // Keeps reply under a new call id. NO_SPACE when kMaxForwardedCalls wait.
    base::Result<uint64_t> add_forwarded(uint16_t node, uint32_t reply);
    // Takes the reply right of call_id from node (0: no such call, or from another node,
    // which a peer with the key cannot make us answer).
    uint32_t take_forwarded(uint16_t node, uint64_t call_id);
    // Takes every reply right waiting on node (down): the owner fails them.
    size_t take_forwarded_of(uint16_t node, base::Span<uint32_t> out);
    size_t forwarded_count() const { return m_forwarded_count; }

    // ---- Calls this node serves for others
    // A slot for node's call_id: its cookie (slot index) and which reply port to give
    // port_call_async (0..kReplyPorts-1). NO_SPACE when every reply port is full
    // (the owner answers the caller WOULD_BLOCK).
    struct Slot {
        uint64_t cookie;
        size_t reply_port;
    };
    base::Result<Slot> add_served(uint16_t node, uint64_t call_id);
    // Frees the slot named by cookie and returns who waits for the answer; false for a
    // cookie that is not in use.
    bool take_served(uint64_t cookie, ServedCall& out);
    // Forgets node's calls (down): their answers, when they come, have no one to go to.
    // Returns how many. The slots stay reserved until the kernel's answer frees them.
    size_t orphan_served_of(uint16_t node);
    size_t served_count() const { return m_served_count; }

private:
    Proxy* proxy_of(uint64_t id);
    void queue_notice(uint64_t id, uint16_t node);

    uint16_t m_self;
    uint64_t m_next_serial = kFirstSerial;
    uint64_t m_next_call_id = 1;
    Export m_exports[kMaxExports];
    size_t m_export_count = 0;
    GoneNotice m_notices[kMaxGoneNotices];
    size_t m_notice_head = 0;
    size_t m_notice_count = 0;
    uint64_t m_notices_dropped = 0;
    uint64_t m_gone[kGoneMemory] = {};
    size_t m_gone_next = 0;
    Proxy m_proxies[kMaxProxies];
    size_t m_proxy_count = 0;
    ForwardedCall m_forwarded[kMaxForwardedCalls];
    size_t m_forwarded_count = 0;
    ServedCall m_served[kMaxServedCalls];
    size_t m_served_count = 0;
    size_t m_served_per_port[kReplyPorts] = {};
};

} // namespace tern::bus

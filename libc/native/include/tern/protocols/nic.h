#pragma once
// The NIC protocol: how a network interface driver (e1000, virtio-net, ...) and the
// network server (servers/net) move Ethernet frames, so the stack never knows which NIC
// it drives. Everything the two sides share is in this one header: the operations, the
// layout of the shared buffer area, the descriptor codec and the buffer ownership ledger
// both sides keep (tests/unit/net_nic_protocol_test.cpp).
//
// Set-up. The driver creates one memory object, the *buffer area*: rx_count receive
// buffers followed by tx_count transmit buffers, each kBufferSize bytes, so buffer i of a
// direction lies at a fixed offset (rx_offset / tx_offset). It looks the server up by
// name ("net") and calls Attach with its name, MAC address, MTU, link state and the
// area's geometry, handing over the area (MAP, READ, WRITE) and a SIGNAL right to its own
// port. The server maps the area and answers with the NIC's id; from then on the driver
// is an lwIP interface (ifconfig shows it by the driver's name).
//
// Frames. Buffers are owned by one side at a time, and messages carry buffer indices and
// lengths, never frame bytes:
//
//   receive:  every receive buffer starts as the driver's. The driver writes a frame into
//             one and passes (index, length) to the server in Sync; the server takes the
//             frame and hands the buffer back in a later Sync reply.
//   transmit: every transmit buffer starts as the server's. The server writes a frame
//             into one and passes (index, length) to the driver in a Sync reply, ringing
//             the driver's port (kDoorbell) when it has something for it; the driver sends
//             the frame and returns the index in a later Sync request.
//
// Only the driver calls (Sync, Status, Detach): the server never waits for a driver, so
// a stuck driver cannot stall the stack; it only rings the doorbell, a signal, which
// never blocks. Each side checks every index it is given against its ledger: an index
// out of range, a buffer the sender does not own, or a length outside [kMinFrame,
// max_frame] is refused (the ledger answers CORRUPT), counted as an input error of the
// interface and logged, and the frame is not used; the rest of the message is taken.
#include <base/result.h>
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::nic {

// Every buffer is this large: a full Ethernet frame (1514 bytes without the FCS, or 1518
// with a VLAN tag) with room to spare, and two buffers per page.
inline constexpr uint32_t kBufferSize = 2048;
inline constexpr uint32_t kMaxBuffersPerDirection = 512;
// The smallest frame a driver may pass: an Ethernet header.
inline constexpr uint32_t kMinFrame = 14;
inline constexpr uint32_t kEthernetHeader = 14;
inline constexpr uint32_t kMinMtu = 576;
inline constexpr uint32_t kMaxMtu = kBufferSize - kEthernetHeader - 4;
inline constexpr uint32_t kMaxNameLength = 15;
// The bit the server signals on the driver's port when transmit frames or returned
// receive buffers wait for the driver's next Sync.
inline constexpr uint64_t kDoorbell = 1;

// The geometry of a buffer area, from the Attach request.
struct Geometry {
    uint32_t rx_count;
    uint32_t tx_count;

    uint64_t rx_offset(uint32_t index) const { return uint64_t(index) * kBufferSize; }
    uint64_t tx_offset(uint32_t index) const { return uint64_t(rx_count + index) * kBufferSize; }
    // The area's size in bytes (whole pages: kBufferSize divides a page).
    uint64_t area_size() const { return uint64_t(rx_count + tx_count) * kBufferSize; }
    bool valid() const {
        return rx_count >= 1 && tx_count >= 1 && rx_count <= kMaxBuffersPerDirection
               && tx_count <= kMaxBuffersPerDirection && (rx_count + tx_count) % 2 == 0;
    }
};

// ---- Operations on the network server's port ----------------------------------------

inline constexpr uint32_t kLinkUp = 1;

struct AttachRequest {
    uint8_t mac[6];
    uint16_t mtu;      // kMinMtu..kMaxMtu
    uint32_t flags;    // kLinkUp
    uint32_t rx_count; // Geometry
    uint32_t tx_count;
    uint32_t buffer_size; // kBufferSize (checked, so a driver built for another size fails)
};
struct AttachResponse {
    uint32_t nic; // the id every later request names
};
// data = the interface's name (1..kMaxNameLength of [a-z0-9], e.g. "e1000" or "virtio0");
// handles[0] = the buffer area (MAP, READ, WRITE; at least Geometry::area_size() bytes),
// handles[1] = the driver's port (SIGNAL), where the server rings kDoorbell.
// INVALID_ARGUMENT (bad name, MTU, geometry or buffer size), ALREADY_EXISTS (a NIC of that
// name is attached), NO_SPACE (kMaxNics attached), BAD_HANDLE / OUT_OF_RANGE (the area
// cannot be mapped at that size). The NIC is detached when the driver's port closes.
using Attach = proto::Op<0x4E01, AttachRequest, AttachResponse,
                         proto::Limits{.request_data = kMaxNameLength, .request_handles = 2}>;

// A descriptor: a buffer index and a frame length, in one word.
struct Descriptor {
    uint16_t index;
    uint16_t length;
};
inline uint32_t pack(Descriptor d) { return uint32_t(d.index) | (uint32_t(d.length) << 16); }
inline Descriptor unpack(uint32_t word) { return {uint16_t(word & 0xFFFF), uint16_t(word >> 16)}; }

// Descriptors in one Sync message, each way (they fill the message's inline words).
inline constexpr uint32_t kSyncEntries = 14;

struct SyncRequest {
    uint32_t nic;
    uint8_t rx_count;      // received frames: entries[0, rx_count)
    uint8_t tx_done_count; // transmit buffers given back: entries[rx_count, +tx_done_count)
    uint16_t flags;        // zero
    uint32_t entries[kSyncEntries];
};
// SyncResponse.flags: the server has more for the driver than fitted; Sync again.
inline constexpr uint16_t kSyncMore = 1;
struct SyncResponse {
    uint8_t rx_free_count; // receive buffers handed back: entries[0, rx_free_count)
    uint8_t tx_count;      // frames to send: entries[rx_free_count, +tx_count)
    uint16_t flags;        // kSyncMore
    uint32_t reserved;
    uint32_t entries[kSyncEntries];
};
static_assert(sizeof(SyncRequest) == 64 && sizeof(SyncResponse) == 64);
// Frames in, transmit buffers back; receive buffers back, frames out. BAD_HANDLE (no
// such NIC, or another task's), INVALID_ARGUMENT (counts over kSyncEntries, flags). A
// descriptor the ledger refuses is skipped, counted and logged; the call still succeeds,
// so the buffers handed back in the same reply are never lost.
using Sync = proto::Op<0x4E02, SyncRequest, SyncResponse>;

// What the driver counts at the device (the server counts at the stack as well).
struct Counters {
    uint64_t rx_frames;
    uint64_t rx_bytes;
    uint64_t rx_errors; // bad frames the device reported (CRC, length)
    uint64_t rx_drops;  // frames lost for want of a buffer
    uint64_t tx_frames;
    uint64_t tx_bytes;
    uint64_t tx_errors;
    uint64_t tx_drops;
};
struct StatusRequest {
    uint32_t nic;
    uint32_t flags; // kLinkUp
};
// data = Counters. The link state and the device's counters, sent when the link changes
// and from time to time. BAD_HANDLE, INVALID_ARGUMENT (flags, data not a Counters).
using Status =
    proto::Op<0x4E03, StatusRequest, proto::Empty, proto::Limits{.request_data = sizeof(Counters)}>;

struct DetachRequest {
    uint32_t nic;
};
// The interface goes down and away; buffers in flight are forgotten. BAD_HANDLE.
using Detach = proto::Op<0x4E04, DetachRequest, proto::Empty>;

// ---- Descriptor codec ------------------------------------------------------------------

// Fills a SyncRequest from the frames received and the transmit buffers done, as many as
// fit; returns how many of each went in (the caller sends the rest in the next Sync).
struct Packed {
    uint32_t first;
    uint32_t second;
};
inline Packed encode_sync(SyncRequest& out, uint32_t nic, base::Span<const Descriptor> rx,
                          base::Span<const uint16_t> tx_done) {
    out = {};
    out.nic = nic;
    uint32_t n = 0;
    for (; n < rx.size() && n < kSyncEntries; ++n)
        out.entries[n] = pack(rx[n]);
    out.rx_count = uint8_t(n);
    uint32_t m = 0;
    for (; m < tx_done.size() && n + m < kSyncEntries; ++m)
        out.entries[n + m] = pack({tx_done[m], 0});
    out.tx_done_count = uint8_t(m);
    return {n, m};
}
inline Packed encode_sync(SyncResponse& out, base::Span<const uint16_t> rx_free,
                          base::Span<const Descriptor> tx) {
    out = {};
    uint32_t n = 0;
    for (; n < rx_free.size() && n < kSyncEntries; ++n)
        out.entries[n] = pack({rx_free[n], 0});
    out.rx_free_count = uint8_t(n);
    uint32_t m = 0;
    for (; m < tx.size() && n + m < kSyncEntries; ++m)
        out.entries[n + m] = pack(tx[m]);
    out.tx_count = uint8_t(m);
    return {n, m};
}
// Checks the counts of a Sync message from the other side: INVALID_ARGUMENT when they
// overrun the entries or unknown flags are set.
inline base::Error check_sync(const SyncRequest& in) {
    if (uint32_t(in.rx_count) + in.tx_done_count > kSyncEntries || in.flags != 0)
        return base::Error::INVALID_ARGUMENT;
    return base::Error::OK;
}
inline base::Error check_sync(const SyncResponse& in) {
    if (uint32_t(in.rx_free_count) + in.tx_count > kSyncEntries || (in.flags & ~kSyncMore) != 0)
        return base::Error::INVALID_ARGUMENT;
    return base::Error::OK;
}

// ---- Buffer ownership ------------------------------------------------------------------

// Who holds each buffer of an area, as one side sees it; every transfer the protocol
// allows is one method, and each refuses (CORRUPT) what would break the rules, leaving
// the ledger as it was. The server keeps one per NIC; a driver may keep one too.
class Ledger {
public:
    enum class Owner : uint8_t {
        kDriver,
        kServer
    };

    // INVALID_ARGUMENT for a geometry over the limits.
    base::Error reset(Geometry geometry, uint32_t max_frame) {
        if (!geometry.valid() || max_frame < kMinFrame || max_frame > kBufferSize)
            return base::Error::INVALID_ARGUMENT;
        m_geometry = geometry;
        m_max_frame = max_frame;
        for (uint32_t i = 0; i < geometry.rx_count; ++i)
            m_rx[i] = Owner::kDriver;
        m_free_tx_count = 0;
        for (uint32_t i = 0; i < kMaxBuffersPerDirection; ++i)
            m_free_at[i] = kNotFree;
        for (uint32_t i = 0; i < geometry.tx_count; ++i) {
            m_tx[i] = Owner::kServer;
            push_free(uint16_t(geometry.tx_count - 1 - i));
        }
        return base::Error::OK;
    }
    Geometry geometry() const { return m_geometry; }
    uint32_t max_frame() const { return m_max_frame; }

    // The driver passes a received frame in receive buffer d.index.
    base::Error frame_received(Descriptor d) {
        if (d.index >= m_geometry.rx_count || m_rx[d.index] != Owner::kDriver
            || d.length < kMinFrame || d.length > m_max_frame)
            return base::Error::CORRUPT;
        m_rx[d.index] = Owner::kServer;
        return base::Error::OK;
    }
    // The server is done with receive buffer `index` and gives it back.
    base::Error rx_returned(uint16_t index) {
        if (index >= m_geometry.rx_count || m_rx[index] != Owner::kServer)
            return base::Error::CORRUPT;
        m_rx[index] = Owner::kDriver;
        return base::Error::OK;
    }
    // The server takes a free transmit buffer to fill: NO_SPACE when the driver holds
    // them all.
    base::Result<uint16_t> take_tx() {
        if (m_free_tx_count == 0)
            return base::Error::NO_SPACE;
        uint16_t index = m_free_tx[--m_free_tx_count];
        m_free_at[index] = kNotFree;
        return index;
    }
    // The server hands the filled buffer to the driver. A driver's ledger never takes
    // buffers, so the buffer leaves the free list here too: otherwise every tx_done would
    // add it once more and the list would outgrow its array.
    base::Error frame_sent(Descriptor d) {
        if (d.index >= m_geometry.tx_count || m_tx[d.index] != Owner::kServer
            || d.length < kMinFrame || d.length > m_max_frame)
            return base::Error::CORRUPT;
        m_tx[d.index] = Owner::kDriver;
        remove_free(d.index);
        return base::Error::OK;
    }
    // The server gives back a buffer it took but did not send.
    void untake_tx(uint16_t index) { push_free(index); }
    // The driver hands transmit buffer `index` back: the driver's own ledger. It keeps no
    // free list, since only the server takes transmit buffers (take_tx); tx_done would
    // grow the driver's list by one for every frame sent.
    base::Error tx_released(uint16_t index) {
        if (index >= m_geometry.tx_count || m_tx[index] != Owner::kDriver)
            return base::Error::CORRUPT;
        m_tx[index] = Owner::kServer;
        return base::Error::OK;
    }
    // The driver is done with transmit buffer `index`: the server's ledger, which puts it
    // back on the free list.
    base::Error tx_done(uint16_t index) {
        if (index >= m_geometry.tx_count || m_tx[index] != Owner::kDriver)
            return base::Error::CORRUPT;
        m_tx[index] = Owner::kServer;
        push_free(index);
        return base::Error::OK;
    }
    uint32_t free_tx() const { return m_free_tx_count; }
    Owner rx_owner(uint16_t index) const { return m_rx[index]; }
    Owner tx_owner(uint16_t index) const { return m_tx[index]; }

private:
    static constexpr uint16_t kNotFree = 0xFFFF;
    // The free list holds each buffer at most once; m_free_at says where.
    void push_free(uint16_t index) {
        if (m_free_at[index] != kNotFree)
            return;
        m_free_at[index] = uint16_t(m_free_tx_count);
        m_free_tx[m_free_tx_count++] = index;
    }
    void remove_free(uint16_t index) {
        uint16_t at = m_free_at[index];
        if (at == kNotFree)
            return;
        uint16_t last = m_free_tx[--m_free_tx_count];
        m_free_tx[at] = last;
        m_free_at[last] = at;
        m_free_at[index] = kNotFree;
    }

    Geometry m_geometry{};
    uint32_t m_max_frame = 0;
    Owner m_rx[kMaxBuffersPerDirection] = {};
    Owner m_tx[kMaxBuffersPerDirection] = {};
    uint16_t m_free_tx[kMaxBuffersPerDirection] = {};
    uint16_t m_free_at[kMaxBuffersPerDirection] = {};
    uint32_t m_free_tx_count = 0;
};

// A first-in first-out queue of descriptors (frames waiting for the next Sync), bounded
// by the buffers of one direction, so it can never overflow while the ledger holds.
class DescriptorQueue {
public:
    bool push(Descriptor d) {
        if (m_count == kMaxBuffersPerDirection)
            return false;
        m_items[(m_head + m_count) % kMaxBuffersPerDirection] = d;
        ++m_count;
        return true;
    }
    // Up to out.size() descriptors from the front, in order, without removing them.
    size_t peek(base::Span<Descriptor> out) const {
        size_t n = 0;
        for (; n < out.size() && n < m_count; ++n)
            out[n] = m_items[(m_head + n) % kMaxBuffersPerDirection];
        return n;
    }
    void drop(size_t n) {
        if (n > m_count)
            n = m_count;
        m_head = (m_head + n) % kMaxBuffersPerDirection;
        m_count -= n;
    }
    size_t size() const { return m_count; }
    bool empty() const { return m_count == 0; }
    void clear() { m_head = m_count = 0; }

private:
    Descriptor m_items[kMaxBuffersPerDirection] = {};
    size_t m_head = 0;
    size_t m_count = 0;
};

} // namespace tern::nic

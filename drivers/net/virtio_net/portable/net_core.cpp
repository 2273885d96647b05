#include <drivers/net/virtio_net/portable/net_core.h>

namespace virtio_net {

using base::Error;
using virtio::BufferRef;

base::Result<NetCore::Kick> NetCore::start(virtio::SplitQueue& receive,
                                           virtio::SplitQueue& transmit, const Memory& memory) {
    const nic::Geometry& g = memory.geometry;
    // Every buffer of a direction must fit its queue at once as a two-part chain, so a
    // frame from the server always finds room and every receive buffer can be posted.
    if (!g.valid() || uint32_t(receive.size()) < 2 * g.rx_count
        || uint32_t(transmit.size()) < 2 * g.tx_count || memory.max_frame < nic::kMinFrame
        || memory.max_frame > nic::kBufferSize)
        return Error::INVALID_ARGUMENT;
    m_rx = &receive;
    m_tx = &transmit;
    m_memory = memory;
    m_counters = {};
    m_refused = 0;
    m_to_server.clear();
    m_tx_done.clear();
    // The transmit header, shared by every frame: all zero (no checksum or segmentation
    // offload asked of the device).
    __builtin_memset(memory.headers, 0, header_area_size(g));
    for (uint32_t i = 0; i < g.tx_count; ++i)
        m_tx_holder[i] = Holder::kServer;
    for (uint16_t i = 0; i < g.rx_count; ++i)
        if (Error e = post_receive(i); e != Error::OK)
            return e;
    return Kick{m_rx->publish(), false};
}

Error NetCore::post_receive(uint16_t buffer) {
    // A stale header must not pass for the next frame's.
    uint8_t* header = m_memory.headers + uint64_t(buffer) * kHeaderSlot;
    __builtin_memset(header, 0, kHeaderSlot);
    BufferRef chain[2] = {
        {m_memory.headers_address + uint64_t(buffer) * kHeaderSlot, kHeaderSize, true},
        {m_memory.area_address + m_memory.geometry.rx_offset(buffer), nic::kBufferSize, true},
    };
    auto head = m_rx->add({chain, 2});
    if (head.is_error())
        return head.error();
    m_rx_buffer_of[head.value()] = buffer;
    m_rx_holder[buffer] = Holder::kDevice;
    return Error::OK;
}

NetCore::Kick NetCore::poll_device() {
    Kick kick{false, false};
    while (auto done = m_rx->next_used()) {
        uint16_t buffer = m_rx_buffer_of[done.value().head];
        const uint8_t* header = m_memory.headers + uint64_t(buffer) * kHeaderSlot;
        uint16_t num_buffers =
            uint16_t(header[kHeaderNumBuffers] | header[kHeaderNumBuffers + 1] << 8);
        uint32_t frame = done.value().length >= kHeaderSize ? done.value().length - kHeaderSize : 0;
        // Without VIRTIO_NET_F_MRG_RXBUF and the GSO features a frame is one buffer and no
        // segmentation; num_buffers is 1 (some devices leave it 0 when not merging).
        bool good = done.value().status == Error::OK && frame >= nic::kMinFrame
                    && frame <= m_memory.max_frame && header[kHeaderGsoType] == 0
                    && num_buffers <= 1;
        if (good) {
            m_rx_holder[buffer] = Holder::kDriver;
            (void)m_to_server.push({buffer, uint16_t(frame)});
            ++m_counters.rx_frames;
            m_counters.rx_bytes += frame;
            continue;
        }
        ++m_counters.rx_errors;
        // The queue had room for this chain a moment ago, so posting it again succeeds.
        if (post_receive(buffer) == Error::OK)
            kick.receive = true;
    }
    while (auto done = m_tx->next_used()) {
        uint16_t buffer = m_tx_buffer_of[done.value().head];
        // A device that claims to have written into a transmit chain is counted by the
        // queue; the frame was still sent.
        m_tx_holder[buffer] = Holder::kDriver;
        (void)m_tx_done.push({buffer, 0});
    }
    if (kick.receive)
        kick.receive = m_rx->publish();
    return kick;
}

void NetCore::fill_sync(nic::SyncRequest& out, uint32_t nic) const {
    nic::Descriptor frames[nic::kSyncEntries];
    nic::Descriptor done[nic::kSyncEntries];
    uint16_t done_index[nic::kSyncEntries];
    size_t frame_count = m_to_server.peek({frames, nic::kSyncEntries});
    size_t done_count = m_tx_done.peek({done, nic::kSyncEntries - frame_count});
    for (size_t i = 0; i < done_count; ++i)
        done_index[i] = done[i].index;
    (void)nic::encode_sync(out, nic, {frames, frame_count}, {done_index, done_count});
}

void NetCore::sync_done(const nic::SyncRequest& sent) {
    nic::Descriptor d[nic::kSyncEntries];
    size_t n = m_to_server.peek({d, sent.rx_count});
    for (size_t i = 0; i < n; ++i)
        m_rx_holder[d[i].index] = Holder::kServer;
    m_to_server.drop(sent.rx_count);
    n = m_tx_done.peek({d, sent.tx_done_count});
    for (size_t i = 0; i < n; ++i)
        m_tx_holder[d[i].index] = Holder::kServer;
    m_tx_done.drop(sent.tx_done_count);
}

NetCore::Kick NetCore::take_reply(const nic::SyncResponse& reply, bool* more) {
    Kick kick{false, false};
    *more = false;
    if (nic::check_sync(reply) != Error::OK) {
        refuse("a Sync reply with counts over its entries or unknown flags");
        return kick;
    }
    *more = (reply.flags & nic::kSyncMore) != 0;
    const nic::Geometry& g = m_memory.geometry;
    for (uint32_t i = 0; i < reply.rx_free_count; ++i) {
        uint16_t buffer = nic::unpack(reply.entries[i]).index;
        if (buffer >= g.rx_count || m_rx_holder[buffer] != Holder::kServer) {
            refuse("a receive buffer the server does not hold");
            continue;
        }
        if (post_receive(buffer) == Error::OK)
            kick.receive = true;
    }
    for (uint32_t i = reply.rx_free_count; i < uint32_t(reply.rx_free_count) + reply.tx_count;
         ++i) {
        nic::Descriptor d = nic::unpack(reply.entries[i]);
        if (d.index >= g.tx_count || m_tx_holder[d.index] != Holder::kServer) {
            refuse("a transmit buffer the server does not hold");
            ++m_counters.tx_errors;
            continue;
        }
        if (d.length < nic::kMinFrame || d.length > m_memory.max_frame) {
            // The buffer is the server's: it goes back unsent, so it is not lost.
            refuse("a frame length outside the NIC's limits");
            ++m_counters.tx_errors;
            m_tx_holder[d.index] = Holder::kDriver;
            (void)m_tx_done.push({d.index, 0});
            continue;
        }
        BufferRef chain[2] = {
            {m_memory.headers_address + uint64_t(g.rx_count) * kHeaderSlot, kHeaderSize, false},
            {m_memory.area_address + g.tx_offset(d.index), d.length, false},
        };
        auto head = m_tx->add({chain, 2});
        if (head.is_error()) {
            // Only a broken queue refuses: start() made room for every buffer.
            ++m_counters.tx_drops;
            m_tx_holder[d.index] = Holder::kDriver;
            (void)m_tx_done.push({d.index, 0});
            continue;
        }
        m_tx_buffer_of[head.value()] = d.index;
        m_tx_holder[d.index] = Holder::kDevice;
        ++m_counters.tx_frames;
        m_counters.tx_bytes += d.length;
        kick.transmit = true;
    }
    if (kick.receive)
        kick.receive = m_rx->publish();
    if (kick.transmit)
        kick.transmit = m_tx->publish();
    return kick;
}

nic::Counters NetCore::counters() const {
    nic::Counters c = m_counters;
    const virtio::QueueFaults& rx = m_rx->faults();
    const virtio::QueueFaults& tx = m_tx->faults();
    c.rx_errors += rx.bad_id + rx.duplicate_id + rx.bad_index;
    c.tx_errors += tx.bad_id + tx.duplicate_id + tx.bad_index + tx.bad_length;
    return c;
}

} // namespace virtio_net

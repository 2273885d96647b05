#pragma once
// The heart of the virtio-net driver, free of system calls so the host tests run it
// against a simulated device and a simulated network server: it moves buffers of the NIC
// protocol's buffer area (<tern/protocols/nic.h>) between the device's two virtqueues and
// the server's Sync messages, without copying a frame.
//
// Receive: every receive buffer is posted to the receive queue as a two-part chain, the
// buffer's virtio_net_hdr slot (12 bytes, in a small header area of the driver's) and the
// buffer itself (2048 bytes), so the frame lands at the buffer's start, where the server
// reads it. A finished chain is checked (length, header) and passed to the server; a bad
// one is counted as a receive error and posted again. Buffers the server hands back are
// posted again.
//
// Transmit: a frame the server puts in a transmit buffer goes to the transmit queue as a
// chain of one shared, zeroed header (no offloads) and the buffer; when the device is
// done, the buffer goes back to the server in the next Sync.
//
// Each buffer has one holder at a time (the device, the driver, or the server), recorded
// here; a descriptor from the server that names a buffer it does not hold, or a frame
// length outside [kMinFrame, max_frame], is refused and counted, never given to the
// device.
#include <base/result.h>
#include <drivers/virtio/portable/virtqueue.h>
#include <stdint.h>
#include <tern/protocols/nic.h>

namespace virtio_net {

namespace nic = tern::nic;

// Feature bits of the network device (virtio spec 5.1.3).
inline constexpr uint64_t kFeatureMac = uint64_t(1) << 5;
inline constexpr uint64_t kFeatureStatus = uint64_t(1) << 16;
// Device configuration (5.1.4): mac[6], then le16 status.
inline constexpr uint32_t kConfigMac = 0;
inline constexpr uint32_t kConfigStatus = 6;
inline constexpr uint16_t kStatusLinkUp = 1;
// Queue numbers without VIRTIO_NET_F_MQ (5.1.2).
inline constexpr uint16_t kReceiveQueue = 0;
inline constexpr uint16_t kTransmitQueue = 1;

// struct virtio_net_hdr (5.1.6): with VIRTIO_F_VERSION_1 it always has num_buffers.
inline constexpr uint32_t kHeaderSize = 12;
inline constexpr uint32_t kHeaderGsoType = 1;
inline constexpr uint32_t kHeaderNumBuffers = 10;
// Header slots are this far apart in the header area.
inline constexpr uint32_t kHeaderSlot = 16;

class NetCore {
public:
    // Where the shared memory is, as the driver sees it and as the device does.
    struct Memory {
        nic::Geometry geometry;
        uint8_t* area;         // the buffer area
        uint64_t area_address; // its device address (the area is physically contiguous)
        uint8_t* headers;      // header_area_size(geometry) bytes
        uint64_t headers_address;
        uint32_t max_frame; // MTU + Ethernet header
    };
    static uint64_t header_area_size(nic::Geometry g) {
        return uint64_t(g.rx_count + 1) * kHeaderSlot;
    }

    // Which queues the device must be told about.
    struct Kick {
        bool receive;
        bool transmit;
    };

    // Posts every receive buffer and makes them visible to the device. INVALID_ARGUMENT: a queue
    // holds fewer two-part chains than its direction has buffers, or a bad geometry or frame size.
    [[nodiscard]] base::Result<Kick> start(virtio::SplitQueue& receive,
                                           virtio::SplitQueue& transmit, const Memory& memory);

    // Takes every chain the device has finished: frames for the server, bad frames back to
    // the device, sent buffers to be returned.
    Kick poll_device();
    // Whether the server has something waiting from the driver.
    bool has_news() const { return !m_to_server.empty() || !m_tx_done.empty(); }
    // The next Sync request: as many waiting frames and returned transmit buffers as fit.
    void fill_sync(nic::SyncRequest& out, uint32_t nic) const;
    // The server accepted `sent` (the call succeeded): its buffers are the server's now.
    void sync_done(const nic::SyncRequest& sent);
    // The server's reply: receive buffers to post again, frames to send. `more` is set
    // when the server has more than fitted.
    Kick take_reply(const nic::SyncResponse& reply, bool* more);

    // The device's counters for the Status message: virtqueue faults count as errors of
    // their direction. rx_drops stays 0: a virtio device drops frames for want of buffers
    // without saying so.
    nic::Counters counters() const;
    // Descriptors from the server refused, and the reason for the last one.
    uint64_t refused() const { return m_refused; }
    const char* last_refusal() const { return m_last_refusal; }
    // Whether a queue is broken (the device must be reset).
    bool broken() const { return m_rx->broken() || m_tx->broken(); }

private:
    enum class Holder : uint8_t {
        kDevice,
        kDriver,
        kServer
    };
    base::Error post_receive(uint16_t buffer);
    void refuse(const char* why) {
        ++m_refused;
        m_last_refusal = why;
    }

    virtio::SplitQueue* m_rx = nullptr;
    virtio::SplitQueue* m_tx = nullptr;
    Memory m_memory{};
    nic::Counters m_counters{};
    uint64_t m_refused = 0;
    const char* m_last_refusal = "";
    nic::DescriptorQueue m_to_server; // received frames waiting for a Sync
    nic::DescriptorQueue m_tx_done;   // sent buffers waiting for a Sync (length 0)
    Holder m_rx_holder[nic::kMaxBuffersPerDirection] = {};
    Holder m_tx_holder[nic::kMaxBuffersPerDirection] = {};
    uint16_t m_rx_buffer_of[virtio::SplitQueue::kMaxSize] = {};
    uint16_t m_tx_buffer_of[virtio::SplitQueue::kMaxSize] = {};
};

} // namespace virtio_net

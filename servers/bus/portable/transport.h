#pragma once
// The bus transport between node pairs: messages of up to kMaxMessage bytes, delivered
// to the other node exactly once and in order, over a datagram service that may lose,
// duplicate, delay and reorder frames.
//
// It is a pure state machine ("sans I/O"): frames come in through on_frame(), time
// through on_tick(), messages through send(); frames to put on the wire and events for
// the owner come out of pop_frame() and pop_event(). No clock, socket or thread inside,
// so the network server and the host simulation (tests/sim) run the same code.
//
// Per peer:
//   - A session is opened by Hello / HelloAck, which carry both nodes' incarnation
//     numbers. Data and acks must name the current incarnations of both ends: frames
//     from a node's earlier life, or meant for this node's earlier life, are refused and
//     counted. A peer that comes back with a higher incarnation starts a new session;
//     messages to its old life that it never acknowledged fail (kSendFailed, NODE_DOWN)
//     and the owner hears kPeerRestarted.
//   - Data frames carry 32-bit sequence numbers; acks are cumulative with a 32-frame
//     selective bitmap. Out-of-order frames within the window are kept; duplicates are
//     dropped and acknowledged again.
//   - Retransmission follows RFC 6298: smoothed RTT and variance, RTO clamped to
//     [rto_min, rto_max], doubled on each timeout, no samples from retransmitted frames
//     (Karn). max_retries timeouts in a row with no ack declare the peer unreachable:
//     its queued and unacknowledged messages fail with NODE_DOWN and kPeerDown is
//     reported.
//   - Flow control: the receiver advertises how many frames it accepts beyond the
//     cumulative ack; it advertises 0 while receive_slots delivered messages wait to be
//     popped. A sender with a closed window keeps its frames and probes after each RTO;
//     acks that come back keep the peer alive. send() answers WOULD_BLOCK once
//     send_queue_frames frames wait for a peer: never a silent drop.
//   - Every frame is authenticated by FrameAuth (a MAC under the cluster key); a frame
//     whose tag does not verify is counted and dropped before anything in it is used.
#include <base/error.h>
#include <base/result.h>
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

namespace tern::bus {

// Computes and checks the tag of a frame under the cluster key.
class FrameAuth {
public:
    virtual ~FrameAuth() = default;
    virtual void sign(base::Span<const uint8_t> data, uint8_t tag[kTagSize]) = 0;
    virtual bool verify(base::Span<const uint8_t> data, base::Span<const uint8_t> tag) = 0;
};

struct TransportConfig {
    uint16_t window = 64;              // data frames in flight per peer (and reorder buffer)
    uint32_t send_queue_frames = 2048; // frames queued per peer before WOULD_BLOCK
    uint16_t receive_slots = 32;       // delivered messages per peer not yet popped
    uint64_t rto_initial_ns = 200'000'000;
    uint64_t rto_min_ns = 5'000'000;
    uint64_t rto_max_ns = 2'000'000'000;
    uint32_t max_retries = 8;
};

struct TransportCounters {
    uint64_t frames_sent = 0;
    uint64_t frames_received = 0;
    uint64_t retransmits = 0;
    uint64_t duplicates = 0;    // data frames seen before, dropped and acked again
    uint64_t out_of_window = 0; // data frames beyond the window or with no room
    uint64_t malformed = 0;     // refused by decode_frame
    uint64_t bad_tag = 0;       // the MAC did not verify
    uint64_t stale = 0;         // from or for an earlier incarnation
    uint64_t misdirected = 0;   // for another node, or from this one
    uint64_t bad_fragments = 0; // fragments that do not continue the message in progress
    uint64_t delivered = 0;     // messages handed to the owner
    uint64_t sent_messages = 0; // messages accepted by send()
    uint64_t failed_messages = 0;
    uint64_t acked_messages = 0;
};

enum class EventKind : uint8_t {
    kDelivered,     // node sent data (owned by the event until the next pop_event)
    kSendFailed,    // message_id to node will never be delivered: error
    kPeerUp,        // a session with node (incarnation) is open
    kPeerRestarted, // node came back with a new incarnation
    kPeerDown,      // node stopped answering
};

struct Event {
    EventKind kind = EventKind::kPeerUp;
    uint16_t node = 0;
    uint32_t incarnation = 0;
    uint64_t message_id = 0;
    base::Error error = base::Error::OK;
    base::Span<const uint8_t> data; // kDelivered: valid until the next pop_event
};

struct OutFrame {
    uint16_t destination = 0;
    size_t length = 0;
    uint8_t bytes[kMaxFrame];
};

// One peer's state, for the counters command and the simulation's traces.
struct PeerInfo {
    uint8_t state = 0; // 0 idle, 1 hello sent, 2 open
    uint32_t incarnation = 0;
    uint32_t my_session = 0;
    uint32_t peer_session = 0;
    uint32_t snd_next = 0;
    uint32_t snd_una = 0;
    uint32_t in_flight = 0;
    uint32_t queued = 0;
    uint16_t peer_window = 0;
    uint32_t retries = 0;
    uint64_t rto_ns = 0;
    uint64_t timer_at = 0;
    uint32_t rcv_next = 0;
    uint32_t waiting = 0;
};

class Transport {
public:
    Transport(uint16_t self, uint32_t incarnation, FrameAuth& auth, TransportConfig config = {});
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // Queues a message for node; its id comes back in kSendFailed if it cannot be
    // delivered. TOO_BIG: over kMaxMessage. INVALID_ARGUMENT: node is this node or 0.
    // WOULD_BLOCK: the queue to node is full (wait for acks: pop_frame/on_frame progress).
    // NO_MEMORY.
    base::Result<uint64_t> send(uint16_t node, base::Span<const uint8_t> message, uint64_t now);

    // A datagram from the network. Refused frames are counted, never fatal.
    void on_frame(base::Span<const uint8_t> frame, uint64_t now);
    // Retransmissions and failure detection; call at next_deadline() or later.
    void on_tick(uint64_t now);
    // The earliest time on_tick has work, or UINT64_MAX.
    uint64_t next_deadline() const;

    // The next frame to transmit; false when there is none.
    bool pop_frame(OutFrame& out);
    // The next event; false when there is none. A kDelivered event's data stays valid
    // until the next call, and popping it frees a receive slot.
    bool pop_event(Event& out);

    // Messages queued or in flight to node (0 for an unknown node).
    uint32_t pending_to(uint16_t node) const;
    // false for a node this transport has never heard of.
    bool peer_info(uint16_t node, PeerInfo& out) const;
    const TransportCounters& counters() const { return m_counters; }
    uint16_t self() const { return m_self; }
    uint32_t incarnation() const { return m_incarnation; }

    struct Peer;

private:
    struct FrameBuf;
    struct EventNode;

    Peer* find(uint16_t node) const;
    Peer* find_or_add(uint16_t node);
    void emit(Peer& p, FrameKind kind, const FrameHeader* data_header,
              base::Span<const uint8_t> payload);
    void emit_ack(Peer& p);
    void push_event(const Event& e, uint8_t* owned = nullptr);
    void start_session(Peer& p, uint32_t incarnation, uint64_t now);
    void fail_outgoing(Peer& p, base::Error error);
    void reset_incoming(Peer& p);
    void pump(Peer& p, uint64_t now);
    void handle_ack(Peer& p, const FrameHeader& h, uint64_t now);
    void handle_data(Peer& p, const DecodedFrame& f);
    void deliver_in_order(Peer& p);
    void accept_fragment(Peer& p, const FrameHeader& h, base::Span<const uint8_t> payload);
    uint16_t advertised_window(const Peer& p) const;
    void rto_sample(Peer& p, uint64_t rtt);

    uint16_t m_self;
    uint32_t m_incarnation;
    FrameAuth& m_auth;
    TransportConfig m_config;
    TransportCounters m_counters;
    uint64_t m_next_message_id = 1;

    // Peers: open addressing on the node id.
    Peer** m_peers = nullptr;
    size_t m_peer_capacity = 0;
    size_t m_peer_count = 0;

    // Frames ready for the wire, and events for the owner.
    FrameBuf* m_out_head = nullptr;
    FrameBuf* m_out_tail = nullptr;
    EventNode* m_event_head = nullptr;
    EventNode* m_event_tail = nullptr;
    uint8_t* m_popped_data = nullptr; // the last delivered message, freed on the next pop
    uint16_t m_popped_from = 0;
};

} // namespace tern::bus

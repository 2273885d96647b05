// The bus transport's state machine (transport.h has the rules).
#include "transport.h"

#include <base/utility.h>
#if __STDC_HOSTED__
#include <new>
#else
#include <tern/new.h>
#endif

namespace tern::bus {

namespace {

constexpr uint64_t kNever = ~uint64_t(0);

void copy_bytes(uint8_t* to, const uint8_t* from, size_t n) {
    for (size_t i = 0; i < n; ++i)
        to[i] = from[i];
}

// A data frame of ours, from send() until the peer acknowledges it.
struct SendFrame {
    SendFrame* next = nullptr;
    uint64_t message_id = 0;
    uint64_t sent_at = 0;
    uint32_t sequence = 0; // assigned at the first transmission
    uint32_t transmissions = 0;
    bool sacked = false;
    uint16_t fragment_index = 0;
    uint16_t fragment_count = 0;
    uint32_t message_length = 0;
    uint16_t payload_length = 0;
    uint8_t payload[kMaxPayload];
    bool last() const { return fragment_index + 1 == fragment_count; }
};

// A data frame of the peer's that arrived ahead of a gap.
struct HeldFrame {
    bool used = false;
    FrameHeader header;
    uint8_t payload[kMaxPayload];
};

enum class PeerState : uint8_t {
    kIdle,
    kHelloSent,
    kOpen
};

} // namespace

struct Transport::Peer {
    uint16_t node = 0;
    PeerState state = PeerState::kIdle;
    uint32_t incarnation = 0;  // the peer's, 0 until known
    uint32_t my_session = 0;   // ours toward this peer, 0 when none
    uint32_t peer_session = 0; // the peer's toward us, 0 until known

    // Sending: frames in sequence order; next_new is the first never transmitted.
    SendFrame* head = nullptr;
    SendFrame* tail = nullptr;
    SendFrame* next_new = nullptr;
    uint32_t queued_frames = 0;
    uint32_t snd_next = 1;
    uint16_t peer_window = 1;
    uint64_t srtt = 0, rttvar = 0, rto = 0;
    bool have_rtt = false;
    uint64_t timer_at = kNever;
    uint32_t retries = 0;

    // Receiving.
    uint32_t rcv_next = 1;
    HeldFrame* held = nullptr; // window slots, by sequence modulo window
    uint8_t* partial = nullptr;
    uint32_t partial_length = 0;
    uint16_t partial_count = 0;
    uint16_t partial_next = 0;
    uint32_t waiting = 0; // delivered messages not yet popped
    bool ack_needed = false;
};

struct Transport::FrameBuf {
    FrameBuf* next = nullptr;
    OutFrame frame;
};

struct Transport::EventNode {
    EventNode* next = nullptr;
    Event event;
    uint8_t* owned = nullptr;
};

Transport::Transport(uint16_t self, uint32_t incarnation, FrameAuth& auth, TransportConfig config)
    : m_self(self), m_incarnation(incarnation), m_auth(auth), m_config(config) {
    if (m_config.window == 0 || m_config.window > 32 * 8)
        m_config.window = 64;
    if (m_config.receive_slots == 0)
        m_config.receive_slots = 1;
}

Transport::~Transport() {
    for (size_t i = 0; i < m_peer_capacity; ++i) {
        Peer* p = m_peers ? m_peers[i] : nullptr;
        if (!p)
            continue;
        while (SendFrame* f = p->head) {
            p->head = f->next;
            delete f;
        }
        delete[] p->held;
        delete[] p->partial;
        delete p;
    }
    delete[] m_peers;
    while (FrameBuf* b = m_out_head) {
        m_out_head = b->next;
        delete b;
    }
    while (EventNode* e = m_event_head) {
        m_event_head = e->next;
        delete[] e->owned;
        delete e;
    }
    delete[] m_popped_data;
}

// ---- peers -----------------------------------------------------------------------------

Transport::Peer* Transport::find(uint16_t node) const {
    if (m_peer_capacity == 0)
        return nullptr;
    for (size_t i = 0, at = node & (m_peer_capacity - 1); i < m_peer_capacity;
         ++i, at = (at + 1) & (m_peer_capacity - 1)) {
        Peer* p = m_peers[at];
        if (!p)
            return nullptr;
        if (p->node == node)
            return p;
    }
    return nullptr;
}

Transport::Peer* Transport::find_or_add(uint16_t node) {
    if (Peer* p = find(node))
        return p;
    if ((m_peer_count + 1) * 2 > m_peer_capacity) {
        size_t capacity = m_peer_capacity ? m_peer_capacity * 2 : 16;
        Peer** table = new (std::nothrow) Peer*[capacity];
        if (!table)
            return nullptr;
        for (size_t i = 0; i < capacity; ++i)
            table[i] = nullptr;
        for (size_t i = 0; i < m_peer_capacity; ++i) {
            Peer* p = m_peers[i];
            if (!p)
                continue;
            size_t at = p->node & (capacity - 1);
            while (table[at])
                at = (at + 1) & (capacity - 1);
            table[at] = p;
        }
        delete[] m_peers;
        m_peers = table;
        m_peer_capacity = capacity;
    }
    Peer* p = new (std::nothrow) Peer;
    HeldFrame* held = new (std::nothrow) HeldFrame[m_config.window];
    if (!p || !held) {
        delete p;
        delete[] held;
        return nullptr;
    }
    p->node = node;
    p->held = held;
    p->rto = m_config.rto_initial_ns;
    size_t at = node & (m_peer_capacity - 1);
    while (m_peers[at])
        at = (at + 1) & (m_peer_capacity - 1);
    m_peers[at] = p;
    ++m_peer_count;
    return p;
}

uint32_t Transport::pending_to(uint16_t node) const {
    Peer* p = find(node);
    uint32_t n = 0;
    for (SendFrame* f = p ? p->head : nullptr; f; f = f->next)
        n += f->last() ? 1 : 0;
    return n;
}

bool Transport::peer_info(uint16_t node, PeerInfo& out) const {
    Peer* p = find(node);
    if (!p)
        return false;
    out = PeerInfo{};
    out.state = uint8_t(p->state);
    out.incarnation = p->incarnation;
    out.my_session = p->my_session;
    out.peer_session = p->peer_session;
    out.snd_next = p->snd_next;
    out.snd_una = p->head && p->head->sequence ? p->head->sequence : p->snd_next;
    for (SendFrame* f = p->head; f; f = f->next)
        ++(f->sequence && f != p->next_new && out.queued == 0 ? out.in_flight : out.queued);
    out.peer_window = p->peer_window;
    out.retries = p->retries;
    out.rto_ns = p->rto;
    out.timer_at = p->timer_at;
    out.rcv_next = p->rcv_next;
    out.waiting = p->waiting;
    return true;
}

// ---- output ----------------------------------------------------------------------------

uint16_t Transport::advertised_window(const Peer& p) const {
    return p.waiting >= m_config.receive_slots ? 0 : m_config.window;
}

void Transport::emit(Peer& p, FrameKind kind, const FrameHeader* data,
                     base::Span<const uint8_t> payload) {
    auto* buf = new (std::nothrow) FrameBuf;
    if (!buf)
        return; // the frame is lost like any other; retransmission covers it
    FrameHeader h = data ? *data : FrameHeader{};
    h.kind = kind;
    h.source = m_self;
    h.destination = p.node;
    h.source_incarnation = m_incarnation;
    h.destination_incarnation = p.incarnation;
    h.source_session = p.my_session;
    h.destination_session = kind == FrameKind::kHello ? 0 : p.peer_session;
    h.ack = p.rcv_next;
    h.selective = 0;
    for (uint32_t i = 0; i < 32 && i + 1 < m_config.window; ++i)
        if (p.held[(p.rcv_next + 1 + i) % m_config.window].used
            && p.held[(p.rcv_next + 1 + i) % m_config.window].header.sequence == p.rcv_next + 1 + i)
            h.selective |= 1u << i;
    h.window = advertised_window(p);
    base::Span<uint8_t> out(buf->frame.bytes, kMaxFrame);
    size_t length = encode_frame(h, payload, out);
    m_auth.sign(base::Span<const uint8_t>(buf->frame.bytes, length - kTagSize),
                buf->frame.bytes + length - kTagSize);
    buf->frame.destination = p.node;
    buf->frame.length = length;
    if (m_out_tail)
        m_out_tail->next = buf;
    else
        m_out_head = buf;
    m_out_tail = buf;
    ++m_counters.frames_sent;
    p.ack_needed = false;
}

void Transport::emit_ack(Peer& p) { emit(p, FrameKind::kAck, nullptr, {}); }

bool Transport::pop_frame(OutFrame& out) {
    FrameBuf* b = m_out_head;
    if (!b)
        return false;
    m_out_head = b->next;
    if (!m_out_head)
        m_out_tail = nullptr;
    out.destination = b->frame.destination;
    out.length = b->frame.length;
    copy_bytes(out.bytes, b->frame.bytes, b->frame.length);
    delete b;
    return true;
}

void Transport::push_event(const Event& e, uint8_t* owned) {
    auto* node = new (std::nothrow) EventNode;
    if (!node) {
        delete[] owned;
        return;
    }
    node->event = e;
    node->owned = owned;
    if (m_event_tail)
        m_event_tail->next = node;
    else
        m_event_head = node;
    m_event_tail = node;
}

bool Transport::pop_event(Event& out) {
    delete[] m_popped_data;
    m_popped_data = nullptr;
    if (m_popped_from) {
        // The slot the last delivered message held is free: a peer that saw a closed
        // window learns it is open again.
        Peer* p = find(m_popped_from);
        m_popped_from = 0;
        if (p && p->waiting > 0) {
            bool was_closed = advertised_window(*p) == 0;
            --p->waiting;
            // A held frame that completes a message may have waited for this slot.
            deliver_in_order(*p);
            if (was_closed && p->state == PeerState::kOpen)
                emit_ack(*p);
        }
    }
    EventNode* node = m_event_head;
    if (!node)
        return false;
    m_event_head = node->next;
    if (!m_event_head)
        m_event_tail = nullptr;
    out = node->event;
    if (out.kind == EventKind::kDelivered) {
        m_popped_data = node->owned;
        m_popped_from = out.node;
    }
    delete node;
    return true;
}

// ---- sessions --------------------------------------------------------------------------

void Transport::fail_outgoing(Peer& p, base::Error error) {
    while (SendFrame* f = p.head) {
        p.head = f->next;
        if (f->last()) {
            Event e;
            e.kind = EventKind::kSendFailed;
            e.node = p.node;
            e.message_id = f->message_id;
            e.error = error;
            push_event(e);
            ++m_counters.failed_messages;
        }
        delete f;
    }
    p.tail = p.next_new = nullptr;
    p.queued_frames = 0;
    p.timer_at = kNever;
    p.retries = 0;
}

void Transport::reset_incoming(Peer& p) {
    for (uint16_t i = 0; i < m_config.window; ++i)
        p.held[i].used = false;
    delete[] p.partial;
    p.partial = nullptr;
    p.partial_next = p.partial_count = 0;
    p.rcv_next = 1;
}

// Both sessions with the peer are settled: data may flow.
void Transport::start_session(Peer& p, uint32_t incarnation, uint64_t now) {
    p.incarnation = incarnation;
    p.state = PeerState::kOpen;
    p.retries = 0;
    p.timer_at = kNever;
    p.peer_window = m_config.window;
    Event e;
    e.kind = EventKind::kPeerUp;
    e.node = p.node;
    e.incarnation = incarnation;
    push_event(e);
    pump(p, now);
}

// ---- sending ---------------------------------------------------------------------------

base::Result<uint64_t> Transport::send(uint16_t node, base::Span<const uint8_t> message,
                                       uint64_t now) {
    if (node == 0 || node == m_self)
        return base::Error::INVALID_ARGUMENT;
    if (message.size() > kMaxMessage)
        return base::Error::TOO_BIG;
    Peer* p = find_or_add(node);
    if (!p)
        return base::Error::NO_MEMORY;
    uint32_t length = uint32_t(message.size());
    uint16_t count = length == 0 ? 1 : uint16_t((length + kMaxPayload - 1) / kMaxPayload);
    if (p->queued_frames + count > m_config.send_queue_frames)
        return base::Error::WOULD_BLOCK;
    SendFrame* first = nullptr;
    SendFrame* last = nullptr;
    uint64_t id = m_next_message_id++;
    for (uint16_t i = 0; i < count; ++i) {
        auto* f = new (std::nothrow) SendFrame;
        if (!f) {
            while (first) {
                SendFrame* n = first->next;
                delete first;
                first = n;
            }
            return base::Error::NO_MEMORY;
        }
        f->message_id = id;
        f->fragment_index = i;
        f->fragment_count = count;
        f->message_length = length;
        size_t at = size_t(i) * kMaxPayload;
        f->payload_length = uint16_t(length - at < kMaxPayload ? length - at : kMaxPayload);
        copy_bytes(f->payload, message.data() + at, f->payload_length);
        if (last)
            last->next = f;
        else
            first = f;
        last = f;
    }
    if (p->tail)
        p->tail->next = first;
    else
        p->head = first;
    p->tail = last;
    if (!p->next_new)
        p->next_new = first;
    p->queued_frames += count;
    ++m_counters.sent_messages;
    if (p->state == PeerState::kIdle) {
        p->my_session = p->my_session + 1 == 0 ? 1 : p->my_session + 1;
        p->state = PeerState::kHelloSent;
        p->snd_next = 1;
        emit(*p, FrameKind::kHello, nullptr, {});
        p->timer_at = now + p->rto;
    } else if (p->state == PeerState::kOpen) {
        pump(*p, now);
    }
    return id;
}

// Transmits new frames while the window allows.
void Transport::pump(Peer& p, uint64_t now) {
    if (p.state != PeerState::kOpen)
        return;
    uint32_t window = p.peer_window < m_config.window ? p.peer_window : m_config.window;
    while (SendFrame* f = p.next_new) {
        uint32_t oldest = p.head->sequence ? p.head->sequence : p.snd_next;
        if (p.snd_next - oldest >= window)
            break;
        f->sequence = p.snd_next++;
        f->transmissions = 1;
        f->sent_at = now;
        FrameHeader h;
        h.sequence = f->sequence;
        h.fragment_index = f->fragment_index;
        h.fragment_count = f->fragment_count;
        h.message_length = f->message_length;
        emit(p, FrameKind::kData, &h, base::Span<const uint8_t>(f->payload, f->payload_length));
        p.next_new = f->next;
        if (p.timer_at == kNever)
            p.timer_at = now + p.rto;
    }
    // Frames wait behind a closed window: probe it after an RTO.
    if (p.next_new && p.timer_at == kNever)
        p.timer_at = now + p.rto;
}

void Transport::rto_sample(Peer& p, uint64_t rtt) {
    if (!p.have_rtt) {
        p.srtt = rtt;
        p.rttvar = rtt / 2;
        p.have_rtt = true;
    } else {
        uint64_t diff = p.srtt > rtt ? p.srtt - rtt : rtt - p.srtt;
        p.rttvar = (3 * p.rttvar + diff) / 4;
        p.srtt = (7 * p.srtt + rtt) / 8;
    }
    uint64_t rto = p.srtt + (4 * p.rttvar > 1000000 ? 4 * p.rttvar : 1000000);
    p.rto = base::clamp(rto, m_config.rto_min_ns, m_config.rto_max_ns);
}

void Transport::handle_ack(Peer& p, const FrameHeader& h, uint64_t now) {
    // An ack for frames never sent is a peer bug (or an attack with the key): ignore it.
    if (seq_before(p.snd_next, h.ack))
        return;
    bool progress = false;
    while (SendFrame* f = p.head) {
        if (f->sequence == 0 || !seq_before(f->sequence, h.ack))
            break;
        if (f->transmissions == 1)
            rto_sample(p, now - f->sent_at);
        p.head = f->next;
        if (!p.head)
            p.tail = nullptr;
        if (p.next_new == f)
            p.next_new = f->next;
        --p.queued_frames;
        if (f->last())
            ++m_counters.acked_messages;
        delete f;
        progress = true;
    }
    for (SendFrame* f = p.head; f && f->sequence; f = f->next) {
        uint32_t bit = f->sequence - h.ack - 1;
        if (bit < 32 && (h.selective & (1u << bit)))
            f->sacked = true;
    }
    p.peer_window = h.window;
    // Any ack proves the peer alive; progress restarts the timer for what is left.
    p.retries = 0;
    if (progress)
        p.timer_at = (p.head && p.head->sequence) || p.next_new ? now + p.rto : kNever;
    pump(p, now);
}

void Transport::on_tick(uint64_t now) {
    for (size_t i = 0; i < m_peer_capacity; ++i) {
        Peer* p = m_peers[i];
        if (!p || p->timer_at == kNever || p->timer_at > now)
            continue;
        if (++p->retries > m_config.max_retries) {
            // Unreachable: what it did not acknowledge fails, and the next contact opens
            // new sessions on both sides.
            fail_outgoing(*p, base::Error::NODE_DOWN);
            reset_incoming(*p);
            p->state = PeerState::kIdle;
            p->peer_session = 0;
            p->rto = m_config.rto_initial_ns;
            p->have_rtt = false;
            Event e;
            e.kind = EventKind::kPeerDown;
            e.node = p->node;
            e.incarnation = p->incarnation;
            push_event(e);
            continue;
        }
        p->rto = p->rto * 2 > m_config.rto_max_ns ? m_config.rto_max_ns : p->rto * 2;
        p->timer_at = now + p->rto;
        if (p->state == PeerState::kHelloSent) {
            emit(*p, FrameKind::kHello, nullptr, {});
            continue;
        }
        // Retransmit what the peer has not reported, up to the window; with nothing in
        // flight, the first waiting frame probes a closed window.
        bool any = false;
        for (SendFrame* f = p->head; f && f != p->next_new; f = f->next) {
            // Frames the peer reported are skipped, except the oldest: a receiver may
            // have dropped what it reported (a new session), and the cumulative ack has
            // not moved for a whole RTO.
            if (f->sacked && f != p->head)
                continue;
            ++f->transmissions;
            f->sent_at = now;
            FrameHeader h;
            h.sequence = f->sequence;
            h.fragment_index = f->fragment_index;
            h.fragment_count = f->fragment_count;
            h.message_length = f->message_length;
            emit(*p, FrameKind::kData, &h,
                 base::Span<const uint8_t>(f->payload, f->payload_length));
            ++m_counters.retransmits;
            any = true;
        }
        if (!any && p->next_new) {
            SendFrame* f = p->next_new;
            f->sequence = p->snd_next++;
            f->transmissions = 1;
            f->sent_at = now;
            p->next_new = f->next;
            FrameHeader h;
            h.sequence = f->sequence;
            h.fragment_index = f->fragment_index;
            h.fragment_count = f->fragment_count;
            h.message_length = f->message_length;
            emit(*p, FrameKind::kData, &h,
                 base::Span<const uint8_t>(f->payload, f->payload_length));
        } else if (!any) {
            p->timer_at = kNever;
            p->retries = 0;
        }
    }
}

uint64_t Transport::next_deadline() const {
    uint64_t at = kNever;
    for (size_t i = 0; i < m_peer_capacity; ++i)
        if (m_peers[i] && m_peers[i]->timer_at < at)
            at = m_peers[i]->timer_at;
    return at;
}

// ---- receiving -------------------------------------------------------------------------

void Transport::accept_fragment(Peer& p, const FrameHeader& h, base::Span<const uint8_t> payload) {
    if (h.fragment_index == 0) {
        if (p.partial) {
            ++m_counters.bad_fragments; // the message in progress never finished
            delete[] p.partial;
            p.partial = nullptr;
        }
        p.partial = new (std::nothrow) uint8_t[h.message_length ? h.message_length : 1];
        if (!p.partial)
            return;
        p.partial_length = h.message_length;
        p.partial_count = h.fragment_count;
        p.partial_next = 0;
    } else if (!p.partial || h.fragment_index != p.partial_next
               || h.fragment_count != p.partial_count || h.message_length != p.partial_length) {
        ++m_counters.bad_fragments;
        delete[] p.partial;
        p.partial = nullptr;
        return;
    }
    copy_bytes(p.partial + size_t(h.fragment_index) * kMaxPayload, payload.data(), payload.size());
    if (++p.partial_next < p.partial_count)
        return;
    Event e;
    e.kind = EventKind::kDelivered;
    e.node = p.node;
    e.incarnation = p.incarnation;
    e.data = base::Span<const uint8_t>(p.partial, p.partial_length);
    push_event(e, p.partial);
    p.partial = nullptr;
    ++p.waiting;
    ++m_counters.delivered;
}

void Transport::deliver_in_order(Peer& p) {
    for (;;) {
        HeldFrame& slot = p.held[p.rcv_next % m_config.window];
        if (!slot.used || slot.header.sequence != p.rcv_next)
            return;
        bool completes = slot.header.fragment_index + 1 == slot.header.fragment_count;
        if (completes && p.waiting >= m_config.receive_slots)
            return; // no room for the message: it stays held until a slot frees
        slot.used = false;
        ++p.rcv_next;
        accept_fragment(p, slot.header,
                        base::Span<const uint8_t>(slot.payload, slot.header.payload_length));
    }
}

void Transport::handle_data(Peer& p, const DecodedFrame& f) {
    const FrameHeader& h = f.header;
    p.ack_needed = true;
    if (seq_before(h.sequence, p.rcv_next)) {
        ++m_counters.duplicates;
        return;
    }
    uint32_t offset = h.sequence - p.rcv_next;
    if (offset >= m_config.window) {
        ++m_counters.out_of_window;
        return;
    }
    HeldFrame& slot = p.held[h.sequence % m_config.window];
    if (slot.used && slot.header.sequence == h.sequence) {
        ++m_counters.duplicates;
        return;
    }
    bool completes = h.fragment_index + 1 == h.fragment_count;
    if (offset == 0 && completes && p.waiting >= m_config.receive_slots) {
        ++m_counters.out_of_window; // no room: the sender probes again after an RTO
        return;
    }
    slot.used = true;
    slot.header = h;
    copy_bytes(slot.payload, f.payload.data(), f.payload.size());
    deliver_in_order(p);
}

void Transport::on_frame(base::Span<const uint8_t> frame, uint64_t now) {
    ++m_counters.frames_received;
    DecodedFrame f;
    FrameProblem problem;
    if (!decode_frame(frame, f, problem)) {
        ++m_counters.malformed;
        return;
    }
    if (!m_auth.verify(f.authenticated, f.tag)) {
        ++m_counters.bad_tag;
        return;
    }
    const FrameHeader& h = f.header;
    if (h.destination != m_self || h.source == m_self || h.source == 0) {
        ++m_counters.misdirected;
        return;
    }
    Peer* pp = find_or_add(h.source);
    if (!pp)
        return;
    Peer& p = *pp;
    // A node's earlier life, or a frame for this node's earlier life.
    if ((p.incarnation != 0 && seq_before(h.source_incarnation, p.incarnation))
        || (h.destination_incarnation == 0 && h.kind != FrameKind::kHello)) {
        ++m_counters.stale;
        return;
    }
    if (h.destination_incarnation != 0 && h.destination_incarnation != m_incarnation) {
        // The peer still talks to this node's earlier life: tell it about this one.
        ++m_counters.stale;
        if (p.state == PeerState::kIdle && h.kind != FrameKind::kHelloAck) {
            p.incarnation = h.source_incarnation;
            p.my_session = p.my_session + 1 == 0 ? 1 : p.my_session + 1;
            p.snd_next = 1;
            p.state = PeerState::kHelloSent;
            emit(p, FrameKind::kHello, nullptr, {});
            p.timer_at = now + p.rto;
        }
        return;
    }
    bool newer = p.incarnation != 0 && h.source_incarnation != p.incarnation;
    if (newer) {
        // The peer restarted: what its old life did not acknowledge is lost.
        fail_outgoing(p, base::Error::NODE_DOWN);
        reset_incoming(p);
        p.state = PeerState::kIdle;
        p.peer_session = 0;
        Event e;
        e.kind = EventKind::kPeerRestarted;
        e.node = p.node;
        e.incarnation = h.source_incarnation;
        push_event(e);
    }
    p.incarnation = h.source_incarnation;
    switch (h.kind) {
    case FrameKind::kHello:
    case FrameKind::kHelloAck: {
        if (h.kind == FrameKind::kHelloAck
            && (p.state == PeerState::kIdle || h.destination_session != p.my_session)) {
            ++m_counters.stale; // an answer to a Hello of an earlier session
            return;
        }
        if (h.source_session != p.peer_session) {
            // The peer opened a new session toward us: its old one is gone, and with it
            // whatever of ours it had not acknowledged.
            if (p.peer_session != 0 && !newer) {
                fail_outgoing(p, base::Error::NODE_DOWN);
                if (p.state == PeerState::kOpen)
                    p.state = PeerState::kIdle;
            }
            reset_incoming(p);
            p.peer_session = h.source_session;
            if (p.state == PeerState::kIdle || p.state == PeerState::kOpen) {
                p.my_session = p.my_session + 1 == 0 ? 1 : p.my_session + 1;
                p.snd_next = 1;
                p.state = PeerState::kHelloSent;
            }
        }
        if (h.kind == FrameKind::kHello)
            emit(p, FrameKind::kHelloAck, nullptr, {});
        if (p.state != PeerState::kOpen)
            start_session(p, h.source_incarnation, now);
        return;
    }
    case FrameKind::kData:
    case FrameKind::kAck:
        if (p.state == PeerState::kHelloSent && h.destination_session == p.my_session
            && h.source_session != 0) {
            // The peer answers our Hello's session: it took the Hello, and this frame
            // does what its lost HelloAck would have.
            reset_incoming(p);
            p.peer_session = h.source_session;
            start_session(p, h.source_incarnation, now);
        }
        if (p.state != PeerState::kOpen || h.destination_session != p.my_session
            || h.source_session != p.peer_session) {
            ++m_counters.stale;
            // A peer still in a session we gave up: ask for a new one.
            if (p.state == PeerState::kIdle) {
                p.my_session = p.my_session + 1 == 0 ? 1 : p.my_session + 1;
                p.snd_next = 1;
                p.state = PeerState::kHelloSent;
                emit(p, FrameKind::kHello, nullptr, {});
                p.timer_at = now + p.rto;
            }
            return;
        }
        handle_ack(p, h, now);
        if (h.kind == FrameKind::kData)
            handle_data(p, f);
        pump(p, now);
        if (p.ack_needed)
            emit_ack(p);
        return;
    }
}

} // namespace tern::bus

#include "membership.h"

namespace tern::bus {

namespace {

void put32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = uint8_t(v >> (8 * i));
}

uint32_t get32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

} // namespace

void encode_heartbeat(const Heartbeat& heartbeat, uint8_t (&out)[kHeartbeatSize]) {
    for (uint8_t& b : out)
        b = 0;
    out[0] = uint8_t(BusMessageKind::kHeartbeat);
    out[1] = kHeartbeatVersion;
    put32(out + 4, heartbeat.incarnation);
    put32(out + 8, heartbeat.load);
}

bool decode_heartbeat(base::Span<const uint8_t> message, Heartbeat& out) {
    if (message.size() != kHeartbeatSize)
        return false;
    const uint8_t* p = message.data();
    if (p[0] != uint8_t(BusMessageKind::kHeartbeat) || p[1] != kHeartbeatVersion)
        return false;
    if (p[2] || p[3] || p[12] || p[13] || p[14] || p[15])
        return false;
    out.incarnation = get32(p + 4);
    out.load = get32(p + 8);
    return out.incarnation != 0;
}

const char* member_state_name(MemberState state) {
    switch (state) {
    case MemberState::kUnknown:
        return "unknown";
    case MemberState::kUp:
        return "up";
    case MemberState::kDown:
        return "down";
    }
    return "?";
}

bool Membership::add_peer(uint16_t node, uint64_t now) {
    if (node == 0 || node == m_self || find(node) || m_count == kMaxMembers)
        return false;
    Member& m = m_members[m_count++];
    m = Member{};
    m.node = node;
    m.next_heartbeat_ns = now;
    return true;
}

const Member* Membership::find(uint16_t node) const {
    for (size_t i = 0; i < m_count; ++i) {
        if (m_members[i].node == node)
            return &m_members[i];
    }
    return nullptr;
}

Member* Membership::find_mutable(uint16_t node) {
    return const_cast<Member*>(static_cast<const Membership*>(this)->find(node));
}

void Membership::change(const MembershipChange& c) {
    if (m_change_count == kMaxChanges) {
        ++m_lost_changes;
        return;
    }
    m_changes[(m_change_head + m_change_count) % kMaxChanges] = c;
    ++m_change_count;
}

bool Membership::pop_change(MembershipChange& out) {
    if (m_change_count == 0)
        return false;
    out = m_changes[m_change_head];
    m_change_head = (m_change_head + 1) % kMaxChanges;
    --m_change_count;
    return true;
}

bool Membership::on_heartbeat(uint16_t node, const Heartbeat& heartbeat, uint64_t now) {
    Member* m = find_mutable(node);
    if (!m)
        return false;
    if (heartbeat.incarnation < m->incarnation)
        return true; // an earlier life's heartbeat, overtaken by a newer one
    bool restarted = m->incarnation != 0 && heartbeat.incarnation > m->incarnation;
    if (m->state != MemberState::kUp || restarted) {
        MembershipChange c;
        c.node = node;
        c.state = MemberState::kUp;
        c.incarnation = heartbeat.incarnation;
        c.previous_incarnation = m->incarnation;
        change(c);
        m->state = MemberState::kUp;
        ++m->ups;
    }
    m->incarnation = heartbeat.incarnation;
    m->load = heartbeat.load;
    m->last_heard_ns = now;
    return true;
}

void Membership::on_heard(uint16_t node, uint64_t now) {
    Member* m = find_mutable(node);
    if (m && m->state == MemberState::kUp)
        m->last_heard_ns = now;
}

void Membership::mark_down(Member& m, bool silence) {
    m.state = MemberState::kDown;
    ++m.downs;
    MembershipChange c;
    c.node = m.node;
    c.state = MemberState::kDown;
    c.incarnation = m.incarnation;
    c.silence = silence;
    change(c);
}

void Membership::on_peer_down(uint16_t node) {
    Member* m = find_mutable(node);
    if (m && m->state == MemberState::kUp)
        mark_down(*m, false);
}

void Membership::on_tick(uint64_t now) {
    for (size_t i = 0; i < m_count; ++i) {
        Member& m = m_members[i];
        if (m.state == MemberState::kUp && now - m.last_heard_ns >= m_config.down_ns)
            mark_down(m, true);
    }
}

uint64_t Membership::next_deadline() const {
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < m_count; ++i) {
        const Member& m = m_members[i];
        if (m.next_heartbeat_ns < next)
            next = m.next_heartbeat_ns;
        if (m.state == MemberState::kUp && m.last_heard_ns + m_config.down_ns < next)
            next = m.last_heard_ns + m_config.down_ns;
    }
    return next;
}

size_t Membership::due(uint64_t now, base::Span<uint16_t> out) {
    size_t n = 0;
    for (size_t i = 0; i < m_count && n < out.size(); ++i) {
        Member& m = m_members[i];
        if (m.next_heartbeat_ns > now)
            continue;
        out[n++] = m.node;
        // The next period counts from now, not from the missed slot: a loop that slept
        // through several periods sends one heartbeat, not a burst.
        m.next_heartbeat_ns = now + m_config.heartbeat_ns;
    }
    return n;
}

} // namespace tern::bus

#pragma once
// Membership of the bus: which nodes of the cluster are up, in which incarnation, when
// each was last heard and how loaded it said it was.
//
// A pure state machine like the transport: the owner feeds it heartbeats that arrived
// (on_heartbeat), the transport's verdicts (on_peer_down) and the time (on_tick at
// next_deadline()), asks which peers are due a heartbeat (due), and takes out changes
// (pop_change) to log them.
//
// Every configured peer is sent a heartbeat each heartbeat_ns over the transport (the
// owner skips a peer whose previous message is still unacknowledged, so a dead peer costs
// one queued heartbeat, not one per period). A peer is up from its first heartbeat; it is
// declared down when nothing was heard from it for down_ns, or when the transport gives
// it up; a heartbeat after that brings it up again. A heartbeat that names a higher
// incarnation than the one known means the node restarted; a lower one is from an earlier
// life and is ignored (the transport already refuses frames of earlier lives).
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>

namespace tern::bus {

// The first byte of every message the bus carries on the transport.
// Remote port messages (kSend .. kPortGone) are laid out in remote.h.
enum class BusMessageKind : uint8_t {
    kHeartbeat = 1,
    kSend = 2,     // a message for an exported port, no answer expected
    kCall = 3,     // a call to an exported port; answered by a kReply with its call id
    kReply = 4,    // the answer to a kCall (or its failure)
    kPortGone = 5, // an exported port died: the receiver closes its proxy
};

// A heartbeat on the wire: 16 bytes, little-endian.
//   0 kind (1)   1 version (1)   2..3 zero   4..7 incarnation   8..11 load   12..15 zero
struct Heartbeat {
    uint32_t incarnation = 0;
    uint32_t load = 0; // the sender's run queue length, tasks or whatever it measures
};
inline constexpr size_t kHeartbeatSize = 16;
inline constexpr uint8_t kHeartbeatVersion = 1;
void encode_heartbeat(const Heartbeat& heartbeat, uint8_t (&out)[kHeartbeatSize]);
// false for anything but a well-formed version-1 heartbeat of exactly kHeartbeatSize bytes.
bool decode_heartbeat(base::Span<const uint8_t> message, Heartbeat& out);

struct MembershipConfig {
    uint64_t heartbeat_ns = 750'000'000;
    uint64_t down_ns = 3'000'000'000;
};

enum class MemberState : uint8_t {
    kUnknown = 0, // configured, never heard
    kUp = 1,
    kDown = 2,
};
const char* member_state_name(MemberState state);

struct Member {
    uint16_t node = 0;
    MemberState state = MemberState::kUnknown;
    uint32_t incarnation = 0; // 0 until heard
    uint64_t last_heard_ns = 0;
    uint32_t load = 0;
    uint32_t ups = 0;   // times it came up (its first contact and every return)
    uint32_t downs = 0; // times it was declared down
    uint64_t next_heartbeat_ns = 0;
};

struct MembershipChange {
    uint16_t node = 0;
    MemberState state = MemberState::kUnknown;
    uint32_t incarnation = 0;
    uint32_t previous_incarnation = 0; // for an up: the life before (0: none known)
    bool silence = false;              // for a down: declared by silence, not by the transport
};

class Membership {
public:
    static constexpr size_t kMaxMembers = 64;
    static constexpr size_t kMaxChanges = 64;

    Membership(uint16_t self, MembershipConfig config) : m_self(self), m_config(config) {}

    // Adds a peer to watch. false: this node, node 0, a peer already added, or the table
    // is full.
    bool add_peer(uint16_t node, uint64_t now);

    // A heartbeat from node arrived. false: node is not a configured peer (the owner
    // counts and drops it).
    bool on_heartbeat(uint16_t node, const Heartbeat& heartbeat, uint64_t now);
    // Any other message from node: it is alive, in the incarnation it was last heard in.
    void on_heard(uint16_t node, uint64_t now);
    // The transport gave node up (no acknowledgement after its retries).
    void on_peer_down(uint16_t node);
    // Declares down every up peer silent for down_ns.
    void on_tick(uint64_t now);
    // The earliest time on_tick or due has work.
    uint64_t next_deadline() const;

    // Peers due a heartbeat at now, written to out (at most out.size()); each is
    // scheduled for its next period.
    size_t due(uint64_t now, base::Span<uint16_t> out);

    bool pop_change(MembershipChange& out);

    base::Span<const Member> members() const { return {m_members, m_count}; }
    const Member* find(uint16_t node) const;
    uint16_t self() const { return m_self; }
    const MembershipConfig& config() const { return m_config; }
    // Changes that did not fit the queue (never expected: the owner pops every round).
    uint64_t lost_changes() const { return m_lost_changes; }

private:
    Member* find_mutable(uint16_t node);
    void change(const MembershipChange& c);
    void mark_down(Member& m, bool silence);

    uint16_t m_self;
    MembershipConfig m_config;
    Member m_members[kMaxMembers];
    size_t m_count = 0;
    MembershipChange m_changes[kMaxChanges];
    size_t m_change_head = 0;
    size_t m_change_count = 0;
    uint64_t m_lost_changes = 0;
};

} // namespace tern::bus

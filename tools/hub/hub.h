/*
 * tern-hub: the emulated Ethernet of a Tern cluster under QEMU, and the place where its
 * faults happen.
 *
 * Every node's NIC is a QEMU `-netdev dgram` socket on 127.0.0.1 that sends each
 * Ethernet frame as one UDP datagram to its own port on the hub and receives frames from
 * that port. The hub learns which port each source MAC address sits behind, forwards
 * unicast frames to that port, and floods broadcast, multicast and unknown destinations
 * to every other port, like a learning switch. On the way, each directed link (from one
 * node to another) can drop, duplicate, delay or reorder frames at a given rate, and a
 * partition cuts every link between nodes of different groups. Commands arrive as text
 * lines on a UNIX control socket (see hub_control.c and docs/cluster.md).
 *
 * The frame path allocates nothing: received frames sit in a static batch, held frames
 * in a pool allocated once at start, and every decision draws from a per-link generator
 * seeded from one printed seed, so a fault pattern can be replayed for the same traffic.
 */
#ifndef TERN_TOOLS_HUB_H
#define TERN_TOOLS_HUB_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    kHubMaxNodes = 64,
    // Jumbo frames fit; anything longer is counted as oversized and dropped.
    kHubMaxFrame = 9216,
    // Frames held for a delay or a reorder at one time; more are dropped and counted.
    kHubPoolSlots = 4096,
    kHubBatch = 32,
    kHubMacTableSize = 1024,
    // Latency histogram: 100 ns buckets up to 1 ms, then one overflow bucket.
    kHubLatencyBucketNs = 100,
    kHubLatencyBuckets = 10000,
    kHubDefaultReorderMs = 10,
    kHubMaxDelayMs = 60000,
};

// One node's port: the hub's UDP socket for it and the address of its QEMU.
struct HubPort {
    int fd;
    unsigned node;
    uint16_t hub_port;
    uint16_t peer_port;
    struct sockaddr_in peer;
    // Nodes in different groups cannot reach each other (a partition); 0 when healed.
    unsigned group;
    uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
    uint64_t tx_errors;  // sendto failed (the node is down, or the socket buffer is full)
    uint64_t runt;       // shorter than an Ethernet header
    uint64_t oversized;  // longer than kHubMaxFrame
    uint64_t foreign;    // sent by an address that is not this port's node
    uint64_t bad_source; // source MAC is a multicast address
    uint64_t flooded;    // broadcast, multicast or unknown destination
};

// Fault rates are thresholds on a 32-bit random draw: an event happens when the draw is
// below the threshold, so 0 never happens and 2^32 always does.
struct HubFaults {
    uint64_t drop, dup, delay, reorder;
    uint32_t delay_ms;
    uint32_t reorder_ms;
};

// A directed link from one port to another.
struct HubLink {
    struct HubFaults faults;
    uint64_t rng;
    int held; // pool slot of the frame held back for a reorder, or -1
    uint64_t forwarded, bytes, dropped, duplicated, delayed, reordered, cut, queue_full;
};

struct HubCounters {
    uint64_t frames;      // frames received on any port
    uint64_t mac_flushes; // the MAC table filled up and was emptied
    uint64_t latency_count;
    uint64_t latency_sum_ns;
    uint64_t latency_max_ns;
    uint64_t latency_histogram[kHubLatencyBuckets + 1];
};

struct Hub {
    struct HubPort ports[kHubMaxNodes];
    unsigned port_count;
    struct HubLink links[kHubMaxNodes][kHubMaxNodes];
    struct HubCounters counters;
    uint64_t seed;
    uint64_t started_ns;
    unsigned next_group;
    bool trace;
    bool shutdown;
};

// The frame path (hub.c), called by the control commands.
uint64_t hub_now_ns(void);
void hub_seed_links(struct Hub* hub, uint64_t seed);
void hub_reset_counters(struct Hub* hub);
int hub_port_index(const struct Hub* hub, unsigned node);
// Sends one Ethernet frame to the node at port index `to` as if it came off the wire
// (counted in that port's tx counters, on no link); false when the send failed.
bool hub_inject(struct Hub* hub, unsigned to, const unsigned char* frame, size_t length);

// The control language (hub_control.c). Runs one command line (`length` bytes, then a NUL
// the caller put there) and appends its reply to `out`; the reply's last line is "ok" or
// "error: <why>".
struct HubText {
    char* data;
    size_t length;
    size_t capacity;
    bool failed; // an allocation failed; the reply is cut short
};
void hub_text_printf(struct HubText* text, const char* format, ...)
    __attribute__((format(printf, 2, 3)));
void hub_control_execute(struct Hub* hub, char* line, size_t length, struct HubText* out);

#endif

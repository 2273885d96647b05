/*
 * tern-hub: the frame path and the event loop. See hub.h for what the hub is, and
 * docs/cluster.md for how a cluster uses it.
 *
 *   tern-hub --control PATH --node ID:HUB_PORT:PEER_PORT [--node ...] [--seed N]
 *
 * Each --node gives a node id, the hub's UDP port for it on 127.0.0.1 (0: any free port,
 * reported by the `nodes` command) and the port its QEMU listens on. Only loopback
 * addresses are used. SIGTERM or SIGINT, or the `shutdown` command, end the hub.
 */
#define _GNU_SOURCE
#include "hub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum {
    kMaxClients = 8,
    kClientLineMax = 1024,
    // A client that stops reading its replies is dropped rather than buffered forever.
    kClientOutputMax = 4 * 1024 * 1024,
    kEthHeader = 14,
    kRoundsPerWake = 4,
    // epoll data tags: ports are 0..kHubMaxNodes-1, then the listener, then clients.
    kTagListener = kHubMaxNodes,
    kTagClientBase = kHubMaxNodes + 1,
};

struct Slot {
    uint64_t due_ns;
    uint64_t seq;
    uint32_t length;
    uint16_t from, to;
    bool reorder; // held for a reorder rather than delayed
    bool sent;    // a reorder hold already released by the next frame on its link
};

struct Client {
    int fd;
    char line[kClientLineMax];
    size_t line_length;
    bool overlong; // discarding the rest of a line that did not fit
    struct HubText pending;
    size_t pending_sent;
};

static struct Hub g_hub;
static struct Client g_clients[kMaxClients];
static int g_epoll = -1;
static int g_listener = -1;
static char g_control_path[sizeof(((struct sockaddr_un*)0)->sun_path)];
static volatile sig_atomic_t g_signalled;

// Frames held for delays and reorders: headers, data and a free list, allocated once.
static struct Slot* g_slots;
static unsigned char (*g_slot_data)[kHubMaxFrame];
static int g_free_slots[kHubPoolSlots];
static unsigned g_free_count;
// A binary min-heap of slot indices ordered by (due_ns, seq).
static int g_heap[kHubPoolSlots];
static unsigned g_heap_count;
static uint64_t g_seq;

// The receive batch.
static unsigned char g_rx_data[kHubBatch][kHubMaxFrame];
static struct iovec g_rx_iov[kHubBatch];
static struct sockaddr_in g_rx_from[kHubBatch];
static struct mmsghdr g_rx_msgs[kHubBatch];

// MAC learning table: open addressing on the 48-bit address; emptied when 3/4 full, so a
// guest that sends from many source addresses cannot fill it for good.
struct MacEntry {
    uint64_t mac; // 0 = empty (00:00:00:00:00:00 is not a valid station address)
    int port;
};
static struct MacEntry g_macs[kHubMacTableSize];
static unsigned g_mac_count;

static void logf_(const char* format, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char* format, ...) {
    va_list args;
    va_start(args, format);
    fputs("hub: ", stdout);
    vfprintf(stdout, format, args);
    fputc('\n', stdout);
    va_end(args);
}

uint64_t hub_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// splitmix64: turns the seed and a link's endpoints into that link's generator state, and
// steps the generator. Each link draws from its own stream, so the decisions on one link
// do not depend on how much traffic the others carried.
static uint64_t splitmix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void hub_seed_links(struct Hub* hub, uint64_t seed) {
    hub->seed = seed;
    for (unsigned from = 0; from < kHubMaxNodes; ++from) {
        for (unsigned to = 0; to < kHubMaxNodes; ++to) {
            uint64_t mix = seed ^ ((uint64_t)from << 32) ^ ((uint64_t)to << 48);
            hub->links[from][to].rng = splitmix64(&mix);
        }
    }
}

static bool chance(struct HubLink* link, uint64_t threshold) {
    if (threshold == 0) {
        return false;
    }
    return (splitmix64(&link->rng) >> 32) < threshold;
}

void hub_reset_counters(struct Hub* hub) {
    for (unsigned i = 0; i < hub->port_count; ++i) {
        struct HubPort* port = &hub->ports[i];
        port->rx_frames = port->rx_bytes = port->tx_frames = port->tx_bytes = 0;
        port->tx_errors = port->runt = port->oversized = port->foreign = 0;
        port->bad_source = port->flooded = 0;
        for (unsigned j = 0; j < hub->port_count; ++j) {
            struct HubLink* link = &hub->links[i][j];
            link->forwarded = link->bytes = link->dropped = link->duplicated = 0;
            link->delayed = link->reordered = link->cut = link->queue_full = 0;
        }
    }
    memset(&hub->counters, 0, sizeof(hub->counters));
}

int hub_port_index(const struct Hub* hub, unsigned node) {
    for (unsigned i = 0; i < hub->port_count; ++i) {
        if (hub->ports[i].node == node) {
            return (int)i;
        }
    }
    return -1;
}

bool hub_inject(struct Hub* hub, unsigned to, const unsigned char* frame, size_t length) {
    struct HubPort* port = &hub->ports[to];
    ssize_t sent = sendto(port->fd, frame, length, MSG_DONTWAIT | MSG_NOSIGNAL,
                          (const struct sockaddr*)&port->peer, sizeof(port->peer));
    if (sent != (ssize_t)length) {
        ++port->tx_errors;
        return false;
    }
    ++port->tx_frames;
    port->tx_bytes += length;
    if (hub->trace) {
        logf_("frame inject>%u len=%zu injected", port->node, length);
    }
    return true;
}

// --- MAC learning ---------------------------------------------------------------------

static uint64_t mac_of(const unsigned char* bytes) {
    uint64_t mac = 0;
    for (int i = 0; i < 6; ++i) {
        mac = (mac << 8) | bytes[i];
    }
    return mac;
}

static unsigned mac_slot(uint64_t mac) {
    uint64_t state = mac;
    return (unsigned)(splitmix64(&state) % kHubMacTableSize);
}

static int mac_lookup(uint64_t mac) {
    for (unsigned i = mac_slot(mac), probes = 0; probes < kHubMacTableSize;
         i = (i + 1) % kHubMacTableSize, ++probes) {
        if (g_macs[i].mac == mac) {
            return g_macs[i].port;
        }
        if (g_macs[i].mac == 0) {
            return -1;
        }
    }
    return -1;
}

static void mac_learn(uint64_t mac, int port) {
    if (mac == 0) {
        return;
    }
    if (g_mac_count >= kHubMacTableSize * 3 / 4) {
        memset(g_macs, 0, sizeof(g_macs));
        g_mac_count = 0;
        ++g_hub.counters.mac_flushes;
    }
    for (unsigned i = mac_slot(mac);; i = (i + 1) % kHubMacTableSize) {
        if (g_macs[i].mac == mac) {
            // A node restarted behind another port, or a guest moved an address.
            g_macs[i].port = port;
            return;
        }
        if (g_macs[i].mac == 0) {
            g_macs[i].mac = mac;
            g_macs[i].port = port;
            ++g_mac_count;
            return;
        }
    }
}

// --- Held frames ------------------------------------------------------------------------

static bool heap_less(int a, int b) {
    const struct Slot* x = &g_slots[a];
    const struct Slot* y = &g_slots[b];
    return x->due_ns < y->due_ns || (x->due_ns == y->due_ns && x->seq < y->seq);
}

static void heap_push(int slot) {
    unsigned i = g_heap_count++;
    g_heap[i] = slot;
    while (i > 0) {
        unsigned parent = (i - 1) / 2;
        if (!heap_less(g_heap[i], g_heap[parent])) {
            break;
        }
        int swap = g_heap[i];
        g_heap[i] = g_heap[parent];
        g_heap[parent] = swap;
        i = parent;
    }
}

static int heap_pop(void) {
    int top = g_heap[0];
    g_heap[0] = g_heap[--g_heap_count];
    unsigned i = 0;
    for (;;) {
        unsigned left = 2 * i + 1, right = left + 1, least = i;
        if (left < g_heap_count && heap_less(g_heap[left], g_heap[least])) {
            least = left;
        }
        if (right < g_heap_count && heap_less(g_heap[right], g_heap[least])) {
            least = right;
        }
        if (least == i) {
            break;
        }
        int swap = g_heap[i];
        g_heap[i] = g_heap[least];
        g_heap[least] = swap;
        i = least;
    }
    return top;
}

static int hold_frame(unsigned from, unsigned to, const unsigned char* data, size_t length,
                      uint64_t due_ns, bool reorder) {
    if (g_free_count == 0) {
        return -1;
    }
    int slot = g_free_slots[--g_free_count];
    struct Slot* s = &g_slots[slot];
    s->due_ns = due_ns;
    s->seq = g_seq++;
    s->length = (uint32_t)length;
    s->from = (uint16_t)from;
    s->to = (uint16_t)to;
    s->reorder = reorder;
    s->sent = false;
    memcpy(g_slot_data[slot], data, length);
    heap_push(slot);
    return slot;
}

// --- The frame path ---------------------------------------------------------------------

static void trace_frame(const char* verdict, unsigned from, unsigned to, const unsigned char* data,
                        size_t length) {
    unsigned type = length >= kEthHeader ? (unsigned)(data[12] << 8 | data[13]) : 0;
    logf_("frame %u>%u len=%zu type=0x%04x %s", g_hub.ports[from].node, g_hub.ports[to].node,
          length, type, verdict);
}

static void transmit(unsigned from, unsigned to, const unsigned char* data, size_t length) {
    struct HubPort* port = &g_hub.ports[to];
    struct HubLink* link = &g_hub.links[from][to];
    ssize_t sent = sendto(port->fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL,
                          (const struct sockaddr*)&port->peer, sizeof(port->peer));
    if (sent == (ssize_t)length) {
        ++port->tx_frames;
        port->tx_bytes += length;
        ++link->forwarded;
        link->bytes += length;
    } else {
        // ECONNREFUSED (the node's QEMU is gone) or a full buffer: the frame is lost, as
        // on a wire to a powered-off machine.
        ++port->tx_errors;
    }
    if (g_hub.trace) {
        trace_frame(sent == (ssize_t)length ? "sent" : "send-failed", from, to, data, length);
    }
}

static void release_held(struct HubLink* link) {
    int slot = link->held;
    link->held = -1;
    struct Slot* s = &g_slots[slot];
    transmit(s->from, s->to, g_slot_data[slot], s->length);
    // The slot goes back to the pool when its heap entry comes due.
    s->sent = true;
}

// One copy of a frame on one directed link, after drop and duplication were decided.
static void deliver_copy(unsigned from, unsigned to, const unsigned char* data, size_t length,
                         uint64_t now) {
    struct HubLink* link = &g_hub.links[from][to];
    if (chance(link, link->faults.delay)) {
        uint64_t due = now + (uint64_t)link->faults.delay_ms * 1000000u;
        if (hold_frame(from, to, data, length, due, false) >= 0) {
            ++link->delayed;
        } else {
            ++link->queue_full;
        }
        return;
    }
    if (link->held < 0 && chance(link, link->faults.reorder)) {
        uint64_t due = now + (uint64_t)link->faults.reorder_ms * 1000000u;
        int slot = hold_frame(from, to, data, length, due, true);
        if (slot >= 0) {
            link->held = slot;
            ++link->reordered;
            return;
        }
        ++link->queue_full;
    }
    transmit(from, to, data, length);
    if (link->held >= 0) {
        release_held(link);
    }
}

static void forward_on_link(unsigned from, unsigned to, const unsigned char* data, size_t length,
                            uint64_t now) {
    struct HubLink* link = &g_hub.links[from][to];
    if (g_hub.ports[from].group != g_hub.ports[to].group) {
        ++link->cut;
        if (g_hub.trace) {
            trace_frame("cut", from, to, data, length);
        }
        return;
    }
    if (chance(link, link->faults.drop)) {
        ++link->dropped;
        if (g_hub.trace) {
            trace_frame("dropped", from, to, data, length);
        }
        return;
    }
    bool twice = chance(link, link->faults.dup);
    deliver_copy(from, to, data, length, now);
    if (twice) {
        ++link->duplicated;
        deliver_copy(from, to, data, length, now);
    }
}

static void handle_frame(unsigned from, const unsigned char* data, size_t length,
                         const struct sockaddr_in* sender, bool truncated, uint64_t now) {
    struct HubPort* port = &g_hub.ports[from];
    ++g_hub.counters.frames;
    if (sender->sin_port != port->peer.sin_port
        || sender->sin_addr.s_addr != port->peer.sin_addr.s_addr) {
        ++port->foreign;
        return;
    }
    ++port->rx_frames;
    port->rx_bytes += length;
    if (truncated) {
        ++port->oversized;
        return;
    }
    if (length < kEthHeader) {
        ++port->runt;
        return;
    }
    if (data[6] & 1) {
        ++port->bad_source;
        return;
    }
    mac_learn(mac_of(data + 6), (int)from);
    int to = (data[0] & 1) ? -1 : mac_lookup(mac_of(data));
    if (to == (int)from) {
        // The destination sits behind the port the frame came from: nothing to do.
        return;
    }
    if (to >= 0) {
        forward_on_link(from, (unsigned)to, data, length, now);
        return;
    }
    ++port->flooded;
    for (unsigned i = 0; i < g_hub.port_count; ++i) {
        if (i != from) {
            forward_on_link(from, i, data, length, now);
        }
    }
}

static void record_latency(uint64_t ns) {
    struct HubCounters* c = &g_hub.counters;
    ++c->latency_count;
    c->latency_sum_ns += ns;
    if (ns > c->latency_max_ns) {
        c->latency_max_ns = ns;
    }
    uint64_t bucket = ns / kHubLatencyBucketNs;
    c->latency_histogram[bucket < kHubLatencyBuckets ? bucket : kHubLatencyBuckets]++;
}

static void receive_port(unsigned index) {
    struct HubPort* port = &g_hub.ports[index];
    // A few batches per wake-up, so one busy node cannot starve the others or the control
    // socket; epoll reports the port again while frames remain.
    for (unsigned round = 0; round < kRoundsPerWake; ++round) {
        for (unsigned i = 0; i < kHubBatch; ++i) {
            g_rx_msgs[i].msg_hdr.msg_namelen = sizeof(g_rx_from[i]);
            g_rx_msgs[i].msg_hdr.msg_flags = 0;
        }
        int count = recvmmsg(port->fd, g_rx_msgs, kHubBatch, MSG_DONTWAIT, NULL);
        if (count <= 0) {
            // EAGAIN: drained. Other errors on a UDP socket (a queued ICMP error) are
            // transient; the next readiness event tries again.
            return;
        }
        uint64_t received = hub_now_ns();
        for (int i = 0; i < count; ++i) {
            bool truncated = (g_rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
            handle_frame(index, g_rx_data[i], g_rx_msgs[i].msg_len, &g_rx_from[i], truncated,
                         received);
            record_latency(hub_now_ns() - received);
        }
        if (count < kHubBatch) {
            return;
        }
    }
}

static void release_due_frames(void) {
    if (g_heap_count == 0) {
        return;
    }
    uint64_t now = hub_now_ns();
    while (g_heap_count > 0 && g_slots[g_heap[0]].due_ns <= now) {
        int slot = heap_pop();
        struct Slot* s = &g_slots[slot];
        if (!s->sent) {
            struct HubLink* link = &g_hub.links[s->from][s->to];
            if (s->reorder && link->held == slot) {
                link->held = -1;
            }
            transmit(s->from, s->to, g_slot_data[slot], s->length);
        }
        g_free_slots[g_free_count++] = slot;
    }
}

static int next_timeout_ms(void) {
    if (g_heap_count == 0) {
        return -1;
    }
    uint64_t now = hub_now_ns();
    uint64_t due = g_slots[g_heap[0]].due_ns;
    if (due <= now) {
        return 0;
    }
    return (int)((due - now + 999999u) / 1000000u);
}

// --- Control clients --------------------------------------------------------------------

static void close_client(unsigned index) {
    struct Client* client = &g_clients[index];
    epoll_ctl(g_epoll, EPOLL_CTL_DEL, client->fd, NULL);
    close(client->fd);
    free(client->pending.data);
    memset(client, 0, sizeof(*client));
    client->fd = -1;
}

static void set_client_events(unsigned index) {
    struct Client* client = &g_clients[index];
    struct epoll_event event = {
        .events = EPOLLIN | (client->pending.length > client->pending_sent ? EPOLLOUT : 0),
        .data.u32 = kTagClientBase + index,
    };
    epoll_ctl(g_epoll, EPOLL_CTL_MOD, client->fd, &event);
}

// Returns false when the client is gone.
static bool flush_client(unsigned index) {
    struct Client* client = &g_clients[index];
    if (client->pending.failed) {
        logf_("out of memory for a control reply; client dropped");
        close_client(index);
        return false;
    }
    while (client->pending_sent < client->pending.length) {
        ssize_t n =
            send(client->fd, client->pending.data + client->pending_sent,
                 client->pending.length - client->pending_sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            close_client(index);
            return false;
        }
        client->pending_sent += (size_t)n;
    }
    if (client->pending_sent == client->pending.length) {
        client->pending.length = client->pending_sent = 0;
    } else if (client->pending.length - client->pending_sent > kClientOutputMax) {
        logf_("control client stopped reading its replies; dropped");
        close_client(index);
        return false;
    }
    set_client_events(index);
    return true;
}

static void client_line(unsigned index) {
    struct Client* client = &g_clients[index];
    struct HubText* out = &client->pending;
    client->line[client->line_length] = '\0';
    if (client->overlong) {
        hub_text_printf(out, "error: line too long (at most %d bytes)\n", kClientLineMax - 1);
    } else {
        hub_control_execute(&g_hub, client->line, client->line_length, out);
    }
    client->line_length = 0;
    client->overlong = false;
}

static void read_client(unsigned index) {
    struct Client* client = &g_clients[index];
    char buffer[4096];
    ssize_t n = recv(client->fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        close_client(index);
        return;
    }
    for (ssize_t i = 0; i < n; ++i) {
        char c = buffer[i];
        if (c == '\n') {
            client_line(index);
            if (g_hub.shutdown) {
                break;
            }
        } else if (client->line_length + 1 < sizeof(client->line)) {
            client->line[client->line_length++] = c;
        } else {
            client->overlong = true;
        }
    }
    flush_client(index);
}

static void accept_client(void) {
    int fd = accept4(g_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    for (unsigned i = 0; i < kMaxClients; ++i) {
        if (g_clients[i].fd < 0) {
            memset(&g_clients[i], 0, sizeof(g_clients[i]));
            g_clients[i].fd = fd;
            struct epoll_event event = {.events = EPOLLIN, .data.u32 = kTagClientBase + i};
            if (epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &event) < 0) {
                close(fd);
                g_clients[i].fd = -1;
            }
            return;
        }
    }
    static const char kBusy[] = "error: too many control clients\n";
    ssize_t ignored = send(fd, kBusy, sizeof(kBusy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)ignored;
    close(fd);
}

// --- Set-up -----------------------------------------------------------------------------

static void die(const char* format, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char* format, ...) {
    va_list args;
    va_start(args, format);
    fputs("tern-hub: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(2);
}

static void usage(void) {
    fputs("usage: tern-hub --control PATH --node ID:HUB_PORT:PEER_PORT [--node ...] "
          "[--seed N]\n",
          stderr);
    exit(2);
}

static bool parse_number(const char* text, unsigned long long max, unsigned long long* value) {
    if (!text || !*text) {
        return false;
    }
    char* end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || text[0] == '-' || v > max) {
        return false;
    }
    *value = v;
    return true;
}

static void add_node(const char* spec) {
    char copy[64];
    if (strlen(spec) >= sizeof(copy)) {
        die("bad --node %s (expected ID:HUB_PORT:PEER_PORT)", spec);
    }
    strcpy(copy, spec);
    char* hub_text = strchr(copy, ':');
    char* peer_text = hub_text ? strchr(hub_text + 1, ':') : NULL;
    if (!peer_text) {
        die("bad --node %s (expected ID:HUB_PORT:PEER_PORT)", spec);
    }
    *hub_text++ = '\0';
    *peer_text++ = '\0';
    unsigned long long node, hub_port, peer_port;
    if (!parse_number(copy, 65535, &node) || node == 0 || !parse_number(hub_text, 65535, &hub_port)
        || !parse_number(peer_text, 65535, &peer_port) || peer_port == 0) {
        die("bad --node %s (node 1..65535, ports 0..65535, peer port not 0)", spec);
    }
    if (g_hub.port_count == kHubMaxNodes) {
        die("at most %d nodes", kHubMaxNodes);
    }
    if (hub_port_index(&g_hub, (unsigned)node) >= 0) {
        die("node %llu given twice", node);
    }
    struct HubPort* port = &g_hub.ports[g_hub.port_count];
    port->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (port->fd < 0) {
        die("socket: %s", strerror(errno));
    }
    // Room for bursts: a guest's TCP window can arrive faster than one loop turn.
    int buffer = 4 * 1024 * 1024;
    setsockopt(port->fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    setsockopt(port->fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
    struct sockaddr_in local = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)hub_port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(port->fd, (struct sockaddr*)&local, sizeof(local)) < 0) {
        die("node %llu: cannot bind 127.0.0.1:%llu: %s", node, hub_port, strerror(errno));
    }
    socklen_t length = sizeof(local);
    getsockname(port->fd, (struct sockaddr*)&local, &length);
    port->node = (unsigned)node;
    port->hub_port = ntohs(local.sin_port);
    port->peer_port = (uint16_t)peer_port;
    port->peer = (struct sockaddr_in){.sin_family = AF_INET,
                                      .sin_port = htons((uint16_t)peer_port),
                                      .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ++g_hub.port_count;
}

static void open_control(const char* path) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(address.sun_path)) {
        die("control socket path too long (at most %zu bytes): %s", sizeof(address.sun_path) - 1,
            path);
    }
    strcpy(address.sun_path, path);
    strcpy(g_control_path, path);
    // A socket file left by a hub that died is replaced; one a live hub answers on is not.
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (struct sockaddr*)&address, sizeof(address)) == 0) {
        die("another hub is listening on %s", path);
    }
    if (probe >= 0) {
        close(probe);
    }
    unlink(path);
    g_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g_listener < 0 || bind(g_listener, (struct sockaddr*)&address, sizeof(address)) < 0
        || listen(g_listener, 8) < 0) {
        die("control socket %s: %s", path, strerror(errno));
    }
}

static void on_signal(int signal_number) { g_signalled = signal_number; }

static void setup(int argc, char** argv) {
    const char* control = NULL;
    bool seeded = false;
    uint64_t seed = 0;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
            control = argv[++i];
        } else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc) {
            add_node(argv[++i]);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            unsigned long long value;
            if (!parse_number(argv[++i], UINT64_MAX, &value)) {
                die("bad --seed %s (a decimal number)", argv[i]);
            }
            seed = value;
            seeded = true;
        } else {
            usage();
        }
    }
    if (!control || g_hub.port_count == 0) {
        usage();
    }
    if (!seeded && getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
        seed = hub_now_ns() ^ (uint64_t)getpid();
    }
    hub_seed_links(&g_hub, seed);
    for (unsigned i = 0; i < kHubMaxNodes; ++i) {
        for (unsigned j = 0; j < kHubMaxNodes; ++j) {
            g_hub.links[i][j].held = -1;
            g_hub.links[i][j].faults.reorder_ms = kHubDefaultReorderMs;
        }
    }
    g_hub.next_group = 1;
    g_hub.started_ns = hub_now_ns();

    g_slots = calloc(kHubPoolSlots, sizeof(*g_slots));
    // Pages of the data pool are touched only when frames are held.
    g_slot_data = malloc((size_t)kHubPoolSlots * kHubMaxFrame);
    if (!g_slots || !g_slot_data) {
        die("out of memory for the frame pool");
    }
    for (int i = kHubPoolSlots - 1; i >= 0; --i) {
        g_free_slots[g_free_count++] = i;
    }
    for (unsigned i = 0; i < kHubBatch; ++i) {
        g_rx_iov[i] = (struct iovec){.iov_base = g_rx_data[i], .iov_len = kHubMaxFrame};
        g_rx_msgs[i].msg_hdr = (struct msghdr){.msg_name = &g_rx_from[i],
                                               .msg_namelen = sizeof(g_rx_from[i]),
                                               .msg_iov = &g_rx_iov[i],
                                               .msg_iovlen = 1};
    }
    for (unsigned i = 0; i < kMaxClients; ++i) {
        g_clients[i].fd = -1;
    }

    open_control(control);
    g_epoll = epoll_create1(EPOLL_CLOEXEC);
    if (g_epoll < 0) {
        die("epoll_create1: %s", strerror(errno));
    }
    for (unsigned i = 0; i < g_hub.port_count; ++i) {
        struct epoll_event event = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(g_epoll, EPOLL_CTL_ADD, g_hub.ports[i].fd, &event) < 0) {
            die("epoll_ctl: %s", strerror(errno));
        }
    }
    struct epoll_event event = {.events = EPOLLIN, .data.u32 = kTagListener};
    if (epoll_ctl(g_epoll, EPOLL_CTL_ADD, g_listener, &event) < 0) {
        die("epoll_ctl: %s", strerror(errno));
    }

    struct sigaction action = {.sa_handler = on_signal};
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    logf_("seed %" PRIu64, seed);
    for (unsigned i = 0; i < g_hub.port_count; ++i) {
        logf_("node %u: hub port 127.0.0.1:%u, peer 127.0.0.1:%u", g_hub.ports[i].node,
              g_hub.ports[i].hub_port, g_hub.ports[i].peer_port);
    }
    logf_("control socket %s; ready", control);
    fflush(stdout);
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setup(argc, argv);
    struct epoll_event events[kHubMaxNodes + kMaxClients + 1];
    while (!g_hub.shutdown && !g_signalled) {
        int count =
            epoll_wait(g_epoll, events, sizeof(events) / sizeof(events[0]), next_timeout_ms());
        if (count < 0 && errno != EINTR) {
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < count && !g_hub.shutdown; ++i) {
            uint32_t tag = events[i].data.u32;
            if (tag < kHubMaxNodes) {
                receive_port(tag);
            } else if (tag == kTagListener) {
                accept_client();
            } else {
                unsigned index = tag - kTagClientBase;
                if (g_clients[index].fd < 0) {
                    continue;
                }
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                    read_client(index);
                } else if (events[i].events & EPOLLOUT) {
                    flush_client(index);
                }
            }
        }
        release_due_frames();
    }
    if (g_signalled) {
        logf_("signal %d; exiting", (int)g_signalled);
    } else {
        logf_("shutdown requested; exiting");
    }
    unlink(g_control_path);
    return 0;
}

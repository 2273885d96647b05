/*
 * tern-hub's control language: one command per line on the control socket, one reply per
 * command whose last line is "ok" or "error: <why>". Input comes from anyone who can
 * open the socket, so every word is checked and a bad command changes nothing.
 *
 * TARGET, where a command takes one, selects directed links:
 *   (nothing) or all     every link
 *   node ID              every link to or from node ID
 *   link A B             A to B and B to A
 *   from A to B          A to B only
 * RATE is a fraction (0.05) or a percentage (5%) between 0 and 1.
 */
#define _GNU_SOURCE
#include "hub.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    kMaxWords = 16
};

static const char kHelp[] =
    "help                          this list\n"
    "nodes                         node ids, hub ports, peer ports, partition groups\n"
    "stats [reset]                 counters per port and per link, hub latency\n"
    "faults                        fault settings that differ from none\n"
    "drop RATE [TARGET]            drop frames\n"
    "dup RATE [TARGET]             send frames twice\n"
    "delay RATE MS [TARGET]        hold frames for MS milliseconds\n"
    "reorder RATE [MS] [TARGET]    hold a frame until the next one on its link has passed\n"
    "                              (at most MS milliseconds, default 10)\n"
    "clear [TARGET]                remove every fault on TARGET\n"
    "partition ID [ID...]          cut the listed nodes off from all others\n"
    "heal                          end every partition\n"
    "seed [N]                      show the seed, or reseed every link's generator\n"
    "trace on|off                  log every frame to the hub's log\n"
    "inject ID HEX                 send node ID one Ethernet frame (HEX: its bytes, 14..500)\n"
    "                              as if it came off the wire, e.g. a forged packet\n"
    "shutdown                      end the hub\n"
    "TARGET: all | node ID | link A B | from A to B.  RATE: 0..1 or 0%..100%.\n";

void hub_text_printf(struct HubText* text, const char* format, ...) {
    if (text->failed) {
        return;
    }
    for (;;) {
        size_t room = text->capacity - text->length;
        va_list args;
        va_start(args, format);
        int n = vsnprintf(text->data ? text->data + text->length : NULL, room, format, args);
        va_end(args);
        if (n < 0) {
            text->failed = true;
            return;
        }
        if ((size_t)n < room) {
            text->length += (size_t)n;
            return;
        }
        size_t capacity = text->capacity ? text->capacity * 2 : 4096;
        while (capacity - text->length <= (size_t)n) {
            capacity *= 2;
        }
        char* data = realloc(text->data, capacity);
        if (!data) {
            text->failed = true;
            return;
        }
        text->data = data;
        text->capacity = capacity;
    }
}

// The set of directed links a command applies to.
struct Target {
    bool links[kHubMaxNodes][kHubMaxNodes];
    unsigned count;
};

static bool parse_node(const struct Hub* hub, const char* word, int* index, struct HubText* out) {
    char* end;
    unsigned long value = strtoul(word, &end, 10);
    if (!isdigit((unsigned char)word[0]) || *end || value == 0 || value > 65535) {
        hub_text_printf(out, "error: '%s' is not a node id\n", word);
        return false;
    }
    *index = hub_port_index(hub, (unsigned)value);
    if (*index < 0) {
        hub_text_printf(out, "error: no node %lu on this hub\n", value);
        return false;
    }
    return true;
}

// Parses words[0..count) as a TARGET. Returns false (with the error in out) on bad input.
static bool parse_target(const struct Hub* hub, char** words, int count, struct Target* target,
                         struct HubText* out) {
    memset(target, 0, sizeof(*target));
    unsigned n = hub->port_count;
    if (count == 0 || (count == 1 && strcmp(words[0], "all") == 0)) {
        for (unsigned i = 0; i < n; ++i) {
            for (unsigned j = 0; j < n; ++j) {
                target->links[i][j] = i != j;
            }
        }
        target->count = n * (n - 1);
        return true;
    }
    int a, b;
    if (strcmp(words[0], "node") == 0 && count == 2) {
        if (!parse_node(hub, words[1], &a, out)) {
            return false;
        }
        for (unsigned i = 0; i < n; ++i) {
            if (i != (unsigned)a) {
                target->links[a][i] = target->links[i][a] = true;
                target->count += 2;
            }
        }
        return true;
    }
    bool both = strcmp(words[0], "link") == 0 && count == 3;
    bool one = strcmp(words[0], "from") == 0 && count == 4 && strcmp(words[2], "to") == 0;
    if (both || one) {
        if (!parse_node(hub, words[1], &a, out) || !parse_node(hub, words[both ? 2 : 3], &b, out)) {
            return false;
        }
        if (a == b) {
            hub_text_printf(out, "error: a link joins two different nodes\n");
            return false;
        }
        target->links[a][b] = true;
        target->count = 1;
        if (both) {
            target->links[b][a] = true;
            target->count = 2;
        }
        return true;
    }
    hub_text_printf(out, "error: bad target (expected: all | node ID | link A B | from A to B)\n");
    return false;
}

static bool parse_rate(const char* word, uint64_t* threshold, struct HubText* out) {
    char* end;
    double rate = strtod(word, &end);
    if (end != word && *end == '%' && end[1] == '\0') {
        rate /= 100.0;
    } else if (end == word || *end) {
        hub_text_printf(out, "error: '%s' is not a rate (0..1 or 0%%..100%%)\n", word);
        return false;
    }
    if (!isfinite(rate) || rate < 0.0 || rate > 1.0) {
        hub_text_printf(out, "error: rate %s is outside 0..1\n", word);
        return false;
    }
    *threshold = (uint64_t)llround(rate * 4294967296.0);
    return true;
}

static bool parse_ms(const char* word, uint32_t* ms, struct HubText* out) {
    char* end;
    unsigned long value = strtoul(word, &end, 10);
    if (!isdigit((unsigned char)word[0]) || *end || value > kHubMaxDelayMs) {
        hub_text_printf(out, "error: '%s' is not a time in milliseconds (0..%d)\n", word,
                        kHubMaxDelayMs);
        return false;
    }
    *ms = (uint32_t)value;
    return true;
}

static double rate_of(uint64_t threshold) { return (double)threshold / 4294967296.0; }

static bool is_number(const char* word) {
    if (!*word) {
        return false;
    }
    for (const char* p = word; *p; ++p) {
        if (!isdigit((unsigned char)*p)) {
            return false;
        }
    }
    return true;
}

enum FaultKind {
    kDrop,
    kDup,
    kDelay,
    kReorder,
    kClear
};

static void command_fault(struct Hub* hub, enum FaultKind kind, char** words, int count,
                          struct HubText* out) {
    uint64_t threshold = 0;
    uint32_t ms = 0;
    int used = 1; // words[0] is the command
    if (kind != kClear) {
        if (count < 2) {
            hub_text_printf(out, "error: %s needs a RATE (try help)\n", words[0]);
            return;
        }
        if (!parse_rate(words[1], &threshold, out)) {
            return;
        }
        used = 2;
    }
    if (kind == kDelay) {
        if (count < 3) {
            hub_text_printf(out, "error: delay needs RATE and MS (try help)\n");
            return;
        }
        if (!parse_ms(words[2], &ms, out)) {
            return;
        }
        used = 3;
    }
    if (kind == kReorder) {
        ms = kHubDefaultReorderMs;
        if (count > 2 && is_number(words[2])) {
            if (!parse_ms(words[2], &ms, out)) {
                return;
            }
            used = 3;
        }
    }
    struct Target target;
    if (!parse_target(hub, words + used, count - used, &target, out)) {
        return;
    }
    for (unsigned i = 0; i < hub->port_count; ++i) {
        for (unsigned j = 0; j < hub->port_count; ++j) {
            if (!target.links[i][j]) {
                continue;
            }
            struct HubFaults* faults = &hub->links[i][j].faults;
            switch (kind) {
            case kDrop:
                faults->drop = threshold;
                break;
            case kDup:
                faults->dup = threshold;
                break;
            case kDelay:
                faults->delay = threshold;
                faults->delay_ms = ms;
                break;
            case kReorder:
                faults->reorder = threshold;
                faults->reorder_ms = ms;
                break;
            case kClear:
                *faults = (struct HubFaults){.reorder_ms = kHubDefaultReorderMs};
                break;
            }
        }
    }
    if (kind == kClear) {
        hub_text_printf(out, "cleared %u links\nok\n", target.count);
    } else {
        hub_text_printf(out, "%s %.6g on %u links\nok\n", words[0], rate_of(threshold),
                        target.count);
    }
}

static void command_nodes(const struct Hub* hub, struct HubText* out) {
    for (unsigned i = 0; i < hub->port_count; ++i) {
        const struct HubPort* port = &hub->ports[i];
        hub_text_printf(out, "node %u hub_port=%u peer_port=%u group=%u\n", port->node,
                        port->hub_port, port->peer_port, port->group);
    }
    hub_text_printf(out, "ok\n");
}

static uint64_t latency_percentile(const struct HubCounters* c, double fraction) {
    if (c->latency_count == 0) {
        return 0;
    }
    uint64_t wanted = (uint64_t)ceil(fraction * (double)c->latency_count);
    uint64_t seen = 0;
    for (unsigned i = 0; i <= kHubLatencyBuckets; ++i) {
        seen += c->latency_histogram[i];
        if (seen >= wanted) {
            // The bucket's upper edge: the figure is never flattering.
            return i < kHubLatencyBuckets ? (uint64_t)(i + 1) * kHubLatencyBucketNs
                                          : c->latency_max_ns;
        }
    }
    return c->latency_max_ns;
}

static void command_stats(struct Hub* hub, char** words, int count, struct HubText* out) {
    if (count == 2 && strcmp(words[1], "reset") == 0) {
        hub_reset_counters(hub);
        hub_text_printf(out, "counters reset\nok\n");
        return;
    }
    if (count != 1) {
        hub_text_printf(out, "error: usage: stats [reset]\n");
        return;
    }
    const struct HubCounters* c = &hub->counters;
    hub_text_printf(
        out,
        "hub seed=%" PRIu64 " uptime_ms=%" PRIu64 " frames=%" PRIu64 " mac_flushes=%" PRIu64 "\n",
        hub->seed, (hub_now_ns() - hub->started_ns) / 1000000u, c->frames, c->mac_flushes);
    hub_text_printf(out,
                    "latency frames=%" PRIu64 " mean_ns=%" PRIu64 " p50_ns=%" PRIu64
                    " p99_ns=%" PRIu64 " max_ns=%" PRIu64 "\n",
                    c->latency_count, c->latency_count ? c->latency_sum_ns / c->latency_count : 0,
                    latency_percentile(c, 0.5), latency_percentile(c, 0.99), c->latency_max_ns);
    for (unsigned i = 0; i < hub->port_count; ++i) {
        const struct HubPort* p = &hub->ports[i];
        hub_text_printf(out,
                        "port %u rx_frames=%" PRIu64 " rx_bytes=%" PRIu64 " tx_frames=%" PRIu64
                        " tx_bytes=%" PRIu64 " tx_errors=%" PRIu64 " flooded=%" PRIu64
                        " runt=%" PRIu64 " oversized=%" PRIu64 " foreign=%" PRIu64
                        " bad_source=%" PRIu64 "\n",
                        p->node, p->rx_frames, p->rx_bytes, p->tx_frames, p->tx_bytes, p->tx_errors,
                        p->flooded, p->runt, p->oversized, p->foreign, p->bad_source);
    }
    // Links that carried or lost nothing are left out.
    for (unsigned i = 0; i < hub->port_count; ++i) {
        for (unsigned j = 0; j < hub->port_count; ++j) {
            const struct HubLink* l = &hub->links[i][j];
            if (i == j
                || (l->forwarded | l->dropped | l->duplicated | l->delayed | l->reordered | l->cut
                    | l->queue_full)
                       == 0) {
                continue;
            }
            hub_text_printf(out,
                            "link %u>%u forwarded=%" PRIu64 " bytes=%" PRIu64 " dropped=%" PRIu64
                            " duplicated=%" PRIu64 " delayed=%" PRIu64 " reordered=%" PRIu64
                            " cut=%" PRIu64 " queue_full=%" PRIu64 "\n",
                            hub->ports[i].node, hub->ports[j].node, l->forwarded, l->bytes,
                            l->dropped, l->duplicated, l->delayed, l->reordered, l->cut,
                            l->queue_full);
        }
    }
    hub_text_printf(out, "ok\n");
}

static void command_faults(const struct Hub* hub, struct HubText* out) {
    for (unsigned i = 0; i < hub->port_count; ++i) {
        for (unsigned j = 0; j < hub->port_count; ++j) {
            const struct HubFaults* f = &hub->links[i][j].faults;
            if (i == j || (f->drop | f->dup | f->delay | f->reorder) == 0) {
                continue;
            }
            hub_text_printf(out,
                            "fault %u>%u drop=%.6g dup=%.6g delay=%.6g delay_ms=%u reorder=%.6g "
                            "reorder_ms=%u\n",
                            hub->ports[i].node, hub->ports[j].node, rate_of(f->drop),
                            rate_of(f->dup), rate_of(f->delay), f->delay_ms, rate_of(f->reorder),
                            f->reorder_ms);
        }
    }
    for (unsigned i = 0; i < hub->port_count; ++i) {
        if (hub->ports[i].group != 0) {
            hub_text_printf(out, "partition node %u group=%u\n", hub->ports[i].node,
                            hub->ports[i].group);
        }
    }
    hub_text_printf(out, "ok\n");
}

static void command_partition(struct Hub* hub, char** words, int count, struct HubText* out) {
    if (count < 2) {
        hub_text_printf(out, "error: partition needs at least one node id\n");
        return;
    }
    int indices[kMaxWords];
    for (int i = 1; i < count; ++i) {
        if (!parse_node(hub, words[i], &indices[i], out)) {
            return;
        }
    }
    unsigned group = hub->next_group++;
    for (int i = 1; i < count; ++i) {
        hub->ports[indices[i]].group = group;
    }
    hub_text_printf(out, "%d nodes in group %u\nok\n", count - 1, group);
}

static void command_seed(struct Hub* hub, char** words, int count, struct HubText* out) {
    if (count == 1) {
        hub_text_printf(out, "seed %" PRIu64 "\nok\n", hub->seed);
        return;
    }
    char* end;
    unsigned long long value = strtoull(words[1], &end, 10);
    if (count != 2 || !isdigit((unsigned char)words[1][0]) || *end) {
        hub_text_printf(out, "error: usage: seed [N] (N a decimal number)\n");
        return;
    }
    hub_seed_links(hub, value);
    hub_text_printf(out, "seed %llu\nok\n", value);
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// inject ID HEX: a test's way to put a frame of its own making (a forged bus frame, say)
// in front of a node. The frame skips the faults: it is the test's, not a link's.
static void command_inject(struct Hub* hub, char** words, int count, struct HubText* out) {
    enum {
        kMaxInject = 500
    };
    char* end;
    unsigned long long node = count == 3 ? strtoull(words[1], &end, 10) : 0;
    if (count != 3 || !isdigit((unsigned char)words[1][0]) || *end) {
        hub_text_printf(out, "error: usage: inject ID HEX\n");
        return;
    }
    int index = node <= 65535 ? hub_port_index(hub, (unsigned)node) : -1;
    if (index < 0) {
        hub_text_printf(out, "error: no node %llu\n", node);
        return;
    }
    size_t digits = strlen(words[2]);
    if (digits % 2 != 0 || digits / 2 < 14 || digits / 2 > kMaxInject) {
        hub_text_printf(out, "error: HEX must be 14..%d bytes, two digits each\n", kMaxInject);
        return;
    }
    unsigned char frame[kMaxInject];
    for (size_t i = 0; i < digits / 2; ++i) {
        int high = hex_digit(words[2][2 * i]);
        int low = hex_digit(words[2][2 * i + 1]);
        if (high < 0 || low < 0) {
            hub_text_printf(out, "error: HEX holds a character that is not a hex digit\n");
            return;
        }
        frame[i] = (unsigned char)(high << 4 | low);
    }
    if (!hub_inject(hub, (unsigned)index, frame, digits / 2)) {
        hub_text_printf(out, "error: the send to node %llu failed\n", node);
        return;
    }
    hub_text_printf(out, "injected %zu bytes to node %llu\nok\n", digits / 2, node);
}

void hub_control_execute(struct Hub* hub, char* line, size_t length, struct HubText* out) {
    if (length > 0 && line[length - 1] == '\r') {
        line[--length] = '\0';
    }
    for (size_t i = 0; i < length; ++i) {
        if (!isprint((unsigned char)line[i]) && line[i] != '\t') {
            hub_text_printf(out, "error: the command holds a byte that is not text (0x%02x)\n",
                            (unsigned char)line[i]);
            return;
        }
    }
    char* words[kMaxWords];
    int count = 0;
    for (char *save = NULL, *word = strtok_r(line, " \t", &save); word;
         word = strtok_r(NULL, " \t", &save)) {
        if (count == kMaxWords) {
            hub_text_printf(out, "error: too many words (at most %d)\n", kMaxWords);
            return;
        }
        words[count++] = word;
    }
    if (count == 0) {
        hub_text_printf(out, "error: empty command (try help)\n");
        return;
    }
    const char* verb = words[0];
    if (strcmp(verb, "help") == 0) {
        hub_text_printf(out, "%sok\n", kHelp);
    } else if (strcmp(verb, "nodes") == 0 && count == 1) {
        command_nodes(hub, out);
    } else if (strcmp(verb, "stats") == 0) {
        command_stats(hub, words, count, out);
    } else if (strcmp(verb, "faults") == 0 && count == 1) {
        command_faults(hub, out);
    } else if (strcmp(verb, "drop") == 0) {
        command_fault(hub, kDrop, words, count, out);
    } else if (strcmp(verb, "dup") == 0) {
        command_fault(hub, kDup, words, count, out);
    } else if (strcmp(verb, "delay") == 0) {
        command_fault(hub, kDelay, words, count, out);
    } else if (strcmp(verb, "reorder") == 0) {
        command_fault(hub, kReorder, words, count, out);
    } else if (strcmp(verb, "clear") == 0) {
        command_fault(hub, kClear, words, count, out);
    } else if (strcmp(verb, "partition") == 0) {
        command_partition(hub, words, count, out);
    } else if (strcmp(verb, "heal") == 0 && count == 1) {
        for (unsigned i = 0; i < hub->port_count; ++i) {
            hub->ports[i].group = 0;
        }
        hub_text_printf(out, "healed\nok\n");
    } else if (strcmp(verb, "seed") == 0) {
        command_seed(hub, words, count, out);
    } else if (strcmp(verb, "trace") == 0 && count == 2
               && (strcmp(words[1], "on") == 0 || strcmp(words[1], "off") == 0)) {
        hub->trace = strcmp(words[1], "on") == 0;
        hub_text_printf(out, "trace %s\nok\n", words[1]);
    } else if (strcmp(verb, "inject") == 0) {
        command_inject(hub, words, count, out);
    } else if (strcmp(verb, "shutdown") == 0 && count == 1) {
        hub->shutdown = true;
        hub_text_printf(out, "shutting down\nok\n");
    } else {
        hub_text_printf(out, "error: unknown command or wrong arguments: %s (try help)\n", verb);
    }
}

// ICMP echo requests for programs (net::Ping): the server sends each request through one
// raw ICMP pcb and parks the caller until the matching reply comes or an lwIP timeout
// fires, so the loop never waits for a ping. lwIP itself answers the echo requests other
// nodes send (icmp.c); the raw pcb sees every ICMP packet first and takes only echo
// replies carrying this server's identifier, so those answers are unaffected.
//
// A reply matches a waiting request by sequence number and source address. Its ICMP
// checksum and its payload (a pattern derived from the sequence number) are checked; a
// reply that fails either is bad input from the wire: logged (8 times, then counted) and
// dropped, and the request keeps waiting. A reply nobody waits for (late, or a copy the
// network duplicated) is counted and dropped.
#include "server.h"

#include <tern/print.h>
#include <tern/protocols/net.h>
#include <tern/syscall.h>

#include "lwip/inet_chksum.h"
#include "lwip/ip4.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "lwip/raw.h"
#include "lwip/timeouts.h"
#include "netif/ppp/ppp_opts.h" // PPP_NUM_TIMEOUTS, part of lwIP's internal timeout count

static_assert(MEMP_NUM_SYS_TIMEOUT >= LWIP_NUM_SYS_TIMEOUT_INTERNAL + tern::net::kMaxPings,
              "every held Ping needs a timeout of its own");

namespace netsrv {

namespace {

using namespace tern;
using base::Error;

// The ICMP identifier of every echo request this server sends ("Tn").
constexpr uint16_t kIdentifier = 0x546E;
constexpr uint32_t kLoggedBadReplies = 8;

struct PendingPing {
    bool used = false;
    uint16_t sequence = 0;
    uint32_t ip = 0; // host order
    uint32_t size = 0;
    uint64_t sent_ns = 0;
    proto::PendingReply reply;
};

PendingPing g_pings[net::kMaxPings];
uint32_t g_waiting = 0;
uint16_t g_next_sequence = 0;
struct raw_pcb* g_raw = nullptr;
uint64_t g_bad_replies = 0;
uint64_t g_unmatched_replies = 0;

uint8_t pattern_byte(uint16_t sequence, uint32_t i) { return uint8_t((sequence * 7u + i) & 0xFF); }

void finish(PendingPing& ping, Error status, const net::PingResponse& out) {
    (void)proto::reply_later<net::Ping>(ping.reply, status, out);
    ping = PendingPing{};
    --g_waiting;
}

void on_timeout(void* arg) {
    PendingPing& ping = *static_cast<PendingPing*>(arg);
    if (ping.used)
        finish(ping, Error::TIMED_OUT, {});
}

void log_bad_reply(uint32_t ip, const char* why) {
    if (++g_bad_replies <= kLoggedBadReplies)
        tern::println("net: ping: dropped an echo reply from {}.{}.{}.{}: {} ({} so far)", ip >> 24,
                      (ip >> 16) & 0xFF, (ip >> 8) & 0xFF, ip & 0xFF, base::StringView(why),
                      g_bad_replies);
}

bool payload_intact(const struct pbuf* p, uint16_t offset, const PendingPing& ping) {
    uint8_t chunk[256];
    for (uint32_t done = 0; done < ping.size;) {
        uint32_t n = ping.size - done < sizeof(chunk) ? ping.size - done : sizeof(chunk);
        if (pbuf_copy_partial(p, chunk, u16_t(n), u16_t(offset + done)) != n)
            return false;
        for (uint32_t i = 0; i < n; ++i)
            if (chunk[i] != pattern_byte(ping.sequence, done + i))
                return false;
        done += n;
    }
    return true;
}

// lwIP hands the raw pcb every ICMP packet, its payload at the IP header. Returning 0
// passes it on to lwIP's own ICMP handling with the pbuf untouched.
u8_t on_icmp(void*, struct raw_pcb*, struct pbuf* p, const ip_addr_t* addr) {
    struct ip_hdr ip_header;
    if (pbuf_copy_partial(p, &ip_header, sizeof(ip_header), 0) != sizeof(ip_header))
        return 0;
    uint16_t header_size = IPH_HL_BYTES(&ip_header);
    struct icmp_echo_hdr echo;
    if (pbuf_copy_partial(p, &echo, sizeof(echo), header_size) != sizeof(echo))
        return 0;
    if (echo.type != ICMP_ER || lwip_ntohs(echo.id) != kIdentifier)
        return 0;
    // From here on the packet is an answer to this server: it is taken either way.
    uint32_t from = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(addr)));
    uint16_t sequence = lwip_ntohs(echo.seqno);
    uint64_t now = uint64_t(tern_sys_clock_monotonic());
    uint16_t icmp_size = u16_t(p->tot_len - header_size);
    uint8_t ttl = IPH_TTL(&ip_header);
    if (pbuf_remove_header(p, header_size) != 0 || inet_chksum_pbuf(p) != 0) {
        log_bad_reply(from, "bad ICMP checksum");
        pbuf_free(p);
        return 1;
    }
    PendingPing* match = nullptr;
    for (PendingPing& ping : g_pings)
        if (ping.used && ping.sequence == sequence && ping.ip == from)
            match = &ping;
    if (!match) {
        ++g_unmatched_replies;
        pbuf_free(p);
        return 1;
    }
    if (echo.code != 0 || icmp_size != sizeof(echo) + match->size
        || !payload_intact(p, sizeof(echo), *match)) {
        log_bad_reply(from, "its payload is not what was sent");
        pbuf_free(p);
        return 1;
    }
    pbuf_free(p);
    sys_untimeout(on_timeout, match);
    net::PingResponse out{};
    out.rtt_ns = now - match->sent_ns;
    out.from = from;
    out.sequence = sequence;
    out.ttl = ttl;
    finish(*match, Error::OK, out);
    return 1;
}

Error status_of(err_t e) {
    switch (e) {
    case ERR_RTE:
        return Error::NOT_FOUND;
    case ERR_MEM:
    case ERR_BUF:
        return Error::NO_SPACE;
    default:
        return Error::BAD_STATE;
    }
}

Error on_ping(void*, proto::Request& request, const net::PingRequest& in, net::PingResponse&,
              proto::Reply& reply, proto::PendingReply& pending) {
    if (in.ip == 0 || in.size > net::kMaxPingSize || in.timeout_ns < 1'000'000
        || in.timeout_ns > net::kMaxPingTimeoutNs) {
        request.set_refusal_reason("ping needs an address, size <= 1472 and 1 ms..60 s");
        return Error::INVALID_ARGUMENT;
    }
    if (!g_raw) {
        g_raw = raw_new(IP_PROTO_ICMP);
        if (!g_raw)
            return Error::NO_SPACE;
        raw_recv(g_raw, on_icmp, nullptr);
    }
    PendingPing* slot = nullptr;
    for (PendingPing& ping : g_pings)
        if (!ping.used) {
            slot = &ping;
            break;
        }
    if (!slot)
        return Error::NO_SPACE;

    uint16_t sequence = g_next_sequence++;
    uint16_t length = u16_t(sizeof(struct icmp_echo_hdr) + in.size);
    struct pbuf* p = pbuf_alloc(PBUF_IP, length, PBUF_RAM);
    if (!p)
        return Error::NO_SPACE;
    auto* echo = static_cast<struct icmp_echo_hdr*>(p->payload);
    echo->type = ICMP_ECHO;
    echo->code = 0;
    echo->chksum = 0;
    echo->id = lwip_htons(kIdentifier);
    echo->seqno = lwip_htons(sequence);
    auto* payload = static_cast<uint8_t*>(p->payload) + sizeof(*echo);
    for (uint32_t i = 0; i < in.size; ++i)
        payload[i] = pattern_byte(sequence, i);
    echo->chksum = inet_chksum(echo, length);

    ip_addr_t to;
    ip_addr_set_ip4_u32_val(to, lwip_htonl(in.ip));
    uint64_t sent = uint64_t(tern_sys_clock_monotonic());
    err_t e = raw_sendto(g_raw, p, &to);
    pbuf_free(p);
    if (e != ERR_OK)
        return status_of(e);

    *slot = PendingPing{true, sequence, in.ip, in.size, sent, pending};
    ++g_waiting;
    sys_timeout(u32_t((in.timeout_ns + 999'999) / 1'000'000), on_timeout, slot);
    reply.deferred = true;
    return Error::OK;
}

} // namespace

bool pings_waiting() { return g_waiting > 0; }

void register_pings(proto::Server& server) {
    g_next_sequence = uint16_t(tern_sys_clock_monotonic());
    server.on<net::Ping>(static_cast<void*>(nullptr), on_ping);
}

} // namespace netsrv

/*
 * lwIP's configuration in Tern's network server (servers/net).
 *
 * NO_SYS=1: lwIP runs in one thread, the server's event loop, over the raw (callback)
 * API; there is no sys_arch, no mailbox, no lock. The loop calls sys_check_timeouts()
 * and polls the loopback interface, and waits for messages no longer than
 * sys_timeouts_sleeptime() says (servers/net/main.cpp).
 */
#ifndef TERN_LWIP_LWIPOPTS_H
#define TERN_LWIP_LWIPOPTS_H

#define NO_SYS 1
#define LWIP_TIMERS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0

/* Protocols: IPv4 with ICMP (echo), ARP and Ethernet for the NICs, UDP, TCP, and the
 * DHCP client; the loopback interface 127.0.0.1 with loopback delivery for traffic a
 * node sends to one of its own addresses. Raw pcbs carry the echo requests the server
 * sends for programs (servers/net/ping.cpp). */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
/* Packets to a neighbour whose address is being resolved wait in a queue of 4 rather
 * than one slot the newest packet overwrites: the bus and a program often send to the
 * same node in the same moment, and the program's first datagram must not be lost to
 * the bus's. Queued packets come from MEMP_NUM_ARP_QUEUE below. */
#define ARP_QUEUEING 1
#define ARP_QUEUE_LEN 4
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 1
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define LWIP_RAW 1
// lwIP sizes its timeout pool for its own timers only; every Ping the server holds
// (net::kMaxPings, 16) waits on one more, and DHCP on each NIC takes its own. Without the
// margin a ping with every internal timer armed asserted in sys_timeout.
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 16 + 8)
#define LWIP_HAVE_LOOPIF 1
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_LOOPBACK_MAX_PBUFS 256
#define LWIP_SINGLE_NETIF 0
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_NETIF_HOSTNAME 0
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define SO_REUSE 1
#define LWIP_TCP_KEEPALIVE 1

/* Memory: lwIP's own heap and pools, static in the server's image (the heap's pages
 * are touched only as it grows). */
#define MEM_LIBC_MALLOC 0
#define MEMP_MEM_MALLOC 0
#define MEM_ALIGNMENT 8
#define MEM_SIZE (256 * 1024)
#define MEMP_NUM_PBUF 64
#define MEMP_NUM_UDP_PCB 32
#define MEMP_NUM_TCP_PCB 32
#define MEMP_NUM_TCP_PCB_LISTEN 16
#define MEMP_NUM_TCP_SEG 256
#define MEMP_NUM_REASSDATA 8
#define MEMP_NUM_FRAG_PBUF 16
#define MEMP_NUM_ARP_QUEUE 32
#define PBUF_POOL_SIZE 64
#define PBUF_POOL_BUFSIZE 1536

/* TCP: full-size Ethernet segments; a window and send buffer of 44 segments, the most
 * that fit the 16-bit window without window scaling (64,240 bytes). A sender may have a
 * window's worth in flight before it waits for an ACK; between nodes whose round trip
 * is a few hundred microseconds of emulated time, 16 segments (23 KB) were not enough to
 * keep the link busy. Received segments wait in PBUF_POOL buffers until read, so the
 * pool holds a full window and then some for the bus and other sockets. */
#define TCP_MSS 1460
#define TCP_WND (44 * TCP_MSS)
#define TCP_SND_BUF (44 * TCP_MSS)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_LISTEN_BACKLOG 0
#define LWIP_TCP_TIMESTAMPS 0
/* lwIP's TCP timers tick every 50 ms (fast: delayed ACKs) and 100 ms (slow:
 * retransmissions) instead of 250 and 500. Its RTT estimator keeps the retransmission
 * timeout at 3 slow ticks or more even when the round trip is far below one tick, as it
 * is between nodes on one Ethernet, so the tick sets the floor: 300 ms instead of 1.5 s,
 * which a lost segment the fast retransmit cannot recover costs each time (docs/network.md,
 * figures). The loop wakes for these timers only while a TCP connection needs them. */
#define TCP_TMR_INTERVAL 50

/* Counters: lwIP's protocol statistics, and the per-interface MIB-II counters the
 * server reports for each interface (Interfaces in <tern/protocols/net.h>). */
#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define MIB2_STATS 1

#endif /* TERN_LWIP_LWIPOPTS_H */

#pragma once
// The network server's protocol for programs: UDP and TCP sockets over IPv4, and the
// views of the interfaces and sockets that ifconfig and netstat print (docs/network.md).
// The server registers as "net"; NIC drivers use the same port (<tern/protocols/nic.h>).
//
// A socket is named by a 32-bit id the server hands out; it belongs to the task that
// created it and to the tasks it was shared with (Share), and any other task naming it
// gets BAD_HANDLE, as does an id that was never handed out or was closed. Calls that wait (Accept,
// Connect, Recv, a Send with no room) are parked by the server and answered when they can be; with
// kNonBlocking they answer WOULD_BLOCK instead. One call of each kind may wait per socket (BUSY for
// a second).
//
// Errors, and what a C library maps them to:
//   BAD_HANDLE        no such socket for this caller (EBADF)
//   TOO_BIG           data over kMaxData, or a datagram over kMaxDatagram (EMSGSIZE)
//   INVALID_ARGUMENT  bad type, flags or address, or the socket's state does not allow
//                     the call: bind twice, listen on UDP, accept on a socket that is not
//                     listening, recv on an unbound UDP socket, send or recv on a TCP
//                     socket that is not connected (EINVAL, ENOTCONN, EISCONN)
//   ALREADY_EXISTS    the local address is in use (EADDRINUSE)
//   NOT_FOUND         connection refused: nothing listens there (ECONNREFUSED)
//   PEER_CLOSED       the connection was reset or aborted (ECONNRESET, EPIPE)
//   TIMED_OUT         the connection attempt or the connection timed out (ETIMEDOUT)
//   WOULD_BLOCK       kNonBlocking and nothing to do yet (EAGAIN)
//   NO_SPACE          the server's tables or buffers are full (ENOBUFS)
//   QUOTA_EXCEEDED    the caller holds kMaxSocketsPerTask sockets (EMFILE)
// Requests refused as bad input (BAD_HANDLE, TOO_BIG, INVALID_ARGUMENT) are logged by the
// protocol layer, one line each, at a limited rate.
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::net {

// Bytes in one Send or Recv: one piece of a stream, or one datagram. A datagram is at
// most kMaxDatagram bytes; a stream moves in pieces of up to kMaxData, half the TCP send
// buffer, so a program's next piece finds room while the last one is on its way.
inline constexpr uint32_t kMaxData = 32768;
inline constexpr uint32_t kMaxDatagram = 8192;
inline constexpr uint32_t kMaxSockets = 128;
inline constexpr uint32_t kMaxSocketsPerTask = 64;
inline constexpr uint32_t kMaxInterfaces = 8;

// An IPv4 address and port. The address is a number in host order: 127.0.0.1 is
// 0x7F000001. Address 0 and port 0 mean "any" where a call allows it.
struct Address {
    uint32_t ip;
    uint16_t port;
    uint16_t reserved; // zero
};
inline constexpr uint32_t ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return (uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | d;
}
inline constexpr uint32_t kLoopback = ipv4(127, 0, 0, 1);

enum class SocketType : uint32_t {
    kUdp = 1,
    kTcp = 2
};
// Flags of the calls that may wait.
inline constexpr uint32_t kNonBlocking = 1;

struct SocketRequest {
    SocketType type;
    uint32_t flags; // zero
};
struct SocketResponse {
    uint32_t socket;
};
// handles[0] = a handle to the calling task itself (tern::self() duplicated), which the
// server watches so that a program's sockets are closed when it ends. INVALID_ARGUMENT
// (type, flags, or the handle is not the caller's task), NO_SPACE, QUOTA_EXCEEDED.
using Socket = proto::Op<1, SocketRequest, SocketResponse, proto::Limits{.request_handles = 1}>;

struct BindRequest {
    uint32_t socket;
    Address local; // ip 0: any; port 0: the server picks one
};
struct AddressResponse {
    Address address;
};
// Answers the address bound. ALREADY_EXISTS, INVALID_ARGUMENT (bound already, or not a
// local address).
using Bind = proto::Op<2, BindRequest, AddressResponse>;

struct ListenRequest {
    uint32_t socket;
    uint32_t backlog; // 1..kMaxBacklog (0 means kMaxBacklog)
};
inline constexpr uint32_t kMaxBacklog = 16;
// TCP only; binds to an ephemeral port if unbound. INVALID_ARGUMENT (UDP, connected).
using Listen = proto::Op<3, ListenRequest, proto::Empty>;

struct AcceptRequest {
    uint32_t socket;
    uint32_t flags; // kNonBlocking
};
struct AcceptResponse {
    uint32_t socket; // the new connection's socket, the caller's
    Address peer;
};
// Waits for a connection. INVALID_ARGUMENT (not listening), WOULD_BLOCK, QUOTA_EXCEEDED.
using Accept = proto::Op<4, AcceptRequest, AcceptResponse>;

struct ConnectRequest {
    uint32_t socket;
    uint32_t flags; // kNonBlocking: answer WOULD_BLOCK at once while TCP connects
    Address remote;
};
// TCP: connects, waiting for the handshake; answers the local address. UDP: sets the
// peer Send uses and Recv accepts. NOT_FOUND (refused), TIMED_OUT, INVALID_ARGUMENT
// (address 0 or port 0, connected already, listening).
using Connect = proto::Op<5, ConnectRequest, AddressResponse>;

struct SendRequest {
    uint32_t socket;
    uint32_t flags;   // kNonBlocking
    Address to;       // UDP without a peer: where the datagram goes; otherwise zero
    uint64_t wait_ns; // how long a Send that waits for room may wait (0: without limit)
};
struct SendResponse {
    uint32_t sent; // bytes taken: a whole datagram, or a part of the data for TCP
};
// data = the bytes (TCP 1..kMaxData; UDP 0..kMaxDatagram, TOO_BIG over that). TCP takes
// what fits in its send buffer,
// waiting for room only when none is left, and no longer than wait_ns: a wait that runs
// out answers WOULD_BLOCK, so a program's send timeout (SO_SNDTIMEO) costs no call of its
// own. INVALID_ARGUMENT (no destination, TCP not connected or shut down for writing),
// PEER_CLOSED, WOULD_BLOCK.
using Send = proto::Op<6, SendRequest, SendResponse, proto::Limits{.request_data = kMaxData}>;

struct RecvRequest {
    uint32_t socket;
    uint32_t flags;    // kNonBlocking
    uint32_t max;      // 1..kMaxData bytes wanted
    uint32_t reserved; // zero
    uint64_t wait_ns;  // how long a Recv that waits for data may wait (0: without limit)
};
struct RecvResponse {
    uint32_t size;          // bytes in the reply data
    uint32_t end_of_stream; // TCP: the peer closed its side and everything was read
    uint32_t truncated;     // UDP: the datagram was longer than max; the rest is gone
    Address from;
};
// Waits for data, no longer than wait_ns (then WOULD_BLOCK, as SO_RCVTIMEO wants).
// reply data = the bytes. INVALID_ARGUMENT (UDP not bound, TCP not connected, max out of
// range, reserved set), PEER_CLOSED (reset), WOULD_BLOCK.
using Recv = proto::Op<7, RecvRequest, RecvResponse, proto::Limits{.response_data = kMaxData}>;

struct CloseRequest {
    uint32_t socket;
};
// Closes the socket (TCP sends its FIN; data not yet read is dropped and the connection
// reset). Calls parked on it are answered PEER_CLOSED.
using Close = proto::Op<8, CloseRequest, proto::Empty>;

// The tasks that may hold one socket at once besides the one that made it.
inline constexpr uint32_t kMaxSharers = 7;

struct ShareRequest {
    uint32_t socket;
};
// handles[0] = a handle to another task, which holds the socket from now on as the caller
// does (a forked child, or the new image of an execve): every holder may make every call
// on it, a holder's Close (or end) lets go of its hold alone, and the socket is closed
// once no task holds it. An accepted connection belongs to the task whose Accept took it.
// BAD_HANDLE (no such socket of the caller's), INVALID_ARGUMENT (no task handle), NO_SPACE
// (kMaxSharers holders already, or the server's table of tasks is full), QUOTA_EXCEEDED
// (the task holds kMaxSocketsPerTask sockets).
using Share = proto::Op<17, ShareRequest, proto::Empty, proto::Limits{.request_handles = 1}>;

inline constexpr uint32_t kShutdownRead = 1;
inline constexpr uint32_t kShutdownWrite = 2;
struct ShutdownRequest {
    uint32_t socket;
    uint32_t how; // kShutdownRead | kShutdownWrite, at least one
};
// TCP only. INVALID_ARGUMENT (how, not connected, UDP).
using Shutdown = proto::Op<9, ShutdownRequest, proto::Empty>;

struct NameRequest {
    uint32_t socket;
};
// The local address (zero while unbound).
using SockName = proto::Op<10, NameRequest, AddressResponse>;
// The peer's address. INVALID_ARGUMENT: not connected.
using PeerName = proto::Op<11, NameRequest, AddressResponse>;

// A socket's state, as Poll and the Sockets view report it.
enum class SocketState : uint32_t {
    kClosed = 0, // created, not bound
    kBound,
    kListening,
    kConnecting,
    kConnected,
    kClosing, // shut down for writing, or the peer closed
    kError,   // reset, refused or timed out
};

// ---- Readiness and options ----------------------------------------------------------------

// What Poll reports of a socket. kPollReadable: Recv (or Accept) would not wait: data, a
// datagram, a connection to accept, the end of the stream, or an error. kPollWritable:
// Send would not wait (TCP: connected with room in its send buffer, or failed; UDP:
// always). kPollError: the connection failed or was reset (the status is in `error`).
// kPollHangUp: nothing more will come either way. kPollInvalid: no such socket.
inline constexpr uint32_t kPollReadable = 1;
inline constexpr uint32_t kPollWritable = 2;
inline constexpr uint32_t kPollError = 4;
inline constexpr uint32_t kPollHangUp = 8;
inline constexpr uint32_t kPollInvalid = 16;
inline constexpr uint32_t kMaxPoll = 64;
// Poll's timeout that never expires.
inline constexpr uint64_t kPollForever = ~uint64_t(0);

struct PollEntry {
    uint32_t socket;
    uint32_t events; // kPollReadable | kPollWritable; errors and hang-ups are always reported
};
struct PollResult {
    uint32_t socket;
    uint32_t events; // what is ready now: a subset of the asked events, plus kPollError,
                     // kPollHangUp, kPollInvalid whether asked or not
    int32_t error;   // the failed connection's status (base::Error), or OK
    SocketState state;
};
struct PollRequest {
    uint64_t timeout_ns; // 0: answer at once; kPollForever: until a socket is ready
    uint32_t count;      // entries in the request data, 1..kMaxPoll
    uint32_t flags;      // zero
};
struct PollResponse {
    uint32_t ready; // results with any event
    uint32_t count; // results in the reply data, one per entry, in the same order
};
// request data = count PollEntry; reply data = count PollResult. Answers as soon as one of
// the sockets is ready, or when the timeout expires (ready 0); the server keeps the
// deadline, so a caller waits without a timeout of its own. One Poll of a task waits at a
// time: a second one answers the first at once with what is ready then. INVALID_ARGUMENT
// (count, flags, data size).
using Poll = proto::Op<14, PollRequest, PollResponse,
                       proto::Limits{.request_data = kMaxPoll * sizeof(PollEntry),
                                     .response_data = kMaxPoll * sizeof(PollResult)}>;

enum class SocketOption : uint32_t {
    kReuseAddress = 1, // bind beside connections in TIME_WAIT (SO_REUSEADDR)
    kNoDelay = 2,      // TCP: send small segments at once (no Nagle; TCP_NODELAY)
    kKeepAlive = 3,    // TCP: probe an idle connection (SO_KEEPALIVE)
};
struct SetOptionRequest {
    uint32_t socket;
    SocketOption option;
    uint32_t value; // 0 or 1
    uint32_t reserved;
};
// INVALID_ARGUMENT (unknown option, value not 0 or 1, a TCP option on UDP).
using SetOption = proto::Op<15, SetOptionRequest, proto::Empty>;

// ---- ICMP echo -------------------------------------------------------------------------------

// Payload bytes of one echo request, after the 8-byte ICMP header: enough for a full
// Ethernet frame without fragmenting.
inline constexpr uint32_t kMaxPingSize = 1472;
// How long the server waits for the reply to one echo request at most.
inline constexpr uint64_t kMaxPingTimeoutNs = 60'000'000'000ull;
// Echo requests the server waits for at once (the whole node's).
inline constexpr uint32_t kMaxPings = 16;

struct PingRequest {
    uint32_t ip;         // the address to ping, host order; not 0
    uint32_t size;       // payload bytes, 0..kMaxPingSize
    uint64_t timeout_ns; // 1 ms .. kMaxPingTimeoutNs
};
struct PingResponse {
    uint64_t rtt_ns;   // from the request leaving the server to the reply reaching it
    uint32_t from;     // who answered, host order
    uint16_t sequence; // the request's ICMP sequence number
    uint8_t ttl;       // the reply's IP time to live
    uint8_t reserved;
};
// Sends one ICMP echo request and answers when its reply comes (with the payload
// intact) or the timeout passes; the server's loop does not wait for it. TIMED_OUT (no
// reply in time), NOT_FOUND (no interface routes to the address), INVALID_ARGUMENT
// (ip 0, size or timeout out of range), NO_SPACE (kMaxPings requests are waiting already,
// or lwIP has no buffer for the frame).
using Ping = proto::Op<16, PingRequest, PingResponse>;

// ---- Views -------------------------------------------------------------------------------

inline constexpr uint32_t kInterfaceUp = 1;
inline constexpr uint32_t kInterfaceLinkUp = 2;
inline constexpr uint32_t kInterfaceLoopback = 4;
struct InterfaceInfo {
    char name[16];
    uint8_t mac[6];
    uint16_t mtu;
    uint32_t flags; // kInterface*
    uint32_t ip;
    uint32_t netmask;
    uint32_t gateway;
    // At the stack (lwIP's per-interface counters).
    uint64_t rx_packets, rx_bytes, rx_errors, rx_drops;
    uint64_t tx_packets, tx_bytes, tx_errors, tx_drops;
    // At the device, as the driver last reported (zero for loopback).
    uint64_t device_rx_frames, device_tx_frames, device_errors, device_drops;
    // The NIC protocol's traffic (zero for loopback): Sync calls the driver made, and
    // doorbells the server rang (each wakes the driver once).
    uint64_t syncs, doorbells;
};
struct InterfacesResponse {
    uint32_t count;
};
// reply data = count InterfaceInfo records.
using Interfaces =
    proto::Op<12, proto::Empty, InterfacesResponse,
              proto::Limits{.response_data = kMaxInterfaces * sizeof(InterfaceInfo)}>;

struct SocketInfo {
    uint32_t socket;
    SocketType type;
    SocketState state;
    uint32_t reserved;
    uint64_t owner; // task id
    Address local;
    Address remote;
    uint32_t rx_queued; // bytes waiting to be read
    uint32_t tx_queued; // bytes sent but not yet acknowledged (TCP)
};
struct SocketsResponse {
    uint32_t count;
};
// reply data = count SocketInfo records, every socket of the node.
using Sockets = proto::Op<13, proto::Empty, SocketsResponse,
                          proto::Limits{.response_data = kMaxSockets * sizeof(SocketInfo)}>;

} // namespace tern::net

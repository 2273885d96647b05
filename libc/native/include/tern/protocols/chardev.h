#pragma once
// The character-device protocol: a byte stream to and from one device, served by its
// driver (drivers/uart for the node's serial port) to the one client that attached it
// (the console server, which makes a terminal of it). The driver moves bytes and nothing
// else: no line editing, no newline translation.
//
// Input is pushed as a signal, pulled as data: the client attaches with a port the driver
// may signal, the driver raises the client's bits whenever received bytes wait in its
// buffer, and the client takes them with Read, which never waits. So a client that is
// busy costs the driver nothing but buffer space, and the driver never blocks on it.
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::chardev {

inline constexpr uint32_t kMaxWrite = 4096;
inline constexpr uint32_t kMaxRead = 1024;

struct AttachRequest {
    uint64_t signal_bits; // raised on the client's port while input waits; not 0
};
// handles = [a port of the client's with the SIGNAL right]. One client at a time: BUSY
// while another task's port lives (the driver watches it); the same task attaching again
// replaces its port. INVALID_ARGUMENT: no port, or signal_bits 0. If input already
// waits, the bits are raised at once.
using Attach = proto::Op<1, AttachRequest, proto::Empty, proto::Limits{.request_handles = 1}>;

struct ReadRequest {
    uint32_t flags; // zero
};
struct ReadResponse {
    uint32_t size;    // bytes in the reply data
    uint32_t pending; // bytes still waiting after these
    uint64_t dropped; // bytes lost since the last Read: they came while the buffer was full
};
// The received bytes waiting in the driver, oldest first, at most kMaxRead; size 0 when
// there are none (Read never waits). ACCESS_DENIED: not the attached client.
using Read = proto::Op<2, ReadRequest, ReadResponse, proto::Limits{.response_data = kMaxRead}>;

struct WriteResponse {
    uint64_t written;
};
// data = bytes sent to the device as they are; the reply comes once the device has taken
// them. ACCESS_DENIED: not the attached client.
using Write = proto::Op<3, proto::Empty, WriteResponse, proto::Limits{.request_data = kMaxWrite}>;

} // namespace tern::chardev

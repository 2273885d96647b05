#pragma once
// The name server's protocol: string names for ports, one name space per node today and
// cluster-wide once the bus spans nodes (docs/design.md section 3).
//
// A name is 1..kMaxName bytes of [A-Za-z0-9_.@/-]. A registration holds a SEND right to
// the port; it is released when its owner unregisters it or when the port's receive right
// closes (its owner exited), so a name never outlives the service behind it.
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::name {

inline constexpr uint32_t kMaxName = 63;
inline constexpr uint32_t kMaxNames = 256;
inline constexpr uint32_t kListBytes = kMaxNames * (kMaxName + 24);

struct RegisterRequest {
    uint32_t flags; // zero
};
struct RegisterResponse {
    uint64_t port_id; // global port id: node << 48 | serial
};
// data = the name; handles[0] = SEND (TRANSFER, DUPLICATE) right to the port.
// ALREADY_EXISTS, INVALID_ARGUMENT (bad name or flags, handle missing or not a port),
// NO_SPACE (kMaxNames), QUOTA_EXCEEDED (32 names per registering task, or the port
// already has the kernel's 64 watches).
using Register = proto::Op<1, RegisterRequest, RegisterResponse,
                           proto::Limits{.request_data = kMaxName, .request_handles = 1}>;

inline constexpr uint32_t kLookupWait = 1; // wait until the name is registered
struct LookupRequest {
    uint32_t flags; // kLookupWait
};
struct LookupResponse {
    uint64_t port_id;
};
// data = the name; reply handles[0] = a SEND right to the port. NOT_FOUND (without
// kLookupWait), INVALID_ARGUMENT, TIMED_OUT (at most 64 lookups wait at once: the oldest
// is answered TIMED_OUT to make room for a new one).
using Lookup = proto::Op<2, LookupRequest, LookupResponse,
                         proto::Limits{.request_data = kMaxName, .response_handles = 1}>;

// data = the name. Only the task that registered it may: NOT_OWNER. NOT_FOUND.
using Unregister =
    proto::Op<3, proto::Empty, proto::Empty, proto::Limits{.request_data = kMaxName}>;

struct ListResponse {
    uint32_t count;
};
// reply data: one line per name: "<name> <port id in hex> <owner task id>\n".
using List = proto::Op<4, proto::Empty, ListResponse, proto::Limits{.response_data = kListBytes}>;

} // namespace tern::name

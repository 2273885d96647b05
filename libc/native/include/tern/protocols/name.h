#pragma once
// The name server's protocol: string names for ports, one name space per node
// (docs/design.md section 3). "x@N" names x in node N's name space: a Lookup of it is
// answered by node N's name server through the bus (a proxy for the port; NODE_DOWN when
// N cannot be reached); "x@N" with N this node is x here. Register and Unregister stay
// on this node. A bare name registered here is this node's; one that is not, looked up
// without kLookupWait, is asked of every other node that is up: found on one, its proxy;
// on two or more, AMBIGUOUS (docs/bus.md, "Names").
//
// A name is 1..kMaxName bytes of [A-Za-z0-9_.@/-]. A registration holds a SEND right to
// the port and belongs to the task that registered it; it is released when that task
// unregisters it, when the task ends, or when the port's receive right closes, so a name
// outlives neither the service behind it nor the task that put it there.
//
// A name without a '.' ("console", "proc") is a system name: only the services init
// starts may register one (see Trust). Programs register dotted names ("greeter.17").
#include <base/string_view.h>
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::name {

inline constexpr uint32_t kMaxName = 63;
inline constexpr uint32_t kMaxNames = 256;
inline constexpr uint32_t kListBytes = kMaxNames * (kMaxName + 24);

inline bool is_system_name(base::StringView name) { return !name.contains('.'); }

struct RegisterRequest {
    uint32_t flags; // zero
};
struct RegisterResponse {
    uint64_t port_id; // global port id: node << 48 | serial
};
// data = the name; handles[0] = SEND (TRANSFER, DUPLICATE) right to the port; handles[1]
// = a handle to the caller's own task (any right but TRANSFER is enough), which the
// server watches so that the caller's names go when it ends. ALREADY_EXISTS,
// INVALID_ARGUMENT (bad name or flags, a handle missing, not a port, or not the caller's
// task), ACCESS_DENIED (a system name from a task proc has not vouched for), NO_SPACE
// (kMaxNames, or as many registering tasks), QUOTA_EXCEEDED (32 names per registering
// task, or the port or task already has the kernel's 64 watches).
using Register = proto::Op<1, RegisterRequest, RegisterResponse,
                           proto::Limits{.request_data = kMaxName, .request_handles = 2}>;

inline constexpr uint32_t kLookupWait = 1; // wait until the name is registered
struct LookupRequest {
    uint32_t flags; // kLookupWait
};
struct LookupResponse {
    uint64_t port_id;
};
// data = the name; reply handles[0] = a SEND right to the port. NOT_FOUND (without
// kLookupWait), AMBIGUOUS (a bare name on several other nodes), INVALID_ARGUMENT, TIMED_OUT (at
// most 64 lookups wait at once: the oldest is answered TIMED_OUT to make room for a new one).
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

// proc vouches for a task init starts through it (a service), before the task runs:
// handles[0] = the task (any right). Such a task may register system names. Until the
// first Trust, system names are open to anyone: only init and the core servers it starts
// itself (bootfs, proc) run before then, as proc starts nothing before bootfs has
// registered. ACCESS_DENIED unless the caller is the task that registered "proc";
// INVALID_ARGUMENT (no task handle); NO_SPACE; QUOTA_EXCEEDED (the task's 64 watches).
using Trust = proto::Op<5, proto::Empty, proto::Empty, proto::Limits{.request_handles = 1}>;

} // namespace tern::name

// Tern's musl port: the network server's client (see services.h), in C++ on the native
// runtime's protocol layer, for the socket calls in backend_sockets.c.

#include <libc/musl/services.h>
#include <tern/protocols/net.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

namespace {

using tern::net::Address;

// The server is looked up on first use and kept. A program without a name server, or
// whose lookup failed, has no network; that is final, so it does not wait on every call.
// A server that went away is not looked up again: its sockets went with it, so every
// socket of the program names nothing any more.
constexpr uint64_t kLookupTimeoutNs = 3000000000ull;
constinit tern_handle_t g_net = TERN_INVALID_HANDLE;
constinit bool g_absent = false;

tern_handle_t net() {
    if (g_net != TERN_INVALID_HANDLE || g_absent)
        return g_net;
    if (tern::name_server() == TERN_INVALID_HANDLE) {
        g_absent = true;
        return g_net;
    }
    auto r = tern::lookup("net", true, kLookupTimeoutNs);
    if (r.is_error()) {
        g_absent = true;
        return g_net;
    }
    g_net = r.value();
    return g_net;
}

int status(base::Error e) { return -int(e); }

tern_libc_net_address from(const Address& a) { return {a.ip, a.port, 0}; }

uint32_t flags_of(int nonblocking) { return nonblocking ? tern::net::kNonBlocking : 0; }

template<typename O>
int call(const typename O::Request& request, typename O::Response* response,
         const tern::proto::CallParts& parts = {}) {
    tern_handle_t port = net();
    if (port == TERN_INVALID_HANDLE)
        return TERN_LIBC_NET_NO_SERVER;
    auto r = tern::proto::call<O>(port, request, parts);
    if (r.is_error())
        return status(r.error());
    if (response)
        *response = r.value();
    return 0;
}

static_assert(sizeof(struct tern_libc_net_poll) == sizeof(tern::net::PollResult));
static_assert(sizeof(tern::net::PollEntry) == 8);

} // namespace

extern "C" {

int64_t tern_libc_net_socket(int stream) {
    tern_handle_t port = net();
    if (port == TERN_INVALID_HANDLE)
        return TERN_LIBC_NET_NO_SERVER;
    // The server watches this task through the handle, so the task's sockets close when
    // it ends.
    int64_t task = tern_sys_handle_duplicate(tern::self(), TERN_RIGHT_TRANSFER);
    if (task < 0)
        return status(tern::sys_status(task));
    tern_handle_t handle = tern_handle_t(task);
    tern::proto::CallParts parts;
    parts.in_handles = {&handle, 1};
    auto type = stream ? tern::net::SocketType::kTcp : tern::net::SocketType::kUdp;
    auto r = tern::proto::call<tern::net::Socket>(port, {type, 0}, parts);
    if (r.is_error())
        return status(r.error());
    return int64_t(r.value().socket);
}

int tern_libc_net_bind(uint32_t id, uint32_t ip, uint16_t port,
                       struct tern_libc_net_address* bound) {
    tern::net::AddressResponse out{};
    int r = call<tern::net::Bind>({id, {ip, port, 0}}, &out);
    if (r == 0 && bound)
        *bound = from(out.address);
    return r;
}

int tern_libc_net_listen(uint32_t id, uint32_t backlog) {
    return call<tern::net::Listen>({id, backlog}, nullptr);
}

int tern_libc_net_accept(uint32_t id, int nonblocking, uint32_t* accepted,
                         struct tern_libc_net_address* peer) {
    tern::net::AcceptResponse out{};
    int r = call<tern::net::Accept>({id, flags_of(nonblocking)}, &out);
    if (r == 0) {
        *accepted = out.socket;
        *peer = from(out.peer);
    }
    return r;
}

int tern_libc_net_connect(uint32_t id, int nonblocking, uint32_t ip, uint16_t port) {
    return call<tern::net::Connect>({id, flags_of(nonblocking), {ip, port, 0}}, nullptr);
}

int64_t tern_libc_net_send(uint32_t id, int nonblocking, uint64_t wait_ns,
                           const struct tern_libc_net_address* to, const void* data,
                           uint32_t size) {
    tern::net::SendResponse out{};
    tern::proto::CallParts parts;
    parts.in_data = {static_cast<const uint8_t*>(data), size};
    Address address = to ? Address{to->ip, to->port, 0} : Address{};
    int r = call<tern::net::Send>({id, flags_of(nonblocking), address, wait_ns}, &out, parts);
    return r < 0 ? int64_t(r) : int64_t(out.sent);
}

int tern_libc_net_recv(uint32_t id, int nonblocking, uint64_t wait_ns, void* buffer, uint32_t max,
                       struct tern_libc_net_received* out) {
    tern::net::RecvResponse response{};
    uint32_t received = 0;
    tern::proto::CallParts parts;
    parts.out_data = {static_cast<uint8_t*>(buffer), TERN_LIBC_NET_MAX_DATA};
    parts.out_data_size = &received;
    int r = call<tern::net::Recv>({id, flags_of(nonblocking), max, 0, wait_ns}, &response, parts);
    if (r < 0)
        return r;
    out->size = received < response.size ? received : response.size;
    out->end_of_stream = response.end_of_stream;
    out->truncated = response.truncated;
    out->from = from(response.from);
    return 0;
}

int tern_libc_net_close(uint32_t id) { return call<tern::net::Close>({id}, nullptr); }

int tern_libc_net_share(uint32_t id, uint32_t task) {
    if (net() == TERN_INVALID_HANDLE)
        return TERN_LIBC_NET_NO_SERVER;
    int64_t copy = tern_sys_handle_duplicate(task, TERN_RIGHT_TRANSFER);
    if (copy < 0)
        return status(tern::sys_status(copy));
    tern_handle_t handle = tern_handle_t(copy);
    tern::proto::CallParts parts;
    parts.in_handles = {&handle, 1};
    return call<tern::net::Share>({id}, nullptr, parts);
}

int tern_libc_net_shutdown(uint32_t id, uint32_t how) {
    return call<tern::net::Shutdown>({id, how}, nullptr);
}

int tern_libc_net_name(uint32_t id, int peer, struct tern_libc_net_address* out) {
    tern::net::AddressResponse response{};
    int r = peer ? call<tern::net::PeerName>({id}, &response)
                 : call<tern::net::SockName>({id}, &response);
    if (r == 0)
        *out = from(response.address);
    return r;
}

int tern_libc_net_set_option(uint32_t id, uint32_t option, uint32_t value) {
    return call<tern::net::SetOption>({id, tern::net::SocketOption(option), value, 0}, nullptr);
}

int64_t tern_libc_net_poll(struct tern_libc_net_poll* entries, uint32_t count,
                           uint64_t timeout_ns) {
    static tern::net::PollEntry request[tern::net::kMaxPoll];
    static tern::net::PollResult results[tern::net::kMaxPoll];
    if (count == 0 || count > tern::net::kMaxPoll)
        return -int(base::Error::INVALID_ARGUMENT);
    for (uint32_t i = 0; i < count; ++i)
        request[i] = {entries[i].socket, entries[i].events};
    tern::net::PollResponse response{};
    uint32_t received = 0;
    tern::proto::CallParts parts;
    parts.in_data = {reinterpret_cast<const uint8_t*>(request), count * sizeof(request[0])};
    parts.out_data = {reinterpret_cast<uint8_t*>(results), sizeof(results)};
    parts.out_data_size = &received;
    int r = call<tern::net::Poll>({timeout_ns, count, 0}, &response, parts);
    if (r < 0)
        return r;
    if (response.count != count || received != count * sizeof(results[0]))
        return -int(base::Error::CORRUPT);
    for (uint32_t i = 0; i < count; ++i) {
        entries[i].events = results[i].events;
        entries[i].error = results[i].error;
        entries[i].state = uint32_t(results[i].state);
    }
    return int64_t(response.ready);
}

} // extern "C"

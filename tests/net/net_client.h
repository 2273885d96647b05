#pragma once
// What the network server's test programs share: typed calls to the server, each
// bounded in time, so a test that goes wrong fails instead of hanging.
#include <base/result.h>
#include <tern/protocol.h>
#include <tern/protocols/net.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

namespace nettest {

inline constexpr uint64_t kCallTimeout = 10'000'000'000ull; // 10 s

struct Client {
    tern_handle_t port = TERN_INVALID_HANDLE;

    base::Error connect_server() {
        auto p = tern::lookup("net", true, kCallTimeout);
        if (p.is_error())
            return p.error();
        port = p.value();
        return base::Error::OK;
    }

    base::Result<uint32_t> socket(tern::net::SocketType type) {
        int64_t task = tern_sys_handle_duplicate(tern::self(), TERN_RIGHT_TRANSFER);
        if (task < 0)
            return tern::sys_status(task);
        tern_handle_t handle = tern_handle_t(task);
        tern::proto::CallParts parts;
        parts.in_handles = {&handle, 1};
        auto r = tern::proto::call<tern::net::Socket>(port, {type, 0}, parts, kCallTimeout);
        if (r.is_error())
            return r.error();
        return r.value().socket;
    }
    base::Result<tern::net::Address> bind(uint32_t s, tern::net::Address a) {
        auto r = tern::proto::call<tern::net::Bind>(port, {s, a}, {}, kCallTimeout);
        if (r.is_error())
            return r.error();
        return r.value().address;
    }
    base::Error listen(uint32_t s, uint32_t backlog = 4) {
        auto r = tern::proto::call<tern::net::Listen>(port, {s, backlog}, {}, kCallTimeout);
        return r.is_error() ? r.error() : base::Error::OK;
    }
    base::Result<tern::net::AcceptResponse> accept(uint32_t s, uint32_t flags = 0) {
        return tern::proto::call<tern::net::Accept>(port, {s, flags}, {}, kCallTimeout);
    }
    base::Result<tern::net::Address> connect(uint32_t s, tern::net::Address a) {
        auto r = tern::proto::call<tern::net::Connect>(port, {s, 0, a}, {}, kCallTimeout);
        if (r.is_error())
            return r.error();
        return r.value().address;
    }
    base::Result<uint32_t> send(uint32_t s, const void* data, uint32_t size,
                                tern::net::Address to = {}, uint32_t flags = 0) {
        tern::proto::CallParts parts;
        parts.in_data = {static_cast<const uint8_t*>(data), size};
        auto r = tern::proto::call<tern::net::Send>(port, {s, flags, to, 0}, parts, kCallTimeout);
        if (r.is_error())
            return r.error();
        return r.value().sent;
    }
    // Receives into buffer (room for kMaxData bytes).
    base::Result<tern::net::RecvResponse> recv(uint32_t s, uint8_t* buffer, uint32_t max,
                                               uint32_t flags = 0) {
        uint32_t size = 0;
        tern::proto::CallParts parts;
        parts.out_data = {buffer, tern::net::kMaxData};
        parts.out_data_size = &size;
        return tern::proto::call<tern::net::Recv>(port, {s, flags, max, 0, 0}, parts, kCallTimeout);
    }
    base::Error close(uint32_t s) {
        auto r = tern::proto::call<tern::net::Close>(port, {s}, {}, kCallTimeout);
        return r.is_error() ? r.error() : base::Error::OK;
    }
    base::Error shutdown(uint32_t s, uint32_t how) {
        auto r = tern::proto::call<tern::net::Shutdown>(port, {s, how}, {}, kCallTimeout);
        return r.is_error() ? r.error() : base::Error::OK;
    }
    base::Result<tern::net::Address> sockname(uint32_t s) {
        auto r = tern::proto::call<tern::net::SockName>(port, {s}, {}, kCallTimeout);
        if (r.is_error())
            return r.error();
        return r.value().address;
    }
    base::Result<tern::net::Address> peername(uint32_t s) {
        auto r = tern::proto::call<tern::net::PeerName>(port, {s}, {}, kCallTimeout);
        if (r.is_error())
            return r.error();
        return r.value().address;
    }
};

} // namespace nettest

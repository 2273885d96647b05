#pragma once

// Reaching the system's servers from any program: the name server from the startup
// handle, the others by name through it (servers/*/protocol.h declare their protocols).
//
//     auto console = tern::lookup("console");
//     if (console.ok())
//         tern::proto::call<tern::console::Write>(console.value(), {}, parts);

#include <base/result.h>
#include <base/string_view.h>
#include <tern/abi/rights.h>
#include <tern/abi/syscalls.h>

namespace tern {

// The name server, from the startup block; TERN_INVALID_HANDLE for programs the kernel
// started directly.
tern_handle_t name_server();
// For init, which starts the name server itself and has no startup block.
void set_name_server(tern_handle_t handle);

// A SEND right to the port registered under `name`; the caller owns it. NOT_FOUND;
// BAD_HANDLE without a name server. With wait, blocks until the name is registered or
// timeout_ns passes (TIMED_OUT).
base::Result<tern_handle_t> lookup(base::StringView name, bool wait = false,
                                   uint64_t timeout_ns = TERN_TIMEOUT_INFINITE);

// Registers `port` (the caller keeps its handle; a SEND copy goes to the name server,
// with a handle to the calling task, so the name goes when the task ends or the port
// closes). ALREADY_EXISTS, INVALID_ARGUMENT, ACCESS_DENIED (a name without a '.' from a
// program that is not one of init's services).
base::Result<void> register_name(base::StringView name, tern_handle_t port);

// A cached lookup of a well-known server for the process's lifetime: the first call
// looks the name up (waiting up to timeout_ns); a later call after the server restarted
// (forget() on PEER_CLOSED) looks it up again.
class ServiceHandle {
public:
    explicit constexpr ServiceHandle(const char* name) : m_name(name) {}
    base::Result<tern_handle_t> get(uint64_t timeout_ns = 5000000000ull);
    void forget();

private:
    const char* m_name;
    tern_handle_t m_handle = TERN_INVALID_HANDLE;
};

} // namespace tern

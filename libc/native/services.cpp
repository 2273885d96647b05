// Reaching servers by name (libc/native/include/tern/services.h). Linked into native
// programs and C programs on musl alike, so it neither allocates nor prints.
#include <tern/protocols/name.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

namespace tern {
namespace {

base::Span<const uint8_t> bytes(base::StringView s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

} // namespace

tern_handle_t g_name_server_override = TERN_INVALID_HANDLE;

tern_handle_t name_server() {
    if (g_name_server_override != TERN_INVALID_HANDLE)
        return g_name_server_override;
    return startup_handle(TERN_STARTUP_NAME_SERVER);
}

void set_name_server(tern_handle_t handle) { g_name_server_override = handle; }

base::Result<tern_handle_t> lookup(base::StringView name, bool wait, uint64_t timeout_ns) {
    tern_handle_t server = name_server();
    if (server == TERN_INVALID_HANDLE)
        return base::Error::BAD_HANDLE;
    tern_handle_t port = TERN_INVALID_HANDLE;
    uint32_t count = 0;
    proto::CallParts parts;
    parts.in_data = bytes(name);
    parts.out_handles = &port;
    parts.out_handle_count = &count;
    auto r = proto::call<name::Lookup>(server, {wait ? name::kLookupWait : 0u}, parts, timeout_ns);
    if (r.is_error())
        return r.error();
    if (count != 1)
        return base::Error::CORRUPT;
    return port;
}

base::Result<void> register_name(base::StringView name, tern_handle_t port) {
    tern_handle_t server = name_server();
    if (server == TERN_INVALID_HANDLE)
        return base::Error::BAD_HANDLE;
    int64_t copy = tern_sys_handle_duplicate(port, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER
                                                       | TERN_RIGHT_DUPLICATE);
    if (copy < 0)
        return tern::sys_status(copy);
    // The name server watches this task too, so our names go when we end.
    int64_t task = tern_sys_handle_duplicate(self(), TERN_RIGHT_TRANSFER);
    if (task < 0) {
        (void)tern_sys_handle_close(tern_handle_t(copy));
        return tern::sys_status(task);
    }
    tern_handle_t handles[2] = {tern_handle_t(copy), tern_handle_t(task)};
    proto::CallParts parts;
    parts.in_data = bytes(name);
    parts.in_handles = {handles, 2};
    auto r = proto::call<name::Register>(server, {0}, parts);
    if (r.is_error()) {
        // A call that failed before sending leaves the copies with us.
        (void)tern_sys_handle_close(handles[0]);
        (void)tern_sys_handle_close(handles[1]);
        return r.error();
    }
    return {};
}

base::Result<tern_handle_t> ServiceHandle::get(uint64_t timeout_ns) {
    if (m_handle != TERN_INVALID_HANDLE)
        return m_handle;
    auto r = lookup(m_name, true, timeout_ns);
    if (r.is_error())
        return r.error();
    m_handle = r.value();
    return m_handle;
}

void ServiceHandle::forget() {
    if (m_handle != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(m_handle);
    m_handle = TERN_INVALID_HANDLE;
}

} // namespace tern

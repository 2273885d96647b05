// Processes through the proc server (libc/native/include/tern/process.h).
#include <lib/spawn_data.h>
#include <tern/process.h>
#include <tern/protocols/proc.h>
#include <tern/startup.h>
#include <tern/syscall.h>

namespace tern {
namespace {
tern_handle_t g_proc_override = TERN_INVALID_HANDLE;
} // namespace

tern_handle_t proc_server() {
    if (g_proc_override != TERN_INVALID_HANDLE)
        return g_proc_override;
    return startup_handle(TERN_STARTUP_PROC_SERVER);
}

void set_proc_server(tern_handle_t handle) { g_proc_override = handle; }

base::Result<uint64_t> spawn(base::StringView path, const char* const* argv,
                             const char* const* envp, const SpawnExtras& extras) {
    // The extra handles are the caller's no more, whatever happens: they go to proc with
    // the request, or are closed here when it is not sent.
    auto give_up = [&](base::Error e) {
        for (uint32_t i = 0; i < extras.handle_count; ++i)
            (void)tern_sys_handle_close(extras.handles[i]);
        return e;
    };
    tern_handle_t server = proc_server();
    if (server == TERN_INVALID_HANDLE)
        return give_up(base::Error::BAD_HANDLE);
    if (extras.handle_count > proc::kMaxSpawnHandles)
        return give_up(base::Error::TOO_BIG);
    static char data[proc::kMaxSpawnData];
    proc::SpawnRequest request = {};
    size_t used = 0;
    if (base::Error e = proc_data::pack({data, sizeof(data)}, path, argv, envp, &used,
                                        &request.argc, &request.envc);
        e != base::Error::OK)
        return give_up(e);
    for (uint32_t i = 0; i < extras.handle_count; ++i)
        request.handle_kinds[i] = extras.kinds[i];
    if (extras.task)
        request.flags |= proc::kSpawnReturnTask;
    request.node = extras.node;
    if (extras.console_here)
        request.flags |= proc::kSpawnConsoleHere;
    if (extras.bus_port)
        request.flags |= proc::kSpawnBusPort;
    if (extras.new_group)
        request.flags |= proc::kSpawnNewGroup;
    uint32_t task_count = 0;
    proto::CallParts parts;
    parts.in_data = {reinterpret_cast<const uint8_t*>(data), used};
    parts.in_handles = {extras.handles, extras.handle_count};
    parts.out_handles = extras.task;
    parts.out_handle_count = &task_count;
    auto r = proto::call<proc::Spawn>(server, request, parts);
    if (r.is_error()) {
        // Closing is harmless when they went (a stale handle value is refused); it matters
        // when the call failed before sending them.
        return give_up(r.error());
    }
    return r.value().pid;
}

base::Result<int64_t> wait(uint64_t pid, uint64_t* which) {
    auto r = proto::call<proc::Wait>(proc_server(), {pid, 0});
    if (r.is_error())
        return r.error();
    if (which)
        *which = r.value().pid;
    return r.value().status;
}

base::Result<void> kill(uint64_t pid, int64_t status) {
    auto r = proto::call<proc::Kill>(proc_server(), {pid, status, 0});
    if (r.is_error())
        return r.error();
    return {};
}

} // namespace tern

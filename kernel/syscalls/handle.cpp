// Handles of the calling task: closing and duplicating.
#include <kernel/object/handles.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/syscalls/handlers.h>

namespace kernel {

SyscallResult sys_handle_close(Handle handle) {
    TRY(handle_close(*current_thread()->task(), handle.value()));
    return 0;
}

SyscallResult sys_handle_duplicate(Handle handle, uint32_t rights) {
    obj::HandleTable& handles = current_thread()->task()->handles();
    // A port has exactly one receive right: it can be moved, never duplicated.
    uint32_t held = 0;
    auto object = TRY(handles.get(handle.value(), TERN_OBJ_ANY, 0, &held));
    (void)object; // only its rights are wanted
    uint32_t wanted = rights == TERN_RIGHTS_SAME ? held : rights;
    if (wanted & TERN_RIGHT_RECEIVE)
        return base::Error::ACCESS_DENIED;
    return TRY(handles.duplicate(handle.value(), wanted));
}

} // namespace kernel

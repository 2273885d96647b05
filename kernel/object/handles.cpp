// Closing handles: a port learns that its receive right is gone.
#include <kernel/object/handles.h>
#include <kernel/object/port.h>
#include <kernel/object/task.h>

namespace kernel {

base::Result<void> handle_close(Task& task, tern_handle_t handle) {
    uint32_t rights = 0;
    auto object = TRY(task.handles().remove(handle, &rights));
    if (Port* port = object->as<Port>(); port && (rights & TERN_RIGHT_RECEIVE))
        port->close_receiver();
    return {};
}

void release_all_handles(Task& task) {
    task.handles().seal();
    task.handles().for_each([](tern_handle_t, obj::KObject& object, uint32_t rights) {
        if (Port* port = object.as<Port>(); port && (rights & TERN_RIGHT_RECEIVE))
            port->close_receiver();
    });
    task.handles().clear();
}

} // namespace kernel

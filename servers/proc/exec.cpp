// proc's Exec (see exec.h and tern/protocols/proc.h): the C library builds the new image
// in a task of its own making, and proc moves the caller's process record onto it, so
// the pid, the parent, the children and their waits stay as they were.
#include "exec.h"

#include <tern/syscall_result.h>

namespace proc_exec {

base::Result<NewImage> take(tern::proto::Request& request, bool (*is_process)(uint64_t task_id)) {
    if (request.handle_count() != 1 && request.handle_count() != 2) {
        request.set_refusal_reason("no task");
        return base::Error::INVALID_ARGUMENT;
    }
    tern_handle_t given = request.take_handle(0);
    tern_handle_t thread =
        request.handle_count() == 2 ? request.take_handle(1) : TERN_INVALID_HANDLE;
    // As for Fork: proc keeps CONTROL (to kill) and READ (to list) on what it records.
    int64_t kept = tern_sys_handle_duplicate(given, TERN_RIGHT_CONTROL | TERN_RIGHT_READ);
    (void)tern_sys_handle_close(given);
    if (kept < 0) {
        if (thread != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(thread);
        request.set_refusal_reason("not a task handle with CONTROL, READ and DUPLICATE");
        return kept == -TERN_ACCESS_DENIED ? base::Error::ACCESS_DENIED
                                           : base::Error::INVALID_ARGUMENT;
    }
    NewImage image;
    image.task = tern_handle_t(kept);
    image.thread = thread;
    int64_t id = tern_sys_task_id_of(image.task);
    int64_t ended = tern_sys_task_wait(image.task, 0);
    if (id < 0 || is_process(uint64_t(id)) || ended != -TERN_WOULD_BLOCK) {
        discard(image);
        request.set_refusal_reason("not a running task that is not a process yet");
        return base::Error::INVALID_ARGUMENT;
    }
    image.task_id = uint64_t(id);
    image.name = base::StringView(reinterpret_cast<const char*>(request.data().data()),
                                  request.data().size());
    return image;
}

void discard(NewImage& image) {
    if (image.task != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(image.task);
    if (image.thread != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(image.thread);
    image = NewImage{};
}

} // namespace proc_exec

// proc's Exec (tern/protocols/proc.h): the new task that goes on as a process.
#pragma once

#include <base/result.h>
#include <base/string_view.h>
#include <tern/protocol.h>

namespace proc_exec {

struct NewImage {
    tern_handle_t task = TERN_INVALID_HANDLE; // CONTROL and READ, kept for the record
    uint64_t task_id = 0;
    tern_handle_t thread = TERN_INVALID_HANDLE; // its thread, for signals (optional)
    base::StringView name;                      // the request's data: the program's name
};

// Takes an Exec request's handles: a running task that no record holds yet and,
// optionally, its thread
// (is_process(task id) false). INVALID_ARGUMENT, ACCESS_DENIED with the request's refusal
// reason; nothing is kept then.
base::Result<NewImage> take(tern::proto::Request& request, bool (*is_process)(uint64_t task_id));

// Drops what take() kept (an Exec that failed later).
void discard(NewImage& image);

} // namespace proc_exec

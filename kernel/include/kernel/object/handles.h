#pragma once
// What closing a handle means for the object behind it.
#include <base/result.h>
#include <tern/abi/rights.h>

namespace kernel {

class Task;

// Closes a handle, telling a port when its receive right goes away.
base::Result<void> handle_close(Task& task, tern_handle_t handle);
// Drops every handle of a dying task the same way.
void release_all_handles(Task& task);

} // namespace kernel

#pragma once
// The handles the kernel gives the tasks it starts from boot modules.
#include <base/result.h>

namespace kernel {

class Task;

// Gives a boot-module task the root device resources (TERN_HANDLE_*_RESOURCE).
base::Result<void> grant_device_resources(Task& task);
// Gives init its bootstrap port (TERN_HANDLE_BOOTSTRAP) holding one message per boot
// module (TERN_LABEL_BOOT_MODULE) with a read-only memory object of its contents.
base::Result<void> grant_boot_modules(Task& task);

} // namespace kernel

#pragma once

// What a native program was started with: arguments, environment, its global process id
// and the handles its spawner gave it (abi/include/tern/abi/startup.h). The runtime reads
// the startup block before main runs; programs the kernel starts directly have none, and
// then argc() is 0 and every handle lookup fails.

#include <base/string_view.h>
#include <stdint.h>
#include <tern/abi/rights.h>
#include <tern/abi/startup.h>

namespace tern {

// The block, or null for a program the kernel started from a boot module.
const tern_startup* startup_block();
int argc();
// argv()[argc()] is null; never null itself.
char* const* argv();
char* const* envp();
// The value of environment variable `name`, or an empty view when it is not set.
base::StringView getenv(base::StringView name);
// This process's global id (home node << 32 | serial), 0 when started by the kernel.
uint64_t pid();
// The first startup handle of `kind` (TERN_STARTUP_*), or TERN_INVALID_HANDLE.
tern_handle_t startup_handle(uint32_t kind);

// A handle to this task (for vm_map_memory and the other task_* calls on oneself): the
// startup block's TERN_STARTUP_SELF, or TERN_HANDLE_SELF for boot-module tasks.
tern_handle_t self();

// Used by the runtime's start-up code: accepts `arg` as a startup block when it lies in
// the stack area and carries the magic, and checks it thoroughly (a broken spawner must
// not crash the program before main).
void startup_init(uint64_t arg);

} // namespace tern

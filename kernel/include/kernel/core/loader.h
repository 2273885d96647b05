#pragma once
// Starting user programs: boot modules, ELF images, the first thread of a task.
#include <base/result.h>
#include <base/span.h>
#include <base/string_view.h>
#include <kernel/object/task.h>
#include <stdint.h>

namespace kernel {

// A boot module's bytes (through the direct map), or an empty span when absent.
base::Span<const uint8_t> find_boot_module(base::StringView name);

// The user stack of a program's first thread: 64 KiB just below this address, with the
// page under it left unmapped.
inline constexpr uint64_t kUserStackTop = 0x00007FFFFFFF0000ull;
inline constexpr uint64_t kUserStackSize = 64 * 1024;

// Loads a static ELF image into a new task and starts its first thread with RDI = arg.
// The caller owns the returned task reference. Errors from the ELF validator (CORRUPT,
// NOT_SUPPORTED, OUT_OF_RANGE, INVALID_ARGUMENT for W+X, TOO_BIG), NO_MEMORY, QUOTA_EXCEEDED.
// grant_devices gives the task the root device resources (init and trusted system
// programs only).
base::Result<Task*> spawn_program(base::Span<const uint8_t> image, const char* name, uint64_t arg,
                                  uint8_t priority = Thread::kDefaultPriority,
                                  bool grant_devices = false);

// Runs the boot module `name` as a task with RDI = arg and waits for it to exit; returns
// its exit status. NOT_FOUND: no such module. TIMED_OUT: it outlived `timeout_ns` (0 =
// no limit) and was killed. Spawn errors as spawn_program. Used by the self-tests and
// the bench and fuzz modes.
base::Result<int64_t> run_module_to_exit(const char* name, uint64_t arg, uint64_t timeout_ns,
                                         bool grant_devices = false);

} // namespace kernel

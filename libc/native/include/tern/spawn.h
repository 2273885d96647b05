#pragma once

// Starting a program from an ELF image in memory: a new task, its segments, a stack with
// the startup block (abi/include/tern/abi/startup.h) and the handles it is given, and its
// first thread. The proc server starts every process this way; init uses it for the
// first servers.

#include <base/result.h>
#include <base/span.h>
#include <base/string_view.h>
#include <stdint.h>
#include <tern/abi/rights.h>
#include <tern/abi/startup.h>

namespace tern {

struct SpawnHandle {
    uint32_t kind;        // TERN_STARTUP_*
    tern_handle_t handle; // in the spawner; copied, not moved (RECEIVE rights move)
    tern_rights_t rights; // for the child, or TERN_RIGHTS_SAME
};

struct SpawnOptions {
    base::StringView name;             // the task's name (the first 31 bytes)
    const char* const* argv = nullptr; // null-terminated; null means none
    const char* const* envp = nullptr;
    uint64_t pid = 0;
    SpawnHandle handles[TERN_STARTUP_MAX_HANDLES] = {};
    uint32_t handle_count = 0;
    // When set the first thread is left stopped (the caller resumes it).
    bool start_stopped = false;
    // A memory object holding the image (a bootfs file), image[0] at image_offset in it
    // (MAP on the handle): each read-only segment whose file offset lies on the same
    // offset in a page as its address is mapped from it (shared, never copied) instead of
    // copied; writable segments, and every segment without it, are copied.
    tern_handle_t image_memory = TERN_INVALID_HANDLE;
    uint64_t image_offset = 0;
};

struct Spawned {
    tern_handle_t task;   // every task right but RECEIVE
    tern_handle_t thread; // the first thread (CONTROL)
};

// Errors: the ELF validator's (CORRUPT, NOT_SUPPORTED, OUT_OF_RANGE, TOO_BIG,
// INVALID_ARGUMENT for W+X), TOO_BIG when arguments and environment do not fit the
// startup block, and the kernel's (NO_MEMORY, QUOTA_EXCEEDED, ...). On error nothing is
// left behind: a half-built task is killed and its handle closed.
base::Result<Spawned> spawn_image(base::Span<const uint8_t> image, const SpawnOptions& options);

} // namespace tern

#pragma once

// Processes through the proc server (tern/protocols/proc.h): start a program from the
// boot file system, wait for it, end it.
//
//     const char* argv[] = {"hello", "world", nullptr};
//     auto pid = tern::spawn("hello", argv);
//     if (pid.ok()) {
//         auto status = tern::wait(pid.value());
//     }

#include <base/result.h>
#include <base/string_view.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace tern {

struct SpawnExtras {
    // Handles for the child's startup block and their TERN_STARTUP_* kinds (at most 4);
    // they move to proc, which gives them to the child. They are the caller's no more
    // either way: on failure they are closed.
    const tern_handle_t* handles = nullptr;
    const uint32_t* kinds = nullptr;
    uint32_t handle_count = 0;
    // Receives a handle to watch the new task with object_watch. On this node a task
    // handle (the notice carries the exit status). On another node a proxy for a port
    // that node's proc closes when the child ends: its notice (words[1] 0, words[2]
    // TERN_OBJ_PORT) comes when the child ends or its node is lost; wait() tells which
    // (the status, or NODE_DOWN). A message sent through it fails (ACCESS_DENIED).
    tern_handle_t* task = nullptr;
    // The node to start it on (0: this one). The child's pid is that node's; wait and kill
    // work on it as on a local child, and wait fails with NODE_DOWN if its node goes down.
    uint32_t node = 0;
    // The child's console is this node's console server (proc::kSpawnConsoleHere): how a
    // child on another node writes to the parent's terminal.
    bool console_here = false;
    // The child gets proc's port for the bus (TERN_STARTUP_PROC_BUS); init only.
    bool bus_port = false;
    // The child leads a new process group (proc::kSpawnNewGroup): a shell's job.
    bool new_group = false;
};

// Starts `path` (a name without '/' is looked up in /bin) with argv and envp
// (null-terminated, may be null). Returns the new process's global id. Errors as proc's
// Spawn (NOT_FOUND, CORRUPT, ...; for another node also OUT_OF_RANGE and NODE_DOWN),
// TOO_BIG when the strings do not fit one request, BAD_HANDLE when this program has no
// proc server.
base::Result<uint64_t> spawn(base::StringView path, const char* const* argv,
                             const char* const* envp = nullptr, const SpawnExtras& extras = {});

// Waits for a child to end (pid 0: any child) and returns its exit status.
base::Result<int64_t> wait(uint64_t pid, uint64_t* which = nullptr);

// Ends a process with status (0: the default 143).
base::Result<void> kill(uint64_t pid, int64_t status = 0);

// The proc server's port from the startup block (TERN_INVALID_HANDLE when none).
tern_handle_t proc_server();
void set_proc_server(tern_handle_t handle); // for init

} // namespace tern

#pragma once
// The console server's protocol: line I/O on the node's serial port for any number of
// readers and writers (docs/servers.md).
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::console {

inline constexpr uint32_t kMaxWrite = 4096;
inline constexpr uint32_t kMaxLine = 1024;

struct WriteResponse {
    uint64_t written;
};
// data = the bytes; "\n" is sent as "\r\n".
using Write = proto::Op<1, proto::Empty, WriteResponse, proto::Limits{.request_data = kMaxWrite}>;

struct ReadRequest {
    uint32_t flags; // zero
};
struct ReadResponse {
    uint32_t size;        // bytes in the reply data
    uint32_t end_of_file; // Ctrl-D on an empty line
};
// Waits for the next line typed at the console; reply data = the line with its "\n".
// Readers are served in the order they asked. INTERRUPTED: Ctrl-C was typed while this
// read waited.
using Read = proto::Op<2, ReadRequest, ReadResponse, proto::Limits{.response_data = kMaxLine + 1}>;

struct ForegroundRequest {
    uint64_t pid; // 0: none
};
// Ctrl-C, Ctrl-\ and Ctrl-Z send SIGINT, SIGQUIT and SIGTSTP to the foreground (proc's
// Signal with kSignalForeground: its process group when it leads one, else it and its
// descendants; a program that does not catch SIGINT ends with status 130) and interrupt
// every waiting read. Only a process's parent may make it the foreground, and only that
// parent may set 0 again: ACCESS_DENIED. NOT_FOUND: no such process.
using SetForeground = proto::Op<3, ForegroundRequest, proto::Empty>;

// tcsetpgrp: the foreground becomes process group pgid. The caller must be a process of
// the group's session (ACCESS_DENIED otherwise, or when no process leads that group).
struct ForegroundGroupRequest {
    uint64_t pgid;
};
using SetForegroundGroup = proto::Op<4, ForegroundGroupRequest, proto::Empty>;

// tcgetpgrp: the foreground (a group or a process, 0 for none).
struct ForegroundResponse {
    uint64_t pgid;
};
using GetForeground = proto::Op<5, proto::Empty, ForegroundResponse>;

} // namespace tern::console

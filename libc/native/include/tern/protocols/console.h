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
// Ctrl-C ends the foreground process and its descendants (through proc's Kill, status
// 130) and interrupts every waiting read. Only a process's parent may make it the
// foreground, and only that parent may set 0 again: ACCESS_DENIED. NOT_FOUND: no such
// process.
using SetForeground = proto::Op<3, ForegroundRequest, proto::Empty>;

} // namespace tern::console

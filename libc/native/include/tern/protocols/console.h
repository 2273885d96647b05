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

// Read flags. kReadNoWait: answer at once, with nothing (ReadResponse::nothing) when no
// input is ready. kReadPeek: what poll asks: wait until input is ready (a line, the end of
// input, or in raw mode one byte, whatever VMIN and VTIME say) and report how many bytes
// are ready in size, with no data and nothing taken.
inline constexpr uint32_t kReadNoWait = 1;
inline constexpr uint32_t kReadPeek = 2;
inline constexpr uint32_t kReadFlags = kReadNoWait | kReadPeek;

struct ReadRequest {
    uint32_t flags; // kRead*
    uint32_t max;   // the most bytes wanted; 0 means kMaxLine + 1
};
struct ReadResponse {
    uint32_t size;        // bytes in the reply data (kReadPeek: bytes ready)
    uint32_t end_of_file; // VEOF (Ctrl-D) on an empty line, canonical mode
    uint32_t nothing;     // kReadNoWait and no input ready
    uint32_t reserved;
};
// In canonical mode (ICANON), waits for the next line typed at the console; reply data =
// the line with its "\n", or its first max bytes (the rest stays for the next read). In
// raw mode, the bytes typed as they came, by POSIX's VMIN/VTIME rule. Readers are served
// in the order they asked. INTERRUPTED: Ctrl-C (VINTR with ISIG) was typed while this
// read waited. INVALID_ARGUMENT: unknown flags.
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

// The terminal's settings: Linux's struct termios as its TCGETS/TCSETS carry it (the
// kernel's layout, 36 bytes: musl's longer struct begins with it), and struct winsize.
inline constexpr uint32_t kControlChars = 19;
struct Termios {
    uint32_t iflag, oflag, cflag, lflag;
    uint8_t line;
    uint8_t cc[kControlChars];
};
static_assert(sizeof(Termios) == 36);
struct WindowSize {
    uint16_t rows, columns, x_pixels, y_pixels;
};

// tcgetattr and TIOCGWINSZ.
struct AttrResponse {
    Termios termios;
    WindowSize window;
};
using GetAttr = proto::Op<6, proto::Empty, AttrResponse>;

// tcsetattr: when is kSetNow (TCSETS), kSetDrain (TCSETSW: output is never held, so as
// kSetNow) or kSetFlush (TCSETSF: typed input not yet read is discarded first). Waiting
// readers are served again by the new settings. INVALID_ARGUMENT: another `when`.
inline constexpr uint32_t kSetNow = 0, kSetDrain = 1, kSetFlush = 2;
struct SetAttrRequest {
    Termios termios;
    uint32_t when;
};
using SetAttr = proto::Op<7, SetAttrRequest, proto::Empty>;

// tcflush: queue is Linux's TCIFLUSH (0), TCOFLUSH (1) or TCIOFLUSH (2); input not yet
// read is discarded (output is never held). INVALID_ARGUMENT: another queue.
struct FlushRequest {
    uint32_t queue;
};
using Flush = proto::Op<8, FlushRequest, proto::Empty>;

// TIOCSWINSZ: the size is kept for TIOCGWINSZ; a change sends SIGWINCH to the foreground.
struct SetWindowRequest {
    WindowSize window;
};
using SetWindow = proto::Op<9, SetWindowRequest, proto::Empty>;

} // namespace tern::console

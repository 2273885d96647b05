#pragma once

// Formatted output to the kernel console for user programs:
//
//     tern::println("hello from user space: arg={}", arg);
//
// The format language is base::format_to's ("{}", "{:#x}", ...). Output is collected in a
// buffer on the stack and handed to the debug_write syscall, so a line shorter than
// DebugSink::kBufferSize reaches the console in one piece even when other tasks print at
// the same time. Nothing here allocates.

#include <base/format.h>
#include <stddef.h>

namespace tern {

// A FormatSink over debug_write. Text is buffered and written in pieces of at most
// kBufferSize bytes (well under the 4096-byte bound the syscall accepts).
class DebugSink final : public base::FormatSink {
public:
    static constexpr size_t kBufferSize = 512;

    DebugSink() = default;
    DebugSink(const DebugSink&) = delete;
    DebugSink& operator=(const DebugSink&) = delete;
    ~DebugSink() { flush(); }

    void write(const char* s, size_t n) override;
    // Hands everything buffered so far to the kernel.
    void flush();

private:
    char m_buffer[kBufferSize];
    size_t m_used{0};
};

// Writes a text of any length to the console, split into syscall-sized pieces.
void write_console(const char* text, size_t length);

template<typename... Args>
void print(base::StringView fmt, const Args&... args) {
    DebugSink sink;
    base::format_to(sink, fmt, args...);
    sink.flush();
}

template<typename... Args>
void println(base::StringView fmt, const Args&... args) {
    DebugSink sink;
    base::format_to(sink, fmt, args...);
    sink.put('\n');
    sink.flush();
}

} // namespace tern

// Console output for user programs: the buffered sink behind tern::print.

#include <base/utility.h>
#include <stdint.h>
#include <tern/print.h>
#include <tern/syscall.h>

namespace tern {

namespace {
// The largest length debug_write accepts; longer writes fail with TOO_BIG.
constexpr size_t kMaxDebugWrite = 4096;
} // namespace

void write_console(const char* text, size_t length) {
    while (length > 0) {
        size_t piece = length < kMaxDebugWrite ? length : kMaxDebugWrite;
        // Nothing useful can be done if the console refuses output, so the result is
        // deliberately ignored.
        (void)tern_sys_debug_write(reinterpret_cast<uint64_t>(text), piece);
        text += piece;
        length -= piece;
    }
}

void DebugSink::write(const char* s, size_t n) {
    while (n > 0) {
        if (m_used == 0 && n >= kBufferSize) {
            // Too long to buffer: write straight from the caller's text.
            write_console(s, n);
            return;
        }
        size_t room = kBufferSize - m_used;
        size_t take = n < room ? n : room;
        base::memcpy(m_buffer + m_used, s, take);
        m_used += take;
        s += take;
        n -= take;
        if (m_used == kBufferSize)
            flush();
    }
}

void DebugSink::flush() {
    if (m_used == 0)
        return;
    write_console(m_buffer, m_used);
    m_used = 0;
}

} // namespace tern

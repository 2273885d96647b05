#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/serial.h>
#include <kernel/core/clock.h>
#include <kernel/core/log.h>

namespace kernel {

namespace {
ConsoleSink g_console_sink;
LogLevel g_level = LogLevel::kInfo;
constexpr const char* kLevelTag[] = {"E", "W", "I", "D"};
} // namespace

void ConsoleSink::write(const char* s, size_t n) { x86_64::com1().write(s, n); }
ConsoleSink& console_sink() { return g_console_sink; }
void log_set_level(LogLevel level) { g_level = level; }
bool log_enabled(LogLevel level) { return uint8_t(level) <= uint8_t(g_level); }

LogLine::LogLine(LogLevel level) : m_interrupts_were_on(x86_64::interrupts_enabled()) {
    x86_64::cli();
    uint64_t ns = monotonic_ns();
    base::format_to(g_console_sink, "[{:5}.{:06}] {} ", ns / 1000000000, (ns / 1000) % 1000000,
                    kLevelTag[uint8_t(level) & 3]);
}

LogLine::~LogLine() {
    g_console_sink.write("\n", 1);
    if (m_interrupts_were_on)
        x86_64::sti();
}

} // namespace kernel

#pragma once
// Kernel logging to the serial console: `log::info("pmm: {} pages free", n)`.
// Every line carries the monotonic time since boot once the clock is calibrated.
#include <base/format.h>
#include <base/string_view.h>

namespace kernel {

enum class LogLevel : uint8_t {
    kError = 0,
    kWarn = 1,
    kInfo = 2,
    kDebug = 3
};

class ConsoleSink final : public base::FormatSink {
public:
    void write(const char* s, size_t n) override;
};

ConsoleSink& console_sink();
void log_set_level(LogLevel);
bool log_enabled(LogLevel);

// Holds the console for one line: prints the prefix on construction and the newline on
// destruction, with interrupts off so lines from interrupt handlers never interleave.
class LogLine {
public:
    explicit LogLine(LogLevel level);
    ~LogLine();
    LogLine(const LogLine&) = delete;
    LogLine& operator=(const LogLine&) = delete;
    base::FormatSink& sink() { return console_sink(); }

private:
    bool m_interrupts_were_on;
};

// Raw console output, no prefix (banners, test lines that a harness parses).
template<typename... Args>
void print(base::StringView fmt, const Args&... args) {
    base::format_to(console_sink(), fmt, args...);
}

namespace log {
template<typename... Args>
void at(LogLevel level, base::StringView fmt, const Args&... args) {
    if (!log_enabled(level))
        return;
    LogLine line(level);
    base::format_to(line.sink(), fmt, args...);
}
template<typename... Args>
void error(base::StringView fmt, const Args&... args) {
    at(LogLevel::kError, fmt, args...);
}
template<typename... Args>
void warn(base::StringView fmt, const Args&... args) {
    at(LogLevel::kWarn, fmt, args...);
}
template<typename... Args>
void info(base::StringView fmt, const Args&... args) {
    at(LogLevel::kInfo, fmt, args...);
}
template<typename... Args>
void debug(base::StringView fmt, const Args&... args) {
    at(LogLevel::kDebug, fmt, args...);
}
} // namespace log

} // namespace kernel

// spawntree N: a chain of N + 1 processes, each the child of the one before, that only
// ends when killed: level N spawns `spawntree N-1` and waits for it; level 0 sleeps. Each
// level prints "spawntree: level <n> pid <pid>". For testing what ends with a program
// (Ctrl-C ends the foreground program's descendants too).
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/startup.h>
#include <tern/syscall.h>

extern "C" int main(uint64_t) {
    auto parsed = tern::argc() == 2 ? base::parse_u64(tern::argv()[1]) : base::Optional<uint64_t>();
    if (!parsed.has_value() || *parsed > 8) {
        tern::println("usage: spawntree N (0..8)");
        return 2;
    }
    uint64_t level = *parsed;
    tern::println("spawntree: level {} pid {:#x}", level, tern::pid());
    if (level == 0) {
        for (;;)
            (void)tern_sys_thread_sleep(1000000000ull);
    }
    char below[4] = {char('0' + level - 1), 0};
    const char* argv[] = {"spawntree", below, nullptr};
    auto child = tern::spawn("spawntree", argv);
    if (child.is_error()) {
        tern::println("spawntree: spawn failed: {}", base::error_name(child.error()));
        return 1;
    }
    auto status = tern::wait(child.value());
    return status.ok() ? int(status.value() & 0xFF) : 1;
}

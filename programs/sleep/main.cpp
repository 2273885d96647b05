// sleep <seconds>: waits, then exits 0. A foreground program to interrupt with Ctrl-C.
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/startup.h>
#include <tern/syscall.h>

extern "C" int main(uint64_t) {
    uint64_t seconds = 0;
    bool ok = tern::argc() == 2;
    for (const char* p = ok ? tern::argv()[1] : ""; ok && *p; ++p) {
        ok = *p >= '0' && *p <= '9' && seconds < 1000000;
        seconds = seconds * 10 + uint64_t(*p - '0');
    }
    if (!ok || tern::argv()[1][0] == '\0') {
        tern::println("usage: sleep <seconds>");
        return 2;
    }
    tern_sys_thread_sleep(seconds * 1000000000ull);
    return 0;
}

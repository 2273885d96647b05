// sleep <seconds>: waits, then exits 0. A foreground program to interrupt with Ctrl-C.
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/startup.h>
#include <tern/syscall.h>

extern "C" int main(uint64_t) {
    base::Optional<uint64_t> seconds;
    if (tern::argc() == 2)
        seconds = base::parse_u64(tern::argv()[1]);
    if (!seconds.has_value() || *seconds > 1000000) {
        tern::println("usage: sleep <seconds, at most 1000000>");
        return 2;
    }
    tern_sys_thread_sleep(*seconds * 1000000000ull);
    return 0;
}

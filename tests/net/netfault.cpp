// netfault: runs a program and, while it runs, kills a process of this node by name: a
// fault injected in the middle of the program's work (the cluster tests kill a NIC driver
// in the middle of a TCP transfer this way).
//
//     netfault <ms> <name> <program> [args...]
//
// Starts /bin/<program> with its arguments, waits <ms> milliseconds, ends every running
// process called <name> (proc's Kill, as the shell's kill builtin), prints
//
//     netfault: killed <name> (pid N:M) after <ms> ms
//
// then waits for the program and exits with its status. It exits 2 for bad usage and 3
// when the program cannot start or no process called <name> was running at that moment.
// The program's own output goes to the console as usual.
#include <base/format.h>
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/protocol.h>
#include <tern/protocols/proc.h>
#include <tern/startup.h>
#include <tern/syscall.h>

using namespace tern;

namespace {

bool parse_ms(const char* text, uint64_t& out) {
    uint64_t v = 0;
    if (!*text)
        return false;
    for (; *text; ++text) {
        if (*text < '0' || *text > '9')
            return false;
        v = v * 10 + uint64_t(*text - '0');
        if (v > 600000)
            return false;
    }
    out = v;
    return true;
}

base::StringView name_of(const proc::ProcessInfo& p) {
    size_t n = 0;
    while (n < sizeof(p.name) && p.name[n])
        ++n;
    return {p.name, n};
}

// Kills every running process named name; returns how many.
uint32_t kill_named(base::StringView name, uint64_t after_ms) {
    static proc::ProcessInfo infos[proc::kMaxProcesses];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(infos), sizeof(infos)};
    parts.out_data_size = &size;
    auto r = proto::call<proc::List>(proc_server(), {}, parts, 5'000'000'000ull);
    if (r.is_error() || size != r.value().count * sizeof(proc::ProcessInfo)) {
        println("netfault: cannot list processes: {}",
                base::error_name(r.is_error() ? r.error() : base::Error::CORRUPT));
        return 0;
    }
    uint32_t killed = 0;
    for (uint32_t i = 0; i < r.value().count; ++i) {
        const proc::ProcessInfo& p = infos[i];
        if (p.state != proc::kStateRunning || name_of(p) != name)
            continue;
        auto k = tern::kill(p.pid);
        if (k.is_error()) {
            println("netfault: kill {}: {}", name, base::error_name(k.error()));
            continue;
        }
        println("netfault: killed {} (pid {}:{}) after {} ms", name, p.pid >> 32,
                p.pid & 0xFFFFFFFFu, after_ms);
        ++killed;
    }
    return killed;
}

} // namespace

extern "C" int main(uint64_t) {
    uint64_t ms;
    if (tern::argc() < 4 || !parse_ms(tern::argv()[1], ms)) {
        println("usage: netfault <ms> <name> <program> [args...]");
        return 2;
    }
    char* const* argv = tern::argv();
    auto child = spawn(base::StringView(argv[3]), argv + 3);
    if (child.is_error()) {
        println("netfault: {}: cannot start: {}", base::StringView(argv[3]),
                base::error_name(child.error()));
        return 3;
    }
    tern_sys_thread_sleep(ms * 1'000'000);
    uint32_t killed = kill_named(base::StringView(argv[2]), ms);
    if (killed == 0)
        println("netfault: no running process called {}", base::StringView(argv[2]));
    auto status = wait(child.value());
    if (status.is_error()) {
        println("netfault: waiting for {}: {}", base::StringView(argv[3]),
                base::error_name(status.error()));
        return 3;
    }
    println("netfault: {} exited with status {}", base::StringView(argv[3]), status.value());
    if (killed == 0)
        return 3;
    return int(status.value() > 255 ? 255 : status.value());
}

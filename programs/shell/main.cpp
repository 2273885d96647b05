// The shell: reads command lines from the console, runs builtins and programs from the
// boot file system, and reports exit statuses. Ctrl-C ends the foreground program and
// Ctrl-Z stops it (the console server signals it; the shell makes the program the
// foreground while it waits, and a program that stops gives the prompt back: `fg`
// continues it in the foreground).
#include <base/format.h>
#include <base/string_view.h>
#include <base/utility.h>
#include <programs/shell/portable/command_line.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/protocols/bootfs.h>
#include <tern/protocols/bus.h>
#include <tern/protocols/console.h>
#include <tern/protocols/name.h>
#include <tern/protocols/proc.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

ServiceHandle g_console{"console"};
ServiceHandle g_bootfs{"bootfs"};
int g_status = 0;
// The program Ctrl-Z stopped last, for a `fg` without a pid (0: none), and its name.
uint64_t g_stopped = 0;
char g_stopped_name[32] = {};

// The time stamp counter and the monotonic clock just before the first prompt was
// written: `boottime` turns the counter (which starts at 0 at power-on) into time.
uint64_t g_prompt_tsc = 0;
uint64_t g_prompt_ns = 0;

uint64_t read_tsc() {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return uint64_t(hi) << 32 | lo;
}

base::Span<const uint8_t> bytes(const void* p, size_t n) {
    return {static_cast<const uint8_t*>(p), n};
}

// Writes to the console server, looking it up again once if it restarted; without one
// (it is down for good) the kernel console takes the text.
void write_out(const char* text, size_t n) {
    while (n > 0) {
        size_t chunk = base::min<size_t>(n, tern::console::kMaxWrite);
        bool done = false;
        for (int attempt = 0; attempt < 2 && !done; ++attempt) {
            auto console = g_console.get();
            if (console.is_error())
                break;
            proto::CallParts parts;
            parts.in_data = bytes(text, chunk);
            auto r = proto::call<tern::console::Write>(console.value(), {}, parts);
            if (r.ok())
                done = true;
            else if (r.error() == base::Error::PEER_CLOSED)
                g_console.forget();
            else
                break;
        }
        if (!done)
            tern::write_console(text, chunk);
        text += chunk;
        n -= chunk;
    }
}

class ConsoleSink final : public base::FormatSink {
public:
    ~ConsoleSink() { flush(); }
    void write(const char* s, size_t n) override {
        while (n > 0) {
            size_t take = base::min(n, sizeof(m_buffer) - m_used);
            __builtin_memcpy(m_buffer + m_used, s, take);
            m_used += take;
            s += take;
            n -= take;
            if (m_used == sizeof(m_buffer))
                flush();
        }
    }
    void flush() {
        if (m_used)
            write_out(m_buffer, m_used);
        m_used = 0;
    }

private:
    char m_buffer[1024];
    size_t m_used = 0;
};

template<typename... Args>
void say(const char* format, const Args&... args) {
    ConsoleSink sink;
    base::format_to(sink, format, args...);
    sink.put('\n');
}

// Reads one line. INTERRUPTED (Ctrl-C), or OK with eof set on Ctrl-D.
base::Error read_line(char* line, size_t capacity, size_t* length, bool* eof) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto console = g_console.get(TERN_TIMEOUT_INFINITE);
        if (console.is_error())
            return console.error();
        uint32_t size = 0;
        proto::CallParts parts;
        parts.out_data = {reinterpret_cast<uint8_t*>(line), capacity};
        parts.out_data_size = &size;
        auto r = proto::call<tern::console::Read>(console.value(), {0, 0}, parts);
        if (r.is_error()) {
            if (r.error() == base::Error::PEER_CLOSED) {
                g_console.forget();
                continue;
            }
            return r.error();
        }
        *length = size;
        *eof = r.value().end_of_file != 0;
        return base::Error::OK;
    }
    return base::Error::PEER_CLOSED;
}

// Process ids print as node:serial.
struct Pid {
    uint64_t value;
};

void format_pid(base::FormatSink& sink, uint64_t pid) {
    base::format_to(sink, "{}:{}", pid >> 32, pid & 0xFFFFFFFFu);
}

bool parse_u64(base::StringView s, uint64_t& out) {
    auto value = base::parse_u64(s);
    if (value.has_value())
        out = *value;
    return value.has_value();
}

// "node:serial", or a bare serial on this node.
bool parse_pid(base::StringView s, uint64_t& pid) {
    auto colon = s.find(':');
    uint64_t node = uint64_t(tern_sys_node_id()), serial = 0;
    if (colon.has_value()) {
        if (!parse_u64(s.substr(0, *colon), node) || node > 0xFFFF)
            return false;
        s = s.substr(*colon + 1);
    }
    if (!parse_u64(s, serial) || serial > 0xFFFFFFFFu)
        return false;
    pid = (node << 32) | serial;
    return true;
}

// ---- Builtins ----------------------------------------------------------------------------

int builtin_help(const shell::ParsedCommand&) {
    say("Tern shell. Builtins:\n"
        "  help              this list\n"
        "  echo [words]      print the words\n"
        "  cat <file>...     print files of the boot file system\n"
        "  ls [dir]          list a directory of the boot file system (default /bin)\n"
        "  ps [-a]           list processes (-a: of every node that is up)\n"
        "  names             list registered names\n"
        "  kill <pid> [status]  end a process (pid as node:serial or serial); it exits\n"
        "                    with status 1-255, or 143 when none or 0 is given\n"
        "  exit [status]     leave the shell\n"
        "  on <node> <program> [args]  run a program on another node, its output here\n"
        "  wait <pid>        wait for a program started with a final & and print its status\n"
        "  fg [pid]          continue a stopped program (Ctrl-Z; the last one) in the\n"
        "                    foreground\n"
        "  boottime          time from power-on to the first prompt (boot.to_prompt_ms)\n"
        "  sh [args]         BusyBox's POSIX shell (ash), with line editing and job control\n"
        "Anything else runs /bin/<name> with the arguments; $? is the last exit status.\n"
        "A final & word runs the program in the background and prints its pid.\n"
        "Ctrl-C ends the running program, Ctrl-Z stops it; Ctrl-D on an empty line ends\n"
        "the shell.");
    return 0;
}

int builtin_echo(const shell::ParsedCommand& cmd) {
    ConsoleSink sink;
    for (size_t i = 1; i < cmd.argc(); ++i) {
        if (i > 1)
            sink.put(' ');
        sink.write_view(cmd.arg(i));
    }
    sink.put('\n');
    return 0;
}

// What the boot file system says about path: NOT_FOUND, or whether it is a directory.
base::Result<tern::bootfs::StatResponse> stat(tern_handle_t server, base::StringView path) {
    proto::CallParts parts;
    parts.in_data = bytes(path.data(), path.size());
    return proto::call<tern::bootfs::Stat>(server, {}, parts);
}

const char* describe(base::Error e) {
    return e == base::Error::NOT_FOUND ? "no such file or directory" : base::error_description(e);
}

int cat_one(base::StringView path) {
    auto server = g_bootfs.get();
    if (server.is_error()) {
        say("cat: no boot file system: {}", base::error_name(server.error()));
        return 1;
    }
    // Asking first keeps a directory from reaching Map, which would refuse it.
    auto st = stat(server.value(), path);
    if (st.is_error() || st.value().is_directory) {
        say("cat: {}: {}", path, st.is_error() ? describe(st.error()) : "is a directory");
        return 1;
    }
    tern_handle_t memory = TERN_INVALID_HANDLE;
    uint32_t count = 0;
    proto::CallParts parts;
    parts.in_data = bytes(path.data(), path.size());
    parts.out_handles = &memory;
    parts.out_handle_count = &count;
    auto r = proto::call<tern::bootfs::Map>(server.value(), {}, parts);
    if (r.is_error()) {
        say("cat: {}: {}", path, describe(r.error()));
        return 1;
    }
    const tern::bootfs::MapResponse& m = r.value();
    if (count != 1 || m.data_offset > m.map_size || m.size > m.map_size - m.data_offset) {
        say("cat: {}: the file server's answer is malformed", path);
        if (count == 1)
            (void)tern_sys_handle_close(memory);
        return 1;
    }
    int64_t at = tern_sys_vm_map_memory(tern::self(), memory, 0, r.value().map_offset,
                                        r.value().map_size, TERN_PROT_READ);
    (void)tern_sys_handle_close(memory);
    if (at < 0) {
        say("cat: {}: cannot map: {}", path, base::error_name(tern::sys_status(at)));
        return 1;
    }
    write_out(reinterpret_cast<const char*>(at + r.value().data_offset), r.value().size);
    (void)tern_sys_vm_free(uint64_t(at), r.value().map_size);
    return 0;
}

int builtin_cat(const shell::ParsedCommand& cmd) {
    if (cmd.argc() < 2) {
        say("usage: cat <file>...");
        return 2;
    }
    int status = 0;
    for (size_t i = 1; i < cmd.argc(); ++i)
        status |= cat_one(cmd.arg(i));
    return status;
}

int builtin_ls(const shell::ParsedCommand& cmd) {
    base::StringView dir = cmd.argc() > 1 ? cmd.arg(1) : base::StringView("/bin");
    auto server = g_bootfs.get();
    if (server.is_error()) {
        say("ls: no boot file system: {}", base::error_name(server.error()));
        return 1;
    }
    // Asking first keeps a file from reaching List, which would refuse it.
    auto st = stat(server.value(), dir);
    if (st.is_error() || !st.value().is_directory) {
        say("ls: {}: {}", dir, st.is_error() ? describe(st.error()) : "not a directory");
        return 1;
    }
    static char listing[16384];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.in_data = bytes(dir.data(), dir.size());
    parts.out_data = {reinterpret_cast<uint8_t*>(listing), sizeof(listing)};
    parts.out_data_size = &size;
    auto r = proto::call<tern::bootfs::List>(server.value(), {}, parts);
    if (r.is_error()) {
        say("ls: {}: {}", dir, describe(r.error()));
        return 1;
    }
    write_out(listing, size);
    return 0;
}

const char* state_name(uint32_t state) {
    return state == tern::proc::kStateRunning ? "running" : "ended";
}

base::StringView name_of(const tern::proc::ProcessInfo& p) {
    size_t n = 0;
    while (n < sizeof(p.name) && p.name[n])
        ++n;
    return {p.name, n};
}

// One node's processes, from its proc (this node's, or another's through the bus).
// The heading is printed by the caller; with_node adds the NODE column.
bool list_processes(ConsoleSink& sink, tern_handle_t proc, uint64_t node, bool with_node,
                    base::StringView label) {
    static tern::proc::ProcessInfo infos[tern::proc::kMaxProcesses];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(infos), sizeof(infos)};
    parts.out_data_size = &size;
    // Another node's proc answers within the bus's down time or its node is declared down.
    auto r = proto::call<tern::proc::List>(proc, {}, parts, 10'000'000'000ull);
    if (r.is_error() || size != r.value().count * sizeof(tern::proc::ProcessInfo)) {
        base::format_to(sink, "ps: {}: {}\n", label,
                        base::error_name(r.is_error() ? r.error() : base::Error::CORRUPT));
        return false;
    }
    for (uint32_t i = 0; i < r.value().count; ++i) {
        const auto& p = infos[i];
        char pid[24], parent[24];
        base::BufferSink a(pid, sizeof(pid)), b(parent, sizeof(parent));
        format_pid(a, p.pid);
        format_pid(b, p.parent);
        if (with_node)
            base::format_to(sink, "{:<5} ", node);
        base::format_to(sink, "{:<10} {:<10} {:<8} {:>8}  {}\n", a.view(), b.view(),
                        state_name(p.state), p.memory_bytes / 1024, name_of(p));
    }
    return true;
}

// ps -a: this node's processes, then each other node's that the bus has up.
int ps_all() {
    static tern::bus::NodeInfo nodes[tern::bus::kMaxNodes];
    uint32_t size = 0;
    uint32_t count = 0;
    auto bus = lookup("bus");
    if (bus.ok()) {
        proto::CallParts parts;
        parts.out_data = {reinterpret_cast<uint8_t*>(nodes), sizeof(nodes)};
        parts.out_data_size = &size;
        auto r = proto::call<tern::bus::Nodes>(bus.value(), {}, parts);
        if (r.ok() && size == r.value().count * sizeof(tern::bus::NodeInfo))
            count = r.value().count;
    }
    ConsoleSink sink;
    base::format_to(sink, "{:<5} {:<10} {:<10} {:<8} {:>8}  NAME\n", "NODE", "PID", "PARENT",
                    "STATE", "MEM KiB");
    int status = list_processes(sink, proc_server(), tern_sys_node_id(), true, "this node") ? 0 : 1;
    for (uint32_t i = 0; i < count; ++i) {
        if (nodes[i].state != tern::bus::kNodeUp)
            continue;
        // What is listed so far shows while the next node is asked.
        sink.flush();
        char label[16];
        base::BufferSink l(label, sizeof(label));
        base::format_to(l, "node {}", nodes[i].node);
        tern_handle_t proc = TERN_INVALID_HANDLE;
        uint32_t handles = 0;
        proto::CallParts parts;
        parts.out_handles = &proc;
        parts.out_handle_count = &handles;
        auto r = proto::call<tern::bus::RemoteRoot>(bus.value(), {nodes[i].node, 2}, parts,
                                                    2'000'000'000ull);
        if (r.is_error() || handles != 1) {
            base::format_to(sink, "ps: {}: {}\n", l.view(),
                            base::error_name(r.is_error() ? r.error() : base::Error::CORRUPT));
            status = 1;
            continue;
        }
        if (!list_processes(sink, proc, nodes[i].node, true, l.view()))
            status = 1;
        (void)tern_sys_handle_close(proc);
    }
    if (bus.ok())
        (void)tern_sys_handle_close(bus.value());
    return status;
}

int builtin_ps(const shell::ParsedCommand& cmd) {
    if (cmd.argc() == 2 && cmd.arg(1) == "-a")
        return ps_all();
    if (cmd.argc() != 1) {
        say("usage: ps [-a]");
        return 2;
    }
    ConsoleSink sink;
    base::format_to(sink, "{:<10} {:<10} {:<8} {:>8}  NAME\n", "PID", "PARENT", "STATE", "MEM KiB");
    return list_processes(sink, proc_server(), tern_sys_node_id(), false, "this node") ? 0 : 1;
}

int builtin_names(const shell::ParsedCommand&) {
    static char listing[tern::name::kListBytes];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(listing), sizeof(listing)};
    parts.out_data_size = &size;
    auto r = proto::call<tern::name::List>(name_server(), {}, parts);
    if (r.is_error()) {
        say("names: {}", base::error_name(r.error()));
        return 1;
    }
    write_out(listing, size);
    return 0;
}

int builtin_kill(const shell::ParsedCommand& cmd) {
    uint64_t pid = 0, status = 0;
    if (cmd.argc() < 2 || cmd.argc() > 3 || !parse_pid(cmd.arg(1), pid)
        || (cmd.argc() == 3 && (!parse_u64(cmd.arg(2), status) || status > 255))) {
        say("usage: kill <pid> [status 1-255, default 143]");
        return 2;
    }
    auto r = proto::call<tern::proc::Kill>(proc_server(), {pid, int64_t(status), 0});
    if (r.is_error()) {
        base::Error e = r.error();
        say("kill: {}: {}", cmd.arg(1),
            e == base::Error::NOT_FOUND       ? "no such process"
            : e == base::Error::ACCESS_DENIED ? "not permitted: init or a core server"
            : e == base::Error::BAD_STATE     ? "already ended"
                                              : base::error_description(e));
        return 1;
    }
    return 0;
}

// ---- Programs ----------------------------------------------------------------------------

int wait_foreground(base::StringView name, uint64_t pid);

// Runs argv[0] (on node, 0 for this one) in the foreground and returns its status as $?,
// or in the background (its pid printed; `wait` collects it).
int run_program(const char* const* argv, uint32_t node, bool background) {
    static const char* const env[] = {"HOME=/", "PATH=/bin", "TERM=vt100", nullptr};
    base::StringView name(argv[0]);
    SpawnExtras extras;
    extras.node = node;
    // A program on another node writes to this node's console (its proc keeps a proxy
    // for it).
    extras.console_here = node != 0;
    // Each program is a job of its own: its group is what Ctrl-C and Ctrl-Z signal and
    // what the console's foreground names, and a stop signal to its group leaves the
    // shell running.
    extras.new_group = true;
    // `sh` is BusyBox's shell (ash): /bin/busybox run under the name sh; its own group
    // (above) is in the terminal's foreground, so its job control starts at once.
    bool is_sh = name == "sh" && node == 0;
    auto spawned = spawn(is_sh ? base::StringView("/bin/busybox") : name, argv, env, extras);
    if (spawned.is_error()) {
        base::Error e = spawned.error();
        if (e == base::Error::NOT_FOUND) {
            if (node != 0)
                say("shell: {}: command not found on node {}", name, node);
            else
                say("shell: {}: command not found", name);
            return 127;
        }
        if (e == base::Error::OUT_OF_RANGE && node != 0)
            say("shell: on: node {} is not a member of the cluster", node);
        else if (e == base::Error::NODE_DOWN)
            say("shell: on: node {} is down (NODE_DOWN)", node);
        else
            say("shell: {}: cannot run: {}", name, base::error_description(e));
        return 126;
    }
    uint64_t pid = spawned.value();
    if (background) {
        ConsoleSink sink;
        sink.put('[');
        format_pid(sink, pid);
        sink.write_view("]\n");
        return 0;
    }
    return wait_foreground(name, pid);
}

// Waits for the foreground program pid to end or stop; its status as $? (128 + the
// signal for a stop, as POSIX shells say).
int wait_foreground(base::StringView name, uint64_t pid) {
    if (auto console = g_console.get(); console.ok())
        (void)proto::call<tern::console::SetForeground>(console.value(), {pid});
    auto waited = proto::call<proc::Wait>(proc_server(), {pid, proc::kWaitStopped});
    if (auto console = g_console.get(); console.ok())
        (void)proto::call<tern::console::SetForeground>(console.value(), {0});
    if (waited.is_error()) {
        say("shell: waiting for {}: {}", name, base::error_name(waited.error()));
        return 1;
    }
    if (waited.value().event == proc::kWaitEventStopped) {
        ConsoleSink sink;
        base::format_to(sink, "shell: {} stopped (signal {}); fg ", name, waited.value().status);
        format_pid(sink, pid);
        sink.write_view(" continues it\n");
        g_stopped = pid;
        size_t n = base::min<size_t>(name.size(), sizeof(g_stopped_name) - 1);
        __builtin_memcpy(g_stopped_name, name.data(), n);
        g_stopped_name[n] = '\0';
        return int(128 + waited.value().status);
    }
    int64_t status = waited.value().status;
    if (status >= 256)
        say("shell: {} ended by a CPU exception (vector {})", name, status - 256);
    else if (status == tern::proc::kInterruptedStatus)
        say("shell: {} interrupted", name);
    return int(status > 255 ? 255 : status);
}

// fg [pid]: a stopped program (Ctrl-Z; without a pid the last one) continues in the
// foreground.
int builtin_fg(const shell::ParsedCommand& cmd) {
    uint64_t pid = g_stopped;
    if (cmd.argc() > 2 || (cmd.argc() == 2 && !parse_pid(cmd.arg(1), pid))) {
        say("usage: fg [pid]");
        return 2;
    }
    if (pid == 0) {
        say("fg: no stopped program");
        return 1;
    }
    char name[sizeof(g_stopped_name)] = "fg";
    if (pid == g_stopped) {
        __builtin_memcpy(name, g_stopped_name, sizeof(name));
        g_stopped = 0;
    }
    // To what Ctrl-Z stopped: its group when it leads one, else it and its descendants.
    constexpr uint32_t kSigCont = 18;
    if (auto r = proto::call<proc::Signal>(proc_server(), {pid, kSigCont, proc::kSignalForeground});
        r.is_error()) {
        say("fg: {}: {}", cmd.argc() == 2 ? cmd.arg(1) : base::StringView("job"),
            base::error_name(r.error()));
        return 1;
    }
    return wait_foreground(base::StringView(name), pid);
}

// on <node> <program> [args]: the program runs on that node, in the foreground here.
int builtin_on(const shell::ParsedCommand& cmd, bool background) {
    uint64_t node = 0;
    if (cmd.argc() < 3 || !parse_u64(cmd.arg(1), node) || node == 0 || node > 0xFFFF) {
        say("usage: on <node 1-65535> <program> [args]");
        return 2;
    }
    return run_program(cmd.argv() + 2, node == uint64_t(tern_sys_node_id()) ? 0 : uint32_t(node),
                       background);
}

// wait <pid>: the status of a program started in the background.
int builtin_wait(const shell::ParsedCommand& cmd) {
    uint64_t pid = 0;
    if (cmd.argc() != 2 || !parse_pid(cmd.arg(1), pid)) {
        say("usage: wait <pid>");
        return 2;
    }
    auto waited = wait(pid);
    if (waited.is_error()) {
        say("wait: {}: {}", cmd.arg(1), base::error_name(waited.error()));
        return 1;
    }
    say("shell: {} exited with status {}", cmd.arg(1), waited.value());
    return int(waited.value() > 255 ? 255 : waited.value());
}

// Prints the virtual time from power-on to the first prompt. The counter ran at a rate
// the monotonic clock measures between that prompt and now (under -icount shift=0 one
// tick per nanosecond: the figure is then exact and repeats run to run).
int builtin_boottime(const shell::ParsedCommand& cmd) {
    if (cmd.argc() != 1) {
        say("usage: boottime");
        return 2;
    }
    uint64_t tsc = read_tsc();
    uint64_t ns = uint64_t(tern_sys_clock_monotonic());
    if (tsc <= g_prompt_tsc || ns <= g_prompt_ns) {
        say("shell: boottime: the clock has not advanced since the first prompt");
        return 1;
    }
    // Ticks per millisecond over the interval (a 100 s interval at 10 GHz stays below
    // 2^64 after the multiplication), then the prompt's ticks in microseconds.
    uint64_t per_ms = (tsc - g_prompt_tsc) * 1000000 / (ns - g_prompt_ns);
    if (per_ms == 0) {
        say("shell: boottime: the time stamp counter runs too slowly to measure");
        return 1;
    }
    uint64_t micros = g_prompt_tsc * 1000 / per_ms;
    say("boot.to_prompt_ms: {}.{:03} ms", micros / 1000, micros % 1000);
    return 0;
}

int run(shell::ParsedCommand& cmd, bool* leave) {
    base::StringView name = cmd.arg(0);
    // A final "&" runs the program in the background.
    bool background = cmd.argc() > 1 && cmd.arg(cmd.argc() - 1) == "&";
    if (background)
        cmd.drop_last();
    if (name == "help")
        return builtin_help(cmd);
    if (name == "echo")
        return builtin_echo(cmd);
    if (name == "cat")
        return builtin_cat(cmd);
    if (name == "ls")
        return builtin_ls(cmd);
    if (name == "ps")
        return builtin_ps(cmd);
    if (name == "names")
        return builtin_names(cmd);
    if (name == "kill")
        return builtin_kill(cmd);
    if (name == "on")
        return builtin_on(cmd, background);
    if (name == "wait")
        return builtin_wait(cmd);
    if (name == "fg")
        return builtin_fg(cmd);
    if (name == "boottime")
        return builtin_boottime(cmd);
    if (name == "exit") {
        uint64_t status = 0;
        if (cmd.argc() > 1 && (!parse_u64(cmd.arg(1), status) || status > 255)) {
            say("usage: exit [status 0-255]");
            return 2;
        }
        *leave = true;
        return int(status);
    }
    return run_program(cmd.argv(), 0, background);
}

} // namespace

extern "C" int main(uint64_t) {
    if (proc_server() == TERN_INVALID_HANDLE || name_server() == TERN_INVALID_HANDLE) {
        tern::println("shell: must be started by proc (no proc or name server handle)");
        return 2;
    }
    if (cat_one("/etc/motd") != 0)
        say("Tern shell; type 'help'.");
    static shell::ParsedCommand cmd;
    static char line[tern::console::kMaxLine + 2];
    int read_failures = 0;
    for (;;) {
        if (g_prompt_tsc == 0) {
            g_prompt_ns = uint64_t(tern_sys_clock_monotonic());
            g_prompt_tsc = read_tsc();
        }
        {
            ConsoleSink prompt;
            base::format_to(prompt, "tern:{}> ", g_status);
        }
        size_t length = 0;
        bool eof = false;
        base::Error e = read_line(line, sizeof(line), &length, &eof);
        if (e == base::Error::INTERRUPTED)
            continue;
        if (e != base::Error::OK) {
            // The console may be restarting; give up only when it stays unreachable.
            if (++read_failures == 50) {
                tern::println("shell: cannot read the console: {}", base::error_name(e));
                return 1;
            }
            tern_sys_thread_sleep(100000000);
            continue;
        }
        read_failures = 0;
        if (eof) {
            say("exit");
            return 0;
        }
        base::StringView text(line, length);
        if (text.ends_with('\n'))
            text = text.substr(0, text.size() - 1);
        if (auto r = shell::parse_command_line(text, cmd, g_status); r.is_error()) {
            say("shell: {}", cmd.error_message());
            g_status = 2;
            continue;
        }
        if (cmd.argc() == 0)
            continue;
        bool leave = false;
        g_status = run(cmd, &leave);
        if (leave)
            return g_status;
    }
}

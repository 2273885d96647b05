// The console server: the node's terminal. Line I/O for any number of programs
// (<tern/protocols/console.h>) over the serial port, which it reaches through the UART
// driver's character device (drivers/uart, <tern/protocols/chardev.h>).
//
// The driver signals the console when received bytes wait and the console Reads them;
// each byte goes through the line editor (servers/console/portable/line_editor.h), whose
// echo goes back to the device. Finished lines go to readers in the order they asked;
// lines typed while nobody reads wait in a small queue. Ctrl-C (Ctrl-\, Ctrl-Z) sends
// SIGINT (SIGQUIT, SIGTSTP) to the foreground through proc, interrupts every waiting read
// and discards the lines typed ahead.
// Program output is written to the device with "\n" as "\r\n".
#include <base/string_view.h>
#include <base/utility.h>
#include <servers/console/portable/line_editor.h>
#include <tern/print.h>
#include <tern/protocols/chardev.h>
#include <tern/protocols/console.h>
#include <tern/protocols/proc.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

constexpr uint64_t kInputBit = 1;
// The signals the control characters send (Linux's numbers, as programs know them).
constexpr uint32_t kSigInt = 2, kSigQuit = 3, kSigTstp = 20;
constexpr size_t kMaxReaders = 16;
constexpr size_t kMaxQueuedLines = 16;
// How long the console waits for the UART driver to register, at start and after losing
// it. init starts the driver and waits for it before it starts the console.
constexpr uint64_t kDeviceWaitNs = 5000000000ull;

struct QueuedLine {
    char text[tern::console::kMaxLine + 1];
    uint32_t size;
    bool end_of_file;
};

struct State {
    ::terminal::LineEditor editor;
    ::terminal::LineEditorOutput out;
    proto::PendingReply readers[kMaxReaders];
    size_t reader_count = 0;
    QueuedLine lines[kMaxQueuedLines];
    size_t line_head = 0, line_count = 0;
    uint64_t foreground = 0;
    uint64_t foreground_setter = 0; // task id of the parent that set it
    tern_handle_t port = TERN_INVALID_HANDLE;
    tern_handle_t device = TERN_INVALID_HANDLE; // the UART driver, attached
    ServiceHandle proc{"proc"};
    uint64_t dropped_lines = 0;
    // Bytes on their way to the device: echo and program output are gathered here and
    // sent in one Write (flush) before anything else can reach the serial port: before
    // the console logs, before a reader gets its line, before a request is answered.
    uint8_t output[chardev::kMaxWrite];
    size_t output_size = 0;
};

State g_state;

// The UART driver's port, attached for input; looked up (and attached) again after the
// console lost it.
base::Result<tern_handle_t> device() {
    if (g_state.device != TERN_INVALID_HANDLE)
        return g_state.device;
    tern_handle_t port = TRY(lookup("uart", true, kDeviceWaitNs));
    auto signal = sys_result<tern_handle_t>(
        tern_sys_handle_duplicate(g_state.port, TERN_RIGHT_SIGNAL | TERN_RIGHT_TRANSFER));
    if (signal.is_error()) {
        (void)tern_sys_handle_close(port);
        return signal.error();
    }
    proto::CallParts parts;
    parts.in_handles = {&signal.value(), 1};
    if (auto r = proto::call<chardev::Attach>(port, {kInputBit}, parts); r.is_error()) {
        (void)tern_sys_handle_close(signal.value()); // still ours when the call failed early
        (void)tern_sys_handle_close(port);
        return r.error();
    }
    g_state.device = port;
    return port;
}

void lost_device(base::Error why) {
    tern::println("console: the UART driver failed: {}; looking it up again",
                  base::error_name(why));
    (void)tern_sys_handle_close(g_state.device);
    g_state.device = TERN_INVALID_HANDLE;
}

base::Error flush() {
    if (g_state.output_size == 0)
        return base::Error::OK;
    size_t n = base::exchange(g_state.output_size, size_t(0));
    auto port = device();
    if (port.is_error())
        return port.error();
    proto::CallParts parts;
    parts.in_data = {g_state.output, n};
    auto r = proto::call<chardev::Write>(port.value(), {}, parts);
    if (r.is_error()) {
        lost_device(r.error());
        return r.error();
    }
    return base::Error::OK;
}

base::Error output(const uint8_t* bytes, size_t n, bool translate_newlines) {
    base::Error status = base::Error::OK;
    for (size_t i = 0; i < n; ++i) {
        // Room for "\r\n" at the least.
        if (g_state.output_size + 2 > sizeof(g_state.output))
            if (base::Error e = flush(); e != base::Error::OK)
                status = e;
        if (translate_newlines && bytes[i] == '\n')
            g_state.output[g_state.output_size++] = '\r';
        g_state.output[g_state.output_size++] = bytes[i];
    }
    return status;
}

// False when the reader gave up (timed out, or died) before the line came.
bool answer(proto::PendingReply& reader, const QueuedLine& line) {
    tern::console::ReadResponse response{line.size, line.end_of_file ? 1u : 0u};
    proto::Reply parts;
    parts.data = {reinterpret_cast<const uint8_t*>(line.text), line.size};
    return proto::reply_later<tern::console::Read>(reader, base::Error::OK, response, parts)
           == base::Error::OK;
}

proto::PendingReply take_oldest_reader() {
    proto::PendingReply reader = g_state.readers[0];
    for (size_t i = 1; i < g_state.reader_count; ++i)
        g_state.readers[i - 1] = g_state.readers[i];
    --g_state.reader_count;
    return reader;
}

void deliver(const QueuedLine& line) {
    (void)flush(); // the echo of the line's end comes before anything its reader writes
    // The oldest reader still waiting gets the line; readers that left are skipped, so a
    // line is never handed to nobody.
    while (g_state.reader_count > 0) {
        proto::PendingReply reader = take_oldest_reader();
        if (answer(reader, line))
            return;
    }
    if (g_state.line_count == kMaxQueuedLines) {
        // Nobody has read for 16 lines: the oldest goes, and that is logged.
        ++g_state.dropped_lines;
        tern::println("console: input line dropped: no reader for {} lines", kMaxQueuedLines);
        g_state.line_head = (g_state.line_head + 1) % kMaxQueuedLines;
        --g_state.line_count;
    }
    g_state.lines[(g_state.line_head + g_state.line_count) % kMaxQueuedLines] = line;
    ++g_state.line_count;
}

// Ctrl-C, Ctrl-\, Ctrl-Z: what was typed ahead was meant for the program being
// interrupted, or for the shell after it in the belief that the program would finish;
// neither is true any more. The foreground gets the signal (SIGINT, SIGQUIT, SIGTSTP).
void interrupt(uint32_t signo) {
    (void)flush();
    if (g_state.line_count > 0) {
        tern::println("console: Ctrl-C discarded {} {} typed ahead", g_state.line_count,
                      base::StringView(g_state.line_count == 1 ? "line" : "lines"));
        g_state.line_head = 0;
        g_state.line_count = 0;
    }
    for (size_t i = 0; i < g_state.reader_count; ++i)
        (void)proto::reply_later<tern::console::Read>(g_state.readers[i], base::Error::INTERRUPTED,
                                                      {});
    g_state.reader_count = 0;
    if (g_state.foreground == 0)
        return;
    uint64_t pid = g_state.foreground;
    auto proc = g_state.proc.get();
    if (proc.is_error())
        return;
    auto r =
        proto::call<tern::proc::Signal>(proc.value(), {pid, signo, tern::proc::kSignalForeground});
    if (r.is_error() && r.error() != base::Error::NOT_FOUND)
        tern::println("console: signal {} to the foreground {:#x}: {}", signo, pid,
                      base::error_name(r.error()));
}

void input(uint8_t byte) {
    g_state.editor.feed(byte, g_state.out);
    (void)output(g_state.out.echo, g_state.out.echo_length, false);
    static QueuedLine line;
    switch (g_state.out.event) {
    case ::terminal::LineEvent::kNone:
        break;
    case ::terminal::LineEvent::kLine: {
        size_t n = base::min<size_t>(g_state.out.line.size(), tern::console::kMaxLine);
        __builtin_memcpy(line.text, g_state.out.line.data(), n);
        line.text[n] = '\n';
        line.size = uint32_t(n + 1);
        line.end_of_file = false;
        deliver(line);
        break;
    }
    case ::terminal::LineEvent::kEndOfFile:
        line.size = 0;
        line.end_of_file = true;
        deliver(line);
        break;
    case ::terminal::LineEvent::kInterrupt:
        interrupt(kSigInt);
        break;
    case ::terminal::LineEvent::kQuit:
        interrupt(kSigQuit);
        break;
    case ::terminal::LineEvent::kSuspend:
        interrupt(kSigTstp);
        break;
    case ::terminal::LineEvent::kLineTooLong:
        // The echo told the user; no reader gets any part of the line.
        break;
    }
}

// The driver raises kInputBit while received bytes wait; take them all.
void on_event(void*, const tern_msg& event, uint32_t) {
    if (event.hdr.label != TERN_LABEL_SIGNAL || !(event.words[0] & kInputBit))
        return;
    static uint8_t bytes[chardev::kMaxRead];
    for (;;) {
        auto port = device();
        if (port.is_error()) {
            tern::println("console: no UART driver: {}", base::error_name(port.error()));
            return;
        }
        uint32_t size = 0;
        proto::CallParts parts;
        parts.out_data = {bytes, sizeof(bytes)};
        parts.out_data_size = &size;
        auto r = proto::call<chardev::Read>(port.value(), {0}, parts);
        if (r.is_error()) {
            lost_device(r.error());
            return;
        }
        if (r.value().dropped > 0) {
            (void)flush();
            tern::println("console: {} typed bytes were lost (the UART driver's buffer was full)",
                          r.value().dropped);
        }
        for (uint32_t i = 0; i < size; ++i)
            input(bytes[i]);
        if (r.value().pending == 0)
            break;
    }
    (void)flush();
}

base::Error on_write(State*, proto::Request& request, const proto::Empty&,
                     tern::console::WriteResponse& out, proto::Reply&, proto::PendingReply&) {
    // Echo still held goes first; the bytes are taken as written once the device has them.
    // An empty Write (the cheapest round trip, which a client uses to see the console is
    // there) has nothing to send.
    if (request.data().empty() && g_state.output_size == 0) {
        out.written = 0;
        return base::Error::OK;
    }
    base::Error status = output(request.data().data(), request.data().size(), true);
    if (base::Error e = flush(); status == base::Error::OK)
        status = e;
    if (status != base::Error::OK)
        return status;
    out.written = request.data().size();
    return base::Error::OK;
}

base::Error on_read(State* s, proto::Request&, const tern::console::ReadRequest& in,
                    tern::console::ReadResponse&, proto::Reply& reply,
                    proto::PendingReply& pending) {
    if (in.flags != 0)
        return base::Error::INVALID_ARGUMENT;
    if (s->line_count > 0) {
        const QueuedLine& line = s->lines[s->line_head];
        if (answer(pending, line)) { // answered through the pending right
            s->line_head = (s->line_head + 1) % kMaxQueuedLines;
            --s->line_count;
        }
        reply.deferred = true;
        return base::Error::OK;
    }
    // The kernel does not tell a server when a caller gives up, so when every slot is
    // taken the oldest reader is answered INTERRUPTED to make room (it has most likely
    // left already); a reader can never be refused.
    if (s->reader_count == kMaxReaders) {
        proto::PendingReply oldest = take_oldest_reader();
        (void)proto::reply_later<tern::console::Read>(oldest, base::Error::INTERRUPTED, {});
    }
    s->readers[s->reader_count++] = pending;
    reply.deferred = true;
    return base::Error::OK;
}

base::Error on_foreground(State* s, proto::Request& request,
                          const tern::console::ForegroundRequest& in, proto::Empty&, proto::Reply&,
                          proto::PendingReply&) {
    // Ctrl-C ends the foreground and its descendants, so only a process's parent may put
    // it there, and only that parent may take it away again.
    if (in.pid == 0) {
        if (s->foreground != 0 && request.badge() != s->foreground_setter) {
            request.set_refusal_reason("the foreground is another task's");
            return base::Error::ACCESS_DENIED;
        }
        s->foreground = 0;
        s->foreground_setter = 0;
        return base::Error::OK;
    }
    auto proc = s->proc.get();
    if (proc.is_error())
        return proc.error();
    auto parent = proto::call<tern::proc::Parent>(proc.value(), {in.pid});
    if (parent.is_error())
        return parent.error();
    if (parent.value().parent_task != request.badge()) {
        request.set_refusal_reason("only a process's parent may make it the foreground");
        return base::Error::ACCESS_DENIED;
    }
    s->foreground = in.pid;
    s->foreground_setter = request.badge();
    return base::Error::OK;
}

base::Error on_foreground_group(State* s, proto::Request& request,
                                const tern::console::ForegroundGroupRequest& in, proto::Empty&,
                                proto::Reply&, proto::PendingReply&) {
    auto proc = s->proc.get();
    if (proc.is_error())
        return proc.error();
    // The caller and the group's leader must be of one session.
    auto caller = proto::call<tern::proc::GetPgid>(proc.value(), {0, request.badge()});
    auto leader = proto::call<tern::proc::GetPgid>(proc.value(), {in.pgid, 0});
    if (caller.is_error() || leader.is_error() || in.pgid == 0 || leader.value().pgid != in.pgid
        || leader.value().sid != caller.value().sid) {
        request.set_refusal_reason("not a group of the caller's session");
        return base::Error::ACCESS_DENIED;
    }
    s->foreground = in.pgid;
    s->foreground_setter = request.badge();
    return base::Error::OK;
}

base::Error on_get_foreground(State* s, proto::Request&, const proto::Empty&,
                              tern::console::ForegroundResponse& out, proto::Reply&,
                              proto::PendingReply&) {
    out.pgid = s->foreground;
    return base::Error::OK;
}

} // namespace

extern "C" int main(uint64_t) {
    auto port = sys_result<tern_handle_t>(tern_sys_port_create(64));
    if (port.is_error()) {
        tern::println("console: no port: {}", base::error_name(port.error()));
        return 1;
    }
    g_state.port = port.value();
    if (auto r = device(); r.is_error()) {
        tern::println("console: no UART driver: {}", base::error_name(r.error()));
        return 1;
    }

    proto::Server server("console", g_state.port);
    server.on<tern::console::Write>(&g_state, on_write);
    server.on<tern::console::Read>(&g_state, on_read);
    server.on<tern::console::SetForeground>(&g_state, on_foreground);
    server.on<tern::console::SetForegroundGroup>(&g_state, on_foreground_group);
    server.on<tern::console::GetForeground>(&g_state, on_get_foreground);
    server.on_event(&g_state, on_event);
    if (auto r = register_name("console", g_state.port); r.is_error()) {
        tern::println("console: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    server.run();
}

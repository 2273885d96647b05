// The console server: the node's terminal. Line I/O for any number of programs
// (<tern/protocols/console.h>) over the serial port, which it reaches through the UART
// driver's character device (drivers/uart, <tern/protocols/chardev.h>).
//
// The driver signals the console when received bytes wait and the console Reads them.
// The terminal settings (termios, servers/console/portable/termios.h) decide what a byte
// is. In canonical mode (ICANON) each byte goes through the line editor
// (servers/console/portable/line_editor.h), whose echo goes back to the device; finished
// lines wait in a small queue for readers, served in the order they asked. In raw mode the
// bytes wait in a byte queue and a read is answered by POSIX's VMIN/VTIME rule, the server
// waking at the readers' deadlines. With ISIG, Ctrl-C (Ctrl-\, Ctrl-Z) sends SIGINT
// (SIGQUIT, SIGTSTP) to the foreground through proc, interrupts every waiting read and
// discards the input typed ahead (unless NOFLSH).
// Program output is written to the device with "\n" as "\r\n" (OPOST and ONLCR).
#include <base/string_view.h>
#include <base/utility.h>
#include <servers/console/portable/line_editor.h>
#include <servers/console/portable/termios.h>
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
// The signals the control characters send (Linux's numbers, as programs know them), and
// the one a new window size sends.
constexpr uint32_t kSigInt = 2, kSigQuit = 3, kSigTstp = 20, kSigWinch = 28;
constexpr size_t kMaxReaders = 16;
constexpr size_t kMaxQueuedLines = 16;
constexpr size_t kMaxReadBytes = tern::console::kMaxLine + 1;
// How long the console waits for the UART driver to register, at start and after losing
// it. init starts the driver and waits for it before it starts the console.
constexpr uint64_t kDeviceWaitNs = 5000000000ull;

struct QueuedLine {
    char text[tern::console::kMaxLine + 1];
    uint32_t size;
    uint32_t offset; // what readers have taken of it already
    bool end_of_file;
};

struct Reader {
    proto::PendingReply reply;
    uint32_t flags; // tern::console::kRead*
    uint32_t max;   // 1..kMaxReadBytes
    uint64_t started;
};

struct State {
    ::terminal::LineEditor editor;
    ::terminal::LineEditorOutput out;
    ::terminal::Termios termios = ::terminal::default_termios();
    tern::console::WindowSize window{24, 80, 0, 0};
    Reader readers[kMaxReaders];
    size_t reader_count = 0;
    QueuedLine lines[kMaxQueuedLines];
    size_t line_head = 0, line_count = 0;
    // Raw mode's input, and when its last byte came.
    ::terminal::ByteQueue raw;
    uint64_t last_input = 0;
    bool raw_overflow_logged = false;
    // The earliest time a waiting raw read must be looked at again (0: none).
    uint64_t wake_at = 0;
    uint64_t foreground = 0;
    uint64_t foreground_setter = 0; // task id of the parent that set it
    // The task whose SetForeground put a process there: it may still take the foreground
    // back after that process (a shell) moved it to groups of its own with tcsetpgrp.
    uint64_t foreground_parent = 0;
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

uint64_t now() { return uint64_t(tern_sys_clock_monotonic()); }

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

// Queues bytes for the device; with `process`, through c_oflag's output processing (program
// output and raw echo; the line editor's echo is the terminal's own bytes already).
base::Error output(const uint8_t* bytes, size_t n, bool process) {
    // c_oflag's only translation is ONLCR's (termios.h's translate_output), done inline:
    // program output passes here byte by byte.
    const ::terminal::Termios& t = g_state.termios;
    bool onlcr = process && (t.oflag & ::terminal::kOpost) && (t.oflag & ::terminal::kOnlcr);
    base::Error status = base::Error::OK;
    for (size_t i = 0; i < n; ++i) {
        // Room for "\r\n" at the least.
        if (g_state.output_size + 2 > sizeof(g_state.output))
            if (base::Error e = flush(); e != base::Error::OK)
                status = e;
        if (onlcr && bytes[i] == '\n')
            g_state.output[g_state.output_size++] = '\r';
        g_state.output[g_state.output_size++] = bytes[i];
    }
    return status;
}

// False when the reader gave up (timed out, or died) before it was answered.
bool answer(proto::PendingReply& reader, const tern::console::ReadResponse& response,
            const uint8_t* data, size_t size) {
    proto::Reply parts;
    parts.data = {data, size};
    return proto::reply_later<tern::console::Read>(reader, base::Error::OK, response, parts)
           == base::Error::OK;
}

void pop_line() {
    g_state.line_head = (g_state.line_head + 1) % kMaxQueuedLines;
    --g_state.line_count;
}

// Answers reader now if its read is due: true when it is done with (answered, or gone),
// false when it waits on, in which case *wake may move earlier to its deadline.
bool serve(Reader& reader, uint64_t time, uint64_t* wake) {
    bool peek = (reader.flags & tern::console::kReadPeek) != 0;
    bool no_wait = (reader.flags & tern::console::kReadNoWait) != 0;
    tern::console::ReadResponse response{};
    if (g_state.termios.canonical()) {
        if (g_state.line_count > 0) {
            QueuedLine& line = g_state.lines[g_state.line_head];
            size_t left = line.size - line.offset;
            response.end_of_file = line.end_of_file ? 1 : 0;
            if (peek) {
                // Every queued line counts (FIONREAD), as Linux counts all complete lines.
                for (uint32_t i = 1; i < g_state.line_count; ++i) {
                    const QueuedLine& next =
                        g_state.lines[(g_state.line_head + i) % kMaxQueuedLines];
                    left += next.size - next.offset;
                }
                response.size = uint32_t(left);
                (void)answer(reader.reply, response, nullptr, 0);
                return true;
            }
            size_t n = base::min<size_t>(left, reader.max);
            response.size = uint32_t(n);
            if (answer(reader.reply, response,
                       reinterpret_cast<const uint8_t*>(line.text) + line.offset, n)) {
                line.offset += uint32_t(n);
                if (line.offset >= line.size)
                    pop_line();
            }
            return true;
        }
    } else if (peek) {
        if (!g_state.raw.empty()) {
            response.size = uint32_t(g_state.raw.size());
            (void)answer(reader.reply, response, nullptr, 0);
            return true;
        }
    } else {
        size_t available = g_state.raw.size();
        ::terminal::RawReadRule rule =
            no_wait ? ::terminal::RawReadRule{true, base::min<size_t>(available, reader.max), 0}
                    : ::terminal::raw_read_rule(g_state.termios, available, reader.max, time,
                                                reader.started, g_state.last_input);
        if (rule.answer) {
            static uint8_t bytes[kMaxReadBytes];
            size_t n = base::min(rule.count, kMaxReadBytes);
            g_state.raw.peek(bytes, n);
            response.size = uint32_t(n);
            if (answer(reader.reply, response, bytes, n))
                g_state.raw.drop(n);
            return true;
        }
        if (rule.wake_at != 0 && (*wake == 0 || rule.wake_at < *wake))
            *wake = rule.wake_at;
    }
    if (no_wait) {
        response.nothing = 1;
        (void)answer(reader.reply, response, nullptr, 0);
        return true;
    }
    return false;
}

// Answers the waiting readers that can be answered, oldest first.
void serve_readers() {
    (void)flush(); // the echo of what a reader gets comes before anything it writes
    uint64_t time = now();
    uint64_t wake = 0;
    size_t kept = 0;
    for (size_t i = 0; i < g_state.reader_count; ++i)
        if (!serve(g_state.readers[i], time, &wake))
            g_state.readers[kept++] = g_state.readers[i];
    g_state.reader_count = kept;
    g_state.wake_at = wake;
}

void queue_line(const QueuedLine& line) {
    if (g_state.line_count == kMaxQueuedLines) {
        // Nobody has read for 16 lines: the oldest goes, and that is logged.
        (void)flush();
        ++g_state.dropped_lines;
        tern::println("console: input line dropped: no reader for {} lines", kMaxQueuedLines);
        pop_line();
    }
    g_state.lines[(g_state.line_head + g_state.line_count) % kMaxQueuedLines] = line;
    ++g_state.line_count;
}

// Forgets the input typed and not read: the lines, the raw bytes and the line being edited.
void discard_input() {
    g_state.line_head = 0;
    g_state.line_count = 0;
    g_state.raw.clear();
    g_state.editor.reset();
}

// Ctrl-C, Ctrl-\, Ctrl-Z: what was typed ahead was meant for the program being
// interrupted, or for the shell after it in the belief that the program would finish;
// neither is true any more (unless NOFLSH says to keep it). The foreground gets the signal
// (SIGINT, SIGQUIT, SIGTSTP).
void interrupt(uint32_t signo) {
    (void)flush();
    if (!(g_state.termios.lflag & ::terminal::kNoflsh)) {
        if (g_state.line_count > 0)
            tern::println("console: Ctrl-C discarded {} {} typed ahead", g_state.line_count,
                          base::StringView(g_state.line_count == 1 ? "line" : "lines"));
        g_state.line_head = 0;
        g_state.line_count = 0;
        g_state.raw.clear();
    }
    for (size_t i = 0; i < g_state.reader_count; ++i)
        (void)proto::reply_later<tern::console::Read>(g_state.readers[i].reply,
                                                      base::Error::INTERRUPTED, {});
    g_state.reader_count = 0;
    g_state.wake_at = 0;
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

uint32_t signal_number(::terminal::InputSignal which) {
    switch (which) {
    case ::terminal::InputSignal::kQuit:
        return kSigQuit;
    case ::terminal::InputSignal::kSuspend:
        return kSigTstp;
    default:
        return kSigInt;
    }
}

// A byte in canonical mode (after input processing): a key of the line editor.
void input_canonical(uint8_t byte) {
    int key = ::terminal::editor_key(g_state.termios, byte);
    if (key < 0)
        return;
    g_state.editor.feed(uint8_t(key), g_state.out);
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
        line.offset = 0;
        line.end_of_file = false;
        queue_line(line);
        serve_readers();
        break;
    }
    case ::terminal::LineEvent::kEndOfFile:
        line.size = 0;
        line.offset = 0;
        line.end_of_file = true;
        queue_line(line);
        serve_readers();
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

// A byte in raw mode (after input processing): for the readers as it is.
void input_raw(uint8_t byte) {
    const ::terminal::Termios& t = g_state.termios;
    bool echo = (t.lflag & ::terminal::kEcho) != 0;
    ::terminal::InputSignal signal = ::terminal::signal_for(t, byte);
    if (signal != ::terminal::InputSignal::kNone) {
        if (echo && (t.lflag & ::terminal::kEchoctl)) {
            uint8_t shown[3];
            size_t n = ::terminal::echo_raw(t, byte, shown);
            (void)output(shown, n, false);
        }
        interrupt(signal_number(signal));
        return;
    }
    if (echo) {
        uint8_t shown[3];
        size_t n = ::terminal::echo_raw(t, byte, shown);
        (void)output(shown, n, false);
    }
    if (!g_state.raw.push(byte) && !g_state.raw_overflow_logged) {
        (void)flush();
        tern::println("console: raw input dropped: {} bytes typed and not read",
                      ::terminal::ByteQueue::kCapacity);
        g_state.raw_overflow_logged = true;
    }
    g_state.last_input = now();
}

void input(uint8_t byte) {
    if (!::terminal::translate_input(g_state.termios, byte))
        return;
    if (g_state.termios.canonical())
        input_canonical(byte);
    else
        input_raw(byte);
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
    if (!g_state.termios.canonical())
        serve_readers();
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

base::Error on_read(State* s, proto::Request& request, const tern::console::ReadRequest& in,
                    tern::console::ReadResponse&, proto::Reply& reply,
                    proto::PendingReply& pending) {
    if (in.flags & ~tern::console::kReadFlags) {
        request.set_refusal_reason("unknown read flags");
        return base::Error::INVALID_ARGUMENT;
    }
    Reader reader{pending, in.flags,
                  in.max == 0 || in.max > kMaxReadBytes ? uint32_t(kMaxReadBytes) : in.max, now()};
    reply.deferred = true;
    uint64_t wake = s->wake_at;
    // Readers are answered in the order they asked: a new one is served at once only when
    // nobody waits before it.
    if (s->reader_count == 0 && serve(reader, reader.started, &wake)) {
        s->wake_at = wake;
        return base::Error::OK;
    }
    s->wake_at = wake;
    // The kernel does not tell a server when a caller gives up, so when every slot is
    // taken the oldest reader is answered INTERRUPTED to make room (it has most likely
    // left already); a reader can never be refused.
    if (s->reader_count == kMaxReaders) {
        Reader oldest = s->readers[0];
        for (size_t i = 1; i < s->reader_count; ++i)
            s->readers[i - 1] = s->readers[i];
        --s->reader_count;
        (void)proto::reply_later<tern::console::Read>(oldest.reply, base::Error::INTERRUPTED, {});
    }
    s->readers[s->reader_count++] = reader;
    if (s->reader_count > 1)
        serve_readers();
    return base::Error::OK;
}

// New settings. Input typed and not read follows the mode: lines (and the line being
// edited) become raw bytes when ICANON goes, raw bytes go through the line editor when it
// comes back, so that nothing typed ahead is lost.
void set_termios(const ::terminal::Termios& next) {
    bool was_canonical = g_state.termios.canonical();
    g_state.termios = next;
    g_state.editor.set_echo(next.echo());
    if (was_canonical && !next.canonical()) {
        while (g_state.line_count > 0) {
            const QueuedLine& line = g_state.lines[g_state.line_head];
            for (uint32_t i = line.offset; i < line.size; ++i)
                (void)g_state.raw.push(uint8_t(line.text[i]));
            pop_line();
        }
        base::StringView partial = g_state.editor.line();
        for (size_t i = 0; i < partial.size(); ++i)
            (void)g_state.raw.push(uint8_t(partial[i]));
        g_state.editor.reset();
        g_state.line_head = 0;
        if (!g_state.raw.empty())
            g_state.last_input = now();
    } else if (!was_canonical && next.canonical() && !g_state.raw.empty()) {
        static uint8_t pending[::terminal::ByteQueue::kCapacity];
        size_t n = g_state.raw.size();
        g_state.raw.peek(pending, n);
        g_state.raw.clear();
        for (size_t i = 0; i < n; ++i)
            input_canonical(pending[i]);
    }
    g_state.raw_overflow_logged = false;
    serve_readers();
}

base::Error on_get_attr(State* s, proto::Request&, const proto::Empty&,
                        tern::console::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    static_assert(sizeof(out.termios) == sizeof(s->termios));
    __builtin_memcpy(&out.termios, &s->termios, sizeof(out.termios));
    out.window = s->window;
    return base::Error::OK;
}

base::Error on_set_attr(State*, proto::Request& request, const tern::console::SetAttrRequest& in,
                        proto::Empty&, proto::Reply&, proto::PendingReply&) {
    if (in.when > tern::console::kSetFlush) {
        request.set_refusal_reason("unknown time to apply the settings");
        return base::Error::INVALID_ARGUMENT;
    }
    (void)flush(); // output is never held: TCSETSW has nothing to wait for
    if (in.when == tern::console::kSetFlush)
        discard_input();
    ::terminal::Termios next;
    __builtin_memcpy(&next, &in.termios, sizeof(next));
    set_termios(next);
    return base::Error::OK;
}

base::Error on_flush(State*, proto::Request& request, const tern::console::FlushRequest& in,
                     proto::Empty&, proto::Reply&, proto::PendingReply&) {
    // Linux's TCIFLUSH, TCOFLUSH, TCIOFLUSH.
    if (in.queue > 2) {
        request.set_refusal_reason("unknown queue");
        return base::Error::INVALID_ARGUMENT;
    }
    if (in.queue != 1)
        discard_input();
    return base::Error::OK;
}

base::Error on_set_window(State* s, proto::Request&, const tern::console::SetWindowRequest& in,
                          proto::Empty&, proto::Reply&, proto::PendingReply&) {
    bool changed = __builtin_memcmp(&in.window, &s->window, sizeof(s->window)) != 0;
    s->window = in.window;
    if (!changed || s->foreground == 0)
        return base::Error::OK;
    auto proc = s->proc.get();
    if (proc.ok()) {
        auto r = proto::call<tern::proc::Signal>(
            proc.value(), {s->foreground, kSigWinch, tern::proc::kSignalForeground});
        if (r.is_error() && r.error() != base::Error::NOT_FOUND)
            tern::println("console: SIGWINCH to the foreground {:#x}: {}", s->foreground,
                          base::error_name(r.error()));
    }
    return base::Error::OK;
}

base::Error on_foreground(State* s, proto::Request& request,
                          const tern::console::ForegroundRequest& in, proto::Empty&, proto::Reply&,
                          proto::PendingReply&) {
    // Ctrl-C ends the foreground and its descendants, so only a process's parent may put
    // it there, and only that parent may take it away again.
    if (in.pid == 0) {
        if (s->foreground != 0 && request.badge() != s->foreground_setter
            && request.badge() != s->foreground_parent) {
            request.set_refusal_reason("the foreground is another task's");
            return base::Error::ACCESS_DENIED;
        }
        s->foreground = 0;
        s->foreground_setter = 0;
        s->foreground_parent = 0;
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
    s->foreground_parent = request.badge();
    return base::Error::OK;
}

base::Error on_foreground_group(State* s, proto::Request& request,
                                const tern::console::ForegroundGroupRequest& in, proto::Empty&,
                                proto::Reply&, proto::PendingReply&) {
    auto proc = s->proc.get();
    if (proc.is_error())
        return proc.error();
    // The caller must be of the group, or of one session with the group's leader (a
    // pipeline's later process makes its group the foreground when its leader, the first,
    // may have ended already).
    auto caller = proto::call<tern::proc::GetPgid>(proc.value(), {0, request.badge()});
    bool member = caller.ok() && in.pgid != 0 && caller.value().pgid == in.pgid;
    auto leader = member ? caller : proto::call<tern::proc::GetPgid>(proc.value(), {in.pgid, 0});
    if (!member
        && (caller.is_error() || leader.is_error() || in.pgid == 0 || leader.value().pgid != in.pgid
            || leader.value().sid != caller.value().sid)) {
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
    server.on<tern::console::GetAttr>(&g_state, on_get_attr);
    server.on<tern::console::SetAttr>(&g_state, on_set_attr);
    server.on<tern::console::Flush>(&g_state, on_flush);
    server.on<tern::console::SetWindow>(&g_state, on_set_window);
    server.on_event(&g_state, on_event);
    if (auto r = register_name("console", g_state.port); r.is_error()) {
        tern::println("console: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    // The server's own loop: it also wakes at the deadlines of raw reads (VTIME).
    server.batch_replies();
    for (;;) {
        uint64_t wait = TERN_TIMEOUT_INFINITE;
        if (g_state.wake_at != 0) {
            uint64_t time = now();
            wait = g_state.wake_at > time ? g_state.wake_at - time : 0;
        }
        base::Error e = server.serve_one(wait);
        if (g_state.wake_at != 0 && now() >= g_state.wake_at)
            serve_readers();
        if (e == base::Error::OK || e == base::Error::TIMED_OUT || e == base::Error::WOULD_BLOCK)
            continue;
        if (e == base::Error::PEER_CLOSED || e == base::Error::BAD_HANDLE
            || e == base::Error::ACCESS_DENIED || e == base::Error::WRONG_TYPE) {
            tern::println("console: its port is unusable ({}); stopping", base::error_name(e));
            return 1;
        }
        tern::println("console: receive failed: {}", base::error_name(e));
        tern_sys_thread_sleep(10000000);
    }
}

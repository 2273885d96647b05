// The console server: line I/O on the node's serial port (COM1) for any number of
// programs (tern/protocols/console.h).
//
// Input arrives as interrupts (IRQ 4, bound to the server's port as a signal); each byte
// goes through the line editor (servers/console/portable/line_editor.h), whose echo goes
// straight back to the terminal. Finished lines go to readers in the order they asked;
// lines typed while nobody reads wait in a small queue. Ctrl-C ends the foreground
// process through proc, interrupts every waiting read and discards the lines typed ahead.
#include <base/string_view.h>
#include <base/utility.h>
#include <servers/console/portable/line_editor.h>
#include <tern/print.h>
#include <tern/protocols/console.h>
#include <tern/protocols/proc.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

constexpr uint16_t kCom1 = 0x3F8;
constexpr uint32_t kIrqLine = 4;
constexpr uint64_t kIrqBit = 1;
constexpr size_t kMaxReaders = 16;
constexpr size_t kMaxQueuedLines = 16;

inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
inline uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

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
    tern_handle_t irq = TERN_INVALID_HANDLE;
    ServiceHandle proc{"proc"};
    uint64_t dropped_lines = 0;
};

State g_state;

void uart_put(uint8_t c) {
    // Transmit holding register empty (LSR bit 5); bounded so a dead UART cannot hang us.
    for (int spins = 0; spins < 100000 && !(inb(kCom1 + 5) & 0x20); ++spins)
        __builtin_ia32_pause();
    outb(kCom1, c);
}

void uart_write(const uint8_t* bytes, size_t n, bool translate_newlines) {
    for (size_t i = 0; i < n; ++i) {
        if (translate_newlines && bytes[i] == '\n')
            uart_put('\r');
        uart_put(bytes[i]);
    }
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

// Ctrl-C: what was typed ahead was meant for the program being interrupted, or for the
// shell after it in the belief that the program would finish; neither is true any more.
void interrupt() {
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
    uint64_t pid = base::exchange(g_state.foreground, uint64_t(0));
    g_state.foreground_setter = 0;
    auto proc = g_state.proc.get();
    if (proc.is_error())
        return;
    auto r = proto::call<tern::proc::Kill>(
        proc.value(), {pid, tern::proc::kInterruptedStatus, tern::proc::kKillDescendants});
    if (r.is_error() && r.error() != base::Error::BAD_STATE && r.error() != base::Error::NOT_FOUND)
        tern::println("console: Ctrl-C could not end {:#x}: {}", pid, base::error_name(r.error()));
}

void input(uint8_t byte) {
    g_state.editor.feed(byte, g_state.out);
    uart_write(g_state.out.echo, g_state.out.echo_length, false);
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
        interrupt();
        break;
    case ::terminal::LineEvent::kLineTooLong:
        // The echo told the user; no reader gets any part of the line.
        break;
    }
}

void on_event(void*, const tern_msg& event, uint32_t) {
    if (event.hdr.label != TERN_LABEL_SIGNAL || !(event.words[0] & kIrqBit))
        return;
    // Line status bit 0: a received byte is waiting. The line is edge-triggered and
    // masked until the ack: a byte that arrives after the last check but before the ack
    // raises the UART's line while masked, and no new edge would ever come. So after the
    // ack, look again, and drain until the UART is empty with the line unmasked.
    for (int round = 0; round < 64; ++round) {
        for (int n = 0; n < 4096 && (inb(kCom1 + 5) & 1); ++n)
            input(inb(kCom1));
        (void)tern_sys_irq_ack(g_state.irq);
        if (!(inb(kCom1 + 5) & 1))
            return;
    }
}

base::Error on_write(State*, proto::Request& request, const proto::Empty&,
                     tern::console::WriteResponse& out, proto::Reply&, proto::PendingReply&) {
    uart_write(request.data().data(), request.data().size(), true);
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

} // namespace

extern "C" int main(uint64_t) {
    tern_handle_t io = startup_handle(TERN_STARTUP_PRIVATE);
    tern_handle_t irqs = startup_handle(TERN_STARTUP_PRIVATE + 1);
    if (io == TERN_INVALID_HANDLE || irqs == TERN_INVALID_HANDLE) {
        tern::println("console: needs the I/O port and IRQ resources (init.conf: +serial)");
        return 2;
    }
    int64_t port = tern_sys_port_create(64);
    if (port < 0)
        return 1;
    if (int64_t r = tern_sys_ioport_enable(io, kCom1, 8); r < 0) {
        tern::println("console: COM1 ports refused: {}", base::error_name(tern::sys_status(r)));
        return 1;
    }
    int64_t irq = tern_sys_irq_create(irqs, kIrqLine);
    if (irq < 0 || tern_sys_irq_bind(irq, port, kIrqBit) < 0) {
        tern::println("console: IRQ {} unavailable: {}", kIrqLine,
                      base::error_name(base::Error(int32_t(irq < 0 ? -irq : 0))));
        return 1;
    }
    g_state.irq = tern_handle_t(irq);
    (void)tern_sys_handle_close(io);
    (void)tern_sys_handle_close(irqs);
    // Interrupt on received data (IER bit 0); OUT2 (MCR bit 3) lets the UART's interrupt
    // reach the interrupt controller. Bytes typed before now are read at the first signal.
    outb(kCom1 + 1, 0x01);
    outb(kCom1 + 4, 0x0B);
    (void)tern_sys_port_signal(port, kIrqBit);

    proto::Server server("console", tern_handle_t(port));
    server.on<tern::console::Write>(&g_state, on_write);
    server.on<tern::console::Read>(&g_state, on_read);
    server.on<tern::console::SetForeground>(&g_state, on_foreground);
    server.on_event(&g_state, on_event);
    if (auto r = register_name("console", tern_handle_t(port)); r.is_error()) {
        tern::println("console: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    server.run();
}

// The UART driver: the node's 16550 serial port (COM1) as a character device
// (<tern/protocols/chardev.h>), registered as `uart`.
//
// It owns the UART's eight I/O ports and its interrupt line (IRQ 4, bound to the driver's
// port as a signal) and nothing else. Received bytes are drained into a buffer at each
// interrupt (driver::Irq::serve: drain, ack, look again) and the attached client, the
// console server, is signalled to Read them; Write sends bytes as they come. What the
// bytes mean (line editing, Ctrl-C, "\n" as "\r\n") is the console's business.
#include <base/utility.h>
#include <driver/io_ports.h>
#include <driver/irq.h>
#include <tern/print.h>
#include <tern/protocols/chardev.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

constexpr uint16_t kCom1 = 0x3F8;
constexpr uint16_t kPortCount = 8;
constexpr uint32_t kIrqLine = 4;
constexpr uint64_t kIrqBit = 1;
constexpr size_t kInputSize = 4096;
// The transmitter is polled this many times before the driver sleeps between polls: a
// host that drains the line slowly (QEMU's chardev on a loaded machine) keeps the
// holding register full for milliseconds, and a byte written over it is lost.
constexpr int kTransmitSpins = 2000;
constexpr uint64_t kTransmitNapNs = 1'000'000;
// A dead or absent UART never says it is ready: after this long without room a byte is
// dropped (counted, logged once) rather than hang the driver and, through it, the console.
constexpr uint64_t kTransmitGiveUpNs = 2'000'000'000;

// 16550 registers, by offset from the base port.
constexpr uint16_t kData = 0;            // receive buffer / transmit holding
constexpr uint16_t kInterruptEnable = 1; // bit 0: received data available
constexpr uint16_t kModemControl = 4;    // bit 3: OUT2, gates the interrupt to the PIC/IOAPIC
constexpr uint16_t kLineStatus = 5;      // bit 0: data ready; bit 5: transmit holding empty
constexpr uint8_t kDataReady = 0x01;
constexpr uint8_t kTransmitEmpty = 0x20;

struct Uart {
    driver::IoPorts io;
    uint8_t input[kInputSize];
    size_t head = 0, count = 0;
    uint64_t dropped = 0; // since the client's last Read
    bool overflow_logged = false;
    uint64_t transmit_dropped = 0; // output bytes the transmitter never took
    bool transmit_stuck = false;

    bool pending() const { return io.in8(kLineStatus) & kDataReady; }

    // What the receiver holds now, bounded so a line that never stops cannot keep the
    // driver here; Irq::serve comes back for the rest.
    void drain() {
        for (int n = 0; n < 4096 && pending(); ++n) {
            uint8_t byte = io.in8(kData);
            if (count == kInputSize) {
                ++dropped;
                continue;
            }
            input[(head + count) % kInputSize] = byte;
            ++count;
        }
    }

    bool transmit_empty() const { return io.in8(kLineStatus) & kTransmitEmpty; }

    void put(uint8_t byte) {
        bool ready = transmit_empty();
        for (int spins = 0; !ready && spins < kTransmitSpins; ++spins) {
            __builtin_ia32_pause();
            ready = transmit_empty();
        }
        for (uint64_t waited = 0; !ready && !transmit_stuck && waited < kTransmitGiveUpNs;
             waited += kTransmitNapNs) {
            drain(); // input keeps arriving meanwhile; the FIFO holds only 16 bytes
            (void)tern_sys_thread_sleep(kTransmitNapNs);
            ready = transmit_empty();
        }
        if (!ready) {
            // Once stuck, later bytes do not wait again until the line moves.
            ++transmit_dropped;
            if (!transmit_stuck)
                tern::println("uart: the transmitter has not been ready for {} ms; output is "
                              "dropped until it is",
                              kTransmitGiveUpNs / 1'000'000);
            transmit_stuck = true;
            return;
        }
        transmit_stuck = false;
        io.out8(kData, byte);
    }
};

struct State {
    Uart uart;
    driver::Irq irq;
    tern_handle_t port = TERN_INVALID_HANDLE;
    // The attached client: its port (SIGNAL), the bits to raise, its task id, and the
    // cookie of the watch on its port (a notice with an older cookie is stale).
    tern_handle_t client = TERN_INVALID_HANDLE;
    uint64_t client_bits = 0;
    uint64_t client_badge = 0;
    uint64_t client_cookie = 0;
};

State g_state;

void detach(State* s) {
    if (s->client != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(s->client);
    s->client = TERN_INVALID_HANDLE;
    s->client_bits = 0;
    s->client_badge = 0;
}

// Tells the client input waits. A client whose port is gone is forgotten; its watch
// notice would say the same a moment later.
void notify(State* s) {
    if (s->uart.count == 0 && s->uart.dropped == 0)
        return;
    if (s->uart.dropped > 0 && !s->uart.overflow_logged) {
        tern::println("uart: input buffer full ({} bytes); bytes are dropped until it is read",
                      kInputSize);
        s->uart.overflow_logged = true;
    }
    if (s->client == TERN_INVALID_HANDLE)
        return;
    if (sys_status(tern_sys_port_signal(s->client, s->client_bits)) == base::Error::PEER_CLOSED)
        detach(s);
}

void on_event(void* context, const tern_msg& event, uint32_t) {
    auto* s = static_cast<State*>(context);
    if (event.hdr.label == TERN_LABEL_OBJECT_GONE) {
        if (event.words[0] == s->client_cookie && s->client != TERN_INVALID_HANDLE)
            detach(s);
        return;
    }
    if (!s->irq.signalled(event))
        return;
    if (auto r = s->irq.serve(s->uart); r.is_error())
        tern::println("uart: serving IRQ {} failed: {}", kIrqLine, base::error_name(r.error()));
    notify(s);
}

base::Error on_attach(State* s, proto::Request& request, const chardev::AttachRequest& in,
                      proto::Empty&, proto::Reply&, proto::PendingReply&) {
    if (in.signal_bits == 0 || request.handle_count() != 1) {
        request.set_refusal_reason("needs a port and signal bits");
        return base::Error::INVALID_ARGUMENT;
    }
    if (s->client != TERN_INVALID_HANDLE && s->client_badge != request.badge())
        return base::Error::BUSY;
    tern_handle_t port = request.take_handle(0);
    // The watch is what frees the device for the next client when this one ends.
    uint64_t cookie = s->client_cookie + 1;
    if (auto r = sys_result<void>(tern_sys_object_watch(port, s->port, cookie)); r.is_error()) {
        (void)tern_sys_handle_close(port);
        if (r.error() == base::Error::WRONG_TYPE)
            request.set_refusal_reason("the handle is not a port");
        return r.error();
    }
    detach(s);
    s->client = port;
    s->client_bits = in.signal_bits;
    s->client_badge = request.badge();
    s->client_cookie = cookie;
    notify(s);
    return base::Error::OK;
}

base::Error on_read(State* s, proto::Request& request, const chardev::ReadRequest& in,
                    chardev::ReadResponse& out, proto::Reply& reply, proto::PendingReply&) {
    if (s->client == TERN_INVALID_HANDLE || request.badge() != s->client_badge) {
        request.set_refusal_reason("not the attached client");
        return base::Error::ACCESS_DENIED;
    }
    if (in.flags != 0)
        return base::Error::INVALID_ARGUMENT;
    // The reply data must be one span: take the bytes up to the end of the ring now, the
    // rest at the client's next Read (pending says so).
    static uint8_t bytes[chardev::kMaxRead];
    Uart& u = s->uart;
    size_t n = base::min<size_t>(u.count, chardev::kMaxRead);
    for (size_t i = 0; i < n; ++i)
        bytes[i] = u.input[(u.head + i) % kInputSize];
    u.head = (u.head + n) % kInputSize;
    u.count -= n;
    out.size = uint32_t(n);
    out.pending = uint32_t(u.count);
    out.dropped = base::exchange(u.dropped, uint64_t(0));
    if (out.dropped > 0)
        tern::println("uart: {} input bytes were dropped (buffer full)", out.dropped);
    u.overflow_logged = false;
    reply.data = {bytes, n};
    return base::Error::OK;
}

base::Error on_write(State* s, proto::Request& request, const proto::Empty&,
                     chardev::WriteResponse& out, proto::Reply&, proto::PendingReply&) {
    if (s->client == TERN_INVALID_HANDLE || request.badge() != s->client_badge) {
        request.set_refusal_reason("not the attached client");
        return base::Error::ACCESS_DENIED;
    }
    for (uint8_t byte : request.data())
        s->uart.put(byte);
    out.written = request.data().size();
    return base::Error::OK;
}

} // namespace

extern "C" int main(uint64_t) {
    tern_handle_t io = startup_handle(TERN_STARTUP_PRIVATE);
    tern_handle_t irqs = startup_handle(TERN_STARTUP_PRIVATE + 1);
    if (io == TERN_INVALID_HANDLE || irqs == TERN_INVALID_HANDLE) {
        tern::println("uart: needs the I/O port and IRQ resources (init.conf: +serial)");
        return 2;
    }
    auto port = sys_result<tern_handle_t>(tern_sys_port_create(64));
    if (port.is_error()) {
        tern::println("uart: no port: {}", base::error_name(port.error()));
        return 1;
    }
    g_state.port = port.value();
    auto ports = driver::IoPorts::enable(io, kCom1, kPortCount);
    if (ports.is_error()) {
        tern::println("uart: COM1 ports refused: {}", base::error_name(ports.error()));
        return 1;
    }
    g_state.uart.io = ports.value();
    auto irq = driver::Irq::bind(irqs, kIrqLine, g_state.port, kIrqBit);
    if (irq.is_error()) {
        tern::println("uart: IRQ {} unavailable: {}", kIrqLine, base::error_name(irq.error()));
        return 1;
    }
    g_state.irq = irq.value();
    (void)tern_sys_handle_close(io);
    (void)tern_sys_handle_close(irqs);
    // Interrupt on received data; OUT2 lets the UART's interrupt reach the interrupt
    // controller. Bytes typed before now are read at the first signal, asked for here.
    g_state.uart.io.out8(kInterruptEnable, 0x01);
    g_state.uart.io.out8(kModemControl, 0x0B);
    (void)g_state.irq.poke();

    proto::Server server("uart", g_state.port);
    server.on<chardev::Attach>(&g_state, on_attach);
    server.on<chardev::Read>(&g_state, on_read);
    server.on<chardev::Write>(&g_state, on_write);
    server.on_event(&g_state, on_event);
    if (auto r = register_name("uart", g_state.port); r.is_error()) {
        tern::println("uart: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    server.run();
}

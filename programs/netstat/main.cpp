// netstat: every socket of the node: protocol, state, local and remote address, the
// owning task and the bytes queued each way.
#include <base/format.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/net.h>
#include <tern/services.h>

using namespace tern;

namespace {

const char* state_name(net::SocketState s) {
    switch (s) {
    case net::SocketState::kClosed:
        return "CLOSED";
    case net::SocketState::kBound:
        return "BOUND";
    case net::SocketState::kListening:
        return "LISTEN";
    case net::SocketState::kConnecting:
        return "SYN_SENT";
    case net::SocketState::kConnected:
        return "ESTABLISHED";
    case net::SocketState::kClosing:
        return "CLOSING";
    case net::SocketState::kError:
        return "ERROR";
    }
    return "?";
}

void print_address(base::FormatSink& sink, net::Address a) {
    char text[24];
    base::BufferSink s(text, sizeof(text));
    base::format_to(s, "{}.{}.{}.{}:{}", a.ip >> 24, (a.ip >> 16) & 0xFF, (a.ip >> 8) & 0xFF,
                    a.ip & 0xFF, a.port);
    base::format_to(sink, "{:<22}", s.view());
}

} // namespace

extern "C" int main(uint64_t) {
    auto port = lookup("net", true, 5000000000ull);
    if (port.is_error()) {
        println("netstat: no network server");
        return 1;
    }
    static net::SocketInfo infos[net::kMaxSockets];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(infos), sizeof(infos)};
    parts.out_data_size = &size;
    auto r = proto::call<net::Sockets>(port.value(), {}, parts, 5000000000ull);
    if (r.is_error()) {
        println("netstat: {}", base::error_name(r.error()));
        return 1;
    }
    println("PROTO SOCKET     STATE       LOCAL                 REMOTE                TASK  RECV-Q "
            "SEND-Q");
    for (uint32_t i = 0; i < r.value().count; ++i) {
        const net::SocketInfo& s = infos[i];
        DebugSink out;
        base::format_to(out, "{:<5} {:#010x} {:<11} ",
                        base::StringView(s.type == net::SocketType::kTcp ? "tcp" : "udp"), s.socket,
                        base::StringView(state_name(s.state)));
        print_address(out, s.local);
        print_address(out, s.remote);
        base::format_to(out, "{:<5} {:<6} {}\n", s.owner, s.rx_queued, s.tx_queued);
    }
    println("netstat: {} sockets", r.value().count);
    return 0;
}

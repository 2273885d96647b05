// ifconfig: the node's network interfaces as the network server sees them (address,
// MAC, MTU, state) with their counters at the stack and, for a NIC, at the device.
#include <base/format.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/net.h>
#include <tern/services.h>

using namespace tern;

namespace {

void print_ip(base::FormatSink& sink, uint32_t ip) {
    base::format_to(sink, "{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xFF, (ip >> 8) & 0xFF, ip & 0xFF);
}

int prefix_length(uint32_t mask) {
    int n = 0;
    while (mask & 0x80000000u) {
        ++n;
        mask <<= 1;
    }
    return n;
}

} // namespace

extern "C" int main(uint64_t) {
    auto port = lookup("net", true, 5000000000ull);
    if (port.is_error()) {
        println("ifconfig: no network server");
        return 1;
    }
    static net::InterfaceInfo infos[net::kMaxInterfaces];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(infos), sizeof(infos)};
    parts.out_data_size = &size;
    auto r = proto::call<net::Interfaces>(port.value(), {}, parts, 5000000000ull);
    if (r.is_error()) {
        println("ifconfig: {}", base::error_name(r.error()));
        return 1;
    }
    for (uint32_t i = 0; i < r.value().count; ++i) {
        const net::InterfaceInfo& f = infos[i];
        DebugSink out;
        base::format_to(out, "{}: ", base::StringView(f.name));
        base::format_to(out, "{}{}{}",
                        base::StringView(f.flags & net::kInterfaceUp ? "up " : "down "),
                        base::StringView(f.flags & net::kInterfaceLinkUp ? "link " : "no-link "),
                        base::StringView(f.flags & net::kInterfaceLoopback ? "loopback " : ""));
        // lwIP's loopback interface has no MTU: nothing it carries is ever fragmented.
        if (f.mtu == 0)
            base::format_to(out, "mtu none\n");
        else
            base::format_to(out, "mtu {}\n", f.mtu);
        base::format_to(out, "    inet ");
        print_ip(out, f.ip);
        base::format_to(out, "/{} gateway ", prefix_length(f.netmask));
        print_ip(out, f.gateway);
        if (!(f.flags & net::kInterfaceLoopback))
            base::format_to(out, " ether {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", f.mac[0],
                            f.mac[1], f.mac[2], f.mac[3], f.mac[4], f.mac[5]);
        base::format_to(out, "\n    rx packets {} bytes {} errors {} dropped {}\n", f.rx_packets,
                        f.rx_bytes, f.rx_errors, f.rx_drops);
        base::format_to(out, "    tx packets {} bytes {} errors {} dropped {}\n", f.tx_packets,
                        f.tx_bytes, f.tx_errors, f.tx_drops);
        if (!(f.flags & net::kInterfaceLoopback))
            base::format_to(out, "    device rx frames {} tx frames {} errors {} dropped {}\n",
                            f.device_rx_frames, f.device_tx_frames, f.device_errors,
                            f.device_drops);
        if (!(f.flags & net::kInterfaceLoopback))
            base::format_to(out, "    driver syncs {} doorbells {}\n", f.syncs, f.doorbells);
    }
    return 0;
}

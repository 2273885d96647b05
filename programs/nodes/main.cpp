// nodes: the cluster's members as this node's bus sees them: state, incarnation (the
// number of the node's current life), when each was last heard, its load and address.
#include <base/format.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/bus.h>
#include <tern/services.h>

using namespace tern;

namespace {

const char* state_name(uint8_t state) {
    switch (state) {
    case bus::kNodeUp:
        return "up";
    case bus::kNodeDown:
        return "down";
    default:
        return "unknown";
    }
}

} // namespace

extern "C" int main(uint64_t) {
    auto port = lookup("bus", true, 5000000000ull);
    if (port.is_error()) {
        println("nodes: no bus: {}", base::error_name(port.error()));
        return 1;
    }
    static bus::NodeInfo infos[bus::kMaxNodes];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(infos), sizeof(infos)};
    parts.out_data_size = &size;
    auto r = proto::call<bus::Nodes>(port.value(), {}, parts, 5000000000ull);
    if (r.is_error()) {
        println("nodes: {}", r.error() == base::Error::NOT_FOUND
                                 ? "the bus is off on this node (no ip= address)"
                                 : base::error_name(r.error()));
        return 1;
    }
    const bus::NodesResponse& n = r.value();
    if (n.count > bus::kMaxNodes || size != n.count * sizeof(bus::NodeInfo)) {
        println("nodes: the bus's answer is malformed");
        return 1;
    }
    DebugSink out;
    base::format_to(out, "NODE  STATE    INCARNATION  HEARD      LOAD  ADDRESS\n");
    base::format_to(out, "{:<5} {:<8} {:<12} {:<10} {:<5} (this node; down after {} ms)\n", n.self,
                    "self", n.incarnation, "-", "-", n.down_ms);
    for (uint32_t i = 0; i < n.count; ++i) {
        const bus::NodeInfo& f = infos[i];
        char heard[24];
        base::BufferSink heard_sink(heard, sizeof(heard));
        if (f.heard_ago_ns == bus::kNeverHeard)
            base::format_to(heard_sink, "never");
        else
            base::format_to(heard_sink, "{}ms", f.heard_ago_ns / 1000000);
        base::format_to(out, "{:<5} {:<8} {:<12} {:<10} {:<5} {}.{}.{}.{}\n", f.node,
                        state_name(f.state), f.incarnation, heard_sink.view(), f.load, f.ip >> 24,
                        (f.ip >> 16) & 0xFF, (f.ip >> 8) & 0xFF, f.ip & 0xFF);
    }
    return 0;
}

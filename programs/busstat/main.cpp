// busstat: the bus transport's counters on this node, one `name value` per line (frames
// each way, retransmissions, and every kind of frame refused: malformed, bad MAC, from an
// earlier life, ...). docs/bus.md says what each counts.
#include <base/format.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/bus.h>
#include <tern/services.h>

using namespace tern;

extern "C" int main(uint64_t) {
    auto port = lookup("bus", true, 5000000000ull);
    if (port.is_error()) {
        println("busstat: no bus: {}", base::error_name(port.error()));
        return 1;
    }
    static bus::StatsInfo s;
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(&s), sizeof(s)};
    parts.out_data_size = &size;
    auto r = proto::call<bus::Stats>(port.value(), {}, parts, 5000000000ull);
    if (r.is_error()) {
        println("busstat: {}", r.error() == base::Error::NOT_FOUND
                                   ? "the bus is off on this node (no ip= address)"
                                   : base::error_name(r.error()));
        return 1;
    }
    if (size != sizeof(s) || r.value().size != sizeof(s)) {
        println("busstat: the bus's answer is malformed");
        return 1;
    }
    const struct {
        const char* name;
        uint64_t value;
    } rows[] = {
        {"frames_sent", s.frames_sent},
        {"frames_received", s.frames_received},
        {"retransmits", s.retransmits},
        {"duplicates", s.duplicates},
        {"out_of_window", s.out_of_window},
        {"malformed", s.malformed},
        {"bad_tag", s.bad_tag},
        {"stale", s.stale},
        {"misdirected", s.misdirected},
        {"bad_fragments", s.bad_fragments},
        {"delivered", s.delivered},
        {"sent_messages", s.sent_messages},
        {"failed_messages", s.failed_messages},
        {"acked_messages", s.acked_messages},
        {"unroutable", s.unroutable},
        {"send_errors", s.send_errors},
        {"bad_messages", s.bad_messages},
        {"unknown_senders", s.unknown_senders},
        {"ports_moved_out", s.ports_moved_out},
        {"ports_moved_in", s.ports_moved_in},
        {"location_hints", s.location_hints},
        {"redirects", s.redirects},
        {"via_home", s.via_home},
        {"signals_forwarded", s.signals_forwarded},
        {"unknown_targets", s.unknown_targets},
    };
    DebugSink out;
    for (const auto& row : rows)
        base::format_to(out, "{} {}\n", row.name, row.value);
    return 0;
}

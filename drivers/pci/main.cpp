// The PCI bus server, registered as `pci`: it owns configuration space and tells the
// system what is on the bus (<tern/protocols/pci.h>, List; lspci prints it).
//
// Configuration space is reached through the mechanism-1 ports 0xCF8/0xCFC, which init
// hands it (init.conf: +pci); enumeration is portable code (portable/enumerate.cpp).
// Handing a function to its driver (Claim and the device port) is not served yet: those
// operations answer NOT_SUPPORTED with a reason, and the log says so at start.
#include <base/utility.h>
#include <driver/io_ports.h>
#include <drivers/pci/portable/enumerate.h>
#include <tern/print.h>
#include <tern/protocols/pci.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

constexpr uint16_t kConfigAddress = 0xCF8;

class ConfigPorts final : public pcibus::ConfigSpace {
public:
    explicit ConfigPorts(driver::IoPorts io) : m_io(io) {}
    uint32_t read32(uint8_t bus, uint8_t device, uint8_t function, uint16_t offset) override {
        m_io.out32(0, address(bus, device, function, offset));
        return m_io.in32(4);
    }
    void write32(uint8_t bus, uint8_t device, uint8_t function, uint16_t offset,
                 uint32_t value) override {
        m_io.out32(0, address(bus, device, function, offset));
        m_io.out32(4, value);
    }

private:
    static uint32_t address(uint8_t bus, uint8_t device, uint8_t function, uint16_t offset) {
        return 0x80000000u | (uint32_t(bus) << 16) | (uint32_t(device & 31) << 11)
               | (uint32_t(function & 7) << 8) | (offset & 0xFC);
    }
    driver::IoPorts m_io;
};

struct State {
    pci::DeviceInfo devices[pci::kMaxDevices];
    uint32_t count = 0;
};
State g_state;

base::Error on_list(State* s, proto::Request&, const proto::Empty&, pci::ListResponse& out,
                    proto::Reply& reply, proto::PendingReply&) {
    out.count = s->count;
    out.method = 1;
    reply.data = {reinterpret_cast<const uint8_t*>(s->devices), s->count * sizeof(pci::DeviceInfo)};
    return base::Error::OK;
}

base::Error on_claim(State*, proto::Request& request, const pci::ClaimRequest&, proto::Empty&,
                     proto::Reply&, proto::PendingReply&) {
    request.set_refusal_reason("device ports are not served yet");
    return base::Error::NOT_SUPPORTED;
}

base::Error on_trust(State*, proto::Request& request, const proto::Empty&, proto::Empty&,
                     proto::Reply&, proto::PendingReply&) {
    request.set_refusal_reason("device ports are not served yet");
    return base::Error::NOT_SUPPORTED;
}

} // namespace

extern "C" int main(uint64_t) {
    tern_handle_t io = startup_handle(TERN_STARTUP_PRIVATE);
    if (io == TERN_INVALID_HANDLE) {
        tern::println("pci: needs the I/O port resource (init.conf: +pci)");
        return 2;
    }
    auto ports = driver::IoPorts::enable(io, kConfigAddress, 8);
    if (ports.is_error()) {
        tern::println("pci: configuration ports refused: {}", base::error_name(ports.error()));
        return 1;
    }
    (void)tern_sys_handle_close(io);
    ConfigPorts config(ports.value());
    pcibus::EnumerationStats stats;
    g_state.count = uint32_t(pcibus::enumerate(config, g_state.devices, pci::kMaxDevices, stats));
    tern::println("pci: {} functions on {} buses (configuration ports 0xcf8)", stats.functions,
                  stats.buses);
    if (stats.bad_capabilities || stats.bad_bars || stats.truncated)
        tern::println("pci: {} bad capability lists, {} BARs not usable, {} functions past the "
                      "table",
                      stats.bad_capabilities, stats.bad_bars, stats.truncated);
    tern::println("pci: handing functions to drivers (Claim) is not served yet");

    auto port = sys_result<tern_handle_t>(tern_sys_port_create(64));
    if (port.is_error()) {
        tern::println("pci: no port: {}", base::error_name(port.error()));
        return 1;
    }
    proto::Server server("pci", port.value());
    server.on<pci::List>(&g_state, on_list);
    server.on<pci::Claim>(&g_state, on_claim);
    server.on<pci::Trust>(&g_state, on_trust);
    if (auto r = register_name("pci", port.value()); r.is_error()) {
        tern::println("pci: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    server.run();
    return 0;
}

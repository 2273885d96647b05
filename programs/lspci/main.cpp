// lspci: the functions on the PCI buses as the bus server found them, one per line:
//   bus:dev.fn vendor:device class (subclass/prog-if) irq, then one line per BAR.
#include <base/format.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/pci.h>
#include <tern/services.h>

using namespace tern;

namespace {

// "Ethernet controller", "host bridge" and the like.
const char* class_name(uint8_t class_code, uint8_t subclass) {
    switch (class_code) {
    case 0x01:
        return subclass == 0x01   ? "IDE controller"
               : subclass == 0x06 ? "SATA controller"
                                  : "storage controller";
    case 0x02:
        return subclass == 0x00 ? "Ethernet controller" : "network controller";
    case 0x03:
        return "display controller";
    case 0x06:
        switch (subclass) {
        case 0x00:
            return "host bridge";
        case 0x01:
            return "ISA bridge";
        case 0x04:
            return "PCI bridge";
        default:
            return "bridge";
        }
    case 0x0C:
        return subclass == 0x05   ? "SMBus"
               : subclass == 0x03 ? "USB controller"
                                  : "serial bus controller";
    default:
        return "device";
    }
}

} // namespace

extern "C" int main(uint64_t) {
    auto port = lookup("pci", true, 5000000000ull);
    if (port.is_error()) {
        println("lspci: no PCI bus server");
        return 1;
    }
    static pci::DeviceInfo devices[pci::kMaxDevices];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(devices), sizeof(devices)};
    parts.out_data_size = &size;
    auto r = proto::call<pci::List>(port.value(), {}, parts, 5000000000ull);
    if (r.is_error()) {
        println("lspci: {}", base::error_name(r.error()));
        return 1;
    }
    uint32_t count = r.value().count;
    if (size != count * sizeof(pci::DeviceInfo)) {
        println("lspci: the bus server sent {} bytes for {} functions", size, count);
        return 1;
    }
    for (uint32_t i = 0; i < count; ++i) {
        const pci::DeviceInfo& d = devices[i];
        char irq[24] = "-";
        if (d.interrupt_pin)
            base::format(irq, sizeof(irq), "INT{} line {}", char('A' + d.interrupt_pin - 1),
                         d.interrupt_line);
        println("{:02x}:{:02x}.{} {:04x}:{:04x} {} [{:02x}{:02x}{:02x}] rev {:02x} irq {}{}{}",
                d.address.bus, d.address.device, d.address.function, d.vendor_id, d.device_id,
                class_name(d.class_code, d.subclass), d.class_code, d.subclass, d.prog_if,
                d.revision, irq, d.msi_offset ? " msi" : "", d.msix_offset ? " msix" : "");
        for (uint32_t b = 0; b < pci::kBarCount; ++b) {
            const pci::Bar& bar = d.bars[b];
            if (bar.kind == pci::BarKind::kNone)
                continue;
            println("    bar {} {} {:#x} size {:#x}{}", b,
                    bar.kind == pci::BarKind::kIo         ? "io "
                    : bar.kind == pci::BarKind::kMemory64 ? "m64"
                                                          : "m32",
                    bar.base, bar.size, bar.prefetchable ? " prefetchable" : "");
        }
    }
    return 0;
}

// PCI enumeration (enumerate.h).
#include "enumerate.h"

namespace pcibus {

namespace {

using tern::pci::Bar;
using tern::pci::BarKind;
using tern::pci::DeviceInfo;

constexpr uint16_t kVendorDevice = 0x00;
constexpr uint16_t kCommandStatus = 0x04;
constexpr uint16_t kClassRevision = 0x08;
constexpr uint16_t kHeaderType = 0x0C; // byte 2 of the dword
constexpr uint16_t kBar0 = 0x10;
constexpr uint16_t kSubsystem = 0x2C;
constexpr uint16_t kCapabilities = 0x34;
constexpr uint16_t kInterrupt = 0x3C;
constexpr uint16_t kBridgeBuses = 0x18;
constexpr uint32_t kStatusCapabilities = 1u << 20;
constexpr uint16_t kDecodeBits = 0x3; // I/O and memory space enable
constexpr uint8_t kCapMsi = 0x05;
constexpr uint8_t kCapMsix = 0x11;

void read_bars(ConfigSpace& c, uint8_t b, uint8_t d, uint8_t f, DeviceInfo& info, int count,
               EnumerationStats& stats) {
    uint32_t command = c.read32(b, d, f, kCommandStatus);
    // Decoding off while the BARs hold all-ones, so the device answers no stray cycles.
    c.write32(b, d, f, kCommandStatus, command & ~uint32_t(kDecodeBits) & 0xFFFF);
    for (int i = 0; i < count; ++i) {
        uint16_t reg = uint16_t(kBar0 + 4 * i);
        uint32_t original = c.read32(b, d, f, reg);
        c.write32(b, d, f, reg, 0xFFFFFFFF);
        uint32_t probe = c.read32(b, d, f, reg);
        c.write32(b, d, f, reg, original);
        Bar& bar = info.bars[i];
        if (probe == 0 || (probe == 0xFFFFFFFF && original == 0xFFFFFFFF))
            continue;
        if (original & 1) {
            uint32_t mask = probe & 0xFFFFFFFC;
            bar.kind = BarKind::kIo;
            bar.base = original & 0xFFFFFFFC;
            bar.size = (~(mask | 0xFFFF0000u) + 1) & 0xFFFF;
            continue;
        }
        uint32_t type = (original >> 1) & 3;
        uint32_t mask = probe & 0xFFFFFFF0;
        bar.prefetchable = (original >> 3) & 1;
        bar.base = original & 0xFFFFFFF0;
        bar.size = ~mask + 1;
        bar.kind = BarKind::kMemory32;
        if (type == 2) {
            if (i + 1 >= count) {
                ++stats.bad_bars; // a 64-bit BAR in the last slot has no upper half
                bar = Bar{};
                continue;
            }
            uint16_t high_reg = uint16_t(reg + 4);
            uint32_t high_original = c.read32(b, d, f, high_reg);
            c.write32(b, d, f, high_reg, 0xFFFFFFFF);
            uint32_t high_probe = c.read32(b, d, f, high_reg);
            c.write32(b, d, f, high_reg, high_original);
            bar.kind = BarKind::kMemory64;
            bar.base |= uint64_t(high_original) << 32;
            if (high_probe != 0xFFFFFFFF) {
                ++stats.bad_bars; // larger than 4 GiB: not handed out
                bar = Bar{};
            }
            ++i; // the upper half is not a BAR of its own
        } else if (type != 0) {
            ++stats.bad_bars; // reserved type
            bar = Bar{};
        }
        if (mask == 0)
            bar = Bar{};
    }
    c.write32(b, d, f, kCommandStatus, command & 0xFFFF);
}

void read_capabilities(ConfigSpace& c, uint8_t b, uint8_t d, uint8_t f, DeviceInfo& info,
                       EnumerationStats& stats) {
    if (!(c.read32(b, d, f, kCommandStatus) & kStatusCapabilities))
        return;
    uint8_t at = uint8_t(c.read32(b, d, f, kCapabilities) & 0xFC);
    // At most 48 capabilities fit between 0x40 and 0x100: more means a loop.
    for (int n = 0; at != 0; ++n) {
        if (n == 48 || at < 0x40) {
            ++stats.bad_capabilities;
            return;
        }
        uint32_t header = c.read32(b, d, f, at);
        uint8_t id = uint8_t(header & 0xFF);
        if (id == kCapMsi)
            info.msi_offset = at;
        if (id == kCapMsix) {
            info.msix_offset = at;
            info.msix_entries = uint16_t(((header >> 16) & 0x7FF) + 1);
        }
        at = uint8_t((header >> 8) & 0xFC);
    }
}

struct Walker {
    ConfigSpace& config;
    DeviceInfo* out;
    size_t max;
    size_t count = 0;
    EnumerationStats& stats;
    bool seen[256] = {};

    void scan_bus(uint8_t bus, int depth) {
        if (seen[bus] || depth > 32)
            return;
        seen[bus] = true;
        ++stats.buses;
        for (uint8_t d = 0; d < 32; ++d) {
            uint32_t id0 = config.read32(bus, d, 0, kVendorDevice);
            if ((id0 & 0xFFFF) == 0xFFFF)
                continue;
            bool multi = (config.read32(bus, d, 0, kHeaderType) >> 16) & 0x80;
            for (uint8_t f = 0; f < (multi ? 8 : 1); ++f)
                scan_function(bus, d, f, depth);
        }
    }

    void scan_function(uint8_t bus, uint8_t d, uint8_t f, int depth) {
        uint32_t id = config.read32(bus, d, f, kVendorDevice);
        if ((id & 0xFFFF) == 0xFFFF)
            return;
        ++stats.functions;
        uint8_t header_type = uint8_t((config.read32(bus, d, f, kHeaderType) >> 16) & 0x7F);
        uint8_t secondary = 0;
        if (header_type == 1)
            secondary = uint8_t((config.read32(bus, d, f, kBridgeBuses) >> 8) & 0xFF);
        if (count < max) {
            DeviceInfo& info = out[count++];
            info = DeviceInfo{};
            info.address = {bus, d, f, 0};
            info.vendor_id = uint16_t(id & 0xFFFF);
            info.device_id = uint16_t(id >> 16);
            uint32_t cls = config.read32(bus, d, f, kClassRevision);
            info.revision = uint8_t(cls & 0xFF);
            info.prog_if = uint8_t((cls >> 8) & 0xFF);
            info.subclass = uint8_t((cls >> 16) & 0xFF);
            info.class_code = uint8_t(cls >> 24);
            info.header_type = header_type;
            uint32_t irq = config.read32(bus, d, f, kInterrupt);
            info.interrupt_line = uint8_t(irq & 0xFF);
            info.interrupt_pin = uint8_t((irq >> 8) & 0xFF);
            // Which IOAPIC input INTx reaches depends on the chipset's routing (on q35,
            // PIRQ A-H on GSIs 16-23; see docs/kernel.md): the server works it out when it
            // hands interrupts to drivers. Until then it is unknown.
            info.gsi = ~0u;
            if (header_type == 0) {
                uint32_t sub = config.read32(bus, d, f, kSubsystem);
                info.subsystem_vendor_id = uint16_t(sub & 0xFFFF);
                info.subsystem_id = uint16_t(sub >> 16);
                read_bars(config, bus, d, f, info, 6, stats);
            } else if (header_type == 1) {
                read_bars(config, bus, d, f, info, 2, stats);
            }
            read_capabilities(config, bus, d, f, info, stats);
        } else {
            ++stats.truncated;
        }
        if (header_type == 1 && secondary != 0)
            scan_bus(secondary, depth + 1);
    }
};

} // namespace

size_t enumerate(ConfigSpace& config, tern::pci::DeviceInfo* out, size_t max,
                 EnumerationStats& stats) {
    stats = EnumerationStats{};
    Walker w{config, out, max, 0, stats};
    w.scan_bus(0, 0);
    return w.count;
}

} // namespace pcibus

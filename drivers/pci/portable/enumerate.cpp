// Enumeration and header parsing (see enumerate.h).
#include "enumerate.h"

namespace pci {
namespace {

constexpr uint32_t kBuses = 256;
constexpr uint32_t kDevicesPerBus = 32;
constexpr uint32_t kFunctionsPerDevice = 8;

uint8_t read8(ConfigSpace& c, Address a, uint16_t offset) { return uint8_t(c.read(a, offset, 1)); }
uint16_t read16(ConfigSpace& c, Address a, uint16_t offset) {
    return uint16_t(c.read(a, offset, 2));
}
uint32_t read32(ConfigSpace& c, Address a, uint16_t offset) { return c.read(a, offset, 4); }

// Writes all ones to a BAR register and reads back which bits stick, restoring the
// register afterwards.
uint32_t probe(ConfigSpace& c, Address a, uint16_t offset, uint32_t original) {
    c.write(a, offset, 4, 0xFFFFFFFFu);
    uint32_t value = read32(c, a, offset);
    c.write(a, offset, 4, original);
    return value;
}

bool power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Parses BAR `index`; returns how many BAR slots it took (2 for a 64-bit BAR).
uint32_t parse_bar(ConfigSpace& c, Address a, uint32_t index, uint32_t count, Bar& bar,
                   Diagnostics& d) {
    bar = {};
    uint16_t offset = uint16_t(kBar0 + 4 * index);
    uint32_t original = read32(c, a, offset);
    uint32_t sticky = probe(c, a, offset, original);
    if (original & 1) {
        // I/O: bits 31..2 hold the address; devices may implement only the low 16.
        uint32_t mask = sticky & ~0x3u;
        if (mask == 0)
            return 1;
        if ((mask >> 16) == 0)
            mask |= 0xFFFF0000u;
        uint64_t size = uint64_t(uint32_t(~mask)) + 1;
        uint64_t base = original & ~0x3u;
        if (!power_of_two(size) || base % size != 0 || base + size > 0x10000) {
            d.report(a, "I/O BAR has a bad size or base; ignored", offset);
            return 1;
        }
        if (base == 0) {
            d.report(a, "I/O BAR was not assigned by firmware; ignored", offset);
            return 1;
        }
        bar.kind = BarKind::kIo;
        bar.base = base;
        bar.size = uint32_t(size);
        return 1;
    }
    uint32_t type = (original >> 1) & 0x3;
    bool prefetchable = original & 0x8;
    uint64_t base = original & ~0xFu;
    uint64_t mask = sticky & ~0xFu;
    uint32_t taken = 1;
    if (type == 2) {
        if (index + 1 >= count) {
            d.report(a, "64-bit BAR in the last slot; ignored", offset);
            return 1;
        }
        uint32_t high = read32(c, a, uint16_t(offset + 4));
        uint32_t high_sticky = probe(c, a, uint16_t(offset + 4), high);
        base |= uint64_t(high) << 32;
        mask |= uint64_t(high_sticky) << 32;
        taken = 2;
        if (mask == 0)
            return taken;
    } else if (type == 1 || type == 3) {
        d.report(a, "memory BAR of a reserved type; ignored", offset);
        return 1;
    } else {
        if (mask == 0)
            return 1;
        mask |= 0xFFFFFFFF00000000ull;
    }
    uint64_t size = ~mask + 1;
    if (size == 0 || size > 0xFFFFFFFFull) {
        d.report(a, "memory BAR over 4 GiB; ignored", offset);
        return taken;
    }
    if (!power_of_two(size) || base % size != 0) {
        d.report(a, "memory BAR has a bad size or base; ignored", offset);
        return taken;
    }
    if (base == 0) {
        d.report(a, "memory BAR was not assigned by firmware; ignored", offset);
        return taken;
    }
    bar.kind = type == 2 ? BarKind::kMemory64 : BarKind::kMemory32;
    bar.base = base;
    bar.size = uint32_t(size);
    bar.prefetchable = prefetchable ? 1 : 0;
    return taken;
}

void parse_capabilities(ConfigSpace& c, Address a, DeviceInfo& info, Diagnostics& d) {
    if (!(read16(c, a, kStatus) & kStatusCapabilities))
        return;
    // One bit per dword of the 256-byte space: a pointer seen twice is a loop.
    uint64_t seen[4] = {};
    uint16_t at = read8(c, a, kCapabilities) & 0xFC;
    while (at != 0) {
        if (at < 0x40 || at > 0xFC) {
            d.report(a, "capability pointer out of range; list ends here", at);
            return;
        }
        uint32_t dword = at / 4;
        if (seen[dword / 64] & (1ull << (dword % 64))) {
            d.report(a, "capability list loops; list ends here", at);
            return;
        }
        seen[dword / 64] |= 1ull << (dword % 64);
        uint8_t id = read8(c, a, at);
        if (id == kCapabilityMsi && info.msi_offset == 0) {
            info.msi_offset = at;
        } else if (id == kCapabilityMsix && info.msix_offset == 0) {
            if (at + 12 > 0x100) {
                d.report(a, "MSI-X capability runs past the header; ignored", at);
            } else {
                info.msix_offset = at;
                info.msix_entries = uint16_t((read16(c, a, uint16_t(at + 2)) & 0x7FF) + 1);
            }
        }
        at = read8(c, a, uint16_t(at + 1)) & 0xFC;
    }
}

} // namespace

DeviceInfo parse_function(ConfigSpace& c, Address a, Diagnostics& d) {
    DeviceInfo info = {};
    info.address = a;
    info.gsi = kNoGsi;
    info.vendor_id = read16(c, a, kVendorId);
    info.device_id = read16(c, a, kVendorId + 2);
    uint32_t class_word = read32(c, a, kRevision);
    info.revision = uint8_t(class_word);
    info.prog_if = uint8_t(class_word >> 8);
    info.subclass = uint8_t(class_word >> 16);
    info.class_code = uint8_t(class_word >> 24);
    info.header_type = read8(c, a, kHeaderType);
    uint8_t layout = info.header_type & 0x7F;
    uint32_t bar_count = 0;
    if (layout == 0) {
        bar_count = tern::pci::kBarCount;
        info.subsystem_vendor_id = read16(c, a, kSubsystemVendorId);
        info.subsystem_id = read16(c, a, kSubsystemVendorId + 2);
    } else if (layout == 1) {
        bar_count = 2;
    } else {
        d.report(a, "unknown header layout; only its identity is used", layout);
        return info;
    }
    // Decoding off while the BARs hold all ones, so the probe never makes the function
    // answer at a bogus address; the command register comes back as it was.
    uint16_t command = read16(c, a, kCommand);
    c.write(a, kCommand, 2, command & ~(kCommandIo | kCommandMemory));
    for (uint32_t i = 0; i < bar_count;)
        i += parse_bar(c, a, i, bar_count, info.bars[i], d);
    c.write(a, kCommand, 2, command);

    uint8_t pin = read8(c, a, kInterruptPin);
    uint8_t line = read8(c, a, kInterruptLine);
    if (pin > 4) {
        d.report(a, "interrupt pin out of range; no interrupt", pin);
        pin = 0;
    }
    info.interrupt_pin = pin;
    info.interrupt_line = line;
    // Firmware (SeaBIOS on both QEMU machines) writes the IOAPIC input it routed INTx to,
    // and builds its MP table the same way; 0xFF means it routed nothing.
    if (pin != 0 && line < kIoApicInputs)
        info.gsi = line;
    parse_capabilities(c, a, info, d);
    return info;
}

Enumeration enumerate(ConfigSpace& c, base::Span<DeviceInfo> out, Diagnostics& d) {
    Enumeration result;
    bool queued[kBuses] = {};
    uint8_t queue[kBuses];
    uint32_t head = 0, tail = 0;
    queue[tail++] = 0;
    queued[0] = true;
    while (head < tail) {
        uint8_t bus = queue[head++];
        ++result.buses;
        for (uint8_t device = 0; device < kDevicesPerBus; ++device) {
            Address first{bus, device, 0, 0};
            if (read16(c, first, kVendorId) == 0xFFFF)
                continue;
            uint32_t functions = (read8(c, first, kHeaderType) & 0x80) ? kFunctionsPerDevice : 1;
            for (uint8_t function = 0; function < functions; ++function) {
                Address a{bus, device, function, 0};
                uint16_t vendor = read16(c, a, kVendorId);
                if (vendor == 0xFFFF)
                    continue;
                if (vendor == 0) {
                    d.report(a, "vendor id 0; function ignored", 0);
                    continue;
                }
                DeviceInfo info = parse_function(c, a, d);
                if ((info.header_type & 0x7F) == 1) {
                    uint8_t secondary = read8(c, a, kSecondaryBus);
                    if (secondary == 0 || queued[secondary])
                        d.report(a, "bridge leads to a bus already scanned; not followed",
                                 secondary);
                    else {
                        queued[secondary] = true;
                        queue[tail++] = secondary;
                    }
                }
                if (result.count < out.size())
                    out[result.count++] = info;
                else
                    ++result.dropped;
            }
        }
    }
    if (result.dropped)
        d.report({0, 0, 0, 0}, "more functions than the table holds; the rest are not listed",
                 result.dropped);
    return result;
}

base::Error check_config_access(uint16_t offset, uint8_t width, bool write, uint16_t limit,
                                uint8_t header_type) {
    if ((width != 1 && width != 2 && width != 4) || offset % width != 0
        || uint32_t(offset) + width > limit)
        return base::Error::INVALID_ARGUMENT;
    if (!write)
        return base::Error::OK;
    auto overlaps = [&](uint32_t first, uint32_t end) {
        return offset < end && uint32_t(offset) + width > first;
    };
    // The BARs, and the expansion ROM (0x30 in a type 0 header, 0x38 in a bridge's).
    if (overlaps(0x10, 0x34))
        return base::Error::ACCESS_DENIED;
    if ((header_type & 0x7F) != 0 && overlaps(0x38, 0x3C))
        return base::Error::ACCESS_DENIED;
    return base::Error::OK;
}

base::Error check_driver_access(const DeviceInfo& info, uint16_t offset, uint8_t width, bool write,
                                uint16_t limit) {
    base::Error e = check_config_access(offset, width, write, limit, info.header_type);
    if (e != base::Error::OK || !write)
        return e;
    auto overlaps = [&](uint32_t first, uint32_t end) {
        return offset < end && uint32_t(offset) + width > first;
    };
    // MSI: control, address (low and high) and data in either layout end by +14.
    if (info.msi_offset && overlaps(info.msi_offset + 2u, info.msi_offset + 14u))
        return base::Error::ACCESS_DENIED;
    if (info.msix_offset && overlaps(info.msix_offset + 2u, info.msix_offset + 4u))
        return base::Error::ACCESS_DENIED;
    return base::Error::OK;
}

} // namespace pci

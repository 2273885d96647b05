#pragma once
// PCI enumeration over an abstract configuration space, so the bus server reads real
// hardware through ports 0xCF8/0xCFC (or ECAM) and the host tests a simulated bus.
//
// enumerate() walks bus 0 and every bus behind a PCI-to-PCI bridge (each bus once, so a
// bridge loop cannot hang it), reads each present function's header, sizes its BARs by
// the write-ones probe with decoding disabled around it (and restores what it wrote),
// and finds MSI and MSI-X in the capability list (bounded, so a list that loops or points
// outside the header ends with a problem count, not a hang).
#include <stddef.h>
#include <stdint.h>
#include <tern/protocols/pci.h>

namespace pcibus {

class ConfigSpace {
public:
    virtual ~ConfigSpace() = default;
    // 32-bit reads and writes of naturally aligned registers; offset < 256.
    virtual uint32_t read32(uint8_t bus, uint8_t device, uint8_t function, uint16_t offset) = 0;
    virtual void write32(uint8_t bus, uint8_t device, uint8_t function, uint16_t offset,
                         uint32_t value) = 0;
};

struct EnumerationStats {
    uint32_t functions = 0;
    uint32_t buses = 0;
    uint32_t bad_capabilities = 0; // capability lists that looped or pointed outside
    uint32_t bad_bars = 0;         // BARs that could not be sized or lie over 4 GiB
    uint32_t truncated = 0;        // functions beyond the output table
};

// Fills out[0..max) in bus/device/function order; returns how many.
size_t enumerate(ConfigSpace& config, tern::pci::DeviceInfo* out, size_t max,
                 EnumerationStats& stats);

} // namespace pcibus

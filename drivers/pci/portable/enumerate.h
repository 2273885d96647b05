#pragma once

// The PCI bus server's portable core: enumeration of the buses through an abstract
// configuration-space accessor, parsing of each function's header (identity, class,
// BARs sized by the write-ones probe, interrupt pin and line, the capability list), and
// the rule that says which configuration accesses a driver may make. Nothing here
// touches hardware, so host tests run it against a simulated configuration space
// (tests/unit/pci_enumerate_test.cpp).
//
// Everything read from configuration space is outside input: a device (or an emulator,
// or broken firmware) may report BARs that are not powers of two, 64-bit BARs in the
// last slot, capability pointers that loop or point into the header, bridges that lead
// back to a bus already scanned. Each such finding is reported through Diagnostics (the
// server logs it) and the part in question is left out; enumeration always ends, after
// at most one scan of each of the 256 buses.

#include <base/error.h>
#include <base/span.h>
#include <stdint.h>
#include <tern/protocols/pci.h>

namespace pci {

using tern::pci::Address;
using tern::pci::Bar;
using tern::pci::BarKind;
using tern::pci::DeviceInfo;

// Offsets in the type 0 and type 1 headers.
inline constexpr uint16_t kVendorId = 0x00;
inline constexpr uint16_t kCommand = 0x04;
inline constexpr uint16_t kStatus = 0x06;
inline constexpr uint16_t kRevision = 0x08;
inline constexpr uint16_t kHeaderType = 0x0E;
inline constexpr uint16_t kBar0 = 0x10;
inline constexpr uint16_t kSecondaryBus = 0x19;
inline constexpr uint16_t kSubsystemVendorId = 0x2C;
inline constexpr uint16_t kCapabilities = 0x34;
inline constexpr uint16_t kInterruptLine = 0x3C;
inline constexpr uint16_t kInterruptPin = 0x3D;

// Command register bits.
inline constexpr uint16_t kCommandIo = 1 << 0;
inline constexpr uint16_t kCommandMemory = 1 << 1;
inline constexpr uint16_t kCommandBusMaster = 1 << 2;
inline constexpr uint16_t kCommandIntxDisable = 1 << 10;
inline constexpr uint16_t kStatusCapabilities = 1 << 4;

inline constexpr uint8_t kCapabilityMsi = 0x05;
inline constexpr uint8_t kCapabilityMsix = 0x11;

// The IOAPIC inputs an INTx line can be routed to (one IOAPIC of 24 inputs).
inline constexpr uint32_t kIoApicInputs = 24;
inline constexpr uint32_t kNoGsi = ~0u;

// Reads and writes one function's configuration space. Widths are 1, 2 or 4 bytes at
// naturally aligned offsets below limit(); the server's accessors and the host tests'
// simulation implement it. A function that is not there reads as all ones.
class ConfigSpace {
public:
    virtual uint32_t read(Address a, uint16_t offset, uint8_t width) = 0;
    virtual void write(Address a, uint16_t offset, uint8_t width, uint32_t value) = 0;
    // 256 (configuration ports) or 4096 (ECAM).
    virtual uint16_t limit() const = 0;

protected:
    ~ConfigSpace() = default;
};

// Where enumeration reports what it refused or could not use; `what` is a string
// literal, `value` the offending number (a register's value or an offset).
class Diagnostics {
public:
    virtual void report(Address a, const char* what, uint64_t value) = 0;

protected:
    ~Diagnostics() = default;
};

struct Enumeration {
    uint32_t count = 0;   // DeviceInfo records written
    uint32_t buses = 0;   // buses scanned
    uint32_t dropped = 0; // functions found beyond the output's room
};

// Scans bus 0 and every bus behind a bridge, writing one record per function in bus,
// device, function order of discovery. BARs are probed with the function's decoding
// turned off around the probe and their original values restored.
Enumeration enumerate(ConfigSpace& config, base::Span<DeviceInfo> out, Diagnostics& diagnostics);

// Parses one present function (its vendor id is not 0xFFFF).
DeviceInfo parse_function(ConfigSpace& config, Address a, Diagnostics& diagnostics);

// Whether a driver may make this access to its own function: INVALID_ARGUMENT for a bad
// width, a misaligned offset or one at or beyond `limit`; ACCESS_DENIED for a write that
// touches the BARs or the expansion ROM (the server owns those), or a bridge's bus
// numbers and windows. OK otherwise.
base::Error check_config_access(uint16_t offset, uint8_t width, bool write, uint16_t limit,
                                uint8_t header_type);

// check_config_access for a driver's access to its own function `info`, and one rule
// more: writes to the MSI and MSI-X capabilities' control words and MSI's address and
// data are ACCESS_DENIED, because the server programs them (Interrupt) with vectors the
// kernel gave it.
base::Error check_driver_access(const DeviceInfo& info, uint16_t offset, uint8_t width, bool write,
                                uint16_t limit);

} // namespace pci

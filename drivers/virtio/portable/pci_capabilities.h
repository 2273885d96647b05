#pragma once
// Finding a virtio 1.x device's register blocks (virtio spec section 4.1.4): the device
// lists them as vendor-specific PCI capabilities, each naming a BAR, an offset and a
// length. Configuration space comes from the device (through the PCI server), so every
// field is checked: a capability list that loops or leaves the header, a structure that
// is too short, names no usable BAR or reaches past its BAR is skipped (the spec lets a
// device offer several of a kind; the first usable one wins), and a device without the
// common, notify and ISR structures is refused. A device with none at all is a legacy
// (virtio 0.9) device, which Tern does not drive.
#include <base/result.h>
#include <base/span.h>
#include <stdint.h>

namespace virtio {

inline constexpr uint16_t kPciVendor = 0x1AF4;
// Device ids: 0x1000..0x103F transitional (legacy registers and, normally, the 1.x
// capabilities as well), 0x1040 + device type for a 1.x-only device.
inline constexpr uint16_t kPciTransitionalFirst = 0x1000;
inline constexpr uint16_t kPciTransitionalLast = 0x103F;
inline constexpr uint16_t kPciModernBase = 0x1040;
inline constexpr uint16_t kDeviceTypeNet = 1;
// The transitional id of a device type, as QEMU's virtio-*-pci devices show them by
// default (net is 0x1000, block 0x1001).
inline constexpr uint16_t kPciTransitionalNet = 0x1000;

// One register block: `length` bytes at `offset` in BAR `bar`.
struct Region {
    uint8_t bar;
    bool present;
    uint32_t offset;
    uint32_t length;
};

struct PciLayout {
    Region common;
    Region notify;
    Region isr;
    Region device; // optional: not every device type has configuration
    uint32_t notify_multiplier;
};

// What the parser knows of the BARs (from the PCI server's DeviceInfo).
struct BarInfo {
    uint64_t size; // 0: unused
    bool memory;   // an I/O BAR cannot hold the 1.x structures for Tern's drivers
};

// Reads `width` (1, 2 or 4) bytes of the function's configuration space at `offset`.
class ConfigSpace {
public:
    [[nodiscard]] virtual base::Result<uint32_t> read(uint16_t offset, uint8_t width) = 0;

protected:
    ~ConfigSpace() = default;
};

// The sizes the driver relies on: the common configuration up to queue_device, one
// 16-bit notification, one ISR byte.
inline constexpr uint32_t kCommonConfigSize = 0x38;
inline constexpr uint32_t kNotifySize = 2;
inline constexpr uint32_t kIsrSize = 1;

// The layout, or: NOT_SUPPORTED (no capability list, or no virtio 1.x structures: a
// legacy-only device), CORRUPT (the list loops or points outside the header, or a required
// structure has no usable instance), or the error of a configuration read. `why` is set
// to a sentence for the log whenever an error is returned.
[[nodiscard]] base::Result<PciLayout>
parse_capabilities(ConfigSpace& config, base::Span<const BarInfo> bars, const char** why);

} // namespace virtio

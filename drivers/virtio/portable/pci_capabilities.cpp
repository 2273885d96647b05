#include <drivers/virtio/portable/pci_capabilities.h>

namespace virtio {

namespace {

constexpr uint16_t kPciStatus = 0x06;
constexpr uint16_t kStatusCapabilityList = 1u << 4;
constexpr uint16_t kPciCapabilityPointer = 0x34;
// Capabilities live after the 64-byte standard header, in the first 256 bytes.
constexpr uint16_t kCapabilityFirst = 0x40;
constexpr uint16_t kConfigEnd = 0x100;
// At most this many 4-byte aligned capabilities fit between 0x40 and 0x100; a longer walk
// is a loop.
constexpr int kMaxCapabilities = (kConfigEnd - kCapabilityFirst) / 4;

constexpr uint8_t kCapabilityVendor = 0x09;
// virtio_pci_cap fields, from the capability's start.
constexpr uint16_t kCapLength = 2;
constexpr uint16_t kCfgType = 3;
constexpr uint16_t kBar = 4;
constexpr uint16_t kOffset = 8;
constexpr uint16_t kLength = 12;
constexpr uint16_t kNotifyMultiplier = 16;
constexpr uint8_t kVirtioCapSize = 16;
constexpr uint8_t kNotifyCapSize = 20;

constexpr uint8_t kTypeCommon = 1;
constexpr uint8_t kTypeNotify = 2;
constexpr uint8_t kTypeIsr = 3;
constexpr uint8_t kTypeDevice = 4;

} // namespace

base::Result<PciLayout> parse_capabilities(ConfigSpace& config, base::Span<const BarInfo> bars,
                                           const char** why) {
    const char* ignored = nullptr;
    if (!why)
        why = &ignored;
    PciLayout layout{};
    uint32_t status = TRY(config.read(kPciStatus, 2));
    if ((status & kStatusCapabilityList) == 0) {
        *why = "the function has no capability list (a legacy-only virtio device)";
        return base::Error::NOT_SUPPORTED;
    }
    uint32_t pointer = TRY(config.read(kPciCapabilityPointer, 1)) & 0xFC;
    bool any_virtio = false;
    int walked = 0;
    while (pointer != 0) {
        if (++walked > kMaxCapabilities) {
            *why = "the capability list loops";
            return base::Error::CORRUPT;
        }
        if (pointer < kCapabilityFirst || pointer + 2 > kConfigEnd) {
            *why = "a capability pointer leaves the capability area";
            return base::Error::CORRUPT;
        }
        uint16_t at = uint16_t(pointer);
        uint32_t id = TRY(config.read(at, 1));
        uint32_t next = TRY(config.read(uint16_t(at + 1), 1)) & 0xFC;
        pointer = next;
        if (id != kCapabilityVendor || at + kVirtioCapSize > kConfigEnd)
            continue;
        uint32_t cap_length = TRY(config.read(uint16_t(at + kCapLength), 1));
        uint32_t type = TRY(config.read(uint16_t(at + kCfgType), 1));
        if (cap_length < kVirtioCapSize)
            continue;
        Region* slot = nullptr;
        uint32_t minimum = 0;
        uint32_t alignment = 1;
        switch (type) {
        case kTypeCommon:
            slot = &layout.common;
            minimum = kCommonConfigSize;
            alignment = 4;
            break;
        case kTypeNotify:
            slot = &layout.notify;
            minimum = kNotifySize;
            alignment = 2;
            break;
        case kTypeIsr:
            slot = &layout.isr;
            minimum = kIsrSize;
            break;
        case kTypeDevice:
            slot = &layout.device;
            minimum = 1;
            alignment = 4;
            break;
        default:
            // PCI configuration access, shared memory and types to come: not used.
            continue;
        }
        any_virtio = true;
        if (slot->present)
            continue;
        uint32_t bar = TRY(config.read(uint16_t(at + kBar), 1));
        uint32_t offset = TRY(config.read(uint16_t(at + kOffset), 4));
        uint32_t length = TRY(config.read(uint16_t(at + kLength), 4));
        // A reserved BAR number, an unused or I/O BAR, a block that is too short, or one
        // reaching past its BAR: this instance is skipped.
        if (bar >= bars.size() || bars[bar].size == 0 || !bars[bar].memory || length < minimum
            || offset % alignment != 0 || uint64_t(offset) + length > bars[bar].size)
            continue;
        uint32_t multiplier = 0;
        if (type == kTypeNotify) {
            if (cap_length < kNotifyCapSize || at + kNotifyCapSize > kConfigEnd)
                continue;
            multiplier = TRY(config.read(uint16_t(at + kNotifyMultiplier), 4));
            // Queue notification addresses are offset * multiplier; an odd multiplier
            // would misalign the 16-bit writes.
            if (multiplier % 2 != 0)
                continue;
            layout.notify_multiplier = multiplier;
        }
        *slot = {uint8_t(bar), true, offset, length};
    }
    if (!any_virtio) {
        *why = "no virtio 1.x capabilities (a legacy-only virtio device)";
        return base::Error::NOT_SUPPORTED;
    }
    if (!layout.common.present || !layout.notify.present || !layout.isr.present) {
        *why = "no usable common, notify or ISR structure (bad BAR, offset or length)";
        return base::Error::CORRUPT;
    }
    return layout;
}

} // namespace virtio

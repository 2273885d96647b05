#pragma once
// A virtio device's PCI function as a driver reaches it: through its device port of the
// PCI protocol (<tern/protocols/pci.h>), which init hands the driver as its first private
// startup handle. It gives the portable transport (portable/transport.h) what it runs on:
// configuration-space reads, the register blocks in mapped BARs, and the interrupts.
#include <base/result.h>
#include <drivers/virtio/portable/pci_capabilities.h>
#include <drivers/virtio/portable/transport.h>
#include <stdint.h>
#include <tern/abi/rights.h>
#include <tern/protocols/pci.h>

namespace virtio {

// A register block inside a mapped BAR: volatile accesses of exactly the width asked.
class MmioWindow final : public Window {
public:
    MmioWindow() = default;
    explicit MmioWindow(volatile uint8_t* base) : m_base(base) {}
    uint8_t read8(uint32_t offset) override { return *at<uint8_t>(offset); }
    uint16_t read16(uint32_t offset) override { return *at<uint16_t>(offset); }
    uint32_t read32(uint32_t offset) override { return *at<uint32_t>(offset); }
    void write8(uint32_t offset, uint8_t value) override { *at<uint8_t>(offset) = value; }
    void write16(uint32_t offset, uint16_t value) override { *at<uint16_t>(offset) = value; }
    void write32(uint32_t offset, uint32_t value) override { *at<uint32_t>(offset) = value; }

private:
    template<typename T>
    volatile T* at(uint32_t offset) const {
        return reinterpret_cast<volatile T*>(m_base + offset);
    }
    volatile uint8_t* m_base = nullptr;
};

// The interrupts the PCI server set up for the function.
struct Interrupts {
    tern::pci::InterruptKind kind;
    uint32_t count;
    tern_handle_t irqs[4];
};

class PciFunction final : public ConfigSpace {
public:
    explicit PciFunction(tern_handle_t device) : m_device(device) {}

    // The device port (for calls the library does not wrap, e.g. DmaBuffer::pin_for).
    tern_handle_t device() const { return m_device; }
    // The function as enumeration found it.
    [[nodiscard]] base::Result<tern::pci::DeviceInfo> info();
    [[nodiscard]] base::Result<uint32_t> read(uint16_t offset, uint8_t width) override;
    [[nodiscard]] base::Result<void> write(uint16_t offset, uint8_t width, uint32_t value);
    // Lets the function master the bus (its DMA reaches the rings and buffers).
    [[nodiscard]] base::Result<void> enable_bus_master();
    // Maps memory BAR `index` read-write, uncached; the mapping lives as long as the driver.
    // NOT_FOUND (unused BAR), NOT_SUPPORTED (an I/O BAR), the PCI server's or kernel's errors.
    [[nodiscard]] base::Result<volatile uint8_t*> map_bar(uint32_t index);
    // Asks for `count` MSI-X vectors, and for the INTx line when the function has no MSI-X.
    [[nodiscard]] base::Result<Interrupts> interrupts(uint32_t count);

private:
    tern_handle_t m_device;
    volatile uint8_t* m_bars[tern::pci::kBarCount] = {};
};

} // namespace virtio

#pragma once
// The virtio 1.x PCI transport (virtio spec 3.1 and 4.1.4): device status, feature
// negotiation, queue set-up and notification, through the common configuration, notify,
// ISR and device-specific register blocks. It is written against Window, so a driver
// gives it the BAR mappings and a host test a simulated device.
//
// A device is outside Tern's trust: what it reports (queue sizes, notification offsets,
// a vector it did not take, a reset that never finishes) is checked and turned into an
// error with a sentence for the log (why()), never an assertion.
#include <base/result.h>
#include <base/span.h>
#include <stdint.h>

namespace virtio {

// One mapped register block. Offsets are the transport's own and always inside the block
// (the layout checked its length), so a Window need not check them again.
class Window {
public:
    virtual uint8_t read8(uint32_t offset) = 0;
    virtual uint16_t read16(uint32_t offset) = 0;
    virtual uint32_t read32(uint32_t offset) = 0;
    virtual void write8(uint32_t offset, uint8_t value) = 0;
    virtual void write16(uint32_t offset, uint16_t value) = 0;
    virtual void write32(uint32_t offset, uint32_t value) = 0;

protected:
    ~Window() = default;
};

// Device status bits (2.1).
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 64;
inline constexpr uint8_t kStatusFailed = 128;

// Device-independent feature bits (6).
inline constexpr uint64_t kFeatureVersion1 = uint64_t(1) << 32;

// The common configuration structure's registers (4.1.4.3).
namespace common {
inline constexpr uint32_t kDeviceFeatureSelect = 0x00;
inline constexpr uint32_t kDeviceFeature = 0x04;
inline constexpr uint32_t kDriverFeatureSelect = 0x08;
inline constexpr uint32_t kDriverFeature = 0x0C;
inline constexpr uint32_t kMsixConfig = 0x10;
inline constexpr uint32_t kNumQueues = 0x12;
inline constexpr uint32_t kDeviceStatus = 0x14;
inline constexpr uint32_t kConfigGeneration = 0x15;
inline constexpr uint32_t kQueueSelect = 0x16;
inline constexpr uint32_t kQueueSize = 0x18;
inline constexpr uint32_t kQueueMsixVector = 0x1A;
inline constexpr uint32_t kQueueEnable = 0x1C;
inline constexpr uint32_t kQueueNotifyOff = 0x1E;
inline constexpr uint32_t kQueueDesc = 0x20;
inline constexpr uint32_t kQueueDriver = 0x28;
inline constexpr uint32_t kQueueDevice = 0x30;
} // namespace common

// "No MSI-X vector" (4.1.4.3): also what the device reads back when it could not take
// the vector it was given.
inline constexpr uint16_t kNoVector = 0xFFFF;

// ISR status bits (4.1.4.5), used when interrupts are INTx.
inline constexpr uint8_t kIsrQueue = 1;
inline constexpr uint8_t kIsrConfig = 2;

class Transport {
public:
    static constexpr uint16_t kMaxQueues = 4;
    // A reset the device does not finish after this many reads of the status is refused.
    static constexpr int kResetPolls = 100000;
    // A device configuration whose generation keeps moving after this many reads is
    // refused.
    static constexpr int kConfigTries = 16;

    Transport() = default;
    Transport(Window& common, Window& notify, uint32_t notify_length, uint32_t notify_multiplier,
              Window& isr, Window* device, uint32_t device_length)
        : m_common(&common), m_notify(&notify), m_isr(&isr), m_device(device),
          m_notify_length(notify_length), m_notify_multiplier(notify_multiplier),
          m_device_length(device_length) {}

    // Writes 0 to the status and waits until the device reads back 0. TIMED_OUT.
    [[nodiscard]] base::Result<void> reset();
    // ACKNOWLEDGE and DRIVER, then offers the device's features masked by `wanted`
    // (VERSION_1 is always asked for), then FEATURES_OK and checks the device kept it.
    // Returns the features in force. NOT_SUPPORTED: the device does not offer VERSION_1
    // (a legacy-only device), or refused the subset.
    [[nodiscard]] base::Result<uint64_t> negotiate(uint64_t wanted);
    // The config change vector (MSI-X); NOT_SUPPORTED when the device does not take it.
    [[nodiscard]] base::Result<void> set_config_vector(uint16_t vector);
    // The largest size the device allows for queue `index`. NOT_FOUND: no such queue
    // (beyond num_queues or size 0).
    [[nodiscard]] base::Result<uint16_t> queue_max_size(uint16_t index);
    // Gives queue `index` its size, ring addresses and MSI-X vector (kNoVector for INTx)
    // and enables it. INVALID_ARGUMENT (size over the device's or not a power of two),
    // NOT_SUPPORTED (the device refused the vector), OUT_OF_RANGE (its notification
    // address lies outside the notify block), NOT_FOUND.
    [[nodiscard]] base::Result<void> enable_queue(uint16_t index, uint16_t size,
                                                  uint64_t descriptors, uint64_t available,
                                                  uint64_t used, uint16_t vector);
    // Tells the device queue `index` has new buffers.
    void notify(uint16_t index);
    void driver_ok();
    // Sets FAILED: the driver gives up on the device.
    void fail();
    uint8_t status();
    bool needs_reset() { return (status() & kStatusNeedsReset) != 0; }
    // Reads and clears the ISR (INTx: reading it also lowers the line).
    uint8_t read_isr();
    // Reads `out.size()` bytes of the device-specific configuration at `offset`, again
    // while the configuration generation moves, so the bytes are one consistent snapshot.
    // OUT_OF_RANGE (beyond the block, or no block), BUSY (the generation never settled).
    [[nodiscard]] base::Result<void> read_config(uint32_t offset, base::Span<uint8_t> out);
    // One 16-bit field of it, read as one access (the spec asks for a field's natural
    // width). OUT_OF_RANGE, MISALIGNED, BUSY.
    [[nodiscard]] base::Result<uint16_t> read_config16(uint32_t offset);

    // A sentence for the log about the last error.
    const char* why() const { return m_why; }

private:
    base::Error refuse(base::Error error, const char* why) {
        m_why = why;
        return error;
    }

    Window* m_common = nullptr;
    Window* m_notify = nullptr;
    Window* m_isr = nullptr;
    Window* m_device = nullptr;
    uint32_t m_notify_length = 0;
    uint32_t m_notify_multiplier = 0;
    uint32_t m_device_length = 0;
    uint32_t m_notify_offsets[kMaxQueues] = {};
    bool m_queue_ready[kMaxQueues] = {};
    const char* m_why = "";
};

} // namespace virtio

#include <drivers/virtio/portable/transport.h>

namespace virtio {

using namespace common;

base::Result<void> Transport::reset() {
    m_common->write8(kDeviceStatus, 0);
    for (int i = 0; i < kResetPolls; ++i) {
        if (m_common->read8(kDeviceStatus) == 0) {
            for (bool& ready : m_queue_ready)
                ready = false;
            return base::ok();
        }
    }
    return refuse(base::Error::TIMED_OUT, "the device did not finish its reset");
}

base::Result<uint64_t> Transport::negotiate(uint64_t wanted) {
    m_common->write8(kDeviceStatus, kStatusAcknowledge);
    m_common->write8(kDeviceStatus, kStatusAcknowledge | kStatusDriver);
    m_common->write32(kDeviceFeatureSelect, 0);
    uint64_t offered = m_common->read32(kDeviceFeature);
    m_common->write32(kDeviceFeatureSelect, 1);
    offered |= uint64_t(m_common->read32(kDeviceFeature)) << 32;
    if ((offered & kFeatureVersion1) == 0) {
        fail();
        return refuse(base::Error::NOT_SUPPORTED,
                      "the device does not offer VIRTIO_F_VERSION_1 (legacy only)");
    }
    uint64_t accepted = offered & (wanted | kFeatureVersion1);
    m_common->write32(kDriverFeatureSelect, 0);
    m_common->write32(kDriverFeature, uint32_t(accepted));
    m_common->write32(kDriverFeatureSelect, 1);
    m_common->write32(kDriverFeature, uint32_t(accepted >> 32));
    m_common->write8(kDeviceStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    if ((m_common->read8(kDeviceStatus) & kStatusFeaturesOk) == 0) {
        fail();
        return refuse(base::Error::NOT_SUPPORTED, "the device refused the negotiated features");
    }
    return accepted;
}

base::Result<void> Transport::set_config_vector(uint16_t vector) {
    m_common->write16(kMsixConfig, vector);
    if (m_common->read16(kMsixConfig) != vector)
        return refuse(base::Error::NOT_SUPPORTED, "the device refused the config MSI-X vector");
    return base::ok();
}

base::Result<uint16_t> Transport::queue_max_size(uint16_t index) {
    if (index >= kMaxQueues || index >= m_common->read16(kNumQueues))
        return refuse(base::Error::NOT_FOUND, "the device has no such queue");
    m_common->write16(kQueueSelect, index);
    uint16_t size = m_common->read16(kQueueSize);
    if (size == 0)
        return refuse(base::Error::NOT_FOUND, "the device has no such queue");
    return size;
}

base::Result<void> Transport::enable_queue(uint16_t index, uint16_t size, uint64_t descriptors,
                                           uint64_t available, uint64_t used, uint16_t vector) {
    uint16_t maximum = TRY(queue_max_size(index));
    if (size == 0 || size > maximum || (size & (size - 1)) != 0)
        return refuse(base::Error::INVALID_ARGUMENT, "queue size over the device's maximum");
    // queue_max_size left the queue selected.
    m_common->write16(kQueueSize, size);
    m_common->write16(kQueueMsixVector, vector);
    if (m_common->read16(kQueueMsixVector) != vector)
        return refuse(base::Error::NOT_SUPPORTED, "the device refused the queue's MSI-X vector");
    uint64_t notify_offset = uint64_t(m_common->read16(kQueueNotifyOff)) * m_notify_multiplier;
    if (notify_offset + 2 > m_notify_length)
        return refuse(base::Error::OUT_OF_RANGE,
                      "the queue's notification address is outside the notify structure");
    // The 64-bit addresses are written as two halves: the spec lets a driver do so, and
    // not every bus passes 64-bit accesses.
    m_common->write32(kQueueDesc, uint32_t(descriptors));
    m_common->write32(kQueueDesc + 4, uint32_t(descriptors >> 32));
    m_common->write32(kQueueDriver, uint32_t(available));
    m_common->write32(kQueueDriver + 4, uint32_t(available >> 32));
    m_common->write32(kQueueDevice, uint32_t(used));
    m_common->write32(kQueueDevice + 4, uint32_t(used >> 32));
    m_common->write16(kQueueEnable, 1);
    m_notify_offsets[index] = uint32_t(notify_offset);
    m_queue_ready[index] = true;
    return base::ok();
}

void Transport::notify(uint16_t index) {
    // Only queues this transport enabled have a checked notification address.
    if (index < kMaxQueues && m_queue_ready[index])
        m_notify->write16(m_notify_offsets[index], index);
}

uint8_t Transport::status() { return m_common->read8(kDeviceStatus); }

void Transport::driver_ok() {
    m_common->write8(kDeviceStatus, uint8_t(status() | kStatusDriverOk));
}

void Transport::fail() { m_common->write8(kDeviceStatus, uint8_t(status() | kStatusFailed)); }

uint8_t Transport::read_isr() { return m_isr->read8(0); }

base::Result<void> Transport::read_config(uint32_t offset, base::Span<uint8_t> out) {
    if (!m_device || uint64_t(offset) + out.size() > m_device_length)
        return refuse(base::Error::OUT_OF_RANGE, "outside the device configuration");
    for (int attempt = 0; attempt < kConfigTries; ++attempt) {
        uint8_t before = m_common->read8(kConfigGeneration);
        for (size_t i = 0; i < out.size(); ++i)
            out[i] = m_device->read8(offset + uint32_t(i));
        if (m_common->read8(kConfigGeneration) == before)
            return base::ok();
    }
    return refuse(base::Error::BUSY, "the device configuration kept changing");
}

base::Result<uint16_t> Transport::read_config16(uint32_t offset) {
    if (!m_device || uint64_t(offset) + 2 > m_device_length)
        return refuse(base::Error::OUT_OF_RANGE, "outside the device configuration");
    if (offset % 2 != 0)
        return refuse(base::Error::MISALIGNED, "a 16-bit field at an odd offset");
    for (int attempt = 0; attempt < kConfigTries; ++attempt) {
        uint8_t before = m_common->read8(kConfigGeneration);
        uint16_t value = m_device->read16(offset);
        if (m_common->read8(kConfigGeneration) == before)
            return value;
    }
    return refuse(base::Error::BUSY, "the device configuration kept changing");
}

} // namespace virtio

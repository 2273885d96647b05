#include "remote.h"

namespace tern::bus {

namespace {

using base::Error;

void put32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = uint8_t(v >> (8 * i));
}

void put64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = uint8_t(v >> (8 * i));
}

uint32_t get32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

uint64_t get64(const uint8_t* p) { return uint64_t(get32(p)) | uint64_t(get32(p + 4)) << 32; }

// The rules on the fields that do not depend on the byte layout: which kinds carry a
// target, a call id, a status, handles.
bool fields_valid(const RemoteMessage& m) {
    if (m.handle_count > kRemoteMaxHandles || m.data.size() > kRemoteMaxData)
        return false;
    switch (m.kind) {
    case BusMessageKind::kSend:
        return is_valid_port_id(m.target) && m.call_id == 0 && m.status == Error::OK;
    case BusMessageKind::kCall:
        // A call's reply right takes one of the message's handle slots.
        return is_valid_port_id(m.target) && m.call_id != 0 && m.status == Error::OK
               && m.handle_count < kRemoteMaxHandles;
    case BusMessageKind::kReply:
        // A failed call carries nothing but its status.
        if (m.target != 0 || m.call_id == 0 || !base::is_known_error(int64_t(m.status)))
            return false;
        return m.status == Error::OK || (m.handle_count == 0 && m.data.size() == 0);
    case BusMessageKind::kPortGone:
        return is_valid_port_id(m.target) && m.call_id == 0 && m.status == Error::OK
               && m.handle_count == 0 && m.data.size() == 0;
    case BusMessageKind::kHeartbeat:
        break;
    }
    if (m.kind == kCreditKind || m.kind == kMovedKind || m.kind == kSignalKind) {
        // One spelling: everything but the target and words[0] is zero.
        for (size_t i = 1; i < kRemoteWords; ++i) {
            if (m.words[i] != 0)
                return false;
        }
        bool word_valid = m.kind == kCreditKind  ? m.words[0] >= 1 && m.words[0] <= kSendWindow
                          : m.kind == kMovedKind ? m.words[0] >= 1 && m.words[0] <= UINT16_MAX
                                                 : m.words[0] != 0;
        return is_valid_port_id(m.target) && m.call_id == 0 && m.status == Error::OK && m.label == 0
               && m.handle_count == 0 && m.data.size() == 0 && word_valid;
    }
    return false;
}

bool handle_valid(const RemoteHandle& h) {
    if (h.kind == RemoteHandleKind::kPort)
        return is_valid_port_id(h.port_id) && h.contents.size() == 0
               && (h.rights == 0 || h.rights == kRemoteRightSignal);
    if (h.rights != 0)
        return false;
    if (h.kind == RemoteHandleKind::kReceive)
        return is_valid_port_id(h.port_id) && h.contents.size() == 0;
    if (h.kind == RemoteHandleKind::kMemory)
        return h.port_id == 0 && h.contents.size() > 0 && h.contents.size() <= kMaxMessage;
    return false;
}

} // namespace

size_t remote_size(const RemoteMessage& message) {
    size_t n = kRemoteHeaderSize + message.data.size();
    uint32_t count =
        message.handle_count > kRemoteMaxHandles ? kRemoteMaxHandles : message.handle_count;
    for (uint32_t i = 0; i < count; ++i)
        n += kRemoteHandleEntrySize + message.handles[i].contents.size();
    return n;
}

base::Result<size_t> encode_remote(const RemoteMessage& message, base::Span<uint8_t> out) {
    if (message.handle_count > kRemoteMaxHandles || message.data.size() > kRemoteMaxData)
        return Error::TOO_BIG;
    if (!fields_valid(message))
        return Error::INVALID_ARGUMENT;
    for (uint32_t i = 0; i < message.handle_count; ++i) {
        if (!handle_valid(message.handles[i]))
            return message.handles[i].contents.size() > kMaxMessage ? Error::TOO_BIG
                                                                    : Error::INVALID_ARGUMENT;
    }
    size_t size = remote_size(message);
    if (size > kMaxMessage)
        return Error::TOO_BIG;
    if (size > out.size())
        return Error::NO_SPACE;
    uint8_t* p = out.data();
    for (size_t i = 0; i < kRemoteHeaderSize; ++i)
        p[i] = 0;
    p[0] = uint8_t(message.kind);
    p[1] = kRemoteVersion;
    p[2] = uint8_t(message.handle_count);
    put32(p + 4, message.label);
    put64(p + 8, message.target);
    put64(p + 16, message.call_id);
    put32(p + 24, uint32_t(message.status));
    put32(p + 28, uint32_t(message.data.size()));
    for (size_t i = 0; i < kRemoteWords; ++i)
        put64(p + 32 + 8 * i, message.words[i]);
    size_t at = kRemoteHeaderSize;
    for (uint32_t i = 0; i < message.handle_count; ++i) {
        const RemoteHandle& h = message.handles[i];
        uint8_t* e = p + at;
        e[0] = uint8_t(h.kind);
        e[1] = h.rights;
        e[2] = e[3] = 0;
        put32(e + 4, uint32_t(h.contents.size()));
        put64(e + 8, h.port_id);
        at += kRemoteHandleEntrySize;
    }
    for (size_t i = 0; i < message.data.size(); ++i)
        p[at + i] = message.data[i];
    at += message.data.size();
    for (uint32_t i = 0; i < message.handle_count; ++i) {
        base::Span<const uint8_t> c = message.handles[i].contents;
        for (size_t j = 0; j < c.size(); ++j)
            p[at + j] = c[j];
        at += c.size();
    }
    return at;
}

base::Result<void> decode_remote(base::Span<const uint8_t> bytes, RemoteMessage& out) {
    if (bytes.size() < kRemoteHeaderSize || bytes.size() > kMaxMessage)
        return Error::CORRUPT;
    const uint8_t* p = bytes.data();
    if (p[1] != kRemoteVersion || p[3] != 0 || p[2] > kRemoteMaxHandles)
        return Error::CORRUPT;
    RemoteMessage m;
    m.kind = BusMessageKind(p[0]);
    m.handle_count = p[2];
    m.label = get32(p + 4);
    m.target = get64(p + 8);
    m.call_id = get64(p + 16);
    int32_t status = int32_t(get32(p + 24));
    if (!base::is_known_error(status))
        return Error::CORRUPT;
    m.status = Error(status);
    uint32_t data_size = get32(p + 28);
    if (data_size > kRemoteMaxData)
        return Error::CORRUPT;
    for (size_t i = 0; i < kRemoteWords; ++i)
        m.words[i] = get64(p + 32 + 8 * i);
    // Every length is checked against what is left, so no sum can wrap.
    size_t at = kRemoteHeaderSize;
    size_t left = bytes.size() - at;
    if (left < size_t(m.handle_count) * kRemoteHandleEntrySize)
        return Error::CORRUPT;
    left -= size_t(m.handle_count) * kRemoteHandleEntrySize;
    if (left < data_size)
        return Error::CORRUPT;
    left -= data_size;
    size_t contents_at = at + size_t(m.handle_count) * kRemoteHandleEntrySize + data_size;
    m.data = base::Span<const uint8_t>(p + at + size_t(m.handle_count) * kRemoteHandleEntrySize,
                                       data_size);
    for (uint32_t i = 0; i < m.handle_count; ++i) {
        const uint8_t* e = p + at + size_t(i) * kRemoteHandleEntrySize;
        if (e[2] || e[3])
            return Error::CORRUPT;
        RemoteHandle& h = m.handles[i];
        h.kind = RemoteHandleKind(e[0]);
        h.rights = e[1];
        uint32_t size = get32(e + 4);
        h.port_id = get64(e + 8);
        if (size > left)
            return Error::CORRUPT;
        h.contents = base::Span<const uint8_t>(p + contents_at, size);
        contents_at += size;
        left -= size;
        if (!handle_valid(h))
            return Error::CORRUPT;
    }
    if (left != 0 || !fields_valid(m))
        return Error::CORRUPT;
    out = m;
    return base::ok();
}

} // namespace tern::bus

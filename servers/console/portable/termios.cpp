// The console's terminal settings and their rules (see termios.h).

#include <base/utility.h>
#include <servers/console/portable/termios.h>

namespace terminal {

namespace {

constexpr uint8_t kCtrlC = 0x03;
constexpr uint8_t kCtrlD = 0x04;
constexpr uint8_t kTab = 0x09;
constexpr uint8_t kLineFeed = 0x0A;
constexpr uint8_t kCarriageReturn = 0x0D;
constexpr uint8_t kCtrlU = 0x15;
constexpr uint8_t kCtrlW = 0x17;
constexpr uint8_t kCtrlZ = 0x1A;
constexpr uint8_t kCtrlBackslash = 0x1C;
constexpr uint8_t kDelete = 0x7F;

constexpr uint64_t kTenthNs = 100'000'000ull;

bool is(const Termios& t, ControlChar which, uint8_t byte) {
    return t.cc[which] != kDisabled && t.cc[which] == byte;
}

} // namespace

Termios default_termios() {
    Termios t{};
    t.iflag = kIcrnl | kIxon;
    t.oflag = kOpost | kOnlcr;
    t.cflag = kDefaultCflag;
    t.lflag = kIsig | kIcanon | kEcho | kEchoe | kEchok | kEchoctl | kEchoke | kIexten;
    t.line = 0;
    t.cc[kVintr] = kCtrlC;
    t.cc[kVquit] = kCtrlBackslash;
    t.cc[kVerase] = kDelete;
    t.cc[kVkill] = kCtrlU;
    t.cc[kVeof] = kCtrlD;
    t.cc[kVtime] = 0;
    t.cc[kVmin] = 1;
    t.cc[kVswtc] = 0;
    t.cc[kVstart] = 0x11;
    t.cc[kVstop] = 0x13;
    t.cc[kVsusp] = kCtrlZ;
    t.cc[kVeol] = 0;
    t.cc[kVreprint] = 0x12;
    t.cc[kVdiscard] = 0x0F;
    t.cc[kVwerase] = kCtrlW;
    t.cc[kVlnext] = 0x16;
    t.cc[kVeol2] = 0;
    return t;
}

bool translate_input(const Termios& t, uint8_t& byte) {
    if (t.iflag & kIstrip)
        byte &= 0x7F;
    if (byte == kCarriageReturn) {
        if (t.iflag & kIgncr)
            return false;
        if (t.iflag & kIcrnl)
            byte = kLineFeed;
    } else if (byte == kLineFeed && (t.iflag & kInlcr)) {
        byte = kCarriageReturn;
    }
    return true;
}

InputSignal signal_for(const Termios& t, uint8_t byte) {
    if (!(t.lflag & kIsig))
        return InputSignal::kNone;
    if (is(t, kVintr, byte))
        return InputSignal::kInterrupt;
    if (is(t, kVquit, byte))
        return InputSignal::kQuit;
    if (is(t, kVsusp, byte))
        return InputSignal::kSuspend;
    return InputSignal::kNone;
}

int editor_key(const Termios& t, uint8_t byte) {
    switch (signal_for(t, byte)) {
    case InputSignal::kInterrupt:
        return kCtrlC;
    case InputSignal::kQuit:
        return kCtrlBackslash;
    case InputSignal::kSuspend:
        return kCtrlZ;
    case InputSignal::kNone:
        break;
    }
    if (is(t, kVeof, byte))
        return kCtrlD;
    if (is(t, kVerase, byte))
        return kDelete;
    if (is(t, kVkill, byte))
        return kCtrlU;
    if ((t.lflag & kIexten) && is(t, kVwerase, byte))
        return kCtrlW;
    // The editor's own keys for these meanings, now another character's or disabled.
    switch (byte) {
    case kCtrlC:
    case kCtrlBackslash:
    case kCtrlZ:
    case kCtrlD:
    case kCtrlU:
    case kCtrlW:
        return -1;
    default:
        return byte;
    }
}

size_t translate_output(const Termios& t, uint8_t byte, uint8_t out[2]) {
    if (byte == kLineFeed && (t.oflag & kOpost) && (t.oflag & kOnlcr)) {
        out[0] = kCarriageReturn;
        out[1] = kLineFeed;
        return 2;
    }
    out[0] = byte;
    return 1;
}

size_t echo_raw(const Termios& t, uint8_t byte, uint8_t out[3]) {
    bool control = byte < 0x20 || byte == kDelete;
    if (control && byte != kTab && byte != kLineFeed && (t.lflag & kEchoctl)) {
        out[0] = '^';
        out[1] = byte == kDelete ? '?' : static_cast<uint8_t>(byte + '@');
        return 2;
    }
    return translate_output(t, byte, out);
}

RawReadRule raw_read_rule(const Termios& t, size_t available, size_t wanted, uint64_t now,
                          uint64_t started, uint64_t last_input) {
    size_t min = t.cc[kVmin];
    uint64_t time_ns = uint64_t(t.cc[kVtime]) * kTenthNs;
    if (wanted == 0)
        wanted = 1;
    size_t enough = min == 0 ? 1 : base::min(min, wanted);
    size_t count = base::min(available, wanted);
    if (available >= enough)
        return {true, count, 0};
    // Fewer than enough: none at all when MIN is 0.
    if (min == 0 && time_ns == 0)
        return {true, 0, 0};
    if (time_ns == 0)
        return {false, 0, 0};
    if (min == 0) {
        uint64_t deadline = started + time_ns;
        return now >= deadline ? RawReadRule{true, 0, 0} : RawReadRule{false, 0, deadline};
    }
    // MIN and TIME: the inter-byte timer runs once a byte is there.
    if (available == 0)
        return {false, 0, 0};
    uint64_t deadline = base::max(started, last_input) + time_ns;
    return now >= deadline ? RawReadRule{true, count, 0} : RawReadRule{false, 0, deadline};
}

bool ByteQueue::push(uint8_t byte) {
    if (m_size == kCapacity) {
        ++m_dropped;
        return false;
    }
    m_bytes[(m_head + m_size) % kCapacity] = byte;
    ++m_size;
    return true;
}

void ByteQueue::peek(uint8_t* out, size_t count) const {
    count = base::min(count, m_size);
    for (size_t i = 0; i < count; ++i)
        out[i] = m_bytes[(m_head + i) % kCapacity];
}

void ByteQueue::drop(size_t count) {
    count = base::min(count, m_size);
    m_head = (m_head + count) % kCapacity;
    m_size -= count;
    if (m_size == 0)
        m_head = 0;
}

} // namespace terminal

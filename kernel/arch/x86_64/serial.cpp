#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/serial.h>

namespace kernel::x86_64 {

namespace {
constexpr uint16_t kData = 0, kIer = 1, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5;
constexpr uint8_t kLsrDataReady = 0x01, kLsrThrEmpty = 0x20;
Serial g_com1(0x3F8);
} // namespace

Serial& com1() { return g_com1; }

bool Serial::init() {
    outb(m_base + kIer, 0x00);
    outb(m_base + kLcr, 0x80); // DLAB on: divisor 1 = 115200 baud
    outb(m_base + kData, 0x01);
    outb(m_base + kIer, 0x00);
    outb(m_base + kLcr, 0x03); // 8N1
    outb(m_base + kFcr, 0xC7); // FIFOs on, cleared, 14-byte threshold
    // Loopback test: a UART that is absent reads back 0xFF and would make every write
    // spin on a transmitter that never empties.
    outb(m_base + kMcr, 0x1E);
    outb(m_base + kData, 0xAE);
    m_present = inb(m_base + kData) == 0xAE;
    outb(m_base + kMcr, 0x0F);
    return m_present;
}

void Serial::put_raw(char c) {
    if (!m_present)
        return;
    // Bounded wait: a wedged UART must not hang the kernel.
    for (int i = 0; i < 100000 && !(inb(m_base + kLsr) & kLsrThrEmpty); ++i)
        pause();
    outb(m_base + kData, uint8_t(c));
}

void Serial::put(char c) {
    if (c == '\n')
        put_raw('\r');
    put_raw(c);
}

void Serial::write(const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i)
        put(s[i]);
}

int Serial::try_read() {
    if (!m_present || !(inb(m_base + kLsr) & kLsrDataReady))
        return -1;
    return inb(m_base + kData);
}

} // namespace kernel::x86_64

#pragma once
// The 16550 UART on COM1: the kernel's console. Polled output, so it works before
// interrupts are set up and inside the panic path.
#include <stddef.h>
#include <stdint.h>

namespace kernel::x86_64 {

class Serial {
public:
    explicit constexpr Serial(uint16_t base) : m_base(base) {}
    // Programs 115200 8N1 with FIFOs. Returns false when no UART answers the loopback test.
    bool init();
    void write(const char* s, size_t n);
    void put(char c);
    // Returns -1 when no byte is waiting.
    int try_read();
    bool present() const { return m_present; }

private:
    void put_raw(char c);
    uint16_t m_base;
    bool m_present = false;
};

Serial& com1();

} // namespace kernel::x86_64

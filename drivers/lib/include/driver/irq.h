#pragma once

// An interrupt line delivered to a driver as a signal bit on its port, and the loop that
// serves one signal.
//
// The kernel masks the line at each interrupt and unmasks it at irq_ack. The ISA lines
// are edge-triggered: a device that gets more work after the driver's last look but
// before the ack raises its line while it is masked, and no new edge ever comes once it
// is unmasked; the device then waits for good. So serve() drains the device, acks, and
// looks again, until the device has nothing pending with the line unmasked. A device
// that stays busy through kMaxRounds rounds is not allowed to starve the driver's other
// requests: the driver's port is signalled again and the rest is served at the next turn.

#include <base/result.h>
#include <stdint.h>
#include <tern/abi/message.h>
#include <tern/abi/rights.h>

namespace driver {

// What serve() asks of a device: drain() handles what the device has now (a bounded
// amount of it), pending() says whether it has more.
template<typename D>
concept IrqDevice = requires(D& device) {
    device.drain();
    bool(device.pending());
};

class Irq {
public:
    static constexpr int kMaxRounds = 64;

    Irq() = default;

    // An IRQ object for ISA line `line` through `resource` (an IRQ resource covering it),
    // bound to signal `bit` on `port`. BUSY: another driver owns the line.
    [[nodiscard]] static base::Result<Irq> bind(tern_handle_t resource, uint32_t line,
                                                tern_handle_t port, uint64_t bit);
    // An IRQ object made elsewhere (the PCI bus server's Interrupt), bound to signal `bit`
    // on `port`; the object is kept. `line` only names it in log lines.
    [[nodiscard]] static base::Result<Irq> adopt(tern_handle_t irq, uint32_t line,
                                                 tern_handle_t port, uint64_t bit);

    uint32_t line() const { return m_line; }
    // Whether a message received on the port is this line's signal.
    bool signalled(const tern_msg& event) const {
        return event.hdr.label == TERN_LABEL_SIGNAL && event.hdr.sender_badge == 0
               && (event.words[0] & m_bit) != 0;
    }
    // Unmasks the line.
    [[nodiscard]] base::Result<void> ack() const;
    // Asks for a signal as if the line had fired, so the device is looked at once even if
    // it raised its line before the driver was listening.
    [[nodiscard]] base::Result<void> poke() const;

    // Serves one signal of the line (see above). Errors: the kernel's for ack or poke.
    template<IrqDevice D>
    [[nodiscard]] base::Result<void> serve(D& device) const {
        for (int round = 0; round < kMaxRounds; ++round) {
            device.drain();
            TRY(ack());
            if (!device.pending())
                return base::ok();
        }
        return poke();
    }

private:
    Irq(tern_handle_t irq, tern_handle_t port, uint32_t line, uint64_t bit)
        : m_irq(irq), m_port(port), m_line(line), m_bit(bit) {}

    tern_handle_t m_irq = TERN_INVALID_HANDLE;
    tern_handle_t m_port = TERN_INVALID_HANDLE;
    uint32_t m_line = 0;
    uint64_t m_bit = 0;
};

} // namespace driver

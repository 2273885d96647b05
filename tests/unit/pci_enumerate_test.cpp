// Host tests for PCI enumeration (drivers/pci/portable/enumerate.h) against a simulated
// configuration space: functions, multi-function devices, bridges (and a bridge loop),
// BARs of every kind with their sizes, capability lists good and broken.
#include <catch2/catch.hpp>
#include <drivers/pci/portable/enumerate.h>

#include <map>
#include <tuple>

using tern::pci::BarKind;
using tern::pci::DeviceInfo;

namespace {

// A function: 64 dwords of config space plus a size mask per BAR (0: not implemented).
struct Function {
    uint32_t regs[64] = {};
    uint32_t bar_mask[6] = {};
};

class SimBus final : public pcibus::ConfigSpace {
public:
    Function& add(uint8_t b, uint8_t d, uint8_t f, uint16_t vendor, uint16_t device,
                  uint32_t class_rev, uint8_t header = 0) {
        Function& fn = m_functions[{b, d, f}];
        fn.regs[0] = vendor | (uint32_t(device) << 16);
        fn.regs[2] = class_rev;
        fn.regs[3] = uint32_t(header) << 16;
        return fn;
    }
    uint32_t read32(uint8_t b, uint8_t d, uint8_t f, uint16_t offset) override {
        ++reads;
        auto it = m_functions.find({b, d, f});
        if (it == m_functions.end())
            return 0xFFFFFFFF;
        return it->second.regs[offset / 4];
    }
    void write32(uint8_t b, uint8_t d, uint8_t f, uint16_t offset, uint32_t value) override {
        auto it = m_functions.find({b, d, f});
        if (it == m_functions.end())
            return;
        Function& fn = it->second;
        unsigned index = offset / 4;
        if (index >= 4 && index < 10) {
            unsigned bar = index - 4;
            uint32_t low_bits = fn.regs[index] & (fn.regs[index] & 1 ? 0x3 : 0xF);
            if (value == 0xFFFFFFFF)
                fn.regs[index] = fn.bar_mask[bar] | low_bits;
            else
                fn.regs[index] = value;
            return;
        }
        if (index == 1) {
            // The status half is read-only or write-one-to-clear: writing 0 keeps it.
            decode_writes += (value & 3) == 0;
            fn.regs[1] = (fn.regs[1] & 0xFFFF0000) | (value & 0xFFFF);
            return;
        }
        fn.regs[index] = value;
    }
    int reads = 0;
    int decode_writes = 0;

private:
    std::map<std::tuple<uint8_t, uint8_t, uint8_t>, Function> m_functions;
};

} // namespace

TEST_CASE("pci: functions, BARs, interrupts and capabilities") {
    SimBus bus;
    bus.add(0, 0, 0, 0x8086, 0x29C0, 0x06000002); // host bridge
    Function& nic = bus.add(0, 2, 0, 0x8086, 0x100E, 0x02000003);
    nic.regs[4] = 0xFEB80000; // 128 KiB memory BAR
    nic.bar_mask[0] = 0xFFFE0000;
    nic.regs[5] = 0x0000C001; // 64-byte I/O BAR
    nic.bar_mask[1] = 0xFFFFFFC0;
    nic.regs[15] = 0x0000010B; // INTA, line 11
    Function& vio = bus.add(0, 3, 0, 0x1AF4, 0x1041, 0x02000001);
    vio.regs[4] = 0xFE000004; // 64-bit memory BAR, 16 KiB, in BAR0/BAR1
    vio.bar_mask[0] = 0xFFFFC000;
    vio.regs[5] = 0;
    vio.bar_mask[1] = 0xFFFFFFFF;
    vio.regs[1] = 1u << 20; // capabilities
    vio.regs[13] = 0x40;
    vio.regs[16] = 0x00035011; // MSI-X at 0x40, table size 4, next 0x50
    vio.regs[20] = 0x00000005; // MSI at 0x50, last
    REQUIRE(bus.read32(0, 3, 0, 0x40) == 0x00035011);
    DeviceInfo out[8];
    pcibus::EnumerationStats stats;
    size_t n = pcibus::enumerate(bus, out, 8, stats);
    REQUIRE(n == 3);
    CHECK(stats.functions == 3);
    CHECK(stats.buses == 1);
    CHECK(out[0].class_code == 0x06);
    CHECK(out[1].device_id == 0x100E);
    CHECK(out[1].bars[0].kind == BarKind::kMemory32);
    CHECK(out[1].bars[0].base == 0xFEB80000);
    CHECK(out[1].bars[0].size == 0x20000);
    CHECK(out[1].bars[1].kind == BarKind::kIo);
    CHECK(out[1].bars[1].base == 0xC000);
    CHECK(out[1].bars[1].size == 0x40);
    CHECK(out[1].interrupt_pin == 1);
    CHECK(out[1].interrupt_line == 11);
    CHECK(out[2].bars[0].kind == BarKind::kMemory64);
    CHECK(out[2].bars[0].size == 0x4000);
    CHECK(out[2].bars[1].kind == BarKind::kNone); // the upper half is not a BAR
    CHECK(out[2].msix_offset == 0x40);
    CHECK(out[2].msix_entries == 4);
    CHECK(out[2].msi_offset == 0x50);
    CHECK(out[2].gsi == ~0u); // no interrupt pin
    // Every BAR register holds what it held before the probe.
    CHECK(bus.read32(0, 2, 0, 0x10) == 0xFEB80000);
    CHECK(bus.read32(0, 2, 0, 0x14) == 0x0000C001);
    CHECK(bus.decode_writes >= 2); // decoding was off during the probes
}

TEST_CASE("pci: multi-function devices and bridges, once each even in a loop") {
    SimBus bus;
    bus.add(0, 0, 0, 0x8086, 0x1237, 0x06000000);
    bus.add(0, 1, 0, 0x8086, 0x7000, 0x06010000, 0x80); // multi-function
    bus.add(0, 1, 1, 0x8086, 0x7010, 0x01018000);
    Function& bridge = bus.add(0, 4, 0, 0x1B36, 0x0001, 0x06040000, 1);
    bridge.regs[6] = 0x00010100; // secondary bus 1
    Function& loop = bus.add(1, 0, 0, 0x1B36, 0x0001, 0x06040000, 1);
    loop.regs[6] = 0x00000001; // its secondary bus is 0 again
    bus.add(1, 1, 0, 0x1234, 0x5678, 0x02000000);
    DeviceInfo out[16];
    pcibus::EnumerationStats stats;
    size_t n = pcibus::enumerate(bus, out, 16, stats);
    CHECK(n == 6);
    CHECK(stats.buses == 2);
    CHECK(out[2].address.function == 1);
    CHECK(out[5].address.bus == 1);
    // A table smaller than the bus: counted, not overrun.
    DeviceInfo small[2];
    n = pcibus::enumerate(bus, small, 2, stats);
    CHECK(n == 2);
    CHECK(stats.truncated == 4);
}

TEST_CASE("pci: broken capability lists and BARs are counted, not followed") {
    SimBus bus;
    Function& looped = bus.add(0, 5, 0, 0x1111, 0x2222, 0x02000000);
    looped.regs[1] = 1u << 20;
    looped.regs[13] = 0x40;
    looped.regs[16] = 0x00004009; // points at itself
    Function& low = bus.add(0, 6, 0, 0x1111, 0x2223, 0x02000000);
    low.regs[1] = 1u << 20;
    low.regs[13] = 0x10; // inside the header
    Function& last64 = bus.add(0, 7, 0, 0x1111, 0x2224, 0x02000000);
    last64.regs[9] = 0x00000004; // 64-bit BAR in slot 5
    last64.bar_mask[5] = 0xFFFFF000;
    Function& huge = bus.add(0, 8, 0, 0x1111, 0x2225, 0x02000000);
    huge.regs[4] = 0x00000004; // 64-bit BAR over 4 GiB
    huge.bar_mask[0] = 0x00000000;
    huge.bar_mask[1] = 0xFFFFFFF0;
    DeviceInfo out[8];
    pcibus::EnumerationStats stats;
    size_t n = pcibus::enumerate(bus, out, 8, stats);
    CHECK(n == 4);
    CHECK(stats.bad_capabilities == 2);
    CHECK(stats.bad_bars == 2);
    CHECK(out[2].bars[5].kind == BarKind::kNone);
    CHECK(out[3].bars[0].kind == BarKind::kNone);
}

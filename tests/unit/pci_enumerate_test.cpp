// Host tests for the PCI bus server's enumeration and header parsing
// (drivers/pci/portable) against a simulated configuration space: functions and
// bridges, BARs of every kind sized by the write-ones probe (with decoding off around
// it), capability lists, and bad input (BARs that are not powers of two or exceed 4 GiB,
// 64-bit BARs in the last slot, capability lists that loop or point out of range, bridge
// loops), each reported and never a hang; and the rule for a driver's config accesses.

#include <catch2/catch.hpp>

#include <drivers/pci/portable/enumerate.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using pci::Address;
using pci::BarKind;
using pci::DeviceInfo;

namespace {

struct Function {
    uint8_t bytes[256] = {};
    // Which bits of each BAR dword (0x10..0x27) stick when written; 0 for an unused BAR.
    uint32_t bar_mask[6] = {};
    bool bars_written_while_decoding = false;
};

class SimSpace final : public pci::ConfigSpace {
public:
    std::map<std::tuple<int, int, int>, Function> functions;
    uint64_t accesses = 0;

    Function& add(int bus, int dev, int fn, uint16_t vendor, uint16_t device, uint8_t header = 0) {
        Function& f = functions[{bus, dev, fn}];
        put(f, 0, 2, vendor);
        put(f, 2, 2, device);
        put(f, 0x0E, 1, header);
        return f;
    }
    static void put(Function& f, uint16_t offset, uint8_t width, uint32_t value) {
        for (int i = 0; i < width; ++i)
            f.bytes[offset + i] = uint8_t(value >> (8 * i));
    }
    static uint32_t get(const Function& f, uint16_t offset, uint8_t width) {
        uint32_t v = 0;
        for (int i = 0; i < width; ++i)
            v |= uint32_t(f.bytes[offset + i]) << (8 * i);
        return v;
    }
    // A BAR: its register value (address and flag bits) and the size it decodes.
    static void bar(Function& f, int index, uint32_t value, uint32_t size_mask) {
        put(f, uint16_t(0x10 + 4 * index), 4, value);
        f.bar_mask[index] = size_mask;
    }

    uint32_t read(Address a, uint16_t offset, uint8_t width) override {
        ++accesses;
        REQUIRE(offset % width == 0);
        REQUIRE(offset + width <= 256);
        auto it = functions.find({a.bus, a.device, a.function});
        if (it == functions.end())
            return width == 4 ? 0xFFFFFFFFu : (1u << (8 * width)) - 1;
        return get(it->second, offset, width);
    }
    void write(Address a, uint16_t offset, uint8_t width, uint32_t value) override {
        ++accesses;
        auto it = functions.find({a.bus, a.device, a.function});
        if (it == functions.end())
            return;
        Function& f = it->second;
        if (offset >= 0x10 && offset < 0x28) {
            REQUIRE(width == 4);
            int index = (offset - 0x10) / 4;
            if ((get(f, 0x04, 2) & 0x3) != 0 && value == 0xFFFFFFFFu)
                f.bars_written_while_decoding = true;
            uint32_t mask = f.bar_mask[index];
            uint32_t old = get(f, offset, 4);
            put(f, offset, 4, (value & mask) | (old & ~mask));
            return;
        }
        put(f, offset, width, value);
    }
    uint16_t limit() const override { return 256; }
};

struct Log final : pci::Diagnostics {
    std::vector<std::string> lines;
    void report(Address, const char* what, uint64_t) override { lines.push_back(what); }
    bool has(const char* text) const {
        for (auto& l : lines)
            if (l.find(text) != std::string::npos)
                return true;
        return false;
    }
};

std::vector<DeviceInfo> run(SimSpace& space, Log& log, size_t room = 64) {
    std::vector<DeviceInfo> out(room);
    pci::Enumeration e = pci::enumerate(space, {out.data(), out.size()}, log);
    out.resize(e.count);
    return out;
}

} // namespace

TEST_CASE("a q35-like bus: host bridge, e1000, multifunction LPC") {
    SimSpace space;
    space.add(0, 0, 0, 0x8086, 0x29C0);
    Function& nic = space.add(0, 2, 0, 0x8086, 0x100E);
    SimSpace::put(nic, 0x08, 4, 0x02000003);       // class 02 (network), subclass 00, rev 3
    SimSpace::bar(nic, 0, 0xFEB80000, 0xFFFE0000); // 128 KiB memory
    SimSpace::bar(nic, 1, 0x0000C001, 0xFFFFFFC1); // 64 I/O ports
    SimSpace::put(nic, 0x04, 2, 0x0003);
    SimSpace::put(nic, 0x3C, 1, 11);
    SimSpace::put(nic, 0x3D, 1, 1);
    space.add(0, 31, 0, 0x8086, 0x2918, 0x80);
    space.add(0, 31, 2, 0x8086, 0x2922);
    space.add(0, 31, 3, 0x8086, 0x2930);
    Log log;
    auto devices = run(space, log);
    REQUIRE(log.lines.empty());
    REQUIRE(devices.size() == 5);
    CHECK(devices[0].device_id == 0x29C0);
    const DeviceInfo& e = devices[1];
    CHECK(e.address.device == 2);
    CHECK(e.class_code == 0x02);
    CHECK(e.revision == 3);
    CHECK(e.bars[0].kind == BarKind::kMemory32);
    CHECK(e.bars[0].base == 0xFEB80000);
    CHECK(e.bars[0].size == 0x20000);
    CHECK(e.bars[1].kind == BarKind::kIo);
    CHECK(e.bars[1].base == 0xC000);
    CHECK(e.bars[1].size == 64);
    CHECK(e.bars[2].kind == BarKind::kNone);
    CHECK(e.interrupt_pin == 1);
    CHECK(e.gsi == 11);
    CHECK(devices[2].address.function == 0);
    CHECK(devices[3].address.function == 2);
    CHECK(devices[4].address.function == 3);
    // The probe ran with decoding off and left the command register and BARs as found.
    CHECK_FALSE(space.functions[{0, 2, 0}].bars_written_while_decoding);
    CHECK(SimSpace::get(space.functions[{0, 2, 0}], 0x04, 2) == 0x0003);
    CHECK(SimSpace::get(space.functions[{0, 2, 0}], 0x10, 4) == 0xFEB80000);
}

TEST_CASE("64-bit and prefetchable BARs; a 64-bit BAR in the last slot is refused") {
    SimSpace space;
    Function& f = space.add(0, 3, 0, 0x1AF4, 0x1041);
    SimSpace::bar(f, 0, 0xFE000000 | 0x8 | 0x4, 0xFFFFC000 | 0xC); // 16 KiB, 64-bit, pref
    SimSpace::bar(f, 1, 0x00000001, 0xFFFFFFFF);                   // high half: above 4G
    SimSpace::bar(f, 5, 0xFD000004, 0xFFFFF004);                   // 64-bit in slot 5
    Log log;
    auto devices = run(space, log);
    REQUIRE(devices.size() == 1);
    const DeviceInfo& d = devices[0];
    CHECK(d.bars[0].kind == BarKind::kMemory64);
    CHECK(d.bars[0].base == 0x1FE000000ull);
    CHECK(d.bars[0].size == 0x4000);
    CHECK(d.bars[0].prefetchable == 1);
    CHECK(d.bars[1].kind == BarKind::kNone); // the high half
    CHECK(d.bars[5].kind == BarKind::kNone);
    CHECK(log.has("64-bit BAR in the last slot"));
}

TEST_CASE("BARs with bad sizes, over 4 GiB, unassigned or of a reserved type are refused") {
    SimSpace space;
    Function& f = space.add(0, 4, 0, 0x1234, 0x5678);
    SimSpace::bar(f, 0, 0xFE000000, 0xFFF0F000); // not a power of two
    SimSpace::bar(f, 1, 0x00000004, 0xFFFFFFF4); // 64-bit...
    SimSpace::bar(f, 2, 0x00000000, 0x00000000); // ...whose high half is fixed: 8 GiB?
    SimSpace::bar(f, 3, 0x00000000, 0xFFFFF000); // not assigned
    SimSpace::bar(f, 4, 0xFE100002, 0xFFFFF002); // reserved type 1
    Log log;
    auto devices = run(space, log);
    REQUIRE(devices.size() == 1);
    for (int i = 0; i < 6; ++i)
        CHECK(devices[0].bars[i].kind == BarKind::kNone);
    CHECK(log.has("bad size or base"));
    CHECK(log.has("over 4 GiB"));
    CHECK(log.has("not assigned"));
    CHECK(log.has("reserved type"));
}

TEST_CASE("capability lists: MSI and MSI-X found; loops and wild pointers end the walk") {
    SimSpace space;
    Function& good = space.add(0, 5, 0, 0x1AF4, 0x1000);
    SimSpace::put(good, 0x06, 2, 0x0010);
    SimSpace::put(good, 0x34, 1, 0x40);
    SimSpace::put(good, 0x40, 1, 0x09); // vendor-specific
    SimSpace::put(good, 0x41, 1, 0x50);
    SimSpace::put(good, 0x50, 1, 0x05); // MSI
    SimSpace::put(good, 0x51, 1, 0x60);
    SimSpace::put(good, 0x60, 1, 0x11); // MSI-X, 3 entries
    SimSpace::put(good, 0x61, 1, 0x00);
    SimSpace::put(good, 0x62, 2, 0x0002);

    Function& loop = space.add(0, 6, 0, 0x1AF4, 0x1000);
    SimSpace::put(loop, 0x06, 2, 0x0010);
    SimSpace::put(loop, 0x34, 1, 0x40);
    SimSpace::put(loop, 0x40, 1, 0x09);
    SimSpace::put(loop, 0x41, 1, 0x44);
    SimSpace::put(loop, 0x44, 1, 0x05);
    SimSpace::put(loop, 0x45, 1, 0x40); // back to the start

    Function& wild = space.add(0, 7, 0, 0x1AF4, 0x1000);
    SimSpace::put(wild, 0x06, 2, 0x0010);
    SimSpace::put(wild, 0x34, 1, 0x20); // into the header

    Function& none = space.add(0, 8, 0, 0x1AF4, 0x1000);
    SimSpace::put(none, 0x34, 1, 0x40); // a pointer, but the status bit says no list

    Log log;
    auto devices = run(space, log);
    REQUIRE(devices.size() == 4);
    CHECK(devices[0].msi_offset == 0x50);
    CHECK(devices[0].msix_offset == 0x60);
    CHECK(devices[0].msix_entries == 3);
    CHECK(devices[1].msi_offset == 0x44);
    CHECK(log.has("capability list loops"));
    CHECK(log.has("capability pointer out of range"));
    CHECK(devices[3].msi_offset == 0);
    CHECK(log.lines.size() == 2);
}

TEST_CASE("bridges are followed once; a bridge loop is reported, not followed") {
    SimSpace space;
    Function& bridge = space.add(0, 1, 0, 0x8086, 0x0001, 0x01);
    SimSpace::put(bridge, 0x19, 1, 1);
    space.add(1, 0, 0, 0x8086, 0x100E);
    Function& back = space.add(1, 1, 0, 0x8086, 0x0001, 0x01);
    SimSpace::put(back, 0x19, 1, 0); // leads back to bus 0
    Function& again = space.add(1, 2, 0, 0x8086, 0x0001, 0x01);
    SimSpace::put(again, 0x19, 1, 1); // to itself
    Log log;
    auto devices = run(space, log);
    REQUIRE(devices.size() == 4);
    CHECK(devices[1].address.bus == 1);
    CHECK(log.lines.size() == 2);
    CHECK(log.has("already scanned"));
}

TEST_CASE("odd functions: vendor 0, unknown layout, pin out of range, no route, full table") {
    SimSpace space;
    space.add(0, 1, 0, 0x0000, 0x1234);
    space.add(0, 2, 0, 0x1234, 0x0002, 0x02); // CardBus: identity only
    Function& pin = space.add(0, 3, 0, 0x1234, 0x0003);
    SimSpace::put(pin, 0x3D, 1, 7);
    SimSpace::put(pin, 0x3C, 1, 5);
    Function& unrouted = space.add(0, 4, 0, 0x1234, 0x0004);
    SimSpace::put(unrouted, 0x3D, 1, 1);
    SimSpace::put(unrouted, 0x3C, 1, 0xFF);
    Log log;
    auto devices = run(space, log);
    REQUIRE(devices.size() == 3);
    CHECK(log.has("vendor id 0"));
    CHECK(log.has("unknown header layout"));
    CHECK(log.has("interrupt pin out of range"));
    CHECK(devices[1].interrupt_pin == 0);
    CHECK(devices[1].gsi == pci::kNoGsi);
    CHECK(devices[2].gsi == pci::kNoGsi);

    Log full_log;
    auto two = run(space, full_log, 2);
    CHECK(two.size() == 2);
    CHECK(full_log.has("more functions than the table holds"));
}

TEST_CASE("random configuration spaces always enumerate in bounded time") {
    std::mt19937 rng(20240601);
    for (int round = 0; round < 300; ++round) {
        SimSpace space;
        int functions = int(rng() % 40);
        for (int i = 0; i < functions; ++i) {
            int bus = int(rng() % 4), dev = int(rng() % 32), fn = int(rng() % 8);
            Function& f = space.functions[{bus, dev, fn}];
            for (auto& b : f.bytes)
                b = uint8_t(rng());
            for (auto& m : f.bar_mask)
                m = uint32_t(rng());
        }
        Log log;
        std::vector<DeviceInfo> out(64);
        space.accesses = 0;
        pci::Enumeration e = pci::enumerate(space, {out.data(), out.size()}, log);
        CHECK(e.count <= 64);
        CHECK(e.buses <= 256);
        // At most 256 buses x 32 devices x 8 functions, each a bounded number of accesses.
        CHECK(space.accesses < 256ull * 32 * 8 * 200);
        for (uint32_t i = 0; i < e.count; ++i)
            for (auto& bar : out[i].bars)
                if (bar.kind != BarKind::kNone) {
                    CHECK(bar.size != 0);
                    CHECK((bar.size & (bar.size - 1)) == 0);
                    CHECK(bar.base % bar.size == 0);
                }
    }
}

TEST_CASE("a driver's config accesses: widths, alignment, range, BARs and ROM refused") {
    using base::Error;
    CHECK(pci::check_config_access(0x00, 4, false, 256, 0) == Error::OK);
    CHECK(pci::check_config_access(0x04, 2, true, 256, 0) == Error::OK);
    CHECK(pci::check_config_access(0x3C, 1, true, 256, 0) == Error::OK);
    CHECK(pci::check_config_access(0xFC, 4, true, 256, 0) == Error::OK);
    CHECK(pci::check_config_access(0x100, 4, false, 256, 0) == Error::INVALID_ARGUMENT);
    CHECK(pci::check_config_access(0x100, 4, false, 4096, 0) == Error::OK);
    CHECK(pci::check_config_access(0x02, 4, false, 256, 0) == Error::INVALID_ARGUMENT);
    CHECK(pci::check_config_access(0x03, 2, false, 256, 0) == Error::INVALID_ARGUMENT);
    CHECK(pci::check_config_access(0x04, 3, false, 256, 0) == Error::INVALID_ARGUMENT);
    CHECK(pci::check_config_access(0x04, 8, false, 256, 0) == Error::INVALID_ARGUMENT);
    CHECK(pci::check_config_access(0x10, 4, false, 256, 0) == Error::OK);
    CHECK(pci::check_config_access(0x10, 4, true, 256, 0) == Error::ACCESS_DENIED);
    CHECK(pci::check_config_access(0x33, 1, true, 256, 0) == Error::ACCESS_DENIED);
    CHECK(pci::check_config_access(0x0F, 1, true, 256, 0) == Error::OK);
    CHECK(pci::check_config_access(0x34, 1, true, 256, 0) == Error::OK);
    CHECK(pci::check_config_access(0x38, 4, true, 256, 1) == Error::ACCESS_DENIED);
    CHECK(pci::check_config_access(0x38, 4, true, 256, 0) == Error::OK);
}

TEST_CASE("a driver may not write the interrupt capabilities the server programs") {
    using base::Error;
    DeviceInfo info = {};
    info.msi_offset = 0x50;
    info.msix_offset = 0x70;
    CHECK(pci::check_driver_access(info, 0x50, 4, false, 256) == Error::OK);
    CHECK(pci::check_driver_access(info, 0x50, 2, true, 256) == Error::OK); // id and next
    CHECK(pci::check_driver_access(info, 0x52, 2, true, 256) == Error::ACCESS_DENIED);
    CHECK(pci::check_driver_access(info, 0x54, 4, true, 256) == Error::ACCESS_DENIED);
    CHECK(pci::check_driver_access(info, 0x5C, 2, true, 256) == Error::ACCESS_DENIED);
    CHECK(pci::check_driver_access(info, 0x5E, 2, true, 256) == Error::OK);
    CHECK(pci::check_driver_access(info, 0x70, 4, true, 256) == Error::ACCESS_DENIED);
    CHECK(pci::check_driver_access(info, 0x74, 4, true, 256) == Error::OK);
    CHECK(pci::check_driver_access(info, 0x10, 4, true, 256) == Error::ACCESS_DENIED);
    CHECK(pci::check_driver_access(info, 0x04, 2, true, 256) == Error::OK);
    CHECK(pci::check_driver_access(info, 0x04, 3, true, 256) == Error::INVALID_ARGUMENT);
    info.msi_offset = info.msix_offset = 0;
    CHECK(pci::check_driver_access(info, 0x52, 2, true, 256) == Error::OK);
}

#pragma once
// The PCI protocol: the PCI bus server (drivers/pci, registered as "pci") enumerates the
// buses and hands each device to one driver, which then reaches its own function and
// nothing else.
//
// Two kinds of port speak it:
//
//   the bus port ("pci"): List (anyone: lspci), Claim (init only, through Trust below):
//       claiming a function gives a *device port*, a send right to a port the server
//       keeps for that one function;
//   a device port: Info, ConfigRead, ConfigWrite, MapBar, Interrupt. init passes it to
//       the driver it starts for the device (TERN_STARTUP_PRIVATE), so a driver holds
//       exactly one device and the server checks every access against it.
//
// A function has one device port at a time. Only trusted tasks (init) claim, and init
// claims a function again only after its driver ended, so a second Claim revokes the
// earlier device port (its holders get PEER_CLOSED; the kernel cannot tell the server
// when the last send right of a port goes). Before handing the function out, the server
// disables bus mastering and the function's interrupts (INTx, MSI, MSI-X), so a new
// driver never sees DMA or interrupts set up by the dead one.
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::pci {

inline constexpr uint32_t kMaxDevices = 64;
inline constexpr uint32_t kBarCount = 6;

// Where a function sits: segment 0, bus, device (slot) 0-31, function 0-7.
struct Address {
    uint8_t bus;
    uint8_t device;
    uint8_t function;
    uint8_t reserved;
};

enum class BarKind : uint8_t {
    kNone = 0,
    kIo = 1,
    kMemory32 = 2,
    kMemory64 = 3
};

struct Bar {
    uint64_t base; // bus address (I/O port or physical address), 0 when unused
    uint32_t size; // bytes; 0 when unused (BARs over 4 GiB are refused at enumeration)
    BarKind kind;
    uint8_t prefetchable;
    uint16_t reserved;
};

// One function as enumeration found it.
struct DeviceInfo {
    Address address;
    uint16_t vendor_id;
    uint16_t device_id;
    uint16_t subsystem_vendor_id;
    uint16_t subsystem_id;
    uint8_t class_code;
    uint8_t subclass;
    uint8_t prog_if;
    uint8_t revision;
    uint8_t header_type;
    uint8_t interrupt_pin;  // 0 none, 1-4 INTA-INTD
    uint8_t interrupt_line; // what firmware wrote (an ISA line on legacy machines)
    uint8_t reserved0;
    uint16_t msi_offset;   // config-space offset of the MSI capability, 0 if none
    uint16_t msix_offset;  // of the MSI-X capability, 0 if none
    uint16_t msix_entries; // MSI-X table size (entries), 0 if none
    uint16_t reserved1;
    uint32_t gsi; // the IOAPIC input INTx is routed to, ~0u when unknown
    Bar bars[kBarCount];
};

// ---- the bus port ----

struct ListResponse {
    uint32_t count;  // DeviceInfo records in the reply data
    uint32_t method; // 1: configuration ports 0xCF8/0xCFC, 2: ECAM (MCFG)
};
// reply data: count DeviceInfo records in bus/device/function order.
using List = proto::Op<1, proto::Empty, ListResponse,
                       proto::Limits{.response_data = kMaxDevices * sizeof(DeviceInfo)}>;

struct ClaimRequest {
    Address address;
};
// reply handles[0] = the device port (SEND); an earlier claim's port is revoked.
// NOT_FOUND: no such function; ACCESS_DENIED: the caller is not trusted (only init
// claims); NO_SPACE: the server serves as many device ports as it can.
using Claim = proto::Op<2, ClaimRequest, proto::Empty, proto::Limits{.response_handles = 1}>;

// The server trusts the task in handles[0] to Claim; the first Trust is open, later ones
// come only from a trusted task (init trusts itself at start).
using Trust = proto::Op<3, proto::Empty, proto::Empty, proto::Limits{.request_handles = 1}>;

// ---- a device port ----

// reply data: the function's DeviceInfo.
using Info =
    proto::Op<16, proto::Empty, proto::Empty, proto::Limits{.response_data = sizeof(DeviceInfo)}>;

struct ConfigRequest {
    uint16_t offset; // naturally aligned for width; below 256 (ports) or 4096 (ECAM)
    uint8_t width;   // 1, 2 or 4 bytes
    uint8_t reserved;
    uint32_t value; // ConfigWrite only
};
struct ConfigResponse {
    uint32_t value;
};
// INVALID_ARGUMENT: bad width, misaligned or out-of-range offset.
using ConfigRead = proto::Op<17, ConfigRequest, ConfigResponse>;
// ACCESS_DENIED for the BARs and the expansion ROM (0x10-0x33) and the MSI and MSI-X
// control, address and data registers, which the server owns (it programs interrupts);
// the command register's bus-master and memory/I-O enable bits and device registers are
// the driver's.
using ConfigWrite = proto::Op<18, ConfigRequest, proto::Empty>;

struct MapBarRequest {
    uint32_t index; // 0-5
};
struct MapBarResponse {
    uint64_t size;
    BarKind kind;
    uint8_t reserved[7];
};
// A memory BAR: reply handles[0] = a memory object over exactly the BAR (uncached MMIO),
// and the function's memory decoding is enabled. An I/O BAR: handles[0] = an I/O
// resource covering exactly its ports (for ioport_enable), I/O decoding enabled.
// NOT_FOUND: the BAR is unused.
using MapBar = proto::Op<19, MapBarRequest, MapBarResponse, proto::Limits{.response_handles = 1}>;

enum class InterruptKind : uint32_t {
    kAny = 0,
    kMsix = 1,
    kMsi = 2,
    kIntx = 3
};
struct InterruptRequest {
    InterruptKind kind; // kAny: MSI-X, else MSI, else INTx
    uint32_t count;     // vectors wanted (>= 1); MSI-X/MSI may give fewer
};
struct InterruptResponse {
    InterruptKind kind; // what was set up
    uint32_t count;     // IRQ objects in the reply handles, vector i in handles[i]
};
// Sets up the function's interrupts and returns IRQ objects (irq_bind/irq_ack as for
// any IRQ): for MSI-X and MSI the server allocates the vectors and programs the
// capability (and the MSI-X table), so the driver never sees addresses; for INTx the
// object is the routed level-triggered line, masked from each interrupt until irq_ack.
// A second Interrupt call replaces the first (the earlier objects stop firing).
// NOT_SUPPORTED: the kind asked for is not there.
using Interrupt =
    proto::Op<20, InterruptRequest, InterruptResponse, proto::Limits{.response_handles = 4}>;

// The most DMA memory objects one device port holds pinned.
inline constexpr uint32_t kMaxPinned = 8;
struct PinDmaResponse {
    uint32_t pinned; // memory objects the device port now holds
    uint32_t reserved;
};
// handles[0] = a memory object the device reads or writes by itself (rings, buffers),
// with every right (TERN_RIGHTS_SAME). The server keeps it until the function is
// quiesced at the next Claim, so the pages cannot go back to the allocator while the
// device may still master the bus: a driver that dies leaves its DMA memory to the
// server, not to whatever the allocator hands the pages to next. Pin every DMA buffer
// before the device learns its address. WRONG_TYPE: not a physically backed memory
// object with CONTROL; NO_SPACE: kMaxPinned already held.
using PinDma = proto::Op<21, proto::Empty, PinDmaResponse, proto::Limits{.request_handles = 1}>;

} // namespace tern::pci

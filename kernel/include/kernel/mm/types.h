#pragma once

// Vocabulary shared by the physical memory code: page size, physical ranges and the
// translation from a physical address to a pointer the code can dereference.
//
// The memory manager never dereferences a physical address directly. In the kernel the
// translation adds the direct-map base; in host tests it maps the simulated physical
// space onto malloc'd arenas. Both go through PhysToVirt, so one implementation serves
// both worlds.

#include <stddef.h>
#include <stdint.h>

namespace kernel::mm {

inline constexpr unsigned kPageShift = 12;
inline constexpr uint64_t kPageSize = uint64_t(1) << kPageShift;

// x86-64 caps physical addresses at 52 bits. Firmware entries beyond that are junk, and
// keeping every range below it means base + length never overflows in the memory code.
inline constexpr uint64_t kPhysAddressLimit = uint64_t(1) << 52;

// A half-open physical range [base, base + length).
struct PhysRange {
    uint64_t base;
    uint64_t length;

    constexpr uint64_t end() const { return base + length; }
};

// Translates a physical address to a usable pointer. The translation must be contiguous
// within each usable range handed to the page allocator (as a direct map is), because the
// allocator's metadata array is addressed as one object; it need not be contiguous across
// ranges, which lets tests map a sparse physical space onto separate arenas.
struct PhysToVirt {
    void* (*translate)(uint64_t phys, void* ctx) = nullptr;
    void* ctx = nullptr;

    void* operator()(uint64_t phys) const { return translate(phys, ctx); }

    // The kernel's case: virtual = offset + physical.
    static PhysToVirt direct_map(uintptr_t offset) {
        return PhysToVirt{&direct_map_translate, reinterpret_cast<void*>(offset)};
    }

private:
    static void* direct_map_translate(uint64_t phys, void* ctx) {
        return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(ctx) + phys);
    }
};

} // namespace kernel::mm

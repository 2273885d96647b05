#pragma once

// Simulated physical memory for the memory-management tests: each physical range is
// backed by its own page-aligned host arena, and the translation maps a physical address
// to its arena. Ranges may sit anywhere in the 52-bit physical space (above 4 GiB, with
// holes between them) while the host only allocates what the ranges cover.

#include <kernel/mm/types.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <vector>

namespace mm_test {

class SimMemory {
public:
    struct Region {
        uint64_t base;
        uint64_t size;
        uint8_t* memory;
    };

    SimMemory(std::initializer_list<kernel::mm::PhysRange> ranges) {
        for (const auto& range : ranges) {
            auto* memory =
                static_cast<uint8_t*>(std::aligned_alloc(kernel::mm::kPageSize, range.length));
            if (memory == nullptr) {
                std::fprintf(stderr, "SimMemory: cannot allocate %llu bytes\n",
                             static_cast<unsigned long long>(range.length));
                std::abort();
            }
            // A recognisable pattern, so tests notice reads of memory nobody wrote.
            std::memset(memory, 0x5a, range.length);
            m_regions.push_back({range.base, range.length, memory});
        }
    }

    ~SimMemory() {
        for (auto& region : m_regions)
            std::free(region.memory);
    }

    SimMemory(const SimMemory&) = delete;
    SimMemory& operator=(const SimMemory&) = delete;

    kernel::mm::PhysToVirt translation() { return {&SimMemory::translate, this}; }

    std::vector<kernel::mm::PhysRange> ranges() const {
        std::vector<kernel::mm::PhysRange> out;
        for (const auto& region : m_regions)
            out.push_back({region.base, region.size});
        return out;
    }

    bool contains(uint64_t phys, uint64_t length = 1) const {
        for (const auto& region : m_regions) {
            if (phys >= region.base && phys - region.base + length <= region.size)
                return true;
        }
        return false;
    }

    void* at(uint64_t phys) { return translate(phys, this); }

    // Translating an address outside every region is a bug in the code under test: it
    // would be a wild access in the kernel. Stop loudly.
    static void* translate(uint64_t phys, void* ctx) {
        auto* self = static_cast<SimMemory*>(ctx);
        for (const auto& region : self->m_regions) {
            if (phys >= region.base && phys - region.base < region.size)
                return region.memory + (phys - region.base);
        }
        std::fprintf(stderr, "SimMemory: translation of unbacked physical address %#llx\n",
                     static_cast<unsigned long long>(phys));
        std::abort();
    }

private:
    std::vector<Region> m_regions;
};

} // namespace mm_test

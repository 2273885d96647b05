#pragma once

// How many address spaces hold each shared physical page: the copy-on-write counts of
// task_clone (docs/kernel.md, "Copy-on-write clones").
//
// A private page belongs to one task until a clone shares it; only shared pages are
// recorded, so a page with no entry has exactly one holder. The counts live in an
// open-addressing hash table (linear probing, deletion by backward shift) keyed by page
// frame number, at most half full. The table's storage comes from the allocator given at
// construction and goes back to it when the last shared page is released and nothing is
// reserved, so the kernel spends nothing on it while no page is shared.
//
// reserve() makes room first, so that share() itself never allocates; share_growing()
// makes room as it goes, for a caller that can stop half-way (a clone being built, which
// is dropped whole when it fails).
//
// Not thread-safe: the kernel serialises access (its address-space lock).

#include <base/result.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::mm {

class PageShares {
public:
    using Allocate = void* (*)(size_t bytes);
    using Release = void (*)(void* memory);

    constexpr PageShares(Allocate allocate, Release release)
        : m_allocate(allocate), m_release(release) {}
    PageShares(const PageShares&) = delete;
    PageShares& operator=(const PageShares&) = delete;
    // Trivially destructible, so the kernel's instance needs no exit hook: the storage
    // goes back with the last shared page (or with reset()).
    ~PageShares() = default;

    // Forgets every count and returns the storage (for tests).
    void reset();

    // Holders of the page at phys (page-aligned): 1 when it is not recorded.
    [[nodiscard]] uint32_t holders(uint64_t phys) const;

    // Room to record `more` pages not yet recorded without allocating. NO_MEMORY.
    [[nodiscard]] base::Result<void> reserve(size_t more);

    // Gives back what reserve() set aside and share() did not use.
    void end_reservation();

    // One more holder of the page. A page not yet recorded goes from 1 to 2 holders and
    // needs room reserved beforehand (asserted).
    void share(uint64_t phys);

    // share() that makes room itself when nothing is reserved, doubling the table (a
    // clone that records its pages as it finds them, in one walk). NO_MEMORY, with
    // nothing changed.
    [[nodiscard]] base::Result<void> share_growing(uint64_t phys);

    // One holder fewer; returns how many are left. 0 means the caller held the page alone
    // and now frees it; otherwise it stays with the others (and at 1 the entry goes: the
    // last holder owns the page again and may write it in place).
    uint32_t release(uint64_t phys);

    // Pages recorded (held by two or more), and the table's slot count.
    [[nodiscard]] size_t shared_pages() const { return m_count; }
    [[nodiscard]] size_t capacity() const { return m_capacity; }

private:
    // One slot: the frame number + 1 in the low 40 bits (0: empty; physical addresses have
    // at most 52 bits) and the holders in the high 24 (far more than tasks can exist).
    struct Entry {
        uint64_t m_bits;
        static constexpr uint64_t kKeyMask = (1ull << 40) - 1;
        uint64_t key() const { return m_bits & kKeyMask; }
        uint64_t holders() const { return m_bits >> 40; }
        void set(uint64_t key, uint64_t holders) { m_bits = key | (holders << 40); }
    };

    [[nodiscard]] size_t slot_of(uint64_t pfn) const;
    [[nodiscard]] Entry* find(uint64_t pfn) const;
    void insert(Entry* table, size_t capacity, uint64_t pfn, uint64_t holders);
    void erase(Entry* entry);

    Allocate m_allocate;
    Release m_release;
    Entry* m_table = nullptr;
    size_t m_capacity = 0; // a power of two, or 0
    size_t m_count = 0;
    size_t m_reserved = 0; // pages share() may still add without passing the load bound
};

} // namespace kernel::mm

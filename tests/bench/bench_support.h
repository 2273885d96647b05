#pragma once
// What the in-guest benchmark programs share: the time stamp counter (guest instructions
// under QEMU's -icount) and the median of a set of samples.
#include <stddef.h>
#include <stdint.h>

namespace bench {

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t(hi) << 32) | lo;
}

// Sorts the samples (a few hundred at most: insertion sort) so that v[0] is the minimum
// and v[n / 2] the median.
inline void sort(uint64_t* v, size_t n) {
    for (size_t i = 1; i < n; ++i)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; --j) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

} // namespace bench

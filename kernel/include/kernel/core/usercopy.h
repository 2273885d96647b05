#pragma once
// Copies between kernel memory and user memory of the current task. A user address is a
// plain uint64_t that only these functions dereference: each checks that the range lies
// in user space, opens SMAP for the copy only, and turns a fault into BAD_ADDRESS.
#include <base/result.h>
#include <kernel/arch/x86_64/page_table.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel {

[[nodiscard]] base::Result<void> copy_from_user(void* dst, uint64_t user_src, size_t n);
[[nodiscard]] base::Result<void> copy_to_user(uint64_t user_dst, const void* src, size_t n);
// True when [addr, addr+n) lies inside user space (n may be 0). Inline: every user copy
// and every plan of a direct data-part copy asks it.
inline bool user_range_ok(uint64_t addr, size_t n) {
    return addr >= x86_64::kUserSpaceStart && addr < x86_64::kUserSpaceEnd
           && n <= x86_64::kUserSpaceEnd - addr;
}
bool smap_enabled();

template<typename T>
base::Result<void> copy_from_user(T& dst, uint64_t user_src) {
    return copy_from_user(&dst, user_src, sizeof(T));
}
template<typename T>
base::Result<void> copy_to_user(uint64_t user_dst, const T& src) {
    return copy_to_user(user_dst, &src, sizeof(T));
}

} // namespace kernel

#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/page_table.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/core/task.h>
#include <kernel/core/thread.h>
#include <kernel/core/usercopy.h>

namespace kernel {

namespace {

struct CopyRequest {
    void* dst;
    const void* src;
    size_t n;
};

// Runs with a recovery point armed: a fault that the page-fault handler cannot resolve
// (no region, wrong access) resumes in try_call with the vector.
[[clang::no_builtin("memcpy")]] void do_copy(void* arg) {
    auto* req = static_cast<CopyRequest*>(arg);
    auto* d = static_cast<uint8_t*>(req->dst);
    const auto* s = static_cast<const uint8_t*>(req->src);
    size_t n = req->n;
    // Whole words, then bytes (unaligned 8-byte moves are fine on x86). Every access
    // happens in this function, under the recovery point.
    for (; n >= 32; n -= 32, d += 32, s += 32) {
        uint64_t w0, w1, w2, w3;
        __builtin_memcpy(&w0, s, 8);
        __builtin_memcpy(&w1, s + 8, 8);
        __builtin_memcpy(&w2, s + 16, 8);
        __builtin_memcpy(&w3, s + 24, 8);
        __builtin_memcpy(d, &w0, 8);
        __builtin_memcpy(d + 8, &w1, 8);
        __builtin_memcpy(d + 16, &w2, 8);
        __builtin_memcpy(d + 24, &w3, 8);
    }
    for (; n >= 8; n -= 8, d += 8, s += 8) {
        uint64_t w;
        __builtin_memcpy(&w, s, 8);
        __builtin_memcpy(d, &w, 8);
    }
    for (; n; --n)
        *d++ = *s++;
}
base::Result<void> guarded_copy(void* dst, const void* src, size_t n) {
    CopyRequest req{dst, src, n};
    bool smap = smap_enabled();
    if (smap)
        asm volatile("stac" ::: "memory");
    int64_t fault = x86_64::try_call(do_copy, &req);
    if (smap)
        asm volatile("clac" ::: "memory");
    if (fault >= 0)
        return base::Error::BAD_ADDRESS;
    return {};
}

} // namespace

bool smap_enabled() {
    // CR4 does not change after boot; read it once.
    static int cached = -1;
    if (cached < 0)
        cached = (x86_64::read_cr4() & x86_64::kCr4Smap) ? 1 : 0;
    return cached == 1;
}

bool user_range_ok(uint64_t addr, size_t n) {
    if (addr < x86_64::kUserSpaceStart || addr >= x86_64::kUserSpaceEnd)
        return false;
    return n <= x86_64::kUserSpaceEnd - addr;
}

namespace {
// The region map decides what the task may access; page tables alone cannot (a no-access
// page stays present for the kernel).
bool task_allows(uint64_t addr, size_t n, bool write) {
    Thread* t = current_thread();
    return !t || !t->task() || t->task()->user_access_ok(addr, n, write);
}
} // namespace

base::Result<void> copy_from_user(void* dst, uint64_t user_src, size_t n) {
    if (n == 0)
        return {};
    if (!user_range_ok(user_src, n) || !task_allows(user_src, n, false))
        return base::Error::BAD_ADDRESS;
    return guarded_copy(dst, reinterpret_cast<const void*>(user_src), n);
}

base::Result<void> copy_to_user(uint64_t user_dst, const void* src, size_t n) {
    if (n == 0)
        return {};
    if (!user_range_ok(user_dst, n) || !task_allows(user_dst, n, true))
        return base::Error::BAD_ADDRESS;
    return guarded_copy(reinterpret_cast<void*>(user_dst), src, n);
}

} // namespace kernel

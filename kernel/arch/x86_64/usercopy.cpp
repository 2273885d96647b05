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
    auto* d = static_cast<volatile uint8_t*>(req->dst);
    const auto* s = static_cast<const volatile uint8_t*>(req->src);
    size_t n = req->n;
    if (((reinterpret_cast<uintptr_t>(d) | reinterpret_cast<uintptr_t>(s)) & 7) == 0) {
        for (; n >= 8; n -= 8, d += 8, s += 8)
            *reinterpret_cast<volatile uint64_t*>(d) =
                *reinterpret_cast<const volatile uint64_t*>(s);
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

bool smap_enabled() { return x86_64::read_cr4() & x86_64::kCr4Smap; }

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

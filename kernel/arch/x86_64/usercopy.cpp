#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/page_table.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/core/usercopy.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>

extern "C" int64_t kernel_user_copy(void* dst, const void* src, size_t n,
                                    kernel::x86_64::RecoveryPoint* rp);

namespace kernel {

namespace {

base::Result<void> guarded_copy(void* dst, const void* src, size_t n) {
    bool smap = smap_enabled();
    if (smap)
        asm volatile("stac" ::: "memory");
    int64_t fault = kernel_user_copy(dst, src, n, &x86_64::this_cpu().recovery);
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

namespace {
// The region map decides what the task may access; page tables alone cannot (a no-access
// page stays present for the kernel).
bool task_allows(uint64_t addr, size_t n, bool write) {
    Thread* t = current_thread();
    if (!t || !t->task() || !t->task()->copies_need_region_check())
        return true;
    return t->task()->user_access_ok(addr, n, write);
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

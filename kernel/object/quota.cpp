// Kernel-memory accounts of tasks.
#include <kernel/core/memory.h>
#include <kernel/object/quota.h>
#include <kernel/object/thread.h>

namespace kernel {

namespace {

// Every task has an account, so spawning one would pay the hardened heap's allocate and
// free (about 850 instructions together) for it; freed accounts wait here instead.
constexpr size_t kPoolMax = 16;
void* g_pool[kPoolMax];
size_t g_pool_size = 0;

} // namespace

KernelAccount::KernelAccount(const KernelQuotas& limits)
    : m_limits{limits.ports, limits.replies, limits.memory_objects, limits.watches, limits.tasks},
      m_data_limit(limits.message_data_bytes) {}

KernelAccount* KernelAccount::create(const KernelQuotas& limits) {
    InterruptGuard guard;
    if (g_pool_size > 0)
        return new (g_pool[--g_pool_size]) KernelAccount(limits);
    return new (kNoThrow) KernelAccount(limits);
}

void KernelAccount::destroy() {
    this->~KernelAccount();
    InterruptGuard guard;
    if (g_pool_size < kPoolMax)
        g_pool[g_pool_size++] = this;
    else
        ::operator delete(static_cast<void*>(this));
}

} // namespace kernel

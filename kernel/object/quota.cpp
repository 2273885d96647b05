// Kernel-memory accounts of tasks.
#include <kernel/core/memory.h>
#include <kernel/object/quota.h>

namespace kernel {

KernelAccount::KernelAccount(const KernelQuotas& limits)
    : m_limits{limits.ports, limits.replies, limits.memory_objects, limits.watches, limits.tasks},
      m_data_limit(limits.message_data_bytes) {}

KernelAccount* KernelAccount::create(const KernelQuotas& limits) {
    return new (kNoThrow) KernelAccount(limits);
}

void KernelAccount::destroy() { delete this; }

} // namespace kernel

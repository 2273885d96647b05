// Self-tests of tasks: address-space regions.
#include <kernel/object/task.h>
#include <kernel/test/ktest.h>
#include <tern/abi/syscalls.h>

namespace kernel {
using namespace x86_64;

namespace {

KTEST(task, adjacent_anonymous_memory_shares_one_region) {
    auto created = Task::create("regions");
    KEXPECT_OK(created);
    obj::Ref<Task> task = obj::Ref<Task>::adopt(created.value());
    // Far more pieces than there are region slots: they merge.
    uint64_t first = 0;
    for (int i = 0; i < 600; ++i) {
        auto a = task->vm_allocate(kPageSize, TERN_PROT_READ | TERN_PROT_WRITE);
        KEXPECT_OK(a);
        if (i == 0)
            first = a.value();
        KEXPECT_EQ(a.value(), first + uint64_t(i) * kPageSize);
    }
    KEXPECT_EQ(task->regions().size(), size_t(1));
    // A different protection starts a new region; freeing from the middle splits.
    KEXPECT_OK(task->vm_allocate(kPageSize, TERN_PROT_READ));
    KEXPECT_EQ(task->regions().size(), size_t(2));
    KEXPECT_OK(task->vm_free(first + 10 * kPageSize, kPageSize));
    KEXPECT_EQ(task->regions().size(), size_t(3));
    KEXPECT_EQ(task->memory_used(), uint64_t(600) * kPageSize);
    task->kill(0, nullptr);
}

} // namespace
} // namespace kernel

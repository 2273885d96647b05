#include <base/utility.h>
#include <kernel/core/boot.h>
#include <kernel/core/boot_grants.h>
#include <kernel/core/clock.h>
#include <kernel/core/loader.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/lib/multiboot2.h>
#include <lib/elf.h>

namespace kernel {

base::Span<const uint8_t> find_boot_module(base::StringView name) {
    const mb2::BootInfo& info = boot_info();
    for (size_t i = 0; i < info.module_count; ++i) {
        const auto& m = info.modules[i];
        if (m.name == name)
            return base::Span<const uint8_t>(phys_to_virt<const uint8_t>(m.start), m.end - m.start);
    }
    return {};
}

base::Result<Task*> spawn_program(base::Span<const uint8_t> image, const char* name, uint64_t arg,
                                  uint8_t priority, bool grant_devices) {
    elf::LoadPlan plan;
    elf::LoadLimits limits;
    limits.user_end = kUserStackTop - kUserStackSize - x86_64::kPageSize;
    if (auto r = elf::parse(image, limits, plan); r.is_error()) {
        log::warn("loader: '{}' is not a loadable program: {}", name, r.error());
        return r.error();
    }
    Task* task = TRY(Task::create(name));
    auto fail = [&](base::Error e) -> base::Result<Task*> {
        log::warn("loader: starting '{}' failed: {}", name, e);
        task->kill(-1, "load failed");
        task->release_ref();
        return e;
    };
    for (size_t i = 0; i < plan.segment_count; ++i) {
        const elf::Segment& s = plan.segments[i];
        uint64_t start = base::align_down(s.vaddr, x86_64::kPageSize);
        uint64_t end = base::align_up(s.vaddr + s.memsz, x86_64::kPageSize);
        if (auto r = task->vm_allocate(end - start, s.prot, kRegionImage, start); r.is_error())
            return fail(r.error());
        if (s.filesz) {
            auto bytes = image.subspan(s.file_offset, s.filesz);
            if (auto r = task->write_memory(s.vaddr, bytes); r.is_error())
                return fail(r.error());
        }
    }
    if (auto r = task->vm_allocate(kUserStackSize, TERN_PROT_READ | TERN_PROT_WRITE, kRegionStack,
                                   kUserStackTop - kUserStackSize);
        r.is_error())
        return fail(r.error());
    task->add_ref();
    if (auto r = task->handles().insert_at(TERN_HANDLE_SELF, obj::Ref<obj::KObject>::adopt(task),
                                           TERN_RIGHTS_ALL & ~TERN_RIGHT_RECEIVE);
        r.is_error())
        return fail(r.error());
    if (grant_devices) {
        if (auto r = grant_device_resources(*task); r.is_error())
            return fail(r.error());
        if (auto r = grant_boot_modules(*task); r.is_error())
            return fail(r.error());
    }
    auto thread = thread_create_user(*task, plan.entry, kUserStackTop, arg, priority);
    if (thread.is_error())
        return fail(thread.error());
    make_ready(*thread.value());
    log::debug("loader: started '{}' as task {} (entry {:#x})", name, task->id(), plan.entry);
    return task;
}

} // namespace kernel

namespace kernel {

base::Result<int64_t> run_module_to_exit(const char* name, uint64_t arg, uint64_t timeout_ns,
                                         bool grant_devices) {
    auto image = find_boot_module(base::StringView(name));
    if (image.empty())
        return base::Error::NOT_FOUND;
    Task* task = TRY(spawn_program(image, name, arg, Thread::kDefaultPriority, grant_devices));
    auto status = task->wait_exit(timeout_ns ? monotonic_ns() + timeout_ns : 0);
    if (status.is_error()) {
        task->kill(-1, "timeout");
        (void)task->wait_exit(0);
    }
    task->release_ref();
    return status;
}

} // namespace kernel

// ---- Self-tests -----------------------------------------------------------------------
#include <kernel/test/ktest.h>

namespace kernel {
namespace {

int64_t run_to_exit(KTestContext& ktest_ctx, const char* module, uint64_t arg, uint64_t timeout_ns,
                    bool grant_devices = false) {
    auto status = run_module_to_exit(module, arg, timeout_ns, grant_devices);
    if (status.is_error()) {
        ktest_ctx.fail(__FILE__, __LINE__, "running '{}': {}", module, status.error());
        return -1;
    }
    return status.value();
}

KTEST(user, hello_program_runs_and_exits_zero) {
    size_t pages_before = page_allocator().free_page_count();
    int64_t status = run_to_exit(ktest_ctx, "hello_native", 42, 10000000000ull);
    KEXPECT_EQ(status, int64_t(0));
    sleep_ns(2000000);
    // Everything the task had (page tables, stack, heap, thread) is back. The first run
    // may warm the kernel heap's slab caches by a page or two.
    KEXPECT(page_allocator().free_page_count() + 4 >= pages_before);
}

KTEST(user, bootstrap_port_carries_boot_modules) {
    KEXPECT_EQ(run_to_exit(ktest_ctx, "bootstrap", 0, 10000000000ull, true), int64_t(0));
}

KTEST(user, corrupt_images_are_refused) {
    static uint8_t junk[256];
    for (size_t i = 0; i < sizeof(junk); ++i)
        junk[i] = uint8_t(i * 7);
    auto r = spawn_program(base::Span<const uint8_t>(junk, sizeof(junk)), "junk", 0);
    KEXPECT(r.is_error());
    KEXPECT_EQ(r.error(), base::Error::CORRUPT);
    auto empty = spawn_program(base::Span<const uint8_t>(), "empty", 0);
    KEXPECT(empty.is_error());
}

} // namespace
} // namespace kernel

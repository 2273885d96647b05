// Self-tests of copy-on-write clones (Task::clone, docs/kernel.md).
#include <kernel/core/memory.h>
#include <kernel/object/task.h>
#include <kernel/test/ktest.h>
#include <tern/abi/syscalls.h>

namespace kernel {
using namespace x86_64;

namespace {

constexpr uint32_t kRw = TERN_PROT_READ | TERN_PROT_WRITE;

uint8_t read_byte(Task& task, uint64_t address) {
    uint8_t b = 0;
    (void)task.read_memory(address, base::Span<uint8_t>(&b, 1));
    return b;
}

void write_byte(Task& task, uint64_t address, uint8_t value) {
    (void)task.write_memory(address, base::Span<const uint8_t>(&value, 1));
}

uint64_t frame_of(Task& task, uint64_t address) {
    auto t = task.page_table().translate(address);
    return t.has_value() ? t->page_phys : 0;
}

bool writable(Task& task, uint64_t address) {
    auto t = task.page_table().translate(address);
    return t.has_value() && has_flag(t->flags, PageFlags::kWritable);
}

// Parent and clone write the same page and each sees its own; the last holder writes in
// place without a copy.
KTEST(clone, each_side_sees_its_own_writes) {
    auto created = Task::create("cow");
    KEXPECT_OK(created);
    obj::Ref<Task> parent = obj::Ref<Task>::adopt(created.value());
    auto at = parent->vm_allocate(2 * kPageSize, kRw);
    KEXPECT_OK(at);
    uint64_t page = at.value();
    write_byte(*parent, page, 1);
    write_byte(*parent, page + kPageSize, 5);
    uint64_t before = frame_of(*parent, page);

    auto cloned = Task::clone(*parent);
    KEXPECT_OK(cloned);
    obj::Ref<Task> child = obj::Ref<Task>::adopt(cloned.value());
    // Shared and write-protected in both.
    KEXPECT_EQ(frame_of(*child, page), before);
    KEXPECT(!writable(*parent, page));
    KEXPECT(!writable(*child, page));
    KEXPECT_EQ(page_shares().holders(before), 2u);
    KEXPECT_EQ(child->memory_used(), parent->memory_used());

    write_byte(*child, page, 2);
    KEXPECT_EQ(read_byte(*parent, page), uint8_t(1));
    KEXPECT_EQ(read_byte(*child, page), uint8_t(2));
    KEXPECT(frame_of(*child, page) != before);
    KEXPECT(writable(*child, page));
    // The parent is the page's last holder now: it writes in place.
    KEXPECT_EQ(page_shares().holders(before), 1u);
    write_byte(*parent, page, 3);
    KEXPECT_EQ(frame_of(*parent, page), before);
    KEXPECT_EQ(read_byte(*parent, page), uint8_t(3));
    KEXPECT_EQ(read_byte(*child, page), uint8_t(2));
    // The second page is still shared; the parent's exit leaves it to the child.
    parent->kill(0, nullptr);
    KEXPECT_EQ(read_byte(*child, page + kPageSize), uint8_t(5));
    child->kill(0, nullptr);
}

// A read-only page stays one frame in both, read-only; vm_protect to writable keeps a
// shared page write-protected so that the first write still copies it.
KTEST(clone, read_only_pages_stay_shared) {
    auto created = Task::create("cow-ro");
    KEXPECT_OK(created);
    obj::Ref<Task> parent = obj::Ref<Task>::adopt(created.value());
    auto at = parent->vm_allocate(kPageSize, kRw);
    KEXPECT_OK(at);
    uint64_t page = at.value();
    write_byte(*parent, page, 9);
    KEXPECT_OK(parent->vm_protect(page, kPageSize, TERN_PROT_READ));
    uint64_t frame = frame_of(*parent, page);
    auto cloned = Task::clone(*parent);
    KEXPECT_OK(cloned);
    obj::Ref<Task> child = obj::Ref<Task>::adopt(cloned.value());
    KEXPECT_EQ(frame_of(*child, page), frame);
    KEXPECT(!writable(*child, page));
    KEXPECT_EQ(read_byte(*child, page), uint8_t(9));
    // A write fault on it is a protection violation, not a copy.
    KEXPECT(child->handle_page_fault(page, 1 | 2 | 4) == FaultResult::kFatal);
    KEXPECT_EQ(frame_of(*child, page), frame);
    KEXPECT_OK(child->vm_protect(page, kPageSize, kRw));
    KEXPECT(!writable(*child, page));
    KEXPECT(child->handle_page_fault(page, 1 | 2 | 4) == FaultResult::kResolved);
    KEXPECT(writable(*child, page));
    KEXPECT(frame_of(*child, page) != frame);
    KEXPECT_EQ(read_byte(*child, page), uint8_t(9));
    KEXPECT_EQ(frame_of(*parent, page), frame);
    child->kill(0, nullptr);
    parent->kill(0, nullptr);
}

// Memory objects stay shared: a write through one task shows in the other.
KTEST(clone, memory_objects_stay_shared) {
    auto created = Task::create("cow-mem");
    KEXPECT_OK(created);
    obj::Ref<Task> parent = obj::Ref<Task>::adopt(created.value());
    auto memory = MemoryObject::create(kPageSize, false);
    KEXPECT_OK(memory);
    auto at =
        parent->map_memory(0, obj::Ref<MemoryObject>::adopt(memory.value()), 0, kPageSize, kRw);
    KEXPECT_OK(at);
    auto cloned = Task::clone(*parent);
    KEXPECT_OK(cloned);
    obj::Ref<Task> child = obj::Ref<Task>::adopt(cloned.value());
    KEXPECT(writable(*child, at.value()));
    write_byte(*child, at.value(), 42);
    KEXPECT_EQ(read_byte(*parent, at.value()), uint8_t(42));
    child->kill(0, nullptr);
    parent->kill(0, nullptr);
}

// A copy-on-write fault without a free page fails (the trap handler then kills only the
// faulting task) and leaves both tasks' memory as it was; with memory back it succeeds.
KTEST(clone, copy_without_memory_fails_alone) {
    auto created = Task::create("cow-oom");
    KEXPECT_OK(created);
    obj::Ref<Task> parent = obj::Ref<Task>::adopt(created.value());
    auto at = parent->vm_allocate(kPageSize, kRw);
    KEXPECT_OK(at);
    uint64_t page = at.value();
    write_byte(*parent, page, 7);
    auto cloned = Task::clone(*parent);
    KEXPECT_OK(cloned);
    obj::Ref<Task> child = obj::Ref<Task>::adopt(cloned.value());
    uint64_t frame = frame_of(*parent, page);
    // Take every free page, chaining them through their first word.
    uint64_t taken = 0, head = 0;
    for (;;) {
        auto p = page_allocator().alloc_page();
        if (p.is_error())
            break;
        *phys_to_virt<uint64_t>(p.value()) = head;
        head = p.value();
        ++taken;
    }
    FaultResult starved = child->handle_page_fault(page, 1 | 2 | 4);
    while (head) {
        uint64_t next = *phys_to_virt<uint64_t>(head);
        (void)page_allocator().free_page(head);
        head = next;
    }
    KEXPECT(taken > 0);
    KEXPECT(starved == FaultResult::kFatal);
    KEXPECT_EQ(frame_of(*child, page), frame);
    KEXPECT_EQ(page_shares().holders(frame), 2u);
    KEXPECT_EQ(read_byte(*parent, page), uint8_t(7));
    KEXPECT(child->handle_page_fault(page, 1 | 2 | 4) == FaultResult::kResolved);
    KEXPECT(frame_of(*child, page) != frame);
    child->kill(0, nullptr);
    parent->kill(0, nullptr);
}

// A thousand clones of a task with touched memory, each written to and ended, give every
// page back.
KTEST(clone, thousand_clones_leak_no_page) {
    auto created = Task::create("cow-many");
    KEXPECT_OK(created);
    obj::Ref<Task> parent = obj::Ref<Task>::adopt(created.value());
    constexpr uint64_t kPages = 16;
    auto at = parent->vm_allocate(kPages * kPageSize, kRw);
    KEXPECT_OK(at);
    for (uint64_t i = 0; i < kPages; ++i)
        write_byte(*parent, at.value() + i * kPageSize, uint8_t(i));
    auto one_clone = [&](int i) {
        auto cloned = Task::clone(*parent);
        if (cloned.is_error())
            return false;
        obj::Ref<Task> child = obj::Ref<Task>::adopt(cloned.value());
        write_byte(*child, at.value() + uint64_t(i % kPages) * kPageSize, 0xEE);
        bool same = read_byte(*parent, at.value() + uint64_t(i % kPages) * kPageSize)
                    == uint8_t(i % kPages);
        child->kill(0, nullptr);
        return same;
    };
    // Once first, so the heap's slabs for the task's parts exist before counting.
    KEXPECT(one_clone(0));
    size_t before = page_allocator().free_page_count();
    size_t heap_before = memory_stats().heap_pages;
    int good = 0;
    for (int i = 0; i < 1000; ++i)
        good += one_clone(i) ? 1 : 0;
    KEXPECT_EQ(good, 1000);
    // Pages the heap keeps as cached slabs are not lost; everything else must be back.
    int64_t heap_grew = int64_t(memory_stats().heap_pages) - int64_t(heap_before);
    KEXPECT_EQ(int64_t(page_allocator().free_page_count()) + heap_grew, int64_t(before));
    KEXPECT_EQ(page_shares().shared_pages(), size_t(0));
    for (uint64_t i = 0; i < kPages; ++i)
        KEXPECT_EQ(read_byte(*parent, at.value() + i * kPageSize), uint8_t(i));
    parent->kill(0, nullptr);
}

} // namespace
} // namespace kernel

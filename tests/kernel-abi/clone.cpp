// task_clone: copy-on-write clones of the calling task.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_clone from its self-test user.abi_clone. Unlike the harness's children,
// which are copies made by hand with task_vm_write, these are task_clone's: the child
// runs in a copy of this program's whole memory (heap and stacks included) and checks
// from the inside what it sees, reporting through its exit status.
#include "harness.h"

using namespace abi;

asm(R"(
    .text
    .globl clone_child_start
    .type clone_child_start, @function
clone_child_start:
    xorl %ebp, %ebp
    call clone_child_main
    ud2
    .size clone_child_start, . - clone_child_start
)");

extern "C" void clone_child_start();

namespace {

constexpr uint64_t kChildStack = 64 * 1024;

// What the parent set before cloning; the child checks it and writes its own values.
volatile uint64_t g_value = 0;
volatile uint8_t* g_heap = nullptr;
// A page that is read-only in both tasks after the clone.
volatile const uint8_t* g_read_only = nullptr;
// Handles the child checks: a send-only port (copied) and one with RECEIVE (not copied).
volatile uint64_t g_send_port = 0;
volatile uint64_t g_receive_port = 0;

enum Mode : uint64_t {
    kMemory = 1,  // check and write memory; exit 0x40 | failures
    kHandles = 2, // check handles; exit 0x50 | failures
    kExit = 3,    // exit 7 at once
    kFault = 4,   // write to the read-only page (dies with a page fault)
};

int64_t child_stack_top = 0;

} // namespace

extern "C" [[noreturn]] void clone_child_main(uint64_t mode) {
    uint64_t failures = 0;
    switch (mode) {
    case kMemory:
        // The values of the moment of the clone, not the parent's later writes.
        if (g_value != 1)
            failures |= 1;
        if (g_heap[0] != 0xAB || g_heap[4095] != 0xAB)
            failures |= 2;
        if (g_read_only[0] != 0x5A)
            failures |= 4;
        g_value = 2;
        for (int i = 0; i < 4096; ++i)
            g_heap[i] = 0xCD;
        if (g_value != 2 || g_heap[100] != 0xCD)
            failures |= 8;
        (void)tern_sys_task_exit(0x40 | failures);
        break;
    case kHandles: {
        // The send-only port is there at the same value; the receive right is not.
        tern_msg m{};
        m.hdr.label = 77;
        m.words[0] = uint64_t(tern_sys_task_id());
        if (tern_sys_port_send(g_send_port, ptr(&m), 0) < 0)
            failures |= 1;
        if (tern_sys_port_receive(g_receive_port, ptr(&m), 0) != -TERN_BAD_HANDLE)
            failures |= 2;
        // Its handle to itself names the clone.
        if (tern_sys_task_id_of(TERN_HANDLE_SELF) != tern_sys_task_id())
            failures |= 4;
        (void)tern_sys_task_exit(0x50 | failures);
        break;
    }
    case kExit:
        (void)tern_sys_task_exit(7);
        break;
    case kFault:
        *const_cast<volatile uint8_t*>(g_read_only) = 1;
        (void)tern_sys_task_exit(0x60);
        break;
    default:
        break;
    }
    (void)tern_sys_task_exit(0xFF);
    __builtin_unreachable();
}

namespace {

// Clones this task with one stopped thread in the given mode, starts it and returns its
// exit status, or the error of a step.
int64_t run_clone(uint64_t mode, int64_t* task_out = nullptr) {
    uint64_t thread = 0;
    int64_t task =
        tern_sys_task_clone(TERN_HANDLE_SELF, ptr(reinterpret_cast<void*>(&clone_child_start)),
                            uint64_t(child_stack_top), mode, ptr(&thread));
    if (task < 0)
        return task;
    // Written after the clone: the child must not see it.
    if (mode == kMemory) {
        g_value = 3;
        g_heap[0] = 0x11;
    }
    int64_t r = tern_sys_thread_resume(thread);
    if (r >= 0)
        r = tern_sys_task_wait(uint64_t(task), kLong);
    close(int64_t(thread));
    if (task_out)
        *task_out = task;
    else
        close(task);
    return r;
}

void test_memory() {
    g_value = 1;
    int64_t heap = vm_allocate(kPage);
    int64_t ro = vm_allocate(kPage);
    if (!expect_ok(heap, "clone.heap") || !expect_ok(ro, "clone.read_only_page"))
        return;
    g_heap = reinterpret_cast<volatile uint8_t*>(heap);
    for (int i = 0; i < 4096; ++i)
        g_heap[i] = 0xAB;
    *reinterpret_cast<volatile uint8_t*>(ro) = 0x5A;
    expect_ok(tern_sys_vm_protect(uint64_t(ro), kPage, TERN_PROT_READ), "clone.protect_read_only");
    g_read_only = reinterpret_cast<volatile const uint8_t*>(ro);

    expect_eq(run_clone(kMemory), 0x40, "clone.child_sees_memory_of_the_clone_and_writes_its_own");
    // The parent keeps its own values, including what it wrote after the clone.
    expect_eq(int64_t(g_value), 3, "clone.parent_global_unchanged_by_child");
    expect_eq(g_heap[0], 0x11, "clone.parent_heap_first_byte_its_own");
    expect_eq(g_heap[1], 0xAB, "clone.parent_heap_unchanged_by_child");
    // The parent's pages were write-protected for the clone; writing them still works.
    g_heap[2] = 0x22;
    g_value = 1;
    expect_eq(g_heap[2], 0x22, "clone.parent_writes_after_clone");

    // A write to the read-only page kills the child only.
    expect_eq(run_clone(kFault), kPageFaultExit, "clone.read_only_stays_read_only");
    expect_eq(g_read_only[0], 0x5A, "clone.read_only_page_intact");

    // task_vm_write into the clone writes its copy, not the parent's page.
    uint64_t thread = 0;
    int64_t task =
        tern_sys_task_clone(TERN_HANDLE_SELF, ptr(reinterpret_cast<void*>(&clone_child_start)),
                            uint64_t(child_stack_top), kMemory, ptr(&thread));
    if (expect_ok(task, "clone.for_vm_write")) {
        uint8_t byte = 0x77;
        expect_eq(tern_sys_task_vm_write(uint64_t(task), uint64_t(heap) + 8, ptr(&byte), 1), 1,
                  "clone.vm_write_into_clone");
        uint8_t back = 0;
        expect_eq(tern_sys_task_vm_read(uint64_t(task), uint64_t(heap) + 8, ptr(&back), 1), 1,
                  "clone.vm_read_from_clone");
        expect_eq(back, 0x77, "clone.clone_sees_vm_write");
        expect_eq(g_heap[8], 0xAB, "clone.parent_unchanged_by_vm_write");
        expect_ok(tern_sys_task_kill(uint64_t(task), 9), "clone.kill_unstarted");
        close(int64_t(thread));
        close(task);
    }
}

void test_handles() {
    int64_t port = port_create(4);
    if (!expect_ok(port, "clone.port"))
        return;
    int64_t send = dup(uint64_t(port), TERN_RIGHT_SEND);
    expect_ok(send, "clone.send_right");
    g_send_port = uint64_t(send);
    g_receive_port = uint64_t(port);
    int64_t task = 0;
    expect_eq(run_clone(kHandles, &task), 0x50, "clone.handles_copied_as_documented");
    tern_msg m{};
    expect_ok(receive(uint64_t(port), m), "clone.child_sent_on_copied_port");
    expect_eq(m.hdr.label, 77, "clone.child_message_label");
    expect_eq(int64_t(m.words[0]), task > 0 ? tern_sys_task_id_of(uint64_t(task)) : -1,
              "clone.child_message_from_the_clone");
    close(task);
    close(send);
    close(port);
}

void test_errors() {
    uint64_t entry = ptr(reinterpret_cast<void*>(&clone_child_start));
    uint64_t thread = 0;
    expect_err(tern_sys_task_clone(0x7FFF, entry, uint64_t(child_stack_top), kExit, ptr(&thread)),
               TERN_BAD_HANDLE, "clone.bad_handle");
    int64_t weak = dup(TERN_HANDLE_SELF, TERN_RIGHT_READ);
    expect_err(
        tern_sys_task_clone(uint64_t(weak), entry, uint64_t(child_stack_top), kExit, ptr(&thread)),
        TERN_ACCESS_DENIED, "clone.needs_control");
    close(weak);
    for (const BadPointer& b : kBadPointers)
        expect_err(tern_sys_task_clone(TERN_HANDLE_SELF, entry, uint64_t(child_stack_top), kExit,
                                       b.address),
                   TERN_BAD_ADDRESS, "clone.thread_out_{}", b.name);
    expect_err(
        tern_sys_task_clone(TERN_HANDLE_SELF, 0, uint64_t(child_stack_top), kExit, ptr(&thread)),
        TERN_INVALID_ARGUMENT, "clone.entry_null");
    expect_err(tern_sys_task_clone(TERN_HANDLE_SELF, entry, uint64_t(child_stack_top) + 8, kExit,
                                   ptr(&thread)),
               TERN_INVALID_ARGUMENT, "clone.stack_misaligned");
}

// Clones held at once count against the caller's task quota (256): the 257th is refused
// with nothing made, and ending them all gives everything back (user.abi_clone checks the
// pages afterwards).
void test_quota() {
    static int64_t tasks[300];
    static uint64_t threads[300];
    int made = 0;
    int64_t refused = 0;
    for (; made < 300; ++made) {
        int64_t t =
            tern_sys_task_clone(TERN_HANDLE_SELF, ptr(reinterpret_cast<void*>(&clone_child_start)),
                                uint64_t(child_stack_top), kExit, ptr(&threads[made]));
        if (t < 0) {
            refused = t;
            break;
        }
        tasks[made] = t;
    }
    expect_eq(made, 256, "clone.quota_allows_256_tasks");
    expect_err(refused, TERN_QUOTA_EXCEEDED, "clone.quota_257th_refused");
    int ended = 0;
    for (int i = 0; i < made; ++i) {
        ended += tern_sys_task_kill(uint64_t(tasks[i]), 9) == 0
                 && tern_sys_task_wait(uint64_t(tasks[i]), kLong) == 9;
        close(int64_t(threads[i]));
        close(tasks[i]);
    }
    expect_eq(ended, made, "clone.quota_clones_all_end");
    // The quota is back once the scheduler has reaped the dead threads (each holds its
    // task until then): one more clone runs to its end.
    sleep_ms(20);
    expect_eq(run_clone(kExit), 7, "clone.quota_returned");
}

void test_many() {
    // A hundred clones, each waited for: every one exits 7 (the kernel's self-test checks
    // afterwards that no page is lost).
    int ok = 0;
    for (int i = 0; i < 100; ++i)
        ok += run_clone(kExit) == 7;
    expect_eq(ok, 100, "clone.hundred_clones_exit_7");
}

// The cost of a clone against the memory it shares: under -icount shift=0 a nanosecond
// of the monotonic clock is one instruction.
void measure() {
    static const uint64_t kSizes[] = {0, 1, 8};
    for (uint64_t mib : kSizes) {
        int64_t block = mib ? vm_allocate(mib << 20) : 0;
        if (mib && !expect_ok(block, "clone.measure_allocate_{}_mib", mib))
            return;
        for (uint64_t off = 0; mib && off < (mib << 20); off += kPage)
            reinterpret_cast<volatile uint8_t*>(block)[off] = 1;
        uint64_t thread = 0;
        uint64_t start = now_ns();
        int64_t task =
            tern_sys_task_clone(TERN_HANDLE_SELF, ptr(reinterpret_cast<void*>(&clone_child_start)),
                                uint64_t(child_stack_top), kExit, ptr(&thread));
        uint64_t took = now_ns() - start;
        if (expect_ok(task, "clone.measure_{}_mib", mib)) {
            tern::println("abi_clone: clone with {} MiB more touched: {} ns", mib, took);
            (void)tern_sys_thread_resume(thread);
            expect_eq(tern_sys_task_wait(uint64_t(task), kLong), 7, "clone.measure_{}_mib_exit",
                      mib);
            close(int64_t(thread));
            close(task);
        }
        vm_free(block, mib << 20);
    }
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_clone");
    int64_t stack = vm_allocate(kChildStack);
    if (!expect_ok(stack, "clone.child_stack"))
        return finish();
    child_stack_top = stack + int64_t(kChildStack);
    test_memory();
    test_handles();
    test_errors();
    test_quota();
    test_many();
    measure();
    return finish();
}

// Memory objects: memory_create, vm_map_memory, memory_physical, and the memory quota
// they count against.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_memory from its self-test user.abi_memory.
#include "harness.h"

using namespace abi;

namespace {

alignas(4096) uint64_t g_page_of_poke[512] = {0xBAD};

void test_memory_objects() {
    constexpr uint32_t kRw = TERN_PROT_READ | TERN_PROT_WRITE;
    expect_err(tern_sys_memory_create(0, 0), TERN_INVALID_ARGUMENT, "memobj.create_size_0");
    expect_err(tern_sys_memory_create(100, 0), TERN_INVALID_ARGUMENT, "memobj.create_unaligned");
    expect_err(tern_sys_memory_create(kPage, 2), TERN_INVALID_ARGUMENT, "memobj.create_bad_flags");
    expect_err(tern_sys_memory_create(512ull << 20, 0), TERN_QUOTA_EXCEEDED,
               "memobj.create_over_quota");
    int64_t mem = tern_sys_memory_create(2 * kPage, 0);
    if (!expect_ok(mem, "memobj.create"))
        return;
    int64_t a = tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 0, 2 * kPage, kRw);
    int64_t b = tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, kPage, kPage, TERN_PROT_READ);
    if (expect_ok(a, "memobj.map_rw") && expect_ok(b, "memobj.map_second_page_read_only")) {
        auto* wa = reinterpret_cast<volatile uint64_t*>(a);
        auto* wb = reinterpret_cast<volatile uint64_t*>(b);
        expect_true(wa[0] == 0 && wa[600] == 0, 0, "memobj.zeroed");
        wa[512 + 3] = 0xC0FFEE;
        expect_eq(static_cast<int64_t>(wb[3]), 0xC0FFEE, "memobj.mappings_share_pages");
        tern_msg* in_ro = reinterpret_cast<tern_msg*>(b);
        int64_t p = port_create(1);
        (void)send_label(p, 1);
        expect_err(tern_sys_port_receive(p, ptr(in_ro), 0), TERN_BAD_ADDRESS,
                   "memobj.read_only_mapping_not_writable");
        close(p);
    }
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 3 * kPage, kPage, kRw),
               TERN_OUT_OF_RANGE, "memobj.map_offset_past_end");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 0, 3 * kPage, kRw),
               TERN_OUT_OF_RANGE, "memobj.map_size_past_end");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 100, kPage, kRw), TERN_OUT_OF_RANGE,
               "memobj.map_unaligned_offset");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 0, 0, kRw), TERN_OUT_OF_RANGE,
               "memobj.map_size_0");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, mem, 0, 0, kPage, kRw | TERN_PROT_EXEC),
               TERN_INVALID_ARGUMENT, "memobj.map_wx");
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, 0x3FFF, 0, 0, kPage, kRw), TERN_BAD_HANDLE,
               "memobj.map_bad_handle");
    int64_t port = port_create(1);
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, port, 0, 0, kPage, kRw), TERN_WRONG_TYPE,
               "memobj.map_port");
    expect_err(tern_sys_vm_map_memory(port, mem, 0, 0, kPage, kRw), TERN_WRONG_TYPE,
               "memobj.map_into_port");
    int64_t read_only = dup(mem, TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_TRANSFER);
    expect_err(tern_sys_vm_map_memory(TERN_HANDLE_SELF, read_only, 0, 0, kPage, kRw),
               TERN_ACCESS_DENIED, "memobj.map_writable_needs_write");
    int64_t ro_map =
        tern_sys_vm_map_memory(TERN_HANDLE_SELF, read_only, 0, 0, kPage, TERN_PROT_READ);
    if (expect_ok(ro_map, "memobj.map_read_only_with_read_only_handle")) {
        // Without WRITE on the handle the mapping stays read-only for good.
        expect_err(tern_sys_vm_protect(ro_map, kPage, kRw), TERN_ACCESS_DENIED,
                   "memobj.protect_writable_needs_write");
        expect_eq(tern_sys_vm_protect(ro_map, kPage, TERN_PROT_READ), 0,
                  "memobj.protect_read_only_mapping_read_only");
    }
    // With WRITE a read-only mapping may be made writable.
    if (b > 0)
        expect_eq(tern_sys_vm_protect(b, kPage, kRw), 0, "memobj.protect_writable_with_write");
    int64_t phys = tern_sys_memory_physical(mem, 8);
    expect_true(phys > 0 && (phys & 0xFFF) == 8, phys, "memobj.physical_address");
    expect_err(tern_sys_memory_physical(mem, 2 * kPage), TERN_OUT_OF_RANGE,
               "memobj.physical_past_end");
    expect_err(tern_sys_memory_physical(read_only, 0), TERN_ACCESS_DENIED,
               "memobj.physical_needs_control");

    // Shared with a child task: it reads what we wrote.
    Child c;
    CloneOptions o;
    o.mode = kChildReadParam;
    o.start = false;
    if (a > 0 && clone_child(c, "memory_object_reader", o)) {
        int64_t there = tern_sys_vm_map_memory(c.task, mem, 0, kPage, kPage, TERN_PROT_READ);
        if (expect_ok(there, "memobj.map_into_child")) {
            // The pages are the object's: task_vm_write may not change them through a
            // read-only mapping (nor may it give the child a private copy there).
            uint64_t poke = 0xBAD;
            expect_err(tern_sys_task_vm_write(c.task, uint64_t(there) + 24, ptr(&poke), 8),
                       TERN_ACCESS_DENIED, "memobj.task_vm_write_read_only_mapping");
            expect_err(tern_sys_task_vm_write(c.task, uint64_t(there), ptr(&g_page_of_poke), kPage),
                       TERN_ACCESS_DENIED, "memobj.task_vm_write_read_only_mapping_page");
            expect_eq(static_cast<int64_t>(reinterpret_cast<volatile uint64_t*>(a)[512 + 3]),
                      0xC0FFEE, "memobj.read_only_mapping_unchanged");
            int64_t writable = tern_sys_vm_map_memory(c.task, mem, 0, 0, kPage, kRw);
            if (expect_ok(writable, "memobj.map_into_child_writable")) {
                expect_eq(tern_sys_task_vm_write(c.task, uint64_t(writable) + 16, ptr(&poke), 8), 8,
                          "memobj.task_vm_write_writable_mapping");
                expect_eq(static_cast<int64_t>(reinterpret_cast<volatile uint64_t*>(a)[2]), 0xBAD,
                          "memobj.task_vm_write_writes_the_object");
            }
            uint64_t param = static_cast<uint64_t>(there) + 24;
            (void)tern_sys_task_vm_write(c.task, ptr(const_cast<uint64_t*>(&g_child_param)),
                                         ptr(&param), 8);
            expect_eq(tern_sys_thread_resume(c.thread), 0, "memobj.start_child");
            expect_eq(wait_child(c), 0xC0FFEE, "memobj.child_reads_shared_page");
        }
        release_child(c);
    }
    // The object outlives our handles while mapped.
    close(mem);
    close(read_only);
    if (a > 0) {
        reinterpret_cast<volatile uint64_t*>(a)[0] = 7;
        expect_eq(static_cast<int64_t>(reinterpret_cast<volatile uint64_t*>(a)[0]), 7,
                  "memobj.mapping_survives_handle_close");
        expect_eq(tern_sys_vm_free(a, 2 * kPage), 0, "memobj.unmap");
    }
    vm_free(b, kPage);
    vm_free(ro_map, kPage);

    // Memory objects count against the memory quota: 64 MiB in an object plus 230 MiB of
    // anonymous memory is more than the 256 MiB a task may have.
    int64_t big = tern_sys_memory_create(64ull << 20, 0);
    if (expect_ok(big, "memobj.create_64MiB")) {
        int64_t anon = vm_allocate(230ull << 20);
        expect_err(anon, TERN_QUOTA_EXCEEDED, "memobj.object_counts_against_quota");
        vm_free(anon, 230ull << 20);
        close(big);
    }

    close(port);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_memory");
    test_memory_objects();
    return finish();
}

// Memory of the task itself: vm_allocate, vm_free and vm_protect, their bounds and the
// memory quota, and the protection the page tables enforce.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_vm from its self-test user.abi_vm.
#include "harness.h"

using namespace abi;

namespace {

// ---- Memory -----------------------------------------------------------------------------

void test_memory() {
    constexpr uint32_t kRw = TERN_PROT_READ | TERN_PROT_WRITE;
    expect_err(vm_allocate(0), TERN_INVALID_ARGUMENT, "vm.allocate_size_0");
    expect_err(vm_allocate(100), TERN_INVALID_ARGUMENT, "vm.allocate_unaligned_size");
    expect_err(vm_allocate(kPage, 8), TERN_INVALID_ARGUMENT, "vm.allocate_unknown_prot");
    expect_err(vm_allocate(kPage, kRw | TERN_PROT_EXEC), TERN_INVALID_ARGUMENT,
               "vm.allocate_write_execute_refused");
    expect_err(vm_allocate(kPage, TERN_PROT_WRITE | TERN_PROT_EXEC), TERN_INVALID_ARGUMENT,
               "vm.allocate_wx_refused");
    expect_err(tern_sys_vm_allocate(kPage, (1ull << 32) | TERN_PROT_READ), TERN_INVALID_ARGUMENT,
               "vm.allocate_prot_over_32_bits");
    expect_err(vm_allocate(1ull << 47), TERN_INVALID_ARGUMENT, "vm.allocate_larger_than_space");
    expect_err(vm_allocate(~0ull & ~(kPage - 1)), TERN_INVALID_ARGUMENT, "vm.allocate_huge");
    expect_err(vm_allocate(512ull << 20), TERN_QUOTA_EXCEEDED, "vm.allocate_over_quota");

    int64_t a = vm_allocate(3 * kPage);
    if (!expect_ok(a, "vm.allocate_three_pages"))
        return;
    auto* words = reinterpret_cast<volatile uint64_t*>(a);
    bool zero = true;
    for (uint64_t i = 0; i < 3 * kPage / 8; ++i)
        zero = zero && words[i] == 0;
    expect_true(zero, 0, "vm.allocate_is_zeroed");
    words[0] = 0x1111;
    words[512] = 0x2222;
    words[1024] = 0x3333;
    expect_true(words[0] == 0x1111 && words[512] == 0x2222 && words[1024] == 0x3333, 0,
                "vm.allocate_is_writable");
    int64_t ro_exec = vm_allocate(kPage, TERN_PROT_READ | TERN_PROT_EXEC);
    expect_ok(ro_exec, "vm.allocate_read_execute");
    vm_free(ro_exec, kPage);
    int64_t none = vm_allocate(kPage, 0);
    expect_ok(none, "vm.allocate_no_access");
    int64_t p = port_create(4);
    if (none > 0) {
        // A region without access exists but no syscall may read it.
        expect_err(tern_sys_port_send(p, static_cast<uint64_t>(none), 0), TERN_BAD_ADDRESS,
                   "vm.no_access_region_unreadable");
        vm_free(none, kPage);
    }

    // vm_protect: errors, then the effect seen through the kernel's user copies.
    expect_err(tern_sys_vm_protect(a, kPage, kRw | TERN_PROT_EXEC), TERN_INVALID_ARGUMENT,
               "vm.protect_wx_refused");
    expect_err(tern_sys_vm_protect(a, kPage, 8), TERN_INVALID_ARGUMENT, "vm.protect_unknown_prot");
    expect_err(tern_sys_vm_protect(a + 1, kPage, TERN_PROT_READ), TERN_MISALIGNED,
               "vm.protect_misaligned_address");
    expect_err(tern_sys_vm_protect(a, 100, TERN_PROT_READ), TERN_MISALIGNED,
               "vm.protect_misaligned_size");
    expect_err(tern_sys_vm_protect(a, 0, TERN_PROT_READ), TERN_INVALID_ARGUMENT,
               "vm.protect_size_0");
    expect_err(tern_sys_vm_protect(0xFFFF800000000000ull, kPage, TERN_PROT_READ),
               TERN_INVALID_ARGUMENT, "vm.protect_kernel_address");
    expect_err(tern_sys_vm_protect(0x200000, kPage, TERN_PROT_READ), TERN_NOT_FOUND,
               "vm.protect_unmapped");
    expect_err(tern_sys_vm_protect(a, 4 * kPage, TERN_PROT_READ), TERN_NOT_FOUND,
               "vm.protect_past_region_end");
    expect_err(tern_sys_vm_protect(ptr(__user_image_start), kPage, kRw | TERN_PROT_EXEC),
               TERN_INVALID_ARGUMENT, "vm.protect_text_wx_refused");
    expect_eq(tern_sys_vm_protect(a + kPage, kPage, TERN_PROT_READ), 0, "vm.protect_read_only");
    tern_msg* second = reinterpret_cast<tern_msg*>(a + kPage);
    tern_msg r{};
    expect_eq(send_label(p, 1), 0, "vm.queue_for_readonly");
    expect_err(tern_sys_port_receive(p, ptr(second), 0), TERN_BAD_ADDRESS,
               "vm.readonly_page_not_writable");
    expect_true(words[512] == 0x2222, static_cast<int64_t>(words[512]),
                "vm.readonly_page_keeps_contents");
    expect_eq(receive(p, r), 0, "vm.message_kept_after_readonly_receive");
    expect_eq(tern_sys_vm_protect(a + kPage, kPage, kRw), 0, "vm.protect_back_to_rw");
    words[512] = 0;
    expect_eq(send_label(p, 1), 0, "vm.queue_for_rw");
    expect_eq(tern_sys_port_receive(p, ptr(second), 0), 0, "vm.rw_page_writable_again");
    expect_eq(second->hdr.label, 1, "vm.received_into_reprotected_page");

    // vm_free: errors, a hole in the middle, then the rest.
    expect_err(tern_sys_vm_free(a + 1, kPage), TERN_MISALIGNED, "vm.free_misaligned_address");
    expect_err(tern_sys_vm_free(a, 100), TERN_MISALIGNED, "vm.free_misaligned_size");
    expect_err(tern_sys_vm_free(a, 0), TERN_INVALID_ARGUMENT, "vm.free_size_0");
    expect_err(tern_sys_vm_free(0xFFFF800000000000ull, kPage), TERN_INVALID_ARGUMENT,
               "vm.free_kernel_address");
    expect_err(tern_sys_vm_free(0x200000, kPage), TERN_NOT_FOUND, "vm.free_unmapped");
    expect_eq(tern_sys_vm_free(a + kPage, kPage), 0, "vm.free_middle_page");
    expect_err(tern_sys_vm_free(a + kPage, kPage), TERN_NOT_FOUND, "vm.free_twice");
    expect_eq(send_label(p, 2), 0, "vm.queue_for_freed");
    expect_err(tern_sys_port_receive(p, ptr(second), 0), TERN_BAD_ADDRESS,
               "vm.freed_page_unmapped");
    expect_true(words[0] == 0x1111 && words[1024] == 0x3333, 0, "vm.neighbours_of_hole_intact");
    expect_eq(tern_sys_vm_free(a, 3 * kPage), 0, "vm.free_across_hole");
    expect_err(tern_sys_vm_free(a, 3 * kPage), TERN_NOT_FOUND, "vm.free_all_twice");
    expect_eq(receive(p, r), 0, "vm.message_kept_after_unmapped_receive");

    // Accounting: freed memory, whole or partial, returns to the quota.
    int64_t big = vm_allocate(200ull << 20);
    expect_ok(big, "vm.allocate_200MiB_untouched");
    expect_err(vm_allocate(100ull << 20), TERN_QUOTA_EXCEEDED, "vm.second_100MiB_over_quota");
    expect_eq(tern_sys_vm_free(big + (50ull << 20), 100ull << 20), 0, "vm.free_middle_100MiB");
    int64_t again = vm_allocate(100ull << 20);
    expect_ok(again, "vm.quota_returned_after_partial_free");
    vm_free(again, 100ull << 20);
    expect_eq(tern_sys_vm_free(big, 200ull << 20), 0, "vm.free_rest");
    big = vm_allocate(240ull << 20);
    expect_ok(big, "vm.quota_returned_after_free");
    vm_free(big, 240ull << 20);

    // The region table is bounded; running out is an error, not a crash. Neighbouring
    // anonymous pieces of the same protection share a region, so alternate protections.
    static int64_t regions[300];
    int n = 0;
    int64_t last = 0;
    for (; n < 300; ++n) {
        last = vm_allocate(kPage, (n & 1) ? TERN_PROT_READ : TERN_PROT_READ | TERN_PROT_WRITE);
        if (last < 0)
            break;
        regions[n] = last;
    }
    expect_true(n < 300 && (last == -TERN_QUOTA_EXCEEDED || last == -TERN_NO_SPACE), last,
                "vm.region_table_full_is_an_error");
    for (int i = 0; i < n; ++i)
        vm_free(regions[i], kPage);
    int64_t after = vm_allocate(kPage);
    expect_ok(after, "vm.allocate_after_region_table_drained");
    vm_free(after, kPage);
    close(p);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_vm");
    test_memory();
    return finish();
}

// Pagers: vm_map_pager, vm_supply and vm_refuse, faults served, refused and left
// unanswered, and pager ports that die.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_pager from its self-test user.abi_pager.
#include "harness.h"

using namespace abi;

namespace {

// ---- Pagers ----------------------------------------------------------------------------

alignas(4096) uint8_t g_page[4096];

struct PagerChild {
    Child child;
    int64_t region = 0;
};

// A stopped child whose g_child_param points 8 bytes into a two-page pager region.
bool make_pager_child(PagerChild& pc, const char* what, uint64_t pager, uint64_t ep = 0) {
    CloneOptions o;
    o.mode = kChildReadParam;
    o.start = false;
    o.exception_port = ep;
    if (!clone_child(pc.child, what, o))
        return false;
    pc.region = tern_sys_vm_map_pager(pc.child.task, 0, 2 * kPage, TERN_PROT_READ, pager);
    if (!expect_ok(pc.region, "pager.map_{}", what)) {
        release_child(pc.child);
        return false;
    }
    uint64_t param = static_cast<uint64_t>(pc.region) + 8;
    if (tern_sys_task_vm_write(pc.child.task, ptr(const_cast<uint64_t*>(&g_child_param)),
                               ptr(&param), 8)
        != 8) {
        release_child(pc.child);
        return false;
    }
    return true;
}

void test_pager() {
    int64_t pp = port_create(4);
    if (!expect_ok(pp, "pager.port"))
        return;
    int64_t pp_send = dup(pp, TERN_RIGHT_SEND);
    int64_t pp_none = dup(pp, TERN_RIGHT_TRANSFER);
    constexpr uint64_t kPattern = 0x1234ABCD;
    for (uint64_t& w : reinterpret_cast<uint64_t(&)[512]>(g_page))
        w = 0;
    __builtin_memcpy(g_page + 8, &kPattern, 8);

    PagerChild pc;
    if (make_pager_child(pc, "supply", static_cast<uint64_t>(pp_send))) {
        int64_t t = pc.child.task;
        expect_err(tern_sys_vm_map_pager(t, 0, kPage, TERN_PROT_READ, pp_none), TERN_ACCESS_DENIED,
                   "pager.map_needs_send");
        expect_err(tern_sys_vm_map_pager(t, 0, kPage, TERN_PROT_READ, pc.child.thread),
                   TERN_WRONG_TYPE, "pager.map_wrong_type");
        expect_err(tern_sys_vm_map_pager(t, 0, kPage, TERN_PROT_WRITE | TERN_PROT_EXEC, pp_send),
                   TERN_INVALID_ARGUMENT, "pager.map_wx");
        expect_err(tern_sys_vm_map_pager(t, 0, 0, TERN_PROT_READ, pp_send), TERN_INVALID_ARGUMENT,
                   "pager.map_size_0");
        expect_err(tern_sys_vm_map_pager(t, pc.region, kPage, TERN_PROT_READ, pp_send),
                   TERN_ALREADY_EXISTS, "pager.map_overlap");
        static tern_mapping maps[8];
        int64_t n = tern_sys_task_mappings(t, ptr(maps), 8);
        bool listed = false;
        for (int64_t i = 0; i < n && i < 8; ++i)
            listed = listed
                     || (maps[i].start == static_cast<uint64_t>(pc.region)
                         && maps[i].kind == TERN_MAPPING_PAGER && maps[i].resident_pages == 0);
        expect_true(listed, n, "pager.region_listed");

        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_child");
        tern_msg m{};
        expect_eq(receive(pp, m, kLong), 0, "pager.fault_message_arrives");
        expect_true(m.hdr.label == TERN_LABEL_PAGE_FAULT
                        && m.words[0] == static_cast<uint64_t>(pc.region) + 8
                        && m.words[1] == TERN_PROT_READ && m.words[2] == m.hdr.sender_badge
                        && m.words[3] != 0 && m.hdr.handle_count == 1 && m.handles[0] != 0,
                    static_cast<int64_t>(m.words[0]), "pager.fault_message_contents");
        int64_t ht = m.handles[0];
        expect_err(wait_child(pc.child, 0), TERN_WOULD_BLOCK, "pager.child_waits_for_page");
        for (const BadPointer& b : kBadPointers)
            expect_err(tern_sys_vm_supply(ht, pc.region, b.address), TERN_BAD_ADDRESS,
                       "pager.supply_page_{}", b.name);
        expect_err(tern_sys_vm_supply(ht, pc.child.stack_top - kPage, ptr(g_page)), TERN_NOT_FOUND,
                   "pager.supply_outside_pager_region");
        expect_err(tern_sys_vm_supply(ht, 0xFFFF800000000000ull, ptr(g_page)),
                   TERN_INVALID_ARGUMENT, "pager.supply_kernel_address");
        expect_err(tern_sys_vm_refuse(ht, pc.child.stack_top - kPage), TERN_NOT_FOUND,
                   "pager.refuse_outside_pager_region");
        expect_eq(tern_sys_vm_supply(ht, pc.region + kPage, ptr(g_page)), 0,
                  "pager.supply_other_page_first");
        expect_err(wait_child(pc.child, 0), TERN_WOULD_BLOCK, "pager.other_page_does_not_wake");
        // The second page again: the child waits for the first one, so nothing it does
        // can race with this (once woken it may exit at any moment).
        expect_err(tern_sys_vm_supply(ht, pc.region + kPage, ptr(g_page)), TERN_ALREADY_EXISTS,
                   "pager.supply_twice");
        expect_eq(tern_sys_vm_supply(ht, pc.region, ptr(g_page)), 0, "pager.supply");
        expect_eq(wait_child(pc.child), static_cast<int64_t>(kPattern),
                  "pager.child_saw_supplied_page");
        expect_err(tern_sys_vm_supply(ht, pc.region, ptr(g_page)), TERN_BAD_STATE,
                   "pager.supply_after_exit");
        close(ht);
        release_child(pc.child);
    }

    // Refusal without an exception port: the child dies of a page fault.
    if (make_pager_child(pc, "refuse", static_cast<uint64_t>(pp_send))) {
        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_refused_child");
        tern_msg m{};
        expect_eq(receive(pp, m, kLong), 0, "pager.fault_before_refusal");
        expect_eq(tern_sys_vm_refuse(m.handles[0], pc.region), 0, "pager.refuse");
        expect_eq(wait_child(pc.child), kPageFaultExit, "pager.refused_child_killed");
        close(m.handles[0]);
        release_child(pc.child);
    }

    // Refusal with an exception port: the fault becomes an exception message.
    int64_t ep = port_create(2);
    int64_t ep_send = dup(ep, TERN_RIGHT_SEND);
    if (make_pager_child(pc, "refuse_exception", static_cast<uint64_t>(pp_send),
                         static_cast<uint64_t>(ep_send))) {
        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_refused_child_2");
        tern_msg m{};
        expect_eq(receive(pp, m, kLong), 0, "pager.fault_before_refusal_2");
        // A page fault of our own while the child waits overwrites CR2; the exception
        // must still report the child's fault address.
        int64_t fresh = vm_allocate(kPage);
        if (fresh > 0)
            *reinterpret_cast<volatile uint64_t*>(fresh + 0x80) = 1;
        expect_eq(tern_sys_vm_refuse(m.handles[0], pc.region), 0, "pager.refuse_2");
        close(m.handles[0]);
        tern_msg e{};
        expect_eq(receive(ep, e, kLong), 0, "pager.refusal_exception_arrives");
        expect_true(e.hdr.label == TERN_LABEL_EXCEPTION && e.words[0] == 14
                        && e.hdr.handle_count == 1,
                    static_cast<int64_t>(e.words[0]), "pager.refusal_exception_contents");
        {
            expect_eq(static_cast<int64_t>(e.words[3]), pc.region + 8,
                      "pager.refusal_exception_fault_address");
        }
        vm_free(fresh, kPage);
        expect_eq(tern_sys_task_kill(pc.child.task, 0x99), 0, "pager.kill_after_exception");
        expect_eq(wait_child(pc.child), 0x99, "pager.killed_status");
        for (uint32_t i = 0; i < e.hdr.handle_count; ++i)
            close(e.handles[i]);
        release_child(pc.child);
    }

    // A pager that never answers: the thread waits until it is killed. Closing the pager's
    // port does not end the wait (not documented either way; printed as a note).
    int64_t lonely = port_create(2);
    int64_t lonely_send = dup(lonely, TERN_RIGHT_SEND);
    if (make_pager_child(pc, "pager_gone", static_cast<uint64_t>(lonely_send))) {
        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_orphan_child");
        tern_msg m{};
        expect_eq(receive(lonely, m, kLong), 0, "pager.orphan_fault_arrives");
        close(m.handles[0]);
        expect_err(wait_child(pc.child, 20 * kMs), TERN_TIMED_OUT, "pager.unanswered_blocks");
        close(lonely_send);
        close(lonely);
        lonely = lonely_send = 0;
        int64_t after_close = wait_child(pc.child, 100 * kMs);
        if (after_close == -TERN_TIMED_OUT) {
            tern::println("ktest: note: a thread waiting for a page keeps waiting after its "
                          "pager's port is closed");
            expect_eq(tern_sys_task_kill(pc.child.task, 0x98), 0, "pager.kill_waiting_child");
            expect_eq(wait_child(pc.child), 0x98, "pager.waiting_child_killed");
        } else {
            tern::println("ktest: note: closing the pager's port ended the waiting child with "
                          "status {:#x}",
                          after_close);
        }
        release_child(pc.child);
    }
    close(lonely_send);
    close(lonely);

    // Stopping a thread that waits for its pager (what a migration does to every thread)
    // must not turn the wait into a fatal fault.
    if (make_pager_child(pc, "stop_while_waiting", static_cast<uint64_t>(pp_send))) {
        expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "pager.start_child_to_stop");
        tern_msg m{};
        expect_eq(receive(pp, m, kLong), 0, "pager.fault_before_stop");
        {
            expect_eq(tern_sys_thread_stop(pc.child.thread, kLong), 0,
                      "pager.stop_thread_waiting_for_page");
            expect_err(wait_child(pc.child, 0), TERN_WOULD_BLOCK,
                       "pager.stopped_waiter_still_alive");
        }
        (void)tern_sys_vm_supply(m.handles[0], pc.region, ptr(g_page));
        (void)tern_sys_thread_resume(pc.child.thread);
        {
            expect_eq(wait_child(pc.child), static_cast<int64_t>(kPattern),
                      "pager.stopped_waiter_sees_page_after_resume");
        }
        // A second fault message may follow when the access is retried; drain it.
        tern_msg extra{};
        while (receive(pp, extra) == 0)
            for (uint32_t i = 0; i < extra.hdr.handle_count; ++i)
                close(extra.handles[i]);
        close(m.handles[0]);
        release_child(pc.child);
    }
    close(ep_send);
    close(ep);
    close(pp_none);
    close(pp_send);
    close(pp);
}

alignas(4096) uint8_t g_pages[4][4096];

uint64_t resident(int64_t task, uint64_t start) {
    static tern_mapping maps[16];
    int64_t n = tern_sys_task_mappings(task, ptr(maps), 16);
    for (int64_t i = 0; i < n && i < 16; ++i)
        if (maps[i].start == start)
            return maps[i].resident_pages;
    return ~0ull;
}

// vm_supply_batch: several pages in one call, all or nothing, and the waiting thread
// resumed by a batch that covers its page.
void test_supply_batch() {
    int64_t pp = port_create(4);
    if (!expect_ok(pp, "batch.port"))
        return;
    int64_t pp_send = dup(pp, TERN_RIGHT_SEND);
    constexpr uint64_t kPattern = 0x5EED0000;
    for (uint64_t i = 0; i < 4; ++i) {
        __builtin_memset(g_pages[i], 0, kPage);
        uint64_t w = kPattern + i;
        __builtin_memcpy(g_pages[i] + 8, &w, 8);
    }
    PagerChild pc;
    if (!make_pager_child(pc, "batch", static_cast<uint64_t>(pp_send))) {
        close(pp_send);
        close(pp);
        return;
    }
    int64_t t = pc.child.task;
    int64_t big = tern_sys_vm_map_pager(t, 0, 8 * kPage, TERN_PROT_READ, pp_send);
    if (expect_ok(big, "batch.map")) {
        uint64_t b = static_cast<uint64_t>(big);
        expect_err(tern_sys_vm_supply_batch(t, b, ptr(g_pages), 0), TERN_INVALID_ARGUMENT,
                   "batch.count_0");
        expect_err(tern_sys_vm_supply_batch(t, b, ptr(g_pages), 65), TERN_INVALID_ARGUMENT,
                   "batch.count_65");
        expect_err(tern_sys_vm_supply_batch(t, 0x00007FFFFFFFF000ull, ptr(g_pages), 2),
                   TERN_INVALID_ARGUMENT, "batch.range_leaves_user_space");
        expect_err(tern_sys_vm_supply_batch(t, 0xFFFF800000000000ull, ptr(g_pages), 1),
                   TERN_INVALID_ARGUMENT, "batch.kernel_address");
        int64_t no_map = dup(t, TERN_RIGHT_CONTROL);
        expect_err(tern_sys_vm_supply_batch(no_map, b, ptr(g_pages), 1), TERN_ACCESS_DENIED,
                   "batch.needs_map_right");
        close(no_map);
        expect_err(tern_sys_vm_supply_batch(pp, b, ptr(g_pages), 1), TERN_WRONG_TYPE,
                   "batch.wrong_type");
        // Past the region's end: nothing is mapped.
        expect_err(tern_sys_vm_supply_batch(t, b + 6 * kPage, ptr(g_pages), 4), TERN_NOT_FOUND,
                   "batch.past_region_end");
        for (const BadPointer& bad : kBadPointers)
            expect_err(tern_sys_vm_supply_batch(t, b, bad.address, 2), TERN_BAD_ADDRESS,
                       "batch.source_{}", bad.name);
        // A source whose last page is unreadable: nothing is mapped either.
        int64_t one = vm_allocate(kPage);
        if (one > 0)
            expect_err(tern_sys_vm_supply_batch(t, b, static_cast<uint64_t>(one), 2),
                       TERN_BAD_ADDRESS, "batch.source_ends_early");
        vm_free(one, kPage);
        expect_eq(static_cast<int64_t>(resident(t, b)), 0, "batch.failures_mapped_nothing");
        expect_eq(tern_sys_vm_supply_batch(t, b + kPage + 123, ptr(g_pages[1]), 3), 3,
                  "batch.three_pages");
        expect_eq(static_cast<int64_t>(resident(t, b)), 3, "batch.three_resident");
        for (uint64_t i = 1; i < 4; ++i) {
            uint64_t w = 0;
            expect_eq(tern_sys_task_vm_read(t, b + i * kPage + 8, ptr(&w), 8), 8,
                      "batch.read_page_{}", i);
            expect_eq(static_cast<int64_t>(w), static_cast<int64_t>(kPattern + i),
                      "batch.page_{}_contents", i);
        }
        // One page of the batch is present already: nothing more is mapped.
        expect_err(tern_sys_vm_supply_batch(t, b, ptr(g_pages), 2), TERN_ALREADY_EXISTS,
                   "batch.overlaps_present_page");
        expect_eq(static_cast<int64_t>(resident(t, b)), 3, "batch.overlap_mapped_nothing");
    }
    // The child faults on the first page of its small region; a batch of both pages
    // resumes it.
    expect_eq(tern_sys_thread_resume(pc.child.thread), 0, "batch.start_child");
    tern_msg m{};
    expect_eq(receive(pp, m, kLong), 0, "batch.fault_arrives");
    expect_eq(tern_sys_vm_supply_batch(m.handles[0], pc.region, ptr(g_pages), 2), 2,
              "batch.supply_fault_page_and_next");
    expect_eq(wait_child(pc.child), static_cast<int64_t>(kPattern), "batch.child_saw_first_page");
    close(m.handles[0]);
    release_child(pc.child);
    close(pp_send);
    close(pp);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_pager");
    test_pager();
    test_supply_batch();
    return finish();
}

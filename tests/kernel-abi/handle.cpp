// Handles: handle_close and handle_duplicate with stale, wrongly typed and
// rightless handles; the per-task handle quota; the task's handle to itself; death
// notices (object_watch, object_unwatch).
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_handle from its self-test user.abi_handle.
#include "harness.h"

using namespace abi;

namespace {

// ---- Handles -----------------------------------------------------------------------

void test_handles() {
    expect_err(port_create(0), TERN_INVALID_ARGUMENT, "handle.port_create_capacity_0");
    expect_err(port_create(65), TERN_INVALID_ARGUMENT, "handle.port_create_capacity_65");
    expect_err(port_create(1ull << 32), TERN_INVALID_ARGUMENT, "handle.port_create_capacity_2^32");
    int64_t big = port_create(64);
    expect_ok(big, "handle.port_create_capacity_64");
    close(big);

    int64_t p = port_create(4);
    if (!expect_ok(p, "handle.port_create"))
        return;
    expect_true(p != TERN_INVALID_HANDLE, p, "handle.port_handle_is_not_invalid");

    // Bad handles: zero, never issued, beyond 32 bits.
    static constexpr uint64_t kBadHandles[] = {0, 0xFFFFFFFF, 0x3FFF, 1ull << 32, ~0ull};
    for (uint64_t bad : kBadHandles) {
        expect_err(tern_sys_handle_close(bad), TERN_BAD_HANDLE, "handle.close_bad_{:#x}", bad);
        expect_err(tern_sys_handle_duplicate(bad, TERN_RIGHTS_SAME), TERN_BAD_HANDLE,
                   "handle.duplicate_bad_{:#x}", bad);
        expect_err(send_label(bad, 1), TERN_BAD_HANDLE, "handle.send_bad_{:#x}", bad);
        tern_msg m{};
        expect_err(receive(bad, m), TERN_BAD_HANDLE, "handle.receive_bad_{:#x}", bad);
        expect_err(tern_sys_task_wait(bad, 0), TERN_BAD_HANDLE, "handle.task_wait_bad_{:#x}", bad);
        expect_err(tern_sys_thread_resume(bad), TERN_BAD_HANDLE, "handle.thread_resume_bad_{:#x}",
                   bad);
    }

    // Duplicates and rights.
    // RIGHTS_SAME would include RECEIVE, which is never duplicated.
    int64_t same = dup(p, TERN_RIGHTS_SAME);
    expect_err(same, TERN_ACCESS_DENIED, "handle.duplicate_same_of_receiver_is_denied");
    close(same);
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER);
    expect_ok(s, "handle.duplicate_send");
    expect_true(s != p, s, "handle.duplicate_is_new_value");
    expect_err(dup(p, TERN_RIGHT_RECEIVE), TERN_ACCESS_DENIED, "handle.duplicate_receive_denied");
    expect_err(dup(s, TERN_RIGHT_SEND | TERN_RIGHT_MAP), TERN_ACCESS_DENIED,
               "handle.duplicate_more_rights_denied");
    expect_err(dup(s, 1u << 20), TERN_ACCESS_DENIED, "handle.duplicate_unknown_right_denied");
    expect_err(dup(s, 1ull << 32), TERN_INVALID_ARGUMENT, "handle.duplicate_rights_over_32_bits");
    int64_t bare = dup(s, TERN_RIGHT_SEND);
    expect_ok(bare, "handle.duplicate_narrow");
    expect_err(dup(bare, TERN_RIGHT_SEND), TERN_ACCESS_DENIED,
               "handle.duplicate_without_duplicate_right");
    int64_t none = dup(s, TERN_RIGHT_NONE);
    expect_ok(none, "handle.duplicate_no_rights");

    // Missing rights: receive without RECEIVE, send without SEND.
    tern_msg m{};
    expect_err(receive(s, m), TERN_ACCESS_DENIED, "handle.receive_without_receive_right");
    expect_err(send_label(none, 1), TERN_ACCESS_DENIED, "handle.send_without_send_right");
    expect_eq(send_label(bare, 5, 55), 0, "handle.send_through_duplicate");
    expect_eq(receive(p, m), 0, "handle.receive_from_original");
    expect_true(m.hdr.label == 5 && m.words[0] == 55, m.hdr.label, "handle.duplicate_same_port");
    close(none);

    // Stale handles: a closed value stays invalid, even after its slot is reused.
    int64_t q = port_create(2);
    expect_ok(q, "handle.second_port");
    expect_eq(tern_sys_handle_close(q), 0, "handle.close");
    expect_err(tern_sys_handle_close(q), TERN_BAD_HANDLE, "handle.close_twice");
    expect_err(send_label(q, 1), TERN_BAD_HANDLE, "handle.send_on_closed_handle");
    int64_t reuse[8];
    bool any_same = false;
    for (int64_t& h : reuse) {
        h = port_create(1);
        any_same = any_same || h == q;
    }
    expect_true(!any_same, q, "handle.closed_value_not_reissued");
    expect_err(send_label(q, 1), TERN_BAD_HANDLE, "handle.stale_generation_after_reuse");
    for (int64_t h : reuse)
        close(h);

    // Wrong types: a thread handle where a port is needed and the other way round.
    Job j;
    j.a = static_cast<uint64_t>(p);
    int64_t th = start_job(j, job_block_on_port);
    if (expect_ok(th, "handle.thread_create_for_type_checks")) {
        expect_err(send_label(th, 1), TERN_WRONG_TYPE, "handle.send_on_thread_handle");
        expect_err(receive(th, m), TERN_WRONG_TYPE, "handle.receive_on_thread_handle");
        expect_err(tern_sys_thread_resume(p), TERN_WRONG_TYPE, "handle.thread_resume_on_port");
        expect_err(tern_sys_task_wait(p, 0), TERN_WRONG_TYPE, "handle.task_wait_on_port");
        expect_err(tern_sys_task_kill(th, 1), TERN_WRONG_TYPE, "handle.task_kill_on_thread");
        expect_err(tern_sys_port_reply(p, ptr(&m)), TERN_WRONG_TYPE, "handle.reply_on_port");
        expect_err(tern_sys_vm_supply(p, 0x400000, ptr(&m)), TERN_WRONG_TYPE,
                   "handle.vm_supply_on_port");
        // The thread's own task: thread_stop refuses threads of the caller's task.
        expect_err(tern_sys_thread_stop(th, kSecond), TERN_BAD_STATE,
                   "handle.thread_stop_own_task");
        expect_err(tern_sys_thread_resume(th), TERN_BAD_STATE, "handle.thread_resume_not_stopped");
        tern_regs regs{};
        expect_err(tern_sys_thread_get_regs(th, ptr(&regs)), TERN_BAD_STATE,
                   "handle.thread_get_regs_not_stopped");
        expect_err(tern_sys_thread_set_regs(th, ptr(&regs)), TERN_BAD_STATE,
                   "handle.thread_set_regs_not_stopped");
        expect_eq(send_label(s, 9), 0, "handle.wake_blocked_thread");
        expect_true(join_job(j), 0, "handle.blocked_thread_exits");
        expect_eq(j.result, 0, "handle.blocked_thread_received");
    }
    close(bare);
    close(s);
    close(p);
}

// ---- Handle quota -------------------------------------------------------------------

void test_handle_quota() {
    // A message with a handle waits in r; once the table is full it cannot be received.
    int64_t r = port_create(2);
    int64_t other = port_create(1);
    int64_t carried = dup(other, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    tern_msg m = make_msg(1);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(carried);
    expect_eq(send(r, m), 0, "quota.queue_message_with_handle");

    static int64_t handles[1100];
    int n = 0;
    int64_t last = 0;
    for (; n < 1100; ++n) {
        last = port_create(1);
        if (last < 0)
            break;
        handles[n] = last;
    }
    expect_eq(last, -TERN_QUOTA_EXCEEDED, "quota.port_create_until_quota_exceeded");
    expect_true(n > 1000 && n < 1024, n, "quota.handle_quota_is_1024");
    expect_err(dup(other, TERN_RIGHT_SEND), TERN_QUOTA_EXCEEDED, "quota.duplicate_when_full");
    tern_msg got{};
    expect_err(receive(r, got), TERN_QUOTA_EXCEEDED, "quota.receive_handle_when_full");
    expect_err(tern_sys_task_create(ptr("x"), 1), TERN_QUOTA_EXCEEDED,
               "quota.task_create_when_full");
    bool closed = true;
    for (int i = 0; i < n; ++i)
        closed = closed && tern_sys_handle_close(handles[i]) == 0;
    expect_true(closed, n, "quota.close_them_all");
    expect_eq(receive(r, got), 0, "quota.message_kept_until_room");
    expect_true(got.hdr.handle_count == 1 && got.handles[0] != 0, got.hdr.handle_count,
                "quota.message_delivered_with_handle");
    close(got.handles[0]);
    int64_t again = port_create(1);
    expect_ok(again, "quota.port_create_after_release");
    close(again);
    close(other);
    close(r);
}

void test_self_handle() {
    static tern_handle_info infos[64];
    int64_t n = tern_sys_task_handles(TERN_HANDLE_SELF, ptr(infos), 64);
    bool found = false;
    for (int64_t i = 0; i < n && i < 64; ++i)
        found = found
                || (infos[i].handle == TERN_HANDLE_SELF && infos[i].type == TERN_OBJ_TASK
                    && infos[i].rights == (TERN_RIGHTS_ALL & ~TERN_RIGHT_RECEIVE));
    expect_true(found, n, "self.handle_listed_with_rights");
    // Every handle to one object reports the same object id; another object another.
    int64_t a = port_create(1);
    int64_t a_send = dup(a, TERN_RIGHT_SEND);
    int64_t b = port_create(1);
    uint64_t ids[3] = {};
    n = tern_sys_task_handles(TERN_HANDLE_SELF, ptr(infos), 64);
    for (int64_t i = 0; i < n && i < 64; ++i) {
        if (infos[i].handle == tern_handle_t(a))
            ids[0] = infos[i].object;
        else if (infos[i].handle == tern_handle_t(a_send))
            ids[1] = infos[i].object;
        else if (infos[i].handle == tern_handle_t(b))
            ids[2] = infos[i].object;
    }
    expect_true(ids[0] != 0 && ids[0] == ids[1], ids[1], "self.same_object_same_id");
    expect_true(ids[2] != 0 && ids[2] != ids[0], ids[2], "self.other_object_other_id");
    close(a_send);
    close(a);
    close(b);
    static tern_mapping maps[64];
    n = tern_sys_task_mappings(TERN_HANDLE_SELF, ptr(maps), 64);
    bool text = false, stack = false;
    for (int64_t i = 0; i < n && i < 64; ++i) {
        text = text
               || (maps[i].start == ptr(__user_image_start) && maps[i].kind == TERN_MAPPING_IMAGE
                   && maps[i].prot == (TERN_PROT_READ | TERN_PROT_EXEC));
        stack = stack || maps[i].kind == TERN_MAPPING_STACK;
    }
    expect_true(text && stack, n, "self.mappings_show_image_and_stack");
    expect_err(tern_sys_task_wait(TERN_HANDLE_SELF, 0), TERN_WOULD_BLOCK, "self.wait_would_block");
    static uint64_t word = 0x51;
    uint64_t back = 0;
    expect_eq(tern_sys_task_vm_read(TERN_HANDLE_SELF, ptr(&word), ptr(&back), 8), 8,
              "self.vm_read");
    expect_eq(static_cast<int64_t>(back), 0x51, "self.vm_read_value");
    expect_err(dup(TERN_HANDLE_SELF, TERN_RIGHTS_SAME | TERN_RIGHT_RECEIVE), TERN_ACCESS_DENIED,
               "self.no_receive_right");
    int64_t copy = dup(TERN_HANDLE_SELF, TERN_RIGHT_READ);
    expect_ok(copy, "self.duplicate");
    expect_err(tern_sys_task_kill(copy, 1), TERN_ACCESS_DENIED, "self.read_only_copy_cannot_kill");
    close(copy);
}

// ---- Death notices: object_watch and object_unwatch ------------------------------------

void test_watches() {
    int64_t notices = port_create(4);
    int64_t watched = port_create(1);
    if (!expect_ok(notices, "watch.notice_port") || !expect_ok(watched, "watch.watched_port"))
        return;
    int64_t watched_send = dup(watched, TERN_RIGHT_SEND);
    expect_eq(tern_sys_object_watch(watched_send, notices, 11), 0, "watch.port");
    expect_eq(tern_sys_object_watch(watched_send, notices, 12), 0, "watch.port_second_cookie");
    expect_eq(tern_sys_object_unwatch(watched_send, notices, 11), 0, "unwatch.port");
    expect_err(tern_sys_object_unwatch(watched_send, notices, 11), TERN_NOT_FOUND, "unwatch.twice");
    expect_err(tern_sys_object_unwatch(watched_send, notices, 99), TERN_NOT_FOUND,
               "unwatch.unknown_cookie");
    int64_t notices_send = dup(notices, TERN_RIGHT_SEND);
    expect_err(tern_sys_object_unwatch(watched_send, notices_send, 12), TERN_ACCESS_DENIED,
               "unwatch.needs_receive_on_notice_port");
    expect_err(tern_sys_object_unwatch(0x3FFF, notices, 12), TERN_BAD_HANDLE, "unwatch.bad_handle");
    int64_t memory = tern_sys_memory_create(kPage, 0);
    if (expect_ok(memory, "unwatch.memory_object")) {
        expect_err(tern_sys_object_unwatch(memory, notices, 12), TERN_WRONG_TYPE,
                   "unwatch.wrong_type");
        close(memory);
    }
    close(watched);
    tern_msg r{};
    expect_eq(receive(notices, r), 0, "watch.notice_arrives");
    expect_true(r.hdr.label == TERN_LABEL_OBJECT_GONE && r.words[0] == 12, r.words[0],
                "watch.only_the_remaining_watch_fired");
    expect_err(receive(notices, r), TERN_WOULD_BLOCK, "unwatch.cancelled_watch_is_silent");

    // A task's watches likewise: the one left reports the exit status.
    const char name[] = "watched";
    int64_t task = tern_sys_task_create(ptr(name), sizeof(name) - 1);
    if (expect_ok(task, "watch.task_create")) {
        expect_eq(tern_sys_object_watch(task, notices, 31), 0, "watch.task");
        expect_eq(tern_sys_object_watch(task, notices, 32), 0, "watch.task_second_cookie");
        expect_eq(tern_sys_object_unwatch(task, notices, 31), 0, "unwatch.task");
        expect_eq(tern_sys_task_kill(task, 5), 0, "watch.kill_task");
        expect_eq(receive(notices, r, kLong), 0, "watch.task_notice_arrives");
        expect_true(r.words[0] == 32 && r.words[1] == 5 && r.words[2] == TERN_OBJ_TASK, r.words[0],
                    "watch.task_notice_has_cookie_and_status");
        expect_err(receive(notices, r), TERN_WOULD_BLOCK, "unwatch.task_watch_is_silent");
        close(task);
    }
    close(watched_send);
    close(notices_send);
    close(notices);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_handle");
    test_handles();
    test_handle_quota();
    test_self_handle();
    test_watches();
    return finish();
}

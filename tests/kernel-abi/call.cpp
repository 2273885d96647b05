// Calls and replies: port_call, port_reply and port_reply_receive between threads and
// between tasks, dropped and late replies; queue capture and restore (port_capture,
// port_restore).
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_call from its self-test user.abi_call.
#include "harness.h"

using namespace abi;

namespace {

// ---- Calls and replies ---------------------------------------------------------------

void test_calls_in_task() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "call.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    Job server;
    server.a = static_cast<uint64_t>(p);
    server.c = 3;
    if (expect_ok(start_job(server, job_server), "call.server_thread")) {
        for (uint64_t i = 0; i < 3; ++i) {
            tern_msg m = make_msg(60, 10 + i);
            expect_eq(call(s, m), 0, "call.between_threads_{}", i);
            expect_true(m.words[0] == (10 + i) * 3 + 1 && m.hdr.label == 61, m.words[0],
                        "call.reply_contents_{}", i);
            expect_true(m.reply_handle == 0 && m.hdr.handle_count == 0, m.reply_handle,
                        "call.reply_has_no_reply_handle_{}", i);
        }
        expect_true(join_job(server), 0, "call.server_done");
        expect_eq(server.result, 0, "call.server_result");
    }

    // The server drops the reply right without answering: the caller gets PEER_CLOSED.
    server.b = 1;
    server.c = 1;
    if (expect_ok(start_job(server, job_server), "call.dropping_server_thread")) {
        tern_msg m = make_msg(62, 1);
        expect_err(call(s, m), TERN_PEER_CLOSED, "call.reply_right_dropped");
        expect_true(join_job(server), 0, "call.dropping_server_done");
    }

    // Nobody answers within the timeout: TIMED_OUT; a late reply then gets PEER_CLOSED.
    tern_msg m = make_msg(63, 5);
    uint64_t start = now_ns();
    expect_err(call(s, m, 20 * kMs), TERN_TIMED_OUT, "call.timeout");
    expect_true(now_ns() - start >= 20 * kMs, static_cast<int64_t>(now_ns() - start),
                "call.timeout_duration");
    tern_msg r{};
    expect_eq(receive(p, r), 0, "call.receive_abandoned_call");
    expect_true((r.hdr.flags & TERN_MSG_FLAG_CALL) && r.reply_handle != 0 && r.words[0] == 5,
                r.hdr.flags, "call.abandoned_call_is_a_call");
    expect_err(reply_word(r.reply_handle, 6), TERN_PEER_CLOSED, "call.late_reply_peer_closed");
    expect_err(reply_word(r.reply_handle, 6), TERN_BAD_HANDLE, "call.reply_handle_consumed");

    // Errors of port_call itself.
    m = make_msg(64);
    m.hdr.handle_count = TERN_MSG_MAX_HANDLES; // one slot is the reply right's
    expect_err(call(s, m), TERN_TOO_BIG, "call.eight_handles_too_big");
    m = make_msg(64);
    m.hdr.data_size = 65537;
    expect_err(call(s, m), TERN_TOO_BIG, "call.data_too_big");
    for (const BadPointer& b : kBadPointers) {
        expect_err(tern_sys_port_call(s, b.address, kLong), TERN_BAD_ADDRESS, "call.msg_{}",
                   b.name);
        m = make_msg(64);
        m.hdr.data_size = 64;
        m.data = b.address;
        expect_err(call(s, m), TERN_BAD_ADDRESS, "call.data_{}", b.name);
    }
    int64_t no_send = dup(p, TERN_RIGHT_TRANSFER);
    m = make_msg(64);
    expect_err(call(no_send, m), TERN_ACCESS_DENIED, "call.without_send_right");
    close(no_send);
    expect_err(receive(p, r), TERN_WOULD_BLOCK, "call.failed_calls_queued_nothing");

    // Errors of port_reply: take a real reply handle and misuse it first.
    Job caller;
    caller.a = 70;
    caller.b = static_cast<uint64_t>(s);
    if (expect_ok(start_job(caller, job_caller), "call.caller_thread")) {
        expect_eq(receive(p, r, kLong), 0, "call.receive_call");
        uint64_t reply = r.reply_handle;
        expect_true(reply != 0 && (r.hdr.flags & TERN_MSG_FLAG_CALL), r.hdr.flags,
                    "call.received_reply_handle");
        expect_err(send_label(reply, 1), TERN_WRONG_TYPE, "call.send_on_reply_handle");
        expect_err(dup(reply, TERN_RIGHTS_SAME), TERN_ACCESS_DENIED, "call.reply_not_duplicable");
        for (const BadPointer& b : kBadPointers) {
            expect_err(tern_sys_port_reply(reply, b.address), TERN_BAD_ADDRESS, "reply.msg_{}",
                       b.name);
            tern_msg with_data = make_msg(1);
            with_data.hdr.data_size = 64;
            with_data.data = b.address;
            expect_err(tern_sys_port_reply(reply, ptr(&with_data)), TERN_BAD_ADDRESS,
                       "reply.data_{}", b.name);
        }
        tern_msg big = make_msg(1);
        big.hdr.data_size = 65537;
        expect_err(tern_sys_port_reply(reply, ptr(&big)), TERN_TOO_BIG, "reply.data_too_big");
        big = make_msg(1);
        big.hdr.handle_count = TERN_MSG_MAX_HANDLES + 1;
        expect_err(tern_sys_port_reply(reply, ptr(&big)), TERN_TOO_BIG, "reply.handles_too_big");
        expect_err(reply_word(0x3FFF, 1), TERN_BAD_HANDLE, "reply.bad_handle");
        expect_eq(reply_word(reply, 71), 0, "reply.after_errors_still_works");
        expect_true(join_job(caller), 0, "call.caller_done");
        expect_eq(caller.result, 71, "call.caller_got_reply");
    }

    // A reply can carry handles and data back to the caller.
    caller.a = 80;
    if (expect_ok(start_job(caller, job_caller), "call.caller_thread_2")) {
        expect_eq(receive(p, r, kLong), 0, "call.receive_call_2");
        int64_t gift = port_create(1);
        tern_msg answer = make_msg(1, 81);
        int64_t gift_send = dup(gift, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
        answer.hdr.handle_count = 1;
        answer.handles[0] = static_cast<tern_handle_t>(gift_send);
        expect_eq(tern_sys_port_reply(r.reply_handle, ptr(&answer)), 0, "reply.with_handle");
        expect_err(tern_sys_handle_close(gift_send), TERN_BAD_HANDLE, "reply.handle_moved");
        expect_true(join_job(caller), 0, "call.caller_2_done");
        expect_eq(caller.result, 81, "call.caller_2_got_reply");
        close(gift);
    }

    // port_reply_receive: the answer to one call and the next call in one syscall.
    Job first, second;
    first.a = 90;
    first.b = second.b = static_cast<uint64_t>(s);
    second.a = 92;
    if (expect_ok(start_job(first, job_caller), "replyrecv.first_caller")
        && expect_ok(start_job(second, job_caller), "replyrecv.second_caller")) {
        expect_eq(receive(p, r, kLong), 0, "replyrecv.receive_first");
        tern_msg answer = make_msg(1, r.words[0] + 1);
        tern_msg next{};
        expect_eq(tern_sys_port_reply_receive(r.reply_handle, ptr(&answer),
                                              static_cast<uint64_t>(p), ptr(&next), kLong),
                  0, "replyrecv.answer_and_receive");
        expect_true((next.hdr.flags & TERN_MSG_FLAG_CALL) && next.reply_handle != 0
                        && next.words[0] != r.words[0],
                    next.words[0], "replyrecv.received_the_other_call");
        expect_err(tern_sys_handle_close(r.reply_handle), TERN_BAD_HANDLE,
                   "replyrecv.reply_right_consumed");
        expect_eq(reply_word(next.reply_handle, next.words[0] + 1), 0, "replyrecv.plain_reply");
        expect_true(join_job(first) && join_job(second), 0, "replyrecv.callers_done");
        expect_eq(first.result, 91, "replyrecv.first_got_its_answer");
        expect_eq(second.result, 93, "replyrecv.second_got_its_answer");
    }

    // A refused reply (too big) still ends the call, with PEER_CLOSED for the caller, and
    // the receive half goes ahead.
    caller.a = 94;
    if (expect_ok(start_job(caller, job_caller), "replyrecv.caller_for_refusal")) {
        expect_eq(receive(p, r, kLong), 0, "replyrecv.receive_for_refusal");
        tern_msg big = make_msg(1);
        big.hdr.data_size = 65537;
        tern_msg next{};
        expect_err(tern_sys_port_reply_receive(r.reply_handle, ptr(&big), static_cast<uint64_t>(p),
                                               ptr(&next), TERN_TIMEOUT_NONE),
                   TERN_WOULD_BLOCK, "replyrecv.refused_reply_then_empty_queue");
        expect_true(join_job(caller), 0, "replyrecv.refused_caller_done");
        expect_eq(caller.result, -TERN_PEER_CLOSED, "replyrecv.caller_got_peer_closed");
        expect_err(tern_sys_handle_close(r.reply_handle), TERN_BAD_HANDLE,
                   "replyrecv.refused_reply_right_dropped");
    }

    // The caller gave up: the handles the reply carried are closed, not left behind.
    m = make_msg(95, 7);
    expect_err(call(s, m, 10 * kMs), TERN_TIMED_OUT, "replyrecv.abandoned_call");
    expect_eq(receive(p, r), 0, "replyrecv.receive_abandoned_call");
    {
        int64_t gift = port_create(1);
        int64_t gift_send = dup(gift, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
        tern_msg answer = make_msg(1, 8);
        answer.hdr.handle_count = 1;
        answer.handles[0] = static_cast<tern_handle_t>(gift_send);
        tern_msg next{};
        expect_err(tern_sys_port_reply_receive(r.reply_handle, ptr(&answer),
                                               static_cast<uint64_t>(p), ptr(&next),
                                               TERN_TIMEOUT_NONE),
                   TERN_WOULD_BLOCK, "replyrecv.reply_to_gone_caller");
        expect_err(tern_sys_handle_close(gift_send), TERN_BAD_HANDLE,
                   "replyrecv.gone_callers_handles_closed");
        close(gift);
    }

    // A bad port for the receive half: the reply has gone all the same.
    caller.a = 96;
    if (expect_ok(start_job(caller, job_caller), "replyrecv.caller_for_bad_port")) {
        expect_eq(receive(p, r, kLong), 0, "replyrecv.receive_for_bad_port");
        tern_msg answer = make_msg(1, 97);
        tern_msg next{};
        expect_err(
            tern_sys_port_reply_receive(r.reply_handle, ptr(&answer), 0x3FFF, ptr(&next), kLong),
            TERN_BAD_HANDLE, "replyrecv.bad_port");
        expect_true(join_job(caller), 0, "replyrecv.bad_port_caller_done");
        expect_eq(caller.result, 97, "replyrecv.reply_went_before_bad_port");
    }
    close(s);
    close(p);
}

// A handle that names no reply object, passed to port_reply_receive as the reply right,
// is refused and stays in the table with what it does. Two ports that each hold a send
// right to the other in their queues lose both references for good if their receive
// rights go without closing the ports (the queues stay open with nobody to receive):
// every object must be gone once the handles are closed.
void test_reply_receive_keeps_other_handles() {
    tern_memory_info before{}, after{};
    expect_eq(tern_sys_memory_info(ptr(&before)), 0, "replyrecv.memory_info");
    int64_t q = port_create(1);
    int64_t r = port_create(1);
    int64_t empty = port_create(1);
    if (!expect_ok(q, "replyrecv.cycle_port_q") || !expect_ok(r, "replyrecv.cycle_port_r")
        || !expect_ok(empty, "replyrecv.empty_port"))
        return;
    int64_t q_send = dup(q, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    int64_t r_send = dup(r, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    tern_msg to_q = make_msg(70);
    to_q.hdr.handle_count = 1;
    to_q.handles[0] = static_cast<tern_handle_t>(r_send);
    expect_eq(send(q, to_q), 0, "replyrecv.send_r_to_q");
    tern_msg to_r = make_msg(71);
    to_r.hdr.handle_count = 1;
    to_r.handles[0] = static_cast<tern_handle_t>(q_send);
    expect_eq(send(r, to_r), 0, "replyrecv.send_q_to_r");
    // Both send rights now live only in the queues.
    const int64_t receivers[] = {q, r};
    for (int i = 0; i < 2; ++i) {
        int64_t port = receivers[i];
        tern_msg answer = make_msg(72);
        tern_msg next{};
        expect_err(tern_sys_port_reply_receive(static_cast<uint64_t>(port), ptr(&answer),
                                               static_cast<uint64_t>(empty), ptr(&next),
                                               TERN_TIMEOUT_NONE),
                   TERN_WOULD_BLOCK, "replyrecv.port_as_reply_handle_{}", i);
    }
    expect_eq(tern_sys_handle_close(static_cast<uint64_t>(q)), 0,
              "replyrecv.port_as_reply_handle_kept_q");
    expect_eq(tern_sys_handle_close(static_cast<uint64_t>(r)), 0,
              "replyrecv.port_as_reply_handle_kept_r");
    close(empty);
    expect_eq(tern_sys_memory_info(ptr(&after)), 0, "replyrecv.memory_info_after");
    expect_eq(int64_t(after.live_objects), int64_t(before.live_objects),
              "replyrecv.port_as_reply_handle_leaves_no_object");
}

void test_calls_between_tasks() {
    // The child calls us.
    int64_t p = port_create(4);
    if (!expect_ok(p, "xcall.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    Child c;
    CloneOptions o;
    o.mode = kChildCall;
    o.param = 41;
    o.give = static_cast<uint64_t>(s);
    o.give_rights = TERN_RIGHT_SEND;
    if (clone_child(c, "caller", o)) {
        tern_msg r{};
        expect_eq(receive(p, r, kLong), 0, "xcall.receive_from_child");
        expect_true((r.hdr.flags & TERN_MSG_FLAG_CALL) && r.reply_handle && r.words[0] == 41,
                    static_cast<int64_t>(r.words[0]), "xcall.child_call_contents");
        expect_eq(reply_word(r.reply_handle, 42), 0, "xcall.reply_to_child");
        expect_eq(wait_child(c), 42, "xcall.child_got_reply");
        release_child(c);
    }

    // We call the child: it holds the receive right.
    int64_t q = port_create(4);
    int64_t sq = dup(q, TERN_RIGHT_SEND);
    o = CloneOptions{};
    o.mode = kChildServe;
    o.give = static_cast<uint64_t>(q);
    if (clone_child(c, "server", o)) {
        tern_msg m = make_msg(5, 20);
        expect_eq(call(sq, m), 0, "xcall.call_child");
        expect_eq(static_cast<int64_t>(m.words[0]), 41, "xcall.child_reply");
        m = make_msg(5, 7);
        expect_eq(call(sq, m), 0, "xcall.call_child_again");
        expect_eq(static_cast<int64_t>(m.words[0]), 15, "xcall.child_reply_again");
        expect_eq(send_label(sq, 0), 0, "xcall.stop_server");
        expect_eq(wait_child(c), 2, "xcall.server_served_two");
        // The server is gone: its port is closed.
        m = make_msg(5, 1);
        expect_err(call(sq, m), TERN_PEER_CLOSED, "xcall.call_after_server_exit");
        release_child(c);
    }
    close(sq);

    // A call interrupted by thread_stop must not receive the stale reply to that call
    // later, in place of the reply to its next call.
    o = CloneOptions{};
    o.mode = kChildCallTwice;
    o.give = static_cast<uint64_t>(s);
    o.give_rights = TERN_RIGHT_SEND;
    if (clone_child(c, "interrupted_caller", o)) {
        tern_msg first{}, second{};
        expect_eq(receive(p, first, kLong), 0, "xcall.first_call");
        expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "xcall.stop_blocked_caller");
        expect_eq(tern_sys_thread_resume(c.thread), 0, "xcall.resume_caller");
        expect_eq(receive(p, second, kLong), 0, "xcall.second_call");
        expect_eq(static_cast<int64_t>(second.words[0]), 2, "xcall.second_call_contents");
        expect_eq(reply_word(second.reply_handle, 200), 0, "xcall.answer_second_call");
        {
            expect_err(reply_word(first.reply_handle, 100), TERN_PEER_CLOSED,
                       "xcall.answer_to_interrupted_call_refused");
            expect_eq(wait_child(c), 200, "xcall.caller_got_its_own_reply");
        }
        close(first.reply_handle);
        release_child(c);
    }

    // A thread that made a call, got its answer and was then stopped must run on when its
    // last handle goes (nobody could resume it any more): the reply object it keeps for
    // its next call must not hold it.
    o = CloneOptions{};
    o.mode = kChildCallSleepCall;
    o.param = 200; // ms between its calls
    o.give = static_cast<uint64_t>(s);
    o.give_rights = TERN_RIGHT_SEND;
    if (clone_child(c, "orphaned_caller", o)) {
        tern_msg first{}, second{};
        expect_eq(receive(p, first, kLong), 0, "xcall.orphan_first_call");
        expect_eq(reply_word(first.reply_handle, 100), 0, "xcall.orphan_answer_first_call");
        sleep_ms(20); // it sleeps between its calls now
        expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "xcall.orphan_stop_caller");
        close(c.thread);
        c.thread = 0;
        // Only the closed handle could have resumed it: the kernel does, and the thread
        // makes its second call.
        expect_eq(receive(p, second, kLong), 0, "xcall.orphan_resumed_and_called_again");
        expect_eq(static_cast<int64_t>(second.words[0]), 2, "xcall.orphan_second_call_contents");
        expect_eq(reply_word(second.reply_handle, 300), 0, "xcall.orphan_answer_second_call");
        expect_eq(wait_child(c), 300, "xcall.orphan_exits_with_its_reply");
        release_child(c);
    }
    close(s);
    close(p);
}

// ---- Queue capture and restore --------------------------------------------------------

void test_capture_restore() {
    int64_t a = port_create(8);
    int64_t b = port_create(8);
    int64_t target = port_create(2);
    if (!expect_ok(a, "capture.port_a") || !expect_ok(b, "capture.port_b")
        || !expect_ok(target, "capture.port_target"))
        return;
    int64_t sa = dup(a, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    static uint8_t payload[32];
    for (uint32_t i = 0; i < sizeof(payload); ++i)
        payload[i] = static_cast<uint8_t>(0xA0 + i);
    tern_msg m = make_msg(10, 100);
    m.hdr.data_size = sizeof(payload);
    m.data = ptr(payload);
    expect_eq(send(sa, m), 0, "capture.queue_data_message");
    m = make_msg(11, 101);
    int64_t carried = dup(target, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(carried);
    expect_eq(send(sa, m), 0, "capture.queue_handle_message");
    Job caller;
    caller.a = 7;
    caller.b = static_cast<uint64_t>(sa);
    if (!expect_ok(start_job(caller, job_caller), "capture.caller_thread"))
        return;
    sleep_ms(10); // the caller's message is queued third

    static tern_msg out[8];
    static uint8_t bufs[8][64];
    auto prepare = [&](uint32_t capacity) {
        for (uint32_t i = 0; i < 8; ++i) {
            out[i] = tern_msg{};
            out[i].data = ptr(bufs[i]);
            out[i].data_capacity = capacity;
        }
    };
    prepare(64);
    expect_err(tern_sys_port_capture(a, ptr(out), 2), TERN_NO_SPACE, "capture.max_too_small");
    prepare(16);
    expect_err(tern_sys_port_capture(a, ptr(out), 8), TERN_NO_SPACE, "capture.data_does_not_fit");
    prepare(64);
    expect_err(tern_sys_port_capture(sa, ptr(out), 8), TERN_ACCESS_DENIED,
               "capture.without_receive_right");
    for (const BadPointer& bp : kBadPointers)
        expect_err(tern_sys_port_capture(a, bp.address, 8), TERN_BAD_ADDRESS, "capture.out_{}",
                   bp.name);
    int64_t n = tern_sys_port_capture(a, ptr(out), 8);
    expect_eq(n, 3, "capture.three_messages");
    tern_msg r{};
    expect_err(receive(a, r), TERN_WOULD_BLOCK, "capture.queue_drained");
    bool data_ok =
        out[0].hdr.label == 10 && out[0].words[0] == 100 && out[0].hdr.data_size == sizeof(payload);
    for (uint32_t i = 0; data_ok && i < sizeof(payload); ++i)
        data_ok = bufs[0][i] == payload[i];
    expect_true(data_ok, out[0].hdr.label, "capture.first_message_with_data");
    expect_true(out[1].hdr.label == 11 && out[1].hdr.handle_count == 1 && out[1].handles[0] != 0,
                out[1].hdr.label, "capture.second_message_with_handle");
    expect_true(out[2].hdr.label == 50 && out[2].words[0] == 7
                    && (out[2].hdr.flags & TERN_MSG_FLAG_CALL) && out[2].reply_handle != 0,
                out[2].hdr.label, "capture.third_message_is_call");
    uint64_t badge = out[0].hdr.sender_badge;

    // Restoring needs SEND and RECEIVE, all messages must fit, and bad arrays fail.
    int64_t sb = dup(b, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    expect_err(tern_sys_port_restore(sb, ptr(out), 3), TERN_ACCESS_DENIED,
               "restore.without_receive_right");
    expect_err(tern_sys_port_restore(b, ptr(out), 9), TERN_WOULD_BLOCK, "restore.more_than_fit");
    expect_err(tern_sys_port_restore(b, ptr(out), 65), TERN_WOULD_BLOCK,
               "restore.more_than_any_queue");
    for (const BadPointer& bp : kBadPointers)
        expect_err(tern_sys_port_restore(b, bp.address, 1), TERN_BAD_ADDRESS, "restore.msgs_{}",
                   bp.name);
    expect_err(receive(b, r), TERN_WOULD_BLOCK, "restore.failures_queued_nothing");
    int64_t handle1 = out[1].handles[0];
    int64_t reply = out[2].reply_handle;
    expect_eq(tern_sys_port_restore(b, ptr(out), 3), 3, "restore.three_messages");
    expect_err(tern_sys_handle_close(handle1), TERN_BAD_HANDLE, "restore.carried_handle_moved");
    expect_err(tern_sys_handle_close(reply), TERN_BAD_HANDLE, "restore.reply_handle_moved");

    static uint8_t data[64];
    expect_eq(receive(b, r, 0, data, 64), 0, "restore.receive_first");
    data_ok = r.hdr.label == 10 && r.words[0] == 100 && r.hdr.data_size == sizeof(payload)
              && r.hdr.sender_badge == badge;
    for (uint32_t i = 0; data_ok && i < sizeof(payload); ++i)
        data_ok = data[i] == payload[i];
    expect_true(data_ok, r.hdr.label, "restore.first_kept_order_data_badge");
    expect_eq(receive(b, r), 0, "restore.receive_second");
    expect_true(r.hdr.label == 11 && r.hdr.handle_count == 1 && r.handles[0] != 0, r.hdr.label,
                "restore.second_kept_handle");
    expect_eq(send_label(r.handles[0], 12), 0, "restore.carried_handle_works");
    tern_msg t{};
    expect_eq(receive(target, t), 0, "restore.carried_handle_reaches_target");
    close(r.handles[0]);
    expect_eq(receive(b, r), 0, "restore.receive_third");
    expect_true(r.hdr.label == 50 && (r.hdr.flags & TERN_MSG_FLAG_CALL) && r.reply_handle != 0,
                r.hdr.label, "restore.third_still_a_call");
    expect_eq(reply_word(r.reply_handle, 8), 0, "restore.reply_through_carried_reply_right");
    expect_true(join_job(caller), 0, "restore.caller_done");
    expect_eq(caller.result, 8, "restore.caller_got_reply");

    // A capture must not lose messages when a data buffer is bad: it reports the error
    // and leaves the queue as it was, the way a too-small buffer does.
    m = make_msg(13);
    m.hdr.data_size = sizeof(payload);
    m.data = ptr(payload);
    expect_eq(send(sa, m), 0, "capture.queue_for_bad_buffer");
    prepare(64);
    out[0].data = 0x200000;
    {
        expect_err(tern_sys_port_capture(a, ptr(out), 8), TERN_BAD_ADDRESS,
                   "capture.bad_data_buffer_refused");
        expect_eq(receive(a, r, 0, data, 64), 0, "capture.message_kept_after_bad_buffer");
    }
    (void)receive(a, r, 0, data, 64);

    // Restore must not turn one handle into two: listing a handle without DUPLICATE in
    // two restored messages would copy it.
    int64_t once = dup(target, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    prepare(0);
    for (int i = 0; i < 2; ++i) {
        out[i].hdr.label = 90 + static_cast<uint32_t>(i);
        out[i].hdr.handle_count = 1;
        out[i].handles[0] = static_cast<tern_handle_t>(once);
        out[i].data = 0;
    }
    {
        int64_t restored = tern_sys_port_restore(b, ptr(out), 2);
        expect_true(restored < 0, restored, "restore.same_handle_in_two_messages_refused");
    }
    while (receive(b, r) == 0)
        for (uint32_t i = 0; i < r.hdr.handle_count; ++i)
            close(r.handles[i]);
    close(once);
    close(sb);
    close(sa);
    close(target);
    close(b);
    close(a);
}

// ---- The fast path --------------------------------------------------------------------

tern_ipc_stats ipc_stats() {
    tern_ipc_stats st{};
    (void)tern_sys_ipc_stats(ptr(&st));
    return st;
}

// How the fast path's counters moved between two readings.
struct StatsDelta {
    int64_t fast_calls, slow_calls, fast_replies, slow_replies;
};
StatsDelta delta(const tern_ipc_stats& a, const tern_ipc_stats& b) {
    return StatsDelta{int64_t(b.fast_calls - a.fast_calls), int64_t(b.slow_calls - a.slow_calls),
                      int64_t(b.fast_replies - a.fast_replies),
                      int64_t(b.slow_replies - a.slow_replies)};
}

// Serves calls on port a with port_reply_receive until c calls are answered (the last
// with port_reply): label + 1, words[0] = 3 * words[0] + 1, words[1] = the sender badge,
// words[2] = the number of handles received (closed) and words[3] = how many signal
// messages came before this call. Each receive waits at most kLong.
int64_t job_fast_server(Job& j) {
    uint8_t buffer[64];
    tern_msg m{};
    m.data = ptr(buffer);
    m.data_capacity = sizeof(buffer);
    uint64_t signals = 0;
    j.started = 1;
    int64_t r = tern_sys_port_receive(j.a, ptr(&m), kLong);
    for (uint64_t answered = 0; r >= 0;) {
        if (m.hdr.label == TERN_LABEL_SIGNAL) {
            ++signals;
            m = tern_msg{};
            m.data = ptr(buffer);
            m.data_capacity = sizeof(buffer);
            r = tern_sys_port_receive(j.a, ptr(&m), kLong);
            continue;
        }
        if (!(m.hdr.flags & TERN_MSG_FLAG_CALL) || m.reply_handle == 0)
            return -TERN_CORRUPT;
        for (uint32_t i = 0; i < m.hdr.handle_count; ++i)
            close(m.handles[i]);
        tern_msg answer = make_msg(m.hdr.label + 1, m.words[0] * 3 + 1, m.hdr.sender_badge);
        answer.words[2] = m.hdr.handle_count;
        answer.words[3] = signals;
        if (++answered == j.c)
            return tern_sys_port_reply(m.reply_handle, ptr(&answer));
        tern_handle_t reply = m.reply_handle;
        m = tern_msg{};
        m.data = ptr(buffer);
        m.data_capacity = sizeof(buffer);
        r = tern_sys_port_reply_receive(reply, ptr(&answer), j.a, ptr(&m), kLong);
    }
    return r;
}

// Receives one call on port a (waiting at most kLong), holds it for b ms, then answers
// it (c == 0) or closes its reply handle (c == 1); returns the reply's result.
int64_t job_slow_answer(Job& j) {
    tern_msg m{};
    j.started = 1;
    int64_t r = tern_sys_port_receive(j.a, ptr(&m), kLong);
    if (r < 0)
        return r;
    if (j.b)
        sleep_ms(j.b);
    if (j.c == 1)
        return tern_sys_handle_close(m.reply_handle);
    return reply_word(m.reply_handle, 1);
}

// Lets a job that set `started` reach the receive it waits in (one CPU: it runs as soon
// as this thread sleeps, and blocks within microseconds).
void let_block(Job& j) {
    for (int i = 0; i < 500 && !j.started; ++i)
        sleep_ms(1);
    sleep_ms(10);
}

void test_fast_path() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "fast.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER | TERN_RIGHT_SIGNAL);
    int64_t self_id = tern_sys_task_id();

    // A server waiting in port_receive, then in port_reply_receive: every call and every
    // answer but the last (a plain port_reply) goes the fast way.
    Job server;
    server.a = static_cast<uint64_t>(p);
    server.c = 5;
    if (expect_ok(start_job(server, job_fast_server), "fast.server_thread")) {
        let_block(server);
        tern_ipc_stats before = ipc_stats();
        for (uint64_t i = 0; i < 5; ++i) {
            tern_msg m = make_msg(40, 100 + i);
            m.words[7] = 0x5A5A;
            expect_eq(call(s, m), 0, "fast.call_{}", i);
            expect_true(m.hdr.label == 41 && m.words[0] == (100 + i) * 3 + 1
                            && int64_t(m.words[1]) == self_id && m.words[2] == 0
                            && m.hdr.handle_count == 0 && m.reply_handle == 0 && m.hdr.flags == 0
                            && m.hdr.data_size == 0 && int64_t(m.hdr.sender_badge) == self_id,
                        int64_t(m.words[0]), "fast.reply_contents_and_badges_{}", i);
        }
        StatsDelta d = delta(before, ipc_stats());
        expect_eq(d.fast_calls, 5, "fast.calls_took_the_fast_path");
        expect_eq(d.slow_calls, 0, "fast.no_call_took_the_slow_path");
        expect_eq(d.fast_replies, 4, "fast.replies_took_the_fast_path");
        expect_eq(d.slow_replies, 0, "fast.no_reply_took_the_slow_path");
        expect_true(join_job(server), 0, "fast.server_done");
        expect_eq(server.result, 0, "fast.server_result");
    }

    // Each condition of the fast path that fails sends the call the slow way, with the
    // same result.
    static uint8_t bytes[16] = {1, 2, 3};
    for (int kind = 0; kind < 2; ++kind) {
        server.c = 1;
        if (!expect_ok(start_job(server, job_fast_server), "slow.server_thread_{}", kind))
            continue;
        let_block(server);
        tern_ipc_stats before = ipc_stats();
        tern_msg m = make_msg(40, 7);
        int64_t gift = -1;
        if (kind == 0) { // a data part
            m.hdr.data_size = sizeof(bytes);
            m.data = ptr(bytes);
        } else { // a handle
            gift = port_create(1);
            m.hdr.handle_count = 1;
            m.handles[0] =
                static_cast<tern_handle_t>(dup(gift, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER));
        }
        expect_eq(call(s, m), 0, "slow.call_{}", kind);
        expect_true(m.hdr.label == 41 && m.words[0] == 22 && int64_t(m.words[1]) == self_id
                        && m.words[2] == uint64_t(kind),
                    int64_t(m.words[0]), "slow.reply_contents_{}", kind);
        StatsDelta d = delta(before, ipc_stats());
        // A data part goes straight into the waiting server's buffer (one copy); a
        // handle still takes the slow path.
        if (kind == 0)
            expect_true(d.slow_calls == 0 && d.fast_calls == 1, d.fast_calls,
                        "fast.data_part_goes_straight_to_the_server");
        else
            expect_true(d.slow_calls == 1 && d.fast_calls == 0, d.fast_calls,
                        "slow.handle_takes_the_slow_path");
        expect_true(join_job(server), 0, "slow.server_done_{}", kind);
        close(gift);
    }

    // Nobody waits yet: the call is queued.
    {
        Job caller;
        caller.a = 30;
        caller.b = static_cast<uint64_t>(s);
        tern_ipc_stats before = ipc_stats();
        if (expect_ok(start_job(caller, job_caller), "slow.queued_caller")) {
            tern_msg r{};
            sleep_ms(10);
            expect_eq(receive(p, r, kLong), 0, "slow.receive_queued_call");
            expect_eq(reply_word(r.reply_handle, 31), 0, "slow.answer_queued_call");
            expect_true(join_job(caller), 0, "slow.queued_caller_done");
            expect_eq(caller.result, 31, "slow.queued_caller_got_reply");
            StatsDelta d = delta(before, ipc_stats());
            expect_true(d.slow_calls == 1 && d.fast_calls == 0, d.fast_calls,
                        "slow.no_receiver_takes_the_slow_path");
        }
    }

    // A signal is pending: the call is queued behind it, and the server sees the signal
    // first.
    server.c = 1;
    if (expect_ok(start_job(server, job_fast_server), "slow.signal_server")) {
        let_block(server);
        tern_ipc_stats before = ipc_stats();
        expect_eq(tern_sys_port_signal(s, 4), 0, "slow.signal");
        tern_msg m = make_msg(40, 3);
        expect_eq(call(s, m), 0, "slow.call_after_signal");
        expect_true(m.words[0] == 10 && m.words[3] == 1, int64_t(m.words[3]),
                    "slow.signal_received_before_the_call");
        StatsDelta d = delta(before, ipc_stats());
        expect_true(d.slow_calls == 1 && d.fast_calls == 0, d.fast_calls,
                    "slow.pending_signal_takes_the_slow_path");
        expect_true(join_job(server), 0, "slow.signal_server_done");
    }

    // The receiver waits on a port set the port belongs to, not on the port.
    int64_t set = port_create(1);
    if (expect_ok(set, "slow.set")
        && expect_eq(tern_sys_port_set_add(set, p, 9), 0, "slow.set_add")) {
        server.a = static_cast<uint64_t>(set);
        server.c = 1;
        if (expect_ok(start_job(server, job_fast_server), "slow.set_server")) {
            let_block(server);
            tern_ipc_stats before = ipc_stats();
            tern_msg m = make_msg(40, 4);
            expect_eq(call(s, m), 0, "slow.call_through_set");
            expect_eq(int64_t(m.words[0]), 13, "slow.set_reply");
            StatsDelta d = delta(before, ipc_stats());
            expect_true(d.slow_calls == 1 && d.fast_calls == 0, d.fast_calls,
                        "slow.set_receiver_takes_the_slow_path");
            expect_true(join_job(server), 0, "slow.set_server_done");
        }
        expect_eq(tern_sys_port_set_remove(set, p), 0, "slow.set_remove");
        server.a = static_cast<uint64_t>(p);
    }
    close(set);

    // The server has a call pending, or answers with a handle: the answer goes the slow
    // way, and arrives all the same.
    {
        Job callers[2];
        for (Job& c : callers) {
            c.a = 60;
            c.b = static_cast<uint64_t>(s);
        }
        if (expect_ok(start_job(callers[0], job_caller), "slowreply.caller_0")
            && expect_ok(start_job(callers[1], job_caller), "slowreply.caller_1")) {
            tern_msg r{};
            sleep_ms(10);
            expect_eq(receive(p, r, kLong), 0, "slowreply.receive_0");
            tern_ipc_stats before = ipc_stats();
            // A call is still queued: the receive will not wait.
            tern_msg answer = make_msg(1, 61);
            tern_msg next{};
            expect_eq(
                tern_sys_port_reply_receive(r.reply_handle, ptr(&answer), p, ptr(&next), kLong), 0,
                "slowreply.reply_receive_with_call_pending");
            StatsDelta d = delta(before, ipc_stats());
            expect_true(d.slow_replies == 1 && d.fast_replies == 0, d.fast_replies,
                        "slowreply.pending_call_takes_the_slow_path");
            // An answer that carries a handle.
            before = ipc_stats();
            answer = make_msg(1, 62);
            int64_t gift = port_create(1);
            answer.hdr.handle_count = 1;
            answer.handles[0] =
                static_cast<tern_handle_t>(dup(gift, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER));
            r = tern_msg{};
            expect_eq(
                tern_sys_port_reply_receive(next.reply_handle, ptr(&answer), p, ptr(&r), 20 * kMs),
                -TERN_TIMED_OUT, "slowreply.reply_receive_with_data");
            d = delta(before, ipc_stats());
            expect_true(d.slow_replies == 1 && d.fast_replies == 0, d.fast_replies,
                        "slowreply.handle_takes_the_slow_path");
            close(gift);
            expect_true(join_job(callers[0]) && join_job(callers[1]), 0, "slowreply.callers_done");
            expect_true(callers[0].result + callers[1].result == 61 + 62, callers[0].result,
                        "slowreply.callers_got_their_answers");
        }
    }

    // The fast path keeps a call's timeout: the server holds the call past it.
    Job holder;
    holder.a = static_cast<uint64_t>(p);
    holder.b = 60;
    if (expect_ok(start_job(holder, job_slow_answer), "fast.holding_server")) {
        let_block(holder);
        tern_ipc_stats before = ipc_stats();
        tern_msg m = make_msg(40, 1);
        uint64_t start = now_ns();
        expect_err(call(s, m, 20 * kMs), TERN_TIMED_OUT, "fast.call_times_out");
        expect_true(now_ns() - start >= 20 * kMs, int64_t(now_ns() - start),
                    "fast.timeout_duration");
        expect_eq(delta(before, ipc_stats()).fast_calls, 1, "fast.timed_out_call_was_fast");
        expect_true(join_job(holder), 0, "fast.holding_server_done");
        expect_err(holder.result, TERN_PEER_CLOSED, "fast.late_answer_refused");
        // The next call works (on the reply object the server has let go of).
        server.c = 1;
        if (expect_ok(start_job(server, job_fast_server), "fast.server_after_timeout")) {
            let_block(server);
            m = make_msg(40, 2);
            expect_eq(call(s, m), 0, "fast.call_after_timeout");
            expect_eq(int64_t(m.words[0]), 7, "fast.reply_after_timeout");
            expect_true(join_job(server), 0, "fast.server_after_timeout_done");
        }
    }

    // A server that drops the reply right of a fast call: PEER_CLOSED.
    holder.b = 0;
    holder.c = 1;
    if (expect_ok(start_job(holder, job_slow_answer), "fast.dropping_server")) {
        let_block(holder);
        tern_ipc_stats before = ipc_stats();
        tern_msg m = make_msg(40, 1);
        expect_err(call(s, m), TERN_PEER_CLOSED, "fast.dropped_reply_right");
        expect_eq(delta(before, ipc_stats()).fast_calls, 1, "fast.dropped_call_was_fast");
        expect_true(join_job(holder), 0, "fast.dropping_server_done");
    }

    close(s);
    close(p);
}

// ---- port_reply_error ------------------------------------------------------------------

void test_reply_error() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "replyerr.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    Job caller;
    caller.a = 20;
    caller.b = static_cast<uint64_t>(s);
    if (expect_ok(start_job(caller, job_caller), "replyerr.caller")) {
        tern_msg r{};
        expect_eq(receive(p, r, kLong), 0, "replyerr.receive_call");
        // Statuses a call cannot fail with on the far side are refused; the right stays.
        const int64_t refused[] = {
            0,    TERN_BAD_HANDLE, TERN_BAD_ADDRESS, TERN_INTERRUPTED, TERN_ERROR_COUNT_,
            9999, -TERN_NODE_DOWN, 1ll << 40};
        for (int64_t status : refused)
            expect_err(tern_sys_port_reply_error(r.reply_handle, uint64_t(status)),
                       TERN_INVALID_ARGUMENT, "replyerr.status_{}_refused", status);
        expect_err(tern_sys_port_reply_error(0x3FFF, TERN_NODE_DOWN), TERN_BAD_HANDLE,
                   "replyerr.bad_handle");
        expect_err(tern_sys_port_reply_error(p, TERN_NODE_DOWN), TERN_WRONG_TYPE,
                   "replyerr.port_handle");
        expect_eq(tern_sys_port_reply_error(r.reply_handle, TERN_NODE_DOWN), 0,
                  "replyerr.node_down");
        expect_err(tern_sys_port_reply_error(r.reply_handle, TERN_NODE_DOWN), TERN_BAD_HANDLE,
                   "replyerr.right_consumed");
        expect_true(join_job(caller), 0, "replyerr.caller_done");
        expect_err(caller.result, TERN_NODE_DOWN, "replyerr.caller_got_node_down");
    }
    // Every status that is allowed reaches the caller as it is.
    const int64_t allowed[] = {TERN_PEER_CLOSED, TERN_TIMED_OUT, TERN_WOULD_BLOCK,
                               TERN_TOO_BIG,     TERN_NO_MEMORY, TERN_QUOTA_EXCEEDED};
    for (int64_t status : allowed) {
        if (!expect_ok(start_job(caller, job_caller), "replyerr.caller_{}", status))
            continue;
        tern_msg r{};
        expect_eq(receive(p, r, kLong), 0, "replyerr.receive_{}", status);
        expect_eq(tern_sys_port_reply_error(r.reply_handle, uint64_t(status)), 0,
                  "replyerr.answer_{}", status);
        expect_true(join_job(caller), 0, "replyerr.caller_{}_done", status);
        expect_err(caller.result, int(status), "replyerr.caller_got_{}", status);
    }
    // The caller gave up: PEER_CLOSED, and the right is gone.
    tern_msg m = make_msg(21, 1);
    expect_err(call(s, m, 10 * kMs), TERN_TIMED_OUT, "replyerr.abandoned_call");
    tern_msg r{};
    expect_eq(receive(p, r), 0, "replyerr.receive_abandoned");
    expect_err(tern_sys_port_reply_error(r.reply_handle, TERN_NODE_DOWN), TERN_PEER_CLOSED,
               "replyerr.caller_gone");
    expect_err(tern_sys_handle_close(r.reply_handle), TERN_BAD_HANDLE,
               "replyerr.gone_callers_right_consumed");
    // An asynchronous call: the answer is TERN_LABEL_CALL_FAILED with the status.
    int64_t rp = port_create(2);
    if (expect_ok(rp, "replyerr.reply_port")) {
        int64_t rps = dup(rp, TERN_RIGHT_SEND);
        tern_msg a = make_msg(22, 5);
        expect_eq(tern_sys_port_call_async(s, ptr(&a), rps, 77), 0, "replyerr.async_call");
        expect_eq(receive(p, r), 0, "replyerr.receive_async");
        expect_eq(tern_sys_port_reply_error(r.reply_handle, TERN_NODE_DOWN), 0,
                  "replyerr.async_node_down");
        tern_msg answer{};
        expect_eq(receive(rp, answer), 0, "replyerr.async_answer");
        expect_true(answer.hdr.label == TERN_LABEL_CALL_FAILED
                        && answer.hdr.flags == TERN_MSG_FLAG_ASYNC_REPLY
                        && answer.hdr.sender_badge == 77 && answer.words[0] == TERN_NODE_DOWN,
                    int64_t(answer.words[0]), "replyerr.async_answer_is_call_failed");
        close(rps);
        close(rp);
    }
    close(s);
    close(p);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_call");
    // First, while no thread of an earlier check can still be on its way out (the live
    // object count must move only with what the check makes).
    test_reply_receive_keeps_other_handles();
    test_calls_in_task();
    test_calls_between_tasks();
    test_capture_restore();
    test_fast_path();
    test_reply_error();
    return finish();
}

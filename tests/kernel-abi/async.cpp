// Asynchronous calls: port_call_async, whose answer comes back as a message on a reply
// port with the caller's cookie; what the server sees, failed calls (a dropped reply
// right, a closed port, a killed server), the reserved reply slot, and bad arguments.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_async from its self-test user.abi_async.
#include "harness.h"

#include <tern/async_call.h>

using namespace abi;

namespace {

int64_t call_async(uint64_t port, const tern_msg& m, uint64_t reply_port, uint64_t cookie) {
    return tern_sys_port_call_async(port, ptr(&m), reply_port, cookie);
}

// True when the message is the failure answer for `cookie`.
bool is_call_failed(const tern_msg& m, uint64_t cookie) {
    return tern::is_async_answer(m) && tern::async_answer_status(m) == base::Error::PEER_CLOSED
           && m.hdr.label == TERN_LABEL_CALL_FAILED && m.hdr.flags == TERN_MSG_FLAG_ASYNC_REPLY
           && m.hdr.sender_badge == cookie && m.words[0] == TERN_PEER_CLOSED
           && m.hdr.handle_count == 0 && m.hdr.data_size == 0 && m.reply_handle == 0;
}

// The type of a handle of ours (TERN_OBJ_*), or 0 when it names nothing.
uint32_t handle_type(uint64_t handle) {
    static tern_handle_info infos[1024];
    int64_t n = tern_sys_task_handles(TERN_HANDLE_SELF, ptr(infos), 1024);
    for (int64_t i = 0; i < n && i < 1024; ++i)
        if (infos[i].handle == handle)
            return infos[i].type;
    return 0;
}

// How many reply rights a task holds.
int64_t reply_handles_of(uint64_t task) {
    static tern_handle_info infos[64];
    int64_t n = tern_sys_task_handles(task, ptr(infos), 64);
    if (n < 0)
        return n;
    int64_t replies = 0;
    for (int64_t i = 0; i < n && i < 64; ++i)
        replies += infos[i].type == TERN_OBJ_REPLY;
    return replies;
}

// ---- An answer may not carry its own reply port --------------------------------------

// The answer to an asynchronous call is queued on the reply port, so a handle to that port
// in it would sit in the queue it keeps alive: with the receive right, the port and all it
// holds could never be freed. The answer is refused and the server keeps what it named.
void test_answer_carries_reply_port() {
    int64_t p = port_create(4);
    int64_t r = port_create(4);
    if (!expect_ok(p, "async.self.port") || !expect_ok(r, "async.self.reply_port"))
        return;
    tern_msg m = make_msg(80);
    uint64_t cookie = 0xC0FFEE0000000080ull;
    expect_eq(call_async(p, m, r, cookie), 0, "async.self.call_queued");
    tern_msg in{};
    expect_eq(receive(p, in), 0, "async.self.server_receives");
    tern_msg out = make_msg(81);
    out.hdr.handle_count = 1;
    out.handles[0] = static_cast<tern_handle_t>(r); // the receive right of the reply port
    expect_err(tern_sys_port_reply(in.reply_handle, ptr(&out)), TERN_ACCESS_DENIED,
               "async.self.receive_right_refused");
    expect_eq(handle_type(static_cast<uint64_t>(r)), TERN_OBJ_PORT, "async.self.right_kept");
    // A send right to it is refused the same way.
    int64_t send = dup(r, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    out.handles[0] = static_cast<tern_handle_t>(send);
    expect_err(tern_sys_port_reply(in.reply_handle, ptr(&out)), TERN_ACCESS_DENIED,
               "async.self.send_right_refused");
    // A refused answer changes nothing: the reply right is still the server's, and an
    // answer without the handle goes through.
    out.hdr.handle_count = 0;
    expect_eq(tern_sys_port_reply(in.reply_handle, ptr(&out)), 0, "async.self.plain_answer");
    tern_msg a{};
    expect_eq(receive(r, a), 0, "async.self.answer_arrives");
    expect_true(a.hdr.label == 81 && a.hdr.sender_badge == cookie && a.hdr.handle_count == 0,
                a.hdr.label, "async.self.answer_is_the_plain_one");
    close(send);
    close(p);
    close(r);
}

// ---- The answer carries the server's reply ---------------------------------------------

void test_reply_payload() {
    int64_t p = port_create(4);
    int64_t r = port_create(4);
    int64_t carried = port_create(1);
    if (!expect_ok(p, "async.port") || !expect_ok(r, "async.reply_port")
        || !expect_ok(carried, "async.carried_port"))
        return;
    // The call carries a data part and a handle, as a port_call can.
    static char request[] = "request data";
    tern_msg m = make_msg(70, 11, 12);
    m.hdr.data_size = sizeof(request);
    m.data = ptr(request);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(dup(carried, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER));
    uint64_t cookie = 0xC0FFEE0000000001ull;
    expect_eq(call_async(p, m, r, cookie), 0, "async.call_queued");
    expect_eq(handle_type(m.handles[0]), 0, "async.call_moved_its_handle");

    // The server sees an ordinary call.
    char got[64] = {};
    tern_msg in{};
    expect_eq(receive(p, in, TERN_TIMEOUT_NONE, got, sizeof(got)), 0, "async.server_receives");
    expect_eq(in.hdr.flags, TERN_MSG_FLAG_CALL, "async.server_sees_call_flag");
    expect_true(in.reply_handle != 0 && handle_type(in.reply_handle) == TERN_OBJ_REPLY,
                in.reply_handle, "async.server_gets_reply_right");
    expect_eq(static_cast<int64_t>(in.hdr.sender_badge), tern_sys_task_id(),
              "async.server_sees_caller_badge");
    expect_true(in.hdr.label == 70 && in.words[0] == 11 && in.words[1] == 12
                    && in.hdr.data_size == sizeof(request)
                    && __builtin_memcmp(got, request, sizeof(request)) == 0,
                in.hdr.label, "async.server_gets_request");
    expect_true(in.hdr.handle_count == 1 && handle_type(in.handles[0]) == TERN_OBJ_PORT,
                in.hdr.handle_count, "async.server_gets_request_handle");
    // Nothing is on the reply port until the server answers.
    tern_msg a{};
    expect_err(receive(r, a), TERN_WOULD_BLOCK, "async.no_answer_before_reply");

    // The reply: label, words, a data part and a handle.
    static char reply_data[] = "the server's answer";
    tern_msg out = make_msg(71, 0x1111, 0x2222);
    out.words[7] = 0x7777;
    out.hdr.data_size = sizeof(reply_data);
    out.data = ptr(reply_data);
    out.hdr.handle_count = 1;
    out.handles[0] = in.handles[0];
    expect_eq(tern_sys_port_reply(in.reply_handle, ptr(&out)), 0, "async.server_replies");
    expect_err(tern_sys_port_reply(in.reply_handle, ptr(&out)), TERN_BAD_HANDLE,
               "async.reply_right_consumed");

    char answer[64] = {};
    expect_eq(receive(r, a, TERN_TIMEOUT_NONE, answer, sizeof(answer)), 0, "async.answer_arrives");
    expect_eq(a.hdr.flags, TERN_MSG_FLAG_ASYNC_REPLY, "async.answer_flag");
    expect_true(a.hdr.sender_badge == cookie, static_cast<int64_t>(a.hdr.sender_badge),
                "async.answer_badge_is_cookie");
    expect_true(a.hdr.label == 71 && a.words[0] == 0x1111 && a.words[1] == 0x2222
                    && a.words[7] == 0x7777,
                a.hdr.label, "async.answer_label_and_words");
    expect_true(a.hdr.data_size == sizeof(reply_data)
                    && __builtin_memcmp(answer, reply_data, sizeof(reply_data)) == 0,
                a.hdr.data_size, "async.answer_data");
    expect_true(a.hdr.handle_count == 1 && handle_type(a.handles[0]) == TERN_OBJ_PORT
                    && a.reply_handle == 0,
                a.hdr.handle_count, "async.answer_handle");
    expect_true(tern::is_async_answer(a) && tern::async_answer_status(a) == base::Error::OK,
                a.hdr.flags, "async.typed_answer_status");
    // The handle works: it is a send right to `carried`.
    expect_eq(send_label(a.handles[0], 5), 0, "async.answer_handle_sends");
    tern_msg c{};
    expect_eq(receive(carried, c), 0, "async.answer_handle_reaches_port");
    close(a.handles[0]);
    expect_err(receive(r, a), TERN_WOULD_BLOCK, "async.one_answer_only");

    // port_reply_receive answers an asynchronous call the same way (sent through the
    // typed wrapper).
    m = make_msg(72, 5);
    expect_true(
        tern::call_async(static_cast<tern_handle_t>(p), m, static_cast<tern_handle_t>(r), 2).ok(),
        0, "async.call_for_reply_receive");
    expect_eq(receive(p, in), 0, "async.receive_for_reply_receive");
    out = make_msg(73, 6);
    tern_msg next{};
    expect_err(
        tern_sys_port_reply_receive(in.reply_handle, ptr(&out), p, ptr(&next), TERN_TIMEOUT_NONE),
        TERN_WOULD_BLOCK, "async.reply_receive_answers");
    expect_eq(receive(r, a), 0, "async.reply_receive_answer_arrives");
    expect_true(a.hdr.label == 73 && a.words[0] == 6 && a.hdr.sender_badge == 2
                    && a.hdr.flags == TERN_MSG_FLAG_ASYNC_REPLY,
                a.hdr.label, "async.reply_receive_answer_contents");

    // The reply port may be the target port itself.
    m = make_msg(74, 8);
    expect_eq(call_async(p, m, p, 3), 0, "async.reply_to_target_port");
    expect_eq(receive(p, in), 0, "async.self_call_received");
    expect_eq(reply_word(in.reply_handle, 9), 0, "async.self_call_replied");
    expect_eq(receive(p, a), 0, "async.self_answer_received");
    expect_true(a.hdr.flags == TERN_MSG_FLAG_ASYNC_REPLY && a.hdr.sender_badge == 3
                    && a.words[0] == 9,
                a.hdr.flags, "async.self_answer_contents");
    close(carried);
    close(r);
    close(p);
}

// ---- A thousand calls outstanding ------------------------------------------------------

constexpr uint64_t kManyCalls = 1000;
constexpr uint64_t kReplyPorts = 16; // 16 queues of 64 hold 1,000 reserved answers
uint8_t g_answered[kManyCalls];

void test_thousand_outstanding() {
    int64_t set = port_create(1);
    int64_t ports[kReplyPorts];
    for (uint64_t i = 0; i < kReplyPorts; ++i) {
        ports[i] = port_create(64);
        if (!expect_ok(ports[i], "many.reply_port_{}", i)
            || !expect_eq(tern_sys_port_set_add(set, ports[i], i + 1), 0, "many.set_add_{}", i))
            return;
    }
    int64_t p = port_create(64);
    int64_t s = dup(p, TERN_RIGHT_SEND);
    Child c;
    CloneOptions o;
    o.mode = kChildServeReverse;
    o.param = kManyCalls;
    o.give = static_cast<uint64_t>(p);
    if (!clone_child(c, "many.server", o)) {
        close(s);
        close(p);
        return;
    }
    // One thread sends every call; a full target is the caller's to wait out (the call
    // never blocks), so it yields until the server has made room.
    uint64_t deadline = now_ns() + 4 * kLong;
    uint64_t sent = 0;
    int64_t last = 0;
    while (sent < kManyCalls && now_ns() < deadline) {
        tern_msg m = make_msg(80, sent * 5);
        last = call_async(s, m, ports[sent % kReplyPorts], sent);
        if (last == 0)
            ++sent;
        else if (last == -TERN_WOULD_BLOCK)
            (void)tern_sys_thread_yield();
        else
            break;
    }
    expect_eq(static_cast<int64_t>(sent), kManyCalls, "many.all_sent (last result {})", last);

    // The server answers last first; every answer is matched to its call by the cookie.
    uint64_t answers = 0, wrong = 0, duplicates = 0, misrouted = 0, out_of_order = 0;
    uint64_t last_cookie[kReplyPorts];
    for (uint64_t i = 0; i < kReplyPorts; ++i)
        last_cookie[i] = ~0ull;
    for (uint64_t i = 0; i < sent; ++i) {
        tern_msg a{};
        int64_t key = receive(set, a, kLong);
        if (key < 1 || key > static_cast<int64_t>(kReplyPorts)) {
            expect_ok(key, "many.receive_answer_{}", i);
            break;
        }
        ++answers;
        uint64_t cookie = a.hdr.sender_badge;
        if (a.hdr.flags != TERN_MSG_FLAG_ASYNC_REPLY || cookie >= kManyCalls || a.hdr.label != 81
            || a.words[0] != cookie * 5 * 3 + 1) {
            ++wrong;
            continue;
        }
        if (g_answered[cookie]++)
            ++duplicates;
        uint64_t port_index = static_cast<uint64_t>(key - 1);
        if (cookie % kReplyPorts != port_index)
            ++misrouted;
        // On each reply port the answers come in the order the server gave them.
        if (cookie > last_cookie[port_index])
            ++out_of_order;
        last_cookie[port_index] = cookie;
    }
    expect_eq(static_cast<int64_t>(answers), kManyCalls, "many.answers");
    expect_eq(static_cast<int64_t>(wrong), 0, "many.answers_match_calls");
    expect_eq(static_cast<int64_t>(duplicates), 0, "many.no_duplicate_answer");
    expect_eq(static_cast<int64_t>(misrouted), 0, "many.answers_on_their_reply_ports");
    expect_eq(static_cast<int64_t>(out_of_order), 0, "many.answers_in_reverse_order");
    uint64_t missing = 0;
    for (uint64_t i = 0; i < kManyCalls; ++i)
        missing += g_answered[i] != 1;
    expect_eq(static_cast<int64_t>(missing), 0, "many.every_call_answered_once");
    expect_eq(wait_child(c), kManyCalls, "many.server_answered_all");
    tern_msg extra{};
    expect_err(receive(set, extra), TERN_WOULD_BLOCK, "many.nothing_more");
    release_child(c);
    close(s);
    for (int64_t port : ports)
        close(port);
    close(set);
}

// ---- Failed calls ----------------------------------------------------------------------

void test_dropped_reply_right() {
    int64_t p = port_create(4);
    int64_t r = port_create(4);
    if (!expect_ok(p, "dropped.port") || !expect_ok(r, "dropped.reply_port"))
        return;
    static char data[] = "abc";
    tern_msg m = make_msg(90, 1);
    m.hdr.data_size = sizeof(data);
    m.data = ptr(data);
    expect_eq(call_async(p, m, r, 0xD0), 0, "dropped.call");
    tern_msg in{};
    char buffer[8];
    expect_eq(receive(p, in, TERN_TIMEOUT_NONE, buffer, sizeof(buffer)), 0, "dropped.received");
    expect_eq(tern_sys_handle_close(in.reply_handle), 0, "dropped.server_closes_reply_right");
    tern_msg a{};
    expect_eq(receive(r, a), 0, "dropped.failure_arrives");
    expect_true(is_call_failed(a, 0xD0), a.hdr.label, "dropped.call_failed_peer_closed");
    expect_err(receive(r, a), TERN_WOULD_BLOCK, "dropped.one_failure_only");

    // Calls still queued when their port loses its receiver fail, one answer each.
    int64_t q = port_create(4);
    int64_t sq = dup(q, TERN_RIGHT_SEND);
    m = make_msg(91);
    expect_eq(call_async(sq, m, r, 0xE1), 0, "closed_target.call_1");
    expect_eq(call_async(sq, m, r, 0xE2), 0, "closed_target.call_2");
    close(q);
    expect_eq(receive(r, a), 0, "closed_target.failure_1");
    expect_true(is_call_failed(a, 0xE1), a.hdr.label, "closed_target.failure_1_contents");
    expect_eq(receive(r, a), 0, "closed_target.failure_2");
    expect_true(is_call_failed(a, 0xE2), a.hdr.label, "closed_target.failure_2_contents");
    expect_err(receive(r, a), TERN_WOULD_BLOCK, "closed_target.no_more");
    expect_err(call_async(sq, m, r, 0xE3), TERN_PEER_CLOSED, "closed_target.later_call");
    expect_err(receive(r, a), TERN_WOULD_BLOCK, "closed_target.refused_call_no_answer");
    close(sq);
    close(r);
    close(p);
}

void test_server_killed() {
    int64_t p = port_create(4);
    int64_t r = port_create(4);
    if (!expect_ok(p, "killed.port") || !expect_ok(r, "killed.reply_port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND);
    Child c;
    CloneOptions o;
    o.mode = kChildHold; // takes one message, then sleeps holding it
    o.give = static_cast<uint64_t>(p);
    if (!clone_child(c, "killed.server", o)) {
        close(s);
        close(r);
        return;
    }
    tern_msg m = make_msg(92);
    for (uint64_t i = 1; i <= 3; ++i)
        expect_eq(call_async(s, m, r, 0xF0 + i), 0, "killed.call_{}", i);
    // Wait (bounded) until the server holds the first call's reply right unanswered.
    uint64_t deadline = now_ns() + kLong;
    while (reply_handles_of(c.task) < 1 && now_ns() < deadline)
        sleep_ms(1);
    expect_eq(reply_handles_of(c.task), 1, "killed.server_holds_one_call");
    tern_msg a{};
    expect_err(receive(r, a), TERN_WOULD_BLOCK, "killed.no_answer_yet");
    expect_eq(tern_sys_task_kill(c.task, 0x55), 0, "killed.kill_server");
    expect_eq(wait_child(c), 0x55, "killed.server_status");
    // One failure for the call it held and one for each still queued.
    uint32_t seen = 0;
    for (int i = 0; i < 3; ++i) {
        if (!expect_eq(receive(r, a, kLong), 0, "killed.failure_{}", i))
            break;
        uint64_t cookie = a.hdr.sender_badge;
        if (cookie >= 0xF1 && cookie <= 0xF3 && is_call_failed(a, cookie))
            seen |= 1u << (cookie - 0xF1);
    }
    expect_eq(seen, 7, "killed.one_failure_per_call");
    expect_err(receive(r, a), TERN_WOULD_BLOCK, "killed.no_more_answers");
    release_child(c);
    close(s);
    close(r);
}

// ---- The reserved reply slot -----------------------------------------------------------

void test_full_target() {
    int64_t p = port_create(2);
    int64_t r = port_create(1);
    int64_t carried = port_create(1);
    if (!expect_ok(p, "full_target.port") || !expect_ok(r, "full_target.reply_port"))
        return;
    expect_eq(send_label(p, 1), 0, "full_target.fill_1");
    expect_eq(send_label(p, 2), 0, "full_target.fill_2");
    static char data[] = "not sent";
    tern_msg m = make_msg(93);
    m.hdr.data_size = sizeof(data);
    m.data = ptr(data);
    m.hdr.handle_count = 1;
    int64_t h = dup(carried, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    m.handles[0] = static_cast<tern_handle_t>(h);
    expect_err(call_async(p, m, r, 1), TERN_WOULD_BLOCK, "full_target.would_block");
    // Nothing was queued, the handle stayed with us, and the reply slot is free again.
    expect_eq(handle_type(static_cast<uint64_t>(h)), TERN_OBJ_PORT, "full_target.handle_kept");
    tern_msg in{};
    expect_eq(receive(p, in), 0, "full_target.first_message");
    expect_eq(in.hdr.label, 1, "full_target.first_is_plain");
    expect_eq(receive(p, in), 0, "full_target.second_message");
    expect_eq(in.hdr.label, 2, "full_target.second_is_plain");
    expect_err(receive(p, in), TERN_WOULD_BLOCK, "full_target.nothing_else_queued");
    expect_eq(send_label(r, 3), 0, "full_target.reply_slot_released");
    close(h);
    close(carried);
    close(r);
    close(p);
}

void test_full_reply_port() {
    int64_t p = port_create(8);
    int64_t r = port_create(2);
    if (!expect_ok(p, "full_reply.port") || !expect_ok(r, "full_reply.reply_port"))
        return;
    tern_msg m = make_msg(94);
    expect_eq(call_async(p, m, r, 1), 0, "full_reply.call_1");
    expect_eq(call_async(p, m, r, 2), 0, "full_reply.call_2");
    // Both slots are reserved: a third call and a plain send are refused.
    expect_err(call_async(p, m, r, 3), TERN_WOULD_BLOCK, "full_reply.third_call_would_block");
    expect_err(send_label(r, 9), TERN_WOULD_BLOCK, "full_reply.reserved_slots_refuse_send");
    tern_msg in1{}, in2{}, in3{};
    expect_eq(receive(p, in1), 0, "full_reply.receive_1");
    expect_eq(receive(p, in2), 0, "full_reply.receive_2");
    expect_err(receive(p, in3), TERN_WOULD_BLOCK, "full_reply.third_never_queued");
    // The answers go into their slots even though the port looks full to a sender.
    expect_eq(reply_word(in2.reply_handle, 22), 0, "full_reply.answer_2");
    expect_eq(reply_word(in1.reply_handle, 11), 0, "full_reply.answer_1");
    tern_msg a{};
    expect_eq(receive(r, a), 0, "full_reply.answer_2_arrives");
    expect_true(a.hdr.sender_badge == 2 && a.words[0] == 22, a.words[0],
                "full_reply.answer_2_contents");
    // The slot of a received answer is free again.
    expect_eq(call_async(p, m, r, 4), 0, "full_reply.slot_reused");
    expect_eq(receive(r, a), 0, "full_reply.answer_1_arrives");
    expect_true(a.hdr.sender_badge == 1 && a.words[0] == 11, a.words[0],
                "full_reply.answer_1_contents");
    expect_eq(receive(p, in3), 0, "full_reply.receive_4");
    expect_eq(tern_sys_handle_close(in3.reply_handle), 0, "full_reply.drop_4");
    expect_eq(receive(r, a), 0, "full_reply.failure_4_arrives");
    expect_true(is_call_failed(a, 4), a.hdr.label, "full_reply.failure_4_contents");
    expect_eq(send_label(r, 9), 0, "full_reply.all_slots_free");
    close(r);
    close(p);
}

void test_closed_reply_port() {
    int64_t p = port_create(4);
    int64_t r = port_create(2);
    int64_t carried = port_create(1);
    if (!expect_ok(p, "closed_reply.port") || !expect_ok(r, "closed_reply.reply_port"))
        return;
    int64_t rs = dup(r, TERN_RIGHT_SEND);
    tern_msg m = make_msg(95);
    expect_eq(call_async(p, m, rs, 1), 0, "closed_reply.call_1");
    expect_eq(call_async(p, m, rs, 2), 0, "closed_reply.call_2");
    // The caller stops receiving on its reply port.
    close(r);
    tern_msg in{};
    expect_eq(receive(p, in), 0, "closed_reply.receive_1");
    // The server's reply still succeeds; the answer and its handle are discarded.
    tern_msg out = make_msg(96, 1);
    out.hdr.handle_count = 1;
    int64_t h = dup(carried, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    out.handles[0] = static_cast<tern_handle_t>(h);
    expect_eq(tern_sys_port_reply(in.reply_handle, ptr(&out)), 0, "closed_reply.reply_succeeds");
    expect_eq(handle_type(static_cast<uint64_t>(h)), 0, "closed_reply.reply_handle_moved");
    // Dropping the other call's right is as harmless.
    expect_eq(receive(p, in), 0, "closed_reply.receive_2");
    expect_eq(tern_sys_handle_close(in.reply_handle), 0, "closed_reply.drop_succeeds");
    // A new call naming the closed port is refused.
    expect_err(call_async(p, m, rs, 3), TERN_PEER_CLOSED, "closed_reply.new_call_refused");
    expect_err(receive(p, in), TERN_WOULD_BLOCK, "closed_reply.refused_call_not_queued");
    close(rs);
    close(carried);
    close(p);
}

// ---- Capture and restore ---------------------------------------------------------------

void test_capture() {
    int64_t p = port_create(4);
    int64_t r = port_create(4);
    if (!expect_ok(p, "capture.port") || !expect_ok(r, "capture.reply_port"))
        return;
    tern_msg m = make_msg(97, 3);
    expect_eq(call_async(p, m, r, 0xAA), 0, "capture.call");
    // A reply port that still owes answers cannot be captured.
    static tern_msg out[4];
    for (tern_msg& o : out)
        o = tern_msg{};
    expect_err(tern_sys_port_capture(r, ptr(out), 4), TERN_BAD_STATE,
               "capture.reply_port_with_reserved_slots");
    // The target port can: the captured call carries its reply right, which still
    // answers the caller after a restore.
    expect_eq(tern_sys_port_capture(p, ptr(out), 4), 1, "capture.target_port");
    expect_true(out[0].hdr.flags == TERN_MSG_FLAG_CALL && out[0].reply_handle != 0,
                out[0].hdr.flags, "capture.captured_call");
    expect_eq(tern_sys_port_restore(p, ptr(out), 1), 1, "capture.restore_call");
    tern_msg in{};
    expect_eq(receive(p, in), 0, "capture.receive_restored");
    expect_eq(reply_word(in.reply_handle, 0xBB), 0, "capture.reply_restored");
    // Once the answer is queued the reply port captures, and the answer keeps its flag and
    // cookie through a restore.
    expect_eq(tern_sys_port_capture(r, ptr(out), 4), 1, "capture.reply_port_after_answer");
    expect_true(out[0].hdr.flags == TERN_MSG_FLAG_ASYNC_REPLY && out[0].hdr.sender_badge == 0xAA
                    && out[0].words[0] == 0xBB,
                out[0].hdr.flags, "capture.captured_answer");
    expect_eq(tern_sys_port_restore(r, ptr(out), 1), 1, "capture.restore_answer");
    tern_msg a{};
    expect_eq(receive(r, a), 0, "capture.receive_restored_answer");
    expect_true(a.hdr.flags == TERN_MSG_FLAG_ASYNC_REPLY && a.hdr.sender_badge == 0xAA
                    && a.words[0] == 0xBB,
                a.hdr.flags, "capture.restored_answer");
    close(r);
    close(p);
}

// ---- Bad arguments ---------------------------------------------------------------------

void test_bad_arguments() {
    int64_t p = port_create(4);
    int64_t r = port_create(1);
    if (!expect_ok(p, "bad.port") || !expect_ok(r, "bad.reply_port"))
        return;
    tern_msg m = make_msg(98);
    for (const BadPointer& b : kBadPointers) {
        expect_err(tern_sys_port_call_async(p, b.address, r, 1), TERN_BAD_ADDRESS, "bad.msg_{}",
                   b.name);
        m = make_msg(98);
        m.hdr.data_size = 64;
        m.data = b.address;
        expect_err(call_async(p, m, r, 1), TERN_BAD_ADDRESS, "bad.data_{}", b.name);
    }
    m = make_msg(98);
    expect_err(call_async(0, m, r, 1), TERN_BAD_HANDLE, "bad.port_0");
    expect_err(call_async(p, m, 0, 1), TERN_BAD_HANDLE, "bad.reply_port_0");
    expect_err(call_async(0x7FFFFFFF, m, r, 1), TERN_BAD_HANDLE, "bad.port_garbage");
    expect_err(call_async(p, m, ~0ull, 1), TERN_BAD_HANDLE, "bad.reply_port_garbage");
    expect_err(call_async(TERN_HANDLE_SELF, m, r, 1), TERN_WRONG_TYPE, "bad.port_is_task");
    expect_err(call_async(p, m, TERN_HANDLE_SELF, 1), TERN_WRONG_TYPE, "bad.reply_port_is_task");
    int64_t no_send = dup(r, TERN_RIGHT_TRANSFER);
    expect_err(call_async(p, m, no_send, 1), TERN_ACCESS_DENIED, "bad.reply_port_without_send");
    expect_err(call_async(no_send, m, r, 1), TERN_ACCESS_DENIED, "bad.port_without_send");
    close(no_send);
    m = make_msg(98);
    m.hdr.handle_count = TERN_MSG_MAX_HANDLES; // one slot is the reply right's
    expect_err(call_async(p, m, r, 1), TERN_TOO_BIG, "bad.eight_handles");
    m = make_msg(98);
    m.hdr.data_size = TERN_MSG_MAX_DATA + 1;
    expect_err(call_async(p, m, r, 1), TERN_TOO_BIG, "bad.data_too_big");
    m = make_msg(98);
    m.hdr.flags = TERN_MSG_FLAG_ASYNC_REPLY; // only the kernel sets flags
    expect_err(call_async(p, m, r, 1), TERN_INVALID_ARGUMENT, "bad.flags");
    m = make_msg(98);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(p); // the target's own receive right
    expect_err(call_async(p, m, r, 1), TERN_ACCESS_DENIED, "bad.carries_target_itself");
    // None of these queued a call or kept the reply port's only slot.
    tern_msg in{};
    expect_err(receive(p, in), TERN_WOULD_BLOCK, "bad.nothing_queued");
    expect_eq(send_label(r, 1), 0, "bad.reply_slot_free");
    close(r);
    close(p);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_async");
    test_reply_payload();
    test_answer_carries_reply_port();
    test_dropped_reply_right();
    test_server_killed();
    test_full_target();
    test_full_reply_port();
    test_closed_reply_port();
    test_capture();
    test_bad_arguments();
    test_thousand_outstanding();
    return finish();
}

// Ports: port_create, port_send and port_receive with full and empty queues and
// timeouts, dead receivers, data parts and handle transfer, port_signal and port sets.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_port from its self-test user.abi_port.
#include "harness.h"

using namespace abi;

namespace {

// ---- Ports: send, receive, timeouts, peers, data, handles -------------------------

void test_port_basics() {
    int64_t p = port_create(2);
    if (!expect_ok(p, "port.create"))
        return;
    tern_msg m = make_msg(0x1234, 1, 2);
    for (int i = 2; i < TERN_MSG_INLINE_WORDS; ++i)
        m.words[i] = 0x100 + static_cast<uint64_t>(i);
    m.hdr.sender_badge = 0xBAD6E; // the kernel must overwrite it
    expect_eq(send(p, m), 0, "port.send");
    tern_msg r{};
    expect_eq(receive(p, r), 0, "port.receive");
    bool words_ok = r.hdr.label == 0x1234 && r.words[0] == 1 && r.words[1] == 2;
    for (int i = 2; i < TERN_MSG_INLINE_WORDS; ++i)
        words_ok = words_ok && r.words[i] == 0x100 + static_cast<uint64_t>(i);
    expect_true(words_ok, r.hdr.label, "port.inline_words_round_trip");
    expect_true(r.hdr.sender_badge != 0xBAD6E && r.hdr.sender_badge != 0,
                static_cast<int64_t>(r.hdr.sender_badge), "port.sender_badge_set_by_kernel");
    uint64_t my_badge = r.hdr.sender_badge;
    expect_true(r.hdr.data_size == 0 && r.hdr.handle_count == 0 && r.reply_handle == 0,
                r.hdr.handle_count, "port.plain_message_has_no_parts");

    // Fields that must be zero.
    tern_msg bad = make_msg(1);
    bad.hdr.flags = TERN_MSG_FLAG_CALL;
    expect_err(send(p, bad), TERN_INVALID_ARGUMENT, "port.send_flags_nonzero");
    bad = make_msg(1);
    bad.reserved = 1;
    expect_err(send(p, bad), TERN_INVALID_ARGUMENT, "port.send_reserved_nonzero");

    // Queue full: WOULD_BLOCK without a timeout, TIMED_OUT after one.
    expect_eq(send_label(p, 1), 0, "port.fill_1");
    expect_eq(send_label(p, 2), 0, "port.fill_2");
    expect_err(send_label(p, 3), TERN_WOULD_BLOCK, "port.send_full_would_block");
    uint64_t start = now_ns();
    expect_err(send_label(p, 3, 0, 25 * kMs), TERN_TIMED_OUT, "port.send_full_timed_out");
    uint64_t elapsed = now_ns() - start;
    expect_true(elapsed >= 25 * kMs && elapsed < 100 * kMs, static_cast<int64_t>(elapsed),
                "port.send_timeout_duration");
    expect_eq(receive(p, r), 0, "port.drain_1");
    expect_eq(r.hdr.label, 1, "port.fifo_order_1");
    expect_eq(receive(p, r), 0, "port.drain_2");
    expect_eq(r.hdr.label, 2, "port.fifo_order_2");
    expect_true(r.hdr.sender_badge == my_badge, static_cast<int64_t>(r.hdr.sender_badge),
                "port.sender_badge_stable");

    // Empty queue: WOULD_BLOCK, then TIMED_OUT after the timeout.
    expect_err(receive(p, r), TERN_WOULD_BLOCK, "port.receive_empty_would_block");
    static constexpr uint64_t kTimeouts[] = {10, 30};
    for (uint64_t ms : kTimeouts) {
        start = now_ns();
        expect_err(receive(p, r, ms * kMs), TERN_TIMED_OUT, "port.receive_timeout_{}ms", ms);
        elapsed = now_ns() - start;
        expect_true(elapsed >= ms * kMs && elapsed < ms * kMs + 60 * kMs,
                    static_cast<int64_t>(elapsed), "port.receive_timeout_{}ms_duration", ms);
    }

    // Bad pointers for the message itself, on send and receive.
    for (const BadPointer& b : kBadPointers) {
        expect_err(tern_sys_port_send(p, b.address, 0), TERN_BAD_ADDRESS, "port.send_msg_{}",
                   b.name);
        expect_eq(send_label(p, 7), 0, "port.queue_for_receive_{}", b.name);
        expect_err(tern_sys_port_receive(p, b.address, 0), TERN_BAD_ADDRESS, "port.receive_msg_{}",
                   b.name);
        expect_eq(receive(p, r), 0, "port.message_kept_after_receive_{}", b.name);
    }
    // A message buffer in read-only memory can be read but not written.
    expect_eq(send_label(p, 8), 0, "port.queue_for_readonly_receive");
    expect_err(tern_sys_port_receive(p, ptr(kReadOnlyWords), 0), TERN_BAD_ADDRESS,
               "port.receive_into_readonly_memory");
    expect_true(read_word(&kReadOnlyWords[0]) == 0x5EA1ED && read_word(&kReadOnlyWords[3]) == 0,
                static_cast<int64_t>(read_word(&kReadOnlyWords[0])),
                "port.readonly_memory_unchanged");
    expect_eq(receive(p, r), 0, "port.message_kept_after_readonly_receive");
    expect_eq(send_label(p, 8), 0, "port.queue_for_text_receive");
    expect_err(tern_sys_port_receive(p, ptr(reinterpret_cast<void*>(&ktest_child_ud2)), 0),
               TERN_BAD_ADDRESS, "port.receive_into_text");
    expect_eq(receive(p, r), 0, "port.message_kept_after_text_receive");

    // Closing the receive right: senders get PEER_CLOSED.
    int64_t s = dup(p, TERN_RIGHT_SEND);
    expect_ok(s, "port.send_handle_for_close");
    expect_eq(send_label(s, 9), 0, "port.pending_message_before_close");
    expect_eq(tern_sys_handle_close(p), 0, "port.close_receive_right");
    expect_err(send_label(s, 10), TERN_PEER_CLOSED, "port.send_after_receiver_closed");
    expect_err(send_label(s, 10, 0, 10 * kMs), TERN_PEER_CLOSED,
               "port.send_with_timeout_after_receiver_closed");
    close(s);
}

// A blocked sender must learn that the receiver went away.
int64_t job_send_blocking(Job& j) { return send_label(j.a, 77, 0, j.b); }

void test_port_dead_receiver() {
    int64_t p = port_create(1);
    if (!expect_ok(p, "port_dead.create"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND);
    // The child gets the receive right (it moves: ours is closed) and takes one message.
    Child c;
    CloneOptions o;
    o.mode = kChildHold;
    o.give = static_cast<uint64_t>(p);
    if (!clone_child(c, "dead_receiver", o)) {
        close(s);
        close(p);
        return;
    }
    expect_err(tern_sys_handle_close(p), TERN_BAD_HANDLE, "port_dead.receive_right_moved");
    expect_eq(send_label(s, 1), 0, "port_dead.first_message");
    sleep_ms(20); // the child takes it and sleeps
    expect_eq(send_label(s, 2), 0, "port_dead.second_message_fills_queue");
    expect_err(send_label(s, 3), TERN_WOULD_BLOCK, "port_dead.queue_full");
    Job j;
    j.a = static_cast<uint64_t>(s);
    j.b = TERN_TIMEOUT_INFINITE;
    if (expect_ok(start_job(j, job_send_blocking), "port_dead.blocked_sender_thread")) {
        sleep_ms(20);
        expect_true(!job_done(j), 0, "port_dead.sender_is_blocked");
        expect_eq(tern_sys_task_kill(c.task, 0x1234), 0, "port_dead.kill_receiver_task");
        expect_eq(wait_child(c), 0x1234, "port_dead.killed_status");
        expect_true(join_job(j), 0, "port_dead.blocked_sender_woken");
        expect_err(j.result, TERN_PEER_CLOSED, "port_dead.blocked_sender_gets_peer_closed");
    }
    expect_err(send_label(s, 4), TERN_PEER_CLOSED, "port_dead.send_after_receiver_died");
    release_child(c);
    close(s);
}

void test_port_data() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "data.create"))
        return;
    int64_t out = vm_allocate(2 * 65536 + kPage);
    if (!expect_ok(out, "data.buffers")) {
        close(p);
        return;
    }
    auto* src = reinterpret_cast<uint8_t*>(out);
    auto* dst = reinterpret_cast<uint8_t*>(out + 65536 + kPage);
    static constexpr uint32_t kSizes[] = {0, 1, 64, 4096, 4097, 65536};
    for (uint32_t size : kSizes) {
        for (uint32_t i = 0; i < size; ++i)
            src[i] = static_cast<uint8_t>(i * 7 + size);
        for (uint32_t i = 0; i < 65536; ++i)
            dst[i] = 0xEE;
        tern_msg m = make_msg(size);
        m.hdr.data_size = size;
        m.data = ptr(src);
        expect_eq(send(p, m), 0, "data.send_{}", size);
        tern_msg r{};
        expect_eq(receive(p, r, 0, dst, 65536), 0, "data.receive_{}", size);
        bool same = r.hdr.data_size == size && r.hdr.label == size;
        for (uint32_t i = 0; same && i < size; ++i)
            same = dst[i] == static_cast<uint8_t>(i * 7 + size);
        same = same && (size == 65536 || dst[size] == 0xEE); // nothing written past the data
        expect_true(same, r.hdr.data_size, "data.contents_{}", size);
    }
    tern_msg m = make_msg(1);
    m.hdr.data_size = 65537;
    m.data = ptr(src);
    expect_err(send(p, m), TERN_TOO_BIG, "data.send_65537_too_big");
    m.hdr.data_size = 0xFFFFFFFF;
    expect_err(send(p, m), TERN_TOO_BIG, "data.send_4G_too_big");

    // Bad data pointers on the send side.
    for (const BadPointer& b : kBadPointers) {
        m = make_msg(2);
        m.hdr.data_size = 64;
        m.data = b.address;
        expect_err(send(p, m), TERN_BAD_ADDRESS, "data.send_data_{}", b.name);
    }
    // A data part that runs off the end of a mapping into the unmapped page after it.
    m = make_msg(2);
    m.hdr.data_size = 64;
    m.data = ptr(src) + 2 * 65536 + kPage - 32;
    expect_err(send(p, m), TERN_BAD_ADDRESS, "data.send_data_straddles_mapping_end");

    // A receive buffer that is too small leaves the message queued.
    m = make_msg(3);
    m.hdr.data_size = 4096;
    m.data = ptr(src);
    expect_eq(send(p, m), 0, "data.send_for_no_space");
    tern_msg r{};
    expect_err(receive(p, r, 0, dst, 4095), TERN_NO_SPACE, "data.receive_buffer_too_small");
    expect_err(receive(p, r, 0, nullptr, 0), TERN_NO_SPACE, "data.receive_without_buffer");
    expect_eq(receive(p, r, 0, dst, 4096), 0, "data.receive_after_no_space");
    expect_true(r.hdr.label == 3 && r.hdr.data_size == 4096, r.hdr.label,
                "data.message_kept_after_no_space");

    // Bad receive buffers: refused with BAD_ADDRESS, and the message stays queued.
    for (const BadPointer& b : kBadPointers) {
        m = make_msg(4);
        m.hdr.data_size = 64;
        m.data = ptr(src);
        (void)send(p, m);
        expect_err(receive(p, r, 0, reinterpret_cast<void*>(b.address), 64), TERN_BAD_ADDRESS,
                   "data.receive_buffer_{}", b.name);
        expect_eq(receive(p, r, 0, dst, 65536), 0, "data.message_kept_after_bad_buffer_{}", b.name);
    }
    expect_err(receive(p, r, 0, const_cast<uint64_t*>(kReadOnlyWords), 512), TERN_WOULD_BLOCK,
               "data.queue_empty_after_bad_buffers");
    m = make_msg(5);
    m.hdr.data_size = 64;
    m.data = ptr(src);
    (void)send(p, m);
    expect_err(receive(p, r, 0, const_cast<uint64_t*>(kReadOnlyWords), 512), TERN_BAD_ADDRESS,
               "data.receive_buffer_readonly");
    expect_true(read_word(&kReadOnlyWords[1]) == 0x5EA1ED,
                static_cast<int64_t>(read_word(&kReadOnlyWords[1])),
                "data.readonly_buffer_unchanged");
    expect_eq(receive(p, r, 0, dst, 65536), 0, "data.message_kept_after_readonly_buffer");
    vm_free(out, 2 * 65536 + kPage);
    close(p);
}

void test_port_handles() {
    int64_t p = port_create(4);
    int64_t q = port_create(4);
    if (!expect_ok(p, "xfer.port_p") || !expect_ok(q, "xfer.port_q"))
        return;
    int64_t hq = dup(q, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE);
    expect_ok(hq, "xfer.send_handle");
    tern_msg m = make_msg(20);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(hq);
    expect_eq(send(p, m), 0, "xfer.send_with_handle");
    expect_err(tern_sys_handle_close(hq), TERN_BAD_HANDLE, "xfer.sender_lost_handle");
    tern_msg r{};
    expect_eq(receive(p, r), 0, "xfer.receive_with_handle");
    expect_true(r.hdr.handle_count == 1 && r.handles[0] != 0 && r.handles[1] == 0,
                r.hdr.handle_count, "xfer.receiver_got_handle");
    int64_t got = r.handles[0];
    expect_eq(send_label(got, 21, 2121), 0, "xfer.received_handle_works");
    expect_eq(receive(q, r), 0, "xfer.message_through_received_handle");
    expect_true(r.hdr.label == 21 && r.words[0] == 2121, r.hdr.label,
                "xfer.message_arrived_on_target");
    expect_err(receive(got, r), TERN_ACCESS_DENIED, "xfer.received_handle_rights_kept");

    // Refusals, each leaving the sender's handles in place.
    int64_t plain = dup(q, TERN_RIGHT_SEND); // no TRANSFER
    m = make_msg(22);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(plain);
    expect_err(send(p, m), TERN_ACCESS_DENIED, "xfer.without_transfer_right");
    {
        // A set with members moves only with its task.
        int64_t set = port_create(2);
        int64_t member = port_create(2);
        expect_eq(tern_sys_port_set_add(set, member, 1), 0, "xfer.set_made");
        m.handles[0] = static_cast<tern_handle_t>(set);
        expect_err(send(p, m), TERN_ACCESS_DENIED, "xfer.set_with_members_cannot_move");
        close(member);
        close(set);
    }
    int64_t self = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    m.handles[0] = static_cast<tern_handle_t>(self);
    expect_err(send(p, m), TERN_ACCESS_DENIED, "xfer.port_cannot_carry_itself");
    m.handles[0] = 0x3FFF;
    expect_err(send(p, m), TERN_BAD_HANDLE, "xfer.bad_handle_in_message");
    m.hdr.handle_count = 2;
    m.handles[0] = static_cast<tern_handle_t>(got);
    m.handles[1] = static_cast<tern_handle_t>(got);
    expect_err(send(p, m), TERN_INVALID_ARGUMENT, "xfer.same_handle_twice");
    int64_t dups[TERN_MSG_MAX_HANDLES + 1];
    for (int64_t& d : dups)
        d = dup(got, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    m.hdr.handle_count = TERN_MSG_MAX_HANDLES + 1;
    for (uint32_t i = 0; i < TERN_MSG_MAX_HANDLES; ++i)
        m.handles[i] = static_cast<tern_handle_t>(dups[i]);
    expect_err(send(p, m), TERN_TOO_BIG, "xfer.nine_handles_too_big");
    m.hdr.handle_count = TERN_MSG_MAX_HANDLES;
    m.handles[7] = 0x3FFF;
    expect_err(send(p, m), TERN_BAD_HANDLE, "xfer.failed_send_with_bad_last_handle");
    // The duplicates lack DUPLICATE: a live one answers ACCESS_DENIED, a lost one
    // BAD_HANDLE.
    bool kept = true;
    for (uint32_t i = 0; i < 7; ++i)
        kept = kept && dup(dups[i], TERN_RIGHT_SEND) == -TERN_ACCESS_DENIED;
    expect_true(kept, 0, "xfer.failed_send_keeps_handles");
    m.handles[7] = static_cast<tern_handle_t>(dups[7]);
    expect_eq(send(p, m), 0, "xfer.eight_handles");
    expect_eq(receive(p, r), 0, "xfer.receive_eight_handles");
    bool eight = r.hdr.handle_count == 8;
    for (uint32_t i = 0; eight && i < 8; ++i)
        eight = r.handles[i] != 0 && send_label(r.handles[i], 30 + i) == 0 && receive(q, m) == 0
                && m.hdr.label == 30 + i;
    expect_true(eight, r.hdr.handle_count, "xfer.eight_handles_work");
    for (uint32_t i = 0; i < 8; ++i)
        close(r.handles[i]);
    close(dups[8]);
    // Handles close in their own way: the moved ones are gone.
    expect_err(tern_sys_handle_close(dups[0]), TERN_BAD_HANDLE, "xfer.moved_handles_gone");
    // Closing a port drops the handles still queued in it; nothing to observe but that
    // it does not crash.
    int64_t carried = dup(got, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    m = make_msg(40);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(carried);
    expect_eq(send(p, m), 0, "xfer.queue_handle_then_close");
    expect_eq(tern_sys_handle_close(p), 0, "xfer.close_port_with_queued_handle");
    expect_eq(send_label(got, 41), 0, "xfer.target_alive_after_close");
    expect_eq(receive(q, r), 0, "xfer.target_receives_after_close");
    close(plain);
    close(self);
    close(got);
    close(q);
}

// ---- Signals, port sets, memory objects, devices, the self handle -------------------

int64_t job_receive_key(Job& j) {
    tern_msg m{};
    int64_t r = tern_sys_port_receive(j.a, ptr(&m), kLong);
    j.b = m.hdr.label;
    j.c = m.words[0];
    return r;
}

void test_signals_and_sets() {
    int64_t p = port_create(2);
    if (!expect_ok(p, "signal.port"))
        return;
    expect_err(tern_sys_port_signal(p, 0), TERN_INVALID_ARGUMENT, "signal.zero_bits");
    expect_err(tern_sys_port_signal(0x3FFF, 1), TERN_BAD_HANDLE, "signal.bad_handle");
    int64_t send_only = dup(p, TERN_RIGHT_SEND);
    expect_err(tern_sys_port_signal(send_only, 1), TERN_ACCESS_DENIED, "signal.needs_signal_right");
    expect_eq(send_label(p, 70), 0, "signal.queue_message");
    expect_eq(send_label(p, 71), 0, "signal.fill_queue");
    expect_eq(tern_sys_port_signal(p, 0x5), 0, "signal.on_full_queue");
    expect_eq(tern_sys_port_signal(p, 0x10), 0, "signal.accumulate");
    tern_msg r{};
    expect_eq(receive(p, r), 0, "signal.receive_first");
    expect_true(r.hdr.label == TERN_LABEL_SIGNAL && r.words[0] == 0x15,
                static_cast<int64_t>(r.words[0]), "signal.signals_come_first_accumulated");
    expect_eq(receive(p, r), 0, "signal.then_messages");
    expect_eq(r.hdr.label, 70, "signal.message_order_kept");
    expect_eq(receive(p, r), 0, "signal.second_message");
    expect_err(receive(p, r), TERN_WOULD_BLOCK, "signal.bits_cleared_by_receive");
    Job j;
    j.a = static_cast<uint64_t>(p);
    if (expect_ok(start_job(j, job_receive_key), "signal.blocked_receiver")) {
        sleep_ms(5);
        expect_eq(tern_sys_port_signal(p, 0x100), 0, "signal.wakes_receiver");
        expect_true(join_job(j), 0, "signal.receiver_done");
        expect_true(j.result == 0 && j.b == TERN_LABEL_SIGNAL && j.c == 0x100, j.result,
                    "signal.receiver_got_bits");
    }
    int64_t sig = dup(p, TERN_RIGHT_SIGNAL);
    close(p);
    expect_err(tern_sys_port_signal(sig, 1), TERN_PEER_CLOSED, "signal.after_receiver_closed");
    close(sig);
    close(send_only);

    // Port sets.
    int64_t set = port_create(4);
    int64_t m1 = port_create(4);
    int64_t m2 = port_create(4);
    int64_t other = port_create(4);
    expect_err(tern_sys_port_set_add(set, m1, 0), TERN_INVALID_ARGUMENT, "set.key_0");
    expect_err(tern_sys_port_set_add(set, set, 1), TERN_INVALID_ARGUMENT, "set.add_itself");
    expect_err(tern_sys_port_set_add(set, m1, 1ull << 32), TERN_INVALID_ARGUMENT,
               "set.key_over_32_bits");
    int64_t set_send = dup(set, TERN_RIGHT_SEND);
    int64_t m1_send = dup(m1, TERN_RIGHT_SEND);
    expect_err(tern_sys_port_set_add(set_send, m1, 1), TERN_ACCESS_DENIED,
               "set.add_needs_receive_on_set");
    expect_err(tern_sys_port_set_add(set, m1_send, 1), TERN_ACCESS_DENIED,
               "set.add_needs_receive_on_member");
    expect_eq(tern_sys_port_set_add(set, m1, 1), 0, "set.add_first");
    expect_err(tern_sys_port_set_add(other, m1, 1), TERN_BUSY, "set.member_of_two_sets");
    expect_err(tern_sys_port_set_add(m1, other, 1), TERN_INVALID_ARGUMENT,
               "set.member_cannot_be_a_set");
    expect_eq(tern_sys_port_set_add(set, m2, 2), 0, "set.add_second");
    expect_err(tern_sys_port_set_add(other, set, 3), TERN_INVALID_ARGUMENT,
               "set.set_cannot_be_a_member");
    expect_eq(send_label(m2, 22), 0, "set.message_to_second");
    expect_eq(send_label(m1, 11), 0, "set.message_to_first");
    expect_eq(send_label(set, 99), 0, "set.message_to_set_itself");
    expect_eq(receive(set, r), 0, "set.own_queue_first_key_0");
    expect_eq(r.hdr.label, 99, "set.own_queue_message");
    int64_t k1 = receive(set, r);
    uint32_t l1 = r.hdr.label;
    int64_t k2 = receive(set, r);
    uint32_t l2 = r.hdr.label;
    expect_true((k1 == 1 && l1 == 11 && k2 == 2 && l2 == 22)
                    || (k1 == 2 && l1 == 22 && k2 == 1 && l2 == 11),
                k1, "set.members_report_their_keys");
    expect_err(receive(set, r), TERN_WOULD_BLOCK, "set.empty");
    expect_err(receive(m1, r), TERN_WOULD_BLOCK, "set.member_drained_through_set");
    expect_eq(tern_sys_port_signal(m2, 0x40), 0, "set.signal_member");
    expect_eq(receive(set, r), 2, "set.member_signal_key");
    expect_true(r.hdr.label == TERN_LABEL_SIGNAL && r.words[0] == 0x40, r.hdr.label,
                "set.member_signal_message");
    j.a = static_cast<uint64_t>(set);
    if (expect_ok(start_job(j, job_receive_key), "set.blocked_receiver")) {
        sleep_ms(5);
        expect_eq(send_label(m1_send, 12), 0, "set.member_message_wakes_set_receiver");
        expect_true(join_job(j), 0, "set.receiver_done");
        expect_true(j.result == 1 && j.b == 12, j.result, "set.woken_receiver_got_member_message");
    }
    expect_eq(tern_sys_port_set_remove(set, m1), 0, "set.remove");
    expect_err(tern_sys_port_set_remove(set, m1), TERN_NOT_FOUND, "set.remove_twice");
    expect_err(tern_sys_port_set_remove(set, other), TERN_NOT_FOUND, "set.remove_non_member");
    expect_eq(send_label(m1, 13), 0, "set.message_to_removed_member");
    expect_err(receive(set, r), TERN_WOULD_BLOCK, "set.removed_member_not_seen");
    expect_eq(receive(m1, r), 0, "set.removed_member_receives_itself");
    expect_eq(tern_sys_port_set_add(other, m1, 5), 0, "set.removed_member_joins_another");
    // Any number of members: 600 (the task's handle table holds 1,024), each received
    // under its own key, in the order their messages came.
    constexpr int kMany = 600;
    static int64_t extra[kMany];
    int made = 0;
    bool added_all = true;
    for (; made < kMany; ++made) {
        extra[made] = port_create(1);
        if (extra[made] < 0
            || tern_sys_port_set_add(set, extra[made], 100 + static_cast<uint64_t>(made)) != 0) {
            added_all = false;
            break;
        }
    }
    expect_true(added_all, made, "set.many_members_added");
    if (added_all) {
        const int order[] = {kMany - 1, 0, 300, 17, kMany - 2};
        for (int index : order)
            expect_eq(send_label(extra[index], 1000 + static_cast<uint32_t>(index)), 0,
                      "set.many_send");
        for (int index : order) {
            int64_t key = receive(set, r);
            expect_true(key == 100 + index && r.hdr.label == 1000u + static_cast<uint32_t>(index),
                        key, "set.many_member_key_and_order");
        }
        expect_err(receive(set, r), TERN_WOULD_BLOCK, "set.many_drained");
        // A member removed from the middle leaves the rest working.
        expect_eq(tern_sys_port_set_remove(set, extra[300]), 0, "set.many_remove_middle");
        expect_eq(send_label(extra[301], 7), 0, "set.many_send_after_remove");
        expect_eq(receive(set, r), 100 + 301, "set.many_key_after_remove");
    }
    for (int i = 0; i < made && i < kMany; ++i)
        close(extra[i]);
    // Closing the set's receive right frees its members for another set.
    close(set);
    expect_eq(tern_sys_port_set_add(other, m2, 6), 0, "set.members_freed_when_set_closes");
    close(set_send);
    close(m1_send);
    close(m1);
    close(m2);
    close(other);
}

// A receive right travels in a message: the port moves with it, queue and all; what
// could make a cycle is refused, and a right dropped in flight closes its port.
void test_receive_right_moves() {
    int64_t carrier = port_create(4);
    int64_t moving = port_create(4);
    int64_t moving_send = dup(moving, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    expect_eq(send_label(moving_send, 31, 3131), 0, "move.queued_before");
    tern_msg m = make_msg(30);
    m.hdr.handle_count = 1;
    m.handles[0] = static_cast<tern_handle_t>(moving);
    expect_eq(send(carrier, m), 0, "move.receive_right_sent");
    expect_err(tern_sys_handle_close(moving), TERN_BAD_HANDLE, "move.sender_lost_receive_right");
    expect_eq(send_label(moving_send, 32, 3232), 0, "move.senders_keep_sending");
    tern_msg r{};
    expect_eq(receive(carrier, r), 0, "move.carrier_received");
    int64_t moved = r.hdr.handle_count == 1 ? r.handles[0] : -1;
    expect_eq(receive(moved, r), 0, "move.new_holder_receives");
    expect_true(r.hdr.label == 31 && r.words[0] == 3131, r.hdr.label, "move.queue_came_along");
    expect_eq(receive(moved, r), 0, "move.new_holder_receives_later");
    expect_true(r.hdr.label == 32, r.hdr.label, "move.later_message_arrived");

    // No cycles: a port whose queue carries a receive right stays where it is.
    int64_t inner = port_create(2);
    m.handles[0] = static_cast<tern_handle_t>(inner);
    expect_eq(send(moved, m), 0, "move.inner_into_moved");
    m.handles[0] = static_cast<tern_handle_t>(moved);
    expect_err(send(carrier, m), TERN_BUSY, "move.holder_of_a_receive_right_cannot_move");
    expect_eq(receive(moved, r), 0, "move.inner_taken_out");
    int64_t inner_back = r.hdr.handle_count == 1 ? r.handles[0] : -1;
    expect_eq(send(carrier, m), 0, "move.moves_once_it_holds_none");
    expect_eq(receive(carrier, r), 0, "move.taken_again");
    moved = r.hdr.handle_count == 1 ? r.handles[0] : -1;

    // Dropped in flight (its carrier closed): the port closes, its senders learn it.
    int64_t doomed_carrier = port_create(2);
    m.handles[0] = static_cast<tern_handle_t>(moved);
    expect_eq(send(doomed_carrier, m), 0, "move.into_doomed_carrier");
    close(doomed_carrier);
    expect_err(send_label(moving_send, 33), TERN_PEER_CLOSED, "move.dropped_in_flight_closes");

    // A member of a set leaves the set when its receive right leaves the task.
    int64_t set = port_create(2);
    int64_t member = port_create(2);
    int64_t member_send = dup(member, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    expect_eq(tern_sys_port_set_add(set, member, 7), 0, "move.member_added");
    m.handles[0] = static_cast<tern_handle_t>(member);
    expect_eq(send(carrier, m), 0, "move.member_sent");
    expect_eq(send_label(member_send, 34), 0, "move.send_to_moved_member");
    expect_err(receive(set, r), TERN_WOULD_BLOCK, "move.old_set_sees_nothing");
    expect_eq(receive(carrier, r), 0, "move.member_received");
    int64_t member_moved = r.hdr.handle_count == 1 ? r.handles[0] : -1;
    expect_eq(receive(member_moved, r), 0, "move.moved_member_receives");
    expect_true(r.hdr.label == 34, r.hdr.label, "move.moved_member_message");
    close(member_moved);
    close(member_send);
    close(set);
    close(inner_back);
    close(moving_send);
    close(carrier);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_port");
    test_port_basics();
    test_port_dead_receiver();
    test_port_data();
    test_port_handles();
    test_signals_and_sets();
    test_receive_right_moves();
    return finish();
}

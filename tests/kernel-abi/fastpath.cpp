// Register IPC: port_call_regs and port_reply_receive_regs, the fast path with the
// message in registers. The same sequence of calls (answers, each error, a timeout, a
// server that ends before it answers) runs once where the fast path can take every call
// and once where it can take none, with identical results; ipc_stats shows which path
// each took. Then the cases where the registers meet the C-structure calls: a message
// with a data part or handles (the overflow buffer), signals first, and a port_call to a
// register server.
//
// Part of the kernel-ABI tests (harness.h): the kernel runs this program as the boot
// module abi_fastpath from its self-test user.abi_fastpath.
#include "harness.h"

#include <tern/ipc_regs.h>

using namespace abi;

namespace {

tern_ipc_stats ipc_stats() {
    tern_ipc_stats st{};
    (void)tern_sys_ipc_stats(ptr(&st));
    return st;
}

struct RegDelta {
    int64_t fast_calls, slow_calls, fast_replies, slow_replies, struct_fast_calls;
    int64_t entry_calls, entry_replies; // of the fast ones, served by the entry's fast path
};
RegDelta delta(const tern_ipc_stats& a, const tern_ipc_stats& b) {
    return RegDelta{int64_t(b.fast_reg_calls - a.fast_reg_calls),
                    int64_t(b.slow_reg_calls - a.slow_reg_calls),
                    int64_t(b.fast_reg_replies - a.fast_reg_replies),
                    int64_t(b.slow_reg_replies - a.slow_reg_replies),
                    int64_t(b.fast_calls - a.fast_calls),
                    int64_t(b.entry_reg_calls - a.entry_reg_calls),
                    int64_t(b.entry_reg_replies - a.entry_reg_replies)};
}

constexpr uint32_t kLabelEnd = 50;  // the server ends holding this call unanswered
constexpr uint32_t kLabelLate = 60; // the server answers 30 ms late

// Serves calls on port a with port_reply_receive_regs: label L is answered with L + 1,
// words[0] = 3 * words[0] + 1, words[1] = the sender badge, words[2] = the flags it saw,
// words[7] echoed. kLabelEnd: returns 1 still holding the call (its caller must get
// PEER_CLOSED). kLabelLate: sleeps 30 ms before answering. A signal ends it (0). With
// b == 1 every receive is a poll (timeout 0) between 1 ms sleeps, so no call finds it
// waiting and no answer can be handed over: the slow path throughout.
int64_t job_regs_server(Job& j) {
    tern_reg_msg m{};
    bool slow = j.b == 1;
    j.started = 1;
    for (;;) {
        int64_t r = tern_reply_receive_regs(j.a, &m, slow ? TERN_TIMEOUT_NONE : kLong, nullptr);
        if (slow && r == -TERN_WOULD_BLOCK) {
            sleep_ms(1);
            continue;
        }
        if (r < 0)
            return r;
        if (m.label == TERN_LABEL_SIGNAL && m.badge == 0)
            return 0;
        if (m.label == kLabelEnd)
            return 1;
        if (m.label == kLabelLate)
            sleep_ms(30);
        m.words[0] = 3 * m.words[0] + 1;
        m.words[1] = m.badge;
        m.words[2] = m.flags;
        m.label += 1;
    }
}

void let_block(Job& j) {
    for (int i = 0; i < 500 && !j.started; ++i)
        sleep_ms(1);
    sleep_ms(10);
}

struct Outcome {
    int64_t status;
    uint64_t label, badge, flags, w0, w1, w2, w7;
};
constexpr int kSteps = 9;

// One call of the sequence: m is set up afresh, its result recorded whole.
Outcome step_call(uint64_t port, uint64_t label, uint64_t w0, uint64_t timeout = kLong) {
    tern_reg_msg m{};
    m.label = label;
    m.badge = 0xB0B0;
    m.flags = 0xF0F0;
    m.words[0] = w0;
    m.words[7] = 0x5A5A0000 + w0;
    Outcome o{};
    o.status = tern_call_regs(port, &m, timeout, nullptr);
    o.label = m.label;
    o.badge = m.badge;
    o.flags = m.flags;
    o.w0 = m.words[0];
    o.w1 = m.words[1];
    o.w2 = m.words[2];
    o.w7 = m.words[7];
    return o;
}

// The sequence against a register server on p (fast, or forced slow), through send
// handle s. Returns false when the server could not be started.
bool run_sequence(int64_t p, int64_t s, bool slow, Outcome* out, RegDelta& d) {
    Job server;
    server.a = static_cast<uint64_t>(p);
    server.b = slow ? 1 : 0;
    if (!expect_ok(start_job(server, job_regs_server), "regs.server_{}", slow ? "slow" : "fast"))
        return false;
    let_block(server);
    int64_t no_send = dup(p, TERN_RIGHT_TRANSFER);
    int64_t dead = port_create(1);
    int64_t dead_send = dup(dead, TERN_RIGHT_SEND);
    close(dead); // its receiver is gone
    int64_t gone = dup(s, TERN_RIGHT_SEND);
    close(gone); // a handle value that names nothing now (nothing is made after it)
    // A thread's first call makes the reply object its later calls reuse, which the
    // handler does (the entry's fast path allocates nothing): made here, outside the count.
    expect_eq(step_call(s, 40, 0).status, 0, "regs.first_call_{}", slow ? "slow" : "fast");
    tern_ipc_stats before = ipc_stats();
    out[0] = step_call(s, 40, 7);
    out[1] = step_call(s, 42, 8);
    out[2] = step_call(gone, 40, 1);
    out[3] = step_call(no_send, 40, 1);
    out[4] = step_call(s, 1ull << 32, 1);
    out[5] = step_call(dead_send, 40, 1);
    out[6] = step_call(s, kLabelLate, 2, 10 * kMs);
    sleep_ms(40); // the late answer is dropped and the server waits again
    out[7] = step_call(s, 44, 9);
    out[8] = step_call(s, kLabelEnd, 3);
    d = delta(before, ipc_stats());
    expect_true(join_job(server), 0, "regs.server_done_{}", slow ? "slow" : "fast");
    expect_eq(server.result, 1, "regs.server_ended_holding_a_call_{}", slow ? "slow" : "fast");
    close(no_send);
    close(dead_send);
    return true;
}

void test_same_results_both_paths() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "regs.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_SIGNAL);
    int64_t self_id = tern_sys_task_id();
    Outcome fast[kSteps], slow[kSteps];
    RegDelta df{}, ds{};
    if (!run_sequence(p, s, false, fast, df) || !run_sequence(p, s, true, slow, ds)) {
        close(s);
        close(p);
        return;
    }
    // What each step must give (the fast run; the slow one must match it exactly).
    const int64_t want[kSteps] = {0,
                                  0,
                                  -TERN_BAD_HANDLE,
                                  -TERN_ACCESS_DENIED,
                                  -TERN_INVALID_ARGUMENT,
                                  -TERN_PEER_CLOSED,
                                  -TERN_TIMED_OUT,
                                  0,
                                  -TERN_PEER_CLOSED};
    for (int i = 0; i < kSteps; ++i)
        expect_eq(fast[i].status, want[i], "regs.step_{}_status", i);
    expect_true(fast[0].label == 41 && fast[0].w0 == 22 && int64_t(fast[0].w1) == self_id
                    && fast[0].w2 == TERN_MSG_FLAG_CALL && fast[0].w7 == 0x5A5A0007
                    && fast[0].flags == 0 && fast[0].badge == uint64_t(self_id),
                int64_t(fast[0].w0), "regs.answer_in_registers");
    expect_true(fast[7].label == 45 && fast[7].w0 == 28, int64_t(fast[7].w0),
                "regs.answer_after_a_late_one");
    // An error changes nothing but RAX.
    expect_true(fast[2].label == 40 && fast[2].badge == 0xB0B0 && fast[2].flags == 0xF0F0
                    && fast[2].w0 == 1,
                int64_t(fast[2].badge), "regs.error_leaves_registers");
    for (int i = 0; i < kSteps; ++i) {
        const Outcome& a = fast[i];
        const Outcome& b = slow[i];
        // The server's task is this one in both runs, so even the badges agree.
        expect_true(a.status == b.status && a.label == b.label && a.badge == b.badge
                        && a.flags == b.flags && a.w0 == b.w0 && a.w1 == b.w1 && a.w2 == b.w2
                        && a.w7 == b.w7,
                    b.status, "regs.step_{}_same_on_both_paths", i);
    }
    // Fast: the five calls that reach the server go straight to it, and the three answers
    // to callers still waiting go straight back; the four refused calls count as slow.
    expect_eq(df.fast_calls, 5, "regs.fast_run_fast_calls");
    expect_eq(df.slow_calls, 4, "regs.fast_run_slow_calls");
    expect_eq(df.fast_replies, 3, "regs.fast_run_fast_replies");
    // Every one of them was served by the syscall entry's fast path, before the dispatch
    // decoded anything (the timeouts are finite: 10 ms and kLong).
    expect_eq(df.entry_calls, 5, "regs.fast_run_entry_calls");
    expect_eq(df.entry_replies, 3, "regs.fast_run_entry_replies");
    // Slow: none.
    expect_eq(ds.fast_calls, 0, "regs.slow_run_fast_calls");
    expect_eq(ds.slow_calls, 9, "regs.slow_run_slow_calls");
    expect_eq(ds.fast_replies, 0, "regs.slow_run_fast_replies");
    expect_eq(ds.entry_calls, 0, "regs.slow_run_entry_calls");
    expect_eq(ds.entry_replies, 0, "regs.slow_run_entry_replies");
    tern_msg r{};
    expect_err(receive(p, r), TERN_WOULD_BLOCK, "regs.nothing_left_queued");
    close(s);
    close(p);
}

// A port_call (C structure) to a register server takes the fast path too, and the
// register answer comes back into its tern_msg.
void test_struct_call_to_register_server() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "mixed.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_SIGNAL);
    Job server;
    server.a = static_cast<uint64_t>(p);
    if (expect_ok(start_job(server, job_regs_server), "mixed.server")) {
        let_block(server);
        tern_ipc_stats before = ipc_stats();
        tern_msg m = make_msg(70, 5);
        m.words[7] = 77;
        expect_eq(call(s, m), 0, "mixed.struct_call");
        expect_true(m.hdr.label == 71 && m.words[0] == 16 && m.words[2] == TERN_MSG_FLAG_CALL
                        && m.words[7] == 77 && m.reply_handle == 0 && m.hdr.handle_count == 0,
                    int64_t(m.words[0]), "mixed.struct_call_answer");
        RegDelta d = delta(before, ipc_stats());
        expect_eq(d.struct_fast_calls, 1, "mixed.struct_call_was_fast");
        expect_eq(d.fast_replies, 1, "mixed.register_answer_was_fast");
        expect_eq(tern_sys_port_signal(s, 1), 0, "mixed.end_signal");
        expect_true(join_job(server), 0, "mixed.server_done");
        expect_eq(server.result, 0, "mixed.server_result");
    }
    close(s);
    close(p);
}

// Signals first, then queued messages; a message with a data part or handles goes to
// the overflow buffer, or stays queued without one.
void test_receive_cases() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "recv.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_SIGNAL);
    tern_reg_msg m{};
    expect_err(tern_reply_receive_regs(p, &m, TERN_TIMEOUT_NONE, nullptr), TERN_WOULD_BLOCK,
               "recv.empty_would_block");
    expect_err(tern_reply_receive_regs(p, &m, 5 * kMs, nullptr), TERN_TIMED_OUT,
               "recv.empty_times_out");
    m.label = 1ull << 40;
    expect_err(tern_reply_receive_regs(p, &m, TERN_TIMEOUT_NONE, nullptr), TERN_INVALID_ARGUMENT,
               "recv.label_too_wide");
    m.label = 0;
    expect_err(tern_reply_receive_regs(s, &m, TERN_TIMEOUT_NONE, nullptr), TERN_ACCESS_DENIED,
               "recv.no_receive_right");

    tern_msg plain = make_msg(80, 11, 12);
    plain.words[7] = 17;
    expect_eq(send(s, plain), 0, "recv.send_plain");
    expect_eq(tern_sys_port_signal(s, 4), 0, "recv.signal");
    m = tern_reg_msg{};
    expect_eq(tern_reply_receive_regs(p, &m, TERN_TIMEOUT_NONE, nullptr), 0, "recv.first");
    expect_true(m.label == TERN_LABEL_SIGNAL && m.words[0] == 4 && m.badge == 0 && m.flags == 0,
                int64_t(m.label), "recv.signal_comes_first");
    expect_eq(tern_reply_receive_regs(p, &m, TERN_TIMEOUT_NONE, nullptr), 0, "recv.second");
    expect_true(m.label == 80 && m.words[0] == 11 && m.words[1] == 12 && m.words[7] == 17
                    && m.flags == 0 && int64_t(m.badge) == tern_sys_task_id(),
                int64_t(m.label), "recv.plain_message_in_registers");

    // A data part: NO_SPACE without an overflow buffer (still queued), then whole in it.
    static uint8_t bytes[24] = {9, 8, 7};
    tern_msg with_data = make_msg(81, 21);
    with_data.hdr.data_size = sizeof(bytes);
    with_data.data = ptr(bytes);
    expect_eq(send(s, with_data), 0, "recv.send_data");
    expect_err(tern_reply_receive_regs(p, &m, TERN_TIMEOUT_NONE, nullptr), TERN_NO_SPACE,
               "recv.data_without_overflow");
    uint8_t into[64] = {};
    tern_msg overflow{};
    overflow.data = ptr(into);
    overflow.data_capacity = sizeof(into);
    m = tern_reg_msg{};
    expect_eq(tern_reply_receive_regs(p, &m, TERN_TIMEOUT_NONE, &overflow), 0,
              "recv.data_with_overflow");
    expect_true(m.flags == TERN_MSG_FLAG_IN_BUFFER && overflow.hdr.label == 81
                    && overflow.words[0] == 21 && overflow.hdr.data_size == sizeof(bytes)
                    && into[0] == 9 && into[2] == 7,
                int64_t(m.flags), "recv.data_in_overflow");
    expect_true(overflow.reply_handle == 0, overflow.reply_handle, "recv.not_a_call");
    // A bad overflow buffer: BAD_ADDRESS, still queued.
    expect_eq(send(s, with_data), 0, "recv.send_data_again");
    expect_err(tern_ipc_regs(TERN_SYS_port_reply_receive_regs, p, TERN_TIMEOUT_NONE, &m,
                             reinterpret_cast<tern_msg*>(0x10)),
               TERN_BAD_ADDRESS, "recv.bad_overflow");
    overflow.data = ptr(into);
    overflow.data_capacity = sizeof(into);
    expect_eq(tern_reply_receive_regs(p, &m, TERN_TIMEOUT_NONE, &overflow), 0,
              "recv.still_queued_after_bad_overflow");

    // Closed: PEER_CLOSED for a caller.
    close(p);
    tern_reg_msg c{};
    c.label = 1;
    expect_err(tern_call_regs(s, &c, kLong, nullptr), TERN_PEER_CLOSED, "recv.call_closed_port");
    close(s);
}

// A register caller whose answer has a data part: it lands in the overflow buffer, or the
// call fails with NO_SPACE without one.
int64_t job_data_answer(Job& j) {
    static uint8_t reply_bytes[16] = {5, 6, 7, 8};
    j.started = 1;
    for (uint64_t i = 0; i < j.c; ++i) {
        tern_msg m{};
        int64_t r = tern_sys_port_receive(j.a, ptr(&m), kLong);
        if (r < 0)
            return r;
        tern_msg answer = make_msg(m.hdr.label + 1, m.words[0] + 1);
        answer.hdr.data_size = sizeof(reply_bytes);
        answer.data = ptr(reply_bytes);
        r = tern_sys_port_reply(m.reply_handle, ptr(&answer));
        if (r < 0)
            return r;
    }
    return 0;
}

void test_answer_with_data() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "answer.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND);
    Job server;
    server.a = static_cast<uint64_t>(p);
    server.c = 2;
    if (expect_ok(start_job(server, job_data_answer), "answer.server")) {
        let_block(server);
        uint8_t into[32] = {};
        tern_msg overflow{};
        overflow.data = ptr(into);
        overflow.data_capacity = sizeof(into);
        tern_reg_msg m{};
        m.label = 90;
        m.words[0] = 1;
        expect_eq(tern_call_regs(s, &m, kLong, &overflow), 0, "answer.with_overflow");
        expect_true(m.flags == TERN_MSG_FLAG_IN_BUFFER && m.label == 91 && m.words[0] == 2
                        && overflow.hdr.data_size == 16 && into[0] == 5 && into[3] == 8,
                    int64_t(m.flags), "answer.data_in_overflow");
        m = tern_reg_msg{};
        m.label = 92;
        expect_err(tern_call_regs(s, &m, kLong, nullptr), TERN_NO_SPACE, "answer.without_overflow");
        expect_true(join_job(server), 0, "answer.server_done");
        expect_eq(server.result, 0, "answer.server_result");
    }
    close(s);
    close(p);
}

// One copy of a data part: port_call with a data part to a server waiting in
// port_reply_receive goes straight into the server's buffer, and its answer straight
// into the caller's (ipc_stats counts both as fast). The same calls to a server that only
// polls take the queued way; the results must be the same: the data both ways, a data
// part bigger than the server's capacity (NO_SPACE to the server, the call left queued and
// then answered by a receive with room), and a caller's bad data buffer (BAD_ADDRESS, no
// message).
constexpr uint32_t kDataServerCapacity = 6000;
constexpr uint32_t kLabelData = 70;

// Serves kLabelData calls with port_reply_receive: the answer is as long as the call's
// data part, each byte the call's plus one; a call too big for its buffer is taken again
// with a bigger one. b == 1: polls, as job_regs_server. Ends on a signal (0).
int64_t job_data_server(Job& j) {
    static uint8_t in[TERN_MSG_MAX_DATA];
    static uint8_t out[TERN_MSG_MAX_DATA];
    bool slow = j.b == 1;
    tern_msg m{};
    tern_msg answer{};
    uint64_t reply = TERN_INVALID_HANDLE;
    j.started = 1;
    for (;;) {
        m = tern_msg{};
        m.data = ptr(in);
        m.data_capacity = kDataServerCapacity;
        int64_t r;
        if (reply != TERN_INVALID_HANDLE)
            r = tern_sys_port_reply_receive(reply, ptr(&answer), j.a, ptr(&m),
                                            slow ? TERN_TIMEOUT_NONE : kLong);
        else
            r = tern_sys_port_receive(j.a, ptr(&m), slow ? TERN_TIMEOUT_NONE : kLong);
        reply = TERN_INVALID_HANDLE;
        if (r == -TERN_NO_SPACE) {
            ++j.c; // counts the refusals
            m.data_capacity = sizeof(in);
            r = tern_sys_port_receive(j.a, ptr(&m), TERN_TIMEOUT_NONE);
        }
        if (slow && r == -TERN_WOULD_BLOCK) {
            sleep_ms(1);
            continue;
        }
        if (r < 0)
            return r;
        if (m.hdr.label == TERN_LABEL_SIGNAL)
            return 0;
        for (uint32_t i = 0; i < m.hdr.data_size; ++i)
            out[i] = uint8_t(in[i] + 1);
        answer = make_msg(m.hdr.label + 1, m.hdr.data_size);
        answer.hdr.data_size = m.hdr.data_size;
        answer.data = ptr(out);
        reply = m.reply_handle;
    }
}

struct DataOutcome {
    int64_t status;
    uint64_t label, size, word;
    bool bytes_ok;
};

// One call with `bytes` of data (at `data`, or `offset` bytes into the caller's buffer)
// whose answer goes to the same place, a buffer of `capacity`.
DataOutcome data_call(uint64_t port, uint32_t bytes, uint32_t capacity, uint64_t data = 0,
                      uint32_t offset = 0) {
    static uint8_t whole[TERN_MSG_MAX_DATA + 8];
    uint8_t* buffer = whole + offset;
    for (uint32_t i = 0; i < bytes; ++i)
        buffer[i] = uint8_t(i * 7 + bytes);
    tern_msg m = make_msg(kLabelData, 1);
    m.hdr.data_size = bytes;
    m.data = data ? data : ptr(buffer);
    m.data_capacity = capacity;
    DataOutcome o{};
    o.status = call(port, m);
    o.label = m.hdr.label;
    o.size = m.hdr.data_size;
    o.word = m.words[0];
    o.bytes_ok = true;
    if (o.status == 0)
        for (uint32_t i = 0; i < m.hdr.data_size; ++i)
            if (buffer[i] != uint8_t(uint8_t(i * 7 + bytes) + 1))
                o.bytes_ok = false;
    return o;
}

constexpr int kDataSteps = 9;

void run_data_sequence(int64_t p, int64_t s, bool slow, DataOutcome* out, tern_ipc_stats& d,
                       uint64_t& refusals) {
    Job server;
    server.a = static_cast<uint64_t>(p);
    server.b = slow ? 1 : 0;
    const char* path = slow ? "queued" : "direct";
    if (!expect_ok(start_job(server, job_data_server), "data.server_{}", path))
        return;
    let_block(server);
    // Touch every page first: the direct copy is taken only where both buffers are mapped.
    (void)data_call(s, TERN_MSG_MAX_DATA, TERN_MSG_MAX_DATA);
    tern_ipc_stats before = ipc_stats();
    out[0] = data_call(s, 4096, TERN_MSG_MAX_DATA);
    out[1] = data_call(s, 100, TERN_MSG_MAX_DATA);
    out[2] = data_call(s, 5000, 4096);                    // the answer does not fit: NO_SPACE
    out[3] = data_call(s, 16384, TERN_MSG_MAX_DATA);      // beyond the server's capacity
    out[4] = data_call(s, 4096, TERN_MSG_MAX_DATA, 0x10); // a bad data buffer
    out[5] = data_call(s, kDataServerCapacity, kDataServerCapacity);
    // Unaligned: 5000 bytes from 3 bytes into the buffer, across two pages each way.
    out[6] = data_call(s, 5000, TERN_MSG_MAX_DATA, 0, 3);
    // A data part whose first page is there and whose second is not: none of it moves
    // (BAD_ADDRESS, no message), whether the second was freed or made inaccessible.
    int64_t pages = vm_allocate(4 * kPage);
    if (expect_ok(pages, "data.pages_{}", path)) {
        uint64_t base = static_cast<uint64_t>(pages);
        for (uint64_t i = 0; i < 4 * kPage; i += 8)
            *reinterpret_cast<volatile uint64_t*>(base + i) = i;
        vm_free(static_cast<int64_t>(base + kPage), kPage);
        out[7] = data_call(s, 200, TERN_MSG_MAX_DATA, base + kPage - 100);
        expect_eq(tern_sys_vm_protect(base + 3 * kPage, kPage, 0), 0, "data.protect_{}", path);
        out[8] = data_call(s, 200, TERN_MSG_MAX_DATA, base + 3 * kPage - 100);
        vm_free(pages, kPage);
        vm_free(static_cast<int64_t>(base + 2 * kPage), 2 * kPage);
    }
    tern_ipc_stats after = ipc_stats();
    d.fast_calls = after.fast_calls - before.fast_calls;
    d.fast_replies = after.fast_replies - before.fast_replies;
    expect_eq(tern_sys_port_signal(p, 1), 0, "data.end_signal_{}", path);
    expect_true(join_job(server), 0, "data.server_done_{}", path);
    expect_eq(server.result, 0, "data.server_result_{}", path);
    refusals = server.c;
}

void test_data_direct_and_queued() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "data.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND);
    DataOutcome direct[kDataSteps] = {}, queued[kDataSteps] = {};
    tern_ipc_stats dd{}, dq{};
    uint64_t direct_refusals = 0, queued_refusals = 0;
    run_data_sequence(p, s, false, direct, dd, direct_refusals);
    run_data_sequence(p, s, true, queued, dq, queued_refusals);
    const int64_t want[kDataSteps] = {
        0, 0, -TERN_NO_SPACE, 0, -TERN_BAD_ADDRESS, 0, 0, -TERN_BAD_ADDRESS, -TERN_BAD_ADDRESS};
    for (int i = 0; i < kDataSteps; ++i) {
        expect_eq(direct[i].status, want[i], "data.step_{}_status", i);
        expect_eq(queued[i].status, direct[i].status, "data.step_{}_same_status", i);
        expect_eq(queued[i].label, direct[i].label, "data.step_{}_same_label", i);
        expect_eq(queued[i].size, direct[i].size, "data.step_{}_same_size", i);
        expect_eq(queued[i].word, direct[i].word, "data.step_{}_same_word", i);
        expect_true(direct[i].bytes_ok && queued[i].bytes_ok, i, "data.step_{}_bytes", i);
    }
    expect_eq(direct[0].size, 4096, "data.answer_size");
    expect_eq(direct[0].label, kLabelData + 1, "data.answer_label");
    // The warm-up call and step 3 are each refused once for the server's capacity.
    expect_eq(direct_refusals, 2, "data.direct_too_big_refused");
    expect_eq(queued_refusals, 2, "data.queued_too_big_refused");
    // Direct: the calls of 4096, 100, 5000, 6000 and the unaligned 5000 bytes, and the
    // answers of 4096, 100, 6000 and the unaligned 5000 (5000 bytes do not fit the
    // caller's buffer of step 2; the 16384-byte call went through the queue, its answer
    // straight back).
    expect_eq(int64_t(dd.fast_calls), 5, "data.direct_calls");
    expect_eq(int64_t(dd.fast_replies), 5, "data.direct_answers");
    expect_eq(int64_t(dq.fast_calls), 0, "data.queued_calls");
    expect_eq(int64_t(dq.fast_replies), 0, "data.queued_answers");
    close(s);
    close(p);
}

// A register call interrupted by thread_stop returns INTERRUPTED; the server's answer
// to it, held meanwhile, is dropped rather than taken for the answer to the next call.
void test_interrupted_register_call() {
    int64_t p = port_create(4);
    if (!expect_ok(p, "intr.port"))
        return;
    int64_t s = dup(p, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    CloneOptions o;
    o.mode = kChildCallRegsTwice;
    o.give = static_cast<uint64_t>(s);
    o.give_rights = TERN_RIGHT_SEND;
    Child c;
    if (clone_child(c, "regs_interrupted_caller", o)) {
        tern_reg_msg m{};
        expect_eq(tern_reply_receive_regs(p, &m, kLong, nullptr), 0, "intr.first_call");
        expect_true(m.label == 1 && m.words[0] == 1 && m.flags == TERN_MSG_FLAG_CALL,
                    int64_t(m.words[0]), "intr.first_call_contents");
        expect_eq(tern_sys_thread_stop(c.thread, kLong), 0, "intr.stop_blocked_caller");
        expect_eq(tern_sys_thread_resume(c.thread), 0, "intr.resume_caller");
        // This answers the first call, whose caller gave up, and takes the second.
        m.label = 0;
        m.words[0] = 100;
        expect_eq(tern_reply_receive_regs(p, &m, kLong, nullptr), 0, "intr.second_call");
        expect_true(m.label == 2 && m.words[0] == 2, int64_t(m.words[0]),
                    "intr.second_call_contents");
        m.label = 0;
        m.words[0] = 200;
        expect_err(tern_reply_receive_regs(p, &m, TERN_TIMEOUT_NONE, nullptr), TERN_WOULD_BLOCK,
                   "intr.answer_second_call");
        expect_eq(wait_child(c), 200, "intr.caller_got_its_own_answer");
        release_child(c);
    }
    close(s);
    close(p);
}

} // namespace

extern "C" int main(uint64_t) {
    begin("abi_fastpath");
    test_same_results_both_paths();
    test_struct_call_to_register_server();
    test_receive_cases();
    test_answer_with_data();
    test_data_direct_and_queued();
    test_interrupted_register_call();
    return finish();
}

// User-space benchmarks: the cost of the kernel paths a program sees from ring 3.
//
// The kernel runs this program in bench mode (kernel/test/bench.cpp) after its own
// micro-benchmarks. Each figure is printed as one machine-readable line
//
//     <name>: <value> <unit>
//
// that tools/bench.py collects. Under QEMU's -icount shift=0 the TSC advances by one per
// retired guest instruction, so every value below is instructions per operation and
// repeats from run to run. Each is the minimum over several rounds, which drops rounds
// that a timer interrupt or another thread happened to land in.
//
// The cross-task IPC and pager benchmarks need a second task that runs this program's
// code. Tern has no fork, so the program clones itself: it creates an empty task, maps
// the same text, rodata and data ranges there (the linker script names them), copies its
// own bytes in, and starts threads in the copy at the addresses of its own functions.
//
// The program exits 0 when every benchmark ran and 1 on the first failure, so the
// kernel's bench mode fails loudly instead of printing partial figures.

#include <base/error.h>
#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/errors.h>
#include <tern/abi/message.h>
#include <tern/abi/rights.h>
#include <tern/abi/syscalls.h>
#include <tern/abi/task.h>
#include <tern/print.h>
#include <tern/startup.h>
#include <tern/syscall.h>

// Bounds of the loaded image, defined by libc/native/user.ld.
extern "C" char __user_image_start[];
extern "C" char __text_end[];
extern "C" char __rodata_end[];
extern "C" char __user_image_end[];

namespace {

constexpr int kRounds = 7;
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kThreadStackSize = 64 * 1024;
// The priority the kernel gives a boot module's first thread; helper threads use the
// same one so that yield and IPC hand the CPU back and forth between equals.
constexpr uint64_t kPriority = 10;

// Labels of the messages the helper threads send back.
constexpr uint32_t kLabelRound = 0x42454E31u; // a pager round finished: words[0] = TSC delta

uint64_t read_tsc() {
    uint32_t lo, hi;
    // The memory clobber keeps the compiler from moving loads and stores of the measured
    // loop across the read.
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (uint64_t(hi) << 32) | lo;
}

uint64_t page_up(uint64_t v) { return (v + kPageSize - 1) & ~(kPageSize - 1); }
uint64_t addr(const void* p) { return uint64_t(uintptr_t(p)); }

bool g_failed = false;

// Reports a failed setup step once; the remaining benchmarks are skipped.
bool check(int64_t result, const char* what) {
    if (result >= 0)
        return true;
    if (!g_failed)
        tern::println("bench: error: {} failed: {}", what,
                      base::error_name(base::error_from_syscall_return(result)));
    g_failed = true;
    return false;
}

// ---- Helper threads -----------------------------------------------------------------
//
// A thread starts with RSP = a 16-byte-aligned stack top and RDI = its argument. The
// trampoline below aligns the stack and calls bench_thread_main with a pointer to a job
// written just above the stack top, which says what the thread does. The same code runs
// in this task and in the clone, whose copy of the image has identical addresses.

struct ThreadJob {
    void (*fn)(const ThreadJob* job);
    uint64_t a;
    uint64_t b;
    uint64_t c;
};

} // namespace

extern "C" void bench_thread_entry();
extern "C" [[noreturn]] void bench_thread_main(const ThreadJob* job);

// The call pushes a return address, so bench_thread_main sees the stack alignment the
// System V ABI promises at a function's first instruction.
__asm__(R"(
    .section .text.bench_thread_entry, "ax", @progbits
    .globl bench_thread_entry
    .type bench_thread_entry, @function
bench_thread_entry:
    xorl %ebp, %ebp
    andq $-16, %rsp
    call bench_thread_main
    ud2
    .size bench_thread_entry, . - bench_thread_entry
    .text
)");

extern "C" [[noreturn]] void bench_thread_main(const ThreadJob* job) {
    job->fn(job);
    tern_sys_thread_exit(0);
    __builtin_unreachable();
}

namespace {

// Where a job and the stack below it go in a freshly mapped stack region.
uint64_t job_address(uint64_t stack_base) { return stack_base + kThreadStackSize - 64; }

// Starts a helper thread in this task running job.
int64_t start_local_thread(const ThreadJob& job) {
    int64_t stack = tern_sys_vm_allocate(kThreadStackSize, TERN_PROT_READ | TERN_PROT_WRITE);
    if (!check(stack, "vm_allocate(thread stack)"))
        return stack;
    uint64_t at = job_address(uint64_t(stack));
    *reinterpret_cast<ThreadJob*>(uintptr_t(at)) = job;
    int64_t thread = tern_sys_thread_create(
        addr(reinterpret_cast<const void*>(&bench_thread_entry)), at, at, kPriority);
    check(thread, "thread_create");
    return thread;
}

// ---- Cloning this program into a second task ------------------------------------------

struct Clone {
    tern_handle_t task = TERN_INVALID_HANDLE;
};

int64_t map_and_copy(tern_handle_t task, uint64_t start, uint64_t end, uint32_t prot) {
    if (end <= start)
        return 0;
    int64_t r = tern_sys_task_vm_allocate(task, start, end - start, prot);
    if (r < 0)
        return r;
    // task_vm_write moves at most 1 MiB per call.
    constexpr uint64_t kChunk = 1ull << 20;
    for (uint64_t at = start; at < end; at += kChunk) {
        uint64_t n = end - at < kChunk ? end - at : kChunk;
        r = tern_sys_task_vm_write(task, at, at, n);
        if (r < 0)
            return r;
    }
    return 0;
}

// A new task holding a copy of this program's image at the same addresses. The data
// segment is copied as it is now, so globals set before the clone are seen by the copy.
bool clone_self(Clone& clone) {
    static const char kName[] = "bench-peer";
    int64_t task = tern_sys_task_create(addr(kName), sizeof(kName) - 1);
    if (!check(task, "task_create"))
        return false;
    clone.task = tern_handle_t(task);
    uint64_t text = addr(__user_image_start);
    uint64_t rodata = page_up(addr(__text_end));
    uint64_t data = page_up(addr(__rodata_end));
    uint64_t end = page_up(addr(__user_image_end));
    return check(map_and_copy(clone.task, text, rodata, TERN_PROT_READ | TERN_PROT_EXEC),
                 "cloning text")
           && check(map_and_copy(clone.task, rodata, data, TERN_PROT_READ), "cloning rodata")
           && check(map_and_copy(clone.task, data, end, TERN_PROT_READ | TERN_PROT_WRITE),
                    "cloning data");
}

// Starts a thread in the clone running job; returns its thread handle.
int64_t start_clone_thread(const Clone& clone, const ThreadJob& job) {
    int64_t stack = tern_sys_task_vm_allocate(clone.task, 0, kThreadStackSize,
                                              TERN_PROT_READ | TERN_PROT_WRITE);
    if (!check(stack, "task_vm_allocate(thread stack)"))
        return stack;
    uint64_t at = job_address(uint64_t(stack));
    if (!check(tern_sys_task_vm_write(clone.task, at, addr(&job), sizeof(job)), "writing a job"))
        return -TERN_BAD_ADDRESS;
    int64_t thread = tern_sys_task_thread_create(
        clone.task, addr(reinterpret_cast<const void*>(&bench_thread_entry)), at, at);
    if (!check(thread, "task_thread_create"))
        return thread;
    if (!check(tern_sys_thread_resume(uint64_t(thread)), "thread_resume"))
        return -TERN_BAD_STATE;
    return thread;
}

void end_clone(Clone& clone) {
    if (clone.task == TERN_INVALID_HANDLE)
        return;
    (void)tern_sys_task_kill(clone.task, 0);
    (void)tern_sys_task_wait(clone.task, TERN_TIMEOUT_INFINITE);
    (void)tern_sys_handle_close(clone.task);
    clone.task = TERN_INVALID_HANDLE;
}

// ---- Benchmarks ---------------------------------------------------------------------

uint64_t bench_null_syscall() {
    constexpr uint64_t kCalls = 10000;
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t t0 = read_tsc();
        for (uint64_t i = 0; i < kCalls; ++i)
            (void)tern_sys_null();
        uint64_t t1 = read_tsc();
        best = base::min(best, (t1 - t0) / kCalls);
    }
    return best;
}

// ---- The IPC echo protocol ----------------------------------------------------------
//
// Every call and every reply is checked, so a figure can only come from round trips that
// really moved their data. A call carries label kLabelCall, its sequence number in
// words[0] and a data part filled with the request pattern; the server answers from a
// buffer of its own (never the one it received into) with label kLabelReply, the
// sequence number xor kReplyMark, and as many bytes of the reply pattern, the sequence
// number in its first 8 bytes. A reply that did not arrive leaves the request
// pattern in the caller's buffer, which fails the check. The server checks only the
// request's label and sequence words (constant work inside the measured round trip); the
// caller checks the whole reply outside it.

constexpr uint32_t kLabelCall = 0x45434831u;  // "ECH1"
constexpr uint32_t kLabelReply = 0x45434832u; // "ECH2"
constexpr uint32_t kLabelBadCall = 0x45434833u;
constexpr uint64_t kReplyMark = 0x5E9A1ED0C0FFEE00ull;
constexpr uint32_t kMaxIpcBytes = 65536; // TERN_MSG_MAX_DATA

uint8_t request_byte(uint64_t i) { return uint8_t(0x3C + i * 13); }
uint8_t reply_byte(uint64_t i) { return uint8_t(0xA5 ^ (i * 7)); }

void put_word(uint8_t* p, uint64_t v) { __builtin_memcpy(p, &v, 8); }
uint64_t get_word(const uint8_t* p) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}

// The sequence number where a data part of `bytes` carries it: its first 8 bytes (the
// same place for every size, so the server's reply buffer keeps its pattern elsewhere).
void stamp(uint8_t* data, uint32_t bytes, uint64_t seq) {
    if (bytes >= 8)
        put_word(data, seq);
}
bool stamped(const uint8_t* data, uint32_t bytes, uint64_t seq) {
    return bytes < 8 || get_word(data) == seq;
}

// Turns the received call `in` into its reply in `out`, whose data part is `reply_buffer`.
void make_reply(const tern_msg& in, const uint8_t* received, tern_msg& out, uint8_t* reply_buffer) {
    uint64_t seq = in.words[0];
    uint32_t bytes = in.hdr.data_size;
    bool good = in.hdr.label == kLabelCall && stamped(received, bytes, seq);
    stamp(reply_buffer, bytes, seq);
    out.hdr.label = good ? kLabelReply : kLabelBadCall;
    out.hdr.flags = 0;
    out.hdr.handle_count = 0;
    out.hdr.data_size = bytes;
    out.words[0] = seq ^ kReplyMark;
    out.data = addr(reply_buffer);
    out.data_capacity = 0;
    out.reserved = 0;
    out.reply_handle = TERN_INVALID_HANDLE;
}

void fill_reply_pattern(uint8_t* buffer) {
    for (uint32_t i = 0; i < kMaxIpcBytes; ++i)
        buffer[i] = reply_byte(i);
}

// The IPC server: answers every call as the echo protocol says. It ends when its port
// closes or its task is killed.
void ipc_server(const ThreadJob* job) {
    tern_handle_t port = tern_handle_t(job->a);
    // Static rather than on the thread's stack, which is smaller than two of them (each
    // server runs in a task of its own, or alone in this one).
    alignas(4096) static uint8_t received[kMaxIpcBytes];
    alignas(4096) static uint8_t reply_buffer[kMaxIpcBytes];
    fill_reply_pattern(reply_buffer);
    tern_msg msg{};
    tern_msg answer{};
    for (;;) {
        msg.data = addr(received);
        msg.data_capacity = sizeof(received);
        msg.reserved = 0;
        if (tern_sys_port_receive(port, addr(&msg), TERN_TIMEOUT_INFINITE) < 0)
            return;
        make_reply(msg, received, answer, reply_buffer);
        (void)tern_sys_port_reply(msg.reply_handle, addr(&answer));
    }
}

// The same server on the fast path real servers use (tern::proto::Server::run): each
// answer and the wait for the next call are one port_reply_receive.
void ipc_server_reply_receive(const ThreadJob* job) {
    tern_handle_t port = tern_handle_t(job->a);
    // Static rather than on the thread's stack, which is smaller than two of them (each
    // server runs in a task of its own, or alone in this one).
    alignas(4096) static uint8_t received[kMaxIpcBytes];
    alignas(4096) static uint8_t reply_buffer[kMaxIpcBytes];
    fill_reply_pattern(reply_buffer);
    tern_msg msg{};
    tern_msg answer{};
    msg.data = addr(received);
    msg.data_capacity = sizeof(received);
    if (tern_sys_port_receive(port, addr(&msg), TERN_TIMEOUT_INFINITE) < 0)
        return;
    for (;;) {
        make_reply(msg, received, answer, reply_buffer);
        tern_handle_t reply = msg.reply_handle;
        msg.data = addr(received);
        msg.data_capacity = sizeof(received);
        msg.reserved = 0;
        if (tern_sys_port_reply_receive(reply, addr(&answer), port, addr(&msg),
                                        TERN_TIMEOUT_INFINITE)
            < 0)
            return;
    }
}

// One port_call_regs or port_reply_receive_regs (`number`) with a label and one word each
// way and no overflow buffer, inline, so that the benchmark's stub loads and stores only
// the registers it uses (tern_ipc_regs moves all eleven each way, and saves the six
// callee-saved registers per call, which the compiler here saves once per loop). The other
// words go as the registers hold them and come back clobbered. RBP, the overflow buffer,
// is 0 during the call; it is saved below the red zone. On success label, flags and word
// are what came back.
[[gnu::always_inline]] inline int64_t ipc_regs_one(uint64_t number, tern_handle_t port,
                                                   uint64_t& label, uint64_t& flags,
                                                   uint64_t& word) {
    register uint64_t r10 asm("r10") = word;
    uint64_t rax = number;
    uint64_t rdi = port;
    uint64_t rsi = label;
    uint64_t rdx = TERN_TIMEOUT_INFINITE;
    asm volatile("lea -128(%%rsp), %%rsp\n\t"
                 "pushq %%rbp\n\t"
                 "xorl %%ebp, %%ebp\n\t"
                 "syscall\n\t"
                 "popq %%rbp\n\t"
                 "lea 128(%%rsp), %%rsp"
                 : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10)
                 :
                 : "rcx", "r11", "r8", "r9", "r12", "r13", "r14", "r15", "rbx", "memory");
    if (int64_t(rax) >= 0) {
        label = rsi;
        flags = rdi;
        word = r10;
    }
    return int64_t(rax);
}

// The same server with the messages in registers (port_reply_receive_regs): each answer
// and the wait for the next call are one syscall, and the reply right stays in the
// thread. The echo protocol's label and sequence word travel in registers; a call that
// does not fit them (there is no overflow buffer) ends the server.
void ipc_server_regs(const ThreadJob* job) {
    tern_handle_t port = tern_handle_t(job->a);
    uint64_t label = kLabelBadCall;
    uint64_t flags = 0;
    uint64_t word = 0;
    for (;;) {
        if (ipc_regs_one(TERN_SYS_port_reply_receive_regs, port, label, flags, word) < 0)
            return;
        bool good = label == kLabelCall && flags == TERN_MSG_FLAG_CALL;
        label = good ? kLabelReply : kLabelBadCall;
        word ^= kReplyMark;
    }
}

// Checks one reply of the echo protocol; prints what is wrong and returns false.
bool reply_ok(const tern_msg& msg, const uint8_t* data, uint32_t bytes, uint64_t seq) {
    const char* wrong = nullptr;
    if (msg.hdr.label != kLabelReply)
        wrong = msg.hdr.label == kLabelBadCall ? "the server saw a bad call" : "wrong label";
    else if (msg.words[0] != (seq ^ kReplyMark))
        wrong = "wrong sequence word";
    else if (msg.hdr.data_size != bytes)
        wrong = "wrong data size";
    else if (!stamped(data, bytes, seq))
        wrong = "wrong sequence number in the data";
    for (uint32_t i = bytes >= 8 ? 8 : 0; !wrong && i < bytes; ++i)
        if (data[i] != reply_byte(i))
            wrong = "wrong data byte";
    if (wrong)
        tern::println("bench: error: reply {} of a {}-byte call: {} (label {:#x}, {} bytes)", seq,
                      bytes, wrong, msg.hdr.label, msg.hdr.data_size);
    return wrong == nullptr;
}

// Round trips of port_call on `port` with a data part of `bytes` in both directions;
// returns instructions per round trip, or 0 when a call failed or a reply was wrong. Only
// the port_call itself is timed: filling the request and checking the reply are not.
uint64_t bench_call_reply(tern_handle_t port, uint32_t bytes) {
    // Fewer calls for the big data parts, whose filling and checking outweigh the calls.
    const uint64_t kCalls = bytes > 4096 ? 100 : 1000;
    // The buffers here and in the servers start on a page: a copy's cost depends on how
    // its buffers fall across pages, which would otherwise move with the program's layout
    // (the build directory's path is in it).
    alignas(4096) static uint8_t buffer[kMaxIpcBytes];
    static uint64_t seq = 0;
    tern_msg msg{};
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t total = 0;
        for (uint64_t i = 0; i < kCalls; ++i) {
            ++seq;
            for (uint32_t b = 0; b < bytes; ++b)
                buffer[b] = request_byte(b);
            stamp(buffer, bytes, seq);
            // The reply overwrites the header, so the request is set up afresh each time.
            msg.hdr.label = kLabelCall;
            msg.hdr.data_size = bytes;
            msg.hdr.handle_count = 0;
            msg.hdr.flags = 0;
            msg.words[0] = seq;
            msg.data = addr(buffer);
            msg.data_capacity = sizeof(buffer);
            uint64_t t0 = read_tsc();
            int64_t result = tern_sys_port_call(port, addr(&msg), TERN_TIMEOUT_INFINITE);
            uint64_t t1 = read_tsc();
            total += t1 - t0;
            if (!check(result, "port_call") || !reply_ok(msg, buffer, bytes, seq)) {
                g_failed = true;
                return 0;
            }
        }
        best = base::min(best, total / kCalls);
    }
    return best;
}

// Empty round trips of port_call_regs on `port` (a server on port_reply_receive_regs);
// returns instructions per round trip, or 0 when a call failed or a reply was wrong.
uint64_t bench_call_regs(tern_handle_t port) {
    constexpr uint64_t kCalls = 1000;
    static uint64_t seq = 0;
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t total = 0;
        for (uint64_t i = 0; i < kCalls; ++i) {
            ++seq;
            uint64_t label = kLabelCall;
            uint64_t flags = ~0ull;
            uint64_t word = seq;
            uint64_t t0 = read_tsc();
            int64_t result = ipc_regs_one(TERN_SYS_port_call_regs, port, label, flags, word);
            uint64_t t1 = read_tsc();
            total += t1 - t0;
            if (!check(result, "port_call_regs")) {
                g_failed = true;
                return 0;
            }
            if (label != kLabelReply || word != (seq ^ kReplyMark) || flags != 0) {
                tern::println("bench: error: register reply {}: label {:#x}, word {:#x}, flags "
                              "{:#x}",
                              seq, label, word, flags);
                g_failed = true;
                return 0;
            }
        }
        best = base::min(best, total / kCalls);
    }
    return best;
}

// Empty asynchronous calls on `port` whose answers come back on `reply_port` (which this
// task receives on); returns instructions from the port_call_async to the answer taken
// with port_receive, or 0 when a call failed or an answer was wrong.
uint64_t bench_call_async(tern_handle_t port, tern_handle_t reply_port) {
    constexpr uint64_t kCalls = 1000;
    static uint64_t seq = 0;
    tern_msg msg{};
    tern_msg answer{};
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t total = 0;
        for (uint64_t i = 0; i < kCalls; ++i) {
            ++seq;
            msg.hdr.label = kLabelCall;
            msg.words[0] = seq;
            answer.data = 0;
            answer.data_capacity = 0;
            answer.reserved = 0;
            uint64_t t0 = read_tsc();
            int64_t sent = tern_sys_port_call_async(port, addr(&msg), reply_port, seq);
            int64_t received =
                tern_sys_port_receive(reply_port, addr(&answer), TERN_TIMEOUT_INFINITE);
            uint64_t t1 = read_tsc();
            total += t1 - t0;
            if (!check(sent, "port_call_async") || !check(received, "port_receive")) {
                g_failed = true;
                return 0;
            }
            if (answer.hdr.flags != TERN_MSG_FLAG_ASYNC_REPLY || answer.hdr.sender_badge != seq) {
                tern::println("bench: error: answer {} of an asynchronous call: flags {:#x}, "
                              "cookie {}",
                              seq, answer.hdr.flags, answer.hdr.sender_badge);
                g_failed = true;
                return 0;
            }
            if (!reply_ok(answer, nullptr, 0, seq)) {
                g_failed = true;
                return 0;
            }
        }
        best = base::min(best, total / kCalls);
    }
    return best;
}

constexpr uint32_t kIpcSizes[] = {0, 64, 4096, 16384, 65536};

// Call/reply with the server thread in this task.
bool bench_ipc_same_task() {
    int64_t port = tern_sys_port_create(4);
    if (!check(port, "port_create"))
        return false;
    ThreadJob job{ipc_server, uint64_t(port), 0, 0};
    int64_t thread = start_local_thread(job);
    if (thread < 0)
        return false;
    for (uint32_t bytes : kIpcSizes) {
        uint64_t cost = bench_call_reply(tern_handle_t(port), bytes);
        if (g_failed)
            return false;
        tern::println("ipc.same_task.call_reply_{}: {} instructions", bytes, cost);
    }
    // Closing the only receive right wakes the server with PEER_CLOSED and it exits.
    (void)tern_sys_handle_close(uint64_t(port));
    (void)tern_sys_handle_close(uint64_t(thread));
    return true;
}

// A server thread running `fn` in a clone of this program, on a port whose receive right
// it holds; `send` is this task's send right to it.
struct CloneServer {
    Clone clone;
    int64_t port = -1;
    int64_t send = -1;
    int64_t thread = -1;
};

bool start_clone_server(CloneServer& s, void (*fn)(const ThreadJob*)) {
    s.port = tern_sys_port_create(4);
    if (!check(s.port, "port_create"))
        return false;
    s.send = tern_sys_handle_duplicate(uint64_t(s.port), TERN_RIGHT_SEND);
    if (!check(s.send, "handle_duplicate") || !clone_self(s.clone))
        return false;
    // Handing over the receive right moves it: this task keeps only the send handle.
    int64_t peer_port =
        tern_sys_task_give_handle(s.clone.task, uint64_t(s.port), TERN_RIGHT_RECEIVE);
    if (!check(peer_port, "task_give_handle"))
        return false;
    ThreadJob job{fn, uint64_t(peer_port), 0, 0};
    s.thread = start_clone_thread(s.clone, job);
    return s.thread >= 0;
}

void stop_clone_server(CloneServer& s) {
    if (s.thread >= 0)
        (void)tern_sys_handle_close(uint64_t(s.thread));
    end_clone(s.clone);
    (void)tern_sys_handle_close(uint64_t(s.send));
    (void)tern_sys_handle_close(uint64_t(s.port)); // already moved on success: BAD_HANDLE
}

// The empty round trip with the message in registers, the server in a clone of this
// program on port_reply_receive_regs; returns its cost (0 on failure).
uint64_t bench_ipc_cross_task_regs() {
    CloneServer server;
    uint64_t cost = 0;
    if (start_clone_server(server, ipc_server_regs))
        cost = bench_call_regs(tern_handle_t(server.send));
    stop_clone_server(server);
    return g_failed ? 0 : cost;
}

// Call/reply with the server thread in a clone of this program, answering with
// port_reply + port_receive, or with port_reply_receive when `fast`; returns the cost of
// the empty round trip (0 on failure).
uint64_t bench_ipc_cross_task(bool fast) {
    CloneServer server;
    uint64_t empty = 0;
    if (start_clone_server(server, fast ? ipc_server_reply_receive : ipc_server)) {
        tern_handle_t send = tern_handle_t(server.send);
        for (uint32_t bytes : kIpcSizes) {
            uint64_t cost = bench_call_reply(send, bytes);
            if (g_failed)
                break;
            if (bytes == 0)
                empty = cost;
            // The empty round trip of port_reply_receive is the register pair's
            // (bench_ipc_cross_task_regs); the C-structure one is `_struct`.
            tern::println("ipc.cross_task.call_{}_{}{}: {} instructions",
                          fast ? "replyrecv" : "reply", bytes, fast && bytes == 0 ? "_struct" : "",
                          cost);
        }
        // The same server answering asynchronous calls, on a port of the caller's.
        int64_t reply_port = fast && !g_failed ? tern_sys_port_create(4) : -1;
        if (fast && !g_failed && check(reply_port, "port_create")) {
            uint64_t cost = bench_call_async(send, tern_handle_t(reply_port));
            if (!g_failed)
                tern::println("ipc.cross_task.call_async_0: {} instructions", cost);
            (void)tern_sys_handle_close(uint64_t(reply_port));
        }
    }
    stop_clone_server(server);
    return g_failed ? 0 : empty;
}

// ---- Bulk data by mapping -------------------------------------------------------
//
// The alternative to copying a data part: the sender lends the pages. Here each side keeps
// its data in a memory object and sends a handle to it (MAP and READ); the receiver maps
// it, reads a word of every page (so every page is present, as a copied buffer's are),
// unmaps it and closes the handle. This is what remapping costs when it is done with the
// calls a program has (a handle moved, a mapping made and removed), each way; a remap
// inside the kernel would save the syscalls and the handle but would add a copy-on-write
// fault when the sender writes the lent pages again (design.md section 11). Timed from
// the handle's duplication to the unmapping of the answer, the reply's check excluded.

constexpr uint32_t kLabelMapCall = 0x45434834u; // "ECH4"
constexpr uint32_t kMapSizes[] = {4096, 16384, 65536};
constexpr uint32_t kPageBytes = 4096;
constexpr tern_rights_t kLendRights = TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_TRANSFER;

// Maps `bytes` of `memory` into `task` read-only, reads one word of every page and
// returns the address (or a negative error) and the first word.
int64_t map_and_touch(tern_handle_t task, tern_handle_t memory, uint32_t bytes, uint64_t& first) {
    int64_t at = tern_sys_vm_map_memory(task, memory, 0, 0, bytes, TERN_PROT_READ);
    if (at < 0)
        return at;
    const volatile uint64_t* words = reinterpret_cast<const volatile uint64_t*>(at);
    first = words[0];
    for (uint32_t off = kPageBytes; off < bytes; off += kPageBytes)
        (void)words[off / 8];
    return at;
}

// A memory object of kMaxIpcBytes mapped read-write into `self` (this task); returns its
// handle (or a negative error) and the mapping's address.
int64_t lending_buffer(tern_handle_t self, uint8_t*& data) {
    int64_t memory = tern_sys_memory_create(kMaxIpcBytes, 0);
    if (!check(memory, "memory_create"))
        return memory;
    int64_t at = tern_sys_vm_map_memory(self, tern_handle_t(memory), 0, 0, kMaxIpcBytes,
                                        TERN_PROT_READ | TERN_PROT_WRITE);
    if (!check(at, "vm_map_memory(lending buffer)"))
        return at;
    data = reinterpret_cast<uint8_t*>(at);
    return memory;
}

// The server of the mapping protocol: a call carries words[0] = sequence, words[1] =
// bytes, words[2] = this task's handle to itself, and one memory handle; the answer
// carries the sequence word marked, the size and a handle to the server's reply buffer.
void map_server(const ThreadJob* job) {
    tern_handle_t port = tern_handle_t(job->a);
    uint8_t* reply_data = nullptr;
    int64_t reply_memory = -1;
    tern_msg msg{};
    tern_msg answer{};
    if (tern_sys_port_receive(port, addr(&msg), TERN_TIMEOUT_INFINITE) < 0)
        return;
    // The clone learns its handle to itself from the first call.
    tern_handle_t self = tern_handle_t(msg.words[2]);
    reply_memory = lending_buffer(self, reply_data);
    if (reply_memory < 0)
        return;
    fill_reply_pattern(reply_data);
    for (;;) {
        uint64_t seq = msg.words[0];
        uint32_t bytes = uint32_t(msg.words[1]);
        bool good = msg.hdr.label == kLabelMapCall && msg.hdr.handle_count == 1;
        if (good) {
            uint64_t first = 0;
            int64_t at = map_and_touch(self, msg.handles[0], bytes, first);
            good = at > 0 && first == seq;
            if (at > 0)
                (void)tern_sys_vm_free(uint64_t(at), bytes);
        }
        for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
            (void)tern_sys_handle_close(msg.handles[i]);
        stamp(reply_data, bytes, seq);
        int64_t lent = tern_sys_handle_duplicate(uint64_t(reply_memory), kLendRights);
        answer = tern_msg{};
        answer.hdr.label = good && lent >= 0 ? kLabelReply : kLabelBadCall;
        answer.hdr.handle_count = lent >= 0 ? 1 : 0;
        answer.handles[0] = lent >= 0 ? tern_handle_t(lent) : TERN_INVALID_HANDLE;
        answer.words[0] = seq ^ kReplyMark;
        answer.words[1] = bytes;
        answer.reply_handle = TERN_INVALID_HANDLE;
        tern_handle_t reply = msg.reply_handle;
        msg = tern_msg{};
        if (tern_sys_port_reply_receive(reply, addr(&answer), port, addr(&msg),
                                        TERN_TIMEOUT_INFINITE)
            < 0)
            return;
    }
}

// Round trips of the mapping protocol with `bytes` each way; instructions per round trip,
// or 0 when a call failed or an answer was wrong.
uint64_t bench_call_map(tern_handle_t port, tern_handle_t peer_self, tern_handle_t memory,
                        uint8_t* data, uint32_t bytes) {
    const uint64_t kCalls = bytes > 4096 ? 100 : 1000;
    static uint64_t seq = 0;
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t total = 0;
        for (uint64_t i = 0; i < kCalls; ++i) {
            ++seq;
            stamp(data, bytes, seq);
            tern_msg msg{};
            uint64_t t0 = read_tsc();
            int64_t lent = tern_sys_handle_duplicate(uint64_t(memory), kLendRights);
            msg.hdr.label = kLabelMapCall;
            msg.hdr.handle_count = 1;
            msg.handles[0] = tern_handle_t(lent);
            msg.words[0] = seq;
            msg.words[1] = bytes;
            msg.words[2] = peer_self;
            int64_t result = tern_sys_port_call(port, addr(&msg), TERN_TIMEOUT_INFINITE);
            uint64_t first = 0;
            int64_t at = -TERN_INVALID_ARGUMENT;
            if (result >= 0 && msg.hdr.handle_count == 1)
                at = map_and_touch(tern::self(), msg.handles[0], bytes, first);
            uint64_t t1 = read_tsc();
            // The answer's size travels in words[1]; reply_ok checks it as a data part's.
            msg.hdr.data_size = uint32_t(msg.words[1]);
            if (!check(lent, "handle_duplicate") || !check(result, "port_call")
                || !check(at, "vm_map_memory(answer)")
                || !reply_ok(msg, reinterpret_cast<const uint8_t*>(at), bytes, seq)) {
                g_failed = true;
                return 0;
            }
            uint64_t t2 = read_tsc();
            int64_t freed = tern_sys_vm_free(uint64_t(at), bytes);
            int64_t closed = tern_sys_handle_close(msg.handles[0]);
            uint64_t t3 = read_tsc();
            total += (t1 - t0) + (t3 - t2);
            if (!check(freed, "vm_free") || !check(closed, "handle_close")) {
                g_failed = true;
                return 0;
            }
        }
        best = base::min(best, total / kCalls);
    }
    return best;
}

// The mapping protocol between this task and a clone, at the page-sized data parts.
bool bench_ipc_cross_task_map() {
    uint8_t* data = nullptr;
    int64_t memory = lending_buffer(tern::self(), data);
    if (memory < 0)
        return false;
    for (uint32_t b = 0; b < kMaxIpcBytes; ++b)
        data[b] = request_byte(b);
    CloneServer server;
    if (start_clone_server(server, map_server)) {
        // The clone's handle to itself, once it has a thread to free it.
        int64_t peer_self =
            tern_sys_task_give_handle(server.clone.task, server.clone.task, TERN_RIGHTS_SAME);
        for (uint32_t bytes : kMapSizes) {
            if (!check(peer_self, "task_give_handle(self)"))
                break;
            uint64_t cost = bench_call_map(tern_handle_t(server.send), tern_handle_t(peer_self),
                                           tern_handle_t(memory), data, bytes);
            if (g_failed)
                break;
            tern::println("ipc.cross_task.call_replyrecv_{}_map: {} instructions", bytes, cost);
        }
    }
    stop_clone_server(server);
    (void)tern_sys_handle_close(uint64_t(memory));
    return !g_failed && server.thread >= 0;
}

volatile bool g_yield_started = false;
volatile bool g_yield_stop = false;

void yield_partner(const ThreadJob*) {
    g_yield_started = true;
    while (!g_yield_stop)
        (void)tern_sys_thread_yield();
}

// Two threads of equal priority yield to each other: each yield is one switch.
bool bench_yield_switch() {
    ThreadJob job{yield_partner, 0, 0, 0};
    int64_t thread = start_local_thread(job);
    if (thread < 0)
        return false;
    while (!g_yield_started)
        (void)tern_sys_thread_yield();
    constexpr uint64_t kYields = 2000;
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t t0 = read_tsc();
        for (uint64_t i = 0; i < kYields; ++i)
            (void)tern_sys_thread_yield();
        uint64_t t1 = read_tsc();
        // Every yield of this thread switches to the partner and every yield of the
        // partner switches back: two switches per iteration.
        best = base::min(best, (t1 - t0) / (2 * kYields));
    }
    g_yield_stop = true;
    (void)tern_sys_thread_yield();
    (void)tern_sys_handle_close(uint64_t(thread));
    tern::println("sched.yield_switch: {} instructions", best);
    return true;
}

constexpr uint64_t kFaultPages = 200;

// Runs in the clone: writes one byte to each page of a pager-backed range, round by
// round, and reports each round's TSC delta to the pager's port.
void pager_toucher(const ThreadJob* job) {
    uint64_t base = job->a;
    tern_handle_t port = tern_handle_t(job->b);
    for (int r = 0; r < kRounds; ++r) {
        auto* p = reinterpret_cast<volatile uint8_t*>(
            uintptr_t(base + uint64_t(r) * kFaultPages * kPageSize));
        uint64_t t0 = read_tsc();
        for (uint64_t i = 0; i < kFaultPages; ++i)
            p[i * kPageSize] = 1;
        uint64_t t1 = read_tsc();
        tern_msg msg{};
        msg.hdr.label = kLabelRound;
        msg.words[0] = t1 - t0;
        (void)tern_sys_port_send(port, addr(&msg), TERN_TIMEOUT_INFINITE);
    }
}

// A thread in the clone takes page faults in a region whose pages this task supplies;
// the figure is the whole path per page: fault, message to the pager, receive,
// vm_supply, closing the task handle the message carried, and the resumed access.
bool bench_pager_fault() {
    Clone clone;
    bool ok = false;
    int64_t port = tern_sys_port_create(8);
    if (!check(port, "port_create"))
        return false;
    uint64_t best = ~0ull;
    if (clone_self(clone)) {
        int64_t region = tern_sys_vm_map_pager(clone.task, 0, kRounds * kFaultPages * kPageSize,
                                               TERN_PROT_READ | TERN_PROT_WRITE, uint64_t(port));
        int64_t peer_send = -1;
        if (check(region, "vm_map_pager"))
            peer_send = tern_sys_task_give_handle(clone.task, uint64_t(port), TERN_RIGHT_SEND);
        int64_t thread = -1;
        if (region >= 0 && check(peer_send, "task_give_handle")) {
            ThreadJob job{pager_toucher, uint64_t(region), uint64_t(peer_send), 0};
            thread = start_clone_thread(clone, job);
        }
        alignas(16) static uint8_t page[kPageSize];
        int rounds = 0;
        while (thread >= 0 && rounds < kRounds) {
            tern_msg msg{};
            if (!check(tern_sys_port_receive(uint64_t(port), addr(&msg), TERN_TIMEOUT_INFINITE),
                       "port_receive(pager)"))
                break;
            if (msg.hdr.label == TERN_LABEL_PAGE_FAULT) {
                tern_handle_t task = msg.handles[0];
                uint64_t at = msg.words[0] & ~(kPageSize - 1);
                int64_t supplied = tern_sys_vm_supply(task, at, addr(page));
                (void)tern_sys_handle_close(task);
                if (!check(supplied, "vm_supply"))
                    break;
            } else if (msg.hdr.label == kLabelRound) {
                best = base::min(best, msg.words[0] / kFaultPages);
                ++rounds;
            }
        }
        ok = rounds == kRounds;
        if (thread >= 0)
            (void)tern_sys_handle_close(uint64_t(thread));
    }
    end_clone(clone);
    (void)tern_sys_handle_close(uint64_t(port));
    if (ok)
        tern::println("vm.pager_fault: {} instructions", best);
    return ok;
}

// Write faults on fresh anonymous memory: each maps one zeroed page.
bool bench_demand_zero_fault() {
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        int64_t region =
            tern_sys_vm_allocate(kFaultPages * kPageSize, TERN_PROT_READ | TERN_PROT_WRITE);
        if (!check(region, "vm_allocate"))
            return false;
        auto* p = reinterpret_cast<volatile uint8_t*>(uintptr_t(region));
        uint64_t t0 = read_tsc();
        for (uint64_t i = 0; i < kFaultPages; ++i)
            p[i * kPageSize] = 1;
        uint64_t t1 = read_tsc();
        best = base::min(best, (t1 - t0) / kFaultPages);
        if (!check(tern_sys_vm_free(uint64_t(region), kFaultPages * kPageSize), "vm_free"))
            return false;
    }
    tern::println("vm.demand_zero_fault: {} instructions", best);
    return true;
}

// A send to one member of a port set and the receive on the set, with 1 and with 512
// members (the message goes to a member in the middle): the set keeps its pending
// members on a list, so the two figures should be the same.
bool bench_port_set(uint32_t members) {
    constexpr uint32_t kMaxMembers = 512;
    constexpr uint64_t kMessages = 1000;
    static int64_t ports[kMaxMembers];
    int64_t set = tern_sys_port_create(4);
    if (!check(set, "port_create(set)"))
        return false;
    bool ok = true;
    uint32_t made = 0;
    for (; made < members && ok; ++made) {
        ports[made] = tern_sys_port_create(4);
        ok = check(ports[made], "port_create(member)")
             && check(tern_sys_port_set_add(uint64_t(set), uint64_t(ports[made]), made + 1),
                      "port_set_add");
    }
    uint32_t target = members / 2;
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds && ok; ++r) {
        uint64_t t0 = read_tsc();
        for (uint64_t i = 0; i < kMessages && ok; ++i) {
            tern_msg msg{};
            msg.hdr.label = kLabelCall;
            ok = check(tern_sys_port_send(uint64_t(ports[target]), addr(&msg), 0), "port_send");
            tern_msg in{};
            int64_t key = tern_sys_port_receive(uint64_t(set), addr(&in), 0);
            ok = ok && check(key, "port_receive(set)") && key == target + 1
                 && in.hdr.label == kLabelCall;
        }
        uint64_t t1 = read_tsc();
        best = base::min(best, (t1 - t0) / kMessages);
    }
    for (uint32_t i = 0; i < made; ++i)
        (void)tern_sys_handle_close(uint64_t(ports[i]));
    (void)tern_sys_handle_close(uint64_t(set));
    if (ok)
        tern::println("ipc.port_set.send_receive_{}: {} instructions", members, best);
    else
        tern::println("bench: port set of {} members: a message came back wrong", members);
    return ok;
}

} // namespace

extern "C" int main(uint64_t) {
    uint64_t null_cost = bench_null_syscall();
    tern::println("user.null_syscall: {} instructions", null_cost);

    bool ok = bench_ipc_same_task();
    uint64_t cross = ok ? bench_ipc_cross_task(false) : 0;
    uint64_t fast = cross && bench_ipc_cross_task(true) ? bench_ipc_cross_task_regs() : 0;
    if (fast)
        tern::println("ipc.cross_task.call_replyrecv_0: {} instructions", fast);
    ok = ok && cross != 0 && fast != 0 && bench_ipc_cross_task_map() && bench_yield_switch()
         && bench_pager_fault() && bench_demand_zero_fault() && bench_port_set(1)
         && bench_port_set(512);
    if (!ok) {
        tern::println("bench: stopped after a failure");
        return 1;
    }

    // How many null syscalls one cross-task round trip costs, with two decimals in
    // integer arithmetic (rounded to nearest).
    uint64_t divisor = null_cost == 0 ? 1 : null_cost;
    uint64_t hundredths = (cross * 100 + divisor / 2) / divisor;
    tern::println("ipc.ratio_call_reply_to_null_syscall: {}.{:02} ratio", hundredths / 100,
                  hundredths % 100);
    hundredths = (fast * 100 + divisor / 2) / divisor;
    tern::println("ipc.ratio_call_replyrecv_to_null_syscall: {}.{:02} ratio", hundredths / 100,
                  hundredths % 100);
    return 0;
}

// The kernel-ABI test harness (harness.h): reporting, jobs and child tasks.
#include "harness.h"

#include <tern/ipc_regs.h>

static_assert(TERN_SYS_task_exit == 3, "the assembly entry points below exit with syscall 3");

asm(R"(
    .text
    .globl ktest_child_start
    .type ktest_child_start, @function
ktest_child_start:
    xorl %ebp, %ebp
    call ktest_child_main
    ud2
    .size ktest_child_start, . - ktest_child_start

    .globl ktest_thread_start
    .type ktest_thread_start, @function
ktest_thread_start:
    xorl %ebp, %ebp
    call ktest_thread_main
    ud2
    .size ktest_thread_start, . - ktest_thread_start

    .globl ktest_child_ud2
    .globl ktest_child_ud2_resume
    .type ktest_child_ud2, @function
ktest_child_ud2:
    ud2
ktest_child_ud2_resume:
    xorl %edi, %edi
    movl $3, %eax
    syscall
    ud2
    .size ktest_child_ud2, . - ktest_child_ud2

    .globl ktest_child_spin
    .globl ktest_child_spin_loop
    .globl ktest_child_spin_end
    .type ktest_child_spin, @function
ktest_child_spin:
    xorl %ebx, %ebx
    pxor %xmm0, %xmm0
ktest_child_spin_loop:
    pause
    testq %rbx, %rbx
    jz ktest_child_spin_loop
ktest_child_spin_end:
    movq %xmm0, %rdi
    xorq %rbx, %rdi
    movl $3, %eax
    syscall
    ud2
    .size ktest_child_spin, . - ktest_child_spin
)");

namespace abi {

// ---- Reporting ------------------------------------------------------------------------

namespace {
const char* g_program = "abi";
int g_checks = 0;
int g_failures = 0;
int g_skipped = 0;
} // namespace

void begin(const char* program) {
    g_program = program;
    g_checks = g_failures = g_skipped = 0;
    tern::println("{}: start", program);
}

int finish() {
    tern::println("{}: {} of {} checks passed, {} failed, {} skipped", g_program,
                  g_checks - g_failures, g_checks, g_failures, g_skipped);
    return g_failures == 0 && g_checks > 0 ? 0 : 1;
}

void report(bool ok, const char* name, const char* detail) {
    ++g_checks;
    if (ok) {
        tern::println("{}: ok {}", g_program, name);
        return;
    }
    ++g_failures;
    tern::println("{}: FAILED {}: {}", g_program, name, detail);
}

void skip(const char* name, const char* why) {
    ++g_skipped;
    tern::println("{}: skipped {}: {}", g_program, name, why);
}

void describe(char* out, size_t size, int64_t value) {
    if (value < 0 && base::is_known_error(-value))
        base::format(out, size, "{} ({})", value,
                     base::error_name(static_cast<base::Error>(static_cast<int32_t>(-value))));
    else
        base::format(out, size, "{} ({:#x})", value, static_cast<uint64_t>(value));
}

const uint64_t kReadOnlyWords[64] = {0x5EA1ED, 0x5EA1ED, 0x5EA1ED};

// ---- Threads of this task -------------------------------------------------------------

int64_t start_job(Job& j, int64_t (*fn)(Job&), uint64_t stack_top, uint64_t priority) {
    j.fn = fn;
    j.counter = 0;
    j.stop = 0;
    j.started = 0;
    j.done = 0;
    j.result = 0;
    j.stack = 0;
    if (stack_top == 0) {
        j.stack = vm_allocate(kJobStack);
        if (j.stack < 0)
            return j.stack;
        stack_top = static_cast<uint64_t>(j.stack) + kJobStack;
    }
    j.thread = tern_sys_thread_create(ptr(reinterpret_cast<void*>(&ktest_thread_start)), stack_top,
                                      ptr(&j), priority);
    if (j.thread < 0) {
        vm_free(j.stack, kJobStack);
        j.stack = 0;
    }
    return j.thread;
}

bool job_done(const Job& j) { return __atomic_load_n(&j.done, __ATOMIC_ACQUIRE) != 0; }

// Waits for the job's thread to finish, then frees its stack and handle.
bool join_job(Job& j, uint64_t timeout) {
    if (j.thread <= 0)
        return false;
    uint64_t deadline = now_ns() + timeout;
    while (!job_done(j)) {
        if (now_ns() > deadline)
            return false;
        sleep_ms(1);
    }
    // The thread stores `done` and then makes the thread_exit syscall without touching
    // its stack; the sleep lets it get that far before the stack goes away.
    sleep_ms(1);
    vm_free(j.stack, kJobStack);
    j.stack = 0;
    close(j.thread);
    j.thread = 0;
    return true;
}

int64_t job_spin(Job& j) {
    while (!j.stop)
        j.counter = j.counter + 1;
    return 0;
}

int64_t job_block_on_port(Job& j) {
    tern_msg m{};
    return tern_sys_port_receive(j.a, ptr(&m), TERN_TIMEOUT_INFINITE);
}

int64_t job_server(Job& j) {
    for (uint64_t i = 0; i < j.c; ++i) {
        tern_msg m{};
        int64_t r = tern_sys_port_receive(j.a, ptr(&m), kLong);
        if (r < 0)
            return r;
        if (!(m.hdr.flags & TERN_MSG_FLAG_CALL) || m.reply_handle == 0)
            return -TERN_CORRUPT;
        if (j.b == 1) {
            (void)tern_sys_handle_close(m.reply_handle);
            continue;
        }
        tern_msg answer = make_msg(m.hdr.label + 1, m.words[0] * 3 + 1);
        r = tern_sys_port_reply(m.reply_handle, ptr(&answer));
        if (r < 0)
            return r;
        j.counter = j.counter + 1;
    }
    return 0;
}

int64_t job_caller(Job& j) {
    tern_msg m = make_msg(50, j.a);
    int64_t r = tern_sys_port_call(j.b, ptr(&m), kLong);
    if (r < 0)
        return r;
    for (uint32_t i = 0; i < m.hdr.handle_count; ++i)
        (void)tern_sys_handle_close(m.handles[i]);
    return static_cast<int64_t>(m.words[0]);
}

// ---- Child tasks ----------------------------------------------------------------------

volatile uint64_t g_child_param = 1;

namespace {

// kChildServeReverse: the calls a child holds before it answers them (in .bss, which a
// clone gets a copy of).
constexpr uint64_t kMaxHeldCalls = 1000;
tern_handle_t g_held_replies[kMaxHeldCalls];
uint32_t g_held_labels[kMaxHeldCalls];
uint64_t g_held_words[kMaxHeldCalls];

int64_t serve_reverse(uint64_t h, uint64_t count) {
    if (count > kMaxHeldCalls)
        return 0x800;
    for (uint64_t i = 0; i < count; ++i) {
        tern_msg m{};
        int64_t r = tern_sys_port_receive(h, ptr(&m), kLong);
        if (r < 0)
            return 0x900 - r;
        if (!(m.hdr.flags & TERN_MSG_FLAG_CALL) || m.reply_handle == 0)
            return 0x880;
        g_held_replies[i] = m.reply_handle;
        g_held_labels[i] = m.hdr.label;
        g_held_words[i] = m.words[0];
    }
    for (uint64_t i = count; i-- > 0;) {
        tern_msg answer = make_msg(g_held_labels[i] + 1, g_held_words[i] * 3 + 1);
        if (tern_sys_port_reply(g_held_replies[i], ptr(&answer)) < 0)
            return 0x881;
    }
    return static_cast<int64_t>(count);
}

int64_t child_run(uint32_t mode, uint64_t h, uint64_t param) {
    switch (mode) {
    case kChildExitParam:
        return static_cast<int64_t>(param);
    case kChildCall: {
        tern_msg m = make_msg(1, param);
        int64_t r = tern_sys_port_call(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        return r < 0 ? 0x300 - r : static_cast<int64_t>(m.words[0]);
    }
    case kChildCallSleepCall: {
        tern_msg m = make_msg(1, 1);
        int64_t r = tern_sys_port_call(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        if (r < 0)
            return 0x700 - r;
        sleep_ms(param);
        m = make_msg(2, 2);
        r = tern_sys_port_call(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        return r < 0 ? 0x780 - r : static_cast<int64_t>(m.words[0]);
    }
    case kChildCallTwice: {
        tern_msg m = make_msg(1, 1);
        int64_t r = tern_sys_port_call(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        if (r != -TERN_INTERRUPTED)
            return 0x400 + (r < 0 ? -r : 0x80);
        m = make_msg(2, 2);
        r = tern_sys_port_call(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        return r < 0 ? 0x500 - r : static_cast<int64_t>(m.words[0]);
    }
    case kChildCallRegsTwice: {
        tern_reg_msg m{};
        m.label = 1;
        m.words[0] = 1;
        int64_t r = tern_call_regs(h, &m, TERN_TIMEOUT_INFINITE, nullptr);
        if (r != -TERN_INTERRUPTED)
            return 0x400 + (r < 0 ? -r : 0x80);
        m = tern_reg_msg{};
        m.label = 2;
        m.words[0] = 2;
        r = tern_call_regs(h, &m, TERN_TIMEOUT_INFINITE, nullptr);
        return r < 0 ? 0x500 - r : static_cast<int64_t>(m.words[0]);
    }
    case kChildServe: {
        int64_t served = 0;
        for (;;) {
            tern_msg m{};
            int64_t r = tern_sys_port_receive(h, ptr(&m), TERN_TIMEOUT_INFINITE);
            if (r < 0)
                return 0x600 - r;
            if (m.hdr.label == 0)
                return served;
            if (m.reply_handle) {
                tern_msg answer = make_msg(m.hdr.label, m.words[0] * 2 + 1);
                if (tern_sys_port_reply(m.reply_handle, ptr(&answer)) < 0)
                    return 0x680;
                ++served;
            }
        }
    }
    case kChildReadParam:
        return static_cast<int64_t>(*reinterpret_cast<volatile uint64_t*>(param) & 0x7FFFFFFF);
    case kChildProtectWrite: {
        int64_t p = tern_sys_vm_allocate(kPage, TERN_PROT_READ | TERN_PROT_WRITE);
        if (p < 0)
            return 0x700;
        *reinterpret_cast<volatile uint64_t*>(p) = 1;
        if (tern_sys_vm_protect(static_cast<uint64_t>(p), kPage, TERN_PROT_READ) < 0)
            return 0x701;
        if (*reinterpret_cast<volatile uint64_t*>(p) != 1)
            return 0x702;
        *reinterpret_cast<volatile uint64_t*>(p) = 2; // must fault
        return 0x703;
    }
    case kChildFreeTouch: {
        int64_t p = tern_sys_vm_allocate(kPage, TERN_PROT_READ | TERN_PROT_WRITE);
        if (p < 0)
            return 0x710;
        *reinterpret_cast<volatile uint64_t*>(p) = 1;
        if (tern_sys_vm_free(static_cast<uint64_t>(p), kPage) < 0)
            return 0x711;
        return static_cast<int64_t>(0x712 + *reinterpret_cast<volatile uint64_t*>(p)); // faults
    }
    case kChildHold: {
        tern_msg m{};
        (void)tern_sys_port_receive(h, ptr(&m), TERN_TIMEOUT_INFINITE);
        for (;;)
            (void)tern_sys_thread_sleep(kSecond);
    }
    case kChildSleep:
        for (;;)
            (void)tern_sys_thread_sleep(kSecond);
    case kChildServeReverse:
        return serve_reverse(h, param);
    }
    return 0x7FF;
}

} // namespace

int64_t copy_segment(uint64_t task, uint64_t start, uint64_t end, uint32_t prot) {
    if (end <= start)
        return 0;
    int64_t r = tern_sys_task_vm_allocate(task, start, end - start, prot);
    if (r < 0)
        return r;
    if (static_cast<uint64_t>(r) != start)
        return -TERN_CORRUPT;
    for (uint64_t at = start; at < end; at += kMaxTransfer) {
        uint64_t n = end - at < kMaxTransfer ? end - at : kMaxTransfer;
        r = tern_sys_task_vm_write(task, at, at, n);
        if (r < 0)
            return r;
    }
    return 0;
}

// Builds a clone of this program (see the file comment). Reports one check; on failure
// everything made so far is released.
bool clone_child(Child& c, const char* what, const CloneOptions& o) {
    c = Child{};
    int64_t r = 0;
    const char* step = "task_create";
    uint64_t text = ptr(__user_image_start);
    uint64_t rodata = page_up(ptr(__text_end));
    uint64_t data = page_up(ptr(__rodata_end));
    uint64_t end = page_up(ptr(__user_image_end));
    uint64_t param = o.param;
    do {
        c.task = tern_sys_task_create(ptr("kchild"), 6);
        if ((r = c.task) < 0)
            break;
        step = "copy text";
        if ((r = copy_segment(c.task, text, rodata, TERN_PROT_READ | TERN_PROT_EXEC)) < 0)
            break;
        step = "copy rodata";
        if ((r = copy_segment(c.task, rodata, data, TERN_PROT_READ)) < 0)
            break;
        step = "copy data";
        if ((r = copy_segment(c.task, data, end, TERN_PROT_READ | TERN_PROT_WRITE)) < 0)
            break;
        step = "stack";
        r = tern_sys_task_vm_allocate(c.task, 0, 64 * 1024, TERN_PROT_READ | TERN_PROT_WRITE);
        if (r < 0)
            break;
        c.stack_top = static_cast<uint64_t>(r) + 64 * 1024;
        step = "param";
        if ((r = tern_sys_task_vm_write(c.task, ptr(const_cast<uint64_t*>(&g_child_param)),
                                        ptr(&param), sizeof(param)))
            < 0)
            break;
        uint64_t handle = 0;
        if (o.give) {
            step = "give_handle";
            c.given = tern_sys_task_give_handle(c.task, o.give, o.give_rights);
            if ((r = c.given) < 0)
                break;
            handle = static_cast<uint64_t>(c.given);
        }
        if (o.exception_port) {
            step = "exception_port";
            if ((r = tern_sys_task_set_exception_port(c.task, o.exception_port)) < 0)
                break;
        }
        step = "task_thread_create";
        uint64_t entry = o.entry ? o.entry : ptr(reinterpret_cast<void*>(&ktest_child_start));
        c.arg = (static_cast<uint64_t>(o.mode) << 32) | handle;
        c.thread = tern_sys_task_thread_create(c.task, entry, c.stack_top, c.arg);
        if ((r = c.thread) < 0)
            break;
        if (o.start) {
            step = "thread_resume";
            if ((r = tern_sys_thread_resume(c.thread)) < 0)
                break;
        }
        r = 0;
    } while (false);
    char name[96];
    base::format(name, sizeof(name), "clone.{}", what);
    char detail[96], v[48];
    describe(v, sizeof(v), r);
    base::format(detail, sizeof(detail), "{} failed: {}", step, v);
    report(r >= 0, name, detail);
    if (r < 0) {
        if (c.task > 0) {
            (void)tern_sys_task_kill(c.task, TERN_EXIT_KILLED);
            close(c.task);
        }
        close(c.thread);
        c = Child{};
        return false;
    }
    return true;
}

void release_child(Child& c) {
    if (c.task > 0) {
        (void)tern_sys_task_kill(c.task, TERN_EXIT_KILLED);
        (void)tern_sys_task_wait(c.task, kLong);
    }
    close(c.thread);
    close(c.task);
    c = Child{};
}
} // namespace abi

using namespace abi;

extern "C" void ktest_thread_main(uint64_t arg) {
    Job& j = *reinterpret_cast<Job*>(arg);
    j.started = 1;
    int64_t r = j.fn(j);
    j.result = r;
    __atomic_store_n(&j.done, 1, __ATOMIC_RELEASE);
    (void)tern_sys_thread_exit(0);
    __builtin_trap();
}

extern "C" void ktest_child_main(uint64_t arg) {
    int64_t status = child_run(static_cast<uint32_t>(arg >> 32), arg & 0xFFFFFFFFu, g_child_param);
    (void)tern_sys_task_exit(static_cast<uint64_t>(status));
    __builtin_trap();
}

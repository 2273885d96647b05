// System call entry: the dispatch generated from the ABI's syscall table. Each call's
// registers are decoded into its handler's parameter types (kernel/syscalls/arguments.h)
// here, once; the handler's result becomes RAX here, the one place where an error turns
// into the negative status of the ABI.
#include <base/error.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/core/log.h>
#include <kernel/object/task.h>
#include <kernel/object/thread.h>
#include <kernel/syscalls/dispatch.h>
#include <kernel/syscalls/handlers.h>
#include <tern/abi/syscalls.h>

extern "C" void syscall_entry();

namespace kernel {

using namespace x86_64;

namespace {

uint64_t g_syscall_counts[TERN_SYSCALL_COUNT];
uint64_t g_unknown_syscalls = 0;

// Argument register i of a syscall (RDI, RSI, RDX, R10, R8, R9). Each is read only by
// the calls that take it.
template<size_t I>
[[gnu::always_inline]] inline uint64_t argument_register(const TrapFrame* f) {
    static_assert(I < 6, "a syscall has at most six argument registers");
    if constexpr (I == 0)
        return f->rdi;
    else if constexpr (I == 1)
        return f->rsi;
    else if constexpr (I == 2)
        return f->rdx;
    else if constexpr (I == 3)
        return f->r10;
    else if constexpr (I == 4)
        return f->r8;
    else
        return f->r9;
}

// The registers [I, I + N) of a call, for an argument type that takes N of them.
template<size_t I, size_t N>
struct Registers {
    uint64_t values[N];
    [[gnu::always_inline]] explicit Registers(const TrapFrame* f) { fill<0>(f); }
    template<size_t K>
    [[gnu::always_inline]] void fill(const TrapFrame* f) {
        if constexpr (K < N) {
            values[K] = argument_register<I + K>(f);
            fill<K + 1>(f);
        }
    }
};

// Decodes the parameters of a handler from consecutive registers, left to right, and
// calls it; the first argument that does not decode is the call's error.
template<size_t I, typename... Params>
struct Decoder;

template<size_t I>
struct Decoder<I> {
    static constexpr size_t kRegisters = 0;
    template<typename Handler, typename... Decoded>
    [[gnu::always_inline]] static SyscallResult call(Handler handler, const TrapFrame*,
                                                     Decoded&&... decoded) {
        return handler(static_cast<Decoded&&>(decoded)...);
    }
};

template<size_t I, typename First, typename... Rest>
struct Decoder<I, First, Rest...> {
    using Argument = SyscallArgument<base::remove_cvref_t<First>>;
    using Next = Decoder<I + Argument::kRegisters, Rest...>;
    static constexpr size_t kRegisters = Argument::kRegisters + Next::kRegisters;
    template<typename Handler, typename... Decoded>
    [[gnu::always_inline]] static SyscallResult call(Handler handler, const TrapFrame* f,
                                                     Decoded&&... decoded) {
        Registers<I, Argument::kRegisters> registers(f);
        auto value = Argument::decode(registers.values);
        if (value.is_error()) [[unlikely]]
            return value.error();
        return Next::call(handler, f, static_cast<Decoded&&>(decoded)..., value.release_value());
    }
};

template<typename... Params>
constexpr size_t registers_of(SyscallResult (*)(Params...)) {
    return Decoder<0, Params...>::kRegisters;
}

// The value RAX carries back: the result, or the negated status of its error.
[[gnu::always_inline]] inline int64_t to_rax(const SyscallResult& result) {
    if (result.is_error()) [[unlikely]]
        return base::to_syscall_return(result.error());
    return int64_t(result.value());
}

template<typename... Params>
[[gnu::always_inline]] inline int64_t invoke(SyscallResult (*handler)(Params...),
                                             const TrapFrame* f) {
    return to_rax(Decoder<0, Params...>::call(handler, f));
}

// One call: its handler. (The register pair has tried its fast path before the dispatch,
// from the entry: syscall_fast_call_regs below.)
template<uint32_t Number, typename... Params>
[[gnu::always_inline]] inline int64_t dispatch_one(SyscallResult (*handler)(Params...),
                                                   TrapFrame* f) {
    return invoke(handler, f);
}

// The entry (context.S) tests these numbers before it calls anything.
static_assert(TERN_SYS_port_call_regs == 74 && TERN_SYS_port_reply_receive_regs == 75,
              "context.S's syscall_entry sends 74 and 75 to the register fast path");

// The table's argument counts and the handlers' parameters must agree.
#define TERN_X_SYSCALL_CHECK(num, name, argc)                                                      \
    static_assert(registers_of(&sys_##name) == (argc),                                             \
                  "sys_" #name ": its parameters do not take the table's argument count");
TERN_ENUMERATE_SYSCALLS(TERN_X_SYSCALL_CHECK)
#undef TERN_X_SYSCALL_CHECK

} // namespace

void syscall_init() {
    wrmsr(kMsrEfer, rdmsr(kMsrEfer) | 1); // SCE
    wrmsr(kMsrStar, (uint64_t(0x10) << 48) | (uint64_t(kKernelCs) << 32));
    wrmsr(kMsrLstar, reinterpret_cast<uint64_t>(&syscall_entry));
    // Clear IF (the kernel is not preemptible inside a syscall), TF, DF, AC (SMAP), NT.
    wrmsr(kMsrSfmask, 0x200 | 0x100 | 0x400 | 0x40000 | 0x4000);
}

uint64_t syscall_count(uint32_t number) {
    return number < TERN_SYSCALL_COUNT ? g_syscall_counts[number] : g_unknown_syscalls;
}

} // namespace kernel

using namespace kernel;

namespace {

// Every syscall's way back (RAX is in the frame): a reschedule when one is due, the
// checks of a return to user mode, and how to leave: 1 through IRETQ, 0 through SYSRET.
[[gnu::always_inline]] inline uint64_t syscall_leave(const TrapFrame* f) {
    if (need_resched())
        yield();
    on_return_to_user();
    Thread* t = current_thread();
    // SYSRET to a non-canonical RIP would fault in ring 0 with the user's stack, and it
    // cannot restore RCX and R11: leave through IRETQ when the return address is not a
    // plain user address or a controller rewrote the registers.
    bool iret = t->m_force_iret || !is_user_address(f->rip);
    t->m_force_iret = false;
    return iret ? 1 : 0;
}

} // namespace

extern "C" uint64_t syscall_dispatch(TrapFrame* f) {
    uint64_t number = f->rax;
    int64_t result;
    switch (number) {
#define TERN_X_SYSCALL_CASE(num, name, argc)                                                       \
    case num:                                                                                      \
        ++g_syscall_counts[num];                                                                   \
        result = dispatch_one<num>(&sys_##name, f);                                                \
        break;
        TERN_ENUMERATE_SYSCALLS(TERN_X_SYSCALL_CASE)
#undef TERN_X_SYSCALL_CASE
    default:
        if (g_unknown_syscalls++ < 8)
            log::warn("syscall: task {} called unknown syscall {}", current_thread()->task()->id(),
                      number);
        result = base::to_syscall_return(base::Error::NOT_SUPPORTED);
        break;
    }
    f->rax = uint64_t(result);
    return syscall_leave(f);
}

// The register pair's entry (context.S): its fast path on the frame as it came, else the
// dispatch, which runs the handler. The same return value as syscall_dispatch.
extern "C" uint64_t syscall_fast_call_regs(TrapFrame* f) {
    if (!fastpath_call_regs(*f)) [[unlikely]]
        return syscall_dispatch(f);
    ++g_syscall_counts[TERN_SYS_port_call_regs];
    return syscall_leave(f);
}

extern "C" uint64_t syscall_fast_reply_receive_regs(TrapFrame* f) {
    if (!fastpath_reply_receive_regs(*f)) [[unlikely]]
        return syscall_dispatch(f);
    ++g_syscall_counts[TERN_SYS_port_reply_receive_regs];
    return syscall_leave(f);
}

// Tern's musl port: the pure rules of signals (see signals.h).
#include <libc/musl/portable/process.h>
#include <libc/musl/portable/signals.h>

namespace {

// Linux's numbers and flags (x86-64), spelled out: this file sees no musl header.
constexpr long kSigKill = 9, kSigChld = 17, kSigCont = 18, kSigStop = 19, kSigTstp = 20,
               kSigTtin = 21, kSigTtou = 22, kSigUrg = 23, kSigWinch = 28;
constexpr unsigned long kSaNoDefer = 0x40000000, kSaResetHand = 0x80000000;
constexpr int kCldExited = 1, kCldKilled = 2;
// si_code values of faults, and the vectors they come from.
constexpr int kSiKernel = 0x80, kSegvMapErr = 1, kSegvAccErr = 2, kBusAdrAln = 1, kIllIllOpn = 2,
              kFpeIntDiv = 1;
constexpr uint64_t kVecDivide = 0, kVecInvalidOpcode = 6, kVecPageFault = 14, kVecAlignment = 17;

static_assert(sizeof(tern_libc_signal_frame) == TERN_LIBC_SIGNAL_FRAME_SIZE);
static_assert(__builtin_offsetof(tern_libc_signal_frame, rflags) == TERN_LIBC_SIGNAL_FRAME_RESTORE);
// After popping rflags and the 15 registers, RSP is at rip; `ret $128` then leaves RSP at
// the interrupted one: rip's slot is red zone + 8 below it.
static_assert(TERN_LIBC_SIGNAL_FRAME_SIZE - __builtin_offsetof(tern_libc_signal_frame, rip) == 8);

} // namespace

extern "C" {

uint64_t tern_libc_signal_frame_at(uint64_t rsp) {
    return rsp - TERN_LIBC_RED_ZONE - TERN_LIBC_SIGNAL_FRAME_SIZE;
}

uint64_t tern_libc_signal_bit(long signal) {
    return signal >= 1 && signal <= TERN_LIBC_SIGNAL_COUNT ? uint64_t(1) << (signal - 1) : 0;
}

uint64_t tern_libc_signal_unblockable(void) {
    return tern_libc_signal_bit(kSigKill) | tern_libc_signal_bit(kSigStop);
}

int tern_libc_signal_default(long signal) {
    switch (signal) {
    case kSigChld:
    case kSigUrg:
    case kSigWinch:
        return TERN_LIBC_SIGNAL_IGNORE;
    case kSigCont:
        return TERN_LIBC_SIGNAL_CONTINUE;
    case kSigStop:
    case kSigTstp:
    case kSigTtin:
    case kSigTtou:
        return TERN_LIBC_SIGNAL_STOP;
    default:
        return TERN_LIBC_SIGNAL_TERMINATE;
    }
}

long tern_libc_signal_next(uint64_t pending, uint64_t blocked) {
    uint64_t ready = pending & ~(blocked & ~tern_libc_signal_unblockable());
    return ready ? __builtin_ctzll(ready) + 1 : 0;
}

int tern_libc_signal_mask(int how, uint64_t old, uint64_t set, uint64_t* out) {
    uint64_t mask = 0;
    switch (how) {
    case 0:
        mask = old | set;
        break;
    case 1:
        mask = old & ~set;
        break;
    case 2:
        mask = set;
        break;
    default:
        return -1;
    }
    *out = mask & ~tern_libc_signal_unblockable();
    return 0;
}

uint64_t tern_libc_signal_handler_mask(uint64_t blocked, uint64_t action_mask, unsigned long flags,
                                       long signal) {
    uint64_t mask = blocked | action_mask;
    if (!(flags & kSaNoDefer))
        mask |= tern_libc_signal_bit(signal);
    return mask & ~tern_libc_signal_unblockable();
}

int tern_libc_signal_resets(unsigned long flags) { return (flags & kSaResetHand) != 0; }

uint64_t tern_libc_signal_stops(void) {
    return tern_libc_signal_bit(kSigStop) | tern_libc_signal_bit(kSigTstp)
           | tern_libc_signal_bit(kSigTtin) | tern_libc_signal_bit(kSigTtou);
}

uint64_t tern_libc_signal_pend(uint64_t pending, long signal) {
    if (signal == kSigCont)
        pending &= ~tern_libc_signal_stops();
    else if (tern_libc_signal_bit(signal) & tern_libc_signal_stops())
        pending &= ~tern_libc_signal_bit(kSigCont);
    return pending | tern_libc_signal_bit(signal);
}

uint64_t tern_libc_signal_job_word(uint64_t defaults, uint64_t blocked, int no_child_stop) {
    uint64_t word =
        defaults & tern_libc_signal_stops() & ~(blocked & ~tern_libc_signal_unblockable());
    return word | (no_child_stop ? uint64_t(1) << 63 : 0);
}

void tern_libc_signal_child_info(int64_t status, int* code, int* child_status) {
    int wait_status = tern_libc_wait_status(status);
    if ((wait_status & 0x7f) == 0) { // WIFEXITED
        *code = kCldExited;
        *child_status = (wait_status >> 8) & 0xff;
    } else {
        *code = kCldKilled; // no core dumps: Linux's CLD_KILLED with core files off
        *child_status = wait_status & 0x7f;
    }
}

long tern_libc_signal_of_fault(uint64_t vector, uint64_t error_code, uint64_t address, uint64_t rip,
                               int* code, uint64_t* fault_addr) {
    long signal = tern_libc_signal_of_vector(vector);
    *code = kSiKernel;
    *fault_addr = 0;
    switch (vector) {
    case kVecDivide:
        *code = kFpeIntDiv;
        *fault_addr = rip;
        break;
    case kVecInvalidOpcode:
        *code = kIllIllOpn;
        *fault_addr = rip;
        break;
    case kVecAlignment:
        *code = kBusAdrAln;
        *fault_addr = address;
        break;
    case kVecPageFault:
        *code = (error_code & 1) ? kSegvAccErr : kSegvMapErr;
        *fault_addr = address;
        break;
    default:
        break;
    }
    return signal;
}

} // extern "C"

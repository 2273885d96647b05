// Tern's musl port: the pure rules of processes (see process.h).
#include <libc/musl/portable/process.h>

namespace {

// Linux signal numbers (x86-64), spelled out: this file sees no musl header.
constexpr int kSigHup = 1, kSigTrap = 5, kSigIll = 4, kSigBus = 7, kSigFpe = 8, kSigKill = 9,
              kSigSegv = 11, kSigChld = 17, kSigCont = 18, kSigStop = 19, kSigTstp = 20,
              kSigTtin = 21, kSigTtou = 22, kSigUrg = 23, kSigWinch = 28;
constexpr long kMaxSignal = 64;

} // namespace

extern "C" {

int tern_libc_signal_of_vector(uint64_t vector) {
    switch (vector) {
    case 0:  // divide error
    case 16: // x87 floating point
    case 19: // SIMD floating point
        return kSigFpe;
    case 1: // debug
    case 3: // breakpoint
        return kSigTrap;
    case 6: // invalid opcode
        return kSigIll;
    case 12: // stack segment
    case 17: // alignment check
        return kSigBus;
    default:
        return kSigSegv;
    }
}

int tern_libc_wait_status(int64_t status) {
    if (status >= 0 && status <= 255) {
        if (status >= TERN_LIBC_FIRST_SIGNAL_STATUS && status <= TERN_LIBC_LAST_SIGNAL_STATUS)
            return int(status - 128); // WIFSIGNALED, WTERMSIG = N
        return int(status) << 8;      // WIFEXITED, WEXITSTATUS
    }
    if (status >= 256 && status < 512)
        return tern_libc_signal_of_vector(uint64_t(status - 256));
    return kSigKill;
}

int tern_libc_kill_action(long signal) {
    if (signal < 0 || signal > kMaxSignal)
        return TERN_LIBC_KILL_INVALID;
    switch (signal) {
    case 0:
    case kSigChld:
    case kSigCont:
    case kSigUrg:
    case kSigWinch:
        return TERN_LIBC_KILL_NOTHING;
    case kSigStop:
    case kSigTstp:
    case kSigTtin:
    case kSigTtou:
        return TERN_LIBC_KILL_STOP;
    default:
        return TERN_LIBC_KILL_END;
    }
}

int64_t tern_libc_kill_status(long signal) {
    if (signal >= kSigHup && signal <= TERN_LIBC_LAST_SIGNAL_STATUS - 128)
        return 128 + signal;
    return 128 + kSigKill;
}

uint64_t tern_libc_global_pid(uint64_t self, long pid) {
    if (pid <= 0 || uint64_t(pid) > 0xFFFFFFFFull)
        return 0;
    return (self & ~0xFFFFFFFFull) | uint64_t(pid);
}

} // extern "C"

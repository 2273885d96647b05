/*
 * Tern's musl port: the pure rules of signals (backend_signal.c): what a signal's default
 * action is, which pending signal goes first, how sigprocmask and a handler change the
 * mask, what SIGCHLD's siginfo says of an ended child, and the frame proc writes on a
 * thread's stack to deliver one (tern/protocols/proc.h, SignalFrame).
 *
 * Masks are Linux's: bit N - 1 for signal N (1..64). SIGKILL and SIGSTOP can be neither
 * blocked, caught nor ignored.
 *
 * Valid C and C++: the backend is C, the host unit tests (libc_signals_test.cpp) are C++.
 */
#ifndef TERN_LIBC_MUSL_SIGNALS_H
#define TERN_LIBC_MUSL_SIGNALS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_LIBC_SIGNAL_COUNT 64

/* The frame proc writes below a thread's red zone; the entry pops from `rflags` on and
 * returns with `ret $128` to `rip`, which ends 136 bytes below the interrupted RSP. */
struct tern_libc_signal_frame {
    uint64_t signo;
    int64_t code;
    uint64_t sender; /* global pid */
    int64_t status;  /* SIGCHLD: the child's exit status as proc reports it */
    uint64_t rsp;
    uint64_t fault; /* 0 for a signal; 1 + the vector for a CPU exception (below) */
    uint64_t rflags;
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t rip;
};
#define TERN_LIBC_SIGNAL_FRAME_SIZE 184
#define TERN_LIBC_SIGNAL_FRAME_RESTORE 48 /* offset of rflags */
#define TERN_LIBC_RED_ZONE 128

/* Where the frame for a thread interrupted at rsp goes. */
uint64_t tern_libc_signal_frame_at(uint64_t rsp);

/* The bit of a signal in a mask; 0 for a number outside 1..64. */
uint64_t tern_libc_signal_bit(long signal);
/* SIGKILL and SIGSTOP. */
uint64_t tern_libc_signal_unblockable(void);

/* What a signal nobody catches does. */
enum tern_libc_signal_default {
    TERN_LIBC_SIGNAL_TERMINATE = 0,
    TERN_LIBC_SIGNAL_IGNORE = 1,
    TERN_LIBC_SIGNAL_STOP = 2,
    TERN_LIBC_SIGNAL_CONTINUE = 3,
};
int tern_libc_signal_default(long signal);

/* The next pending signal that is not blocked (the lowest number first, as Linux takes
 * the standard signals), or 0. */
long tern_libc_signal_next(uint64_t pending, uint64_t blocked);

/* sigprocmask: the new mask from how (SIG_BLOCK 0, SIG_UNBLOCK 1, SIG_SETMASK 2) and set;
 * SIGKILL and SIGSTOP never blocked. -1 for an unknown how. */
int tern_libc_signal_mask(int how, uint64_t old, uint64_t set, uint64_t* out);

/* The mask while a handler runs: the old one, the action's sa_mask, and the signal
 * itself unless SA_NODEFER. */
uint64_t tern_libc_signal_handler_mask(uint64_t blocked, uint64_t action_mask, unsigned long flags,
                                       long signal);

/* SA_RESETHAND: the action after its handler was taken (handler SIG_DFL, SA_SIGINFO and
 * SA_RESETHAND cleared); 0 when the action stays. */
int tern_libc_signal_resets(unsigned long flags);

/* The stop signals (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) as a mask. */
uint64_t tern_libc_signal_stops(void);

/* The pending set once `signal` is made pending: SIGCONT discards pending stop signals,
 * a stop signal discards a pending SIGCONT (POSIX), then the signal's own bit is set. */
uint64_t tern_libc_signal_pend(uint64_t pending, long signal);

/* The job word proc reads after the ignored mask (tern/protocols/proc.h, SignalEntry):
 * the stop signals among `defaults` (those whose disposition is SIG_DFL) not blocked, and
 * bit 63 for SA_NOCLDSTOP on SIGCHLD. */
uint64_t tern_libc_signal_job_word(uint64_t defaults, uint64_t blocked, int no_child_stop);

/* SIGCHLD's si_code (CLD_EXITED, CLD_KILLED) and si_status for an exit
 * status as proc reports it. */
void tern_libc_signal_child_info(int64_t status, int* code, int* child_status);

/* A CPU exception proc reports in a frame (fault = 1 + vector, code the error code,
 * sender the faulting address, status the RIP): the signal Linux sends for it, with its
 * si_code and si_addr. A page fault is SEGV_ACCERR when the error code's bit 0 says the
 * address is inside a region, else SEGV_MAPERR, at the address; a divide error
 * FPE_INTDIV and an invalid opcode ILL_ILLOPN at the RIP; an alignment check BUS_ADRALN;
 * a general protection fault and a breakpoint SI_KERNEL with no address. */
long tern_libc_signal_of_fault(uint64_t vector, uint64_t error_code, uint64_t address, uint64_t rip,
                               int* code, uint64_t* fault_addr);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_SIGNALS_H */

/*
 * Interrupt entry stubs. Each of the 256 vectors has a 16-byte stub that pushes a dummy
 * error code where the CPU does not push one, then the vector number, and jumps to the
 * common path, which saves the general registers as a TrapFrame (see trap.h), swaps GS
 * when the interrupt came from user mode, and calls trap_dispatch(frame).
 */
#include "frame_macros.inc"

    .text
    .balign 16
    .globl trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

    .balign 16
trap_common:
    /* CS of the interrupted context is at 24(%rsp): vector, error code, rip, cs. */
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:  PUSH_GPRS
    cld
    movq %rsp, %rdi
    call trap_dispatch
    .globl trap_return
trap_return:
    POP_GPRS
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:  addq $16, %rsp
    iretq

/*
 * Thread context switch, the first return of a new thread, and the SYSCALL entry.
 */
#include "frame_macros.inc"

    .text

/*
 * void switch_context(uint64_t* save_rsp, uint64_t next_rsp)
 * Saves the callee-saved registers on the current kernel stack, stores RSP in *save_rsp,
 * and resumes the thread whose stack pointer is next_rsp (which was saved the same way,
 * or crafted by thread setup to return into thread_trampoline).
 */
    .globl switch_context
switch_context:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/*
 * A new thread's first switch_context returns here with R12 = function, R13 = argument.
 */
    .globl thread_trampoline
thread_trampoline:
    /* Threads start with interrupts on; switch_context ran with them off. */
    sti
    movq %r13, %rdi
    callq *%r12
    /* The entry function returned: end the thread. */
    callq kernel_thread_exit_current
    ud2

/*
 * SYSCALL entry. The CPU has put the user RIP in RCX and RFLAGS in R11, masked RFLAGS
 * with SFMASK (IF, TF, DF, AC cleared) and loaded the kernel CS/SS; RSP is still the
 * user's. A TrapFrame (vector 0x80 marks a syscall) is built on the thread's kernel stack
 * so that task control sees every user register in one place, whichever way the thread
 * entered the kernel.
 */
    .globl syscall_entry
syscall_entry:
    swapgs
    movq %rsp, %gs:16          /* user RSP */
    movq %gs:8, %rsp           /* this thread's kernel stack top */
    pushq $0x1b                /* ss: user data */
    pushq %gs:16               /* rsp */
    pushq %r11                 /* rflags */
    pushq $0x23                /* cs: user code */
    pushq %rcx                 /* rip */
    pushq $0                   /* error code */
    pushq $0x80                /* vector: syscall */
    PUSH_GPRS
    xorl %ebp, %ebp
    movq %rsp, %rdi
    /* The register pair (port_call_regs 74, port_reply_receive_regs 75; dispatch.cpp
     * asserts the numbers) goes to its fast path first, which falls back to the
     * dispatch itself when its case is not the common one. Calls below 74 pay one
     * compare for it. */
    cmpq $73, %rax
    ja 2f
    callq syscall_dispatch
1:
    /* Returns nonzero when the frame must go back through IRETQ (a non-canonical RIP
     * would make SYSRET fault in ring 0, and task control may have changed RCX/R11). */
    testq %rax, %rax
    jnz syscall_return_iret
    POP_GPRS
    movq 16(%rsp), %rcx        /* rip */
    movq 32(%rsp), %r11        /* rflags */
    movq 40(%rsp), %rsp        /* user rsp */
    swapgs
    sysretq

2:
    cmpq $74, %rax
    je 3f
    cmpq $75, %rax
    je 4f
    callq syscall_dispatch
    jmp 1b
3:
    callq syscall_fast_call_regs
    jmp 1b
4:
    callq syscall_fast_reply_receive_regs
    jmp 1b

syscall_return_iret:
    jmp trap_return

/*
 * void enter_user_frame(TrapFrame* frame) — leaves the kernel through trap_return with
 * the given frame (which lives at the top of the thread's kernel stack).
 */
    .globl enter_user_frame
enter_user_frame:
    movq %rdi, %rsp
    jmp trap_return

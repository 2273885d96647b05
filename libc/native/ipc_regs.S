/*
 * int64_t tern_ipc_regs(uint64_t number, uint64_t port, uint64_t timeout,
 *                       struct tern_reg_msg* m, struct tern_msg* overflow)
 *
 * The user side of port_call_regs and port_reply_receive_regs (tern/ipc_regs.h): the
 * label goes in RSI, the words in R10, R8, R9, R12, R13, R14, R15, RBX and the overflow
 * buffer in RBP; what comes back (RSI label, RDX badge, RDI flags, the words) is stored
 * into m when the call succeeds. The callee-saved registers the ABI uses are saved here.
 */
    .text
    .globl tern_ipc_regs
    .type tern_ipc_regs, @function
tern_ipc_regs:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rcx                 /* m, for the answer */
    movq %rdi, %rax            /* number */
    movq %rsi, %rdi            /* port; RDX is the timeout already */
    movq %r8, %rbp             /* overflow */
    movq 0(%rcx), %rsi         /* label */
    movq 24(%rcx), %r10
    movq 32(%rcx), %r8
    movq 40(%rcx), %r9
    movq 48(%rcx), %r12
    movq 56(%rcx), %r13
    movq 64(%rcx), %r14
    movq 72(%rcx), %r15
    movq 80(%rcx), %rbx
    syscall
    popq %rcx
    testq %rax, %rax
    js 1f
    movq %rsi, 0(%rcx)
    movq %rdx, 8(%rcx)
    movq %rdi, 16(%rcx)
    movq %r10, 24(%rcx)
    movq %r8, 32(%rcx)
    movq %r9, 40(%rcx)
    movq %r12, 48(%rcx)
    movq %r13, 56(%rcx)
    movq %r14, 64(%rcx)
    movq %r15, 72(%rcx)
    movq %rbx, 80(%rcx)
1:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size tern_ipc_regs, . - tern_ipc_regs

    .section .note.GNU-stack, "", @progbits

/*
 * uint64_t kernel_try_call(void (*fn)(void*), void* arg, RecoveryPoint* rp)
 *
 * Calls fn(arg) with a recovery point armed. If fn raises a kernel-mode exception, the
 * trap handler resumes at the label below with RSP restored and RAX = vector; otherwise
 * the call returns -1. Callee-saved registers are restored either way.
 */
    .text
    .globl kernel_try_call
kernel_try_call:
    pushq %rbp
    movq %rsp, %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdx
    movq %rsp, 8(%rdx)
    leaq 1f(%rip), %rax
    movq %rax, 0(%rdx)
    movq %rdi, %rax
    movq %rsi, %rdi
    call *%rax
    movq $-1, %rax
1:  popq %rdx
    movq $0, 0(%rdx)
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

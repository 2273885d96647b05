/*
 * int64_t kernel_user_copy(void* dst, const void* src, size_t n, RecoveryPoint* rp)
 *
 * Copies n bytes with a recovery point armed: a fault the page-fault handler cannot
 * resolve resumes at 9: with RSP as at entry and RAX = the vector, which is returned;
 * otherwise the copy returns -1. Unlike kernel_try_call there is no indirect call and no
 * register to save: the loop uses only caller-saved registers. Plain moves rather than
 * `rep movsb`, which QEMU's TCG runs one iteration per translated block.
 */
    .text
    .globl kernel_user_copy
kernel_user_copy:
    movq %rsp, 8(%rcx)
    leaq 9f(%rip), %rax
    movq %rax, 0(%rcx)
    /* 64 bytes a turn while there are: the loop's own four instructions are then a
     * sixth of a page's copy rather than a third. */
    cmpq $64, %rdx
    jb 2f
1:  movq 0(%rsi), %r8
    movq 8(%rsi), %r9
    movq 16(%rsi), %r10
    movq 24(%rsi), %r11
    movq %r8, 0(%rdi)
    movq %r9, 8(%rdi)
    movq %r10, 16(%rdi)
    movq %r11, 24(%rdi)
    movq 32(%rsi), %r8
    movq 40(%rsi), %r9
    movq 48(%rsi), %r10
    movq 56(%rsi), %r11
    movq %r8, 32(%rdi)
    movq %r9, 40(%rdi)
    movq %r10, 48(%rdi)
    movq %r11, 56(%rdi)
    addq $64, %rsi
    addq $64, %rdi
    subq $64, %rdx
    cmpq $64, %rdx
    jae 1b
2:  cmpq $8, %rdx
    jb 4f
3:  movq 0(%rsi), %r8
    movq %r8, 0(%rdi)
    addq $8, %rsi
    addq $8, %rdi
    subq $8, %rdx
    cmpq $8, %rdx
    jae 3b
4:  testq %rdx, %rdx
    jz 6f
5:  movb 0(%rsi), %r8b
    movb %r8b, 0(%rdi)
    incq %rsi
    incq %rdi
    decq %rdx
    jnz 5b
6:  movq $0, 0(%rcx)
    movq $-1, %rax
    ret
    /* The trap handler has cleared the recovery point and put the vector in RAX. */
9:  ret
    .size kernel_user_copy, . - kernel_user_copy

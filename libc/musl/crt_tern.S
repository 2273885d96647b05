/*
 * The entry point of every C program built against musl (tern_c_program).
 *
 * A program's first thread starts with RSP = the top of a fresh stack, 16-byte aligned,
 * and RDI = either the address of the startup block its spawner (the proc server) left at
 * the top of that stack (abi/include/tern/abi/startup.h), or, for a program the kernel
 * started from a boot module, a small start argument. musl expects the Linux process
 * entry instead: argc, argv, envp and the auxiliary vector on the stack. _start makes
 * AT_RANDOM's 16 bytes here (RDRAND is an instruction, and the bytes must outlive every
 * frame, so they sit at the very top of the stack) and calls __tern_start (start.c), which
 * builds the rest in its own never-returning frame and calls musl's __libc_start_main:
 *
 *   __tern_start(start argument, &random bytes)
 */
/* CPUID leaf 1: ECX bit 30 announces RDRAND. */
#define CPUID_ECX_RDRAND 30

    .text
    .globl _start
    .type _start, @function
_start:
    .cfi_startproc
    /* No caller frame exists: marking the return address undefined and clearing RBP
     * stops debuggers and frame-pointer walkers here. */
    .cfi_undefined rip
    xorl %ebp, %ebp
    andq $-16, %rsp
    movq %rdi, %r12                 /* the start argument */

    /* AT_RANDOM's 16 bytes, at the top of the stack. RDRAND when the CPU has it;
     * otherwise the time stamp counter and the stack address, mixed. */
    subq $16, %rsp
    movl $1, %eax
    cpuid                           /* clobbers RBX, RCX, RDX: nothing is kept there */
    btl $CPUID_ECX_RDRAND, %ecx
    jnc 2f
    rdrand %rax
    jnc 2f                          /* CF clear: no random number was ready */
    movq %rax, 0(%rsp)
    rdrand %rax
    jnc 2f
    movq %rax, 8(%rsp)
    jmp 3f
2:  /* FIXME: the counter and the stack address are guessable; take a seed from the
     * kernel once it hands programs one. */
    rdtsc
    shlq $32, %rdx
    orq %rdx, %rax
    movabsq $0x9e3779b97f4a7c15, %rcx
    imulq %rcx, %rax
    movq %rax, 0(%rsp)
    xorq %rsp, %rax
    rolq $29, %rax
    imulq %rcx, %rax
    movq %rax, 8(%rsp)
3:
    /* __tern_start(start argument, &random): RSP is 16-byte aligned here, so the call
     * leaves it as the System V ABI expects at a function's entry. */
    movq %r12, %rdi
    movq %rsp, %rsi
    call __tern_start
    /* __tern_start never returns; trap if it ever does. */
    ud2
    .cfi_endproc
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits

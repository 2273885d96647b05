/*
 * The entry point of every C program built against musl (tern_c_program).
 *
 * Tern's kernel starts a program's first thread with RDI = the start argument and RSP =
 * the top of a fresh stack, 16-byte aligned, with nothing on it. musl expects the Linux
 * process entry instead: argc, argv, envp and the auxiliary vector on the stack. _start
 * builds that initial stack itself and calls musl's __libc_start_main, as musl's own crt1
 * would after a Linux exec:
 *
 *   argc = 1, argv = { <program name>, NULL }, envp = { NULL }, and the auxiliary vector
 *   AT_PHDR, AT_PHENT, AT_PHNUM  the program headers, which musl scans for PT_TLS to set
 *                                up thread-local storage (libc/musl/musl.ld loads them
 *                                with the ELF header at __ehdr_start);
 *   AT_PAGESZ 4096;
 *   AT_RANDOM                    16 random bytes (the stack-protector canary, the
 *                                allocator's secret);
 *   AT_EXECFN                    the program name;
 *   TERN_AT_START_ARG            the kernel's start argument, for getauxval();
 *   AT_NULL.
 *
 * The program name is __tern_program_name, which tern_c_program generates for every
 * program; without one, argv[0] is "program".
 */
#include <tern/libc.h>

/* Auxiliary vector types (System V ABI, as Linux numbers them). */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_RANDOM 25
#define AT_EXECFN 31

/* Offsets of e_phoff, e_phentsize and e_phnum in the ELF64 header. */
#define EHDR_PHOFF 32
#define EHDR_PHENTSIZE 54
#define EHDR_PHNUM 56

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

    /* The name for argv[0] and AT_EXECFN. */
    .weak __tern_program_name
    leaq __tern_program_name(%rip), %r13
    testq %r13, %r13
    jnz 1f
    leaq .Ldefault_name(%rip), %r13
1:

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
    movq %rsp, %r14                 /* &random */

    /* The auxiliary vector, pushed from its end: (type, value) pairs, value on top. */
    pushq $0
    pushq $AT_NULL
    pushq %r12
    pushq $TERN_AT_START_ARG
    pushq %r13
    pushq $AT_EXECFN
    pushq %r14
    pushq $AT_RANDOM
    pushq $4096
    pushq $AT_PAGESZ
    movzwl __ehdr_start+EHDR_PHNUM(%rip), %eax
    pushq %rax
    pushq $AT_PHNUM
    movzwl __ehdr_start+EHDR_PHENTSIZE(%rip), %eax
    pushq %rax
    pushq $AT_PHENT
    leaq __ehdr_start(%rip), %rax
    addq __ehdr_start+EHDR_PHOFF(%rip), %rax
    pushq %rax
    pushq $AT_PHDR
    /* envp = { NULL }, argv = { name, NULL }, argc = 1. Twenty words in all, so RSP is
     * still 16-byte aligned for the call. */
    pushq $0
    pushq $0
    pushq %r13
    pushq $1

    /* __libc_start_main(main, argc, argv, init, fini, ldso): musl's static start ignores
     * the last three (it runs .init_array itself). */
    leaq main(%rip), %rdi
    movl $1, %esi
    leaq 8(%rsp), %rdx
    xorl %ecx, %ecx
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    call __libc_start_main
    /* __libc_start_main calls exit() and never returns; trap if it ever does. */
    ud2
    .cfi_endproc
    .size _start, . - _start

    .section .rodata.str1.1, "aMS", @progbits, 1
.Ldefault_name:
    .asciz "program"

    .section .note.GNU-stack, "", @progbits

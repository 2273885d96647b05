/*
 * The entry point of every native Tern user program.
 *
 * The kernel starts the first thread here with RDI = the start argument (a handle value
 * or 0) and RSP = the top of a freshly mapped stack, 16-byte aligned and with no return
 * address pushed, as at a System V process entry. The `call` below pushes eight bytes,
 * so tern_start sees RSP + 8 aligned to 16, which is exactly the alignment the System V
 * ABI promises at a function's first instruction.
 */
    .text
    .globl _start
    .type _start, @function
_start:
    .cfi_startproc
    /* No caller frame exists: marking the return address undefined and clearing RBP
     * stops debuggers and frame-pointer walkers here instead of reading garbage. */
    .cfi_undefined rip
    xorl %ebp, %ebp
    /* Re-establish the alignment rather than trust it, so a loader bug shows up as a
     * wrong stack pointer in a dump, not as a crash inside an SSE instruction. */
    andq $-16, %rsp
    /* RDI already holds the start argument, tern_start's first parameter. */
    call tern_start
    /* tern_start never returns; trap if it ever does. */
    ud2
    .cfi_endproc
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits

/*
 * Tern boot entry: the Multiboot2 header and the 32-bit to 64-bit trampoline.
 *
 * GRUB loads the kernel ELF by physical address (p_paddr) and jumps to _start in 32-bit
 * protected mode with paging off, EAX = Multiboot2 magic and EBX = physical address of
 * the boot information. The trampoline builds a temporary page table that maps the first
 * 4 GiB three times (identity, direct map at 0xFFFF800000000000, and the first 2 GiB at
 * the kernel image base 0xFFFFFFFF80000000), enters long mode and jumps to the
 * higher-half kernel. The kernel replaces these tables with its own soon after.
 */
#define MB2_MAGIC 0xE85250D6
#define MB2_ARCH_I386 0
#define KERNEL_VMA 0xFFFFFFFF80000000

    .section .multiboot, "a"
    .balign 8
mb2_header_start:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header_start
    .long 0x100000000 - (MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header_start))
    /* Information request: memory map (6), command line (1), modules (3) are needed. */
    .balign 8
mb2_info_request:
    .short 1, 0
    .long mb2_info_request_end - mb2_info_request
    .long 1, 3, 6
mb2_info_request_end:
    .balign 8
    .short 0, 0 /* end tag */
    .long 8
mb2_header_end:

    .section .boot.text, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    movl %eax, boot_magic
    movl %ebx, boot_info_phys
    movl $boot_stack32_top, %esp

    /* Long mode needs CPUID leaf 0x80000001 with the LM bit (29). */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $(1 << 29), %edx
    jz no_long_mode
    movl %edx, boot_ext_features

    /* 2048 2 MiB pages covering 0..4 GiB, present | writable | huge. */
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, boot_pd(, %ecx, 8)
    movl $0, boot_pd + 4(, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jne 1b

    /* Low PDPT: four page directories. */
    movl $boot_pd + 0x0003, boot_pdpt_low + 0
    movl $boot_pd + 0x1003, boot_pdpt_low + 8
    movl $boot_pd + 0x2003, boot_pdpt_low + 16
    movl $boot_pd + 0x3003, boot_pdpt_low + 24
    /* High PDPT: entries 510, 511 map the first 2 GiB at KERNEL_VMA. */
    movl $boot_pd + 0x0003, boot_pdpt_high + 510 * 8
    movl $boot_pd + 0x1003, boot_pdpt_high + 511 * 8
    /* PML4: identity (0), direct map (256), kernel image (511). */
    movl $boot_pdpt_low + 3, boot_pml4 + 0
    movl $boot_pdpt_low + 3, boot_pml4 + 256 * 8
    movl $boot_pdpt_high + 3, boot_pml4 + 511 * 8

    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $(1 << 5), %eax /* PAE */
    movl %eax, %cr4

    movl $0xC0000080, %ecx /* EFER */
    rdmsr
    orl $(1 << 8), %eax /* LME */
    testl $(1 << 20), boot_ext_features
    jz 2f
    orl $(1 << 11), %eax /* NXE, when the CPU has NX */
2:  wrmsr

    movl %cr0, %eax
    orl $0x80010001, %eax /* PG | WP | PE */
    movl %eax, %cr0

    lgdt boot_gdtr
    ljmp $0x08, $long_mode_entry

no_long_mode:
    movl $no_long_mode_msg, %esi
3:  movb (%esi), %al
    testb %al, %al
    jz 5f
    movw $0x3FD, %dx /* wait for the transmitter holding register */
4:  inb %dx, %al
    testb $0x20, %al
    jz 4b
    movb (%esi), %al
    movw $0x3F8, %dx
    outb %al, %dx
    incl %esi
    jmp 3b
5:  hlt
    jmp 5b

    .code64
long_mode_entry:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $kernel_entry_high, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .balign 8
    .globl boot_magic, boot_info_phys
boot_magic: .long 0
boot_info_phys: .long 0
boot_ext_features: .long 0
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF /* 0x10: data */
boot_gdt_end:
boot_gdtr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt
no_long_mode_msg:
    .asciz "tern: this CPU has no 64-bit long mode; Tern needs an x86-64 CPU. Halting.\r\n"

    .section .boot.bss, "aw", @nobits
    .balign 4096
    .globl boot_pml4
boot_pml4: .skip 4096
boot_pdpt_low: .skip 4096
boot_pdpt_high: .skip 4096
boot_pd: .skip 4096 * 4
boot_stack32: .skip 1024
boot_stack32_top:

    /* The 64-bit half runs at the kernel's virtual address. */
    .text
    .globl kernel_entry_high
kernel_entry_high:
    movabsq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl boot_magic, %edi
    movl boot_info_phys, %esi
    call kernel_main
6:  cli
    hlt
    jmp 6b

    /* The first page of the boot stack is left unmapped as a guard page. */
    .bss
    .balign 4096
    .globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    .skip 4096 + 32768
boot_stack_top:

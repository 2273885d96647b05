#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/percpu.h>

namespace kernel::x86_64 {

namespace {
constexpr size_t kIstStackSize = 16384;
alignas(16) uint8_t g_ist_stacks[3][kIstStackSize];
PerCpu g_boot_cpu;

struct [[gnu::packed]] DescriptorPointer {
    uint16_t limit;
    uint64_t base;
};
} // namespace

void percpu_init_boot_cpu() {
    PerCpu& cpu = g_boot_cpu;
    cpu.self = &cpu;
    cpu.index = 0;
    cpu.gdt[0] = 0;
    cpu.gdt[1] = 0x00AF9A000000FFFF; // kernel code, 64-bit
    cpu.gdt[2] = 0x00CF92000000FFFF; // kernel data
    cpu.gdt[3] = 0x00CFF2000000FFFF; // user data (DPL 3); SYSRET needs it before user code
    cpu.gdt[4] = 0x00AFFA000000FFFF; // user code, 64-bit (DPL 3)
    uint64_t tss = reinterpret_cast<uint64_t>(&cpu.tss);
    // The descriptor's limit covers the TSS and the I/O bitmap behind it.
    static_assert(offsetof(PerCpu, io_bitmap) == offsetof(PerCpu, tss) + sizeof(Tss));
    uint64_t limit = sizeof(Tss) + sizeof(cpu.io_bitmap) - 1;
    cpu.gdt[5] = (limit & 0xFFFF) | ((tss & 0xFFFFFF) << 16) | (0x89ull << 40)
                 | (((limit >> 16) & 0xF) << 48) | (((tss >> 24) & 0xFF) << 56);
    cpu.gdt[6] = tss >> 32;
    cpu.tss = Tss{};
    cpu.tss.iomap_base = kNoIoBitmap;
    __builtin_memset(cpu.io_bitmap, 0xFF, sizeof(cpu.io_bitmap)); // every port denied
    cpu.io_owner = nullptr;
    for (int i = 0; i < 3; ++i)
        cpu.tss.ist[i] = reinterpret_cast<uint64_t>(&g_ist_stacks[i][kIstStackSize]);

    DescriptorPointer gdtr{sizeof(cpu.gdt) - 1, reinterpret_cast<uint64_t>(cpu.gdt)};
    asm volatile("lgdt %0" ::"m"(gdtr));
    // Reload CS through a far return, then the data segments and the task register.
    asm volatile("pushq %[cs]\n"
                 "leaq 1f(%%rip), %%rax\n"
                 "pushq %%rax\n"
                 "lretq\n"
                 "1:\n"
                 "movw %[ds], %%ax\n"
                 "movw %%ax, %%ds\n"
                 "movw %%ax, %%es\n"
                 "movw %%ax, %%ss\n"
                 "xorl %%eax, %%eax\n"
                 "movw %%ax, %%fs\n"
                 "movw %%ax, %%gs\n"
                 :
                 : [cs] "i"(uint64_t(kKernelCs)), [ds] "i"(kKernelDs)
                 : "rax", "memory");
    asm volatile("ltr %w0" ::"r"(kTssSelector));
    wrmsr(kMsrGsBase, reinterpret_cast<uint64_t>(&cpu));
    wrmsr(kMsrKernelGsBase, 0);
}

int64_t try_call(void (*fn)(void*), void* arg) {
    return int64_t(kernel_try_call(fn, arg, &this_cpu().recovery));
}

} // namespace kernel::x86_64

// Kernel entry: bring the machine up in dependency order, then either run the self-tests
// or continue to the normal boot.
#include <kernel/arch/x86_64/apic.h>
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/arch/x86_64/ioapic.h>
#include <kernel/arch/x86_64/percpu.h>
#include <kernel/arch/x86_64/serial.h>
#include <kernel/arch/x86_64/trap.h>
#include <kernel/core/boot.h>
#include <kernel/core/clock.h>
#include <kernel/core/firmware.h>
#include <kernel/core/loader.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/core/panic.h>
#include <kernel/core/symbols.h>
#include <kernel/lib/cmdline.h>
#include <kernel/lib/multiboot2.h>
#include <kernel/object/irq.h>
#include <kernel/object/thread.h>
#include <kernel/syscalls/dispatch.h>
#include <kernel/test/bench.h>
#include <kernel/test/ktest.h>

extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();
extern "C" uintptr_t __stack_chk_guard;

namespace kernel {

namespace {
BootMode g_boot_mode = BootMode::kNormal;
mb2::BootInfo g_boot_info;
BootOptions g_options;

void run_global_constructors() {
    for (auto* ctor = __init_array_start; ctor < __init_array_end; ++ctor)
        (*ctor)();
}

void apply_options(const CmdlineResult& parsed) {
    g_options = parsed.options;
    g_boot_mode = g_options.mode;
    log_set_level(g_options.log_level);
}

// Starts the first user task, `init`, from its boot module.
void start_init() {
    auto image = find_boot_module("init");
    if (image.empty()) {
        log::warn("boot: no 'init' module in this image; nothing to start");
        return;
    }
    auto task = spawn_program(image, "init", 0, Thread::kDefaultPriority, true);
    if (task.is_error()) {
        log::error("boot: starting init failed: {}", task.error());
        return;
    }
    task.value()->release_ref();
}

} // namespace

BootMode boot_mode() { return g_boot_mode; }
void set_boot_mode(BootMode mode) { g_boot_mode = mode; }
const BootOptions& boot_options() { return g_options; }
const mb2::BootInfo& boot_info() { return g_boot_info; }

} // namespace kernel

using namespace kernel;

extern "C" [[noreturn]] void kernel_main(uint32_t magic, uint32_t info_phys) {
    x86_64::com1().init();
    __stack_chk_guard ^= x86_64::rdtsc() * 0x9E3779B97F4A7C15ull;
    run_global_constructors();
    print("\nTern kernel starting\n");
    x86_64::percpu_init_boot_cpu();
    x86_64::idt_init();
    x86_64::pic_disable();
    bool pit_ok = x86_64::tsc_calibrate();

    if (magic != mb2::kBootloaderMagic)
        panic("not started by a Multiboot2 loader (magic {:#x}, expected {:#x})", magic,
              mb2::kBootloaderMagic);
    // The boot page tables map the first 4 GiB at the direct-map base, and GRUB places the
    // information block below 4 GiB.
    const auto* info = reinterpret_cast<const uint8_t*>(kDirectMapBase + info_phys);
    if (mb2::parse(info, 0x100000000ull - info_phys, g_boot_info).is_error())
        panic("Multiboot2 information block at {:#x} is corrupt", info_phys);

    if (!pit_ok)
        log::warn("timer: PIT did not answer; assuming a 1 GHz TSC");
    static CmdlineResult parsed;
    parse_cmdline(g_boot_info.cmdline, parsed);
    apply_options(parsed);
    for (const auto& diagnostic : parsed.diagnostic_list())
        log::warn("{}", diagnostic.message);
    if (parsed.dropped_diagnostics)
        log::warn("cmdline: {} further problems not shown", parsed.dropped_diagnostics);
    log::info("boot: loader '{}', command line '{}', node {}", g_boot_info.loader_name,
              g_boot_info.cmdline, g_options.node_id);
    if (g_boot_info.malformed_tags || g_boot_info.dropped_memory || g_boot_info.dropped_modules)
        log::warn("boot: information block: {} malformed tags, {} memory entries and {} modules "
                  "dropped",
                  g_boot_info.malformed_tags, g_boot_info.dropped_memory,
                  g_boot_info.dropped_modules);

    wall_clock_init();

    for (size_t i = 0; i < g_boot_info.module_count; ++i) {
        const auto& m = g_boot_info.modules[i];
        if (m.name == base::StringView("symbols"))
            symbols_init(reinterpret_cast<const char*>(kDirectMapBase + m.start), m.end - m.start);
    }

    // Before memory_init: the ACPI tables are read through the boot mapping of the first
    // 4 GiB, which the kernel's own direct map covers only where there is RAM.
    firmware_init(g_boot_info);
    memory_init(g_boot_info, info_phys);

    x86_64::lapic_init(map_mmio(x86_64::lapic_phys_base(), 4096));
    x86_64::lapic_timer_calibrate();
    x86_64::ioapic_init(firmware_tables());
    irq_init();
    firmware_report();
    syscall_init();
    scheduler_init();
    x86_64::timer_start_periodic(kTimerHz);
    scheduler_start();
    x86_64::sti();

    const MemoryStats stats = memory_stats();
    print("\n");
    print("  Tern — node {}\n", g_options.node_id);
    print("  memory: {} MiB usable of {} MiB total; page allocator: {} free pages ({} MiB)\n",
          stats.usable_bytes >> 20, stats.total_bytes >> 20, stats.free_pages,
          (stats.free_pages * 4096) >> 20);
    print("  timer: TSC {} MHz, LAPIC timer {} Hz (after /16), tick {} Hz; symbols {}\n",
          tsc_hz() / 1000000, lapic_timer_hz(), kTimerHz, symbols_loaded() ? "loaded" : "missing");
    print("\n");

    switch (boot_mode()) {
    case BootMode::kSelfTest: {
        int failed = ktest_run_all(g_options.selftest_filter_view());
        machine_stop(failed == 0);
    }
    case BootMode::kBench:
        run_benchmarks();
    case BootMode::kFuzz:
        run_fuzzer(g_options.fuzz_iterations, g_options.fuzz_seed);
    case BootMode::kNormal:
        break;
    }
    log::info("boot: kernel up");
    start_init();
    // The boot thread has nothing left to do; idle and timers take over.
    for (;;)
        sleep_ns(1000000000ull);
}

// ---- Self-tests -----------------------------------------------------------------------
namespace kernel {
namespace {

// A namespace-scope object whose constructor cannot run at compile time (it writes a
// volatile member), so it is built only through .init_array at boot; without that it
// stays zero in .bss.
struct ConstructorProbe {
    volatile int value;
    ConstructorProbe() { value = 42; }
};
ConstructorProbe g_constructor_probe;

KTEST(boot, information_block_parsed) {
    KEXPECT(g_boot_info.has_memory_map);
    KEXPECT(g_boot_info.memory_count > 0);
    KEXPECT(g_boot_info.loader_name.starts_with(base::StringView("GRUB")));
}

KTEST(boot, symbols_module_loaded) {
    bool found = false;
    for (size_t i = 0; i < g_boot_info.module_count; ++i)
        found |= g_boot_info.modules[i].name == base::StringView("symbols");
    KEXPECT(found);
    KEXPECT(symbols_loaded());
}

// The options in force against the command line the loader gave, read here token by
// token without the kernel's parser, so the test holds the parser and apply_options() to
// what the system test wrote (tests/system: `node=`, `log=`, `selftest_filter=`; a node
// out of range keeps the default; the last valid value wins).
KTEST(boot, options_match_command_line) {
    base::StringView line = g_boot_info.cmdline;
    uint32_t node = kDefaultNodeId;
    LogLevel level = LogLevel::kInfo;
    base::StringView filter;
    bool selftest = false;
    constexpr base::StringView kLevels[] = {"error", "warn", "info", "debug"};
    for (base::StringView token : line.split(' ')) {
        auto cut = token.find('=');
        if (!cut.has_value())
            continue;
        base::StringView key = token.substr(0, *cut);
        base::StringView value = token.substr(*cut + 1);
        if (key == base::StringView("node")) {
            uint32_t n = 0;
            bool digits = !value.empty() && value.length() <= 5;
            for (char c : value) {
                digits &= c >= '0' && c <= '9';
                n = n * 10 + uint32_t(c - '0');
            }
            if (digits && n >= 1 && n <= 65535)
                node = n;
        } else if (key == base::StringView("mode")) {
            selftest = value == base::StringView("selftest");
        } else if (key == base::StringView("log")) {
            for (size_t i = 0; i < 4; ++i)
                if (value == kLevels[i])
                    level = LogLevel(i);
        } else if (key == base::StringView("selftest_filter")) {
            filter = value;
        }
    }
    KEXPECT(selftest);
    KEXPECT(g_boot_mode == BootMode::kSelfTest);
    KEXPECT_EQ(uint32_t(g_options.node_id), node);
    KEXPECT_EQ(uint32_t(g_options.log_level), uint32_t(level));
    KEXPECT(g_options.selftest_filter_view() == filter);
}

KTEST(boot, stack_protector_guard_randomized) {
    KEXPECT(__stack_chk_guard != uintptr_t(0x595e9fbd94fda766ull));
}

KTEST(boot, global_constructors_ran) {
    // Set only by the constructor run_global_constructors() calls through .init_array.
    KEXPECT_EQ(g_constructor_probe.value, 42);
}

} // namespace
} // namespace kernel

// Bench mode (`mode=bench`): in-kernel micro-benchmarks, then the user-space bench
// programs, each printing `name: value unit` lines. Under QEMU -icount shift=0 the TSC
// counts retired guest instructions, so each figure is instructions per operation and
// repeats run to run; each is the minimum over several rounds, which discards rounds
// that a timer interrupt landed in.
#include <kernel/arch/x86_64/cpu.h>
#include <kernel/core/boot.h>
#include <kernel/core/loader.h>
#include <kernel/core/log.h>
#include <kernel/core/memory.h>
#include <kernel/core/panic.h>
#include <kernel/object/port.h>
#include <kernel/object/thread.h>
#include <kernel/test/bench.h>

namespace kernel {

namespace {

constexpr int kRounds = 7;

template<typename Fn>
uint64_t min_per_op(uint64_t ops, Fn fn) {
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        uint64_t t0 = x86_64::rdtsc();
        fn();
        uint64_t t1 = x86_64::rdtsc();
        best = base::min(best, (t1 - t0) / ops);
    }
    return best;
}

struct PingPong {
    volatile uint64_t remaining;
};

void yielder(void* arg) {
    auto* p = static_cast<PingPong*>(arg);
    while (p->remaining > 0) {
        p->remaining = p->remaining - 1;
        yield();
    }
}

uint64_t bench_context_switch() {
    // Two kernel threads at a priority above the bench thread hand the CPU back and forth
    // with yield(); every yield is one switch.
    constexpr uint64_t kSwitches = 2000;
    uint64_t best = ~0ull;
    for (int r = 0; r < kRounds; ++r) {
        static PingPong state;
        state.remaining = kSwitches;
        Thread* a = Thread::create_kernel("ping", yielder, &state, Thread::kDefaultPriority + 1);
        Thread* b = Thread::create_kernel("pong", yielder, &state, Thread::kDefaultPriority + 1);
        if (!a || !b)
            panic("bench: cannot create threads");
        uint64_t t0 = x86_64::rdtsc();
        make_ready(*a);
        make_ready(*b);
        yield(); // both run to completion before this thread is picked again
        uint64_t t1 = x86_64::rdtsc();
        best = base::min(best, (t1 - t0) / kSwitches);
        sleep_ns(1000000); // let the reaper free them
    }
    return best;
}

void run_kernel_benches() {
    print("kernel.context_switch: {} instructions\n", bench_context_switch());

    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(4));
    uint64_t send_receive = min_per_op(1000, [&] {
        for (int i = 0; i < 1000; ++i) {
            obj::Message m;
            m.words[0] = uint64_t(i);
            (void)port->send(base::move(m), 0, false);
            (void)port->receive(0, false);
        }
    });
    print("kernel.port_send_receive: {} instructions\n", send_receive);

    // The cost of a page depends on the free block it comes from: with no free single
    // page the allocator splits a larger block and the free merges it back, through as
    // many orders as the allocator's state happens to need. So the bench first makes a
    // free single page whose buddy is held: it takes pages until two in a row are buddies
    // and gives the second back. While measuring, an allocation then finds a single page
    // and its free cannot merge, whatever ran before: the figure is the order-0 path.
    constexpr int kMaxHeld = 64;
    uint64_t held[kMaxHeld];
    int held_count = 0;
    bool have_single = false;
    while (!have_single && held_count < kMaxHeld) {
        auto p = page_allocator().alloc_page();
        if (p.is_error())
            panic("bench: no page to hold");
        if (held_count > 0 && (held[held_count - 1] ^ p.value()) == 4096) {
            (void)page_allocator().free_page(p.value());
            have_single = true;
        } else {
            held[held_count++] = p.value();
        }
    }
    if (!have_single)
        panic("bench: no two pages in a row were buddies");
    uint64_t page = min_per_op(1000, [] {
        for (int i = 0; i < 1000; ++i) {
            auto p = page_allocator().alloc_page();
            (void)page_allocator().free_page(p.value());
        }
    });
    for (int i = 0; i < held_count; ++i)
        (void)page_allocator().free_page(held[i]);
    print("kernel.page_alloc_free: {} instructions\n", page);

    uint64_t heap = min_per_op(1000, [] {
        for (int i = 0; i < 1000; ++i)
            kfree(kmalloc(64));
    });
    print("kernel.heap_alloc_free_64: {} instructions\n", heap);
}

} // namespace

namespace {

// Runs a boot module to its exit; its status, or -1 (logged) when it could not run.
int64_t run_module(const char* name, uint64_t arg) {
    auto status = run_module_to_exit(name, arg, 0);
    if (status.is_error()) {
        log::error("{}: running the program failed: {}", name, status.error());
        return -1;
    }
    return status.value();
}

} // namespace

void run_benchmarks() {
    run_kernel_benches();
    // The user-space benchmarks measure syscalls, IPC and pager faults from ring 3 and
    // print their own lines.
    int64_t code = run_module("bench", 0);
    if (code != 0) {
        log::error("bench: the bench program exited with status {}", code);
        machine_stop(false);
    }
    // musl's malloc/free over Tern's memory calls.
    int64_t libc_code = run_module("libc_bench", 0);
    if (libc_code != 0) {
        log::error("bench: the libc_bench program exited with status {}", libc_code);
        machine_stop(false);
    }
    print("BENCH DONE\n");
    machine_stop(true);
}

void run_fuzzer(uint64_t iterations, uint64_t seed) {
    // The fuzzer issues random syscalls from an unprivileged task and checks every result
    // itself. The kernel passes when it survives, the fuzzer exits 0, and once the task
    // is gone every kernel object it made is gone too, and so is every page it took,
    // apart from pages the kernel heap keeps as cached slabs.
    print("fuzz: seed {}, {} calls (replay: ./tern fuzz --seed {} --calls {})\n", seed, iterations,
          seed, iterations);
    uint64_t objects_before = obj::KObject::live_total();
    MemoryStats before = memory_stats();
    int64_t code = run_module("fuzz", (seed << 32) | (iterations & 0xFFFFFFFFull));
    // The tasks the fuzzer made live on without it (blocked, stopped, or spinning in
    // garbage); they are its to answer for, so they end here too.
    size_t orphans = kill_user_tasks("the fuzzer has ended");
    // Threads and objects of the dead tasks go away once the scheduler has reaped them.
    uint64_t objects_after = 0;
    for (int i = 0; i < 100; ++i) {
        sleep_ns(10000000);
        objects_after = obj::KObject::live_total();
        if (objects_after == objects_before)
            break;
    }
    MemoryStats after = memory_stats();
    // Pages neither free nor held by the heap: user memory, page tables, message data.
    int64_t lost_pages = (int64_t(before.free_pages) - int64_t(after.free_pages))
                         - (int64_t(after.heap_pages) - int64_t(before.heap_pages));
    print("fuzz: exit status {}, {} tasks it left killed; live objects before {} after {}; "
          "free pages before {} after {}; heap pages before {} after {}; heap bytes before {} "
          "after {}\n",
          code, orphans, objects_before, objects_after, before.free_pages, after.free_pages,
          before.heap_pages, after.heap_pages, before.heap_bytes_in_use, after.heap_bytes_in_use);
    print("fuzz: live objects: tasks {} threads {} ports {} memory {} replies {}\n",
          obj::KObject::live_count(TERN_OBJ_TASK), obj::KObject::live_count(TERN_OBJ_THREAD),
          obj::KObject::live_count(TERN_OBJ_PORT), obj::KObject::live_count(TERN_OBJ_MEMORY),
          obj::KObject::live_count(TERN_OBJ_REPLY));
    bool ok = code == 0;
    if (code != 0)
        log::error("fuzz: the fuzzer exited with status {}", code);
    bool leaked = objects_after != objects_before || lost_pages > 0;
    UserThreadsLeft left = user_threads_left();
    if (leaked) {
        log::error("fuzz: leak: {} kernel objects alive before the fuzzer, {} after it and its "
                   "tasks died; {} pages not returned; user threads left: {} dead, {} other",
                   objects_before, objects_after, lost_pages, left.dead, left.other);
        dump_threads();
    }
    if (leaked)
        ok = false;
    if (!ok)
        machine_stop(false);
    print("FUZZ DONE\n");
    machine_stop(true);
}

} // namespace kernel

// The first native user program: a smoke test of the runtime and the syscall path.
//
// It prints a greeting with its start argument, then one "hello: ok <name>" or
// "hello: FAILED <name>: <detail>" line per check (the kernel's own PASS/FAIL lines stay
// unambiguous for the harness), and
// a summary. It exits with status 0 when every check passed and 1 otherwise, so a
// system test can read the result from the exit status as well as from the console.

#include <stddef.h>
#include <stdint.h>
#include <tern/abi/errors.h>
#include <tern/heap.h>
#include <tern/print.h>
#include <tern/runtime.h>
#include <tern/syscall.h>

namespace {

int g_checks = 0;
int g_failures = 0;

void check(bool ok, const char* name, int64_t detail) {
    ++g_checks;
    if (ok) {
        tern::println("hello: ok {}", name);
    } else {
        ++g_failures;
        tern::println("hello: FAILED {}: got {}", name, detail);
    }
}

// A global that needs dynamic initialisation (the volatile read keeps the compiler from
// folding it into a constant): if .init_array did not run, `constructed` stays false.
// Its destructor is registered through __cxa_atexit and prints after main returns, so a
// system test can also see that exit handlers run.
volatile int g_constructor_runs = 0;

struct ConstructorProbe {
    ConstructorProbe() {
        g_constructor_runs = g_constructor_runs + 1;
        constructed = g_constructor_runs == 1;
    }
    ~ConstructorProbe() { tern::println("hello: global destructor ran"); }
    bool constructed{false};
};
ConstructorProbe g_probe;

// A growable array without the standard library, to push the allocator through many
// reallocations of increasing size.
class Buffer {
public:
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { delete[] m_items; }

    void push(uint64_t value) {
        if (m_size == m_capacity)
            grow();
        m_items[m_size++] = value;
    }
    [[nodiscard]] size_t size() const { return m_size; }
    uint64_t operator[](size_t i) const { return m_items[i]; }

private:
    void grow() {
        size_t capacity = m_capacity == 0 ? 4 : m_capacity * 2;
        auto* items = new uint64_t[capacity];
        for (size_t i = 0; i < m_size; ++i)
            items[i] = m_items[i];
        delete[] m_items;
        m_items = items;
        m_capacity = capacity;
    }

    uint64_t* m_items{nullptr};
    size_t m_size{0};
    size_t m_capacity{0};
};

struct alignas(64) CacheLine {
    uint64_t words[8];
};

void check_allocator() {
    tern::HeapStats before = tern::heap_stats();
    {
        // 20000 words: the buffer passes through small blocks and ends in its own mapping.
        Buffer buffer;
        for (uint64_t i = 0; i < 20000; ++i)
            buffer.push(i * 3 + 1);
        bool contents_ok = buffer.size() == 20000;
        for (size_t i = 0; contents_ok && i < buffer.size(); ++i)
            contents_ok = buffer[i] == i * 3 + 1;
        check(contents_ok, "heap_vector_contents", static_cast<int64_t>(buffer.size()));
        check(tern::heap_stats().large_mappings == before.large_mappings + 1, "heap_large_mapping",
              static_cast<int64_t>(tern::heap_stats().large_mappings));
    }

    // Many small blocks of mixed sizes, freed in an interleaved order, must coalesce
    // back so the heap's live byte count returns to where it started.
    constexpr int kBlocks = 200;
    char* blocks[kBlocks];
    for (int i = 0; i < kBlocks; ++i) {
        blocks[i] = new char[static_cast<size_t>(1 + (i * 37) % 700)];
        blocks[i][0] = static_cast<char>(i);
    }
    bool distinct = true;
    for (int i = 0; i < kBlocks; ++i)
        distinct = distinct && blocks[i][0] == static_cast<char>(i);
    for (int i = 0; i < kBlocks; i += 2)
        delete[] blocks[i];
    for (int i = 1; i < kBlocks; i += 2)
        delete[] blocks[i];
    check(distinct, "heap_small_blocks_distinct", 0);

    auto* line = new CacheLine;
    check((reinterpret_cast<uintptr_t>(line) & 63) == 0, "heap_aligned_new",
          static_cast<int64_t>(reinterpret_cast<uintptr_t>(line)));
    delete line;

    tern::HeapStats after = tern::heap_stats();
    check(after.used_bytes == before.used_bytes && after.large_mappings == before.large_mappings,
          "heap_all_returned", static_cast<int64_t>(after.used_bytes - before.used_bytes));
}

} // namespace

extern "C" int main(uint64_t arg) {
    tern::println("hello from user space: arg={}", arg);

    check(g_probe.constructed, "global_constructors", 0);

    int64_t null_result = tern_sys_null();
    check(null_result == 0, "sys_null", null_result);

    int64_t now = tern_sys_clock_monotonic();
    check(now > 0, "sys_clock_monotonic", now);

    // The kernel must refuse pointers that are unmapped (the null page) or that point
    // into kernel space, with BAD_ADDRESS rather than a fault.
    int64_t low = tern_sys_debug_write(0x1, 5);
    check(low == -TERN_BAD_ADDRESS, "debug_write_null_page", low);
    int64_t kernel = tern_sys_debug_write(0xFFFF800000000000ull, 5);
    check(kernel == -TERN_BAD_ADDRESS, "debug_write_kernel_address", kernel);

    check_allocator();

    tern::println("hello: {} of {} checks passed", g_checks - g_failures, g_checks);
    return g_failures == 0 ? 0 : 1;
}

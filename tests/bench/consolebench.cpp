// consolebench [count]: round trips to the console server, printing the median cost of a
// 16-byte Write (console.write_16) and of an empty Write, which touches no UART
// (console.empty_write_call, the cheapest round trip), in rdtsc ticks: guest instructions
// under QEMU's -icount.
#include "bench_support.h"
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/console.h>
#include <tern/services.h>
#include <tern/startup.h>

using bench::rdtsc;
using bench::sort;

extern "C" int main(uint64_t) {
    constexpr int kCount = 64;
    auto console = tern::lookup("console", true, 5000000000ull);
    if (console.is_error()) {
        tern::println("consolebench: no console");
        return 1;
    }
    static uint64_t write_samples[kCount], empty_samples[kCount];
    static const char text[] = "consolebench ..\n";
    for (int i = 0; i < kCount; ++i) {
        tern::proto::CallParts parts;
        parts.in_data = {reinterpret_cast<const uint8_t*>(text), 16};
        uint64_t t0 = rdtsc();
        auto r = tern::proto::call<tern::console::Write>(console.value(), {}, parts);
        uint64_t t1 = rdtsc();
        // Nothing to write: the cheapest full round trip.
        auto f = tern::proto::call<tern::console::Write>(console.value(), {});
        uint64_t t2 = rdtsc();
        if (r.is_error() || f.is_error())
            return 1;
        write_samples[i] = t1 - t0;
        empty_samples[i] = t2 - t1;
    }
    sort(write_samples, kCount);
    sort(empty_samples, kCount);
    tern::println("console.write_16: {} instructions", write_samples[kCount / 2]);
    tern::println("console.empty_write_call: {} instructions", empty_samples[kCount / 2]);
    return 0;
}

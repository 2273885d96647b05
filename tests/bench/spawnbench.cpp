// spawnbench [count]: spawn+wait of /bin/true through proc, `count` times (default 50),
// printing the first (proc maps the program then), the minimum and the median in rdtsc
// ticks, which are guest instructions under QEMU's -icount (tools/bench.py runs it that
// way).
#include "bench_support.h"
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/startup.h>

using bench::rdtsc;
using bench::sort;

extern "C" int main(uint64_t) {
    int count = 50;
    if (tern::argc() > 1) {
        auto n = base::parse_u64(tern::argv()[1]);
        if (!n.has_value() || *n < 1 || *n > 1000) {
            tern::println("usage: spawnbench [1..1000]");
            return 2;
        }
        count = int(*n);
    }
    static uint64_t samples[1000];
    const char* argv[] = {"true", nullptr};
    for (int i = 0; i < count; ++i) {
        uint64_t t0 = rdtsc();
        auto pid = tern::spawn("true", argv);
        if (pid.is_error()) {
            tern::println("spawnbench: spawn failed: {}", base::error_name(pid.error()));
            return 1;
        }
        auto status = tern::wait(pid.value());
        uint64_t t1 = rdtsc();
        if (status.is_error() || status.value() != 0) {
            tern::println("spawnbench: true did not exit 0");
            return 1;
        }
        samples[i] = t1 - t0;
    }
    // The first start maps the program from bootfs; proc keeps the mapping for the rest.
    tern::println("proc.spawn_wait_true.first: {} instructions", samples[0]);
    sort(samples, count);
    tern::println("proc.spawn_wait_true.min: {} instructions", samples[0]);
    tern::println("proc.spawn_wait_true.median: {} instructions", samples[count / 2]);
    return 0;
}

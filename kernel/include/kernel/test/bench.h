#pragma once
namespace kernel {
// Runs every benchmark, prints `name: value unit` lines and `BENCH DONE`, and stops the
// machine (isa-debug-exit: pass when every benchmark ran).
[[noreturn]] void run_benchmarks();
// Fuzz mode: runs the `fuzz` program for `iterations` random syscalls; passes when the
// kernel survives and the program exits 0.
[[noreturn]] void run_fuzzer(uint64_t iterations, uint64_t seed);
} // namespace kernel

# The syscall fuzzer and a smoke run of the benchmarks, as system tests. Included from
# tests/system/CMakeLists.txt, which defines tern_system_test().

# The syscall fuzzer (tests/hostile/fuzz.cpp) through tools/fuzz.py, as `./tern fuzz`
# runs it: 20000 calls with a new random seed each run, printed with the command that
# replays it. It passes when the kernel survives, every result is an error code or a
# value of the right kind, and no kernel object or page outlives the fuzzing task. About
# 10 s under TCG; the timeout leaves room for a slow, busy CI machine.
add_test(NAME system.fuzz COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/fuzz.py
  --iso ${TERN_ISO} --calls 20000 --timeout 150)
set_tests_properties(system.fuzz PROPERTIES LABELS system TIMEOUT 300)

# Bench mode under -icount, as tools/bench.py runs it: the kernel's and the user-space
# benchmarks all run to the end, and the last figure (which needs the cross-task IPC and
# null-syscall figures) is printed. About 6 s.
tern_system_test(bench_smoke 120 --cmdline "mode=bench log=warn" --icount
  --expect "^user\\.null_syscall: [0-9]+ instructions"
  --expect "^ipc\\.cross_task\\.call_reply_4096: [0-9]+ instructions"
  --expect "^vm\\.pager_fault: [0-9]+ instructions"
  --expect "^ipc\\.ratio_call_reply_to_null_syscall: [0-9]+\\.[0-9][0-9] ratio"
  --expect "^libc\\.malloc_free_64: [0-9]+ instructions"
  --expect "^BENCH DONE$" --expect-status 33)

# Every benchmark figure against the committed baseline (bench/baseline.txt): a figure
# worse than its tolerance, or one that is no longer printed, fails. About 10 s. The
# Linux peer run and the wall-time boots (info figures only, minutes) are left to
# ./tern bench.
add_test(NAME bench.check COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/bench.py
  --iso ${TERN_ISO} --check --no-linux --wall 0)
set_tests_properties(bench.check PROPERTIES LABELS bench TIMEOUT 300)

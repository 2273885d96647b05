# Registers one CTest test per harness in the host build (label fuzz). Each run starts from
# a fresh corpus directory that the harness fills with its seeds (TERN_FUZZ_SEEDS, read in
# LLVMFuzzerInitialize) and stops after a bounded time; a crash, a leak or a sanitizer
# report makes libFuzzer exit non-zero and fails the test.
# TERN_FUZZ_BINARY_DIR: where the fuzz project built the harnesses.
include(${CMAKE_CURRENT_LIST_DIR}/harnesses.cmake)
set(TERN_FUZZ_SECONDS 10 CACHE STRING "Seconds each fuzz test runs its harness")
foreach(name ${TERN_FUZZ_HARNESSES})
  set(corpus ${CMAKE_BINARY_DIR}/fuzz-corpus/${name})
  add_test(NAME fuzz.${name}
    COMMAND sh -c "rm -rf '${corpus}' && mkdir -p '${corpus}' '${CMAKE_BINARY_DIR}/fuzz-crashes' && TERN_FUZZ_SEEDS='${corpus}' '${TERN_FUZZ_BINARY_DIR}/${name}' -max_total_time=${TERN_FUZZ_SECONDS} -max_len=16384 -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix='${CMAKE_BINARY_DIR}/fuzz-crashes/${name}-' '${corpus}'")
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 60)
endforeach()

# The Open POSIX Test Suite on the host's Linux, beside the same tests on Tern
# (tests/posix-suite/os.cmake builds Tern's side; tools/posix_suite.py runs both). Included
# from cmake/host.cmake when the OS image is built.
#
# The host's side is built with the host's clang and C library (glibc, linked with
# ld.lld as on Tern so a missing symbol is reported the same way), in two variants as on
# Tern: `full` for ./tern posix-suite and `subset` for the CTest test posix.suite.
# Neither is part of the default build: the test's fixture posix.build builds the subset
# and the subset image.

if(NOT TERN_POSIX_SUITE_DIR OR NOT EXISTS "${TERN_POSIX_SUITE_DIR}/.tern-source")
  message(FATAL_ERROR "tests/posix-suite/host.cmake: no unpacked posixtestsuite source at "
    "'${TERN_POSIX_SUITE_DIR}'. Run ./tern setup, or configure with "
    "-DTERN_POSIX_SUITE_DIR=<the unpacked posixtestsuite-1.5.2 tree>.")
endif()

find_program(TERN_POSIX_HOST_CC NAMES clang cc REQUIRED)
find_program(TERN_POSIX_HOST_OBJCOPY NAMES llvm-objcopy llvm-objcopy-14 REQUIRED)
set(posix_dir ${TERN_ROOT}/tests/posix-suite)
set(posix_subset ${posix_dir}/ctest-subset.txt)
set(posix_cc ${TERN_POSIX_HOST_CC})
if(CMAKE_C_COMPILER_LAUNCHER)
  set(posix_cc "${CMAKE_C_COMPILER_LAUNCHER} ${TERN_POSIX_HOST_CC}")
endif()
cmake_host_system_information(RESULT posix_jobs QUERY NUMBER_OF_LOGICAL_CORES)

foreach(variant full subset)
  set(out ${CMAKE_BINARY_DIR}/posix-suite/${variant})
  set(subset_args "")
  if(variant STREQUAL "subset")
    set(subset_args --subset ${posix_subset})
  endif()
  add_custom_command(OUTPUT ${out}/posixsuite ${out}/manifest.txt
    COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/posix_suite.py build --side host
            --source ${TERN_POSIX_SUITE_DIR} --out ${out} --runner ${posix_dir}/runner.c
            --cc ${posix_cc} --cflags "-std=gnu99 -D_XOPEN_SOURCE=600 -O2 -w"
            --ldflags "-fuse-ld=lld -lpthread -lrt -lm" --objcopy ${TERN_POSIX_HOST_OBJCOPY}
            --jobs ${posix_jobs} ${subset_args}
    DEPENDS ${TERN_POSIX_SUITE_DIR}/.tern-source ${posix_dir}/runner.c ${posix_subset}
            ${TERN_ROOT}/tools/posix_suite.py
    COMMENT "Building the Open POSIX Test Suite (${variant}) for the host"
    VERBATIM)
  # Both sides and the image: the OS build is its own CMake tree (tern_os).
  add_custom_target(posix_suite_${variant}
    COMMAND ${CMAKE_COMMAND} --build ${TERN_OS_BINARY_DIR} --target posix_iso_${variant}
    DEPENDS ${out}/posixsuite tern_os
    USES_TERMINAL)
  set_target_properties(posix_suite_${variant} PROPERTIES EXCLUDE_FROM_ALL ON)
endforeach()

# posix.suite: the subset on both sides, each test limited to 20 s; it fails when a test
# of tests/posix-suite/tern-passes.txt does not pass on Tern.
add_test(NAME posix.build
  COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target posix_suite_subset)
set_tests_properties(posix.build PROPERTIES LABELS posix TIMEOUT 600
  FIXTURES_SETUP posix_suite)
add_test(NAME posix.suite
  COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/posix_suite.py run
          --tern-dir ${TERN_OS_BINARY_DIR}/posix-suite/subset
          --host-dir ${CMAKE_BINARY_DIR}/posix-suite/subset
          --iso ${TERN_OS_BINARY_DIR}/tern-posix-subset.iso
          --subset ${posix_subset} --expected ${posix_dir}/tern-passes.txt
          --limit 20 --timeout 280)
set_tests_properties(posix.suite PROPERTIES LABELS posix TIMEOUT 600
  FIXTURES_REQUIRED posix_suite)

# Host build: unit tests (Catch2, ASan/UBSan), tools, the OS image as an ExternalProject,
# and the QEMU system tests.
include(CTest)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_C_STANDARD 11)

option(TERN_HOST_ONLY "Build only the host unit tests (no OS image, no system tests)" OFF)

set(TERN_SANITIZE -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
add_compile_options(-Wall -Wextra -g -O1 ${TERN_SANITIZE})
add_link_options(${TERN_SANITIZE})

# Portable code shared with the kernel: the support library, the ABI tree, and the kernel
# parts that do not touch the hardware. The same sources are compiled into the kernel.
include(${TERN_ROOT}/cmake/portable_sources.cmake)
add_library(tern_portable STATIC ${TERN_PORTABLE_SOURCES} ${TERN_USER_PORTABLE_SOURCES})
target_include_directories(tern_portable PUBLIC
  ${TERN_ROOT}/abi/include ${TERN_ROOT}/base/include ${TERN_ROOT}/kernel/include ${TERN_ROOT}/lib/include
  ${TERN_ROOT})
# Portable driver and server code speaks the protocols (<tern/protocols/...>), declared in
# the native runtime's include tree; last, so a test's fakes still come first.
target_include_directories(tern_portable PUBLIC ${TERN_ROOT}/libc/native/include)
target_compile_definitions(tern_portable PUBLIC TERN_HOST_TEST=1)

add_subdirectory(tests/unit)
add_subdirectory(tests/sim)
add_subdirectory(tools/hub)
add_subdirectory(bench)

# libFuzzer harnesses (tests/fuzz): their own CMake project, configured with clang++ since
# libFuzzer comes with clang, whatever compiler this build uses.
find_program(TERN_FUZZ_CXX NAMES clang++ REQUIRED)
include(ExternalProject)
set(TERN_FUZZ_BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz)
ExternalProject_Add(tern_fuzz
  SOURCE_DIR ${TERN_ROOT}/tests/fuzz
  BINARY_DIR ${TERN_FUZZ_BINARY_DIR}
  CMAKE_GENERATOR ${CMAKE_GENERATOR}
  CMAKE_ARGS -DCMAKE_CXX_COMPILER=${TERN_FUZZ_CXX} -DCMAKE_BUILD_TYPE=
  INSTALL_COMMAND ""
  BUILD_ALWAYS ON)
include(${TERN_ROOT}/tests/fuzz/tests.cmake)

# A tree configured before Lua and BusyBox joined the source packages finds them in the
# cache.
if(NOT TERN_LUA_DIR AND TERN_SOURCE_CACHE)
  set(TERN_LUA_DIR ${TERN_SOURCE_CACHE}/lua5.4-5.4.4)
endif()
if(NOT TERN_BUSYBOX_DIR AND TERN_SOURCE_CACHE)
  set(TERN_BUSYBOX_DIR ${TERN_SOURCE_CACHE}/busybox-1.35.0)
endif()
if(NOT TERN_POSIX_SUITE_DIR AND TERN_SOURCE_CACHE)
  set(TERN_POSIX_SUITE_DIR ${TERN_SOURCE_CACHE}/posixtestsuite-1.5.2)
endif()
# Lua built for the host, running the scripts of tests/lua (unit.lua_on_host), and
# BusyBox built for the host, running its own test suite (unit.busybox_testsuite_on_host).
include(${TERN_ROOT}/cmake/lua.cmake)
include(${TERN_ROOT}/cmake/busybox.cmake)

if(NOT TERN_HOST_ONLY)
  # A tree configured before libsodium joined the source packages finds it in the cache.
  if(NOT TERN_SODIUM_DIR AND TERN_SOURCE_CACHE)
    set(TERN_SODIUM_DIR ${TERN_SOURCE_CACHE}/libsodium-1.0.18)
  endif()
  set(TERN_OS_BINARY_DIR ${CMAKE_BINARY_DIR}/os)
  ExternalProject_Add(tern_os
    SOURCE_DIR ${TERN_ROOT}
    BINARY_DIR ${TERN_OS_BINARY_DIR}
    CMAKE_GENERATOR ${CMAKE_GENERATOR}
    CMAKE_ARGS -DCMAKE_TOOLCHAIN_FILE=${TERN_ROOT}/toolchain.cmake
               -DCMAKE_BUILD_TYPE=RelWithDebInfo
               -DTERN_MUSL_DIR=${TERN_MUSL_DIR}
               -DTERN_LWIP_DIR=${TERN_LWIP_DIR}
               -DTERN_SODIUM_DIR=${TERN_SODIUM_DIR}
               -DTERN_LUA_DIR=${TERN_LUA_DIR}
               -DTERN_BUSYBOX_DIR=${TERN_BUSYBOX_DIR}
               -DTERN_POSIX_SUITE_DIR=${TERN_POSIX_SUITE_DIR}
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    USES_TERMINAL_BUILD ON)
  add_subdirectory(tests/system)
  # The Open POSIX Test Suite on Tern and on the host (./tern posix-suite, posix.suite).
  include(${TERN_ROOT}/tests/posix-suite/host.cmake)
endif()
add_subdirectory(tests/cluster)

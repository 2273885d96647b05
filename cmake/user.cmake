# Native user programs: the runtime library (crt0, heap, console output, base library)
# and tern_user_program(), which links a static ELF that the kernel loads as a boot module.
#
# Included from cmake/os.cmake, so the toolchain's freestanding flags (stack protector
# with a global guard, no PIC) already apply. User code runs in ring 3 with the normal
# small code model; unlike the kernel it may use SSE (the kernel saves FPU state) and the
# red zone.

set(TERN_USER_LD ${TERN_ROOT}/libc/native/user.ld)
set(TERN_USER_OUTPUT_DIR ${CMAKE_BINARY_DIR}/user)

# -ffunction-sections/-fdata-sections let --gc-sections drop unused runtime and base code
# from each program. Unwind tables are not generated: there are no exceptions, and with
# -g the compiler still emits .debug_frame for debuggers.
set(TERN_USER_FLAGS -O2 -g -ffunction-sections -fdata-sections
  -fno-asynchronous-unwind-tables -fno-unwind-tables)

file(GLOB TERN_BASE_SOURCES CONFIGURE_DEPENDS ${TERN_ROOT}/base/src/*.cpp)

# The parts of the native runtime that C programs on musl link too (cmake/musl.cmake):
# the startup block, the protocol client and the name lookups.
set(TERN_NATIVE_SHARED_SOURCES
  ${TERN_ROOT}/libc/native/startup.cpp
  ${TERN_ROOT}/libc/native/protocol_client.cpp
  ${TERN_ROOT}/libc/native/ipc_regs.S
  ${TERN_ROOT}/libc/native/services.cpp)
add_library(tern_user_rt STATIC
  ${TERN_ROOT}/libc/native/crt0.S
  ${TERN_ROOT}/libc/native/runtime.cpp
  ${TERN_ROOT}/libc/native/heap.cpp
  ${TERN_ROOT}/libc/native/print.cpp
  ${TERN_ROOT}/libc/native/string.cpp
  ${TERN_ROOT}/libc/native/protocol_server.cpp
  ${TERN_ROOT}/libc/native/spawn.cpp
  ${TERN_ROOT}/libc/native/process.cpp
  ${TERN_NATIVE_SHARED_SOURCES}
  ${TERN_LIB_SOURCES}
  ${TERN_BASE_SOURCES})
# Server protocols are <tern/protocols/<name>.h> in the native include root; lib/include
# holds what user space shares with the kernel (the ELF validator, the ustar reader, the
# spawn data); TERN_ROOT reaches each program's own portable/ folder.
target_include_directories(tern_user_rt PUBLIC
  ${TERN_ROOT}/abi/include ${TERN_ROOT}/base/include ${TERN_ROOT}/libc/native/include
  ${TERN_ROOT}/lib/include ${TERN_ROOT})
target_compile_options(tern_user_rt PUBLIC $<$<COMPILE_LANGUAGE:CXX,C>:${TERN_USER_FLAGS}>)
target_compile_definitions(tern_user_rt PUBLIC TERN_USER=1)
set_target_properties(tern_user_rt PROPERTIES
  ARCHIVE_OUTPUT_DIRECTORY ${TERN_USER_OUTPUT_DIR}/lib)

# tern_user_program(<name> SOURCES <file>... [BOOTFS])
#
# BOOTFS: the program goes into the boot file system archive as /bin/<name> (property
# TERN_BOOTFS_PROGRAMS) instead of being a GRUB module of its own.
#
# Builds ${CMAKE_BINARY_DIR}/user/<name>.elf (target <name>.elf) and appends its path to
# the global property TERN_BOOT_MODULES and its target to TERN_BOOT_MODULE_TARGETS, so
# the image rule can copy the file and depend on the target.
#
# The runtime is an archive, yet crt0 is always linked: ld.lld treats the ENTRY symbol
# (_start) as an undefined reference and pulls the member that defines it.
function(tern_user_program name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "BOOTFS" "" "SOURCES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "tern_user_program(${name}): no SOURCES given")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "tern_user_program(${name}): unexpected ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  set(target ${name}.elf)
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE tern_user_rt)
  # --orphan-handling=error: a section user.ld does not place (thread-local data, for
  # one) is a link error rather than a segment the kernel would load wrongly.
  # -z norelro: the script has no RELRO segment; read-only data is simply read-only.
  # SHELL: keeps CMake from merging the repeated -z into one.
  target_link_options(${target} PRIVATE
    -T ${TERN_USER_LD} "SHELL:-z max-page-size=4096" "SHELL:-z norelro" --gc-sections
    --orphan-handling=error)
  set_target_properties(${target} PROPERTIES
    LINK_DEPENDS ${TERN_USER_LD}
    RUNTIME_OUTPUT_DIRECTORY ${TERN_USER_OUTPUT_DIR})
  if(ARG_BOOTFS)
    set_property(GLOBAL APPEND PROPERTY TERN_BOOTFS_PROGRAMS ${TERN_USER_OUTPUT_DIR}/${target})
  else()
    set_property(GLOBAL APPEND PROPERTY TERN_BOOT_MODULES ${TERN_USER_OUTPUT_DIR}/${target})
  endif()
  set_property(GLOBAL APPEND PROPERTY TERN_BOOT_MODULE_TARGETS ${target})
endfunction()

# Test and benchmark programs the kernel loads as boot modules (its self-tests and the
# bench and fuzz modes run them):
# - tests/kernel-abi/<family>.cpp: the syscall contract of one family, checked from ring 3
#   on the shared harness; boot module abi_<family>.
# - tests/hostile/, tests/runtime/ and tests/bench/bench.cpp: attacks and the fuzzer, the
#   native runtime, the IPC benchmark; each file is the boot module of its name.
file(GLOB TERN_KERNEL_ABI_TESTS CONFIGURE_DEPENDS ${TERN_ROOT}/tests/kernel-abi/*.cpp)
list(REMOVE_ITEM TERN_KERNEL_ABI_TESTS ${TERN_ROOT}/tests/kernel-abi/harness.cpp)
foreach(source ${TERN_KERNEL_ABI_TESTS})
  get_filename_component(name ${source} NAME_WE)
  tern_user_program(abi_${name} SOURCES ${source} ${TERN_ROOT}/tests/kernel-abi/harness.cpp)
endforeach()
file(GLOB TERN_USER_TEST_PROGRAMS CONFIGURE_DEPENDS ${TERN_ROOT}/tests/hostile/*.cpp
  ${TERN_ROOT}/tests/runtime/*.cpp)
list(APPEND TERN_USER_TEST_PROGRAMS ${TERN_ROOT}/tests/bench/bench.cpp)
foreach(source ${TERN_USER_TEST_PROGRAMS})
  get_filename_component(name ${source} NAME_WE)
  tern_user_program(${name} SOURCES ${source})
endforeach()

# Test programs that need the running system (proc, the name server), in the boot file
# system as /bin/<name>: tests/servers/<name>.cpp and the benchmarks of servers and spawn.
# The native API guide's examples (docs/examples/<name>.cpp) are built and shipped the
# same way, so the guide's code always compiles and a session test runs it.
file(GLOB TERN_SYSTEM_TEST_PROGRAMS CONFIGURE_DEPENDS ${TERN_ROOT}/tests/servers/*.cpp
  ${TERN_ROOT}/docs/examples/*.cpp)
list(APPEND TERN_SYSTEM_TEST_PROGRAMS ${TERN_ROOT}/tests/bench/consolebench.cpp
  ${TERN_ROOT}/tests/bench/spawnbench.cpp)
foreach(source ${TERN_SYSTEM_TEST_PROGRAMS})
  get_filename_component(name ${source} NAME_WE)
  tern_user_program(${name} SOURCES ${source} BOOTFS)
endforeach()

# Servers (servers/<name>/main.cpp) and native programs (programs/<name>/main.cpp), each
# with the rest of its folder and its portable/ part. init is the GRUB module the kernel
# starts; every other one goes into the boot file system as /bin/<name>.
file(GLOB TERN_SYSTEM_PROGRAMS CONFIGURE_DEPENDS ${TERN_ROOT}/servers/*/main.cpp
  ${TERN_ROOT}/programs/*/main.cpp)
foreach(source ${TERN_SYSTEM_PROGRAMS})
  get_filename_component(dir ${source} DIRECTORY)
  get_filename_component(name ${dir} NAME)
  file(GLOB program_sources CONFIGURE_DEPENDS ${dir}/*.cpp ${dir}/portable/*.cpp)
  if(name STREQUAL "init")
    tern_user_program(${name} SOURCES ${program_sources})
  else()
    tern_user_program(${name} SOURCES ${program_sources} BOOTFS)
  endif()
endforeach()

# Drivers (drivers/<name>/main.cpp, or drivers/net/<name>/main.cpp for network cards, with
# the rest of their folder and its portable/ part), in the boot file system as /bin/<name>
# like the servers, on the driver library (drivers/lib: port I/O, MMIO, DMA memory, the
# IRQ loop; included as <driver/...>) and the virtio library (drivers/virtio: the PCI
# transport and split virtqueues; included as <drivers/virtio/...>).
file(GLOB TERN_DRIVER_LIB_SOURCES CONFIGURE_DEPENDS ${TERN_ROOT}/drivers/lib/*.cpp
  ${TERN_ROOT}/drivers/virtio/*.cpp ${TERN_ROOT}/drivers/virtio/portable/*.cpp)
add_library(tern_driver_lib STATIC ${TERN_DRIVER_LIB_SOURCES})
target_link_libraries(tern_driver_lib PUBLIC tern_user_rt)
target_include_directories(tern_driver_lib PUBLIC ${TERN_ROOT}/drivers/lib/include)
set_target_properties(tern_driver_lib PROPERTIES
  ARCHIVE_OUTPUT_DIRECTORY ${TERN_USER_OUTPUT_DIR}/lib)
# Bus and device drivers sit in drivers/<name>/, NIC drivers in drivers/net/<name>/; each
# with its portable/ part, which the host tests build too.
file(GLOB TERN_DRIVERS CONFIGURE_DEPENDS ${TERN_ROOT}/drivers/*/main.cpp
  ${TERN_ROOT}/drivers/net/*/main.cpp)
foreach(source ${TERN_DRIVERS})
  get_filename_component(dir ${source} DIRECTORY)
  get_filename_component(name ${dir} NAME)
  file(GLOB driver_sources CONFIGURE_DEPENDS ${dir}/*.cpp ${dir}/portable/*.cpp)
  tern_user_program(${name} SOURCES ${driver_sources} BOOTFS)
  target_link_libraries(${name}.elf PRIVATE tern_driver_lib)
endforeach()

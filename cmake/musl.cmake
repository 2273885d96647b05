# musl, the C library of Tern's C programs, and tern_c_program(), which links a static C
# program against it as a boot module or a program in the boot file system (docs/libc.md).
#
# Included from cmake/os.cmake after cmake/user.cmake (it uses TERN_USER_OUTPUT_DIR,
# TERN_NATIVE_SHARED_SOURCES, TERN_BASE_SOURCES and the TERN_BOOT_MODULES and
# TERN_BOOTFS_PROGRAMS properties the image reads).
#
# musl is built from the source tree `./tern setup` unpacks into the cache (TERN_MUSL_DIR),
# never in it: the tree is copied into <build>/musl/tree once, Tern's overlay
# (libc/musl/overlay: syscall_arch.h routing every system call to the backend, and the
# replaced assembly) is laid over the copy, and musl's own configure and make build and
# install libc.a and its headers into <build>/musl/sysroot. Each step ends in a stamp, so
# a rebuild runs none of them unless its inputs changed, and musl's make then recompiles
# only what an overlay change touched.

if(NOT TERN_MUSL_DIR OR NOT EXISTS "${TERN_MUSL_DIR}/.tern-source")
  message(FATAL_ERROR "cmake/musl.cmake: no unpacked musl source at '${TERN_MUSL_DIR}'. "
    "Run ./tern setup, or configure with -DTERN_MUSL_DIR=<the unpacked musl-1.2.3 tree>.")
endif()

find_program(TERN_MAKE make REQUIRED)
find_program(TERN_MUSL_AR NAMES llvm-ar llvm-ar-14 REQUIRED)
find_program(TERN_MUSL_RANLIB NAMES llvm-ranlib llvm-ranlib-14 REQUIRED)

set(TERN_MUSL_BUILD_DIR ${CMAKE_BINARY_DIR}/musl)
set(TERN_MUSL_TREE ${TERN_MUSL_BUILD_DIR}/tree)
set(TERN_MUSL_SYSROOT ${TERN_MUSL_BUILD_DIR}/sysroot)
set(TERN_MUSL_LIBC ${TERN_MUSL_SYSROOT}/lib/libc.a)
set(TERN_MUSL_GENERATED ${TERN_MUSL_BUILD_DIR}/generated)
set(TERN_MUSL_TARGET x86_64-unknown-linux-musl)
set(TERN_MUSL_PREPARE ${TERN_ROOT}/libc/musl/prepare.cmake)
cmake_host_system_information(RESULT TERN_MUSL_JOBS QUERY NUMBER_OF_LOGICAL_CORES)
file(GLOB_RECURSE TERN_MUSL_OVERLAY CONFIGURE_DEPENDS ${TERN_ROOT}/libc/musl/overlay/*)

# 1. A private copy of the source, made again only when the cache's tree changes.
add_custom_command(OUTPUT ${TERN_MUSL_BUILD_DIR}/copied.stamp
  COMMAND ${CMAKE_COMMAND} -DMODE=copy -DSOURCE=${TERN_MUSL_DIR} -DTREE=${TERN_MUSL_TREE}
          -P ${TERN_MUSL_PREPARE}
  COMMAND ${CMAKE_COMMAND} -E touch ${TERN_MUSL_BUILD_DIR}/copied.stamp
  DEPENDS ${TERN_MUSL_DIR}/.tern-source
  COMMENT "Copying the musl source tree"
  VERBATIM)

# 2. musl's configure: clang for the Linux musl target (the ABI musl is written for; the
# backend turns its system calls into Tern's), static only, no musl-gcc wrapper.
add_custom_command(OUTPUT ${TERN_MUSL_TREE}/config.mak
  COMMAND ${CMAKE_COMMAND} -E env "CC=${CMAKE_C_COMPILER} --target=${TERN_MUSL_TARGET}"
          ./configure --target=x86_64 --disable-shared --disable-wrapper
          --prefix=${TERN_MUSL_SYSROOT} > ${TERN_MUSL_BUILD_DIR}/configure.log
  DEPENDS ${TERN_MUSL_BUILD_DIR}/copied.stamp
  WORKING_DIRECTORY ${TERN_MUSL_TREE}
  COMMENT "Configuring musl"
  VERBATIM)

# 3. Tern's files over the copy.
add_custom_command(OUTPUT ${TERN_MUSL_BUILD_DIR}/overlay.stamp
  COMMAND ${CMAKE_COMMAND} -DMODE=overlay -DOVERLAY=${TERN_ROOT}/libc/musl/overlay
          -DTREE=${TERN_MUSL_TREE} -P ${TERN_MUSL_PREPARE}
  COMMAND ${CMAKE_COMMAND} -E touch ${TERN_MUSL_BUILD_DIR}/overlay.stamp
  DEPENDS ${TERN_MUSL_BUILD_DIR}/copied.stamp ${TERN_MUSL_OVERLAY} ${TERN_MUSL_PREPARE}
  COMMENT "Applying Tern's musl overlay"
  VERBATIM)

# 4. musl's make: libc.a, the start files and the headers, installed into the sysroot.
# The stamp (not libc.a, which make leaves untouched when nothing changed) tells Ninja the
# step is done.
add_custom_command(OUTPUT ${TERN_MUSL_BUILD_DIR}/built.stamp
  BYPRODUCTS ${TERN_MUSL_LIBC} ${TERN_MUSL_SYSROOT}/include/bits/syscall.h
  COMMAND ${TERN_MAKE} -s -j${TERN_MUSL_JOBS} AR=${TERN_MUSL_AR} RANLIB=${TERN_MUSL_RANLIB}
          install-headers install-libs > ${TERN_MUSL_BUILD_DIR}/make.log
  COMMAND ${CMAKE_COMMAND} -E touch ${TERN_MUSL_BUILD_DIR}/built.stamp
  DEPENDS ${TERN_MUSL_TREE}/config.mak ${TERN_MUSL_BUILD_DIR}/overlay.stamp
  WORKING_DIRECTORY ${TERN_MUSL_TREE}
  COMMENT "Building musl (about half a minute the first time; see ${TERN_MUSL_BUILD_DIR}/make.log)"
  VERBATIM)

# The backend's syscall-name table, derived from the installed <bits/syscall.h>.
add_custom_command(OUTPUT ${TERN_MUSL_GENERATED}/syscall_names.h
  COMMAND ${CMAKE_COMMAND} -DINPUT=${TERN_MUSL_SYSROOT}/include/bits/syscall.h
          -DOUTPUT=${TERN_MUSL_GENERATED}/syscall_names.h
          -P ${TERN_ROOT}/libc/musl/syscall_names.cmake
  DEPENDS ${TERN_MUSL_BUILD_DIR}/built.stamp ${TERN_ROOT}/libc/musl/syscall_names.cmake
  COMMENT "Generating the Linux syscall name table"
  VERBATIM)

add_custom_target(tern_musl DEPENDS ${TERN_MUSL_BUILD_DIR}/built.stamp
  ${TERN_MUSL_GENERATED}/syscall_names.h)

# C code compiled against musl: the Linux musl target (the last --target wins over the
# toolchain's freestanding one), a hosted environment, and musl's headers instead of the
# compiler's, with the compiler's own headers (intrinsics, stdatomic) behind them. The
# toolchain's stack protector (global guard) stays: musl defines __stack_chk_guard and
# seeds it from AT_RANDOM. (SHELL: keeps CMake from merging the repeated -isystem.)
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-resource-dir
  OUTPUT_VARIABLE TERN_CLANG_RESOURCE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
set(TERN_MUSL_C_FLAGS --target=${TERN_MUSL_TARGET} -fhosted -fbuiltin -nostdinc
  "SHELL:-isystem ${TERN_MUSL_SYSROOT}/include"
  "SHELL:-isystem ${TERN_CLANG_RESOURCE_DIR}/include"
  -O2 -g -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
  -fno-unwind-tables)

# The program start (crt_tern.S, start.c), the syscall backend, its translation rules and
# file rules (portable/), and the native runtime's startup block, protocol client and name
# lookups (TERN_NATIVE_SHARED_SOURCES from cmake/user.cmake, with the base library they
# use), through which services.cpp reaches the console and boot file system servers:
# linked into every C program beside libc.a. --gc-sections keeps what a program uses.
file(GLOB TERN_MUSL_PORTABLE_SOURCES CONFIGURE_DEPENDS ${TERN_ROOT}/libc/musl/portable/*.cpp)
add_library(tern_musl_rt STATIC
  ${TERN_ROOT}/libc/musl/crt_tern.S
  ${TERN_ROOT}/libc/musl/start.c
  ${TERN_ROOT}/libc/musl/backend.c
  ${TERN_ROOT}/libc/musl/backend_sockets.c
  ${TERN_ROOT}/libc/musl/backend_pipes.c
  ${TERN_ROOT}/libc/musl/backend_process.c
  ${TERN_ROOT}/libc/musl/backend_sysv.c
  ${TERN_ROOT}/libc/musl/backend_mq.c
  ${TERN_ROOT}/libc/musl/backend_system.c
  ${TERN_ROOT}/libc/musl/backend_threads.c
  ${TERN_ROOT}/libc/musl/backend_signal.c
  ${TERN_ROOT}/libc/musl/backend_timer.c
  ${TERN_ROOT}/libc/musl/backend_sched.c
  ${TERN_ROOT}/libc/musl/backend_limits.c
  ${TERN_ROOT}/libc/musl/backend_exec.c
  ${TERN_ROOT}/libc/musl/exec_client.cpp
  ${TERN_ROOT}/libc/native/spawn.cpp
  ${TERN_LIB_KERNEL_SOURCES}
  ${TERN_ROOT}/libc/musl/backend_misc.c
  ${TERN_ROOT}/libc/musl/sysv_client.cpp
  ${TERN_ROOT}/libc/musl/signal_client.cpp
  ${TERN_ROOT}/libc/musl/services.cpp
  ${TERN_ROOT}/libc/musl/net_client.cpp
  ${TERN_MUSL_PORTABLE_SOURCES}
  ${TERN_NATIVE_SHARED_SOURCES}
  ${TERN_BASE_SOURCES}
  ${TERN_MUSL_GENERATED}/syscall_names.h)
add_dependencies(tern_musl_rt tern_musl)
target_include_directories(tern_musl_rt
  PUBLIC ${TERN_ROOT}/libc/musl/include
  PRIVATE ${TERN_ROOT} ${TERN_ROOT}/abi/include ${TERN_ROOT}/base/include
          ${TERN_ROOT}/libc/native/include ${TERN_ROOT}/lib/include ${TERN_MUSL_GENERATED})
target_compile_options(tern_musl_rt PRIVATE
  $<$<COMPILE_LANGUAGE:C>:${TERN_MUSL_C_FLAGS}>
  $<$<COMPILE_LANGUAGE:CXX>:-O2 -g -ffunction-sections -fdata-sections
    -fno-asynchronous-unwind-tables -fno-unwind-tables>)
set_target_properties(tern_musl_rt PROPERTIES
  ARCHIVE_OUTPUT_DIRECTORY ${TERN_MUSL_BUILD_DIR}/lib)

set(TERN_MUSL_LD ${TERN_ROOT}/libc/musl/musl.ld)
if(NOT TERN_USER_OUTPUT_DIR)
  set(TERN_USER_OUTPUT_DIR ${CMAKE_BINARY_DIR}/user)
endif()

# tern_c_program(<name> SOURCES <file.c>... [BOOTFS])
#
# Builds ${CMAKE_BINARY_DIR}/user/<name>.elf (target <name>.elf), a static C program on
# musl whose argv[0] (without a startup block) is <name>, and registers it as the boot
# module <name> (TERN_BOOT_MODULES and TERN_BOOT_MODULE_TARGETS, as tern_user_program
# does). C only: there is no C++ standard library on musl here.
#
# BOOTFS: the program goes into the boot file system archive as /bin/<name> (property
# TERN_BOOTFS_PROGRAMS, as tern_user_program's BOOTFS) instead of being a GRUB module of
# its own.
function(tern_c_program name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "BOOTFS" "" "SOURCES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "tern_c_program(${name}): no SOURCES given")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "tern_c_program(${name}): unexpected ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  set(target ${name}.elf)
  # start.c takes argv[0] from this symbol when the program has no startup block.
  set(name_source ${TERN_MUSL_GENERATED}/program_names/${name}.c)
  file(GENERATE OUTPUT ${name_source}
    CONTENT "/* Generated by tern_c_program (cmake/musl.cmake). */\nconst char __tern_program_name[] = \"${name}\";\n")
  add_executable(${target} ${ARG_SOURCES} ${name_source})
  add_dependencies(${target} tern_musl)
  target_compile_options(${target} PRIVATE ${TERN_MUSL_C_FLAGS})
  target_link_libraries(${target} PRIVATE tern_musl_rt ${TERN_MUSL_LIBC})
  # As tern_user_program: a section the script does not place is a link error, the
  # script has no RELRO segment, and unused code is dropped.
  target_link_options(${target} PRIVATE
    -T ${TERN_MUSL_LD} "SHELL:-z max-page-size=4096" "SHELL:-z norelro" --gc-sections
    --orphan-handling=error)
  set_target_properties(${target} PROPERTIES
    LINK_DEPENDS "${TERN_MUSL_LD};${TERN_MUSL_LIBC}"
    RUNTIME_OUTPUT_DIRECTORY ${TERN_USER_OUTPUT_DIR})
  if(ARG_BOOTFS)
    set_property(GLOBAL APPEND PROPERTY TERN_BOOTFS_PROGRAMS ${TERN_USER_OUTPUT_DIR}/${target})
  else()
    set_property(GLOBAL APPEND PROPERTY TERN_BOOT_MODULES ${TERN_USER_OUTPUT_DIR}/${target})
  endif()
  set_property(GLOBAL APPEND PROPERTY TERN_BOOT_MODULE_TARGETS ${target})
endfunction()

# Test and benchmark programs on the C library: every tests/libc/<name>.c, and
# tests/bench/libc_bench.c, is one program, loaded as the boot module <name>; the socket
# and descriptor tests need the network server and the console, which run only in a
# booted system, so they go into the boot file system as /bin/sockets and /bin/posix_fds
# for a shell session to run; so do the file test, which needs the tmpfs server
# (/bin/posix_files), the fork test, whose children are processes of the proc server
# (/bin/forktest), the System V IPC test (/bin/sysv), which needs the ipc server, and the
# threads test (/bin/pthreads), which forks too, the signal and job control tests
# (/bin/posix_signals, /bin/posix_jobctl) and the fault test (/bin/posix_faults), whose
# signals, stops and faults go through proc, the exec test (/bin/posix_exec), which execs
# itself from /bin, the test of times, owners and
# CPU clocks (/bin/posix_misc), which needs tmpfs, the file mapping and shared memory test
# (/bin/posix_shm), which needs tmpfs and execs itself, the POSIX message queue test
# (/bin/posix_mq), which needs the ipc server, the terminal test (/bin/posix_termios),
# which needs the console and input typed at it, the POSIX timer test
# (/bin/posix_timers) and the thread signal test (/bin/posix_threadsig), whose signals go
# through proc, the shared description test (/bin/posix_fdshare), which forks, execs
# itself from /bin and writes to tmpfs, and the errno table (/bin/errno_table), whose rows
# fork and use tmpfs.
file(GLOB TERN_C_TEST_PROGRAMS CONFIGURE_DEPENDS ${TERN_ROOT}/tests/libc/*.c)
foreach(name sockets posix_fds posix_files forktest sysv pthreads posix_signals posix_exec
             posix_misc posix_shm posix_mq posix_termios posix_jobctl posix_faults
             posix_timers posix_fdshare posix_threadsig errno_table posix_locks)
  list(REMOVE_ITEM TERN_C_TEST_PROGRAMS ${TERN_ROOT}/tests/libc/${name}.c)
  tern_c_program(${name} SOURCES ${TERN_ROOT}/tests/libc/${name}.c BOOTFS)
endforeach()
list(APPEND TERN_C_TEST_PROGRAMS ${TERN_ROOT}/tests/bench/libc_bench.c)
foreach(source ${TERN_C_TEST_PROGRAMS})
  get_filename_component(name ${source} NAME_WE)
  tern_c_program(${name} SOURCES ${source})
endforeach()

# The network benchmark's TCP program: the same source runs in the Linux peer VMs
# (tools/linux_vm.py), so `./tern bench net` compares the systems with one program.
tern_c_program(tcpbench SOURCES ${TERN_ROOT}/bench/net/tcpbench.c BOOTFS)

# C programs of the system (programs/<name>/main.c, with the other .c files of their
# folder): each goes into the boot file system as /bin/<name>.
file(GLOB TERN_C_SYSTEM_PROGRAMS CONFIGURE_DEPENDS ${TERN_ROOT}/programs/*/main.c)
foreach(source ${TERN_C_SYSTEM_PROGRAMS})
  get_filename_component(dir ${source} DIRECTORY)
  get_filename_component(name ${dir} NAME)
  file(GLOB program_sources CONFIGURE_DEPENDS ${dir}/*.c)
  tern_c_program(${name} SOURCES ${program_sources} BOOTFS)
endforeach()

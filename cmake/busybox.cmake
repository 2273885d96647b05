# BusyBox 1.35.0 on Tern's musl: /bin/busybox in the boot file system; and the same
# configuration built for the host's Linux, where BusyBox's own test suite runs
# (unit.busybox_testsuite_on_host).
#
# Included from cmake/os.cmake after cmake/musl.cmake (it links against the musl sysroot,
# libc.a and the backend library tern_musl_rt that tern_c_program uses), and from
# cmake/host.cmake.
#
# BusyBox is built by its own Kbuild, out of tree (O=<build>/busybox), from the tree
# `./tern setup` unpacks into the cache (TERN_BUSYBOX_DIR); nothing is written there. The
# configuration is Tern's fragment programs/busybox/busybox.config laid over BusyBox's
# allnoconfig (tools/busybox_config.py), plus the compiler flags of every C program on
# musl (TERN_MUSL_C_FLAGS, the toolchain's stack protector and non-PIC code) and the
# link tern_c_program does (musl.ld, the backend, libc.a), which BusyBox's
# scripts/trylink performs through the compiler driver with ld.lld.

if(NOT TERN_BUSYBOX_DIR OR NOT EXISTS "${TERN_BUSYBOX_DIR}/.tern-source")
  message(FATAL_ERROR "cmake/busybox.cmake: no unpacked BusyBox source at '${TERN_BUSYBOX_DIR}'. "
    "Run ./tern setup, or configure with -DTERN_BUSYBOX_DIR=<the unpacked busybox-1.35.0 tree>.")
endif()

find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_program(TERN_HOST_CC NAMES clang cc REQUIRED)
find_program(TERN_MAKE make REQUIRED)
set(TERN_BUSYBOX_FRAGMENT ${TERN_ROOT}/programs/busybox/busybox.config)

if(NOT TERN_OS_BUILD)
  # The host's BusyBox: the same fragment, the host's clang and C library, no sanitizers.
  # It is built when its test needs it (the fixture unit.busybox_host_build), not by
  # every build: a first build takes a few minutes.
  set(host_dir ${CMAKE_BINARY_DIR}/busybox-host)
  set(host_cc ${TERN_HOST_CC})
  if(CMAKE_C_COMPILER_LAUNCHER)
    set(host_cc "${CMAKE_C_COMPILER_LAUNCHER} ${TERN_HOST_CC}")
  endif()
  add_custom_command(OUTPUT ${host_dir}/configured.stamp
    COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/busybox_config.py
            --source ${TERN_BUSYBOX_DIR} --build ${host_dir} --fragment ${TERN_BUSYBOX_FRAGMENT}
            --make ${TERN_MAKE} --hostcc ${TERN_HOST_CC} --stamp ${host_dir}/configured.stamp
    DEPENDS ${TERN_BUSYBOX_DIR}/.tern-source ${TERN_BUSYBOX_FRAGMENT}
            ${TERN_ROOT}/tools/busybox_config.py ${TERN_ROOT}/cmake/busybox.cmake
    COMMENT "Configuring BusyBox for the host"
    VERBATIM)
  add_custom_command(OUTPUT ${host_dir}/busybox
    COMMAND ${TERN_MAKE} -s -j2 CC=${host_cc} HOSTCC=${TERN_HOST_CC} busybox
            > ${host_dir}/make.log 2>&1
    WORKING_DIRECTORY ${host_dir}
    DEPENDS ${host_dir}/configured.stamp
    COMMENT "Building BusyBox for the host (see ${host_dir}/make.log)"
    VERBATIM)
  add_custom_target(busybox_host DEPENDS ${host_dir}/busybox)
  set_target_properties(busybox_host PROPERTIES EXCLUDE_FROM_ALL ON)
  add_test(NAME unit.busybox_host_build
    COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target busybox_host)
  set_tests_properties(unit.busybox_host_build PROPERTIES LABELS unit TIMEOUT 900
    FIXTURES_SETUP busybox_host)
  # BusyBox's testsuite/runtest per applet, with a table of results; the failures must
  # all be in the list of known ones, each with its reason.
  add_test(NAME unit.busybox_testsuite_on_host
    COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/busybox_testsuite.py
            --source ${TERN_BUSYBOX_DIR} --build ${host_dir}
            --known-failures ${TERN_ROOT}/programs/busybox/testsuite-host-failures.txt
            --results ${host_dir}/testsuite-results.json)
  set_tests_properties(unit.busybox_testsuite_on_host PROPERTIES LABELS unit TIMEOUT 900
    FIXTURES_REQUIRED busybox_host)
  # The same suite on a Tern node (one boot; the suite unpacked into /tmp; runtest per
  # applet under ash, each bounded in time), in a table beside the host's results. The
  # failures must all be in the Tern list, each with its reason.
  if(NOT TERN_HOST_ONLY)
    add_test(NAME system.busybox_testsuite
      COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/busybox_testsuite.py
              --source ${TERN_BUSYBOX_DIR} --build ${host_dir}
              --tern-iso ${CMAKE_BINARY_DIR}/os/tern.iso
              --host-results ${host_dir}/testsuite-results.json
              --known-failures ${TERN_ROOT}/programs/busybox/testsuite-tern-failures.txt
              --timeout 60 --total-timeout 420)
    set_tests_properties(system.busybox_testsuite PROPERTIES LABELS system TIMEOUT 600
      FIXTURES_REQUIRED busybox_host DEPENDS unit.busybox_testsuite_on_host)
  endif()
  return()
endif()

find_program(TERN_BUSYBOX_AR NAMES llvm-ar llvm-ar-14 REQUIRED)
set(TERN_BUSYBOX_BUILD_DIR ${CMAKE_BINARY_DIR}/busybox)
set(TERN_BUSYBOX_CONFIG_STAMP ${TERN_BUSYBOX_BUILD_DIR}/configured.stamp)
set(TERN_BUSYBOX_ELF ${TERN_USER_OUTPUT_DIR}/busybox.elf)

# TERN_MUSL_C_FLAGS as one string, its SHELL: markers dropped.
string(REPLACE "SHELL:" "" busybox_cflags "${TERN_MUSL_C_FLAGS}")
string(REPLACE ";" " " busybox_cflags "${busybox_cflags}")
string(APPEND busybox_cflags
  " -fstack-protector-strong -mstack-protector-guard=global -fno-pic -fno-pie")
# The final link's flags: the compiler driver's in CFLAGS_busybox (the sysroot keeps the
# driver from searching the host's library directories), the linker's (all -Wl,...) in
# EXTRA_LDFLAGS. Kbuild's partial links (ld.lld -r) read EXTRA_LDFLAGS too, but without
# its -Wl, options, so they see none of these. The libraries: LDLIBS (which trylink may
# drop when the link works without them) is musl's libc alone, and CONFIG_EXTRA_LDLIBS
# (always linked) the backend; BusyBox's Makefile passes that one with its quotes, so
# it can name only one library.
set(busybox_link_cflags "-static -nostdlib -fuse-ld=lld --sysroot=${TERN_MUSL_SYSROOT}")
set(busybox_ldflags "-Wl,-T,${TERN_MUSL_LD} -Wl,-z,max-page-size=4096 -Wl,-z,norelro")
string(APPEND busybox_ldflags " -Wl,--build-id=none -Wl,--orphan-handling=error")
string(APPEND busybox_ldflags " -Wl,-L,${TERN_MUSL_BUILD_DIR}/lib -Wl,-L,${TERN_MUSL_SYSROOT}/lib")

add_custom_command(OUTPUT ${TERN_BUSYBOX_CONFIG_STAMP}
  COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/busybox_config.py
          --source ${TERN_BUSYBOX_DIR} --build ${TERN_BUSYBOX_BUILD_DIR}
          --fragment ${TERN_BUSYBOX_FRAGMENT} --make ${TERN_MAKE} --hostcc ${TERN_HOST_CC}
          --set CONFIG_EXTRA_CFLAGS=${busybox_cflags}
          --set CONFIG_EXTRA_LDLIBS=tern_musl_rt
          --stamp ${TERN_BUSYBOX_CONFIG_STAMP}
  DEPENDS ${TERN_BUSYBOX_DIR}/.tern-source ${TERN_BUSYBOX_FRAGMENT}
          ${TERN_ROOT}/tools/busybox_config.py ${TERN_ROOT}/cmake/busybox.cmake
  COMMENT "Configuring BusyBox"
  VERBATIM)

# Kbuild's make with Tern's tools. Kbuild knows its own sources; the link is redone
# whenever the C library changed (the old binary is removed so that Kbuild links again).
set(busybox_cc ${CMAKE_C_COMPILER})
if(CMAKE_C_COMPILER_LAUNCHER)
  set(busybox_cc "${CMAKE_C_COMPILER_LAUNCHER} ${CMAKE_C_COMPILER}")
endif()
set(TERN_BUSYBOX_MAKE_SCRIPT ${TERN_BUSYBOX_BUILD_DIR}/tern-make.sh)
file(GENERATE OUTPUT ${TERN_BUSYBOX_MAKE_SCRIPT} CONTENT "#!/bin/sh
# Generated by cmake/busybox.cmake: builds busybox_unstripped; make.log has the output.
rm -f busybox_unstripped
if ! ${TERN_MAKE} -s -j${TERN_MUSL_JOBS} 'CC=${busybox_cc}' 'HOSTCC=${TERN_HOST_CC}' 'LD=${TERN_LLD}' 'AR=${TERN_BUSYBOX_AR}' 'EXTRA_LDFLAGS=${busybox_ldflags}' 'CFLAGS_busybox=${busybox_link_cflags}' LDLIBS=c busybox_unstripped >make.log 2>&1; then
  grep -v '^  [A-Z]' make.log | tail -n 40
  exit 1
fi
")
add_custom_command(OUTPUT ${TERN_BUSYBOX_ELF}
  COMMAND sh ${TERN_BUSYBOX_MAKE_SCRIPT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${TERN_USER_OUTPUT_DIR}
  COMMAND ${CMAKE_COMMAND} -E copy ${TERN_BUSYBOX_BUILD_DIR}/busybox_unstripped
          ${TERN_BUSYBOX_ELF}
  WORKING_DIRECTORY ${TERN_BUSYBOX_BUILD_DIR}
  DEPENDS ${TERN_BUSYBOX_CONFIG_STAMP} ${TERN_BUSYBOX_MAKE_SCRIPT} tern_musl_rt
          ${TERN_MUSL_BUILD_DIR}/built.stamp ${TERN_MUSL_LD}
  COMMENT "Building BusyBox (a few minutes the first time; see ${TERN_BUSYBOX_BUILD_DIR}/make.log)"
  VERBATIM)
add_custom_target(busybox_elf DEPENDS ${TERN_BUSYBOX_ELF})

set_property(GLOBAL APPEND PROPERTY TERN_BOOTFS_PROGRAMS ${TERN_BUSYBOX_ELF})
set_property(GLOBAL APPEND PROPERTY TERN_BOOT_MODULE_TARGETS busybox_elf)

# The applets' links in /bin: BusyBox's own list of them for this configuration
# (applets/busybox.mkll, as `make busybox.links` writes it), each name a hard link to
# /bin/busybox in the boot archive (tools/mkbootfs.py --links), so that `ls` or `date`
# is found as /bin/<applet> by a PATH search and exec runs BusyBox with argv[0] the
# applet. A name a program of Tern's own already has in /bin (true, sleep, wc) keeps it.
set(TERN_BUSYBOX_LINKS ${TERN_BUSYBOX_BUILD_DIR}/busybox.links)
add_custom_command(OUTPUT ${TERN_BUSYBOX_LINKS}
  COMMAND ${CMAKE_COMMAND} -E env HOSTCC=${TERN_HOST_CC}
          sh ${TERN_BUSYBOX_DIR}/applets/busybox.mkll include/autoconf.h include/applets.h
          > ${TERN_BUSYBOX_LINKS}.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${TERN_BUSYBOX_LINKS}.tmp ${TERN_BUSYBOX_LINKS}
  WORKING_DIRECTORY ${TERN_BUSYBOX_BUILD_DIR}
  DEPENDS ${TERN_BUSYBOX_ELF}
  COMMENT "Listing BusyBox's applet links"
  VERBATIM)
set_property(GLOBAL APPEND PROPERTY TERN_BOOTFS_LINKS bin/busybox=${TERN_BUSYBOX_LINKS})

# BusyBox's own test suite and this build's .config for system.busybox_testsuite: one
# shell archive (the boot file system takes a bounded number of entries), unpacked on
# the node into tmpfs, where runtest can write (tools/busybox_testsuite.py --pack).
set(TERN_BUSYBOX_TESTSUITE_ARCHIVE ${TERN_BUSYBOX_BUILD_DIR}/testsuite.sh)
file(GLOB_RECURSE TERN_BUSYBOX_TESTSUITE_FILES CONFIGURE_DEPENDS
  ${TERN_BUSYBOX_DIR}/testsuite/*)
add_custom_command(OUTPUT ${TERN_BUSYBOX_TESTSUITE_ARCHIVE}
  COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/busybox_testsuite.py
          --source ${TERN_BUSYBOX_DIR} --build ${TERN_BUSYBOX_BUILD_DIR}
          --pack ${TERN_BUSYBOX_TESTSUITE_ARCHIVE}
  DEPENDS ${TERN_BUSYBOX_CONFIG_STAMP} ${TERN_ROOT}/tools/busybox_testsuite.py
          ${TERN_BUSYBOX_TESTSUITE_FILES}
  COMMENT "Packing BusyBox's test suite"
  VERBATIM)
set_property(GLOBAL APPEND PROPERTY TERN_BOOTFS_FILES
  share/busybox-testsuite/unpack.sh=${TERN_BUSYBOX_TESTSUITE_ARCHIVE})

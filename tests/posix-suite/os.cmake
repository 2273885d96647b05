# The Open POSIX Test Suite on Tern: its tests built against Tern's musl into one program,
# posixsuite (tools/posix_suite.py build, tests/posix-suite/runner.c), and an image that
# carries it. Included at the end of cmake/os.cmake, which has made the boot file system's
# arguments (TERN_BOOTFS_ARGS), the module list and grub.cfg.
#
# Nothing here is part of the default build: the release image stays as it is. Two
# variants are built on request, each with its own image tern-posix-<variant>.iso, the
# release image with /bin/posixsuite and /share/posix-suite/subset.txt added:
#   posix_iso_full    every test of the suite's areas (./tern posix-suite)
#   posix_iso_subset  the tests tests/posix-suite/ctest-subset.txt names (posix.suite)

if(NOT TERN_POSIX_SUITE_DIR OR NOT EXISTS "${TERN_POSIX_SUITE_DIR}/.tern-source")
  message(FATAL_ERROR "tests/posix-suite/os.cmake: no unpacked posixtestsuite source at "
    "'${TERN_POSIX_SUITE_DIR}'. Run ./tern setup, or configure with "
    "-DTERN_POSIX_SUITE_DIR=<the unpacked posixtestsuite-1.5.2 tree>.")
endif()

set(posix_dir ${TERN_ROOT}/tests/posix-suite)
set(posix_subset ${posix_dir}/ctest-subset.txt)
set(posix_cc ${CMAKE_C_COMPILER})
if(CMAKE_C_COMPILER_LAUNCHER)
  set(posix_cc "${CMAKE_C_COMPILER_LAUNCHER} ${CMAKE_C_COMPILER}")
endif()
# The flags of every C program on musl (TERN_MUSL_C_FLAGS and the toolchain's stack
# protector, non-PIC code), the suite's language level and feature macros as its LDFLAGS
# file recommends, and no warnings (the suite's code is not Tern's to fix). The link is
# tern_c_program's, through the compiler driver.
string(REPLACE "SHELL:" "" posix_cflags "${TERN_MUSL_C_FLAGS}")
string(REPLACE ";" " " posix_cflags "${posix_cflags}")
string(APPEND posix_cflags " -fstack-protector-strong -mstack-protector-guard=global -fno-pic"
  " -fno-pie -std=gnu99 -D_XOPEN_SOURCE=600 -w")
set(posix_ldflags "-static -nostdlib -fuse-ld=lld --sysroot=${TERN_MUSL_SYSROOT}")
string(APPEND posix_ldflags " -Wl,-T,${TERN_MUSL_LD} -Wl,-z,max-page-size=4096 -Wl,-z,norelro"
  " -Wl,--build-id=none -Wl,--gc-sections -Wl,--orphan-handling=error"
  " ${TERN_MUSL_BUILD_DIR}/lib/libtern_musl_rt.a ${TERN_MUSL_LIBC}")

# The image's modules with the boot file system swapped for the variant's.
function(tern_posix_variant variant)
  set(out ${CMAKE_BINARY_DIR}/posix-suite/${variant})
  set(subset_args "")
  if(variant STREQUAL "subset")
    set(subset_args --subset ${posix_subset})
  endif()
  add_custom_command(OUTPUT ${out}/posixsuite ${out}/manifest.txt
    COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/posix_suite.py build --side tern
            --source ${TERN_POSIX_SUITE_DIR} --out ${out} --runner ${posix_dir}/runner.c
            --cc ${posix_cc} --cflags ${posix_cflags} --ldflags ${posix_ldflags}
            --objcopy ${TERN_OBJCOPY} --jobs ${TERN_MUSL_JOBS} ${subset_args}
    DEPENDS ${TERN_POSIX_SUITE_DIR}/.tern-source ${posix_dir}/runner.c ${posix_subset}
            ${TERN_ROOT}/tools/posix_suite.py tern_musl_rt ${TERN_MUSL_BUILD_DIR}/built.stamp
            ${TERN_MUSL_LD}
    COMMENT "Building the Open POSIX Test Suite (${variant}) for Tern"
    VERBATIM)
  set(stripped ${out}/posixsuite.stripped)
  add_custom_command(OUTPUT ${stripped}
    COMMAND ${TERN_OBJCOPY} --strip-debug ${out}/posixsuite ${stripped}
    DEPENDS ${out}/posixsuite
    VERBATIM)
  set(bootfs ${out}/bootfs.tar)
  add_custom_command(OUTPUT ${bootfs}
    COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/mkbootfs.py --output ${bootfs}
            ${TERN_BOOTFS_ARGS} --file bin/posixsuite=${stripped}
            --file share/posix-suite/subset.txt=${posix_subset}
    DEPENDS ${TERN_BOOTFS_INPUTS} ${stripped} ${posix_subset} ${TERN_ROOT}/tools/mkbootfs.py
    COMMENT "Packing the boot file system with the POSIX suite (${variant})"
    VERBATIM)
  set(root ${out}/isoroot)
  set(copies "")
  foreach(module ${TERN_BOOT_MODULES})
    get_filename_component(module_file ${module} NAME)
    if(module STREQUAL TERN_BOOTFS)
      list(APPEND copies COMMAND ${CMAKE_COMMAND} -E copy ${bootfs} ${root}/boot/${module_file})
    else()
      list(APPEND copies COMMAND ${CMAKE_COMMAND} -E copy ${module} ${root}/boot/${module_file})
    endif()
  endforeach()
  set(iso ${CMAKE_BINARY_DIR}/tern-posix-${variant}.iso)
  add_custom_command(OUTPUT ${iso}
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${root}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${root}/boot/grub
    COMMAND ${CMAKE_COMMAND} -E copy ${TERN_KERNEL_ELF} ${root}/boot/kernel.elf
    COMMAND ${CMAKE_COMMAND} -E copy ${TERN_KERNEL_SYM} ${root}/boot/kernel.sym
    COMMAND ${CMAKE_COMMAND} -E copy ${TERN_GRUB_CFG} ${root}/boot/grub/grub.cfg
    ${copies}
    COMMAND grub-mkrescue -o ${iso} ${root} 2> ${out}/grub-mkrescue.log
    DEPENDS kernel.elf ${TERN_KERNEL_SYM} ${TERN_GRUB_CFG} ${TERN_BOOT_MODULES} ${bootfs}
    COMMENT "Building the GRUB ISO with the POSIX suite (${variant})")
  add_custom_target(posix_iso_${variant} DEPENDS ${iso})
endfunction()

tern_posix_variant(full)
tern_posix_variant(subset)

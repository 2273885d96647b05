# OS build: the kernel ELF, its symbol module, and the GRUB ISO (the release image).
enable_language(ASM)

set(TERN_KERNEL_FLAGS -mcmodel=kernel -mno-red-zone -mgeneral-regs-only -O2 -g)

include(${TERN_ROOT}/cmake/portable_sources.cmake)
set(TERN_ISO_ROOT ${CMAKE_BINARY_DIR}/isoroot)
file(GLOB TERN_KERNEL_SOURCES CONFIGURE_DEPENDS
  ${TERN_ROOT}/kernel/core/*.cpp
  ${TERN_ROOT}/kernel/object/*.cpp
  ${TERN_ROOT}/kernel/syscalls/*.cpp
  ${TERN_ROOT}/kernel/test/*.cpp
  ${TERN_ROOT}/kernel/arch/x86_64/*.cpp
  ${TERN_ROOT}/kernel/arch/x86_64/*.S)
# The portable ones come in once, through TERN_PORTABLE_SOURCES.
list(REMOVE_ITEM TERN_KERNEL_SOURCES ${TERN_KERNEL_PORTABLE_SOURCES})

add_executable(kernel.elf
  ${TERN_ROOT}/boot/x86_64/multiboot2.S
  ${TERN_KERNEL_SOURCES}
  ${TERN_PORTABLE_SOURCES})
target_include_directories(kernel.elf PRIVATE
  ${TERN_ROOT}/abi/include ${TERN_ROOT}/base/include ${TERN_ROOT}/kernel/include ${TERN_ROOT}/lib/include
  ${TERN_ROOT})
target_compile_options(kernel.elf PRIVATE $<$<COMPILE_LANGUAGE:CXX,C>:${TERN_KERNEL_FLAGS}>)
target_compile_definitions(kernel.elf PRIVATE TERN_KERNEL=1)
set(TERN_KERNEL_LD ${TERN_ROOT}/boot/x86_64/linker.ld)
target_link_options(kernel.elf PRIVATE -T ${TERN_KERNEL_LD} -z max-page-size=4096 --no-relax)
set_target_properties(kernel.elf PROPERTIES LINK_DEPENDS ${TERN_KERNEL_LD}
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/kernel)

# The symbol module: "<address> <type> <name>" for every function, sorted by address.
set(TERN_KERNEL_ELF ${CMAKE_BINARY_DIR}/kernel/kernel.elf)
set(TERN_KERNEL_SYM ${CMAKE_BINARY_DIR}/kernel/kernel.sym)
add_custom_command(OUTPUT ${TERN_KERNEL_SYM}
  COMMAND sh ${TERN_ROOT}/tools/gen_symbols.sh ${TERN_NM} ${TERN_KERNEL_ELF} ${TERN_KERNEL_SYM}
  DEPENDS kernel.elf
  COMMENT "Extracting kernel symbols")

# User programs (boot modules): the native runtime and every program it registers.
include(${TERN_ROOT}/cmake/user.cmake)
include(${TERN_ROOT}/cmake/musl.cmake)
include(${TERN_ROOT}/cmake/lwip.cmake)
include(${TERN_ROOT}/cmake/sodium.cmake)
include(${TERN_ROOT}/cmake/lua.cmake)
include(${TERN_ROOT}/cmake/busybox.cmake)
get_property(TERN_BOOT_MODULES GLOBAL PROPERTY TERN_BOOT_MODULES)
get_property(TERN_BOOTFS_PROGRAMS GLOBAL PROPERTY TERN_BOOTFS_PROGRAMS)
get_property(TERN_BOOT_MODULE_TARGETS GLOBAL PROPERTY TERN_BOOT_MODULE_TARGETS)

# The boot file system: every program under /bin (the servers and programs, and the test
# programs too, so a shell session can run them) and etc/ under /etc, as one ustar archive
# that GRUB loads as the module `bootfs` (tools/mkbootfs.py, servers/bootfs).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_program(TERN_OBJCOPY NAMES llvm-objcopy llvm-objcopy-14 REQUIRED)

# What goes into the image is stripped of debug information: it sits in RAM for the
# node's life, and nothing there reads it. Debuggers use the unstripped ELF files in
# ${TERN_USER_OUTPUT_DIR}. tern_stripped(<var> <program>) sets <var> to the stripped copy.
set(TERN_IMAGE_DIR ${CMAKE_BINARY_DIR}/image)
function(tern_stripped out program)
  get_filename_component(file ${program} NAME)
  set(stripped ${TERN_IMAGE_DIR}/${file})
  add_custom_command(OUTPUT ${stripped}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${TERN_IMAGE_DIR}
    COMMAND ${TERN_OBJCOPY} --strip-debug ${program} ${stripped}
    DEPENDS ${program} ${TERN_BOOT_MODULE_TARGETS}
    VERBATIM)
  set(${out} ${stripped} PARENT_SCOPE)
endfunction()

set(TERN_BOOTFS ${CMAKE_BINARY_DIR}/bootfs.tar)
set(TERN_BOOTFS_ARGS "")
set(TERN_BOOTFS_INPUTS "")
set(TERN_STRIPPED_MODULES "")
foreach(program ${TERN_BOOTFS_PROGRAMS} ${TERN_BOOT_MODULES})
  get_filename_component(program_name ${program} NAME_WE)
  tern_stripped(stripped ${program})
  if(NOT program_name STREQUAL "init")
    list(APPEND TERN_BOOTFS_ARGS --file bin/${program_name}=${stripped})
    list(APPEND TERN_BOOTFS_INPUTS ${stripped})
  endif()
  if(program IN_LIST TERN_BOOT_MODULES)
    list(APPEND TERN_STRIPPED_MODULES ${stripped})
  endif()
endforeach()
set(TERN_BOOT_MODULES ${TERN_STRIPPED_MODULES})
file(GLOB TERN_ETC_FILES CONFIGURE_DEPENDS ${TERN_ROOT}/etc/*)
foreach(etc_file ${TERN_ETC_FILES})
  get_filename_component(etc_name ${etc_file} NAME)
  list(APPEND TERN_BOOTFS_ARGS --file etc/${etc_name}=${etc_file})
  list(APPEND TERN_BOOTFS_INPUTS ${etc_file})
endforeach()
# Data files of ported programs and their tests (property TERN_BOOTFS_FILES, entries
# <archive path>=<host file>, e.g. the Lua test scripts under share/lua).
get_property(TERN_BOOTFS_FILES GLOBAL PROPERTY TERN_BOOTFS_FILES)
foreach(entry ${TERN_BOOTFS_FILES})
  string(REGEX REPLACE "^[^=]*=" "" host_file "${entry}")
  list(APPEND TERN_BOOTFS_ARGS --file ${entry})
  list(APPEND TERN_BOOTFS_INPUTS ${host_file})
endforeach()
# Hard links (property TERN_BOOTFS_LINKS, entries <archive path>=<list of names>, e.g.
# BusyBox's applets as links to /bin/busybox).
get_property(TERN_BOOTFS_LINKS GLOBAL PROPERTY TERN_BOOTFS_LINKS)
foreach(entry ${TERN_BOOTFS_LINKS})
  string(REGEX REPLACE "^[^=]*=" "" list_file "${entry}")
  list(APPEND TERN_BOOTFS_ARGS --links ${entry})
  list(APPEND TERN_BOOTFS_INPUTS ${list_file})
endforeach()
# Damaged copies of /bin/true under /test, for the loader's bad-input tests
# (tools/mkbadelf.py names the defects).
set(TERN_BAD_ELF_DIR ${CMAKE_BINARY_DIR}/bad-elf)
set(TERN_BAD_ELF_NAMES truncated phnum wx-segment kernel-entry filesz)
set(TERN_BAD_ELFS "")
foreach(name ${TERN_BAD_ELF_NAMES})
  list(APPEND TERN_BAD_ELFS ${TERN_BAD_ELF_DIR}/${name}.elf)
  list(APPEND TERN_BOOTFS_ARGS --file test/${name}.elf=${TERN_BAD_ELF_DIR}/${name}.elf)
endforeach()
add_custom_command(OUTPUT ${TERN_BAD_ELFS}
  COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/mkbadelf.py --input ${TERN_IMAGE_DIR}/true.elf
          --output-dir ${TERN_BAD_ELF_DIR}
  DEPENDS ${TERN_IMAGE_DIR}/true.elf ${TERN_ROOT}/tools/mkbadelf.py
  VERBATIM)
list(APPEND TERN_BOOTFS_INPUTS ${TERN_BAD_ELFS})
add_custom_command(OUTPUT ${TERN_BOOTFS}
  COMMAND ${Python3_EXECUTABLE} ${TERN_ROOT}/tools/mkbootfs.py --output ${TERN_BOOTFS}
          ${TERN_BOOTFS_ARGS}
  DEPENDS ${TERN_BOOTFS_INPUTS} ${TERN_ROOT}/tools/mkbootfs.py
  COMMENT "Packing the boot file system"
  VERBATIM)
list(APPEND TERN_BOOT_MODULES ${TERN_BOOTFS})
set(TERN_GRUB_MODULES "")
set(TERN_ISO_MODULE_COPIES "")
foreach(module ${TERN_BOOT_MODULES})
  get_filename_component(module_file ${module} NAME)
  get_filename_component(module_name ${module} NAME_WE)
  string(APPEND TERN_GRUB_MODULES "    module2 /boot/${module_file} ${module_name}\n")
  list(APPEND TERN_ISO_MODULE_COPIES COMMAND ${CMAKE_COMMAND} -E copy ${module} ${TERN_ISO_ROOT}/boot/${module_file})
endforeach()
string(REPLACE "\\n" "\n" TERN_GRUB_MODULES "${TERN_GRUB_MODULES}")
set(TERN_GRUB_CFG ${CMAKE_BINARY_DIR}/grub.cfg)
configure_file(${TERN_ROOT}/boot/grub/grub.cfg.in ${TERN_GRUB_CFG} @ONLY)

# The ISO: GRUB (BIOS) + kernel + modules.
set(TERN_ISO ${CMAKE_BINARY_DIR}/tern.iso)
add_custom_command(OUTPUT ${TERN_ISO}
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${TERN_ISO_ROOT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${TERN_ISO_ROOT}/boot/grub
  COMMAND ${CMAKE_COMMAND} -E copy ${TERN_KERNEL_ELF} ${TERN_ISO_ROOT}/boot/kernel.elf
  COMMAND ${CMAKE_COMMAND} -E copy ${TERN_KERNEL_SYM} ${TERN_ISO_ROOT}/boot/kernel.sym
  COMMAND ${CMAKE_COMMAND} -E copy ${TERN_GRUB_CFG} ${TERN_ISO_ROOT}/boot/grub/grub.cfg
  ${TERN_ISO_MODULE_COPIES}
  COMMAND grub-mkrescue -o ${TERN_ISO} ${TERN_ISO_ROOT} 2> ${CMAKE_BINARY_DIR}/grub-mkrescue.log
  DEPENDS kernel.elf ${TERN_KERNEL_SYM} ${TERN_GRUB_CFG} ${TERN_BOOT_MODULES}
  COMMENT "Building the GRUB ISO")
add_custom_target(image ALL DEPENDS ${TERN_ISO})

# The Open POSIX Test Suite's program and its images, built only on request.
include(${TERN_ROOT}/tests/posix-suite/os.cmake)

# Sources that compile both freestanding (in the kernel and servers) and on the host
# (in unit tests). They must not touch hardware or use inline assembly.
#
# lib/ is the code the kernel, the C library and the servers share (include root
# lib/include, included as <lib/...>): the kernel links the part it uses (the ELF
# validator, TERN_LIB_KERNEL_SOURCES), user space all of it (TERN_LIB_SOURCES,
# cmake/user.cmake).
set(TERN_LIB_KERNEL_SOURCES ${TERN_ROOT}/lib/src/elf.cpp)
file(GLOB TERN_LIB_SOURCES CONFIGURE_DEPENDS ${TERN_ROOT}/lib/src/*.cpp)
set(TERN_LIB_USER_ONLY_SOURCES ${TERN_LIB_SOURCES})
list(REMOVE_ITEM TERN_LIB_USER_ONLY_SOURCES ${TERN_LIB_KERNEL_SOURCES})

file(GLOB TERN_PORTABLE_SOURCES CONFIGURE_DEPENDS
  ${TERN_ROOT}/base/src/*.cpp
  ${TERN_ROOT}/kernel/lib/*.cpp)
# The kernel's portable files are named one by one: this list, not the folder a file
# sits in, says that a file is also built for the host tests.
set(TERN_KERNEL_PORTABLE_SOURCES
  ${TERN_ROOT}/kernel/mm/heap.cpp
  ${TERN_ROOT}/kernel/mm/memory_map.cpp
  ${TERN_ROOT}/kernel/mm/page_allocator.cpp
  ${TERN_ROOT}/kernel/mm/page_shares.cpp
  ${TERN_ROOT}/kernel/containers/futex_table.cpp
  ${TERN_ROOT}/kernel/containers/handle_table.cpp
  ${TERN_ROOT}/kernel/containers/message_queue.cpp
  ${TERN_ROOT}/kernel/containers/region_tree.cpp
  ${TERN_ROOT}/kernel/arch/x86_64/page_table.cpp)
list(APPEND TERN_PORTABLE_SOURCES ${TERN_KERNEL_PORTABLE_SOURCES})
list(APPEND TERN_PORTABLE_SOURCES ${TERN_LIB_KERNEL_SOURCES})

# User-space code that is also portable: the rest of lib/, the pure logic of the C
# library's backend, the servers and the programs (parsers, state machines), kept in a
# `portable/` folder beside the code that uses it. The host build tests it; the kernel
# never links it.
file(GLOB TERN_USER_PORTABLE_SOURCES CONFIGURE_DEPENDS
  ${TERN_ROOT}/libc/musl/portable/*.cpp
  ${TERN_ROOT}/servers/*/portable/*.cpp
  ${TERN_ROOT}/programs/*/portable/*.cpp
  ${TERN_ROOT}/drivers/*/portable/*.cpp
  ${TERN_ROOT}/drivers/net/*/portable/*.cpp)
list(APPEND TERN_USER_PORTABLE_SOURCES ${TERN_LIB_USER_ONLY_SOURCES})

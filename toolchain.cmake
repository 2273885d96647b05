# Cross toolchain for Tern's OS image: clang + ld.lld, freestanding x86_64 ELF.
#
# Flags common to everything that runs inside Tern live here; the kernel adds its own
# (kernel code model, no red zone, no SSE) in cmake/os.cmake.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(TERN_OS_BUILD ON CACHE BOOL "Building the Tern OS image" FORCE)

set(TERN_TARGET x86_64-unknown-none-elf)
set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_ASM_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET ${TERN_TARGET})
set(CMAKE_CXX_COMPILER_TARGET ${TERN_TARGET})
set(CMAKE_ASM_COMPILER_TARGET ${TERN_TARGET})
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

find_program(TERN_LLD ld.lld REQUIRED)
find_program(TERN_NM NAMES llvm-nm llvm-nm-14 REQUIRED)
find_program(TERN_OBJCOPY NAMES llvm-objcopy llvm-objcopy-14 REQUIRED)
set(CMAKE_AR llvm-ar CACHE FILEPATH "")
set(CMAKE_RANLIB llvm-ranlib CACHE FILEPATH "")

set(TERN_FREESTANDING_FLAGS
  "-ffreestanding -fno-builtin -nostdlib -fno-exceptions -fno-rtti -fno-threadsafe-statics \
-fstack-protector-strong -mstack-protector-guard=global -ftrivial-auto-var-init=pattern \
-fno-omit-frame-pointer -fno-pic -fno-pie -Wall -Wextra")
set(CMAKE_C_FLAGS_INIT "${TERN_FREESTANDING_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${TERN_FREESTANDING_FLAGS} -std=c++20")
set(CMAKE_ASM_FLAGS_INIT "")
# Link with ld.lld directly: the compiler driver would go through the host's gcc for an
# unknown OS target.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -static --build-id=none")
set(CMAKE_CXX_LINK_EXECUTABLE "${TERN_LLD} <CMAKE_CXX_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")
set(CMAKE_C_LINK_EXECUTABLE "${TERN_LLD} <CMAKE_C_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

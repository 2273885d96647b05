# Lua 5.4.4: the interpreter `lua` (lua.c, the core and the standard libraries, unchanged)
# built from the tree `./tern setup` unpacks into the cache (TERN_LUA_DIR), and its test
# scripts (tests/lua).
#
# Included from cmake/os.cmake after cmake/musl.cmake, where it builds /bin/lua for the
# boot file system with tern_c_program and puts tests/lua under /share/lua; and from
# cmake/host.cmake, where the same sources, built by the host's compiler for the host's
# Linux, run the same scripts against the same expected output (unit.lua_on_host).
#
# The sources are compiled where they lie: nothing is generated or written in the cache's
# tree. The flags are those of Lua's own makefile for its `posix` target (LUA_COMPAT_5_3,
# LUA_USE_POSIX: mkstemp for os.tmpname, the POSIX clock and file calls); readline and
# dlopen are left out, so the interpreter reads its prompt lines with fgets and `require`
# loads Lua modules only.

if(NOT TERN_LUA_DIR OR NOT EXISTS "${TERN_LUA_DIR}/.tern-source")
  message(FATAL_ERROR "cmake/lua.cmake: no unpacked Lua source at '${TERN_LUA_DIR}'. "
    "Run ./tern setup, or configure with -DTERN_LUA_DIR=<the unpacked lua5.4-5.4.4 tree>.")
endif()

set(TERN_LUA_SRC ${TERN_LUA_DIR}/src)
# Every .c file of src/ but the bytecode compiler (luac.c), whose main would clash with
# lua.c's; onelua.c is not in the 5.4.4 tarball.
set(TERN_LUA_SOURCES "")
foreach(name lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject lopcodes lparser
        lstate lstring ltable ltm lundump lvm lzio lauxlib lbaselib lcorolib ldblib liolib
        lmathlib loadlib loslib lstrlib ltablib lutf8lib linit lua)
  list(APPEND TERN_LUA_SOURCES ${TERN_LUA_SRC}/${name}.c)
endforeach()
set(TERN_LUA_DEFINITIONS LUA_COMPAT_5_3 LUA_USE_POSIX)
# Upstream code: its warnings are not Tern's to fix.
set(TERN_LUA_OPTIONS -w)

file(GLOB TERN_LUA_TEST_FILES CONFIGURE_DEPENDS ${TERN_ROOT}/tests/lua/*.lua
  ${TERN_ROOT}/tests/lua/*.expected)

if(TERN_OS_BUILD)
  tern_c_program(lua SOURCES ${TERN_LUA_SOURCES} BOOTFS)
  target_compile_definitions(lua.elf PRIVATE ${TERN_LUA_DEFINITIONS})
  target_compile_options(lua.elf PRIVATE ${TERN_LUA_OPTIONS})
  # The scripts and their expected output reach the node as /share/lua/<file>.
  foreach(file ${TERN_LUA_TEST_FILES})
    get_filename_component(file_name ${file} NAME)
    set_property(GLOBAL APPEND PROPERTY TERN_BOOTFS_FILES share/lua/${file_name}=${file})
  endforeach()
else()
  add_executable(lua_host ${TERN_LUA_SOURCES})
  target_compile_definitions(lua_host PRIVATE ${TERN_LUA_DEFINITIONS})
  target_compile_options(lua_host PRIVATE ${TERN_LUA_OPTIONS})
  target_link_libraries(lua_host PRIVATE m)
  set_target_properties(lua_host PROPERTIES C_STANDARD 99 C_EXTENSIONS ON)
  # tests/lua/run.lua runs every script and compares what it prints with its .expected
  # file; system.session.lua runs it on Tern.
  add_test(NAME unit.lua_on_host
    COMMAND lua_host ${TERN_ROOT}/tests/lua/run.lua ${TERN_ROOT}/tests/lua)
  set_tests_properties(unit.lua_on_host PROPERTIES LABELS unit TIMEOUT 120
    FAIL_REGULAR_EXPRESSION "FAILED")
endif()

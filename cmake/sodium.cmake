# libsodium 1.0.18, the bus's frame authentication (HMAC-SHA-256) in the network server.
#
# Included from cmake/os.cmake after cmake/lwip.cmake (it links into net.elf).
#
# libsodium is compiled straight from the tree `./tern setup` unpacks into the cache
# (TERN_SODIUM_DIR), never copied into Tern's tree, with an explicit list of the files the
# bus needs: SHA-256 (the portable C implementation), HMAC-SHA-256 on it, and the
# constant-time comparisons. Nothing that draws random numbers is linked: the cluster key
# comes from the node's configuration. servers/bus/sodium_port holds the three C headers
# those files include that the freestanding compiler lacks, and sodium_memzero, whose
# upstream home (utils.c) needs an operating system's memory locking.

if(NOT TERN_SODIUM_DIR OR NOT EXISTS "${TERN_SODIUM_DIR}/.tern-source")
  message(FATAL_ERROR "cmake/sodium.cmake: no unpacked libsodium source at '${TERN_SODIUM_DIR}'. "
    "Run ./tern setup, or configure with -DTERN_SODIUM_DIR=<the unpacked libsodium-1.0.18 tree>.")
endif()

set(TERN_SODIUM_SRC ${TERN_SODIUM_DIR}/src/libsodium)
add_library(tern_sodium STATIC
  ${TERN_SODIUM_SRC}/crypto_hash/sha256/cp/hash_sha256_cp.c
  ${TERN_SODIUM_SRC}/crypto_auth/hmacsha256/auth_hmacsha256.c
  ${TERN_SODIUM_SRC}/crypto_verify/sodium/verify.c
  ${TERN_ROOT}/servers/bus/sodium_port/memzero.c)
target_include_directories(tern_sodium SYSTEM PUBLIC ${TERN_SODIUM_SRC}/include)
target_include_directories(tern_sodium SYSTEM PRIVATE ${TERN_SODIUM_SRC}/include/sodium)
target_include_directories(tern_sodium SYSTEM PRIVATE ${TERN_ROOT}/servers/bus/sodium_port)
# CONFIGURED=1 says the build was set up on purpose (the sources warn otherwise); the
# image is little-endian x86-64, which lets the hash load words directly.
target_compile_definitions(tern_sodium PRIVATE CONFIGURED=1 NATIVE_LITTLE_ENDIAN=1)
target_compile_options(tern_sodium PRIVATE -O2 -ffunction-sections -fdata-sections -w)
set_target_properties(tern_sodium PROPERTIES ARCHIVE_OUTPUT_DIRECTORY ${TERN_USER_OUTPUT_DIR}/lib)

# The bus lives in servers/bus and runs inside the network server, on its event loop.
file(GLOB TERN_BUS_SOURCES CONFIGURE_DEPENDS ${TERN_ROOT}/servers/bus/*.cpp
  ${TERN_ROOT}/servers/bus/portable/*.cpp)
target_sources(net.elf PRIVATE ${TERN_BUS_SOURCES})
target_link_libraries(net.elf PRIVATE tern_sodium)

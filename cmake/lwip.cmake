# lwIP 2.1.3, the network server's TCP/IP stack, and the network server's test programs.
#
# Included from cmake/os.cmake after cmake/user.cmake (it links net.elf, which user.cmake
# defines from servers/net/, and uses tern_user_program).
#
# lwIP is compiled straight from the tree `./tern setup` unpacks into the cache
# (TERN_LWIP_DIR), never copied into Tern's tree, with an explicit list of the files the
# server uses: the core, IPv4 (with ICMP, ARP and the DHCP client), raw pcbs, UDP, TCP, Ethernet
# framing and the loopback interface (part of netif.c). The port is servers/net/lwip_port:
# arch/cc.h and lwipopts.h (NO_SYS=1, so no sys_arch), port.cpp (clock, random numbers,
# diagnostics to the log) and libc/, the few C headers lwIP includes that the freestanding
# compiler does not have, mapped onto the native runtime's functions.

if(NOT TERN_LWIP_DIR OR NOT EXISTS "${TERN_LWIP_DIR}/.tern-source")
  message(FATAL_ERROR "cmake/lwip.cmake: no unpacked lwIP source at '${TERN_LWIP_DIR}'. "
    "Run ./tern setup, or configure with -DTERN_LWIP_DIR=<the unpacked lwip-2.1.3 tree>.")
endif()

set(TERN_LWIP_SRC ${TERN_LWIP_DIR}/src)
set(TERN_LWIP_PORT ${TERN_ROOT}/servers/net/lwip_port)
add_library(tern_lwip STATIC
  ${TERN_LWIP_SRC}/core/def.c
  ${TERN_LWIP_SRC}/core/inet_chksum.c
  ${TERN_LWIP_SRC}/core/init.c
  ${TERN_LWIP_SRC}/core/ip.c
  ${TERN_LWIP_SRC}/core/mem.c
  ${TERN_LWIP_SRC}/core/memp.c
  ${TERN_LWIP_SRC}/core/netif.c
  ${TERN_LWIP_SRC}/core/pbuf.c
  ${TERN_LWIP_SRC}/core/raw.c
  ${TERN_LWIP_SRC}/core/stats.c
  ${TERN_LWIP_SRC}/core/tcp.c
  ${TERN_LWIP_SRC}/core/tcp_in.c
  ${TERN_LWIP_SRC}/core/tcp_out.c
  ${TERN_LWIP_SRC}/core/timeouts.c
  ${TERN_LWIP_SRC}/core/udp.c
  ${TERN_LWIP_SRC}/core/ipv4/dhcp.c
  ${TERN_LWIP_SRC}/core/ipv4/etharp.c
  ${TERN_LWIP_SRC}/core/ipv4/icmp.c
  ${TERN_LWIP_SRC}/core/ipv4/ip4.c
  ${TERN_LWIP_SRC}/core/ipv4/ip4_addr.c
  ${TERN_LWIP_SRC}/core/ipv4/ip4_frag.c
  ${TERN_LWIP_SRC}/netif/ethernet.c
  ${TERN_LWIP_PORT}/port.cpp)
target_include_directories(tern_lwip SYSTEM PUBLIC
  ${TERN_LWIP_PORT} ${TERN_LWIP_PORT}/libc ${TERN_LWIP_SRC}/include)
target_link_libraries(tern_lwip PUBLIC tern_user_rt)
# lwIP's own code is not held to Tern's warning set; what it warns about is upstream's.
target_compile_options(tern_lwip PRIVATE $<$<COMPILE_LANGUAGE:C>:-w>)
set_target_properties(tern_lwip PROPERTIES ARCHIVE_OUTPUT_DIRECTORY ${TERN_USER_OUTPUT_DIR}/lib)

target_link_libraries(net.elf PRIVATE tern_lwip)

# The network server's test and benchmark programs: every tests/net/<name>.cpp, in the
# boot file system as /bin/<name>.
file(GLOB TERN_NET_TEST_PROGRAMS CONFIGURE_DEPENDS ${TERN_ROOT}/tests/net/*.cpp)
foreach(source ${TERN_NET_TEST_PROGRAMS})
  get_filename_component(name ${source} NAME_WE)
  tern_user_program(${name} SOURCES ${source} BOOTFS)
endforeach()

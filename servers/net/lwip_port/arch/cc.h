/*
 * lwIP's compiler and platform definitions for Tern (lwIP's arch/cc.h).
 *
 * lwIP runs inside the network server, freestanding, on the native runtime: its string
 * functions (libc/native/string.cpp), its clock and its log. This header says what the
 * platform is; port.cpp implements the few functions it names.
 */
#ifndef TERN_LWIP_ARCH_CC_H
#define TERN_LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The freestanding compiler has <stdint.h> and <limits.h> but no <inttypes.h> or
 * <ctype.h>: lwIP's own ctype replacements are used and the printf formats are given. */
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#define BYTE_ORDER LITTLE_ENDIAN

/* Random numbers for DHCP transaction ids and the first local ports. */
uint32_t tern_lwip_rand(void);
#define LWIP_RAND() tern_lwip_rand()

/* Diagnostics (printf-style, lwIP's format strings) and assertions go to the log; a
 * failed assertion ends the server, which init restarts. */
void tern_lwip_diag(const char* format, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void tern_lwip_assert(const char* message, const char* file, int line);
#define LWIP_PLATFORM_DIAG(x)                                                                      \
    do {                                                                                           \
        tern_lwip_diag x;                                                                          \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x) tern_lwip_assert((x), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif

#endif /* TERN_LWIP_ARCH_CC_H */

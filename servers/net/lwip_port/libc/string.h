/*
 * The string functions lwIP's sources include <string.h> for. The native runtime
 * (libc/native/string.cpp) defines the mem* functions and strlen; strncmp is lwIP-only
 * and lives in the port (port.cpp) under its own name, so it cannot clash with a C
 * library linked into the same program.
 */
#ifndef TERN_LWIP_LIBC_STRING_H
#define TERN_LWIP_LIBC_STRING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
int tern_lwip_strncmp(const char* a, const char* b, size_t n);
#define strncmp tern_lwip_strncmp

#ifdef __cplusplus
}
#endif

#endif /* TERN_LWIP_LIBC_STRING_H */

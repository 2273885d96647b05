/*
 * The string functions libsodium's hashing and MAC sources include <string.h> for; the
 * native runtime (libc/native/string.cpp) defines them.
 */
#ifndef TERN_SODIUM_PORT_STRING_H
#define TERN_SODIUM_PORT_STRING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);

#ifdef __cplusplus
}
#endif

#endif /* TERN_SODIUM_PORT_STRING_H */

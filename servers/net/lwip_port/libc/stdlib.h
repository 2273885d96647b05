/*
 * What lwIP's sources include <stdlib.h> for: atoi (netif_find parses the number in an
 * interface name such as "lo0"). It lives in the port (port.cpp) under its own name.
 */
#ifndef TERN_LWIP_LIBC_STDLIB_H
#define TERN_LWIP_LIBC_STDLIB_H

#ifdef __cplusplus
extern "C" {
#endif

int tern_lwip_atoi(const char* s);
#define atoi tern_lwip_atoi

#ifdef __cplusplus
}
#endif

#endif /* TERN_LWIP_LIBC_STDLIB_H */

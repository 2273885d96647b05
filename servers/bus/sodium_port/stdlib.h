/*
 * libsodium's SHA-256 and HMAC sources include <stdlib.h> but call nothing from it that
 * the bus links; the header only has to exist.
 */
#ifndef TERN_SODIUM_PORT_STDLIB_H
#define TERN_SODIUM_PORT_STDLIB_H

#include <stddef.h>

#endif /* TERN_SODIUM_PORT_STDLIB_H */

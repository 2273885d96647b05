/*
 * libsodium's headers include <sys/types.h>; nothing the bus links uses a type from it
 * beyond what <stddef.h> and <stdint.h> give.
 */
#ifndef TERN_SODIUM_PORT_SYS_TYPES_H
#define TERN_SODIUM_PORT_SYS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#endif /* TERN_SODIUM_PORT_SYS_TYPES_H */

/*
 * sodium_memzero, which libsodium's SHA-256 and HMAC call to wipe their state, for the
 * image. libsodium's own definition sits in utils.c beside memory locking and guarded
 * allocation, which need an operating system the freestanding build does not have. The
 * stores go through a volatile pointer so the compiler cannot drop them as dead.
 */
#include <stddef.h>

void sodium_memzero(void* const pnt, const size_t len) {
    volatile unsigned char* p = (volatile unsigned char*)pnt;
    for (size_t i = 0; i < len; ++i)
        p[i] = 0;
}

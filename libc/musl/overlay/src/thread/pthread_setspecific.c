/*
 * Tern: a key outside the table, or any key before the first pthread_key_create (when
 * the main thread has no table), is refused with EINVAL (POSIX's "may fail") instead of
 * writing past the table or through a null pointer.
 */
#include "pthread_impl.h"

int pthread_setspecific(pthread_key_t key, const void* value) {
    struct pthread* self = __pthread_self();
    if (key >= PTHREAD_KEYS_MAX || !self->tsd)
        return EINVAL;
    if (self->tsd[key] != value) { /* an unchanged value leaves the page untouched */
        self->tsd[key] = (void*)value;
        self->tsd_used = 1;
    }
    return 0;
}

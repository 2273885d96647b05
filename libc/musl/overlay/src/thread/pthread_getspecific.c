/*
 * Tern: a key outside the table (one never created, such as an uninitialised
 * pthread_key_t) reads as no value instead of reading past the thread's table, and so
 * does any key before the first pthread_key_create, when the main thread has no table.
 */
#include "pthread_impl.h"
#include <threads.h>

static void* tern_getspecific(pthread_key_t key) {
    struct pthread* self = __pthread_self();
    if (key >= PTHREAD_KEYS_MAX || !self->tsd)
        return 0;
    return self->tsd[key];
}

weak_alias(tern_getspecific, pthread_getspecific);
weak_alias(tern_getspecific, tss_get);

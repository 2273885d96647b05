/*
 * Tern extensions for C programs built against musl (tern_c_program in cmake/musl.cmake).
 *
 * Valid C, C++ and assembler (crt_tern.S); needs nothing but the compiler.
 */
#ifndef TERN_LIBC_H
#define TERN_LIBC_H

/*
 * The auxiliary-vector entry holding the start argument the kernel gave the program's
 * first thread (a handle value or a number chosen by whoever started it; 0 when none):
 *
 *     #include <sys/auxv.h>
 *     unsigned long arg = getauxval(TERN_AT_START_ARG);
 *
 * The value reads "tern" in ASCII, far above every AT_* type Linux defines, so it cannot
 * collide with one.
 */
#ifdef __ASSEMBLER__
#define TERN_AT_START_ARG 0x7465726e
#else
#define TERN_AT_START_ARG 0x7465726eUL
#endif

#endif /* TERN_LIBC_H */

/*
 * Tern extensions for C programs built against musl (tern_c_program in cmake/musl.cmake).
 *
 * Valid C, C++ and assembler; needs nothing but the compiler.
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

#ifndef __ASSEMBLER__
#ifdef __cplusplus
extern "C" {
#endif

/*
 * The program's global process id, home node << 32 | serial, as the proc server assigned
 * it; 0 for a program the kernel started from a boot module. getpid() reports the serial
 * alone, since pid_t has 32 bits.
 */
unsigned long tern_global_pid(void);

#ifdef __cplusplus
}
#endif
#endif /* __ASSEMBLER__ */

#endif /* TERN_LIBC_H */

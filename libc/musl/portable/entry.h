/*
 * Tern's musl port: the Linux process entry a C program's start builds for musl.
 *
 * musl's __libc_start_main(main, argc, argv) finds the environment right after argv's
 * terminating NULL and the auxiliary vector right after the environment's, as a Linux
 * exec leaves them on the stack. The program start (libc/musl/start.c) lays that array
 * out in its own never-returning stack frame, from the startup block the spawner left
 * (abi/include/tern/abi/startup.h) or, for a program the kernel started from a boot
 * module, from the program's name alone. The layout is pure arithmetic, kept here so the
 * host unit tests (tests/unit/libc_start_test.cpp) check it.
 *
 * Valid C and C++; freestanding (it is compiled into the kernel with the other portable
 * sources as well).
 */
#ifndef TERN_LIBC_MUSL_ENTRY_H
#define TERN_LIBC_MUSL_ENTRY_H

#include <stdint.h>

/* Auxiliary vector types (System V ABI, as Linux numbers them). */
#define TERN_LINUX_AT_NULL 0
#define TERN_LINUX_AT_PHDR 3
#define TERN_LINUX_AT_PHENT 4
#define TERN_LINUX_AT_PHNUM 5
#define TERN_LINUX_AT_PAGESZ 6
#define TERN_LINUX_AT_RANDOM 25
#define TERN_LINUX_AT_EXECFN 31

/* The auxiliary vector the start passes: AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ,
 * AT_RANDOM, AT_EXECFN, TERN_AT_START_ARG and AT_NULL, two words each. */
#define TERN_LIBC_ENTRY_AUX_WORDS 16u

/* The most argument and environment strings together an entry may carry. A valid startup
 * block holds far fewer (TERN_STARTUP_MAX_SIZE bytes, at least 9 per string); the bound
 * keeps the array within the stack whatever the block claims. */
#define TERN_LIBC_ENTRY_MAX_STRINGS 8192u

/* What goes into the entry. argv and envp hold argc and envc strings; they need not be
 * NULL-terminated (the layout adds the terminators). */
struct tern_libc_entry_args {
    uint64_t argc;
    const char* const* argv;
    uint64_t envc;
    const char* const* envp;
    uint64_t phdr;      /* the program headers' address */
    uint64_t phent;     /* the size of one program header */
    uint64_t phnum;     /* how many there are */
    uint64_t random;    /* the address of 16 random bytes */
    uint64_t execfn;    /* the program's name, as a string's address */
    uint64_t start_arg; /* what the first thread found in RDI */
};

#ifdef __cplusplus
extern "C" {
#endif

/* Chooses the arguments and environment: the startup block's (block_argv != 0) or, for a
 * program the kernel started, argc 1, argv { program_name } (held in *name_slot, which
 * must outlive args) and no environment. A block with argc 0 also gets argv {
 * program_name }: C programs (and musl's __progname) expect argv[0]. AT_EXECFN is
 * argv[0]. Counts above TERN_LIBC_ENTRY_MAX_STRINGS are cut to fit (a valid block cannot
 * reach them). */
void tern_libc_entry_arguments(uint32_t block_argc, const char* const* block_argv,
                               uint32_t block_envc, const char* const* block_envp,
                               const char* program_name, const char** name_slot,
                               struct tern_libc_entry_args* args);

/* The words the entry takes: 1 (argc) + argc + 1 + envc + 1 + the auxiliary vector; 0
 * when argc + envc exceeds TERN_LIBC_ENTRY_MAX_STRINGS. */
uint64_t tern_libc_entry_words(uint64_t argc, uint64_t envc);

/* Lays the entry out in out[0, capacity): argc, argv[0..argc), NULL, envp[0..envc), NULL,
 * then the auxiliary vector in the order listed above, ending in AT_NULL, 0. Returns the
 * words written, or 0 (nothing written) when capacity is smaller than
 * tern_libc_entry_words or that is 0. musl's argv is then out + 1. */
uint64_t tern_libc_build_entry(uint64_t* out, uint64_t capacity,
                               const struct tern_libc_entry_args* args);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_ENTRY_H */

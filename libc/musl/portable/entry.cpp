// Tern's musl port: the Linux process entry layout (see entry.h).

#include <libc/musl/include/tern/libc.h>
#include <libc/musl/portable/entry.h>
#include <libc/musl/portable/translate.h>

extern "C" {

void tern_libc_entry_arguments(uint32_t block_argc, const char* const* block_argv,
                               uint32_t block_envc, const char* const* block_envp,
                               const char* program_name, const char** name_slot,
                               struct tern_libc_entry_args* args) {
    *name_slot = program_name;
    args->argc = 1;
    args->argv = name_slot;
    args->envc = 0;
    args->envp = nullptr;
    if (block_argv != nullptr) {
        uint64_t argc =
            block_argc < TERN_LIBC_ENTRY_MAX_STRINGS ? block_argc : TERN_LIBC_ENTRY_MAX_STRINGS;
        if (argc > 0) {
            args->argc = argc;
            args->argv = block_argv;
        }
        uint64_t room = TERN_LIBC_ENTRY_MAX_STRINGS - args->argc;
        args->envc = block_envp == nullptr ? 0 : (block_envc < room ? block_envc : room);
        args->envp = block_envp;
    }
    args->execfn = reinterpret_cast<uint64_t>(args->argv[0]);
}

uint64_t tern_libc_entry_words(uint64_t argc, uint64_t envc) {
    if (argc > TERN_LIBC_ENTRY_MAX_STRINGS || envc > TERN_LIBC_ENTRY_MAX_STRINGS - argc)
        return 0;
    return 1 + argc + 1 + envc + 1 + TERN_LIBC_ENTRY_AUX_WORDS;
}

uint64_t tern_libc_build_entry(uint64_t* out, uint64_t capacity,
                               const struct tern_libc_entry_args* args) {
    uint64_t words = tern_libc_entry_words(args->argc, args->envc);
    if (words == 0 || capacity < words)
        return 0;
    uint64_t at = 0;
    out[at++] = args->argc;
    for (uint64_t i = 0; i < args->argc; ++i)
        out[at++] = reinterpret_cast<uint64_t>(args->argv[i]);
    out[at++] = 0;
    for (uint64_t i = 0; i < args->envc; ++i)
        out[at++] = reinterpret_cast<uint64_t>(args->envp[i]);
    out[at++] = 0;
    const uint64_t aux[TERN_LIBC_ENTRY_AUX_WORDS] = {
        TERN_LINUX_AT_PHDR,   args->phdr,      TERN_LINUX_AT_PHENT,  args->phent,
        TERN_LINUX_AT_PHNUM,  args->phnum,     TERN_LINUX_AT_PAGESZ, TERN_LIBC_PAGE_SIZE,
        TERN_LINUX_AT_RANDOM, args->random,    TERN_LINUX_AT_EXECFN, args->execfn,
        TERN_AT_START_ARG,    args->start_arg, TERN_LINUX_AT_NULL,   0,
    };
    for (uint64_t word : aux)
        out[at++] = word;
    return at;
}

} // extern "C"

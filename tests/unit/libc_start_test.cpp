// The Linux process entry a C program's start builds for musl (libc/musl/portable/entry.h):
// which arguments and environment it takes, and the [argc, argv, NULL, envp, NULL, auxv]
// layout musl's __libc_start_main walks.
#include <catch2/catch.hpp>

#include <elf.h>
#include <libc/musl/include/tern/libc.h>
#include <libc/musl/portable/entry.h>
#include <string_view>
#include <vector>

// The host is Linux on x86-64: its <elf.h> numbers the auxiliary vector the same way.
static_assert(TERN_LINUX_AT_NULL == AT_NULL && TERN_LINUX_AT_PHDR == AT_PHDR
              && TERN_LINUX_AT_PHENT == AT_PHENT && TERN_LINUX_AT_PHNUM == AT_PHNUM
              && TERN_LINUX_AT_PAGESZ == AT_PAGESZ && TERN_LINUX_AT_RANDOM == AT_RANDOM
              && TERN_LINUX_AT_EXECFN == AT_EXECFN);

namespace {

uint64_t word(const char* s) { return reinterpret_cast<uint64_t>(s); }

tern_libc_entry_args with_aux(tern_libc_entry_args args) {
    args.phdr = 0x400040;
    args.phent = 56;
    args.phnum = 5;
    args.random = 0x7fff0000;
    args.start_arg = 42;
    return args;
}

// Walks an entry as musl does: argv at entry + 1, envp after argv's NULL, auxv after
// envp's NULL; returns the auxiliary value of type, or ~0 when absent.
uint64_t aux_value(const uint64_t* entry, uint64_t type) {
    const uint64_t* p = entry + 1 + entry[0] + 1;
    while (*p)
        ++p;
    for (++p; p[0] != TERN_LINUX_AT_NULL; p += 2)
        if (p[0] == type)
            return p[1];
    return ~uint64_t(0);
}

} // namespace

TEST_CASE("without a startup block: argc 1, argv { name }, no environment") {
    tern_libc_entry_args args{};
    const char* slot = nullptr;
    tern_libc_entry_arguments(0, nullptr, 0, nullptr, "hello", &slot, &args);
    CHECK(args.argc == 1);
    REQUIRE(args.argv == &slot);
    CHECK(args.argv[0] == std::string_view("hello"));
    CHECK(args.envc == 0);
    CHECK(args.execfn == word(slot));

    // A bogus count without a block is ignored.
    tern_libc_entry_arguments(7, nullptr, 9, nullptr, "hello", &slot, &args);
    CHECK(args.argc == 1);
    CHECK(args.envc == 0);
}

TEST_CASE("with a startup block: its argv and environment") {
    const char* argv[] = {"/bin/wc", "-l", "file", nullptr};
    const char* envp[] = {"HOME=/", "PATH=/bin", nullptr};
    tern_libc_entry_args args{};
    const char* slot = nullptr;
    tern_libc_entry_arguments(3, argv, 2, envp, "wc", &slot, &args);
    CHECK(args.argc == 3);
    CHECK(args.argv == argv);
    CHECK(args.envc == 2);
    CHECK(args.envp == envp);
    CHECK(args.execfn == word(argv[0]));
}

TEST_CASE("a startup block with argc 0 still gives argv[0] = the program name") {
    const char* argv[] = {nullptr};
    const char* envp[] = {"A=1", nullptr};
    tern_libc_entry_args args{};
    const char* slot = nullptr;
    tern_libc_entry_arguments(0, argv, 1, envp, "args", &slot, &args);
    CHECK(args.argc == 1);
    CHECK(args.argv[0] == std::string_view("args"));
    CHECK(args.envc == 1);
    CHECK(args.envp == envp);
}

TEST_CASE("counts beyond the bound are cut so the entry always fits the stack") {
    const char* argv[] = {"a", nullptr};
    const char* envp[] = {"A=1", nullptr};
    tern_libc_entry_args args{};
    const char* slot = nullptr;
    tern_libc_entry_arguments(UINT32_MAX, argv, UINT32_MAX, envp, "x", &slot, &args);
    CHECK(args.argc == TERN_LIBC_ENTRY_MAX_STRINGS);
    CHECK(args.envc == 0);
    tern_libc_entry_arguments(10, argv, UINT32_MAX, envp, "x", &slot, &args);
    CHECK(args.argc == 10);
    CHECK(args.envc == TERN_LIBC_ENTRY_MAX_STRINGS - 10);
    CHECK(tern_libc_entry_words(args.argc, args.envc) != 0);
}

TEST_CASE("entry words: argc, both vectors with their NULLs, and the auxiliary vector") {
    CHECK(tern_libc_entry_words(1, 0) == 1 + 2 + 1 + TERN_LIBC_ENTRY_AUX_WORDS);
    CHECK(tern_libc_entry_words(3, 2) == 1 + 4 + 3 + TERN_LIBC_ENTRY_AUX_WORDS);
    CHECK(tern_libc_entry_words(TERN_LIBC_ENTRY_MAX_STRINGS, 0) != 0);
    CHECK(tern_libc_entry_words(TERN_LIBC_ENTRY_MAX_STRINGS, 1) == 0);
    CHECK(tern_libc_entry_words(TERN_LIBC_ENTRY_MAX_STRINGS + 1, 0) == 0);
    CHECK(tern_libc_entry_words(UINT64_MAX, UINT64_MAX) == 0);
    CHECK(tern_libc_entry_words(5, UINT64_MAX) == 0);
}

TEST_CASE("the entry is laid out as a Linux exec leaves the stack") {
    const char* argv[] = {"/bin/hello", "one", "two"};
    const char* envp[] = {"HOME=/home", "TERM=vt100"};
    tern_libc_entry_args args{};
    const char* slot = nullptr;
    tern_libc_entry_arguments(3, argv, 2, envp, "hello", &slot, &args);
    args = with_aux(args);
    uint64_t words = tern_libc_entry_words(args.argc, args.envc);
    std::vector<uint64_t> entry(words + 4, 0xAAAAAAAAAAAAAAAAull);
    REQUIRE(tern_libc_build_entry(entry.data(), words, &args) == words);

    CHECK(entry[0] == 3);
    CHECK(entry[1] == word(argv[0]));
    CHECK(entry[2] == word(argv[1]));
    CHECK(entry[3] == word(argv[2]));
    CHECK(entry[4] == 0);
    CHECK(entry[5] == word(envp[0]));
    CHECK(entry[6] == word(envp[1]));
    CHECK(entry[7] == 0);
    const uint64_t expected_aux[] = {
        AT_PHDR,   0x400040,   AT_PHENT,  56, AT_PHNUM,          5,  AT_PAGESZ, 4096,
        AT_RANDOM, 0x7fff0000, AT_EXECFN, 0,  TERN_AT_START_ARG, 42, AT_NULL,   0,
    };
    for (size_t i = 0; i < TERN_LIBC_ENTRY_AUX_WORDS; ++i) {
        INFO("aux word " << i);
        if (i == 11)
            CHECK(entry[8 + i] == word(argv[0])); // AT_EXECFN: argv[0]
        else
            CHECK(entry[8 + i] == expected_aux[i]);
    }
    // Nothing is written past the entry.
    CHECK(entry[words] == 0xAAAAAAAAAAAAAAAAull);

    // What musl reads back.
    CHECK(aux_value(entry.data(), AT_PAGESZ) == 4096);
    CHECK(aux_value(entry.data(), TERN_AT_START_ARG) == 42);
    CHECK(aux_value(entry.data(), AT_RANDOM) == 0x7fff0000);
}

TEST_CASE("the default entry: 20 words, which keeps the stack 16-byte aligned") {
    tern_libc_entry_args args{};
    const char* slot = nullptr;
    tern_libc_entry_arguments(0, nullptr, 0, nullptr, "program", &slot, &args);
    args = with_aux(args);
    uint64_t entry[20];
    REQUIRE(tern_libc_entry_words(1, 0) == 20);
    REQUIRE(tern_libc_build_entry(entry, 20, &args) == 20);
    CHECK(entry[0] == 1);
    CHECK(entry[1] == word(slot));
    CHECK(entry[2] == 0); // argv's NULL
    CHECK(entry[3] == 0); // the empty environment's NULL
    CHECK(aux_value(entry, AT_EXECFN) == word(slot));
}

TEST_CASE("an entry that does not fit is not written at all") {
    const char* argv[] = {"a", "b"};
    tern_libc_entry_args args{};
    const char* slot = nullptr;
    tern_libc_entry_arguments(2, argv, 0, nullptr, "x", &slot, &args);
    uint64_t words = tern_libc_entry_words(2, 0);
    std::vector<uint64_t> entry(words, 7);
    CHECK(tern_libc_build_entry(entry.data(), words - 1, &args) == 0);
    for (uint64_t w : entry)
        CHECK(w == 7);
    CHECK(tern_libc_build_entry(entry.data(), 0, &args) == 0);
}

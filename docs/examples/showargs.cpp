// The native API guide's first example (docs/native-api.md, "A program"): a program's
// arguments and environment. Run it at the shell as `showargs one two`.
#include <tern/print.h>
#include <tern/startup.h>

extern "C" int main(uint64_t) {
    for (int i = 0; i < tern::argc(); ++i)
        tern::println("argv[{}] = {}", i, tern::argv()[i]);
    tern::println("HOME is {}", tern::getenv("HOME"));
    return 0; // the exit status the shell and the parent's wait see
}

/*
 * hello: the first C program in the boot file system (/bin/hello).
 *
 *     hello [words...]
 *
 * Prints "hello from <argv[0]> (pid <global pid in hex>)", then each argument on its own
 * line, then the value of HOME when the environment has it. Exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <tern/libc.h>
#include <unistd.h>

int main(int argc, char** argv) {
    /* The proc server's global id (node << 32 | serial); a program the kernel started
     * has none, and then getpid() is its kernel task id. */
    unsigned long pid = tern_global_pid();
    if (pid == 0)
        pid = (unsigned long)getpid();
    printf("hello from %s (pid %#lx)\n", argc > 0 ? argv[0] : "?", pid);
    for (int i = 1; i < argc; ++i)
        printf("%s\n", argv[i]);
    const char* home = getenv("HOME");
    if (home)
        printf("HOME=%s\n", home);
    return 0;
}

/*
 * args: prints what the program was started with (/bin/args), a test helper for argument
 * and environment passing from the shell through the proc server.
 *
 *     argc=3
 *     argv[0]=[args]
 *     argv[1]=[one]
 *     argv[2]=[two words]
 *     env=[HOME=/]
 *
 * The brackets show empty arguments and leading or trailing blanks. Exits 0.
 */
#include <stdio.h>

int main(int argc, char** argv, char** envp) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; ++i)
        printf("argv[%d]=[%s]\n", i, argv[i]);
    for (char** e = envp; *e; ++e)
        printf("env=[%s]\n", *e);
    return 0;
}

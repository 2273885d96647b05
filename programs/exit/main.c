/*
 * exit: ends with the status it is given (/bin/exit), for testing how exit statuses
 * travel from a C program through the proc server to whoever waits for it.
 *
 *     exit N        N is a decimal number from 0 to 255
 *
 * A missing, extra or malformed argument prints a message on stderr and exits 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: exit N (N from 0 to 255)\n");
        return 2;
    }
    const char* text = argv[1];
    /* strtol alone would accept leading blanks, a sign and trailing junk. */
    if (text[0] < '0' || text[0] > '9') {
        fprintf(stderr, "exit: bad status '%s' (want a number from 0 to 255)\n", text);
        return 2;
    }
    char* end = 0;
    errno = 0;
    long status = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || status > 255) {
        fprintf(stderr, "exit: bad status '%s' (want a number from 0 to 255)\n", text);
        return 2;
    }
    exit((int)status);
}

/*
 * check.h: the checks the C library's test programs (the .c files of tests/libc) count
 * and print.
 *
 * A program defines CHECK_NAME (its name, as it begins every line) before it includes
 * this file, calls check(ok, what) per check, which prints "NAME: ok WHAT" or
 * "NAME: FAILED WHAT (errno N: TEXT)", and ends main with `return check_summary();`,
 * which prints "NAME: N checks, M failures" and gives 0 only when nothing failed. The
 * programs run on Tern and on the host's Linux alike.
 */
#ifndef TERN_TESTS_LIBC_CHECK_H
#define TERN_TESTS_LIBC_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifndef CHECK_NAME
#error "define CHECK_NAME before including check.h"
#endif

static int g_checks, g_failures;

static void check(int ok, const char* what) {
    ++g_checks;
    if (ok) {
        printf(CHECK_NAME ": ok %s\n", what);
    } else {
        ++g_failures;
        printf(CHECK_NAME ": FAILED %s (errno %d: %s)\n", what, errno, strerror(errno));
    }
    fflush(stdout);
}

static int check_summary(void) {
    printf(CHECK_NAME ": %d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

#endif

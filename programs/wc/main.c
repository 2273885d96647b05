/*
 * wc: counts the lines, words and bytes of files (/bin/wc), as POSIX wc does.
 *
 *     wc [-c|-m] [-l] [-w] [file...]
 *
 * For each file, prints "<lines> <words> <bytes> <file>" (only the counts asked for, in
 * that order; all three by default), then a "total" line when there was more than one
 * file. Without a file it reads standard input and prints the counts alone. A word is a
 * maximal run of characters that are not white space; a line is a newline character. -m
 * counts characters, which in the C locale are bytes.
 *
 * A file that cannot be read is reported on stderr ("wc: <file>: <reason>"); the others
 * are still counted and wc exits 1. A bad option exits 2 with a usage message.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct counts {
    unsigned long lines;
    unsigned long words;
    unsigned long bytes;
};

static int g_show_lines;
static int g_show_words;
static int g_show_bytes;

/* Counts everything fd delivers into *c. Returns 0, or an errno when a read failed. */
static int count_fd(int fd, struct counts* c) {
    static unsigned char buffer[4096];
    int in_word = 0;
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof(buffer));
        if (n < 0)
            return errno;
        if (n == 0)
            return 0;
        c->bytes += (unsigned long)n;
        for (ssize_t i = 0; i < n; ++i) {
            if (buffer[i] == '\n')
                ++c->lines;
            if (isspace(buffer[i])) {
                in_word = 0;
            } else if (!in_word) {
                in_word = 1;
                ++c->words;
            }
        }
    }
}

static void print_counts(const struct counts* c, const char* name) {
    const char* separator = "";
    if (g_show_lines) {
        printf("%s%lu", separator, c->lines);
        separator = " ";
    }
    if (g_show_words) {
        printf("%s%lu", separator, c->words);
        separator = " ";
    }
    if (g_show_bytes)
        printf("%s%lu", separator, c->bytes);
    if (name)
        printf(" %s", name);
    printf("\n");
}

int main(int argc, char** argv) {
    int opt;
    while ((opt = getopt(argc, argv, "clmw")) != -1) {
        switch (opt) {
        case 'c':
        case 'm':
            g_show_bytes = 1;
            break;
        case 'l':
            g_show_lines = 1;
            break;
        case 'w':
            g_show_words = 1;
            break;
        default:
            fprintf(stderr, "usage: wc [-c|-m] [-l] [-w] [file...]\n");
            return 2;
        }
    }
    if (!g_show_lines && !g_show_words && !g_show_bytes)
        g_show_lines = g_show_words = g_show_bytes = 1;

    if (optind == argc) {
        struct counts c = {0, 0, 0};
        int error = count_fd(0, &c);
        if (error != 0) {
            fprintf(stderr, "wc: standard input: %s\n", strerror(error));
            return 1;
        }
        print_counts(&c, 0);
        return 0;
    }

    int status = 0;
    struct counts total = {0, 0, 0};
    for (int i = optind; i < argc; ++i) {
        const char* name = argv[i];
        int fd = strcmp(name, "-") == 0 ? 0 : open(name, O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "wc: %s: %s\n", name, strerror(errno));
            status = 1;
            continue;
        }
        struct counts c = {0, 0, 0};
        int error = count_fd(fd, &c);
        if (fd != 0)
            close(fd);
        if (error != 0) {
            fprintf(stderr, "wc: %s: %s\n", name, strerror(error));
            status = 1;
            continue;
        }
        print_counts(&c, name);
        total.lines += c.lines;
        total.words += c.words;
        total.bytes += c.bytes;
    }
    if (argc - optind > 1)
        print_counts(&total, "total");
    return status;
}

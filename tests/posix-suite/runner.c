/*
 * posixsuite: runs tests of the Open POSIX Test Suite linked into this one program.
 *
 * Every test's main() was renamed when it was compiled (tools/posix_suite.py build) and
 * is reached through pts_tests[], generated beside this file. The same runner is built
 * against Tern's musl and against the host's C library, so both sides run the same
 * tests the same way.
 *
 *     posixsuite [-t seconds] [-o output-file] [-f list-file] [-s k/n] [-l] [pattern...]
 *
 * A pattern selects one test ("sem_open/1-1") or, ending in '/', every test whose name
 * starts with it ("pthread_mutex_lock/"); -f reads patterns from a file, one a line (a
 * '#' starts a comment); no pattern selects all.
 * -s k/n runs only the k-th of every n selected tests (k from 0), so n copies of the
 * system can share one run (tools/posix_suite.py run --shards n).
 * -l lists the selected names. Each test runs in a child process of its own process
 * group, with default signal dispositions and an empty signal mask, its output sent to
 * the output file; a test still running after the time limit (default 20 s) is killed
 * with its group and counted as HUNG. One line per test:
 *
 *     pts: <name> <PASS|FAIL|UNRESOLVED|UNSUPPORTED|UNTESTED|HUNG|EXIT n|SIGNAL n> <ms>
 *
 * followed, when the test did not pass, by up to four lines of its output
 * ("pts-out: <name>: <text>"). The suite's convention gives the exit status: 0 PASS,
 * 1 FAIL, 2 UNRESOLVED, 4 UNSUPPORTED, 5 UNTESTED. The last line is
 * "pts: done <n> tests".
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct pts_test {
    const char* name;
    int (*main)(int argc, char** argv);
};

extern const struct pts_test pts_tests[];
extern const int pts_test_count;

enum {
    kMaxPatterns = 4096,
    kOutputLines = 4,
    kOutputWidth = 200
};

static const char* patterns[kMaxPatterns];
static int pattern_count;

static int selected(const char* name) {
    if (pattern_count == 0) {
        return 1;
    }
    for (int i = 0; i < pattern_count; i++) {
        size_t len = strlen(patterns[i]);
        int prefix = len > 0 && patterns[i][len - 1] == '/';
        if (prefix ? strncmp(name, patterns[i], len) == 0 : strcmp(name, patterns[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static void add_pattern(const char* pattern) {
    if (pattern_count == kMaxPatterns) {
        fprintf(stderr, "posixsuite: more than %d patterns\n", kMaxPatterns);
        exit(2);
    }
    patterns[pattern_count++] = pattern;
}

static void read_patterns(const char* path) {
    FILE* f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "posixsuite: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, " \t\r\n#")] = '\0';
        if (line[0] != '\0') {
            add_pattern(strdup(line));
        }
    }
    fclose(f);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* In the child: a fresh process group, default dispositions, nothing blocked, the output
   to the file; then the test itself. */
static void run_child(const struct pts_test* test, const char* output) {
    setpgid(0, 0);
    for (int sig = 1; sig < 65; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            signal(sig, SIG_DFL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int fd = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2) {
            close(fd);
        }
    }
    char* argv[] = {(char*)test->name, NULL};
    exit(test->main(1, argv));
}

static void print_output(const char* name, const char* output) {
    FILE* f = fopen(output, "r");
    if (f == NULL) {
        return;
    }
    char line[kOutputWidth];
    int printed = 0;
    while (printed < kOutputLines && fgets(line, sizeof line, f) != NULL) {
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (len == 0) {
            continue;
        }
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e) {
                line[i] = '?';
            }
        }
        printf("pts-out: %s: %s\n", name, line);
        printed++;
        /* The rest of an over-long line is dropped. */
        if (strchr(line, '\0') == line + sizeof line - 1) {
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n') {
            }
        }
    }
    fclose(f);
}

static int run_test(const struct pts_test* test, int limit_s, const char* output) {
    fflush(NULL);
    long long start = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        printf("\npts: %s EXIT 127 0\npts-out: %s: fork: %s\n", test->name, test->name,
               strerror(errno));
        return 1;
    }
    if (pid == 0) {
        run_child(test, output);
    }
    setpgid(pid, pid);
    int status = 0;
    int hung = 0;
    long wait_ms = 1;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            break;
        }
        if (done < 0 && errno != EINTR) {
            printf("\npts: %s EXIT 126 0\npts-out: %s: waitpid: %s\n", test->name, test->name,
                   strerror(errno));
            return 1;
        }
        if (now_ms() - start > (long long)limit_s * 1000) {
            hung = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        sleep_ms(wait_ms);
        if (wait_ms < 50) {
            wait_ms *= 2;
        }
    }
    long long elapsed = now_ms() - start;
    /* Whatever the test left running in its group goes with it. */
    kill(-pid, SIGKILL);
    char verdict[32];
    if (hung) {
        snprintf(verdict, sizeof verdict, "HUNG");
    } else if (WIFSIGNALED(status)) {
        snprintf(verdict, sizeof verdict, "SIGNAL %d", WTERMSIG(status));
    } else {
        static const char* const names[] = {"PASS", "FAIL",        "UNRESOLVED",
                                            NULL,   "UNSUPPORTED", "UNTESTED"};
        int code = WEXITSTATUS(status);
        if (code < 6 && names[code] != NULL) {
            snprintf(verdict, sizeof verdict, "%s", names[code]);
        } else {
            snprintf(verdict, sizeof verdict, "EXIT %d", code);
        }
    }
    /* A test may leave a partial line on the console; the result starts a line. */
    printf("\npts: %s %s %lld\n", test->name, verdict, elapsed);
    if (strcmp(verdict, "PASS") != 0) {
        print_output(test->name, output);
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char** argv) {
    int limit_s = 20;
    int list = 0;
    const char* output = "/tmp/posixsuite.out";
    int shard = 0;
    int shards = 1;
    int opt;
    while ((opt = getopt(argc, argv, "t:o:f:s:l")) != -1) {
        switch (opt) {
        case 't':
            limit_s = atoi(optarg);
            break;
        case 'o':
            output = optarg;
            break;
        case 'f':
            read_patterns(optarg);
            break;
        case 's':
            if (sscanf(optarg, "%d/%d", &shard, &shards) != 2 || shards <= 0 || shard < 0
                || shard >= shards) {
                fprintf(stderr, "posixsuite: -s wants k/n with 0 <= k < n, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'l':
            list = 1;
            break;
        default:
            fprintf(stderr, "usage: posixsuite [-t seconds] [-o output-file] [-f list-file] "
                            "[-s k/n] [-l] [pattern...]\n");
            return 2;
        }
    }
    if (limit_s <= 0) {
        fprintf(stderr, "posixsuite: the time limit must be positive\n");
        return 2;
    }
    for (int i = optind; i < argc; i++) {
        add_pattern(argv[i]);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int count = 0;
    int ordinal = 0;
    for (int i = 0; i < pts_test_count; i++) {
        if (!selected(pts_tests[i].name)) {
            continue;
        }
        if (ordinal++ % shards != shard) {
            continue;
        }
        count++;
        if (list) {
            printf("%s\n", pts_tests[i].name);
        } else {
            run_test(&pts_tests[i], limit_s, output);
        }
    }
    if (!list) {
        printf("\npts: done %d tests\n", count);
    }
    return 0;
}

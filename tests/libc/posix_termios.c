/* The terminal through the C library: tcgetattr's defaults, tcsetattr and cfmakeraw,
 * raw reads by VMIN and VTIME, poll and FIONREAD in raw mode, a canonical line read in
 * pieces, FIONREAD over two queued lines, the window size, tcflush and tcflow, and the errors Linux
 * gives (ENOTTY on a file and a pipe, EBADF, EFAULT, EINVAL).
 *
 * On Tern the terminal is the console (fd 0) and a console session types the input when
 * the program asks ("posix_termios: type <text>"); on the host's Linux
 * (unit.libc_termios_on_host) it is a pseudo-terminal whose master side the program
 * writes the same input to. Prints "posix_termios: ok ..." per check,
 * "posix_termios: FAILED ..." for a failure and "posix_termios: N checks, M failures";
 * exits 0 only when nothing failed. The terminal's settings are put back at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<tern/libc.h>)
#define ON_TERN 1
#else
#define ON_TERN 0
#endif

#define CHECK_NAME "posix_termios"
#include "check.h"
static int g_tty = 0;
static int g_master = -1;

/* A call that must fail with errno `want`. */
static void check_errno(long r, int want, const char* what) {
    ++g_checks;
    if (r == -1 && errno == want) {
        printf("posix_termios: ok %s: %s\n", what, strerror(want));
    } else {
        ++g_failures;
        printf("posix_termios: FAILED %s: got %ld errno %d (%s), expected %d (%s)\n", what, r,
               r == -1 ? errno : 0, r == -1 ? strerror(errno) : "-", want, strerror(want));
    }
    fflush(stdout);
}

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The input for the next step: typed by the session on Tern, written to the master here. */
static void feed(const char* text, const char* as_typed) {
    if (g_master >= 0) {
        if (write(g_master, text, strlen(text)) != (ssize_t)strlen(text))
            printf("posix_termios: writing to the master: %s\n", strerror(errno));
    } else {
        printf("posix_termios: type %s\n", as_typed);
    }
    fflush(stdout);
}

static int set_raw(int min, int time) {
    struct termios t;
    if (tcgetattr(g_tty, &t) != 0)
        return -1;
    cfmakeraw(&t);
    t.c_oflag |= OPOST; /* keep "\n" as "\r\n" for this program's own output */
    t.c_cc[VMIN] = (cc_t)min;
    t.c_cc[VTIME] = (cc_t)time;
    return tcsetattr(g_tty, TCSANOW, &t);
}

static void test_defaults(void) {
    struct termios t;
    check(tcgetattr(g_tty, &t) == 0, "tcgetattr on the terminal");
    check((t.c_lflag & (ICANON | ECHO | ISIG)) == (ICANON | ECHO | ISIG),
          "canonical mode, echo and signals at first");
    check((t.c_oflag & (OPOST | ONLCR)) == (OPOST | ONLCR), "OPOST and ONLCR at first");
    check((t.c_iflag & ICRNL) != 0, "ICRNL at first");
    check(t.c_cc[VINTR] == 3 && t.c_cc[VQUIT] == 034 && t.c_cc[VERASE] == 0177
              && t.c_cc[VKILL] == 025 && t.c_cc[VEOF] == 4 && t.c_cc[VSUSP] == 032
              && t.c_cc[VMIN] == 1 && t.c_cc[VTIME] == 0,
          "Linux's control characters at first");
    check(isatty(g_tty) == 1, "isatty on the terminal");
}

static void test_set_and_get(const struct termios* original) {
    struct termios t = *original, back;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE);
    t.c_cc[VERASE] = 010;
    t.c_cc[VKILL] = 'K';
    check(tcsetattr(g_tty, TCSADRAIN, &t) == 0, "tcsetattr TCSADRAIN");
    check(tcgetattr(g_tty, &back) == 0 && back.c_lflag == t.c_lflag && back.c_cc[VERASE] == 010
              && back.c_cc[VKILL] == 'K' && back.c_iflag == t.c_iflag && back.c_oflag == t.c_oflag,
          "tcgetattr gives back what tcsetattr set");
    check_errno(tcsetattr(g_tty, 99, &t), EINVAL, "tcsetattr with an unknown action");
    check(tcsetattr(g_tty, TCSAFLUSH, original) == 0, "tcsetattr TCSAFLUSH puts it back");
    struct termios raw = *original;
    cfmakeraw(&raw);
    check(tcsetattr(g_tty, TCSANOW, &raw) == 0 && tcgetattr(g_tty, &back) == 0
              && !(back.c_lflag & (ICANON | ECHO | ISIG)) && !(back.c_oflag & OPOST)
              && back.c_cc[VMIN] == 1 && back.c_cc[VTIME] == 0,
          "cfmakeraw's settings are kept");
    check(tcsetattr(g_tty, TCSANOW, original) == 0, "tcsetattr puts canonical mode back");
}

static void test_raw_reads(void) {
    char buffer[16];
    check(set_raw(0, 0) == 0, "raw mode, VMIN 0 VTIME 0");
    int64_t start = now_ms();
    check(read(g_tty, buffer, sizeof(buffer)) == 0 && now_ms() - start < 100,
          "a read with nothing typed returns 0 at once");
    struct pollfd p = {g_tty, POLLIN, 0};
    check(poll(&p, 1, 0) == 0, "poll finds nothing to read");
    int n = -1;
    check(ioctl(g_tty, FIONREAD, &n) == 0 && n == 0, "FIONREAD is 0");

    check(set_raw(0, 3) == 0, "raw mode, VMIN 0 VTIME 3");
    start = now_ms();
    ssize_t r = read(g_tty, buffer, sizeof(buffer));
    int64_t waited = now_ms() - start;
    check(r == 0 && waited >= 250 && waited < 2000, "a read returns 0 after VTIME (0.3 s)");

    check(set_raw(3, 0) == 0, "raw mode, VMIN 3 VTIME 0");
    feed("abc", "abc");
    p.revents = 0;
    check(poll(&p, 1, 20000) == 1 && (p.revents & POLLIN), "poll sees typed bytes");
    /* The three bytes arrive one by one on Tern; the read waits for VMIN of them. */
    r = read(g_tty, buffer, sizeof(buffer));
    check(r == 3 && memcmp(buffer, "abc", 3) == 0, "a read returns the VMIN bytes typed");
    check(ioctl(g_tty, FIONREAD, &n) == 0 && n == 0, "FIONREAD is 0 once they are read");

    check(set_raw(4, 5) == 0, "raw mode, VMIN 4 VTIME 5");
    feed("xy", "xy");
    start = now_ms();
    r = read(g_tty, buffer, sizeof(buffer));
    check(r == 2 && memcmp(buffer, "xy", 2) == 0,
          "with fewer than VMIN bytes the inter-byte timer ends the read");
}

static void test_canonical(const struct termios* original) {
    char buffer[16];
    struct termios t = *original;
    t.c_lflag &= ~(tcflag_t)ECHO;
    check(tcsetattr(g_tty, TCSANOW, &t) == 0, "canonical mode without echo");
    feed("line\n", "line and Enter");
    ssize_t r = read(g_tty, buffer, 2);
    check(r == 2 && memcmp(buffer, "li", 2) == 0, "a read takes the start of a line");
    r = read(g_tty, buffer, sizeof(buffer));
    check(r == 3 && memcmp(buffer, "ne\n", 3) == 0, "the next read takes the rest of it");
    feed("one\ntwo\n", "two lines");
    int n = 0;
    for (int64_t end = now_ms() + 10000; now_ms() < end; usleep(10000))
        if (ioctl(g_tty, FIONREAD, &n) != 0 || n >= 8)
            break;
    check(n == 8, "FIONREAD counts every line queued");
    r = read(g_tty, buffer, sizeof(buffer));
    check(r == 4 && memcmp(buffer, "one\n", 4) == 0, "a read takes one line");
    check(ioctl(g_tty, FIONREAD, &n) == 0 && n == 4, "FIONREAD counts the line left");
    r = read(g_tty, buffer, sizeof(buffer));
    check(r == 4 && memcmp(buffer, "two\n", 4) == 0, "the next read takes the next line");
    check(tcsetattr(g_tty, TCSANOW, original) == 0, "the settings put back");
}

static void test_window(void) {
    struct winsize original, size = {30, 100, 0, 0}, back;
    check(ioctl(g_tty, TIOCGWINSZ, &original) == 0, "TIOCGWINSZ");
    check(ioctl(g_tty, TIOCSWINSZ, &size) == 0, "TIOCSWINSZ 30x100");
    check(ioctl(g_tty, TIOCGWINSZ, &back) == 0 && back.ws_row == 30 && back.ws_col == 100,
          "TIOCGWINSZ gives the size set");
    check(ioctl(g_tty, TIOCSWINSZ, &original) == 0, "TIOCSWINSZ puts the size back");
}

static void test_controls_and_errors(void) {
    check(tcflush(g_tty, TCIFLUSH) == 0, "tcflush TCIFLUSH");
    check(tcflush(g_tty, TCIOFLUSH) == 0, "tcflush TCIOFLUSH");
    check_errno(tcflush(g_tty, 99), EINVAL, "tcflush of an unknown queue");
    check(tcflow(g_tty, TCOON) == 0, "tcflow TCOON");
    check_errno(tcflow(g_tty, 99), EINVAL, "tcflow with an unknown action");
    check_errno(ioctl(g_tty, TCGETS, (void*)0), EFAULT, "TCGETS to a null pointer");
    check_errno(ioctl(g_tty, TIOCSWINSZ, (void*)8), EFAULT, "TIOCSWINSZ from a bad pointer");
    check_errno(ioctl(g_tty, 0x54ff, 0), ENOTTY, "an unknown terminal request");
    struct termios t;
    check_errno(tcgetattr(99, &t), EBADF, "tcgetattr on a closed descriptor");
    int fds[2];
    if (pipe(fds) == 0) {
        check_errno(tcgetattr(fds[0], &t), ENOTTY, "tcgetattr on a pipe");
        check(isatty(fds[1]) == 0, "a pipe is not a terminal");
        close(fds[0]);
        close(fds[1]);
    }
    const char* path = ON_TERN ? "/tmp/posix_termios.file" : "posix_termios.file";
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    check(fd >= 0, "a file to ask");
    if (fd >= 0) {
        check_errno(tcgetattr(fd, &t), ENOTTY, "tcgetattr on a file");
        int n = 0;
        check_errno(ioctl(fd, TIOCGWINSZ, &n), ENOTTY, "TIOCGWINSZ on a file");
        close(fd);
        unlink(path);
    }
}

int main(void) {
    if (!ON_TERN) {
        g_master = posix_openpt(O_RDWR | O_NOCTTY);
        if (g_master < 0 || grantpt(g_master) != 0 || unlockpt(g_master) != 0) {
            printf("posix_termios: no pseudo-terminal: %s\n", strerror(errno));
            return 1;
        }
        g_tty = open(ptsname(g_master), O_RDWR | O_NOCTTY);
        if (g_tty < 0) {
            printf("posix_termios: cannot open %s: %s\n", ptsname(g_master), strerror(errno));
            return 1;
        }
    }
    struct termios original;
    if (tcgetattr(g_tty, &original) != 0) {
        printf("posix_termios: FAILED tcgetattr: %s\n", strerror(errno));
        return 1;
    }
    test_defaults();
    test_set_and_get(&original);
    test_raw_reads();
    (void)tcsetattr(g_tty, TCSANOW, &original);
    test_canonical(&original);
    test_window();
    test_controls_and_errors();
    (void)tcsetattr(g_tty, TCSAFLUSH, &original);
    return check_summary();
}

// The functions lwIP needs from its platform (arch/cc.h, lwipopts.h): the clock its
// timers run on, random numbers, diagnostics and assertions to the log, and the two C
// library functions the native runtime does not have.
#include <arch/cc.h>
#include <base/format.h>
#include <stdarg.h>
#include <tern/print.h>
#include <tern/runtime.h>
#include <tern/syscall.h>

#include "lwip/arch.h"
#include "lwip/sys.h"

namespace {

uint64_t g_random_state = 0;

// Diagnostics arrive in pieces (lwIP's debug macros print a line in several calls), so
// they are collected up to a newline and logged as whole lines.
char g_diag_line[256];
size_t g_diag_used = 0;

void diag_flush() {
    if (g_diag_used == 0)
        return;
    tern::println("net: lwip: {}", base::StringView(g_diag_line, g_diag_used));
    g_diag_used = 0;
}

void diag_put(char c) {
    if (c == '\n') {
        diag_flush();
        return;
    }
    if (g_diag_used == sizeof(g_diag_line))
        diag_flush();
    g_diag_line[g_diag_used++] = c;
}

void diag_string(const char* s) {
    for (; *s; ++s)
        diag_put(*s);
}

void diag_number(uint64_t value, unsigned base, bool upper, unsigned width, char pad) {
    char digits[24];
    size_t n = 0;
    const char* table = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        digits[n++] = table[value % base];
        value /= base;
    } while (value != 0);
    for (; width > n; --width)
        diag_put(pad);
    while (n > 0)
        diag_put(digits[--n]);
}

} // namespace

extern "C" {

// lwIP's clock: milliseconds of the monotonic clock. It wraps after 49 days, which lwIP's
// timer arithmetic allows for.
u32_t sys_now(void) {
    int64_t ns = tern_sys_clock_monotonic();
    return ns > 0 ? u32_t(uint64_t(ns) / 1000000u) : 0;
}

// xorshift64*, seeded from the clock at first use: DHCP transaction ids and the first
// ephemeral ports need to differ from boot to boot, not to be secret.
uint32_t tern_lwip_rand(void) {
    if (g_random_state == 0) {
        g_random_state = uint64_t(tern_sys_clock_monotonic()) ^ 0x9e3779b97f4a7c15ull;
        if (g_random_state == 0)
            g_random_state = 1;
    }
    g_random_state ^= g_random_state >> 12;
    g_random_state ^= g_random_state << 25;
    g_random_state ^= g_random_state >> 27;
    return uint32_t((g_random_state * 0x2545f4914f6cdd1dull) >> 32);
}

// The printf subset lwIP's format strings use: %s %c %d %i %u %x %X %p %%, with a
// zero-pad flag, a width, and the h, hh, l, ll and z length modifiers.
void tern_lwip_diag(const char* format, ...) {
    va_list args;
    va_start(args, format);
    for (const char* p = format; *p; ++p) {
        if (*p != '%') {
            diag_put(*p);
            continue;
        }
        ++p;
        char pad = ' ';
        if (*p == '0') {
            pad = '0';
            ++p;
        }
        unsigned width = 0;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + unsigned(*p++ - '0');
        int longs = 0;
        while (*p == 'l' || *p == 'h' || *p == 'z') {
            if (*p == 'l' || *p == 'z')
                ++longs;
            ++p;
        }
        switch (*p) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(args, long) : va_arg(args, int);
            if (v < 0) {
                diag_put('-');
                v = -v;
            }
            diag_number(uint64_t(v), 10, false, width, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(args, unsigned long) : va_arg(args, unsigned);
            diag_number(v, *p == 'u' ? 10 : 16, *p == 'X', width, pad);
            break;
        }
        case 'p':
            diag_string("0x");
            diag_number(uint64_t(uintptr_t(va_arg(args, void*))), 16, false, 0, ' ');
            break;
        case 's': {
            const char* s = va_arg(args, const char*);
            diag_string(s ? s : "(null)");
            break;
        }
        case 'c':
            diag_put(char(va_arg(args, int)));
            break;
        case '%':
            diag_put('%');
            break;
        case '\0':
            --p; // a lone '%' at the end
            break;
        default:
            diag_put('%');
            diag_put(*p);
            break;
        }
    }
    va_end(args);
}

void tern_lwip_assert(const char* message, const char* file, int line) {
    diag_flush();
    tern::println("net: lwip: assertion \"{}\" failed at {}:{}", message, file, line);
    tern::abort("lwIP assertion");
}

int tern_lwip_strncmp(const char* a, const char* b, size_t n) {
    for (; n > 0; --n, ++a, ++b) {
        if (*a != *b)
            return int(static_cast<unsigned char>(*a)) - int(static_cast<unsigned char>(*b));
        if (*a == '\0')
            return 0;
    }
    return 0;
}

int tern_lwip_atoi(const char* s) {
    while (*s == ' ' || *s == '\t')
        ++s;
    bool negative = *s == '-';
    if (*s == '-' || *s == '+')
        ++s;
    int value = 0;
    for (; *s >= '0' && *s <= '9'; ++s)
        value = value * 10 + (*s - '0');
    return negative ? -value : value;
}

} // extern "C"

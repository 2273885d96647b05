#include <kernel/core/symbols.h>

namespace kernel {

namespace {
const char* g_text = nullptr;
size_t g_length = 0;

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
} // namespace

void symbols_init(const char* text, size_t length) {
    g_text = text;
    g_length = length;
}

bool symbols_loaded() { return g_text != nullptr; }

bool symbolize(uint64_t address, SymbolHit& out) {
    if (!g_text)
        return false;
    // A linear scan: this runs only on panics and backtraces, and never allocates.
    bool found = false;
    uint64_t best = 0;
    size_t i = 0;
    while (i < g_length) {
        size_t line = i;
        uint64_t value = 0;
        int digits = 0;
        int d;
        while (i < g_length && (d = hex_digit(g_text[i])) >= 0 && digits < 17) {
            value = (value << 4) | uint64_t(d);
            ++i;
            ++digits;
        }
        // " T name"
        size_t name_start = i + 3;
        size_t end = i;
        while (end < g_length && g_text[end] != '\n')
            ++end;
        bool well_formed = digits == 16 && name_start < end && g_text[i] == ' ';
        if (well_formed && value <= address && value >= best) {
            char type = g_text[i + 1];
            if (type == 'T' || type == 't' || type == 'W' || type == 'w') {
                best = value;
                out.name = base::StringView(g_text + name_start, end - name_start);
                out.offset = address - value;
                found = true;
            }
        }
        (void)line;
        i = end + 1;
    }
    return found;
}

} // namespace kernel

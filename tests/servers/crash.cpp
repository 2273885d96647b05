// crash [io]: dies of a CPU exception, to show that a faulting program is reported and
// nothing else is disturbed. Without an argument it writes through a null pointer (page
// fault, vector 14); with `io` it reads the serial port's data register, which only the
// console server may (general protection, vector 13), though the console's I/O
// permissions may be the last ones loaded in the TSS.
#include <base/string_view.h>
#include <stdint.h>
#include <tern/startup.h>

extern "C" int main(uint64_t) {
    if (tern::argc() == 2 && base::StringView(tern::argv()[1]) == "io") {
        uint8_t value;
        __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(uint16_t(0x3F8)));
        return value == 0xFF ? 1 : 2; // not reached
    }
    volatile uint64_t* nowhere = nullptr;
    *nowhere = 1;
    return 0;
}

// crash: dies of a page fault (a write through a null pointer), to show that a faulting
// program is reported and nothing else is disturbed.
#include <stdint.h>

extern "C" int main(uint64_t) {
    volatile uint64_t* nowhere = nullptr;
    *nowhere = 1;
    return 0;
}

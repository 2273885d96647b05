// true: does nothing, successfully. The smallest program proc can start, which makes it
// the yardstick of spawn+wait (spawnbench is in tests/bench).
#include <stdint.h>

extern "C" int main(uint64_t) { return 0; }

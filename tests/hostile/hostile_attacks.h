#pragma once
// The attacks of tests/hostile/hostile.cpp, selected by its start argument. Shared with the
// kernel's launcher (kernel/test/user_tests.cpp), which expects each one's exit status.
#include <stdint.h>

namespace tern_test {

enum Attack : uint64_t {
    kWildWrite = 0,
    kNullRead = 1,
    kWriteText = 2,
    kExecStack = 3,
    kExecHeap = 4,
    kReadKernel = 5,
    kCli = 6,
    kHlt = 7,
    kPortIn = 8,
    kPortOut = 9,
    kMovCr3 = 10,
    kWrmsr = 11,
    kLgdt = 12,
    kInt80 = 13,
    kInt3 = 14,
    kStackOverflow = 15,
    kThreadBomb = 16,
    kHandleBomb = 17,
    kMemoryBomb = 18,
    kBadPointers = 19,
    kJumpNonCanonical = 20,
    kJumpKernel = 21,
    kSyscallFuzz = 22,
    kUd2 = 23,
    kDivideError = 24,
    kTrapFlag = 25,
    kWrgsbase = 26,
    kIretToRing0 = 27,
    kBadRspSyscall = 28,
    kNonCanonicalRspPush = 29,
    kSwapgs = 30,
    kPriorityHog = 31,
    kKernelHeapExhaustion = 32,
    kOrphanStoppedTask = 33,
    kExitWithBlockedThreads = 34,
};

} // namespace tern_test

#pragma once

// The native user-space runtime: process exit, abort and the entry contract.
//
// A program defines
//
//     extern "C" int main(uint64_t arg);
//
// where arg is the start argument the kernel passed in RDI (a handle value or 0).
// crt0's _start calls tern_start(arg), which seeds the stack-protector guard, runs the
// .init_array constructors, calls main and exits the task with main's result.

#include <stddef.h>
#include <stdint.h>
#include <tern/new.h>

extern "C" {
// Defined by the program.
int main(uint64_t arg);
// Defined by the runtime and called only by crt0.
[[noreturn]] void tern_start(uint64_t arg);
}

namespace tern {

// The exit status of a task that aborted: a failed assertion, a detected stack overflow,
// heap corruption, an allocation that cannot fail running out of memory. It matches the
// status a POSIX shell reports for SIGABRT (128 + 6) so scripts read it the same way.
inline constexpr int kAbortStatus = 134;

// Runs the handlers registered with __cxa_atexit (the destructors of global objects),
// newest first, then ends every thread of the task with status.
[[noreturn]] void exit(int64_t status);

// Prints "tern: abort: <reason>" and ends the task with kAbortStatus without running
// exit handlers, because the program's state can no longer be trusted.
[[noreturn]] void abort(const char* reason);

} // namespace tern

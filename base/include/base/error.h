#pragma once

// base::Error is the C++ face of the ABI status codes in <tern/abi/errors.h>. The enum and
// both name tables are generated from TERN_ENUMERATE_ERRORS so the kernel, the servers and
// the syscall boundary can never disagree about what a number means.

#include <stdint.h>
#include <tern/abi/errors.h>

namespace base {

enum class Error : int32_t {
#define TERN_X_BASE_ERROR(name, value, desc) name = (value),
    TERN_ENUMERATE_ERRORS(TERN_X_BASE_ERROR)
#undef TERN_X_BASE_ERROR
};

// One past the largest code, for tables indexed by Error.
inline constexpr int32_t kErrorCount = TERN_ERROR_COUNT_;

// "NO_MEMORY" for Error::NO_MEMORY; "UNKNOWN_ERROR" for a value outside the table, since
// codes may arrive from another node or an older binary.
const char* error_name(Error error);

// The one-line description from the ABI table; "unknown error" outside the table.
const char* error_description(Error error);

constexpr bool is_known_error(int64_t code) { return code >= 0 && code < kErrorCount; }

// A syscall reports failure as the negated code; these convert at that boundary.
constexpr int64_t to_syscall_return(Error error) { return -static_cast<int64_t>(error); }
constexpr Error error_from_syscall_return(int64_t value) {
    return value >= 0 ? Error::OK : static_cast<Error>(static_cast<int32_t>(-value));
}

} // namespace base

#pragma once

// The C++ face of a raw system call result. Every tern_sys_* stub (<tern/syscall.h>)
// returns an int64_t that is the value when >= 0 and the negated tern_status when < 0;
// sys_result turns that into a base::Result, so user-space C++ propagates a failed call
// with TRY like any other failure and never decodes the number by hand:
//
//     tern_handle_t port = TRY(tern::sys_result<tern_handle_t>(tern_sys_port_create(64)));
//     TRY(tern::sys_result<void>(tern_sys_irq_ack(irq)));
//
// A caller that only wants the status reads it from a Result<void>:
// `sys_result<void>(r).error()` holds once is_error() does; `sys_status(r)` gives
// base::Error::OK or the error directly, for logging and for handlers that answer with a
// status.

#include <base/error.h>
#include <base/result.h>
#include <stdint.h>
#include <tern/syscall.h>

namespace tern {

template<typename T = uint64_t>
[[nodiscard]] inline base::Result<T> sys_result(int64_t raw) {
    if (raw < 0)
        return base::error_from_syscall_return(raw);
    if constexpr (base::is_same_v<T, void>)
        return base::ok();
    else
        return T(raw);
}

// The status alone: base::Error::OK for raw >= 0.
[[nodiscard]] constexpr base::Error sys_status(int64_t raw) {
    return base::error_from_syscall_return(raw);
}

} // namespace tern

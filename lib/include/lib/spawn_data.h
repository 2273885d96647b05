#pragma once
// The data part of proc's Spawn request (tern/protocols/proc.h): the path, the
// arguments and the environment as consecutive NUL-terminated strings. Packed by every
// client (libc/native/process.cpp) and unpacked by proc, which trusts nothing in it.
#include <base/error.h>
#include <base/span.h>
#include <base/string_view.h>
#include <stddef.h>
#include <stdint.h>

namespace proc_data {

// Arguments, and environment entries, each: as many words as the shell takes
// (programs/shell/portable/command_line.h). The bytes are bounded by proc::kMaxSpawnData.
inline constexpr uint32_t kMaxStrings = 256;

// Packs path, argv[0..) and envp[0..) (null-terminated; null means none) into out.
// Returns the bytes used; TOO_BIG when they do not fit or there are too many strings,
// INVALID_ARGUMENT for an empty path.
base::Error pack(base::Span<char> out, base::StringView path, const char* const* argv,
                 const char* const* envp, size_t* used, uint32_t* argc, uint32_t* envc);

struct Unpacked {
    const char* path;
    const char* argv[kMaxStrings + 1]; // null-terminated
    const char* envp[kMaxStrings + 1];
};

// Splits data into exactly 1 + argc + envc strings, the last ending at the last byte.
// Pointers point into data. INVALID_ARGUMENT: a count that does not match, bytes after
// the last string, an empty path. TOO_BIG: more than kMaxStrings arguments or entries.
base::Error unpack(base::Span<const uint8_t> data, uint32_t argc, uint32_t envc, Unpacked& out);

} // namespace proc_data

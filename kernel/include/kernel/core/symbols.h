#pragma once
// Kernel symbol lookup for backtraces. The build extracts the kernel's function symbols
// with llvm-nm into a text module ("symbols", lines "<hex address> <type> <name>", sorted
// by address) that GRUB loads beside the kernel.
#include <base/string_view.h>
#include <stdint.h>

namespace kernel {

void symbols_init(const char* text, size_t length);
bool symbols_loaded();
struct SymbolHit {
    base::StringView name;
    uint64_t offset;
};
// Finds the symbol containing `address`; returns false when none is known.
bool symbolize(uint64_t address, SymbolHit& out);

} // namespace kernel

#!/bin/sh
# Writes the kernel's function symbols, sorted by address, as "<address> <type> <name>"
# lines: the module GRUB loads for symbolized backtraces.
# usage: gen_symbols.sh <llvm-nm> <kernel.elf> <output>
set -eu
"$1" -n -C --defined-only "$2" | grep -E '^[0-9a-f]{16} [TtWw] ' > "$3.tmp"
mv "$3.tmp" "$3"

#!/usr/bin/env python3
"""Write damaged copies of a good ELF program, for the tests of the program loader.

    mkbadelf.py --input GOOD.elf --output-dir DIR

Each output is the input with one defect that the loader must refuse with an error (and
the proc server with a log line), never load or crash on:

  truncated.elf     cut inside its program headers
  phnum.elf         claims 1000 program headers
  wx-segment.elf    its first loadable segment is both writable and executable
  kernel-entry.elf  its entry point is a kernel address
  filesz.elf        a loadable segment has more bytes in the file than in memory

Exits with status 2 and a message when the input is not a 64-bit little-endian ELF with
a loadable segment.
"""
import argparse
import os
import struct
import sys

PT_LOAD = 1
PF_X, PF_W = 1, 2


def fail(message):
    print("mkbadelf: " + message, file=sys.stderr)
    sys.exit(2)


def program_headers(data):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        fail("the input is not a 64-bit little-endian ELF file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    if phentsize != 56 or phoff + phnum * 56 > len(data):
        fail("the input's program headers are not where its header says")
    return phoff, phnum


def first_load(data, phoff, phnum):
    for i in range(phnum):
        at = phoff + i * 56
        if struct.unpack_from("<I", data, at)[0] == PT_LOAD:
            return at
    fail("the input has no loadable segment")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True)
    p.add_argument("--output-dir", required=True)
    args = p.parse_args()
    with open(args.input, "rb") as f:
        good = f.read()
    phoff, phnum = program_headers(good)
    load = first_load(good, phoff, phnum)

    variants = {}
    variants["truncated.elf"] = good[:phoff + 20]
    d = bytearray(good)
    struct.pack_into("<H", d, 0x38, 1000)
    variants["phnum.elf"] = bytes(d)
    d = bytearray(good)
    flags, = struct.unpack_from("<I", d, load + 4)
    struct.pack_into("<I", d, load + 4, flags | PF_W | PF_X)
    variants["wx-segment.elf"] = bytes(d)
    d = bytearray(good)
    struct.pack_into("<Q", d, 0x18, 0xFFFFFFFF80100000)
    variants["kernel-entry.elf"] = bytes(d)
    d = bytearray(good)
    memsz, = struct.unpack_from("<Q", d, load + 40)
    struct.pack_into("<Q", d, load + 32, memsz + 4096)
    variants["filesz.elf"] = bytes(d)

    os.makedirs(args.output_dir, exist_ok=True)
    for name, content in variants.items():
        with open(os.path.join(args.output_dir, name), "wb") as f:
            f.write(content)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Run the syscall fuzzer: boot the image in fuzz mode with a seed and a call count.

Without --seed a new random seed is drawn; either way the seed and the command that
replays the run are printed first, so a failure can be repeated exactly. The run passes
when the kernel survives, the fuzzer's oracle accepts every result (an error code or a
value of the kind the call returns), no kernel object or page is left behind once the
fuzzing task is gone, and QEMU exits with the pass status. Used by `./tern fuzz` and by
the system test system.fuzz.
"""
import argparse
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_SEED = 0x7FFFFFFF  # the kernel's fuzz_seed option: 31 bits, 0 = the fuzzer's default


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iso", required=True)
    p.add_argument("--seed", type=lambda v: int(v, 0), default=None,
                   help="1..0x7fffffff (default: a new random seed)")
    p.add_argument("--calls", type=int, default=20000)
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds (default: 120 plus 2 ms per call)")
    args = p.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randint(1, MAX_SEED)
    if not 1 <= args.seed <= MAX_SEED:
        print("fuzz: the seed must be in 1..%#x" % MAX_SEED, file=sys.stderr)
        return 2
    if not 1 <= args.calls <= 1000000000:
        print("fuzz: the call count must be in 1..1000000000", file=sys.stderr)
        return 2
    timeout = args.timeout if args.timeout else 120 + args.calls * 0.002
    print("fuzz: seed %d, %d calls; replay with: ./tern fuzz --seed %d --calls %d"
          % (args.seed, args.calls, args.seed, args.calls), flush=True)
    cmd = [sys.executable, os.path.join(HERE, "qemu_run.py"), "--iso", args.iso,
           "--timeout", str(timeout),
           "--cmdline", "mode=fuzz fuzz_iterations=%d fuzz_seed=%d" % (args.calls, args.seed),
           "--expect", "^fuzz: seed %#x, %d iterations$" % (args.seed, args.calls),
           "--expect", "^fuzz\\.calls: %d calls$" % args.calls,
           "--forbid", "^fuzz\\.result\\.(UNKNOWN_ERROR|BAD_VALUE):",
           "--expect", "^FUZZ DONE$", "--expect-status", "33"]
    start = time.monotonic()
    status = subprocess.call(cmd)
    print("fuzz: %s after %.1f s (seed %d, %d calls)"
          % ("passed" if status == 0 else "FAILED", time.monotonic() - start, args.seed,
             args.calls), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

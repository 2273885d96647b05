#!/usr/bin/env python3
"""Run Tern's benchmarks and print their results as `name: value unit` lines.

Boots the image in bench mode under QEMU with `-icount shift=0,sleep=off` and a fixed RTC,
so the guest's rdtsc counts retired instructions and every figure repeats run to run. The
kernel and the bench programs print result lines; this script collects them, checks that
the run finished, and prints them (optionally also as JSON).
"""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULT = re.compile(r"^([a-z0-9_.]+): ([0-9]+(?:\.[0-9]+)?) ([A-Za-z/_%]+)$")


def collect(output, results, name_filter):
    """Appends every `name: value unit` line of a console transcript to results."""
    for line in output.splitlines():
        m = RESULT.match(line.strip())
        if m and m.group(1).startswith(name_filter):
            results.append({"name": m.group(1), "value": float(m.group(2)), "unit": m.group(3)})
            print(line.strip(), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iso", default=os.path.join(ROOT, "build", "os", "tern.iso"))
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--filter", default="", help="run only benchmarks whose name starts with this")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args()
    if not os.path.exists(args.iso):
        print("bench: %s does not exist; run ./tern build first" % args.iso, file=sys.stderr)
        return 2
    cmdline = "mode=bench log=warn"
    if args.filter:
        cmdline += " selftest_filter=" + args.filter
    cmd = [sys.executable, os.path.join(ROOT, "tools", "qemu_run.py"), "--iso", args.iso,
           "--cmdline", cmdline, "--icount", "--timeout", str(args.timeout),
           "--expect", "^BENCH DONE", "--expect-status", "33"]
    print("bench: booting in bench mode under -icount shift=0 (figures are guest instructions)",
          flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results = []
    collect(proc.stdout, results, args.filter)
    if proc.returncode != 0:
        print(proc.stdout[-4000:], file=sys.stderr)
        print("bench: the bench run failed (see the console output above)", file=sys.stderr)
        return 1
    # User space: a normal boot to the shell, where the benchmark programs are typed.
    print("bench: booting to the shell under -icount for the user-space figures", flush=True)
    cmd = [sys.executable, os.path.join(ROOT, "tools", "console_session.py"), "--iso", args.iso,
           "--icount", "--timeout", str(args.timeout), "--script",
           os.path.join(ROOT, "tests", "system", "sessions", "bench_userspace.session")]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    collect(proc.stdout, results, args.filter)
    if proc.returncode != 0:
        print(proc.stdout[-4000:], file=sys.stderr)
        print("bench: the user-space bench run failed (see above)", file=sys.stderr)
        return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

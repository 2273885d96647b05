#!/usr/bin/env python3
"""Run Tern's benchmarks and print their results as `name: value unit` lines.

Boots the image in bench mode under QEMU with `-icount shift=0,sleep=off` and a fixed RTC,
so the guest's rdtsc counts retired instructions and every figure repeats run to run. The
kernel and the bench programs print result lines; this script collects them, checks that
the run finished, and prints them (optionally also as JSON).

With --check it compares every figure with the committed baseline (bench/baseline.txt)
and fails when a figure got worse than its stated tolerance, or when a figure the
baseline names was not printed at all. --update-baseline rewrites the values of that file
from this run, keeping each line's tolerance.
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


BASELINE = os.path.join(ROOT, "bench", "baseline.txt")
DEFAULT_TOLERANCE = "1%"


def default_tolerance(name, unit):
    """A new figure's tolerance: memory sizes and derived ratios are recorded, not gated
    (they move with every program added to the image); instruction counts get 1%."""
    if name.startswith("memory.") or unit == "ratio":
        return "info"
    return DEFAULT_TOLERANCE


def read_baseline(path):
    """Returns [(name, value, unit, tolerance)] in file order; tolerance is "N%" or "info"."""
    entries = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 4 or not (fields[3] == "info" or re.fullmatch(r"[0-9.]+%", fields[3])):
                raise SystemExit("bench: %s:%d: expected `name value unit tolerance` with the "
                                 "tolerance as N%% or info, got: %s" % (path, number, line))
            entries.append((fields[0], float(fields[1]), fields[2], fields[3]))
    return entries


def check(results, path):
    """Compares results with the baseline; every gated figure is better when lower."""
    measured = {r["name"]: r for r in results}
    failures = 0
    for name, base, unit, tolerance in read_baseline(path):
        r = measured.get(name)
        if r is None:
            print("bench: FAIL %s: in the baseline but not printed by this run" % name)
            failures += 1
            continue
        if r["unit"] != unit:
            print("bench: FAIL %s: unit %s, baseline says %s" % (name, r["unit"], unit))
            failures += 1
            continue
        if tolerance == "info":
            continue
        limit = base * (1 + float(tolerance[:-1]) / 100)
        change = (r["value"] - base) / base * 100 if base else 0.0
        if r["value"] > limit:
            print("bench: FAIL %s: %g %s, baseline %g (%+.2f%%, tolerance %s)"
                  % (name, r["value"], unit, base, change, tolerance))
            failures += 1
        elif r["value"] < base / (1 + float(tolerance[:-1]) / 100):
            print("bench: better %s: %g %s, baseline %g (%+.2f%%); record it with "
                  "./tern bench --update-baseline" % (name, r["value"], unit, base, change))
    known = {e[0] for e in read_baseline(path)}
    for r in results:
        if r["name"] not in known:
            print("bench: new figure %s (not in %s yet; --update-baseline adds it)"
                  % (r["name"], os.path.relpath(path, ROOT)))
    if failures:
        print("bench: %d figure(s) regressed or went missing" % failures)
        return 1
    print("bench: every figure is within its tolerance of %s" % os.path.relpath(path, ROOT))
    return 0


def update_baseline(results, path):
    """Writes this run's values, keeping tolerances and comments of the lines that stay."""
    old = {}
    if os.path.exists(path):
        old = {e[0]: e[3] for e in read_baseline(path)}
    header = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if not line.startswith("#"):
                    break
                header.append(line)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.writelines(header)
        for r in results:
            tolerance = old.get(r["name"], default_tolerance(r["name"], r["unit"]))
            value = ("%d" % r["value"]) if r["value"] == int(r["value"]) else ("%.2f" % r["value"])
            f.write("%s %s %s %s\n" % (r["name"], value, r["unit"], tolerance))
    print("bench: wrote %d figures to %s" % (len(results), os.path.relpath(path, ROOT)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iso", default=os.path.join(ROOT, "build", "os", "tern.iso"))
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--filter", default="", help="run only benchmarks whose name starts with this")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--check", action="store_true",
                   help="fail when a figure is worse than the baseline by more than its tolerance")
    p.add_argument("--update-baseline", action="store_true",
                   help="write this run's figures into the baseline file")
    p.add_argument("--baseline", default=BASELINE, help="baseline file (default bench/baseline.txt)")
    args = p.parse_args()
    if (args.check or args.update_baseline) and args.filter:
        print("bench: --check and --update-baseline need the whole run (no --filter)",
              file=sys.stderr)
        return 2
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
    # User space: a normal boot to the shell, where the benchmark programs are typed. No NIC:
    # the figures are the node's own (the loopback echo, the processes' memory), not those
    # of a NIC driver and a DHCP client busy beside them.
    print("bench: booting to the shell under -icount for the user-space figures", flush=True)
    cmd = [sys.executable, os.path.join(ROOT, "tools", "console_session.py"), "--iso", args.iso,
           "--icount", "--timeout", str(args.timeout), "--qemu-arg=-nic", "--qemu-arg=none",
           "--script", os.path.join(ROOT, "tests", "system", "sessions", "bench_userspace.session")]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    collect(proc.stdout, results, args.filter)
    if proc.returncode != 0:
        print(proc.stdout[-4000:], file=sys.stderr)
        print("bench: the user-space bench run failed (see above)", file=sys.stderr)
        return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if args.update_baseline:
        update_baseline(results, args.baseline)
    if args.check:
        return check(results, args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())

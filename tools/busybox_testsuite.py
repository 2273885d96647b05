#!/usr/bin/env python3
"""Run BusyBox's own test suite (testsuite/runtest) against a BusyBox build, per applet.

    busybox_testsuite.py --source SRC --build OUT [--known-failures FILE] [applet ...]

OUT is a configured and built BusyBox tree (O=OUT, holding .config and busybox). The
suite is copied into OUT/testsuite afresh (it writes where it runs, never in SRC) and
runtest runs once per applet the binary has (or per applet named), as BusyBox's
`make check` runs it. For each applet one line gives the count of PASS, FAIL, SKIPPED
and UNTESTED results, then a total; every failing test is named.

With --known-failures, the file lists tests that are expected to fail, one name per line
as runtest prints it after "FAIL: " (blank lines and lines starting with # are ignored;
a comment says why): the exit status is 0 only when every failure is listed. A listed
test that passes is reported but is not an error.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

RESULT = re.compile(r"^(PASS|FAIL|SKIPPED|UNTESTED): (.*)$")


def applets_of(busybox):
    out = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True).stdout
    return ["busybox"] + sorted(set(out.split()) - {"busybox"})


def read_known(path):
    known = set()
    if not path:
        return known
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip() and not line.lstrip().startswith("#"):
                known.add(line)
    return known


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--known-failures")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per applet")
    parser.add_argument("applets", nargs="*")
    args = parser.parse_args()

    source = os.path.abspath(args.source)
    build = os.path.abspath(args.build)
    busybox = os.path.join(build, "busybox")
    if not os.access(busybox, os.X_OK):
        sys.exit(f"busybox_testsuite.py: no BusyBox binary at {busybox}")
    suite = os.path.join(build, "testsuite")
    shutil.rmtree(suite, ignore_errors=True)
    shutil.copytree(os.path.join(source, "testsuite"), suite, symlinks=True)
    # testing.sh builds an `echo -ne` helper from ../scripts/echo.c when the shell's echo
    # lacks the options.
    os.makedirs(os.path.join(build, "scripts"), exist_ok=True)
    shutil.copy(os.path.join(source, "scripts", "echo.c"), os.path.join(build, "scripts"))

    env = dict(os.environ, bindir=build, srcdir=os.path.join(source, "testsuite"))
    env.pop("VERBOSE", None)
    known = read_known(args.known_failures)
    totals = {"PASS": 0, "FAIL": 0, "SKIPPED": 0, "UNTESTED": 0}
    failed = []
    print(f"{'applet':<12} {'pass':>5} {'fail':>5} {'skip':>5} {'untested':>8}")
    for applet in args.applets or applets_of(busybox):
        counts = {k: 0 for k in totals}
        try:
            run = subprocess.run(["sh", os.path.join(source, "testsuite", "runtest"), applet],
                                 cwd=suite, env=env, capture_output=True, text=True,
                                 errors="replace", timeout=args.timeout)
            output = run.stdout
        except subprocess.TimeoutExpired as e:
            output = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
                else (e.stdout or "")
            output += f"\nFAIL: {applet} (runtest timed out after {args.timeout} s)\n"
        for line in output.splitlines():
            match = RESULT.match(line)
            if match:
                counts[match.group(1)] += 1
                if match.group(1) == "FAIL":
                    failed.append((applet, match.group(2)))
        for k in totals:
            totals[k] += counts[k]
        print(f"{applet:<12} {counts['PASS']:>5} {counts['FAIL']:>5} {counts['SKIPPED']:>5} "
              f"{counts['UNTESTED']:>8}", flush=True)
    print(f"{'total':<12} {totals['PASS']:>5} {totals['FAIL']:>5} {totals['SKIPPED']:>5} "
          f"{totals['UNTESTED']:>8}")
    unexpected = 0
    for applet, name in failed:
        listed = name in known
        unexpected += not listed
        print(f"failed ({'known' if listed else 'NOT LISTED'}): {applet}: {name}")
    failed_names = {name for _, name in failed}
    for name in sorted(known - failed_names):
        print(f"listed as failing but passed: {name}")
    if args.known_failures:
        print(f"busybox testsuite: {totals['PASS']} passed, {totals['FAIL']} failed, "
              f"{unexpected} of them not listed in {os.path.basename(args.known_failures)}")
        return 1 if unexpected else 0
    return 1 if totals["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())

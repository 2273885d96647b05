#!/usr/bin/env python3
"""Run BusyBox's own test suite (testsuite/runtest) against a BusyBox build, per applet.

    busybox_testsuite.py --source SRC --build OUT [--known-failures FILE] [applet ...]

OUT is a configured and built BusyBox tree (O=OUT, holding .config and busybox). The
suite is copied into OUT/testsuite afresh (it writes where it runs, never in SRC) and
runtest runs once per applet the binary has (or per applet named), as BusyBox's
`make check` runs it. For each applet one line gives the count of PASS, FAIL, SKIPPED
and UNTESTED results, then a total; every failing test is named.

With --known-failures, the file lists tests that are expected to fail, one name per line
as runtest prints it after "FAIL: ", or a prefix of it ending in "*" (blank lines and
lines starting with # are ignored; a comment says why): the exit status is 0 only when
every failure is listed. A listed test that passes is reported but is not an error.

With --tern-iso the suite runs on a Tern node instead (system.busybox_testsuite): one
QEMU boot; ash on the console unpacks the suite the image carries
(/share/busybox-testsuite/unpack.sh, made by --pack) into /tmp/bb and runs runtest there
once per applet, each bounded by --timeout (an applet that hangs is reported, Ctrl-C
ends it, and a node that does not answer after it is booted again for the applets
left); the whole run is bounded by --total-timeout. The table shows the host's results
(--host-results, written by the host run's --results) beside Tern's.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

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


def shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def printf_format(data):
    """data as a printf format that prints exactly those bytes (newlines kept literal)."""
    out = []
    for byte in data:
        ch = chr(byte)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "%":
            out.append("%%")
        elif ch == "\n" or (0x20 <= byte < 0x7f and ch != "'"):
            out.append(ch)
        else:
            out.append("\\%03o" % byte)
    if out and out[0] == "-":
        out[0] = "\\055"  # not an option
    return "".join(out)


def pack(source, config, output):
    """Writes a shell archive of source/testsuite plus the build's .config.

    `sh OUT DIR` recreates the suite as DIR/testsuite (modes kept, symbolic links made
    again) and the configuration as DIR/.config, with only the shell's builtins and
    mkdir, chmod and ln: Tern's boot file system takes a bounded number of entries, so
    the suite reaches a node as this one file.
    """
    lines = ["#!/bin/sh",
             "# BusyBox's testsuite/ as a shell archive, made by tools/busybox_testsuite.py.",
             "# Usage: sh THIS DIR",
             "set -e",
             '[ -n "$1" ] || { echo "usage: sh $0 DIR" >&2; exit 2; }',
             'mkdir -p "$1/testsuite"',
             'cd "$1"']
    entries = [(".config", config)]
    root = os.path.join(source, "testsuite")
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(directory, source)
        if rel != "testsuite":
            lines.append("mkdir %s" % shell_quote(rel))
        for name in sorted(files) + sorted(d for d in dirs
                                           if os.path.islink(os.path.join(directory, d))):
            entries.append((os.path.join(rel, name), os.path.join(directory, name)))
        for name, path in entries:
            if os.path.islink(path):
                lines.append("ln -s %s %s" % (shell_quote(os.readlink(path)), shell_quote(name)))
                continue
            with open(path, "rb") as f:
                data = f.read()
            target = shell_quote(name)
            lines.append(": > %s" % target)
            for at in range(0, len(data), 8192):
                lines.append("printf %s >> %s" % (shell_quote(printf_format(data[at:at + 8192])),
                                                  target))
            if os.stat(path).st_mode & 0o111:
                lines.append("chmod +x %s" % target)
        entries = []
    lines.append("echo busybox-testsuite: unpacked")
    text = "\n".join(lines) + "\n"
    tmp = output + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(text)
    os.replace(tmp, output)


KINDS = ("PASS", "FAIL", "SKIPPED", "UNTESTED")


def count_results(applet, output, results):
    """Adds runtest's result lines in output to results[applet]: counts and failed names."""
    entry = results.setdefault(applet, {"counts": {k: 0 for k in KINDS}, "failed": []})
    for line in output.splitlines():
        match = RESULT.match(line.rstrip("\r"))
        if match:
            entry["counts"][match.group(1)] += 1
            if match.group(1) == "FAIL":
                entry["failed"].append(match.group(2))
    return entry


def row(applet, entry):
    if entry is None:
        return f"{'-':>5} {'-':>5} {'-':>5} {'-':>8}"
    c = entry["counts"]
    return f"{c['PASS']:>5} {c['FAIL']:>5} {c['SKIPPED']:>5} {c['UNTESTED']:>8}"


def totals_of(results):
    total = {"counts": {k: 0 for k in KINDS}, "failed": []}
    for entry in results.values():
        for k in KINDS:
            total["counts"][k] += entry["counts"][k]
    return total


def run_host(args):
    """runtest once per applet on the host's build; {applet: entry} in run order."""
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
    results = {}
    for applet in args.applets or applets_of(busybox):
        try:
            run = subprocess.run(["sh", os.path.join(source, "testsuite", "runtest"), applet],
                                 cwd=suite, env=env, capture_output=True, text=True,
                                 errors="replace", timeout=args.timeout)
            output = run.stdout
        except subprocess.TimeoutExpired as e:
            output = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
                else (e.stdout or "")
            output += f"\nFAIL: {applet} (runtest timed out after {args.timeout} s)\n"
        entry = count_results(applet, output, results)
        print(f"{applet:<12} {row(applet, entry)}", flush=True)
    return results


class TernNode:
    """One QEMU boot of the image with BusyBox's ash on the console, ready to run runtest
    in /tmp/bb/testsuite (the suite unpacked from /share/busybox-testsuite/unpack.sh,
    /tmp/bb/busybox a link to /bin/busybox, /tmp/bb/.config the build's)."""

    def __init__(self, args):
        sys.dont_write_bytecode = True  # no __pycache__ in the source tree
        import console_session  # noqa: E402 (tools/, next to this file)
        import qemu_run  # noqa: E402
        self.workdir = tempfile.mkdtemp(prefix="tern-bbsuite-")
        disk = os.path.join(self.workdir, "node.img")
        qemu_run.make_config_disk(disk, "")
        qargs = argparse.Namespace(qemu="qemu-system-x86_64", machine="q35", cpu="max",
                                   memory=args.memory, iso=args.tern_iso, icount=False,
                                   kvm=False, qemu_arg=[])
        self.proc = subprocess.Popen(qemu_run.qemu_command(qargs, disk), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.console = console_session.Console(self.proc, args.verbose)
        self.serial = 0

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def expect(self, pattern, timeout):
        """The match of pattern in the output after the last one, or an error string."""
        error = self.console.expect(pattern, timeout, time.monotonic() + timeout)
        return error

    def send(self, line):
        self.console.type(line.encode() + b"\r")

    def run(self, command, timeout):
        """Runs command in ash; (its output, None) or (what came, an error string)."""
        self.serial += 1
        mark = f"{self.serial}"
        # The marks are split in what is typed, so that the terminal's echo of the line
        # does not match them.
        self.send(f"echo '@@BE''GIN {mark}'; {command}; echo \"@@E\"\"ND {mark} $?\"")
        start_error = self.expect(f"@@BEGIN {mark}\\r?\\n", 30)
        if start_error:
            return "", start_error
        begin = self.console.position
        error = self.expect(f"@@END {mark} [0-9]+", timeout)
        output = self.console.output[begin:self.console.position]
        self.status = None
        if not error:
            self.status = int(output.rsplit(" ", 1)[1])
        return output, error

    def setup(self, args):
        """Boot, ash, the suite unpacked: None or an error string."""
        for pattern, line in (("tern:0> ", "sh"), ("# ", "PS1='ash$ '"),
                              ("ash\\$ ", None)):
            error = self.expect(pattern, args.boot_timeout if line == "sh" else 30)
            if error:
                return "setup: " + error
            if line:
                self.send(line)
        output, error = self.run(
            "sh /share/busybox-testsuite/unpack.sh /tmp/bb >/dev/null && "
            "ln -s /bin/busybox /tmp/bb/busybox && cd /tmp/bb/testsuite && "
            "export bindir=/tmp/bb && busybox --list | xargs echo applets:", 300)
        if error:
            return "setup: unpacking the suite: " + error
        match = re.search(r"^applets: (.*?)\r?$", output, re.MULTILINE)
        if not match or self.status != 0:
            return "setup: unpacking the suite failed:\n" + output
        self.applets = ["busybox"] + sorted(set(match.group(1).split()) - {"busybox"})
        return None


def run_tern(args):
    """runtest once per applet on a Tern node; {applet: entry} and the problems met (an
    applet that hung, a node that had to be booted again)."""
    results = {}
    problems = []
    node = None
    applets = list(args.applets)
    done = set()
    deadline = time.monotonic() + args.total_timeout
    try:
        boots = 0
        while True:
            if node is None:
                boots += 1
                if boots > args.max_boots:
                    problems.append(f"gave up after {args.max_boots} boots")
                    break
                node = TernNode(args)
                error = node.setup(args)
                if error:
                    problems.append(error)
                    node.close()
                    node = None
                    continue
                if not applets:
                    applets = node.applets
            todo = [a for a in applets if a not in done]
            if not todo:
                break
            if time.monotonic() > deadline:
                problems.append(f"out of time ({args.total_timeout} s): not run: "
                                + " ".join(todo))
                break
            applet = todo[0]
            done.add(applet)
            started = time.monotonic()
            limit = min(args.timeout, max(10, deadline - time.monotonic()))
            verbose = "-v " if args.runtest_verbose else ""
            output, error = node.run(f"sh runtest {verbose}{applet} </dev/null 2>&1", limit)
            elapsed = time.monotonic() - started
            if error:
                output += f"\nFAIL: {applet} (runtest timed out)\n"
                problems.append(f"{applet}: {error}")
                # Ctrl-C ends the foreground job; a node that does not answer after it is
                # booted again for the applets left.
                node.console.type(b"\x03")
                time.sleep(1)
                _, again = node.run("true", 20)
                if again:
                    problems.append(f"{applet}: no answer after Ctrl-C; booting again")
                    node.close()
                    node = None
            entry = count_results(applet, output, results)
            print(f"{applet:<12} {row(applet, entry)}   ({elapsed:.0f} s)", flush=True)
    finally:
        if node is not None:
            node.close()
    return results, problems


def listed_as(name, known):
    """The entry of known that names the test: itself, or a prefix ending in "*" (for
    the tests whose name carries a result that changes from run to run)."""
    if name in known:
        return name
    for entry in known:
        if entry.endswith("*") and name.startswith(entry[:-1]):
            return entry
    return None


def check(results, known_path, label, report_passed=True):
    """Prints each failure as listed or not, and listed ones that passed; the count of
    failures not listed."""
    known = read_known(known_path)
    unexpected = 0
    failed_names = set()
    for applet, entry in results.items():
        for name in entry["failed"]:
            match = listed_as(name, known)
            failed_names.add(match or name)
            listed = match is not None
            unexpected += not listed
            print(f"{label} failed ({'known' if listed else 'NOT LISTED'}): {applet}: {name}")
    for name in sorted(known - failed_names) if report_passed else []:
        print(f"{label} listed as failing but passed: {name}")
    return unexpected


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--known-failures")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per applet")
    parser.add_argument("--pack", metavar="OUT",
                        help="write the suite and OUT's .config as a shell archive and stop")
    parser.add_argument("--results", metavar="FILE",
                        help="host run: also write the results there (JSON), for the Tern run")
    parser.add_argument("--tern-iso", metavar="ISO",
                        help="run the suite on a Tern node booted from ISO, beside the "
                             "host's results (--host-results, or a host run now)")
    parser.add_argument("--host-results", metavar="FILE")
    parser.add_argument("--host-known-failures")
    parser.add_argument("--memory", default="512M")
    parser.add_argument("--boot-timeout", type=int, default=90)
    parser.add_argument("--max-boots", type=int, default=3)
    parser.add_argument("--total-timeout", type=int, default=420,
                        help="seconds for the whole Tern run; applets left are not run")
    parser.add_argument("-v", "--verbose", action="store_true", help="echo the console")
    parser.add_argument("--runtest-verbose", action="store_true",
                        help="runtest -v: each failing test's output")
    parser.add_argument("applets", nargs="*")
    args = parser.parse_args()
    if args.pack:
        pack(os.path.abspath(args.source), os.path.join(args.build, ".config"), args.pack)
        return 0

    header = f"{'applet':<12} {'pass':>5} {'fail':>5} {'skip':>5} {'untested':>8}"
    if not args.tern_iso:
        print(header)
        results = run_host(args)
        print(f"{'total':<12} {row('total', totals_of(results))}")
        if args.results:
            with open(args.results, "w", encoding="utf-8") as f:
                json.dump(results, f, indent=1)
        unexpected = check(results, args.known_failures, "host")
        total = totals_of(results)["counts"]
        if args.known_failures:
            print(f"busybox testsuite: {total['PASS']} passed, {total['FAIL']} failed, "
                  f"{unexpected} of them not listed in {os.path.basename(args.known_failures)}")
            return 1 if unexpected else 0
        return 1 if total["FAIL"] else 0

    start = time.monotonic()
    print("Tern, one applet at a time:")
    print(header)
    tern, problems = run_tern(args)
    print(f"Tern run: {time.monotonic() - start:.0f} s")
    host = None
    if args.host_results and os.path.exists(args.host_results):
        with open(args.host_results, encoding="utf-8") as f:
            host = json.load(f)
    elif os.access(os.path.join(args.build, "busybox"), os.X_OK):
        print("host, one applet at a time (no saved host results):")
        print(header)
        host = run_host(argparse.Namespace(source=args.source, build=args.build,
                                           applets=list(tern), timeout=args.timeout))
    host = host or {}
    if args.applets:  # a part of the suite: the host's results for the same part
        host = {a: host[a] for a in tern if a in host}
    print()
    print(f"{'':<12} {'host (Linux)':<26} | Tern")
    print(f"{header} | {header[13:]}")
    for applet in list(tern) + [a for a in host if a not in tern]:
        print(f"{applet:<12} {row(applet, host.get(applet))} | {row(applet, tern.get(applet))}")
    print(f"{'total':<12} {row('', totals_of(host))} | {row('', totals_of(tern))}")
    print()
    for problem in problems:
        print(f"problem: {problem}")
    unexpected = check(tern, args.known_failures, "Tern", report_passed=not args.applets)
    total = totals_of(tern)["counts"]
    ran = sum(total.values())
    listed = os.path.basename(args.known_failures) if args.known_failures else "no list"
    print(f"busybox testsuite on Tern: {total['PASS']} passed, {total['FAIL']} failed, "
          f"{unexpected} of them not listed in {listed}")
    if not tern or ran == 0:
        print("busybox testsuite on Tern: no result at all")
        return 1
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())

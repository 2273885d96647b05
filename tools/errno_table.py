#!/usr/bin/env python3
"""Bad input to system calls: the errno table on the host's Linux and on Tern, compared.

tests/libc/errno_table.c makes one call per row with one bad argument (a descriptor, a
pointer, flags, a path, a signal number) and prints what it got and what Linux documents.
This script runs the host's build of it, then boots Tern, runs /bin/errno_table at the
shell and compares the two, row by row:

- every host row must get its expected errno (else the table itself is wrong);
- every Tern row must get what the host got, unless the row is listed in the differences
  file (one "NAME TERN-ERRNO reason..." a line, '#' comments) with the errno Tern gives;
- a listed row that Tern now answers as the host does is named, and fails the run too,
  so that the list only shrinks.

Exit status 0 when nothing differs beyond the list. The boot is bounded by --timeout and
QEMU (started here) is ended by its pid.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_session  # noqa: E402
import qemu_run  # noqa: E402

ROW = re.compile(r"^errno_table: row (\S+) got (\S+) expected (\S+)\s*$", re.MULTILINE)
DONE = re.compile(r"^errno_table: done (\d+) rows", re.MULTILINE)


def parse(text):
    rows = {}
    for name, got, expected in ROW.findall(text):
        rows[name] = (got, expected)
    m = DONE.search(text)
    return rows, int(m.group(1)) if m else None


def read_differences(path):
    listed = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                raise SystemExit("%s:%d: want NAME TERN-ERRNO reason" % (path, number))
            listed[parts[0]] = (parts[1], parts[2])
    return listed


def run_host(binary):
    out = subprocess.run([binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=60, check=False)
    return out.stdout.decode("utf-8", "replace")


def run_tern(iso, timeout, verbose):
    workdir = tempfile.mkdtemp(prefix="tern-errno-")
    proc = None
    try:
        disk = os.path.join(workdir, "node.img")
        qemu_run.make_config_disk(disk, "")
        qargs = argparse.Namespace(qemu="qemu-system-x86_64", machine="q35", cpu="max",
                                   memory="256M", iso=iso, icount=False, kvm=False,
                                   qemu_arg=[])
        proc = subprocess.Popen(qemu_run.qemu_command(qargs, disk), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        console = console_session.Console(proc, verbose)
        deadline = time.monotonic() + timeout
        error = console.expect(r"tern:0> ", 60, deadline)
        if error:
            return console.output, "Tern did not reach the shell: " + error
        end = time.monotonic() + 2  # the servers' start-up lines, before typing
        while time.monotonic() < end:
            console.pump(0.1)
        console.type(b"errno_table\r")
        error = console.expect(DONE.pattern, timeout, deadline)
        return console.output, ("the Tern run did not finish: " + error) if error else None
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iso", required=True)
    p.add_argument("--host", required=True, help="the host's build of errno_table.c")
    p.add_argument("--differences", required=True)
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    listed = read_differences(args.differences)
    host_rows, host_count = parse(run_host(args.host))
    problems = []
    if host_count is None or host_count != len(host_rows) or not host_rows:
        problems.append("the host run did not finish (%s rows)" % host_count)
    for name, (got, expected) in sorted(host_rows.items()):
        if got != expected:
            problems.append("host: %s got %s, the table expects %s" % (name, got, expected))
    text, error = run_tern(args.iso, args.timeout, args.verbose)
    if error:
        problems.append(error)
    tern_rows, _ = parse(text)
    print("errno_table: %d rows on the host, %d on Tern, %d differences listed"
          % (len(host_rows), len(tern_rows), len(listed)))
    for name, (host_got, _) in sorted(host_rows.items()):
        if name not in tern_rows:
            if not error:
                problems.append("Tern: no answer for %s" % name)
            continue
        tern_got = tern_rows[name][0]
        if name in listed:
            want, reason = listed[name]
            if tern_got == host_got:
                problems.append("%s: listed as a difference but Tern now agrees (%s)"
                                % (name, tern_got))
            elif tern_got != want:
                problems.append("%s: Tern got %s, the list says %s (host %s)"
                                % (name, tern_got, want, host_got))
            else:
                print("errno_table: known %s: Tern %s, host %s: %s"
                      % (name, tern_got, host_got, reason))
        elif tern_got != host_got:
            problems.append("%s: Tern got %s, the host %s" % (name, tern_got, host_got))
    for name in sorted(set(listed) - set(host_rows)):
        problems.append("%s: listed, but the table has no such row" % name)
    for line in problems:
        print("errno_table: FAIL " + line)
    print("errno_table: %s" % ("OK" if not problems else "%d problems" % len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

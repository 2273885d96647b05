#!/usr/bin/env python3
"""Boot a Tern image under QEMU, capture the serial console, and check what it printed.

Used by the system tests (CTest label `system`) and by `./tern bench`. The node's kernel
command line reaches GRUB through a small FAT disk holding /tern/node.cfg, so one ISO
serves every test and every cluster node.

Every run is bounded by --timeout: on expiry QEMU (the process this script started, by its
pid) is killed and the run fails. Exit status 0 means every check passed.
"""
import argparse
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PASS_STATUS = 33  # isa-debug-exit: (0x10 << 1) | 1
FAIL_STATUS = 35  # (0x11 << 1) | 1


def make_config_disk(path, cmdline):
    """A 1.44 MB FAT image with /tern/node.cfg setting tern_cmdline for GRUB."""
    if '"' in cmdline or "\n" in cmdline:
        raise SystemExit("qemu_run: the command line may not contain quotes or newlines")
    cfg = path + ".cfg"
    with open(cfg, "w") as f:
        f.write('set tern_cmdline="%s"\n' % cmdline)
    for cmd in (["mformat", "-i", path, "-C", "-f", "1440", "::"],
                ["mmd", "-i", path, "::/tern"],
                ["mcopy", "-i", path, cfg, "::/tern/node.cfg"]):
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def qemu_command(args, disk):
    cmd = [args.qemu, "-machine", args.machine, "-cpu", args.cpu, "-m", args.memory,
           "-smp", "1", "-display", "none", "-no-reboot", "-serial", "stdio",
           "-monitor", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-cdrom", args.iso, "-boot", "order=d",
           "-drive", "file=%s,format=raw,if=ide,index=1" % disk]
    if args.icount:
        cmd += ["-icount", "shift=0,sleep=off", "-rtc", "base=2024-01-01T00:00:00,clock=vm"]
    if os.path.exists("/dev/kvm") and args.kvm:
        cmd += ["-enable-kvm"]
    cmd += args.qemu_arg
    return cmd


def run(args):
    workdir = tempfile.mkdtemp(prefix="tern-qemu-")
    try:
        disk = os.path.join(workdir, "node.img")
        make_config_disk(disk, args.cmdline)
        cmd = qemu_command(args, disk)
        if args.verbose:
            print("qemu_run: " + " ".join(cmd), flush=True)
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        lines, first_line_at, last_line_at, timed_out = [], None, None, False
        stop_regex = re.compile(args.stop_on) if args.stop_on else None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = start + args.timeout
        stopped_by_pattern = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if not sel.select(timeout=min(remaining, 0.5)):
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").rstrip("\r")
                now = time.monotonic() - start
                if first_line_at is None and line.strip():
                    first_line_at = now
                last_line_at = now
                lines.append(line)
                print(line, flush=True)
                if stop_regex and stop_regex.search(line):
                    stopped_by_pattern = True
                    break
            if stopped_by_pattern:
                break
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        status = proc.wait()
        if buf:
            lines.append(buf.decode("utf-8", "replace"))
            print(lines[-1], flush=True)
        return lines, status, timed_out, stopped_by_pattern, first_line_at, last_line_at
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iso", required=True)
    p.add_argument("--cmdline", default="")
    p.add_argument("--memory", default="256M")
    p.add_argument("--machine", default="q35")
    p.add_argument("--cpu", default="max")
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--icount", action="store_true", help="deterministic instruction counting")
    p.add_argument("--kvm", action="store_true")
    p.add_argument("--expect-status", type=int, default=None,
                   help="QEMU exit status required (33 = pass through isa-debug-exit)")
    p.add_argument("--expect", action="append", default=[], help="regex some line must match")
    p.add_argument("--forbid", action="append", default=[], help="regex no line may match")
    p.add_argument("--selftest", action="store_true",
                   help="require PASS/FAIL lines, a summary with 0 failures, and status 33")
    p.add_argument("--min-tests", type=int, default=1)
    p.add_argument("--stop-on", help="regex: end the run (kill QEMU) once a line matches")
    p.add_argument("--qemu-arg", action="append", default=[])
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    if not os.path.exists(args.iso):
        print("qemu_run: image %s does not exist; build first" % args.iso, file=sys.stderr)
        return 2

    lines, status, timed_out, stopped, first_at, last_at = run(args)
    errors = []
    if timed_out:
        errors.append("timed out after %.0f s" % args.timeout)
    if args.selftest:
        passed = [l for l in lines if l.startswith("PASS ")]
        failed = [l for l in lines if l.startswith("FAIL ")]
        summary = [l for l in lines if l.startswith("SELFTEST SUMMARY:")]
        if failed:
            errors.append("%d self-tests failed" % len(failed))
        if not summary:
            errors.append("no self-test summary line")
        else:
            m = re.match(r"SELFTEST SUMMARY: (\d+) passed, (\d+) failed", summary[-1])
            if not m or int(m.group(1)) != len(passed) or int(m.group(2)) != len(failed):
                errors.append("summary does not match the PASS/FAIL lines: " + summary[-1])
        if len(passed) < args.min_tests:
            errors.append("only %d self-tests passed, expected at least %d"
                          % (len(passed), args.min_tests))
        if args.expect_status is None:
            args.expect_status = PASS_STATUS
        print("qemu_run: self-tests: %d passed, %d failed" % (len(passed), len(failed)))
    for pattern in args.expect:
        if not any(re.search(pattern, l) for l in lines):
            errors.append("no line matches %r" % pattern)
    for pattern in args.forbid:
        bad = [l for l in lines if re.search(pattern, l)]
        if bad:
            errors.append("line matches forbidden %r: %s" % (pattern, bad[0]))
    if args.expect_status is not None and not stopped and status != args.expect_status:
        errors.append("QEMU exit status %d, expected %d" % (status, args.expect_status))
    if first_at is not None:
        print("qemu_run: first serial line after %.2f s, last line after %.2f s (QEMU start = 0)"
              % (first_at, last_at))
    for e in errors:
        print("qemu_run: FAIL: " + e)
    if not errors:
        print("qemu_run: OK")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

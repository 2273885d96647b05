#!/usr/bin/env python3
"""Boot a Tern image under QEMU, capture the serial console, and check what it printed.

Used by the system tests (CTest label `system`) and by `./tern bench`. The node's kernel
command line reaches GRUB through a small FAT disk holding /tern/node.cfg, so one ISO
serves every test and every cluster node.

Every run is bounded by --timeout: on expiry QEMU (the process this script started, by its
pid) is killed and the run fails. A `KERNEL PANIC` line ends the run at once (after a
moment to collect the registers and backtrace) and fails it, unless --expect-panic says
the panic is the point. Every run checks how QEMU ended: the status given by
--expect-status (or the self-test pass status), or, with --stop-on, that QEMU was still
running when the pattern appeared. Exit status 0 means every check passed.

With --kernel (and --initrd, --append) it boots a Linux kernel instead of the ISO, on
exactly the same machine and flags: `./tern bench` runs its Linux peers this way.
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
PANIC_REGEX = re.compile(r"KERNEL PANIC")
# After a panic line, how long to keep reading for the registers and backtrace.
PANIC_GRACE_SECONDS = 2.0


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


# The deterministic clock of every benchmark run: one virtual nanosecond, and one TSC
# tick, per retired guest instruction; no sleeping while the guest idles.
ICOUNT_ARGS = ["-icount", "shift=0,sleep=off", "-rtc", "base=2024-01-01T00:00:00,clock=vm"]


def qemu_command(args, disk):
    cmd = [args.qemu, "-machine", args.machine, "-cpu", args.cpu, "-m", args.memory,
           "-smp", "1", "-display", "none", "-no-reboot", "-serial", "stdio",
           "-monitor", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    # console_session.py and profile.py pass their own arguments, without --kernel.
    if getattr(args, "kernel", None):
        cmd += ["-kernel", args.kernel, "-initrd", args.initrd, "-append", args.append]
    else:
        cmd += ["-cdrom", args.iso, "-boot", "order=d",
                "-drive", "file=%s,format=raw,if=ide,index=1" % disk]
    if args.icount:
        cmd += ICOUNT_ARGS
    if os.path.exists("/dev/kvm") and args.kvm:
        cmd += ["-enable-kvm"]
    cmd += args.qemu_arg
    return cmd


def run(args):
    workdir = tempfile.mkdtemp(prefix="tern-qemu-")
    try:
        disk = os.path.join(workdir, "node.img")
        if not getattr(args, "kernel", None):
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
        exited_before_stop = None
        panic_line = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = panic_line is None or args.expect_panic
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
                if panic_line is None and PANIC_REGEX.search(line):
                    panic_line = line
                    if not args.expect_panic:
                        deadline = min(deadline, time.monotonic() + PANIC_GRACE_SECONDS)
                if stop_regex and stop_regex.search(line):
                    stopped_by_pattern = True
                    break
            if stopped_by_pattern:
                break
        if stopped_by_pattern:
            exited_before_stop = proc.poll()
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        status = proc.wait()
        if buf:
            lines.append(buf.decode("utf-8", "replace"))
            print(lines[-1], flush=True)
        return (lines, status, timed_out, stopped_by_pattern, exited_before_stop, panic_line,
                first_line_at, last_line_at)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iso", help="the Tern image to boot")
    p.add_argument("--kernel", help="boot this Linux kernel instead of an image")
    p.add_argument("--initrd", help="with --kernel: its initramfs")
    p.add_argument("--append", default="", help="with --kernel: its command line")
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
                   help="require a PASS line for every test the image plans to run, no FAIL or "
                   "SKIP line, a matching summary, and status 33")
    p.add_argument("--min-tests", type=int, default=1,
                   help="with --selftest: the image must plan at least this many tests")
    p.add_argument("--allow-skip", action="store_true",
                   help="with --selftest: tests the machine cannot run may be skipped")
    p.add_argument("--expect-panic", action="store_true",
                   help="a KERNEL PANIC line is expected (the panic path is under test)")
    p.add_argument("--stop-on", help="regex: end the run (kill QEMU) once a line matches")
    p.add_argument("--qemu-arg", action="append", default=[])
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    if args.kernel:
        for path in (args.kernel, args.initrd):
            if not path or not os.path.exists(path):
                print("qemu_run: --kernel needs an existing kernel and --initrd (%s)" % path,
                      file=sys.stderr)
                return 2
    elif not args.iso or not os.path.exists(args.iso):
        print("qemu_run: image %s does not exist; build first" % args.iso, file=sys.stderr)
        return 2

    if not (args.selftest or args.stop_on or args.expect_status is not None):
        print("qemu_run: say how the run must end: --selftest, --expect-status or --stop-on",
              file=sys.stderr)
        return 2

    (lines, status, timed_out, stopped, exited_before_stop, panic_line, first_at,
     last_at) = run(args)
    errors = []
    if timed_out:
        errors.append("timed out after %.0f s" % args.timeout)
    if panic_line is not None and not args.expect_panic:
        errors.append("kernel panic: " + panic_line)
    if args.expect_panic and panic_line is None:
        errors.append("no KERNEL PANIC line")
    if args.selftest:
        passed = [l for l in lines if l.startswith("PASS ")]
        failed = [l for l in lines if l.startswith("FAIL ")]
        skipped = [l for l in lines if l.startswith("SKIP ")]
        plans = [l for l in lines if l.startswith("SELFTEST PLAN:")]
        summary = [l for l in lines if l.startswith("SELFTEST SUMMARY:")]
        planned = None
        if len(plans) != 1:
            errors.append("expected one SELFTEST PLAN line, saw %d" % len(plans))
        else:
            m = re.fullmatch(r"SELFTEST PLAN: (\d+) tests", plans[0])
            planned = int(m.group(1)) if m else None
            if planned is None:
                errors.append("malformed plan line: " + plans[0])
        if failed:
            errors.append("%d self-tests failed" % len(failed))
        if skipped and not args.allow_skip:
            errors.append("%d self-tests skipped (this machine must run them all): %s"
                          % (len(skipped), skipped[0]))
        if planned is not None:
            reported = len(passed) + len(failed) + len(skipped)
            if reported != planned:
                errors.append("the image planned %d self-tests, %d reported a result"
                              % (planned, reported))
            if planned < args.min_tests:
                errors.append("the image plans only %d self-tests, expected at least %d"
                              % (planned, args.min_tests))
        if not summary:
            errors.append("no self-test summary line")
        else:
            m = re.match(r"SELFTEST SUMMARY: (\d+) passed, (\d+) failed, (\d+) skipped",
                         summary[-1])
            if (not m or int(m.group(1)) != len(passed) or int(m.group(2)) != len(failed)
                    or int(m.group(3)) != len(skipped)):
                errors.append("summary does not match the PASS/FAIL/SKIP lines: " + summary[-1])
        if args.expect_status is None:
            args.expect_status = PASS_STATUS
        print("qemu_run: self-tests: %s planned, %d passed, %d failed, %d skipped"
              % (planned, len(passed), len(failed), len(skipped)))
    for pattern in args.expect:
        if not any(re.search(pattern, l) for l in lines):
            errors.append("no line matches %r" % pattern)
    for pattern in args.forbid:
        bad = [l for l in lines if re.search(pattern, l)]
        if bad:
            errors.append("line matches forbidden %r: %s" % (pattern, bad[0]))
    if stopped:
        if exited_before_stop is not None:
            errors.append("QEMU had already exited (status %d) when the stop pattern appeared"
                          % exited_before_stop)
    elif args.stop_on and not timed_out:
        errors.append("QEMU exited (status %d) before a line matched %r" % (status, args.stop_on))
    elif args.expect_status is not None and status != args.expect_status:
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

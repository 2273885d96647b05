#!/usr/bin/env python3
"""Drive a Tern node's serial console like a person at a terminal, from a session script.

Boots the image under QEMU (as tools/qemu_run.py does), then runs the script's steps in
order against the console's byte stream:

    expect <regex>      wait until the output after the previous match matches <regex>
                        (Python syntax, searched across line ends); fail at the step timeout
    forbid <regex>      from here to the end, no output may match <regex>
    send <text>         type <text> and Enter (a carriage return, as a terminal sends)
    type <text>         type <text> with no Enter; escapes like \\x03 (Ctrl-C) are decoded
    sleep <seconds>     wait, e.g. to let a program start before interrupting it
    timeout <seconds>   the limit for each following expect (default 20)
    # comment           ignored, as are blank lines

Bytes are typed one at a time a few milliseconds apart, as a UART would deliver them.
The whole run is bounded by --timeout; QEMU (started here, ended by its pid) never
outlives it. A `KERNEL PANIC` line fails the session at once, whatever step is running,
and so does QEMU exiting on its own (a normal boot never ends QEMU; its exit status is
reported). Exit status 0 when every step passed.
"""
import argparse
import codecs
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu_run  # noqa: E402


def parse_script(path):
    steps = []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            verb, _, arg = line.partition(" ")
            if verb not in ("expect", "forbid", "send", "type", "sleep", "timeout"):
                raise SystemExit("%s:%d: unknown step %r" % (path, number, verb))
            if verb in ("expect", "forbid"):
                re.compile(arg)
            steps.append((number, verb, arg))
    return steps


class Console:
    def __init__(self, proc, echo):
        self.proc = proc
        self.sel = selectors.DefaultSelector()
        self.sel.register(proc.stdout, selectors.EVENT_READ)
        self.output = ""
        self.position = 0  # where the next expect starts searching
        self.panic_scanned = 0  # output before this has been searched for a panic line
        self.panic = None
        self.echo = echo
        self.forbidden = []
        # A UTF-8 character may straddle two reads; the decoder keeps the partial bytes.
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def pump(self, wait):
        if self.sel.select(timeout=wait):
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return False
            text = self.decoder.decode(chunk)
            self.output += text
            if self.echo:
                sys.stdout.write(text)
                sys.stdout.flush()
        return self.proc.poll() is None or self.sel.select(timeout=0)

    def problem(self):
        """A kernel panic in the output or QEMU gone: the session cannot go on."""
        if self.panic is None:
            m = qemu_run.PANIC_REGEX.search(self.output, max(0, self.panic_scanned - 16))
            self.panic_scanned = len(self.output)
            if m:
                end = self.output.find("\n", m.start())
                self.panic = self.output[m.start():end if end >= 0 else None].rstrip("\r")
        if self.panic is not None:
            return "kernel panic: %r" % self.panic
        status = self.proc.poll()
        if status is not None:
            return "QEMU exited with status %d" % status
        return None

    def check_forbidden(self):
        for start, pattern in self.forbidden:
            m = re.search(pattern, self.output[start:])
            if m:
                return "output matches forbidden %r: %r" % (pattern, m.group(0))
        return None

    def expect(self, pattern, timeout, deadline):
        regex = re.compile(pattern, re.MULTILINE)
        limit = min(time.monotonic() + timeout, deadline)
        while True:
            m = regex.search(self.output, self.position)
            if m:
                self.position = m.end()
                return None
            remaining = limit - time.monotonic()
            if remaining <= 0:
                return "timed out waiting for %r" % pattern
            alive = self.pump(min(remaining, 0.2))
            trouble = self.problem()
            if trouble and not regex.search(self.output, self.position):
                return "%s (while waiting for %r)" % (trouble, pattern)
            if not alive:
                m = regex.search(self.output, self.position)
                if m:
                    self.position = m.end()
                    return None
                return "QEMU ended while waiting for %r" % pattern

    def type(self, data):
        for byte in data:
            self.proc.stdin.write(bytes([byte]))
            self.proc.stdin.flush()
            self.pump(0.004)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iso", required=True)
    p.add_argument("--script", required=True)
    p.add_argument("--cmdline", default="")
    p.add_argument("--memory", default="256M")
    p.add_argument("--machine", default="q35")
    p.add_argument("--cpu", default="max")
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--icount", action="store_true")
    p.add_argument("--kvm", action="store_true")
    p.add_argument("--qemu-arg", action="append", default=[])
    p.add_argument("-q", "--quiet", action="store_true", help="do not echo the console")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    steps = parse_script(args.script)
    if not os.path.exists(args.iso):
        print("console_session: image %s does not exist; build first" % args.iso)
        return 2
    workdir = tempfile.mkdtemp(prefix="tern-session-")
    proc = None
    error = None
    start = time.monotonic()
    deadline = start + args.timeout
    try:
        disk = os.path.join(workdir, "node.img")
        qemu_run.make_config_disk(disk, args.cmdline)
        cmd = qemu_run.qemu_command(args, disk)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        console = Console(proc, not args.quiet)
        step_timeout = 20.0
        for number, verb, arg in steps:
            if verb == "timeout":
                step_timeout = float(arg)
            elif verb == "sleep":
                end = time.monotonic() + float(arg)
                while time.monotonic() < end and not console.problem():
                    console.pump(min(0.1, max(0.0, end - time.monotonic())))
            elif verb == "expect":
                error = console.expect(arg, step_timeout, deadline)
            elif verb == "forbid":
                console.forbidden.append((console.position, arg))
            elif verb == "send":
                console.type(arg.encode() + b"\r")
            elif verb == "type":
                console.type(codecs.decode(arg, "unicode_escape").encode("latin-1"))
            error = error or console.check_forbidden() or console.problem()
            if error:
                error = "%s:%d: %s" % (args.script, number, error)
                break
        if not error:
            console.pump(0.2)
            error = console.check_forbidden() or console.problem()
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print("console_session: %d steps in %.1f s" % (len(steps), time.monotonic() - start))
    if error:
        print("console_session: FAIL: " + error)
        return 1
    print("console_session: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

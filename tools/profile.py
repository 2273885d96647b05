#!/usr/bin/env python3
"""Profile a window of a Tern run: guest instructions per function, exactly.

Boots the image under QEMU with `-icount shift=0` and QEMU's translation log on. When a
console line matches --start, execution logging is switched on through the QEMU monitor;
when a line matches --stop, the run ends. Every translated block's instruction count
(from the `in_asm` log) is multiplied by the number of times it ran (from the `exec`
log, with block chaining off so each run is logged), and the totals are attributed to
functions through the symbols of the ELF files given (the kernel's by default).

    python3 tools/profile.py --start 'ipc.same_task.call_reply_4096' \\
        --stop 'ipc.cross_task.call_reply_0' --elf build/os/user/bench.elf

prints `profile.<function>: <instructions> instructions` lines, the largest first, and
the share of the window each takes. The window includes whatever else ran between the
two lines; choose lines that bracket the loop of interest. Bounded by --timeout; QEMU is
the only process started, and it is ended by its pid.
"""
import argparse
import bisect
import collections
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu_run  # noqa: E402  (same folder)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NM = ["llvm-nm", "llvm-nm-14", "llvm-nm-15", "llvm-nm-16", "nm"]


def find_nm():
    for name in NM:
        for d in os.environ.get("PATH", "").split(os.pathsep):
            if os.access(os.path.join(d, name), os.X_OK):
                return name
    raise SystemExit("profile: no llvm-nm or nm on PATH")


def load_symbols(elfs):
    """Sorted (address, size, name) of the function symbols of every ELF."""
    nm = find_nm()
    syms = []
    for elf in elfs:
        out = subprocess.run([nm, "--defined-only", "-S", "-C", elf], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        tag = os.path.basename(elf).rsplit(".", 1)[0]
        for line in out.splitlines():
            parts = line.split(None, 3)
            if len(parts) == 4 and parts[2] in "tTwW":
                syms.append((int(parts[0], 16), int(parts[1], 16), "%s:%s" % (tag, parts[3])))
    syms.sort()
    return syms


def symbolize(syms, starts, pc):
    i = bisect.bisect_right(starts, pc) - 1
    if i >= 0:
        addr, size, name = syms[i]
        if pc < addr + size:
            return name
    # Assembly symbols carry no size: take the nearest such symbol below the address.
    while i >= 0 and pc - syms[i][0] < 0x10000:
        if syms[i][1] == 0:
            return syms[i][2]
        i -= 1
    return "?%x" % pc


def parse_log(path):
    """(instructions per block start pc, runs per block start pc) from a QEMU log."""
    sizes, runs = {}, collections.Counter()
    in_re = re.compile(r"^IN:")
    insn_re = re.compile(r"^0x([0-9a-f]+):")
    exec_re = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
    block_pc, count = None, 0
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("Trace"):
                m = exec_re.match(line)
                if m:
                    runs[int(m.group(1), 16)] += 1
                continue
            if in_re.match(line):
                if block_pc is not None:
                    sizes[block_pc] = count
                block_pc, count = None, 0
                continue
            m = insn_re.match(line)
            if m:
                if block_pc is None:
                    block_pc = int(m.group(1), 16)
                count += 1
            elif not line.strip() and block_pc is not None:
                sizes[block_pc] = count
                block_pc, count = None, 0
    if block_pc is not None:
        sizes[block_pc] = count
    return sizes, runs


def monitor(sock_path, command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.settimeout(5)
    try:
        time.sleep(0.1)
        s.recv(65536)  # greeting
        s.sendall((command + "\n").encode())
        time.sleep(0.2)
    finally:
        s.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iso", default=os.path.join(ROOT, "build", "os", "tern.iso"))
    p.add_argument("--cmdline", default="mode=bench log=warn")
    p.add_argument("--start", required=True, help="regex: start counting after this line")
    p.add_argument("--stop", required=True, help="regex: stop at this line")
    p.add_argument("--elf", action="append", default=[],
                   help="ELF whose symbols name user addresses (the kernel is always read)")
    p.add_argument("--send", action="append", default=[],
                   help="line typed at the shell's prompt before the window (repeatable)")
    p.add_argument("--prompt", default="tern:0> ", help="the prompt --send waits for")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--timeout", type=float, default=300)
    args = p.parse_args()

    kernel = os.path.join(os.path.dirname(args.iso), "kernel", "kernel.elf")
    syms = load_symbols([kernel] + args.elf)
    starts = [s[0] for s in syms]
    work = tempfile.mkdtemp(prefix="tern-profile-")
    log = os.path.join(work, "qemu.log")
    sock = os.path.join(work, "monitor.sock")
    disk = os.path.join(work, "node.img")
    qemu_run.make_config_disk(disk, args.cmdline)
    ns = argparse.Namespace(qemu="qemu-system-x86_64", machine="q35", cpu="max", memory="256M",
                            iso=args.iso, icount=True, kvm=False,
                            qemu_arg=["-d", "in_asm,nochain", "-D", log])
    cmd = qemu_run.qemu_command(ns, disk)
    cmd[cmd.index("-monitor") + 1] = "unix:%s,server,nowait" % sock
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    start_re, stop_re = re.compile(args.start), re.compile(args.stop)
    deadline = time.monotonic() + args.timeout
    state, buf = "waiting", b""
    try:
        while state != "done":
            if time.monotonic() > deadline:
                print("profile: timed out in state %s" % state, file=sys.stderr)
                return 1
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    print("profile: QEMU ended before the stop line", file=sys.stderr)
                    return 1
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                print("profile: QEMU ended before the stop line", file=sys.stderr)
                return 1
            buf += chunk
            if args.send and args.prompt.encode() in buf:
                buf = buf.replace(args.prompt.encode(), b"\n", 1)
                for byte in (args.send.pop(0) + "\r").encode():
                    proc.stdin.write(bytes([byte]))
                    proc.stdin.flush()
                    time.sleep(0.01)
            while b"\n" in buf and state != "done":
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").rstrip("\r")
                if state == "waiting" and start_re.search(line):
                    monitor(sock, "log in_asm,exec,nochain")
                    state = "counting"
                    print("profile: counting from: " + line, flush=True)
                elif state == "counting" and stop_re.search(line):
                    state = "done"
                    print("profile: stopped at: " + line, flush=True)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
    sizes, runs = parse_log(log)
    per_fn = collections.Counter()
    missing = 0
    for pc, n in runs.items():
        size = sizes.get(pc)
        if size is None:
            missing += n
            continue
        per_fn[symbolize(syms, starts, pc)] += size * n
    total = sum(per_fn.values())
    print("profile.total: %d instructions" % total)
    if missing:
        print("profile: %d block runs had no translation in the log (not counted)" % missing)
    for name, n in per_fn.most_common(args.top):
        print("profile.%s: %d instructions (%.1f%%)" % (name, n, 100.0 * n / max(total, 1)))
    os.unlink(log)
    return 0


if __name__ == "__main__":
    sys.exit(main())

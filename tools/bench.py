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

Beside Tern, the same run boots Debian's Linux kernel (./tern setup fetches it) with an
initramfs of the project's static programs (tools/linux_vm.py, bench/linux/) on the same
QEMU machine with the same -icount flags, and prints `<figure>.linux` (the Linux peer of
a Tern figure) and `<figure>.ratio` (Tern / Linux) lines. They are recorded as `info`,
never gated: the Linux kernel is whatever Debian ships for the release. --no-linux skips
that run.

With --wall N (default 3; 0 skips it) the IPC and spawn figures and their Linux peers are
also measured in wall time: N more boots of each system without -icount, where the TSC
ticks at the host's rate (QEMU's TCG passes the host's counter through, for both guests),
converted to nanoseconds with the rate Tern's kernel calibrates against the PIT. Each
figure's median over the N boots prints as `<figure>.wall_ns` (and `.linux.wall_ns`,
`.wall_ratio`); they are `info` in the baseline, never gated: wall time depends on the
host and on what else it runs.

`bench.py net` runs the network benchmarks instead (tools/bench_net.py), `bench.py bus`
the bus's (tools/bench_bus.py).
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import linux_vm  # noqa: E402
import qemu_run  # noqa: E402
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
    """A new figure's tolerance: memory sizes, derived ratios and Linux's figures are
    recorded, not gated (sizes move with every program added to the image, and Linux is
    not Tern's to regress); instruction counts get 1%."""
    if (name.startswith("memory.") or unit == "ratio" or name.endswith(".linux")
            or name.endswith(".wall_ns")):
        return "info"
    return DEFAULT_TOLERANCE


# Tern's figure, and the Linux figure bench/linux/ measures for the same work. A 0-byte
# pipe write wakes nobody, so the 0-byte message's peer moves one byte.
LINUX_PEERS = [
    ("user.null_syscall", "linux.null_syscall"),
    ("ipc.cross_task.call_reply_0", "linux.pipe_round_trip_1"),
    ("ipc.cross_task.call_replyrecv_0", "linux.pipe_round_trip_1"),
    ("ipc.cross_task.call_reply_4096", "linux.pipe_round_trip_4096"),
    ("ipc.cross_task.call_replyrecv_4096", "linux.pipe_round_trip_4096"),
    ("proc.spawn_wait_true.first", "linux.fork_exec_wait.first"),
    ("proc.spawn_wait_true.min", "linux.fork_exec_wait.min"),
    ("proc.spawn_wait_true.median", "linux.fork_exec_wait.median"),
    ("posix.fork_exec_wait", "linux.fork_exec_wait.min"),
    ("posix.spawn_wait", "linux.fork_exec_wait.min"),
    ("posix.pipe_rt_1", "linux.pipe_round_trip_1"),
    ("posix.pipe_rt_4096", "linux.pipe_round_trip_4096"),
    ("vm.pager_fault", "linux.anon_fault"),
    ("vm.demand_zero_fault", "linux.anon_fault"),
    ("boot.to_prompt_ms", "linux.boot_to_init_ms"),
    ("posix.mutex_uncontended", "linux.mutex_uncontended"),
    ("posix.futex_wake_rt", "linux.futex_wake_rt"),
    ("posix.thread_create_join", "linux.thread_create_join"),
    ("posix.shm_attach_detach", "linux.shm_attach_detach"),
    ("sysv.semop_pingpong", "linux.semop_pingpong"),
    ("sysv.msg_pingpong_64", "linux.msg_pingpong_64"),
    ("posix.mq_pingpong_64", "linux.mq_pingpong_64"),
    ("posix.sh_c_true", "linux.sh_c_true"),
]
# Peers the Linux run may lack: linux.sh_c_true needs the static BusyBox that
# tools/linux_vm.py builds, which some hosts cannot link (linux_vm prints why). Without
# it the other figures still print, and --check does not require its lines.
OPTIONAL_PEERS = {"linux.sh_c_true"}


# The figures measured in wall time too (issue: address-space switches cost TCG far more
# time than instructions show, because QEMU flushes its software TLB on every CR3 write).
WALL_FIGURES = [
    "user.null_syscall",
    "ipc.cross_task.call_reply_0",
    "ipc.cross_task.call_replyrecv_0",
    "ipc.cross_task.call_reply_4096",
    "ipc.cross_task.call_replyrecv_4096",
    "proc.spawn_wait_true.median",
]
TSC_MHZ = re.compile(r"timer: TSC ([0-9]+) MHz")


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def boot_figures(cmd, what, wanted):
    """Runs one boot to its end; returns (console output, {name: value} of the wanted lines)."""
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if out.returncode != 0:
        raise RuntimeError("the %s without -icount failed:\n%s" % (what, out.stdout[-3000:]))
    figures = {}
    for line in out.stdout.splitlines():
        m = RESULT.match(line.strip())
        if m and wanted(m.group(1)):
            figures[m.group(1)] = float(m.group(2))
    return out.stdout, figures


def wall_round(args, with_linux):
    """One boot of each system without -icount: ({figure: ticks}, {peer: ticks}, TSC MHz)."""
    tools = os.path.join(ROOT, "tools")
    output, tern = boot_figures(
        [sys.executable, os.path.join(tools, "qemu_run.py"), "--iso", args.iso,
         "--cmdline", "mode=bench log=warn", "--timeout", str(args.timeout),
         "--expect", "^BENCH DONE", "--expect-status", "33"],
        "bench-mode boot", lambda name: name in WALL_FIGURES)
    mhz = TSC_MHZ.search(output)
    if not mhz or int(mhz.group(1)) == 0:
        raise RuntimeError("the kernel's banner gave no TSC rate")
    tern.update(boot_figures(
        [sys.executable, os.path.join(tools, "console_session.py"), "--iso", args.iso,
         "--timeout", str(args.timeout), "--qemu-arg=-nic", "--qemu-arg=none",
         "--script", os.path.join(ROOT, "tests", "system", "sessions", "bench_wall.session")],
        "spawn boot", lambda name: name in WALL_FIGURES)[1])
    linux = {}
    if with_linux:
        build_dir = os.path.dirname(os.path.dirname(os.path.abspath(args.iso)))
        linux = boot_figures(
            [sys.executable, os.path.join(tools, "qemu_run.py"), "--timeout", str(args.timeout),
             "--qemu-arg=-nic", "--qemu-arg=none", "--expect", "^init: microbench done",
             "--expect-status", "0"] + linux_vm.qemu_run_args(build_dir, "bench", quiet=True),
            "Linux boot", lambda name: name.startswith("linux."))[1]
    return tern, linux, int(mhz.group(1))


def wall(args, results, with_linux):
    """Runs args.wall rounds and prints each figure's median in nanoseconds."""
    print("bench: %d boots of each system without -icount for wall-time medians"
          % args.wall, flush=True)
    rounds = []
    try:
        for i in range(args.wall):
            rounds.append(wall_round(args, with_linux))
            print("bench: wall-time round %d of %d done" % (i + 1, args.wall), flush=True)
    except (RuntimeError, linux_vm.LinuxVmError) as e:
        print("bench: %s" % e, file=sys.stderr)
        return 1
    mhz = median([r[2] for r in rounds])
    print("bench: wall time from the TSC at %d MHz (the kernel's calibration, median)" % mhz,
          flush=True)
    peers = dict(LINUX_PEERS)
    missing = 0

    def emit(name, side, key):
        """Prints the median over the rounds of rounds[i][side][key] in ns, or None."""
        nonlocal missing
        ticks = [r[side][key] for r in rounds if key in r[side]]
        if len(ticks) != len(rounds):
            print("bench: the boots without -icount printed no %s" % key, file=sys.stderr)
            missing += 1
            return None
        ns = median(ticks) * 1000.0 / mhz
        print("%s: %.1f ns" % (name, ns), flush=True)
        results.append({"name": name, "value": round(ns, 1), "unit": "ns"})
        return ns

    for figure in WALL_FIGURES:
        ns = emit(figure + ".wall_ns", 0, figure)
        peer = peers.get(figure)
        if ns is None or not with_linux or peer is None:
            continue
        linux_ns = emit(figure + ".linux.wall_ns", 1, peer)
        if linux_ns:
            print("%s.wall_ratio: %.2f ratio" % (figure, ns / linux_ns), flush=True)
            results.append({"name": figure + ".wall_ratio", "value": round(ns / linux_ns, 2),
                            "unit": "ratio"})
    return 1 if missing else 0


def start_linux(args):
    """Starts the Linux peer run (it runs while Tern's do); returns (process, command)."""
    build_dir = os.path.dirname(os.path.dirname(os.path.abspath(args.iso)))
    cmd = [sys.executable, os.path.join(ROOT, "tools", "qemu_run.py"), "--icount",
           "--timeout", str(args.timeout), "--qemu-arg=-nic", "--qemu-arg=none",
           "--expect", "^init: microbench done", "--expect-status", "0"]
    cmd += linux_vm.qemu_run_args(build_dir, "bench", quiet=True)
    # The console goes to a file, not a pipe nobody reads while Tern's runs go on. The run
    # ends by itself (power-off) or at its own --timeout.
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log = log
    return proc, cmd


def finish_linux(proc, cmd, results, skipped):
    """Waits for the Linux run and prints each peer figure and its ratio to Tern's; adds
    to skipped the Tern figures whose optional peer the run did not print."""
    proc.wait()
    proc.log.seek(0)
    output = proc.log.read()
    proc.log.close()
    if proc.returncode != 0:
        print(output[-4000:], file=sys.stderr)
        print("bench: the Linux run failed (see its console above)", file=sys.stderr)
        return 1
    linux = {}
    for line in output.splitlines():
        m = RESULT.match(line.strip())
        if m and m.group(1).startswith("linux."):
            linux[m.group(1)] = (float(m.group(2)), m.group(3))
    print("bench: Linux %s under the same machine and flags: %s" % (
        linux_vm.linux_release(),
        " ".join(shlex.quote(a) for a in ["-machine", "q35", "-cpu", "max", "-m", "256M",
                                          "-smp", "1", "-nic", "none"]
                 + qemu_run.ICOUNT_ARGS + ["-append", cmd[-1]])), flush=True)
    tern = {r["name"]: r for r in results}
    missing = 0
    for figure, peer in LINUX_PEERS:
        if peer not in linux and peer in OPTIONAL_PEERS:
            print("bench: the Linux run printed no %s (its initramfs has no BusyBox; see "
                  "linux_vm's message above): no %s.linux" % (peer, figure), file=sys.stderr)
            skipped.add(figure)
            continue
        if peer not in linux:
            print("bench: the Linux run printed no %s" % peer, file=sys.stderr)
            missing += 1
            continue
        value, unit = linux[peer]
        text = ("%d" % value) if value == int(value) else ("%.3f" % value)
        line = "%s.linux: %s %s" % (figure, text, unit)
        print(line, flush=True)
        results.append({"name": figure + ".linux", "value": value, "unit": unit})
        if figure in tern and value > 0:
            ratio = tern[figure]["value"] / value
            print("%s.ratio: %.2f ratio" % (figure, ratio), flush=True)
            results.append({"name": figure + ".ratio", "value": round(ratio, 2),
                            "unit": "ratio"})
    return 1 if missing else 0


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


def linux_figure(name):
    """True for the lines the Linux peer run adds (`<figure>.linux`, `<figure>.ratio`)."""
    return any(name in (figure + ".linux", figure + ".ratio") for figure, _ in LINUX_PEERS)


def wall_figure(name):
    """True for the lines the wall-time boots add."""
    return any(name.startswith(figure + ".") and (name.endswith(".wall_ns")
                                                  or name.endswith(".wall_ratio"))
               for figure in WALL_FIGURES)


def check(results, path, with_linux=True, with_wall=True, without_peer=()):
    """Compares results with the baseline; every gated figure is better when lower. Without
    the Linux run (or the wall-time boots), their lines in the baseline are not required,
    nor the Linux lines of the figures in without_peer (an optional peer not measured)."""
    measured = {r["name"]: r for r in results}
    failures = 0
    for name, base, unit, tolerance in read_baseline(path):
        if not with_linux and linux_figure(name):
            continue
        if any(name in (f + ".linux", f + ".ratio") for f in without_peer):
            continue
        if wall_figure(name):
            if not with_wall:
                continue
            if not with_linux and (".linux." in name or name.endswith(".wall_ratio")):
                continue
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
    p.add_argument("--no-linux", action="store_true",
                   help="skip the Linux peer run (no .linux and .ratio lines)")
    p.add_argument("--wall", type=int, default=3, metavar="N",
                   help="boots of each system without -icount for wall-time medians "
                        "(default 3; 0 skips them)")
    args = p.parse_args()
    if args.update_baseline and args.no_linux:
        print("bench: --update-baseline needs the whole run (no --no-linux)", file=sys.stderr)
        return 2
    if args.update_baseline and args.wall == 0:
        print("bench: --update-baseline needs the whole run (no --wall 0)", file=sys.stderr)
        return 2
    if args.wall < 0:
        print("bench: --wall must be 0 or more", file=sys.stderr)
        return 2
    if (args.check or args.update_baseline) and args.filter:
        print("bench: --check and --update-baseline need the whole run (no --filter)",
              file=sys.stderr)
        return 2
    if not os.path.exists(args.iso):
        print("bench: %s does not exist; run ./tern build first" % args.iso, file=sys.stderr)
        return 2
    linux = None
    if not args.no_linux and any(f.startswith(args.filter) for f, _ in LINUX_PEERS):
        try:
            linux = start_linux(args)
        except linux_vm.LinuxVmError as e:
            print("bench: %s" % e, file=sys.stderr)
            return 2
        print("bench: booting Linux %s with bench/linux/ under the same -icount flags"
              % linux_vm.linux_release(), flush=True)
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
        if linux:
            finish_linux(linux[0], linux[1], [], set())
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
        if linux:
            finish_linux(linux[0], linux[1], [], set())
        return 1
    skipped = set()
    if linux and finish_linux(linux[0], linux[1], results, skipped) != 0:
        return 1
    with_wall = args.wall > 0 and not args.filter
    if with_wall and wall(args, results, linux is not None) != 0:
        return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if args.update_baseline:
        update_baseline(results, args.baseline)
    if args.check:
        return check(results, args.baseline, with_linux=linux is not None, with_wall=with_wall,
                     without_peer=skipped)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["net"]:
        import bench_net  # noqa: E402
        sys.exit(bench_net.main(sys.argv[2:]))
    if sys.argv[1:2] == ["bus"]:
        import bench_bus  # noqa: E402
        sys.exit(bench_bus.main(sys.argv[2:]))
    sys.exit(main())

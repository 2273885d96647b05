#!/usr/bin/env python3
"""`./tern bench bus`: calls through the bus between two nodes, beside raw UDP between them.

One cluster on tern-hub (tools/cluster.py) of two Tern nodes with virtio-net, the machine
every cluster node gets (-machine q35 -cpu max -m 256M -smp 1, TCG, no -icount: the
figures are wall time). Typed at the nodes' consoles, in one run:

- bus.raw_udp_rt_us: node 2 runs `netecho serve`, node 1 `netecho 10.0.0.2 7 N`: the
  median of N 64-byte UDP round trips through the same NICs, hub and network servers;
- bus.remote_call_us.0|1k|64k: node 2 runs `busbench serve` (registers bench.echo), node
  1 `busbench call 2 <bytes> <count>`: the median round trip of a call to bench.echo@2
  through node 1's proxy, both buses and node 2's echo server, with 0, 1,024 and 65,536
  bytes of data each way (a 64 KiB call is one message with a 64 KiB data part);
- bus.remote_call_to_udp.ratio: the 0-byte call over the raw UDP round trip.

Then, with no cluster running: bus.local_call_insns.0 (ipc.cross_task.call_replyrecv_0
from the -icount bench boot, `bench.py --filter`) and bus.sim.seeds_per_s (tests/sim
bus_sim over --sim-seeds seeds).

Every wait is bounded; a step that fails is reported as `bench: FAIL ...` with the end of
both consoles and the exit status is 1. The cluster is taken down by recorded pid.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from bench_net import (BenchError, TERN_PROMPT, console_tail, run_pair, type_line,  # noqa: E402
                       wait_log)

SERVER, CLIENT = 2, 1
UDP_PORT = 7
CALLS = (("0", 0), ("1k", 1024), ("64k", 65536))


def boot(args, c):
    start = time.monotonic()
    c.up(2, ["virtio", "virtio"], args.iso, args.hub, seed=1)
    deadline = start + args.boot_timeout
    for node in (CLIENT, SERVER):
        m = wait_log(c, node, r"Tern \u2014 node %d" % node, 0, deadline, "banner")
        wait_log(c, node, TERN_PROMPT.pattern, m.end(), deadline, "shell prompt")
    for node, other in ((CLIENT, SERVER), (SERVER, CLIENT)):
        wait_log(c, node, r"bus: node %d up" % other, 0, deadline, "node %d up" % other)
    print("bench: nodes 1-2 up, each seeing the other on the bus, after %.1f s"
          % (time.monotonic() - start), flush=True)


def cluster_figures(args, c):
    figures = {}
    n = args.udp_count
    m = run_pair(c, SERVER, CLIENT, "netecho serve %d %d" % (UDP_PORT, n), r"netecho: serving UDP",
                 "netecho 10.0.0.%d %d %d" % (SERVER, UDP_PORT, n),
                 r"netecho: (\d+) of %d echoed by 10\.0\.0\.%d:%d, median (\d+) us"
                 % (n, SERVER, UDP_PORT), n, args.step_timeout)
    figures["bus.raw_udp_rt_us"] = (float(m.group(2)), "us")
    print("bus.raw_udp_rt_us: %g us" % figures["bus.raw_udp_rt_us"][0], flush=True)

    deadline = time.monotonic() + args.step_timeout
    at = type_line(c, SERVER, "busbench serve %d" % args.serve_seconds)
    wait_log(c, SERVER, r"busbench: serving bench\.echo", at, deadline, "busbench serving")
    for suffix, size in CALLS:
        count = args.big_count if size > 1024 else args.call_count
        cmd = "busbench call %d %d %d" % (SERVER, size, count)
        at = type_line(c, CLIENT, cmd)
        m = wait_log(c, CLIENT, r"busbench: (\d+) of (\d+) calls of %d bytes to [^,]+, median "
                     r"(\d+) us|busbench: [^\n]*(failed|wrong|NOT_FOUND|0 of)[^\n]*" % size,
                     at, time.monotonic() + args.step_timeout, "result of '%s'" % cmd)
        if m.group(1) is None or int(m.group(1)) != count:
            raise BenchError("'%s' on node %d: %s" % (cmd, CLIENT, m.group(0).strip()))
        wait_log(c, CLIENT, TERN_PROMPT.pattern, m.end(), time.monotonic() + 30,
                 "prompt after busbench")
        name = "bus.remote_call_us.%s" % suffix
        figures[name] = (float(m.group(3)), "us")
        print("%s: %g us" % (name, figures[name][0]), flush=True)
    return figures


def local_call_insns(args):
    """ipc.cross_task.call_replyrecv_0 from the -icount bench boot (tools/bench.py)."""
    figure = "ipc.cross_task.call_replyrecv_0"
    r = subprocess.run([sys.executable, os.path.join(HERE, "bench.py"), "--iso", args.iso,
                        "--no-linux", "--filter", figure],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    m = re.search(r"^%s: (\d+) instructions$" % re.escape(figure), r.stdout, re.MULTILINE)
    if r.returncode != 0 or not m:
        raise BenchError("the icount bench run failed:\n" + r.stdout[-2000:])
    return float(m.group(1))


def sim_seeds_per_s(args):
    sim = os.path.join(os.path.dirname(os.path.dirname(args.iso)), "tests", "sim", "bus_sim")
    r = subprocess.run([sim, "--seeds", str(args.sim_seeds), "--start", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    m = re.search(r"^sim\.bus\.seeds_per_s: ([0-9.]+) seeds/s", r.stdout, re.MULTILINE)
    if r.returncode != 0 or not m:
        raise BenchError("bus_sim failed:\n" + r.stdout[-2000:])
    return float(m.group(1))


def main(argv):
    build = os.path.join(ROOT, os.environ.get("TERN_BUILD_DIR", "build"))
    p = argparse.ArgumentParser(prog="bench.py bus", description=__doc__.splitlines()[0])
    p.add_argument("--iso", default=os.path.join(build, "os", "tern.iso"))
    p.add_argument("--hub", default=os.path.join(build, "tools", "hub", "tern-hub"))
    p.add_argument("--udp-count", type=int, default=1000, help="UDP round trips (<= 1000)")
    p.add_argument("--call-count", type=int, default=1000, help="calls of 0 and 1 KiB")
    p.add_argument("--big-count", type=int, default=100, help="calls of 64 KiB")
    p.add_argument("--sim-seeds", type=int, default=200)
    p.add_argument("--serve-seconds", type=int, default=900)
    p.add_argument("--boot-timeout", type=float, default=240)
    p.add_argument("--step-timeout", type=float, default=300)
    args = p.parse_args(argv)
    for path in (args.iso, args.hub):
        if not os.path.exists(path):
            print("bench: %s does not exist; run ./tern build first" % path, file=sys.stderr)
            return 2
    if not 1 <= args.udp_count <= 1000 or not 1 <= args.call_count <= 100000 \
            or not 1 <= args.big_count <= 100000:
        print("bench: --udp-count must be 1..1000 (netecho's limit), the call counts "
              "1..100000 (busbench's)", file=sys.stderr)
        return 2
    print("bench: the bus, wall time under TCG: -machine q35 -cpu max -m 256M -smp 1, "
          "virtio-net on tern-hub; node 1 calls node 2", flush=True)
    state = tempfile.mkdtemp(prefix="tern-bench-bus-")
    c = cluster.Cluster(state)
    failures, figures = [], {}
    try:
        boot(args, c)
        figures.update(cluster_figures(args, c))
    except (BenchError, cluster.ClusterError, OSError) as e:
        failures.append("%s%s" % (e, console_tail(c, (CLIENT, SERVER))))
    finally:
        c.down()
        shutil.rmtree(state, ignore_errors=True)
    if "bus.remote_call_us.0" in figures and figures["bus.raw_udp_rt_us"][0] > 0:
        print("bus.remote_call_to_udp.ratio: %.2f ratio"
              % (figures["bus.remote_call_us.0"][0] / figures["bus.raw_udp_rt_us"][0]))
    for name, fn, unit in (("bus.local_call_insns.0", local_call_insns, "instructions"),
                           ("bus.sim.seeds_per_s", sim_seeds_per_s, "seeds/s")):
        try:
            print("%s: %g %s" % (name, fn(args), unit), flush=True)
        except (BenchError, subprocess.TimeoutExpired, OSError) as e:
            failures.append("%s: %s" % (name, e))
    for failure in failures:
        print("bench: FAIL %s" % failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

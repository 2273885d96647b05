#!/usr/bin/env python3
"""`./tern bench net`: Tern's network beside Linux's, on the same hub, NIC model and QEMU.

For each NIC model (virtio, e1000) one cluster on tern-hub (tools/cluster.py) holds four
nodes: 1 and 2 boot Tern's image, 3 and 4 boot Debian's Linux kernel with the initramfs
of tools/linux_vm.py; every node gets the same machine (-machine q35 -cpu max -m 256M
-smp 1, TCG, no -icount: the figures are wall time), the same NIC model and the same
`-netdev dgram` link to the hub, and 10.0.0.<node>/24. Then, one pair at a time, typed
at the nodes' consoles:

- UDP: 64-byte round trips, one at a time (Tern: tests/net/netecho.cpp; Linux:
  bench/linux/udpecho.c, the same protocol); the client's median over --udp-count;
- TCP: --tcp-bytes from client to server, the server's checksum back (bench/net/tcpbench.c
  on both systems, through Tern's C library sockets and Linux's); the median MiB/s
  over --tcp-runs transfers.

It prints `net.<nic>.udp_rt_us.tern|linux|ratio` (ratio = Tern / Linux, lower is better)
and `net.<nic>.tcp_mibs.tern|linux|ratio` (Tern / Linux, higher is better), the hub's own
added latency per frame (tools/hub/hub_bench.c), and `net.loopback.udp_echo_insns` (one
node under -icount: instructions per UDP echo through the network server). Wall-time
figures move with the machine's load; the hub and both systems share its cores.

Every wait is bounded. A step that fails (a datagram or transfer that did not come
through, a node that stopped answering) is reported as `bench: FAIL <figure>: ...` with
the end of both nodes' consoles and ends that system's remaining steps on this NIC; the
other system's go on. Each cluster is taken down by recorded pid; the exit status is 1
when anything failed.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import cluster  # noqa: E402
import linux_vm  # noqa: E402

TERN_PROMPT = re.compile(r"tern:\d+> ")
LINUX_PROMPT = re.compile(r"linux# ")
TERN_NODES = (1, 2)
LINUX_NODES = (3, 4)
UDP_PORT = 7
TCP_PORT = 5001


class BenchError(Exception):
    pass


class MixedCluster(cluster.Cluster):
    """A cluster whose nodes in `linux_nodes` boot the Linux VM instead of the image, with
    every other QEMU argument (machine, NIC, hub link, console, monitor) the same."""

    def __init__(self, state_dir, linux_nodes, kernel, initrd):
        super().__init__(state_dir)
        self.linux_nodes = set(linux_nodes)
        self.kernel = kernel
        self.initrd = initrd

    def qemu_argv(self, node):
        argv = super().qemu_argv(node)
        if node not in self.linux_nodes:
            return argv
        out, i = [], 0
        while i < len(argv):
            if argv[i] in ("-cdrom", "-boot", "-drive"):
                i += 2
                continue
            out.append(argv[i])
            i += 1
        ip = "10.0.0.%d/24" % node
        return out + ["-kernel", self.kernel, "-initrd", self.initrd,
                      "-append", linux_vm.append_line("net", ip)]


def log_text(c, node):
    try:
        with open(c.node_path(node, "log"), "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def wait_log(c, node, pattern, after, deadline, what):
    """Waits for `pattern` in node's console log past offset `after`; returns the match."""
    regex = re.compile(pattern)
    while True:
        text = log_text(c, node)
        m = regex.search(text, after)
        if m:
            return m
        if not c.node_alive(node):
            raise BenchError("node %d's QEMU ended while waiting for %s" % (node, what))
        if time.monotonic() > deadline:
            raise BenchError("node %d: no %s in time" % (node, what))
        time.sleep(0.1)


def type_line(c, node, line):
    """Types a command at a node's console socket, a few milliseconds per byte as a UART
    delivers them; returns the console log's length before it, where the answer starts."""
    before = len(log_text(c, node))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(c.node_path(node, "console"))
        for byte in line.encode() + b"\r":
            s.sendall(bytes([byte]))
            time.sleep(0.004)
    finally:
        s.close()
    return before


def prompt_of(node):
    return LINUX_PROMPT if node in LINUX_NODES else TERN_PROMPT


def run_pair(c, server, client, serve_cmd, serving, client_cmd, result, expected, limit):
    """Starts the server command, waits until it serves, runs the client and returns the
    match of `result` in the client's output, whose group 1 must equal `expected` (the
    count of round trips or transfers that came through); both nodes must come back to
    their prompt."""
    deadline = time.monotonic() + limit
    at = type_line(c, server, serve_cmd)
    wait_log(c, server, serving, at, deadline, "'%s' serving" % serve_cmd)
    at_client = type_line(c, client, client_cmd)
    m = wait_log(c, client, result, at_client, deadline, "result of '%s'" % client_cmd)
    if int(m.group(1)) != expected:
        raise BenchError("'%s' on node %d: %s of %d came through" %
                         (client_cmd, client, m.group(1), expected))
    wait_log(c, client, prompt_of(client).pattern, m.end(), deadline, "prompt after the client")
    wait_log(c, server, prompt_of(server).pattern, at + len(serve_cmd), deadline,
             "prompt after the server")
    return m


# A loaded machine's UART now and then repeats a character of the console's output.
SYNC_COUNTERS = re.compile(r"d+r+i+v+e+r+ +s+y+n+c+s+ +(\d+) +d+o+o+r+b+e+l+l+s+ +(\d+)")


def nic_counters(c, node, deadline):
    """The NIC protocol's counters of node's NIC (ifconfig): (syncs, doorbells)."""
    at = type_line(c, node, "ifconfig")
    m = wait_log(c, node, SYNC_COUNTERS.pattern, at, deadline, "ifconfig's counters")
    wait_log(c, node, TERN_PROMPT.pattern, m.end(), deadline, "prompt after ifconfig")
    return int(m.group(1)), int(m.group(2))


def console_tail(c, nodes):
    return "".join("\n--- node %d console (end) ---\n%s" % (n, log_text(c, n)[-1200:])
                   for n in nodes)


def bench_nic(args, nic, kernel, initrd, state_dir):
    """Returns ({figure: value}, [failure]) for one NIC model. A failed step of one system
    ends that system's steps (its shells may still be busy) but not the other's."""
    c = MixedCluster(state_dir, LINUX_NODES, kernel, initrd)
    figures, failures = {}, []
    try:
        start = time.monotonic()
        c.up(4, [nic], args.iso, args.hub, seed=1)
        deadline = start + args.boot_timeout
        for node in TERN_NODES:
            m = wait_log(c, node, r"Tern \u2014 node %d" % node, 0, deadline, "banner")
            wait_log(c, node, TERN_PROMPT.pattern, m.end(), deadline, "shell prompt")
        for node in LINUX_NODES:
            m = wait_log(c, node, r"init: \S+ 10\.0\.0\.%d/24 up" % node, 0, deadline,
                         "network up")
            wait_log(c, node, LINUX_PROMPT.pattern, m.end(), deadline, "prompt")
        print("bench: %s: nodes 1-2 (Tern) and 3-4 (Linux) up after %.1f s"
              % (nic, time.monotonic() - start), flush=True)
    except (BenchError, cluster.ClusterError, OSError) as e:
        failures.append("%s: booting the cluster: %s%s"
                        % (nic, e, console_tail(c, TERN_NODES + LINUX_NODES)))
        c.down()
        return figures, failures

    n, b, runs = args.udp_count, args.tcp_bytes, args.tcp_runs
    steps = {
        "tern": [
            ("udp_rt_us", "netecho serve %d %d" % (UDP_PORT, n), r"netecho: serving UDP",
             "netecho 10.0.0.2 %d %d" % (UDP_PORT, n),
             r"netecho: (\d+) of %d echoed by 10\.0\.0\.2:%d, median (\d+) us" % (n, UDP_PORT),
             n),
            ("tcp_mibs", "tcpbench serve %d %d %d" % (TCP_PORT, b, runs), r"tcpbench: serving TCP",
             "tcpbench 10.0.0.2 %d %d %d" % (TCP_PORT, b, runs),
             r"tcpbench: (\d+) of %d transfers, median ([0-9.]+) MiB/s" % runs, runs)],
        "linux": [
            ("udp_rt_us", "udpecho serve %d %d" % (UDP_PORT, n), r"udpecho: serving UDP",
             "udpecho 10.0.0.4 %d %d" % (UDP_PORT, n),
             r"udpecho: (\d+) of %d echoed by 10\.0\.0\.4:%d, median ([0-9.]+) us"
             % (n, UDP_PORT), n),
            ("tcp_mibs", "tcpbench serve %d %d %d" % (TCP_PORT, b, runs), r"tcpbench: serving TCP",
             "tcpbench 10.0.0.4 %d %d %d" % (TCP_PORT, b, runs),
             r"tcpbench: (\d+) of %d transfers, median ([0-9.]+) MiB/s" % runs, runs)],
    }
    pairs = {"tern": (2, 1), "linux": (4, 3)}
    broken = set()
    try:
        for index in range(2):
            for system in ("tern", "linux"):
                if system in broken:
                    continue
                kind, serve_cmd, serving, client_cmd, result, expected = steps[system][index]
                server, client = pairs[system]
                counting = args.counters and system == "tern" and kind == "tcp_mibs"
                try:
                    if counting:
                        deadline = time.monotonic() + args.step_timeout
                        before = [nic_counters(c, node, deadline) for node in (client, server)]
                    m = run_pair(c, server, client, serve_cmd, serving, client_cmd, result,
                                 expected, args.step_timeout)
                    figures["%s.%s" % (kind, system)] = float(m.group(2))
                    if counting:
                        deadline = time.monotonic() + args.step_timeout
                        after = [nic_counters(c, node, deadline) for node in (client, server)]
                        mib = b * runs / float(1 << 20)
                        for side, (was, now) in zip(("sender", "receiver"), zip(before, after)):
                            print("bench: %s: Tern TCP %s: %.1f Syncs and %.1f doorbells per "
                                  "MiB" % (nic, side, (now[0] - was[0]) / mib,
                                           (now[1] - was[1]) / mib), flush=True)
                except (BenchError, cluster.ClusterError, OSError) as e:
                    broken.add(system)
                    failures.append("net.%s.%s.%s: %s%s" % (nic, kind, system, e,
                                                            console_tail(c, (client, server))))
    finally:
        c.down()
    return figures, failures


def hub_latency(args):
    """The hub's own added latency per frame, from tern-hub-bench (tools/hub)."""
    bench = os.path.join(os.path.dirname(args.hub), "tern-hub-bench")
    r = subprocess.run([bench, "--hub", args.hub, "--round-trips", "2000", "--burst", "20000"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if r.returncode != 0:
        raise BenchError("tern-hub-bench failed:\n" + r.stdout[-2000:])
    return [line for line in r.stdout.splitlines() if re.match(r"hub\.[a-z_]+: [0-9.]+ ", line)]


def loopback_insns(args):
    """net.loopback.udp_echo_insns: one node under -icount, netbench typed at its shell."""
    with tempfile.NamedTemporaryFile("w", suffix=".session", delete=False) as f:
        # The timeout comes first: it covers the boot, which under -icount on a loaded
        # machine takes longer than the session's default wait.
        f.write("timeout 120\nforbid KERNEL PANIC\nexpect tern:0> \nsend netbench\n"
                "expect net.loopback.udp_echo_insns: [0-9]+ instructions\nexpect tern:0> \n")
        session = f.name
    try:
        r = subprocess.run([sys.executable, os.path.join(HERE, "console_session.py"), "--iso",
                            args.iso, "--icount", "--timeout", "300", "--qemu-arg=-nic",
                            "--qemu-arg=none", "--script", session],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        os.unlink(session)
    m = re.search(r"^(net\.loopback\.udp_echo_insns: \d+ instructions)", r.stdout, re.MULTILINE)
    if r.returncode != 0 or not m:
        raise BenchError("the loopback run failed:\n" + r.stdout[-2000:])
    return m.group(1)


def ratio_line(name, tern, linux):
    return "%s.ratio: %.2f ratio" % (name, tern / linux) if linux > 0 else None


def main(argv):
    build = os.path.join(ROOT, os.environ.get("TERN_BUILD_DIR", "build"))
    p = argparse.ArgumentParser(prog="bench.py net", description=__doc__.splitlines()[0])
    p.add_argument("--iso", default=os.path.join(build, "os", "tern.iso"))
    p.add_argument("--hub", default=os.path.join(build, "tools", "hub", "tern-hub"))
    p.add_argument("--nic", default="virtio,e1000", help="NIC models, comma-separated")
    p.add_argument("--udp-count", type=int, default=1000, help="UDP round trips (<= 1000)")
    p.add_argument("--tcp-bytes", type=int, default=8 * 1024 * 1024)
    p.add_argument("--tcp-runs", type=int, default=5)
    p.add_argument("--boot-timeout", type=float, default=240)
    p.add_argument("--step-timeout", type=float, default=300)
    p.add_argument("--counters", action="store_true",
                   help="also print the Tern nodes' NIC Syncs and doorbells per MiB of TCP")
    args = p.parse_args(argv)
    for path in (args.iso, args.hub):
        if not os.path.exists(path):
            print("bench: %s does not exist; run ./tern build first" % path, file=sys.stderr)
            return 2
    if not 1 <= args.udp_count <= 1000 or not 1 <= args.tcp_runs <= 101:
        print("bench: --udp-count must be 1..1000 (netecho's limit), --tcp-runs 1..101",
              file=sys.stderr)
        return 2
    try:
        kernel = linux_vm.kernel_path()
        initrd = linux_vm.build(build, quiet=True)
    except linux_vm.LinuxVmError as e:
        print("bench: %s" % e, file=sys.stderr)
        return 2
    print("bench: network, wall time under TCG: -machine q35 -cpu max -m 256M -smp 1, one NIC "
          "per node on tern-hub (-netdev dgram on 127.0.0.1); Tern nodes 1-2, Linux %s "
          "nodes 3-4 (%s)" % (linux_vm.linux_release(), linux_vm.append_line("net")), flush=True)
    state = tempfile.mkdtemp(prefix="tern-bench-net-")
    failures = []
    try:
        for line in hub_latency(args):
            print(line, flush=True)
        for nic in args.nic.split(","):
            if nic not in cluster.NIC_DEVICES:
                print("bench: unknown NIC model %r" % nic, file=sys.stderr)
                return 2
            f, failed = bench_nic(args, nic, kernel, initrd, state)
            failures += failed
            for kind, unit in (("udp_rt_us", "us"), ("tcp_mibs", "MiB/s")):
                name = "net.%s.%s" % (nic, kind)
                for system in ("tern", "linux"):
                    if kind + "." + system in f:
                        print("%s.%s: %g %s" % (name, system, f[kind + "." + system], unit))
                if kind + ".tern" in f and kind + ".linux" in f:
                    line = ratio_line(name, f[kind + ".tern"], f[kind + ".linux"])
                    if line:
                        print(line)
            sys.stdout.flush()
        print(loopback_insns(args), flush=True)
    except BenchError as e:
        failures.append(str(e))
    finally:
        shutil.rmtree(state, ignore_errors=True)
    for failure in failures:
        print("bench: FAIL %s" % failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

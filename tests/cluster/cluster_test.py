#!/usr/bin/env python3
"""A three-node Tern cluster under QEMU, started by the machinery of `./tern run --nodes 3`
(tools/cluster.py), checked and broken on purpose:

- every node boots to its shell with its own node id in the banner;
- QEMU's NIC of every node reaches the hub: a RARP announcement from each node (QEMU
  sends it itself; Tern has no NIC driver yet) is counted at its port and flooded to the
  other two, and a link taken down with set_link sends nothing until it is up again;
- a node's console answers a command typed at it through its console socket;
- a paused node reports "paused" and runs again after cont;
- node 2 is killed and restarted, and boots again to its prompt;
- `down` ends every process the cluster started, by pid, within a bounded time.

    cluster_test.py --iso build/os/tern.iso --hub build/tools/hub/tern-hub [--timeout 150]

The cluster lives in a fresh temporary directory, so a user's own cluster (in
build/cluster) and parallel tests are untouched. Exit status 0 when every check passed.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import cluster  # noqa: E402

PROMPT = re.compile(r"tern:\d+> ")


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def log_text(c, node):
    with open(c.node_path(node, "log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def wait_for_boot(c, node, deadline, after=0):
    """Waits until node's log, from offset `after`, shows its banner and a prompt."""
    banner = re.compile(r"Tern \u2014 node %d\r?$" % node, re.MULTILINE)
    while True:
        text = log_text(c, node)[after:]
        m = banner.search(text)
        if m and PROMPT.search(text, m.end()):
            return
        check(c.node_alive(node), "node %d's QEMU ended while booting:\n%s"
              % (node, text[-2000:]))
        check(time.monotonic() < deadline,
              "node %d did not reach its prompt in time; its log ends:\n%s"
              % (node, text[-2000:]))
        time.sleep(0.2)


def port_rx(c, node):
    return c.hub_stats()[("port", node)]["rx_frames"]


def wait_until(condition, what, limit=10.0):
    deadline = time.monotonic() + limit
    while not condition():
        check(time.monotonic() < deadline, "timed out waiting for " + what)
        time.sleep(0.05)


def console_command(c, node, command, expect, limit=20.0):
    """Types a command at a node's console socket and waits for `expect` in the answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.2)
    s.connect(c.node_path(node, "console"))
    try:
        # Bytes are typed a few milliseconds apart, as a UART would deliver them.
        for byte in command.encode() + b"\r":
            s.sendall(bytes([byte]))
            time.sleep(0.004)
        output = b""
        deadline = time.monotonic() + limit
        while expect not in output.decode("utf-8", "replace"):
            check(time.monotonic() < deadline, "node %d did not answer %r; it printed %r"
                  % (node, command, output[-500:]))
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                continue
            check(chunk, "node %d closed its console" % node)
            output += chunk
    finally:
        s.close()


def run(args, c):
    start = time.monotonic()
    deadline = start + args.timeout
    c.up(3, ["virtio", "e1000", "virtio"], args.iso, args.hub, seed=1)
    pids = [c.state["hub"]["pid"]] + [c.node(n)["pid"] for n in (1, 2, 3)]
    for node in (1, 2, 3):
        wait_for_boot(c, node, deadline)
        check("node=%d ip=10.0.0.%d/24" % (node, node) in log_text(c, node),
              "node %d booted with its own command line" % node)
    print("cluster_test: three nodes at their prompts after %.1f s" % (time.monotonic() - start))

    # Every node's NIC reaches the hub, and the hub floods its broadcasts to the others.
    for node in (1, 2, 3):
        c.qmp(node, "announce-self", initial=50, max=550, rounds=1, step=100)
        wait_until(lambda: port_rx(c, node) >= 1, "node %d's announcement at the hub" % node)
    stats = c.hub_stats()
    for a in (1, 2, 3):
        for b in (1, 2, 3):
            if a != b:
                check(stats.get(("link", a, b), {}).get("forwarded", 0) >= 1,
                      "link %d>%d carried node %d's announcement: %s" % (a, b, a, stats))

    # A link that is down sends nothing; up again, it does.
    before = port_rx(c, 3)
    c.qmp(3, "set_link", name="net0", up=False)
    c.qmp(3, "announce-self", initial=50, max=550, rounds=1, step=100)
    time.sleep(0.5)
    check(port_rx(c, 3) == before, "a node whose link is down sent a frame")
    c.qmp(3, "set_link", name="net0", up=True)
    c.qmp(3, "announce-self", initial=50, max=550, rounds=1, step=100)
    wait_until(lambda: port_rx(c, 3) > before, "node 3's announcement after link up")

    console_command(c, 3, "echo cluster-node-3-answers", "cluster-node-3-answers\r\n")

    c.qmp(2, "stop")
    check(c.qmp(2, "query-status")["status"] == "paused", "node 2 paused")
    c.qmp(2, "cont")
    check(c.qmp(2, "query-status")["status"] == "running", "node 2 running again")

    # Kill node 2 and start it again: it boots to its prompt once more.
    old_pid = c.node(2)["pid"]
    c.kill_node(2)
    check(not cluster.process_runs(old_pid, c.node_path(2, "qmp")), "node 2's QEMU is gone")
    check("node 2: down" in c.status(), "status shows node 2 down")
    restarted_at = len(log_text(c, 2))
    c.restart_node(2)
    pids.append(c.node(2)["pid"])
    wait_for_boot(c, 2, deadline, after=restarted_at)
    check("started again" in log_text(c, 2)[restarted_at - 200:], "the log marks the restart")
    print("cluster_test: node 2 killed and booted again after %.1f s"
          % (time.monotonic() - start))

    down_start = time.monotonic()
    c.down()
    for pid in pids:
        check(not os.path.exists("/proc/%d" % pid) or
              not any(cluster.process_runs(pid, m) for m in
                      (c.state["hub"]["control"], c.node_path(1, "qmp"),
                       c.node_path(2, "qmp"), c.node_path(3, "qmp"))),
              "process %d outlived down" % pid)
    check(time.monotonic() - down_start < 15, "down took %.1f s" % (time.monotonic() - down_start))
    print("cluster_test: everything ended %.1f s after down; %.1f s in all"
          % (time.monotonic() - down_start, time.monotonic() - start))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iso", required=True)
    p.add_argument("--hub", required=True)
    p.add_argument("--timeout", type=float, default=150)
    p.add_argument("--keep", action="store_true", help="keep the state directory")
    args = p.parse_args()
    state = tempfile.mkdtemp(prefix="tern-cluster-")
    c = cluster.Cluster(state)

    def on_alarm(number, frame):
        raise Failure("timed out after %.0f s" % args.timeout)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.timeout) + 10)
    error = None
    try:
        run(args, c)
    except (Failure, cluster.ClusterError, OSError) as e:
        error = e
    finally:
        signal.alarm(0)
        try:
            c.down()
        except cluster.ClusterError as e:
            error = error or e
        if error:
            for node in (1, 2, 3):
                path = c.node_path(node, "log")
                if os.path.exists(path):
                    print("--- node %d log (end) ---" % node)
                    print(log_text(c, node)[-1500:])
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    if error:
        print("cluster_test: FAIL: %s" % error)
        return 1
    print("cluster_test: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

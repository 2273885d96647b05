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
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # importing harness must leave nothing in the tree
import harness  # noqa: E402
from harness import (Failure, check, cluster, console_command, log_text,  # noqa: E402,F401
                     wait_for_boot, wait_until)


def port_rx(c, node):
    return c.hub_stats()[("port", node)]["rx_frames"]


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


if __name__ == "__main__":
    sys.exit(harness.main("cluster_test", __doc__, run, nodes=(1, 2, 3), timeout=150,
                          tail=1500))

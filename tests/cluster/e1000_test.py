#!/usr/bin/env python3
"""Two Tern nodes with e1000 (or virtio-net) NICs on the cluster hub reach each other through
the whole stack: the PCI bus server, init's driver table, the NIC's driver, the NIC
protocol, lwIP with each node's static address from its node.cfg (ip=10.0.0.N/24), and
UDP sockets.

- both nodes boot, their drivers attach with the link up, and ifconfig on node 1
  shows 10.0.0.1/24 on enp0s2;
- node 2 serves a UDP echo (netecho serve), node 1 sends it 20 datagrams (netecho), and
  every one comes back intact; the hub counts frames both ways;
- node 1's ifconfig then shows frames at the device and no errors.

    e1000_test.py --iso build/os/tern.iso --hub build/tools/hub/tern-hub [--timeout 150]
                  [--nic e1000|virtio]
"""
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # importing harness must leave nothing in the tree
import harness  # noqa: E402
from harness import check, console_command, log_text, wait_for_boot  # noqa: E402

ATTACHED = {
    "e1000": re.compile(r"e1000: enp0s2: [0-9a-f:]{17}, link up, IRQ \d+"),
    "virtio": re.compile(r"virtio-net: enp0s2: [0-9a-f:]{17}, link up, (MSI-X|INTx) interrupts"),
}


def wait_for(c, node, pattern, deadline, what):
    while not re.search(pattern, log_text(c, node)):
        check(c.node_alive(node), "node %d's QEMU ended" % node)
        check(time.monotonic() < deadline, "node %d: no %s; its log ends:\n%s"
              % (node, what, log_text(c, node)[-2000:]))
        time.sleep(0.2)


def run(args, c):
    start = time.monotonic()
    deadline = start + args.timeout
    c.up(2, [args.nic, args.nic], args.iso, args.hub, seed=1)
    for node in (1, 2):
        wait_for_boot(c, node, deadline)
        wait_for(c, node, ATTACHED[args.nic], deadline, "attached %s driver" % args.nic)
    print("e1000_test: both %s drivers attached after %.1f s"
          % (args.nic, time.monotonic() - start))
    console_command(c, 1, "ifconfig", "inet 10.0.0.1/24")
    before = c.hub_stats()
    console_command(c, 2, "netecho serve 7 20", "netecho: serving UDP port 7 for 20")
    console_command(c, 1, "netecho 10.0.0.2 7 20", "netecho: 20 of 20 echoed by 10.0.0.2:7",
                    limit=60)
    wait_for(c, 2, r"netecho: echoed 20 datagrams", deadline, "end of the echo server")
    after = c.hub_stats()
    for node in (1, 2):
        sent = after[("port", node)]["rx_frames"] - before.get(("port", node), {}).get(
            "rx_frames", 0)
        check(sent >= 20, "node %d sent %d frames to the hub during the echo" % (node, sent))
    # The console answers "echoed by" before the rest of the line reaches the log.
    median = r"netecho: 20 of 20 echoed by 10\.0\.0\.2:7, median (\d+) us"
    wait_for(c, 1, median, deadline, "median round trip")
    m = re.search(median, log_text(c, 1))
    print("e1000_test: 20 UDP echoes node 1 -> node 2, median %s us" % m.group(1))
    console_command(c, 1, "ifconfig", "errors 0 dropped 0\r\n    device rx frames")
    print("e1000_test: %.1f s in all" % (time.monotonic() - start))


def add_arguments(p):
    p.add_argument("--nic", default="e1000", choices=sorted(ATTACHED))


if __name__ == "__main__":
    sys.exit(harness.main("e1000_test", __doc__, run, nodes=(1, 2), timeout=150,
                          add_arguments=add_arguments))

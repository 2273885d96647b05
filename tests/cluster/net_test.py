#!/usr/bin/env python3
"""Three Tern nodes with the same NIC model on the cluster hub, through the whole network
path (driver, NIC protocol, lwIP, sockets), broken on purpose, in one cluster boot:

1. ping between every pair of nodes (`ping`, ICMP echo sent by the network server), by
   name from /etc/hosts;
2. 8 MiB over TCP from node 1 to node 2 (`netxfer`), every byte checked by the receiver
   and the checksum confirmed to the sender;
3. the same with 5 % loss and 5 % duplication on the link 1-2 at the hub;
4. the same with node 2's link cut (QEMU set_link down) for 3 s mid-transfer: TCP
   recovers and the data arrives intact;
5. the same with node 1's NIC driver killed mid-transfer (`netfault`): the bus server
   releases the dead driver's DMA memory only after bus mastering is off, init restarts
   the driver, the new driver takes the interface over, and the transfer under way
   completes intact;
6. node 3 resets the connection mid-transfer (closes with data unread): the sender gets
   ECONNRESET, not a hang;
7. node 3 is killed: pings from nodes 1 and 2 fail; it is restarted, boots, and the same
   pings succeed again.

Prints the figures it saw (ping medians, TCP MiB/s with and without faults) and the time
of each step.

    net_test.py --iso build/os/tern.iso --hub build/tools/hub/tern-hub --nic e1000|virtio
                [--timeout 420]
"""
import os
import re
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # importing harness must leave nothing in the tree
import harness  # noqa: E402
from harness import (check, console_command, log_size, log_text, type_line,  # noqa: E402
                     wait_for_boot, wait_log)

ATTACHED = {
    "e1000": r"e1000: enp0s2: [0-9a-f:]{17}, link up, IRQ \d+",
    "virtio": r"virtio-net: enp0s2: [0-9a-f:]{17}, link up, (MSI-X|INTx) interrupts",
}
DRIVER = {"e1000": "e1000", "virtio": "virtio_net"}
NODES = (1, 2, 3)
PORT = 5001
RESET_PORT = 5002
MIB = 8

SENT = re.compile(r"netxfer: sent (\d+) bytes to [0-9.:]+, checksum (0x[0-9a-f]+) "
                  r"(confirmed|REFUTED[^,]*), (\d+\.\d+) MiB/s")
RECEIVED = re.compile(r"netxfer: received (\d+) bytes from [0-9.:]+, checksum (0x[0-9a-f]+), "
                      r"(intact|WRONG[^,]*), (\d+\.\d+) MiB/s")
FAILED = re.compile(r"netxfer: [a-z0-9/ ]+: [^\r\n]* \((E[A-Z]+|errno)\)")
PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received")
PING_RTT = re.compile(r"rtt min/median/max = ([0-9.]+)/([0-9.]+)/([0-9.]+) ms")


def ping(c, node, target, count, expect_replies):
    """Runs ping on node; returns the median RTT in ms when replies were expected."""
    at = log_size(c, node)
    type_line(c, node, "ping -c %d -i 100 -W 1000 node%d" % (count, target))
    m = wait_log(c, node, PING_SUMMARY, at, 15 + 2 * count, "ping summary")
    received = int(m.group(2))
    if not expect_replies:
        check(received == 0, "node %d got %d replies from node %d, which is down"
              % (node, received, target))
        wait_log(c, node, r"tern:1> ", m.end(), 5, "exit status 1 of a ping without replies")
        return None
    check(received == count, "node %d: %d of %d pings to node %d answered"
          % (node, received, count, target))
    rtt = wait_log(c, node, PING_RTT, m.end(), 5, "ping RTT line")
    wait_log(c, node, r"tern:0> ", rtt.end(), 5, "exit status 0 of ping")
    return float(rtt.group(2))


def transfer(c, seed, limit, prefix="", expect_ok=True):
    """node 1 sends MIB MiB to node 2's server; returns (ok, MiB/s or error name, text)."""
    at = log_size(c, 1)
    type_line(c, 1, "%snetxfer send -s %d -t 30 node2 %d %d" % (prefix, seed, PORT, MIB))
    deadline = time.monotonic() + limit
    while True:
        text = log_text(c, 1)
        sent = SENT.search(text, at)
        failed = FAILED.search(text, at)
        if sent:
            check(int(sent.group(1)) == MIB << 20, "sent %s bytes" % sent.group(1))
            check(sent.group(3) == "confirmed", "node 2 refuted the data: %s" % sent.group(0))
            return True, float(sent.group(4)), sent.group(0)
        if failed:
            check(not expect_ok, "the transfer failed: %s" % failed.group(0))
            return False, failed.group(1), failed.group(0)
        check(time.monotonic() < deadline, "transfer seed %d did not end within %.0f s; node 1's "
              "log ends:\n%s" % (seed, limit, text[-2500:]))
        time.sleep(0.1)


def check_received(c, at, seed_count):
    """node 2 reports every completed transfer intact; returns its MiB/s figures."""
    text = log_text(c, 2)[at:]
    received = RECEIVED.findall(text)
    for r in received:
        check(r[2] == "intact", "node 2 received wrong data: %s" % (r,))
    check(len(received) >= seed_count, "node 2 reported %d intact transfers, expected %d"
          % (len(received), seed_count))
    return [float(r[3]) for r in received]


def hub_link_bytes(c, a, b):
    return c.hub_stats().get(("link", a, b), {}).get("bytes", 0)


def wait_bytes(c, a, b, base, amount, limit, what):
    deadline = time.monotonic() + limit
    while hub_link_bytes(c, a, b) - base < amount:
        check(time.monotonic() < deadline, "no %s within %.0f s" % (what, limit))
        time.sleep(0.05)


def run(args, c):
    steps = harness.Steps("net_test")
    deadline = time.monotonic() + args.timeout
    attached = ATTACHED[args.nic]
    c.up(len(NODES), [args.nic], args.iso, args.hub, seed=args.seed)
    for node in NODES:
        wait_for_boot(c, node, deadline)
        wait_log(c, node, attached, 0, max(1, deadline - time.monotonic()), "attached driver")
    steps.done("3 nodes booted, %s drivers attached" % args.nic)

    # 1. Every pair.
    rtts = []
    for a in NODES:
        for b in NODES:
            if a != b:
                rtts.append(ping(c, a, b, 3, True))
    steps.done("ping between all 6 ordered pairs")

    # 2. A clean transfer; node 2 serves every transfer of the test.
    at2 = log_size(c, 2)
    console_command(c, 2, "netxfer serve -n 100 -t 30 %d" % PORT, "netxfer: serving TCP port")
    ok, clean_rate, _ = transfer(c, 1, 90)
    steps.done("TCP %d MiB, clean: %.2f MiB/s" % (MIB, clean_rate))
    clean_seconds = MIB / clean_rate

    # 3. Loss and duplication on the link between 1 and 2.
    c.hub_command("drop 0.05 link 1 2")
    c.hub_command("dup 0.05 link 1 2")
    before = c.hub_stats()
    ok, lossy_rate, _ = transfer(c, 2, 180)
    after = c.hub_stats()
    c.hub_command("clear")
    dropped = sum(after.get(("link", a, b), {}).get("dropped", 0)
                  - before.get(("link", a, b), {}).get("dropped", 0) for a, b in ((1, 2), (2, 1)))
    duplicated = sum(after.get(("link", a, b), {}).get("duplicated", 0)
                     - before.get(("link", a, b), {}).get("duplicated", 0)
                     for a, b in ((1, 2), (2, 1)))
    check(dropped > 0 and duplicated > 0, "the hub dropped %d and duplicated %d frames"
          % (dropped, duplicated))
    steps.done("TCP %d MiB, 5%% loss + dup: %.2f MiB/s (%d dropped, %d dup)"
               % (MIB, lossy_rate, dropped, duplicated))

    # 4. Node 2's cable pulled for 3 s once a quarter of the data has passed.
    base = hub_link_bytes(c, 1, 2)
    at = log_size(c, 1)
    type_line(c, 1, "netxfer send -s 3 -t 30 node2 %d %d" % (PORT, MIB))
    wait_bytes(c, 1, 2, base, (MIB << 20) // 4, 60, "quarter of the transfer at the hub")
    check(not SENT.search(log_text(c, 1), at), "the transfer ended before the cut")
    c.qmp(2, "set_link", name="net0", up=False)
    time.sleep(3)
    c.qmp(2, "set_link", name="net0", up=True)
    m = wait_log(c, 1, SENT.pattern + "|" + FAILED.pattern, at, 120, "end of the cut transfer")
    check(m.group(0).startswith("netxfer: sent") and "confirmed" in m.group(0),
          "the transfer across the cut failed: %s" % m.group(0))
    steps.done("TCP %d MiB, link cut 3 s mid-transfer: recovered" % MIB)

    # 5. Node 1's NIC driver killed a third of the way into a transfer: init restarts it,
    # the new driver takes the interface over, and the connection under way survives.
    driver = DRIVER[args.nic]
    attaches = len(re.findall(attached, log_text(c, 1)))
    delay_ms = max(200, int(clean_seconds * 1000 / 3))
    before_kill = log_size(c, 1)
    ok, result, line = transfer(c, 4, 150, prefix="netfault %d %s " % (delay_ms, driver),
                                expect_ok=False)
    check(ok, "the transfer under way did not survive the driver's restart: %s" % line)
    wait_log(c, 1, r"netfault: killed %s \(pid" % driver, before_kill, 10, "the driver's kill")
    # The dead driver's rings and buffers stay pinned at the bus server until the
    # function's bus mastering is off, then go back: two buffers, none of them empty.
    m = wait_log(c, 1, r"pci: [0-9a-f:.]+: bus mastering off; (\d+) DMA buffers \((\d+) KiB\)"
                 r" released", before_kill, 10, "the dead driver's DMA memory released")
    check(m.group(1) == "2" and int(m.group(2)) > 0, "released: %s" % m.group(0))
    wait_log(c, 1, r"net: enp0s2: a new driver took the interface over", before_kill, 10,
             "the interface taken over by the new driver")
    check(len(re.findall(attached, log_text(c, 1))) > attaches,
          "node 1's driver did not attach again")
    steps.done("driver %s killed after %d ms: transfer survived (%.2f MiB/s)"
               % (driver, delay_ms, result))
    # Clean, lossy, cut and across the driver restart: four intact.
    rates = check_received(c, at2, 4)

    # 6. A peer that resets the connection mid-transfer.
    console_command(c, 3, "netxfer serve -r 1024 -t 30 %d" % RESET_PORT,
                    "netxfer: serving TCP port")
    at = log_size(c, 1)
    type_line(c, 1, "netxfer send -s 6 -t 30 node3 %d %d" % (RESET_PORT, MIB))
    m = wait_log(c, 1, SENT.pattern + "|" + FAILED.pattern, at, 60, "end of the reset transfer")
    check(m.group(0).endswith("(ECONNRESET)"), "the reset gave: %s" % m.group(0))
    wait_log(c, 3, r"netxfer: closing [0-9.:]+ after \d+ bytes, with data unread", 0, 10,
             "node 3's reset")
    steps.done("reset mid-transfer gives ECONNRESET")

    # 7. Node 3 goes away and comes back. Node 2's console is still serving: Ctrl-C ends it.
    at = log_size(c, 2)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(c.node_path(2, "console"))
    s.sendall(b"\x03")
    s.close()
    wait_log(c, 2, r"tern:130> ", at, 10, "prompt after Ctrl-C")
    c.kill_node(3)
    for node in (1, 2):
        ping(c, node, 3, 2, False)
    restarted_at = log_size(c, 3)
    c.restart_node(3)
    wait_for_boot(c, 3, time.monotonic() + 90, after=restarted_at)
    wait_log(c, 3, attached, restarted_at, 30, "attached driver after the restart")
    for node in (1, 2):
        ping(c, node, 3, 3, True)
    steps.done("node 3 killed (pings fail), restarted (pings answered)")

    print("net_test: %s: ping median RTT over the 6 pairs %.3f ms (per pair: %s)"
          % (args.nic, statistics.median(rtts), " ".join("%.3f" % r for r in rtts)))
    print("net_test: %s: TCP %d MiB: %.2f MiB/s clean, %.2f MiB/s with 5%% loss and 5%% "
          "duplication (receiver's figures: %s)" % (args.nic, MIB, clean_rate, lossy_rate,
                                                  " ".join("%.2f" % r for r in rates)))
    print("net_test: %.1f s in all" % (time.monotonic() - steps.start))


def add_arguments(p):
    p.add_argument("--nic", required=True, choices=sorted(ATTACHED))
    p.add_argument("--seed", type=int, default=1, help="the hub's fault seed")


if __name__ == "__main__":
    sys.exit(harness.main("net_test", __doc__, run, nodes=NODES, timeout=420,
                          add_arguments=add_arguments, tail=3000, slack=0))

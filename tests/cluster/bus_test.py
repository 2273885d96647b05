#!/usr/bin/env python3
"""The message bus on three QEMU nodes (docs/bus.md), in one cluster boot:

- every node starts the bus with its own incarnation and sees the other two up, in its log
  and in `nodes`, with the incarnation each of them announced;
- a forged bus frame (a well-formed data frame from "node 3" with a wrong tag) injected
  at the hub in front of node 1 is counted in `busstat` as bad_tag, and no other refusal
  counter moves and no member changes state;
- node 2 is killed: nodes 1 and 3 declare it down within the configured silence (plus a
  heartbeat period and the polling here); restarted, it comes back up on both with a
  larger incarnation.

    bus_test.py --iso build/os/tern.iso --hub build/tools/hub/tern-hub [--timeout 240]

Exit status 0 when every check passed.
"""
import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # importing harness must leave nothing in the tree
import harness  # noqa: E402
from harness import check, console, log_text, wait_for, wait_for_boot  # noqa: E402,F401
STARTED = re.compile(r"bus: node (\d+) incarnation (\d+) on UDP port 7400")
DOWN_MS = 3000
# Counters that count refused input: a forged frame may move bad_tag and none of these.
# duplicates and out_of_window are not among them: a retransmission whose ack was only
# late (a loaded host) moves them with honest traffic.
REFUSALS = ("malformed", "stale", "misdirected", "bad_fragments", "bad_messages",
            "unknown_senders", "unroutable")


def nodes_table(c, node):
    """`nodes` on node: {id: (state, incarnation)} for the other nodes."""
    text = console(c, node, "nodes", r"NODE  STATE[\s\S]*?tern:\d+> ")
    table = {}
    for line in text.splitlines():
        m = re.match(r"(\d+)\s+(up|down|unknown)\s+(\d+)\s", line)
        if m:
            table[int(m.group(1))] = (m.group(2), int(m.group(3)))
    check("(this node;" in text, "nodes on node %d shows this node: %r" % (node, text))
    return table


def busstat(c, node):
    text = console(c, node, "busstat", r"unknown_senders \d+")
    stats = {}
    for line in text.splitlines():
        m = re.match(r"([a-z_]+) (\d+)\s*$", line.strip())
        if m:
            stats[m.group(1)] = int(m.group(2))
    check("bad_tag" in stats and "frames_received" in stats,
          "busstat on node %d printed its counters: %r" % (node, text))
    return stats


def incarnation_in_log(c, node, after=0):
    m = None
    for m in STARTED.finditer(log_text(c, node)[after:]):
        pass
    return int(m.group(2)) if m and int(m.group(1)) == node else None


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def forged_frame(source, destination, source_life, destination_life):
    """An Ethernet frame carrying a UDP datagram to port 7400 that decodes as a bus data
    frame from `source` to `destination` (servers/bus/portable/frame.h), with a tag made
    of nothing."""
    payload = bytes([1, 1, 0, 0]) + struct.pack("<II", source_life, 0) + bytes(4)
    header = struct.pack("<HBBHHIIIIIHHHHIII", 0x5442, 1, 3, source, destination,
                         source_life, destination_life, 1, 1, 0, 64, 0, 1, len(payload),
                         len(payload), 1, 1)
    assert len(header) == 48
    bus = header + payload + bytes(range(0xA0, 0xB0))
    udp = struct.pack("!HHHH", 7400, 7400, 8 + len(bus), 0) + bus
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x7E57, 0, 64, 17, 0,
                     bytes([10, 0, 0, source]), bytes([10, 0, 0, destination]))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    ethernet = (bytes([0x52, 0x54, 0, 0, 0, destination]) + bytes([0x52, 0x54, 0, 0, 0, source])
                + b"\x08\x00")
    return ethernet + ip + udp


def run(args, c):
    start = time.monotonic()
    deadline = start + args.timeout
    c.up(3, ["virtio", "virtio", "virtio"], args.iso, args.hub, seed=1)
    lives = {}
    for node in (1, 2, 3):
        wait_for_boot(c, node, deadline)
        lives[node] = wait_for("node %d's bus" % node,
                               lambda: incarnation_in_log(c, node), deadline)
    print("bus_test: three nodes with their bus up after %.1f s: incarnations %s"
          % (time.monotonic() - start, lives))
    # The cluster runner gives every node the cluster's own key, which the network
    # server reads through init's +key grant: no node falls back to the default key.
    for node in (1, 2, 3):
        check("authenticating frames with the cluster key (32 bytes)" in log_text(c, node),
              "node %d's bus uses the configured cluster key" % node)

    # Everyone sees everyone, with the incarnation each announced.
    for node in (1, 2, 3):
        for other in (1, 2, 3):
            if other != node:
                wait_for("node %d to see node %d up" % (node, other),
                         lambda: re.search(r"bus: node %d up \(incarnation %d\)"
                                           % (other, lives[other]), log_text(c, node)),
                         deadline)
    for node in (1, 3):
        table = nodes_table(c, node)
        for other in (1, 2, 3):
            if other != node:
                check(table.get(other) == ("up", lives[other]),
                      "nodes on node %d shows node %d up in incarnation %d: %s"
                      % (node, other, lives[other], table))
    print("bus_test: every node sees the other two up after %.1f s"
          % (time.monotonic() - start))

    # A forged frame is counted as bad_tag and changes nothing else.
    before = busstat(c, 1)
    frame = forged_frame(3, 1, lives[3], lives[1])
    reply = c.hub_command("inject 1 " + frame.hex())
    check("injected" in reply, "the hub injected the frame: %r" % reply)
    after = wait_for("the forged frame in node 1's bad_tag",
                     lambda: (lambda s: s if s["bad_tag"] >= before["bad_tag"] + 1 else None)(
                         busstat(c, 1)), deadline, step=0.2)
    check(after["bad_tag"] == before["bad_tag"] + 1,
          "exactly one frame refused for its tag: %d -> %d"
          % (before["bad_tag"], after["bad_tag"]))
    for name in REFUSALS:
        check(after[name] == before[name], "%s moved from %d to %d after a forged frame"
              % (name, before[name], after[name]))
    table = nodes_table(c, 1)
    check(table.get(2) == ("up", lives[2]) and table.get(3) == ("up", lives[3]),
          "membership unchanged after the forged frame: %s" % table)
    print("bus_test: the forged frame was counted as bad_tag, nothing else moved")

    # Node 2 dies: the others declare it down; restarted, it is up with a new life.
    marks = {node: len(log_text(c, node)) for node in (1, 3)}
    killed_at = time.monotonic()
    c.kill_node(2)
    for node in (1, 3):
        wait_for("node %d to declare node 2 down" % node,
                 lambda: "bus: node 2 down" in log_text(c, node)[marks[node]:],
                 min(deadline, killed_at + (DOWN_MS + 750) / 1000.0 + 10), step=0.1)
    down_after = time.monotonic() - killed_at
    check(nodes_table(c, 1).get(2, ("?",))[0] == "down", "nodes on node 1 shows node 2 down")
    print("bus_test: node 2 declared down %.1f s after it was killed" % down_after)

    restarted_at = len(log_text(c, 2))
    c.restart_node(2)
    wait_for_boot(c, 2, deadline, after=restarted_at)
    new_life = wait_for("node 2's bus after the restart",
                        lambda: incarnation_in_log(c, 2, restarted_at), deadline)
    check(new_life > lives[2], "node 2's new incarnation %d is larger than %d"
          % (new_life, lives[2]))
    for node in (1, 3):
        wait_for("node %d to see node 2 back" % node,
                 lambda: "bus: node 2 up (incarnation %d, was %d)" % (new_life, lives[2])
                 in log_text(c, node)[marks[node]:], deadline)
    table = nodes_table(c, 1)
    check(table.get(2) == ("up", new_life), "nodes on node 1 shows node 2 up in its new life: %s"
          % table)
    print("bus_test: node 2 back up in incarnation %d (was %d); %.1f s in all"
          % (new_life, lives[2], time.monotonic() - start))


if __name__ == "__main__":
    sys.exit(harness.main("bus_test", __doc__, run, nodes=(1, 2, 3), timeout=240))

#!/usr/bin/env python3
"""Host tests of tern-hub, no VM needed: UDP sockets on 127.0.0.1 play the nodes' QEMUs
(`-netdev dgram` sends each Ethernet frame as one datagram) and a control client drives
the hub's fault commands.

    hub_test.py --hub PATH --case NAME     (NAME: see CASES; `all` runs every case)

Each case starts its own hub (by pid, ended by pid) on ports the kernel picks, so cases
run in parallel with each other and with anything else on the machine. The whole run is
bounded by --timeout. Exit status 0 when every check passed.
"""
import argparse
import math
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

BROADCAST = b"\xff" * 6
ETHERTYPE = b"\x88\xb5"  # local experimental


def mac(node):
    return bytes([0x02, 0, 0, 0, 0, node])


def frame(src_mac, dst_mac, seq, size=64):
    payload = struct.pack("!I", seq)
    body = dst_mac + src_mac + ETHERTYPE + payload
    return body + b"\0" * max(0, size - len(body))


def seq_of(data):
    return struct.unpack("!I", data[14:18])[0]


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def binomial_bounds(n, p, sigmas=6.0):
    """A range a seeded binomial(n, p) count falls in unless the generator is broken."""
    mean = n * p
    spread = sigmas * math.sqrt(n * p * (1 - p)) + 1
    return mean - spread, mean + spread


class Hub:
    """A hub process with `nodes` ports, and one UDP socket per node playing its QEMU."""

    def __init__(self, path, nodes, seed=1):
        self.dir = tempfile.mkdtemp(prefix="tern-hubtest-")
        self.control = os.path.join(self.dir, "hub.sock")
        self.peers = {}
        for node in range(1, nodes + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self.peers[node] = s
        argv = [path, "--control", self.control, "--seed", str(seed)]
        for node, s in self.peers.items():
            argv += ["--node", "%d:0:%d" % (node, s.getsockname()[1])]
        self.log_path = os.path.join(self.dir, "hub.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.hub_ports = {}
        deadline = time.monotonic() + 10
        while True:
            try:
                listing = self.ok("nodes")
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise Failure("the hub did not start: " + self.log_text())
                time.sleep(0.02)
        for line in listing.splitlines():
            words = line.split()
            self.hub_ports[int(words[1])] = int(words[2].split("=")[1])
        check(sorted(self.hub_ports) == list(self.peers), "nodes lists every node: " + listing)
        self.sent_total = 0

    def log_text(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    # --- control -----------------------------------------------------------------------

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.control)
        return s

    def command(self, line, raw=None):
        """Sends a line (or raw bytes); returns (ok, text of the reply without its end)."""
        with self.connect() as s:
            s.sendall(raw if raw is not None else line.encode() + b"\n")
            reply = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    raise Failure("the hub closed the connection after %r" % line)
                reply += chunk
                if reply.endswith(b"\n"):
                    last = reply[:-1].rsplit(b"\n", 1)[-1]
                    if last == b"ok":
                        return True, reply[:-3].decode()
                    if last.startswith(b"error: "):
                        return False, last.decode()

    def ok(self, line):
        good, text = self.command(line)
        check(good, "%r was refused: %s" % (line, text))
        return text

    def error(self, line, raw=None):
        good, text = self.command(line, raw)
        check(not good, "%r was accepted: %s" % (line, text))
        return text

    def stats(self):
        result = {}
        for line in self.ok("stats").splitlines():
            words = line.split()
            values = {k: int(v) for k, _, v in (w.partition("=") for w in words[1:] if "=" in w)}
            if words[0] == "port":
                result[int(words[1])] = values
            elif words[0] == "link":
                a, b = words[1].split(">")
                result[(int(a), int(b))] = values
            else:
                result[words[0]] = values
        return result

    def link(self, a, b):
        zero = dict.fromkeys(("forwarded", "dropped", "duplicated", "delayed", "reordered",
                              "cut", "queue_full"), 0)
        return self.stats().get((a, b), zero)

    # --- frames ------------------------------------------------------------------------

    def reset(self):
        """Zeroes the hub's counters and this side's count of frames sent."""
        self.ok("stats reset")
        self.sent_total = 0

    def send(self, node, data):
        self.peers[node].sendto(data, ("127.0.0.1", self.hub_ports[node]))
        self.sent_total += 1

    def settle(self):
        """Waits until the hub has taken in every frame sent so far."""
        deadline = time.monotonic() + 10
        while self.stats()["hub"]["frames"] < self.sent_total:
            check(time.monotonic() < deadline, "the hub did not take in every frame")
            time.sleep(0.005)

    def send_many(self, node, frames, chunk=64):
        for i in range(0, len(frames), chunk):
            for data in frames[i:i + chunk]:
                self.send(node, data)
            self.settle()

    def receive(self, node, quiet=0.15, limit=10.0):
        """Every frame node's socket gets until nothing came for `quiet` seconds."""
        s = self.peers[node]
        frames = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            ready, _, _ = select.select([s], [], [], quiet)
            if not ready:
                break
            data, sender = s.recvfrom(65536)
            check(sender == ("127.0.0.1", self.hub_ports[node]),
                  "node %d got a frame from %s, not its hub port" % (node, sender))
            frames.append(data)
        return frames

    def receive_one(self, node, timeout):
        ready, _, _ = select.select([self.peers[node]], [], [], timeout)
        check(ready, "node %d got no frame within %.1f s" % (node, timeout))
        return self.peers[node].recvfrom(65536)[0]

    def close(self):
        """Ends the hub with `shutdown`; fails on a non-zero status or a sanitizer report."""
        try:
            if self.proc.poll() is None:
                try:
                    self.ok("shutdown")
                    self.proc.wait(timeout=5)
                except (OSError, Failure, subprocess.TimeoutExpired):
                    pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for s in self.peers.values():
                s.close()
            log = self.log_text()
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)
        check("Sanitizer" not in log and "runtime error" not in log,
              "the hub's log has a sanitizer report:\n" + log)
        check(self.proc.returncode == 0, "the hub exited with status %d:\n%s"
              % (self.proc.returncode, log))


def learn(hub, *nodes):
    """Each node sends one broadcast so the hub learns its MAC; the copies are drained."""
    for node in nodes:
        hub.send(node, frame(mac(node), BROADCAST, 0))
    hub.settle()
    for node in hub.peers:
        hub.receive(node, quiet=0.05)
    hub.reset()


# --- cases ---------------------------------------------------------------------------------

def case_forwarding(path):
    hub = Hub(path, 3)
    try:
        hub.send(1, frame(mac(1), BROADCAST, 1))
        check([seq_of(f) for f in hub.receive(2)] == [1], "broadcast reaches node 2")
        check([seq_of(f) for f in hub.receive(3)] == [1], "broadcast reaches node 3")
        check(hub.receive(1, quiet=0.05) == [], "broadcast does not come back to its sender")

        hub.send(2, frame(mac(2), mac(1), 2))
        check([seq_of(f) for f in hub.receive(1)] == [2], "unicast to a learned MAC arrives")
        check(hub.receive(3, quiet=0.1) == [], "unicast to a learned MAC goes nowhere else")

        hub.send(1, frame(mac(1), mac(99), 3))
        check([seq_of(f) for f in hub.receive(2)] == [3], "unknown unicast is flooded (2)")
        check([seq_of(f) for f in hub.receive(3)] == [3], "unknown unicast is flooded (3)")

        hub.send(3, frame(mac(3), mac(2), 4))
        check([seq_of(f) for f in hub.receive(2)] == [4], "unicast 3 to 2 arrives")
        check(hub.receive(1, quiet=0.1) == [], "unicast 3 to 2 does not reach 1")

        hub.send(2, frame(mac(2), bytes.fromhex("01005e000001"), 5))
        check([seq_of(f) for f in hub.receive(1)] == [5], "multicast is flooded (1)")
        check([seq_of(f) for f in hub.receive(3)] == [5], "multicast is flooded (3)")

        hub.send(1, frame(mac(1), mac(1), 6))
        hub.settle()
        check(all(hub.receive(n, quiet=0.1) == [] for n in (1, 2, 3)),
              "a frame for a MAC behind its own port is not forwarded")

        # A MAC that shows up behind another port moves there (a node restarted elsewhere).
        hub.send(3, frame(mac(1), BROADCAST, 7))
        hub.receive(1)
        hub.receive(2)
        hub.send(2, frame(mac(2), mac(1), 8))
        check([seq_of(f) for f in hub.receive(3)] == [8], "a moved MAC is followed")
        check(hub.receive(1, quiet=0.1) == [], "the old port of a moved MAC gets nothing")
        hub.send(1, frame(mac(1), BROADCAST, 9))  # and back to node 1
        hub.receive(2)
        hub.receive(3)

        # The payload arrives byte for byte, large frames too.
        big = frame(mac(1), mac(2), 10, size=1514)
        big = big[:18] + bytes(range(256)) * 5 + big[18 + 1280:]
        hub.send(1, big)
        check(hub.receive(2) == [big], "a 1514-byte frame arrives unchanged")

        # A node whose QEMU is gone loses its frames; when it binds its port again, it gets
        # them again (restarted nodes rejoin).
        port = hub.peers[2].getsockname()[1]
        hub.peers[2].close()
        hub.send(1, frame(mac(1), mac(2), 11))
        hub.settle()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", port))
        hub.peers[2] = s
        hub.send(1, frame(mac(1), mac(2), 12))
        check([seq_of(f) for f in hub.receive(2)] == [12], "a node that came back gets frames")

        st = hub.stats()
        check(st[1]["rx_frames"] == 7 and st[2]["rx_frames"] == 3 and st[3]["rx_frames"] == 2,
              "rx counters per port: %s" % st)
        check(st[1]["flooded"] == 3 and st[2]["flooded"] == 1 and st[3]["flooded"] == 1,
              "flood counters: %s" % st)
        check(st[(1, 2)]["forwarded"] == 6, "link 1>2 counts its frames: %s" % st[(1, 2)])
        check(st["latency"]["frames"] == hub.sent_total, "every frame has a latency sample")
    finally:
        hub.close()


def case_bad_frames(path):
    hub = Hub(path, 2)
    try:
        learn(hub, 1, 2)
        hub.send(1, b"")
        hub.send(1, b"\x02\x00\x00")
        hub.send(1, frame(mac(1), mac(2), 1)[:13])
        hub.send(1, frame(mac(1), mac(2), 2, size=9300))
        hub.send(1, frame(bytes.fromhex("0300000000aa"), mac(2), 3))
        hub.settle()
        foreign = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        foreign.bind(("127.0.0.1", 0))
        foreign.sendto(frame(mac(7), BROADCAST, 4), ("127.0.0.1", hub.hub_ports[1]))
        foreign.close()
        hub.sent_total += 1
        hub.settle()
        check(hub.receive(2, quiet=0.2) == [], "no bad frame is forwarded")
        jumbo = frame(mac(1), mac(2), 5, size=9216)
        hub.send(1, jumbo)
        check(hub.receive(2) == [jumbo], "a 9216-byte jumbo frame is forwarded")
        hub.send(1, frame(mac(1), mac(2), 6))
        check([seq_of(f) for f in hub.receive(2)] == [6], "the hub serves after bad frames")
        port = hub.stats()[1]
        check(port["runt"] == 3 and port["oversized"] == 1 and port["bad_source"] == 1 and
              port["foreign"] == 1, "bad frames are counted: %s" % port)
    finally:
        hub.close()


def seqs_through_drop(path, seed):
    hub = Hub(path, 3, seed=seed)
    try:
        learn(hub, 1, 2, 3)
        hub.ok("drop 0.3 from 1 to 2")
        hub.send_many(1, [frame(mac(1), mac(2), i) for i in range(2000)])
        got = [seq_of(f) for f in hub.receive(2)]
        link = hub.link(1, 2)
        check(link["forwarded"] + link["dropped"] == 2000,
              "every frame is forwarded or dropped: %s" % link)
        check(len(got) == link["forwarded"], "node 2 got what the hub forwarded")
        low, high = binomial_bounds(2000, 0.3)
        check(low <= link["dropped"] <= high,
              "dropped %d of 2000 at rate 0.3 (bounds %.0f..%.0f)" % (link["dropped"], low, high))
        check(got == sorted(got), "drops keep the order")
        # Other links and the other direction are untouched.
        hub.send_many(2, [frame(mac(2), mac(1), i) for i in range(200)])
        hub.send_many(1, [frame(mac(1), mac(3), i) for i in range(200)])
        check(len(hub.receive(1)) == 200, "2 to 1 loses nothing")
        check(len(hub.receive(3)) == 200, "1 to 3 loses nothing")
        hub.ok("drop 1 link 1 3")
        hub.send_many(1, [frame(mac(1), mac(3), i) for i in range(50)])
        check(hub.receive(3, quiet=0.1) == [], "rate 1 drops everything")
        hub.ok("drop 0%")
        hub.send_many(1, [frame(mac(1), mac(3), i) for i in range(50)])
        check(len(hub.receive(3)) == 50, "rate 0% on all links drops nothing")
        check(hub.ok("seed").split() == ["seed", str(seed)], "seed reports the seed")
        return got
    finally:
        hub.close()


def case_drop(path):
    first = seqs_through_drop(path, 42)
    again = seqs_through_drop(path, 42)
    other = seqs_through_drop(path, 43)
    check(first == again, "the same seed and traffic drop the same frames")
    check(first != other, "another seed drops other frames")


def case_duplicate(path):
    hub = Hub(path, 2, seed=7)
    try:
        learn(hub, 1, 2)
        hub.ok("dup 25% from 1 to 2")
        hub.send_many(1, [frame(mac(1), mac(2), i) for i in range(1000)])
        got = [seq_of(f) for f in hub.receive(2)]
        link = hub.link(1, 2)
        low, high = binomial_bounds(1000, 0.25)
        check(low <= link["duplicated"] <= high,
              "duplicated %d of 1000 at 0.25 (bounds %.0f..%.0f)" % (link["duplicated"], low,
                                                                     high))
        check(len(got) == 1000 + link["duplicated"] == link["forwarded"],
              "received %d = 1000 + duplicated %d" % (len(got), link["duplicated"]))
        counts = {}
        for s in got:
            counts[s] = counts.get(s, 0) + 1
        check(sorted(counts) == list(range(1000)), "every frame arrives")
        check(sum(1 for c in counts.values() if c == 2) == link["duplicated"] and
              max(counts.values()) == 2, "a duplicated frame arrives exactly twice")
    finally:
        hub.close()


def case_delay(path):
    hub = Hub(path, 3, seed=3)
    try:
        learn(hub, 1, 2, 3)
        hub.ok("delay 1 300 from 1 to 2")
        start = time.monotonic()
        hub.send(1, frame(mac(1), mac(2), 1))
        hub.send(1, frame(mac(1), mac(3), 2))
        hub.receive_one(3, 5)
        undelayed = time.monotonic() - start
        hub.receive_one(2, 5)
        delayed = time.monotonic() - start
        check(delayed >= 0.29, "a 300 ms delay held the frame %.3f s" % delayed)
        check(undelayed < 0.29, "the undelayed link took %.3f s" % undelayed)

        hub.ok("delay 0.5 100 link 1 2")
        hub.send_many(1, [frame(mac(1), mac(2), i) for i in range(200)])
        got = [seq_of(f) for f in hub.receive(2, quiet=0.4)]
        link = hub.link(1, 2)
        check(sorted(got) == list(range(200)), "delayed frames all arrive, once each")
        low, high = binomial_bounds(200, 0.5)
        check(low <= link["delayed"] - 1 <= high, "delayed count %d" % link["delayed"])
        hub.reset()
        check(got != sorted(got), "frames that are not delayed overtake delayed ones")

        # More held frames than the pool holds: the rest are dropped and counted.
        hub.ok("clear")
        hub.ok("delay 1 2000 from 1 to 3")
        hub.send_many(1, [frame(mac(1), mac(3), i) for i in range(4200)], chunk=256)
        link = hub.link(1, 3)
        check(link["queue_full"] == 4200 - 4096 and link["delayed"] == 4096,
              "a full pool drops and counts: %s" % link)
        check(len(hub.receive(3, quiet=2.5)) == 4096, "every held frame is sent in time")
    finally:
        hub.close()


def case_reorder(path):
    hub = Hub(path, 2, seed=5)
    try:
        learn(hub, 1, 2)
        hub.ok("reorder 1 1000 from 1 to 2")
        for i in range(1, 7):
            hub.send(1, frame(mac(1), mac(2), i))
            hub.settle()
        got = [seq_of(f) for f in hub.receive(2, quiet=0.2)]
        check(got == [2, 1, 4, 3, 6, 5], "each held frame follows the next one: %s" % got)
        start = time.monotonic()
        hub.send(1, frame(mac(1), mac(2), 7))
        hub.receive_one(2, 5)
        waited = time.monotonic() - start
        check(waited >= 0.95, "a lone held frame waits its window (%.3f s)" % waited)

        hub.reset()
        hub.ok("reorder 0.3 1000 link 1 2")
        hub.send_many(1, [frame(mac(1), mac(2), i) for i in range(500)], chunk=1)
        got = [seq_of(f) for f in hub.receive(2, quiet=1.2)]
        link = hub.link(1, 2)
        check(sorted(got) == list(range(500)), "reordered frames all arrive once")
        inversions = sum(1 for a, b in zip(got, got[1:]) if a > b)
        check(inversions in (link["reordered"], link["reordered"] - 1),
              "%d swaps for %d reordered frames" % (inversions, link["reordered"]))
        # A frame can be held only when none is, so the rate is 0.3 of the frames not
        # released as a swap partner: about 0.3 / 1.3 of all frames.
        low, high = binomial_bounds(500, 0.3 / 1.3)
        check(low <= link["reordered"] <= high, "reordered %d of 500" % link["reordered"])
    finally:
        hub.close()


def case_partition(path):
    hub = Hub(path, 4)
    try:
        learn(hub, 1, 2, 3, 4)

        def reaches(a, b):
            hub.send(a, frame(mac(a), mac(b), 100 * a + b))
            return [seq_of(f) for f in hub.receive(b, quiet=0.1)] == [100 * a + b]

        hub.ok("partition 1 2")
        check(reaches(1, 2) and reaches(2, 1) and reaches(3, 4) and reaches(4, 3),
              "nodes on the same side reach each other")
        check(not reaches(1, 3) and not reaches(3, 1) and not reaches(2, 4),
              "nodes on different sides do not")
        hub.send(1, frame(mac(1), BROADCAST, 5))
        check(len(hub.receive(2)) == 1 and hub.receive(3, quiet=0.1) == [] and
              hub.receive(4, quiet=0.1) == [], "a broadcast stays on its side")
        check(hub.link(1, 3)["cut"] == 2, "cut frames are counted")
        check("partition node 1 group=" in hub.ok("faults"), "faults lists the partition")
        hub.ok("heal")
        check(reaches(1, 3) and reaches(4, 2), "heal joins the sides")
        hub.ok("partition 1")
        hub.ok("partition 2")
        check(not reaches(1, 2) and not reaches(2, 3) and not reaches(1, 4) and reaches(3, 4),
              "two partitions make three groups")
        hub.ok("heal")
        check(reaches(1, 2) and reaches(2, 3), "heal ends every partition")
    finally:
        hub.close()


BAD_COMMANDS = [
    "", "   ", "bogus", "drop", "drop abc", "drop 1.5", "drop -0.1", "drop nan", "drop inf",
    "drop 50", "drop 0.1 node", "drop 0.1 node 9", "drop 0.1 node 0", "drop 0.1 node x",
    "drop 0.1 node -1", "drop 0.1 link 1 1", "drop 0.1 from 1 2", "drop 0.1 link 1",
    "drop 0.1 link 1 2 3", "drop 0.1 everywhere", "drop 0.1%%", "drop 5%x", "dup", "dup 2",
    "delay 0.5", "delay 0.5 abc", "delay 0.5 70000", "delay 0.5 -1", "delay x 10",
    "reorder 0.5 99999999999", "reorder", "clear node 5", "clear bogus", "partition",
    "partition 7", "partition 1 x", "heal now", "seed abc", "seed -1", "seed 1 2",
    "trace maybe", "trace", "stats now", "nodes please", "faults all", "shutdown now",
    " ".join(["drop"] * 17), "drop 0.1 from 1 to 99999999999999999999",
]


def case_control_errors(path):
    hub = Hub(path, 2)
    try:
        for line in BAD_COMMANDS:
            text = hub.error(line)
            check(len(text) > len("error: "), "%r gets a reason: %r" % (line, text))
        check(hub.ok("faults") == "", "refused commands changed nothing")
        check("too long" in hub.error("", raw=b"x" * 2000 + b"\n"), "an over-long line")
        check("not text" in hub.error("", raw=b"drop \x00 0.1\n"), "a NUL byte")
        check("not text" in hub.error("", raw=b"\x1b[A\xff\xfe\n"), "escape and high bytes")

        # Clients that vanish mid-line, and one that sends without ever reading.
        for data in (b"drop 0.5", b"\xff" * 5000, b""):
            s = hub.connect()
            s.sendall(data)
            s.close()
        greedy = hub.connect()
        greedy.setblocking(False)
        sent = 0
        try:
            deadline = time.monotonic() + 10
            while sent < 200000 and time.monotonic() < deadline:
                try:
                    sent += greedy.send(b"help\n" * 1000)
                except BlockingIOError:
                    time.sleep(0.01)
        except OSError:
            pass  # dropped by the hub: what it should do
        greedy.close()

        # At most 8 clients at once; the next is told so and the hub goes on.
        time.sleep(0.2)
        held = [hub.connect() for _ in range(8)]
        held[-1].sendall(b"seed\n")
        check(held[-1].recv(1000).endswith(b"ok\n"), "the eighth client is served")
        extra = hub.connect()
        reply = extra.recv(1000)
        check(b"too many control clients" in reply, "a ninth client is refused: %r" % reply)
        extra.close()
        for s in held:
            s.close()
        time.sleep(0.1)
        check("seed" in hub.ok("help"), "the hub serves after every bad input")
        check(hub.ok("faults") == "", "bad input changed no fault")
        hub.ok("trace on")
        learn(hub, 1, 2)
        hub.ok("trace off")
        check("frame 1>2 len=64 type=0x88b5 sent" in hub.log_text(), "trace logs frames")
    finally:
        hub.close()


def case_bench(path, bench):
    out = subprocess.run([bench, "--hub", path, "--round-trips", "2000", "--burst", "20000"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=40)
    text = out.stdout.decode(errors="replace")
    sys.stdout.write(text)
    check(out.returncode == 0, "tern-hub-bench failed")
    for name in ("hub.rt_direct_us:", "hub.rt_through_hub_us:", "hub.added_per_frame_us:",
                 "hub.burst_frames_per_s:", "hub.residence: latency frames="):
        check(name in text, "the bench prints %s" % name)


CASES = {
    "forwarding": case_forwarding,
    "bad_frames": case_bad_frames,
    "drop": case_drop,
    "duplicate": case_duplicate,
    "delay": case_delay,
    "reorder": case_reorder,
    "partition": case_partition,
    "control_errors": case_control_errors,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hub", required=True)
    p.add_argument("--bench", help="tern-hub-bench, for the bench case")
    p.add_argument("--case", required=True, choices=sorted(CASES) + ["bench", "all"])
    p.add_argument("--timeout", type=float, default=50)
    args = p.parse_args()

    def on_alarm(number, frame_):
        raise Failure("timed out after %.0f s" % args.timeout)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(math.ceil(args.timeout)))
    names = sorted(CASES) if args.case == "all" else [args.case]
    start = time.monotonic()
    try:
        for name in names:
            if name == "bench":
                case_bench(args.hub, args.bench)
            else:
                CASES[name](args.hub)
            print("hub_test: ok %s" % name)
    except Failure as e:
        print("hub_test: FAIL %s: %s" % (name, e))
        return 1
    print("hub_test: OK (%.1f s)" % (time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Calls across nodes through the bus's proxies (docs/bus.md, "Remote ports"), on three
QEMU nodes:

- flow control: node 3 receives on bench.sink, a 4-message port, sleeping 20 ms after
  each message (`busbench sink`); node 1 sends it 400 numbered messages as fast as they
  go (`busbench flood`): every one arrives, in order and intact, and the sender waits
  while the port is full (no message is dropped on node 3);
- node 3 serves echo.rpc (`xcall serve`); node 1 looks up echo.rpc@3 (node 1's name
  server asks node 3's through the bus's root export; the answer's port right crosses
  the bus and becomes a proxy) and calls it 10,000 times, checking every answer;
- again with 5 % of frames dropped and 5 % duplicated by the hub in both directions;
- node 1 calls again, node 3 is killed mid-stream: the call in flight fails with
  NODE_DOWN (or PEER_CLOSED) within the bus's silence bound, never hangs; node 3
  restarts and node 1 sees it up again, and calls bench.echo@3 (`busbench serve`);
- memory objects: a 64 KiB one crosses in a call (the server checks its size and
  contents); a 128 KiB one fails on node 1 with TOO_BIG;
- many remote ports: node 1 asks bench.echo@3 for 200 ports of its own (200 exports on
  node 3, 200 proxies in node 1's port set) and calls each twice, every answer naming
  the port it was sent to; then signals each proxy (port_signal) and checks that each
  port on node 3 got exactly its own bits;
- a port that moves: node 1 answers calls on bench.park, then sends the port itself
  (its RECEIVE right) to a program on node 3; node 2, calling bench.park@1 all along,
  gets every answer, first from node 1, then from node 3, and its bus is redirected to
  node 3 by node 1's location hint;
- bare names: node 1 finds bench.echo, registered on node 3 only, as `bench.echo` and
  calls it; node 2 registers bench.echo too and its own lookup of the bare name still
  finds its own; node 1's lookup is then AMBIGUOUS.

    remote_test.py --iso build/os/tern.iso --hub build/tools/hub/tern-hub [--timeout 420]

Exit status 0 when every check passed.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # importing harness must leave nothing in the tree
import harness  # noqa: E402
from bus_test import incarnation_in_log  # noqa: E402
from harness import check, console, log_text, type_line, wait_for, wait_for_boot  # noqa: E402

DOWN_MS = 3000
CALLS = 10000
FLOOD = 400
SINK_MS = 20
ENDED = r"xcall: (\d+ calls checked in \d+ ms|call \d+ failed: \w+ after \d+ ms|" \
        r"call \d+: wrong answer[^\n]*|no [^\n]*|echo\.rpc@\d+: \w+)\r?\n"


def calls(c, count, limit):
    text = console(c, 1, "xcall call 3 %d" % count, ENDED, limit=limit)
    m = re.search(r"xcall: (\d+) calls checked in (\d+) ms", text)
    check(m and int(m.group(1)) == count, "node 1 made %d checked calls: %r"
          % (count, text[-600:]))
    return int(m.group(2))


def serve(c, seconds):
    console(c, 3, "xcall serve %d" % seconds, r"xcall: serving echo\.rpc", limit=30)


BUSBENCH_ENDED = r"busbench: (\d+ of \d+ calls[^\n]*|call \d+ failed[^\n]*|" \
    r"call \d+: wrong[^\n]*|[\w.@]+: \w+)\r?\n"


def flow_control(c):
    """A slow receiver on node 3, a fast sender on node 1: nothing lost, all in order."""
    mark3 = len(log_text(c, 3))
    console(c, 3, "busbench sink %d %d" % (FLOOD, SINK_MS), r"busbench: sink receiving", limit=30)
    text = console(c, 1, "busbench flood 3 %d" % FLOOD,
                   r"busbench: (flood sent[^\n]*|flood: [^\n]*|bench\.sink@3: \w+)\r?\n",
                   limit=120)
    m = re.search(r"flood sent (\d+) messages in (\d+) ms \(longest wait (\d+) ms\)", text)
    check(m and int(m.group(1)) == FLOOD, "node 1 sent %d messages: %r" % (FLOOD, text[-400:]))
    done = wait_for("node 3's sink to finish",
                    lambda: re.search(r"busbench: sink(?: got|:)[^\n]*", log_text(c, 3)[mark3:]),
                    time.monotonic() + 120, step=0.2)
    check(re.match(r"busbench: sink got %d of %d messages in order" % (FLOOD, FLOOD),
                   done.group(0)), "node 3 received all in order: %s" % done.group(0))
    check("dropped" not in log_text(c, 3)[mark3:], "node 3 dropped nothing: %r"
          % log_text(c, 3)[mark3:][-600:])
    # The sender ran ahead by at most its window, the proxy's queue and the port's: the
    # rest of the time it waited for the slow receiver.
    at_least = (FLOOD - 16 - 64 - 4) * SINK_MS
    check(int(m.group(2)) >= at_least * 0.9, "the sender waited for the receiver: %s ms, "
          "expected at least %d" % (m.group(2), at_least))
    print("remote_test: flow control: %d messages to a slow receiver on node 3 arrived in "
          "order; the sender took %s ms (longest wait %s ms)"
          % (FLOOD, m.group(2), m.group(3)))


def memory_objects(c):
    """A 64 KiB memory object crosses in a call; a 128 KiB one fails on the sender."""
    ended = r"busbench: (memory of \d+ bytes[^\n]*|[\w.@]+: \w+)\r?\n"
    text = console(c, 1, "busbench mem 3 65536", ended, limit=60)
    check("busbench: memory of 65536 bytes to bench.echo@3: checked" in text,
          "a 64 KiB memory object crossed with its contents: %r" % text[-400:])
    text = console(c, 1, "busbench mem 3 131072", ended, limit=60)
    check("busbench: memory of 131072 bytes to bench.echo@3: TOO_BIG" in text,
          "a 128 KiB memory object fails with TOO_BIG: %r" % text[-400:])
    check("bus: a memory object cannot go to another node: TOO_BIG" in log_text(c, 1),
          "node 1 logged why")
    print("remote_test: memory objects: 64 KiB crossed with its contents; 128 KiB failed "
          "on node 1 with TOO_BIG")


PORTS = 200


def many_ports(c):
    """PORTS distinct ports of node 3, each a proxy on node 1, each reached by its calls."""
    ended = r"busbench: (\d+ ports of [^\n]*signal bits|port \d+ [^\n]*|call to port [^\n]*|" \
            r"signal to port [^\n]*|[\w.@]+: \w+)\r?\n"
    text = console(c, 1, "busbench ports 3 %d" % PORTS, ended, limit=90)
    m = re.search(r"busbench: %d ports of bench\.echo@3: (\d+) calls each reached its own "
                  r"port in (\d+) ms" % PORTS, text)
    check(m and int(m.group(1)) == 2 * PORTS,
          "%d proxies on node 1, each calling its own port on node 3: %r" % (PORTS, text[-400:]))
    check("busbench: %d ports of bench.echo@3: each got exactly its signal bits" % PORTS in text,
          "port_signal on each proxy reached its port on node 3: %r" % text[-400:])
    print("remote_test: many ports: %d proxies on node 1, %s calls each reached its own port "
          "on node 3 in %s ms; a signal to each proxy reached its port" % (PORTS, m.group(1),
                                                                           m.group(2)))


PARK_CALLS = 50
WHERE_CALLS = 300


def moving_port(c):
    """bench.park moves from node 1 to node 3 while node 2 calls it."""
    console(c, 3, "busbench adopt 600 &", r"busbench: adopt waiting", limit=30)
    console(c, 1, "busbench park %d 3" % PARK_CALLS, r"busbench: (parked|cannot)[^\n]*\n",
            limit=30)
    mark1 = len(log_text(c, 1))
    text = console(c, 2, "busbench where 1 %d 5" % WHERE_CALLS,
                   r"busbench: (where: [^\n]*|[\w.@]+: \w+)\r?\n", limit=120)
    m = re.search(r"busbench: where: (\d+) calls checked \(longest (\d+) ms\): node 1 answered "
                  r"(\d+) node 3 answered (\d+)", text)
    check(m and int(m.group(3)) == PARK_CALLS and int(m.group(4)) == WHERE_CALLS - PARK_CALLS,
          "node 2's calls were answered by node 1, then by node 3: %r" % text[-400:])
    check("busbench: moved bench.park to node 3 after %d calls" % PARK_CALLS
          in log_text(c, 1)[mark1:], "node 1 sent the port away")
    counters = {}
    for node in (1, 2, 3):
        out = console(c, node, "busstat", r"unknown_targets \d+\r?\n", limit=30)
        counters[node] = {k: int(v) for k, v in re.findall(r"(\w+) (\d+)\r?\n", out)}
    check(counters[1].get("ports_moved_out", 0) >= 1 and counters[3].get("ports_moved_in", 0) >= 1,
          "node 1 counts a port moved out, node 3 one moved in: %s" % counters)
    check(counters[1].get("location_hints", 0) >= 1 and counters[2].get("redirects", 0) >= 1,
          "node 1 told node 2 where the port went, and node 2's proxy was redirected: %s"
          % counters)
    print("remote_test: a port that moves: %d calls from node 2 checked (longest %s ms), "
          "%s answered on node 1 and %s on node 3 after the move; hints %d, redirects %d"
          % (WHERE_CALLS, m.group(2), m.group(3), m.group(4), counters[1]["location_hints"],
             counters[2]["redirects"]))


def bare_names(c):
    """bench.echo on node 3 only is found from node 1 as bench.echo; on two nodes it is
    AMBIGUOUS, except on a node that has it itself."""
    text = console(c, 1, "busbench call 0 0 100", BUSBENCH_ENDED, limit=60)
    check(re.search(r"busbench: 100 of 100 calls of 0 bytes to bench\.echo,", text),
          "node 1 called bench.echo (node 3's) by its bare name: %r" % text[-400:])
    text = console(c, 2, "busbench serve 600", r"busbench: serving bench\.echo", limit=30)
    check("busbench: bench.echo looked up here: OK" in text,
          "node 2's own bench.echo wins on node 2: %r" % text[-400:])
    text = console(c, 1, "busbench call 0 0 1", BUSBENCH_ENDED, limit=60)
    check("busbench: bench.echo: AMBIGUOUS" in text,
          "bench.echo on nodes 2 and 3 is AMBIGUOUS from node 1: %r" % text[-400:])
    print("remote_test: bare names: bench.echo found on node 3 from node 1; with node 2's "
          "too, node 2 finds its own and node 1 gets AMBIGUOUS")


def run(args, c):
    start = time.monotonic()
    deadline = start + args.timeout
    c.up(3, ["virtio", "virtio", "virtio"], args.iso, args.hub, seed=1)
    lives = {}
    for node in (1, 2, 3):
        wait_for_boot(c, node, deadline)
        lives[node] = wait_for("node %d's bus" % node,
                               lambda: incarnation_in_log(c, node), deadline)
    for node, other in ((1, 3), (3, 1)):
        wait_for("node %d to see node %d up" % (node, other),
                 lambda: re.search(r"bus: node %d up" % other, log_text(c, node)), deadline)
    print("remote_test: cluster up after %.1f s" % (time.monotonic() - start))

    flow_control(c)
    serve(c, 600)
    ms = calls(c, CALLS, 180)
    print("remote_test: %d calls from node 1 to node 3 checked in %d ms (%.0f us/call)"
          % (CALLS, ms, ms * 1000.0 / CALLS))

    text = console(c, 1, "xcall call 2 1", ENDED, limit=30)
    check("xcall: echo.rpc@2: NOT_FOUND" in text,
          "a name node 2 does not have is NOT_FOUND there: %r" % text[-300:])
    print("remote_test: echo.rpc@2 is NOT_FOUND (node 2 has no such name)")

    for rule in ("drop 5% link 1 3", "dup 5% link 1 3"):
        reply = c.hub_command(rule)
        check("error" not in reply.lower(), "the hub took %r: %r" % (rule, reply))
    before = c.hub_stats()
    ms = calls(c, CALLS, 300)
    after = c.hub_stats()
    c.hub_command("clear")
    moved = {}
    for key in ("forwarded", "dropped", "duplicated"):
        moved[key] = sum(after.get(("link", a, b), {}).get(key, 0)
                         - before.get(("link", a, b), {}).get(key, 0)
                         for a, b in ((1, 3), (3, 1)))
    check(moved["dropped"] > 0 and moved["duplicated"] > 0,
          "the hub dropped and duplicated frames between nodes 1 and 3: %s" % moved)
    print("remote_test: %d calls with 5%% loss and 5%% duplication checked in %d ms (hub: "
          "%d frames forwarded, %d dropped, %d duplicated)"
          % (CALLS, ms, moved["forwarded"], moved["dropped"], moved["duplicated"]))

    # Node 3 killed while node 1 calls it: the call in flight must fail, not hang.
    mark = len(log_text(c, 1))
    type_line(c, 1, "xcall call 3 100000000")
    wait_for("node 1 to be calling", lambda: "xcall: 1000 calls ok"
             in log_text(c, 1)[mark:], deadline, step=0.1)
    killed_at = time.monotonic()
    c.kill_node(3)
    failed = wait_for("node 1's call to fail",
                      lambda: re.search(r"xcall: call \d+ failed: (\w+) after (\d+) ms",
                                        log_text(c, 1)[mark:]),
                      min(deadline, killed_at + (DOWN_MS + 750) / 1000.0 + 10), step=0.1)
    took = time.monotonic() - killed_at
    check(failed.group(1) in ("NODE_DOWN", "PEER_CLOSED"),
          "the call failed with NODE_DOWN or PEER_CLOSED: %s" % failed.group(0))
    print("remote_test: node 3 killed; node 1's call failed with %s %.1f s later (%s ms "
          "in the call)" % (failed.group(1), took, failed.group(2)))

    restarted_at = len(log_text(c, 3))
    c.restart_node(3)
    wait_for_boot(c, 3, deadline, after=restarted_at)
    new_life = wait_for("node 3's bus after the restart",
                        lambda: incarnation_in_log(c, 3, restarted_at), deadline)
    wait_for("node 1 to see node 3 back",
             lambda: "bus: node 3 up (incarnation %d" % new_life in log_text(c, 1)[mark:],
             deadline)
    console(c, 3, "busbench serve 600 &", r"busbench: serving bench\.echo", limit=30)
    text = console(c, 1, "busbench call 3 0 100", BUSBENCH_ENDED, limit=60)
    check(re.search(r"busbench: 100 of 100 calls of 0 bytes to bench\.echo@3,", text),
          "node 1 called node 3 again: %r" % text[-400:])
    print("remote_test: node 3 back (incarnation %d); 100 calls checked again" % new_life)
    memory_objects(c)
    many_ports(c)
    moving_port(c)
    bare_names(c)


if __name__ == "__main__":
    sys.exit(harness.main("remote_test", __doc__, run, nodes=(1, 2, 3), timeout=420, slack=10))

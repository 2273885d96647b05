"""What every cluster test under tests/cluster shares: checks that raise, a node's console
log, typing at a node's console, waiting for a pattern with a deadline, step timing, and
the main() that boots nothing itself but bounds the whole run, always takes the cluster
down, prints the end of every node's log on failure and removes the state directory.

A test module defines run(args, c) and ends with

    if __name__ == "__main__":
        sys.exit(harness.main("net_test", __doc__, run, nodes=(1, 2, 3), timeout=420))
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


def log_size(c, node):
    return len(log_text(c, node))


_TSC_MHZ = {}


def check_clock(node, text):
    """Every node measures the same TSC rate at boot (within 1 %): they run on one host,
    and a node whose measurement a busy host spoiled would run every clock slow."""
    m = re.search(r"timer: TSC (\d+) MHz", text)
    check(m, "node %d printed its timer line" % node)
    mhz = int(m.group(1))
    for other, other_mhz in _TSC_MHZ.items():
        check(abs(mhz - other_mhz) * 100 <= other_mhz,
              "node %d measured its TSC at %d MHz, node %d at %d MHz" % (node, mhz, other,
                                                                      other_mhz))
    _TSC_MHZ[node] = mhz


def wait_for_boot(c, node, deadline, after=0):
    """Waits until node's log, from offset `after`, shows its banner and a prompt."""
    banner = re.compile(r"Tern \u2014 node %d\r?$" % node, re.MULTILINE)
    while True:
        text = log_text(c, node)[after:]
        m = banner.search(text)
        if m and PROMPT.search(text, m.end()):
            check_clock(node, text[m.end():])
            return
        check(c.node_alive(node), "node %d's QEMU ended while booting:\n%s"
              % (node, text[-2000:]))
        check(time.monotonic() < deadline,
              "node %d did not reach its prompt in time; its log ends:\n%s"
              % (node, text[-2000:]))
        time.sleep(0.2)


def wait_until(condition, what, limit=10.0):
    deadline = time.monotonic() + limit
    while not condition():
        check(time.monotonic() < deadline, "timed out waiting for " + what)
        time.sleep(0.05)


def wait_log(c, node, pattern, after, limit, what):
    """Waits for a regex in node's log past offset `after`; returns the match."""
    deadline = time.monotonic() + limit
    compiled = re.compile(pattern)
    while True:
        text = log_text(c, node)
        m = compiled.search(text, after)
        if m:
            return m
        check(c.node_alive(node), "node %d's QEMU ended" % node)
        check(time.monotonic() < deadline, "node %d: no %s within %.0f s; its log ends:\n%s"
              % (node, what, limit, text[-2500:]))
        time.sleep(0.1)


def _type(s, command):
    # Bytes are typed a few milliseconds apart, as a UART would deliver them.
    for byte in command.encode() + b"\r":
        s.sendall(bytes([byte]))
        time.sleep(0.004)


def _echoed(output, command):
    """Whether the console echoed every character of command, then a line end; other
    output may come in between (the shell echoes as it reads)."""
    at = 0
    for ch in command:
        at = output.find(ch, at)
        if at < 0:
            return False
        at += 1
    return "\n" in output[at:]


def type_line(c, node, command, limit=10.0):
    """Types a command at a node's console and waits for its echo, not for its answer.

    The socket stays open until the line is echoed: QEMU drops what it has not read yet
    from a console socket whose client hung up, and a loaded guest reads slowly."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.2)
    s.connect(c.node_path(node, "console"))
    try:
        _type(s, command)
        output = ""
        deadline = time.monotonic() + limit
        while not _echoed(output, command):
            check(time.monotonic() < deadline, "node %d did not echo %r; it printed %r"
                  % (node, command, output[-500:]))
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                continue
            check(chunk, "node %d closed its console" % node)
            output += chunk.decode("utf-8", "replace")
    finally:
        s.close()


def console(c, node, command, done, limit=30.0):
    """Types command at node's console socket; returns what it printed up to the regex
    `done`."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.2)
    s.connect(c.node_path(node, "console"))
    try:
        _type(s, command)
        output = b""
        deadline = time.monotonic() + limit
        while True:
            text = output.decode("utf-8", "replace")
            m = re.search(done, text)
            if m:
                return text[:m.end()]
            check(time.monotonic() < deadline, "node %d did not answer %r; it printed %r"
                  % (node, command, text[-800:]))
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                continue
            check(chunk, "node %d closed its console" % node)
            output += chunk
    finally:
        s.close()


def console_command(c, node, command, expect, limit=20.0):
    """Types a command at a node's console socket and waits for the text `expect`."""
    return console(c, node, command, re.escape(expect), limit)


def wait_for(what, condition, deadline, step=0.5):
    """Polls condition() until it returns a true value (returned) or the deadline."""
    while True:
        value = condition()
        if value:
            return value
        check(time.monotonic() < deadline, "timed out waiting for " + what)
        time.sleep(step)


class Steps:
    """Prints each step's time and the time since the start, prefixed by the test's name."""

    def __init__(self, name):
        self.name = name
        self.start = time.monotonic()
        self.last = self.start

    def done(self, what):
        now = time.monotonic()
        print("%s: %-44s %5.1f s (at %5.1f s)" % (self.name, what, now - self.last,
                                                 now - self.start))
        self.last = now


def main(name, doc, run, nodes, timeout, add_arguments=None, tail=2500, slack=10):
    """Parses --iso, --hub, --timeout and --keep (and what add_arguments adds), runs
    run(args, c) on a cluster in a fresh state directory under an alarm of the timeout
    plus `slack` seconds, and returns the exit status."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--iso", required=True)
    p.add_argument("--hub", required=True)
    p.add_argument("--timeout", type=float, default=timeout)
    p.add_argument("--keep", action="store_true", help="keep the state directory")
    if add_arguments:
        add_arguments(p)
    args = p.parse_args()
    state = tempfile.mkdtemp(prefix="tern-%s-" % name.replace("_test", ""))
    c = cluster.Cluster(state)

    def on_alarm(number, frame):
        raise Failure("timed out after %.0f s" % args.timeout)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.timeout) + slack)
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
            for node in nodes:
                path = c.node_path(node, "log")
                if os.path.exists(path):
                    print("--- node %d log (end) ---" % node)
                    print(log_text(c, node)[-tail:])
        if args.keep:
            print("%s: state kept in %s" % (name, state))
        else:
            shutil.rmtree(state, ignore_errors=True)
    if error:
        print("%s: FAIL: %s" % (name, error))
        return 1
    print("%s: OK" % name)
    return 0

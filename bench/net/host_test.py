#!/usr/bin/env python3
"""The network benchmark's programs on the host over 127.0.0.1: a udpecho server and
client (100 round trips, every echo checked), a tcpbench server and client (3 transfers
of 1 MiB, each checksum checked by the client), and the refusals of bad arguments (exit
status 2). Each server runs on a free port. Exit status 0 when every check passed.

    host_test.py --tcpbench PATH --udpecho PATH [--timeout 50]
"""
import argparse
import re
import socket
import subprocess
import sys
import time


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pair(server_argv, serving, client_argv, timeout):
    """Runs a server until it prints `serving`, then the client; returns both outputs."""
    server = subprocess.Popen(server_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        first = server.stdout.readline()
        if not re.search(serving, first):
            raise AssertionError("server said %r" % first)
        client = subprocess.run(client_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=timeout)
        rest, _ = server.communicate(timeout=timeout)
        return client, first + rest, server.returncode
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tcpbench", required=True)
    p.add_argument("--udpecho", required=True)
    p.add_argument("--timeout", type=float, default=50)
    args = p.parse_args()
    start = time.monotonic()
    failures = 0

    def check(ok, what, detail=""):
        nonlocal failures
        print("host_test: %s %s%s" % ("ok" if ok else "FAILED", what,
                                      "" if ok else ": " + detail))
        failures += not ok

    port = free_port(socket.SOCK_DGRAM)
    client, server, status = pair(
        [args.udpecho, "serve", str(port), "100"], r"^udpecho: serving UDP port %d" % port,
        [args.udpecho, "127.0.0.1", str(port), "100"], args.timeout)
    check(client.returncode == 0 and re.search(
        r"udpecho: 100 of 100 echoed by 127\.0\.0\.1:%d, median [0-9]+\.[0-9]{3} us" % port,
        client.stdout), "udpecho: 100 round trips", client.stdout)
    check(status == 0 and "udpecho: echoed 100 datagrams" in server, "udpecho serves 100",
          server)

    port = free_port(socket.SOCK_STREAM)
    size = 1024 * 1024 + 5  # not a multiple of the checksum's 8-byte word
    client, server, status = pair(
        [args.tcpbench, "serve", str(port), str(size), "3"], r"^tcpbench: serving TCP port",
        [args.tcpbench, "127.0.0.1", str(port), str(size), "3"], args.timeout)
    check(client.returncode == 0 and len(re.findall(r"checksum ok", client.stdout)) == 3
          and re.search(r"tcpbench: 3 of 3 transfers, median [0-9.]+ MiB/s", client.stdout),
          "tcpbench: 3 transfers of %d bytes" % size, client.stdout)
    sums = re.findall(r"received %d bytes in \d+ us, checksum ([0-9a-f]{16})" % size, server)
    check(status == 0 and len(sums) == 3 and len(set(sums)) == 1, "tcpbench serves 3", server)

    for argv in ([args.udpecho], [args.udpecho, "serve", "0", "1"],
                 [args.udpecho, "10.0.0.300", "7", "1"], [args.tcpbench, "serve", "1", "x", "1"],
                 [args.tcpbench, "127.0.0.1", "7", "1", "0"]):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=args.timeout)
        check(r.returncode == 2 and "usage:" in r.stdout, "refuses %s" % " ".join(argv[1:]),
              "status %d: %s" % (r.returncode, r.stdout))

    # A client whose server is not there fails instead of hanging.
    r = subprocess.run([args.tcpbench, "127.0.0.1", str(free_port(socket.SOCK_STREAM)), "8",
                        "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=args.timeout)
    check(r.returncode == 1 and "connect" in r.stdout, "tcpbench without a server fails",
          r.stdout)
    print("host_test: %d failures, %.1f s" % (failures, time.monotonic() - start))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

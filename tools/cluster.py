#!/usr/bin/env python3
"""Run a Tern cluster under QEMU on this machine, attach to its consoles, and break it.

    cluster.py run [--nodes N] [--nic MODEL[,MODEL...]] [--seed S] [-- QEMU ARGS]
    cluster.py up ... | down | status | console N
    cluster.py stop N | cont N | kill N | restart N | link N up|down | announce N
    cluster.py drop|dup|delay|reorder|clear|partition|heal|stats|faults|seed|trace|nodes ...

Every node boots the same ISO with its own FAT config disk (/tern/node.cfg, sourced by
GRUB; see qemu_run.make_config_disk) and one NIC: a QEMU `-netdev dgram` UDP socket on
127.0.0.1 whose far end is that node's port on tern-hub (tools/hub), the cluster's
Ethernet and the place where frames are dropped, duplicated, delayed, reordered and
partitioned. Node control (pause, kill, restart, link flaps) goes through each QEMU's QMP
socket or, for kill, a signal to the QEMU process this cluster started.

All state lives in one directory (default: <build>/cluster): cluster.json (pids, ports,
command lines), hub.sock (the hub's control socket), hub.log, and per node nodeN.log (the
serial console), nodeN.console (the console socket), nodeN.qmp, nodeN.img and
nodeN.qemu.log (QEMU's own messages). docs/cluster.md is the user's guide.

Processes are ended only by the pids recorded here, and only after /proc confirms the pid
still runs the command this cluster started.
"""
import argparse
import json
import os
import random
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import termios
import time
import tty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu_run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NIC_DEVICES = {"virtio": "virtio-net-pci", "e1000": "e1000"}
MAX_NODES = 64
HUB_COMMANDS = ("drop", "dup", "delay", "reorder", "clear", "partition", "heal", "stats",
                "faults", "seed", "trace", "nodes")
CTRL_A = 0x01


class ClusterError(Exception):
    pass


def build_dir():
    return os.path.join(ROOT, os.environ.get("TERN_BUILD_DIR", "build"))


def default_state_dir():
    return os.environ.get("TERN_CLUSTER_DIR") or os.path.join(build_dir(), "cluster")


def node_mac(node):
    """52:54:00 (QEMU's prefix, locally administered) then 00 and the node id in 16 bits."""
    return "52:54:00:00:%02x:%02x" % (node >> 8, node & 0xFF)


def node_cmdline(node, extra="", key=None):
    """The kernel command line of a node: its id, its address on the cluster's /24 and the
    cluster's key (hex), which the bus authenticates frames with."""
    words = ["node=%d" % node, "ip=10.0.0.%d/24" % node]
    if key:
        words.append("cluster_key=%s" % key)
    if extra:
        words.append(extra)
    return " ".join(words)


def free_udp_port():
    """A UDP port on 127.0.0.1 that is free now, for a QEMU to bind a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_runs(pid, marker):
    """True when pid is a live (not zombie) process whose command line holds marker."""
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read().decode("utf-8", "replace")
    except (OSError, IndexError):
        return False
    return state != "Z" and marker in cmdline


def end_process(pid, marker, timeout=5.0):
    """SIGTERM, then SIGKILL, a process this cluster started; waits until it is gone."""
    if not process_runs(pid, marker):
        reap(pid)
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            reap(pid)
            if not process_runs(pid, marker):
                return
            time.sleep(0.02)
    if process_runs(pid, marker):
        raise ClusterError("process %d did not end" % pid)


def reap(pid):
    """Collects the exit status of a child of this process so it leaves no zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def unix_connect(path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


class Qmp:
    """A QMP session on a node's monitor socket: one command, its answer, events skipped."""

    def __init__(self, path, timeout=5.0):
        self.sock = unix_connect(path, timeout)
        self.buffer = b""
        self.receive()  # the greeting
        self.execute("qmp_capabilities")

    def receive(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ClusterError("QMP connection closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            reply = self.receive()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise ClusterError("QMP %s: %s" % (command, reply["error"].get("desc", reply)))

    def close(self):
        self.sock.close()


class Cluster:
    def __init__(self, state_dir):
        self.dir = os.path.abspath(state_dir)
        self.state_path = os.path.join(self.dir, "cluster.json")
        self.state = None
        self.refresh()

    def refresh(self):
        """Reads the state again: another `tern cluster` command may have restarted a node."""
        if os.path.exists(self.state_path):
            with open(self.state_path) as f:
                self.state = json.load(f)

    # --- paths and state ---------------------------------------------------------------

    def path(self, name):
        return os.path.join(self.dir, name)

    def node_path(self, node, suffix):
        return self.path("node%d.%s" % (node, suffix))

    def save(self):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, self.state_path)

    def require_state(self):
        if not self.state:
            raise ClusterError("no cluster in %s (start one with ./tern run --nodes N)" % self.dir)

    def node(self, node):
        self.require_state()
        entry = self.state["nodes"].get(str(node))
        if entry is None:
            raise ClusterError("no node %s in this cluster (nodes 1..%d)"
                               % (node, len(self.state["nodes"])))
        return entry

    def hub_alive(self):
        return bool(self.state) and process_runs(self.state["hub"]["pid"],
                                                 self.state["hub"]["control"])

    def node_alive(self, node):
        entry = self.node(node)
        return process_runs(entry["pid"], self.node_path(node, "qmp"))

    def any_alive(self):
        if not self.state:
            return False
        return self.hub_alive() or any(self.node_alive(int(n)) for n in self.state["nodes"])

    # --- starting --------------------------------------------------------------------

    def up(self, nodes, nics, iso, hub, **options):
        """Starts the hub and `nodes` QEMUs, detached; on any failure ends what it started."""
        if not 1 <= nodes <= MAX_NODES:
            raise ClusterError("--nodes must be 1..%d" % MAX_NODES)
        if len(nics) == 1:
            nics = nics * nodes
        if len(nics) != nodes:
            raise ClusterError("--nic names one model, or one per node (%d)" % nodes)
        for nic in nics:
            if nic not in NIC_DEVICES:
                raise ClusterError("unknown NIC model %r (choose from %s)"
                                   % (nic, ", ".join(NIC_DEVICES)))
        if not os.path.exists(iso):
            raise ClusterError("image %s does not exist; build first (./tern build)" % iso)
        if not os.access(hub, os.X_OK):
            raise ClusterError("hub %s is not built; build first (./tern build)" % hub)
        if self.any_alive():
            raise ClusterError("a cluster is already running in %s (./tern cluster down first)"
                               % self.dir)
        try:
            self.start_all(nodes, nics, iso, hub, **options)
        except BaseException:
            self.down()
            raise

    def start_all(self, nodes, nics, iso, hub, seed=None, cmdline="", memory="256M",
                  kvm=False, qemu_args=(), qemu="qemu-system-x86_64", hub_timeout=10.0):
        os.makedirs(self.dir, exist_ok=True)
        longest = self.node_path(nodes, "console")
        if len(longest) > 107:
            raise ClusterError("state directory path too long for UNIX sockets: %s" % self.dir)
        for name in os.listdir(self.dir):
            if name.startswith(("node", "hub")):
                os.unlink(self.path(name))
        if seed is None:
            seed = random.SystemRandom().getrandbits(63)
        # One fresh key per cluster unless the caller gives one: frames from another
        # cluster, or forged at the hub, fail the bus's MAC.
        key = None if "cluster_key=" in cmdline else secrets.token_hex(32)
        ports = {}
        for node in range(1, nodes + 1):
            port = free_udp_port()
            while port in ports.values():
                port = free_udp_port()
            ports[node] = port
        self.state = {"iso": os.path.abspath(iso), "hub": {}, "nodes": {}, "seed": seed,
                      "memory": memory, "kvm": kvm, "qemu": qemu, "qemu_args": list(qemu_args)}
        control = self.path("hub.sock")
        argv = [os.path.abspath(hub), "--control", control, "--seed", str(seed)]
        for node in range(1, nodes + 1):
            argv += ["--node", "%d:0:%d" % (node, ports[node])]
        with open(self.path("hub.log"), "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.state["hub"] = {"pid": proc.pid, "control": control, "argv": argv}
        self.save()
        listing = self.wait_for_hub(hub_timeout, proc)
        hub_ports = {}
        for line in listing.splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == "node":
                hub_ports[int(words[1])] = int(words[2].split("=")[1])
        for node in range(1, nodes + 1):
            if node not in hub_ports:
                raise ClusterError("the hub did not report a port for node %d" % node)
            self.state["nodes"][str(node)] = {
                "pid": 0, "nic": nics[node - 1], "mac": node_mac(node),
                "cmdline": node_cmdline(node, cmdline, key), "qemu_port": ports[node],
                "hub_port": hub_ports[node], "starts": 0}
            qemu_run.make_config_disk(self.node_path(node, "img"),
                                      self.state["nodes"][str(node)]["cmdline"])
        self.save()
        for node in range(1, nodes + 1):
            self.start_node(node)

    def wait_for_hub(self, timeout, proc):
        # Whether the hub still runs is asked of its Popen object: until the child has
        # exec'd the hub, /proc shows the forked Python's command line, and hub_alive()
        # would call a hub that is just starting dead.
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.hub_command("nodes", timeout=1.0)
            except (OSError, ClusterError) as e:
                if proc.poll() is not None:
                    try:
                        with open(self.path("hub.log"), errors="replace") as f:
                            log = f.read()[-2000:].strip()
                    except OSError:
                        log = "(no log)"
                    raise ClusterError("the hub exited at start (status %s): %s"
                                       % (proc.returncode, log)) from e
                if time.monotonic() > deadline:
                    raise ClusterError("the hub did not answer within %.0f s" % timeout) from e
                time.sleep(0.05)

    def qemu_argv(self, node):
        entry = self.node(node)
        st = self.state
        netdev = ("dgram,id=net0,local.type=inet,local.host=127.0.0.1,local.port=%d,"
                  "remote.type=inet,remote.host=127.0.0.1,remote.port=%d"
                  % (entry["qemu_port"], entry["hub_port"]))
        argv = [st["qemu"], "-machine", "q35", "-cpu", "max", "-m", st["memory"], "-smp", "1",
                "-no-reboot", "-display", "none", "-monitor", "none",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-cdrom", st["iso"], "-boot", "order=d",
                "-drive", "file=%s,format=raw,if=ide,index=1" % self.node_path(node, "img"),
                "-chardev", "socket,id=console,path=%s,server=on,wait=off,logfile=%s,logappend=on"
                % (self.node_path(node, "console"), self.node_path(node, "log")),
                "-serial", "chardev:console",
                "-qmp", "unix:%s,server=on,wait=off" % self.node_path(node, "qmp"),
                "-netdev", netdev,
                "-device", "%s,netdev=net0,mac=%s" % (NIC_DEVICES[entry["nic"]], entry["mac"])]
        if st["kvm"]:
            argv.append("-enable-kvm")
        return argv + st["qemu_args"]

    def start_node(self, node, timeout=10.0):
        entry = self.node(node)
        if self.node_alive(node):
            raise ClusterError("node %d is running (pid %d)" % (node, entry["pid"]))
        for suffix in ("qmp", "console"):
            if os.path.exists(self.node_path(node, suffix)):
                os.unlink(self.node_path(node, suffix))
        entry["starts"] += 1
        if entry["starts"] > 1:
            with open(self.node_path(node, "log"), "a") as log:
                log.write("\n--- tern cluster: node %d started again (start %d) ---\n"
                          % (node, entry["starts"]))
        argv = self.qemu_argv(node)
        with open(self.node_path(node, "qemu.log"), "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        entry["pid"] = proc.pid
        self.save()
        # QEMU is up once its QMP socket answers; an early exit (a port taken, a bad
        # option) is reported with QEMU's own message.
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                with open(self.node_path(node, "qemu.log"), errors="replace") as f:
                    message = f.read().strip().splitlines()[-3:]
                raise ClusterError("node %d: QEMU exited with status %d: %s"
                                   % (node, proc.returncode, " / ".join(message)))
            try:
                Qmp(self.node_path(node, "qmp"), timeout=1.0).close()
                return proc.pid
            except (OSError, ClusterError, ValueError):
                if time.monotonic() > deadline:
                    raise ClusterError("node %d: QEMU did not open its monitor within %.0f s"
                                       % (node, timeout))
                time.sleep(0.05)

    # --- node control ----------------------------------------------------------------

    def qmp(self, node, command, **arguments):
        if not self.node_alive(node):
            raise ClusterError("node %d is not running" % node)
        session = Qmp(self.node_path(node, "qmp"))
        try:
            return session.execute(command, **arguments)
        finally:
            session.close()

    def kill_node(self, node):
        entry = self.node(node)
        if not self.node_alive(node):
            raise ClusterError("node %d is not running" % node)
        os.kill(entry["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while process_runs(entry["pid"], self.node_path(node, "qmp")):
            reap(entry["pid"])
            if time.monotonic() > deadline:
                raise ClusterError("node %d (pid %d) did not die" % (node, entry["pid"]))
            time.sleep(0.02)
        reap(entry["pid"])

    def restart_node(self, node):
        if self.node_alive(node):
            self.kill_node(node)
        return self.start_node(node)

    def status(self):
        self.require_state()
        lines = ["hub: %s (pid %d, seed %d, control %s)"
                 % ("running" if self.hub_alive() else "down", self.state["hub"]["pid"],
                    self.state["seed"], self.state["hub"]["control"])]
        for key in sorted(self.state["nodes"], key=int):
            node = int(key)
            entry = self.state["nodes"][key]
            state = "down"
            if self.node_alive(node):
                try:
                    state = self.qmp(node, "query-status")["status"]
                except (OSError, ClusterError) as e:
                    state = "running (monitor: %s)" % e
            lines.append("node %d: %s (pid %d) nic %s mac %s, cmdline '%s', log %s"
                         % (node, state, entry["pid"], entry["nic"], entry["mac"],
                            re.sub(r"cluster_key=\S+", "cluster_key=(secret)", entry["cmdline"]),
                            self.node_path(node, "log")))
        return "\n".join(lines)

    def down(self):
        """Ends every process of this cluster (by recorded pid) and the hub."""
        self.refresh()
        if not self.state:
            return
        for key in sorted(self.state["nodes"], key=int):
            entry = self.state["nodes"][key]
            end_process(entry["pid"], self.node_path(int(key), "qmp"))
        hub = self.state["hub"]
        if hub:
            end_process(hub["pid"], hub["control"])

    # --- the hub ---------------------------------------------------------------------

    def hub_command(self, line, timeout=5.0):
        """Sends one control line to the hub; returns its reply without the final "ok"."""
        self.require_state()
        if not self.hub_alive():
            raise ClusterError("the hub of the cluster in %s is not running" % self.dir)
        s = unix_connect(self.state["hub"]["control"], timeout)
        try:
            s.sendall(line.encode() + b"\n")
            reply = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    raise ClusterError("the hub closed the connection without an answer")
                reply += chunk
                if not reply.endswith(b"\n"):
                    continue
                text = reply.decode("utf-8", "replace")
                last = text[:-1].rsplit("\n", 1)[-1]
                if last == "ok":
                    return text[:len(text) - 3]
                if last.startswith("error: "):
                    raise ClusterError("hub: " + last[len("error: "):])
        finally:
            s.close()

    def hub_stats(self):
        """The `stats` reply as {("port", node) | ("link", from, to) | name: {key: int}}."""
        stats = {}
        for line in self.hub_command("stats").splitlines():
            words = line.split()
            values = {}
            for word in words[1:]:
                if "=" in word:
                    key, _, value = word.partition("=")
                    values[key] = int(value)
            if words[0] == "port":
                stats[("port", int(words[1]))] = values
            elif words[0] == "link":
                a, b = words[1].split(">")
                stats[("link", int(a), int(b))] = values
            else:
                stats[words[0]] = values
        return stats


# --- the console -------------------------------------------------------------------------

def attach_console(cluster, node, keys="Ctrl-A X or Ctrl-A D leaves"):
    """Joins the terminal to a node's serial console until Ctrl-A X (returns "quit") or
    Ctrl-A D (returns "detach"). If the node goes away, waits for it to come back."""
    cluster.node(node)
    path = cluster.node_path(node, "console")
    out = sys.stdout.buffer
    log = cluster.node_path(node, "log")
    if os.path.exists(log):
        with open(log, "rb") as f:
            f.seek(max(0, os.path.getsize(log) - 1500))
            out.write(f.read())
    out.write(("\r\n[tern console: node %d; %s]\r\n" % (node, keys)).encode())
    out.flush()
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    if saved:
        tty.setraw(stdin)
    sock = None
    escape = False
    waiting_said = False
    try:
        while True:
            if sock is None:
                try:
                    sock = unix_connect(path, 1.0)
                    sock.setblocking(True)
                    if waiting_said:
                        out.write(b"\r\n[tern console: node %d is back]\r\n" % node)
                        out.flush()
                        waiting_said = False
                except OSError:
                    if not waiting_said:
                        out.write(b"\r\n[tern console: node %d is not running; waiting for it"
                                  b" (Ctrl-A X leaves)]\r\n" % node)
                        out.flush()
                        waiting_said = True
            fds = [stdin] + ([sock] if sock else [])
            readable, _, _ = select.select(fds, [], [], 0.2)
            if sock in readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    sock.close()
                    sock = None
                    continue
                out.write(data)
                out.flush()
            if stdin in readable:
                data = os.read(stdin, 1024)
                if not data:
                    return "quit"
                send = bytearray()
                for byte in data:
                    if escape:
                        escape = False
                        if byte in (ord("x"), ord("X")):
                            return "quit"
                        if byte in (ord("d"), ord("D")):
                            return "detach"
                        send.append(CTRL_A)
                        if byte != CTRL_A:
                            send.append(byte)
                    elif byte == CTRL_A:
                        escape = True
                    else:
                        send.append(byte)
                if send and sock:
                    try:
                        sock.sendall(bytes(send))
                    except OSError:
                        sock.close()
                        sock = None
    finally:
        if sock:
            sock.close()
        if saved:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        out.write(b"\r\n")
        out.flush()


# --- the command line -----------------------------------------------------------------

def parse_node_id(text):
    try:
        node = int(text)
    except ValueError:
        raise ClusterError("'%s' is not a node id" % text) from None
    return node


def add_up_arguments(p):
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--nic", default="virtio",
                   help="virtio or e1000, or a comma list with one model per node")
    p.add_argument("--seed", type=int, help="the hub's fault seed (default: random, printed)")
    p.add_argument("--cmdline", default="", help="extra kernel options for every node")
    p.add_argument("--memory", default="256M")
    p.add_argument("--kvm", action="store_true")
    p.add_argument("--iso", default=os.path.join(build_dir(), "os", "tern.iso"))
    p.add_argument("--hub", default=os.path.join(build_dir(), "tools", "hub", "tern-hub"))
    p.add_argument("qemu_args", nargs="*", help="extra QEMU arguments (after --)")


def cluster_up(cluster, args):
    cluster.up(args.nodes, args.nic.split(","), args.iso, args.hub, seed=args.seed,
               cmdline=args.cmdline, memory=args.memory, kvm=args.kvm,
               qemu_args=args.qemu_args)
    print("tern cluster: %d nodes up in %s; hub seed %d" % (args.nodes, cluster.dir,
                                                            cluster.state["seed"]))


def main(argv):
    p = argparse.ArgumentParser(prog="tern cluster", description=__doc__.splitlines()[0])
    p.add_argument("--dir", default=default_state_dir(), help="the cluster's state directory")
    sub = p.add_subparsers(dest="command", metavar="command")
    add_up_arguments(sub.add_parser("run", help="up, attach node 1's console, down at Ctrl-A X"))
    add_up_arguments(sub.add_parser("up", help="start the hub and the nodes, detached"))
    sub.add_parser("down", help="end every node and the hub")
    sub.add_parser("status", help="the hub and each node: running, paused or down")
    for name, text in (("console", "attach to a node's serial console"),
                       ("stop", "pause a node (QEMU stop)"), ("cont", "resume a paused node"),
                       ("kill", "kill a node's QEMU"), ("restart", "kill and boot a node again"),
                       ("announce", "make QEMU send RARP announcements from the node's NIC")):
        sub.add_parser(name, help=text).add_argument("node")
    link = sub.add_parser("link", help="take a node's link down or up (QEMU set_link)")
    link.add_argument("node")
    link.add_argument("state", choices=("up", "down"))
    hub = sub.add_parser("hub", help="send a raw line to the hub's control socket")
    hub.add_argument("words", nargs=argparse.REMAINDER)
    for name in HUB_COMMANDS:
        sub.add_parser(name, help="hub: %s (see docs/cluster.md)" % name).add_argument(
            "words", nargs=argparse.REMAINDER)

    # Negative numbers are never options here; "--" before QEMU arguments is kept.
    args = p.parse_args(argv)
    if not args.command:
        p.print_help()
        return 2
    cluster = Cluster(args.dir)
    try:
        if args.command == "run":
            cluster_up(cluster, args)
            return run_console(cluster)
        if args.command == "up":
            cluster_up(cluster, args)
            print(cluster.status())
            return 0
        if args.command == "down":
            cluster.down()
            print("tern cluster: down")
            return 0
        if args.command == "status":
            print(cluster.status())
            return 0
        if args.command == "console":
            attach_console(cluster, parse_node_id(args.node))
            return 0
        if args.command in ("stop", "cont"):
            node = parse_node_id(args.node)
            cluster.qmp(node, args.command)
            print("node %d: %s" % (node, "paused" if args.command == "stop" else "running"))
            return 0
        if args.command == "kill":
            node = parse_node_id(args.node)
            cluster.kill_node(node)
            print("node %d: killed" % node)
            return 0
        if args.command == "restart":
            node = parse_node_id(args.node)
            pid = cluster.restart_node(node)
            print("node %d: started again (pid %d); log %s"
                  % (node, pid, cluster.node_path(node, "log")))
            return 0
        if args.command == "link":
            node = parse_node_id(args.node)
            cluster.qmp(node, "set_link", name="net0", up=args.state == "up")
            print("node %d: link %s" % (node, args.state))
            return 0
        if args.command == "announce":
            node = parse_node_id(args.node)
            cluster.qmp(node, "announce-self", initial=50, max=550, rounds=1, step=100)
            print("node %d: announced" % node)
            return 0
        words = args.words if args.command == "hub" else [args.command] + args.words
        if not words:
            raise ClusterError("hub: no command given (try ./tern cluster hub help)")
        sys.stdout.write(cluster.hub_command(" ".join(words)))
        return 0
    except ClusterError as e:
        print("tern cluster: %s" % e, file=sys.stderr)
        return 1
    except OSError as e:
        print("tern cluster: %s (is the cluster in %s up?)" % (e, cluster.dir), file=sys.stderr)
        return 1


def run_console(cluster):
    """The terminal is node 1's console; leaving it with Ctrl-A X ends the cluster."""
    def on_signal(number, frame):
        raise SystemExit(128 + number)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    leave = "quit"
    count = len(cluster.state["nodes"])
    print("tern cluster: %d nodes booting; on node 1 try `nodes` (the members the bus sees), "
          "`on 3 hello` (a program on node 3), `ps -a` and `busstat`; from another terminal `./tern console 2`, or `./tern cluster "
          "kill 2` and `./tern cluster restart 2` and watch `nodes` follow" % count)
    try:
        leave = attach_console(cluster, 1, keys="Ctrl-A X ends the cluster, Ctrl-A D leaves it "
                               "running")
    finally:
        if leave == "quit":
            cluster.down()
            print("tern cluster: every node and the hub ended")
        else:
            print("tern cluster: still running in %s; ./tern console N attaches, "
                  "./tern cluster down ends it" % cluster.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

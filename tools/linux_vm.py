#!/usr/bin/env python3
"""Build the Linux VMs that `./tern bench` runs beside Tern: Debian's kernel (fetched by
`./tern setup` into $TERN_CACHE/linux) and an initramfs of the project's own programs.

    linux_vm.py build          compile bench/linux/*.c and bench/net/*.c as static
                               programs and pack the initramfs; prints its path
    linux_vm.py run [--icount] [--mode bench|net] [--ip a.b.c.d/len] [-- QEMU ARGS]
                               boot it under QEMU on Tern's machine, console on stdio

The initramfs (<build>/linux/initramfs.cpio, an uncompressed newc archive written here,
byte for byte the same for the same inputs) holds:

    /init                  bench/linux/init.c
    /bin/<name>            every other bench/linux/<name>.c and bench/net/<name>.c
    /bin/busybox, /bin/sh  BusyBox 1.35 (Tern's source and configuration, static on the
                           host's glibc: the host build's busybox_host target), and sh a
                           link to it; absent, with a message, when that build fails
    /lib/modules/*.ko      the NIC modules (virtio-net and e1000 are modules in Debian's
                           build), and /lib/modules/order, the order /init loads them in
    /dev/console           the console node the kernel opens for /init
    /proc, /sys            mount points

The programs are compiled by the host's clang against its static glibc (libc6-dev);
they are rebuilt only when a source is newer than the archive. BusyBox is built (a few
minutes the first time) by `cmake --build <build> --target busybox_host` when the
initramfs is packed for a run, never by the default build; it is linked statically
because Tern's fragment (programs/busybox/busybox.config) sets CONFIG_STATIC.
"""
import argparse
import os
import shlex
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import qemu_run  # noqa: E402

CC = os.environ.get("TERN_LINUX_CC", "clang")
CFLAGS = ["-O2", "-static", "-Wall", "-Wextra", "-Werror"]
# The kernel's command line: the serial console, no boot messages (they cost the boot
# figure serial output Tern's quiet boot does not make), and a panic ends QEMU at once.
BASE_APPEND = "console=ttyS0 quiet panic=-1"


class LinuxVmError(Exception):
    pass


def cache_dir():
    return os.environ.get("TERN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "tern")


def linux_dir():
    """Where tools/setup.sh unpacked the kernel (tern_linux_dir)."""
    return os.path.join(cache_dir(), "linux")


def linux_release():
    """The kernel's release string from the set-up's stamp file."""
    stamp = os.path.join(linux_dir(), ".tern-linux")
    try:
        with open(stamp) as f:
            for line in f:
                if line.startswith("release="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    raise LinuxVmError("no Linux kernel in %s; run ./tern setup" % linux_dir())


def kernel_path():
    linux_release()
    return os.path.join(linux_dir(), "vmlinuz")


def module_order():
    """Module names in load order: each after the modules it depends on (setup.sh keeps
    them in that order in TERN_LINUX_MODULES; the stamp's directory holds the files)."""
    order = subprocess.run(
        ["bash", "-c", 'source "$1" && printf "%s\\n" "${TERN_LINUX_MODULES[@]}"', "bash",
         os.path.join(HERE, "setup.sh")], check=True, stdout=subprocess.PIPE, text=True).stdout
    return [os.path.basename(m) for m in order.split()]


_busybox = {}


def busybox_binary(build_dir, quiet=False):
    """The host build's static BusyBox, built now if needed; None (after a message on
    stderr) when it cannot be: microbench then skips linux.sh_c_true and the other
    figures still print. Tried once per build directory and process."""
    if build_dir in _busybox:
        return _busybox[build_dir]
    binary = os.path.join(build_dir, "busybox-host", "busybox")
    reason = None
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        reason = "%s is not a configured build directory (run ./tern build)" % build_dir
    else:
        cmd = ["cmake", "--build", build_dir, "--target", "busybox_host"]
        if not quiet or not os.path.exists(binary):
            print("linux_vm: " + " ".join(shlex.quote(c) for c in cmd)
                  + ("" if os.path.exists(binary) else " (a few minutes the first time)"),
                  flush=True)
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        except OSError as e:
            r = subprocess.CompletedProcess(cmd, 127, "%s: %s" % (cmd[0], e))
        if r.returncode != 0:
            reason = "building it failed (see %s):\n%s" % (
                os.path.join(build_dir, "busybox-host", "make.log"), r.stdout[-2000:])
        elif not is_static_elf(binary):
            reason = "%s is not a static executable (CONFIG_STATIC off?)" % binary
    if reason:
        print("linux_vm: no BusyBox in the initramfs, so no Linux peer for posix.sh_c_true: "
              + reason, file=sys.stderr, flush=True)
        binary = None
    _busybox[build_dir] = binary
    return binary


def is_static_elf(path):
    """True for an ELF executable without a program interpreter (PT_INTERP): one that
    runs in an initramfs with no dynamic loader."""
    try:
        with open(path, "rb") as f:
            header = f.read(64)
            if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2:
                return False
            phoff = int.from_bytes(header[32:40], "little")
            phentsize = int.from_bytes(header[54:56], "little")
            phnum = int.from_bytes(header[56:58], "little")
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    return all(int.from_bytes(table[i * phentsize:i * phentsize + 4], "little") != 3
               for i in range(phnum))


def program_sources():
    """{name: source} for /init and /bin/<name>."""
    sources = {}
    for folder in ("bench/linux", "bench/net"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(".c"):
                sources[name[:-2]] = os.path.join(ROOT, folder, name)
    if "init" not in sources:
        raise LinuxVmError("bench/linux/init.c is missing")
    return sources


class Cpio:
    """A newc ("070701") archive: 110-byte ASCII headers, names and data padded to 4 bytes.
    Inode numbers count up and every time stamp is 0, so the archive is reproducible."""

    def __init__(self):
        self.data = bytearray()
        self.inode = 0

    def _entry(self, name, mode, body=b"", rdev=(0, 0)):
        self.inode += 1
        encoded = name.encode() + b"\0"
        fields = [self.inode, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(body), 0, 0,
                  rdev[0], rdev[1], len(encoded), 0]
        self.data += b"070701" + b"".join(b"%08X" % f for f in fields) + encoded
        self.data += b"\0" * (-len(self.data) % 4)
        self.data += body
        self.data += b"\0" * (-len(self.data) % 4)

    def directory(self, name):
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, body, executable=False):
        self._entry(name, stat.S_IFREG | (0o755 if executable else 0o644), body)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name, major, minor):
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self):
        self.inode = 0
        self._entry("TRAILER!!!", 0)
        self.data += b"\0" * (-len(self.data) % 512)
        return bytes(self.data)


def build(build_dir, quiet=False):
    """Compiles the programs and packs the initramfs when an input changed; returns its path."""
    out_dir = os.path.join(build_dir, "linux")
    os.makedirs(os.path.join(out_dir, "bin"), exist_ok=True)
    archive = os.path.join(out_dir, "initramfs.cpio")
    modules_dir = os.path.join(linux_dir(), "modules")
    linux_release()
    modules = module_order()
    sources = program_sources()
    inputs = list(sources.values()) + [os.path.abspath(__file__), os.path.join(HERE, "setup.sh")]
    inputs += [os.path.join(modules_dir, m + ".ko") for m in modules]
    for path in inputs:
        if not os.path.exists(path):
            raise LinuxVmError("%s is missing (run ./tern setup)" % path)
    busybox = busybox_binary(build_dir, quiet=quiet)
    if busybox:
        inputs.append(busybox)
    # The list of inputs beside the archive: one that gained or lost BusyBox is repacked.
    listing = os.path.join(out_dir, "initramfs.inputs")
    listed = "".join(p + "\n" for p in inputs)
    try:
        with open(listing) as f:
            same_inputs = f.read() == listed
    except OSError:
        same_inputs = False
    if same_inputs and os.path.exists(archive) and all(
            os.path.getmtime(p) <= os.path.getmtime(archive) for p in inputs):
        return archive
    binaries = {}
    for name, source in sources.items():
        binary = os.path.join(out_dir, "bin", name)
        cmd = [CC] + CFLAGS + ["-o", binary, source]
        if not quiet:
            print("linux_vm: " + " ".join(shlex.quote(c) for c in cmd), flush=True)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise LinuxVmError("compiling %s failed:\n%s" % (source, r.stdout))
        binaries[name] = binary
    cpio = Cpio()
    for d in ("bin", "dev", "lib", "lib/modules", "proc", "sys"):
        cpio.directory(d)
    cpio.char_device("dev/console", 5, 1)
    for name, binary in sorted(binaries.items()):
        with open(binary, "rb") as f:
            cpio.file("init" if name == "init" else "bin/" + name, f.read(), executable=True)
    if busybox:
        with open(busybox, "rb") as f:
            cpio.file("bin/busybox", f.read(), executable=True)
        cpio.symlink("bin/sh", "busybox")
    for module in modules:
        with open(os.path.join(modules_dir, module + ".ko"), "rb") as f:
            cpio.file("lib/modules/%s.ko" % module, f.read())
    cpio.file("lib/modules/order", ("\n".join(modules) + "\n").encode())
    tmp = archive + ".tmp"
    with open(tmp, "wb") as f:
        f.write(cpio.finish())
    os.replace(tmp, archive)
    with open(listing, "w") as f:
        f.write(listed)
    if not quiet:
        print("linux_vm: wrote %s (%d KiB, %d programs%s, %d modules)"
              % (archive, os.path.getsize(archive) // 1024, len(binaries),
                 " and BusyBox" if busybox else "", len(modules)), flush=True)
    return archive


def append_line(mode, ip=None):
    words = [BASE_APPEND]
    if mode:
        words.append("tern.mode=" + mode)
    if ip:
        words.append("tern.ip=" + ip)
    return " ".join(words)


def qemu_run_args(build_dir, mode, ip=None, quiet=False):
    """The arguments of tools/qemu_run.py that boot this VM instead of Tern's image."""
    return ["--kernel", kernel_path(), "--initrd", build(build_dir, quiet=quiet),
            "--append", append_line(mode, ip)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=("build", "run"))
    p.add_argument("--build-dir", default=os.path.join(ROOT, os.environ.get("TERN_BUILD_DIR",
                                                                            "build")))
    p.add_argument("--icount", action="store_true", help="the benchmarks' -icount flags")
    p.add_argument("--mode", choices=("bench", "net"), help="tern.mode for /init")
    p.add_argument("--ip", help="with --mode net: the NIC's address a.b.c.d/len")
    p.add_argument("qemu_args", nargs="*", help="extra QEMU arguments (after --)")
    args = p.parse_args()
    try:
        if args.command == "build":
            print(build(args.build_dir))
            return 0
        qemu = ["qemu-system-x86_64", "-machine", "q35", "-cpu", "max", "-m", "256M", "-smp",
                "1", "-no-reboot", "-nographic", "-serial", "mon:stdio", "-kernel",
                kernel_path(), "-initrd", build(args.build_dir), "-append",
                append_line(args.mode, args.ip)]
        if args.icount:
            qemu += qemu_run.ICOUNT_ARGS
        os.execvp(qemu[0], qemu + args.qemu_args)
    except LinuxVmError as e:
        print("linux_vm: " + str(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""CTest unit.mkbootfs_reproducible: tools/mkbootfs.py gives the same bytes for the same
inputs and an archive Python's tarfile reads back as intended, with every ELF file's data
on a 4 KiB page.

    mkbootfs_reproducible.py PATH/TO/mkbootfs.py

The two runs differ in everything that must not matter: argument order, the host files'
modification times and the working directory. Then tarfile lists the members, and every
input error the tool promises to catch must exit with status 2 and write nothing.
"""
import os
import subprocess
import sys
import tarfile
import tempfile

LONG_DIR = "d" * 150                      # goes into the ustar prefix field
LONG_NAME = "n" * 100                     # fills the name field with no NUL
FILES = {
    "bin/init": ("init.elf", b"\x7fELF init", False),
    "bin/shell": ("shell", b"\x7fELF shell", True),
    "etc/motd": ("motd.txt", b"welcome to Tern\n", False),
    "etc/empty": ("empty.txt", b"", False),
    f"{LONG_DIR}/{LONG_NAME}": ("long.txt", b"x" * 1000, False),
}
DIRS = ["tmp", "var/log"]
EXPECTED = {
    # path: (is_directory, mode, contents)
    "bin": (True, 0o555, None),
    "bin/init": (False, 0o555, FILES["bin/init"][1]),
    "bin/shell": (False, 0o555, FILES["bin/shell"][1]),
    LONG_DIR: (True, 0o555, None),
    f"{LONG_DIR}/{LONG_NAME}": (False, 0o444, FILES[f"{LONG_DIR}/{LONG_NAME}"][1]),
    "etc": (True, 0o555, None),
    "etc/empty": (False, 0o444, b""),
    "etc/motd": (False, 0o444, FILES["etc/motd"][1]),
    "tmp": (True, 0o555, None),
    "var": (True, 0o555, None),
    "var/log": (True, 0o555, None),
}

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"FAIL: {message}", file=sys.stderr)


def run(tool, args, cwd):
    return subprocess.run([sys.executable, tool] + args, cwd=cwd, capture_output=True,
                          text=True, check=False)


def make_inputs(root):
    for host_name, data, executable in FILES.values():
        path = os.path.join(root, host_name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o755 if executable else 0o644)


def arguments(root, output, reverse):
    args = ["--output", output]
    items = [(path, os.path.join(root, host)) for path, (host, _, _) in FILES.items()]
    for path, host in reversed(items) if reverse else items:
        args += ["--file", f"{path}={host}"]
    for path in reversed(DIRS) if reverse else DIRS:
        args += ["--dir", path]
    return args


def check_members(path):
    with tarfile.open(path, "r:") as archive:
        members = archive.getmembers()
        names = [m.name for m in members]
        check(names == sorted(EXPECTED, key=lambda p: p.encode()),
              f"members not as expected or not sorted: {names}")
        for member in members:
            check(member.mtime == 0 and member.uid == 0 and member.gid == 0,
                  f"{member.name}: mtime/uid/gid not 0")
            check(member.uname == "" and member.gname == "", f"{member.name}: owner names set")
            if member.name not in EXPECTED:
                continue
            is_directory, mode, contents = EXPECTED[member.name]
            check(member.isdir() == is_directory, f"{member.name}: wrong type")
            check(member.mode == mode, f"{member.name}: mode {oct(member.mode)}, want {oct(mode)}")
            if contents is not None:
                check(archive.extractfile(member).read() == contents,
                      f"{member.name}: wrong contents")
            # An ELF file's data starts on a page, where exec can map it (pax comment
            # headers, which tarfile skips, pad the archive to get there).
            if contents is not None and contents.startswith(b"\x7fELF"):
                check(member.offset_data % 4096 == 0,
                      f"{member.name}: data at {member.offset_data}, not on a 4 KiB page")
    with open(path, "rb") as f:
        data = f.read()
    check(len(data) % 512 == 0, "archive size is not a multiple of 512")
    check(data[257:265] == b"ustar\x0000", "first header is not POSIX ustar")


def check_errors(tool, root):
    good = os.path.join(root, "motd.txt")
    cases = {
        "missing host file": ["--file", "a=" + os.path.join(root, "does-not-exist")],
        "duplicate file": ["--file", f"a={good}", "--file", f"a={good}"],
        "duplicate directory": ["--dir", "a", "--dir", "a"],
        "file and directory": ["--file", f"a={good}", "--dir", "a"],
        "file used as a parent": ["--file", f"a={good}", "--file", f"a/b={good}"],
        "absolute path": ["--file", f"/a={good}"],
        "dot-dot path": ["--file", f"a/../b={good}"],
        "dot-dot directory": ["--dir", ".."],
        "empty component": ["--file", f"a//b={good}"],
        "name too long": ["--file", "a" * 101 + f"={good}"],
        "prefix too long": ["--file", "p" * 156 + "/b" + f"={good}"],
        "missing host path": ["--file", "a"],
    }
    for name, args in cases.items():
        output = os.path.join(root, "error.tar")
        result = run(tool, ["--output", output] + args, root)
        check(result.returncode == 2, f"{name}: exit status {result.returncode}, want 2")
        check("mkbootfs" in result.stderr, f"{name}: no message on stderr")
        check(not os.path.exists(output), f"{name}: an archive was written")


def main():
    tool = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="mkbootfs-test-") as root:
        make_inputs(root)
        first = os.path.join(root, "first.tar")
        result = run(tool, arguments(root, first, reverse=False), root)
        check(result.returncode == 0, f"first run failed: {result.stderr}")
        check(result.stdout.strip() == f"mkbootfs: 5 files, {os.path.getsize(first)} bytes "
              f"-> {first}", f"unexpected summary line: {result.stdout!r}")

        # Different timestamps, argument order and working directory must not show.
        for host_name, _, _ in FILES.values():
            os.utime(os.path.join(root, host_name), (1234567890, 1234567890))
        second = os.path.join(root, "second.tar")
        result = run(tool, arguments(root, second, reverse=True), "/")
        check(result.returncode == 0, f"second run failed: {result.stderr}")

        with open(first, "rb") as a, open(second, "rb") as b:
            check(a.read() == b.read(), "the two runs produced different archives")
        check_members(first)
        check_errors(tool, root)

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("mkbootfs: reproducible, members as expected, all input errors caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())

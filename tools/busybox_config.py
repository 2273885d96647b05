#!/usr/bin/env python3
"""Configure a BusyBox build directory from Tern's configuration fragment.

    busybox_config.py --source SRC --build OUT --fragment FILE [--make MAKE]
                      [--hostcc CC] [--set NAME=VALUE]... --stamp FILE

Runs BusyBox's own `make allnoconfig` out of tree (O=OUT, so nothing is written in SRC),
lays the fragment's CONFIG_* lines over the .config it wrote, adds the --set values (the
build's compiler and linker flags, which name paths of this build and so are not in the
fragment), and runs `make oldconfig`, answering every new question with its default. Then
every line of the fragment and every --set must appear unchanged in OUT/.config: an option
that BusyBox dropped or renamed is an error, not a silent change of the applet set. The
stamp is written last.
"""
import argparse
import os
import re
import subprocess
import sys

OPTION = re.compile(r"^(?:# )?(CONFIG_[A-Za-z0-9_]+)(?:=| is not set)")


def read_fragment(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.startswith("CONFIG_"):
                sys.exit(f"{path}:{number}: expected CONFIG_NAME=value, got {line!r}")
            if name in values:
                sys.exit(f"{path}:{number}: {name} given twice")
            values[name] = value
    return values


def quoted(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--fragment", required=True)
    parser.add_argument("--make", default="make")
    parser.add_argument("--hostcc", default="cc")
    parser.add_argument("--set", action="append", default=[],
                        help="NAME=VALUE, a string option (quoted here)")
    parser.add_argument("--stamp", required=True)
    args = parser.parse_args()

    wanted = read_fragment(args.fragment)
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("CONFIG_"):
            sys.exit(f"--set {item!r}: expected CONFIG_NAME=VALUE")
        wanted[name] = quoted(value)

    os.makedirs(args.build, exist_ok=True)
    make = [args.make, "-s", "-C", args.source, "O=" + os.path.abspath(args.build),
            "HOSTCC=" + args.hostcc]
    log_path = os.path.join(args.build, "config.log")
    with open(log_path, "w", encoding="utf-8") as log:
        subprocess.run(make + ["allnoconfig"], check=True, stdout=log, stderr=subprocess.STDOUT)
        config_path = os.path.join(args.build, ".config")
        with open(config_path, encoding="utf-8") as f:
            lines = f.readlines()
        pending = dict(wanted)
        out = []
        for line in lines:
            match = OPTION.match(line)
            if match and match.group(1) in pending:
                name = match.group(1)
                out.append(f"{name}={pending.pop(name)}\n")
            else:
                out.append(line)
        out.extend(f"{name}={value}\n" for name, value in pending.items())
        with open(config_path, "w", encoding="utf-8") as f:
            f.writelines(out)
        # oldconfig asks about every option the new ones made visible; an empty answer
        # takes BusyBox's default.
        subprocess.run(make + ["oldconfig"], check=True, stdout=log, stderr=subprocess.STDOUT,
                       input=b"\n" * 10000)

    with open(config_path, encoding="utf-8") as f:
        final = {line.rstrip("\n") for line in f}
    lost = [f"{name}={value}" for name, value in wanted.items() if f"{name}={value}" not in final]
    if lost:
        sys.exit("busybox_config.py: BusyBox's oldconfig did not keep: " + ", ".join(lost)
                 + f" (see {log_path})")
    with open(args.stamp, "w", encoding="utf-8") as f:
        f.write(f"{len(wanted)} options\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The Open POSIX Test Suite on Tern and on the host's Linux, side by side.

The suite (Debian's source package posixtestsuite 1.5.2, unpacked by `./tern setup`) is
never copied into the tree. Its conformance/interfaces tests for the areas below are
built twice by `build`: against Tern's musl (static, run inside Tern) and for the host.
Every test's main() is renamed and every other global symbol of its object made local,
so all of one side's tests link into one program, posixsuite (tests/posix-suite/
runner.c), that runs them one by one in child processes with a time limit. A test that
does not compile, or that needs a symbol the C library lacks, is left out of that side's
program and counted as "build failed".

    build   --side tern|host ...   compile, link, write <out>/manifest.txt
    run     boot the posix image, run the tests there and on the host, print the table
    table   print the table of two saved result files

`run` prints, per area, PASS/FAIL/UNRESOLVED/UNSUPPORTED/UNTESTED (FAIL includes the
tests that hung, crashed or exited otherwise; "build" counts the tests that could not be
built) for Tern and Linux side by side, then every test Linux passes and Tern does not,
with the first line of Tern's output. With --expected it fails when a test named there
(tests/posix-suite/tern-passes.txt: tests that pass on Tern) no longer passes on Tern.
"""
import argparse
import collections
import concurrent.futures
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

# console_session and qemu_run are imported from here; no cache files in the tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# The areas of the issue, each a list of the suite's interface directories.
AREA_PREFIXES = [
    ("pthread", ("pthread_",)),
    ("sem", ("sem_",)),
    ("mq", ("mq_",)),
    ("shm", ("shm_",)),
    ("sched", ("sched_",)),
    ("clock", ("clock",)),
    ("timer", ("timer_",)),
    ("nanosleep", ("nanosleep",)),
    ("signal", ("sig", "kill", "raise")),
    ("fork", ("fork",)),
    ("mmap", ("mmap", "munmap", "mprotect", "mlock")),
]
AREAS = [name for name, _ in AREA_PREFIXES]
VERDICTS = ["PASS", "FAIL", "UNRESOLVED", "UNSUPPORTED", "UNTESTED"]
TEST_FILE = re.compile(r"^([0-9]+-[0-9]+)\.c$")
RESULT_LINE = re.compile(r"^pts: (\S+/\S+) (PASS|FAIL|UNRESOLVED|UNSUPPORTED|UNTESTED|HUNG|"
                         r"EXIT -?\d+|SIGNAL \d+) (\d+)\s*$")
OUTPUT_LINE = re.compile(r"^pts-out: (\S+/\S+): (.*)$")
DONE_LINE = re.compile(r"^pts: done (\d+) tests", re.M)


def area_of(directory):
    for name, prefixes in AREA_PREFIXES:
        if directory.startswith(prefixes):
            return name
    return None


def suite_tests(source):
    """[(name, area, path)] of every runnable test of the areas, in a stable order."""
    base = os.path.join(source, "conformance", "interfaces")
    tests = []
    for directory in sorted(os.listdir(base)):
        area = area_of(directory)
        if area is None:
            continue
        for file in sorted(os.listdir(os.path.join(base, directory))):
            m = TEST_FILE.match(file)
            if m:
                tests.append(("%s/%s" % (directory, m.group(1)), area,
                              os.path.join(base, directory, file)))
    return tests


def symbol_of(index):
    return "pts_main_%d" % index


def compile_one(args, index, name, path):
    obj = os.path.join(args.out, "obj", name.replace("/", "__") + ".o")
    os.makedirs(os.path.dirname(obj), exist_ok=True)
    cmd = args.cc + args.cflags + ["-I", os.path.join(args.source, "include"), "-c", path,
                                   "-o", obj]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        errors = [line for line in done.stdout.splitlines() if "error:" in line]
        return name, None, (errors[0] if errors else done.stdout.strip()[-200:])
    # A test whose whole source sits under an option the C library does not have (e.g.
    # _POSIX_SPORADIC_SERVER) compiles to an object without main: it was not built.
    nm = os.path.join(os.path.dirname(args.objcopy), os.path.basename(args.objcopy).replace(
        "objcopy", "nm"))
    done = subprocess.run([nm, "--defined-only", obj], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if done.returncode == 0 and not re.search(r"^\S*\s+T main$", done.stdout, re.M):
        return name, None, "no main(): the source is empty without an option it tests"
    # main becomes pts_main_<index>, the only global symbol the object still defines
    # (llvm-objcopy keeps main global before it renames it).
    done = subprocess.run([args.objcopy, "--redefine-sym", "main=" + symbol_of(index),
                           "--keep-global-symbol", "main", obj], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        return name, None, "objcopy: " + done.stdout.strip()
    return name, obj, None


def write_table(path, entries):
    with open(path, "w") as f:
        f.write("/* Generated by tools/posix_suite.py build. */\n")
        f.write("struct pts_test { const char *name; int (*main)(int, char **); };\n")
        for index, _ in entries:
            f.write("int %s(int, char **);\n" % symbol_of(index))
        f.write("const struct pts_test pts_tests[] = {\n")
        for index, name in entries:
            f.write('    {"%s", %s},\n' % (name, symbol_of(index)))
        f.write("    {0, 0}\n};\nconst int pts_test_count = %d;\n" % len(entries))


UNDEFINED = re.compile(r"undefined (?:symbol|reference to)[: ]*[`']?([^'`\s]+)")
OBJECT = re.compile(r"obj/([^/\s:()]+)\.o\b")


def link(args, objects, failures):
    """Links the runner with every object; drops each object the linker finds a symbol
    missing for (recorded in failures) and tries again."""
    table = os.path.join(args.out, "tests.c")
    objects = dict(objects)
    while True:
        ordered = sorted(objects.values())
        names = [name for _, name, _ in ordered]
        write_table(table, [(index, name) for index, name, _ in ordered])
        cmd = (args.cc + args.cflags + [args.runner, table] + [obj for _, _, obj in ordered] +
               ["-o", os.path.join(args.out, "posixsuite")] + args.ldflags)
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode == 0:
            return names
        # ld.lld (both sides link with it) names the symbol, then each object using it.
        dropped = set()
        symbol = key = None
        for line in done.stdout.splitlines():
            m = UNDEFINED.search(line)
            if m:
                symbol = m.group(1)
            o = OBJECT.search(line)
            if o:
                key = o.group(1).replace("__", "/")
            if symbol and key:
                if key in objects and key not in dropped:
                    dropped.add(key)
                    failures[key] = "link: undefined symbol %s" % symbol
                key = None
        if not dropped:
            sys.stdout.write(done.stdout)
            raise SystemExit("posix_suite: the runner does not link")
        for key in dropped:
            del objects[key]


def cmd_build(args):
    args.cc = shlex.split(args.cc)
    args.cflags = shlex.split(args.cflags)
    args.ldflags = shlex.split(args.ldflags)
    args.source = os.path.abspath(args.source)
    os.makedirs(args.out, exist_ok=True)
    tests = suite_tests(args.source)
    if args.subset:
        patterns = read_patterns(args.subset)
        tests = [t for t in tests if matches(t[0], patterns)]
    failures = {}
    objects = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(compile_one, args, index, name, path)
                   for index, (name, _, path) in enumerate(tests)]
        index_of = {name: index for index, (name, _, _) in enumerate(tests)}
        for future in futures:
            name, obj, error = future.result()
            if obj is None:
                failures[name] = "compile: " + error
            else:
                objects[name] = (index_of[name], name, obj)
    linked = set(link(args, objects, failures))
    with open(os.path.join(args.out, "manifest.txt"), "w") as f:
        for name, area, _ in tests:
            if name in linked:
                f.write("%s %s built\n" % (name, area))
            else:
                f.write("%s %s failed %s\n" % (name, area, failures.get(name, "?")))
    print("posix_suite: %s side: %d tests built, %d failed to build" %
          (args.side, len(linked), len(tests) - len(linked)))
    return 0


def read_manifest(path):
    """{name: (area, None or the build error)}"""
    result = collections.OrderedDict()
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) >= 3:
                result[parts[0]] = (parts[1], None if parts[2] == "built" else
                                    (parts[3] if len(parts) > 3 else "?"))
    return result


def parse_results(text):
    """{name: (verdict, ms, [output lines])} from a runner's output."""
    results = collections.OrderedDict()
    done = None
    for line in text.splitlines():
        line = line.rstrip("\r")
        m = RESULT_LINE.match(line)
        if m:
            results[m.group(1)] = (m.group(2), int(m.group(3)), [])
            continue
        m = OUTPUT_LINE.match(line)
        if m and m.group(1) in results:
            results[m.group(1)][2].append(m.group(2))
            continue
        m = DONE_LINE.match(line)
        if m:
            done = (done or 0) + int(m.group(1))
    return results, done


def matches(name, patterns):
    """A pattern names one test, or ending in '/', every test whose name starts with it
    (as the runner's patterns)."""
    return any(name.startswith(p) if p.endswith("/") else name == p for p in patterns)


def selection(manifest, patterns):
    names = list(manifest)
    if not patterns:
        return names
    return [n for n in names if matches(n, patterns)]


def read_patterns(path):
    patterns = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                patterns.append(line.split()[0])
    return patterns


def run_host(args, patterns_file):
    out = tempfile.NamedTemporaryFile(prefix="posixsuite-", suffix=".out", delete=False)
    out.close()
    cmd = [os.path.join(args.host_dir, "posixsuite"), "-t", str(args.limit), "-o", out.name]
    if patterns_file:
        cmd += ["-f", patterns_file]
    print("posix_suite: running on the host: " + " ".join(cmd), flush=True)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            text, _ = proc.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            text, _ = proc.communicate()
            print("posix_suite: the host run did not finish in %d s" % args.timeout)
    finally:
        os.unlink(out.name)
    text = text.decode("utf-8", "replace")
    if args.save_host:
        with open(args.save_host, "w") as f:
            f.write(text)
    return text


def run_tern(args, runner_args, label):
    import console_session
    import qemu_run
    workdir = tempfile.mkdtemp(prefix="tern-posix-")
    proc = None
    text = ""
    try:
        disk = os.path.join(workdir, "node.img")
        qemu_run.make_config_disk(disk, "")
        qargs = argparse.Namespace(qemu="qemu-system-x86_64", machine="q35", cpu="max",
                                   memory="256M", iso=args.iso, icount=False, kvm=False,
                                   qemu_arg=[])
        cmd = qemu_run.qemu_command(qargs, disk)
        print("posix_suite: booting %s%s" % (args.iso, label), flush=True)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        console = console_session.Console(proc, args.verbose)
        deadline = time.monotonic() + args.timeout
        error = console.expect(r"tern:0> ", 60, deadline)
        if error:
            raise SystemExit("posix_suite: Tern did not reach the shell: " + error)
        # The servers' start-up lines come just after the prompt; they are let out
        # before the command is typed, so that the command line stays readable.
        end = time.monotonic() + 3
        while time.monotonic() < end:
            console.pump(0.1)
        command = "posixsuite -t %d%s" % (args.limit, runner_args)
        console.type(command.encode() + b"\r")
        error = console.expect(r"pts: done \d+ tests", args.timeout, deadline)
        text = console.output
        if error:
            print("posix_suite: the Tern run%s did not finish: %s" % (label, error))
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    return text


# The console's line editor takes lines of at most 1023 bytes; the command stays well
# inside that.
MAX_TYPED_PATTERNS = 900


def tern_runner_args(args):
    """The runner's arguments selecting --subset on Tern: the image's own copy of the
    subset file when --subset is that file, else the patterns typed on the command line."""
    if not args.subset:
        return ""
    packed = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests",
                          "posix-suite", "ctest-subset.txt")
    patterns = read_patterns(args.subset)
    if os.path.exists(packed) and read_patterns(packed) == patterns:
        return " -f " + args.subset_in_image
    typed = " ".join(patterns)
    if len(typed) > MAX_TYPED_PATTERNS:
        raise SystemExit("posix_suite: the patterns of %s take %d bytes, more than the %d "
                         "that are typed at Tern's console; select whole interfaces "
                         "('pthread_mutex_lock/') or use tests/posix-suite/ctest-subset.txt"
                         % (args.subset, len(typed), MAX_TYPED_PATTERNS))
    return " " + typed


def run_tern_shards(args):
    """Tern's side on --shards systems at once, each running every n-th test; their
    output joined. A shard that did not finish leaves the whole run unfinished."""
    selection_args = tern_runner_args(args)
    texts = [""] * args.shards

    def shard(k):
        extra = " -s %d/%d" % (k, args.shards) if args.shards > 1 else ""
        label = " (shard %d of %d)" % (k + 1, args.shards) if args.shards > 1 else ""
        texts[k] = run_tern(args, extra + selection_args, label)

    threads = [threading.Thread(target=shard, args=(k,)) for k in range(args.shards)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    unfinished = [k for k, text in enumerate(texts) if not DONE_LINE.search(text)]
    if unfinished:
        texts = [DONE_LINE.sub("pts: shard finished", text) for text in texts]
    text = "\n".join(texts)
    if args.save_tern:
        with open(args.save_tern, "w") as f:
            f.write(text)
    return text


def counts_for(names, manifest, results):
    """{area: Counter} with the verdicts, FAIL holding HUNG/EXIT/SIGNAL too, "build"
    the tests that did not build and "missing" those with no result."""
    table = collections.OrderedDict((area, collections.Counter()) for area in AREAS)
    for name in names:
        area, build_error = manifest[name]
        c = table[area]
        if build_error is not None:
            c["build"] += 1
        elif name not in results:
            c["missing"] += 1
        else:
            verdict = results[name][0]
            c[verdict if verdict in VERDICTS else "FAIL"] += 1
            if verdict not in VERDICTS:
                c["hung/crashed"] += 1
    return table


def verdict_of(name, manifest, results):
    if manifest[name][1] is not None:
        return "BUILD FAILED"
    if name not in results:
        return "NO RESULT"
    return results[name][0]


def print_table(names, tern_manifest, tern_results, host_manifest, host_results, out):
    columns = ["PASS", "FAIL", "UNRESOLVED", "UNSUPPORTED", "UNTESTED", "build"]
    short = ["pass", "fail", "unres", "unsup", "untst", "build"]
    tern = counts_for(names, tern_manifest, tern_results)
    host = counts_for(names, host_manifest, host_results)
    header = "%-10s %5s | %s | %s" % ("area", "tests", " ".join("%5s" % s for s in short),
                                      " ".join("%5s" % s for s in short))
    out.write("%-16s   %-35s   %s\n" % ("", "Tern", "Linux"))
    out.write(header + "\n")
    totals_t, totals_h = collections.Counter(), collections.Counter()
    for area in AREAS:
        n = sum(1 for name in names if tern_manifest[name][0] == area)
        if n == 0:
            continue
        totals_t.update(tern[area])
        totals_h.update(host[area])
        totals_t["tests"] += n
        out.write("%-10s %5d | %s | %s\n" % (
            area, n, " ".join("%5d" % tern[area][c] for c in columns),
            " ".join("%5d" % host[area][c] for c in columns)))
    out.write("%-10s %5d | %s | %s\n" % (
        "total", totals_t["tests"], " ".join("%5d" % totals_t[c] for c in columns),
        " ".join("%5d" % totals_h[c] for c in columns)))
    out.write("(fail includes hung or crashed tests: Tern %d, Linux %d; no result: Tern %d, "
              "Linux %d)\n" % (totals_t["hung/crashed"], totals_h["hung/crashed"],
                              totals_t["missing"], totals_h["missing"]))
    return tern, host


def print_differences(names, tern_manifest, tern_results, host_manifest, host_results, out):
    lines = []
    for name in names:
        host_verdict = verdict_of(name, host_manifest, host_results)
        tern_verdict = verdict_of(name, tern_manifest, tern_results)
        if host_verdict == "PASS" and tern_verdict != "PASS":
            if tern_verdict == "BUILD FAILED":
                why = tern_manifest[name][1]
            elif name in tern_results and tern_results[name][2]:
                why = tern_results[name][2][0]
            else:
                why = ""
            lines.append("  %-36s %-12s %s" % (name, tern_verdict, why[:110]))
    out.write("Linux passes, Tern does not (%d):\n" % len(lines))
    for line in lines:
        out.write(line + "\n")


def cmd_run(args):
    if args.shards < 1:
        raise SystemExit("posix_suite: --shards wants a positive number")
    tern_manifest = read_manifest(os.path.join(args.tern_dir, "manifest.txt"))
    host_manifest = read_manifest(os.path.join(args.host_dir, "manifest.txt"))
    patterns = read_patterns(args.subset) if args.subset else []
    names = selection(tern_manifest, patterns)
    # The two sides run at the same time: the host's tests mostly sleep, and the whole
    # run then takes as long as Tern's side.
    host = {}

    def host_side():
        start = time.monotonic()
        host["text"] = run_host(args, args.subset)
        host["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=host_side)
    thread.start()
    start = time.monotonic()
    try:
        tern_text = run_tern_shards(args)
    finally:
        thread.join()
    tern_s = time.monotonic() - start
    host_text, host_s = host.get("text", ""), host.get("seconds", 0)
    return report(args, names, tern_manifest, tern_text, host_manifest, host_text,
                  "Tern %.0f s, Linux %.0f s" % (tern_s, host_s))


def report(args, names, tern_manifest, tern_text, host_manifest, host_text, timing):
    tern_results, tern_done = parse_results(tern_text)
    host_results, host_done = parse_results(host_text)
    out = sys.stdout
    out.write("\nOpen POSIX Test Suite 1.5.2, conformance/interfaces: %d tests (%s)\n" %
              (len(names), timing))
    print_table(names, tern_manifest, tern_results, host_manifest, host_results, out)
    print_differences(names, tern_manifest, tern_results, host_manifest, host_results, out)
    status = 0
    if tern_done is None or host_done is None:
        out.write("posix_suite: FAIL: a run did not finish (Tern %s, Linux %s)\n" %
                  ("done" if tern_done is not None else "unfinished",
                   "done" if host_done is not None else "unfinished"))
        status = 1
    if args.expected:
        expected = [n for n in read_patterns(args.expected) if n in names]
        lost = [n for n in expected if verdict_of(n, tern_manifest, tern_results) != "PASS"]
        gained = [n for n in names if n not in expected and
                  verdict_of(n, tern_manifest, tern_results) == "PASS"]
        out.write("expected Tern passes: %d, still passing: %d\n" %
                  (len(expected), len(expected) - len(lost)))
        if gained:
            out.write("passing on Tern but not in %s (%d): %s\n" %
                      (args.expected, len(gained), " ".join(gained)))
        for n in lost:
            out.write("posix_suite: FAIL: %s passed on Tern before, now %s\n" %
                      (n, verdict_of(n, tern_manifest, tern_results)))
        if lost:
            status = 1
    if args.write_passes:
        with open(args.write_passes, "w") as f:
            f.write("# Open POSIX Test Suite tests that pass on Tern (tools/posix_suite.py "
                    "run --write-passes).\n")
            for n in names:
                if verdict_of(n, tern_manifest, tern_results) == "PASS":
                    f.write(n + "\n")
    out.write("posix_suite: %s\n" % ("OK" if status == 0 else "FAIL"))
    return status


def cmd_table(args):
    tern_manifest = read_manifest(os.path.join(args.tern_dir, "manifest.txt"))
    host_manifest = read_manifest(os.path.join(args.host_dir, "manifest.txt"))
    patterns = read_patterns(args.subset) if args.subset else []
    names = selection(tern_manifest, patterns)
    with open(args.tern_log, errors="replace") as f:
        tern_text = f.read()
    with open(args.host_log, errors="replace") as f:
        host_text = f.read()
    return report(args, names, tern_manifest, tern_text, host_manifest, host_text,
                  "saved results")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build one side's posixsuite program")
    b.add_argument("--side", choices=("tern", "host"), required=True)
    b.add_argument("--source", required=True, help="the unpacked posixtestsuite tree")
    b.add_argument("--out", required=True)
    b.add_argument("--runner", required=True, help="tests/posix-suite/runner.c")
    b.add_argument("--cc", required=True, help="the compiler command (may hold a launcher)")
    b.add_argument("--cflags", default="")
    b.add_argument("--ldflags", default="")
    b.add_argument("--objcopy", default="llvm-objcopy")
    b.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    b.add_argument("--subset", help="build only the tests these name prefixes select")
    for name in ("run", "table"):
        r = sub.add_parser(name)
        r.add_argument("--tern-dir", required=True, help="the Tern side's build directory")
        r.add_argument("--host-dir", required=True, help="the host side's build directory")
        r.add_argument("--subset", help="a file of test name prefixes to run (default all)")
        r.add_argument("--expected", help="tests that must pass on Tern")
        r.add_argument("--write-passes", help="write the tests Tern passes to this file")
        if name == "run":
            r.add_argument("--iso", required=True, help="the image holding /bin/posixsuite")
            r.add_argument("--subset-in-image", default="/share/posix-suite/subset.txt")
            r.add_argument("--limit", type=int, default=20, help="seconds per test")
            r.add_argument("--shards", type=int, default=1,
                           help="boot this many Tern systems, each running every n-th test")
            r.add_argument("--timeout", type=int, default=3600, help="seconds per side")
            r.add_argument("--save-tern", help="keep Tern's console output here")
            r.add_argument("--save-host", help="keep the host run's output here")
            r.add_argument("-v", "--verbose", action="store_true", help="echo the console")
        else:
            r.add_argument("--tern-log", required=True)
            r.add_argument("--host-log", required=True)
    args = p.parse_args()
    return {"build": cmd_build, "run": cmd_run, "table": cmd_table}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

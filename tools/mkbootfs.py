#!/usr/bin/env python3
"""Pack user programs and configuration files into Tern's boot file system archive.

    mkbootfs.py --output OUT.tar [--file ARCHIVE_PATH=HOST_PATH]... [--dir ARCHIVE_PATH]...
                [--links ARCHIVE_PATH=LIST_FILE]...

The archive is a POSIX ustar file that GRUB loads as a Multiboot2 module and the bootfs
server serves read-only (servers/bootfs/portable/archive.h is its reader). The output
depends only on the archive paths and the host files' contents and executable bits, so
the same inputs always give the same bytes: mtime 0, uid and gid 0, empty user and group
names, entries sorted by path, and every parent directory written before its children.
Hard links (--links: a name per line of LIST_FILE, or a path whose last component is
taken, each becoming another name for ARCHIVE_PATH in its directory, unless a file or
directory of that path is in the archive already) come last, in path order, after their
targets, as tar wants; they take an entry each and no data.

Files are mode 0555 when the host file is executable or its host or archive path ends in
".elf", otherwise 0444; directories are 0555. An ELF file's data starts on a 4 KiB
boundary of the archive, so that exec can map a program's read-only segments from the
archive's memory rather than copy them: where it would not, a pax extended header holding
one "comment" record (which tar readers ignore) comes before it as padding. Any problem with the inputs (a missing host
file, a duplicate or invalid archive path, a name ustar cannot store, more entries than
the reader accepts) exits with status 2 and a message, and writes nothing.
"""
import argparse
import io
import os
import stat
import sys
import tarfile

# The reader's bound (bootfs::kMaxEntries): a larger archive would build and then fail at
# boot, so it is refused here, where the message can name the cause.
MAX_ENTRIES = 256


class InputError(Exception):
    """A problem with the command line's inputs, reported with exit status 2."""


def check_archive_path(path, what):
    """Rejects paths the reader would reject or that could escape the archive's root."""
    if not path:
        raise InputError(f"{what}: empty archive path")
    if path.startswith("/"):
        raise InputError(f"{what}: archive path {path!r} is absolute; give it relative to the root")
    for component in path.split("/"):
        if component in ("", ".", ".."):
            raise InputError(
                f"{what}: archive path {path!r} has an empty, '.' or '..' component")
    if "\0" in path:
        raise InputError(f"{what}: archive path {path!r} contains a NUL byte")


def parent_directories(path):
    """"a/b/c" -> ["a", "a/b"]."""
    components = path.split("/")
    return ["/".join(components[:i]) for i in range(1, len(components))]


def read_links(link_args, files):
    """Returns {link path: target archive path} from --links TARGET=LIST_FILE, checked."""
    links = {}
    for arg in link_args:
        target, sep, list_path = arg.partition("=")
        if not sep or not list_path:
            raise InputError(f"--links {arg!r}: expected ARCHIVE_PATH=LIST_FILE")
        if target not in files:
            raise InputError(f"--links {arg!r}: {target!r} is not a file of the archive")
        try:
            with open(list_path, encoding="utf-8") as f:
                names = [line.strip().rsplit("/", 1)[-1] for line in f if line.strip()]
        except OSError as error:
            raise InputError(f"--links {arg!r}: cannot read {list_path!r}: {error}") from None
        directory = target.rpartition("/")[0]
        for name in names:
            path = f"{directory}/{name}" if directory else name
            check_archive_path(path, f"--links {arg!r}")
            if path in links and links[path] != target:
                raise InputError(f"--links {arg!r}: {path!r} links to two files")
            links[path] = target
    return links


def collect(file_args, dir_args, link_args=()):
    """Returns ({archive path: host path or None for a directory}, {link path: target}),
    checked; a link whose path is a file or directory already is left out."""
    files = {}
    for arg in file_args:
        archive_path, sep, host_path = arg.partition("=")
        if not sep or not host_path:
            raise InputError(f"--file {arg!r}: expected ARCHIVE_PATH=HOST_PATH")
        check_archive_path(archive_path, f"--file {arg!r}")
        if archive_path in files:
            raise InputError(f"duplicate archive path {archive_path!r}")
        if not os.path.isfile(host_path):
            raise InputError(f"--file {arg!r}: host file {host_path!r} does not exist "
                             "or is not a regular file")
        files[archive_path] = host_path

    directories = set()
    for path in dir_args:
        check_archive_path(path, f"--dir {path!r}")
        if path in directories or path in files:
            raise InputError(f"duplicate archive path {path!r}")
        directories.add(path)
    for path in list(files) + list(directories):
        directories.update(parent_directories(path))

    for path in files:
        if path in directories:
            raise InputError(f"archive path {path!r} is both a file and a directory")
    entries = dict(files)
    entries.update((path, None) for path in directories)
    links = {path: target for path, target in read_links(link_args, files).items()
             if path not in entries}
    if len(entries) + len(links) > MAX_ENTRIES:
        raise InputError(f"{len(entries) + len(links)} entries (with parent directories "
                         f"and links); the bootfs reader accepts at most {MAX_ENTRIES}")
    return entries, links


def file_mode(archive_path, host_path):
    executable = os.stat(host_path).st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if executable or host_path.endswith(".elf") or archive_path.endswith(".elf"):
        return 0o555
    return 0o444


def make_info(path, size, mode, kind):
    info = tarfile.TarInfo(path)
    info.type = kind
    info.size = size
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    try:
        # Encodes the header exactly as addfile() will, so a name ustar cannot hold
        # (100-byte name plus 155-byte prefix, split at a "/") is caught with its path.
        info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")
    except ValueError as error:
        raise InputError(f"archive path {path!r} does not fit a ustar header: {error}") from None
    return info


PAGE = 4096
BLOCK = 512


def padding_header(offset):
    """The pax extended header ("comment" records only) to write at offset, a multiple of
    BLOCK, so that the next member's data starts on a PAGE boundary; None when it
    already does."""
    gap = -(offset + BLOCK) % PAGE  # bytes from offset to where the next header must go
    if gap == 0:
        return None
    body = gap - BLOCK  # the padding's own header takes one block
    record = b""
    if body > 0:
        # "<length> comment=<value>\n", the length counting the whole record.
        head = f"{body} comment=".encode()
        record = head + b"p" * (body - len(head) - 1) + b"\n"
        assert len(record) == body
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = len(record)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info, record


def build(entries, links=None):
    """Returns (archive bytes, number of files)."""
    out = io.BytesIO()
    file_count = 0
    # Sorting by the encoded bytes gives the reader's order, and a parent, being a prefix
    # of its children's paths, always sorts before them.
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT,
                      encoding="utf-8", errors="strict") as archive:
        for path in sorted(entries, key=lambda p: p.encode("utf-8")):
            host_path = entries[path]
            if host_path is None:
                archive.addfile(make_info(path, 0, 0o555, tarfile.DIRTYPE))
                continue
            try:
                with open(host_path, "rb") as f:
                    data = f.read()
            except OSError as error:
                raise InputError(f"cannot read host file {host_path!r}: {error}") from None
            info = make_info(path, len(data), file_mode(path, host_path), tarfile.REGTYPE)
            padding = padding_header(archive.offset) if data[:4] == b"\x7fELF" else None
            if padding:
                archive.addfile(padding[0], io.BytesIO(padding[1]))
                assert (archive.offset + BLOCK) % PAGE == 0
            archive.addfile(info, io.BytesIO(data))
            file_count += 1
        for path in sorted(links or {}, key=lambda p: p.encode("utf-8")):
            target = links[path]
            info = make_info(path, 0, file_mode(target, entries[target]), tarfile.LNKTYPE)
            info.linkname = target
            archive.addfile(info)
    return out.getvalue(), file_count


def main(argv):
    parser = argparse.ArgumentParser(
        prog="mkbootfs.py",
        description="Pack files into Tern's boot file system archive (POSIX ustar).")
    parser.add_argument("--output", required=True, metavar="OUT.tar",
                        help="the archive to write")
    parser.add_argument("--file", action="append", default=[],
                        metavar="ARCHIVE_PATH=HOST_PATH",
                        help="add HOST_PATH's contents as ARCHIVE_PATH (repeatable)")
    parser.add_argument("--dir", action="append", default=[], metavar="ARCHIVE_PATH",
                        help="add an empty directory (repeatable); parents of every "
                        "file and directory are added anyway")
    parser.add_argument("--links", action="append", default=[],
                        metavar="ARCHIVE_PATH=LIST_FILE",
                        help="add a hard link to ARCHIVE_PATH, in its directory, for each "
                        "name (or path's last component) of LIST_FILE (repeatable)")
    args = parser.parse_args(argv)

    try:
        image, file_count = build(*collect(args.file, args.dir, args.links))
    except InputError as error:
        print(f"mkbootfs: error: {error}", file=sys.stderr)
        return 2

    # Written whole and renamed into place, so an interrupted build never leaves a
    # truncated archive that a later, incremental build would take as up to date.
    temporary = args.output + ".tmp"
    try:
        with open(temporary, "wb") as f:
            f.write(image)
        os.replace(temporary, args.output)
    except OSError as error:
        print(f"mkbootfs: error: cannot write {args.output!r}: {error}", file=sys.stderr)
        return 1
    print(f"mkbootfs: {file_count} files, {len(image)} bytes -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

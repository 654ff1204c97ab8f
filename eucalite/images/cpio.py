"""A reproducible initramfs writer (cpio "newc" + gzip) in pure Python.

Writing the archive ourselves, rather than staging a directory for the cpio tool, lets the image
hold device nodes without root and gives byte-identical output (fixed owners and mtimes, sorted
entries), so checksums.txt only changes when the contents do.
"""

from __future__ import annotations

import gzip
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    path: str  # inside the archive, no leading slash
    mode: int  # full st_mode: type bits | permissions
    data: bytes = b""  # file contents, or the target of a symlink
    rdev: tuple[int, int] = (0, 0)  # (major, minor) of a device node


class Archive:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def _parents(self, path: str) -> None:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            self._entries.setdefault(parent, Entry(parent, stat.S_IFDIR | 0o755))

    def add(self, entry: Entry) -> None:
        self._parents(entry.path)
        self._entries[entry.path] = entry

    def dir(self, path: str, perm: int = 0o755) -> None:
        self.add(Entry(path.strip("/"), stat.S_IFDIR | perm))

    def file(self, path: str, data: bytes, perm: int = 0o644) -> None:
        self.add(Entry(path.strip("/"), stat.S_IFREG | perm, data))

    def copy(self, path: str, source: Path, perm: int | None = None) -> None:
        """Copy a host file's contents (following symlinks), keeping its permissions unless given."""
        mode = perm if perm is not None else stat.S_IMODE(source.stat().st_mode)
        self.file(path, source.read_bytes(), mode)

    def symlink(self, path: str, target: str) -> None:
        self.add(Entry(path.strip("/"), stat.S_IFLNK | 0o777, target.encode()))

    def chardev(self, path: str, major: int, minor: int, perm: int = 0o600) -> None:
        self.add(Entry(path.strip("/"), stat.S_IFCHR | perm, rdev=(major, minor)))

    def __contains__(self, path: str) -> bool:
        return path.strip("/") in self._entries

    def write_gz(self, out: Path) -> None:
        tmp = out.with_name(out.name + ".tmp")
        # mtime=0 and no file name keep the gzip header free of build-time details.
        with tmp.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
            for ino, name in enumerate(sorted(self._entries), start=1):
                gz.write(_header(self._entries[name], ino))
            gz.write(_header(Entry("TRAILER!!!", 0), 0))
        tmp.replace(out)


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _header(entry: Entry, ino: int) -> bytes:
    name = entry.path.encode() + b"\0"
    fields = [
        ino, entry.mode, 0, 0,  # ino, mode, uid, gid
        2 if stat.S_ISDIR(entry.mode) else 1, 0,  # nlink, mtime
        len(entry.data), 0, 0,  # filesize, devmajor, devminor
        entry.rdev[0], entry.rdev[1], len(name), 0,  # rdevmajor, rdevminor, namesize, check
    ]
    head = b"070701" + b"".join(f"{f:08x}".encode() for f in fields)
    return head + name + _pad4(len(head) + len(name)) + entry.data + _pad4(len(entry.data))

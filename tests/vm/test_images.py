"""Image-builder pieces: the cpio writer, apt source parsing, vmlinux extraction, the tiny image."""

from __future__ import annotations

import gzip
import io
import lzma
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from eucalite.images import BuildError
from eucalite.images.apt import _uris_from_deb822, _uris_from_list
from eucalite.images.artifacts import sha256_file
from eucalite.images.cpio import Archive
from eucalite.images.kernel import extract_vmlinux


def _members(archive_gz: Path) -> dict[str, tuple[int, bytes, tuple[int, int]]]:
    """Parse newc independently of the writer: name -> (mode, data, rdev)."""
    raw = io.BytesIO(gzip.decompress(archive_gz.read_bytes()))
    out: dict[str, tuple[int, bytes, tuple[int, int]]] = {}
    while True:
        head = raw.read(110)
        assert head[:6] == b"070701"
        f = [int(head[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        name = raw.read(f[11])[:-1].decode()
        raw.read(-(110 + f[11]) % 4)
        data = raw.read(f[6])
        raw.read(-f[6] % 4)
        if name == "TRAILER!!!":
            return out
        out[name] = (f[1], data, (f[9], f[10]))


def test_cpio_writer_is_reproducible_and_complete(tmp_path: Path) -> None:
    def build(out: Path) -> None:
        a = Archive()
        a.file("init", b"#!/bin/sh\n", 0o755)
        a.symlink("bin/sh", "/bin/busybox")
        a.chardev("dev/console", 5, 1)
        a.file("usr/lib/x/libfoo.so", b"\0" * 5)
        a.write_gz(out)

    build(tmp_path / "a.gz")
    build(tmp_path / "b.gz")
    assert sha256_file(tmp_path / "a.gz") == sha256_file(tmp_path / "b.gz")
    members = _members(tmp_path / "a.gz")
    assert {"usr", "usr/lib", "usr/lib/x", "bin", "dev"} <= members.keys()  # parents are implied
    assert members["init"][0] == stat.S_IFREG | 0o755 and members["init"][1] == b"#!/bin/sh\n"
    assert stat.S_ISLNK(members["bin/sh"][0]) and members["bin/sh"][1] == b"/bin/busybox"
    assert stat.S_ISCHR(members["dev/console"][0]) and members["dev/console"][2] == (5, 1)
    if shutil.which("cpio"):  # and GNU cpio agrees
        listing = subprocess.run(
            ["cpio", "-it"], input=gzip.decompress((tmp_path / "a.gz").read_bytes()),
            capture_output=True, check=True,
        ).stdout.decode().split()
        assert "dev/console" in listing and "usr/lib/x/libfoo.so" in listing


def test_apt_sources_parsing() -> None:
    deb822 = """Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm
"""
    assert _uris_from_deb822(deb822) == [
        ("http://mirror.example/debian", "bookworm bookworm-updates"),
        ("http://mirror.example/debian-security", "bookworm-security"),
    ]
    one_line = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\ndeb-src x y\n"
    assert _uris_from_list(one_line) == [("http://m.example/debian", "bookworm")]


def test_extract_vmlinux_finds_the_xz_payload(tmp_path: Path) -> None:
    elf = b"\x7fELF" + bytes(range(256)) * 64
    bz = tmp_path / "vmlinuz"
    bz.write_bytes(b"MZ setup code" + lzma.compress(elf, format=lzma.FORMAT_XZ) + b"\0trailer")
    extract_vmlinux(bz, tmp_path / "vmlinux")
    assert (tmp_path / "vmlinux").read_bytes() == elf
    bz.write_bytes(b"no payload here")
    with pytest.raises(BuildError, match="no XZ payload"):
        extract_vmlinux(bz, tmp_path / "vmlinux2")


@pytest.mark.vm
def test_tiny_image_contents(tiny_image: Any) -> None:
    members = _members(tiny_image.ramdisk)
    assert members["init"][0] & 0o111
    assert members["init"][1].startswith(b"#!/bin/sh")
    mods = sorted(n for n in members if n.startswith("mods/"))
    names = [m.split("-", 1)[1] for m in mods]
    # dependencies before dependants, as modprobe resolved them
    assert names.index("virtio.ko") < names.index("virtio_pci.ko") < names.index("virtio_net.ko")
    assert "usr/bin/openssl" in members and "lib64/ld-linux-x86-64.so.2" in members
    assert any(n.endswith("libcrypto.so.3") for n in members)
    sums = (tiny_image.ramdisk.parent / "checksums.txt").read_text()
    assert f"{sha256_file(tiny_image.ramdisk)}  {tiny_image.ramdisk.name}" in sums
    assert tiny_image.kernel.read_bytes()[:4] == b"\x7fELF"  # uncompressed, for PVH boot


def test_load_built_checks_every_checksum(tmp_path: Path) -> None:
    from eucalite.images import load_built
    from eucalite.images.artifacts import write_checksums

    kernel, ramdisk = tmp_path / "vmlinux-1", tmp_path / "initramfs.cpio.gz"
    kernel.write_bytes(b"k")
    ramdisk.write_bytes(b"r")
    (tmp_path / "cmdline").write_text("console=ttyS0\n")
    write_checksums(tmp_path, [kernel, ramdisk])
    built = load_built(tmp_path)
    assert built is not None and built.kernel == kernel and built.kernel_cmdline == "console=ttyS0"
    ramdisk.write_bytes(b"changed")
    assert load_built(tmp_path) is None

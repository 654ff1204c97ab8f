"""What a build produces and how it is recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BuiltImage:
    kernel: Path
    ramdisk: Path
    checksums: dict[str, str]  # file name (relative to the output dir) -> sha256 hex
    disk: Path | None = None  # qcow2 base image, for images that boot from a disk
    kernel_cmdline: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksums(out_dir: Path, files: list[Path]) -> dict[str, str]:
    """sha256 of each output, written in `sha256sum -c` format to out_dir/checksums.txt."""
    sums = {f.relative_to(out_dir).as_posix(): sha256_file(f) for f in files}
    lines = [f"{digest}  {name}\n" for name, digest in sorted(sums.items())]
    (out_dir / "checksums.txt").write_text("".join(lines))
    return sums


def load_built(out_dir: Path) -> BuiltImage | None:
    """A finished build in out_dir (checksums.txt, cmdline, files intact), or None.

    Lets callers reuse a multi-minute build, and never hands out a file that changed after it.
    """
    try:
        lines = (out_dir / "checksums.txt").read_text().splitlines()
        listed = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
        cmdline = (out_dir / "cmdline").read_text().strip()
        if any(sha256_file(out_dir / name) != digest for name, digest in listed.items()):
            return None
    except (OSError, ValueError):
        return None
    kernel = next((n for n in listed if n.startswith("vmlinux")), None)
    ramdisk = next((n for n in listed if n.startswith(("initrd", "initramfs"))), None)
    if kernel is None or ramdisk is None:
        return None
    disk = out_dir / "base.qcow2" if "base.qcow2" in listed else None
    return BuiltImage(kernel=out_dir / kernel, ramdisk=out_dir / ramdisk, checksums=listed, disk=disk,
                      kernel_cmdline=cmdline)

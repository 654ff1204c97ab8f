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

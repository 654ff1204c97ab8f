"""`eucalite image build`: the shared build cache, and registration that does not duplicate."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eucalite.images.store import RECIPE_FILE, build_dir, recipe_digest

pytestmark = [pytest.mark.vm, pytest.mark.slow]


def _build(data_dir: Path) -> tuple[dict[str, str], str]:
    out = subprocess.run([sys.executable, "-m", "eucalite", "image", "build", "tiny", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    return {kind: image_id for image_id, kind in re.findall(r"^IMAGE\t(\S+)\t(\S+)\t", out.stdout, re.M)}, out.stdout


def test_build_registers_once_per_build(qemu_host: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, out = _build(data)
    assert set(first) == {"kernel", "ramdisk", "machine"}
    assert re.search(r"^[0-9a-f]{64}  \S+/initramfs\.cpio\.gz$", out, re.M)  # checksums shown
    assert "registered in" in out
    again, out = _build(data)
    assert again == first and "already registered" in out
    # The build is the cache's, verified and current; the data dir holds hard links, not copies.
    built = build_dir("tiny")
    assert (built / RECIPE_FILE).read_text().strip() == recipe_digest("tiny")
    [kernel] = (data / "images" / first["kernel"]).iterdir()
    assert os.stat(kernel).st_ino == os.stat(built / kernel.name).st_ino
    # Another data dir registers the same cached build under its own ids.
    other, out = _build(tmp_path / "other")
    assert "cached build" in out and other["machine"] != first["machine"]

"""Where guest image builds live, and building them once.

One cache per host user, shared by every data dir (a laptop's ~/.eucalite and the test suite's tmp
dirs alike), so nothing is rebuilt per cloud:

    $EUCALITE_IMAGE_CACHE                         when set
    /var/cache/eucalite                           as root (world-searchable: qemu:///system's QEMU
                                                  runs as libvirt-qemu and must be able to reach it)
    ${XDG_CACHE_HOME:-~/.cache}/eucalite          otherwise (qemu:///session runs QEMU as the user)

    <cache>/sources/        downloaded packages, the unpacked kernel, the debootstrapped rootfs
    <cache>/builds/<name>/  the finished build: kernel, ramdisk, (base.qcow2), cmdline, checksums.txt

A build is written beside its final directory and swapped in by rename, so a registered image (hard
linked into a data dir) or a running guest's base disk never changes under it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from eucalite.images.artifacts import BuiltImage, load_built
from eucalite.images.debian import build_debian
from eucalite.images.tiny import build_tiny

Builder = Callable[[Path, Path, Callable[[str], None]], BuiltImage]
BUILDERS: dict[str, Builder] = {"tiny": build_tiny, "debian": build_debian}
# The files each recipe is made of: a cached build made by other recipe files is stale.
RECIPES = {
    "tiny": ("tiny.py", "tiny_init.sh", "cpio.py", "kernel.py", "apt.py"),
    "debian": ("debian.py", "kernel.py", "apt.py"),
}
RECIPE_FILE = "recipe.sha256"


def recipe_digest(name: str) -> str:
    h = hashlib.sha256()
    for file in RECIPES[name]:
        h.update(file.encode() + b"\0" + resources.files("eucalite.images").joinpath(file).read_bytes())
    return h.hexdigest()


def cache_root() -> Path:
    env = os.environ.get("EUCALITE_IMAGE_CACHE")
    if env:
        return Path(env).expanduser()
    if os.geteuid() == 0:
        return Path("/var/cache/eucalite")
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "eucalite"


def sources_dir(root: Path | None = None) -> Path:
    return (root or cache_root()) / "sources"


def build_dir(name: str, root: Path | None = None) -> Path:
    return (root or cache_root()) / "builds" / name


def build_digest(built: BuiltImage) -> str:
    """One sha256 over a build's file checksums and command line: the identity a registration records."""
    text = "".join(f"{digest}  {name}\n" for name, digest in sorted(built.checksums.items()))
    return hashlib.sha256((text + "cmdline " + built.kernel_cmdline + "\n").encode()).hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialize builds of one image (two test sessions, or setup.sh beside a running suite)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_built(name: str, progress: Callable[[str], None], *, root: Path | None = None,
                 rebuild: bool = False) -> BuiltImage:
    """The intact build of ``name`` from the cache, building it first when missing or damaged."""
    if name not in BUILDERS:
        raise ValueError(f"unknown image {name!r} (one of {', '.join(sorted(BUILDERS))})")
    root = root or cache_root()
    final = build_dir(name, root)
    with _locked(root / "builds" / f".{name}.lock"):
        recipe = recipe_digest(name)
        if not rebuild:
            existing = load_built(final)
            try:
                same_recipe = (final / RECIPE_FILE).read_text().strip() == recipe
            except OSError:
                same_recipe = False
            if existing is not None and same_recipe:
                progress(f"cached build in {final} (checksums verified)")
                return existing
            if existing is not None:
                progress("the recipe changed since the cached build; building again")
        for d in (root, root / "builds", sources_dir(root)):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o755)  # QEMU (another user under qemu:///system) may need to reach the files
        tmp = final.with_name(f".{name}.new")
        shutil.rmtree(tmp, ignore_errors=True)
        BUILDERS[name](tmp, sources_dir(root), progress)
        (tmp / RECIPE_FILE).write_text(recipe + "\n")
        tmp.chmod(0o755)
        old = final.with_name(f".{name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        built = load_built(final)
        if built is None:
            raise RuntimeError(f"the {name} build in {final} does not verify against its own checksums")
        return built

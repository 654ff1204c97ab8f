"""The tiny guest: Debian's kernel + a busybox initramfs whose init exercises the instance profile.

Boots to its first metadata request in seconds under TCG, which makes it the guest for driver tests.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from eucalite.images._run import BuildError, run
from eucalite.images.artifacts import BuiltImage, write_checksums
from eucalite.images.cpio import Archive
from eucalite.images.kernel import fetch_kernel, module_load_order

BUSYBOX = Path("/bin/busybox")  # from busybox-static: the initramfs has no libc of its own for it
OPENSSL = Path("/usr/bin/openssl")  # the SigV4 signer (HMAC-SHA256); busybox has none
# Only what the guest needs to reach the network: virtio-pci transport and the NIC.
MODULES = ["virtio_pci", "virtio_net"]
CMDLINE = "console=ttyS0 panic=-1 quiet loglevel=3"


def build_tiny(out_dir: Path, cache_dir: Path, progress: Callable[[str], None]) -> BuiltImage:
    out_dir.mkdir(parents=True, exist_ok=True)
    kernel = fetch_kernel(cache_dir, progress)
    progress(f"assembling initramfs (busybox, openssl, {', '.join(MODULES)} for {kernel.version})")
    archive = Archive()
    _add_base(archive)
    _add_busybox(archive)
    _add_with_libraries(archive, OPENSSL)
    for n, module in enumerate(module_load_order(kernel, MODULES), start=1):
        archive.copy(f"mods/{n:02d}-{module.name}", module, 0o644)
    init = resources.files("eucalite.images").joinpath("tiny_init.sh").read_bytes()
    archive.file("init", init, 0o755)

    kernel_out = out_dir / f"vmlinux-{kernel.version}"
    ramdisk_out = out_dir / "initramfs.cpio.gz"
    shutil.copyfile(kernel.vmlinux, kernel_out)
    archive.write_gz(ramdisk_out)
    (out_dir / "cmdline").write_text(CMDLINE + "\n")
    sums = write_checksums(out_dir, [kernel_out, ramdisk_out])
    progress(f"done: {kernel_out.name} + {ramdisk_out.name} ({ramdisk_out.stat().st_size >> 10} KiB)")
    return BuiltImage(kernel=kernel_out, ramdisk=ramdisk_out, checksums=sums, kernel_cmdline=CMDLINE)


def _add_base(archive: Archive) -> None:
    for d in ("dev", "proc", "sys", "tmp", "etc", "mods", "root"):
        archive.dir(d)
    archive.dir("tmp", 0o1777)
    # The kernel opens /dev/console for init's stdio before init can mount devtmpfs.
    archive.chardev("dev/console", 5, 1)
    archive.chardev("dev/null", 1, 3, 0o666)
    archive.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    archive.file("etc/group", b"root:x:0:\n")


def _add_busybox(archive: Archive) -> None:
    if not BUSYBOX.exists():
        raise BuildError(f"{BUSYBOX} missing: apt-get install busybox-static (scripts/setup-host.sh)")
    # A dynamic busybox (package "busybox") names its loader in PT_INTERP near the file start.
    if b"ld-linux" in BUSYBOX.read_bytes()[:4096]:
        raise BuildError(f"{BUSYBOX} is dynamically linked; install busybox-static")
    archive.copy("bin/busybox", BUSYBOX, 0o755)
    for applet in run([BUSYBOX, "--list-full"]).split():
        if applet.endswith("/busybox") or applet.split("/")[-1] in ("busybox", "linuxrc"):
            continue
        archive.symlink(applet, "/bin/busybox")


_LDD_LINE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


def _add_with_libraries(archive: Archive, binary: Path) -> None:
    """Copy a dynamically linked host binary plus the loader and libraries ldd resolves for it.

    Files keep their host paths, so the binary's PT_INTERP and glibc's default search path
    (/lib/x86_64-linux-gnu) find them without an ld.so.cache.
    """
    if not binary.exists():
        raise BuildError(f"{binary} missing: apt-get install {binary.name}")
    archive.copy(str(binary), binary, 0o755)
    for line in run(["ldd", binary]).splitlines():
        m = _LDD_LINE.search(line)
        if m:
            lib = Path(m.group(1))
            archive.copy(str(lib), lib.resolve(), 0o755)

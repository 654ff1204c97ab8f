"""Pick the QEMU accelerator by test-booting a kernel, never by what libvirt advertises.

On some hosts /dev/kvm exists and libvirt lists kvm domains, yet a stock guest kernel hangs under
it (nested PVM hypervisors, for one). The only trustworthy test is to boot a kernel under KVM and
see it print. The verdict is cached per host boot, so it costs a few seconds once, not per launch.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_FILE = "accel.json"
QEMU = "qemu-system-x86_64"
MARKER = b"Linux version"  # the kernel's first line, printed through earlyprintk
# Must match the CPU the domain XML asks for under KVM (domain_xml.py), or the probe proves nothing.
# arch-capabilities off: some nested hypervisors reject that MSR and QEMU aborts at start.
KVM_CPU = "host,-arch-capabilities"
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def _cached(state_dir: Path) -> tuple[str, str] | None:
    try:
        data = json.loads((state_dir / CACHE_FILE).read_text())
    except (OSError, ValueError):
        return None
    # A host reboot may change the hypervisor under us (kernel update, nested settings): re-probe.
    if not isinstance(data, dict) or data.get("boot_id") != _boot_id() or data.get("accel") not in ("kvm", "tcg"):
        return None
    return str(data["accel"]), str(data.get("reason") or "no reason recorded")


def cached_accel(state_dir: Path) -> str | None:
    cached = _cached(state_dir)
    return cached[0] if cached else None


def accel_verdict(state_dir: Path, kernel: Path | None, timeout: float = 6.0) -> tuple[str, str]:
    """('kvm' or 'tcg', why) for this host. Blocking (up to `timeout` seconds on first use)."""
    path = state_dir / CACHE_FILE
    cached = _cached(state_dir)
    if cached:
        log.info("accelerator %s (cached in %s)", cached[0], path)
        return cached[0], f"{cached[1]} (probed this host boot; cached in {path})"
    accel, reason, conclusive = probe_kvm(kernel, timeout)
    log.info("accelerator %s: %s", accel, reason)
    if conclusive:
        state_dir.mkdir(parents=True, exist_ok=True)
        record = {"accel": accel, "reason": reason, "boot_id": _boot_id(), "checked_at": int(time.time())}
        path.write_text(json.dumps(record, indent=1) + "\n")
    return accel, reason


def detect_accel(state_dir: Path, kernel: Path | None, timeout: float = 6.0) -> str:
    """'kvm' or 'tcg' for this host (accel_verdict without the reason)."""
    return accel_verdict(state_dir, kernel, timeout)[0]


def probe_kvm(kernel: Path | None, timeout: float) -> tuple[str, str, bool]:
    """(accel, reason, conclusive). Inconclusive answers (no kernel yet) are not cached."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg", "/dev/kvm missing or not accessible", True
    if kernel is None or not kernel.exists():
        return "tcg", "no kernel to test-boot KVM with yet", False
    cmd = [
        QEMU, "-accel", "kvm", "-cpu", KVM_CPU, "-M", "pc", "-m", "128", "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
        "-kernel", str(kernel), "-append", "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1",
    ]
    started = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return "tcg", f"{QEMU} not installed", False
    seen = b""
    try:
        assert proc.stdout is not None
        while (left := timeout - (time.monotonic() - started)) > 0:
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if not ready:
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:  # qemu exited (e.g. KVM refused to start)
                break
            seen += chunk
            if MARKER in seen:
                return "kvm", f"test boot printed {MARKER.decode()!r} after {time.monotonic() - started:.1f} s", True
    finally:
        proc.kill()
        proc.wait()
    tail = seen.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
    return "tcg", f"KVM test boot showed no kernel output within {timeout:.0f} s ({tail[0]})", True

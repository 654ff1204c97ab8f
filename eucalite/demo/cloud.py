"""Which cloud the demo talks to (a running one, or one it starts), which node driver, which image."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eucalite.config import Settings, load_settings
from eucalite.endpoint import EndpointFileError, read_endpoint

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Target:
    data_dir: Path
    url: str
    driver: str
    why: str  # one sentence: why this driver
    proc: subprocess.Popen[bytes] | None = None  # set when the demo started the cloud
    temp_dir: Path | None = None  # set when the demo made a throwaway data dir
    notes: list[str] = field(default_factory=list)

    def stop(self, keep: bool) -> None:
        """Stop the cloud the demo started (if it did; stopping twice is harmless) and, unless ``keep``,
        remove its throwaway data dir. Interrupted again while waiting, it kills the cloud at once."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                except KeyboardInterrupt:  # a second Ctrl-C (or SIGTERM): no more waiting
                    self.proc.kill()
                    self.proc.wait()
                    raise
        finally:
            if self.temp_dir is not None and not keep:
                shutil.rmtree(self.temp_dir, ignore_errors=True)


def listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def running_cloud(data_dir: Path) -> dict[str, object] | None:
    """What endpoint.json says about the cloud serving data_dir, if something listens there."""
    try:
        info = read_endpoint(data_dir)
    except EndpointFileError:  # load_settings has said so already; nothing known runs there
        return None
    if info is None or not (data_dir / "eucalite.db").exists() or not listening(info["host"], info["port"]):
        return None
    return info


def image_dir(image: str) -> Path:
    return REPO / "images" / image / "build"


def find_built(image: str) -> Any:
    """A finished build of the image: in the per-host image cache (`eucalite image build`), else in the
    checkout's images/<image>/build (`python -m eucalite.images`)."""
    from eucalite.images import load_built

    dirs = []
    with contextlib.suppress(ImportError):
        from eucalite.images.store import build_dir

        dirs.append(build_dir(image))
    dirs.append(image_dir(image))
    for d in dirs:
        built = load_built(d)
        if built is not None:
            return built
    return None


def image_name(image: str, built: Any) -> str:
    """The name `eucalite image build` registers a build under, so the demo reuses that registration."""
    try:
        from eucalite.images.store import build_digest

        return f"{image}-{build_digest(built)[:12]}"
    except ImportError:
        return f"{image}-" + hashlib.sha256("".join(sorted(built.checksums.values())).encode()).hexdigest()[:12]


def _unreachable(path: Path) -> Path | None:
    """The first directory above path that an unprivileged QEMU could not pass through, if any."""
    for d in [path.resolve(), *path.resolve().parents]:
        if d.exists() and not d.stat().st_mode & stat.S_IXOTH:
            return d
    return None


def libvirt_problems(settings: Settings, image: str, own_dir: Path | None = None) -> list[str]:
    """Everything that stops a real guest from booting here; empty when libvirt works."""
    problems = []
    try:
        import libvirt
    except ImportError:
        return ["libvirt-python is not importable (bash scripts/setup.sh)"]
    missing = [t for t in ("qemu-system-x86_64", "qemu-img", "socat") if shutil.which(t) is None]
    if missing:
        problems.append(f"not installed: {', '.join(missing)} (bash scripts/setup.sh)")
    from eucalite.nodes import default_libvirt_uri

    uri = settings.libvirt_uri or default_libvirt_uri()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        libvirt.open(uri).close()
    except libvirt.libvirtError as exc:
        problems.append(f"libvirtd is not reachable at {uri} ({exc.get_error_message()}); start libvirtd")
    if own_dir is not None and "/system" in uri and (blocked := _unreachable(own_dir)) is not None:
        problems.append(f"QEMU (unprivileged under {uri}) cannot reach {own_dir}: {blocked} is not "
                        "world-searchable; use a data dir like /var/lib/eucalite")
    if find_built(image) is None:
        problems.append(f"the {image} image is not built (eucalite image build {image})")
    return problems


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cloud(data_dir: Path | None, driver: str, log: Path | None = None, port: int | None = None) -> Target:
    """`eucalite up --no-tui` in a subprocess: in data_dir (on ``port``, else the one its settings say),
    or in a throwaway dir QEMU can reach."""
    temp = None
    if data_dir is None:
        # /var/tmp, world-searchable: under qemu:///system QEMU runs unprivileged and must reach the images.
        temp = Path(tempfile.mkdtemp(prefix="eucalite-demo-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
        temp.chmod(0o755)
        data_dir, port = temp, _free_port()
    else:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        port = port or load_settings({"data_dir": data_dir}).port
        if listening("127.0.0.1", port):
            raise RuntimeError(f"port {port} is in use, but not by a eucalite serving {data_dir} "
                               f"(set port in {data_dir}/settings.toml or EUCALITE_PORT)")
    out = open(log or data_dir / "demo-eucalite.out", "ab")  # noqa: SIM115 - lives with the process
    # Its own session: Ctrl-C at the terminal reaches the demo, which cleans up (terminates the instance
    # while the cloud still serves) and then stops the cloud itself, whatever stopped the demo.
    proc = subprocess.Popen([sys.executable, "-m", "eucalite", "up", "--no-tui", "--data-dir", str(data_dir),
                             "--port", str(port), "--driver", driver],
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=_die_with_parent)
    target = Target(data_dir, f"http://127.0.0.1:{port}", driver, "", proc=proc, temp_dir=temp)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                target.stop(keep=True)
                raise RuntimeError(f"eucalite up exited with {proc.returncode}; see {out.name}")
            if listening("127.0.0.1", port) and (data_dir / "aws" / "credentials").exists():
                return target
            time.sleep(0.1)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (demo.cli.Terminated) while the cloud was starting
        target.stop(keep=False)
        raise
    target.stop(keep=True)
    raise RuntimeError(f"eucalite up did not listen on {port} within 60 s; see {out.name}")


def _die_with_parent() -> None:
    """In the child, before exec (Linux): SIGTERM it when the demo dies, even by SIGKILL, which no
    handler of the demo's can see. Elsewhere nothing; the demo's own clean-up still stops it."""
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def choose(data_dir: Path | None, driver: str | None, image: str) -> Target:
    """A running cloud at the data dir is used as it is; otherwise the demo starts one, with libvirt when
    that works here and the memory driver otherwise."""
    settings = load_settings({"data_dir": data_dir})
    running = running_cloud(settings.data_dir)
    if running is not None:
        running_driver = str(running.get("driver") or settings.driver)
        if driver is None or driver == running_driver:
            why = (f"the running cloud at {settings.data_dir} uses the {running_driver} driver"
                   + ("" if driver else " (start it with --driver libvirt, or stop it and let the demo start "
                      "its own, for real guests)" if running_driver == "memory" else ""))
            url = f"http://{running['host']}:{running['port']}"
            return Target(settings.data_dir, url, running_driver, why)
        if data_dir is not None:
            raise RuntimeError(f"the cloud running at {data_dir} uses the {running_driver} driver, not {driver}; "
                               "stop it or leave out --data-dir to let the demo start its own")
    own_dir = data_dir  # None: a throwaway data dir (the running cloud's, if any, stays untouched)
    if driver is None:
        problems = libvirt_problems(settings, image, own_dir)
        if problems:
            driver, why = "memory", "memory driver, because libvirt does not work here: " + "; ".join(problems)
        else:
            driver, why = "libvirt", (f"libvirt works here (libvirt-python, libvirtd reachable, the {image} "
                                      "image built), so the guest is a real VM")
    elif driver == "libvirt":
        problems = libvirt_problems(settings, image, own_dir)
        if problems:
            raise RuntimeError("--driver libvirt, but: " + "; ".join(problems))
        why = "libvirt, as asked (--driver libvirt)"
    else:
        why = "memory, as asked (--driver memory): no guest boots, the host plays the guest"
    target = start_cloud(own_dir, driver, port=settings.port if own_dir is not None else None)
    target.why = why
    return target

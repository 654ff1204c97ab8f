"""Fixtures for node-driver tests: libvirt's test hypervisor, and real TCG boots of the tiny image."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eucalite.nodes.base import NodeState

REPO = Path(__file__).resolve().parents[2]


def unavailable(reason: str) -> None:
    """Skip, naming what is missing; but where the host was set up for guests (CI sets
    EUCALITE_REQUIRE_VM=1), a missing piece is a failure, not a quiet skip."""
    if os.environ.get("EUCALITE_REQUIRE_VM") == "1":
        pytest.fail(f"real guests required but unavailable: {reason}")
    pytest.skip(reason)


def _libvirt() -> Any:
    try:
        import libvirt
    except ImportError:
        unavailable("libvirt-python is not installed (scripts/setup-host.sh)")
    return libvirt


@pytest.fixture
def libvirt_mod() -> Any:
    return _libvirt()


@pytest.fixture
def iid() -> str:
    # test:///default keeps its domains for the whole process, so every test needs fresh ids.
    return "i-" + uuid.uuid4().hex[:8]


class Recorder:
    """Collects (instance_id, state, reason) callbacks from a driver."""

    def __init__(self) -> None:
        self.events: list[tuple[str, NodeState, str]] = []

    def __call__(self, instance_id: str, state: NodeState, reason: str) -> None:
        self.events.append((instance_id, state, reason))

    def states(self, instance_id: str) -> list[NodeState]:
        return [s for i, s, _ in self.events if i == instance_id]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="session")
def qemu_host() -> str:
    """The libvirt URI for real guests; skips (naming what is missing) on hosts without them."""
    libvirt = _libvirt()
    missing = [tool for tool in ("qemu-system-x86_64", "qemu-img", "socat") if shutil.which(tool) is None]
    if missing:
        unavailable(f"not installed: {', '.join(missing)} (scripts/setup-host.sh)")
    uri = os.environ.get("EUCALITE_LIBVIRT_URI", "qemu:///system")
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        libvirt.open(uri).close()
    except libvirt.libvirtError as exc:
        unavailable(f"libvirt at {uri} unreachable ({exc.get_error_message()}); start libvirtd")
    return uri


@pytest.fixture
def node_dir() -> Iterator[Path]:
    """A node state dir QEMU can reach: under qemu:///system it runs as libvirt-qemu, and pytest's
    tmp_path sits below a 0700 directory."""
    path = Path(tempfile.mkdtemp(prefix="eucalite-vm-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_image(qemu_host: str) -> Any:
    """The tiny image from the shared build cache (eucalite.images.store; built on first use)."""
    from eucalite.images.store import ensure_built

    return ensure_built("tiny", lambda msg: print(f"[tiny] {msg}"))

"""LibvirtDriver against libvirt's built-in `test:///default` hypervisor (no QEMU involved).

The test hypervisor shares its domains between the connections of one process, but forgets them
when the last connection closes; the `hv` fixture holds one open for the whole module, playing the
hypervisor that outlives a eucalite restart.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Recorder

from eucalite.nodes.base import BootImage, LaunchSpec, NodeError
from eucalite.nodes.base import NodeState as S
from eucalite.nodes.libvirt import LibvirtDriver

pytestmark = pytest.mark.libvirt

URI = "test:///default"


def _require_libvirt():  # type: ignore[no-untyped-def]
    from tests.vm.conftest import _libvirt

    return _libvirt()


def _driver(state_dir: Path, recorder: Recorder | None = None, name: str = "node-a") -> LibvirtDriver:
    driver = LibvirtDriver(name, "zone-a", URI, state_dir, poll_interval=0.05)
    if recorder is not None:
        driver.set_state_callback(recorder)
    return driver


def _spec(iid: str, tmp_path: Path, disk: Path | None = None) -> LaunchSpec:
    kernel = tmp_path / "vmlinux"
    kernel.write_bytes(b"\x7fELF")  # the test hypervisor never reads it; the driver checks it exists
    return LaunchSpec(iid, BootImage(kernel=kernel, disk=disk, kernel_cmdline="quiet"), vcpus=1, memory_mb=128)


@pytest.fixture(scope="module")
def hv() -> Iterator[Any]:
    libvirt = _require_libvirt()
    conn = libvirt.open(URI)
    yield conn
    conn.close()


@pytest.fixture
def libvirt_mod(hv: Any) -> Any:  # overrides conftest's: every test here needs the held connection
    import libvirt

    return libvirt


def _domain(libvirt_mod: Any, iid: str) -> Any:  # a virDomain, or None
    try:
        return libvirt_mod.open(URI).lookupByName(f"eucalite-{iid}")
    except libvirt_mod.libvirtError:
        return None


async def _until(predicate: Any, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def test_lifecycle_defines_and_cleans_up(libvirt_mod: Any, tmp_path: Path, iid: str, recorder: Recorder) -> None:
    async def scenario() -> None:
        driver = _driver(tmp_path / "state", recorder)
        spec = _spec(iid, tmp_path)
        await driver.launch(spec)
        dom = _domain(libvirt_mod, iid)
        assert dom is not None and dom.isActive()
        assert "console=ttyS0" in dom.XMLDesc(0)  # console output depends on the serial console
        assert await driver.state(iid) == S.RUNNING

        await driver.stop(iid)
        await _until(lambda: recorder.states(iid)[-1] == S.STOPPED)
        assert await driver.state(iid) == S.STOPPED
        await driver.start(iid, spec)
        assert await driver.state(iid) == S.RUNNING
        await driver.reboot(iid)
        assert await driver.state(iid) == S.RUNNING

        await driver.terminate(iid)
        assert _domain(libvirt_mod, iid) is None
        assert await driver.state(iid) == S.TERMINATED
        await driver.close()

    asyncio.run(scenario())
    assert recorder.states(iid) == [
        S.PENDING, S.RUNNING, S.STOPPING, S.STOPPED, S.PENDING, S.RUNNING, S.SHUTTING_DOWN, S.TERMINATED,
    ]


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img not installed")
def test_disk_image_gets_an_overlay_that_terminate_removes(libvirt_mod: Any, tmp_path: Path, iid: str) -> None:
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)

    async def scenario() -> None:
        driver = _driver(tmp_path / "state")
        await driver.launch(_spec(iid, tmp_path, disk=base))
        overlay = driver.overlay_path(iid)
        info = subprocess.run(["qemu-img", "info", str(overlay)], capture_output=True, text=True, check=True)
        assert str(base) in info.stdout  # backed by the shared base, not a copy
        assert str(overlay.resolve()) in _domain(libvirt_mod, iid).XMLDesc(0)
        await driver.terminate(iid)
        assert not overlay.exists()
        await driver.close()

    asyncio.run(scenario())


def test_poller_reports_changes_made_behind_its_back(
    libvirt_mod: Any, tmp_path: Path, iid: str, recorder: Recorder
) -> None:
    async def scenario() -> None:
        driver = _driver(tmp_path / "state", recorder)
        await driver.launch(_spec(iid, tmp_path))
        dom = _domain(libvirt_mod, iid)
        await asyncio.to_thread(dom.destroy)  # as if the guest powered itself off
        await _until(lambda: recorder.states(iid)[-1] == S.STOPPED)
        await asyncio.to_thread(dom.undefine)  # as if an admin removed it with virsh
        await _until(lambda: recorder.states(iid)[-1] == S.LOST)
        await driver.close()

    asyncio.run(scenario())
    assert recorder.states(iid) == [S.PENDING, S.RUNNING, S.STOPPED, S.LOST]


def test_reconcile_adopts_reports_lost_and_removes_unknown(libvirt_mod: Any, tmp_path: Path) -> None:
    ids = {name: f"i-{name}{tmp_path.name[-6:]}" for name in ("kept", "stopped", "orphan", "gone", "foreign")}

    async def scenario() -> dict[str, S]:
        before = _driver(tmp_path / "state")
        for name in ("kept", "stopped", "orphan"):
            await before.launch(_spec(ids[name], tmp_path))
        await before.stop(ids["stopped"])
        await _until(lambda: not _domain(libvirt_mod, ids["stopped"]).isActive())
        other_node = _driver(tmp_path / "other", name="node-b")
        await other_node.launch(_spec(ids["foreign"], tmp_path))
        await before.close()
        await other_node.close()

        after = _driver(tmp_path / "state")  # eucalite restarted
        known = {ids["kept"]: S.RUNNING, ids["stopped"]: S.RUNNING, ids["gone"]: S.RUNNING}
        result = await after.reconcile(known)
        await after.close()
        return result

    result = asyncio.run(scenario())
    assert result == {ids["kept"]: S.RUNNING, ids["stopped"]: S.STOPPED, ids["gone"]: S.LOST}
    assert _domain(libvirt_mod, ids["orphan"]) is None  # unknown to the service: destroyed + undefined
    assert _domain(libvirt_mod, ids["foreign"]) is not None  # another node's guest is left alone
    assert _domain(libvirt_mod, ids["kept"]).isActive()


def test_launch_rejects_missing_image_files(tmp_path: Path, iid: str, libvirt_mod: Any) -> None:
    spec = LaunchSpec(iid, BootImage(kernel=tmp_path / "nope"), vcpus=1, memory_mb=64)
    with pytest.raises(NodeError, match="does not exist"):
        asyncio.run(_driver(tmp_path).launch(spec))
    assert _domain(libvirt_mod, iid) is None


def test_unreachable_libvirt_is_a_clear_node_error(tmp_path: Path, iid: str, libvirt_mod: Any) -> None:
    driver = LibvirtDriver("n", "z", "qemu+unix:///system?socket=/nonexistent/sock", tmp_path)
    with pytest.raises(NodeError, match="cannot reach libvirt at qemu\\+unix"):
        driver.capacity()
    with pytest.raises(NodeError, match="cannot reach libvirt"):
        asyncio.run(driver.state(iid))


def test_capabilities_and_capacity(tmp_path: Path, libvirt_mod: Any) -> None:
    driver = _driver(tmp_path)
    vcpus, memory_mb = driver.capacity()
    assert vcpus > 0 and memory_mb > 0
    assert driver.kind == "libvirt"
    assert "real-guests" not in driver.capabilities  # the test hypervisor runs nothing


def test_importing_eucalite_does_not_import_libvirt() -> None:
    code = "import sys, eucalite, eucalite.nodes.libvirt; assert 'libvirt' not in sys.modules"
    subprocess.run(["python3", "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_system_qemu_needs_a_reachable_state_dir(tmp_path: Path, iid: str) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    driver = LibvirtDriver("n", "z", "qemu:///system", private / "node")
    # Checked before libvirt is contacted: the error names the directory, not a libvirt internal.
    with pytest.raises(NodeError, match=r"not world-searchable \(mode 0700\)"):
        asyncio.run(driver.launch(_spec(iid, tmp_path)))

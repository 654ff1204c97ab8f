"""Where libvirt nodes keep their files: defaults per URI, staging of boot files, ownership of domains
when several clouds share one libvirt, and reaping what a deleted data dir left behind."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from eucalite.config import load_settings
from eucalite.nodes import OWNER_FILE, SYSTEM_NODE_ROOT, make_drivers, node_state_root
from eucalite.nodes.base import BootImage, LaunchSpec
from eucalite.nodes.base import NodeState as S
from eucalite.nodes.libvirt import LibvirtDriver

pytestmark = pytest.mark.libvirt
URI = "test:///default"


def _require_libvirt():  # type: ignore[no-untyped-def]
    from tests.vm.conftest import _libvirt

    return _libvirt()


@pytest.fixture(scope="module")
def hv() -> Any:
    libvirt = _require_libvirt()
    conn = libvirt.open(URI)  # the test hypervisor forgets its domains when the last connection closes
    yield conn
    conn.close()


def _spec(iid: str, tmp: Path) -> LaunchSpec:
    kernel = tmp / "vmlinux"
    kernel.write_bytes(b"\x7fELF")
    return LaunchSpec(iid, BootImage(kernel=kernel), vcpus=1, memory_mb=128)


def test_default_node_dirs(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path / "data"}, environ={})
    system = node_state_root(settings, "qemu:///system")
    assert system.parent == SYSTEM_NODE_ROOT / "nodes"
    assert node_state_root(load_settings({"data_dir": tmp_path / "other"}, environ={}), "qemu:///system") != system
    assert node_state_root(settings, "qemu:///session") == tmp_path / "data" / "nodes"
    explicit = load_settings({"data_dir": tmp_path / "data", "node_state_dir": str(tmp_path / "n")}, environ={})
    assert node_state_root(explicit, "qemu:///system") == tmp_path / "n"


def test_make_drivers_records_the_owner_of_a_system_node_root(tmp_path: Path) -> None:
    _require_libvirt()
    settings = load_settings({"data_dir": tmp_path / "data", "driver": "libvirt", "libvirt_uri": "qemu:///system"},
                             environ={})
    root = node_state_root(settings, "qemu:///system")
    try:
        [driver] = make_drivers(settings, settings.data_dir)
        assert isinstance(driver, LibvirtDriver)
        assert driver.state_dir == root / "node-1"
        assert (root / OWNER_FILE).read_text().strip() == str((tmp_path / "data").resolve())
        assert driver.reap_abandoned
    finally:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def test_staging_links_once_per_content(tmp_path: Path) -> None:
    driver = LibvirtDriver("n", "z", "qemu:///session", tmp_path / "node")
    src = tmp_path / "data" / "vmlinux"
    src.parent.mkdir()
    src.write_bytes(b"kernel bytes")
    staged = driver._stage(src)
    assert staged.is_relative_to(driver.staged_dir()) and staged.read_bytes() == b"kernel bytes"
    assert os.stat(staged).st_ino == os.stat(src).st_ino  # same filesystem: a hard link, not a copy
    again = tmp_path / "data2" / "vmlinux"
    again.parent.mkdir()
    again.write_bytes(b"kernel bytes")
    assert driver._stage(again) == staged  # same content, same staged file
    assert driver._stage(staged) == staged


def test_clouds_sharing_libvirt_leave_each_others_domains_alone(hv: Any, tmp_path: Path) -> None:
    iid = "i-" + uuid.uuid4().hex[:8]

    async def scenario() -> None:
        mine = LibvirtDriver("node-1", "z", URI, tmp_path / "a" / "node-1")
        theirs = LibvirtDriver("node-1", "z", URI, tmp_path / "b" / "node-1")
        await mine.launch(_spec(iid, tmp_path))
        # Another cloud starting up with a node of the same name knows no instances: it must not
        # take (or destroy) this one.
        assert await theirs.reconcile({}) == {}
        assert await mine.reconcile({iid: S.RUNNING}) == {iid: S.RUNNING}
        await mine.terminate(iid)
        for d in (mine, theirs):
            await d.close()

    asyncio.run(scenario())


def test_reconcile_reaps_node_roots_of_deleted_data_dirs(hv: Any, tmp_path: Path) -> None:
    iid = "i-" + uuid.uuid4().hex[:8]
    nodes = tmp_path / "nodes"
    gone_root, live_root = nodes / "gone", nodes / "live"
    for root, owner in ((gone_root, tmp_path / "deleted-data-dir"), (live_root, tmp_path)):
        root.mkdir(parents=True)
        (root / OWNER_FILE).write_text(f"{owner}\n")

    async def scenario() -> None:
        orphan_owner = LibvirtDriver("node-1", "z", URI, gone_root / "node-1")
        await orphan_owner.launch(_spec(iid, tmp_path))
        (gone_root / "node-1" / f"{iid}.console.log").write_text("boot\n")
        await orphan_owner.close()
        survivor = LibvirtDriver("node-1", "z", URI, live_root / "node-1", reap_abandoned=True)
        await survivor.reconcile({})
        await survivor.close()

    asyncio.run(scenario())
    assert not gone_root.exists()
    assert live_root.exists()
    assert not [d for d in hv.listAllDomains(0) if iid in d.name()]


def test_reconcile_prunes_files_of_instances_that_are_gone(hv: Any, tmp_path: Path) -> None:
    state = tmp_path / "node"
    state.mkdir()
    (state / "i-00000001.console.log").write_text("old\n")
    (state / "i-00000001.qcow2").write_text("old\n")
    (state / "i-00000002.console.log").write_text("live\n")

    async def scenario() -> None:
        driver = LibvirtDriver("node-1", "z", URI, state)
        await driver.reconcile({"i-00000002": S.STOPPED})
        await driver.close()

    asyncio.run(scenario())
    assert sorted(p.name for p in state.iterdir()) == ["i-00000002.console.log"]
